// The demo's cluster as child processes of `switchboard dev`: the embedded broker and N router
// nodes, each its own `switchboard broker|router` process with its log under the data directory.
// Owned by the dev process's main thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "tools/dev/child_process.h"

namespace sb::dev {

struct ClusterOptions {
  int routers = 2;
  int partitions = 12;
  std::string data_dir;     // exists; gets broker.log, bootstrap and r<N>/ (router data + log)
  std::string config_path;  // the routers' routing config file
  std::string followup_config_path;  // the routers' follow-up config; empty: their defaults
};

// The shards one router routes now, as its log last said.
struct RouterShards {
  std::string node_id;
  std::vector<int32_t> shards;
  std::string metrics_url;    // its "metrics on <url>" log line; empty until logged
  std::string wallboard_url;  // its "wallboard on <url>" log line; empty until logged
  std::string grpc_address;   // its "grpc on <host:port>" log line; empty until logged
  std::string admin_token;    // its "admin token in <path>" log line; empty until logged
};

class LocalCluster {
 public:
  // Starts the broker, waits (up to 30 s; `stopped()` returning true cancels) for its bootstrap
  // list, then starts the routers. On failure the children already started are killed; the
  // error names the child and its log.
  static Result<std::unique_ptr<LocalCluster>> Start(const ClusterOptions& options,
                                                     const std::function<bool()>& stopped);

  const std::string& bootstrap() const { return bootstrap_; }
  const ChildProcess& broker() const { return *broker_; }
  const std::vector<std::unique_ptr<ChildProcess>>& routers() const { return routers_; }

  // Ok while every child runs; otherwise names the first one that ended and its log.
  Status CheckRunning();
  // Per router, the shards it routes: its last "routing shards [..]" log line, or none after a
  // "released" line (a rebalance in progress). Reads only what the logs gained since last time.
  std::vector<RouterShards> Shards();
  // Stops the routers (SIGTERM; SIGKILL after 10 s), then the broker. Fails naming every child
  // that did not exit cleanly.
  Status Stop();

 private:
  struct LogWatch {
    std::string node_id;
    std::string path;
    int64_t offset = 0;
    std::string partial;  // an unfinished last line
    std::vector<int32_t> shards;
    std::string metrics_url;
    std::string wallboard_url;
    std::string grpc_address;
    std::string admin_token;
  };
  LocalCluster() = default;
  static void Follow(LogWatch& watch);

  std::string bootstrap_;
  std::unique_ptr<ChildProcess> broker_;
  std::vector<std::unique_ptr<ChildProcess>> routers_;
  std::vector<LogWatch> logs_;
};

}  // namespace sb::dev
