// StatsView: the reader's picture of the compacted topic sb.stats
// (proto/switchboard/v1/stats.proto) — per key, the record of the highest owner epoch. Pure:
// records in, queries out, no I/O, no clock (callers pass `now_ms`).
//
// Threads: not thread-safe; one owner (a StatsFeed's thread, or a test). Readers on other threads
// take copies through the owner.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/text.h"
#include "switchboard/v1/stats.pb.h"

namespace sb::stats {

// What Apply did with one record.
enum class Applied {
  kKept,       // stored: new key, higher epoch, or equal epoch and later in the log
  kOlder,      // ignored: a lower epoch than the stored record (a zombie owner's late record)
  kDeleted,    // a tombstone removed the key
  kMalformed,  // ignored and counted: bad key, unparsable value, key/value disagree
};

// Where a record sits in the log; equal epochs are ordered by it.
struct LogPosition {
  int32_t partition = 0;
  int64_t offset = 0;
};

// One queue as the wallboard shows it: its live state plus the shard it came from.
struct LiveQueue {
  ::switchboard::v1::QueueLive queue;
  int32_t shard = 0;
  int64_t at_ms = 0;
};

// One logged-in agent as its shard last published it, and the node holding its desktop session
// (empty when no fresh NodeSessions record names the agent).
struct ListedAgent {
  ::switchboard::v1::AgentLive agent;
  int32_t shard = 0;
  std::string session_node;
};

class StatsView {
 public:
  // Records whose at_ms is older than this (by the caller's clock) are stale: their shard stopped
  // publishing (owner dead, rebalance under way), so its numbers are no longer "live".
  static constexpr int64_t kDefaultStaleMs = 10'000;

  explicit StatsView(int64_t stale_ms = kDefaultStaleMs) : stale_ms_(stale_ms) {}

  // Applies one record of sb.stats. `value` nullopt is a tombstone. Never fails: a record that
  // cannot be read is counted under a named reason (malformed()) and skipped, because one bad
  // producer must not blind every wallboard.
  Applied Apply(std::string_view key, const std::optional<std::string_view>& value,
                LogPosition position);

  // Live queues of every shard whose latest ShardLive is fresh at `now_ms`, by queue name. When
  // two fresh shards report one queue (an ownership move in flight) the newer at_ms wins.
  std::map<std::string, LiveQueue> LiveQueues(int64_t now_ms) const;
  // The fresh ShardLive records themselves (domains, follow-ups), by shard.
  std::vector<const ::switchboard::v1::ShardLive*> FreshShards(int64_t now_ms) const;
  // Shards with a ShardLive record that is stale at `now_ms`.
  int StaleShards(int64_t now_ms) const;

  // The logged-in agents of every shard, from each shard's latest agent list (the parts named by
  // its part 0), by agent id. An agent listed by two shards (its domain's shard moved) is taken
  // from the newer list.
  std::vector<ListedAgent> Agents(int64_t now_ms) const;

  // QueueDay records with from <= day <= to (YYYY-MM-DD, compared as strings, which orders
  // dates), ordered by queue then day; only queue `queue` when it is non-empty.
  std::vector<::switchboard::v1::QueueDay> Days(std::string_view from, std::string_view to,
                                                std::string_view queue = {}) const;

  // Records skipped, by reason ("bad key", "unparsable ShardLive", ...), and the last one as a
  // printable line naming key and reason (empty when none).
  const std::map<std::string, uint64_t>& malformed() const { return malformed_; }
  uint64_t malformed_total() const;
  const std::string& last_error() const { return last_error_; }
  uint64_t applied() const { return applied_; }
  uint64_t older_ignored() const { return older_ignored_; }
  int64_t stale_ms() const { return stale_ms_; }

 private:
  struct Stamp {
    int64_t epoch = 0;
    LogPosition position;
  };
  template <typename T>
  struct Entry {
    T record;
    Stamp stamp;
  };
  // True when a record stamped `incoming` replaces one stamped `stored`.
  static bool Replaces(const Stamp& incoming, const Stamp& stored);
  Applied Malformed(std::string_view key, const std::string& reason);
  // Stores `rec` under `k` unless a record with a higher stamp is there.
  template <typename Map, typename Record>
  Applied Keep(Map* map, const typename Map::key_type& k, Record rec, const Stamp& stamp);
  Applied ApplyAgents(std::string_view key, const std::optional<std::string_view>& value,
                      LogPosition position);
  Applied ApplySessions(std::string_view key, const std::optional<std::string_view>& value,
                        LogPosition position);

  int64_t stale_ms_;
  std::map<int32_t, Entry<::switchboard::v1::ShardLive>> live_;     // by shard
  std::map<std::string, Entry<::switchboard::v1::QueueDay>> days_;  // by "queue\0day"
  std::map<std::pair<int32_t, uint32_t>, Entry<::switchboard::v1::ShardAgents>>
      agents_;                                                              // by (shard, part)
  std::map<std::string, Entry<::switchboard::v1::NodeSessions>> sessions_;  // by node
  std::map<std::string, uint64_t> malformed_;
  std::string last_error_;
  uint64_t applied_ = 0;
  uint64_t older_ignored_ = 0;
};

// True when `s` is a real calendar date written YYYY-MM-DD (common/text.h).
using ::sb::IsDate;

}  // namespace sb::stats
