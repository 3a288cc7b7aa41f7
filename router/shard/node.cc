#include "router/shard/node.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <set>

#include "common/clock.h"
#include "common/log/log.h"
#include "router/kafka/topics.h"
#include "router/shard/probe.h"

namespace sb::shard {
namespace {

constexpr int kTickMs = 20;
// How often each shard publishes its statistics to sb.stats (wallboards refresh each second).
constexpr int kStatsIntervalMs = 1000;
constexpr size_t kMaxBatch = 1024;
constexpr int kClaimAttempts = 3;
// A member fenced by its own group.instance.id joins again; this often within the window means a
// second process runs with this node id, and the node stops.
constexpr size_t kMaxRejoins = 3;
constexpr int64_t kRejoinWindowMs = int64_t{5} * 60 * 1000;

}  // namespace

Node::Node(NodeOptions options, pb::RoutingConfig config)
    : options_(std::move(options)), config_(std::move(config)) {
  client_settings_ = kafka::WithoutGroupSettings(options_.kafka_settings);
  group_settings_ = options_.kafka_settings;
  if (options_.static_membership && group_settings_.count("group.instance.id") == 0) {
    group_settings_["group.instance.id"] = options_.node_id;
  }
}

Node::~Node() {
  consumer_.reset();  // leaves the group first (revokes: flush + checkpoint)
  output_producer_.reset();
  changelog_producer_.reset();
}

Result<std::unique_ptr<Node>> Node::Start(NodeOptions options, pb::RoutingConfig config) {
  if (options.node_id.empty()) return InvalidArgument("--node-id: empty");
  std::error_code ec;
  std::filesystem::create_directories(options.data_dir, ec);
  if (ec) return InvalidArgument("--data-dir " + options.data_dir + ": " + ec.message());
  auto partitions =
      kafka::EnsureTopics(options.bootstrap, options.partitions, options.connect_timeout_ms,
                          options.kafka_settings, 10 * options.snapshots.interval_ms);
  if (!partitions.ok()) return partitions.status();
  auto control = control::ControlFollower::Open(options.bootstrap, options.kafka_settings,
                                                "router " + options.node_id);
  if (!control.ok()) return control.status();
  SB_RETURN_IF_ERROR((*control)->CatchUp(options.connect_timeout_ms));
  config = (*control)->ChooseStartConfig(std::move(config));
  std::unique_ptr<Node> node(new Node(std::move(options), std::move(config)));
  node->control_ = std::move(*control);
  node->started_at_ms_ = SystemClock().NowMs();
  node->partitions_ = *partitions;
  Node* self = node.get();
  auto on_delivery = [self](uint64_t token, int32_t, int64_t offset, const Status& st) {
    self->OnDelivery(token, offset, st);
  };
  kafka::Settings changelog_settings = node->client_settings_;
  changelog_settings["linger.ms"] = "1";
  auto changelog =
      kafka::Producer::Create(node->options_.bootstrap, changelog_settings, on_delivery);
  if (!changelog.ok()) return changelog.status();
  node->changelog_producer_ = std::move(*changelog);
  auto outputs =
      kafka::Producer::Create(node->options_.bootstrap, node->client_settings_, on_delivery);
  if (!outputs.ok()) return outputs.status();
  node->output_producer_ = std::move(*outputs);
  SB_RETURN_IF_ERROR(node->JoinGroup());
  SB_LOG_INFO("router", "router %s: %d partitions, joined group %s\n",
              node->options_.node_id.c_str(), *partitions, node->options_.group.c_str());
  return node;
}

Status Node::JoinGroup() {
  auto consumer =
      kafka::GroupConsumer::Create(options_.bootstrap, options_.group, group_settings_, this);
  if (!consumer.ok()) return consumer.status();
  consumer_ = std::move(*consumer);
  return consumer_->Subscribe(
      {std::string(kafka::kContactsTopic), std::string(kafka::kAgentEventsTopic)});
}

Status Node::Rejoin(const Status& fenced) {
  const int64_t now = MonotonicMs();
  while (!rejoins_.empty() && now - rejoins_.front() > kRejoinWindowMs) rejoins_.pop_front();
  if (rejoins_.size() >= kMaxRejoins) {
    return FailedPrecondition(fenced.message() + "; fenced " + std::to_string(kMaxRejoins + 1) +
                              " times within " + std::to_string(kRejoinWindowMs / 1000) +
                              " s: is another router running with --node-id " + options_.node_id +
                              "?");
  }
  rejoins_.push_back(now);
  SB_LOG_WARN("router", "router %s: %s; releasing every shard and joining the group again\n",
              options_.node_id.c_str(), fenced.message().c_str());
  ReleaseAll();  // whatever another owner writes from now on fences our late writes by log order
  pending_claims_.clear();
  consumer_.reset();  // a fenced consumer closes at once
  return JoinGroup();
}

void Node::OnDelivery(uint64_t token, int64_t offset, const Status& status) {
  auto it = shards_.find(TokenPartition(token));
  if (it != shards_.end()) {
    it->second->OnDelivery(token, offset, status);
  } else if (!status.ok() && fatal_.ok()) {
    fatal_ = status;
  }
}

std::vector<kafka::TopicPartition> Node::OnAssigned(
    const std::vector<kafka::TopicPartition>& parts) {
  // Inside the rebalance: only note what to claim. A claim takes seconds (restore + the claim
  // record); Run() makes them one at a time, polling the group in between, and reads a partition
  // only once its shard is claimed (GroupConsumer::Assign at the shard's input offsets).
  std::set<int32_t> partitions;
  for (const auto& tp : parts) partitions.insert(tp.partition);
  for (const auto& [p, s] : shards_) {
    // Eager rebalancing revokes everything first; were a shard kept across it, it must still
    // be ours.
    if (partitions.count(p) == 0) {
      ReleaseAll();
      break;
    }
  }
  pending_claims_.clear();
  std::vector<kafka::TopicPartition> start;
  std::string pending;
  for (int32_t p : partitions) {
    auto it = shards_.find(p);
    if (it != shards_.end()) {
      for (auto& tp : it->second->input_offsets()) start.push_back(std::move(tp));
      continue;
    }
    pending_claims_.push_back(p);
    pending += (pending.empty() ? "" : ",") + std::to_string(p);
  }
  SB_LOG_INFO("router", "router %s: assigned shards [%s] to claim\n", options_.node_id.c_str(),
              pending.c_str());
  if (pending_claims_.empty()) PrintRouting();
  return start;
}

void Node::PrintRouting() const {
  std::string owned;
  std::vector<int32_t> routed;
  for (const auto& [p, s] : shards_) {
    owned += (owned.empty() ? "" : ",") + std::to_string(p);
    routed.push_back(p);
  }
  SB_LOG_INFO("router", "router %s: routing shards [%s]\n", options_.node_id.c_str(),
              owned.c_str());
  if (options_.on_routing) options_.on_routing(routed, drained_);
}

void Node::ClaimNext() {
  const int32_t p = pending_claims_.front();
  pending_claims_.pop_front();
  Status st = ClaimShard(p);
  if (st.ok()) {
    // Every claimed shard's partitions, the running ones at the next offset they have not
    // processed (every record polled so far was handed to its shard).
    std::vector<kafka::TopicPartition> read;
    for (const auto& [q, s] : shards_) {
      for (auto& tp : s->input_offsets()) read.push_back(std::move(tp));
    }
    st = consumer_->Assign(read);
  }
  routed_shards_ = static_cast<int>(shards_.size());
  if (!st.ok()) {
    if (fatal_.ok()) fatal_ = st;
    SB_LOG_INFO("router", "router %s: shard %d: %s\n", options_.node_id.c_str(), p,
                st.ToString().c_str());
    pending_claims_.clear();
    return;
  }
  if (pending_claims_.empty()) PrintRouting();
}

Status Node::ClaimShard(int32_t p) {
  // The group gave us the partition. A claim lost to another node's claim of the same epoch means
  // that node was given it too (it was evicted and has not learnt it yet): claim again, with a
  // higher epoch — the log fences whichever owner is stale.
  if (options_.before_claim) options_.before_claim(p);
  Status st;
  for (int attempt = 1; attempt <= kClaimAttempts; ++attempt) {
    ShardOptions so;
    so.node_id = options_.node_id;
    so.partition = p;
    so.store_dir = options_.data_dir + "/shard-" + std::to_string(p);
    so.bootstrap = options_.bootstrap;
    so.kafka_settings = client_settings_;
    so.partitions = partitions_;
    so.followups = options_.followups ? &*options_.followups : nullptr;
    so.snapshots = options_.snapshots;
    so.configs = control_.get();
    shards_.erase(p);  // a lost attempt's store is closed before the next opens it
    auto shard = std::make_unique<Shard>(
        std::move(so), &config_, &clock_,
        Producers{.changelog = changelog_producer_.get(), .outputs = output_producer_.get()});
    Shard* s = shard.get();
    if (probe_ != nullptr) s->set_probe(probe_->ForShard(p));
    shards_[p] = std::move(shard);
    st = s->Claim();
    if (st.ok()) return st;
    shards_.erase(p);
    if (st.code() != Code::kFailedPrecondition || attempt == kClaimAttempts) break;
    SB_LOG_INFO("router", "router %s: shard %d: %s; claiming again\n", options_.node_id.c_str(), p,
                st.ToString().c_str());
  }
  return st;
}

void Node::OnRevoked(const std::vector<kafka::TopicPartition>&) {
  if (!pending_claims_.empty()) {
    SB_LOG_WARN("router", "router %s: revoked before %zu shards were claimed\n",
                options_.node_id.c_str(), pending_claims_.size());
  }
  pending_claims_.clear();
  ReleaseAll();
}

void Node::ReleaseAll() {
  // Stop routing first: nothing more is read; flush what was decided, then checkpoint.
  for (auto& [p, shard] : shards_) shard->Flush().IgnoreError();  // failure is kept in the shard
  Status st = FlushProducers(10000);
  if (!st.ok())
    SB_LOG_INFO("router", "router %s: %s\n", options_.node_id.c_str(), st.ToString().c_str());
  for (auto& [p, shard] : shards_) {
    Status st = shard->Checkpoint();
    if (!st.ok()) SB_LOG_INFO("router", "shard %d: checkpoint: %s\n", p, st.ToString().c_str());
  }
  if (!shards_.empty()) {
    SB_LOG_INFO("router", "router %s: released %zu shards\n", options_.node_id.c_str(),
                shards_.size());
  }
  shards_.clear();
  routed_shards_ = 0;
  if (options_.on_routing) options_.on_routing({}, drained_);
}

Status Node::FlushProducers(int timeout_ms) {
  // The changelog first: its acknowledgements release outputs, which the second flush sends.
  if (changelog_producer_ == nullptr || output_producer_ == nullptr) return Status::Ok();
  SB_RETURN_IF_ERROR(changelog_producer_->Flush(timeout_ms));
  return output_producer_->Flush(timeout_ms);
}

void Node::PrintStatus(double seconds) {
  uint64_t events = 0, rejected = 0;
  uint64_t waiting = 0, offered = 0, connected = 0, ready = 0, logged_in = 0;
  followup::SchedulerStats fu;
  for (const auto& [p, s] : shards_) {
    if (s->followups() != nullptr) {
      const followup::SchedulerStats st = s->followups()->core().Stats();
      fu.pending += st.pending;
      fu.firing += st.firing;
      fu.done += st.done;
      fu.escalated += st.escalated + st.expired;
      fu.overdue += st.overdue;
    }
    events += s->stats().events;
    rejected += s->stats().rejected_events;
    const engine::Summary sum = s->Summarize();
    waiting += sum.waiting;
    offered += sum.being_offered;
    connected += sum.connected;
    ready += sum.agents_ready;
    logged_in += sum.agents_logged_in;
  }
  const uint64_t delta =
      events >= events_at_last_status_ ? events - events_at_last_status_ : events;
  events_at_last_status_ = events;
  SB_LOG_INFO(
      "router",
      "router %s: shards %zu | %.0f events/s | waiting %llu offered %llu connected %llu "
      "| agents %llu logged in, %llu ready | refused events %llu | follow-ups pending "
      "%llu firing %llu done %llu escalated/expired %llu overdue %llu\n",
      options_.node_id.c_str(), shards_.size(), delta / std::max(seconds, 0.001),
      static_cast<unsigned long long>(waiting), static_cast<unsigned long long>(offered),
      static_cast<unsigned long long>(connected), static_cast<unsigned long long>(logged_in),
      static_cast<unsigned long long>(ready), static_cast<unsigned long long>(rejected),
      static_cast<unsigned long long>(fu.pending), static_cast<unsigned long long>(fu.firing),
      static_cast<unsigned long long>(fu.done), static_cast<unsigned long long>(fu.escalated),
      static_cast<unsigned long long>(fu.overdue));
}

Status Node::Run(const std::atomic<bool>& stop) {
  int64_t last_tick = 0;
  int64_t last_checkpoint = MonotonicMs();
  int64_t last_status = MonotonicMs();
  int64_t last_stats = 0;
  while (!stop.load(std::memory_order_relaxed)) {
    PollControl();
    if (drained_) {
      control_->Poll(100);  // idle: only sb.control is read
      continue;
    }
    bool in_flight = false;
    for (const auto& [p, s] : shards_) in_flight = in_flight || !s->idle();
    // Claims waiting: only serve the group (a rebalance may drop them) and claim the next.
    auto rec = consumer_->Poll(!pending_claims_.empty() ? 0 : in_flight ? 1 : 5);
    for (size_t n = 1; rec.ok() && rec->has_value(); ++n) {
      auto it = shards_.find((*rec)->partition);
      if (it != shards_.end()) it->second->OnInput(**rec).IgnoreError();  // failure kept in shard
      if (n == kMaxBatch) break;  // poll again only for a record this batch will take
      rec = consumer_->Poll(0);
    }
    if (!rec.ok() && rec.status().message().starts_with(kafka::kFencedInstance)) {
      Status st = Rejoin(rec.status());
      if (st.ok()) continue;
      rec = st;
    }
    if (!rec.ok()) {
      fatal_ = rec.status();
      break;
    }
    if (!pending_claims_.empty()) ClaimNext();  // one per turn: the group is polled between
    const int64_t now = MonotonicMs();
    if (now - last_tick >= kTickMs) {
      for (auto& [p, s] : shards_) s->Tick();
      last_tick = now;
    }
    for (auto& [p, s] : shards_) s->Flush().IgnoreError();  // failure kept in shard
    changelog_producer_->Poll(0);
    output_producer_->Poll(0);
    for (const auto& [p, s] : shards_) {
      if (!s->failure().ok() && fatal_.ok()) fatal_ = s->failure();
    }
    if (!fatal_.ok()) break;
    if (now - last_checkpoint >= options_.checkpoint_interval_ms) {
      Status st = FlushProducers(5000);
      if (st.ok()) {
        for (auto& [p, s] : shards_) {
          Status cp = s->Checkpoint();
          if (!cp.ok())
            SB_LOG_INFO("router", "shard %d: checkpoint: %s\n", p, cp.ToString().c_str());
        }
      }
      last_checkpoint = now;
    }
    if (options_.status_interval_ms > 0 && now - last_status >= options_.status_interval_ms) {
      PrintStatus((now - last_status) / 1000.0);
      last_status = now;
    }
    if (now - last_stats >= kStatsIntervalMs) {
      for (auto& [p, s] : shards_) s->PublishStats();
      last_stats = now;
    }
    if (probe_ != nullptr) probe_->MaybeRefresh(shards_, *consumer_);
  }
  if (!fatal_.ok()) return fatal_;
  consumer_->Close();  // revokes: flush + checkpoint
  return fatal_;
}

void Node::PollControl() {
  owned_shards_.store(shards_.size(), std::memory_order_relaxed);
  if (control_->Poll(0) == 0 || drained_) return;
  auto it = control_->state().drains().find(options_.node_id);
  if (it == control_->state().drains().end()) return;
  if (it->second.requested_at_ms() <= started_at_ms_) return;  // before this start: served again
  Drain(it->second);
}

void Node::Drain(const pb::NodeDrain& request) {
  SB_LOG_INFO("router", "router %s: drain requested at %lld ms by %s: releasing %zu shards\n",
              options_.node_id.c_str(), static_cast<long long>(request.requested_at_ms()),
              request.requested_by().c_str(), shards_.size());
  consumer_->Leave();  // revokes (OnRevoked: flush + checkpoint + release), then leaves the group
  ReleaseAll();        // in case the revocation did not come through the callback
  pending_claims_.clear();
  drained_ = true;
  owned_shards_.store(0, std::memory_order_relaxed);
  if (options_.on_routing) options_.on_routing({}, true);
  SB_LOG_INFO("router", "router %s: drained: no shards, left the group; idle until stopped\n",
              options_.node_id.c_str());
}

}  // namespace sb::shard
