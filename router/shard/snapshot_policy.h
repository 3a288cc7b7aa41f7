// When a shard writes a complete snapshot of its state into its changelog (changelog.h).
//
// A restore trusts the newest complete snapshot and reads everything after it, so the log must
// keep both (README "Restore"): a snapshot is due
//   - after the claim (every epoch's log starts from a complete state of its own), and after
//     records of a zombie were seen in the log (its late writes could, once compacted, shadow
//     the values written before them);
//   - once the changelog written since the last snapshot reaches max(`min_bytes`, the last
//     snapshot's size): the log holds at most ~3 snapshots' worth (the newest complete one, the
//     tail, the one being written), and writing snapshots costs at most as much as the tail;
//   - `interval_ms` after the last one when anything was written since (so a compacting broker's
//     min.compaction.lag.ms bounds how old the tail after the newest snapshot can get).
//
// Pure: time is passed in. Thread: the shard's.
#pragma once

#include <cstdint>

namespace sb::shard {

class SnapshotPolicy {
 public:
  struct Options {
    uint64_t min_bytes = 1 << 20;
    int64_t interval_ms = 60000;
  };
  explicit SnapshotPolicy(Options options) : options_(options) {}

  // A snapshot is wanted at the next opportunity.
  void Force() { forced_ = true; }
  // `bytes_appended`: the changelog writer's running total of bytes written.
  bool Due(uint64_t bytes_appended, int64_t now_ms) const;
  // A snapshot of `size` bytes was appended when the writer's total was `bytes_appended`
  // (including the snapshot).
  void Taken(uint64_t size, uint64_t bytes_appended, int64_t now_ms);

 private:
  const Options options_;
  bool forced_ = false;
  uint64_t last_size_ = 0;
  uint64_t bytes_at_last_ = 0;
  int64_t last_at_ms_ = 0;
};

}  // namespace sb::shard
