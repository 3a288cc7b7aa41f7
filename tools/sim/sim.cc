// `switchboard sim`: flags, replications on worker threads, and the output.
#include "tools/sim/sim.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "common/config/text.h"
#include "tools/sim/report.h"
#include "tools/sim/scenario.h"
#include "tools/sim/simulation.h"

namespace sb::sim {
namespace {

struct Strategy {
  const char* name;
  pb::Strategy value;
};
constexpr Strategy kStrategies[] = {
    {"longest-idle", pb::STRATEGY_LONGEST_IDLE},
    {"least-occupied", pb::STRATEGY_LEAST_OCCUPIED},
    {"best-skill", pb::STRATEGY_BEST_SKILL},
    {"preferred-agent", pb::STRATEGY_PREFERRED_AGENT},
};
// --compare-strategies runs these: the ones that decide among agents for every contact.
constexpr int kComparedStrategies = 3;

// Runs the scenario's replications (seed, seed+1, ...) on up to `threads` threads.
Result<std::vector<ReplicationResult>> RunAll(const pb::SimScenario& scenario,
                                              std::optional<pb::Strategy> strategy, int threads) {
  const size_t n = scenario.replications();
  std::vector<std::optional<Result<ReplicationResult>>> results(n);
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i; (i = next.fetch_add(1)) < n;) {
      RunOptions options;
      options.seed = scenario.seed() + i;
      options.strategy = strategy;
      results[i].emplace(RunReplication(scenario, options));
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < std::min<int>(threads, static_cast<int>(n)); ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
  std::vector<ReplicationResult> out;
  for (auto& r : results) {
    if (!r->ok()) return r->status();
    out.push_back(std::move(**r));
  }
  return out;
}

nlohmann::json EstimateJson(const Estimate& e) { return {{"mean", e.mean}, {"ci95", e.ci95}}; }

int CompareStrategies(const pb::SimScenario& scenario, int threads, bool json) {
  nlohmann::json all = nlohmann::json::array();
  std::string table =
      "strategy         SL      ASA s   occupancy  spread (max-min)  stddev   max wait s by "
      "priority class\n";
  for (int k = 0; k < kComparedStrategies; ++k) {
    auto runs = RunAll(scenario, kStrategies[k].value, threads);
    if (!runs.ok()) {
      std::fprintf(stderr, "switchboard sim: %s\n", runs.status().ToString().c_str());
      return 1;
    }
    std::vector<Metrics> totals;
    for (const ReplicationResult& r : *runs) totals.push_back(r.total);
    const Figures f = Summarize(totals);
    const Fairness fair = SummarizeFairness(*runs);
    nlohmann::json j;
    j["strategy"] = kStrategies[k].name;
    j["service_level"] = EstimateJson(f.service_level);
    j["asa_s"] = EstimateJson(f.asa_s);
    j["occupancy"] = EstimateJson(f.occupancy);
    j["occupancy_spread"] = EstimateJson(fair.occupancy_spread);
    j["occupancy_stddev"] = EstimateJson(fair.occupancy_stddev);
    std::string waits;
    for (const auto& [cls, e] : fair.max_wait_by_class) {
      j["max_wait_s_by_class"][cls] = EstimateJson(e);
      char buf[96];
      std::snprintf(buf, sizeof buf, "%s%s %.0f", waits.empty() ? "" : ", ", cls.c_str(), e.mean);
      waits += buf;
    }
    all.push_back(std::move(j));
    char row[256];
    std::snprintf(row, sizeof row, "%-16s %6.3f  %6.1f   %6.3f     %6.3f            %6.3f   %s\n",
                  kStrategies[k].name, f.service_level.mean, f.asa_s.mean, f.occupancy.mean,
                  fair.occupancy_spread.mean, fair.occupancy_stddev.mean, waits.c_str());
    table += row;
  }
  if (json) {
    std::cout
        << nlohmann::json{{"replications", scenario.replications()}, {"strategies", all}}.dump()
        << "\n";
  } else {
    std::cout << table;
  }
  return 0;
}

}  // namespace

int Main(int argc, char** argv) {
  CLI::App app{
      "Discrete-event simulation of a contact center over the real routing engine. Give a "
      "scenario file, or the one-queue flags (--arrivals-per-hour, --aht-s, --agents).",
      "switchboard sim"};
  std::string scenario_file, strategy_name = "longest-idle";
  FlagScenario flags;
  Overrides overrides;
  int threads = std::max(1u, std::thread::hardware_concurrency());
  bool json = false, compare = false;
  app.add_option("--scenario", scenario_file,
                 "scenario file, YAML or JSON (see tools/sim/README.md)");
  auto* rate = app.add_option("--arrivals-per-hour", flags.arrivals_per_hour,
                              "one-queue: Poisson arrivals per hour")
                   ->check(CLI::Range(0.0, 1e7));
  auto* aht = app.add_option("--aht-s", flags.aht_s, "one-queue: mean handle time, exponential")
                  ->check(CLI::Range(0.001, 1e6));
  auto* agents = app.add_option("--agents", flags.agents, "one-queue: agents on duty")
                     ->check(CLI::Range(1, 100000));
  app.add_option("--threshold-s", flags.threshold_s, "one-queue: service-level threshold T (20)")
      ->check(CLI::Range(0.0, 1e6));
  app.add_option("--patience-s", flags.patience_s,
                 "one-queue: mean patience, exponential; 0 = nobody abandons (0)")
      ->check(CLI::Range(0.0, 1e7));
  app.add_option("--urgent-share", flags.urgent_share, "one-queue: share of urgent contacts (0)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--strategy", strategy_name,
                 "one-queue: longest-idle, least-occupied, best-skill or preferred-agent");
  app.add_option("--hours", overrides.hours, "simulated hours measured (one-queue default 8)")
      ->check(CLI::Range(1e-6, 24.0 * 365));
  app.add_option("--warmup-hours", overrides.warmup_hours,
                 "simulated hours before measuring (one-queue default 1)")
      ->check(CLI::Range(0.0, 24.0 * 365));
  app.add_option("--seed", overrides.seed, "random seed of the first replication (1)");
  app.add_option("--replications", overrides.replications, "independent runs (1)")
      ->check(CLI::Range(1, 1000));
  app.add_option("--threads", threads, "replications run in parallel (default: cores)")
      ->check(CLI::Range(1, 256));
  app.add_flag("--json", json, "print one JSON object instead of a table");
  app.add_flag("--compare-strategies", compare,
               "run the same arrivals under longest-idle, least-occupied and best-skill");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

  Result<pb::SimScenario> scenario = InvalidArgument("unset");
  if (!scenario_file.empty()) {
    if (rate->count() || aht->count() || agents->count()) {
      std::fprintf(stderr, "switchboard sim: give --scenario or the one-queue flags, not both\n");
      return 2;
    }
    scenario = LoadScenarioFile(scenario_file, overrides);
  } else {
    if (!rate->count() || !aht->count() || !agents->count()) {
      std::fprintf(stderr,
                   "switchboard sim: --arrivals-per-hour, --aht-s and --agents are required "
                   "without --scenario\nrun 'switchboard sim --help' for the flags\n");
      return 2;
    }
    const Strategy* s = std::find_if(std::begin(kStrategies), std::end(kStrategies),
                                     [&](const Strategy& x) { return strategy_name == x.name; });
    if (s == std::end(kStrategies)) {
      std::fprintf(stderr, "switchboard sim: --strategy: unknown strategy %s\n",
                   config::Quote(strategy_name).c_str());
      return 2;
    }
    flags.strategy = s->value;
    pb::SimScenario built = ScenarioFromFlags(flags);
    built.set_hours(8);
    built.set_warmup_hours(1);
    built.set_seed(1);
    ApplyOverrides(overrides, &built);
    ApplyDefaults(&built);
    if (Status st = Validate(built); !st.ok()) {
      scenario = st;
    } else {
      scenario = std::move(built);
    }
  }
  if (!scenario.ok()) {
    std::fprintf(stderr, "switchboard sim: %s\n", scenario.status().message().c_str());
    return 2;
  }

  if (compare) return CompareStrategies(*scenario, threads, json);
  auto runs = RunAll(*scenario, std::nullopt, threads);
  if (!runs.ok()) {
    std::fprintf(stderr, "switchboard sim: %s\n", runs.status().ToString().c_str());
    return 1;
  }
  if (json) {
    std::cout << ToJson(*runs).dump() << "\n";
  } else {
    std::cout << ToTable(*runs);
  }
  return 0;
}

}  // namespace sb::sim
