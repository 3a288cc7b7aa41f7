#include "tools/dev/local_cluster.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string_view>
#include <thread>

#include "common/clock.h"
#include "nlohmann/json.hpp"

namespace sb::dev {
namespace {

// The broker writes its bootstrap file once its topics exist; the first start of the mock
// cluster takes about a second, more under sanitizers.
constexpr int kBrokerStartTimeoutMs = 30000;
constexpr int kRouterStopTimeoutMs = 10000;
constexpr int kBrokerStopTimeoutMs = 5000;
constexpr auto kStartPoll = std::chrono::milliseconds(50);
// Short enough that a crashed router is noticed in seconds, long enough not to rebalance when
// a router is slow under load or sanitizers (the group's usual heartbeat kept).
constexpr char kSessionTimeout[] = "session.timeout.ms=6000";
constexpr char kHeartbeat[] = "heartbeat.interval.ms=500";

std::string ReadBootstrap(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

}  // namespace

Result<std::unique_ptr<LocalCluster>> LocalCluster::Start(const ClusterOptions& o,
                                                          const std::function<bool()>& stopped) {
  std::unique_ptr<LocalCluster> c(new LocalCluster());
  const std::string bootstrap_file = o.data_dir + "/bootstrap";
  auto broker = ChildProcess::Spawn(
      "broker",
      {"broker", "--partitions", std::to_string(o.partitions), "--bootstrap-file", bootstrap_file},
      o.data_dir + "/broker.log");
  if (!broker.ok()) return broker.status();
  c->broker_ = std::move(*broker);
  const int64_t deadline = MonotonicMs() + kBrokerStartTimeoutMs;
  while (!std::filesystem::exists(bootstrap_file)) {
    if (c->broker_->Exited()) {
      return Unavailable("broker " + c->broker_->HowEnded() + " before it served (log " +
                         c->broker_->log_path() + ")");
    }
    if (stopped()) return Unavailable("stopped while the broker was starting");
    if (MonotonicMs() > deadline) {
      return Unavailable("broker did not write " + bootstrap_file + " within " +
                         std::to_string(kBrokerStartTimeoutMs / 1000) + " s (log " +
                         c->broker_->log_path() + ")");
    }
    std::this_thread::sleep_for(kStartPoll);
  }
  c->bootstrap_ = ReadBootstrap(bootstrap_file);
  if (c->bootstrap_.empty()) return Internal(bootstrap_file + " is empty");

  for (int i = 1; i <= o.routers; ++i) {
    const std::string id = "r" + std::to_string(i);
    const std::string dir = o.data_dir + "/" + id;
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return Unavailable("create " + dir + ": " + ec.message());
    std::vector<std::string> args = {"router",
                                     "--kafka",
                                     c->bootstrap_,
                                     "--node-id",
                                     id,
                                     "--data-dir",
                                     dir,
                                     "--config",
                                     o.config_path,
                                     "--partitions",
                                     std::to_string(o.partitions),
                                     "--kafka-setting",
                                     kSessionTimeout,
                                     "--kafka-setting",
                                     kHeartbeat,
                                     "--metrics-bind",
                                     "127.0.0.1",
                                     "--wallboard-bind",
                                     "127.0.0.1"};
    if (!o.followup_config_path.empty()) {
      args.insert(args.end(), {"--followup-config", o.followup_config_path});
    }
    const std::string status_path = dir + "/status.json";
    args.insert(args.end(), {"--status-file", status_path});
    auto router = ChildProcess::Spawn("router " + id, args, dir + "/router.log");
    if (!router.ok()) return router.status();
    c->status_files_.emplace_back(id, status_path);
    c->routers_.push_back(std::move(*router));
  }
  return c;
}

Status LocalCluster::CheckRunning() {
  std::vector<ChildProcess*> all = {broker_.get()};
  for (auto& r : routers_) all.push_back(r.get());
  for (ChildProcess* c : all) {
    if (c->Exited()) {
      return Unavailable(c->name() + " " + c->HowEnded() + " unexpectedly (log " + c->log_path() +
                         ")");
    }
  }
  return Status::Ok();
}

std::vector<RouterShards> LocalCluster::Shards() {
  std::vector<RouterShards> out;
  for (const auto& [node_id, path] : status_files_) {
    RouterShards r;
    r.node_id = node_id;
    // Replaced atomically by the router: absent until it starts, never half-written.
    std::ifstream in(path);
    const nlohmann::json status = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (status.is_object()) {
      auto text = [&status](const char* field) {
        auto it = status.find(field);
        return it != status.end() && it->is_string() ? it->get<std::string>() : std::string();
      };
      if (status.contains("shards") && status["shards"].is_array()) {
        for (const auto& shard : status["shards"]) {
          if (shard.is_number_integer()) r.shards.push_back(shard.get<int32_t>());
        }
      }
      r.metrics_url = text("metrics_url");
      r.wallboard_url = text("wallboard_url");
      r.grpc_address = text("grpc_address");
      r.admin_token = text("admin_token_file");
    }
    out.push_back(std::move(r));
  }
  return out;
}

Status LocalCluster::Stop() {
  std::vector<ChildProcess*> routers;
  for (auto& r : routers_) routers.push_back(r.get());
  Status routers_stopped = StopAll(routers, kRouterStopTimeoutMs);
  // The broker last: routers flush and checkpoint through it while they stop.
  Status broker_stopped = StopAll({broker_.get()}, kBrokerStopTimeoutMs);
  if (routers_stopped.ok()) return broker_stopped;
  if (broker_stopped.ok()) return routers_stopped;
  return Internal(routers_stopped.message() + "; " + broker_stopped.message());
}

}  // namespace sb::dev
