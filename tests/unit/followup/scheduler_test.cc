// The follow-up scheduler's contract, one kind at a time, with a manual clock.
#include "router/followup/scheduler.h"

#include <gtest/gtest.h>

#include "router/followup/settings.h"

namespace sb::followup {
namespace {

constexpr int64_t kMin = 60'000;
constexpr int64_t kHour = 60 * kMin;

absl::TimeZone Zone(const char* name) {
  absl::TimeZone z;
  EXPECT_TRUE(absl::LoadTimeZone(name, &z)) << name;
  return z;
}

int64_t At(int y, int mo, int d, int h, int mi, int s = 0, const char* zone = "Asia/Shanghai") {
  return absl::ToUnixMillis(absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), Zone(zone)));
}

Settings MakeSettings(const std::function<void(pb::FollowUpConfig*)>& edit = {}) {
  pb::FollowUpConfig c;
  if (edit) edit(&c);
  ApplyDefaults(&c);
  Result<Settings> s = Settings::Resolve(c);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return *s;
}

pb::FollowUpRequest Callback(const std::string& id) {
  pb::FollowUpRequest r;
  r.set_request_id(id);
  r.set_kind(pb::FOLLOW_UP_KIND_CALLBACK);
  r.set_customer_id("cust-" + id);
  r.set_customer_phone("+8613800000000");
  r.set_customer_surname("Wang");
  r.set_owner("agent-7");
  return r;
}

pb::FollowUpRequest Complaint(const std::string& id, const std::string& event = "") {
  pb::FollowUpRequest r;
  r.set_request_id(id);
  r.set_kind(pb::FOLLOW_UP_KIND_COMPLAINT_REPLY);
  r.set_customer_id("cust-1");
  r.set_customer_phone("+8613800000000");
  r.set_event_key(event);
  return r;
}

class SchedulerTest : public ::testing::Test {
 protected:
  explicit SchedulerTest(int64_t start = At(2026, 3, 2, 10, 0)) : clock_(start) {}
  void Make(const std::function<void(pb::FollowUpConfig*)>& edit = {}) {
    sched_ = Scheduler::Create(MakeSettings(edit), &clock_);
  }
  void SetUp() override { Make(); }

  std::string Submit(const pb::FollowUpRequest& r) {
    Result<std::string> id = sched_->Submit(r, &fx_);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.ok() ? *id : "";
  }
  // Advances to `ms` and ticks; returns the ids of contacts produced.
  std::vector<std::string> RunTo(int64_t ms) {
    clock_.SetMs(ms);
    fx_.Clear();
    sched_->Tick(&fx_);
    std::vector<std::string> ids;
    for (const auto& c : fx_.contacts) ids.push_back(c.id());
    return ids;
  }
  const pb::FollowUpTask& Task(const std::string& id) { return *sched_->Get(id); }
  void Outcome(const std::string& id, uint32_t attempt, pb::AttemptOutcome o) {
    fx_.Clear();
    ASSERT_TRUE(sched_->RecordOutcome(id, attempt, o, "agent-1", "", &fx_).ok());
  }

  ManualClock clock_;
  std::unique_ptr<Scheduler> sched_;
  Effects fx_;
};

TEST_F(SchedulerTest, CallbackFiresWithPreferredAgentAndEndsDoneWhenAnswered) {
  pb::FollowUpRequest r = Callback("cb1");
  r.set_due_at_ms(clock_.NowMs() + 10 * kMin);
  r.set_preferred_agent("agent-9");
  Submit(r);
  EXPECT_EQ(Task("cb1").state(), pb::FOLLOW_UP_STATE_PENDING);
  EXPECT_TRUE(RunTo(clock_.NowMs() + 10 * kMin - 1).empty());
  ASSERT_EQ(RunTo(clock_.NowMs() + 1), std::vector<std::string>{"cb1#1"});
  const pb::Contact& c = fx_.contacts[0];
  EXPECT_EQ(c.queue(), "callbacks");
  EXPECT_EQ(c.channel(), pb::CHANNEL_CALLBACK);
  EXPECT_EQ(c.preferred_agent(), "agent-9");
  EXPECT_TRUE(c.flags().outbound());  // outbound: not in inbound service level
  EXPECT_EQ(c.attributes().at("phone"), "+8613800000000");
  EXPECT_EQ(Task("cb1").state(), pb::FOLLOW_UP_STATE_FIRING);
  Outcome("cb1", 1, pb::ATTEMPT_OUTCOME_ANSWERED);
  EXPECT_EQ(Task("cb1").state(), pb::FOLLOW_UP_STATE_DONE);
  EXPECT_EQ(fx_.ended, std::vector<std::string>{"cb1"});
  EXPECT_FALSE(sched_->NextAtMs().has_value());
}

TEST_F(SchedulerTest, PreferredAgentDefaultsToTheCaseOwner) {
  Submit(Callback("cb1"));
  ASSERT_EQ(RunTo(clock_.NowMs()).size(), 1u);
  EXPECT_EQ(fx_.contacts[0].preferred_agent(), "agent-7");
}

TEST_F(SchedulerTest, SameRequestIdNeverCreatesASecondTask) {
  Submit(Callback("cb1"));
  fx_.Clear();
  EXPECT_EQ(Submit(Callback("cb1")), "cb1");
  EXPECT_TRUE(fx_.empty());
  EXPECT_EQ(sched_->size(), 1u);
}

// Ids are per caller: another caller's request with a taken id is refused, not merged into a
// task whose customer it does not know.
TEST_F(SchedulerTest, ARequestIdTakenByAnotherCallerIsRefused) {
  pb::FollowUpRequest mine = Callback("crm-1");
  mine.set_submitted_by("integrator/crm");
  Submit(mine);
  pb::FollowUpRequest theirs = mine;
  theirs.set_submitted_by("integrator/other");
  theirs.set_customer_phone("+8613911111111");
  Result<std::string> refused = sched_->Submit(theirs, &fx_);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kAlreadyExists);
  EXPECT_EQ(refused.status().message().find("integrator/crm"), std::string::npos);
  EXPECT_EQ(sched_->Get("crm-1")->request().customer_phone(), "+8613800000000");
  EXPECT_EQ(Submit(mine), "crm-1");  // the same caller again: the same task
}

TEST_F(SchedulerTest, RequestValidationNamesTheField) {
  auto error = [&](pb::FollowUpRequest r) {
    Result<std::string> id = sched_->Submit(r, &fx_);
    return id.ok() ? std::string("ok") : id.status().message();
  };
  pb::FollowUpRequest r = Callback("x");
  r.clear_customer_phone();
  EXPECT_NE(error(r).find("customer_phone: required"), std::string::npos) << error(r);
  r = Callback("x");
  r.clear_customer_surname();
  EXPECT_NE(error(r).find("customer_surname: required"), std::string::npos);
  r = Callback("x");
  r.set_customer_phone("call me");
  EXPECT_NE(error(r).find("customer_phone: not a phone number"), std::string::npos) << error(r);
  EXPECT_EQ(error(r).find("call me"), std::string::npos) << "personal data in: " << error(r);
  r = Callback("");
  EXPECT_NE(error(r).find("request_id"), std::string::npos);
  r = Callback("a#b");
  EXPECT_NE(error(r).find("request_id"), std::string::npos);
  r = Callback("x");
  r.set_time_zone("Mars/Olympus");
  EXPECT_NE(error(r).find("time_zone"), std::string::npos);
  r = Callback("x");
  r.set_kind(pb::FOLLOW_UP_KIND_UNSPECIFIED);
  EXPECT_NE(error(r).find("kind: required"), std::string::npos);
  r = Callback("x");
  r.set_kind(pb::FOLLOW_UP_KIND_DEPARTMENT_FEEDBACK);
  r.set_department("claims");
  EXPECT_NE(error(r).find("deadline_at_ms: required"), std::string::npos);
  r = Callback("x");
  r.set_kind(pb::FOLLOW_UP_KIND_RETURN_VISIT);
  EXPECT_NE(error(r).find("return_visit_kind"), std::string::npos);
  r = Callback("x");
  r.set_note(std::string(3000, 'n'));
  EXPECT_NE(error(r).find("note: at most"), std::string::npos);
  r = Callback("x");
  r.set_window_end_ms(clock_.NowMs() - 1);
  EXPECT_NE(error(r).find("window_end_ms"), std::string::npos);
  EXPECT_EQ(sched_->size(), 0u);
}

// Quiet hours: calls only 07:30–12:30 and 14:00–21:00 in the customer's zone.
TEST_F(SchedulerTest, QuietHourEdgesMoveTheCallToTheNextWindow) {
  struct Case {
    int h, m, s;
    int64_t expect;
  } cases[] = {
      {7, 29, 59, At(2026, 3, 3, 7, 30)},       {7, 30, 0, At(2026, 3, 3, 7, 30)},
      {12, 29, 59, At(2026, 3, 3, 12, 29, 59)}, {12, 30, 0, At(2026, 3, 3, 14, 0)},
      {13, 59, 59, At(2026, 3, 3, 14, 0)},      {20, 59, 59, At(2026, 3, 3, 20, 59, 59)},
      {21, 0, 0, At(2026, 3, 4, 7, 30)},        {23, 59, 59, At(2026, 3, 4, 7, 30)},
  };
  int i = 0;
  for (const Case& c : cases) {
    pb::FollowUpRequest r = Callback("q" + std::to_string(i++));
    r.set_due_at_ms(At(2026, 3, 3, c.h, c.m, c.s));
    const std::string id = Submit(r);
    EXPECT_EQ(Task(id).fire_at_ms(), c.expect) << c.h << ":" << c.m << ":" << c.s;
  }
  // Across midnight: a callback due 00:10 fires at 07:30 that day, not earlier.
  pb::FollowUpRequest r = Callback("night");
  r.set_due_at_ms(At(2026, 3, 3, 0, 10));
  Submit(r);
  EXPECT_TRUE(RunTo(At(2026, 3, 3, 7, 29, 59)).empty());
  EXPECT_EQ(RunTo(At(2026, 3, 3, 7, 30)), (std::vector<std::string>{"night#1", "q0#1", "q1#1"}));
}

TEST_F(SchedulerTest, QuietHoursFollowTheCustomersTimeZone) {
  // 10:00 in Shanghai is 21:00 the evening before in New York: that customer waits for 07:30.
  pb::FollowUpRequest ny = Callback("ny");
  ny.set_time_zone("America/New_York");
  pb::FollowUpRequest sh = Callback("sh");
  Submit(ny);
  Submit(sh);
  EXPECT_EQ(RunTo(clock_.NowMs()), std::vector<std::string>{"sh#1"});
  EXPECT_EQ(Task("ny").fire_at_ms(), At(2026, 3, 2, 7, 30, 0, "America/New_York"));
}

TEST_F(SchedulerTest, NoAnswerRetriesWithBackoffThenEscalatesToTeamLead) {
  Submit(Callback("cb"));
  const int64_t t0 = clock_.NowMs();
  RunTo(t0);
  Outcome("cb", 1, pb::ATTEMPT_OUTCOME_NO_ANSWER);
  EXPECT_EQ(Task("cb").state(), pb::FOLLOW_UP_STATE_PENDING);
  EXPECT_EQ(Task("cb").fire_at_ms(), t0 + 15 * kMin);  // initial backoff 900 s
  EXPECT_TRUE(RunTo(t0 + 15 * kMin - 1).empty());
  EXPECT_EQ(RunTo(t0 + 15 * kMin), std::vector<std::string>{"cb#2"});
  Outcome("cb", 2, pb::ATTEMPT_OUTCOME_BUSY);
  EXPECT_EQ(Task("cb").fire_at_ms(), t0 + 45 * kMin);  // doubled: 30 min
  EXPECT_EQ(RunTo(t0 + 45 * kMin), std::vector<std::string>{"cb#3"});
  Outcome("cb", 3, pb::ATTEMPT_OUTCOME_FAILED);
  const pb::FollowUpTask& t = Task("cb");
  EXPECT_EQ(t.state(), pb::FOLLOW_UP_STATE_ESCALATED);
  ASSERT_EQ(fx_.contacts.size(), 1u);
  EXPECT_EQ(fx_.contacts[0].id(), "cb#escalation");
  EXPECT_EQ(fx_.contacts[0].queue(), "team-lead");
  EXPECT_EQ(fx_.contacts[0].priority(), pb::PRIORITY_URGENT);
  EXPECT_NE(fx_.contacts[0].attributes().at("escalation_reason").find("3 attempts"),
            std::string::npos);
  EXPECT_EQ(t.attempts_size(), 3);
  EXPECT_EQ(t.history().rbegin()->state(), pb::FOLLOW_UP_STATE_ESCALATED);
}

TEST_F(SchedulerTest, AnAttemptWithoutOutcomeTimesOutAndCountsAsFailed) {
  Submit(Callback("cb"));
  const int64_t t0 = clock_.NowMs();
  RunTo(t0);
  EXPECT_TRUE(RunTo(t0 + kHour - 1).empty());
  RunTo(t0 + kHour);
  EXPECT_EQ(Task("cb").attempts(0).outcome(), pb::ATTEMPT_OUTCOME_TIMED_OUT);
  EXPECT_EQ(Task("cb").state(), pb::FOLLOW_UP_STATE_PENDING);
}

TEST_F(SchedulerTest, OutcomeErrors) {
  Submit(Callback("cb"));
  RunTo(clock_.NowMs());
  EXPECT_EQ(sched_->RecordOutcome("nope", 1, pb::ATTEMPT_OUTCOME_ANSWERED, "", "", &fx_).code(),
            Code::kNotFound);
  EXPECT_EQ(sched_->RecordOutcome("cb", 2, pb::ATTEMPT_OUTCOME_ANSWERED, "", "", &fx_).code(),
            Code::kFailedPrecondition);
  EXPECT_EQ(sched_->RecordOutcome("cb", 1, pb::ATTEMPT_OUTCOME_UNSPECIFIED, "", "", &fx_).code(),
            Code::kInvalidArgument);
  Outcome("cb", 1, pb::ATTEMPT_OUTCOME_ANSWERED);
  fx_.Clear();
  EXPECT_TRUE(sched_->RecordOutcome("cb", 1, pb::ATTEMPT_OUTCOME_ANSWERED, "", "", &fx_).ok());
  EXPECT_TRUE(fx_.empty());  // a repeated report changes nothing
  EXPECT_EQ(sched_->RecordOutcome("cb", 1, pb::ATTEMPT_OUTCOME_BUSY, "", "", &fx_).code(),
            Code::kFailedPrecondition);
}

TEST_F(SchedulerTest, CallbackExpiresWhenTheCustomersWindowPasses) {
  pb::FollowUpRequest r = Callback("cb");
  r.set_due_at_ms(clock_.NowMs() + kHour);
  r.set_window_end_ms(clock_.NowMs() + kHour + 10 * kMin);
  Submit(r);
  RunTo(clock_.NowMs() + kHour);
  Outcome("cb", 1, pb::ATTEMPT_OUTCOME_NO_ANSWER);  // retry at +15 min: after the window
  RunTo(clock_.NowMs() + 10 * kMin);
  EXPECT_EQ(Task("cb").state(), pb::FOLLOW_UP_STATE_EXPIRED);
  EXPECT_TRUE(fx_.contacts.empty());
  EXPECT_EQ(fx_.ended, std::vector<std::string>{"cb"});
}

TEST_F(SchedulerTest, ComplaintDeadlinesComeFromTheTableAndNeverExceedTheCap) {
  Make([](pb::FollowUpConfig* c) {
    pb::ComplaintDeadline* d = c->add_complaint_deadlines();
    d->set_complaint_category("billing");
    d->set_customer_category("vip");
    d->set_hours(1);
    d = c->add_complaint_deadlines();
    d->set_complaint_category("*");
    d->set_customer_category("cross-province");
    d->set_hours(36);
  });
  const int64_t now = clock_.NowMs();
  Submit(Complaint("simple"));
  pb::FollowUpRequest complex = Complaint("complex");
  complex.set_complex(true);
  Submit(complex);
  pb::FollowUpRequest vip = Complaint("vip");
  vip.set_complaint_category("billing");
  vip.set_customer_category("vip");
  Submit(vip);
  pb::FollowUpRequest cross = Complaint("cross");
  cross.set_customer_category("cross-province");
  Submit(cross);
  pb::FollowUpRequest late = Complaint("late");
  late.set_deadline_at_ms(now + 100 * kHour);
  Submit(late);
  EXPECT_EQ(Task("simple").deadline_at_ms(), now + 2 * kHour);
  EXPECT_EQ(Task("complex").deadline_at_ms(), now + 24 * kHour);
  EXPECT_EQ(Task("vip").deadline_at_ms(), now + 1 * kHour);
  EXPECT_EQ(Task("cross").deadline_at_ms(), now + 36 * kHour);
  EXPECT_EQ(Task("late").deadline_at_ms(), now + 48 * kHour);
  EXPECT_EQ(Task("simple").queue(), "complaints");
}

TEST_F(SchedulerTest, AnsweredComplaintSchedulesAComplaintReturnVisit) {
  Submit(Complaint("c1"));
  RunTo(clock_.NowMs());
  Outcome("c1", 1, pb::ATTEMPT_OUTCOME_ANSWERED);
  const pb::FollowUpTask* visit = sched_->Get("c1/return-visit");
  ASSERT_NE(visit, nullptr);
  EXPECT_EQ(visit->request().kind(), pb::FOLLOW_UP_KIND_RETURN_VISIT);
  EXPECT_EQ(visit->request().return_visit_kind(), pb::RETURN_VISIT_KIND_COMPLAINT);
  EXPECT_EQ(visit->fire_at_ms(), At(2026, 3, 3, 10, 0));  // 24 h later, inside a window
  EXPECT_EQ(visit->queue(), "return-visits");
}

TEST_F(SchedulerTest, ComplaintNotRepliedByItsDeadlineEscalates) {
  pb::FollowUpRequest r = Complaint("c1");
  r.set_due_at_ms(clock_.NowMs() + 3 * kHour);  // cannot be met: 2 h deadline
  Submit(r);
  EXPECT_EQ(RunTo(clock_.NowMs() + 2 * kHour), std::vector<std::string>{"c1#escalation"});
  EXPECT_EQ(Task("c1").state(), pb::FOLLOW_UP_STATE_ESCALATED);
}

TEST_F(SchedulerTest, ReturnVisitKindsAndDefaultDelay) {
  for (auto [id, kind] : {std::pair{"inq", pb::RETURN_VISIT_KIND_INQUIRY},
                          std::pair{"cmp", pb::RETURN_VISIT_KIND_COMPLAINT},
                          std::pair{"srv", pb::RETURN_VISIT_KIND_SURVEY}}) {
    pb::FollowUpRequest r = Callback(id);
    r.set_kind(pb::FOLLOW_UP_KIND_RETURN_VISIT);
    r.set_return_visit_kind(kind);
    Submit(r);
    EXPECT_EQ(Task(id).fire_at_ms(), clock_.NowMs() + 24 * kHour);
  }
  EXPECT_EQ(RunTo(clock_.NowMs() + 24 * kHour),
            (std::vector<std::string>{"cmp#1", "inq#1", "srv#1"}));
  EXPECT_EQ(fx_.contacts[0].attributes().at("followup_kind"), "return_visit");
}

TEST_F(SchedulerTest, KnowledgeGapMustReachTheCustomerWithin24Hours) {
  pb::FollowUpRequest r = Callback("kg");
  r.set_kind(pb::FOLLOW_UP_KIND_KNOWLEDGE_GAP);
  r.set_due_at_ms(clock_.NowMs() + 20 * kHour);  // 06:00 next day → 07:30
  Submit(r);
  EXPECT_EQ(Task("kg").deadline_at_ms(), clock_.NowMs() + 24 * kHour);
  EXPECT_EQ(RunTo(At(2026, 3, 3, 7, 30)), std::vector<std::string>{"kg#1"});
  Outcome("kg", 1, pb::ATTEMPT_OUTCOME_NO_ANSWER);
  RunTo(At(2026, 3, 3, 7, 45));
  Outcome("kg", 2, pb::ATTEMPT_OUTCOME_NO_ANSWER);  // next try at 08:15: still in time
  EXPECT_EQ(Task("kg").state(), pb::FOLLOW_UP_STATE_PENDING);
  EXPECT_EQ(RunTo(At(2026, 3, 3, 8, 15)), std::vector<std::string>{"kg#3"});
  Outcome("kg", 3, pb::ATTEMPT_OUTCOME_ANSWERED);
  EXPECT_EQ(Task("kg").state(), pb::FOLLOW_UP_STATE_DONE);
}

TEST_F(SchedulerTest, RepairOrderLimitsByAreaAndStages) {
  pb::FollowUpRequest urban = Callback("ru");
  urban.set_kind(pb::FOLLOW_UP_KIND_REPAIR_STAGE);
  urban.set_repair_area(pb::REPAIR_AREA_URBAN);
  pb::FollowUpRequest rural = urban;
  rural.set_request_id("rr");
  rural.set_repair_area(pb::REPAIR_AREA_RURAL);
  Submit(urban);
  Submit(rural);
  const int64_t now = clock_.NowMs();
  EXPECT_EQ(Task("ru").deadline_at_ms(), now + 72 * kHour);
  EXPECT_EQ(Task("rr").deadline_at_ms(), now + 48 * kHour);
  fx_.Clear();
  ASSERT_TRUE(sched_->AdvanceRepair("ru", pb::REPAIR_STAGE_ACKNOWLEDGED, &fx_).ok());
  EXPECT_EQ(sched_->AdvanceRepair("ru", pb::REPAIR_STAGE_REPORTED, &fx_).code(),
            Code::kFailedPrecondition);
  ASSERT_TRUE(sched_->AdvanceRepair("ru", pb::REPAIR_STAGE_COMPLETED, &fx_).ok());
  EXPECT_EQ(Task("ru").state(), pb::FOLLOW_UP_STATE_DONE);
  ASSERT_NE(sched_->Get("ru/return-visit"), nullptr);
  EXPECT_EQ(sched_->Get("ru/return-visit")->request().return_visit_kind(),
            pb::RETURN_VISIT_KIND_SURVEY);
  // The rural order misses its 48 h: escalation, no customer call.
  // Until then only the urban order's return visit goes out.
  EXPECT_EQ(RunTo(now + 48 * kHour - 1), std::vector<std::string>{"ru/return-visit#1"});
  EXPECT_EQ(RunTo(now + 48 * kHour), std::vector<std::string>{"rr#escalation"});
  EXPECT_NE(fx_.contacts[0].attributes().at("escalation_reason").find("REPAIR_STAGE_REPORTED"),
            std::string::npos);
}

TEST_F(SchedulerTest, DepartmentFeedbackDeadline) {
  pb::FollowUpRequest r;
  r.set_kind(pb::FOLLOW_UP_KIND_DEPARTMENT_FEEDBACK);
  r.set_customer_id("cust");
  r.set_department("claims");
  r.set_deadline_at_ms(clock_.NowMs() + 4 * kHour);
  r.set_request_id("ok");
  Submit(r);
  r.set_request_id("missed");
  Submit(r);
  fx_.Clear();
  ASSERT_TRUE(sched_->Complete("ok", "refund approved", &fx_).ok());
  EXPECT_EQ(Task("ok").state(), pb::FOLLOW_UP_STATE_DONE);
  EXPECT_EQ(RunTo(clock_.NowMs() + 4 * kHour), std::vector<std::string>{"missed#escalation"});
  EXPECT_NE(fx_.contacts[0].attributes().at("escalation_reason").find("claims"), std::string::npos);
  EXPECT_EQ(sched_->Complete("missed", "", &fx_).code(), Code::kFailedPrecondition);
}

TEST_F(SchedulerTest, SecondComplaintAboutTheSameEventIsAnIncident) {
  Submit(Complaint("c1", "outage-2026-03-01"));
  fx_.Clear();
  Submit(Complaint("c2", "outage-2026-03-01"));
  EXPECT_FALSE(Task("c1").incident());
  EXPECT_TRUE(Task("c2").incident());
  const pb::FollowUpTask* n = sched_->Get("c2/incident");
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->request().kind(), pb::FOLLOW_UP_KIND_MANAGEMENT_NOTIFICATION);
  EXPECT_EQ(fx_.changed.size(), 2u);  // the complaint and its notification
  // Another event, or another customer, is not an incident.
  Submit(Complaint("c3", "other-event"));
  pb::FollowUpRequest other = Complaint("c4", "outage-2026-03-01");
  other.set_customer_id("cust-2");
  Submit(other);
  EXPECT_EQ(sched_->Get("c3/incident"), nullptr);
  EXPECT_EQ(sched_->Get("c4/incident"), nullptr);
  // The notification reaches management at once, also in quiet hours (it calls no customer).
  std::vector<std::string> fired = RunTo(At(2026, 3, 2, 12, 45));
  EXPECT_NE(std::find(fired.begin(), fired.end(), "c2/incident#1"), fired.end());
  for (const auto& c : fx_.contacts) {
    if (c.id() == "c2/incident#1") {
      EXPECT_EQ(c.queue(), "management");
    }
  }
}

// Personal data is kept online for the retention only: an ended task is removed (a Change with
// no task left, for the shell to delete) once `ended_retention_days` passed since it ended;
// open tasks stay whatever their age. The complaints remembered per event go with their tasks,
// so that memory is bounded by the tasks kept.
TEST_F(SchedulerTest, EndedTasksAreRemovedOnceTheirRetentionPassed) {
  Make([](pb::FollowUpConfig* c) { c->set_ended_retention_days(2); });
  const int64_t t0 = At(2026, 3, 2, 10, 0);
  Submit(Callback("ended"));
  Submit(Complaint("c1", "outage"));
  pb::FollowUpRequest open = Callback("open");
  open.set_due_at_ms(t0 + 10 * 24 * kHour);
  open.set_window_end_ms(t0 + 20 * 24 * kHour);
  Submit(open);
  ASSERT_TRUE(sched_->Cancel("ended", "done by mail", &fx_).ok());
  ASSERT_TRUE(sched_->Cancel("c1", "withdrawn", &fx_).ok());
  RunTo(t0 + 2 * 24 * kHour - 1);
  EXPECT_NE(sched_->Get("ended"), nullptr);
  RunTo(t0 + 2 * 24 * kHour);
  EXPECT_EQ(sched_->Get("ended"), nullptr);
  EXPECT_EQ(sched_->Get("c1"), nullptr);
  EXPECT_NE(sched_->Get("open"), nullptr);
  std::vector<std::string> changed;
  for (const auto& c : fx_.changed) {
    changed.push_back(c.task_id);
    EXPECT_FALSE(c.old_next_at_ms.has_value()) << c.task_id;  // ended tasks are not indexed
  }
  std::sort(changed.begin(), changed.end());
  EXPECT_EQ(changed, (std::vector<std::string>{"c1", "ended"}));
  EXPECT_EQ(sched_->size(), 1u);
  // The complaint about "outage" was forgotten with its task: a new one is a first complaint.
  fx_.Clear();
  Submit(Complaint("c2", "outage"));
  EXPECT_FALSE(Task("c2").incident());
  EXPECT_EQ(sched_->Get("c2/incident"), nullptr);
  // A restored scheduler removes on the same schedule.
  ASSERT_TRUE(sched_->Cancel("c2", "withdrawn", &fx_).ok());
  auto restored = Scheduler::Restore(
      MakeSettings([](pb::FollowUpConfig* c) { c->set_ended_retention_days(2); }), &clock_,
      sched_->ExportState());
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  sched_ = std::move(*restored);
  RunTo(t0 + 4 * 24 * kHour + 1);
  EXPECT_EQ(sched_->Get("c2"), nullptr);
}

// The right to erasure: every task of the customer goes at once, open or ended, with its index
// entry (it never fires again) and the complaints remembered about the customer.
TEST_F(SchedulerTest, EraseRemovesEveryTaskOfTheCustomer) {
  pb::FollowUpRequest second = Callback("second");
  second.set_customer_id("cust-first");
  Submit(Callback("first"));
  Submit(second);
  Submit(Callback("other"));
  pb::FollowUpRequest complaint = Complaint("k1", "ev");
  complaint.set_customer_id("cust-first");
  Submit(complaint);
  ASSERT_TRUE(sched_->Cancel("second", "done", &fx_).ok());
  EXPECT_EQ(RunTo(At(2026, 3, 2, 10, 0)).size(), 3u);  // first, other and k1 fire
  fx_.Clear();
  Result<std::vector<std::string>> erased = sched_->Erase("cust-first", &fx_);
  ASSERT_TRUE(erased.ok()) << erased.status().ToString();
  EXPECT_EQ(*erased, (std::vector<std::string>{"first", "k1", "second"}));
  EXPECT_EQ(fx_.changed.size(), 3u);
  for (const auto& c : fx_.changed) {
    EXPECT_EQ(sched_->Get(c.task_id), nullptr);
    EXPECT_EQ(c.old_next_at_ms.has_value(), c.task_id != "second") << c.task_id;
  }
  EXPECT_NE(sched_->Get("other"), nullptr);
  // Nothing of theirs times out or fires later; a new complaint about "ev" is a first one.
  EXPECT_TRUE(RunTo(At(2026, 3, 2, 12, 0)).size() <= 1u);
  for (const auto& c : fx_.changed) EXPECT_EQ(c.task_id, "other");
  pb::FollowUpRequest again = Complaint("k2", "ev");
  again.set_customer_id("cust-first");
  Submit(again);
  EXPECT_FALSE(Task("k2").incident());
  fx_.Clear();
  EXPECT_EQ(sched_->Erase("", &fx_).status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(sched_->Erase("nobody", &fx_)->empty());
}

TEST_F(SchedulerTest, OutageParksFiringAndResumesAtTheConfiguredRate) {
  Make([](pb::FollowUpConfig* c) { c->set_max_fires_per_s(10); });
  const int64_t t0 = clock_.NowMs();
  fx_.Clear();
  sched_->SetOutage(true, &fx_);
  for (int i = 0; i < 100; ++i) {
    pb::FollowUpRequest r = Callback("cb" + std::to_string(1000 + i));
    r.set_due_at_ms(t0 + i * 1000);
    r.set_window_end_ms(t0 + 10 * kMin);
    Submit(r);
  }
  EXPECT_TRUE(RunTo(t0 + 30 * kMin).empty());  // parked, not expired
  EXPECT_EQ(Task("cb1000").state(), pb::FOLLOW_UP_STATE_PENDING);
  fx_.Clear();
  sched_->SetOutage(false, &fx_);
  EXPECT_EQ(Task("cb1000").expires_at_ms(), t0 + 40 * kMin);  // window moved by the outage
  std::vector<std::string> fired;
  for (int step = 1; step <= 100; ++step) {
    std::vector<std::string> now = RunTo(t0 + 30 * kMin + step * 100);
    EXPECT_LE(now.size(), 1u) << "bunched at step " << step;
    fired.insert(fired.end(), now.begin(), now.end());
  }
  ASSERT_EQ(fired.size(), 100u);  // none lost
  for (int i = 0; i < 100; ++i) EXPECT_EQ(fired[i], "cb" + std::to_string(1000 + i) + "#1");
}

TEST_F(SchedulerTest, ChangesReportTheOldIndexEntry) {
  pb::FollowUpRequest r = Callback("cb");
  r.set_due_at_ms(clock_.NowMs() + kMin);
  Submit(r);
  ASSERT_EQ(fx_.changed.size(), 1u);
  EXPECT_FALSE(fx_.changed[0].old_next_at_ms.has_value());
  const int64_t due = Task("cb").next_at_ms();
  RunTo(due);
  ASSERT_EQ(fx_.changed.size(), 1u);
  EXPECT_EQ(fx_.changed[0].old_next_at_ms, due);
  EXPECT_EQ(Task("cb").next_at_ms(), due + kHour);  // outcome timeout
}

// Export/Restore in the middle gives the same effects as one scheduler running throughout.
TEST_F(SchedulerTest, RestoreIsDeterministic) {
  auto script = [&](Scheduler* s, ManualClock* clock, std::vector<std::string>* log, int from,
                    int to) {
    for (int step = from; step < to; ++step) {
      clock->SetMs(At(2026, 3, 2, 10, 0) + step * 5 * kMin);
      Effects fx;
      if (step % 3 == 0) {
        pb::FollowUpRequest r =
            Complaint("c" + std::to_string(step), "ev" + std::to_string(step % 2));
        Result<std::string> id = s->Submit(r, &fx);
        ASSERT_TRUE(id.ok());
      }
      s->Tick(&fx);
      for (const auto& c : fx.contacts) {
        log->push_back(c.id());
        const std::string task = c.attributes().at("followup_task");
        if (c.id().ends_with("#escalation")) continue;
        const uint32_t attempt = std::stoul(c.attributes().at("attempt"));
        const auto outcome = (step + attempt) % 3 == 0 ? pb::ATTEMPT_OUTCOME_ANSWERED
                                                       : pb::ATTEMPT_OUTCOME_NO_ANSWER;
        ASSERT_TRUE(s->RecordOutcome(task, attempt, outcome, "a", "", &fx).ok());
      }
    }
  };
  ManualClock c1(0), c2(0);
  auto one = Scheduler::Create(MakeSettings(), &c1);
  std::vector<std::string> log1, log2;
  script(one.get(), &c1, &log1, 0, 60);
  auto first = Scheduler::Create(MakeSettings(), &c2);
  script(first.get(), &c2, &log2, 0, 30);
  Result<std::unique_ptr<Scheduler>> second =
      Scheduler::Restore(MakeSettings(), &c2, first->ExportState());
  ASSERT_TRUE(second.ok());
  script(second->get(), &c2, &log2, 30, 60);
  EXPECT_GT(log1.size(), 20u);
  EXPECT_EQ(log1, log2);
  EXPECT_EQ(one->ExportState().SerializeAsString(), (*second)->ExportState().SerializeAsString());
}

TEST(FollowUpConfigTest, ErrorsNameTheField) {
  auto error = [](const char* text) {
    Result<pb::FollowUpConfig> c = ParseConfig(text);
    return c.ok() ? std::string("ok") : c.status().message();
  };
  EXPECT_EQ(error("{}"), "ok");
  EXPECT_NE(error("call_windows: [{start: '07:30', end: '25:00'}]").find("call_windows[0].end"),
            std::string::npos);
  EXPECT_NE(error("complaint_deadlines: [{complaint_category: a, customer_category: b, hours: 72}]")
                .find("complaint_deadlines[0].hours: must be 1..48"),
            std::string::npos);
  EXPECT_NE(error("default_time_zone: Nowhere/Land").find("default_time_zone"), std::string::npos);
  EXPECT_NE(error("retry: {multiplier: 0.5}").find("retry.multiplier"), std::string::npos);
  EXPECT_NE(error("ended_retention_days: 4000").find("ended_retention_days"), std::string::npos);
  EXPECT_NE(error("escalation_queue: 'team lead'").find("escalation_queue"), std::string::npos);
  EXPECT_NE(error("bogus: 1").find("bogus"), std::string::npos);
  Result<pb::FollowUpConfig> c = ParseConfig("{}");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->simple_complaint_hours(), 2u);
  EXPECT_EQ(c->complex_complaint_hours(), 24u);
  EXPECT_EQ(c->complaint_cap_hours(), 48u);
  EXPECT_EQ(c->repair_urban_hours(), 72u);
  EXPECT_EQ(c->repair_rural_hours(), 48u);
}

}  // namespace
}  // namespace sb::followup
