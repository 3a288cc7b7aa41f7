// What one shard publishes to sb.stats (proto/switchboard/v1/stats.proto): a live snapshot of its
// queues, agents and follow-ups, and per queue the KPI counters of the current UTC day.
//
// The day's counters are differences of cumulative counters that already survive failover: the
// engine's per-queue QueueStats (in every changelog meta record and checkpoint) minus the values
// they had when the day began (the baselines, kept in the meta record as well: SaveTo/Restore).
// Follow-up counts come from the tasks themselves (ended tasks are kept), so a new owner publishes
// the same numbers its predecessor would have. One definition of each counter, shared with the
// metrics: the engine's (test and outbound contacts apart, short abandons apart).
//
// Pure: no I/O, time passed in. Thread: the shard's owner thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "router/engine/engine.h"
#include "router/followup/scheduler.h"
#include "switchboard/v1/cluster.pb.h"
#include "switchboard/v1/config.pb.h"
#include "switchboard/v1/stats.pb.h"

namespace sb::shard {

namespace pb = ::switchboard::v1;

// "YYYY-MM-DD" of a UTC instant.
std::string UtcDay(int64_t ms);

// The record keys of sb.stats.
std::string LiveStatsKey(int32_t partition);
std::string DayStatsKey(const std::string& queue, const std::string& day);

class StatsBook {
 public:
  // REQUIRES: `config` outlives the book. Queues of the domains whose partition is `partition`
  // are this shard's.
  StatsBook(const pb::RoutingConfig* config, int32_t partition, int32_t partitions);

  // The day and baselines a previous owner recorded (none: counting starts at the first Collect).
  void Restore(const pb::ShardMeta& meta);
  void SaveTo(pb::ShardMeta* meta) const;

  // The records to publish now: the live snapshot always, a day record for every queue whose
  // counters changed since the last call, and at a day change the previous day's final records.
  // `followups` may be null (follow-ups off).
  std::vector<std::pair<std::string, std::string>> Collect(int64_t now_ms, uint64_t epoch,
                                                           const std::string& node_id,
                                                           const engine::Summary& summary,
                                                           const followup::Scheduler* followups);

 private:
  bool Mine(const std::string& domain) const;
  // Today's counters of queue `q`: engine counters minus the baseline, plus follow-ups.
  pb::QueueDay DayOf(const engine::QueueSummary& q, const std::string& day,
                     const std::map<std::string, pb::QueueDay>& followup_days) const;
  void Emit(std::string key, const google::protobuf::Message& record,
            std::vector<std::pair<std::string, std::string>>* out);

  const pb::RoutingConfig* config_;
  const int32_t partition_;
  const int32_t partitions_;
  std::map<std::string, const pb::QueueDef*> queues_;  // this shard's queues, by name
  std::string day_;
  std::map<std::string, pb::QueueStats> baselines_;  // by queue
  std::map<std::string, std::string> published_;     // day key -> the bytes last published
};

}  // namespace sb::shard
