// StatsFeed: the Kafka shell around a StatsView. Reads every partition of sb.stats from the
// beginning with a PartitionReader (outside any consumer group: every reader sees everything)
// and applies each record to its view.
//
// Threads: owned by one thread, which calls Poll/CatchUp and reads view(). The wallboard polls
// it on its data thread; `switchboard report` calls CatchUp once on its main thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "common/status.h"
#include "router/kafka/client.h"
#include "router/stats/view.h"

namespace sb::stats {

class StatsFeed {
 public:
  // Looks up the partitions of sb.stats and assigns them all from the beginning. Unavailable when
  // no broker answers within `timeout_ms`; FailedPrecondition when the topic does not exist.
  // `tail` > 0: start each partition that many records before its end instead (a reader of live
  // snapshots only — every shard re-publishes its own each second — need not read the history,
  // which the embedded broker never compacts).
  static Result<std::unique_ptr<StatsFeed>> Open(const std::string& bootstrap,
                                                 const kafka::Settings& extra, int timeout_ms,
                                                 int64_t stale_ms = StatsView::kDefaultStaleMs,
                                                 int64_t tail = 0);

  // Applies the records that arrive within `timeout_ms` (returns early once a poll comes back
  // empty after at least one record, so a caller's loop keeps its pace). Returns how many
  // records were applied; Unavailable on a fatal consumer error.
  Result<int> Poll(int timeout_ms);

  // Reads until every partition is at the high watermark it had when CatchUp started: after it,
  // the view holds everything published before the call. Unavailable when the watermarks cannot
  // be read or the end is not reached within `timeout`.
  Status CatchUp(std::chrono::milliseconds timeout);

  const StatsView& view() const { return view_; }
  int32_t partitions() const { return partitions_; }

 private:
  StatsFeed(std::unique_ptr<kafka::PartitionReader> reader, int32_t partitions, int64_t stale_ms)
      : reader_(std::move(reader)), partitions_(partitions), view_(stale_ms) {}
  void ApplyRecord(const kafka::Record& r);

  std::unique_ptr<kafka::PartitionReader> reader_;
  int32_t partitions_;
  StatsView view_;
  std::vector<int64_t> next_offset_;  // by partition: one past the last record applied
};

}  // namespace sb::stats
