#include "tools/staffing/erlang.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace sb::erlang {
namespace {

constexpr double kMaxArrivalsPerHour = 1e9;
constexpr double kMaxSeconds = 30 * 24 * 3600;
// Erlang A's queue is cut where its stationary probability falls below e^-40 of the mode.
constexpr double kLogCutoff = 40;
constexpr size_t kMaxQueueStates = 2'000'000;
constexpr double kMaxWork = 2e9;  // queue states × uniformization steps for the SL sum

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

Status CheckLoad(const Load& l) {
  auto positive = [](const char* field, double v, double max) -> Status {
    if (!std::isfinite(v) || v <= 0 || v > max) {
      return InvalidArgument(std::string(field) + ": must be positive and at most " + Num(max) +
                             " (got " + Num(v) + ")");
    }
    return Status::Ok();
  };
  auto non_negative = [](const char* field, double v, double max) -> Status {
    if (!std::isfinite(v) || v < 0 || v > max) {
      return InvalidArgument(std::string(field) + ": must be 0.." + Num(max) + " (got " + Num(v) +
                             ")");
    }
    return Status::Ok();
  };
  SB_RETURN_IF_ERROR(positive("arrivals_per_hour", l.arrivals_per_hour, kMaxArrivalsPerHour));
  SB_RETURN_IF_ERROR(positive("aht_s", l.aht_s, kMaxSeconds));
  SB_RETURN_IF_ERROR(non_negative("threshold_s", l.threshold_s, kMaxSeconds));
  return non_negative("patience_s", l.patience_s, kMaxSeconds);
}

Prediction PredictC(const Load& l, int n, double a) {
  Prediction p;
  p.agents = n;
  p.offered_erlangs = a;
  const double c = ErlangC(n, a);
  p.p_wait = c;
  p.service_level = 1 - c * std::exp(-(n - a) * l.threshold_s / l.aht_s);
  p.asa_s = c * l.aht_s / (n - a);
  p.occupancy = a / n;
  return p;
}

// Erlang A from the birth-death chain of M/M/N+M: states n = customers present; births λ;
// deaths min(n,N)·μ + max(n−N,0)·γ. An arrival that finds k customers queued (state N+k, PASTA)
// passes stages j = k..0 (j customers ahead): it moves up at rate Nμ + jγ (a service ends or
// someone ahead leaves) and leaves itself at rate γ. So, with R_j = Nμ + (j+1)γ, it is served with
// probability Π p_j, p_j = (Nμ + jγ)/R_j, and — the time and the winner of an exponential race
// being independent — its wait given service is the sum of Exp(R_j): mean Σ 1/R_j; the chance that
// sum is ≤ T comes from uniformizing the stage chain at the largest rate (a Poisson-weighted count
// of stages completed), which is stable where closed hypoexponential forms are not.
Result<Prediction> PredictA(const Load& l, int n, double a) {
  const double lambda = l.arrivals_per_hour / 3600.0;
  const double mu = 1 / l.aht_s;
  const double gamma = 1 / l.patience_s;
  const double n_mu = n * mu;

  // log π, unnormalized: servers part, then the queue until it is negligible past its mode.
  std::vector<double> log_pi(static_cast<size_t>(n) + 1);
  double max_log = 0;
  for (int i = 1; i <= n; ++i) {
    log_pi[i] = log_pi[i - 1] + std::log(a / i);
    max_log = std::max(max_log, log_pi[i]);
  }
  std::vector<double> log_queue;  // k = 1, 2, ... customers queued
  double last = log_pi[n];
  for (size_t k = 1;; ++k) {
    if (k > kMaxQueueStates) {
      return InvalidArgument("too overloaded to compute: the queue does not settle within " +
                             std::to_string(kMaxQueueStates) + " customers");
    }
    last += std::log(lambda / (n_mu + k * gamma));
    max_log = std::max(max_log, last);
    log_queue.push_back(last);
    if (last < max_log - kLogCutoff && lambda < n_mu + k * gamma) break;
  }
  double total = 0, busy = 0, waiting = 0, queued = 0;
  std::vector<double> pi_queue(log_queue.size() + 1);  // pi_queue[k]: state N+k
  for (int i = 0; i <= n; ++i) {
    const double p = std::exp(log_pi[i] - max_log);
    total += p;
    busy += p * i;
  }
  pi_queue[0] = std::exp(log_pi[n] - max_log);
  for (size_t k = 1; k <= log_queue.size(); ++k) {
    const double p = std::exp(log_queue[k - 1] - max_log);
    pi_queue[k] = p;
    total += p;
    busy += p * n;
    queued += p * static_cast<double>(k);
  }
  for (double& p : pi_queue) p /= total;
  for (double p : pi_queue) waiting += p;
  busy /= total;
  queued /= total;

  Prediction out;
  out.agents = n;
  out.offered_erlangs = a;
  out.p_wait = waiting;
  out.abandon_rate = gamma * queued / lambda;
  out.occupancy = busy / n;

  // Arrivals finding k queued: served chance, mean wait if served, chance served within T.
  const size_t kk = pi_queue.size();
  std::vector<double> served(kk), mean_wait(kk);
  double serve = 1, wait = 0;
  for (size_t k = 0; k < kk; ++k) {
    const double rate = n_mu + (k + 1) * gamma;
    serve *= (n_mu + k * gamma) / rate;
    wait += 1 / rate;
    served[k] = serve;
    mean_wait[k] = wait;
  }
  const double top = n_mu + kk * gamma;  // the largest stage rate
  const double x = top * l.threshold_s;
  const size_t steps = static_cast<size_t>(x + 10 * std::sqrt(x) + 30);
  if (static_cast<double>(steps) * kk > kMaxWork) {
    return InvalidArgument("too large to compute the service level of (agents " +
                           std::to_string(n) + ", threshold " + Num(l.threshold_s) + " s)");
  }
  // g[k]: chance a customer with k ahead has been served after m uniformized steps.
  std::vector<double> g(kk, 0.0), within(kk, 0.0);
  double log_weight = -x;  // log Poisson(m; x), m = 0
  for (size_t m = 1; m <= steps; ++m) {
    for (size_t k = kk; k-- > 0;) {
      const double q = (n_mu + (k + 1) * gamma) / top;
      const double before = k == 0 ? 1.0 : g[k - 1];
      g[k] = q * before + (1 - q) * g[k];
    }
    log_weight += std::log(x) - std::log(static_cast<double>(m));
    const double w = std::exp(log_weight);
    for (size_t k = 0; k < kk; ++k) within[k] += w * g[k];
  }
  double answered_within = 1 - waiting;  // served at once
  double answered_wait = 0;
  for (size_t k = 0; k < kk; ++k) {
    // P(served and wait <= T | k) = P(served | k) · P(sum of the stage times <= T): the winner
    // of each race is independent of when it ends.
    answered_within += pi_queue[k] * served[k] * std::min(1.0, within[k]);
    answered_wait += pi_queue[k] * served[k] * mean_wait[k];
  }
  const double answered = 1 - out.abandon_rate;
  out.service_level = answered_within;  // answered + abandoned = every arrival
  out.asa_s = answered > 0 ? answered_wait / answered : 0;
  return out;
}

}  // namespace

double ErlangC(int agents, double a) {
  double b = 1;  // Erlang B by recursion: no factorials, no overflow
  for (int i = 1; i <= agents; ++i) b = a * b / (i + a * b);
  return agents * b / (agents - a * (1 - b));
}

Result<Prediction> Predict(const Load& load, int agents) {
  SB_RETURN_IF_ERROR(CheckLoad(load));
  if (agents < 1 || agents > kMaxAgents) {
    return InvalidArgument("agents: must be 1.." + std::to_string(kMaxAgents) + " (got " +
                           std::to_string(agents) + ")");
  }
  const double a = load.arrivals_per_hour * load.aht_s / 3600.0;
  if (load.patience_s > 0) return PredictA(load, agents, a);
  if (agents <= a) {
    return InvalidArgument("unstable: " + std::to_string(agents) + " agents cannot carry " +
                           Num(a) +
                           " erlangs without abandonment (Erlang C needs more agents "
                           "than erlangs; give a patience for Erlang A)");
  }
  return PredictC(load, agents, a);
}

Result<Prediction> RequiredAgents(const Load& load, const Target& t) {
  SB_RETURN_IF_ERROR(CheckLoad(load));
  if (!(t.service_level > 0 && t.service_level < 1)) {
    return InvalidArgument("target_sl: must be between 0 and 1, exclusive (got " +
                           Num(t.service_level) + ")");
  }
  if (!std::isfinite(t.max_asa_s) || t.max_asa_s < 0) {
    return InvalidArgument("max_asa_s: must not be negative (got " + Num(t.max_asa_s) + ")");
  }
  if (!(t.max_occupancy >= 0 && t.max_occupancy <= 1)) {
    return InvalidArgument("max_occupancy: must be 0..1 (got " + Num(t.max_occupancy) + ")");
  }
  const double a = load.arrivals_per_hour * load.aht_s / 3600.0;
  auto meets = [&](const Prediction& p) {
    return p.service_level >= t.service_level && (t.max_asa_s == 0 || p.asa_s <= t.max_asa_s) &&
           (t.max_occupancy == 0 || p.occupancy <= t.max_occupancy);
  };
  // Every figure improves with more agents, so the first count meeting the targets is the answer.
  // Erlang C needs more agents than erlangs; Erlang A can start lower.
  int n = load.patience_s > 0 ? std::max(1, static_cast<int>(a * 0.5))
                              : static_cast<int>(std::floor(a)) + 1;
  // Step fast while far from the target (square-root staffing puts it near A + β√A).
  int step = std::max(1, static_cast<int>(std::sqrt(a) / 4));
  int low = n;
  while (n <= kMaxAgents) {
    Result<Prediction> p = Predict(load, n);
    if (!p.ok()) return p.status();
    if (meets(*p)) {
      if (step == 1) return p;
      n = low;  // overshot: walk up one by one from the last count that failed
      step = 1;
      continue;
    }
    low = n + 1;
    n += step;
  }
  return InvalidArgument("no agent count up to " + std::to_string(kMaxAgents) +
                         " meets the targets");
}

}  // namespace sb::erlang
