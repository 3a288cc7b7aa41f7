// One shard (one partition number) owned by this node: its routing engine, its local RocksDB
// checkpoint, and the log-order fencing protocol on its changelog partition.
//
// Protocol (DESIGN.md "Data flow"):
//   Claim():   read the local checkpoint + the changelog tail, append an epoch claim, read up to
//              it, check the claim won, rebuild the engine, re-publish outputs not known to be
//              acknowledged. Input resumes from the offsets in the log.
//   OnInput(): apply one input record to the engine (or, for a follow-up command, to the shard's
//              follow-up scheduler), collecting decisions. An event of a desktop or integrator
//              the engine refuses becomes a DECISION_REFUSED output (agent, contact, code,
//              message, input offset), so the sender learns it; timers and forwards do not. A
//              ConfigChanged marker rebuilds the
//              engine from its state under the marker's config version (router/control), so
//              every replay switches at the same record; each group's meta names the version
//              in force, and a restore rebuilds the engine under it.
//   Flush():   append the changes as one group (entity records, then the meta record carrying
//              the input offsets and the group's outputs).
//   OnDelivery(): every acknowledged changelog record must sit at the next expected offset. A gap
//              means another writer appended: if the gap holds a newer epoch, a newer owner
//              claimed the shard and this one is fenced and stops; records of an older epoch
//              are a zombie's (ignored by every reader) and skipped.
//              When a group's meta record is acknowledged, its outputs go to sb.assignments
//              (decisions) and sb.contacts (forwards to other shards, see followups.h), and
//              the follow-up tasks it changed to sb.followups (the tasks' read model, stamped
//              with the epoch; not outputs: a lost one is published again, and a new owner
//              publishes every task once after its claim).
//
// Thread: owned by the node's loop thread. Failure: a fenced shard or a failed delivery makes
// every later call return the error; the node then exits (crash-only: restart recovers).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "router/control/control.h"
#include "router/engine/engine.h"
#include "router/followup/settings.h"
#include "router/kafka/client.h"
#include "router/shard/agent_roster.h"
#include "router/shard/changelog.h"
#include "router/shard/followups.h"
#include "router/shard/stats_book.h"
#include "state-store/store.h"
#include "switchboard/v1/config.pb.h"

namespace sb::shard {

class ShardProbe;  // router/shard/probe.h

// Delivery tokens: partition | kind | sequence, so one producer serves every shard of a node.
enum class TokenKind : uint8_t { kChangelog = 1, kOutput = 2, kStats = 3, kFollowUps = 4 };
uint64_t MakeToken(int32_t partition, TokenKind kind, uint64_t seq);
int32_t TokenPartition(uint64_t token);
TokenKind TokenKindOf(uint64_t token);
uint64_t TokenSeq(uint64_t token);

// A node's producers, shared by its shards. The changelog is on the critical path (no output
// leaves before its group is acknowledged): it lingers 1 ms, enough to send a group's records
// as one batch (which keeps restores fast on the embedded broker, which returns one batch per
// fetch). Outputs are read by every channel: they are batched for librdkafka's default 5 ms.
struct Producers {
  kafka::Producer* changelog = nullptr;
  kafka::Producer* outputs = nullptr;
};

struct ShardOptions {
  std::string node_id;
  int32_t partition = 0;
  std::string store_dir;  // this shard's RocksDB directory
  std::string bootstrap;
  kafka::Settings kafka_settings;
  int restore_timeout_ms = 30000;
  int32_t partitions = 1;  // of the cluster's topics: where forwards to other shards go
  // Follow-up scheduling; nullptr: follow-up commands are refused (logged). REQUIRES: outlives
  // the shard; CheckFollowUpQueues() passed.
  const followup::Settings* followups = nullptr;
  // Routing config versions (router/control): the config of a ConfigChanged marker, and the one
  // recorded in the changelog for a restore. nullptr: markers are refused (logged) and the shard
  // keeps the config it was made with. REQUIRES: outlives the shard; owner thread only.
  control::ConfigSource* configs = nullptr;
  // How long a marker waits for its version to arrive in sb.control before the shard fails.
  int config_wait_ms = 10000;
};

struct ShardStats {
  uint64_t events = 0;
  uint64_t rejected_events = 0;  // malformed, or refused by the engine (logged; see OnInput)
  uint64_t groups = 0;
  uint64_t outputs = 0;
  uint64_t restored_records = 0;
  uint64_t zombie_records = 0;  // gaps of an older owner's records skipped
  uint64_t followup_commands = 0;
  uint64_t duplicate_forwards = 0;       // re-published copies of forwarded contacts dropped
  uint64_t followup_records = 0;         // sb.followups records produced
  uint64_t followup_records_failed = 0;  // not produced or not delivered (published again)
  int64_t restore_ms = 0;
};

class Shard {
 public:
  // REQUIRES: `config`, `clock` and the producers outlive the shard.
  Shard(ShardOptions options, const pb::RoutingConfig* config, const Clock* clock,
        Producers producers);
  ~Shard();

  // Restores and claims the partition; blocks up to options.restore_timeout_ms. On success,
  // input_offsets() says where to start reading sb.contacts and sb.agent-events.
  Status Claim();
  std::vector<kafka::TopicPartition> input_offsets() const;

  Status OnInput(const kafka::Record& record);
  void Tick();
  Status Flush();
  // Publishes the shard's statistics to sb.stats (router/shard/stats_book.h) and, every few
  // seconds, its logged-in agents (agent_roster.h): called about once a second. Statistics are not
  // outputs: they are sent at once, and a lost one is only logged.
  void PublishStats();
  void OnDelivery(uint64_t token, int64_t offset, const Status& status);
  // Saves the engine state at the last acknowledged group into RocksDB.
  // REQUIRES: idle() (nothing in flight), else it does nothing.
  Status Checkpoint();

  bool idle() const { return groups_.empty(); }
  // nullptr when follow-ups are off or before Claim().
  const FollowUps* followups() const { return followups_.get(); }
  const Status& failure() const { return failure_; }
  int32_t partition() const { return options_.partition; }
  uint64_t epoch() const { return epoch_; }
  const ShardStats& stats() const { return stats_; }
  engine::Summary Summarize() const;

  // Metrics (router/shard/probe.h): null = none. REQUIRES: the probe outlives the shard.
  void set_probe(ShardProbe* probe) { probe_ = probe; }
  const engine::Engine* engine() const { return engine_.get(); }  // null until claimed
  // The routing config version the engine decides with now (router/control: ConfigVersionOf).
  const std::string& config_version() const { return config_version_; }
  const store::Store* store() const { return store_.get(); }  // null until claimed

 private:
  struct Group {
    uint64_t meta_seq = 0;
    int64_t meta_offset = -1;
    int64_t appended_us = 0;  // monotonic: when its records were handed to the producer
    std::vector<pb::ShardOutput> outputs;
    std::vector<Entry> task_records;  // for sb.followups, once the group is acknowledged
    uint64_t first_output_seq = 0;    // outputs carry delivery sequences [first, first + size)
    size_t outputs_unacked = 0;
    bool published = false;
  };

  Status CheckGap(int64_t from, int64_t to);
  std::string NewOwner(const kafka::Record& r) const;
  Status Restore(ChangelogState* state, kafka::PartitionReader* reader, int64_t until);
  Status AppendRecord(const std::string& key, const std::optional<std::string>& value);
  void Publish(Group& group);
  void AdvanceWatermark();
  void Fail(Status status);
  pb::ShardOutput OutputFor(const engine::Decision& d) const;
  pb::ShardOutput OutputFor(Forward f) const;
  void Refused(const kafka::Record& record, const std::string& what);
  // DECISION_REFUSED for an event of `record` the engine refused with `refusal`.
  engine::Decision RefusalFor(const pb::RoutingEvent& event, const kafka::Record& record,
                              const Status& refusal) const;
  // Follow-up bookkeeping after the engine applied `event` (decisions from `first` on are new).
  void AfterEngine(const pb::RoutingEvent& event, size_t first);
  // Contacts the follow-ups fired for this shard's queues enter the engine; forwards are kept
  // for the next group.
  void RouteFollowUps();
  // sb.followups: one task's record; false when it could not be produced (queued again).
  bool PublishFollowUp(const Entry& record);
  void FollowUpNotPublished(const std::string& task_id, const Status& why);
  // Publishes up to `max` tasks of republish_ in their committed state.
  void RepublishFollowUps(size_t max);
  // A ConfigChanged marker: rebuilds the engine from its state under the config of `version`
  // (see router/control/control.h). Unknown version after options_.config_wait_ms: fails.
  Status SwitchConfig(const kafka::Record& record, const std::string& version);
  // Claim(): the config version recorded in the changelog replaces the one the shard was made
  // with, when the config source has it.
  void UseRecordedConfig(const std::string& version);

  const ShardOptions options_;
  const pb::RoutingConfig* config_;
  std::shared_ptr<const pb::RoutingConfig> config_holder_;  // config_ after a switch
  std::string config_version_;                              // of *config_
  std::vector<Entry> carried_;  // the previous engine's changes not flushed at a switch
  const Clock* clock_;
  const Producers producers_;
  ShardProbe* probe_ = nullptr;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<engine::Engine> engine_;
  std::unique_ptr<FollowUps> followups_;
  std::unique_ptr<StatsBook> stats_book_;  // after Claim()
  AgentRoster roster_{options_.partition};
  uint64_t stats_seq_ = 0;
  uint64_t stats_failed_ = 0;
  std::vector<Forward> forwards_;                       // for the next group's outputs
  std::unique_ptr<kafka::PartitionReader> gap_reader_;  // made on the first foreign write
  // sb.followups bookkeeping: tasks to publish again (after a claim, or a failed delivery), tasks
  // in groups not yet acknowledged (count), and the records in flight by delivery sequence.
  std::vector<std::string> republish_;
  std::map<std::string, int> uncommitted_tasks_;
  std::map<uint64_t, std::string> followup_tokens_;
  uint64_t followup_seq_ = 0;

  uint64_t epoch_ = 0;
  int64_t claim_offset_ = -1;
  int64_t expected_offset_ = -1;  // where the next acknowledged changelog record must sit
  uint64_t next_seq_ = 0;         // changelog records produced
  uint64_t group_seq_ = 0;
  uint64_t output_seq_ = 0;
  int64_t contacts_next_ = 0, agent_events_next_ = 0;
  bool offsets_moved_ = false;
  int64_t outputs_acked_through_ = -1;
  int64_t acked_through_ = -1;  // last acknowledged changelog offset
  std::vector<Entry> repairs_;  // committed values of keys the previous owner left half-written
  std::optional<pb::ShardMeta> checkpoint_meta_;  // meta of the last acknowledged group
  engine::Decisions decisions_;
  engine::Changes changes_;
  std::deque<Group> groups_;  // groups in flight, in log order
  uint64_t pending_meta_seq_ = 0;
  pb::ShardMeta pending_meta_;  // meta of the newest group produced
  Status failure_;
  ShardStats stats_;
};

}  // namespace sb::shard
