#include "router/shard/snapshot_policy.h"

#include <algorithm>

namespace sb::shard {

bool SnapshotPolicy::Due(uint64_t bytes_appended, int64_t now_ms) const {
  if (forced_) return true;
  const uint64_t since = bytes_appended - bytes_at_last_;
  if (since == 0) return false;
  return since >= std::max(options_.min_bytes, last_size_) ||
         now_ms - last_at_ms_ >= options_.interval_ms;
}

void SnapshotPolicy::Taken(uint64_t size, uint64_t bytes_appended, int64_t now_ms) {
  forced_ = false;
  last_size_ = size;
  bytes_at_last_ = bytes_appended;
  last_at_ms_ = now_ms;
}

}  // namespace sb::shard
