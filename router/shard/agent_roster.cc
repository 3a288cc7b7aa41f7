#include "router/shard/agent_roster.h"

#include <algorithm>

#include "switchboard/v1/stats.pb.h"

namespace sb::shard {

namespace pb = ::switchboard::v1;

std::string AgentsStatsKey(int32_t partition, uint32_t part) {
  return "agents/" + std::to_string(partition) + "/" + std::to_string(part);
}

bool AgentRoster::Due(int64_t now_ms) const {
  return last_ms_ < 0 || now_ms - last_ms_ >= kRosterIntervalMs;
}

std::vector<std::pair<std::string, std::optional<std::string>>> AgentRoster::Collect(
    int64_t now_ms, int64_t epoch, const std::string& node_id,
    const std::vector<engine::AgentListing>& agents) {
  last_ms_ = now_ms;
  const uint32_t parts = std::max<uint32_t>(
      1, static_cast<uint32_t>((agents.size() + kAgentsPerPart - 1) / kAgentsPerPart));
  std::vector<std::pair<std::string, std::optional<std::string>>> out;
  for (uint32_t part = 0; part < parts; ++part) {
    pb::ShardAgents rec;
    rec.set_shard(partition_);
    rec.set_node_id(node_id);
    rec.set_epoch(epoch);
    rec.set_at_ms(now_ms);
    rec.set_part(part);
    rec.set_parts(parts);
    const size_t end = std::min(agents.size(), (part + 1) * kAgentsPerPart);
    for (size_t i = part * kAgentsPerPart; i < end; ++i) {
      const engine::AgentListing& a = agents[i];
      pb::AgentLive* live = rec.add_agents();
      *live->mutable_agent() = a.record.agent();
      live->set_state(a.view.state);
      live->set_reason(a.view.reason);
      live->set_state_since_ms(a.record.presence_since_ms());
      for (const pb::WorkItem& w : a.record.items()) live->add_contact_ids(w.contact_id());
      live->set_units_in_use(a.view.units_in_use);
      live->set_capacity_units(a.view.capacity_units);
      live->set_occupancy(a.view.occupancy);
    }
    out.emplace_back(AgentsStatsKey(partition_, part), rec.SerializeAsString());
  }
  for (uint32_t part = parts; part < parts_; ++part) {
    out.emplace_back(AgentsStatsKey(partition_, part), std::nullopt);
  }
  parts_ = parts;
  return out;
}

}  // namespace sb::shard
