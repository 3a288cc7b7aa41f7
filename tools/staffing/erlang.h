// Erlang C and Erlang A: the queueing models operators size their teams with.
//
// Erlang C is M/M/N (Poisson arrivals, exponential handle time, N agents, customers who never
// leave); Erlang A is M/M/N+M (customers abandon after an exponential patience). Figures follow
// DESIGN.md's one definition: SL(T) = answered within T / (answered + abandoned), ASA = mean wait
// of answered contacts, abandon rate = abandoned / offered, occupancy = busy / logged-in time.
//
// Numerically stable for tens of thousands of agents: Erlang B by its recursion (no factorials),
// Erlang A's stationary distribution in log space. Pure functions; thread-safe.
#pragma once

#include "common/status.h"

namespace sb::erlang {

struct Load {
  double arrivals_per_hour = 0;  // Poisson arrival rate
  double aht_s = 0;              // mean handle time (exponential)
  double threshold_s = 20;       // service-level threshold T
  double patience_s = 0;         // mean patience (exponential); 0 = nobody abandons (Erlang C)
};

struct Prediction {
  int agents = 0;
  double offered_erlangs = 0;  // A = arrival rate × AHT
  double p_wait = 0;           // probability an arrival waits at all
  double service_level = 0;
  double asa_s = 0;
  double occupancy = 0;
  double abandon_rate = 0;  // 0 for Erlang C
};

// Erlang C when load.patience_s == 0 (fails with kInvalidArgument "unstable: ..." unless
// agents > A), Erlang A otherwise (stable for any agents >= 1). Bad load → kInvalidArgument naming
// the field.
Result<Prediction> Predict(const Load& load, int agents);

struct Target {
  double service_level = 0.8;  // 0 < target < 1
  double max_asa_s = 0;        // 0 = no ASA target
  double max_occupancy = 0;    // 0 = no occupancy cap (e.g. 0.85 to leave room for breaks)
};

// The smallest agent count meeting every target, with its prediction.
// REQUIRES nothing; fails with kInvalidArgument on bad load or targets, and when no count up to
// kMaxAgents meets them.
Result<Prediction> RequiredAgents(const Load& load, const Target& target);

inline constexpr int kMaxAgents = 200000;

// Erlang C's probability of waiting C(N, A). REQUIRES: agents > offered_erlangs > 0.
double ErlangC(int agents, double offered_erlangs);

}  // namespace sb::erlang
