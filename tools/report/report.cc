#include "tools/report/report.h"

#include <chrono>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "CLI/CLI.hpp"
#include "router/stats/feed.h"
#include "router/stats/kpi.h"

namespace sb::report {

namespace pb = ::switchboard::v1;
using nlohmann::json;

namespace {

// One output row: a queue's day, or its total over the range (day "total").
struct Row {
  std::string queue;
  std::string day;
  stats::Kpis k;
};

std::vector<std::vector<Row>> Rows(const std::vector<pb::QueueDay>& days) {
  std::vector<std::vector<Row>> out;  // per queue: its days, then its total
  std::vector<pb::QueueDay> group;
  auto flush = [&] {
    if (group.empty()) return;
    std::vector<Row> rows;
    for (const pb::QueueDay& d : group) rows.push_back({d.queue(), d.day(), stats::ComputeKpis(d)});
    rows.push_back({group.front().queue(), "total", stats::ComputeKpis(stats::SumDays(group))});
    out.push_back(std::move(rows));
    group.clear();
  };
  for (const pb::QueueDay& d : days) {
    if (!group.empty() && group.front().queue() != d.queue()) flush();
    group.push_back(d);
  }
  flush();
  return out;
}

std::string Fixed(double v, int decimals) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(decimals) << v;
  return s.str();
}

// CSV: ratios with 4 decimals, seconds with 1; n/a is an empty cell.
std::string Csv(const std::optional<double>& v, int decimals) {
  return v ? Fixed(*v, decimals) : "";
}
// Table: ratios as percentages; n/a written out.
std::string Pct(const std::optional<double>& v) { return v ? Fixed(100 * *v, 1) + "%" : "n/a"; }
std::string Secs(const std::optional<double>& v) { return v ? Fixed(*v, 1) + "s" : "n/a"; }
json Num(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

constexpr const char* kCsvHeader =
    "queue,day,offered,answered,connection_rate,human_answer_rate,service_level,sl_threshold_s,"
    "asa_s,abandonment_rate,aht_s,followup_timeliness,complaint_reply_timeliness,"
    "repeat_complaint_rate,fcr,return_visits_done";

// Quotes a CSV cell when it needs it (queue names are operator-chosen).
std::string CsvCell(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) {
    if (c == '"') q += '"';
    q += c;
  }
  return q + "\"";
}

void WriteCsv(const std::vector<std::vector<Row>>& queues, std::ostream& out) {
  out << kCsvHeader << "\n";
  for (const auto& rows : queues) {
    for (const Row& r : rows) {
      const stats::Kpis& k = r.k;
      out << CsvCell(r.queue) << "," << r.day << "," << k.offered << "," << k.answered << ","
          << Csv(k.connection_rate, 4) << "," << Csv(k.human_answer_rate, 4) << ","
          << Csv(k.service_level, 4) << "," << Fixed(k.sl_threshold_s, 0) << "," << Csv(k.asa_s, 1)
          << "," << Csv(k.abandonment_rate, 4) << "," << Csv(k.aht_s, 1) << ","
          << Csv(k.followup_timeliness, 4) << "," << Csv(k.complaint_reply_timeliness, 4) << ","
          << Csv(k.repeat_complaint_rate, 4) << "," << Csv(k.fcr, 4) << "," << k.return_visits_done
          << "\n";
    }
  }
}

json RowJson(const Row& r) {
  const stats::Kpis& k = r.k;
  return {{"day", r.day},
          {"offered", k.offered},
          {"answered", k.answered},
          {"connection_rate", Num(k.connection_rate)},
          {"human_answer_rate", Num(k.human_answer_rate)},
          {"service_level", Num(k.service_level)},
          {"sl_threshold_s", k.sl_threshold_s},
          {"asa_s", Num(k.asa_s)},
          {"abandonment_rate", Num(k.abandonment_rate)},
          {"aht_s", Num(k.aht_s)},
          {"followup_timeliness", Num(k.followup_timeliness)},
          {"complaint_reply_timeliness", Num(k.complaint_reply_timeliness)},
          {"repeat_complaint_rate", Num(k.repeat_complaint_rate)},
          {"fcr", Num(k.fcr)},
          {"return_visits_done", k.return_visits_done}};
}

void WriteJson(const std::vector<std::vector<Row>>& queues, const std::string& from,
               const std::string& to, std::ostream& out) {
  json j = {{"from", from}, {"to", to}, {"queues", json::array()}};
  for (const auto& rows : queues) {
    json days = json::array();
    for (size_t i = 0; i + 1 < rows.size(); ++i) days.push_back(RowJson(rows[i]));
    j["queues"].push_back({{"queue", rows.front().queue},
                           {"days", std::move(days)},
                           {"total", RowJson(rows.back())}});
  }
  out << j.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
}

void WriteTable(const std::vector<std::vector<Row>>& queues, const std::string& from,
                const std::string& to, std::ostream& out) {
  const std::vector<std::string> head = {"queue", "day",  "offered", "answered", "conn",
                                         "human", "SL",   "ASA",     "aband",    "AHT",
                                         "f-up",  "cmpl", "repeat",  "FCR",      "RV"};
  std::vector<std::vector<std::string>> cells = {head};
  for (const auto& rows : queues) {
    for (const Row& r : rows) {
      const stats::Kpis& k = r.k;
      cells.push_back({r.queue, r.day, std::to_string(k.offered), std::to_string(k.answered),
                       Pct(k.connection_rate), Pct(k.human_answer_rate),
                       Pct(k.service_level) + "@" + Fixed(k.sl_threshold_s, 0) + "s", Secs(k.asa_s),
                       Pct(k.abandonment_rate), Secs(k.aht_s), Pct(k.followup_timeliness),
                       Pct(k.complaint_reply_timeliness), Pct(k.repeat_complaint_rate), Pct(k.fcr),
                       std::to_string(k.return_visits_done)});
    }
  }
  std::vector<size_t> width(head.size(), 0);
  for (const auto& row : cells) {
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  out << "switchboard report " << from << " .. " << to << " (UTC days; SL@T: answered within T s)"
      << "\n";
  if (queues.empty()) {
    out << "no queue data in this range\n";
    return;
  }
  for (const auto& row : cells) {
    for (size_t i = 0; i < row.size(); ++i) {
      // Names left-aligned, numbers right-aligned.
      if (i < 2) {
        out << std::left << std::setw(static_cast<int>(width[i])) << row[i];
      } else {
        out << std::right << std::setw(static_cast<int>(width[i])) << row[i];
      }
      out << (i + 1 < row.size() ? "  " : "\n");
    }
  }
  out << std::left;
}

}  // namespace

void Write(const std::vector<pb::QueueDay>& days, const std::string& from, const std::string& to,
           Format format, std::ostream& out) {
  const auto queues = Rows(days);
  switch (format) {
    case Format::kCsv:
      return WriteCsv(queues, out);
    case Format::kJson:
      return WriteJson(queues, from, to, out);
    case Format::kTable:
      return WriteTable(queues, from, to, out);
  }
}

int Run(const Options& o, std::ostream& out, std::ostream& err) {
  auto feed = stats::StatsFeed::Open(o.bootstrap, o.kafka_settings, o.timeout_ms);
  if (!feed.ok()) {
    err << "report: cannot read sb.stats from " << o.bootstrap << ": " << feed.status().ToString()
        << "\n";
    return 1;
  }
  Status st = (*feed)->CatchUp(std::chrono::milliseconds(o.timeout_ms));
  if (!st.ok()) {
    err << "report: reading sb.stats: " << st.ToString() << "\n";
    return 1;
  }
  const stats::StatsView& view = (*feed)->view();
  if (view.malformed_total() > 0) {
    err << "report: " << view.malformed_total()
        << " malformed sb.stats records skipped (last: " << view.last_error() << ")\n";
  }
  Write(view.Days(o.from, o.to, o.queue), o.from, o.to, o.format, out);
  return 0;
}

int Main(int argc, char** argv) {
  CLI::App app{"switchboard report: KPIs per queue and day from sb.stats"};
  Options o;
  std::string format = "table";
  std::vector<std::string> settings;
  app.add_option("--kafka", o.bootstrap, "Kafka bootstrap servers (host:port,...)")->required();
  app.add_option("--from", o.from, "first UTC day, YYYY-MM-DD")->required();
  app.add_option("--to", o.to, "last UTC day, YYYY-MM-DD (inclusive)")->required();
  app.add_option("--format", format, "table (default), csv or json");
  app.add_option("--queue", o.queue, "only this queue");
  app.add_option("--kafka-setting", settings, "extra librdkafka setting key=value (repeatable)");
  app.add_option("--timeout-ms", o.timeout_ms, "give up reaching / reading Kafka after this")
      ->check(CLI::PositiveNumber);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  auto bad = [](const std::string& m) {
    std::fprintf(stderr, "report: %s\n", m.c_str());
    return 2;
  };
  if (!stats::IsDate(o.from)) return bad("--from \"" + o.from + "\": want a date YYYY-MM-DD");
  if (!stats::IsDate(o.to)) return bad("--to \"" + o.to + "\": want a date YYYY-MM-DD");
  if (o.from > o.to) return bad("--from " + o.from + " is after --to " + o.to);
  if (format == "table") {
    o.format = Format::kTable;
  } else if (format == "csv") {
    o.format = Format::kCsv;
  } else if (format == "json") {
    o.format = Format::kJson;
  } else {
    return bad("--format \"" + format + "\": want table, csv or json");
  }
  for (const std::string& kv : settings) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0)
      return bad("--kafka-setting \"" + kv + "\": want key=value");
    o.kafka_settings[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  // librdkafka's own connection errors would otherwise flood stderr while it retries.
  if (!o.kafka_settings.count("log_level")) o.kafka_settings["log_level"] = "0";
  return Run(o, std::cout, std::cerr);
}

}  // namespace sb::report
