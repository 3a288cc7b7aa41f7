#include "tools/loadgen/loadgen.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>

#include "CLI/CLI.hpp"
#include "common/clock.h"
#include "common/config/config.h"
#include "nlohmann/json.hpp"
#include "tools/loadgen/floor.h"
#include "tools/loadgen/ledger.h"
#include "tools/loadgen/traffic.h"

namespace sb::loadgen {
namespace {

struct Flags {
  std::string kafka;
  std::string config_path;
  uint64_t contacts = 1000;
  double rate = 100;
  uint32_t agents = 50;
  uint32_t domains = 1;
  uint64_t seed = 1;
  bool verify = false;
  double timeout_s = 120;
  double quiet_s = 3;
  int think_ms = 200, handle_ms = 2000, wrap_ms = 300;
  double patience_s = 60;
  int floor_messages = 2000;
  std::string results;
  std::string epoch_log;
  std::vector<std::string> settings;
  std::string agents_via = "kafka";
  std::vector<std::string> gateways;     // host:port
  std::vector<std::string> token_files;  // one for every gateway, or one per gateway
  double cut_desks_after_s = 0;          // 0: never
};

// The gateways of --agents-via grpc with their tokens (first line of a token file, as the
// router writes <data dir>/admin.token). Fails with InvalidArgument naming the flag.
Result<std::vector<GatewayTarget>> GatewaysOf(const Flags& f) {
  if (f.agents_via != "grpc") {
    if (!f.gateways.empty() || !f.token_files.empty() || f.cut_desks_after_s > 0) {
      return InvalidArgument(
          "--gateways, --gateway-token-file, --cut-desks-after-s: only with --agents-via grpc");
    }
    return std::vector<GatewayTarget>{};
  }
  if (f.gateways.empty()) return InvalidArgument("--agents-via grpc: --gateways required");
  if (f.cut_desks_after_s > 0 && f.gateways.size() < 2) {
    return InvalidArgument("--cut-desks-after-s: needs two --gateways (the desktops move on)");
  }
  if (f.token_files.size() > 1 && f.token_files.size() != f.gateways.size()) {
    return InvalidArgument("--gateway-token-file: give one, or one per gateway (" +
                           std::to_string(f.gateways.size()) + ")");
  }
  std::vector<GatewayTarget> out;
  for (size_t i = 0; i < f.gateways.size(); ++i) {
    GatewayTarget g{f.gateways[i], ""};
    if (!f.token_files.empty()) {
      const std::string& path = f.token_files.size() == 1 ? f.token_files[0] : f.token_files[i];
      std::ifstream in(path);
      std::getline(in, g.token);
      if (g.token.empty()) {
        return InvalidArgument("--gateway-token-file: cannot read a token from " + path);
      }
    }
    out.push_back(std::move(g));
  }
  return out;
}

class Run {
 public:
  Run(Flags f, pb::RoutingConfig config) : f_(std::move(f)), config_(std::move(config)) {}
  int Go();

 private:
  // Sends the probes, then the contacts at the rate once the probes were answered, and books
  // outputs until every contact is final and no output of the run came for --quiet-s (late
  // repeats, zombies, contradictions), or the timeout. Fails only on a Kafka error.
  Status Drive(Traffic& traffic);
  int Report(const Verdict& v, const Floor& floor);

  Flags f_;
  pb::RoutingConfig config_;
};

int Run::Report(const Verdict& v, const Floor& floor) {
  nlohmann::ordered_json j;
  j["submitted"] = v.submitted;
  j["assigned"] = v.assigned;
  j["abandoned"] = v.abandoned;
  j["lost"] = v.lost;
  j["duplicates"] = v.duplicates;
  j["ineligible"] = v.ineligible;
  j["over_capacity"] = v.over_capacity;
  j["hangups_unconfirmed"] = v.hangups_unconfirmed;
  j["p50_ms"] = v.p50_ms;
  j["p99_ms"] = v.p99_ms;
  j["max_ms"] = v.max_ms;
  j["max_offer_gap_ms"] = v.max_offer_gap_ms;
  j["throughput_per_s"] = std::round(v.throughput_per_s * 10) / 10;
  j["offers"] = v.offers;
  j["redelivered"] = v.redelivered;
  j["floor_p50_ms"] = floor.p50_ms;
  j["floor_p99_ms"] = floor.p99_ms;
  j["ratio_p99"] = floor.p99_ms > 0 ? std::round(v.p99_ms / floor.p99_ms * 100) / 100 : 0.0;
  j["rate_per_s"] = f_.rate;
  j["agents"] = f_.agents;
  j["domains"] = f_.domains;
  j["agents_via"] = f_.agents_via;
  const std::string line = j.dump();
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
  if (!f_.results.empty()) {
    std::ofstream out(f_.results);
    out << j.dump(2) << "\n";
    if (!out) {
      std::fprintf(stderr, "loadgen: cannot write %s\n", f_.results.c_str());
      return 1;
    }
  }
  if (f_.verify && (v.lost > 0 || v.duplicates > 0 || v.ineligible > 0 || v.over_capacity > 0)) {
    std::fprintf(stderr,
                 "loadgen: verification FAILED (lost %llu of which %llu hang-ups unconfirmed, "
                 "duplicates %llu, ineligible %llu, over_capacity %llu)\n",
                 static_cast<unsigned long long>(v.lost),
                 static_cast<unsigned long long>(v.hangups_unconfirmed),
                 static_cast<unsigned long long>(v.duplicates),
                 static_cast<unsigned long long>(v.ineligible),
                 static_cast<unsigned long long>(v.over_capacity));
    return 1;
  }
  return 0;
}

Status Run::Drive(Traffic& traffic) {
  const int64_t deadline = MonotonicMs() + static_cast<int64_t>(f_.timeout_s * 1000);
  // Probes: one contact per queue, waited for, so the timed load starts on a warm cluster.
  SB_RETURN_IF_ERROR(traffic.SubmitProbes());
  bool probing = true;
  uint64_t sent = 0;
  int64_t load_start = 0, done_at = -1;
  const int64_t quiet_ms = static_cast<int64_t>(f_.quiet_s * 1000);
  uint64_t booked = traffic.outputs_booked();
  int64_t last_output_at = MonotonicMs();
  // --cut-desks-after-s: when the desktops on the first gateway lose their streams.
  int64_t cut_at = f_.cut_desks_after_s > 0
                       ? MonotonicMs() + static_cast<int64_t>(f_.cut_desks_after_s * 1000)
                       : 0;
  while (MonotonicMs() < deadline) {
    const int64_t now = MonotonicMs();
    if (probing) {
      if (traffic.ProbesAnswered()) {
        probing = false;
        load_start = now;
        std::fprintf(stderr,
                     "loadgen: cluster answered the probes; submitting %llu contacts at %.0f/s\n",
                     static_cast<unsigned long long>(f_.contacts), f_.rate);
      }
    } else if (sent < f_.contacts) {
      const uint64_t due = std::min<uint64_t>(
          f_.contacts, static_cast<uint64_t>((now - load_start) * f_.rate / 1000.0) + 1);
      for (; sent < due; ++sent) SB_RETURN_IF_ERROR(traffic.Submit());
    }
    SB_RETURN_IF_ERROR(traffic.Step(1));
    if (cut_at > 0 && now >= cut_at) {
      cut_at = 0;
      auto cut = traffic.CutAgentStreams(0);
      if (!cut.ok()) return cut.status();
      std::fprintf(stderr, "loadgen: cut %zu desktop streams to the first gateway\n", *cut);
    }
    if (traffic.outputs_booked() != booked) {
      booked = traffic.outputs_booked();
      last_output_at = MonotonicMs();
    }
    if (!probing && sent == f_.contacts && traffic.ledger().AllFinal()) {
      if (done_at < 0) done_at = now;
      // Then until the run's outputs stop: late repeats, zombies' outputs, contradictions.
      if (MonotonicMs() - std::max(done_at, last_output_at) >= quiet_ms) break;
    }
  }
  if (probing) std::fprintf(stderr, "loadgen: the cluster never answered the probe contacts\n");
  return Status::Ok();
}

int Run::Go() {
  TrafficOptions options;
  options.agents = f_.agents;
  options.domains = f_.domains;
  options.seed = f_.seed;
  options.think_ms = f_.think_ms;
  options.handle_ms = f_.handle_ms;
  options.wrap_ms = f_.wrap_ms;
  options.patience_s = f_.patience_s;
  options.epoch_log = f_.epoch_log;
  auto gateways = GatewaysOf(f_);
  if (!gateways.ok()) {
    std::fprintf(stderr, "loadgen: %s\n", gateways.status().message().c_str());
    return 2;
  }
  options.gateways = std::move(*gateways);
  auto kafka_settings = kafka::ParseSettings(f_.settings);
  if (!kafka_settings.ok()) {
    std::fprintf(stderr, "loadgen: %s\n", kafka_settings.status().message().c_str());
    return 2;
  }
  options.settings = std::move(*kafka_settings);
  auto fail = [](const Status& st) {
    std::fprintf(stderr, "loadgen: %s\n", st.ToString().c_str());
    return 1;
  };
  auto traffic = Traffic::Create(f_.kafka, config_, options);
  if (!traffic.ok()) {
    // A flag that does not fit the config is the caller's to fix (2), Kafka failing is not (1).
    fail(traffic.status());
    return traffic.status().code() == Code::kInvalidArgument ? 2 : 1;
  }

  // The raw floor first, on a scratch topic, with the same client settings.
  Floor floor;
  if (f_.floor_messages > 0) {
    auto fl = MeasureFloor(f_.kafka, options.settings, f_.floor_messages, std::min(f_.rate, 5000.0),
                           30000);
    if (!fl.ok()) return fail(fl.status());
    floor = *fl;
    std::fprintf(stderr, "loadgen: floor produce→consume p50 %.2f ms p99 %.2f ms (%d samples)\n",
                 floor.p50_ms, floor.p99_ms, floor.samples);
  }
  if (Status st = (*traffic)->Start(); !st.ok()) return fail(st);
  if (Status st = Drive(**traffic); !st.ok()) return fail(st);
  (*traffic)->LogOut(5000);
  return Report((*traffic)->ledger().Finish(), floor);
}

}  // namespace

int Main(int argc, char** argv) {
  CLI::App app{"switchboard loadgen: contacts and simulated agents through Kafka, verified"};
  Flags f;
  app.add_option("--kafka", f.kafka, "Kafka bootstrap servers")->required();
  app.add_option("--config", f.config_path, "routing configuration the routers use")->required();
  app.add_option("--contacts", f.contacts, "contacts to submit (1000)");
  app.add_option("--rate", f.rate, "contacts per second (100)")->check(CLI::PositiveNumber);
  app.add_option("--agents", f.agents, "simulated agents (50)")->check(CLI::PositiveNumber);
  app.add_option("--domains", f.domains, "use the first D domains of the config (1)");
  app.add_option("--seed", f.seed, "random seed (1)");
  app.add_flag("--verify", f.verify,
               "exit 1 unless lost = duplicates = ineligible = over_capacity = 0");
  app.add_option("--timeout-s", f.timeout_s, "stop after this long (120)")
      ->check(CLI::PositiveNumber);
  app.add_option("--quiet-s", f.quiet_s,
                 "once every contact is final, read on until no output of the run came for this "
                 "long (3; bounded by --timeout-s)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--think-ms", f.think_ms, "agent's time to accept an offer (200)");
  app.add_option("--handle-ms", f.handle_ms, "talk time (2000)");
  app.add_option("--wrap-ms", f.wrap_ms, "after-contact work (300)");
  app.add_option("--patience-s", f.patience_s,
                 "mean customer patience before an offer; 0 = customers never hang up (60)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--floor-messages", f.floor_messages,
                 "messages of the raw floor measurement (2000; 0 = skip)");
  app.add_option("--results", f.results, "write the verdict as JSON here too");
  app.add_option("--epoch-log", f.epoch_log,
                 "append '<wall ms> <shard> <epoch>' at each new shard owner's first output");
  app.add_option("--kafka-setting", f.settings, "extra librdkafka setting key=value (repeatable)");
  app.add_option("--agents-via", f.agents_via,
                 "the agents' desktops: kafka (sb.agent-events) or grpc (AgentService.Session "
                 "streams to --gateways) (kafka)")
      ->check(CLI::IsMember({"kafka", "grpc"}));
  app.add_option("--gateways", f.gateways,
                 "with --agents-via grpc: the routers' gRPC addresses host:port, comma-separated; "
                 "agents spread round-robin")
      ->delimiter(',');
  app.add_option("--cut-desks-after-s", f.cut_desks_after_s,
                 "fault injection, with --agents-via grpc: this long after the start, the "
                 "desktop streams to the first gateway drop without a logout (they log in again "
                 "through the next gateway, within its grace period)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--gateway-token-file", f.token_files,
                 "bearer token for the gateways (first line of the file, e.g. a router's "
                 "<data dir>/admin.token): one for all, or one per gateway in order (repeatable)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  auto config = config::LoadRoutingConfigFile(f.config_path);
  if (!config.ok()) {
    std::fprintf(stderr, "loadgen: %s\n", config.status().ToString().c_str());
    return 2;
  }
  Run run(std::move(f), std::move(*config));
  return run.Go();
}

}  // namespace sb::loadgen
