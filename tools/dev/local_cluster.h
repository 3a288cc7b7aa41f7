// The demo's cluster as child processes of `switchboard dev`: the embedded broker and N router
// nodes, each its own `switchboard broker|router` process with its log under the data directory.
// Owned by the dev process's main thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
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

// One router as its status file (`switchboard router --status-file`, router/node/status_file.h)
// last said; fields it has not written yet are empty.
struct RouterShards {
  std::string node_id;
  std::vector<int32_t> shards;  // the shards it routes now (none while a rebalance runs)
  std::string metrics_url;
  std::string wallboard_url;
  std::string grpc_address;
  std::string admin_token;  // the path of the admin token's file
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
  // Per router, the shards it routes and where it serves, from its status file.
  std::vector<RouterShards> Shards();
  // Stops the routers (SIGTERM; SIGKILL after 10 s), then the broker. Fails naming every child
  // that did not exit cleanly.
  Status Stop();

 private:
  LocalCluster() = default;

  std::string bootstrap_;
  std::unique_ptr<ChildProcess> broker_;
  std::vector<std::unique_ptr<ChildProcess>> routers_;
  std::vector<std::pair<std::string, std::string>> status_files_;  // node id, path
};

}  // namespace sb::dev
