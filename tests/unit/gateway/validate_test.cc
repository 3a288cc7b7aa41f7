// One test per validation rule: each bad request is refused with INVALID_ARGUMENT naming its
// field, and a good one passes.
#include "router/gateway/validate.h"

#include <gtest/gtest.h>

#include "common/config/config.h"

namespace sb::gateway {
namespace {

constexpr char kConfig[] = R"(
skills: [{name: general}, {name: english}]
domains: [{name: d00}]
queues:
  - {name: d00.general, domain: d00, strategy: LONGEST_IDLE,
     required_skills: [{skill: general, min_proficiency: 1}], offer_timeout_s: 30}
)";

class ValidateTest : public ::testing::Test {
 protected:
  ValidateTest() : v_(Config()) {}
  static pb::RoutingConfig Config() {
    auto c = config::ParseRoutingConfig(kConfig);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return *c;
  }
  static pb::SubmitContactRequest GoodSubmit() {
    pb::SubmitContactRequest r;
    r.mutable_contact()->set_idempotency_key("sip-call-1");
    r.mutable_contact()->set_queue("d00.general");
    r.mutable_contact()->set_channel(pb::CHANNEL_VOICE);
    return r;
  }
  static pb::CreateFollowUpRequest GoodCallback() {
    pb::CreateFollowUpRequest r;
    auto* f = r.mutable_request();
    f->set_request_id("cb-1");
    f->set_customer_id("cust-1");
    f->set_kind(pb::FOLLOW_UP_KIND_CALLBACK);
    f->set_customer_phone("+8613800000000");
    f->set_customer_surname("Wang");
    return r;
  }
  // Expects INVALID_ARGUMENT naming `field`.
  static void ExpectBad(const Status& st, const std::string& field) {
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << st.ToString();
    EXPECT_NE(st.message().find("field " + field + ":"), std::string::npos) << st.message();
  }
  Validator v_;
};

TEST_F(ValidateTest, GoodRequestsPass) {
  EXPECT_TRUE(v_.Check(GoodSubmit()).ok());
  EXPECT_TRUE(v_.Check(GoodCallback()).ok());
  pb::GetContactRequest get;
  get.set_contact_id("c-1");
  EXPECT_TRUE(v_.Check(get).ok());
}

TEST_F(ValidateTest, SubmitNeedsAnIdempotencyKey) {
  auto r = GoodSubmit();
  r.mutable_contact()->clear_idempotency_key();
  ExpectBad(v_.Check(r), "contact.idempotency_key");
  ExpectBad(v_.Check(pb::SubmitContactRequest()), "contact");
}

TEST_F(ValidateTest, IdsAreAtMost128PrintableCharacters) {
  auto r = GoodSubmit();
  r.mutable_contact()->set_idempotency_key(std::string(128, 'k'));
  EXPECT_TRUE(v_.Check(r).ok());
  r.mutable_contact()->set_idempotency_key(std::string(129, 'k'));
  ExpectBad(v_.Check(r), "contact.idempotency_key");
  r.mutable_contact()->set_idempotency_key(std::string("a\nb"));
  ExpectBad(v_.Check(r), "contact.idempotency_key");
  pb::GetContactRequest get;
  ExpectBad(v_.Check(get), "contact_id");
  get.set_contact_id(std::string(200, 'c'));
  ExpectBad(v_.Check(get), "contact_id");
}

TEST_F(ValidateTest, SubmitRefusesAnId) {
  auto r = GoodSubmit();
  r.mutable_contact()->set_id("mine");
  ExpectBad(v_.Check(r), "contact.id");
}

// "sb.*" attribute keys are the shards' own (a forwarded contact's sending partition): a caller
// setting one could make a shard forward an outcome to a partition that does not exist.
TEST_F(ValidateTest, ReservedAttributeKeysAreRefused) {
  auto r = GoodSubmit();
  (*r.mutable_contact()->mutable_attributes())["crm.ticket"] = "T-17";
  EXPECT_TRUE(v_.Check(r).ok());
  (*r.mutable_contact()->mutable_attributes())["sb.forwarded_from"] = "999";
  const Status st = v_.Check(r);
  ExpectBad(st, "contact.attributes");
  EXPECT_NE(st.message().find("reserved"), std::string::npos) << st.message();
}

TEST_F(ValidateTest, QueueAndSkillsMustBeKnown) {
  auto r = GoodSubmit();
  r.mutable_contact()->set_queue("nowhere");
  ExpectBad(v_.Check(r), "contact.queue");
  r = GoodSubmit();
  auto* s = r.mutable_contact()->add_required_skills();
  s->set_skill("klingon");
  s->set_min_proficiency(1);
  ExpectBad(v_.Check(r), "contact.required_skills[0].skill");
  s->set_skill("english");
  s->set_min_proficiency(6);
  ExpectBad(v_.Check(r), "contact.required_skills[0].min_proficiency");
  s->set_min_proficiency(5);
  EXPECT_TRUE(v_.Check(r).ok());
  r.mutable_contact()->set_language("klingon");
  ExpectBad(v_.Check(r), "contact.language");
}

TEST_F(ValidateTest, EnumsInRangeAndNotUnspecified) {
  auto r = GoodSubmit();
  r.mutable_contact()->set_channel(pb::CHANNEL_UNSPECIFIED);
  ExpectBad(v_.Check(r), "contact.channel");
  r.mutable_contact()->set_channel(static_cast<pb::Channel>(99));
  ExpectBad(v_.Check(r), "contact.channel");
  r = GoodSubmit();
  r.mutable_contact()->set_priority(static_cast<pb::Priority>(-1));
  ExpectBad(v_.Check(r), "contact.priority");
  auto f = GoodCallback();
  f.mutable_request()->set_kind(pb::FOLLOW_UP_KIND_UNSPECIFIED);
  ExpectBad(v_.Check(f), "request.kind");
}

TEST_F(ValidateTest, TimestampsAreSane) {
  auto r = GoodSubmit();
  r.mutable_contact()->set_created_at_ms(1700000000000);
  EXPECT_TRUE(v_.Check(r).ok());
  r.mutable_contact()->set_created_at_ms(-5);
  ExpectBad(v_.Check(r), "contact.created_at_ms");
  r.mutable_contact()->set_created_at_ms(1700000000);  // seconds, not ms
  ExpectBad(v_.Check(r), "contact.created_at_ms");
  auto f = GoodCallback();
  f.mutable_request()->set_due_at_ms(1700000000000);
  f.mutable_request()->set_window_end_ms(1600000000000);
  ExpectBad(v_.Check(f), "request.window_end_ms");
}

TEST_F(ValidateTest, CallbackNeedsPhoneAndSurname) {
  auto f = GoodCallback();
  f.mutable_request()->clear_customer_phone();
  ExpectBad(v_.Check(f), "request.customer_phone");
  f = GoodCallback();
  f.mutable_request()->clear_customer_surname();
  ExpectBad(v_.Check(f), "request.customer_surname");
}

TEST_F(ValidateTest, PhoneFormat) {
  EXPECT_TRUE(ValidPhone("+123456"));
  EXPECT_TRUE(ValidPhone("+" + std::string(20, '9')));
  EXPECT_FALSE(ValidPhone("+12345"));
  EXPECT_FALSE(ValidPhone("+" + std::string(21, '9')));
  EXPECT_FALSE(ValidPhone("8613800000000"));
  EXPECT_FALSE(ValidPhone("+86 138 0000"));
  EXPECT_FALSE(ValidPhone("+86-1380000000"));
  auto f = GoodCallback();
  f.mutable_request()->set_customer_phone("+86 138 0013 8000");
  const Status st = v_.Check(f);
  ExpectBad(st, "request.customer_phone");
  EXPECT_EQ(st.message().find("138"), std::string::npos) << "personal data in: " << st.message();
}

// Refused at the API, not later by the shard's scheduler after the caller was told OK.
TEST_F(ValidateTest, TimeZoneMustBeAKnownIanaName) {
  auto f = GoodCallback();
  f.mutable_request()->set_time_zone("America/New_York");
  EXPECT_TRUE(v_.Check(f).ok());
  f.mutable_request()->set_time_zone("Mars/Olympus");
  ExpectBad(v_.Check(f), "request.time_zone");
  f.mutable_request()->set_time_zone("../../etc/passwd");
  ExpectBad(v_.Check(f), "request.time_zone");
}

TEST_F(ValidateTest, NotesAtMost4KiB) {
  pb::TransferContactRequest t;
  t.set_contact_id("c-1");
  t.set_queue("d00.general");
  ExpectBad(v_.Check(t), "handoff_note");
  t.set_handoff_note(std::string(4096, 'n'));
  EXPECT_TRUE(v_.Check(t).ok());
  t.set_handoff_note(std::string(4097, 'n'));
  ExpectBad(v_.Check(t), "handoff_note");
  t.set_handoff_note("line one\nline two");
  EXPECT_TRUE(v_.Check(t).ok());
  t.clear_queue();
  ExpectBad(v_.Check(t), "target");
}

TEST_F(ValidateTest, TransferTarget) {
  pb::TransferContactRequest t;
  t.set_contact_id("c-1");
  t.set_handoff_note("n");
  t.set_queue("nowhere");
  ExpectBad(v_.Check(t), "queue");
  t.set_agent_id("a\x01");
  ExpectBad(v_.Check(t), "agent_id");
  t.set_agent_id(std::string(129, 'a'));
  ExpectBad(v_.Check(t), "agent_id");
  t.set_agent_id("a2");
  EXPECT_TRUE(v_.Check(t).ok());
  t.clear_contact_id();
  ExpectBad(v_.Check(t), "contact_id");
}

TEST_F(ValidateTest, AgentActions) {
  pb::AgentRequest r;
  ExpectBad(v_.Check(r), "action");
  auto* login = r.mutable_login();
  login->mutable_agent()->set_id("a1");
  login->mutable_agent()->set_domain("d00");
  auto* s = login->mutable_agent()->add_skills();
  s->set_skill("general");
  s->set_proficiency(3);
  EXPECT_TRUE(v_.Check(r).ok());
  login->mutable_agent()->set_domain("d99");
  ExpectBad(v_.Check(r), "login.agent.domain");
  login->mutable_agent()->set_domain("d00");
  s->set_proficiency(0);
  ExpectBad(v_.Check(r), "login.agent.skills[0].proficiency");
  s->set_proficiency(3);
  login->add_capacities()->set_channel(pb::CHANNEL_UNSPECIFIED);
  ExpectBad(v_.Check(r), "login.capacities[0].channel");
  pb::AgentRequest nr;
  nr.mutable_not_ready();
  ExpectBad(v_.Check(nr), "not_ready.reason");
  pb::AgentRequest acc;
  acc.mutable_accept()->set_contact_id("c-1");
  ExpectBad(v_.Check(acc), "accept.attempt");
  pb::AgentRequest wrap;
  wrap.mutable_wrap_up()->set_contact_id("c-1");
  ExpectBad(v_.Check(wrap), "wrap_up.disposition");
}

TEST_F(ValidateTest, FollowUpListCancelOutcome) {
  ExpectBad(v_.Check(pb::ListFollowUpsRequest()), "customer_id");
  pb::ListFollowUpsRequest list;
  list.set_owner("a1");
  list.set_page_size(5000);
  ExpectBad(v_.Check(list), "page_size");
  pb::CancelFollowUpRequest cancel;
  cancel.set_task_id("t1");
  ExpectBad(v_.Check(cancel), "reason");
  pb::RecordOutcomeRequest outcome;
  outcome.mutable_outcome()->set_task_id("t1");
  outcome.mutable_outcome()->set_attempt(1);
  ExpectBad(v_.Check(outcome), "outcome.outcome");
  outcome.mutable_outcome()->set_outcome(pb::ATTEMPT_OUTCOME_TIMED_OUT);
  ExpectBad(v_.Check(outcome), "outcome.outcome");
  outcome.mutable_outcome()->set_outcome(pb::ATTEMPT_OUTCOME_ANSWERED);
  EXPECT_TRUE(v_.Check(outcome).ok());
  list.set_page_size(10);
  list.set_page_token("cb-1/return-visit");
  EXPECT_TRUE(v_.Check(list).ok());
  list.set_page_token("not a token");
  ExpectBad(v_.Check(list), "page_token");
}

TEST_F(ValidateTest, AdminRequests) {
  pb::ApplyConfigRequest apply;
  ExpectBad(v_.Check(apply), "config");
  *apply.mutable_config() = v_.config();
  EXPECT_TRUE(v_.Check(apply).ok());
  apply.mutable_config()->mutable_queues(0)->set_strategy(pb::STRATEGY_UNSPECIFIED);
  ExpectBad(v_.Check(apply), "config.queues[0].strategy");
  pb::QueueStatsRequest stats;
  stats.add_queues("nope");
  ExpectBad(v_.Check(stats), "queues[0]");
  pb::ReportRequest report;
  report.set_from_day("2026-01-02");
  report.set_to_day("2026-01-01");
  ExpectBad(v_.Check(report), "to_day");
  report.set_from_day("2026-13-01");
  ExpectBad(v_.Check(report), "from_day");
  ExpectBad(v_.Check(pb::DrainRequest()), "node_id");
}

}  // namespace
}  // namespace sb::gateway
