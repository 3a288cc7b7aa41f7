// A shard's restore: the local RocksDB checkpoint (the engine state, the follow-up tasks and the
// forwards seen, as of a changelog offset), then the changelog from that offset on. The log is the
// source of truth: a checkpoint the log no longer holds (topic recreated, retention) is ignored,
// and restoring from the log alone gives the same state.
//
// Thread: any (one shard's store and reader at a time).
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"
#include "router/kafka/client.h"
#include "router/shard/changelog.h"
#include "router/shard/followups.h"
#include "state-store/store.h"
#include "switchboard/v1/cluster.pb.h"
#include "switchboard/v1/engine_state.pb.h"

namespace sb::shard {

// The changelog offsets the partition holds: [first, end).
struct LogRange {
  int64_t first = 0;
  int64_t end = 0;
};

// The state the local checkpoint in `store` holds, or an empty state (restore from the log
// alone) when there is none or `log` no longer holds the offset it was taken at (logged).
// kFailedPrecondition names a malformed checkpoint; `store_dir` names the store in messages.
Result<ChangelogState> LoadCheckpoint(const store::Store& store, const std::string& store_dir,
                                      int32_t partition, LogRange log);

// Saves the state of the shard as of changelog offset `acked_through`: restores read the log
// from the next offset. Then call followups->CheckpointSaved() (when not null).
Status SaveCheckpoint(store::Store* store, const pb::EngineState& engine, pb::ShardMeta meta,
                      uint64_t epoch, int64_t acked_through, const FollowUps* followups);

// Reads the changelog from `reader` (assigned to the shard's partition) into `state` until
// state->next_offset() reaches `until`; kUnavailable after `timeout_ms`. Counts the records read
// into `*records`.
Status ReadChangelog(ChangelogState* state, kafka::PartitionReader* reader, int64_t until,
                     int32_t partition, int timeout_ms, uint64_t* records);

}  // namespace sb::shard
