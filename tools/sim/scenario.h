// Simulator scenarios: loading, defaults and validation of switchboard.v1.SimScenario, and the
// single-queue scenario built from command-line flags. A scenario that leaves this module is
// complete and valid; every error names the field path, e.g.
//   traffic[0].arrivals_per_hour: must not be negative (got -5)
// Stateless and thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "switchboard/v1/sim.pb.h"

namespace sb::sim {

namespace pb = ::switchboard::v1;

// The one-queue scenario of the minimum flag set: `agents` agents with skill "general" (their
// proficiency cycles 1..5, so best-skill has someone to prefer), one voice queue "main" with the
// given strategy, no after-contact work, short-abandon threshold 0 (every abandon counts).
struct FlagScenario {
  double arrivals_per_hour = 0;
  double aht_s = 0;
  int agents = 0;
  double threshold_s = 20;
  double patience_s = 0;    // 0 = nobody abandons
  double urgent_share = 0;  // share of contacts with urgent priority
  pb::Strategy strategy = pb::STRATEGY_LONGEST_IDLE;
};
pb::SimScenario ScenarioFromFlags(const FlagScenario& flags);

// Run settings given on the command line win over the scenario file's.
struct Overrides {
  std::optional<double> hours, warmup_hours;
  std::optional<uint64_t> seed;
  std::optional<uint32_t> replications;
};
void ApplyOverrides(const Overrides& overrides, pb::SimScenario* scenario);

// Parses YAML or JSON text, applies the overrides, fills defaults and validates.
Result<pb::SimScenario> ParseScenario(std::string_view text, const Overrides& overrides = {});
// Reads and parses a file; errors are prefixed with the path.
Result<pb::SimScenario> LoadScenarioFile(const std::string& path, const Overrides& overrides = {});

// Defaults: replications 1, start_time and profile_start "00:00", channel voice, handle-time cv 1,
// priority mix all normal/external, an agent group's domain the routing config's only domain;
// routing defaults as sb::config::ApplyDefaults.
void ApplyDefaults(pb::SimScenario* scenario);
Status Validate(const pb::SimScenario& scenario);

}  // namespace sb::sim
