// What `switchboard dev` prints on stdout: the column legend, one status line per second, the
// final summary. Formatting only; the numbers come from the traffic's ledger and the routers' logs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tools/dev/local_cluster.h"
#include "tools/loadgen/agent_link.h"
#include "tools/loadgen/ledger.h"

namespace sb::dev {

struct StatusLine {
  int64_t elapsed_ms = 0;
  loadgen::Tally tally;
  std::vector<int64_t> recent_waits_ms;  // intake → first offer, this interval only
  std::vector<RouterShards> shards;
  uint64_t callbacks_requested = 0;  // follow-up requests sent for customers who hung up
  uint64_t follow_up_contacts = 0;   // callback attempts and escalations offered to the agents
  uint32_t agents = 0;
  loadgen::AgentLinkCounts agent_link;  // the agents' desktops: sessions, offers heard on them
};

void PrintLegend();
void PrintStatus(StatusLine line);
void PrintSummary(int64_t elapsed_ms, const loadgen::Verdict& v);
// The agents' transport at the end: offers heard on their sessions, refusals, reconnects.
void PrintAgentSummary(const std::string& link, const loadgen::AgentLinkCounts& c);

// "hh:mm:ss".
std::string HhMmSs(int64_t ms);

}  // namespace sb::dev
