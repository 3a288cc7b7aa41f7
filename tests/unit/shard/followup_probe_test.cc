// The follow-up metrics read from the tasks of a scheduler: open tasks by state, overdue ones,
// ended ones with their timeliness, attempts by outcome; counters start over when a shard leaves.
#include "router/shard/followup_probe.h"

#include <gtest/gtest.h>

#include "prometheus/text_serializer.h"

namespace sb::shard {
namespace {

pb::FollowUpTask Task(const std::string& id, pb::FollowUpKind kind, pb::FollowUpState state) {
  pb::FollowUpTask t;
  t.set_id(id);
  t.mutable_request()->set_request_id(id);
  t.mutable_request()->set_kind(kind);
  t.set_state(state);
  t.set_queue("sales");
  return t;
}

class FollowUpProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pb::QueueDef* q = config_.add_queues();
    q->set_name("sales");
    q->set_domain("d1");
  }
  void Load(const std::vector<pb::FollowUpTask>& tasks) {
    pb::FollowUpConfig fc;
    followup::ApplyDefaults(&fc);
    auto settings = followup::Settings::Resolve(fc);
    ASSERT_TRUE(settings.ok()) << settings.status().ToString();
    pb::FollowUpSchedulerState state;
    for (const auto& t : tasks) *state.add_tasks() = t;
    auto s = followup::Scheduler::Restore(*settings, &clock_, state);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    scheduler_ = std::move(*s);
  }
  std::string Scrape() { return prometheus::TextSerializer().Serialize(registry_.Collect()); }

  ManualClock clock_{1'000'000};
  pb::RoutingConfig config_;
  prometheus::Registry registry_;
  std::unique_ptr<followup::Scheduler> scheduler_;
};

bool Has(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

TEST_F(FollowUpProbeTest, OpenOverdueEndedAndAttempts) {
  pb::FollowUpTask pending = Task("p", pb::FOLLOW_UP_KIND_CALLBACK, pb::FOLLOW_UP_STATE_PENDING);
  pending.set_fire_at_ms(2'000'000);
  pb::FollowUpTask due = Task("d", pb::FOLLOW_UP_KIND_CALLBACK, pb::FOLLOW_UP_STATE_PENDING);
  due.set_fire_at_ms(900'000);
  due.set_deadline_at_ms(999'000);  // and overdue
  pb::FollowUpTask done = Task("k", pb::FOLLOW_UP_KIND_COMPLAINT_REPLY, pb::FOLLOW_UP_STATE_DONE);
  done.set_deadline_at_ms(800'000);
  done.set_ended_at_ms(700'000);
  pb::FollowUpAttempt* a = done.add_attempts();
  a->set_number(1);
  a->set_outcome(pb::ATTEMPT_OUTCOME_NO_ANSWER);
  a = done.add_attempts();
  a->set_number(2);
  a->set_outcome(pb::ATTEMPT_OUTCOME_ANSWERED);
  pb::FollowUpTask late = Task("l", pb::FOLLOW_UP_KIND_COMPLAINT_REPLY, pb::FOLLOW_UP_STATE_DONE);
  late.set_deadline_at_ms(800'000);
  late.set_ended_at_ms(850'000);
  Load({pending, due, done, late});

  FollowUpProbe probe(registry_, config_);
  probe.Publish({scheduler_.get()}, clock_.NowMs());
  const std::string text = Scrape();
  EXPECT_TRUE(Has(text, R"(sb_followup_open_tasks{domain="d1",kind="callback",state="pending"} 1)"))
      << text;
  EXPECT_TRUE(Has(text, R"(sb_followup_open_tasks{domain="d1",kind="callback",state="due"} 1)"));
  EXPECT_TRUE(Has(text, R"(sb_followup_overdue_tasks{domain="d1",kind="callback"} 1)"));
  EXPECT_TRUE(Has(
      text,
      R"(sb_followup_ended_total{domain="d1",end="done",kind="complaint_reply",timely="yes"} 1)"));
  EXPECT_TRUE(Has(
      text,
      R"(sb_followup_ended_total{domain="d1",end="done",kind="complaint_reply",timely="no"} 1)"));
  EXPECT_TRUE(Has(
      text,
      R"(sb_followup_attempts_total{domain="d1",kind="complaint_reply",outcome="no_answer"} 1)"));

  // The shard leaves this node: its series go.
  probe.Publish({}, clock_.NowMs());
  const std::string after = Scrape();
  EXPECT_EQ(after.find("sb_followup_open_tasks{"), std::string::npos) << after;
  EXPECT_EQ(after.find("sb_followup_ended_total{"), std::string::npos) << after;
}

}  // namespace
}  // namespace sb::shard
