// Every entry point of a follow-up request gives one corpus the same verdicts: the gateway's
// FollowUpService.Create validation and the shard's scheduler (which refused, after the API had
// answered OK, what the gateway let through: a 100-byte surname, a 3,000-byte note, a request id
// with '#', a missing customer id, a return visit without its kind...).
#include "common/validate/followup_request.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/config/config.h"
#include "router/followup/scheduler.h"
#include "router/followup/settings.h"
#include "router/gateway/validate.h"

namespace sb::validate {
namespace {

constexpr int64_t kNow = 1772416800000;  // 2026-03-02 02:00 UTC
constexpr char kConfig[] = R"(
skills: [{name: general}]
domains: [{name: d00}]
queues: [{name: callbacks, domain: d00, strategy: LONGEST_IDLE, offer_timeout_s: 30, required_skills: [{skill: general, min_proficiency: 1}]}]
)";

pb::FollowUpRequest Base(pb::FollowUpKind kind) {
  pb::FollowUpRequest r;
  r.set_request_id("req-1");
  r.set_kind(kind);
  r.set_customer_id("cust-1");
  r.set_customer_phone("+8613800000000");
  r.set_customer_surname("Wang");
  if (kind == pb::FOLLOW_UP_KIND_RETURN_VISIT)
    r.set_return_visit_kind(pb::RETURN_VISIT_KIND_SURVEY);
  if (kind == pb::FOLLOW_UP_KIND_REPAIR_STAGE) r.set_repair_area(pb::REPAIR_AREA_URBAN);
  if (kind == pb::FOLLOW_UP_KIND_DEPARTMENT_FEEDBACK) {
    r.set_department("claims");
    r.set_deadline_at_ms(kNow + 86'400'000);
  }
  return r;
}

struct Case {
  std::string name;
  pb::FollowUpRequest request;
};

// Each kind as it should be, and each with one field broken or at its edge.
std::vector<Case> Corpus() {
  using Edit = std::function<void(pb::FollowUpRequest*)>;
  const std::vector<std::pair<std::string, Edit>> edits = {
      {"as is", [](pb::FollowUpRequest*) {}},
      {"no request id", [](pb::FollowUpRequest* r) { r->clear_request_id(); }},
      {"request id with #", [](pb::FollowUpRequest* r) { r->set_request_id("a#b"); }},
      {"request id 128", [](pb::FollowUpRequest* r) { r->set_request_id(std::string(128, 'r')); }},
      {"request id 129", [](pb::FollowUpRequest* r) { r->set_request_id(std::string(129, 'r')); }},
      {"no customer id", [](pb::FollowUpRequest* r) { r->clear_customer_id(); }},
      {"customer id tab", [](pb::FollowUpRequest* r) { r->set_customer_id("a\tb"); }},
      {"no phone", [](pb::FollowUpRequest* r) { r->clear_customer_phone(); }},
      {"phone with spaces", [](pb::FollowUpRequest* r) { r->set_customer_phone("+86 138 0000"); }},
      {"no surname", [](pb::FollowUpRequest* r) { r->clear_customer_surname(); }},
      {"surname 64", [](pb::FollowUpRequest* r) { r->set_customer_surname(std::string(64, 's')); }},
      {"surname 100",
       [](pb::FollowUpRequest* r) { r->set_customer_surname(std::string(100, 's')); }},
      {"note 2000 with newlines",
       [](pb::FollowUpRequest* r) { r->set_note(std::string(1999, 'n') + "\n"); }},
      {"note 3000", [](pb::FollowUpRequest* r) { r->set_note(std::string(3000, 'n')); }},
      {"note with NUL", [](pb::FollowUpRequest* r) { r->set_note(std::string("a\0b", 3)); }},
      {"zone known", [](pb::FollowUpRequest* r) { r->set_time_zone("America/New_York"); }},
      {"zone unknown", [](pb::FollowUpRequest* r) { r->set_time_zone("Mars/Olympus"); }},
      {"zone a path", [](pb::FollowUpRequest* r) { r->set_time_zone("/dev/stdin"); }},
      {"queue known", [](pb::FollowUpRequest* r) { r->set_queue("callbacks"); }},
      {"queue bad name", [](pb::FollowUpRequest* r) { r->set_queue("call backs"); }},
      {"unknown kind",
       [](pb::FollowUpRequest* r) { r->set_kind(static_cast<pb::FollowUpKind>(99)); }},
      {"unspecified kind", [](pb::FollowUpRequest* r) { r->clear_kind(); }},
      {"unknown visit kind",
       [](pb::FollowUpRequest* r) {
         r->set_return_visit_kind(static_cast<pb::ReturnVisitKind>(42));
       }},
      {"no visit kind", [](pb::FollowUpRequest* r) { r->clear_return_visit_kind(); }},
      {"no repair area", [](pb::FollowUpRequest* r) { r->clear_repair_area(); }},
      {"no department", [](pb::FollowUpRequest* r) { r->clear_department(); }},
      {"no deadline", [](pb::FollowUpRequest* r) { r->clear_deadline_at_ms(); }},
      {"deadline passed", [](pb::FollowUpRequest* r) { r->set_deadline_at_ms(kNow - 1); }},
      {"due in seconds", [](pb::FollowUpRequest* r) { r->set_due_at_ms(kNow / 1000 + 60); }},
      {"due in 2150", [](pb::FollowUpRequest* r) { r->set_due_at_ms(5'680'281'600'000); }},
      {"window before due",
       [](pb::FollowUpRequest* r) {
         r->set_due_at_ms(kNow + 3'600'000);
         r->set_window_end_ms(kNow + 1'800'000);
       }},
      {"window passed", [](pb::FollowUpRequest* r) { r->set_window_end_ms(kNow - 1); }},
      {"owner 129", [](pb::FollowUpRequest* r) { r->set_owner(std::string(129, 'o')); }},
      {"preferred agent newline", [](pb::FollowUpRequest* r) { r->set_preferred_agent("a\nb"); }},
      {"event key 129", [](pb::FollowUpRequest* r) { r->set_event_key(std::string(129, 'e')); }},
  };
  std::vector<Case> corpus;
  for (int k = pb::FOLLOW_UP_KIND_CALLBACK; k <= pb::FOLLOW_UP_KIND_DEPARTMENT_FEEDBACK; ++k) {
    const auto kind = static_cast<pb::FollowUpKind>(k);
    for (const auto& [name, edit] : edits) {
      pb::FollowUpRequest r = Base(kind);
      edit(&r);
      corpus.push_back({pb::FollowUpKind_Name(kind) + ", " + name, r});
    }
  }
  return corpus;
}

// The field a refusal names ("field request.note: ..." → "note").
std::string FieldOf(const Status& st, std::string_view prefix) {
  const std::string m = st.message();
  const std::string head = "field " + std::string(prefix);
  if (m.rfind(head, 0) != 0) return "?" + m;
  return m.substr(head.size(), m.find(':') - head.size());
}

TEST(FollowUpRequestTest, TheGatewayAndTheSchedulerGiveEveryRequestTheSameVerdict) {
  auto routing = config::ParseRoutingConfig(kConfig);
  ASSERT_TRUE(routing.ok()) << routing.status().ToString();
  const gateway::Validator gateway(*routing);
  pb::FollowUpConfig fc;
  followup::ApplyDefaults(&fc);
  auto settings = followup::Settings::Resolve(fc);
  ASSERT_TRUE(settings.ok()) << settings.status().ToString();
  ManualClock clock(kNow);
  int accepted = 0, refused = 0;
  for (const Case& c : Corpus()) {
    pb::CreateFollowUpRequest create;
    *create.mutable_request() = c.request;
    const Status at_api = gateway.Check(create, kNow);
    auto scheduler = followup::Scheduler::Create(*settings, &clock);
    followup::Effects effects;
    const Result<std::string> at_shard = scheduler->Submit(c.request, &effects);
    ASSERT_EQ(at_api.ok(), at_shard.ok())
        << c.name << ": API " << at_api.ToString() << ", scheduler "
        << (at_shard.ok() ? "OK" : at_shard.status().ToString());
    if (at_api.ok()) {
      ++accepted;
      continue;
    }
    ++refused;
    EXPECT_EQ(at_api.code(), Code::kInvalidArgument) << c.name;
    EXPECT_EQ(FieldOf(at_api, "request."), FieldOf(at_shard.status(), "")) << c.name;
    EXPECT_EQ(at_api.message().find("138"), std::string::npos)
        << c.name << ": " << at_api.message();
  }
  // Both verdicts occur for every kind (the corpus is not all one way).
  EXPECT_GE(accepted, 6 * 8) << "accepted " << accepted;
  EXPECT_GE(refused, 6 * 15) << "refused " << refused;
}

TEST(FollowUpRequestTest, RequestIdsAreLettersDigitsAndFewMarks) {
  EXPECT_TRUE(ValidRequestId("crm-7:case/2026.03_01"));
  EXPECT_FALSE(ValidRequestId(""));
  EXPECT_FALSE(ValidRequestId("a b"));
  EXPECT_FALSE(ValidRequestId("a#1"));
  EXPECT_FALSE(ValidRequestId(std::string(129, 'a')));
}

}  // namespace
}  // namespace sb::validate
