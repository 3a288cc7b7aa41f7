// The shard changelog's record format and the state a reader materializes from it (pure: no I/O).
// Format: see proto/switchboard/v1/cluster.proto.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "router/engine/engine.h"
#include "router/kafka/client.h"
#include "router/kafka/epoch.h"
#include "switchboard/v1/cluster.pb.h"
#include "switchboard/v1/followup.pb.h"

namespace sb::shard {

namespace pb = ::switchboard::v1;

inline constexpr char kMetaKey[] = "meta";
// A snapshot's chunks are at most this big (Kafka's default message.max.bytes is 1,000,000).
inline constexpr size_t kSnapshotChunkBytes = size_t{512} * 1024;

// The claim of `epoch`: one key per epoch, so compaction keeps every claim.
std::string ClaimKey(uint64_t epoch);
bool IsClaimKey(std::string_view key);

std::string AgentKey(std::string_view agent_id);
std::string ContactKey(std::string_view contact_id);
std::string FollowUpKey(std::string_view task_id);
std::string ForwardKey(std::string_view contact_id);

// One record to append: key, value (nullopt = tombstone).
struct Entry {
  std::string key;
  std::optional<std::string> value;
};

// The entity records of one group, from the engine's changes (tombstones first).
std::vector<Entry> EntriesFor(const engine::Changes& changes);

// The chunk records of `snapshot` (its slot set), numbered `snapshot_id`, each at most
// `chunk_bytes` of data.
std::vector<Entry> SnapshotEntries(const pb::ShardSnapshot& snapshot, uint64_t snapshot_id,
                                   size_t chunk_bytes = kSnapshotChunkBytes);

// The chunks of one snapshot read so far (ChangelogState).
struct PendingSnapshot {
  uint64_t id = 0;
  uint32_t count = 0;
  uint32_t next_index = 0;
  int64_t first_offset = 0;
  std::string data;
};

// Materialized shard state, fed records in log order (restore, or a checkpoint plus the tail).
// Entity records are staged until their group's meta record arrives. A record counts unless a
// newer epoch precedes it in the log (a claim, or a counted record whose claim retention
// removed): a zombie's records are ignored. A complete snapshot replaces all state read before
// it, so whatever retention or compaction removed before the newest one does not matter.
class ChangelogState {
 public:
  ChangelogState() = default;
  // Starts from a checkpoint taken at `next_offset` (the offset after its last record).
  ChangelogState(const pb::EngineState& state, const pb::FollowUpSchedulerState& followups,
                 const pb::ForwardsSeen& forwards, const pb::ShardMeta& meta, uint64_t epoch,
                 int64_t next_offset);

  // Errors name the offset and key of a malformed record; the record is then skipped.
  Status Apply(const kafka::Record& r);

  uint64_t epoch() const { return epoch_; }
  const std::string& owner() const { return owner_; }
  int64_t claim_offset() const { return claim_offset_; }
  int64_t next_offset() const { return next_offset_; }
  const pb::ShardMeta& meta() const { return meta_; }
  // Offset of the last chunk of the newest complete snapshot applied; -1 when none was.
  int64_t snapshot_offset() const { return snapshot_offset_; }
  uint64_t snapshots_applied() const { return snapshots_applied_; }
  // Keys of a group that never got its meta record (the previous owner died mid-group).
  std::vector<std::string> StagedKeys() const;
  // Keys the previous owner left staged when the latest claim was read: the new owner rewrites
  // their committed values so compaction on real Kafka cannot keep the unfinished ones.
  const std::vector<std::string>& abandoned_keys() const { return abandoned_keys_; }
  // Committed value of a key (nullopt: absent / deleted).
  std::optional<std::string> Committed(const std::string& key) const;
  // Outputs of committed groups not known to be acknowledged by sb.assignments, in log order.
  std::vector<pb::ShardOutput> UnackedOutputs() const;
  Result<pb::EngineState> ToEngineState() const;
  // Follow-up tasks (and the outage switch from the last meta record).
  Result<pb::FollowUpSchedulerState> ToFollowUpState() const;
  Result<pb::ForwardsSeen> ToForwards() const;

 private:
  using Map = std::map<std::string, std::string>;
  void Commit(const pb::ShardMeta& meta, int64_t offset);
  // A newer epoch starts at `offset`: the previous owner's unfinished group never happened.
  void NewEpoch(uint64_t epoch, std::string owner, int64_t claim_offset);
  Status ApplyChunk(const kafka::Record& r);
  void Load(pb::ShardSnapshot snapshot, int64_t first_offset, int64_t last_offset);
  // The map holding records of `key`'s kind; nullptr for a key of no known kind.
  Map* MapFor(std::string_view key);
  const Map* MapFor(std::string_view key) const;

  uint64_t epoch_ = 0;
  std::string owner_;
  int64_t claim_offset_ = -1;
  int64_t next_offset_ = 0;
  pb::ShardMeta meta_;
  Map agents_;  // agent id -> AgentRecord bytes
  // Agents in the order they first appeared: the engine breaks ties between agents by the order
  // they were restored in, so a new owner decides as the old one would have.
  std::vector<std::string> agent_order_;
  Map contacts_;    // contact id -> ContactRecord bytes
  Map followups_;   // task id -> FollowUpTask bytes
  Map forwards_;    // contact id -> ForwardSeen bytes
  Map identities_;  // agent id -> AgentIdentity bytes (agents homed on this shard)
  std::map<std::string, std::optional<std::string>> staged_;  // key -> value of the open group
  std::vector<std::string> abandoned_keys_;
  std::deque<std::pair<int64_t, std::vector<pb::ShardOutput>>> unacked_;
  // The snapshot whose chunks are being read: nullopt between snapshots, or after a chunk that
  // did not follow its predecessor (an unfinished snapshot, or one compaction half-replaced).
  std::optional<PendingSnapshot> pending_snapshot_;
  int64_t snapshot_offset_ = -1;
  uint64_t snapshots_applied_ = 0;
};

}  // namespace sb::shard
