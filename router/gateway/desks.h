// Private to router/gateway: the agent desktops connected to this node (AgentService.Session),
// what is pushed to them, and the logouts due for those that dropped.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "switchboard/v1/decision.pb.h"
#include "switchboard/v1/services.pb.h"

namespace sb::gateway {

namespace pb = ::switchboard::v1;

// A new desktop session id: `node_id`, "-", 16 random hex digits (64 bits: unique in practice
// across the cluster and across restarts of the node). Thread-safe.
std::string NewSessionId(std::string_view node_id);

// One session's desk: the updates waiting for the agent's stream. Pushed to by the I/O thread
// (offers, decisions) and the session's reader (replies); drained by the session's writer.
// Thread-safe.
class Desk {
 public:
  Desk(pb::Agent agent, int32_t partition, std::string session)
      : agent_(std::move(agent)), partition_(partition), session_(std::move(session)) {}

  const pb::Agent& agent() const { return agent_; }
  // Of sb.agent-events: the agent's domain's.
  int32_t partition() const { return partition_; }
  // Stamped on every event published for this desk (events.proto).
  const std::string& session() const { return session_; }

  void Push(pb::AgentUpdate u) ABSL_LOCKS_EXCLUDED(mu_);
  // The session is to end: its writer stops after what is waiting.
  void Close() ABSL_LOCKS_EXCLUDED(mu_);
  // Waits until an update is waiting or the desk is closed, at most `timeout`; moves the updates
  // waiting to `*batch` (REQUIRES: empty). True when the desk is closed.
  bool Take(absl::Duration timeout, std::deque<pb::AgentUpdate>* batch) ABSL_LOCKS_EXCLUDED(mu_);

  // Of this session's AgentLogin in sb.agent-events; -1 until it is acknowledged. Tells whether
  // a session move the engine decided came before or after this session's login.
  int64_t login_offset() const { return login_offset_.load(); }
  void set_login_offset(int64_t offset) { login_offset_ = offset; }

 private:
  bool HasNews() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !updates_.empty() || closed_; }

  const pb::Agent agent_;
  const int32_t partition_;
  const std::string session_;
  std::atomic<int64_t> login_offset_{-1};
  absl::Mutex mu_;
  std::deque<pb::AgentUpdate> updates_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

// The desks of this node by agent id, and the grace-period logouts of agents whose desktop
// dropped. Thread-safe: sessions open and close desks, the I/O thread delivers to them and
// publishes the logouts due.
class Desks {
 public:
  // `grace_ms`: how long an agent whose stream dropped stays logged in (unless it comes back).
  explicit Desks(int grace_ms) : grace_ms_(grace_ms) {}

  // --- AgentService.Session ---

  // Registers the agent's desk for `session` on this node (ending an older session of the same
  // agent here after a last `refused` update, ABORTED) and cancels a pending grace-period
  // logout. nullptr once the node is draining: a session that passed the draining() check before
  // a drain began is refused here, after CloseAll() or never.
  std::shared_ptr<Desk> Open(const pb::Agent& agent, int32_t partition, std::string session)
      ABSL_LOCKS_EXCLUDED(mu_);
  // The session ended. Unless the agent logged out, it is logged out after the grace period
  // (unless it logs in again before): what it held goes back to the queue. Nothing when a newer
  // session of the agent took over (here, or elsewhere as the engine decided: see Deliver).
  void Close(const std::shared_ptr<Desk>& desk, bool logged_out) ABSL_LOCKS_EXCLUDED(mu_);
  // This node is draining: no new session.
  bool draining() const { return draining_.load(); }

  // --- the gateway (I/O thread) ---

  // A decision about an agent's work reaches its desk if the agent is connected here; a refusal
  // of an event of another session than the desk's does not. A session move
  // (DECISION_AGENT_STATE, REASON_SESSION_MOVED) to another session than the desk's, decided on
  // an input after the desk's login (Desk::login_offset < the decision's input_offset), ends
  // the desk after a last `refused` update (ABORTED) and drops its pending grace logout the same
  // way: the agent works from the newer session now (on this node or another).
  // Only decisions of the desk's own shard (`shard`: the output's, ShardOutput.shard) reach it.
  void Deliver(const pb::Decision& d, int32_t shard) ABSL_LOCKS_EXCLUDED(mu_);
  // The desk of an agent connected here; nullptr when none.
  std::shared_ptr<Desk> Find(const std::string& agent_id) const ABSL_LOCKS_EXCLUDED(mu_);
  // The agents connected here, by id.
  std::vector<std::string> AgentIds() const ABSL_LOCKS_EXCLUDED(mu_);
  struct DueLogout {
    std::string agent_id;
    int32_t partition = 0;
    std::string session;  // of the desk that dropped: the logout is refused if it is not current
  };
  // The grace-period logouts due now, forgotten here.
  std::vector<DueLogout> TakeDueLogouts() ABSL_LOCKS_EXCLUDED(mu_);
  // From now on draining() (no new session).
  void StartDraining() ABSL_LOCKS_EXCLUDED(mu_);
  // Ends every open session after `last`. Returns how many.
  size_t CloseAll(const pb::AgentUpdate& last) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // The engine's refusal of the desk's login (DECISION_REFUSED of "agent_login" with the desk's
  // session: bad skills, or another shard holds the agent, engine.h ReserveIdentities) ends the
  // desk after a last `refused` update, with no grace logout: the agent is not logged in.
  void LoginRefused(const std::shared_ptr<Desk>& desk, const pb::Decision& d)
      ABSL_LOCKS_EXCLUDED(mu_);

  struct PendingLogout {
    int64_t due_ms = 0;  // MonotonicMs
    int32_t partition = 0;
    std::string session;
    int64_t login_offset = -1;  // the desk's (Desk::login_offset)
  };

  // True when a session move decided on input `move_offset` supersedes a session whose login
  // was at `login_offset` (-1: not acknowledged yet, so later than anything the shard decided).
  static bool Superseded(int64_t login_offset, int64_t move_offset) {
    return login_offset >= 0 && login_offset < move_offset;
  }
  // Deliver() of a session move.
  void Moved(const pb::Decision& d, int32_t shard) ABSL_LOCKS_EXCLUDED(mu_);

  const int grace_ms_;
  mutable absl::Mutex mu_;
  std::atomic<bool> draining_{false};  // set under mu_, so Open() and CloseAll() agree
  std::map<std::string, std::shared_ptr<Desk>> desks_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, PendingLogout> logouts_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sb::gateway
