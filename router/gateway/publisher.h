// Private to router/gateway: the way RPC handlers write to Kafka. Records are handed to the
// gateway's I/O thread, which owns the producer; the handler waits for the broker's
// acknowledgement.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <future>
#include <memory>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/status.h"

namespace sb::gateway {

// One record on its way to the broker. The I/O thread sets `offset` and then `done`.
struct PendingRecord {
  std::string topic;
  int32_t partition = 0;
  std::string key;
  std::string value;
  int64_t offset = -1;  // acknowledged offset, set before `done`
  std::promise<Status> done;
};

// Thread-safe. Handlers call Publish() and read the partition count; the gateway drains the
// queue from its I/O thread and stops it once.
class Publisher {
 public:
  // `partitions`: of sb.contacts (and every topic keyed by routing domain). REQUIRES: > 0.
  Publisher(int32_t partitions, int ack_timeout_ms)
      : partitions_(partitions), ack_timeout_ms_(ack_timeout_ms) {}

  // --- RPC handlers ---

  // Hands one record to the I/O thread and waits for the broker's acknowledgement (its offset in
  // `*offset` when given). UNAVAILABLE when the record was not written, not acknowledged within
  // ack_timeout_ms, or this node is stopping.
  [[nodiscard]] Status Publish(std::string_view topic, int32_t partition, const std::string& key,
                               std::string value, int64_t* offset = nullptr)
      ABSL_LOCKS_EXCLUDED(mu_);
  int32_t partitions() const { return partitions_; }
  // kafka::PartitionFor(key): where a routing domain's records go (and sessions/<node>, by node
  // id).
  int32_t PartitionOf(std::string_view domain) const;
  // The node is stopping: nothing is published any more, and handlers blocked on a stream end.
  bool stopping() const { return stopping_.load(); }

  // --- the gateway ---

  // I/O thread: the records handed over since the last call, oldest first.
  std::deque<std::shared_ptr<PendingRecord>> Take() ABSL_LOCKS_EXCLUDED(mu_);
  // No record is taken after this returns (Publish answers UNAVAILABLE). Idempotent.
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  const int32_t partitions_;
  const int ack_timeout_ms_;
  absl::Mutex mu_;
  // Set under mu_, so that no record is queued once Stop() returned; read without it.
  std::atomic<bool> stopping_{false};
  std::deque<std::shared_ptr<PendingRecord>> queued_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sb::gateway
