// The gateway's copy of sb.stats (router/stats/view.h: per key, the record of the highest owner
// epoch): each queue's estimated wait for Submit/Get/Watch, the shards' live snapshots for
// AdminService.QueueStats, the agent lists and desktop sessions for AdminService.ListAgents.
// Thread-safe: the I/O thread applies records, RPC handlers read.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "router/stats/view.h"

namespace sb::gateway {

class LiveStats {
 public:
  // REQUIRES: `clock` outlives this; it judges which shards' snapshots are still fresh.
  explicit LiveStats(const Clock* clock) : clock_(clock) {}

  void Apply(std::string_view key, const std::optional<std::string_view>& value,
             stats::LogPosition position) ABSL_LOCKS_EXCLUDED(mu_);
  // The queue's estimate from the freshest live snapshot reporting it; -1 when none does (or
  // its estimate is unknown).
  double EstimatedWaitS(const std::string& queue) const ABSL_LOCKS_EXCLUDED(mu_);
  // The shards whose live snapshot is fresh, by shard number.
  std::vector<::switchboard::v1::ShardLive> FreshShards() const ABSL_LOCKS_EXCLUDED(mu_);
  std::vector<stats::ListedAgent> Agents() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  const Clock* clock_;
  mutable absl::Mutex mu_;
  stats::StatsView view_ ABSL_GUARDED_BY(mu_);
};

// One agent is one person and serves one routing domain at a time (DESIGN.md: an agent never
// holds two capacities in two shards): the entry of `listed` (LiveStats::Agents()) that shows
// `agent`'s id logged in under another domain, if any. Within its domain a second login moves
// the session (the engine); across domains it is refused at login with where the agent is.
// The agent lists are a few seconds old at most: two logins in two domains within that window
// are not caught here (router/gateway/README.md).
std::optional<stats::ListedAgent> LoggedInElsewhere(const std::vector<stats::ListedAgent>& listed,
                                                    const ::switchboard::v1::Agent& agent);

}  // namespace sb::gateway
