#include "tools/sim/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

namespace sb::sim {
namespace {

// Two-sided 97.5% quantiles of Student's t for 1..30 degrees of freedom; 1.96 beyond.
constexpr double kT975[] = {12.706, 4.303, 2.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                            2.201,  2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
                            2.080,  2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042};

template <typename F>
Estimate Over(const std::vector<Metrics>& runs, F figure) {
  std::vector<double> v;
  for (const Metrics& m : runs) v.push_back(figure(m));
  return Estimate95(v);
}

nlohmann::json FiguresJson(const Figures& f) {
  nlohmann::json j;
  nlohmann::json ci;
  auto put = [&](const char* name, const Estimate& e) {
    j[name] = e.mean;
    ci[name] = e.ci95;
  };
  put("offered", f.offered);
  put("answered", f.answered);
  put("abandoned", f.abandoned);
  put("service_level", f.service_level);
  put("asa_s", f.asa_s);
  put("abandon_rate", f.abandon_rate);
  put("occupancy", f.occupancy);
  put("max_wait_s", f.max_wait_s);
  j["ci95"] = ci;
  return j;
}

std::string Row(const std::string& name, const Figures& f) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "%-16s %9.0f %9.0f %9.0f  %6.3f ±%5.3f  %7.1f ±%5.1f  %6.3f  %6.3f  %8.1f\n",
                name.c_str(), f.offered.mean, f.answered.mean, f.abandoned.mean,
                f.service_level.mean, f.service_level.ci95, f.asa_s.mean, f.asa_s.ci95,
                f.abandon_rate.mean, f.occupancy.mean, f.max_wait_s.mean);
  return buf;
}

std::vector<Metrics> Column(const std::vector<ReplicationResult>& runs, size_t queue) {
  std::vector<Metrics> v;
  for (const ReplicationResult& r : runs) v.push_back(r.queues[queue]);
  return v;
}

std::vector<Metrics> Totals(const std::vector<ReplicationResult>& runs) {
  std::vector<Metrics> v;
  for (const ReplicationResult& r : runs) v.push_back(r.total);
  return v;
}

}  // namespace

Estimate Estimate95(const std::vector<double>& x) {
  Estimate e;
  if (x.empty()) return e;
  const double n = static_cast<double>(x.size());
  e.mean = std::accumulate(x.begin(), x.end(), 0.0) / n;
  if (x.size() < 2) return e;
  double ss = 0;
  for (double v : x) ss += (v - e.mean) * (v - e.mean);
  const double sd = std::sqrt(ss / (n - 1));
  const size_t df = x.size() - 1;
  const double t = df <= std::size(kT975) ? kT975[df - 1] : 1.96;
  e.ci95 = t * sd / std::sqrt(n);
  return e;
}

Figures Summarize(const std::vector<Metrics>& runs) {
  Figures f;
  f.offered = Over(runs, [](const Metrics& m) { return static_cast<double>(m.offered); });
  f.answered = Over(runs, [](const Metrics& m) { return static_cast<double>(m.answered); });
  f.abandoned = Over(
      runs, [](const Metrics& m) { return static_cast<double>(m.abandoned + m.short_abandoned); });
  f.service_level = Over(runs, [](const Metrics& m) { return m.service_level(); });
  f.asa_s = Over(runs, [](const Metrics& m) { return m.asa_s(); });
  f.abandon_rate = Over(runs, [](const Metrics& m) { return m.abandon_rate(); });
  f.occupancy = Over(runs, [](const Metrics& m) { return m.occupancy(); });
  f.max_wait_s = Over(runs, [](const Metrics& m) { return m.max_wait_s; });
  return f;
}

Fairness SummarizeFairness(const std::vector<ReplicationResult>& runs) {
  Fairness f;
  std::vector<double> spread, stddev;
  std::map<std::string, std::vector<double>> waits;
  for (const ReplicationResult& r : runs) {
    const std::vector<double>& occ = r.agent_occupancy;
    if (!occ.empty()) {
      const auto [lo, hi] = std::minmax_element(occ.begin(), occ.end());
      spread.push_back(*hi - *lo);
      const double mean = std::accumulate(occ.begin(), occ.end(), 0.0) / occ.size();
      double ss = 0;
      for (double v : occ) ss += (v - mean) * (v - mean);
      stddev.push_back(std::sqrt(ss / occ.size()));  // population stddev over the agents
    }
    for (const auto& [cls, w] : r.max_wait_by_class) waits[cls].push_back(w);
  }
  f.occupancy_spread = Estimate95(spread);
  f.occupancy_stddev = Estimate95(stddev);
  for (const auto& [cls, w] : waits) f.max_wait_by_class[cls] = Estimate95(w);
  return f;
}

nlohmann::json ToJson(const std::vector<ReplicationResult>& runs) {
  nlohmann::json j;
  j["replications"] = runs.size();
  nlohmann::json queues = nlohmann::json::array();
  for (size_t q = 0; q < runs.front().queue_names.size(); ++q) {
    nlohmann::json one = FiguresJson(Summarize(Column(runs, q)));
    one["queue"] = runs.front().queue_names[q];
    queues.push_back(std::move(one));
  }
  j["queues"] = std::move(queues);
  j["total"] = FiguresJson(Summarize(Totals(runs)));
  uint64_t calls = 0;
  for (const ReplicationResult& r : runs) calls += r.engine_calls;
  j["engine_calls"] = calls;
  return j;
}

std::string ToTable(const std::vector<ReplicationResult>& runs) {
  std::string out =
      "queue              offered  answered abandoned  SL     ±95%     ASA s  ±95%   abandon "
      "occup.  max wait s\n";
  for (size_t q = 0; q < runs.front().queue_names.size(); ++q) {
    out += Row(runs.front().queue_names[q], Summarize(Column(runs, q)));
  }
  if (runs.front().queue_names.size() > 1) out += Row("(total)", Summarize(Totals(runs)));
  return out;
}

}  // namespace sb::sim
