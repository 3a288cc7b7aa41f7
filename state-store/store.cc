#include "state-store/store.h"

#include <fcntl.h>
#include <rocksdb/compaction_filter.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/options.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace sb::store {
namespace {

namespace fs = std::filesystem;

// Column families, in the order of kCfNames ("default" is RocksDB's own and stays unused).
enum Cf : size_t { kAgents = 1, kContacts, kFollowups, kDueIndex, kIdempotency, kOutbox, kMeta };
constexpr const char* kCfNames[] = {"default",   "agents",      "contacts", "followups",
                                    "due_index", "idempotency", "outbox",   "meta"};
constexpr size_t kNumCfs = std::size(kCfNames);
constexpr std::string_view kSchemaKey = "schema_version";
constexpr std::string_view kEngineKey = "engine";
constexpr std::string_view kOffsetPrefix = "offset/";

std::string Printable(std::string_view key) {
  std::string out;
  for (unsigned char c : key.substr(0, 64)) {
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// Expired idempotency keys are dropped when RocksDB compacts them. This is the shell, so the
// wall clock is the right time source here (reads treat expired keys as absent anyway).
class ExpiredKeyFilter final : public rocksdb::CompactionFilter {
 public:
  bool Filter(int /*level*/, const rocksdb::Slice& /*key*/, const rocksdb::Slice& value,
              std::string* /*new_value*/, bool* /*value_changed*/) const override {
    if (value.size() < 8) return false;  // malformed: keep it, reads report it
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    return static_cast<int64_t>(DecodeBe64({value.data(), 8})) <= now;
  }
  const char* Name() const override { return "sb.ExpiredKeyFilter"; }
};

// The probe of an existing database must not touch its files, not even the info log.
class SilentLogger final : public rocksdb::Logger {
 public:
  using rocksdb::Logger::Logv;
  void Logv(const char* /*format*/, va_list /*ap*/) override {}
};

// RocksDB's info log for a read-write open, held in memory until the open has succeeded and then
// written to the usual LOG file. Why: DB::Open creates LOG (renaming the previous one to
// LOG.old.*) before it takes the LOCK, so an open refused because another process (or another
// Store in this one) has the database would otherwise rename the live owner's log.
class DeferredLogger final : public rocksdb::Logger {
 public:
  explicit DeferredLogger(rocksdb::InfoLogLevel level) : rocksdb::Logger(level) {}

  // RocksDB logs through the levelled overload; the other one (asserts in the base) maps to INFO.
  void Logv(const char* format, va_list ap) override {
    Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap);
  }
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override
      ABSL_LOCKS_EXCLUDED(mu_) {
    if (level < GetInfoLogLevel()) return;
    absl::MutexLock lock(&mu_);
    if (target_) {
      target_->Logv(level, format, ap);
      return;
    }
    if (discard_ || buffered_bytes_ > kMaxBufferedBytes) return;
    va_list copy;
    va_copy(copy, ap);
    const int n = vsnprintf(nullptr, 0, format, copy);
    va_end(copy);
    if (n < 0) return;
    std::string line(static_cast<size_t>(n) + 1, '\0');
    vsnprintf(line.data(), line.size(), format, ap);
    line.pop_back();
    buffered_bytes_ += line.size();
    buffered_.emplace_back(level, std::move(line));
  }
  void Flush() override ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    if (target_) target_->Flush();
  }

  // Called once the database is open (and locked by us): from now on lines go to `target`.
  // nullptr (the LOG file could not be created) drops them, as RocksDB itself does then.
  void Attach(std::shared_ptr<rocksdb::Logger> target) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    if (target) {
      for (const auto& [level, line] : buffered_) {
        rocksdb::Log(level, target.get(), "%s", line.c_str());
      }
    }
    buffered_.clear();
    buffered_.shrink_to_fit();
    target_ = std::move(target);
    discard_ = target_ == nullptr;
  }

 private:
  // The options dump of one open is ~100 KiB; the cap only guards against a runaway open.
  static constexpr size_t kMaxBufferedBytes = size_t{4} << 20;
  absl::Mutex mu_;
  std::shared_ptr<rocksdb::Logger> target_ ABSL_GUARDED_BY(mu_);
  std::vector<std::pair<rocksdb::InfoLogLevel, std::string>> buffered_ ABSL_GUARDED_BY(mu_);
  size_t buffered_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  bool discard_ ABSL_GUARDED_BY(mu_) = false;
};

const ExpiredKeyFilter kExpiredKeyFilter;

// Options, chosen for one shard per process with small values and a write-heavy load:
// - WAL on (the default) and sync=false per write: see store.h for why that is enough;
// - paranoid_checks: refuse to open on any inconsistency instead of guessing;
// - a small background pool (2 threads: the machines have few cores and several shards);
// - level compaction with default sizes; bounded open files and info logs.
rocksdb::Options BaseOptions() {
  rocksdb::Options o;
  o.paranoid_checks = true;
  o.IncreaseParallelism(2);
  o.OptimizeLevelStyleCompaction();
  o.max_open_files = 512;
  o.keep_log_file_num = 3;
  o.max_manifest_file_size = 64 << 20;
  return o;
}

std::vector<rocksdb::ColumnFamilyDescriptor> Descriptors(const rocksdb::Options& base) {
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (size_t i = 0; i < kNumCfs; ++i) {
    rocksdb::ColumnFamilyOptions o(base);
    if (i == kIdempotency) o.compaction_filter = &kExpiredKeyFilter;
    cfs.emplace_back(kCfNames[i], o);
  }
  return cfs;
}

Status OpenError(const std::string& dir, const rocksdb::Status& s) {
  return FailedPrecondition(dir + ": cannot open state store: " + s.ToString() +
                            " (data left untouched)");
}

// Creates an empty store with its schema version in a sibling directory and renames it into
// place, so that a crash during creation leaves either no store or a complete one — never a
// RocksDB without a schema version, which Open must refuse. `dir` is absent or empty.
Status CreateStore(const std::string& dir) {
  const std::string tmp = dir + ".creating";
  std::error_code ec;
  fs::remove_all(tmp, ec);  // what a creation interrupted before left
  if (ec) return Internal(tmp + ": cannot remove an interrupted creation: " + ec.message());
  {
    rocksdb::Options o = BaseOptions();
    o.create_if_missing = true;
    o.create_missing_column_families = true;
    o.info_log = std::make_shared<SilentLogger>();
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(o, tmp, Descriptors(o), &handles, &raw);
    if (!s.ok()) return Internal(tmp + ": cannot create state store: " + s.ToString());
    std::unique_ptr<rocksdb::DB> db(raw);
    rocksdb::WriteOptions wo;
    wo.sync = true;
    s = db->Put(wo, handles[kMeta], kSchemaKey, EncodeBe64(kSchemaVersion));
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    if (s.ok()) s = db->Close();
    if (!s.ok()) return Internal(tmp + ": cannot create state store: " + s.ToString());
  }
  fs::rename(tmp, dir, ec);  // replaces `dir` if it is an empty directory
  if (ec) return Internal(dir + ": cannot move the new state store into place: " + ec.message());
  const std::string parent = fs::absolute(dir).parent_path().string();
  const int fd = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {  // make the rename durable
    ::fsync(fd);
    ::close(fd);
  }
  return Status::Ok();
}

template <typename Msg>
Status ParseValue(const std::string& dir, const char* cf, std::string_view key,
                  const rocksdb::Slice& value, Msg* out) {
  if (!out->ParseFromArray(value.data(), static_cast<int>(value.size()))) {
    return FailedPrecondition(dir + ": corrupt record in " + cf + " key " + Printable(key));
  }
  return Status::Ok();
}

}  // namespace

std::string EncodeBe64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i, v >>= 8) out[static_cast<size_t>(i)] = static_cast<char>(v & 0xff);
  return out;
}

uint64_t DecodeBe64(std::string_view bytes) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(bytes[i]);
  return v;
}

std::string DueKey(int64_t due_ms, std::string_view task_id) {
  std::string key = EncodeBe64(static_cast<uint64_t>(std::max<int64_t>(0, due_ms)));
  key.append(task_id);
  return key;
}

// ---- Batch ----

Batch::Batch(const Store* store) : store_(store), wb_(std::make_unique<rocksdb::WriteBatch>()) {}
Batch::~Batch() = default;
Batch::Batch(Batch&&) noexcept = default;
Batch& Batch::operator=(Batch&&) noexcept = default;

// WriteBatch calls only fail on oversized batches (> 4 GiB); a batch never gets near that, so
// their statuses are dropped on purpose below.
#define SB_BATCH(op, cf, ...) wb_->op(store_->cfs_[cf], __VA_ARGS__).PermitUncheckedError()

void Batch::PutAgent(const pb::AgentRecord& r) {
  SB_BATCH(Put, kAgents, r.agent().id(), r.SerializeAsString());
}
void Batch::DeleteAgent(std::string_view id) { SB_BATCH(Delete, kAgents, rocksdb::Slice(id)); }
void Batch::PutContact(const pb::ContactRecord& r) {
  SB_BATCH(Put, kContacts, r.contact().id(), r.SerializeAsString());
}
void Batch::DeleteContact(std::string_view id) { SB_BATCH(Delete, kContacts, rocksdb::Slice(id)); }

void Batch::PutFollowUp(const pb::FollowUpTask& task, std::optional<int64_t> old_due_ms,
                        std::optional<int64_t> due_ms) {
  SB_BATCH(Put, kFollowups, task.id(), task.SerializeAsString());
  if (old_due_ms == due_ms) return;
  if (old_due_ms) SB_BATCH(Delete, kDueIndex, DueKey(*old_due_ms, task.id()));
  if (due_ms) SB_BATCH(Put, kDueIndex, DueKey(*due_ms, task.id()), rocksdb::Slice());
}

void Batch::DeleteFollowUp(std::string_view task_id, std::optional<int64_t> old_due_ms) {
  SB_BATCH(Delete, kFollowups, rocksdb::Slice(task_id));
  if (old_due_ms) SB_BATCH(Delete, kDueIndex, DueKey(*old_due_ms, task_id));
}

void Batch::PutIdempotency(std::string_view key, std::string_view value, int64_t expires_ms) {
  std::string v = EncodeBe64(static_cast<uint64_t>(std::max<int64_t>(0, expires_ms)));
  v.append(value);
  SB_BATCH(Put, kIdempotency, rocksdb::Slice(key), v);
}

void Batch::PutOutbox(const pb::Contact& c) {
  SB_BATCH(Put, kOutbox, c.id(), c.SerializeAsString());
}
void Batch::DeleteOutbox(std::string_view id) { SB_BATCH(Delete, kOutbox, rocksdb::Slice(id)); }

void Batch::PutEngineHeader(const pb::EngineState& header) {
  pb::EngineState h = header;
  h.clear_agents();
  h.clear_contacts();
  SB_BATCH(Put, kMeta, rocksdb::Slice(kEngineKey), h.SerializeAsString());
}

void Batch::SetInputPosition(std::string_view source, uint64_t position) {
  SB_BATCH(Put, kMeta, std::string(kOffsetPrefix) + std::string(source), EncodeBe64(position));
}

void Batch::PutMeta(std::string_view key, std::string_view value) {
  SB_BATCH(Put, kMeta, rocksdb::Slice(key), rocksdb::Slice(value));
}

#undef SB_BATCH

size_t Batch::operations() const { return wb_->Count(); }

// ---- Store ----

Result<std::unique_ptr<Store>> Store::Open(const std::string& dir, const OpenOptions& options) {
  std::error_code ec;
  const bool exists = fs::exists(dir, ec);
  const bool empty = !exists || fs::is_empty(dir, ec);
  if (!empty && !fs::exists(fs::path(dir) / "CURRENT", ec)) {
    return FailedPrecondition(dir +
                              ": not a Switchboard state store (no RocksDB CURRENT file); "
                              "refusing to use it");
  }
  if (empty && (!options.create_if_missing || options.read_only)) {
    return FailedPrecondition(dir + ": no state store here");
  }

  if (empty) SB_RETURN_IF_ERROR(CreateStore(dir));  // then opened like any other store

  rocksdb::Options base = BaseOptions();
  std::unique_ptr<Store> store(new Store());
  store->dir_ = dir;
  {
    // Probe read-only first, with a silent logger, so a store this build must refuse (newer
    // schema, unknown layout, corruption) is not modified at all.
    rocksdb::Options probe_options = base;
    probe_options.info_log = std::make_shared<SilentLogger>();
    std::vector<std::string> names;
    rocksdb::Status s = rocksdb::DB::ListColumnFamilies(probe_options, dir, &names);
    if (!s.ok()) return OpenError(dir, s);
    for (const char* want : kCfNames) {
      if (std::find(names.begin(), names.end(), want) == names.end()) {
        return FailedPrecondition(dir + ": not a Switchboard state store (column family \"" + want +
                                  "\" missing); data left untouched");
      }
    }
    // A read-write open must name every column family, so an unknown one would fail there, after
    // RocksDB has started writing; refuse it here instead.
    for (const std::string& name : names) {
      if (std::find(std::begin(kCfNames), std::end(kCfNames), name) == std::end(kCfNames)) {
        return FailedPrecondition(dir + ": unknown column family \"" + Printable(name) +
                                  "\" (written by another build or tool?); refusing to open (data "
                                  "left untouched)");
      }
    }
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    s = rocksdb::DB::OpenForReadOnly(probe_options, dir, Descriptors(probe_options), &handles,
                                     &raw);
    if (!s.ok()) return OpenError(dir, s);
    store->db_.reset(raw);
    store->cfs_ = handles;
    Result<std::optional<std::string>> version = store->Meta(kSchemaKey);
    if (!version.ok()) return version.status();
    if (!version->has_value() || (*version)->size() != 8) {
      return FailedPrecondition(dir +
                                ": state store has no schema version; refusing to open "
                                "(data left untouched)");
    }
    const uint64_t v = DecodeBe64(**version);
    if (v > kSchemaVersion) {
      return FailedPrecondition(
          dir + ": schema version " + std::to_string(v) + " is newer than this build supports (" +
          std::to_string(kSchemaVersion) + "); refusing to open (data left untouched)");
    }
    if (options.read_only) return store;
    for (auto* h : store->cfs_) store->db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    store->cfs_.clear();
    store->db_.reset();
  }

  auto logger = std::make_shared<DeferredLogger>(base.info_log_level);
  base.info_log = logger;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(base, dir, Descriptors(base), &handles, &raw);
  if (!s.ok()) return OpenError(dir, s);
  store->db_.reset(raw);
  store->cfs_ = handles;
  // The database is ours now: start the LOG file (rotating the previous one) as RocksDB would.
  rocksdb::Options log_options = base;
  log_options.info_log = nullptr;
  std::shared_ptr<rocksdb::Logger> file_logger;
  if (!rocksdb::CreateLoggerFromOptions(dir, log_options, &file_logger).ok()) file_logger.reset();
  logger->Attach(std::move(file_logger));
  return store;
}

Store::~Store() {
  if (!db_) return;
  for (auto* h : cfs_) db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  // Close flushes nothing (the WAL already holds every commit); its status has nowhere to go.
  db_->Close().PermitUncheckedError();
}

Status Store::Commit(Batch batch, bool sync) {
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  rocksdb::Status s = db_->Write(wo, batch.wb_.get());
  if (!s.ok()) return Internal(dir_ + ": commit failed: " + s.ToString());
  return Status::Ok();
}

Result<std::optional<std::string>> Store::Meta(std::string_view key) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cfs_[kMeta], rocksdb::Slice(key), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return Internal(dir_ + ": read meta " + std::string(key) + ": " + s.ToString());
  return std::optional<std::string>(std::move(value));
}

Result<std::optional<uint64_t>> Store::InputPosition(std::string_view source) const {
  Result<std::optional<std::string>> v = Meta(std::string(kOffsetPrefix) + std::string(source));
  if (!v.ok()) return v.status();
  if (!v->has_value()) return std::optional<uint64_t>();
  if ((*v)->size() != 8) {
    return FailedPrecondition(dir_ + ": corrupt record in meta key offset/" + Printable(source));
  }
  return std::optional<uint64_t>(DecodeBe64(**v));
}

Result<std::optional<std::string>> Store::Idempotency(std::string_view key, int64_t now_ms) const {
  std::string value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), cfs_[kIdempotency], rocksdb::Slice(key), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return Internal(dir_ + ": read idempotency key: " + s.ToString());
  if (value.size() < 8) {
    return FailedPrecondition(dir_ + ": corrupt record in idempotency key " + Printable(key));
  }
  if (static_cast<int64_t>(DecodeBe64(value)) <= now_ms) return std::optional<std::string>();
  return std::optional<std::string>(value.substr(8));
}

Result<pb::EngineState> Store::LoadEngineState() const {
  pb::EngineState state;
  Result<std::optional<std::string>> header = Meta(kEngineKey);
  if (!header.ok()) return header.status();
  if (header->has_value()) {
    SB_RETURN_IF_ERROR(ParseValue(dir_, "meta", kEngineKey, **header, &state));
  }
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cfs_[kAgents]));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    SB_RETURN_IF_ERROR(
        ParseValue(dir_, "agents", it->key().ToStringView(), it->value(), state.add_agents()));
  }
  if (!it->status().ok()) return Internal(dir_ + ": read agents: " + it->status().ToString());
  it.reset(db_->NewIterator(rocksdb::ReadOptions(), cfs_[kContacts]));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    SB_RETURN_IF_ERROR(
        ParseValue(dir_, "contacts", it->key().ToStringView(), it->value(), state.add_contacts()));
  }
  if (!it->status().ok()) return Internal(dir_ + ": read contacts: " + it->status().ToString());
  std::stable_sort(state.mutable_contacts()->begin(), state.mutable_contacts()->end(),
                   [](const auto& a, const auto& b) { return a.seq() < b.seq(); });
  return state;
}

Status Store::StageEngineState(const pb::EngineState& state, Batch* batch) const {
  batch->PutEngineHeader(state);
  std::unordered_set<std::string> agents, contacts;
  for (const auto& a : state.agents()) {
    batch->PutAgent(a);
    agents.insert(a.agent().id());
  }
  for (const auto& c : state.contacts()) {
    batch->PutContact(c);
    contacts.insert(c.contact().id());
  }
  for (auto [cf, keep] : {std::pair{kAgents, &agents}, std::pair{kContacts, &contacts}}) {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cfs_[cf]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const std::string key = it->key().ToString();
      if (keep->count(key)) continue;
      if (cf == kAgents) {
        batch->DeleteAgent(key);
      } else {
        batch->DeleteContact(key);
      }
    }
    if (!it->status().ok()) return Internal(dir_ + ": scan: " + it->status().ToString());
  }
  return Status::Ok();
}

Status Store::ForEachFollowUp(const std::function<void(pb::FollowUpTask&&)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cfs_[kFollowups]));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    pb::FollowUpTask task;
    SB_RETURN_IF_ERROR(ParseValue(dir_, "followups", it->key().ToStringView(), it->value(), &task));
    if (task.id() != it->key().ToStringView()) {
      return FailedPrecondition(dir_ + ": corrupt record in followups key " +
                                Printable(it->key().ToStringView()) + " (id mismatch)");
    }
    fn(std::move(task));
  }
  if (!it->status().ok()) return Internal(dir_ + ": read followups: " + it->status().ToString());
  return Status::Ok();
}

Status Store::ForEachDue(int64_t until_ms,
                         const std::function<bool(int64_t, std::string_view)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cfs_[kDueIndex]));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string_view key = it->key().ToStringView();
    if (key.size() < 8) {
      return FailedPrecondition(dir_ + ": corrupt record in due_index key " + Printable(key));
    }
    const auto due = static_cast<int64_t>(DecodeBe64(key));
    if (due > until_ms) break;
    if (!fn(due, key.substr(8))) break;
  }
  if (!it->status().ok()) return Internal(dir_ + ": read due_index: " + it->status().ToString());
  return Status::Ok();
}

Status Store::ForEachOutbox(const std::function<void(pb::Contact&&)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cfs_[kOutbox]));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    pb::Contact c;
    SB_RETURN_IF_ERROR(ParseValue(dir_, "outbox", it->key().ToStringView(), it->value(), &c));
    fn(std::move(c));
  }
  if (!it->status().ok()) return Internal(dir_ + ": read outbox: " + it->status().ToString());
  return Status::Ok();
}

Status Store::Checkpoint(const std::string& target_dir) const {
  rocksdb::Checkpoint* raw = nullptr;
  rocksdb::Status s = rocksdb::Checkpoint::Create(db_.get(), &raw);
  std::unique_ptr<rocksdb::Checkpoint> cp(raw);
  if (s.ok()) s = cp->CreateCheckpoint(target_dir);
  if (!s.ok()) return Internal(target_dir + ": checkpoint failed: " + s.ToString());
  return Status::Ok();
}

std::optional<uint64_t> Store::IntProperty(const std::string& name) const {
  uint64_t value = 0;
  if (!db_->GetIntProperty(name, &value)) return std::nullopt;
  return value;
}

std::vector<Store::Stats> Store::ColumnFamilyStats() const {
  std::vector<Stats> out;
  for (size_t i = 1; i < kNumCfs; ++i) {
    Stats st;
    st.name = kCfNames[i];
    db_->GetIntProperty(cfs_[i], "rocksdb.estimate-num-keys", &st.keys);
    db_->GetIntProperty(cfs_[i], "rocksdb.total-sst-files-size", &st.sst_bytes);
    out.push_back(st);
  }
  return out;
}

}  // namespace sb::store
