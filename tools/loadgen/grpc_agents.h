// The simulated agents' desktops over gRPC: each agent holds one AgentService.Session stream to
// one router's gateway (agents spread round-robin over the gateways), logs in with its skills,
// and acts only on the offers and decisions its own stream delivers. A stream that ends without
// a logout (its router stopped or was killed) is opened again on the next gateway after a
// backoff, and the agent logs in again (the cluster keeps it if it returns within the gateway's
// grace period); actions made meanwhile wait for the new session.
//
// Threads: the owner (Traffic's thread) calls every public method. The streams are gRPC callback
// reactors: no thread per agent; their reactions, on gRPC's threads, only append to a
// mutex-guarded inbox that the owner drains in Take().
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "switchboard/v1/agent.pb.h"
#include "switchboard/v1/services.grpc.pb.h"
#include "tools/loadgen/agent_link.h"

namespace sb::loadgen {

struct GrpcAgentOptions {
  std::vector<GatewayTarget> gateways;  // REQUIRES: not empty
  // LogIn() fails when not every agent is logged in by then.
  int login_timeout_ms = 15000;
  // Reconnect backoff after a stream ended: doubles from min to max, reset by a login.
  int backoff_min_ms = 200;
  int backoff_max_ms = 5000;
  // Actions kept per agent while its stream is down; the oldest go first beyond it.
  size_t max_held_actions = 64;
};

class GrpcAgentLink final : public AgentLink {
 public:
  // Makes one channel per gateway; connects nothing yet. InvalidArgument with no gateway.
  static Result<std::unique_ptr<GrpcAgentLink>> Create(std::vector<pb::Agent> agents,
                                                       GrpcAgentOptions options);
  // Cancels the streams still open and waits for their end.
  ~GrpcAgentLink() override;
  GrpcAgentLink(const GrpcAgentLink&) = delete;
  GrpcAgentLink& operator=(const GrpcAgentLink&) = delete;

  // Opens every agent's stream and waits (up to login_timeout_ms) until each answered
  // logged_in. Fails at once when a gateway refuses a login for good (UNAUTHENTICATED,
  // PERMISSION_DENIED, INVALID_ARGUMENT, FAILED_PRECONDITION), naming the agent and gateway;
  // Unavailable when the time runs out. Updates heard meanwhile are kept for Take().
  Status LogIn() override;
  Status Send(uint32_t agent, const pb::AgentRequest& request) override;
  void Observe(const pb::Decision&) override {}  // the agents hear their own streams
  void Take(std::vector<AgentHeard>* out) override;
  // Sends AgentLogoutRequest on every logged-in stream and waits for the streams to end; those
  // still open at the deadline are cancelled (the gateway then logs them out after its grace).
  void LogOut(int timeout_ms) override;
  AgentLinkCounts counts() const override;
  Result<size_t> CutStreams(size_t gateway) override;
  std::string Describe() const override;

  // The gateway (index into options.gateways) agent `agent` uses or will use next.
  size_t gateway_of(uint32_t agent) const { return desks_[agent].gateway; }

 private:
  class Stream;
  // Written by the reactions, read by the owner.
  struct Event {
    uint32_t agent = 0;
    Stream* stream = nullptr;
    bool ended = false;  // the stream's OnDone: `status` set, `update` empty
    grpc::Status status;
    pb::AgentUpdate update;
  };
  // One agent's desktop. Owner thread only.
  struct Desk {
    Stream* stream = nullptr;  // the open call; nullptr while waiting to reconnect
    size_t gateway = 0;
    bool logged_in = false;
    bool leaving = false;  // logout sent: the end of the stream is expected
    int backoff_ms = 0;
    std::deque<pb::AgentRequest> held;  // actions waiting for a logged-in stream
  };

  GrpcAgentLink(std::vector<pb::Agent> agents, GrpcAgentOptions options);
  void Connect(uint32_t agent) ABSL_LOCKS_EXCLUDED(mu_);
  // Opens the streams whose reconnect backoff has run out.
  void ReconnectDue();
  // Applies the inbox to the desks; updates for Traffic go to `out`. Fails (LogIn only,
  // `strict`) on a login refused for good.
  Status Pump(std::vector<AgentHeard>* out, bool strict) ABSL_LOCKS_EXCLUDED(mu_);
  void OnEnded(uint32_t agent, Desk& desk, const grpc::Status& status, bool strict,
               Status* refused);
  // From reactions.
  void Post(Event e) ABSL_LOCKS_EXCLUDED(mu_);
  // The conditions the owner awaits on mu_.
  bool InboxHasEvents() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !inbox_.empty(); }
  bool AllStreamsDone() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return open_streams_ == 0; }

  const std::vector<pb::Agent> agents_;
  const GrpcAgentOptions options_;
  std::vector<std::unique_ptr<pb::AgentService::Stub>> stubs_;  // per gateway
  std::vector<Desk> desks_;
  std::set<std::pair<int64_t, uint32_t>> reconnects_;  // (due MonotonicMs, agent)
  std::vector<AgentHeard> stash_;                      // heard during LogIn, for Take
  AgentLinkCounts counts_;
  uint64_t login_failures_ = 0;     // streams that ended before logged_in
  std::string last_login_failure_;  // "<gateway>: <code>: <message>"
  bool stopping_ = false;

  absl::Mutex mu_;
  // Signalled by every Post: LogOut wakes on any event, not on a condition. (The Await waits on
  // mu_ need no signal: unlocking mu_ re-evaluates their conditions.)
  absl::CondVar posted_;
  std::deque<Event> inbox_ ABSL_GUARDED_BY(mu_);
  size_t open_streams_ ABSL_GUARDED_BY(mu_) = 0;  // calls whose OnDone has not run
};

}  // namespace sb::loadgen
