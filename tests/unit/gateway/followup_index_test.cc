// FollowUpIndex: the gateway's view of sb.followups. Filters, paging in task id order, the epoch
// rule (a stale owner never overwrites), tombstones, loading, and waiting for a task.
#include "router/gateway/followup_index.h"

#include <gtest/gtest.h>

#include <thread>

namespace sb::gateway {
namespace {

std::string Record(const std::string& id, const std::string& customer, const std::string& owner,
                   pb::FollowUpState state, uint64_t epoch, int32_t shard = 1) {
  pb::FollowUpTaskRecord r;
  r.set_shard(shard);
  r.set_epoch(epoch);
  r.mutable_task()->set_id(id);
  r.mutable_task()->mutable_request()->set_request_id(id);
  r.mutable_task()->mutable_request()->set_customer_id(customer);
  r.mutable_task()->mutable_request()->set_owner(owner);
  r.mutable_task()->set_state(state);
  return r.SerializeAsString();
}

FollowUpFilter Filter(std::string customer, std::string owner, pb::FollowUpState state) {
  FollowUpFilter f;
  f.customer_id = std::move(customer);
  f.owner = std::move(owner);
  f.state = state;
  return f;
}

std::vector<std::string> Ids(const FollowUpPage& page) {
  std::vector<std::string> out;
  for (const auto& t : page.tasks) out.push_back(t.id());
  return out;
}

using Applied = FollowUpIndex::Applied;

class FollowUpIndexTest : public ::testing::Test {
 protected:
  // Records on partition 1 at increasing offsets.
  Applied Put(const std::string& id, const std::string& customer, const std::string& owner,
              pb::FollowUpState state, uint64_t epoch = 1) {
    return index_.Apply(id, Record(id, customer, owner, state, epoch), epoch, 1, offset_++);
  }
  FollowUpIndex index_;
  int64_t offset_ = 0;
};

TEST_F(FollowUpIndexTest, FiltersCombineAndFollowStateChanges) {
  Put("t1", "c1", "a1", pb::FOLLOW_UP_STATE_PENDING);
  Put("t2", "c1", "a2", pb::FOLLOW_UP_STATE_FIRING);
  Put("t3", "c2", "a1", pb::FOLLOW_UP_STATE_PENDING);
  EXPECT_EQ(Ids(index_.List(Filter("c1", "", pb::FOLLOW_UP_STATE_UNSPECIFIED), 10, "")),
            (std::vector<std::string>{"t1", "t2"}));
  EXPECT_EQ(Ids(index_.List(Filter("", "a1", pb::FOLLOW_UP_STATE_UNSPECIFIED), 10, "")),
            (std::vector<std::string>{"t1", "t3"}));
  EXPECT_EQ(Ids(index_.List(Filter("", "", pb::FOLLOW_UP_STATE_PENDING), 10, "")),
            (std::vector<std::string>{"t1", "t3"}));
  EXPECT_EQ(Ids(index_.List(Filter("c1", "a1", pb::FOLLOW_UP_STATE_UNSPECIFIED), 10, "")),
            (std::vector<std::string>{"t1"}));
  EXPECT_EQ(Ids(index_.List(Filter("c2", "", pb::FOLLOW_UP_STATE_FIRING), 10, "")),
            std::vector<std::string>{});
  EXPECT_TRUE(
      index_.List(Filter("nobody", "", pb::FOLLOW_UP_STATE_UNSPECIFIED), 10, "").tasks.empty());

  // t1 is cancelled: it leaves the PENDING set and joins CANCELLED; its other keys stay.
  Put("t1", "c1", "a1", pb::FOLLOW_UP_STATE_CANCELLED);
  EXPECT_EQ(Ids(index_.List(Filter("", "", pb::FOLLOW_UP_STATE_PENDING), 10, "")),
            (std::vector<std::string>{"t3"}));
  EXPECT_EQ(Ids(index_.List(Filter("", "", pb::FOLLOW_UP_STATE_CANCELLED), 10, "")),
            (std::vector<std::string>{"t1"}));
  EXPECT_EQ(Ids(index_.List(Filter("c1", "", pb::FOLLOW_UP_STATE_UNSPECIFIED), 10, "")),
            (std::vector<std::string>{"t1", "t2"}));
  EXPECT_EQ(index_.size(), 3u);
}

TEST_F(FollowUpIndexTest, PagesAreStableAndEndWithAnEmptyToken) {
  for (int i = 0; i < 7; ++i) {
    Put("t" + std::to_string(i), "c1", "", pb::FOLLOW_UP_STATE_PENDING);
  }
  Put("x", "c2", "", pb::FOLLOW_UP_STATE_PENDING);
  std::vector<std::string> all;
  std::string token;
  int pages = 0;
  do {
    FollowUpPage page = index_.List(Filter("c1", "", pb::FOLLOW_UP_STATE_UNSPECIFIED), 3, token);
    ASSERT_LE(page.tasks.size(), 3u);
    for (const auto& id : Ids(page)) all.push_back(id);
    token = page.next_page_token;
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(all, (std::vector<std::string>{"t0", "t1", "t2", "t3", "t4", "t5", "t6"}));
  // A page that ends exactly at the last match says there is no more.
  FollowUpPage exact = index_.List(Filter("c1", "", pb::FOLLOW_UP_STATE_UNSPECIFIED), 7, "");
  EXPECT_EQ(exact.tasks.size(), 7u);
  EXPECT_TRUE(exact.next_page_token.empty());
  // A task added before the token does not shift later pages.
  FollowUpPage first = index_.List(Filter("c1", "", pb::FOLLOW_UP_STATE_UNSPECIFIED), 3, "");
  Put("t00", "c1", "", pb::FOLLOW_UP_STATE_PENDING);
  EXPECT_EQ(
      Ids(index_.List(Filter("c1", "", pb::FOLLOW_UP_STATE_UNSPECIFIED), 3, first.next_page_token)),
      (std::vector<std::string>{"t3", "t4", "t5"}));
}

TEST_F(FollowUpIndexTest, AStaleOwnerNeverOverwritesANewerOne) {
  EXPECT_EQ(Put("t1", "c1", "", pb::FOLLOW_UP_STATE_PENDING, 2), Applied::kKept);
  // Epoch 1 (a zombie) read later: ignored.
  EXPECT_EQ(Put("t1", "c1", "", pb::FOLLOW_UP_STATE_CANCELLED, 1), Applied::kOlder);
  EXPECT_EQ(index_.Get("t1")->task.state(), pb::FOLLOW_UP_STATE_PENDING);
  EXPECT_EQ(index_.older_ignored(), 1u);
  // Same epoch, later offset: newer.
  EXPECT_EQ(Put("t1", "c1", "", pb::FOLLOW_UP_STATE_FIRING, 2), Applied::kKept);
  // Same epoch, earlier offset of the same partition (a re-read): older.
  EXPECT_EQ(index_.Apply("t1", Record("t1", "c1", "", pb::FOLLOW_UP_STATE_DONE, 2), 2, 1, 0),
            Applied::kOlder);
  EXPECT_EQ(index_.Get("t1")->task.state(), pb::FOLLOW_UP_STATE_FIRING);
  // A newer owner wins, and its shard is where commands go.
  EXPECT_EQ(index_.Apply("t1", Record("t1", "c1", "", pb::FOLLOW_UP_STATE_FIRING, 3, 5), 3, 5, 0),
            Applied::kKept);
  EXPECT_EQ(index_.Get("t1")->shard, 5);
  EXPECT_EQ(index_.Get("t1")->epoch, 3u);
}

TEST_F(FollowUpIndexTest, TombstonesRemoveUnlessOlder) {
  Put("t1", "c1", "a1", pb::FOLLOW_UP_STATE_DONE, 2);
  EXPECT_EQ(index_.Apply("t1", std::nullopt, 1, 1, offset_++), Applied::kOlder);
  EXPECT_TRUE(index_.Get("t1").has_value());
  EXPECT_EQ(index_.Apply("t1", std::nullopt, 2, 1, offset_++), Applied::kDeleted);
  EXPECT_FALSE(index_.Get("t1").has_value());
  EXPECT_TRUE(index_.List(Filter("c1", "", pb::FOLLOW_UP_STATE_UNSPECIFIED), 10, "").tasks.empty());
  EXPECT_TRUE(index_.List(Filter("", "a1", pb::FOLLOW_UP_STATE_UNSPECIFIED), 10, "").tasks.empty());
  EXPECT_TRUE(index_.List(Filter("", "", pb::FOLLOW_UP_STATE_DONE), 10, "").tasks.empty());
  // A stale owner's record after the tombstone stays out; a newer owner's comes back.
  EXPECT_EQ(Put("t1", "c1", "a1", pb::FOLLOW_UP_STATE_PENDING, 1), Applied::kOlder);
  EXPECT_FALSE(index_.Get("t1").has_value());
  EXPECT_EQ(Put("t1", "c1", "a1", pb::FOLLOW_UP_STATE_PENDING, 3), Applied::kKept);
  EXPECT_EQ(index_.size(), 1u);
}

// Bounded memory: ended tasks leave the index a TTL after they ended (a stale owner's record of
// one read later stays out); open tasks stay however old.
TEST(FollowUpIndexBoundTest, EndedTasksAreForgottenAfterTheirTtl) {
  constexpr int64_t kTtl = 1000;
  FollowUpIndex index(kTtl);
  auto record = [](const std::string& id, pb::FollowUpState state, int64_t ended_at_ms) {
    pb::FollowUpTaskRecord r;
    r.set_shard(1);
    r.set_epoch(2);
    r.mutable_task()->set_id(id);
    r.mutable_task()->mutable_request()->set_customer_id("c1");
    r.mutable_task()->set_state(state);
    r.mutable_task()->set_ended_at_ms(ended_at_ms);
    return r.SerializeAsString();
  };
  int64_t offset = 0;
  index.Apply("done", record("done", pb::FOLLOW_UP_STATE_DONE, 5000), 2, 1, offset++);
  index.Apply("open", record("open", pb::FOLLOW_UP_STATE_PENDING, 0), 2, 1, offset++);
  EXPECT_EQ(index.Prune(5999), 0u);
  EXPECT_EQ(index.Prune(6000), 1u);
  EXPECT_FALSE(index.Get("done"));
  EXPECT_TRUE(index.Get("open"));
  EXPECT_EQ(index.List(Filter("c1", "", pb::FOLLOW_UP_STATE_UNSPECIFIED), 10, "").tasks.size(), 1u);
  EXPECT_EQ(index.Apply("done", record("done", pb::FOLLOW_UP_STATE_FIRING, 0), 2, 1, 0),
            Applied::kOlder);
  EXPECT_EQ(index.Prune(1'000'000'000), 0u);
  EXPECT_EQ(index.size(), 1u);
}

TEST_F(FollowUpIndexTest, MalformedRecordsChangeNothing) {
  EXPECT_EQ(index_.Apply("t1", std::string("\xff\xff garbage"), 1, 1, 0), Applied::kMalformed);
  EXPECT_EQ(index_.Apply("t1", Record("t2", "c1", "", pb::FOLLOW_UP_STATE_PENDING, 1), 1, 1, 1),
            Applied::kMalformed);  // value names another task than the key
  EXPECT_EQ(index_.size(), 0u);
  EXPECT_EQ(index_.malformed(), 2u);
}

TEST_F(FollowUpIndexTest, LoadedOnceEveryPartitionIsReadToItsStartEnd) {
  index_.ExpectEnd(0, 0, 0);  // empty: nothing to wait for
  index_.ExpectEnd(1, 0, 2);
  index_.ExpectEnd(2, 5, 6);  // compacted/retained from offset 5
  EXPECT_FALSE(index_.loaded());
  Put("t1", "c1", "", pb::FOLLOW_UP_STATE_PENDING);  // partition 1 @0
  Put("t2", "c1", "", pb::FOLLOW_UP_STATE_PENDING);  // partition 1 @1
  EXPECT_FALSE(index_.loaded());
  index_.Apply("t3", Record("t3", "c1", "", pb::FOLLOW_UP_STATE_PENDING, 1), 1, 2, 5);
  EXPECT_TRUE(index_.loaded());
}

TEST_F(FollowUpIndexTest, WaitForReturnsWhenTheTaskArrivesOrTimesOut) {
  const auto known = [](const IndexedTask* t) { return t != nullptr; };
  EXPECT_FALSE(index_.WaitFor("t1", known, std::chrono::milliseconds(20)).has_value());
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    Put("t1", "c1", "", pb::FOLLOW_UP_STATE_PENDING);
  });
  auto t = index_.WaitFor("t1", known, std::chrono::seconds(10));
  writer.join();
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->task.id(), "t1");
}

TEST(FollowUpPageTokenTest, OnlyTaskIdsAreTokens) {
  EXPECT_TRUE(ValidFollowUpPageToken("cb-1/return-visit"));
  EXPECT_FALSE(ValidFollowUpPageToken(""));
  EXPECT_FALSE(ValidFollowUpPageToken("a b"));
  EXPECT_FALSE(ValidFollowUpPageToken(std::string(129, 'a')));
}

}  // namespace
}  // namespace sb::gateway
