// Fuzz target: arbitrary bytes as a simulator scenario. Errors are fine; crashes, hangs, accepted
// scenarios that are invalid, and accepted scenarios the simulation cannot run are not. Accepted
// scenarios are shrunk (a few simulated minutes, bounded traffic and agents) and run once.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tests/fuzz/fuzz_checks.h"
#include "tools/sim/scenario.h"
#include "tools/sim/simulation.h"

constexpr char kTarget[] = "scenario_fuzz";

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > sb::fuzz::kMaxInputBytes) return 0;
  auto parsed = sb::sim::ParseScenario(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!parsed.ok()) {
    sb::fuzz::CheckErrorMessage(kTarget, parsed.status().message());
    return 0;
  }
  switchboard::v1::SimScenario s = *parsed;
  if (sb::Status st = sb::sim::Validate(s); !st.ok())
    sb::fuzz::Die(kTarget, "accepted an invalid scenario", st.ToString());
  s.set_hours(std::min(s.hours(), 0.2));
  s.set_warmup_hours(std::min(s.warmup_hours(), 0.05));
  for (auto& t : *s.mutable_traffic()) {
    t.set_arrivals_per_hour(std::min(t.arrivals_per_hour(), 2000.0));
    for (double& r : *t.mutable_profile()) r = std::min(r, 2000.0);
  }
  for (auto& g : *s.mutable_agents()) g.set_count(std::min(g.count(), 20u));
  if (sb::Status st = sb::sim::Validate(s); !st.ok())
    sb::fuzz::Die(kTarget, "shrunk scenario invalid", st.ToString());
  auto run = sb::sim::RunReplication(s, {.seed = 1, .strategy = std::nullopt});
  if (!run.ok()) sb::fuzz::Die(kTarget, "accepted scenario failed to run", run.status().ToString());
  return 0;
}
