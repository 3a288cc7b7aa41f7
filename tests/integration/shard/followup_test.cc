// Follow-up tasks driven by router shards against a real Kafka-protocol broker (librdkafka's mock
// cluster): a callback submitted through sb.contacts fires as a contact offered by the shard, its
// attempts' outcomes come from the agent's wrap-up, the task survives a failover (restored from
// the changelog) and a restart (checkpoint + tail), and its escalation is forwarded to the shard
// of the team-lead queue's domain, where a re-published copy is not routed twice.
#include <gtest/gtest.h>

#include "fixtures.h"
#include "router/followup/settings.h"
#include "router/shard/followups.h"

namespace sb::shard {
namespace {

constexpr int32_t kPartitions = 4;
// 2023-11-15 09:00 in Asia/Shanghai (the default zone): inside the callback windows.
constexpr int64_t kMorningMs = 1'700'010'000'000;
constexpr int64_t kMinuteMs = 60'000;

// The first domain name after "d00" that lands on another partition.
std::string OtherDomain() {
  for (int i = 1;; ++i) {
    std::string d = "d0" + std::to_string(i);
    if (kafka::PartitionFor(d, kPartitions) != kafka::PartitionFor("d00", kPartitions)) return d;
  }
}

std::string TwoDomainConfig(const std::string& other) {
  return R"(
skills: [{name: general}]
domains: [{name: d00}, {name: )" +
         other + R"(}]
queues:
  - {name: callbacks, domain: d00, strategy: LONGEST_IDLE,
     required_skills: [{skill: general, min_proficiency: 1}], offer_timeout_s: 600,
     acw_limit_s: 300}
  - {name: complaints, domain: d00, strategy: LONGEST_IDLE,
     required_skills: [{skill: general, min_proficiency: 1}], offer_timeout_s: 600}
  - {name: return-visits, domain: d00, strategy: LONGEST_IDLE,
     required_skills: [{skill: general, min_proficiency: 1}], offer_timeout_s: 600}
  - {name: team-lead, domain: )" +
         other + R"(, strategy: LONGEST_IDLE,
     required_skills: [{skill: general, min_proficiency: 1}], offer_timeout_s: 600}
  - {name: management, domain: )" +
         other + R"(, strategy: LONGEST_IDLE,
     required_skills: [{skill: general, min_proficiency: 1}], offer_timeout_s: 600}
)";
}

pb::RoutingEvent Callback(const std::string& id) {
  pb::RoutingEvent ev;
  pb::FollowUpRequest* r = ev.mutable_follow_up()->mutable_submit();
  r->set_request_id(id);
  r->set_kind(pb::FOLLOW_UP_KIND_CALLBACK);
  r->set_customer_id("cust-1");
  r->set_customer_phone("+8613800000000");
  r->set_customer_surname("Li");
  return ev;
}

pb::RoutingEvent Accept(const std::string& contact) {
  pb::RoutingEvent ev;
  ev.mutable_offer_accepted()->set_agent_id("ag1");
  ev.mutable_offer_accepted()->set_contact_id(contact);
  return ev;
}

pb::RoutingEvent End(const std::string& contact) {
  pb::RoutingEvent ev;
  ev.mutable_contact_ended()->set_contact_id(contact);
  return ev;
}

pb::RoutingEvent WrapUp(const std::string& contact, const std::string& disposition) {
  pb::RoutingEvent ev;
  ev.mutable_wrap_up_done()->set_agent_id("ag1");
  ev.mutable_wrap_up_done()->set_contact_id(contact);
  ev.mutable_wrap_up_done()->set_disposition(disposition);
  return ev;
}

class FollowUpShardTest : public ShardFixture {
 protected:
  FollowUpShardTest() : ShardFixture(kPartitions, kMorningMs) {}

  void SetUp() override {
    other_ = OtherDomain();
    SetUpConfig(TwoDomainConfig(other_));
    auto config = followup::ParseConfig("{}");
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    auto settings = followup::Settings::Resolve(*config);
    ASSERT_TRUE(settings.ok()) << settings.status().ToString();
    settings_ = std::move(*settings);
    ASSERT_TRUE(CheckFollowUpQueues(settings_, config_).ok());
    home_ = kafka::PartitionFor("d00", kPartitions);
    away_ = kafka::PartitionFor(other_, kPartitions);
  }

  // Feeds one input record to `o` and settles it (the offsets count per topic).
  void Feed(Owner& o, std::string_view topic, const pb::RoutingEvent& ev) {
    int64_t& next = topic == kafka::kContactsTopic ? contacts_next_ : agent_events_next_;
    ASSERT_TRUE(o.shard->OnInput(Input(topic, home_, next++, ev)).ok());
    Settle(o);
    ASSERT_TRUE(o.shard->failure().ok()) << o.shard->failure().ToString();
  }

  // Ticks `o` (timers) and settles it.
  void Tick(Owner& o) {
    o.shard->Tick();
    Settle(o);
    ASSERT_TRUE(o.shard->failure().ok()) << o.shard->failure().ToString();
  }

  int Offers(const std::string& contact) {
    int n = 0;
    for (const kafka::Record& r : kafka_.ReadPartition(kafka::kAssignmentsTopic, home_)) {
      pb::ShardOutput out;
      EXPECT_TRUE(out.ParseFromString(*r.value));
      n += out.decision().type() == pb::DECISION_OFFER && out.decision().contact_id() == contact;
    }
    return n;
  }

  static const pb::FollowUpTask& Task(const Owner& o, const std::string& id) {
    static const pb::FollowUpTask kNone;
    const pb::FollowUpTask* t = o.shard->followups()->core().Get(id);
    return t != nullptr ? *t : kNone;
  }

  // The attempt is offered to ag1, who takes it, ends it and wraps up with `disposition`.
  void Handle(Owner& o, const std::string& contact, const std::string& disposition) {
    EXPECT_GE(Offers(contact), 1) << contact << " was never offered";
    Feed(o, kafka::kAgentEventsTopic, Accept(contact));
    Feed(o, kafka::kAgentEventsTopic, End(contact));
    Feed(o, kafka::kAgentEventsTopic, WrapUp(contact, disposition));
  }

  followup::Settings settings_;
  std::string other_;
  int32_t home_ = 0, away_ = 0;
  int64_t contacts_next_ = 0, agent_events_next_ = 0;
};

TEST_F(FollowUpShardTest, CallbackFiresSurvivesFailoverAndRestartAndEscalatesAcrossShards) {
  Owner a = MakeOwner("n1", home_, &settings_);
  ASSERT_TRUE(a.shard->Claim().ok());
  Feed(a, kafka::kAgentEventsTopic, Login("ag1"));
  Feed(a, kafka::kContactsTopic, Callback("cb-1"));
  Feed(a, kafka::kContactsTopic, Callback("cb-1"));  // a repeat changes nothing
  Tick(a);
  EXPECT_EQ(Task(a, "cb-1").state(), pb::FOLLOW_UP_STATE_FIRING);
  EXPECT_EQ(Offers("cb-1#1"), 1);

  // Failover: another node takes the shard over from the changelog alone.
  Owner b = MakeOwner("n2", home_, &settings_);
  ASSERT_TRUE(b.shard->Claim().ok());
  ASSERT_NE(b.shard->followups(), nullptr);
  EXPECT_EQ(Task(b, "cb-1").state(), pb::FOLLOW_UP_STATE_FIRING);
  ASSERT_EQ(Task(b, "cb-1").attempts_size(), 1);
  Handle(b, "cb-1#1", "no_answer");
  EXPECT_EQ(Task(b, "cb-1").state(), pb::FOLLOW_UP_STATE_PENDING);
  EXPECT_EQ(Task(b, "cb-1").attempts(0).outcome(), pb::ATTEMPT_OUTCOME_NO_ANSWER);
  ASSERT_TRUE(b.shard->Checkpoint().ok());

  // Retry after the backoff (15 min), recorded only in the changelog tail.
  clock_.AdvanceMs(16 * kMinuteMs);
  Tick(b);
  EXPECT_EQ(Task(b, "cb-1").attempts_size(), 2);
  EXPECT_EQ(Offers("cb-1#2"), 1);
  b.producer.reset();  // n2 stops (the producer first: its last deliveries reach the shard)
  b.shard.reset();

  // n2 restarts: checkpoint + tail.
  Owner c = MakeOwner("n2", home_, &settings_);
  ASSERT_TRUE(c.shard->Claim().ok());
  EXPECT_EQ(Task(c, "cb-1").state(), pb::FOLLOW_UP_STATE_FIRING);
  ASSERT_EQ(Task(c, "cb-1").attempts_size(), 2);
  Handle(c, "cb-1#2", "BUSY");
  clock_.AdvanceMs(31 * kMinuteMs);
  Tick(c);
  ASSERT_EQ(Task(c, "cb-1").attempts_size(), 3);
  Handle(c, "cb-1#3", "no-answer");
  EXPECT_EQ(Task(c, "cb-1").state(), pb::FOLLOW_UP_STATE_ESCALATED);

  // The escalation went to the team-lead queue's shard, through sb.contacts.
  const std::vector<kafka::Record> forwarded = kafka_.ReadPartition(kafka::kContactsTopic, away_);
  ASSERT_GE(forwarded.size(), 1u);
  pb::RoutingEvent escalation;
  ASSERT_TRUE(escalation.ParseFromString(*forwarded[0].value));
  EXPECT_EQ(escalation.contact_arrived().contact().id(), "cb-1#escalation");
  EXPECT_EQ(escalation.contact_arrived().contact().queue(), "team-lead");

  // That shard routes it once, even when a new owner of the sender re-published it.
  Owner lead = MakeOwner("n3", away_, &settings_);
  ASSERT_TRUE(lead.shard->Claim().ok());
  ASSERT_TRUE(lead.shard->OnInput(Input(kafka::kContactsTopic, away_, 0, escalation)).ok());
  ASSERT_TRUE(lead.shard->OnInput(Input(kafka::kContactsTopic, away_, 1, escalation)).ok());
  Settle(lead);
  EXPECT_EQ(lead.shard->Summarize().waiting, 1u);
  EXPECT_EQ(lead.shard->stats().duplicate_forwards, 1u);
  // ... also after its own failover.
  Owner lead2 = MakeOwner("n4", away_, &settings_);
  ASSERT_TRUE(lead2.shard->Claim().ok());
  ASSERT_TRUE(lead2.shard->OnInput(Input(kafka::kContactsTopic, away_, 2, escalation)).ok());
  Settle(lead2);
  EXPECT_EQ(lead2.shard->stats().duplicate_forwards, 1u);
  EXPECT_EQ(lead2.shard->Summarize().waiting, 1u);
}

// A record no shard wrote (a crafted one, or one from a misconfigured producer) must not stop a
// shard: a contact claiming to be forwarded from a partition the cluster lacks, whose outcome
// would be forwarded there, is dropped; an answer the engine would send to such a partition (an
// identity reserve naming it) is not produced. Before, the produce failed, the node exited and
// every next owner replayed the same forward: a crash loop across the cluster.
TEST_F(FollowUpShardTest, RecordsNamingAPartitionTheClusterLacksDoNotStopTheShard) {
  reserve_identities_ = true;
  Owner lead = MakeOwner("n3", away_, &settings_);
  ASSERT_TRUE(lead.shard->Claim().ok());
  int64_t offset = 0;
  for (const std::string& from :
       std::vector<std::string>{"999", "-1", "x", std::to_string(away_)}) {
    pb::RoutingEvent crafted;
    pb::Contact* c = crafted.mutable_contact_arrived()->mutable_contact();
    c->set_id("cb-9#" + from);
    c->set_queue("team-lead");
    c->set_channel(pb::CHANNEL_CALLBACK);
    (*c->mutable_attributes())[kForwardedFromAttribute] = from;
    (*c->mutable_attributes())["followup_task"] = "cb-9";
    (*c->mutable_attributes())["attempt"] = "1";
    ASSERT_TRUE(lead.shard->OnInput(Input(kafka::kContactsTopic, away_, offset++, crafted)).ok());
    pb::RoutingEvent cancel;
    cancel.mutable_contact_cancelled()->set_contact_id(c->id());
    ASSERT_TRUE(lead.shard->OnInput(Input(kafka::kContactsTopic, away_, offset++, cancel)).ok());
    Settle(lead);
    ASSERT_TRUE(lead.shard->failure().ok()) << from << ": " << lead.shard->failure().ToString();
  }
  EXPECT_EQ(lead.shard->Summarize().waiting, 0u);
  std::string agent = "a0";  // homed on this shard
  for (int i = 1; kafka::PartitionFor(agent, kPartitions) != away_; ++i) {
    agent = "a" + std::to_string(i);
  }
  pb::RoutingEvent reserve;
  reserve.mutable_identity_reserve()->set_agent_id(agent);
  reserve.mutable_identity_reserve()->set_reservation(1);
  reserve.mutable_identity_reserve()->set_from_partition(999);
  ASSERT_TRUE(lead.shard->OnInput(Input(kafka::kContactsTopic, away_, offset++, reserve)).ok());
  Settle(lead);
  ASSERT_TRUE(lead.shard->failure().ok()) << lead.shard->failure().ToString();
  EXPECT_EQ(lead.shard->stats().dropped_forwards, 1u);
  // Kept for an operator: the crafted contacts, and the answer that could not be sent.
  const std::vector<pb::DeadLetter> letters = DeadLetters(away_);
  EXPECT_EQ(letters.size(), lead.shard->stats().dead_letters);
  int crafted = 0, unsent = 0;
  for (const pb::DeadLetter& l : letters) {
    EXPECT_FALSE(l.reason().empty());
    crafted +=
        l.source_offset() >= 0 && l.reason().find(kForwardedFromAttribute) != std::string::npos;
    unsent += l.source_offset() == -1 && l.source_partition() == 999 && !l.value().empty();
  }
  EXPECT_EQ(crafted, 4);  // "999", "-1", "x" and its own partition: none another shard
  EXPECT_EQ(unsent, 1);
  // The next owner restores the same state and runs.
  Owner next = MakeOwner("n4", away_, &settings_);
  ASSERT_TRUE(next.shard->Claim().ok()) << next.shard->failure().ToString();
  Settle(next);
  EXPECT_TRUE(next.shard->failure().ok()) << next.shard->failure().ToString();
}

// sb.followups, the tasks' read model: every committed change of a task is published, keyed by
// task id in the shard's partition and stamped with the owner's epoch; a new owner publishes every
// task again after its claim (the old one may have died between a commit and its publish).
TEST_F(FollowUpShardTest, TaskChangesReachTheReadModelWithTheOwnersEpoch) {
  // The records of task `id` in the shard's partition of sb.followups, in order.
  auto records = [&](const std::string& id) {
    std::vector<pb::FollowUpTaskRecord> out;
    for (const kafka::Record& r : kafka_.ReadPartition(kafka::kFollowUpsTopic, home_)) {
      if (r.key != id) continue;
      pb::FollowUpTaskRecord rec;
      EXPECT_TRUE(r.value && rec.ParseFromString(*r.value));
      EXPECT_EQ(kafka::RecordEpoch(r).value_or(0), rec.epoch());
      out.push_back(rec);
    }
    return out;
  };
  Owner a = MakeOwner("n1", home_, &settings_);
  ASSERT_TRUE(a.shard->Claim().ok());
  Feed(a, kafka::kAgentEventsTopic, Login("ag1"));
  Feed(a, kafka::kContactsTopic, Callback("cb-7"));
  auto recs = records("cb-7");
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].shard(), home_);
  EXPECT_EQ(recs[0].epoch(), a.shard->epoch());
  EXPECT_EQ(recs[0].task().state(), pb::FOLLOW_UP_STATE_PENDING);
  EXPECT_EQ(recs[0].task().request().customer_id(), "cust-1");

  Tick(a);  // fires
  recs = records("cb-7");
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[1].task().state(), pb::FOLLOW_UP_STATE_FIRING);
  ASSERT_EQ(recs[1].task().attempts_size(), 1);
  EXPECT_EQ(a.shard->stats().followup_records, 2u);

  // A cancel ends it; the ended task stays in the read model.
  pb::RoutingEvent cancel;
  cancel.mutable_follow_up()->mutable_cancel()->set_task_id("cb-7");
  cancel.mutable_follow_up()->mutable_cancel()->set_reason("customer called back");
  Feed(a, kafka::kContactsTopic, cancel);
  recs = records("cb-7");
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs[2].task().state(), pb::FOLLOW_UP_STATE_CANCELLED);

  // Failover: the new owner publishes every task once, with its higher epoch.
  Feed(a, kafka::kContactsTopic, Callback("cb-8"));
  Owner b = MakeOwner("n2", home_, &settings_);
  ASSERT_TRUE(b.shard->Claim().ok());
  ASSERT_TRUE(b.producer->Flush(10000).ok());
  ASSERT_GT(b.shard->epoch(), a.shard->epoch());
  for (const std::string id : {"cb-7", "cb-8"}) {
    recs = records(id);
    ASSERT_FALSE(recs.empty()) << id;
    EXPECT_EQ(recs.back().epoch(), b.shard->epoch()) << id;
    EXPECT_EQ(recs.back().task().state(),
              id == "cb-7" ? pb::FOLLOW_UP_STATE_CANCELLED : pb::FOLLOW_UP_STATE_PENDING);
  }
  EXPECT_EQ(b.shard->stats().followup_records, 2u);  // once each
}

// `switchboard privacy erase` reaches every shard as FollowUpErase: the customer's tasks leave
// the shard's state, its changelog (a tombstone, so no later owner restores them, from the log or
// from a checkpoint taken after the erasure) and sb.followups (a tombstone), and the attempt out
// now leaves the queue with them. Other customers' tasks stay.
TEST_F(FollowUpShardTest, ErasureRemovesTheCustomersTasksFromStateLogAndQueue) {
  {
    Owner a = MakeOwner("n1", home_, &settings_);
    ASSERT_TRUE(a.shard->Claim().ok());
    Feed(a, kafka::kAgentEventsTopic, Login("ag1"));
    pb::RoutingEvent other = Callback("cb-2");
    other.mutable_follow_up()->mutable_submit()->set_customer_id("cust-2");
    Feed(a, kafka::kContactsTopic, Callback("cb-1"));
    Feed(a, kafka::kContactsTopic, other);
    Tick(a);  // cb-1#1 is offered to ag1, cb-2#1 waits
    ASSERT_EQ(Offers("cb-1#1"), 1);
    ASSERT_TRUE(a.shard->Checkpoint().ok());  // the checkpoint holds cb-1
    pb::RoutingEvent erase;
    erase.mutable_follow_up()->mutable_erase()->set_customer_id("cust-1");
    erase.mutable_follow_up()->mutable_erase()->set_requested_by("dpo");
    Feed(a, kafka::kContactsTopic, erase);
    EXPECT_EQ(a.shard->followups()->core().Get("cb-1"), nullptr);
    EXPECT_NE(a.shard->followups()->core().Get("cb-2"), nullptr);
    EXPECT_FALSE(a.shard->engine()->GetContact("cb-1#1").ok());
    EXPECT_EQ(Offers("cb-2#1"), 1);  // ag1 is free for the next customer
    std::optional<std::string> last;
    for (const kafka::Record& r : kafka_.ReadPartition(kafka::kFollowUpsTopic, home_)) {
      if (r.key == "cb-1") last = r.value.value_or("<tombstone>");
    }
    EXPECT_EQ(last, "<tombstone>");
    EXPECT_TRUE(DeadLetters(home_).empty());
    ASSERT_TRUE(a.shard->Checkpoint().ok());  // taken after the erasure: the tail lacks it
  }
  for (const char* node : {"n1", "n2"}) {  // from the checkpoint and tail; from the log alone
    Owner b = MakeOwner(node, home_, &settings_);
    ASSERT_TRUE(b.shard->Claim().ok()) << node;
    EXPECT_EQ(b.shard->followups()->core().Get("cb-1"), nullptr) << node;
    EXPECT_NE(b.shard->followups()->core().Get("cb-2"), nullptr) << node;
  }
}

// An attempt already connected to an agent when its customer is erased stays with the agent (the
// call is going on); the withdrawal the engine refuses is answered to nobody.
TEST_F(FollowUpShardTest, ErasureLeavesAConnectedAttemptAndAnswersNobody) {
  Owner a = MakeOwner("n1", home_, &settings_);
  ASSERT_TRUE(a.shard->Claim().ok());
  Feed(a, kafka::kAgentEventsTopic, Login("ag1"));
  Feed(a, kafka::kContactsTopic, Callback("cb-1"));
  Tick(a);
  ASSERT_EQ(Offers("cb-1#1"), 1);
  Feed(a, kafka::kAgentEventsTopic, Accept("cb-1#1"));
  pb::RoutingEvent erase;
  erase.mutable_follow_up()->mutable_erase()->set_customer_id("cust-1");
  Feed(a, kafka::kContactsTopic, erase);
  EXPECT_EQ(a.shard->followups()->core().Get("cb-1"), nullptr);
  EXPECT_TRUE(a.shard->engine()->GetContact("cb-1#1").ok());
  for (const kafka::Record& r : kafka_.ReadPartition(kafka::kAssignmentsTopic, home_)) {
    pb::ShardOutput out;
    ASSERT_TRUE(out.ParseFromString(*r.value));
    EXPECT_NE(out.decision().type(), pb::DECISION_REFUSED) << out.ShortDebugString();
  }
  EXPECT_TRUE(DeadLetters(home_).empty());
}

TEST_F(FollowUpShardTest, OutageHoldsFiringUntilLifted) {
  Owner a = MakeOwner("n1", home_, &settings_);
  ASSERT_TRUE(a.shard->Claim().ok());
  Feed(a, kafka::kAgentEventsTopic, Login("ag1"));
  pb::RoutingEvent outage;
  outage.mutable_follow_up()->mutable_outage()->set_on(true);
  Feed(a, kafka::kContactsTopic, outage);
  Feed(a, kafka::kContactsTopic, Callback("cb-2"));
  Tick(a);
  EXPECT_EQ(Task(a, "cb-2").state(), pb::FOLLOW_UP_STATE_PENDING);

  Owner b = MakeOwner("n2", home_, &settings_);  // the switch is part of the shard's state
  ASSERT_TRUE(b.shard->Claim().ok());
  EXPECT_TRUE(b.shard->followups()->outage());
  Tick(b);
  EXPECT_EQ(Task(b, "cb-2").state(), pb::FOLLOW_UP_STATE_PENDING);
  outage.mutable_follow_up()->mutable_outage()->set_on(false);
  Feed(b, kafka::kContactsTopic, outage);
  clock_.AdvanceMs(1000);  // the backlog drains at max_fires_per_s from the end of the outage
  Tick(b);
  EXPECT_EQ(Task(b, "cb-2").state(), pb::FOLLOW_UP_STATE_FIRING);
  EXPECT_EQ(Offers("cb-2#1"), 1);
}

TEST_F(FollowUpShardTest, CommandsAreRefusedWhenFollowUpsAreOff) {
  Owner a = MakeOwner("n1", home_);
  ASSERT_TRUE(a.shard->Claim().ok());
  Feed(a, kafka::kContactsTopic, Callback("cb-3"));
  EXPECT_EQ(a.shard->followups(), nullptr);
  EXPECT_EQ(a.shard->stats().rejected_events, 1u);
}

TEST(FollowUpQueuesTest, NamesAQueueMissingFromTheRoutingConfig) {
  auto routing = config::ParseRoutingConfig(kOneDomainConfig);
  ASSERT_TRUE(routing.ok());
  auto config = followup::ParseConfig("{}");
  ASSERT_TRUE(config.ok());
  auto settings = followup::Settings::Resolve(*config);
  ASSERT_TRUE(settings.ok());
  Status st = CheckFollowUpQueues(*settings, *routing);
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("\"callbacks\""), std::string::npos) << st.message();
}

}  // namespace
}  // namespace sb::shard
