// The gateway's view of the cluster's follow-up tasks, built from sb.followups (the shards'
// read model, proto FollowUpTaskRecord): every task by id, customer, owner and state, with the
// shard that holds it. FollowUpService List reads it; Cancel and RecordOutcome find a task's state
// and shard in it. Pure (no Kafka): the gateway's I/O thread feeds it the records.
//
// Record rule (as for sb.stats, router/stats/view.h): per task the record of the highest epoch is
// kept; of equal epochs, the later offset of the same partition (one owner wrote both), else the
// record read last. A stale owner's record never replaces a newer owner's. A tombstone (no value)
// removes the task unless it carries an older epoch than the record kept.
//
// Bounded: an ended task (DONE, CANCELLED, EXPIRED, ESCALATED...) leaves the index
// `ended_ttl_ms` after it ended (Prune), and the memory of removed tasks (for stale records read
// after a tombstone) keeps the newest kMaxRemembered ids. What the index forgot, List no longer
// shows and Cancel/RecordOutcome answer NOT_FOUND for; the shard still holds the task.
//
// Threads: thread-safe. Apply()/ExpectEnd()/Prune() from the I/O thread; the rest from any.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/status.h"
#include "switchboard/v1/followup.pb.h"

namespace sb::gateway {

namespace pb = ::switchboard::v1;

// A task as the index holds it.
struct IndexedTask {
  pb::FollowUpTask task;
  int32_t shard = 0;   // where commands about it go (sb.contacts partition)
  uint64_t epoch = 0;  // of the record kept
  int32_t partition = 0;
  int64_t offset = -1;
};

struct FollowUpFilter {
  std::string customer_id;                                    // empty = any
  std::string owner;                                          // empty = any
  pb::FollowUpState state = pb::FOLLOW_UP_STATE_UNSPECIFIED;  // UNSPECIFIED = any
  std::string submitted_by;                                   // empty = any (not indexed)
  // Only tasks of these queues (a supervisor's domains); nullopt = any (not indexed).
  std::optional<std::set<std::string>> queues;
};

struct FollowUpPage {
  std::vector<pb::FollowUpTask> tasks;
  std::string next_page_token;  // empty: no more
};

// True for a string a page token of List() can be: a task id ([A-Za-z0-9._:/-], 1..128).
bool ValidFollowUpPageToken(std::string_view token);

class FollowUpIndex {
 public:
  enum class Applied { kKept, kOlder, kDeleted, kMalformed };
  static constexpr int64_t kDefaultEndedTtlMs = 7 * 24 * 3600 * 1000LL;
  static constexpr size_t kMaxRemembered = 100000;

  explicit FollowUpIndex(int64_t ended_ttl_ms = kDefaultEndedTtlMs) : ended_ttl_ms_(ended_ttl_ms) {}

  // Forgets the tasks that ended `ended_ttl_ms` or longer before `now_ms`; returns how many.
  size_t Prune(int64_t now_ms) ABSL_LOCKS_EXCLUDED(mu_);

  // One record of sb.followups. `header_epoch`: the record's sb-epoch header (tombstones carry
  // their epoch only there). kMalformed (counted, nothing changes) when the value does not parse
  // or names another task than the key.
  Applied Apply(std::string_view key, const std::optional<std::string>& value,
                std::optional<uint64_t> header_epoch, int32_t partition, int64_t offset)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Loading: the end offset (high watermark) of each partition when reading began. Until every
  // partition was read up to it, loaded() is false.
  void ExpectEnd(int32_t partition, int64_t low, int64_t high) ABSL_LOCKS_EXCLUDED(mu_);
  bool loaded() const ABSL_LOCKS_EXCLUDED(mu_);

  std::optional<IndexedTask> Get(const std::string& task_id) const ABSL_LOCKS_EXCLUDED(mu_);
  // Waits until `done` holds for the task (nullptr: not known) or `timeout` passed; the task as
  // then known. `done` runs under the index's lock: it must not call the index.
  std::optional<IndexedTask> WaitFor(const std::string& task_id,
                                     const std::function<bool(const IndexedTask*)>& done,
                                     std::chrono::milliseconds timeout) const
      ABSL_LOCKS_EXCLUDED(mu_);

  // Tasks matching every filter set, in task id order, after `page_token` (a task id; empty =
  // from the start), at most `page_size` (REQUIRES: > 0). next_page_token is the last id given
  // when more may follow.
  FollowUpPage List(const FollowUpFilter& filter, size_t page_size,
                    const std::string& page_token) const ABSL_LOCKS_EXCLUDED(mu_);

  size_t size() const ABSL_LOCKS_EXCLUDED(mu_);
  uint64_t malformed() const ABSL_LOCKS_EXCLUDED(mu_);
  uint64_t older_ignored() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // The task kept under `task_id`; nullptr when none.
  const IndexedTask* Find(std::string_view task_id) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Unindex(const IndexedTask& t) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Index(const IndexedTask& t) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Remembers that `key` was removed at `epoch` (bounded: the oldest memories go first).
  void Remember(std::string_view key, uint64_t epoch) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const int64_t ended_ttl_ms_;

  mutable absl::Mutex mu_;
  // Signalled after every Apply(): WaitFor() looks at its task again, on its own thread (`done`
  // is the caller's code; Mutex::Await would run it on the thread releasing mu_).
  mutable absl::CondVar changed_;
  std::map<std::string, IndexedTask, std::less<>> tasks_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::set<std::string>, std::less<>> by_customer_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::set<std::string>, std::less<>> by_owner_ ABSL_GUARDED_BY(mu_);
  std::map<int, std::set<std::string>> by_state_ ABSL_GUARDED_BY(mu_);
  // Last tombstone epoch per removed task, so an older record read after it stays out.
  std::map<std::string, uint64_t, std::less<>> removed_epoch_ ABSL_GUARDED_BY(mu_);
  std::deque<std::string> removed_order_ ABSL_GUARDED_BY(mu_);  // oldest memory first
  std::map<int32_t, int64_t> end_ ABSL_GUARDED_BY(mu_);         // partition -> offset to reach
  std::map<int32_t, int64_t> next_ ABSL_GUARDED_BY(mu_);        // partition -> next offset read
  uint64_t malformed_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t older_ignored_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace sb::gateway
