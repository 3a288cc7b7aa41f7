// `switchboard report`: per queue and day KPI report from sb.stats (QueueDay records), with a
// total row per queue over the range (counters summed, ratios recomputed from the sums). Every
// measure comes from router/stats/kpi.h.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "router/kafka/client.h"
#include "switchboard/v1/stats.pb.h"

namespace sb::report {

enum class Format { kTable, kCsv, kJson };

// Writes the report of `days` (ordered by queue then day, as StatsView::Days returns them).
// Pure: no I/O but `out`.
void Write(const std::vector<::switchboard::v1::QueueDay>& days, const std::string& from,
           const std::string& to, Format format, std::ostream& out);

struct Options {
  std::string bootstrap;
  kafka::Settings kafka_settings;
  std::string from;
  std::string to;
  std::string queue;  // empty: every queue
  Format format = Format::kTable;
  int timeout_ms = 10'000;  // reaching the broker, then again reading sb.stats to its end
};

// Reads sb.stats to its end and writes the report to `out`. Exit code: 0 done, 1 Kafka
// unreachable or sb.stats unreadable (message on `err`).
int Run(const Options& options, std::ostream& out, std::ostream& err);

// argv[0] is "report". Exit codes: 0 done, 1 Kafka unreachable, 2 bad flags (named).
int Main(int argc, char** argv);

}  // namespace sb::report
