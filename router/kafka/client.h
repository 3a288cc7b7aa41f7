// Thin RAII shell over librdkafka's C API: the producer, the group consumer, the partition
// reader and topic validation the router and the load generator need. Nothing here knows about
// routing; nothing here uses the mock-cluster API (the same code runs against real Kafka).
//
// Threads: each object is owned by one thread; callbacks run inside that thread's Poll().
#pragma once

#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "router/kafka/topics.h"

namespace sb::kafka {

using Settings = std::map<std::string, std::string>;

// The repeatable `--kafka-setting key=value` flag of every command that talks to Kafka, into
// librdkafka settings; an entry without '=' or without a key is an error naming it.
Result<Settings> ParseSettings(const std::vector<std::string>& key_values);
// `s` without the consumer-group membership settings (session and heartbeat timeouts, static
// member id, poll interval): they belong to the group consumer only, and producers, partition
// readers and admin clients would warn about them or, worse, share a static member id.
Settings WithoutGroupSettings(Settings s);

inline constexpr std::string_view kFencedInstance = "kafka group member fenced";

struct Header {
  std::string name;
  std::string value;
};

// One consumed record. `value` is nullopt for a tombstone.
struct Record {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestamp_ms = 0;
  std::string key;
  std::optional<std::string> value;
  std::vector<Header> headers;

  const std::string* FindHeader(std::string_view name) const;
};

// Idempotent producer (acks=all): per partition, records are written once and in order, so the
// offsets acknowledged for consecutive records of one partition are consecutive.
class Producer {
 public:
  // Called from Poll()/Flush() for every record: `offset` is the acknowledged offset, or -1 with
  // a non-OK status when the record could not be written.
  using DeliveryFn =
      std::function<void(uint64_t token, int32_t partition, int64_t offset, const Status& status)>;

  static Result<std::unique_ptr<Producer>> Create(const std::string& bootstrap,
                                                  const Settings& extra, DeliveryFn on_delivery);
  ~Producer();

  // Queues one record; `value` nullopt writes a tombstone. `partition` is explicit: every
  // producer of the cluster picks it with PartitionFor(), never librdkafka's partitioner.
  Status Produce(std::string_view topic, int32_t partition, std::string_view key,
                 const std::optional<std::string>& value, const std::vector<Header>& headers,
                 uint64_t token);
  // Serves delivery callbacks; returns how many were served.
  int Poll(int timeout_ms);
  // Waits until every queued record is acknowledged or failed, or the timeout passes.
  Status Flush(int timeout_ms);
  int64_t in_flight() const;

 private:
  Producer() = default;
  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque);
  rd_kafka_t* rk_ = nullptr;
  DeliveryFn on_delivery_;
  std::map<std::string, rd_kafka_topic_t*, std::less<>> topics_;
};

struct TopicPartition {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;  // next offset to read
};

// A member of a consumer group with manual offset management: the group decides who owns which
// partitions; where reading starts is decided by the owner (from its changelog), never by
// committed group offsets.
class GroupConsumer {
 public:
  class Listener {
   public:
    virtual ~Listener() = default;
    // The group gave this member `parts`. Returns where to start reading those to be read at
    // once (possibly none); the others are not read until Assign() adds them. Called inside
    // Poll(), in the rebalance: return fast — until it returns, this member cannot take part in
    // another rebalance of the group (the coordinator evicts members that do not rejoin in time).
    virtual std::vector<TopicPartition> OnAssigned(const std::vector<TopicPartition>& parts) = 0;
    // Reading of these partitions stops when this returns.
    virtual void OnRevoked(const std::vector<TopicPartition>& parts) = 0;
  };

  static Result<std::unique_ptr<GroupConsumer>> Create(const std::string& bootstrap,
                                                       const std::string& group,
                                                       const Settings& extra, Listener* listener);
  ~GroupConsumer();

  Status Subscribe(const std::vector<std::string>& topics);
  // Replaces the set of partitions read, outside the rebalance callback: each from its offset.
  // REQUIRES: not inside a Listener callback; `parts` are of the group's latest assignment.
  // A partition already read is restarted at its given offset: records fetched but not yet
  // returned by Poll() are dropped (librdkafka's version barrier, set before this returns), so
  // pass the next offset not yet processed. Fails (Unavailable) when librdkafka refuses it.
  Status Assign(const std::vector<TopicPartition>& parts);
  // Next record, or nullopt on timeout. Consumer errors other than end-of-partition are logged
  // and counted; fatal ones are returned as a Status: FailedPrecondition starting with
  // kFencedInstance when a member with this group.instance.id fenced this one (another process
  // with the same id, or librdkafka's own rejoin after a session timeout: confluentinc/
  // librdkafka#3437), after which this consumer is unusable and must be recreated.
  Result<std::optional<Record>> Poll(int timeout_ms);
  // Revokes everything and closes. A static member (group.instance.id) stays in the group until
  // its session times out, so a restart within the timeout gets the same partitions back.
  void Close();
  // Revokes everything, leaves the group at once (also as a static member: its partitions go to
  // the others now), then closes. For a node that is going away (drain), not restarting.
  void Leave();
  // High watermark of an assigned partition as librdkafka last learnt it from a fetch (no broker
  // round trip, so cheap enough for a metrics refresh); nullopt while unknown.
  std::optional<int64_t> CachedHighWatermark(const std::string& topic, int32_t partition) const;

 private:
  GroupConsumer() = default;
  static void OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t* parts, void* opaque);
  rd_kafka_t* rk_ = nullptr;
  Listener* listener_ = nullptr;
  bool closed_ = false;
};

// Reads one partition from a given offset, outside any group (changelog restore, verification).
class PartitionReader {
 public:
  static Result<std::unique_ptr<PartitionReader>> Create(const std::string& bootstrap,
                                                         const Settings& extra);
  ~PartitionReader();

  Status Assign(std::string_view topic, int32_t partition, int64_t offset);
  // Reads several partitions at once (replaces the previous assignment).
  Status Assign(const std::vector<TopicPartition>& parts);
  // Next record, or nullopt on timeout / end of partition.
  Result<std::optional<Record>> Poll(int timeout_ms);
  // Low and high watermark of the assigned partition, asked from the broker.
  Result<std::pair<int64_t, int64_t>> Watermarks(std::string_view topic, int32_t partition,
                                                 int timeout_ms);

 private:
  PartitionReader() = default;
  rd_kafka_t* rk_ = nullptr;
};

// Reads `partition` of `topic` from offset `from` up to `to` (exclusive; a high watermark),
// calling `fn` for each record in order. Unavailable naming the offset reached when `to` is not
// reached within `timeout_ms`; `fn`'s first error stops the read and is returned.
Status ReadRange(PartitionReader& reader, std::string_view topic, int32_t partition, int64_t from,
                 int64_t to, int timeout_ms, const std::function<Status(const Record&)>& fn);

// Partition count of each named topic (0 = the topic does not exist), from cluster metadata.
// Unavailable when no broker answers within `timeout_ms`. `extra`: the operator's settings
// (security); consumer-group settings in it are ignored.
Result<std::map<std::string, int32_t>> TopicPartitions(const std::string& bootstrap,
                                                       const std::vector<std::string>& topics,
                                                       int timeout_ms, const Settings& extra = {});

// Creates the missing Switchboard topics (AdminClient CreateTopics, with RequiredTopicSettings
// and replication min(brokers, 3)), checks every topic has the same partition count and, where
// the broker serves DescribeConfigs, the cleanup policy each needs (FailedPrecondition naming the
// topic and the setting; under-replication is only warned about on stderr). `partitions` 0 =
// take the count of the existing topics. Returns the partition count. sb.router-changelog must
// keep records at least `changelog_min_compaction_lag_ms` from compaction.
Result<int32_t> EnsureTopics(
    const std::string& bootstrap, int32_t partitions, int timeout_ms, const Settings& extra = {},
    int64_t changelog_min_compaction_lag_ms = kRequiredChangelogCompactionLagMs);

// Creates one topic if it does not exist (a scratch topic for measurements).
Status EnsureTopic(const std::string& bootstrap, const std::string& topic, int32_t partitions,
                   int timeout_ms, const Settings& extra = {});

// Whether `bootstrap` is librdkafka's mock cluster (`switchboard broker`), from its cluster id;
// asked once per process and bootstrap list (then cached). False when no broker answers.
bool IsEmbeddedBroker(const std::string& bootstrap, const Settings& extra = {});

// Brokers in the cluster's metadata. Unavailable when no broker answers within `timeout_ms`.
Result<int> ClusterBrokers(const std::string& bootstrap, int timeout_ms,
                           const Settings& extra = {});

// The replication factor Switchboard creates its topics with on `brokers` brokers: min(brokers, 3).
int ReplicationFor(int brokers);

// The topic-level settings a Switchboard topic is created with (cleanup.policy, retention or
// compaction lag, min.insync.replicas at replication >= 3); a name outside kTopics gets the
// time-retention settings.
std::map<std::string, std::string> RequiredTopicSettings(std::string_view topic, int replication);

// Converts a consumed librdkafka message (not an error event) to a Record.
Record ToRecord(const rd_kafka_message_t* m);

}  // namespace sb::kafka
