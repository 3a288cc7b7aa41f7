// A router node (router/shard/node.h) routing on a thread of its own, for the integration tests
// that drive one or several nodes through Kafka or a gateway (gateway, admin, loadgen, shard).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "common/status.h"
#include "router/shard/node.h"

namespace sb::testing {

// Options of a node in a test: these fields set, status lines off (status_interval_ms 0: test
// logs stay readable), everything else at its default for the test to change.
shard::NodeOptions NodeOptionsFor(const std::string& bootstrap, const std::string& node_id,
                                  const std::string& data_dir, int32_t partitions);

// Owns a started node and the thread running Node::Run. Start, RequestStop, Stop and the
// destructor are called from the test's thread; node() is for the accessors Node documents as
// callable from any thread.
class RunningNode {
 public:
  // Node::Start, then Run on a new thread. Fails as Node::Start does (no thread then).
  static Result<std::unique_ptr<RunningNode>> Start(shard::NodeOptions options,
                                                    ::switchboard::v1::RoutingConfig config);
  // Stops the node if Stop() was not called; what Run returned is then not looked at.
  ~RunningNode();
  RunningNode(const RunningNode&) = delete;
  RunningNode& operator=(const RunningNode&) = delete;

  // Asks the node to stop and returns at once: to stop several nodes together, then Stop() each.
  void RequestStop() { stop_ = true; }
  // Stops the node (flush, checkpoint, release its shards), waits for it and returns what Run
  // returned. Again later: the same status.
  Status Stop();

  shard::Node& node() { return *node_; }

 private:
  explicit RunningNode(std::unique_ptr<shard::Node> node) : node_(std::move(node)) {}

  std::unique_ptr<shard::Node> node_;
  std::atomic<bool> stop_{false};
  Status status_;  // written by loop_, read after it is joined
  std::thread loop_;
};

}  // namespace sb::testing
