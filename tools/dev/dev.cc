// `switchboard dev`: the broker and the routers as child processes, the simulated agents and
// customers (tools/loadgen's Traffic) in this process, a status line per second, an orderly stop.
// The customers' contacts go to Kafka like a channel adapter's; the agents are desktops on the
// routers' gRPC gateways (AgentService.Session), spread over the routers.
#include "tools/dev/dev.h"

#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/config/config.h"
#include "tools/dev/demo_config.h"
#include "tools/dev/flags.h"
#include "tools/dev/local_cluster.h"
#include "tools/dev/status.h"
#include "tools/loadgen/traffic.h"

namespace sb::dev {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kStatusIntervalMs = 1000;
// Longest wait for Kafka in one loop turn: a stop signal is seen within a few milliseconds.
constexpr int kPollMs = 5;
// At a stop, contacts an agent was offered get one think time plus this to be connected.
constexpr int64_t kDrainGraceMs = 5000;
constexpr int kLogoutTimeoutMs = 2000;
// Share of customers who hang up while waiting and ask for a callback (built-in config only).
constexpr double kCallbackShare = 0.3;
// Share of handled customers who file a complaint, and of contacts resolved at the first contact.
constexpr double kComplaintShare = 0.05;
constexpr double kResolvedShare = 0.7;
// How long the routers may take to form their group and claim every shard.
constexpr int64_t kClaimTimeoutMs = 60000;
// What the routers' own status lines are printed at (router/shard/node.h's default).
constexpr int kRouterStatusIntervalS = 5;

// ---------------------------------------------------------------------------------------------
// Stop signals: the handler only counts; the loops poll the count between short waits.

volatile std::sig_atomic_t g_stop_signals = 0;

void OnStopSignal(int) { g_stop_signals = g_stop_signals + 1; }

// Installs the SIGINT/SIGTERM handlers for its lifetime and restores the previous ones after.
class StopSignals {
 public:
  StopSignals() {
    g_stop_signals = 0;
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
  int count() const { return g_stop_signals; }

 private:
  struct sigaction old_int_ = {}, old_term_ = {};
};

// ---------------------------------------------------------------------------------------------
// Setup: the config and the data directory.

struct DataDir {
  std::string path;
  bool temporary = false;  // created here: removed after a clean exit unless --keep-data
};

Result<DataDir> PrepareDataDir(const Options& o) {
  if (o.data_dir.empty()) {
    std::string pattern = (fs::temp_directory_path() / "switchboard-dev.XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      return Unavailable("cannot create a temporary directory from " + pattern);
    }
    return DataDir{pattern, true};
  }
  std::error_code ec;
  // A fresh broker cannot continue old router state: a used directory would restore shards
  // from checkpoints of a changelog that no longer exists.
  if (fs::exists(o.data_dir, ec) && !fs::is_empty(o.data_dir, ec)) {
    return InvalidArgument("--data-dir " + o.data_dir +
                           ": not empty (router state of another run cannot be reused with a "
                           "fresh broker); give a new or empty directory");
  }
  fs::create_directories(o.data_dir, ec);
  if (ec) return InvalidArgument("--data-dir " + o.data_dir + ": " + ec.message());
  return DataDir{fs::absolute(o.data_dir).string(), false};
}

struct DemoConfig {
  config::RoutingConfig config;
  std::string path;           // the file the routers read
  std::string followup_path;  // the routers' follow-up config; empty: their defaults
  std::string description;    // for the header
};

Status WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  out.close();
  if (!out) return Unavailable("cannot write " + path);
  return Status::Ok();
}

// The built-in config is written into the data directory, so the routers read the same text.
Result<DemoConfig> LoadConfig(const Options& o, const std::string& data_dir) {
  if (!o.config_path.empty()) {
    auto config = config::LoadRoutingConfigFile(o.config_path);
    if (!config.ok()) return InvalidArgument("--config: " + config.status().ToString());
    const std::string path = fs::absolute(o.config_path).string();
    return DemoConfig{std::move(*config), path, "", path};
  }
  const std::string yaml = DemoConfigYaml();
  auto config = config::ParseRoutingConfig(yaml);
  if (!config.ok()) return Internal("built-in demo config: " + config.status().ToString());
  const std::string path = data_dir + "/routing.yaml";
  const std::string followup_path = data_dir + "/followup.yaml";
  SB_RETURN_IF_ERROR(WriteFile(path, yaml));
  SB_RETURN_IF_ERROR(WriteFile(followup_path, DemoFollowUpYaml()));
  return DemoConfig{std::move(*config), path, followup_path,
                    "built-in demo config (" + std::to_string(kDemoDomains) +
                        " domains, a general and a billing queue each, follow-up queues), "
                        "written to " +
                        path};
}

// ---------------------------------------------------------------------------------------------
// The run

class Demo {
 public:
  Demo(const Options& o, const DataDir& dir, DemoConfig config, const StopSignals& signals)
      : o_(o), dir_(dir), config_(std::move(config)), signals_(signals) {}
  // Returns the exit code.
  int Run();

 private:
  Status Start();
  Status AwaitShardOwners();
  // Each router's gateway and its admin token (an admin may act for any agent).
  Result<std::vector<loadgen::GatewayTarget>> Gateways();
  void PrintHeader() const;
  // Submits and books until a stop signal, --duration-s or a failure.
  Status Loop();
  // No new contacts: waiting customers hang up, offered contacts get time to be connected.
  Status Drain();
  void PrintStatusNow();

  const Options& o_;
  const DataDir& dir_;
  const DemoConfig config_;
  const StopSignals& signals_;
  std::unique_ptr<LocalCluster> cluster_;
  std::unique_ptr<loadgen::Traffic> traffic_;
  int64_t start_ms_ = 0;
};

Status Demo::Start() {
  ClusterOptions co;
  co.routers = o_.routers;
  co.partitions = o_.partitions;
  co.data_dir = dir_.path;
  co.config_path = config_.path;
  co.followup_config_path = config_.followup_path;
  auto cluster = LocalCluster::Start(co, [this] { return signals_.count() > 0; });
  if (!cluster.ok()) return cluster.status();
  cluster_ = std::move(*cluster);
  SB_RETURN_IF_ERROR(AwaitShardOwners());

  loadgen::TrafficOptions to;
  to.agents = o_.agents;
  to.domains = static_cast<uint32_t>(config_.config.domains_size());
  to.seed = o_.seed;
  to.think_ms = o_.think_ms;
  to.handle_ms = o_.handle_ms;
  to.wrap_ms = o_.wrap_ms;
  to.patience_s = o_.patience_s;
  if (!config_.followup_path.empty()) {
    to.callback_queue = "callbacks";
    to.callback_share = kCallbackShare;
    to.complaint_queue = "complaints";
    to.complaint_share = kComplaintShare;
    to.resolved_share = kResolvedShare;
  }
  to.adopt_foreign_contacts = true;  // contacts submitted to the demo over gRPC
  auto gateways = Gateways();
  if (!gateways.ok()) return gateways.status();
  to.gateways = std::move(*gateways);
  auto traffic = loadgen::Traffic::Create(cluster_->bootstrap(), config_.config, to);
  if (!traffic.ok()) return traffic.status();
  SB_RETURN_IF_ERROR((*traffic)->Start());
  traffic_ = std::move(*traffic);
  start_ms_ = MonotonicMs();
  return Status::Ok();
}

Result<std::vector<loadgen::GatewayTarget>> Demo::Gateways() {
  std::vector<loadgen::GatewayTarget> gateways;
  for (const RouterShards& r : cluster_->Shards()) {
    std::ifstream in(r.admin_token);
    std::string token;
    std::getline(in, token);
    if (token.empty()) {
      return Unavailable("router " + r.node_id + ": cannot read its admin token from " +
                         r.admin_token);
    }
    gateways.push_back({r.grpc_address, token});
  }
  return gateways;
}

// Traffic starts once every router routes its share and serves gRPC: contacts sent earlier would
// only wait in Kafka while the group forms (seconds on the embedded broker) and blur the first
// figures, and the agents log in on the routers' gateways.
Status Demo::AwaitShardOwners() {
  std::printf("switchboard dev: %d routers joining their group and claiming %d shards ...\n",
              o_.routers, o_.partitions);
  std::fflush(stdout);
  const int64_t deadline = MonotonicMs() + kClaimTimeoutMs;
  while (signals_.count() == 0) {
    SB_RETURN_IF_ERROR(cluster_->CheckRunning());
    size_t owned = 0;
    bool every_router_routes = true;
    bool every_gateway_known = true;
    for (const RouterShards& r : cluster_->Shards()) {
      owned += r.shards.size();
      every_router_routes = every_router_routes && !r.shards.empty();
      every_gateway_known =
          every_gateway_known && !r.grpc_address.empty() && !r.admin_token.empty();
    }
    if (owned == static_cast<size_t>(o_.partitions) && every_gateway_known &&
        (every_router_routes || o_.routers > o_.partitions)) {
      return Status::Ok();
    }
    if (MonotonicMs() > deadline) {
      return Unavailable("the routers did not claim all " + std::to_string(o_.partitions) +
                         " shards within " + std::to_string(kClaimTimeoutMs / 1000) +
                         " s; see their logs under " + dir_.path);
    }
    usleep(50 * 1000);
  }
  return Unavailable("stopped while the routers were claiming shards");
}

void Demo::PrintHeader() const {
  const ChildProcess& broker = cluster_->broker();
  std::printf(
      "switchboard dev: a local Switchboard cluster with simulated agents and customers\n"
      "  broker     pid %d  bootstrap %s (librdkafka mock cluster, %d partitions)\n"
      "             log %s\n",
      broker.pid(), cluster_->bootstrap().c_str(), o_.partitions, broker.log_path().c_str());
  const std::vector<RouterShards> shards = cluster_->Shards();
  for (size_t i = 0; i < cluster_->routers().size(); ++i) {
    const ChildProcess& r = *cluster_->routers()[i];
    std::printf("  %-10s pid %d  log %s\n", r.name().c_str(), r.pid(), r.log_path().c_str());
    if (i < shards.size() && !shards[i].metrics_url.empty()) {
      std::printf("             metrics %s\n", shards[i].metrics_url.c_str());
    }
    if (i < shards.size() && !shards[i].wallboard_url.empty()) {
      std::printf("             wallboard %s\n", shards[i].wallboard_url.c_str());
    }
    if (i < shards.size() && !shards[i].grpc_address.empty()) {
      std::printf("             grpc %s  admin token in %s\n", shards[i].grpc_address.c_str(),
                  shards[i].admin_token.empty() ? "(none yet)" : shards[i].admin_token.c_str());
    }
  }
  std::printf(
      "  traffic    this process (pid %d): %u agents over %u domains (%zu queues), %g contacts/s;\n"
      "             think %d ms, talk %d ms, wrap-up %d ms, mean patience %g s; seed %llu\n"
      "             contacts to Kafka (sb.contacts) like a channel adapter; agents: desktops on\n"
      "             %s (spread over the routers, an admin token)\n"
      "  config     %s\n"
      "  data       %s (%s)\n"
      "  metrics    Prometheus /metrics and the live /wallboard of each router above; each router\n"
      "             logs a status line every %d s\n"
      "  stop       Ctrl-C: no new contacts, waiting customers hang up, routers and broker stop,\n"
      "             then a summary\n",
      static_cast<int>(getpid()), o_.agents, traffic_->domains(), traffic_->queues(), o_.rate_per_s,
      o_.think_ms, o_.handle_ms, o_.wrap_ms, o_.patience_s,
      static_cast<unsigned long long>(o_.seed), traffic_->agent_link().c_str(),
      config_.description.c_str(), dir_.path.c_str(),
      dir_.temporary && !o_.keep_data ? "removed after a clean exit" : "kept",
      kRouterStatusIntervalS);
  PrintLegend();
}

void Demo::PrintStatusNow() {
  PrintStatus({MonotonicMs() - start_ms_, traffic_->ledger().Counts(),
               traffic_->ledger().TakeRecentWaits(), cluster_->Shards(),
               traffic_->callbacks_requested(), traffic_->follow_up_contacts(), traffic_->agents(),
               traffic_->agent_link_counts()});
}

Status Demo::Loop() {
  const int64_t end_ms = o_.duration_s > 0 ? start_ms_ + static_cast<int64_t>(o_.duration_s * 1000)
                                           : std::numeric_limits<int64_t>::max();
  int64_t next_status = start_ms_ + kStatusIntervalMs;
  uint64_t sent = 0;
  while (signals_.count() == 0) {
    const int64_t now = MonotonicMs();
    if (now >= end_ms) break;
    const auto due =
        static_cast<uint64_t>(static_cast<double>(now - start_ms_) * o_.rate_per_s / 1000.0) + 1;
    for (; sent < due; ++sent) SB_RETURN_IF_ERROR(traffic_->Submit());
    SB_RETURN_IF_ERROR(traffic_->Step(kPollMs));
    if (now >= next_status) {
      SB_RETURN_IF_ERROR(cluster_->CheckRunning());
      PrintStatusNow();
      next_status = std::max(next_status + kStatusIntervalMs, now + 1);
    }
  }
  return Status::Ok();
}

Status Demo::Drain() {
  const int64_t grace_ms = o_.think_ms + kDrainGraceMs;
  std::printf(
      "stopping: no new contacts; waiting customers hang up; offered contacts get up to %lld s "
      "to connect (Ctrl-C again skips)\n",
      static_cast<long long>(grace_ms / 1000));
  std::fflush(stdout);
  SB_RETURN_IF_ERROR(traffic_->HangUpWaiting());
  const int64_t deadline = MonotonicMs() + grace_ms;
  while (!traffic_->ledger().AllFinal() && MonotonicMs() < deadline && signals_.count() < 2) {
    SB_RETURN_IF_ERROR(traffic_->Step(kPollMs));
    SB_RETURN_IF_ERROR(cluster_->CheckRunning());
  }
  PrintStatusNow();
  return Status::Ok();
}

int Demo::Run() {
  if (Status st = Start(); !st.ok()) {
    if (signals_.count() > 0) {
      std::fprintf(stderr, "switchboard dev: stopped during startup\n");
      return 0;  // the children die with cluster_ (SIGKILL): nothing ran yet worth keeping
    }
    std::fprintf(stderr, "switchboard dev: %s\n", st.ToString().c_str());
    return st.code() == Code::kInvalidArgument ? 2 : 1;
  }
  PrintHeader();
  Status failure = Loop();
  if (failure.ok() && signals_.count() < 2) failure = Drain();
  // Without a full drain (a second Ctrl-C, a failure) contacts still open are no evidence of a
  // loss: the run was cut short.
  const bool drained = failure.ok() && signals_.count() < 2;
  const int64_t elapsed_ms = MonotonicMs() - start_ms_;
  traffic_->LogOut(kLogoutTimeoutMs);
  const loadgen::Verdict verdict = traffic_->ledger().Finish();
  const loadgen::AgentLinkCounts agents = traffic_->agent_link_counts();
  const std::string agent_link = traffic_->agent_link();
  traffic_.reset();  // its Kafka clients and gRPC streams go before the broker and routers do
  const Status stopped = cluster_->Stop();
  PrintSummary(elapsed_ms, verdict);
  PrintAgentSummary(agent_link, agents);
  int code = 0;
  for (const Status& st : {failure, stopped}) {
    if (st.ok()) continue;
    std::fprintf(stderr, "switchboard dev: %s\n", st.message().c_str());
    code = 1;
  }
  if (verdict.lost > 0 && !drained) {
    std::fprintf(stderr,
                 "switchboard dev: the run was cut short: the %llu contacts still open are "
                 "counted as lost\n",
                 static_cast<unsigned long long>(verdict.lost));
  }
  const uint64_t lost = drained ? verdict.lost : 0;
  if (lost > 0 || verdict.duplicates > 0 || verdict.ineligible > 0 || verdict.over_capacity > 0) {
    std::fprintf(stderr,
                 "switchboard dev: %llu lost, %llu duplicates, %llu ineligible offers, %llu "
                 "offers over an agent's capacity: each must be 0 (router logs under %s)\n",
                 static_cast<unsigned long long>(lost),
                 static_cast<unsigned long long>(verdict.duplicates),
                 static_cast<unsigned long long>(verdict.ineligible),
                 static_cast<unsigned long long>(verdict.over_capacity), dir_.path.c_str());
    code = 1;
  }
  return code;
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
  auto dir = PrepareDataDir(options);
  if (!dir.ok()) {
    std::fprintf(stderr, "switchboard dev: %s\n", dir.status().message().c_str());
    return dir.status().code() == Code::kInvalidArgument ? 2 : 1;
  }
  auto config = LoadConfig(options, dir->path);
  int code = 0;
  if (!config.ok()) {
    // A bad --config is the user's to fix (2); a rejected built-in config is a defect here (1).
    std::fprintf(stderr, "switchboard dev: %s\n", config.status().message().c_str());
    code = config.status().code() == Code::kInvalidArgument ? 2 : 1;
  } else {
    const StopSignals signals;
    code = Demo(options, *dir, std::move(*config), signals).Run();
  }
  if (dir->temporary && !options.keep_data && code != 1) {
    std::error_code ec;
    fs::remove_all(dir->path, ec);  // a leftover temporary directory is harmless
  } else if (code == 1) {
    std::fprintf(stderr, "switchboard dev: logs kept in %s\n", dir->path.c_str());
  }
  return code;
}

}  // namespace sb::dev
