// What one shard publishes to sb.stats about its logged-in agents (AdminService.ListAgents):
// ShardAgents records keyed "agents/<shard>/<part>", at most kAgentsPerPart agents each, every
// kRosterIntervalMs. When the list shrinks to fewer parts, the parts beyond are tombstoned.
//
// Pure: no I/O, time passed in. Thread: the shard's owner thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "router/engine/engine.h"

namespace sb::shard {

// The record key of part `part` of shard `partition`'s agent list.
std::string AgentsStatsKey(int32_t partition, uint32_t part);

class AgentRoster {
 public:
  static constexpr size_t kAgentsPerPart = 500;  // ~50 KB a part with a few skills each
  static constexpr int64_t kRosterIntervalMs = 5000;

  explicit AgentRoster(int32_t partition) : partition_(partition) {}

  // True when the list is due (never published, or kRosterIntervalMs since the last time).
  bool Due(int64_t now_ms) const;
  // The records to publish now (value nullopt = tombstone).
  std::vector<std::pair<std::string, std::optional<std::string>>> Collect(
      int64_t now_ms, int64_t epoch, const std::string& node_id,
      const std::vector<engine::AgentListing>& agents);

 private:
  const int32_t partition_;
  int64_t last_ms_ = -1;
  uint32_t parts_ = 0;  // parts published last time
};

}  // namespace sb::shard
