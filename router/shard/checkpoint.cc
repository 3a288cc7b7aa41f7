#include "router/shard/checkpoint.h"

#include <charconv>
#include <system_error>

#include "common/clock.h"
#include "common/log/log.h"

namespace sb::shard {
namespace {

constexpr char kMetaStoreKey[] = "shard_meta";
constexpr char kEpochStoreKey[] = "shard_epoch";
constexpr char kChangelogPosition[] = "changelog";
constexpr char kForwardsStoreKey[] = "shard_forwards";

}  // namespace

Result<ChangelogState> LoadCheckpoint(const store::Store& store, const std::string& store_dir,
                                      int32_t partition, LogRange log) {
  auto position = store.InputPosition(kChangelogPosition);
  if (!position.ok()) return position.status();
  auto meta_bytes = store.Meta(kMetaStoreKey);
  auto epoch_bytes = store.Meta(kEpochStoreKey);
  if (!meta_bytes.ok()) return meta_bytes.status();
  if (!epoch_bytes.ok()) return epoch_bytes.status();
  if (!position->has_value() || !meta_bytes->has_value() || !epoch_bytes->has_value()) {
    return ChangelogState();
  }
  pb::ShardMeta meta;
  auto engine_state = store.LoadEngineState();
  if (!engine_state.ok()) return engine_state.status();
  pb::FollowUpSchedulerState tasks;
  SB_RETURN_IF_ERROR(store.ForEachFollowUp(
      [&](pb::FollowUpTask&& task) { *tasks.add_tasks() = std::move(task); }));
  pb::ForwardsSeen forwards;
  auto forwards_bytes = store.Meta(kForwardsStoreKey);
  if (!forwards_bytes.ok()) return forwards_bytes.status();
  if (forwards_bytes->has_value() && !forwards.ParseFromString(**forwards_bytes)) {
    return FailedPrecondition(store_dir + ": malformed forwards in checkpoint");
  }
  const int64_t pos = static_cast<int64_t>(**position);
  if (!meta.ParseFromString(**meta_bytes)) {
    return FailedPrecondition(store_dir + ": malformed shard meta in checkpoint");
  }
  // Decimal digits, as SaveCheckpoint writes them: nothing else is taken for a number (std::stoull
  // threw on no digits, and read "3x" as 3 and "-1" as the largest epoch).
  const std::string& epoch_text = **epoch_bytes;
  uint64_t epoch = 0;
  const auto [end, ec] =
      std::from_chars(epoch_text.data(), epoch_text.data() + epoch_text.size(), epoch);
  if (epoch_text.empty() || ec != std::errc() || end != epoch_text.data() + epoch_text.size()) {
    return FailedPrecondition(store_dir + ": malformed epoch in checkpoint");
  }
  if (pos > log.end || pos < log.first) {
    // The log does not hold what the checkpoint was taken from (topic recreated, retention):
    // the log is the source of truth, so start over from it.
    SB_LOG_INFO("shard",
                "shard %d: checkpoint at changelog offset %lld outside the log [%lld, %lld]; "
                "restoring from the log alone\n",
                partition, static_cast<long long>(pos), static_cast<long long>(log.first),
                static_cast<long long>(log.end));
    return ChangelogState();
  }
  return ChangelogState(*engine_state, tasks, forwards, meta, epoch, pos);
}

Status SaveCheckpoint(store::Store* store, const pb::EngineState& engine, pb::ShardMeta meta,
                      uint64_t epoch, int64_t acked_through, const FollowUps* followups) {
  store::Batch batch = store->NewBatch();
  meta.set_outputs_acked_through(acked_through);
  SB_RETURN_IF_ERROR(store->StageEngineState(engine, &batch));
  batch.PutMeta(kMetaStoreKey, meta.SerializeAsString());
  batch.PutMeta(kEpochStoreKey, std::to_string(epoch));
  batch.SetInputPosition(kChangelogPosition, static_cast<uint64_t>(acked_through + 1));
  if (followups != nullptr) followups->StageCheckpoint(&batch, kForwardsStoreKey);
  return store->Commit(std::move(batch));
}

Status ReadChangelog(ChangelogState* state, kafka::PartitionReader* reader, int64_t until,
                     int32_t partition, int timeout_ms, uint64_t* records) {
  const int64_t deadline = MonotonicMs() + timeout_ms;
  while (state->next_offset() < until) {
    if (MonotonicMs() > deadline) {
      return Unavailable("shard " + std::to_string(partition) +
                         ": changelog restore did not reach offset " + std::to_string(until) +
                         " within " + std::to_string(timeout_ms) + " ms");
    }
    auto rec = reader->Poll(100);
    if (!rec.ok()) return rec.status();
    if (!rec->has_value()) continue;
    ++*records;
    Status st = state->Apply(**rec);
    if (!st.ok()) SB_LOG_INFO("shard", "shard %d: %s\n", partition, st.ToString().c_str());
  }
  return Status::Ok();
}

}  // namespace sb::shard
