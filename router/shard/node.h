// A router node: one member of the routers' consumer group. The group gives it partitions; for
// each it runs a Shard (claim, route, fence). One loop thread owns everything here.
//
// Claims take seconds (restore, then the claim record), so they are not made in the group's
// rebalance callback, which only notes them: Run() claims one shard per turn, polling the group
// in between (a rebalance can drop the claims still pending), and reads a partition only once
// its shard is claimed, from the shard's input offsets. Heartbeats go on in librdkafka's
// thread; what needs the polls is rejoining a rebalance (eager protocol: the member serves its
// revocation first). Kafka waits max.poll.interval.ms for that; the embedded broker (librdkafka's
// mock cluster) does not count heartbeats during a rebalance, so there one claim must stay
// shorter than session.timeout.ms.
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "router/control/control.h"
#include "router/kafka/client.h"
#include "router/shard/shard.h"
#include "switchboard/v1/config.pb.h"

namespace sb::shard {

class RouterProbe;  // router/shard/probe.h

struct NodeOptions {
  std::string bootstrap;
  std::string node_id;
  std::string data_dir;    // one RocksDB per shard below it: shard-<partition>
  int32_t partitions = 0;  // expected partition count; 0 = whatever the topics have
  std::string group = "switchboard-routers";
  kafka::Settings kafka_settings;  // extra librdkafka settings (e.g. session.timeout.ms)
  // Static group membership (group.instance.id = node id, unless kafka_settings names one): a
  // node restarted within session.timeout.ms gets its shards back without a rebalance of the
  // others. The price: a node that stops (even drained) keeps its shards unowned until the
  // session times out, since a static member does not leave the group on close.
  bool static_membership = true;
  int connect_timeout_ms = 15000;
  int checkpoint_interval_ms = 10000;
  int status_interval_ms = 5000;  // status line on stderr; 0 = none
  // When shards snapshot their state into the changelog; the changelog topic must keep
  // min.compaction.lag.ms >= 10 x snapshots.interval_ms (checked at start).
  SnapshotPolicy::Options snapshots;
  // Follow-up scheduling in every shard; nullopt: off (follow-up commands are refused).
  // REQUIRES: CheckFollowUpQueues() passed for the routing config.
  std::optional<followup::Settings> followups;
  // Called on the loop thread whenever the shards this node routes change (every claim of the
  // group's assignment done, a release, a drain): the shards routed now, and whether drained.
  std::function<void(const std::vector<int32_t>& shards, bool drained)> on_routing;
  // Tests only: called on the loop thread before each shard claim (e.g. to make claims slow).
  std::function<void(int32_t partition)> before_claim;
};

class Node final : public kafka::GroupConsumer::Listener {
 public:
  // Checks the topics (creating missing ones when options.partitions > 0), reads sb.control
  // (the routing config in force there replaces `config`, the --config file: logged) and joins
  // the group. Fails within options.connect_timeout_ms when Kafka cannot be reached or the
  // topics disagree.
  static Result<std::unique_ptr<Node>> Start(NodeOptions options, pb::RoutingConfig config);
  ~Node() override;

  // Routes until `stop` is set or a shard fails (fenced, Kafka delivery failure). On stop, every
  // shard is flushed, checkpointed and released before the group is left.
  Status Run(const std::atomic<bool>& stop);

  std::vector<kafka::TopicPartition> OnAssigned(
      const std::vector<kafka::TopicPartition>& parts) override;
  void OnRevoked(const std::vector<kafka::TopicPartition>& parts) override;

  // Metrics (router/shard/probe.h): null = none. Set before Run(); the probe outlives the node.
  void set_probe(RouterProbe* probe) { probe_ = probe; }
  // How many shards this node has claimed and routes. Any thread.
  int routed_shards() const { return routed_shards_.load(std::memory_order_relaxed); }

  // The routing config the node started with (see Start). Shards may have switched since.
  const pb::RoutingConfig& config() const { return config_; }
  // Shards owned now (any thread; refreshed by the loop). 0 once drained.
  size_t owned_shards() const { return owned_shards_.load(std::memory_order_relaxed); }
  // True once a drain request for this node was carried out (any thread).
  bool drained() const { return drained_.load(std::memory_order_relaxed); }

 private:
  Node(NodeOptions options, pb::RoutingConfig config);
  void OnDelivery(uint64_t token, int64_t offset, const Status& status);
  // Claims the first of pending_claims_ and starts reading its partitions; a failure is fatal_.
  void ClaimNext();
  // The "routing shards [..]" line, and options_.on_routing.
  void PrintRouting() const;
  // Creates and claims the shard of partition `p` into shards_ (retrying a lost claim).
  Status ClaimShard(int32_t p);
  void ReleaseAll();
  // Creates the group consumer and subscribes to the input topics.
  Status JoinGroup();
  // The group fenced this static member: releases every shard and joins with a new consumer;
  // FailedPrecondition when that happened too often (another node with the same id).
  Status Rejoin(const Status& fenced);
  Status FlushProducers(int timeout_ms);
  void PrintStatus(double seconds);
  // Loop thread, each turn: reads sb.control (config versions for the shards' markers, drain
  // requests) and carries out a drain request for this node newer than its start.
  void PollControl();
  // Leaves the group in an orderly way (every shard flushed, checkpointed and released, so the
  // other nodes claim them) and stays idle until stopped.
  void Drain(const pb::NodeDrain& request);

  const NodeOptions options_;
  const pb::RoutingConfig config_;
  kafka::Settings client_settings_;  // for the producers and readers: no group settings
  kafka::Settings group_settings_;   // for the group consumer: with group.instance.id
  SystemClock clock_;
  RouterProbe* probe_ = nullptr;
  std::unique_ptr<kafka::Producer> changelog_producer_;
  std::unique_ptr<kafka::Producer> output_producer_;
  std::unique_ptr<kafka::GroupConsumer> consumer_;
  std::deque<int64_t> rejoins_;  // when the group fenced this member (Rejoin), newest last
  std::map<int32_t, std::unique_ptr<Shard>> shards_;  // claimed: their partitions are read
  // Assigned by the group, not claimed yet (nor read); dropped by a revocation.
  std::deque<int32_t> pending_claims_;
  Status fatal_;
  int32_t partitions_ = 0;  // of the topics, as found at start
  uint64_t events_at_last_status_ = 0;
  std::atomic<int> routed_shards_{0};                  // shards_.size(), for other threads
  std::unique_ptr<control::ControlFollower> control_;  // sb.control, before the shards use it
  int64_t started_at_ms_ = 0;                          // wall clock: older drains are ignored
  std::atomic<size_t> owned_shards_{0};
  std::atomic<bool> drained_{false};
};

}  // namespace sb::shard
