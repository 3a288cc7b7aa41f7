// What one shard publishes to sb.stats: its statistics (stats_book.h: the live snapshot and the
// day records of its queues) about once a second, and every few seconds its logged-in agents
// (agent_roster.h). Statistics are not outputs: they are sent at once, stamped with the owner's
// epoch, and a lost one is only logged (the next second sends them again).
//
// Thread: the shard's (the node loop).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"
#include "router/engine/engine.h"
#include "router/followup/scheduler.h"
#include "router/kafka/client.h"
#include "router/shard/agent_roster.h"
#include "router/shard/stats_book.h"
#include "switchboard/v1/cluster.pb.h"
#include "switchboard/v1/config.pb.h"

namespace sb::shard {

class StatsPublisher {
 public:
  // REQUIRES: `producer` outlives the publisher.
  StatsPublisher(std::string node_id, int32_t partition, int32_t partitions,
                 kafka::Producer* producer);

  // After a claim: the day and baselines the previous owner recorded in `meta`.
  // REQUIRES: `config` outlives the publisher or the next SwitchConfig.
  void Restore(const pb::RoutingConfig* config, const pb::ShardMeta& meta);
  // A new routing config (same queues and domains, router/control): keeps the day's baselines.
  void SwitchConfig(const pb::RoutingConfig* config);
  // The day and baselines, for the group's meta record. Nothing before Restore().
  void SaveTo(pb::ShardMeta* meta) const;

  // Publishes the records due now; nothing before Restore(). `followups` may be null.
  void Publish(int64_t now_ms, uint64_t epoch, const engine::Engine& engine,
               const followup::Scheduler* followups);
  // A delivery report of an sb.stats record.
  void OnDelivery(const Status& status);

 private:
  const std::string node_id_;
  const int32_t partition_;
  const int32_t partitions_;
  kafka::Producer* producer_;
  std::unique_ptr<StatsBook> book_;  // after Restore()
  AgentRoster roster_{partition_};
  uint64_t seq_ = 0;
  uint64_t failed_ = 0;
};

}  // namespace sb::shard
