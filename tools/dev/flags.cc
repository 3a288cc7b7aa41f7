#include "tools/dev/flags.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <functional>
#include <optional>
#include <string_view>
#include <type_traits>
#include <vector>

namespace sb::dev {
namespace {

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

// A flag setting a number in [lo, hi].
template <typename T>
Flag NumberFlag(const char* name, const char* arg, const char* help, T lo, T hi, T* out) {
  return {name, arg, help, [=](std::string_view v) { return ParseNumber(name, v, lo, hi, out); }};
}

// A flag setting a non-empty path.
Flag PathFlag(const char* name, const char* arg, const char* help, std::string* out) {
  return {name, arg, help, [=](std::string_view v) {
            if (v.empty()) return InvalidArgument(std::string(name) + ": empty path");
            *out = std::string(v);
            return Status::Ok();
          }};
}

Flag SwitchFlag(const char* name, const char* help, bool* out) {
  return {name, nullptr, help, [=](std::string_view) {
            *out = true;
            return Status::Ok();
          }};
}

std::vector<Flag> Flags(Options* o) {
  return {
      NumberFlag("--agents", "N", "simulated agents, spread over the config's domains (60)", 1u,
                 100000u, &o->agents),
      NumberFlag("--rate-per-s", "R", "new contacts per second, evenly spaced (3)", 0.01, 100000.0,
                 &o->rate_per_s),
      NumberFlag("--routers", "N", "router nodes, each its own process (2)", 1, 16, &o->routers),
      NumberFlag("--partitions", "K", "partitions (shards) of every topic (12)", 1, 256,
                 &o->partitions),
      NumberFlag("--think-ms", "MS", "an agent's time to accept an offer (1000)", 0, 3'600'000,
                 &o->think_ms),
      NumberFlag("--handle-ms", "MS", "talk time (5000)", 0, 86'400'000, &o->handle_ms),
      NumberFlag("--wrap-ms", "MS", "after-contact work (1000)", 0, 86'400'000, &o->wrap_ms),
      NumberFlag("--patience-s", "S", "mean customer patience, exponential; 0 = never hang up (30)",
                 0.0, 86400.0, &o->patience_s),
      NumberFlag("--duration-s", "S", "stop after S seconds; 0 = run until Ctrl-C (0)", 0.0, 1e9,
                 &o->duration_s),
      NumberFlag<uint64_t>("--seed", "X", "random seed of the agents' skills and the traffic (1)",
                           0, UINT64_MAX, &o->seed),
      PathFlag("--config", "FILE", "routing config, YAML or JSON (default: built in, 8 domains)",
               &o->config_path),
      PathFlag("--data-dir", "DIR",
               "logs, config and router state; new or empty, kept (default: a temp dir)",
               &o->data_dir),
      SwitchFlag("--keep-data", "keep the temp dir after a clean exit", &o->keep_data),
      SwitchFlag("--help", "show this help", &o->help),
  };
}

void PrintUsage(const std::vector<Flag>& flags) {
  std::printf(
      "usage: switchboard dev [flags]\n"
      "A local Switchboard cluster: the embedded broker and router nodes as child processes,\n"
      "with simulated customers and agents in this process: contacts go to Kafka like a channel\n"
      "adapter's; each agent is a desktop on a router's gRPC gateway (AgentService.Session) and\n"
      "acts on the offers its stream delivers. Prints a status line per second; Ctrl-C (or\n"
      "SIGTERM, or --duration-s) stops everything in order and prints a summary.\n"
      "Exit codes: 0 clean stop with nothing lost, duplicated or offered to an unqualified agent;\n"
      "1 a child process failed or the summary shows a loss, duplicate or ineligible offer;\n"
      "2 bad flags or config.\n"
      "flags:\n");
  for (const Flag& f : flags) {
    const std::string lhs = std::string(f.name) + (f.arg ? std::string(" ") + f.arg : "");
    std::printf("  %-18s %s\n", lhs.c_str(), f.help);
  }
}

}  // namespace

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

}  // namespace sb::dev
