// How the simulated agents of `Traffic` reach the cluster: the seam between their behaviour
// (think, accept, talk, wrap up) and the transport their desktops use. Two implementations:
//   KafkaAgentLink (kafka_agents.h)  publishes RoutingEvents to sb.agent-events and learns its
//                                    agents' offers from the decisions read on sb.assignments;
//                                    `switchboard loadgen`, its tests and benchmarks use it.
//   GrpcAgentLink (grpc_agents.h)    one AgentService.Session stream per agent to a router's
//                                    gateway, like a real desktop; `switchboard dev` uses it.
// The vocabulary is the desktop protocol of services.proto (AgentRequest out, AgentUpdate in),
// whatever the transport.
//
// Threads: every method is called from Traffic's owner thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "switchboard/v1/services.pb.h"

namespace sb::loadgen {

namespace pb = ::switchboard::v1;

// One router's gRPC gateway and the bearer token the agents present there (empty: none).
struct GatewayTarget {
  std::string address;  // host:port
  std::string token;
};

// What one simulated agent's desktop heard from the cluster.
struct AgentHeard {
  uint32_t agent = 0;  // index into the agents the link was made with
  pb::AgentUpdate update;
};

struct AgentLinkCounts {
  uint64_t sessions_live = 0;   // desktops logged in now (gRPC: streams answered logged_in)
  uint64_t offers_heard = 0;    // offers delivered to the agents by this link
  uint64_t refused = 0;         // actions the gateway refused (AgentUpdate.refused)
  uint64_t sessions_lost = 0;   // streams that ended without a logout (each reconnected)
  uint64_t actions_queued = 0;  // actions waiting for their agent's stream to log in again
};

class AgentLink {
 public:
  virtual ~AgentLink() = default;

  // Logs every agent in, ready. Fails when the cluster refuses the logins (a bad token, an
  // unreachable gateway) or the transport fails; the message names the agent or gateway.
  [[nodiscard]] virtual Status LogIn() = 0;
  // One desktop action of `agent`: accept, complete, wrap_up, ready (never login or logout).
  // Fails only when the transport fails for good (Kafka: the producer refused the record);
  // a gRPC link whose stream is down keeps the action for the agent's next session.
  [[nodiscard]] virtual Status Send(uint32_t agent, const pb::AgentRequest& request) = 0;
  // A decision read from sb.assignments for the first time (the Ledger's kNew). The Kafka link
  // turns its agents' decisions into their updates; the gRPC link ignores them: its agents act
  // only on what their own streams deliver.
  virtual void Observe(const pb::Decision& decision) = 0;
  // Appends the updates heard since the last call, in arrival order per agent, to `out`; the
  // gRPC link also reconnects streams whose backoff has run out.
  virtual void Take(std::vector<AgentHeard>* out) = 0;
  // Every agent logs out; best effort, bounded by `timeout_ms`. Nothing is sent after it.
  virtual void LogOut(int timeout_ms) = 0;
  // Fault injection: every open desktop stream to gateway `gateway` (an index into the
  // gateways) ends at once without a logout, as when a network drops them; the desktops log in
  // again elsewhere as after any lost stream. Returns how many were cut; FailedPrecondition for
  // a transport without streams.
  virtual Result<size_t> CutStreams(size_t gateway) = 0;
  virtual AgentLinkCounts counts() const = 0;
  // For the headers: "Kafka (sb.agent-events)", "gRPC AgentService.Session, 2 gateways".
  virtual std::string Describe() const = 0;
};

}  // namespace sb::loadgen
