// The simulator over the real engine against queueing theory: single-skill scenarios from 10 to
// 2,000 agents at 60–95% occupancy must reproduce Erlang C's service level (±1.5 points) and ASA
// (±10%), and with exponential patience Erlang A's abandonment rate (±1.5 points).
//
// Seeds are fixed, so every run of this test computes the same figures: it cannot flake. Each
// scenario also asserts that its 95% confidence interval is tighter than the tolerance, so a pass
// means the simulation resolved the figure, not that it was too noisy to tell.
#include <gtest/gtest.h>

#include <cmath>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "tools/sim/report.h"
#include "tools/sim/scenario.h"
#include "tools/sim/simulation.h"
#include "tools/staffing/erlang.h"

namespace sb::sim {
namespace {

struct Case {
  std::string name;
  double arrivals_per_hour, aht_s;
  int agents;
  double threshold_s, patience_s;
  double hours;  // per replication, after one hour of warm-up
  int replications;
  // ASA tolerance: 10% of Erlang's figure, or this many seconds when that is larger. Only the
  // 2,000-agent case uses it: its ASA is 0.024 s, made of rare waits (1.3% of contacts wait), and
  // resolving 10% of it (2.4 ms) would take ~100 times the simulated time the suite can afford.
  double asa_floor_s = 0;
};

// Names the case in test listings instead of gtest's byte dump.
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

Figures Simulate(const Case& c) {
  FlagScenario f;
  f.arrivals_per_hour = c.arrivals_per_hour;
  f.aht_s = c.aht_s;
  f.agents = c.agents;
  f.threshold_s = c.threshold_s;
  f.patience_s = c.patience_s;
  pb::SimScenario s = ScenarioFromFlags(f);
  s.set_hours(c.hours);
  s.set_warmup_hours(1);
  ApplyDefaults(&s);
  EXPECT_TRUE(Validate(s).ok()) << Validate(s).ToString();
  // Replications on two threads; each has its own seed, so the result does not depend on timing.
  std::vector<Metrics> totals(c.replications);
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      for (int r = t; r < c.replications; r += 2) {
        auto run =
            RunReplication(s, {.seed = 1000 + static_cast<uint64_t>(r), .strategy = std::nullopt});
        if (run.ok()) totals[r] = run->total;
      }
    });
  }
  for (auto& t : threads) t.join();
  return Summarize(totals);
}

erlang::Prediction Theory(const Case& c) {
  erlang::Load load;
  load.arrivals_per_hour = c.arrivals_per_hour;
  load.aht_s = c.aht_s;
  load.threshold_s = c.threshold_s;
  load.patience_s = c.patience_s;
  auto p = erlang::Predict(load, c.agents);
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return p.ok() ? *p : erlang::Prediction{};
}

class ErlangCTest : public ::testing::TestWithParam<Case> {};

TEST_P(ErlangCTest, ServiceLevelAndAsaMatch) {
  const Case& c = GetParam();
  const erlang::Prediction theory = Theory(c);
  const Figures sim = Simulate(c);
  const double asa_tol = std::max(0.10 * theory.asa_s, c.asa_floor_s);
  RecordProperty("sim_sl", std::to_string(sim.service_level.mean));
  RecordProperty("erlang_sl", std::to_string(theory.service_level));
  RecordProperty("sim_asa_s", std::to_string(sim.asa_s.mean));
  RecordProperty("erlang_asa_s", std::to_string(theory.asa_s));
  std::printf(
      "%s: SL sim %.4f ±%.4f, Erlang C %.4f; ASA sim %.3f ±%.3f s, Erlang C %.3f s; "
      "occupancy sim %.3f, Erlang C %.3f\n",
      c.name.c_str(), sim.service_level.mean, sim.service_level.ci95, theory.service_level,
      sim.asa_s.mean, sim.asa_s.ci95, theory.asa_s, sim.occupancy.mean, theory.occupancy);
  EXPECT_LT(sim.service_level.ci95, 0.015) << "too little simulated time to resolve SL";
  EXPECT_LT(sim.asa_s.ci95, asa_tol) << "too little simulated time to resolve ASA";
  EXPECT_NEAR(sim.service_level.mean, theory.service_level, 0.015);
  EXPECT_NEAR(sim.asa_s.mean, theory.asa_s, asa_tol);
  EXPECT_NEAR(sim.occupancy.mean, theory.occupancy, 0.01);
}

INSTANTIATE_TEST_SUITE_P(
    Scenarios, ErlangCTest,
    ::testing::Values(
        // 10 agents at 60%.
        Case{"agents10_occ60", 120, 180, 10, 20, 0, 800, 8},
        // The textbook case: 100 contacts per 30 min, AHT 180 s, 14 agents, T = 20 s (71%).
        Case{"agents14_textbook", 200, 180, 14, 20, 0, 1500, 8},
        // 100 agents at 90%.
        Case{"agents100_occ90", 1800, 180, 100, 20, 0, 300, 8},
        // 2,000 agents at 95%: SL ≈ 1 and ASA ≈ 0.024 s, checked to ±0.1 s.
        Case{"agents2000_occ95", 38000, 180, 2000, 20, 0, 8, 6, 0.1}),
    [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

class ErlangATest : public ::testing::TestWithParam<Case> {};

TEST_P(ErlangATest, AbandonRateMatches) {
  const Case& c = GetParam();
  const erlang::Prediction theory = Theory(c);
  const Figures sim = Simulate(c);
  std::printf("%s: abandon rate sim %.4f ±%.4f, Erlang A %.4f; SL sim %.4f, Erlang A %.4f\n",
              c.name.c_str(), sim.abandon_rate.mean, sim.abandon_rate.ci95, theory.abandon_rate,
              sim.service_level.mean, theory.service_level);
  EXPECT_LT(sim.abandon_rate.ci95, 0.015) << "too little simulated time to resolve abandonment";
  EXPECT_NEAR(sim.abandon_rate.mean, theory.abandon_rate, 0.015);
}

INSTANTIATE_TEST_SUITE_P(
    Scenarios, ErlangATest,
    ::testing::Values(
        // 14 agents offered 89% of their capacity; customers wait 2 minutes on average.
        Case{"agents14_patience120", 250, 180, 14, 20, 120, 400, 8},
        // 500 agents offered exactly their capacity: only abandonment keeps the queue finite.
        Case{"agents500_overloaded", 10000, 180, 500, 20, 300, 20, 6}),
    [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

}  // namespace
}  // namespace sb::sim
