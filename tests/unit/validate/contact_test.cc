// Every entry point of a contact and of an agent login gives one corpus the same verdicts: the
// gateway's ContactService.Submit / AgentService.Session validation and the routing engine, which
// also applies records on sb.contacts and sb.agent-events that no gateway wrote (it accepted,
// before common/validate, ids of any length, any number of attributes of any size, and more
// than 64 skills, which the API refused).
#include "common/validate/contact.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/config/config.h"
#include "router/engine/engine.h"
#include "router/gateway/validate.h"

namespace sb::validate {
namespace {

constexpr char kConfig[] = R"(
skills: [{name: general}, {name: english}]
domains: [{name: d00}]
queues: [{name: d00.general, domain: d00, strategy: LONGEST_IDLE, offer_timeout_s: 30,
          required_skills: [{skill: general, min_proficiency: 1}]}]
)";

std::string FieldOf(const Status& st, std::string_view prefix) {
  const std::string m = st.message();
  const std::string head = "field " + std::string(prefix);
  if (m.rfind(head, 0) != 0) return "?" + m;
  return m.substr(head.size(), m.find(':') - head.size());
}

pb::Contact BaseContact() {
  pb::Contact c;
  c.set_idempotency_key("key-1");
  c.set_queue("d00.general");
  c.set_channel(pb::CHANNEL_CHAT);
  c.set_customer_id("cust-1");
  c.set_created_at_ms(1772416800000);
  (*c.mutable_attributes())["topic"] = "billing";
  return c;
}

pb::Agent BaseAgent() {
  pb::Agent a;
  a.set_id("a1");
  a.set_domain("d00");
  auto* s = a.add_skills();
  s->set_skill("general");
  s->set_proficiency(3);
  return a;
}

template <typename T>
using Corpus = std::vector<std::pair<std::string, std::function<void(T*)>>>;

Corpus<pb::Contact> ContactEdits() {
  return {
      {"as is", [](pb::Contact*) {}},
      {"no queue", [](pb::Contact* c) { c->clear_queue(); }},
      {"unknown queue", [](pb::Contact* c) { c->set_queue("nowhere"); }},
      {"no channel", [](pb::Contact* c) { c->clear_channel(); }},
      {"channel 99", [](pb::Contact* c) { c->set_channel(static_cast<pb::Channel>(99)); }},
      {"priority 99", [](pb::Contact* c) { c->set_priority(static_cast<pb::Priority>(99)); }},
      {"origin 99", [](pb::Contact* c) { c->set_origin(static_cast<pb::Origin>(99)); }},
      {"segment 99", [](pb::Contact* c) { c->set_segment(static_cast<pb::Segment>(99)); }},
      {"unknown skill", [](pb::Contact* c) { c->add_required_skills()->set_skill("plumbing"); }},
      {"proficiency 6",
       [](pb::Contact* c) {
         auto* s = c->add_required_skills();
         s->set_skill("english");
         s->set_min_proficiency(6);
       }},
      {"64 skills",
       [](pb::Contact* c) {
         for (int i = 0; i < 64; ++i) {
           auto* s = c->add_required_skills();
           s->set_skill("english");
           s->set_min_proficiency(1);
         }
       }},
      {"65 skills",
       [](pb::Contact* c) {
         for (int i = 0; i < 65; ++i) {
           auto* s = c->add_required_skills();
           s->set_skill("english");
           s->set_min_proficiency(1);
         }
       }},
      {"unknown language", [](pb::Contact* c) { c->set_language("klingon"); }},
      {"language", [](pb::Contact* c) { c->set_language("english"); }},
      {"preferred agent 129",
       [](pb::Contact* c) { c->set_preferred_agent(std::string(129, 'a')); }},
      {"customer id with newline", [](pb::Contact* c) { c->set_customer_id("a\nb"); }},
      {"customer id 128", [](pb::Contact* c) { c->set_customer_id(std::string(128, 'c')); }},
      {"created 1970", [](pb::Contact* c) { c->set_created_at_ms(1000); }},
      {"created 2200", [](pb::Contact* c) { c->set_created_at_ms(7258118400000); }},
      {"32 attributes",
       [](pb::Contact* c) {
         for (int i = 1; i < 32; ++i) (*c->mutable_attributes())["k" + std::to_string(i)] = "v";
       }},
      {"33 attributes",
       [](pb::Contact* c) {
         for (int i = 1; i < 33; ++i) (*c->mutable_attributes())["k" + std::to_string(i)] = "v";
       }},
      {"attribute value 4096",
       [](pb::Contact* c) { (*c->mutable_attributes())["v"] = std::string(4096, 'x'); }},
      {"attribute value 4097",
       [](pb::Contact* c) { (*c->mutable_attributes())["v"] = std::string(4097, 'x'); }},
      {"attribute value with escape",
       [](pb::Contact* c) { (*c->mutable_attributes())["v"] = "a\x1b[31m"; }},
      {"attribute key 129",
       [](pb::Contact* c) { (*c->mutable_attributes())[std::string(129, 'k')] = "v"; }},
      {"empty attribute key", [](pb::Contact* c) { (*c->mutable_attributes())[""] = "v"; }},
  };
}

Corpus<pb::Agent> AgentEdits() {
  return {
      {"as is", [](pb::Agent*) {}},
      {"no id", [](pb::Agent* a) { a->clear_id(); }},
      {"id 129", [](pb::Agent* a) { a->set_id(std::string(129, 'a')); }},
      {"id with escape", [](pb::Agent* a) { a->set_id("a\x1b"); }},
      {"unknown domain", [](pb::Agent* a) { a->set_domain("d99"); }},
      {"no domain", [](pb::Agent* a) { a->clear_domain(); }},
      {"unknown skill", [](pb::Agent* a) { a->mutable_skills(0)->set_skill("plumbing"); }},
      {"proficiency 0", [](pb::Agent* a) { a->mutable_skills(0)->set_proficiency(0); }},
      {"proficiency 5", [](pb::Agent* a) { a->mutable_skills(0)->set_proficiency(5); }},
      {"65 skills",
       [](pb::Agent* a) {
         for (int i = 0; i < 64; ++i) *a->add_skills() = a->skills(0);
       }},
      {"capacity 10000", [](pb::Agent* a) { a->set_capacity_units(10000); }},
      {"capacity 10001", [](pb::Agent* a) { a->set_capacity_units(10001); }},
  };
}

class SameVerdictTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto routing = config::ParseRoutingConfig(kConfig);
    ASSERT_TRUE(routing.ok()) << routing.status().ToString();
    routing_ = *routing;
  }
  std::unique_ptr<engine::Engine> NewEngine() {
    auto engine = engine::Engine::Create(routing_, &clock_);
    EXPECT_TRUE(engine.ok()) << engine.status().ToString();
    return std::move(*engine);
  }
  // Both verdicts agree; a refusal names the same field at both.
  void Expect(const std::string& name, const Status& at_api, std::string_view api_prefix,
              const Status& at_engine, std::string_view engine_prefix, int* refused) {
    ASSERT_EQ(at_api.ok(), at_engine.ok())
        << name << ": API " << at_api.ToString() << ", engine " << at_engine.ToString();
    if (at_api.ok()) return;
    ++*refused;
    EXPECT_EQ(at_api.code(), Code::kInvalidArgument) << name;
    EXPECT_EQ(at_engine.code(), Code::kInvalidArgument) << name;
    EXPECT_EQ(FieldOf(at_api, api_prefix), FieldOf(at_engine, engine_prefix)) << name;
  }

  pb::RoutingConfig routing_;
  ManualClock clock_{1772416800000};
};

TEST_F(SameVerdictTest, ContactsAtTheApiAndAtTheEngine) {
  const gateway::Validator api(routing_);
  int refused = 0;
  const auto edits = ContactEdits();
  for (const auto& [name, edit] : edits) {
    pb::SubmitContactRequest submit;
    *submit.mutable_contact() = BaseContact();
    edit(submit.mutable_contact());
    pb::Contact arriving = submit.contact();
    arriving.set_id("c-1");  // a record carries its id; the API derives it
    engine::Decisions out;
    Expect(name, api.Check(submit), "contact.", NewEngine()->ContactArrived(arriving, &out),
           "contact.", &refused);
  }
  EXPECT_GT(refused, 10);
  EXPECT_LT(refused, static_cast<int>(edits.size()) - 5);
}

TEST_F(SameVerdictTest, AgentLoginsAtTheApiAndAtTheEngine) {
  const gateway::Validator api(routing_);
  int refused = 0;
  const auto edits = AgentEdits();
  for (const auto& [name, edit] : edits) {
    pb::AgentRequest login;
    *login.mutable_login()->mutable_agent() = BaseAgent();
    edit(login.mutable_login()->mutable_agent());
    engine::Decisions out;
    Expect(name, api.Check(login), "login.agent.",
           NewEngine()->AgentLogin(login.login().agent(), true, &out), "agent.", &refused);
  }
  EXPECT_GT(refused, 6);
}

// What only a record can carry: the router's own attributes (a forward between shards), and the
// id; what only the API refuses: a caller setting them.
TEST_F(SameVerdictTest, ReservedAttributesAndIds) {
  const gateway::Validator api(routing_);
  pb::Contact c = BaseContact();
  (*c.mutable_attributes())["sb.forwarded_from"] = "3";
  const KnownNames known{.queue = [](std::string_view q) { return q == "d00.general"; },
                         .skill = [](std::string_view) { return true; },
                         .domain = [](std::string_view) { return true; }};
  EXPECT_TRUE(CheckContact(c, known, Source::kCluster).ok());
  Status caller = CheckContact(c, known, Source::kCaller);
  EXPECT_NE(caller.message().find("reserved"), std::string::npos) << caller.ToString();
  pb::SubmitContactRequest submit;
  *submit.mutable_contact() = c;
  EXPECT_EQ(FieldOf(api.Check(submit), "contact."), "attributes");
  EXPECT_TRUE(CheckContactId(std::string(256, 'i')).ok());
  EXPECT_FALSE(CheckContactId(std::string(257, 'i')).ok());
  EXPECT_FALSE(CheckContactId("").ok());
  c.set_id(std::string(257, 'i'));
  engine::Decisions out;
  EXPECT_EQ(FieldOf(NewEngine()->ContactArrived(c, &out), ""), "contact.id");
}

}  // namespace
}  // namespace sb::validate
