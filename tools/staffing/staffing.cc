#include "tools/staffing/staffing.h"

#include <cmath>
#include <cstdio>
#include <iostream>
#include <optional>

#include "CLI/CLI.hpp"
#include "nlohmann/json.hpp"
#include "tools/staffing/erlang.h"
#include "tools/staffing/profile.h"

namespace sb::staffing {
namespace {

nlohmann::json ToJson(const erlang::Prediction& p) {
  return {{"agents", p.agents},
          {"offered_erlangs", p.offered_erlangs},
          {"p_wait", p.p_wait},
          {"service_level", p.service_level},
          {"asa_s", p.asa_s},
          {"occupancy", p.occupancy},
          {"abandon_rate", p.abandon_rate}};
}

std::string Line(const erlang::Prediction& p) {
  char buf[200];
  std::snprintf(buf, sizeof buf, "%6d  %8.2f  %7.4f  %7.4f  %8.2f  %9.4f  %8.4f\n", p.agents,
                p.offered_erlangs, p.p_wait, p.service_level, p.asa_s, p.occupancy, p.abandon_rate);
  return buf;
}

constexpr char kHeader[] = "agents  erlangs   P(wait)  SL       ASA s     occupancy  abandon\n";

}  // namespace

int Run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  CLI::App app{"Erlang C (no abandonment) and Erlang A (--patience-s) staffing calculator.",
               "switchboard staffing"};
  erlang::Load load;
  erlang::Target target;
  std::optional<int> agents;
  std::string profile_file;
  bool json = false;
  bool target_given = false;
  app.add_option("--arrivals-per-hour", load.arrivals_per_hour, "Poisson arrivals per hour");
  app.add_option("--aht-s", load.aht_s, "mean handle time in seconds")->required();
  app.add_option("--threshold-s", load.threshold_s, "service-level threshold T (20)");
  app.add_option("--patience-s", load.patience_s, "mean patience: Erlang A; 0 = Erlang C (0)");
  app.add_option("--target-sl", target.service_level, "service-level target, e.g. 0.8")
      ->each([&](const std::string&) { target_given = true; });
  app.add_option("--max-asa-s", target.max_asa_s, "also require ASA at most this (0 = no)");
  app.add_option("--max-occupancy", target.max_occupancy, "also cap occupancy (0 = no)");
  app.add_option("--agents", agents, "predict for this many agents instead of sizing");
  app.add_option("--profile", profile_file,
                 "intraday profile CSV: HH:MM,arrivals_per_hour[,aht_s]");
  app.add_flag("--json", json, "one JSON object instead of a table");
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {
      out << app.help();
      return 0;
    }
    err << "switchboard staffing: " << e.what() << "\n";
    return 2;
  }
  auto fail = [&](const Status& st) {
    err << "switchboard staffing: " << st.message() << "\n";
    return 2;
  };

  if (!profile_file.empty()) {
    auto profile = LoadProfileFile(profile_file);
    if (!profile.ok()) return fail(profile.status());
    if (!target_given) return fail(InvalidArgument("--profile needs --target-sl"));
    nlohmann::json rows = nlohmann::json::array();
    std::string table = std::string("time   rate/h   ") + kHeader;
    double agent_hours = 0;
    for (const Interval& iv : *profile) {
      char time[24];
      std::snprintf(time, sizeof time, "%02d:%02d", iv.start_min / 60, iv.start_min % 60);
      erlang::Load l = load;
      l.arrivals_per_hour = iv.arrivals_per_hour;
      if (iv.aht_s > 0) l.aht_s = iv.aht_s;
      erlang::Prediction p;
      if (iv.arrivals_per_hour > 0) {
        auto r = erlang::RequiredAgents(l, target);
        if (!r.ok())
          return fail(Status(r.status().code(), std::string(time) + ": " + r.status().message()));
        p = *r;
      }
      agent_hours += p.agents * iv.length_min / 60.0;
      nlohmann::json j = ToJson(p);
      j["time"] = time;
      j["arrivals_per_hour"] = iv.arrivals_per_hour;
      rows.push_back(std::move(j));
      char lead[64];
      std::snprintf(lead, sizeof lead, "%s  %7.1f  ", time, iv.arrivals_per_hour);
      table += lead + Line(p);
    }
    if (json) {
      out << nlohmann::json{{"intervals", rows}, {"agent_hours", agent_hours}}.dump() << "\n";
    } else {
      char total[64];
      std::snprintf(total, sizeof total, "agent-hours: %.1f\n", agent_hours);
      out << table << total;
    }
    return 0;
  }

  if (agents) {
    auto p = erlang::Predict(load, *agents);
    if (!p.ok()) return fail(p.status());
    if (json) {
      out << ToJson(*p).dump() << "\n";
    } else {
      out << (load.patience_s > 0 ? "Erlang A\n" : "Erlang C\n") << kHeader << Line(*p);
    }
    return 0;
  }
  if (!target_given)
    return fail(InvalidArgument("give --target-sl (to size) or --agents (to predict)"));
  auto p = erlang::RequiredAgents(load, target);
  if (!p.ok()) return fail(p.status());
  std::optional<erlang::Prediction> fewer;
  if (p->agents > 1) {
    auto f = erlang::Predict(load, p->agents - 1);
    if (f.ok()) fewer = *f;
  }
  if (json) {
    nlohmann::json j = ToJson(*p);
    j["required_agents"] = p->agents;
    j["model"] = load.patience_s > 0 ? "erlang_a" : "erlang_c";
    if (fewer) j["one_fewer"] = ToJson(*fewer);
    out << j.dump() << "\n";
    return 0;
  }
  char head[160];
  std::snprintf(head, sizeof head, "required agents: %d (%s, SL target %.3f within %g s)\n",
                p->agents, load.patience_s > 0 ? "Erlang A" : "Erlang C", target.service_level,
                load.threshold_s);
  out << head << kHeader << Line(*p);
  if (fewer) out << "one fewer:\n" << Line(*fewer);
  return 0;
}

int Main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return Run(args, std::cout, std::cerr);
}

}  // namespace sb::staffing
