#include "tools/loadgen/kafka_agents.h"

#include <chrono>

#include "router/gateway/agent_events.h"
#include "router/kafka/topics.h"

namespace sb::loadgen {
namespace {

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

KafkaAgentLink::KafkaAgentLink(std::vector<pb::Agent> agents, int32_t partitions,
                               kafka::Producer* producer)
    : agents_(std::move(agents)), partitions_(partitions), producer_(producer) {
  for (uint32_t i = 0; i < agents_.size(); ++i) index_[agents_[i].id()] = i;
}

Status KafkaAgentLink::Publish(uint32_t agent, const pb::RoutingEvent& ev) {
  // The agent's desktop reports everything on the agent's partition, in the agent's order.
  const pb::Agent& a = agents_[agent];
  return producer_->Produce(kafka::kAgentEventsTopic, kafka::PartitionFor(a.domain(), partitions_),
                            a.id(), ev.SerializeAsString(), {}, 0);
}

Status KafkaAgentLink::LogIn() {
  for (uint32_t i = 0; i < agents_.size(); ++i) {
    pb::RoutingEvent ev;
    ev.set_at_ms(WallMs());
    *ev.mutable_agent_login()->mutable_agent() = agents_[i];
    ev.mutable_agent_login()->set_ready(true);
    SB_RETURN_IF_ERROR(Publish(i, ev));
  }
  counts_.sessions_live = agents_.size();
  return Status::Ok();
}

// The RoutingEvent the gateway would publish for the same desktop action.
Status KafkaAgentLink::Send(uint32_t agent, const pb::AgentRequest& r) {
  std::optional<pb::RoutingEvent> ev = gateway::AgentActionEvent(agents_[agent].id(), r, WallMs(),
                                                                 /*session=*/{});
  if (!ev) {
    return InvalidArgument("KafkaAgentLink::Send: unsupported action " +
                           std::to_string(r.action_case()));
  }
  return Publish(agent, *ev);
}

void KafkaAgentLink::Observe(const pb::Decision& d) {
  auto it = index_.find(d.agent_id());
  if (it == index_.end()) return;  // not one of our agents
  AgentHeard h{it->second, {}};
  if (d.type() == pb::DECISION_OFFER) {
    *h.update.mutable_offer() = d;
    ++counts_.offers_heard;
  } else {
    *h.update.mutable_decision() = d;
  }
  heard_.push_back(std::move(h));
}

void KafkaAgentLink::Take(std::vector<AgentHeard>* out) {
  for (AgentHeard& h : heard_) out->push_back(std::move(h));
  heard_.clear();
}

void KafkaAgentLink::LogOut(int timeout_ms) {
  for (uint32_t i = 0; i < agents_.size(); ++i) {
    pb::RoutingEvent ev;
    ev.set_at_ms(WallMs());
    ev.mutable_agent_logout()->set_agent_id(agents_[i].id());
    Publish(i, ev).IgnoreError();  // best effort: the verdict is known
  }
  producer_->Flush(timeout_ms).IgnoreError();  // logouts are courtesy; the verdict is known
  counts_.sessions_live = 0;
}

}  // namespace sb::loadgen
