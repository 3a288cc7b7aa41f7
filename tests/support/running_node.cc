#include "support/running_node.h"

#include <utility>

namespace sb::testing {

shard::NodeOptions NodeOptionsFor(const std::string& bootstrap, const std::string& node_id,
                                  const std::string& data_dir, int32_t partitions) {
  shard::NodeOptions o;
  o.bootstrap = bootstrap;
  o.node_id = node_id;
  o.data_dir = data_dir;
  o.partitions = partitions;
  o.status_interval_ms = 0;
  return o;
}

Result<std::unique_ptr<RunningNode>> RunningNode::Start(shard::NodeOptions options,
                                                        ::switchboard::v1::RoutingConfig config) {
  auto node = shard::Node::Start(std::move(options), std::move(config));
  if (!node.ok()) return node.status();
  std::unique_ptr<RunningNode> running(new RunningNode(std::move(*node)));
  RunningNode* raw = running.get();
  running->loop_ = std::thread([raw] { raw->status_ = raw->node_->Run(raw->stop_); });
  return running;
}

RunningNode::~RunningNode() {
  // Run's status is not looked at here: a test that cares calls Stop() and checks it.
  if (loop_.joinable()) Stop().IgnoreError();
}

Status RunningNode::Stop() {
  stop_ = true;
  if (loop_.joinable()) loop_.join();
  return status_;
}

}  // namespace sb::testing
