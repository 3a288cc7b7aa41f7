// The gateway's contact view: decisions move a contact through its states, repeats change
// nothing, ended contacts are forgotten after the ttl, the size stays bounded, watchers wake.
#include "router/gateway/contact_book.h"

#include <gtest/gtest.h>

#include <limits>
#include <thread>

#include "router/gateway/live_stats.h"

namespace sb::gateway {
namespace {

pb::Contact NewContact(const std::string& id) {
  pb::Contact c;
  c.set_id(id);
  c.set_queue("q1");
  return c;
}

pb::Decision Decide(pb::DecisionType type, const std::string& id, const std::string& agent,
                    uint32_t attempt, int64_t at) {
  pb::Decision d;
  d.set_type(type);
  d.set_contact_id(id);
  d.set_agent_id(agent);
  d.set_attempt(attempt);
  d.set_queue("q1");
  d.set_at_ms(at);
  return d;
}

TEST(ContactBookTest, LifeOfAContact) {
  ContactBook book;
  EXPECT_FALSE(book.Get("c1"));
  book.OnArrived(NewContact("c1"), 1000);
  EXPECT_EQ(book.Get("c1")->state(), pb::CONTACT_STATE_WAITING);
  book.OnDecision(Decide(pb::DECISION_OFFER, "c1", "a1", 1, 1100));
  EXPECT_EQ(book.Get("c1")->state(), pb::CONTACT_STATE_OFFERED);
  EXPECT_EQ(book.Get("c1")->agent_id(), "a1");
  book.OnDecision(Decide(pb::DECISION_REQUEUE, "c1", "a1", 1, 1200));
  EXPECT_EQ(book.Get("c1")->state(), pb::CONTACT_STATE_WAITING);
  EXPECT_EQ(book.Get("c1")->agent_id(), "");
  book.OnDecision(Decide(pb::DECISION_OFFER, "c1", "a2", 2, 1300));
  book.OnDecision(Decide(pb::DECISION_CONNECTED, "c1", "a2", 2, 1400));
  auto s = book.Get("c1");
  EXPECT_EQ(s->state(), pb::CONTACT_STATE_CONNECTED);
  EXPECT_EQ(s->owner_agent_id(), "a2");
  EXPECT_EQ(s->attempt(), 2u);
  // Cancel and abandon do not apply to a connected contact (the engine refuses them too).
  book.OnCancelled("c1", 1450);
  book.OnAbandoned("c1", 1460);
  EXPECT_EQ(book.Get("c1")->state(), pb::CONTACT_STATE_CONNECTED);
  book.OnEnded("c1", 1500);
  EXPECT_EQ(book.Get("c1")->state(), pb::CONTACT_STATE_COMPLETED);
  // Final: a late decision changes nothing.
  book.OnDecision(Decide(pb::DECISION_OFFER, "c1", "a3", 3, 1600));
  EXPECT_EQ(book.Get("c1")->state(), pb::CONTACT_STATE_COMPLETED);
}

// A transfer puts the contact back to waiting in the decision's queue; the owner stays the first
// agent (also when the book missed the first connection); a refusal changes nothing.
TEST(ContactBookTest, TransferKeepsTheOwner) {
  ContactBook book;
  book.OnArrived(NewContact("c1"), 1000);
  book.OnDecision(Decide(pb::DECISION_CONNECTED, "c1", "a1", 1, 1100));
  pb::Decision refused = Decide(pb::DECISION_REFUSED, "c1", "a9", 0, 1150);
  book.OnDecision(refused);
  book.OnDecision(Decide(pb::DECISION_REFUSED, "c-unknown", "a9", 0, 1150));
  EXPECT_FALSE(book.Get("c-unknown"));
  EXPECT_EQ(book.Get("c1")->state(), pb::CONTACT_STATE_CONNECTED);
  pb::Decision moved = Decide(pb::DECISION_TRANSFERRED, "c1", "a1", 1, 1200);
  moved.set_queue("q2");
  moved.set_owner_agent_id("a1");
  book.OnDecision(moved);
  auto s = book.Get("c1");
  EXPECT_EQ(s->state(), pb::CONTACT_STATE_WAITING);
  EXPECT_EQ(s->queue(), "q2");
  EXPECT_EQ(s->agent_id(), "");
  EXPECT_EQ(s->last_decision(), pb::DECISION_TRANSFERRED);
  pb::Decision next = Decide(pb::DECISION_CONNECTED, "c1", "a2", 2, 1300);
  next.set_owner_agent_id("a1");
  book.OnDecision(next);
  EXPECT_EQ(book.Get("c1")->agent_id(), "a2");
  EXPECT_EQ(book.Get("c1")->owner_agent_id(), "a1");

  ContactBook late;  // learned of the contact only after its transfer
  late.OnArrived(NewContact("c1"), 1000);
  late.OnDecision(next);
  EXPECT_EQ(late.Get("c1")->owner_agent_id(), "a1");
}

TEST(ContactBookTest, RepeatedDecisionIsNotAChange) {
  ContactBook book;
  book.OnArrived(NewContact("c1"), 1000);
  book.OnDecision(Decide(pb::DECISION_OFFER, "c1", "a1", 1, 1100));
  auto before = book.WaitChange("c1", 0, 0);
  ASSERT_TRUE(before);
  book.OnDecision(Decide(pb::DECISION_OFFER, "c1", "a1", 1, 1100));
  EXPECT_FALSE(book.WaitChange("c1", before->version, 0));
  // A second arrival of a known id is ignored too.
  book.OnArrived(NewContact("c1"), 2000);
  EXPECT_EQ(book.Get("c1")->state(), pb::CONTACT_STATE_OFFERED);
}

// Who submitted a contact is known from its arrival only: a contact known from a decision read
// first (sb.assignments before sb.contacts) is no integrator's until its arrival is read, and then
// only its submitter's.
TEST(ContactBookTest, AContactIsReachableByItsSubmitterOnlyOnceItsArrivalIsRead) {
  ContactBook book;
  book.OnDecision(Decide(pb::DECISION_OFFER, "c1", "a1", 1, 1100));
  ASSERT_TRUE(book.Get("c1"));
  EXPECT_FALSE(book.SubmittedBy("c1", "integrator/other"));
  EXPECT_FALSE(book.SubmittedBy("c1", "integrator/crm"));
  pb::Contact arrived = NewContact("c1");
  (*arrived.mutable_attributes())[kSubmittedByAttribute] = "integrator/crm";
  book.OnArrived(arrived, 1000);
  EXPECT_TRUE(book.SubmittedBy("c1", "integrator/crm"));
  EXPECT_FALSE(book.SubmittedBy("c1", "integrator/other"));
  EXPECT_EQ(book.Get("c1")->state(), pb::CONTACT_STATE_OFFERED);  // the arrival changes no state
  // A later arrival record with another submitter (a crafted one) changes nothing.
  (*arrived.mutable_attributes())[kSubmittedByAttribute] = "integrator/other";
  book.OnArrived(arrived, 1200);
  EXPECT_FALSE(book.SubmittedBy("c1", "integrator/other"));
}

TEST(ContactBookTest, WithdrawAndExpireEndTheContact) {
  ContactBook book;
  book.OnArrived(NewContact("c1"), 1000);
  book.OnDecision(Decide(pb::DECISION_OFFER, "c1", "a1", 1, 1100));
  auto w = Decide(pb::DECISION_WITHDRAW, "c1", "a1", 1, 1200);
  w.set_reason(pb::REASON_OFFER_ABANDONED);
  book.OnDecision(w);
  EXPECT_EQ(book.Get("c1")->state(), pb::CONTACT_STATE_ABANDONED);
  book.OnArrived(NewContact("c2"), 1000);
  book.OnDecision(Decide(pb::DECISION_EXPIRE, "c2", "", 0, 1300));
  EXPECT_EQ(book.Get("c2")->state(), pb::CONTACT_STATE_EXPIRED);
  book.OnArrived(NewContact("c3"), 1000);
  book.OnCancelled("c3", 1400);
  EXPECT_EQ(book.Get("c3")->state(), pb::CONTACT_STATE_CANCELLED);
  // A waiting contact whose customer left: the router's withdraw names no agent.
  book.OnArrived(NewContact("c4"), 1000);
  auto left = Decide(pb::DECISION_WITHDRAW, "c4", "", 0, 1500);
  left.set_reason(pb::REASON_CUSTOMER_LEFT);
  book.OnDecision(left);
  EXPECT_EQ(book.Get("c4")->state(), pb::CONTACT_STATE_ABANDONED);
}

TEST(ContactBookTest, EndedContactsAreForgottenAfterTheTtl) {
  ContactBook book({.max_contacts = 100, .ended_ttl_ms = 1000});
  book.OnArrived(NewContact("ended"), 1000);
  book.OnAbandoned("ended", 1000);
  book.OnArrived(NewContact("live"), 1000);
  book.Prune(1999);
  EXPECT_TRUE(book.Get("ended"));
  book.Prune(2000);
  EXPECT_FALSE(book.Get("ended"));
  EXPECT_TRUE(book.Get("live"));
}

TEST(ContactBookTest, SizeIsCapped) {
  ContactBook book({.max_contacts = 10, .ended_ttl_ms = 1000});
  for (int i = 0; i < 100; ++i) book.OnArrived(NewContact("c" + std::to_string(i)), 1000 + i);
  EXPECT_EQ(book.size(), 10u);
  EXPECT_TRUE(book.Get("c99"));
  EXPECT_FALSE(book.Get("c0"));
}

// Found by gateway_records_fuzz: a decision of a type the book does not follow (unset, or a
// newer build's) made an entry in no state, which ContactService.Get answered and the size
// bound did not count (it was never in the eviction order).
TEST(ContactBookTest, DecisionsOfOtherTypesMakeNoEntry) {
  ContactBook book({.max_contacts = 2, .ended_ttl_ms = 1000});
  for (int i = 0; i < 5; ++i) {
    book.OnDecision(Decide(pb::DECISION_TYPE_UNSPECIFIED, "c" + std::to_string(i), "a1", 1, 10));
    book.OnDecision(
        Decide(static_cast<pb::DecisionType>(99), "d" + std::to_string(i), "a1", 1, 10));
  }
  EXPECT_EQ(book.size(), 0u);
  EXPECT_FALSE(book.Get("c0"));
  book.OnArrived(NewContact("c1"), 1000);
  book.OnDecision(Decide(pb::DECISION_TYPE_UNSPECIFIED, "c1", "a1", 1, 1100));
  auto s = book.Get("c1");
  EXPECT_EQ(s->state(), pb::CONTACT_STATE_WAITING);
  EXPECT_EQ(s->updated_at_ms(), 1000);
}

// Found by gateway_records_fuzz: an end time near the int64 limit (any producer can write one)
// overflowed when the ttl was added to it.
TEST(ContactBookTest, PruneTakesAnyEndTime) {
  ContactBook book({.max_contacts = 10, .ended_ttl_ms = 1000});
  book.OnDecision(Decide(pb::DECISION_EXPIRE, "early", "", 1, std::numeric_limits<int64_t>::min()));
  book.OnDecision(Decide(pb::DECISION_EXPIRE, "late", "", 1, std::numeric_limits<int64_t>::max()));
  book.Prune(2000);
  EXPECT_FALSE(book.Get("early"));
  EXPECT_TRUE(book.Get("late"));
}

// A crafted end time far in the future (sb.assignments is writable by any producer) used to hold
// the ttl back for every contact that ended after it: the book then kept ended contacts until
// the size cap, and their queue of end times grew without bound.
TEST(ContactBookTest, AFutureEndTimeHoldsNoOtherContactBack) {
  ContactBook book({.max_contacts = 1000, .ended_ttl_ms = 1000});
  book.OnDecision(Decide(pb::DECISION_EXPIRE, "crafted", "", 1, int64_t{1} << 60));
  for (int i = 0; i < 50; ++i) {
    const std::string id = "c" + std::to_string(i);
    book.OnArrived(NewContact(id), 1000);
    book.OnAbandoned(id, 1000 + i);
  }
  book.Prune(2049);
  EXPECT_EQ(book.size(), 1u);
  EXPECT_TRUE(book.Get("crafted"));  // it waits for its time, or for the size cap
}

TEST(ContactBookTest, WatcherWakesOnChange) {
  ContactBook book;
  book.OnArrived(NewContact("c1"), 1000);
  auto first = book.WaitChange("c1", 0, 0);
  ASSERT_TRUE(first);
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    book.OnDecision(Decide(pb::DECISION_OFFER, "c1", "a1", 1, 1100));
  });
  auto next = book.WaitChange("c1", first->version, 5000);
  writer.join();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->status.state(), pb::CONTACT_STATE_OFFERED);
  ASSERT_TRUE(next->decision);
  EXPECT_EQ(next->decision->agent_id(), "a1");
}

TEST(LiveStatsTest, EstimatesComeFromFreshSnapshotsOfTheHighestEpoch) {
  ManualClock clock(100'000);
  LiveStats e(&clock);
  EXPECT_EQ(e.EstimatedWaitS("q1"), -1);
  pb::ShardLive live;
  live.set_shard(0);
  live.set_epoch(2);
  live.set_at_ms(100'000);
  auto* q = live.add_queues();
  q->set_queue("q1");
  q->set_estimated_wait_s(42);
  e.Apply("live/0", live.SerializeAsString(), {0, 1});
  EXPECT_EQ(e.EstimatedWaitS("q1"), 42);
  live.set_epoch(1);  // a zombie's late snapshot
  live.mutable_queues(0)->set_estimated_wait_s(7);
  e.Apply("live/0", live.SerializeAsString(), {0, 2});
  EXPECT_EQ(e.EstimatedWaitS("q1"), 42);
  ASSERT_EQ(e.FreshShards().size(), 1u);
  EXPECT_EQ(e.FreshShards()[0].epoch(), 2);
  clock.SetMs(100'000 + stats::StatsView::kDefaultStaleMs + 1);  // the shard went quiet
  EXPECT_EQ(e.EstimatedWaitS("q1"), -1);
  EXPECT_TRUE(e.FreshShards().empty());
}

}  // namespace
}  // namespace sb::gateway
