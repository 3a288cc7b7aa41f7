#include "tools/dev/status.h"

#include <algorithm>
#include <cstdio>

namespace sb::dev {
namespace {

unsigned long long U(uint64_t v) { return static_cast<unsigned long long>(v); }

// The q-quantile of sorted values as text; "-" when there are none.
std::string Quantile(const std::vector<int64_t>& sorted, double q) {
  if (sorted.empty()) return "-";
  const size_t i =
      std::min(sorted.size() - 1, static_cast<size_t>(q * static_cast<double>(sorted.size())));
  return std::to_string(sorted[i]);
}

std::string ShardsCell(const std::vector<RouterShards>& routers) {
  std::string cell;
  for (const RouterShards& r : routers) {
    cell += (cell.empty() ? "" : " ") + r.node_id + "[";
    for (size_t i = 0; i < r.shards.size(); ++i) {
      cell += (i ? "," : "") + std::to_string(r.shards[i]);
    }
    cell += "]";
  }
  return cell;
}

}  // namespace

std::string HhMmSs(int64_t ms) {
  const long long s = ms / 1000;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
  return buf;
}

void PrintLegend() {
  std::printf(
      "columns: submitted = contacts sent to sb.contacts; offered = got a first offer;\n"
      "  answered = connected to an agent; abandoned = the customer hung up (or the router\n"
      "  expired the contact) before an answer; waiting = submitted, not offered yet;\n"
      "  p50/p99 = intake → first offer in ms (waiting for a free agent included), of the\n"
      "  contacts first offered in the last second;\n"
      "  dup = contradicting outputs, inel = offers to unqualified agents (both must stay 0;\n"
      "  lost contacts are counted once the run ends); shards = partitions each router routes\n"
      "  now, from its log ([] while a rebalance moves them); callbacks = callbacks requested by\n"
      "  customers who hung up / callback attempts and escalations the routers fired to agents;\n"
      "  sessions = agents logged in on their gRPC AgentService.Session stream / agents;\n"
      "  offers@desk = offers the agents received on their streams (they act on nothing else)\n"
      "    time  submitted  offered  answered  abandoned  waiting   p50ms   p99ms  dup inel  "
      "callbacks  sessions  offers@desk  shards\n");
  std::fflush(stdout);
}

void PrintStatus(StatusLine line) {
  std::sort(line.recent_waits_ms.begin(), line.recent_waits_ms.end());
  const loadgen::Tally& t = line.tally;
  const std::string callbacks =
      std::to_string(line.callbacks_requested) + "/" + std::to_string(line.follow_up_contacts);
  const std::string sessions =
      std::to_string(line.agent_link.sessions_live) + "/" + std::to_string(line.agents);
  std::printf("%s %10llu %8llu %9llu %10llu %8llu %7s %7s %4llu %4llu %10s %9s %12llu  %s\n",
              HhMmSs(line.elapsed_ms).c_str(), U(t.submitted), U(t.offered), U(t.assigned),
              U(t.abandoned), U(t.waiting), Quantile(line.recent_waits_ms, 0.50).c_str(),
              Quantile(line.recent_waits_ms, 0.99).c_str(), U(t.duplicates), U(t.ineligible),
              callbacks.c_str(), sessions.c_str(), U(line.agent_link.offers_heard),
              ShardsCell(line.shards).c_str());
  std::fflush(stdout);
}

void PrintSummary(int64_t elapsed_ms, const loadgen::Verdict& v) {
  std::printf(
      "\nfinal summary after %s:\n"
      "  submitted %llu  assigned %llu  abandoned %llu  lost %llu  duplicates %llu  "
      "ineligible %llu\n"
      "  intake → first offer: p50 %.0f ms  p99 %.0f ms  max %.0f ms  (redelivered outputs "
      "%llu, dropped as repeats)\n",
      HhMmSs(elapsed_ms).c_str(), U(v.submitted), U(v.assigned), U(v.abandoned), U(v.lost),
      U(v.duplicates), U(v.ineligible), v.p50_ms, v.p99_ms, v.max_ms, U(v.redelivered));
  std::fflush(stdout);
}

void PrintAgentSummary(const std::string& link, const loadgen::AgentLinkCounts& c) {
  std::printf(
      "  agents over %s: offers received on their streams %llu  refused actions %llu  "
      "sessions lost (logged in again) %llu\n",
      link.c_str(), U(c.offers_heard), U(c.refused), U(c.sessions_lost));
  std::fflush(stdout);
}

}  // namespace sb::dev
