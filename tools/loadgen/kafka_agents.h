// The simulated agents' desktops over Kafka: actions published to sb.agent-events (the agent's
// domain partition, keyed by agent id, in the agent's order), offers and decisions learnt from
// the outputs Traffic reads on sb.assignments. What `switchboard loadgen` uses: no gateway in
// the path, so its figures are the routers' own.
//
// Threads: Traffic's owner thread, like the producer it borrows.
#pragma once

#include <deque>
#include <map>
#include <string>
#include <vector>

#include "router/kafka/client.h"
#include "switchboard/v1/agent.pb.h"
#include "switchboard/v1/events.pb.h"
#include "tools/loadgen/agent_link.h"

namespace sb::loadgen {

class KafkaAgentLink final : public AgentLink {
 public:
  // REQUIRES: `producer` outlives the link; `partitions` is sb.agent-events' partition count.
  KafkaAgentLink(std::vector<pb::Agent> agents, int32_t partitions, kafka::Producer* producer);

  Status LogIn() override;
  Status Send(uint32_t agent, const pb::AgentRequest& request) override;
  void Observe(const pb::Decision& decision) override;
  void Take(std::vector<AgentHeard>* out) override;
  void LogOut(int timeout_ms) override;
  AgentLinkCounts counts() const override { return counts_; }
  Result<size_t> CutStreams(size_t) override {
    return FailedPrecondition("agents over Kafka have no desktop streams to cut");
  }
  std::string Describe() const override { return "Kafka (sb.agent-events)"; }

 private:
  Status Publish(uint32_t agent, const pb::RoutingEvent& ev);

  const std::vector<pb::Agent> agents_;
  const int32_t partitions_;
  kafka::Producer* const producer_;
  std::map<std::string, uint32_t> index_;  // agent id -> index
  std::deque<AgentHeard> heard_;
  AgentLinkCounts counts_;
};

}  // namespace sb::loadgen
