// The shard's durable state in RocksDB: one database per shard data dir, with column families
//   agents      agent id            -> switchboard.v1.AgentRecord
//   contacts    contact id          -> switchboard.v1.ContactRecord (waiting, offered, connected)
//   followups   task id             -> switchboard.v1.FollowUpTask
//   due_index   be64(due ms) + id   -> "" (tasks by next due time; the scheduler's restart order)
//   idempotency key                 -> be64(expires ms) + value (expired keys read as absent and
//                                      are dropped by a compaction filter)
//   outbox      contact id          -> switchboard.v1.Contact decided but not yet published
//   meta        "schema_version", "engine" (EngineState header: next_seq, queue stats),
//               "offset/<source>" -> be64 input position applied last
//
// Every state change is one Batch committed atomically together with the input position it came
// from, so a restart resumes exactly where the last commit stopped.
//
// Durability: WAL on, sync=false. A killed process (kill -9, OOM) loses nothing acknowledged by
// Commit(), because the WAL write reached the kernel's page cache. A machine crash can lose the
// last moments of commits; the shard then re-reads its input from the offsets recorded here (and,
// in the cluster, from the changelog), which is why every batch records its input position.
// Callers that need a machine-crash guarantee for one commit pass sync=true.
//
// Thread: a Store is owned by the shard's owner thread. RocksDB itself is thread-safe, but the
// Batch/Commit protocol assumes one writer.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "common/status.h"
#include "switchboard/v1/contact.pb.h"
#include "switchboard/v1/engine_state.pb.h"
#include "switchboard/v1/followup.pb.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class WriteBatch;
}  // namespace rocksdb

namespace sb::store {

namespace pb = ::switchboard::v1;

// The on-disk layout this build writes. Opening a database whose schema version is newer fails.
inline constexpr uint32_t kSchemaVersion = 1;

// Big-endian encodings, so RocksDB's bytewise order is numeric order.
std::string EncodeBe64(uint64_t v);
uint64_t DecodeBe64(std::string_view bytes);  // REQUIRES: bytes.size() >= 8
// due_index key of a task: be64(due_ms) + task_id.
std::string DueKey(int64_t due_ms, std::string_view task_id);

struct OpenOptions {
  // Create the database when `dir` does not exist or is empty. A non-empty dir that is not a
  // Switchboard database is an error either way.
  bool create_if_missing = true;
  bool read_only = false;
};

class Store;

// One atomic state change: get one from Store::NewBatch(), fill it, Store::Commit() it.
// Not thread-safe; must not outlive its Store.
class Batch {
 public:
  ~Batch();
  Batch(Batch&&) noexcept;
  Batch& operator=(Batch&&) noexcept;

  void PutAgent(const pb::AgentRecord& record);
  void DeleteAgent(std::string_view agent_id);
  void PutContact(const pb::ContactRecord& record);
  void DeleteContact(std::string_view contact_id);
  // Writes the task and moves its due_index entry: `old_due_ms` is where the stored copy was
  // indexed (nullopt when new or not indexed), the task's own due is `due_ms` (nullopt: not
  // indexed, e.g. an ended task).
  void PutFollowUp(const pb::FollowUpTask& task, std::optional<int64_t> old_due_ms,
                   std::optional<int64_t> due_ms);
  // Deletes the task and its due_index entry at `old_due_ms` (nullopt: not indexed).
  void DeleteFollowUp(std::string_view task_id, std::optional<int64_t> old_due_ms);
  void PutIdempotency(std::string_view key, std::string_view value, int64_t expires_ms);
  void PutOutbox(const pb::Contact& contact);
  void DeleteOutbox(std::string_view contact_id);
  // The engine's header (next_seq, taken_at, queue stats): an EngineState without agents and
  // contacts (they live in their own column families).
  void PutEngineHeader(const pb::EngineState& header);
  // Records that input `source` has been applied up to and including `position`.
  void SetInputPosition(std::string_view source, uint64_t position);
  // Raw metadata value under "meta" (for shells with their own bookkeeping, e.g. a sink offset).
  void PutMeta(std::string_view key, std::string_view value);

  size_t operations() const;
  bool empty() const { return operations() == 0; }

 private:
  friend class Store;
  explicit Batch(const Store* store);
  const Store* store_;
  std::unique_ptr<rocksdb::WriteBatch> wb_;
};

class Store {
 public:
  // Opens or creates the database in `dir`. Fails with kFailedPrecondition naming `dir` when the
  // directory holds a newer schema version, an unknown layout, or a corrupt database; the files
  // are never modified in that case (no repair, no reset).
  static Result<std::unique_ptr<Store>> Open(const std::string& dir, const OpenOptions& options);
  ~Store();

  const std::string& dir() const { return dir_; }

  Batch NewBatch() const { return Batch(this); }

  // Applies the batch atomically. kInternal naming the dir on a RocksDB error (nothing applied).
  Status Commit(Batch batch, bool sync = false);

  // Input position recorded for `source`, nullopt if never set.
  Result<std::optional<uint64_t>> InputPosition(std::string_view source) const;
  Result<std::optional<std::string>> Meta(std::string_view key) const;
  // The idempotency value for `key` unless absent or expired at `now_ms`.
  Result<std::optional<std::string>> Idempotency(std::string_view key, int64_t now_ms) const;

  // Rebuilds the engine's state: header + every agent + every contact (contacts in arrival order,
  // i.e. by ContactRecord.seq). Empty EngineState when nothing was stored.
  Result<pb::EngineState> LoadEngineState() const;
  // Writes a whole EngineState into `batch`: the header, every agent and contact, and deletes for
  // stored agents/contacts not in `state` (so the stored copy equals `state` after Commit).
  Status StageEngineState(const pb::EngineState& state, Batch* batch) const;

  // Visits every follow-up task (task id order). A parse failure stops with kFailedPrecondition
  // naming the dir and key (corrupt data is never skipped silently).
  Status ForEachFollowUp(const std::function<void(pb::FollowUpTask&&)>& fn) const;
  // Visits due_index entries in due order with due_ms <= `until_ms`; `fn` returns false to stop.
  Status ForEachDue(int64_t until_ms,
                    const std::function<bool(int64_t due_ms, std::string_view task_id)>& fn) const;
  Status ForEachOutbox(const std::function<void(pb::Contact&&)>& fn) const;

  // A consistent copy of the database in `target_dir` (must not exist), via rocksdb::Checkpoint
  // (hard links where possible). Open the copy with Open() to restore.
  Status Checkpoint(const std::string& target_dir) const;

  // Per-column-family key counts (estimates from RocksDB) and sizes.
  struct Stats {
    std::string name;
    uint64_t keys = 0;
    uint64_t sst_bytes = 0;
  };
  std::vector<Stats> ColumnFamilyStats() const;
  // A whole-database integer property of RocksDB (e.g. "rocksdb.is-write-stopped",
  // "rocksdb.actual-delayed-write-rate"), for metrics; nullopt if RocksDB does not know it.
  std::optional<uint64_t> IntProperty(const std::string& name) const;

 private:
  friend class Batch;
  Store() = default;
  std::string dir_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> cfs_;  // owned; destroyed before db_
};

}  // namespace sb::store
