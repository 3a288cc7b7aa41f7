#include "tools/dev/local_cluster.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <string_view>
#include <thread>

#include "common/clock.h"

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

// "0,3,7" -> {0, 3, 7}; anything else in the list is skipped.
std::vector<int32_t> ParseShardList(std::string_view list) {
  std::vector<int32_t> shards;
  while (!list.empty()) {
    const size_t comma = std::min(list.find(','), list.size());
    int32_t shard = 0;
    const char* end = list.data() + comma;
    if (std::from_chars(list.data(), end, shard).ptr == end) shards.push_back(shard);
    list.remove_prefix(std::min(comma + 1, list.size()));
  }
  return shards;
}

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
    auto router = ChildProcess::Spawn("router " + id, args, dir + "/router.log");
    if (!router.ok()) return router.status();
    c->logs_.push_back({id, (*router)->log_path(), 0, "", {}, "", "", "", ""});
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

void LocalCluster::Follow(LogWatch& w) {
  std::ifstream in(w.path, std::ios::binary);
  if (!in) return;  // not created yet
  in.seekg(w.offset);
  std::string chunk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  w.offset += static_cast<int64_t>(chunk.size());
  w.partial += chunk;
  size_t start = 0;
  for (size_t nl; (nl = w.partial.find('\n', start)) != std::string::npos; start = nl + 1) {
    const std::string_view line(w.partial.data() + start, nl - start);
    // Written by router/shard/node.cc on every assignment and revocation.
    const std::string prefix = "router " + w.node_id + ": ";
    if (!line.starts_with(prefix)) continue;
    const std::string_view what = line.substr(prefix.size());
    if (what.starts_with("routing shards [") && what.ends_with("]")) {
      const size_t open = what.find('[');
      w.shards = ParseShardList(what.substr(open + 1, what.size() - open - 2));
    } else if (what.starts_with("released ")) {
      w.shards.clear();
    } else if (what.starts_with("metrics on ")) {  // router/shard/router_cli.cc, at start
      w.metrics_url = what.substr(std::string_view("metrics on ").size());
    } else if (what.starts_with("wallboard on ")) {  // router/shard/router_cli.cc, at start
      w.wallboard_url = what.substr(std::string_view("wallboard on ").size());
    } else if (what.starts_with("grpc on ")) {  // router/shard/router_cli.cc, at start
      w.grpc_address = what.substr(std::string_view("grpc on ").size());
    } else if (what.starts_with("admin token in ")) {  // router/shard/router_cli.cc, at start
      w.admin_token = what.substr(std::string_view("admin token in ").size());
    }
  }
  w.partial.erase(0, start);
}

std::vector<RouterShards> LocalCluster::Shards() {
  std::vector<RouterShards> out;
  for (LogWatch& w : logs_) {
    Follow(w);
    out.push_back(
        {w.node_id, w.shards, w.metrics_url, w.wallboard_url, w.grpc_address, w.admin_token});
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
