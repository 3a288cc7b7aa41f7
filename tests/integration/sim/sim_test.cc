// The simulator over the real engine: scenario loading and its errors, determinism, shifts,
// intraday profiles, and agreement between the simulator's figures and the engine's own.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "tools/sim/report.h"
#include "tools/sim/scenario.h"
#include "tools/sim/simulation.h"

namespace sb::sim {
namespace {

using ::testing::HasSubstr;

constexpr char kTwoShifts[] = R"yaml(
routing:
  skills: [{name: s}]
  domains: [{name: d}]
  queues:
    - {name: q, domain: d, strategy: LONGEST_IDLE, required_skills: [{skill: s, min_proficiency: 1}],
       offer_timeout_s: 10}
traffic:
  - {queue: q, arrivals_per_hour: 60, aht_s: 120}
agents:
  - {name: early, count: 3, skills: [{skill: s, proficiency: 1}], shifts: [{start: "08:00", end: "16:00"}]}
  - {name: night, count: 2, skills: [{skill: s, proficiency: 1}], shifts: [{start: "22:00", end: "02:00"}]}
start_time: "00:00"
hours: 24
)yaml";

pb::SimScenario MustParse(const std::string& text) {
  Result<pb::SimScenario> s = ParseScenario(text);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? *s : pb::SimScenario();
}

std::string ErrorOf(const std::string& text) {
  Result<pb::SimScenario> s = ParseScenario(text);
  return s.ok() ? "(accepted)" : s.status().message();
}

pb::SimScenario OneQueue(double rate, double aht, int agents, double patience = 0) {
  FlagScenario f;
  f.arrivals_per_hour = rate;
  f.aht_s = aht;
  f.agents = agents;
  f.patience_s = patience;
  pb::SimScenario s = ScenarioFromFlags(f);
  s.set_hours(20);
  s.set_seed(7);
  ApplyDefaults(&s);
  EXPECT_TRUE(Validate(s).ok()) << Validate(s).ToString();
  return s;
}

ReplicationResult MustRun(const pb::SimScenario& s, RunOptions o = {}) {
  Result<ReplicationResult> r = RunReplication(s, o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : ReplicationResult();
}

TEST(ScenarioTest, ErrorsNameTheField) {
  const std::string base = kTwoShifts;
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string s = base;
    s.replace(s.find(from), from.size(), to);
    return s;
  };
  EXPECT_EQ(ErrorOf(replace("arrivals_per_hour: 60", "arrivals_per_hour: -5")),
            "traffic[0].arrivals_per_hour: must not be negative (got -5)");
  EXPECT_EQ(ErrorOf(replace("{skill: s, proficiency: 1}], shifts: [{start: \"22",
                            "{skill: x, proficiency: 1}], shifts: [{start: \"22")),
            "agents[1].skills[0].skill: unknown skill \"x\" (not in routing.skills)");
  EXPECT_EQ(ErrorOf(replace("queue: q,", "queue: nope,")),
            "traffic[0].queue: unknown queue \"nope\" (not in routing.queues)");
  EXPECT_EQ(ErrorOf(replace("end: \"16:00\"", "end: \"24:00\"")),
            "agents[0].shifts[0].end: \"24:00\" is not a time of day HH:MM");
  EXPECT_EQ(ErrorOf(replace("hours: 24", "hours: 0")), "hours: must be positive");
  EXPECT_EQ(ErrorOf(replace("aht_s: 120", "aht_s: 0")), "traffic[0].aht_s: must be positive");
  EXPECT_EQ(ErrorOf(replace("count: 3", "count: 0")), "agents[0].count: must be at least 1");
  EXPECT_THAT(ErrorOf(replace("strategy: LONGEST_IDLE", "strategy: FASTEST")),
              HasSubstr("routing.queues[0].strategy: unknown value \"FASTEST\""));
  EXPECT_THAT(ErrorOf(replace("offer_timeout_s: 10", "offer_timeout_s: 0")),
              HasSubstr("routing.queues[0].offer_timeout_s"));
  EXPECT_THAT(ErrorOf(replace("hours: 24", "hourz: 24")), HasSubstr("hourz"));
  EXPECT_THAT(ErrorOf("traffic: [1, 2"), HasSubstr("scenario:"));
  EXPECT_EQ(ErrorOf("[]"), "scenario: the top level must be a mapping of fields");
}

TEST(ScenarioTest, MissingFileNamesThePath) {
  Result<pb::SimScenario> s = LoadScenarioFile("/nonexistent/scenario.yaml");
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("/nonexistent/scenario.yaml"));
}

TEST(ScenarioTest, OverridesWinOverTheFile) {
  Overrides o;
  o.hours = 3;
  o.replications = 4;
  Result<pb::SimScenario> s = ParseScenario(kTwoShifts, o);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->hours(), 3);
  EXPECT_EQ(s->replications(), 4u);
}

TEST(SimulationTest, SameSeedSameRunOtherSeedOtherRun) {
  const pb::SimScenario s = OneQueue(300, 120, 12, 60);
  const ReplicationResult a = MustRun(s, {.seed = 3, .strategy = std::nullopt});
  const ReplicationResult b = MustRun(s, {.seed = 3, .strategy = std::nullopt});
  const ReplicationResult c = MustRun(s, {.seed = 4, .strategy = std::nullopt});
  EXPECT_EQ(a.total.offered, b.total.offered);
  EXPECT_EQ(a.total.answered_in_threshold, b.total.answered_in_threshold);
  EXPECT_EQ(a.total.answered_wait_s, b.total.answered_wait_s);
  EXPECT_NE(a.total.answered_wait_s, c.total.answered_wait_s);
}

TEST(SimulationTest, StrategiesSeeTheSameContacts) {
  const pb::SimScenario s = OneQueue(300, 120, 12, 60);
  const ReplicationResult li = MustRun(s, {.seed = 5, .strategy = pb::STRATEGY_LONGEST_IDLE});
  const ReplicationResult bs = MustRun(s, {.seed = 5, .strategy = pb::STRATEGY_BEST_SKILL});
  EXPECT_EQ(li.total.offered, bs.total.offered);
  // Best-skill loads the proficient agents: the occupancy spread across agents widens.
  auto spread = [](const ReplicationResult& r) {
    return SummarizeFairness({r}).occupancy_spread.mean;
  };
  EXPECT_GT(spread(bs), spread(li) + 0.1);
}

// With no warm-up, the simulator's own counts and the engine's statistics must agree exactly:
// one definition of answered, in-threshold and abandoned everywhere.
TEST(SimulationTest, SimulatorAndEngineCountTheSame) {
  pb::SimScenario s = OneQueue(400, 100, 10, 40);
  s.set_warmup_hours(0);
  s.mutable_routing()->set_short_abandon_s(3);
  const ReplicationResult r = MustRun(s);
  ASSERT_EQ(r.engine_stats.size(), 1u);
  const pb::QueueStats& e = r.engine_stats[0];
  const Metrics& m = r.queues[0];
  EXPECT_GT(m.abandoned, 100u);
  EXPECT_GT(m.short_abandoned, 10u);
  EXPECT_EQ(e.arrived(), m.offered);
  EXPECT_EQ(e.answered(), m.answered);
  EXPECT_EQ(e.answered_in_threshold(), m.answered_in_threshold);
  EXPECT_EQ(e.abandoned(), m.abandoned);
  EXPECT_EQ(e.short_abandoned(), m.short_abandoned);
  EXPECT_NEAR(e.answered_wait_ms_total() / 1000.0, m.answered_wait_s, 1e-6 * m.answered_wait_s);
}

TEST(SimulationTest, AgentsWorkOnlyTheirShifts) {
  pb::SimScenario s = MustParse(kTwoShifts);
  const ReplicationResult r = MustRun(s);
  // 3 agents × 8 h + 2 agents × 4 h (22:00–02:00: 00:00–02:00 and 22:00–24:00 of the day), plus
  // the minutes spent finishing the last contact after a shift's end.
  const double hours = r.total.duty_s / 3600;
  EXPECT_GE(hours, 3 * 8 + 2 * 4);
  EXPECT_LT(hours, 3 * 8 + 2 * 4 + 5 * 0.5);
  // Contacts arriving while nobody is on duty wait (or are still waiting at the end).
  EXPECT_GT(r.total.max_wait_s, 3600);
}

TEST(SimulationTest, IntradayProfileShapesArrivals) {
  pb::SimScenario s = OneQueue(0, 60, 40);
  pb::SimTraffic* t = s.mutable_traffic(0);
  t->set_arrivals_per_hour(0);
  t->set_profile_start("10:00");
  // 10:00–10:15 at 2,000/h, 10:15–10:30 at 0, 10:30–10:45 at 400/h, nothing else.
  t->add_profile(2000);
  t->add_profile(0);
  t->add_profile(400);
  s.set_hours(24 * 10);
  s.set_warmup_hours(0);
  ASSERT_TRUE(Validate(s).ok());
  const ReplicationResult r = MustRun(s);
  // Expected 10 days × (500 + 100) = 6,000; Poisson sd ≈ 77.
  EXPECT_NEAR(static_cast<double>(r.total.offered), 6000, 400);
}

TEST(SimulationTest, LognormalHandleTimeHasItsMean) {
  pb::SimScenario s = OneQueue(100, 300, 30);
  s.mutable_traffic(0)->set_handle_time(pb::HANDLE_TIME_LOGNORMAL);
  s.mutable_traffic(0)->set_handle_time_cv(0.5);
  s.set_hours(200);
  const ReplicationResult r = MustRun(s);
  // busy time / answered ≈ mean handle time (no waiting at this load, so every contact is served).
  EXPECT_NEAR(r.total.busy_s / r.total.answered, 300, 15);
}

TEST(ReportTest, ConfidenceIntervalUsesStudentT) {
  const Estimate e = Estimate95({1, 2, 3, 4, 5});
  EXPECT_DOUBLE_EQ(e.mean, 3);
  EXPECT_NEAR(e.ci95, 2.776 * std::sqrt(2.5) / std::sqrt(5.0), 1e-9);
  EXPECT_EQ(Estimate95({4}).ci95, 0);
}

}  // namespace
}  // namespace sb::sim
