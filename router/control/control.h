// The cluster's control log sb.control (router/control/README.md): routing config versions and
// drain requests, written by AdminService, followed by every router and gateway.
//
// Config switching protocol (AdminService.ApplyConfig):
//   1. validate the new config, check it against the one in force (CheckCompatible);
//   2. append config/<version> (ConfigVersion) to sb.control, acknowledged;
//   3. append a ConfigChanged{version} RoutingEvent to EVERY partition of sb.contacts, each
//      acknowledged: each shard switches its engine exactly there, so a replay of the shard's
//      input switches at the same record (and its changelog meta names the version in force);
//   4. append config/current (ConfigCurrent), acknowledged: gateways validate with it, routers
//      starting use it for shards with no recorded version.
// A version is the content hash of the config (ConfigVersionOf): applying the same content again
// yields the same version, and a node's --config file has a version too.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "router/kafka/client.h"
#include "switchboard/v1/cluster.pb.h"
#include "switchboard/v1/config.pb.h"

namespace sb::control {

namespace pb = ::switchboard::v1;

inline constexpr int32_t kControlPartition = 0;
inline constexpr char kCurrentConfigKey[] = "config/current";
std::string ConfigKey(std::string_view version);  // "config/<version>"
std::string DrainKey(std::string_view node_id);   // "drain/<node id>"

// 16 hex digits of the SHA-256 of the config's deterministic serialization.
// REQUIRES: defaults applied (config::ApplyDefaults), so equal configs hash equal.
std::string ConfigVersionOf(const pb::RoutingConfig& config);

// A config may replace `running` when it keeps every routing domain and queue of it (contacts
// may wait in them; removing one needs a drain procedure). Everything else may change: new
// domains, queues and skills; thresholds, strategies, skills of queues, bullseye steps, costs.
// FAILED_PRECONDITION naming every removed domain and queue. Pure.
Status CheckCompatible(const pb::RoutingConfig& running, const pb::RoutingConfig& next);

// Where a shard finds a routing config version (the one in force at a ConfigChanged marker, or
// recorded in its changelog). Thread: the shard's owner thread.
class ConfigSource {
 public:
  virtual ~ConfigSource() = default;
  // The config of `version`, waiting up to `wait_ms` for it to arrive; nullptr if still unknown.
  virtual std::shared_ptr<const pb::RoutingConfig> Find(const std::string& version,
                                                        int wait_ms) = 0;
};

// sb.control materialized (pure): every config version seen (kept: a shard restoring under an
// older one needs it), the current pointer, the latest drain request per node.
class ControlState {
 public:
  // Malformed records are skipped with an error naming offset and key.
  Status Apply(const kafka::Record& r);
  // A config known locally (a node's --config file), under its version.
  void Add(pb::RoutingConfig config);
  std::shared_ptr<const pb::RoutingConfig> Find(const std::string& version) const;
  // nullopt until a config/current record was read.
  const std::optional<pb::ConfigCurrent>& current() const { return current_; }
  const std::map<std::string, pb::NodeDrain>& drains() const { return drains_; }
  uint64_t records() const { return records_; }

 private:
  std::map<std::string, std::shared_ptr<const pb::RoutingConfig>> configs_;
  std::optional<pb::ConfigCurrent> current_;
  std::map<std::string, pb::NodeDrain> drains_;
  uint64_t records_ = 0;
};

// Follows sb.control partition 0 with its own reader, from the beginning (the topic is
// compacted and small). Thread: one owner (a node's loop thread, a gateway's I/O thread or RPC).
class ControlFollower final : public ConfigSource {
 public:
  // `who` prefixes log lines ("router n1").
  static Result<std::unique_ptr<ControlFollower>> Open(const std::string& bootstrap,
                                                       const kafka::Settings& settings,
                                                       std::string who);
  // Reads up to the end of the log as it is now. UNAVAILABLE when that takes over `timeout_ms`.
  Status CatchUp(int timeout_ms);
  // Applies what arrived, waiting up to `timeout_ms` for the first record; returns how many.
  int Poll(int timeout_ms);
  std::shared_ptr<const pb::RoutingConfig> Find(const std::string& version, int wait_ms) override;

  // The config a node starts with: registers `file_config` (the --config file) and returns the
  // config/current of sb.control when there is one, else the file's. Logs which and why.
  // REQUIRES: CatchUp() done.
  pb::RoutingConfig ChooseStartConfig(pb::RoutingConfig file_config);

  const ControlState& state() const { return state_; }
  ControlState& state() { return state_; }

 private:
  ControlFollower() = default;
  std::unique_ptr<kafka::PartitionReader> reader_;
  std::string who_;
  ControlState state_;
  int64_t next_offset_ = 0;
  uint64_t errors_ = 0;
};

}  // namespace sb::control
