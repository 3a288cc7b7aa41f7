// The router probe fed the way a shard feeds it (BeforeEvent, engine Apply, AfterEvent) by a real
// engine on a manual clock, read back as a scrape (the Prometheus text format).
#include "router/shard/probe.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <sstream>

#include "common/metrics/server.h"
#include "unit/engine/engine_fixture.h"

namespace sb::shard {
namespace {

namespace pb = ::switchboard::v1;
using engine::testing::BaseConfig;

// One sample line of a scrape: name{labels} value.
struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

std::vector<Sample> Parse(const std::string& text) {
  std::vector<Sample> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    Sample s;
    const size_t brace = line.find('{');
    const size_t space = line.rfind(' ');
    if (brace != std::string::npos && brace < space) {
      s.name = line.substr(0, brace);
      const size_t close = line.rfind('}');
      std::string labels = line.substr(brace + 1, close - brace - 1);
      // name="value",name="value" (values here have no quotes or commas)
      for (size_t pos = 0; pos < labels.size();) {
        const size_t eq = labels.find('=', pos);
        const size_t end = labels.find('"', eq + 2);
        s.labels[labels.substr(pos, eq - pos)] = labels.substr(eq + 2, end - eq - 2);
        pos = end + 2;
      }
    } else {
      s.name = line.substr(0, space);
    }
    s.value = std::stod(line.substr(space + 1));
    out.push_back(std::move(s));
  }
  return out;
}

class ProbeTest : public engine::testing::EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    probe_ = std::make_unique<RouterProbe>(registry_, config_);
    shard_ = probe_->ForShard(0);
  }

  // What Shard::OnInput does around the engine.
  Status Apply(const pb::RoutingEvent& e) {
    engine::Decisions out;
    shard_->BeforeEvent(e, *engine_);
    Status st = engine_->Apply(e, &out);
    shard_->AfterEvent(e, st, *engine_);
    return st;
  }
  void Ok(const pb::RoutingEvent& e) {
    Status st = Apply(e);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  void ArriveEv(const pb::Contact& c) {
    pb::RoutingEvent e;
    *e.mutable_contact_arrived()->mutable_contact() = c;
    Ok(e);
  }
  void ArriveEv(const std::string& id, const std::string& queue = "sales") {
    ArriveEv(MakeContact(id, queue));
  }
  void LoginEv(const std::string& agent, const char* skill = "sales") {
    pb::RoutingEvent e;
    pb::Agent* a = e.mutable_agent_login()->mutable_agent();
    a->set_id(agent);
    a->set_domain("d1");
    auto* s = a->add_skills();
    s->set_skill(skill);
    s->set_proficiency(5);
    e.mutable_agent_login()->set_ready(true);
    Ok(e);
  }
  void AcceptEv(const std::string& agent, const std::string& contact) {
    pb::RoutingEvent e;
    e.mutable_offer_accepted()->set_agent_id(agent);
    e.mutable_offer_accepted()->set_contact_id(contact);
    Ok(e);
  }
  void AbandonEv(const std::string& contact) {
    pb::RoutingEvent e;
    e.mutable_contact_abandoned()->set_contact_id(contact);
    Ok(e);
  }
  void EndEv(const std::string& contact) {
    pb::RoutingEvent e;
    e.mutable_contact_ended()->set_contact_id(contact);
    Ok(e);
  }
  void WrapUpEv(const std::string& agent) {
    pb::RoutingEvent e;
    e.mutable_wrap_up_done()->set_agent_id(agent);
    Ok(e);
  }
  void LogoutEv(const std::string& agent) {
    pb::RoutingEvent e;
    e.mutable_agent_logout()->set_agent_id(agent);
    Ok(e);
  }
  void Publish() {
    RouterProbe::ShardSample s;
    s.partition = shard_->partition();
    s.probe = shard_;
    s.engine = engine_.get();
    probe_->Publish({s});
  }

  // The value of the one sample named `name` whose labels include `labels`; NaN (and a test
  // failure) when there is none or several.
  double Value(const std::string& name, const std::map<std::string, std::string>& labels = {}) {
    const std::string text = metrics::Scrape(registry_);
    const Sample* found = nullptr;
    int matches = 0;
    std::vector<Sample> samples = Parse(text);
    for (const Sample& s : samples) {
      if (s.name != name) continue;
      bool all = true;
      for (const auto& [k, v] : labels) {
        auto it = s.labels.find(k);
        all = all && it != s.labels.end() && it->second == v;
      }
      if (all) {
        found = &s;
        ++matches;
      }
    }
    EXPECT_EQ(matches, 1) << name << " in:\n" << text;
    return matches == 1 ? found->value : std::nan("");
  }
  bool Has(const std::string& name) {
    for (const Sample& s : Parse(metrics::Scrape(registry_))) {
      if (s.name == name) return true;
    }
    return false;
  }
  // The `le` label the exposition uses for a bucket bound of `seconds`.
  std::string Le(double seconds) {
    for (const Sample& s : Parse(metrics::Scrape(registry_))) {
      auto it = s.labels.find("le");
      if (it != s.labels.end() && it->second != "+Inf" && std::stod(it->second) == seconds) {
        return it->second;
      }
    }
    ADD_FAILURE() << "no bucket bound " << seconds;
    return "";
  }

  prometheus::Registry registry_;
  std::unique_ptr<RouterProbe> probe_;
  ShardProbe* shard_ = nullptr;
};

const std::map<std::string, std::string> kSales = {
    {"domain", "d1"}, {"queue", "sales"}, {"channel", "voice"}};

std::map<std::string, std::string> With(std::map<std::string, std::string> labels,
                                        const std::string& k, const std::string& v) {
  labels[k] = v;
  return labels;
}

TEST_F(ProbeTest, CountsOfferedAnsweredAndAbandonedWithShortAbandonsApart) {
  LoginEv("a1");
  ArriveEv("c1");  // offered to a1 at once
  clock_.AdvanceMs(8'000);
  AcceptEv("a1", "c1");  // answered after 8 s (within the offer timeout)
  ArriveEv("c2");        // a1 busy: waits
  ArriveEv("c3");
  clock_.AdvanceMs(3'000);
  AbandonEv("c2");  // 3 s < short_abandon_s (5 s)
  clock_.AdvanceMs(22'000);
  AbandonEv("c3");  // 25 s

  EXPECT_EQ(Value("sb_router_contacts_offered_total", kSales), 3);
  EXPECT_EQ(Value("sb_router_contacts_answered_total", kSales), 1);
  EXPECT_EQ(Value("sb_router_contacts_abandoned_total", With(kSales, "short", "true")), 1);
  EXPECT_EQ(Value("sb_router_contacts_abandoned_total", With(kSales, "short", "false")), 1);
  const auto answered = With(kSales, "outcome", "answered");
  EXPECT_EQ(Value("sb_router_wait_seconds_count", answered), 1);
  EXPECT_EQ(Value("sb_router_wait_seconds_sum", answered), 8);
  EXPECT_EQ(Value("sb_router_wait_seconds_count", With(kSales, "outcome", "abandoned")), 2);
  EXPECT_EQ(Value("sb_router_wait_seconds_sum", With(kSales, "outcome", "abandoned")), 28);
}

TEST_F(ProbeTest, WaitBucketsSitAtTheServiceLevelThresholdAndAgreeWithTheEngine) {
  // sales: SL threshold 20 s (the fixture); support: 42 s, a bound no default list has.
  pb::RoutingConfig cfg = BaseConfig();
  engine::testing::FindQueue(cfg, "support")->set_service_level_threshold_s(42);
  Build(cfg);
  probe_ = std::make_unique<RouterProbe>(registry_, config_);
  shard_ = probe_->ForShard(0);
  LoginEv("a1");
  // Answered at exactly 20 s (in SL, as the engine counts it), at 21 s (not), then an abandon.
  ArriveEv("c0");
  AcceptEv("a1", "c0");
  ArriveEv("c1");
  ArriveEv("c2");
  ArriveEv("c3");
  clock_.AdvanceMs(15'000);
  EndEv("c0");
  WrapUpEv("a1");  // a1 takes c1
  clock_.AdvanceMs(5'000);
  AcceptEv("a1", "c1");
  EndEv("c1");
  WrapUpEv("a1");  // a1 takes c2
  clock_.AdvanceMs(1'000);
  AcceptEv("a1", "c2");
  clock_.AdvanceMs(10'000);
  AbandonEv("c3");

  const auto answered = With(kSales, "outcome", "answered");
  EXPECT_EQ(Value("sb_router_wait_seconds_bucket", With(answered, "le", Le(20))), 2);  // c0, c1
  EXPECT_EQ(Value("sb_router_wait_seconds_bucket", With(answered, "le", Le(15))), 1);  // c0
  EXPECT_EQ(Value("sb_router_wait_seconds_bucket", With(answered, "le", Le(30))), 3);
  EXPECT_FALSE(Le(42).empty()) << "support's threshold is a bucket bound";
  EXPECT_FALSE(Le(5).empty()) << "the short-abandon threshold is a bucket bound";

  // SL(20) from the metrics = the engine's own service level (DESIGN.md: one definition).
  const double in_sl = Value("sb_router_wait_seconds_bucket", With(answered, "le", Le(20)));
  const double denominator =
      Value("sb_router_contacts_answered_total", kSales) +
      Value("sb_router_contacts_abandoned_total", With(kSales, "short", "false"));
  double engine_sl = -1;
  for (const auto& q : engine_->Summarize().queues) {
    if (q.name == "sales") engine_sl = q.service_level;
  }
  EXPECT_DOUBLE_EQ(in_sl / denominator, engine_sl);
  EXPECT_DOUBLE_EQ(engine_sl, 0.5);  // c0 and c1 of c0, c1, c2, c3
  // The same numerator counted directly, for queues whose threshold rules cannot know.
  EXPECT_EQ(Value("sb_router_contacts_answered_within_sl_total", kSales), in_sl);
  EXPECT_EQ(Value("sb_router_queue_sl_threshold_seconds", {{"domain", "d1"}, {"queue", "support"}}),
            42);
}

TEST_F(ProbeTest, TestContactsAndOutboundCampaignsStayOutOfServiceLevel) {
  LoginEv("a1");
  pb::Contact test = MakeContact("t1", "sales");
  test.mutable_flags()->set_test(true);
  pb::Contact outbound = MakeContact("o1", "sales");
  outbound.mutable_flags()->set_outbound(true);
  ArriveEv(test);  // offered to a1
  ArriveEv(outbound);
  clock_.AdvanceMs(6'000);
  AcceptEv("a1", "t1");
  AbandonEv("o1");
  EndEv("t1");

  EXPECT_EQ(Value("sb_router_contacts_excluded_total", With(kSales, "reason", "test")), 1);
  EXPECT_EQ(Value("sb_router_contacts_excluded_total", With(kSales, "reason", "outbound")), 1);
  for (const char* name : {"sb_router_contacts_offered_total", "sb_router_contacts_answered_total",
                           "sb_router_contacts_abandoned_total", "sb_router_wait_seconds_count",
                           "sb_router_handle_seconds_count", "sb_router_acw_seconds_count"}) {
    EXPECT_FALSE(Has(name)) << name << " counted a test or outbound contact";
  }
}

TEST_F(ProbeTest, ARequeuedContactIsAnsweredOnce) {
  LoginEv("a1");
  ArriveEv("c1");
  AcceptEv("a1", "c1");
  LogoutEv("a1");  // c1 back in the queue
  LoginEv("a2");   // takes c1
  AcceptEv("a2", "c1");
  EXPECT_EQ(Value("sb_router_contacts_answered_total", kSales), 1);
  EXPECT_EQ(Value("sb_router_contacts_offered_total", kSales), 1);
}

TEST_F(ProbeTest, RefusedEventsCountNothingButTheirLatency) {
  LoginEv("a1");
  ArriveEv("c1");
  pb::RoutingEvent again;
  *again.mutable_contact_arrived()->mutable_contact() = MakeContact("c1", "sales");
  EXPECT_FALSE(Apply(again).ok());  // already being routed
  pb::RoutingEvent unknown;
  unknown.mutable_offer_accepted()->set_agent_id("a1");
  unknown.mutable_offer_accepted()->set_contact_id("nobody");
  EXPECT_FALSE(Apply(unknown).ok());
  EXPECT_EQ(Value("sb_router_contacts_offered_total", kSales), 1);
  EXPECT_FALSE(Has("sb_router_contacts_answered_total"));
  EXPECT_EQ(Value("sb_router_decision_latency_seconds_count", {{"event", "contact_arrived"}}), 2);
  EXPECT_EQ(Value("sb_router_decision_latency_seconds_count", {{"event", "offer_accepted"}}), 1);
}

TEST_F(ProbeTest, HandleTimeIsTalkPlusAfterContactWork) {
  LoginEv("a1");
  LoginEv("a2");
  ArriveEv("c1");  // a1
  ArriveEv("c2");  // a2
  AcceptEv("a1", "c1");
  AcceptEv("a2", "c2");
  clock_.AdvanceMs(60'000);
  EndEv("c1");  // 60 s talk, then ACW (limit 30 s)
  EndEv("c2");
  clock_.AdvanceMs(10'000);
  WrapUpEv("a1");  // 10 s ACW
  EXPECT_EQ(Value("sb_router_acw_seconds_count", kSales), 1);
  EXPECT_EQ(Value("sb_router_acw_seconds_sum", kSales), 10);
  EXPECT_EQ(Value("sb_router_handle_seconds_sum", kSales), 70);

  // a2 never wraps up: the engine's limit ends the ACW at 30 s, on a tick between events.
  Advance(25'000);
  Publish();
  EXPECT_EQ(Value("sb_router_acw_seconds_count", kSales), 2);
  EXPECT_EQ(Value("sb_router_acw_seconds_sum", kSales), 40);
  EXPECT_EQ(Value("sb_router_handle_seconds_count", kSales), 2);
  EXPECT_EQ(Value("sb_router_handle_seconds_sum", kSales), 70 + 90);
  EXPECT_EQ(Value("sb_router_acw_seconds_bucket", With(kSales, "le", Le(30))), 2);
}

TEST_F(ProbeTest, GaugesShowQueuesAndAgentsNow) {
  LoginEv("a1");
  LoginEv("a2", "support");
  ArriveEv("c1");  // a1 reserved
  ArriveEv("c2");  // waits
  clock_.AdvanceMs(4'000);
  ArriveEv("c3");  // waits
  clock_.AdvanceMs(1'000);
  Publish();
  const std::map<std::string, std::string> sales = {{"domain", "d1"}, {"queue", "sales"}};
  EXPECT_EQ(Value("sb_router_waiting_contacts", sales), 2);
  EXPECT_EQ(Value("sb_router_oldest_wait_seconds", sales), 5);
  EXPECT_GT(Value("sb_router_estimated_wait_seconds", sales), 0);
  EXPECT_EQ(Value("sb_router_waiting_contacts", {{"queue", "support"}}), 0);
  EXPECT_EQ(Value("sb_router_agents", {{"domain", "d1"}, {"state", "reserved"}}), 1);
  EXPECT_EQ(Value("sb_router_agents", {{"domain", "d1"}, {"state", "ready"}}), 1);
  EXPECT_EQ(Value("sb_router_agents", {{"domain", "d2"}, {"state", "ready"}}), 0);
  EXPECT_EQ(Value("sb_router_capacity_used_units", {{"domain", "d1"}}), 100);
  EXPECT_EQ(Value("sb_router_capacity_total_units", {{"domain", "d1"}}), 200);
  EXPECT_EQ(Value("sb_router_shards_owned"), 1);

  AcceptEv("a1", "c1");
  clock_.AdvanceMs(10'000);
  NotReady("a2");  // accounts a2's ready time: 15 s ready
  EndEv("c1");     // accounts a1: 5 s reserved (busy), 10 s talk
  Publish();
  EXPECT_EQ(Value("sb_router_agents", {{"domain", "d1"}, {"state", "acw"}}), 1);
  EXPECT_EQ(Value("sb_router_agents", {{"domain", "d1"}, {"state", "not_ready"}}), 1);
  EXPECT_DOUBLE_EQ(Value("sb_router_occupancy_ratio", {{"domain", "d1"}}), 15.0 / 30.0);

  probe_->Publish({});  // the node released its shards
  EXPECT_EQ(Value("sb_router_waiting_contacts", sales), 0);
  EXPECT_EQ(Value("sb_router_shards_owned"), 0);
}

TEST_F(ProbeTest, QueueStatisticsCountFromTheClaimOn) {
  pb::RoutingConfig cfg = config_;
  engine::testing::FindQueue(cfg, "sales")->set_max_wait_s(10);
  Build(cfg);
  // The previous owner: one contact expired (in the engine's stats, restored with the shard).
  ArriveEv("c0");
  Advance(11'000);
  auto restored = engine::Engine::Restore(config_, &clock_, engine_->ExportState());
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  engine_ = std::move(*restored);
  shard_ = probe_->ForShard(0);  // claimed again
  ArriveEv("c1");
  ArriveEv("c2");
  Publish();
  Advance(11'000);  // both expire (no agent)
  Publish();
  EXPECT_EQ(Value("sb_router_contacts_expired_total", {{"queue", "sales"}}), 2);
}

TEST_F(ProbeTest, NoLabelCarriesAContactOrAgentId) {
  LoginEv("agent-7");
  ArriveEv("contact-42");
  AcceptEv("agent-7", "contact-42");
  EndEv("contact-42");
  WrapUpEv("agent-7");
  Publish();
  const std::string text = metrics::Scrape(registry_);
  EXPECT_EQ(text.find("agent-7"), std::string::npos) << text;
  EXPECT_EQ(text.find("contact-42"), std::string::npos) << text;
  for (const Sample& s : Parse(text)) {
    for (const auto& [k, v] : s.labels) {
      EXPECT_TRUE(k == "domain" || k == "queue" || k == "channel" || k == "short" ||
                  k == "outcome" || k == "reason" || k == "state" || k == "event" || k == "shard" ||
                  k == "le" || k == "quantile")
          << s.name << " has label " << k;
    }
  }
}

}  // namespace
}  // namespace sb::shard
