// One replication of a scenario: a discrete-event simulation of customers and agents around the
// real routing engine (sb::engine::Engine), under a simulated clock.
//
// The simulation decides nothing about routing: contacts arrive (Poisson, per queue, with an
// intraday profile), the engine decides, and simulated agents accept every offer at once, talk
// for a drawn handle time and wrap up; customers abandon when their drawn patience runs out while
// they still wait; agents log in and out with their shifts. Random streams are per traffic entry
// and independent of routing, so two runs with the same seed see the same contacts (the same
// arrival times, handle times, patience and priorities) whatever the strategy.
//
// Figures follow DESIGN.md's one definition: SL = answered within T / (answered + abandoned
// beyond the short-abandon threshold); ASA = mean wait of answered; abandon rate = abandoned
// (short ones included) / offered; occupancy = busy / time logged in. Contacts are measured
// when they arrive after the warm-up.
//
// Thread: a call runs on the caller's thread and shares nothing; replications may run on
// several threads at once.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "switchboard/v1/config.pb.h"
#include "switchboard/v1/engine_state.pb.h"
#include "switchboard/v1/sim.pb.h"

namespace sb::sim {

namespace pb = ::switchboard::v1;

// Counts and sums of one queue (or of all) in one replication.
struct Metrics {
  uint64_t offered = 0;
  uint64_t answered = 0;
  uint64_t answered_in_threshold = 0;
  uint64_t abandoned = 0;        // beyond the short-abandon threshold
  uint64_t short_abandoned = 0;  // before it: counted apart, out of SL
  uint64_t expired = 0;          // waited past the queue's max wait
  double answered_wait_s = 0;    // sum over answered contacts
  double max_wait_s = 0;         // longest wait of an answered or abandoned contact
  double busy_s = 0;             // agents able to serve the queue: time holding work
  double duty_s = 0;             // ... and time logged in

  void Add(const Metrics& other);  // sums the counts; max of the maxima
  double service_level() const;    // 1 when nothing was answered or abandoned
  double asa_s() const;
  double abandon_rate() const;
  double occupancy() const;
};

struct ReplicationResult {
  std::vector<std::string> queue_names;  // routing order; queues without traffic included
  std::vector<Metrics> queues;
  Metrics total;
  // Per agent with time logged in during the measurement: busy / logged-in.
  std::vector<double> agent_occupancy;
  // Longest wait (answered or abandoned) per priority class, e.g. "urgent-external".
  std::map<std::string, double> max_wait_by_class;
  // The engine's own statistics over the whole run (warm-up included), by queue, for checking
  // that the engine's definitions and the simulator's agree.
  std::vector<pb::QueueStats> engine_stats;
  uint64_t engine_calls = 0;
};

struct RunOptions {
  uint64_t seed = 1;
  std::optional<pb::Strategy> strategy;  // overrides every queue's strategy
};

// REQUIRES: `scenario` passed Validate (scenario.h).
// Fails only on a defect: an engine call that should have succeeded (kInternal, with the call).
Result<ReplicationResult> RunReplication(const pb::SimScenario& scenario,
                                         const RunOptions& options);

}  // namespace sb::sim
