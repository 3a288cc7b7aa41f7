// The write side of one shard: its changelog partition and its outputs, fenced by epoch.
//
// A group is what one Shard::Flush wrote: entity records, then the meta record carrying the input
// offsets and the group's outputs. The outputs (decisions to sb.assignments, forwards to
// sb.contacts, input it could not process to sb.dead-letter) are published only once their group's
// meta record is acknowledged, so none leaves before the state that made it is in the log; the
// follow-up task records of the group go to sb.followups at the same moment (the committed-tasks
// callback).
//
// Fencing: every acknowledged changelog record must sit at the next expected offset. A gap means
// another writer appended: if the gap holds a newer epoch (or a newer claim of ours), a newer owner
// claimed the shard and this one is fenced; records of an older epoch are a zombie's (ignored by
// every reader) and skipped.
//
// Thread: the shard's (the node loop). Errors: OnDelivery and Resend return a failed delivery or
// a fence; the shard then fails for good.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "router/engine/types.h"
#include "router/kafka/client.h"
#include "router/shard/changelog.h"
#include "router/shard/followups.h"
#include "router/shard/shard_types.h"
#include "switchboard/v1/cluster.pb.h"

namespace sb::shard {

class ShardProbe;  // router/shard/probe.h

class GroupWriter {
 public:
  struct Options {
    std::string node_id;
    int32_t partition = 0;
    std::string bootstrap;  // for reading a gap back
    kafka::Settings kafka_settings;
    int read_timeout_ms = 30000;  // to read a gap back
  };
  // Called with a group's follow-up task records once its meta record is acknowledged.
  using TasksCommitted = std::function<void(const std::vector<Entry>&)>;

  // REQUIRES: the producers and `stats` outlive the writer.
  GroupWriter(Options options, Producers producers, ShardStats* stats);
  ~GroupWriter();

  // Appends the claim of epoch claim.epoch(); its offset arrives through OnDelivery
  // (claim_offset(), -1 until then).
  Status AppendClaim(const pb::EpochClaim& claim);
  int64_t claim_offset() const { return claim_offset_; }
  // The claim won: appends follow it; `meta` is the state the claim restored.
  void Claimed(const pb::ShardMeta& meta);
  uint64_t epoch() const { return epoch_; }

  Status Append(const std::string& key, const std::optional<std::string>& value);
  // Ends a group: appends `meta` carrying `outputs`; they and `task_records` are published once
  // the meta record is acknowledged.
  Status AppendGroup(pb::ShardMeta meta, std::vector<pb::ShardOutput> outputs,
                     std::vector<Entry> task_records);
  // Outputs of every group not yet acknowledged by sb.assignments (published or not), in log
  // order: what a snapshot taken now must carry.
  std::vector<pb::ShardOutput> UnackedOutputs() const;
  // Meta of the newest group appended (or of the claim), outputs_acked_through as of then.
  const pb::ShardMeta& last_meta() const { return pending_meta_; }
  // Bytes of keys and values appended since the writer was made.
  uint64_t bytes_appended() const { return bytes_appended_; }
  // Publishes `outputs` at once, as of the claim: a previous owner's not known to be delivered.
  Status Resend(std::vector<pb::ShardOutput> outputs);
  // A delivery report of a changelog record or an output.
  Status OnDelivery(uint64_t token, int64_t offset, const Status& status);

  // The output of a decision or of a forward, with its idempotence id (consumers drop repeats).
  pb::ShardOutput OutputFor(const engine::Decision& d) const;
  pb::ShardOutput OutputFor(Forward f) const;
  pb::ShardOutput OutputFor(pb::DeadLetter letter) const;

  bool idle() const { return groups_.empty(); }
  int64_t acked_through() const { return acked_through_; }  // last acknowledged changelog offset
  // Meta of the last acknowledged group (or of the claim); nullopt before the claim.
  const std::optional<pb::ShardMeta>& committed_meta() const { return committed_meta_; }

  void set_probe(ShardProbe* probe) { probe_ = probe; }
  void set_tasks_committed(TasksCommitted f) { tasks_committed_ = std::move(f); }

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

  Status Publish(Group& group);
  void AdvanceWatermark();
  Status OnChangelogDelivery(uint64_t seq, int64_t offset);
  Status CheckGap(int64_t from, int64_t to);
  std::string NewOwner(const kafka::Record& r) const;

  const Options options_;
  const Producers producers_;
  ShardStats* stats_;
  ShardProbe* probe_ = nullptr;
  TasksCommitted tasks_committed_;
  std::unique_ptr<kafka::PartitionReader> gap_reader_;  // made on the first foreign write

  uint64_t epoch_ = 0;
  int64_t claim_offset_ = -1;
  int64_t expected_offset_ = -1;  // where the next acknowledged changelog record must sit
  int64_t acked_through_ = -1;
  int64_t outputs_acked_through_ = -1;
  uint64_t next_seq_ = 0;  // changelog records produced (0 is the claim)
  uint64_t output_seq_ = 0;
  uint64_t bytes_appended_ = 0;
  std::deque<Group> groups_;  // groups in flight, in log order
  uint64_t pending_meta_seq_ = 0;
  pb::ShardMeta pending_meta_;  // meta of the newest group produced
  std::optional<pb::ShardMeta> committed_meta_;
};

}  // namespace sb::shard
