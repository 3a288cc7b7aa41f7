// One shard (one partition number) owned by this node: its routing engine, its local RocksDB
// checkpoint, and the log-order fencing protocol on its changelog partition.
//
// Protocol (DESIGN.md "Data flow"):
//   Claim():   read the local checkpoint + the changelog tail, append an epoch claim, read up to
//              it, check the claim won, rebuild the engine, re-publish outputs not known to be
//              acknowledged. Input resumes from the offsets in the log.
//   OnInput(): apply one input record to the engine (or, for a follow-up command, to the shard's
//              follow-up scheduler), collecting decisions. The engine answers an event of a
//              desktop or integrator it refuses with a DECISION_REFUSED, which the shard stamps
//              with the input offset so the sender learns it. A ConfigChanged marker rebuilds the
//              engine from its state under the marker's config version (router/control), so
//              every replay switches at the same record; each group's meta names the version
//              in force, and a restore rebuilds the engine under it.
//   Flush():   append the changes as one group (entity records, then the meta record carrying
//              the input offsets and the group's outputs).
//   OnDelivery(): the group writer (group_writer.h) checks every acknowledged changelog record
//              for another writer's (fencing) and publishes a group's outputs once its meta
//              record is acknowledged; the follow-up bridge (followup_bridge.h) publishes the
//              tasks it changed to sb.followups.
//
// The parts: the claim and restore (here, with checkpoint.h), the group writer, the follow-up
// bridge and the statistics publisher (stats_publisher.h); the engine makes every routing
// decision.
//
// Thread: owned by the node's loop thread. Failure: a fenced shard or a failed delivery makes
// every later call return the error; the node then exits (crash-only: restart recovers).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "router/control/control.h"
#include "router/engine/engine.h"
#include "router/followup/settings.h"
#include "router/kafka/client.h"
#include "router/shard/changelog.h"
#include "router/shard/followup_bridge.h"
#include "router/shard/followups.h"
#include "router/shard/group_writer.h"
#include "router/shard/shard_types.h"
#include "router/shard/snapshot_policy.h"
#include "router/shard/stats_publisher.h"
#include "state-store/store.h"
#include "switchboard/v1/config.pb.h"

namespace sb::shard {

class ShardProbe;  // router/shard/probe.h

struct ShardOptions {
  std::string node_id;
  int32_t partition = 0;
  std::string store_dir;  // this shard's RocksDB directory
  std::string bootstrap;
  kafka::Settings kafka_settings;
  int restore_timeout_ms = 30000;
  int32_t partitions = 1;  // of the cluster's topics: where forwards to other shards go
  // Follow-up scheduling; nullptr: follow-up commands are refused (logged). REQUIRES: outlives
  // the shard; CheckFollowUpQueues() passed.
  const followup::Settings* followups = nullptr;
  // Routing config versions (router/control): the config of a ConfigChanged marker, and the one
  // recorded in the changelog for a restore. nullptr: markers are refused (logged) and the shard
  // keeps the config it was made with. REQUIRES: outlives the shard; owner thread only.
  control::ConfigSource* configs = nullptr;
  // How long a marker waits for its version to arrive in sb.control before the shard fails.
  int config_wait_ms = 10000;
  // When the shard writes snapshots of its state into the changelog (snapshot_policy.h).
  SnapshotPolicy::Options snapshots;
  // One agent, one capacity across the cluster (README "Agent identity"): logins are routed to
  // only once the agent's home shard granted them. Off only in tests of one shard alone (no home
  // shard runs to answer).
  bool reserve_identities = true;
};

class Shard {
 public:
  // REQUIRES: `config`, `clock` and the producers outlive the shard.
  Shard(ShardOptions options, const pb::RoutingConfig* config, const Clock* clock,
        Producers producers);
  ~Shard();

  // Restores and claims the partition; blocks up to options.restore_timeout_ms. On success,
  // input_offsets() says where to start reading sb.contacts and sb.agent-events.
  Status Claim();
  std::vector<kafka::TopicPartition> input_offsets() const;

  Status OnInput(const kafka::Record& record);
  void Tick();
  Status Flush();
  // Publishes the shard's statistics to sb.stats (router/shard/stats_book.h) and, every few
  // seconds, its logged-in agents (agent_roster.h): called about once a second. Statistics are not
  // outputs: they are sent at once, and a lost one is only logged.
  void PublishStats();
  void OnDelivery(uint64_t token, int64_t offset, const Status& status);
  // Saves the engine state at the last acknowledged group into RocksDB.
  // REQUIRES: idle() (nothing in flight), else it does nothing.
  Status Checkpoint();

  bool idle() const { return writer_.idle(); }
  // nullptr when follow-ups are off or before Claim().
  const FollowUps* followups() const {
    return bridge_ != nullptr ? &bridge_->followups() : nullptr;
  }
  const Status& failure() const { return failure_; }
  int32_t partition() const { return options_.partition; }
  uint64_t epoch() const { return writer_.epoch(); }
  const ShardStats& stats() const { return stats_; }
  engine::Summary Summarize() const;

  // Metrics (router/shard/probe.h): null = none. REQUIRES: the probe outlives the shard.
  void set_probe(ShardProbe* probe) {
    probe_ = probe;
    writer_.set_probe(probe);
  }
  const engine::Engine* engine() const { return engine_.get(); }  // null until claimed
  // The routing config version the engine decides with now (router/control: ConfigVersionOf).
  const std::string& config_version() const { return config_version_; }
  const store::Store* store() const { return store_.get(); }  // null until claimed

 private:
  // Claim(), after the restore: the engine, the follow-ups and the statistics from `state`.
  Status Rebuild(const ChangelogState& state);
  // The engine applies `event`, seen by the probe.
  Status ApplyToEngine(const pb::RoutingEvent& event);
  // A follow-up contact for this shard's queues enters the engine.
  Status RouteFollowUp(const pb::Contact& contact);
  // A new engine (claim, config switch) reserves its agents' identities cluster-wide.
  void Adopt(std::unique_ptr<engine::Engine> engine);
  // The engine's agent identity messages (engine.h ReserveIdentities): those for this shard
  // (an agent homed here) are applied at once, the others become forwards of this group.
  void RouteIdentityMessages();
  Status OnFollowUpCommand(const kafka::Record& record, const pb::FollowUpCommand& command);
  void Fail(Status status);
  // An input record the engine refused (answered to its sender): counted and logged.
  void Refused(const kafka::Record& record, const std::string& what);
  // An input record this shard cannot process: counted, logged, and published to sb.dead-letter
  // with the next group (never a stop: the same record would stop every next owner).
  void DeadLetter(const kafka::Record& record, const std::string& reason);
  // Stamps the decisions from `first` on of `type` with the input record they answer.
  void StampInput(const kafka::Record& record, pb::DecisionType type, size_t first);
  // A ConfigChanged marker: rebuilds the engine from its state under the config of `version`
  // (see router/control/control.h). Unknown version after options_.config_wait_ms: dead-lettered
  // (AdminService writes a version before any marker naming it: only a record no AdminService
  // wrote lacks it, and failing would fail every next owner of the shard on the same record).
  Status SwitchConfig(const kafka::Record& record, const std::string& version);
  // Claim(): the config version recorded in the changelog replaces the one the shard was made
  // with, when the config source has it.
  void UseRecordedConfig(const std::string& version);
  // Appends a complete snapshot of the state when the policy says one is due (between groups).
  Status MaybeSnapshot();

  const ShardOptions options_;
  const pb::RoutingConfig* config_;
  std::shared_ptr<const pb::RoutingConfig> config_holder_;  // config_ after a switch
  std::string config_version_;                              // of *config_
  std::vector<Entry> carried_;  // the previous engine's changes not flushed at a switch
  const Clock* clock_;
  const Producers producers_;
  ShardProbe* probe_ = nullptr;
  ShardStats stats_;
  GroupWriter writer_;
  StatsPublisher stats_publisher_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<engine::Engine> engine_;
  std::unique_ptr<FollowUpBridge> bridge_;                  // after Claim(), when follow-ups are on
  std::vector<Forward> forwards_;                           // for the next group's outputs
  std::vector<pb::DeadLetter> dead_letters_;                // for the next group's outputs
  std::vector<engine::IdentityMessage> identity_messages_;  // RouteIdentityMessages' buffer

  uint64_t group_seq_ = 0;
  int64_t contacts_next_ = 0, agent_events_next_ = 0;
  bool offsets_moved_ = false;
  std::vector<Entry> repairs_;  // committed values of keys the previous owner left half-written
  engine::Decisions decisions_;
  engine::Changes changes_;
  SnapshotPolicy snapshots_;
  std::optional<uint32_t> snapshot_slot_;  // of the newest snapshot written (by any owner)
  uint32_t snapshots_in_epoch_ = 0;
  uint64_t zombies_at_snapshot_ = 0;
  Status failure_;
};

}  // namespace sb::shard
