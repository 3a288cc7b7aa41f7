// The Kafka topics of a Switchboard cluster and the one partitioner every producer uses.
//
// sb.contacts and sb.agent-events are co-partitioned: a routing domain maps to the same partition
// number in both, and that number is the shard. sb.router-changelog (compacted) has one partition
// per shard too: it is the shard's write-ahead log. sb.assignments carries the shard's outputs,
// keyed by contact id, in the shard's partition.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace sb::kafka {

inline constexpr std::string_view kContactsTopic = "sb.contacts";
inline constexpr std::string_view kAgentEventsTopic = "sb.agent-events";
inline constexpr std::string_view kAssignmentsTopic = "sb.assignments";
inline constexpr std::string_view kChangelogTopic = "sb.router-changelog";
// Compacted: each shard's live queue/agent snapshot and per-queue daily KPI counters
// (proto/switchboard/v1/stats.proto), read by wallboards, reports and AdminService.
inline constexpr std::string_view kStatsTopic = "sb.stats";
// Compacted: the shards' follow-up tasks as they change, keyed by task id (a read model for
// FollowUpService.List and for finding a task's shard; the shard's changelog stays the truth).
inline constexpr std::string_view kFollowUpsTopic = "sb.followups";
// Compacted: cluster-wide commands and settings written by AdminService (routing config
// versions, node drain requests), read by every router. Records are keyed by what they set.
inline constexpr std::string_view kControlTopic = "sb.control";
// Kept by time: input records a shard or a gateway could not process, with the reason
// (router/kafka/dead_letter.h). Never read by the cluster itself.
inline constexpr std::string_view kDeadLetterTopic = "sb.dead-letter";

// One-partition scratch topic where the load generator measures the raw produce → consume floor.
inline constexpr std::string_view kScratchTopic = "sb.loadgen-floor";

// How a topic keeps its records. Compacted topics hold keyed full-state records (the newest per
// key is what counts) and must never drop a key's newest record by time; the input and output
// streams are kept by time and must never be compacted (sb.contacts is keyed by routing domain:
// compaction would keep one contact per domain).
enum class Retention { kCompacted, kTime };

struct TopicSpec {
  std::string_view name;
  Retention retention;
  bool compacted() const { return retention == Retention::kCompacted; }
};

// Every topic a cluster needs, each with the same partition count.
inline constexpr std::array<TopicSpec, 8> kTopics = {{
    {kContactsTopic, Retention::kTime},
    {kAgentEventsTopic, Retention::kTime},
    {kAssignmentsTopic, Retention::kTime},
    {kChangelogTopic, Retention::kCompacted},
    {kStatsTopic, Retention::kCompacted},
    {kFollowUpsTopic, Retention::kCompacted},
    {kControlTopic, Retention::kCompacted},
    {kDeadLetterTopic, Retention::kTime},
}};

// Topic-level settings the router creates its topics with (README "Topics"). An operator who
// pre-creates them may choose other values, except cleanup.policy, which the router checks.
inline constexpr std::string_view kTimeRetentionMs = "604800000";  // 7 days of input and outputs
// A compacted record stays uncompacted for at least this long, so a restore that reads the tail
// after the newest complete state sees every record of that tail (DESIGN.md: nothing after the
// newest complete snapshot may be compacted).
inline constexpr std::string_view kMinCompactionLagMs = "3600000";  // 1 hour
// The least min.compaction.lag.ms the router accepts on sb.router-changelog by default: 10 x the
// longest a shard goes without a snapshot while it writes (router/shard/snapshot_policy.h: 60 s),
// so compaction never reaches the records after the newest complete snapshot.
inline constexpr int64_t kRequiredChangelogCompactionLagMs = 600000;  // 10 minutes
// Replication: min(brokers, 3); with 3 replicas a write needs 2 in sync (acks=all).
inline constexpr int kMaxReplicationFactor = 3;
inline constexpr std::string_view kMinInsyncReplicasAt3 = "2";

// FNV-1a 64 of the routing domain name, modulo `partitions`. Stable across processes, versions
// and languages (unlike std::hash), so adapters written elsewhere can compute it too.
// REQUIRES: partitions > 0.
inline int32_t PartitionFor(std::string_view domain, int32_t partitions) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : domain) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return static_cast<int32_t>(h % static_cast<uint64_t>(partitions));
}

}  // namespace sb::kafka
