// Fuzz target: a shard's restore from what it stored, the changelog (any producer can write to
// the topic) and the local RocksDB checkpoint (a disk, a bad copy). The first byte picks:
//   even: a changelog, records separated by 0x1e, each one byte of header (below) then its body,
//     fed to a ChangelogState in order. Header bits 0-2: the record's epoch (0: no sb-epoch
//     header, 7: a malformed one); bit 3: a replay (the offset of the record before the last);
//     bits 4-5: 0 raw (key, NUL, value; no NUL: a tombstone), 1 the epoch's claim (body: node
//     id), 2 a ShardSnapshot (body) cut into chunks as an owner writes it, 3 a meta record.
//   odd: a checkpoint, fields separated by 0x1f: changelog position (8 bytes), epoch (text),
//     ShardMeta, ForwardsSeen, the engine header (EngineState), the agents and contacts (an
//     EngineState), written raw into a RocksDB (one store in a temp dir for the process) and
//     loaded with LoadCheckpoint; bit 1 of the first byte: the log no longer holds the position.
// Malformed records and checkpoints are fine; crashes, exceptions, unreadable error messages and
// these are not: a state the shard rebuilds that does not survive being written as a checkpoint
// (or a snapshot) and read back, a snapshot read back that is not the state it was made of, an
// epoch going back, a checkpoint's offsets not honoured.
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/util/message_differencer.h>
#include <stdlib.h>  // mkdtemp

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/log/log.h"
#include "router/kafka/epoch.h"
#include "router/shard/changelog.h"
#include "router/shard/checkpoint.h"
#include "state-store/store.h"
#include "tests/fuzz/fuzz_checks.h"

namespace {

constexpr char kTarget[] = "checkpoint_fuzz";
constexpr char kChangelogTopic[] = "sb.router-changelog";
// Small chunks, so the snapshots of a fuzz input span several records.
constexpr size_t kChunkBytes = 64;
constexpr uint8_t kMalformedEpoch = 7;

namespace pb = ::switchboard::v1;
namespace shard = ::sb::shard;
using google::protobuf::util::MessageDifferencer;

// ---- the state a shard rebuilds, compared as the shard uses it ----

struct Rebuilt {
  pb::EngineState engine;
  pb::FollowUpSchedulerState followups;
  pb::ForwardsSeen forwards;
};

// nullopt when a committed record does not parse (named by a checked error message).
std::optional<Rebuilt> RebuildFrom(const shard::ChangelogState& state) {
  auto engine = state.ToEngineState();
  auto followups = state.ToFollowUpState();
  auto forwards = state.ToForwards();
  bool ok = true;
  for (const sb::Status& s : {engine.status(), followups.status(), forwards.status()}) {
    if (!s.ok()) {
      sb::fuzz::CheckErrorMessage(kTarget, s.message());
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return Rebuilt{std::move(*engine), std::move(*followups), std::move(*forwards)};
}

void ExpectSame(const Rebuilt& a, const Rebuilt& b, const char* what) {
  if (!MessageDifferencer::Equals(a.engine, b.engine)) {
    sb::fuzz::Die(kTarget, what, "engine state differs");
  }
  if (!MessageDifferencer::Equals(a.followups, b.followups)) {
    sb::fuzz::Die(kTarget, what, "follow-up state differs");
  }
  if (!MessageDifferencer::Equals(a.forwards, b.forwards)) {
    sb::fuzz::Die(kTarget, what, "forwards differ");
  }
}

// The state as a new owner would hold it after a checkpoint of `state`: records keyed by the
// ids they carry, repeats of an id folded. Rebuilding that again changes nothing more.
shard::ChangelogState Normalized(const shard::ChangelogState& state, const Rebuilt& r) {
  return shard::ChangelogState(r.engine, r.followups, r.forwards, state.meta(), state.epoch(),
                               state.next_offset());
}

// ---- the changelog ----

sb::kafka::Record Record(int64_t offset, uint8_t epoch, std::string key,
                         std::optional<std::string> value) {
  sb::kafka::Record r;
  r.topic = kChangelogTopic;
  r.offset = offset;
  r.key = std::move(key);
  r.value = std::move(value);
  if (epoch == kMalformedEpoch) {
    r.headers.push_back({sb::kafka::kEpochHeader, "bad"});
  } else if (epoch != 0) {
    r.headers.push_back(sb::kafka::EpochHeader(epoch));
  }
  return r;
}

class Changelog {
 public:
  void Apply(const sb::kafka::Record& r) {
    const uint64_t epoch_before = state_.epoch();
    sb::Status st = state_.Apply(r);
    if (!st.ok()) sb::fuzz::CheckErrorMessage(kTarget, st.message());
    if (state_.epoch() < epoch_before) sb::fuzz::Die(kTarget, "epoch went back", r.key);
    last_offset_ = std::max(last_offset_, r.offset);
    if (state_.next_offset() != last_offset_ + 1) {
      sb::fuzz::Die(kTarget, "next offset is not the one after the newest record", r.key);
    }
  }

  // The chunks of `snapshot` as the owner of `epoch` writes them.
  void ApplySnapshot(const pb::ShardSnapshot& snapshot, uint8_t epoch) {
    const uint64_t id = (uint64_t{epoch} << 32) | ++snapshots_written_;
    for (shard::Entry& e : shard::SnapshotEntries(snapshot, id, kChunkBytes)) {
      Apply(Record(next_offset(), epoch, std::move(e.key), std::move(e.value)));
    }
  }

  int64_t next_offset() const { return last_offset_ + 1; }
  const shard::ChangelogState& state() const { return state_; }

 private:
  shard::ChangelogState state_;
  int64_t last_offset_ = -1;
  uint32_t snapshots_written_ = 0;
};

// The snapshot an owner of `state` would write (shard.cc does the same from its live objects).
pb::ShardSnapshot SnapshotOf(const shard::ChangelogState& state, const Rebuilt& r, uint32_t slot) {
  pb::ShardSnapshot s;
  *s.mutable_meta() = state.meta();
  *s.mutable_engine() = r.engine;
  for (const pb::FollowUpTask& t : r.followups.tasks()) *s.add_followups() = t;
  *s.mutable_forwards() = r.forwards;
  for (pb::ShardOutput& o : state.UnackedOutputs()) *s.add_unacked_outputs() = std::move(o);
  s.set_slot(slot);
  return s;
}

void FuzzChangelog(std::string_view input) {
  Changelog log;
  for (std::string_view rec : sb::fuzz::Records(input)) {
    const auto header = static_cast<uint8_t>(rec[0]);
    rec.remove_prefix(1);
    const uint8_t epoch = header & 7;
    const int64_t offset = (header & 8) ? log.next_offset() - 2 : log.next_offset();
    const size_t nul = rec.find('\0');
    switch ((header >> 4) & 3) {
      case 0: {
        std::optional<std::string> value;
        if (nul != std::string_view::npos) value = std::string(rec.substr(nul + 1));
        log.Apply(Record(offset, epoch, std::string(rec.substr(0, nul)), std::move(value)));
        break;
      }
      case 1: {
        pb::EpochClaim claim;
        claim.set_epoch(epoch);
        claim.set_node_id(std::string(rec));
        log.Apply(Record(offset, epoch, shard::ClaimKey(epoch), claim.SerializeAsString()));
        break;
      }
      case 2: {
        pb::ShardSnapshot snapshot;
        if (snapshot.ParseFromArray(rec.data(), static_cast<int>(rec.size()))) {
          log.ApplySnapshot(snapshot, epoch);
        }
        break;
      }
      default:
        log.Apply(Record(offset, epoch, shard::kMetaKey, std::string(rec)));
        break;
    }
  }
  const shard::ChangelogState& state = log.state();
  if (state.claim_offset() >= state.next_offset()) {
    sb::fuzz::Die(kTarget, "claim after the newest record", "");
  }
  (void)state.StagedKeys();
  const std::optional<Rebuilt> first = RebuildFrom(state);
  if (!first) return;
  // A checkpoint of the state, and one of that: the second changes nothing more.
  const shard::ChangelogState once = Normalized(state, *first);
  const std::optional<Rebuilt> normal = RebuildFrom(once);
  if (!normal) sb::fuzz::Die(kTarget, "a checkpoint of a rebuilt state does not rebuild", "");
  const std::optional<Rebuilt> twice = RebuildFrom(Normalized(once, *normal));
  if (!twice) sb::fuzz::Die(kTarget, "a checkpoint of a rebuilt state does not rebuild", "");
  ExpectSame(*normal, *twice, "a checkpoint read back is not the state written");
  // A snapshot of the state, read by a new reader and by this one: both hold what it holds.
  const auto epoch = static_cast<uint8_t>(std::max<uint64_t>(state.epoch(), 1));  // at most 6
  const pb::ShardSnapshot snapshot = SnapshotOf(state, *first, state.meta().snapshot_slot() ^ 1);
  Changelog fresh;
  for (Changelog* reader : {&fresh, &log}) {
    const uint64_t applied = reader->state().snapshots_applied();
    reader->ApplySnapshot(snapshot, epoch);
    if (reader->state().snapshots_applied() != applied + 1 ||
        reader->state().snapshot_offset() != reader->next_offset() - 1) {
      sb::fuzz::Die(kTarget, "a complete snapshot was not applied", "");
    }
    const std::optional<Rebuilt> read = RebuildFrom(reader->state());
    if (!read) sb::fuzz::Die(kTarget, "a snapshot read back does not rebuild", "");
    ExpectSame(*normal, *read, "a snapshot read back is not the state written");
    if (reader->state().UnackedOutputs().size() !=
        static_cast<size_t>(snapshot.unacked_outputs_size())) {
      sb::fuzz::Die(kTarget, "a snapshot read back lost unacknowledged outputs", "");
    }
  }
}

// ---- the RocksDB checkpoint ----

// One store for the process: opening RocksDB per input would make the target crawl. Every input
// rewrites everything LoadCheckpoint reads (follow-up tasks are never written: the store has no
// way to delete them), so no input sees another's data.
class TempStore {
 public:
  TempStore() {
    std::string dir = (std::filesystem::temp_directory_path() / "checkpoint_fuzz.XXXXXX").string();
    if (mkdtemp(dir.data()) == nullptr) sb::fuzz::Die(kTarget, "cannot make a temp dir", dir);
    dir_ = dir + "/store";
    auto store = sb::store::Store::Open(dir_, {});
    if (!store.ok()) sb::fuzz::Die(kTarget, "cannot open the store", store.status().ToString());
    store_ = std::move(*store);
    root_ = dir;
  }
  ~TempStore() {
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }
  sb::store::Store* store() { return store_.get(); }
  const std::string& dir() const { return dir_; }

 private:
  std::string root_;
  std::string dir_;
  std::unique_ptr<sb::store::Store> store_;
};

std::vector<std::string_view> Fields(std::string_view input, size_t n) {
  std::vector<std::string_view> fields;
  for (size_t start = 0; fields.size() < n;) {
    const size_t end = std::min(input.find('\x1f', start), input.size());
    fields.push_back(start < input.size() ? input.substr(start, end - start) : "");
    start = end + 1;
  }
  return fields;
}

sb::Result<shard::ChangelogState> Load(TempStore& t, shard::LogRange log) {
  return shard::LoadCheckpoint(*t.store(), t.dir(), /*partition=*/0, log);
}

void FuzzCheckpoint(std::string_view input, bool log_moved_on) {
  static TempStore temp;  // removed at exit
  enum { kPosition, kEpoch, kMeta, kForwards, kEngineHeader, kEntities, kFieldCount };
  const std::vector<std::string_view> f = Fields(input, kFieldCount);
  pb::EngineState entities;
  if (!entities.ParseFromArray(f[kEntities].data(), static_cast<int>(f[kEntities].size()))) {
    entities.Clear();
  }
  sb::store::Store* store = temp.store();
  sb::store::Batch batch = store->NewBatch();
  if (!store->StageEngineState(entities, &batch).ok()) {
    sb::fuzz::Die(kTarget, "cannot stage the entities", "");
  }
  // The keys checkpoint.cc and store.cc write, with the input's bytes.
  batch.PutMeta("engine", f[kEngineHeader]);
  batch.PutMeta("offset/changelog", f[kPosition]);
  batch.PutMeta("shard_epoch", f[kEpoch]);
  batch.PutMeta("shard_meta", f[kMeta]);
  batch.PutMeta("shard_forwards", f[kForwards]);
  if (!store->Commit(std::move(batch)).ok()) sb::fuzz::Die(kTarget, "cannot write the store", "");

  constexpr shard::LogRange kWholeLog{std::numeric_limits<int64_t>::min(),
                                      std::numeric_limits<int64_t>::max()};
  auto loaded = Load(temp, log_moved_on ? shard::LogRange{1, 0} : kWholeLog);
  if (!loaded.ok()) {
    sb::fuzz::CheckErrorMessage(kTarget, loaded.status().message());
    return;
  }
  if (log_moved_on && (loaded->next_offset() != 0 || loaded->epoch() != 0)) {
    sb::fuzz::Die(kTarget, "a checkpoint the log no longer holds was used", "");
  }
  const std::optional<Rebuilt> first = RebuildFrom(*loaded);
  if (!first || loaded->next_offset() == std::numeric_limits<int64_t>::min()) return;
  // Saved as the shard saves it and loaded again, twice: the second round changes nothing.
  std::optional<Rebuilt> previous;
  shard::ChangelogState current = std::move(*loaded);
  Rebuilt rebuilt = *first;
  for (int round = 0; round < 2; ++round) {
    const int64_t next = current.next_offset();
    const uint64_t epoch = current.epoch();
    sb::Status saved = shard::SaveCheckpoint(store, rebuilt.engine, current.meta(), epoch, next - 1,
                                             /*followups=*/nullptr);
    if (!saved.ok()) sb::fuzz::Die(kTarget, "cannot save a checkpoint", saved.ToString());
    auto again = Load(temp, kWholeLog);
    if (!again.ok())
      sb::fuzz::Die(kTarget, "a saved checkpoint does not load", again.status().ToString());
    if (again->next_offset() != next || again->epoch() != epoch) {
      sb::fuzz::Die(kTarget, "a saved checkpoint's offset or epoch changed", "");
    }
    const std::optional<Rebuilt> read = RebuildFrom(*again);
    if (!read) sb::fuzz::Die(kTarget, "a saved checkpoint does not rebuild", "");
    if (previous) ExpectSame(*previous, *read, "a checkpoint read back is not the state written");
    previous = *read;
    rebuilt = *read;
    current = std::move(*again);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Invalid UTF-8 in a string field fails the parse, and protobuf logs it: quiet.
  // A checkpoint the log no longer holds is logged (info): quiet too.
  static const bool quiet =
      (google::protobuf::SetLogHandler(nullptr),
       sb::log::Configure(sb::log::Level::kWarn, sb::log::Format::kText), true);
  (void)quiet;
  if (size == 0 || size > sb::fuzz::kMaxInputBytes) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    FuzzChangelog(rest);
  } else {
    FuzzCheckpoint(rest, data[0] & 2);
  }
  return 0;
}
