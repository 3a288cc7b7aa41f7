// The archive of ended follow-up tasks: the files an operator keeps once the tasks leave the
// online state (FollowUpConfig.ended_retention_days, then removed from the shards, their
// changelog and sb.followups).
//
// Layout of the directory (created 0700, files 0600):
//   followups-YYYY-MM-DD.jsonl  one per UTC day a task ended; one FollowUpTaskRecord per line as
//                               protobuf JSON (the .proto's field names); a task at most once
//   positions                   "partition offset" lines: sb.followups read up to there
//   .lock                       flock: one writer (the archiver's batch, an erasure) at a time
// Lines are appended, then fsync'd with the positions saved after them (Commit()), so a crash
// loses no record: an uncommitted line is read again from sb.followups and, being there already,
// not written twice. A line cut by a crash (no newline at the end) is removed when its file is
// next opened.
//
// Thread: one thread per object; processes exclude each other through Lock().
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/status.h"
#include "switchboard/v1/followup.pb.h"

namespace sb::privacy {

namespace pb = ::switchboard::v1;

class ArchiveDir {
 public:
  // Creates `dir` (0700) when missing. kInvalidArgument naming `dir` when it is not a directory.
  static Result<std::unique_ptr<ArchiveDir>> Open(const std::string& dir);
  ~ArchiveDir();
  ArchiveDir(const ArchiveDir&) = delete;
  ArchiveDir& operator=(const ArchiveDir&) = delete;

  const std::string& dir() const { return dir_; }

  // Takes the directory's lock (waits for another process to release it). Unlock() closes every
  // file and forgets what it read of them: another process may rewrite them meanwhile.
  Status Lock();
  void Unlock();

  // Appends the record of an ended task to the file of the day it ended. False when the task is
  // in that file already. kFailedPrecondition naming file and line for a line that is not a
  // FollowUpTaskRecord (nothing is rewritten then). REQUIRES: Lock(); the task ended.
  Result<bool> Add(const pb::FollowUpTaskRecord& record);
  // Makes every line added durable, then saves `positions` (atomic replace). REQUIRES: Lock().
  Status Commit(const std::map<int32_t, int64_t>& positions);
  // The positions last committed; empty when none.
  Result<std::map<int32_t, int64_t>> Positions() const;

  struct Erased {
    std::string file;
    int lines = 0;
  };
  // Rewrites every file holding lines of `customer_id` without them (written beside, fsync'd,
  // renamed over). Files are read whole before anything is rewritten: a line that is not a
  // record fails the call naming file and line, with no file changed. REQUIRES: Lock().
  Result<std::vector<Erased>> EraseCustomer(const std::string& customer_id);

  // The file of the day `ended_at_ms` falls on (UTC), relative to the directory.
  static std::string FileOf(int64_t ended_at_ms);

 private:
  struct DayFile {
    int fd = -1;
    std::unordered_set<std::string> task_ids;
    bool dirty = false;
  };
  explicit ArchiveDir(std::string dir) : dir_(std::move(dir)) {}
  Result<DayFile*> OpenDay(const std::string& name);
  void CloseAll();

  std::string dir_;
  int lock_fd_ = -1;
  std::unordered_map<std::string, DayFile> days_;
};

// One record as its archive line (no newline), and back.
std::string ToArchiveLine(const pb::FollowUpTaskRecord& record);
Result<pb::FollowUpTaskRecord> FromArchiveLine(const std::string& line);

}  // namespace sb::privacy
