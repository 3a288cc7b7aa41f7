// The routing engine: decides which agent gets which contact, exactly and deterministically.
//
// Pure core: events in, decisions out; no I/O, no threads, time only from the injected Clock.
// Every call first fires the timers due at Clock::NowMs() (offer timeouts, ACW limits, bullseye
// steps, preferred-agent waits, max waits), then applies the event. The same sequence of calls
// at the same clock readings yields the same decisions, also after ExportState()/Restore().
//
// Thread: an Engine is owned by one thread (the shard's owner thread); it is not thread-safe.
// Errors: a call that fails (unknown id, wrong state, bad input) changes nothing except firing
// due timers, whose decisions are still appended to `out`.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "router/engine/types.h"
#include "switchboard/v1/config.pb.h"
#include "switchboard/v1/engine_state.pb.h"
#include "switchboard/v1/events.pb.h"

namespace sb::engine {

// The wrap-up disposition that marks a contact resolved at the first contact (FCR).
inline constexpr std::string_view kResolvedDisposition = "resolved";

class EngineImpl;

struct ContactView {
  pb::ContactState state;
  std::string queue;     // current queue
  std::string agent_id;  // offered or connected agent
  uint32_t attempt;
  uint32_t bullseye_step;
  int64_t waited_ms;
  int64_t position;  // 0-based among contacts ahead with the same requirement; -1 if not waiting
  int64_t estimated_wait_ms;  // -1 when unknown (no agent can serve it)
  // Where its service level belongs and its times, for metrics (router/shard/probe.h).
  std::string origin_queue;  // the queue it arrived in: its QueueStats
  pb::Channel channel;
  bool counts_for_sl;  // neither a test contact nor an outbound campaign (DESIGN.md)
  bool answered;       // already counted as answered (a requeue does not count it again)
  int64_t arrived_ms;
  int64_t connected_ms;  // 0 while never connected
  // First-contact owner (the first agent it was connected to; empty before), and of transfers:
  // how many, the latest handoff note.
  std::string owner_agent_id;
  uint32_t transfers = 0;
  std::string handoff_note;
};

struct AgentView {
  pb::AgentState state =
      pb::AGENT_STATE_UNSPECIFIED;  // derived: reserved/busy/ACW when holding work
  std::string reason;
  uint32_t units_in_use = 0;
  uint32_t capacity_units = 0;
  uint32_t items = 0;
  double occupancy = 0;  // busy / (busy + ready) since login, 0 when no time yet
};

// `waiting` and `oldest_wait_ms` count contacts by the queue they wait in now (after an overflow,
// the overflow queue); `stats` count them by the queue they arrived in, where the customer's
// service level belongs.
struct QueueSummary {
  std::string name;
  uint64_t waiting = 0;
  int64_t oldest_wait_ms = 0;
  pb::QueueStats stats;
  // answered in threshold / (answered + abandoned beyond the short-abandon threshold); 1.0 while
  // nothing was answered or abandoned yet (check stats before showing it).
  double service_level = 1.0;
  // Estimated wait of the newest contact waiting in this queue now (what a new arrival would
  // about wait); 0 when none waits, -1 when no agent can serve it.
  int64_t estimated_wait_ms = 0;
};

// Agents of one domain by derived state, and their capacity, for metrics and wallboards.
struct DomainSummary {
  std::string name;
  uint64_t agents_ready = 0, agents_not_ready = 0, agents_reserved = 0, agents_busy = 0,
           agents_acw = 0;
  uint64_t units_in_use = 0, capacity_units = 0;  // of logged-in agents
  // Accumulated over the logged-in agents since each one's login (occupancy = busy / (busy +
  // ready)); time since an agent's last state change is not in yet.
  int64_t busy_ms = 0, ready_ms = 0;
};

// What changed in the engine since the last TakeChanges(), as full records: the router shard
// writes them to its changelog as keyed records (agent id, contact id; removed contacts as
// tombstones). Replacing, in the previous ExportState(), every agent and contact by id with the
// records here, dropping `removed_contacts`, and taking taken_at_ms / next_seq / queue_stats from
// here yields the current ExportState() (up to the order of agents).
struct Changes {
  std::vector<pb::AgentRecord> agents;
  std::vector<pb::AgentIdentity> identities;  // of agents homed here (never removed)
  std::vector<pb::ContactRecord> contacts;
  std::vector<std::string> removed_contacts;  // never also in `contacts`
  int64_t taken_at_ms = 0;
  uint64_t next_seq = 0;
  std::vector<pb::QueueStats> queue_stats;  // all queues, always filled

  bool empty() const {
    return agents.empty() && contacts.empty() && removed_contacts.empty() && identities.empty();
  }
};

// One logged-in agent as the engine holds it, for agent lists (AdminService.ListAgents):
// `record` is its AgentRecord (identity and skills as logged in, presence, held work items) and
// `view` its derived state and occupancy.
struct AgentListing {
  pb::AgentRecord record;
  AgentView view;
};

struct Summary {
  // Contacts by state right now (not cumulative: see QueueSummary::stats for counts).
  uint64_t waiting = 0, being_offered = 0, connected = 0;
  uint64_t agents_ready = 0, agents_not_ready = 0, agents_reserved = 0, agents_busy = 0,
           agents_acw = 0, agents_logged_in = 0;
  std::vector<QueueSummary> queues;
  std::vector<DomainSummary> domains;  // every configured domain, in config order
};

// A message of the cluster-wide agent identity protocol for another shard (Engine::
// ReserveIdentities): to the home shard of the agent the event names, or to `to_partition`.
struct IdentityMessage {
  bool to_home = false;
  int32_t to_partition = 0;
  pb::RoutingEvent event;
};

class Engine {
 public:
  // REQUIRES: config validated (sb::config::Validate). `clock` must outlive the engine.
  static Result<std::unique_ptr<Engine>> Create(const pb::RoutingConfig& config,
                                                const Clock* clock);
  // Rebuilds an engine from ExportState() output taken under the same config.
  static Result<std::unique_ptr<Engine>> Restore(const pb::RoutingConfig& config,
                                                 const Clock* clock, const pb::EngineState& state);
  ~Engine();

  // Dispatches a RoutingEvent to the calls below. An event a desktop or an integrator sent that
  // is refused is also answered: one DECISION_REFUSED appended to `out` naming the event's
  // contact and agent, the code, the message and the event's name, so the sender learns it.
  // Timers, follow-up commands, config changes and contacts another shard forwarded (attribute
  // kForwardedFromAttribute) are not answered; the status is returned either way.
  Status Apply(const pb::RoutingEvent& event, Decisions* out);

  Status ContactArrived(const pb::Contact& contact, Decisions* out);
  Status ContactCancelled(std::string_view contact_id, Decisions* out);
  Status ContactAbandoned(std::string_view contact_id, Decisions* out);
  // `agent_id` non-empty (a desktop's completion): the contact must be connected to that agent
  // and `session` must be its current one (FailedPrecondition otherwise).
  Status ContactEnded(std::string_view contact_id, Decisions* out, std::string_view agent_id = {},
                      std::string_view session = {});
  // Hands a connected contact on (see events.proto ContactTransferred): the connected agent
  // enters after-contact work for it (wrap-up required, as for an ended contact) and gets it no
  // more; the contact waits again in `to_queue`, or in its queue for `to_agent_id` as its
  // preferred agent (idle: offered at once; busy: waited for up to the queue's preferred wait),
  // keeping its arrival time, its answered flag and its first-contact owner. Emits
  // DECISION_TRANSFERRED, then whatever routing it decides. Refused (nothing changes): not
  // connected, or not to `by_agent_id` (FailedPrecondition); unknown queue (InvalidArgument) or
  // agent (NotFound); a queue or agent of another routing domain, the connected agent itself, or
  // an agent logged out (FailedPrecondition); no target or no handoff note (InvalidArgument).
  Status ContactTransferred(const pb::ContactTransferred& transfer, Decisions* out);
  // Agent events and sessions (DESIGN.md "An agent is one person"; events.proto): `session` is
  // the desktop session that sent the event, empty for publishers without sessions. Each agent
  // has a current session and a generation (AgentRecord; log order decides: the last login
  // applied is current).
  //
  // Login of an agent logged out: logs it in with `session`, generation + 1. Of an agent logged
  // in with another session: a session move. `session` becomes current (generation + 1); the
  // agent keeps its connected contacts, after-contact work and occupancy (one capacity, not two);
  // skills, domain, capacity and ready come from this login; its open offers go back to the
  // queue (REASON_SESSION_MOVED: the older desktop saw them, the new one did not) and may be
  // offered again at once; one DECISION_AGENT_STATE (REASON_SESSION_MOVED, session,
  // generation) tells the gateways, so the older session's desk ends. Refused
  // (FailedPrecondition), nothing changed: a login of the current session again (also both
  // empty), and an empty-session login while a session is current.
  Status AgentLogin(const pb::Agent& agent, bool ready, Decisions* out,
                    std::string_view session = {});
  // Every call below is refused (FailedPrecondition, nothing changed) when the agent is logged
  // in and `session` is not its current session ("agent "a1": logout of session "s1" ignored:
  // session "s2" (generation 4) is current"): a late grace-period logout or a stale desktop's
  // action never acts.
  Status AgentLogout(std::string_view agent_id, Decisions* out, std::string_view session = {});
  Status AgentReady(std::string_view agent_id, Decisions* out, std::string_view session = {});
  Status AgentNotReady(std::string_view agent_id, std::string_view reason, Decisions* out,
                       std::string_view session = {});
  // `attempt` 0 accepts whatever offer the agent holds for the contact.
  Status OfferAccepted(std::string_view agent_id, std::string_view contact_id, uint32_t attempt,
                       Decisions* out, std::string_view session = {});
  Status OfferRejected(std::string_view agent_id, std::string_view contact_id, uint32_t attempt,
                       Decisions* out, std::string_view session = {});
  // An empty contact_id wraps up every contact the agent has in after-contact work.
  // `disposition` "resolved" (kResolvedDisposition) counts toward first-contact resolution.
  Status WrapUpDone(std::string_view agent_id, std::string_view contact_id, Decisions* out,
                    std::string_view disposition = {}, std::string_view session = {});
  // Fires due timers only.
  void Tick(Decisions* out);

  Result<ContactView> GetContact(std::string_view contact_id) const;
  Result<AgentView> GetAgent(std::string_view agent_id) const;
  // O(agents + queues); meant for status lines and wallboards, not the hot path.
  Summary Summarize() const;
  // Every logged-in agent, in login order. O(agents + their work items); not the hot path.
  std::vector<AgentListing> ListAgents() const;
  pb::EngineState ExportState() const;
  // The clock reading of the latest call: the time the engine's own waits and stats used.
  int64_t now_ms() const;

  // Change tracking for the changelog; off by default (it costs a little on the hot path).
  void TrackChanges(bool on);
  // Moves what changed since the previous call (or since tracking was switched on) into `out`,
  // replacing its contents. Cost: O(changed records).
  void TakeChanges(Changes* out);

  // One agent, one capacity across the cluster (events.proto AgentIdentityReserve); off by
  // default (one engine alone: tests, benchmarks). On, a login of an agent logged out here
  // leaves it pending (logged in, nothing routed to it) and sends a reserve to the agent's home
  // shard; the home's answer (identity_answer) grants it (routing starts) or refuses it: the
  // agent is logged out here with a DECISION_REFUSED of its login naming the domain and shard
  // that hold it. Every logout of a reserved agent sends a release. The engine also keeps the
  // reservations of the agents homed on its shard (identity_reserve, identity_release: granted
  // to one shard at a time, in log order). `partition` names this engine's shard in messages.
  // Call after Create()/Restore() (a restore reserves nothing again).
  void ReserveIdentities(int32_t partition);
  // Moves the messages for other shards made since the last call into `out`, replacing it.
  void TakeIdentityMessages(std::vector<IdentityMessage>* out);

  // Approximate heap bytes held, for the benchmark's per-contact/per-agent figures.
  size_t live_contacts() const;
  size_t logged_in_agents() const;

 private:
  explicit Engine(std::unique_ptr<EngineImpl> impl);
  Status Dispatch(const pb::RoutingEvent& event, Decisions* out);
  Status DispatchIdentity(const pb::RoutingEvent& event, Decisions* out);
  std::unique_ptr<EngineImpl> impl_;
};

}  // namespace sb::engine
