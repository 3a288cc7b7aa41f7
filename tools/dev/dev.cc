// `switchboard dev`: flags, the built-in demo config, the real-time loop and the status output.
// The simulated people live in sim_world.cc.
#include "tools/dev/dev.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <vector>

#include "common/clock.h"
#include "common/config/config.h"
#include "router/engine/engine.h"
#include "tools/dev/sim_world.h"

namespace sb::dev {
namespace {

// The demo contact center: one domain, five queues, one per routing strategy and channel.
constexpr std::string_view kDemoConfig = R"yaml(
skills:
  - {name: billing, description: "invoices, payments, tariffs"}
  - {name: tech, description: "connection and device troubleshooting"}
  - {name: complaints, description: "formal complaints"}
  - {name: difficult_complaints, description: "trained for difficult and escalated customers"}
  - {name: mandarin, description: "language"}
  - {name: english, description: "language"}
domains:
  - {name: demo, description: "the embedded demo contact center"}
queues:
  - name: billing
    domain: demo
    strategy: STRATEGY_LONGEST_IDLE
    required_skills: [{skill: billing, min_proficiency: 1}]
    service_level_threshold_s: 20
    service_level_target: 0.8
    priority_aging_s: 60
    offer_timeout_s: 10
    acw_limit_s: 8
    max_wait_s: 300
  - name: tech_support
    domain: demo
    strategy: STRATEGY_BEST_SKILL
    required_skills: [{skill: tech, min_proficiency: 3}]
    service_level_threshold_s: 20
    service_level_target: 0.8
    priority_aging_s: 60
    offer_timeout_s: 10
    acw_limit_s: 10
    max_wait_s: 300
    bullseye:
      - {after_s: 30, relax_proficiency: 1}
      - {after_s: 60, relax_proficiency: 1}
      - {after_s: 120, overflow_queue: billing}
  - name: complaints
    domain: demo
    strategy: STRATEGY_PREFERRED_AGENT
    required_skills: [{skill: complaints, min_proficiency: 2}]
    service_level_threshold_s: 20
    service_level_target: 0.8
    priority_aging_s: 60
    offer_timeout_s: 10
    acw_limit_s: 10
    preferred_wait_s: 30
    max_wait_s: 300
  - name: chat
    domain: demo
    strategy: STRATEGY_LEAST_OCCUPIED
    required_skills: [{skill: english, min_proficiency: 3}]
    service_level_threshold_s: 20
    service_level_target: 0.8
    priority_aging_s: 60
    offer_timeout_s: 10
    acw_limit_s: 5
    max_wait_s: 300
  - name: email
    domain: demo
    strategy: STRATEGY_LONGEST_IDLE
    required_skills: [{skill: english, min_proficiency: 1}]
    service_level_threshold_s: 20
    service_level_target: 0.8
    offer_timeout_s: 10
    acw_limit_s: 5
    max_wait_s: 300
capacity:
  agent_units: 100
  costs:
    - {channel: CHANNEL_VOICE, units: 100}
    - {channel: CHANNEL_CALLBACK, units: 100}
    - {channel: CHANNEL_CHAT, units: 33}
    - {channel: CHANNEL_EMAIL, units: 20}
    - {channel: CHANNEL_TASK, units: 25}
cross_channel_rules:
  - {while_on: CHANNEL_VOICE, blocks: [CHANNEL_CHAT, CHANNEL_EMAIL]}
difficult_cap: 2
short_abandon_s: 5
)yaml";

// Traffic of the demo config: {queue, share of arrivals, difficult share, preferred-agent share}.
struct DemoQueueMix {
  const char* name;
  double weight, difficult, preferred;
};
constexpr DemoQueueMix kDemoMix[] = {
    {"billing", 30, 0.02, 0.0}, {"tech_support", 30, 0.02, 0.0}, {"complaints", 10, 0.3, 0.3},
    {"chat", 20, 0.02, 0.0},    {"email", 10, 0.0, 0.0},
};

TrafficProfile DemoTraffic(const pb::RoutingConfig& config) {
  TrafficProfile profile = DeriveProfile(config);
  for (QueueTraffic& q : profile.queues) {
    for (const DemoQueueMix& m : kDemoMix) {
      if (q.name != m.name) continue;
      q.weight = m.weight;
      q.difficult_share = m.difficult;
      q.preferred_share = m.preferred;
    }
    if (q.name == "complaints") q.difficult_skill = "difficult_complaints";
  }
  profile.languages = {{"english", 0.3, 0.95}, {"mandarin", 0.1, 0.25}};
  return profile;
}

// ---------------------------------------------------------------------------------------------
// Flags

struct Options {
  std::string config_path;  // empty: the built-in demo config
  SimOptions sim;
  bool seed_given = false;
  double duration_s = 0;  // simulated seconds; 0 = until a signal
  double speed = 1;
  int64_t status_interval_ms = 1000;
  bool json = false;
  bool help = false;
};

struct Flag {
  const char* name;
  const char* arg;  // nullptr: a switch without a value
  const char* help;
  std::function<Status(std::string_view)> set;
};

template <typename T>
std::string NumberText(T v) {
  if constexpr (std::is_floating_point_v<T>) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
  } else {
    return std::to_string(v);
  }
}

// Parses all of `text` as a number in [lo, hi]; the error names the flag.
template <typename T>
Status ParseNumber(const char* flag, std::string_view text, T lo, T hi, T* out) {
  T value{};
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  bool ok = ec == std::errc() && ptr == end && value >= lo && value <= hi;
  if constexpr (std::is_floating_point_v<T>) ok = ok && std::isfinite(value);
  if (!ok) {
    return InvalidArgument(std::string(flag) + ": expected a number in [" + NumberText(lo) + ", " +
                           NumberText(hi) + "], got \"" + std::string(text) + "\"");
  }
  *out = value;
  return Status::Ok();
}

std::vector<Flag> Flags(Options* o) {
  return {
      {"--config", "FILE", "routing config, YAML or JSON (default: the built-in demo config)",
       [o](std::string_view v) {
         if (v.empty()) return InvalidArgument("--config: empty path");
         o->config_path = std::string(v);
         return Status::Ok();
       }},
      {"--agents", "N", "simulated agents (default 40)",
       [o](std::string_view v) { return ParseNumber("--agents", v, 1, 100000, &o->sim.agents); }},
      {"--arrivals-per-min", "R", "mean contacts per simulated minute, Poisson (default 35)",
       [o](std::string_view v) {
         return ParseNumber("--arrivals-per-min", v, 0.0, 1e6, &o->sim.arrivals_per_min);
       }},
      {"--aht-s", "S", "mean talk time in seconds, exponential (default 45)",
       [o](std::string_view v) { return ParseNumber("--aht-s", v, 0.1, 86400.0, &o->sim.aht_s); }},
      {"--patience-s", "P",
       "mean customer patience in seconds, exponential; 0 = never abandon (default 90)",
       [o](std::string_view v) {
         return ParseNumber("--patience-s", v, 0.0, 86400.0, &o->sim.patience_s);
       }},
      {"--seed", "X", "random seed; the same seed gives the same run (default: random, printed)",
       [o](std::string_view v) {
         o->seed_given = true;
         return ParseNumber<uint64_t>("--seed", v, 0, UINT64_MAX, &o->sim.seed);
       }},
      {"--duration-s", "D", "stop after D simulated seconds; 0 = run until Ctrl-C (default 0)",
       [o](std::string_view v) {
         return ParseNumber("--duration-s", v, 0.0, 1e9, &o->duration_s);
       }},
      {"--speed", "X", "simulated seconds per wall-clock second (default 1)",
       [o](std::string_view v) { return ParseNumber("--speed", v, 0.01, 1000.0, &o->speed); }},
      {"--status-interval-ms", "MS", "wall-clock milliseconds between status lines (default 1000)",
       [o](std::string_view v) {
         return ParseNumber<int64_t>("--status-interval-ms", v, 10, 3'600'000,
                                     &o->status_interval_ms);
       }},
      {"--json", nullptr, "print JSON objects, one a line, instead of text",
       [o](std::string_view) {
         o->json = true;
         return Status::Ok();
       }},
      {"--help", nullptr, "show this help",
       [o](std::string_view) {
         o->help = true;
         return Status::Ok();
       }},
  };
}

void PrintUsage(const std::vector<Flag>& flags) {
  std::printf(
      "usage: switchboard dev [flags]\n"
      "The embedded demo: the routing engine with simulated agents and customers, in real time\n"
      "(scaled by --speed). Prints a status line per interval; Ctrl-C prints a summary and exits.\n"
      "Exit codes: 0 clean stop, 1 the engine reported an unexpected error,\n"
      "2 bad flags or config.\n"
      "flags:\n");
  for (const Flag& f : flags) {
    const std::string lhs = std::string(f.name) + (f.arg ? std::string(" ") + f.arg : "");
    std::printf("  %-26s %s\n", lhs.c_str(), f.help);
  }
  std::printf(
      "With --config, traffic is spread evenly over the config's queues; a queue's channel is\n"
      "guessed from its name (chat, mail, callback, task; otherwise voice).\n");
}

// Accepts "--flag value" and "--flag=value". argv[0] is the subcommand name.
Status ParseFlags(int argc, char** argv, Options* options) {
  const std::vector<Flag> flags = Flags(options);
  for (int i = 1; i < argc; ++i) {
    std::string_view word = argv[i];
    if (word == "-h") word = "--help";
    std::optional<std::string_view> value;
    if (const size_t eq = word.find('='); word.starts_with("--") && eq != std::string_view::npos) {
      value = word.substr(eq + 1);
      word = word.substr(0, eq);
    }
    auto f =
        std::find_if(flags.begin(), flags.end(), [&](const Flag& x) { return word == x.name; });
    if (f == flags.end()) {
      return InvalidArgument(word.starts_with("-")
                                 ? "unknown flag " + std::string(word)
                                 : "unexpected argument \"" + std::string(word) + "\"");
    }
    if (f->arg == nullptr && value) {
      return InvalidArgument(std::string(f->name) + ": takes no value");
    }
    if (f->arg != nullptr && !value) {
      if (i + 1 >= argc) return InvalidArgument(std::string(f->name) + ": missing value " + f->arg);
      value = argv[++i];
    }
    SB_RETURN_IF_ERROR(f->set(value.value_or("")));
  }
  if (options->help) PrintUsage(flags);
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// Stop signals: the handler only sets a flag; the main loop polls it between short sleeps.

volatile std::sig_atomic_t g_stop_signal = 0;

void OnStopSignal(int signo) { g_stop_signal = signo; }

// Installs the SIGINT/SIGTERM handlers for its lifetime and restores the previous ones after.
class StopSignals {
 public:
  StopSignals() {
    g_stop_signal = 0;
    struct sigaction sa = {};
    sa.sa_handler = OnStopSignal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
  }
  ~StopSignals() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;
  bool stopped() const { return g_stop_signal != 0; }

 private:
  struct sigaction old_int_ = {}, old_term_ = {};
};

// ---------------------------------------------------------------------------------------------
// Status output

// Queue statistics added up; service level as defined in DESIGN.md.
struct Totals {
  uint64_t offered = 0, answered = 0, in_threshold = 0, abandoned = 0, short_abandoned = 0;
  uint64_t expired = 0;
  int64_t answered_wait_ms = 0;

  void Add(const pb::QueueStats& s) {
    offered += s.arrived();
    answered += s.answered();
    in_threshold += s.answered_in_threshold();
    abandoned += s.abandoned();
    short_abandoned += s.short_abandoned();
    expired += s.expired();
    answered_wait_ms += s.answered_wait_ms_total();
  }
  // Negative when nothing was answered or abandoned yet.
  double ServiceLevel() const {
    const uint64_t denom = answered + abandoned;
    return denom ? static_cast<double>(in_threshold) / static_cast<double>(denom) : -1;
  }
  double AsaS() const {
    return answered ? static_cast<double>(answered_wait_ms) / 1000.0 / static_cast<double>(answered)
                    : 0;
  }
};

unsigned long long U(uint64_t v) { return static_cast<unsigned long long>(v); }

std::string HhMmSs(int64_t ms) {
  const long long s = ms / 1000;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
  return buf;
}

std::string Percent(double share) {
  if (share < 0) return "-";
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.1f%%", share * 100);
  return buf;
}

std::string AbandonedCell(const Totals& t) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%llu (+%llu)", U(t.abandoned), U(t.short_abandoned));
  return buf;
}

std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// JSON has no NaN: an undefined service level is null.
std::string JsonShare(double share) {
  if (share < 0) return "null";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", share);
  return buf;
}

std::string JsonTotals(const Totals& t) {
  char buf[320];
  std::snprintf(buf, sizeof buf,
                "{\"offered\":%llu,\"answered\":%llu,\"abandoned\":%llu,\"short_abandoned\":%llu,"
                "\"expired\":%llu,\"service_level\":%s,\"asa_s\":%.2f}",
                U(t.offered), U(t.answered), U(t.abandoned), U(t.short_abandoned), U(t.expired),
                JsonShare(t.ServiceLevel()).c_str(), t.AsaS());
  return buf;
}

void PrintHeader(const Options& o, const std::string& config_name) {
  if (o.json) {
    std::printf(
        "{\"type\":\"start\",\"agents\":%d,\"arrivals_per_min\":%g,\"aht_s\":%g,"
        "\"patience_s\":%g,\"seed\":%llu,\"speed\":%g,\"config\":%s}\n",
        o.sim.agents, o.sim.arrivals_per_min, o.sim.aht_s, o.sim.patience_s, U(o.sim.seed), o.speed,
        JsonString(config_name).c_str());
  } else {
    std::printf(
        "switchboard dev: engine + %d simulated agents, %g contacts/min (Ctrl-C to stop)\n"
        "config: %s; seed %llu; speed %gx; mean talk %gs, mean patience %gs\n"
        "columns: time = simulated time since start; waiting = contacts queued now;\n"
        "  offered = contacts arrived so far; answered;\n"
        "  abandoned (+short abandons, which are left out of SL);\n"
        "  agents rdy/rsv/busy/acw/nr = ready, reserved by an offer, talking, after-contact work,\n"
        "  not ready; SL = answered within threshold / (answered + abandoned); oldest = longest\n"
        "  current wait; ASA = mean wait of answered; races = simulated actions that lost a race\n"
        "  with an engine decision (expected, e.g. accepting an offer that had timed out)\n"
        "    time  waiting  offered  answered   abandoned   rdy  rsv busy  acw   nr       SL  "
        "oldest     ASA   races\n",
        o.sim.agents, o.sim.arrivals_per_min, config_name.c_str(), U(o.sim.seed), o.speed,
        o.sim.aht_s, o.sim.patience_s);
  }
  std::fflush(stdout);
}

void PrintStatus(const Options& o, int64_t elapsed_ms, const engine::Summary& sum,
                 const SimCounters& sim) {
  Totals t;
  int64_t oldest_ms = 0;
  for (const engine::QueueSummary& q : sum.queues) {
    t.Add(q.stats);
    oldest_ms = std::max(oldest_ms, q.oldest_wait_ms);
  }
  if (o.json) {
    std::printf(
        "{\"type\":\"status\",\"t_s\":%.1f,\"waiting\":%llu,\"offered\":%llu,\"answered\":%llu,"
        "\"abandoned\":%llu,\"short_abandoned\":%llu,\"expired\":%llu,\"agents\":{\"ready\":%llu,"
        "\"reserved\":%llu,\"busy\":%llu,\"acw\":%llu,\"not_ready\":%llu},\"service_level\":%s,"
        "\"oldest_wait_s\":%.1f,\"asa_s\":%.2f,\"races\":%llu,\"errors\":%llu}\n",
        static_cast<double>(elapsed_ms) / 1000.0, U(sum.waiting), U(t.offered), U(t.answered),
        U(t.abandoned), U(t.short_abandoned), U(t.expired), U(sum.agents_ready),
        U(sum.agents_reserved), U(sum.agents_busy), U(sum.agents_acw), U(sum.agents_not_ready),
        JsonShare(t.ServiceLevel()).c_str(), static_cast<double>(oldest_ms) / 1000.0, t.AsaS(),
        U(sim.races), U(sim.errors));
  } else {
    std::printf("%s %8llu %8llu %9llu %11s %5llu %4llu %4llu %4llu %4llu %8s %6.1fs %6.1fs %7llu\n",
                HhMmSs(elapsed_ms).c_str(), U(sum.waiting), U(t.offered), U(t.answered),
                AbandonedCell(t).c_str(), U(sum.agents_ready), U(sum.agents_reserved),
                U(sum.agents_busy), U(sum.agents_acw), U(sum.agents_not_ready),
                Percent(t.ServiceLevel()).c_str(), static_cast<double>(oldest_ms) / 1000.0,
                t.AsaS(), U(sim.races));
  }
  std::fflush(stdout);
}

void PrintSummaryRow(const std::string& name, const Totals& t) {
  std::printf("  %-16s %8llu %9llu %11s %8llu %8s %7.1fs\n", name.c_str(), U(t.offered),
              U(t.answered), AbandonedCell(t).c_str(), U(t.expired),
              Percent(t.ServiceLevel()).c_str(), t.AsaS());
}

void PrintFinal(const Options& o, int64_t elapsed_ms, const engine::Summary& sum,
                const SimCounters& sim) {
  Totals total;
  for (const engine::QueueSummary& q : sum.queues) total.Add(q.stats);
  if (o.json) {
    std::string queues;
    for (const engine::QueueSummary& q : sum.queues) {
      Totals t;
      t.Add(q.stats);
      queues += (queues.empty() ? "" : ",") + JsonString(q.name) + ":" + JsonTotals(t);
    }
    std::printf(
        "{\"type\":\"summary\",\"t_s\":%.1f,\"seed\":%llu,\"queues\":{%s},\"total\":%s,"
        "\"offers\":%llu,\"accepted\":%llu,\"rejected\":%llu,\"missed\":%llu,"
        "\"withdrawn\":%llu,\"overflows\":%llu,\"acw_limits\":%llu,\"breaks\":%llu,"
        "\"races\":%llu,\"errors\":%llu}\n",
        static_cast<double>(elapsed_ms) / 1000.0, U(o.sim.seed), queues.c_str(),
        JsonTotals(total).c_str(), U(sim.offers), U(sim.accepted), U(sim.rejected), U(sim.missed),
        U(sim.withdrawn), U(sim.overflows), U(sim.acw_limits), U(sim.breaks), U(sim.races),
        U(sim.errors));
  } else {
    std::printf(
        "\nfinal summary after %s simulated (seed %llu):\n"
        "  %-16s %8s %9s %11s %8s %8s %8s\n",
        HhMmSs(elapsed_ms).c_str(), U(o.sim.seed), "queue", "offered", "answered", "abandoned",
        "expired", "SL", "ASA");
    for (const engine::QueueSummary& q : sum.queues) {
      Totals t;
      t.Add(q.stats);
      PrintSummaryRow(q.name, t);
    }
    PrintSummaryRow("total", total);
    std::printf(
        "  offers %llu: accepted %llu, rejected %llu, timed out %llu, withdrawn %llu; "
        "overflows %llu; ACW ended by its limit %llu; breaks %llu\n"
        "  races lost to engine decisions (expected): %llu; unexpected engine errors: "
        "%llu\n",
        U(sim.offers), U(sim.accepted), U(sim.rejected), U(sim.missed), U(sim.withdrawn),
        U(sim.overflows), U(sim.acw_limits), U(sim.breaks), U(sim.races), U(sim.errors));
  }
  std::fflush(stdout);
}

// ---------------------------------------------------------------------------------------------
// The real-time loop

// Wall-clock slice between simulation steps: short, so a stop signal is seen within ~20 ms.
constexpr auto kSlice = std::chrono::milliseconds(10);
// Actions per step at most, so a simulation far behind real time still notices stop signals.
constexpr size_t kMaxActionsPerStep = 200'000;

// Simulated time runs at `speed` times wall time from the start. The engine's clock is a
// ManualClock moved by the simulation to each action's due time, so a seeded run makes the same
// decisions however the process is scheduled; the pacing only decides when they happen.
int Run(const Options& o, const pb::RoutingConfig& config, TrafficProfile profile,
        const std::string& config_name) {
  ManualClock clock(SystemClock().NowMs());
  auto engine = engine::Engine::Create(config, &clock);
  if (!engine.ok()) {
    std::fprintf(stderr, "switchboard dev: engine: %s\n", engine.status().ToString().c_str());
    return 2;
  }
  SimWorld world(o.sim, std::move(profile), engine->get(), &clock);
  StopSignals signals;
  PrintHeader(o, config_name);

  const int64_t start_ms = clock.NowMs();
  const int64_t end_ms = o.duration_s > 0 ? start_ms + std::llround(o.duration_s * 1000) : 0;
  const auto wall_start = std::chrono::steady_clock::now();
  const auto interval = std::chrono::milliseconds(o.status_interval_ms);
  auto next_status = wall_start + interval;
  world.Start();
  while (!signals.stopped()) {
    const auto wall = std::chrono::steady_clock::now();
    const double wall_ms = std::chrono::duration<double, std::milli>(wall - wall_start).count();
    int64_t target = start_ms + std::llround(wall_ms * o.speed);
    if (end_ms > 0) target = std::min(target, end_ms);
    const bool caught_up = world.AdvanceTo(target, kMaxActionsPerStep);
    if (wall >= next_status) {
      PrintStatus(o, clock.NowMs() - start_ms, (*engine)->Summarize(), world.counters());
      next_status = std::max(next_status + interval, wall);
    }
    if (end_ms > 0 && caught_up && target >= end_ms) break;
    if (caught_up) std::this_thread::sleep_for(kSlice);
  }
  PrintFinal(o, clock.NowMs() - start_ms, (*engine)->Summarize(), world.counters());
  return world.counters().errors == 0 ? 0 : 1;
}

}  // namespace

int Main(int argc, char** argv) {
  Options options;
  if (Status st = ParseFlags(argc, argv, &options); !st.ok()) {
    std::fprintf(stderr, "switchboard dev: %s\nrun 'switchboard dev --help' for the flags\n",
                 st.message().c_str());
    return 2;
  }
  if (options.help) return 0;
  if (!options.seed_given) options.sim.seed = std::random_device{}();

  const bool builtin = options.config_path.empty();
  auto config = builtin ? config::ParseRoutingConfig(kDemoConfig)
                        : config::LoadRoutingConfigFile(options.config_path);
  if (!config.ok()) {
    // A bad --config is the user's to fix (2); a rejected built-in config is a defect here (1).
    std::fprintf(stderr, "switchboard dev: %s: %s\n", builtin ? "built-in demo config" : "--config",
                 config.status().ToString().c_str());
    return builtin ? 1 : 2;
  }
  if (config->queues_size() == 0) {
    std::fprintf(stderr, "switchboard dev: %s: no queues to send traffic to\n",
                 options.config_path.c_str());
    return 2;
  }
  TrafficProfile profile = builtin ? DemoTraffic(*config) : DeriveProfile(*config);
  const std::string name =
      builtin ? "built-in demo (5 queues in domain \"demo\")" : options.config_path;
  return Run(options, *config, std::move(profile), name);
}

}  // namespace sb::dev
