// Shared fixture for routing-engine unit tests: a small config built in code, a manual clock, and
// helpers that fail the test on unexpected errors.
#pragma once

#include <gtest/gtest.h>

#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "router/engine/engine.h"

namespace sb::engine::testing {

namespace pb = ::switchboard::v1;

// Queue "sales" needs sales>=1, "support" needs support>=3; both in domain "d1", longest-idle,
// offer timeout 10 s, ACW limit 30 s. Skills: sales, support, billing, english, french.
inline pb::RoutingConfig BaseConfig() {
  pb::RoutingConfig cfg;
  for (const char* s : {"sales", "support", "billing", "english", "french"})
    cfg.add_skills()->set_name(s);
  cfg.add_domains()->set_name("d1");
  cfg.add_domains()->set_name("d2");
  auto add_queue = [&](const char* name, const char* skill, uint32_t min) {
    pb::QueueDef* q = cfg.add_queues();
    q->set_name(name);
    q->set_domain("d1");
    q->set_strategy(pb::STRATEGY_LONGEST_IDLE);
    auto* r = q->add_required_skills();
    r->set_skill(skill);
    r->set_min_proficiency(min);
    q->set_service_level_threshold_s(20);
    q->set_service_level_target(0.8);
    q->set_offer_timeout_s(10);
    q->set_acw_limit_s(30);
    return q;
  };
  add_queue("sales", "sales", 1);
  add_queue("support", "support", 3);
  cfg.mutable_capacity()->set_agent_units(100);
  auto cost = [&](pb::Channel ch, uint32_t units) {
    auto* c = cfg.mutable_capacity()->add_costs();
    c->set_channel(ch);
    c->set_units(units);
  };
  cost(pb::CHANNEL_VOICE, 100);
  cost(pb::CHANNEL_CALLBACK, 100);
  cost(pb::CHANNEL_CHAT, 34);
  cost(pb::CHANNEL_EMAIL, 20);
  cost(pb::CHANNEL_TASK, 25);
  cfg.set_short_abandon_s(5);
  return cfg;
}

// Agent `id` of d1 with sales at proficiency 3; capacity: the default 100 units (one voice call).
inline pb::Agent SalesAgent(const std::string& id) {
  pb::Agent a;
  a.set_id(id);
  a.set_domain("d1");
  auto* l = a.add_skills();
  l->set_skill("sales");
  l->set_proficiency(3);
  return a;
}

inline pb::QueueDef* FindQueue(pb::RoutingConfig& cfg, const std::string& name) {
  for (auto& q : *cfg.mutable_queues()) {
    if (q.name() == name) return &q;
  }
  return nullptr;
}

class EngineTest : public ::testing::Test {
 protected:
  void Build(const pb::RoutingConfig& cfg) {
    config_ = cfg;
    auto e = Engine::Create(cfg, &clock_);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    engine_ = std::move(e).value();
  }
  void SetUp() override { Build(BaseConfig()); }

  // Logs an agent in with skills {name, proficiency}; returns the decisions it caused.
  Decisions Login(const std::string& id, std::initializer_list<std::pair<const char*, int>> skills,
                  bool ready = true, const std::string& domain = "d1", uint32_t capacity = 0) {
    pb::Agent a;
    a.set_id(id);
    a.set_domain(domain);
    a.set_capacity_units(capacity);
    for (const auto& [s, p] : skills) {
      auto* l = a.add_skills();
      l->set_skill(s);
      l->set_proficiency(p);
    }
    Decisions out;
    Status st = engine_->AgentLogin(a, ready, &out);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return out;
  }

  static pb::Contact MakeContact(const std::string& id, const std::string& queue,
                                 pb::Channel channel = pb::CHANNEL_VOICE) {
    pb::Contact c;
    c.set_id(id);
    c.set_queue(queue);
    c.set_channel(channel);
    return c;
  }

  Decisions Arrive(const pb::Contact& c) {
    Decisions out;
    Status st = engine_->ContactArrived(c, &out);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return out;
  }
  Decisions Arrive(const std::string& id, const std::string& queue,
                   pb::Channel channel = pb::CHANNEL_VOICE) {
    return Arrive(MakeContact(id, queue, channel));
  }

  // Runs an engine call that must succeed; returns its decisions.
  template <typename F>
  Decisions Do(F&& call) {
    Decisions out;
    Status st = call(&out);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return out;
  }
  Decisions Accept(const std::string& agent, const std::string& contact) {
    return Do([&](Decisions* o) { return engine_->OfferAccepted(agent, contact, 0, o); });
  }
  Decisions Reject(const std::string& agent, const std::string& contact) {
    return Do([&](Decisions* o) { return engine_->OfferRejected(agent, contact, 0, o); });
  }
  Decisions End(const std::string& contact) {
    return Do([&](Decisions* o) { return engine_->ContactEnded(contact, o); });
  }
  Decisions WrapUp(const std::string& agent, const std::string& contact = "") {
    return Do([&](Decisions* o) { return engine_->WrapUpDone(agent, contact, o); });
  }
  Decisions Ready(const std::string& agent) {
    return Do([&](Decisions* o) { return engine_->AgentReady(agent, o); });
  }
  Decisions NotReady(const std::string& agent, const std::string& reason = "break") {
    return Do([&](Decisions* o) { return engine_->AgentNotReady(agent, reason, o); });
  }
  Decisions Advance(int64_t ms) {
    clock_.AdvanceMs(ms);
    Decisions out;
    engine_->Tick(&out);
    return out;
  }
  // Offers a connected contact to `agent` and connects it: helper to make an agent busy.
  void Connect(const std::string& agent, const std::string& contact) { Accept(agent, contact); }

  static std::vector<Decision> OfType(const Decisions& d, pb::DecisionType type) {
    std::vector<Decision> out;
    for (const auto& x : d) {
      if (x.type == type) out.push_back(x);
    }
    return out;
  }
  // The single offer among `d`; fails the test if there is not exactly one.
  static Decision OnlyOffer(const Decisions& d) {
    auto offers = OfType(d, pb::DECISION_OFFER);
    EXPECT_EQ(offers.size(), 1u) << "decisions: " << Describe(d);
    return offers.empty() ? Decision{} : offers[0];
  }
  static std::string Describe(const Decisions& d) {
    std::string s;
    for (const auto& x : d) {
      s += pb::DecisionType_Name(x.type) + "(" + x.contact_id + "->" + x.agent_id + ", " +
           pb::DecisionReason_Name(x.reason) + ") ";
    }
    return s;
  }
  pb::ContactState StateOf(const std::string& contact) {
    auto v = engine_->GetContact(contact);
    return v.ok() ? v->state : pb::CONTACT_STATE_UNSPECIFIED;
  }
  pb::AgentState AgentStateOf(const std::string& agent) {
    auto v = engine_->GetAgent(agent);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? v->state : pb::AGENT_STATE_UNSPECIFIED;
  }
  const pb::QueueStats& Stats(const std::string& queue) {
    summary_ = engine_->Summarize();
    for (const auto& q : summary_.queues) {
      if (q.name == queue) return q.stats;
    }
    ADD_FAILURE() << "no queue " << queue;
    return summary_.queues[0].stats;
  }

  ManualClock clock_{1'700'000'000'000};
  pb::RoutingConfig config_;
  std::unique_ptr<Engine> engine_;
  Summary summary_;
};

}  // namespace sb::engine::testing
