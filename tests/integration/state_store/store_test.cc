// The state store on a real RocksDB in a temp dir: layout, atomic batches, restart, refusal of
// stores this build must not touch.
#include "state-store/store.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <map>

#include "router/engine/engine.h"
#include "support/files.h"
#include "support/temp_dir.h"
#include "unit/engine/engine_fixture.h"

namespace sb::store {
namespace {

namespace fs = std::filesystem;
using ::sb::testing::ReadAll;
using ::sb::testing::WriteAll;

class StoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<Store> Open(const std::string& dir, OpenOptions o = {}) {
    Result<std::unique_ptr<Store>> s = Store::Open(dir, o);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  }
  // Every file's size and content hash, by name: to prove a refused store was not modified
  // (hashes rather than bytes so a failure prints a short diff, not a 100 KiB LOG).
  static std::map<std::string, std::pair<size_t, size_t>> Snapshot(const std::string& dir) {
    std::map<std::string, std::pair<size_t, size_t>> files;
    for (const auto& e : fs::directory_iterator(dir)) {
      const std::string bytes = ReadAll(e.path());
      files[e.path().filename().string()] = {bytes.size(), std::hash<std::string>()(bytes)};
    }
    return files;
  }
  // Creates a plain RocksDB in `dir` with these column families ("default" is implied), as
  // another tool or an older layout would.
  static void MakeRawDb(const std::string& dir, const std::vector<std::string>& cfs,
                        const std::vector<std::pair<std::string, std::string>>& meta = {}) {
    rocksdb::Options o;
    o.create_if_missing = true;
    o.create_missing_column_families = true;
    std::vector<rocksdb::ColumnFamilyDescriptor> descs = {{"default", o}};
    for (const auto& name : cfs) descs.emplace_back(name, o);
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(o, dir, descs, &handles, &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    for (const auto& [k, v] : meta) {
      ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), handles.back(), k, v).ok());
    }
    for (auto* h : handles) ASSERT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
    ASSERT_TRUE(db->Close().ok());
  }
  // Opening `dir_` fails with kFailedPrecondition naming the dir and `what`; no file changes.
  void ExpectRefusedUntouched(const std::string& what) {
    const auto before = Snapshot(dir_);
    Result<std::unique_ptr<Store>> s = Store::Open(dir_, {});
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.status().code(), Code::kFailedPrecondition) << s.status().ToString();
    EXPECT_NE(s.status().message().find(dir_), std::string::npos) << s.status().message();
    EXPECT_NE(s.status().message().find(what), std::string::npos) << s.status().message();
    EXPECT_EQ(Snapshot(dir_), before);
  }

  const sb::testing::TempDir tmp_{"sb_store_"};
  const std::string root_ = tmp_.path().string();
  const std::string dir_ = root_ + "/db";
};

const std::vector<std::string> kStoreCfs = {"agents",      "contacts", "followups", "due_index",
                                            "idempotency", "outbox",   "meta"};

pb::FollowUpTask Task(const std::string& id, int64_t next) {
  pb::FollowUpTask t;
  t.set_id(id);
  t.set_state(pb::FOLLOW_UP_STATE_PENDING);
  t.set_next_at_ms(next);
  return t;
}

std::vector<std::pair<int64_t, std::string>> Due(const Store& s, int64_t until) {
  std::vector<std::pair<int64_t, std::string>> out;
  EXPECT_TRUE(s.ForEachDue(until, [&](int64_t due, std::string_view id) {
                 out.emplace_back(due, std::string(id));
                 return true;
               }).ok());
  return out;
}

TEST_F(StoreTest, RoutingEngineIsRebuiltFromTheStore) {
  namespace et = engine::testing;
  ManualClock clock(1'000'000);
  auto engine = engine::Engine::Create(et::BaseConfig(), &clock);
  ASSERT_TRUE(engine.ok());
  engine::Decisions out;
  pb::Agent a;
  a.set_id("a1");
  a.set_domain("d1");
  auto* skill = a.add_skills();
  skill->set_skill("sales");
  skill->set_proficiency(3);
  ASSERT_TRUE((*engine)->AgentLogin(a, /*ready=*/false, &out).ok());
  for (const char* id : {"c3", "c1", "c2"}) {  // arrival order differs from id order
    pb::Contact c;
    c.set_id(id);
    c.set_queue("sales");
    c.set_channel(pb::CHANNEL_VOICE);
    ASSERT_TRUE((*engine)->ContactArrived(c, &out).ok());
    clock.AdvanceMs(1000);
  }
  const pb::EngineState state = (*engine)->ExportState();
  {
    auto store = Open(dir_);
    Batch b = store->NewBatch();
    ASSERT_TRUE(store->StageEngineState(state, &b).ok());
    b.SetInputPosition("sb.contacts/0", 41);
    ASSERT_TRUE(store->Commit(std::move(b)).ok());
  }
  auto store = Open(dir_);
  Result<pb::EngineState> loaded = store->LoadEngineState();
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->SerializeAsString(), state.SerializeAsString());
  EXPECT_EQ(**store->InputPosition("sb.contacts/0"), 41u);
  auto restored = engine::Engine::Restore(et::BaseConfig(), &clock, *loaded);
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  // The agent becomes ready: it gets the oldest waiting contact, as before the restart.
  out.clear();
  ASSERT_TRUE((*restored)->AgentReady("a1", &out).ok());
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out[0].contact_id, "c3");
  EXPECT_EQ(out[0].agent_id, "a1");

  // Staging a state without an agent deletes the stored one.
  pb::EngineState smaller = state;
  smaller.clear_agents();
  Batch b = store->NewBatch();
  ASSERT_TRUE(store->StageEngineState(smaller, &b).ok());
  ASSERT_TRUE(store->Commit(std::move(b)).ok());
  EXPECT_EQ(store->LoadEngineState()->agents_size(), 0);
  EXPECT_EQ(store->LoadEngineState()->contacts_size(), 3);
}

TEST_F(StoreTest, DueIndexKeepsDueOrderAndMovesWithTheTask) {
  auto store = Open(dir_);
  Batch b = store->NewBatch();
  b.PutFollowUp(Task("b", 300), std::nullopt, 300);
  b.PutFollowUp(Task("a", 300), std::nullopt, 300);
  b.PutFollowUp(Task("c", 100), std::nullopt, 100);
  // 2^40 ms sorts after 300 only when encoded big-endian.
  b.PutFollowUp(Task("far", int64_t{1} << 40), std::nullopt, int64_t{1} << 40);
  ASSERT_TRUE(store->Commit(std::move(b)).ok());
  using V = std::vector<std::pair<int64_t, std::string>>;
  EXPECT_EQ(Due(*store, 300), (V{{100, "c"}, {300, "a"}, {300, "b"}}));
  Batch move = store->NewBatch();
  move.PutFollowUp(Task("c", 500), 100, 500);
  pb::FollowUpTask ended = Task("a", 0);
  ended.set_state(pb::FOLLOW_UP_STATE_DONE);
  move.PutFollowUp(ended, 300, std::nullopt);
  ASSERT_TRUE(store->Commit(std::move(move)).ok());
  EXPECT_EQ(Due(*store, 1000), (V{{300, "b"}, {500, "c"}}));
  std::vector<std::string> ids;
  ASSERT_TRUE(store->ForEachFollowUp([&](pb::FollowUpTask&& t) { ids.push_back(t.id()); }).ok());
  EXPECT_EQ(ids, (std::vector<std::string>{"a", "b", "c", "far"}));
}

TEST_F(StoreTest, IdempotencyKeysExpire) {
  auto store = Open(dir_);
  Batch b = store->NewBatch();
  b.PutIdempotency("sip:call-1", "contact-9", 5000);
  ASSERT_TRUE(store->Commit(std::move(b)).ok());
  EXPECT_EQ(**store->Idempotency("sip:call-1", 4999), "contact-9");
  EXPECT_FALSE(store->Idempotency("sip:call-1", 5000)->has_value());
  EXPECT_FALSE(store->Idempotency("other", 0)->has_value());
}

TEST_F(StoreTest, OutboxAndMetaSurviveReopen) {
  {
    auto store = Open(dir_);
    Batch b = store->NewBatch();
    pb::Contact c;
    c.set_id("t#1");
    b.PutOutbox(c);
    c.set_id("t#2");
    b.PutOutbox(c);
    b.PutMeta("k", "v");
    b.SetInputPosition("drill", 7);
    ASSERT_TRUE(store->Commit(std::move(b), /*sync=*/true).ok());
    Batch d = store->NewBatch();
    d.DeleteOutbox("t#1");
    ASSERT_TRUE(store->Commit(std::move(d)).ok());
  }
  auto store = Open(dir_);
  std::vector<std::string> outbox;
  ASSERT_TRUE(store->ForEachOutbox([&](pb::Contact&& c) { outbox.push_back(c.id()); }).ok());
  EXPECT_EQ(outbox, std::vector<std::string>{"t#2"});
  EXPECT_EQ(**store->Meta("k"), "v");
  EXPECT_EQ(**store->InputPosition("drill"), 7u);
  EXPECT_FALSE(store->InputPosition("never")->has_value());
}

TEST_F(StoreTest, CheckpointIsAConsistentCopyToRestoreFrom) {
  auto store = Open(dir_);
  Batch b = store->NewBatch();
  b.PutFollowUp(Task("before", 1), std::nullopt, 1);
  ASSERT_TRUE(store->Commit(std::move(b)).ok());
  const std::string copy = root_ + "/checkpoint";
  ASSERT_TRUE(store->Checkpoint(copy).ok());
  Batch later = store->NewBatch();
  later.PutFollowUp(Task("after", 2), std::nullopt, 2);
  ASSERT_TRUE(store->Commit(std::move(later)).ok());
  EXPECT_EQ(store->Checkpoint(copy).code(), Code::kInternal);  // target exists: refused
  auto restored = Open(copy);
  EXPECT_EQ(Due(*restored, 10).size(), 1u);
  EXPECT_EQ(Due(*store, 10).size(), 2u);
}

TEST_F(StoreTest, NewerSchemaIsRefusedAndLeftUntouched) {
  {
    auto store = Open(dir_);
    Batch b = store->NewBatch();
    b.PutMeta("schema_version", EncodeBe64(kSchemaVersion + 1));
    ASSERT_TRUE(store->Commit(std::move(b)).ok());
  }
  const auto before = Snapshot(dir_);
  Result<std::unique_ptr<Store>> s = Store::Open(dir_, {});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(s.status().message().find(dir_), std::string::npos) << s.status().message();
  EXPECT_NE(s.status().message().find("schema version 2 is newer"), std::string::npos);
  EXPECT_EQ(Snapshot(dir_), before);
}

TEST_F(StoreTest, CorruptStoreIsRefusedAndLeftUntouched) {
  { Open(dir_); }
  for (const auto& e : fs::directory_iterator(dir_)) {
    if (e.path().filename().string().starts_with("MANIFEST-")) {
      WriteAll(e.path(), "not a manifest at all");
    }
  }
  const auto before = Snapshot(dir_);
  Result<std::unique_ptr<Store>> s = Store::Open(dir_, {});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find(dir_), std::string::npos) << s.status().message();
  EXPECT_EQ(Snapshot(dir_), before);
}

TEST_F(StoreTest, GarbageCurrentFileIsRefusedAndLeftUntouched) {
  { Open(dir_); }
  WriteAll(dir_ + "/CURRENT", "\x01\x02garbage");
  ExpectRefusedUntouched("cannot open state store");
}

TEST_F(StoreTest, StoreWithoutSchemaVersionIsRefusedAndLeftUntouched) {
  MakeRawDb(dir_, kStoreCfs, {{"engine", ""}});
  ExpectRefusedUntouched("no schema version");
}

// A crash while a store is being created leaves a half-made RocksDB beside its directory, never
// in it: the next open starts the creation over and the store is complete.
TEST_F(StoreTest, InterruptedCreationIsStartedOver) {
  MakeRawDb(dir_ + ".creating", kStoreCfs);  // no schema version yet: the crash came before it
  fs::create_directories(dir_);              // the caller's empty directory
  {
    auto store = Open(dir_);
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(**store->Meta("schema_version"), EncodeBe64(kSchemaVersion));
  }
  EXPECT_FALSE(fs::exists(dir_ + ".creating"));
  EXPECT_NE(Open(dir_), nullptr);
}

TEST_F(StoreTest, OtherRocksDbIsRefusedAndLeftUntouched) {
  MakeRawDb(dir_, {"users"});
  ExpectRefusedUntouched("not a Switchboard state store");
}

TEST_F(StoreTest, UnknownColumnFamilyIsRefusedAndLeftUntouched) {
  std::vector<std::string> cfs = kStoreCfs;
  cfs.insert(cfs.end() - 1, "audit");  // meta stays last: MakeRawDb writes into the last one
  MakeRawDb(dir_, cfs, {{"schema_version", EncodeBe64(kSchemaVersion)}});
  ExpectRefusedUntouched("unknown column family \"audit\"");
}

// Another process holds the database (RocksDB's LOCK): the open is refused and, in particular,
// the owner's LOG file is not rotated away under it.
TEST_F(StoreTest, StoreInUseByAnotherProcessIsRefusedAndLeftUntouched) {
  { Open(dir_); }
  const std::string lock_path = dir_ + "/LOCK";
  int ready[2], done[2];
  ASSERT_EQ(pipe(ready), 0);
  ASSERT_EQ(pipe(done), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {  // only async-signal-safe calls after fork
    const int fd = open(lock_path.c_str(), O_RDWR);
    struct flock fl = {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    char c = fd >= 0 && fcntl(fd, F_SETLK, &fl) == 0 ? 1 : 0;
    if (write(ready[1], &c, 1) != 1 || read(done[0], &c, 1) < 0) _exit(1);
    _exit(0);
  }
  char locked = 0;
  ASSERT_EQ(read(ready[0], &locked, 1), 1);
  EXPECT_EQ(locked, 1);
  ExpectRefusedUntouched("lock");
  char c = 0;
  ASSERT_EQ(write(done[1], &c, 1), 1);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  for (int fd : {ready[0], ready[1], done[0], done[1]}) close(fd);
  EXPECT_NE(Open(dir_), nullptr);  // released: opens again
}

TEST_F(StoreTest, SecondOpenInTheSameProcessIsRefused) {
  auto first = Open(dir_);
  std::vector<std::string> names_before;
  for (const auto& [name, bytes] : Snapshot(dir_)) names_before.push_back(name);
  Result<std::unique_ptr<Store>> second = Store::Open(dir_, {});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kFailedPrecondition);
  std::vector<std::string> names_after;
  for (const auto& [name, bytes] : Snapshot(dir_)) names_after.push_back(name);
  EXPECT_EQ(names_after, names_before);  // no LOG.old.* rotated out of the first one's way
  Batch b = first->NewBatch();
  b.PutMeta("still", "works");
  EXPECT_TRUE(first->Commit(std::move(b)).ok());
}

TEST_F(StoreTest, ColumnFamilyStatsNameEveryFamily) {
  auto store = Open(dir_);
  Batch b = store->NewBatch();
  b.PutFollowUp(Task("t", 5), std::nullopt, 5);
  ASSERT_TRUE(store->Commit(std::move(b)).ok());
  std::vector<std::string> names;
  for (const Store::Stats& st : store->ColumnFamilyStats()) {
    names.push_back(st.name);
    if (st.name == "followups") {
      EXPECT_EQ(st.keys, 1u);
    }
  }
  EXPECT_EQ(names, kStoreCfs);
}

TEST_F(StoreTest, ForeignDirectoryIsRefused) {
  fs::create_directories(dir_);
  WriteAll(dir_ + "/notes.txt", "my files");
  Result<std::unique_ptr<Store>> s = Store::Open(dir_, {});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("not a Switchboard state store"), std::string::npos);
  EXPECT_EQ(Snapshot(dir_).size(), 1u);
  OpenOptions no_create;
  no_create.create_if_missing = false;
  EXPECT_FALSE(Store::Open(root_ + "/missing", no_create).ok());
}

TEST_F(StoreTest, ReadOnlyOpenReads) {
  {
    auto store = Open(dir_);
    Batch b = store->NewBatch();
    b.PutMeta("k", "v");
    ASSERT_TRUE(store->Commit(std::move(b)).ok());
  }
  const auto before = Snapshot(dir_);
  OpenOptions ro;
  ro.read_only = true;
  {
    auto store = Open(dir_, ro);
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(**store->Meta("k"), "v");
    Batch b = store->NewBatch();
    b.PutMeta("k", "w");
    EXPECT_EQ(store->Commit(std::move(b)).code(), Code::kInternal);
  }
  EXPECT_EQ(Snapshot(dir_), before);  // inspecting a store (e.g. a live one) writes nothing
  EXPECT_FALSE(Store::Open(root_ + "/missing", ro).ok());
}

TEST(StoreEncodingTest, BigEndianRoundTripAndOrder) {
  EXPECT_EQ(DecodeBe64(EncodeBe64(0x0102030405060708ULL)), 0x0102030405060708ULL);
  EXPECT_LT(EncodeBe64(255), EncodeBe64(256));
  EXPECT_LT(DueKey(5, "zzz"), DueKey(6, "aaa"));
  EXPECT_EQ(DueKey(-5, "x"), DueKey(0, "x"));
}

}  // namespace
}  // namespace sb::store
