// The follow-up scheduler bound to a real RocksDB store: restart resumes where the last commit
// stopped, and the outbox publishes a decided contact exactly once across a crash.
#include "router/followup/durable_scheduler.h"

#include <gtest/gtest.h>

#include <set>

#include "support/temp_dir.h"

namespace sb::followup {
namespace {

constexpr int64_t kStart = 1772416800000;  // 2026-03-02 10:00 Asia/Shanghai

class MemorySink final : public Sink {
 public:
  Status Publish(const pb::Contact& c) override {
    if (fail) return {Code::kUnavailable, "sink down"};
    published.push_back(c.id());
    return Status::Ok();
  }
  Result<bool> Contains(std::string_view id) override {
    return std::find(published.begin(), published.end(), id) != published.end();
  }
  std::vector<std::string> published;
  bool fail = false;
};

Settings DefaultSettings() {
  pb::FollowUpConfig c;
  ApplyDefaults(&c);
  return *Settings::Resolve(c);
}

pb::FollowUpRequest Callback(const std::string& id, int64_t due) {
  pb::FollowUpRequest r;
  r.set_request_id(id);
  r.set_kind(pb::FOLLOW_UP_KIND_CALLBACK);
  r.set_customer_id("c-" + id);
  r.set_customer_phone("+8613800000000");
  r.set_customer_surname("Zhao");
  r.set_due_at_ms(due);
  return r;
}

class DurableSchedulerTest : public ::testing::Test {
 protected:
  void TearDown() override {
    sched_.reset();
    store_.reset();
  }
  // (Re)opens store and scheduler on the same dir, as a restarted process does.
  void Restart() {
    sched_.reset();
    store_.reset();
    Result<std::unique_ptr<store::Store>> s = store::Store::Open(dir_ + "/db", {});
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
    Result<std::unique_ptr<DurableScheduler>> d =
        DurableScheduler::Open(store_.get(), DefaultSettings(), &clock_, &sink_);
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    sched_ = std::move(*d);
  }

  const sb::testing::TempDir tmp_{"sb_durable_"};
  const std::string dir_ = tmp_.path().string();
  ManualClock clock_{kStart};
  MemorySink sink_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<DurableScheduler> sched_;
};

TEST_F(DurableSchedulerTest, TasksAndInputPositionsSurviveARestart) {
  Restart();
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(sched_
                    ->Submit(Callback("cb" + std::to_string(i), kStart + 60'000 * i),
                             InputPosition{"sb.followups/0", static_cast<uint64_t>(100 + i)})
                    .ok());
  }
  clock_.SetMs(kStart + 60'000);
  ASSERT_EQ(*sched_->Tick(), 2u);
  Restart();
  EXPECT_EQ(**store_->InputPosition("sb.followups/0"), 104u);
  EXPECT_EQ(sched_->core().size(), 5u);
  EXPECT_EQ(sched_->core().Get("cb1")->state(), pb::FOLLOW_UP_STATE_FIRING);
  EXPECT_EQ(sched_->core().Get("cb2")->state(), pb::FOLLOW_UP_STATE_PENDING);
  // The restarted scheduler goes on where the old one stopped: no attempt fires twice.
  clock_.SetMs(kStart + 4 * 60'000);
  ASSERT_EQ(*sched_->Tick(), 3u);
  EXPECT_EQ(sink_.published,
            (std::vector<std::string>{"cb0#1", "cb1#1", "cb2#1", "cb3#1", "cb4#1"}));
  ASSERT_TRUE(sched_->RecordOutcome("cb0", 1, pb::ATTEMPT_OUTCOME_ANSWERED, "a1", "").ok());
  Restart();
  EXPECT_EQ(sched_->core().Get("cb0")->state(), pb::FOLLOW_UP_STATE_DONE);
  EXPECT_EQ(sched_->core().Stats().firing, 4u);
}

TEST_F(DurableSchedulerTest, OutboxPublishesADecidedContactOnceAfterACrash) {
  Restart();
  ASSERT_TRUE(sched_->Submit(Callback("a", kStart)).ok());
  ASSERT_TRUE(sched_->Submit(Callback("b", kStart)).ok());
  // The state (attempt 1 fired) commits, then the sink fails: like a crash before publishing.
  sink_.fail = true;
  EXPECT_FALSE(sched_->Tick().ok());
  EXPECT_TRUE(sink_.published.empty());
  sink_.fail = false;
  Restart();
  EXPECT_EQ(sink_.published, (std::vector<std::string>{"a#1", "b#1"}));
  // Published but the outbox entry still there (crash after publish): not sent again.
  Restart();
  EXPECT_EQ(sink_.published.size(), 2u);
  std::vector<std::string> outbox;
  ASSERT_TRUE(store_->ForEachOutbox([&](pb::Contact&& c) { outbox.push_back(c.id()); }).ok());
  EXPECT_TRUE(outbox.empty());
}

// Personal data leaves the store too: an erased customer's tasks (open ones with their due
// entries) and ended tasks past the retention are gone after a restart.
TEST_F(DurableSchedulerTest, ErasedAndExpiredTasksLeaveTheStore) {
  Restart();
  ASSERT_TRUE(sched_->Submit(Callback("open", kStart + 3'600'000)).ok());
  ASSERT_TRUE(sched_->Submit(Callback("ended", kStart)).ok());
  ASSERT_TRUE(sched_->Submit(Callback("kept", kStart + 3'600'000)).ok());
  ASSERT_TRUE(sched_->Cancel("ended", "customer called back").ok());
  Result<std::vector<std::string>> erased = sched_->Erase("c-open");
  ASSERT_TRUE(erased.ok()) << erased.status().ToString();
  EXPECT_EQ(*erased, std::vector<std::string>{"open"});
  Restart();
  std::vector<std::string> due;
  ASSERT_TRUE(store_
                  ->ForEachDue(INT64_MAX,
                               [&](int64_t, std::string_view id) {
                                 due.emplace_back(id);
                                 return true;
                               })
                  .ok());
  EXPECT_EQ(due, std::vector<std::string>{"kept"});     // the erased task's entry went with it
  clock_.SetMs(kStart + int64_t{60} * 24 * 3'600'000);  // the default retention: 60 days
  ASSERT_TRUE(sched_->Tick().ok());
  Restart();
  std::vector<std::string> stored;
  ASSERT_TRUE(
      store_->ForEachFollowUp([&](pb::FollowUpTask&& t) { stored.push_back(t.id()); }).ok());
  EXPECT_EQ(stored, std::vector<std::string>{"kept"});  // "kept" ended just now: kept 60 days
}

TEST_F(DurableSchedulerTest, OutageSwitchSurvivesARestart) {
  Restart();
  ASSERT_TRUE(sched_->SetOutage(true).ok());
  ASSERT_TRUE(sched_->Submit(Callback("a", kStart)).ok());
  clock_.AdvanceMs(10'000);
  Restart();
  EXPECT_TRUE(sched_->core().outage());
  EXPECT_EQ(*sched_->Tick(), 0u);
  ASSERT_TRUE(sched_->SetOutage(false).ok());
  clock_.AdvanceMs(1'000);
  EXPECT_EQ(*sched_->Tick(), 1u);
  Restart();
  EXPECT_FALSE(sched_->core().outage());
}

TEST_F(DurableSchedulerTest, CorruptTaskRecordStopsTheRestoreNamingTheDir) {
  Restart();
  ASSERT_TRUE(sched_->Submit(Callback("a", kStart)).ok());
  store::Batch b = store_->NewBatch();
  pb::FollowUpTask broken;
  broken.set_id("bad#id");  // not a valid task id: the restore refuses it
  broken.set_state(pb::FOLLOW_UP_STATE_PENDING);
  b.PutFollowUp(broken, std::nullopt, 1);
  ASSERT_TRUE(store_->Commit(std::move(b)).ok());
  sched_.reset();
  Result<std::unique_ptr<DurableScheduler>> d =
      DurableScheduler::Open(store_.get(), DefaultSettings(), &clock_, &sink_);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find(dir_), std::string::npos) << d.status().message();
}

}  // namespace
}  // namespace sb::followup
