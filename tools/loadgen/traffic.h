// Simulated agents and customers of a Switchboard cluster: agents log in with random skills,
// accept the offers they hear after a think time, talk, wrap up and become ready again;
// customers hang up after an exponential patience unless offered first. Customers' contacts,
// hang-ups and follow-up requests go to Kafka like a channel adapter's; the agents' desktops
// use an AgentLink (agent_link.h): Kafka (sb.agent-events, offers learnt from sb.assignments)
// or gRPC AgentService.Session streams to the routers' gateways. Every output read from
// sb.assignments is booked in a Ledger (the verification behind `loadgen --verify`), whatever
// the agents' transport. Used by `switchboard loadgen` (a bounded run, Kafka agents) and
// `switchboard dev` (continuous traffic, gRPC agents).
//
// Threads: one owner thread; nothing here blocks longer than a Kafka call's stated timeout (or,
// in Start, the gRPC agents' login timeout).
#pragma once

#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <queue>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"
#include "router/kafka/client.h"
#include "switchboard/v1/agent.pb.h"
#include "switchboard/v1/config.pb.h"
#include "switchboard/v1/events.pb.h"
#include "tools/loadgen/agent_link.h"
#include "tools/loadgen/ledger.h"

namespace sb::loadgen {

struct TrafficOptions {
  uint32_t agents = 50;
  uint32_t domains = 1;  // the first D domains of the config get agents and contacts
  uint64_t seed = 1;
  int think_ms = 200, handle_ms = 2000, wrap_ms = 300;
  double patience_s = 60;  // mean customer patience before an offer; 0 = never abandon
  // Customers who hang up while waiting ask for a callback with this probability: a follow-up
  // request (id "cb-<contact>") for `callback_queue`. The agents take the callback attempts and
  // escalations like any contact and report an outcome (3 in 4 answered). Empty queue: none.
  std::string callback_queue;
  double callback_share = 0;
  // Customers whose contact was handled file a complaint with this probability: a complaint-reply
  // request (id "cb-cmp-<contact>", taken by the agents like a callback) for `complaint_queue`;
  // one in ten is about the same event as an earlier complaint (an incident). Empty queue: none.
  std::string complaint_queue;
  double complaint_share = 0;
  // Agents wrap up contacts as "resolved" (first-contact resolution) with this probability, else
  // "unresolved"; 0: no disposition (follow-up attempts always report their outcome).
  double resolved_share = 0;
  // Agents also handle contacts offered to them that this process did not submit (an integrator's,
  // over gRPC), as a contact center's agents would; off: such offers are left to time out.
  bool adopt_foreign_contacts = false;
  // The agents' transport: empty = Kafka; else each agent holds an AgentService.Session stream
  // to one of these gateways (round-robin), moving to the next if its stream ends.
  std::vector<GatewayTarget> gateways;
  kafka::Settings settings;
  std::string epoch_log;  // append "<wall ms> <shard> <epoch>" at each shard owner's first output
};

class Traffic {
 public:
  // Reads the partition count from the cluster (bounded by 15 s) and draws the agents. Sends
  // nothing yet. Fails with InvalidArgument when the options do not fit the config (too many
  // domains, no agent can serve any queue), Unavailable when Kafka cannot be reached.
  static Result<std::unique_ptr<Traffic>> Create(const std::string& bootstrap,
                                                 pb::RoutingConfig config, TrafficOptions options);

  // Starts reading sb.assignments at its current end (every output for this run comes later)
  // and logs every agent in, ready (gRPC agents: waits until every stream answered logged_in,
  // bounded; fails naming the gateway that refused a login). The calls below REQUIRE that
  // Start() succeeded.
  Status Start();
  // One contact on a random queue the agents can serve.
  Status Submit();
  // One probe contact per queue, not counted in the latency; see ProbesAnswered().
  Status SubmitProbes();
  // Whether every probe contact was offered: the cluster routes every queue.
  bool ProbesAnswered() const;
  // Fires the simulated people's due actions and books the outputs that arrived, waiting up to
  // `poll_timeout_ms` for the first. Fails on a Kafka error or a failed delivery.
  Status Step(int poll_timeout_ms);
  // Fault injection (gRPC agents): the desktop streams to gateway `gateway` drop (AgentLink).
  Result<size_t> CutAgentStreams(size_t gateway) { return link_->CutStreams(gateway); }
  // Customers of open contacts without a live offer hang up now: after this only contacts an
  // agent is about to take remain open. Contacts with a live offer are left alone, so an
  // acceptance already sent can never meet a customer who left.
  Status HangUpWaiting();
  // Every agent logs out; best effort, bounded by `timeout_ms` (the verdict does not depend on it).
  void LogOut(int timeout_ms);

  Ledger& ledger() { return ledger_; }
  const Ledger& ledger() const { return ledger_; }
  // Outputs about this run's contacts read so far (new, repeated or contradicting): while it
  // grows the cluster is still saying something about them.
  uint64_t outputs_booked() const { return outputs_booked_; }
  size_t queues() const { return queues_.size(); }
  uint32_t domains() const { return options_.domains; }
  uint64_t callbacks_requested() const { return callbacks_requested_; }
  uint64_t follow_up_contacts() const { return follow_up_contacts_; }
  uint32_t agents() const { return static_cast<uint32_t>(agents_.size()); }
  // What the agents' transport did: sessions, offers heard, refusals, reconnects.
  AgentLinkCounts agent_link_counts() const { return link_->counts(); }
  std::string agent_link() const { return link_->Describe(); }

 private:
  struct SimAgent {
    pb::Agent agent;
    std::map<std::string, uint32_t> prof;
    int32_t partition = 0;
  };
  struct Queue {
    std::string name;
    std::string domain;
    std::vector<std::pair<std::string, uint32_t>> reqs;
    std::vector<uint32_t> eligible_agents;
  };
  enum class Act : uint8_t { kAccept, kEnd, kWrapUp, kReady, kAbandon };
  struct Action {
    int64_t due_ms;
    Act act;
    uint32_t agent;
    std::string contact;
    uint32_t attempt;
    // kEnd, kWrapUp: the contact's queue (when connected) has after-contact work, so the wrap-up,
    // not the completion, frees the agent in the engine.
    bool acw = false;
    bool operator>(const Action& o) const { return due_ms > o.due_ms; }
  };

  Traffic(std::string bootstrap, pb::RoutingConfig config, TrafficOptions options);
  Status Setup();
  bool Eligible(const SimAgent& a, const Queue& q) const;
  Status Send(const std::string& key, std::string_view topic, int32_t partition,
              const pb::RoutingEvent& ev);
  Status SubmitContact(const std::string& id, size_t queue, bool measured);
  Status Abandon(const std::string& contact);
  Status RequestCallback(const std::string& contact);
  Status FileComplaint(const std::string& contact);
  // Submits a follow-up request to the shard of `queue`'s domain.
  Status SubmitFollowUp(const pb::RoutingEvent& ev, const std::string& queue);
  // A contact the cluster created from a callback request of ours (an attempt or an escalation),
  // or with adopt_foreign_contacts any contact offered to our agents: booked like one of ours,
  // not measured. False for anything else.
  bool AdoptFollowUp(const pb::Decision& d);
  Status OnOutput(const kafka::Record& r);
  // What one agent's desktop heard: offers are accepted after the think time, connections
  // talked and wrapped up, withdrawals drop the pending acceptance.
  void OnHeard(AgentHeard& h);
  // Whether `contact` has an offer not yet withdrawn.
  bool HasLiveOffer(const std::string& contact) const;
  Status Fire(const Action& a);
  void Schedule(Action a) { actions_.push(std::move(a)); }
  std::string ProbeId(size_t queue) const;

  const std::string bootstrap_;
  const pb::RoutingConfig config_;
  const TrafficOptions options_;
  std::mt19937_64 rng_;
  std::string run_id_;
  int32_t partitions_ = 0;
  uint64_t submitted_ = 0;
  uint64_t callbacks_requested_ = 0, follow_up_contacts_ = 0;
  uint64_t outputs_booked_ = 0;
  std::vector<std::string> complaint_events_;  // event keys of complaints filed, for repeats
  std::unique_ptr<kafka::Producer> producer_;
  std::unique_ptr<kafka::PartitionReader> reader_;
  std::unique_ptr<AgentLink> link_;  // after producer_: the Kafka link borrows it
  std::vector<AgentHeard> heard_;    // reused by Step
  Status delivery_failure_;
  std::vector<SimAgent> agents_;
  std::map<std::string, uint32_t> agent_index_;
  std::vector<Queue> queues_;
  std::vector<std::string> domains_;
  std::map<std::string, size_t> contact_queue_;  // contact -> queue index
  std::set<std::string> acw_queues_;             // queues of the config with after-contact work
  std::set<std::string> live_offers_;            // contact#attempt offered, not withdrawn
  std::set<std::string> desk_connected_;         // contacts a desk heard connected
  std::priority_queue<Action, std::vector<Action>, std::greater<>> actions_;
  std::set<std::pair<int32_t, uint64_t>> epochs_seen_;
  std::ofstream epoch_log_;
  Ledger ledger_;
};

}  // namespace sb::loadgen
