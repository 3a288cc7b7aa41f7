// switchboard router: one router node of the cluster.
#include "router/node/router_cli.h"

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "CLI/CLI.hpp"
#include "common/config/config.h"
#include "common/log/log.h"
#include "common/metrics/server.h"
#include "router/followup/settings.h"
#include "router/gateway/auth.h"
#include "router/gateway/gateway.h"
#include "router/node/status_file.h"
#include "router/shard/followups.h"
#include "router/shard/node.h"
#include "router/shard/probe.h"
#include "router/wallboard/wallboard.h"

namespace sb::node {

namespace pb = ::switchboard::v1;
using shard::CheckFollowUpQueues;
using shard::FollowUpDomain;
using shard::Node;
using shard::NodeOptions;
using shard::RouterProbe;

namespace {

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop.store(true); }
std::atomic<bool> g_reload_tokens{false};
void OnHangUp(int) { g_reload_tokens.store(true); }

// SIGHUP: the gateway reads its token file again (a revoked token stops working, its open
// streams end); a file with an error leaves the tokens in force. Until `g_stop`.
void ReloadTokensOnHangUp(gateway::Gateway* gw) {
  while (!g_stop.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (!g_reload_tokens.exchange(false)) continue;
    Result<size_t> n = gw->ReloadTokens();
    if (n.ok()) {
      SB_LOG_INFO("router", "router: SIGHUP: token file reloaded, %zu tokens in force\n", *n);
    } else {
      SB_LOG_ERROR("router", "router: SIGHUP: token file not reloaded: %s\n",
                   n.status().ToString().c_str());
    }
  }
}

// Follow-ups run when their queues are in the routing config. A follow-up config given
// explicitly must fit the routing config; with the defaults, a routing config without the
// default queues just runs without follow-ups (said once).
Status LoadFollowUps(const std::string& path, const pb::RoutingConfig& routing, NodeOptions* o) {
  auto config = path.empty() ? followup::ParseConfig("{}") : followup::LoadConfigFile(path);
  if (!config.ok()) return config.status();
  auto settings = followup::Settings::Resolve(*config);
  if (!settings.ok()) return settings.status();
  Status fits = CheckFollowUpQueues(*settings, routing);
  if (!fits.ok()) {
    if (!path.empty()) return InvalidArgument("--followup-config " + path + ": " + fits.message());
    SB_LOG_WARN("router", "router: follow-ups off: %s\n", fits.message().c_str());
    return Status::Ok();
  }
  o->followups = std::move(*settings);
  return Status::Ok();
}

// Starts the gRPC gateway; without a token file (and without --no-auth) with the generated admin
// token of the data dir. Its address and the token's file go to the log and the status file.
Result<std::unique_ptr<gateway::Gateway>> StartGateway(gateway::GatewayOptions g,
                                                       const std::string& data_dir,
                                                       const pb::RoutingConfig& config,
                                                       StatusFile* status) {
  const std::string id = g.node_id;
  if (!g.no_auth && g.tokens_file.empty()) {
    auto admin = gateway::EnsureAdminToken(data_dir);
    if (!admin.ok()) return admin.status();
    g.tokens_file = admin->tokens_file;
    SB_LOG_INFO("router", "router %s: admin token in %s\n", id.c_str(), admin->token_path.c_str());
    status->Set("admin_token_file", admin->token_path);
  }
  if (g.no_auth) SB_LOG_INFO("router", "router %s: grpc without authentication\n", id.c_str());
  auto gw = gateway::Gateway::Start(std::move(g), config);
  if (!gw.ok()) return gw.status();
  SB_LOG_INFO("router", "router %s: grpc on %s\n", id.c_str(), (*gw)->address().c_str());
  status->Set("grpc_address", (*gw)->address());
  return gw;
}

}  // namespace

int RouterMain(int argc, char** argv) {
  CLI::App app{"switchboard router: a router node (shard owner) of a Switchboard cluster"};
  NodeOptions o;
  std::string config_path;
  std::string followup_config_path;
  std::vector<std::string> settings;
  app.add_option("--kafka", o.bootstrap, "Kafka bootstrap servers (host:port,...)")->required();
  app.add_option("--node-id", o.node_id, "this node's id (stable across restarts)")->required();
  app.add_option("--data-dir", o.data_dir, "local state (RocksDB checkpoints per shard)")
      ->required();
  app.add_option("--config", config_path, "routing configuration (YAML or JSON)")->required();
  app.add_option("--followup-config", followup_config_path,
                 "follow-up scheduling (YAML or JSON; default: the built-in defaults)");
  app.add_option("--partitions", o.partitions,
                 "expected partition count; creates missing topics with it (0: as they are)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--group", o.group, "consumer group of the routers");
  bool dynamic_membership = false;
  app.add_flag("--no-static-membership", dynamic_membership,
               "join the group without group.instance.id (default: the node id, so a restart "
               "within the session timeout keeps this node's shards without a rebalance)");
  app.add_option("--kafka-setting", settings, "extra librdkafka setting key=value (repeatable)");
  app.add_option("--connect-timeout-ms", o.connect_timeout_ms, "give up reaching Kafka after this")
      ->check(CLI::PositiveNumber);
  app.add_option("--status-interval-ms", o.status_interval_ms, "status line period (0: none)");
  // Loopback unless told otherwise (Kubernetes: --metrics-bind 0.0.0.0 for the scraper).
  std::string metrics_bind = "127.0.0.1";
  int metrics_port = 0;
  app.add_option("--metrics-bind", metrics_bind, "address /metrics listens on (127.0.0.1)");
  app.add_option("--metrics-port", metrics_port, "port of /metrics (Prometheus); 0: a free port")
      ->check(CLI::Range(0, 65535));
  // The gRPC gateway (router/gateway): authentication is on unless --no-auth.
  gateway::GatewayOptions g;
  app.add_option("--grpc-bind", g.bind_host, "address the gRPC API listens on");
  app.add_option("--grpc-port", g.port, "port of the gRPC API; 0: a free port")
      ->check(CLI::Range(0, 65535));
  auto* tokens_flag = app.add_option("--auth-tokens", g.tokens_file,
                                     "token file (sha256 → role); default: a generated admin "
                                     "token in <data-dir>/admin.token");
  app.add_flag("--no-auth", g.no_auth, "serve the gRPC API without authentication")
      ->excludes(tokens_flag);
  app.add_flag("--require-agent-profiles", g.require_agent_profiles,
               "refuse a token file with an agent token without a profile (its domains, skills "
               "and capacity): agents never declare their own skills");
  app.add_option("--tls-cert", g.tls_cert, "gRPC TLS certificate (PEM)");
  app.add_option("--tls-key", g.tls_key, "gRPC TLS private key (PEM)");
  app.add_option("--tls-client-ca", g.tls_client_ca, "CA of client certificates (mTLS required)");
  double agent_grace_s = 10;
  app.add_option("--agent-grace-s", agent_grace_s,
                 "log out an agent this long after its desktop stream dropped")
      ->check(CLI::Range(0.0, 3600.0));
  double snapshot_interval_s = 60;
  app.add_option("--snapshot-interval-s", snapshot_interval_s,
                 "a shard that writes snapshots its state into the changelog at least this "
                 "often; sb.router-changelog needs min.compaction.lag.ms >= 10x this (60)")
      ->check(CLI::Range(0.1, 3600.0));
  app.add_option("--snapshot-bytes", o.snapshots.min_bytes,
                 "... and once the changelog grew by max(this, the last snapshot) (1048576)")
      ->check(CLI::Range(uint64_t{4096}, uint64_t{1} << 32));
  // Wallboard (router/wallboard): unless given, the bind of /metrics (as parsed, below).
  wallboard::ServerOptions wallboard_options;
  wallboard_options.bind.clear();
  app.add_option("--wallboard-bind", wallboard_options.bind,
                 "address /wallboard listens on (default: --metrics-bind)");
  app.add_option("--wallboard-port", wallboard_options.port, "port of /wallboard; 0: a free port")
      ->check(CLI::Range(0, 65535));
  // The log (common/log): defaults from SB_LOG_LEVEL / SB_LOG_FORMAT, else info and text.
  const char* env_level = std::getenv("SB_LOG_LEVEL");
  const char* env_format = std::getenv("SB_LOG_FORMAT");
  std::string log_level = env_level != nullptr && *env_level != '\0' ? env_level : "info";
  std::string log_format = env_format != nullptr && *env_format != '\0' ? env_format : "text";
  std::string status_path;
  app.add_option("--status-file", status_path,
                 "keep this router's state here as JSON, replaced atomically on every change "
                 "(state, shards, URLs; for tools and scripts)");
  app.add_option("--log-level", log_level, "debug, info, warn or error (env SB_LOG_LEVEL)");
  app.add_option("--log-format", log_format,
                 "text (one message per line) or json (one object per line, for log "
                 "collectors; env SB_LOG_FORMAT)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (wallboard_options.bind.empty()) wallboard_options.bind = metrics_bind;
  auto level = log::ParseLevel(log_level);
  auto format = log::ParseFormat(log_format);
  if (!level.ok() || !format.ok()) {
    const Status& bad = level.ok() ? format.status() : level.status();
    std::fputs(("router: --log-level/--log-format: " + bad.message() + "\n").c_str(), stderr);
    return 2;
  }
  log::Configure(*level, *format);
  StatusFile status(status_path, o.node_id);
  // Every exit after this point says why in the log and in the status file.
  auto fail = [&status](int rc, const std::string& why) {
    SB_LOG_ERROR("router", "router: %s\n", why.c_str());
    status.Failed(why);
    return rc;
  };
  // Off loopback the wallboard takes the API's tokens (router/wallboard/server.h); the gateway
  // answers once it runs (started after the wallboard, stopped before it).
  auto wallboard_gateway = std::make_shared<std::atomic<gateway::Gateway*>>(nullptr);
  if (!gateway::IsLoopbackHost(wallboard_options.bind)) {
    if (g.no_auth) {
      return fail(2, "--wallboard-bind " + wallboard_options.bind +
                         " is not loopback: the wallboard then needs the API's tokens, and "
                         "--no-auth has none (give --auth-tokens, or bind it to 127.0.0.1)");
    }
    wallboard_options.authorize = [wallboard_gateway](std::string_view token) {
      gateway::Gateway* gw = wallboard_gateway->load();
      return gw != nullptr && gw->KnowsToken(token);
    };
  }
  o.static_membership = !dynamic_membership;
  o.snapshots.interval_ms = static_cast<int64_t>(snapshot_interval_s * 1000);
  auto kafka_settings = kafka::ParseSettings(settings);
  if (!kafka_settings.ok()) {
    return fail(2, kafka_settings.status().message());
  }
  o.kafka_settings = std::move(*kafka_settings);
  auto config = config::LoadRoutingConfigFile(config_path);
  if (!config.ok()) {
    return fail(2, config.status().ToString());
  }
  Status followups = LoadFollowUps(followup_config_path, *config, &o);
  if (!followups.ok()) {
    return fail(2, followups.ToString());
  }
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGINT, OnSignal);
  // Metrics first: the server and the probe outlive the node (destroyed after it).
  auto metrics = metrics::Server::Start(metrics_bind, metrics_port);
  if (!metrics.ok()) {
    return fail(1, "--metrics-port: " + metrics.status().ToString());
  }
  SB_LOG_INFO("router", "router %s: metrics on %s\n", o.node_id.c_str(), (*metrics)->url().c_str());
  status.Set("metrics_url", (*metrics)->url());
  std::unique_ptr<RouterProbe> probe;  // outlives the node; made for the config it starts with
  if (o.followups) {
    g.followup_domain = [settings = *o.followups, routing = *config](const pb::FollowUpRequest& r) {
      return FollowUpDomain(r, settings, routing);
    };
  }
  g.agent_grace_ms = static_cast<int>(agent_grace_s * 1000);
  g.node_id = o.node_id;
  g.bootstrap = o.bootstrap;
  g.kafka_settings = o.kafka_settings;
  g.connect_timeout_ms = o.connect_timeout_ms;
  const std::string data_dir = o.data_dir;
  const pb::RoutingConfig gateway_config = *config;
  auto wallboard = wallboard::StartWithKafka(wallboard_options, o.bootstrap, o.kafka_settings);
  if (!wallboard.ok()) {
    return fail(1, "--wallboard-port: " + wallboard.status().ToString());
  }
  SB_LOG_INFO("router", "router %s: wallboard on %s\n", o.node_id.c_str(),
              (*wallboard)->url().c_str());
  status.Set("wallboard_url", (*wallboard)->url());
  o.on_routing = [&status](const std::vector<int32_t>& shards, bool drained) {
    status.SetShards(shards, drained);
  };
  auto node = Node::Start(std::move(o), std::move(*config));
  if (!node.ok()) {
    return fail(1, node.status().ToString());
  }
  // The config in force may be sb.control's rather than --config (Node::Start logs which).
  probe = std::make_unique<RouterProbe>((*metrics)->registry(), (*node)->config());
  (*node)->set_probe(probe.get());
  // After the node: it has created the topics the gateway reads.
  g.metrics = &(*metrics)->registry();
  auto gw = StartGateway(std::move(g), data_dir, gateway_config, &status);
  if (!gw.ok()) {
    return fail(gw.status().code() == Code::kInvalidArgument ? 2 : 1, gw.status().ToString());
  }
  wallboard_gateway->store(gw->get());
  std::signal(SIGHUP, OnHangUp);
  std::thread reloader(ReloadTokensOnHangUp, gw->get());
  Status st = (*node)->Run(g_stop);
  g_stop.store(true);
  reloader.join();
  wallboard->reset();  // its io thread asks the gateway about tokens
  (*gw)->Stop();
  node->reset();
  if (!st.ok()) {
    return fail(3, "stopped: " + st.ToString());
  }
  SB_LOG_INFO("router", "router: stopped\n");
  status.SetState("stopped");
  return 0;
}

}  // namespace sb::node
