#include "tools/privacy/archive.h"

#include <absl/time/time.h>
#include <fcntl.h>
#include <google/protobuf/util/json_util.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/text.h"

namespace sb::privacy {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kFilePrefix = "followups-";
constexpr std::string_view kFileSuffix = ".jsonl";
constexpr const char* kPositionsFile = "positions";
constexpr const char* kLockFile = ".lock";

Status Errno(const std::string& what) { return Internal(what + ": " + std::strerror(errno)); }

// The whole file; an absent file is empty.
Result<std::string> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (!fs::exists(path)) return std::string();
    return Errno("cannot read " + path);
  }
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Errno("cannot write " + path);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Status SyncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("cannot open " + dir);
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok ? Status::Ok() : Errno("cannot sync " + dir);
}

// Writes `data` beside `path`, syncs it and renames it over `path`.
Status ReplaceFile(const std::string& dir, const std::string& path, std::string_view data) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Errno("cannot create " + tmp);
  Status st = WriteAll(fd, data, tmp);
  if (st.ok() && ::fsync(fd) != 0) st = Errno("cannot sync " + tmp);
  ::close(fd);
  if (st.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) st = Errno("cannot rename " + tmp);
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  return SyncDir(dir);
}

// The complete lines of `text` (a last line without its newline is not one).
std::vector<std::string> CompleteLines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
    lines.push_back(text.substr(start, nl - start));
  }
  return lines;
}

Status BadLine(const std::string& path, size_t index, const Status& why) {
  return FailedPrecondition(path + ":" + std::to_string(index + 1) +
                            ": not an archived follow-up task (" + why.message() +
                            "); fix or move the file, nothing was changed");
}

}  // namespace

std::string ToArchiveLine(const pb::FollowUpTaskRecord& record) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string line;
  // A message of this binary always prints; the status only reports unknown Any types.
  (void)google::protobuf::util::MessageToJsonString(record, &line, options);
  return line;
}

Result<pb::FollowUpTaskRecord> FromArchiveLine(const std::string& line) {
  pb::FollowUpTaskRecord record;
  // The parser's own message quotes the line, which may hold personal data: not repeated.
  if (!google::protobuf::util::JsonStringToMessage(line, &record).ok()) {
    return InvalidArgument("not the JSON of a FollowUpTaskRecord");
  }
  if (record.task().id().empty()) return InvalidArgument("task.id missing");
  return record;
}

std::string ArchiveDir::FileOf(int64_t ended_at_ms) {
  return std::string(kFilePrefix) +
         absl::FormatTime("%Y-%m-%d", absl::FromUnixMillis(ended_at_ms), absl::UTCTimeZone()) +
         std::string(kFileSuffix);
}

Result<std::unique_ptr<ArchiveDir>> ArchiveDir::Open(const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    fs::create_directories(dir, ec);
    if (ec) return Internal("cannot create archive directory " + dir + ": " + ec.message());
    fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  }
  if (!fs::is_directory(dir, ec)) {
    return InvalidArgument("archive directory " + dir + " is not a directory");
  }
  return std::unique_ptr<ArchiveDir>(new ArchiveDir(dir));
}

ArchiveDir::~ArchiveDir() { Unlock(); }

Status ArchiveDir::Lock() {
  if (lock_fd_ >= 0) return Status::Ok();
  const std::string path = dir_ + "/" + kLockFile;
  lock_fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (lock_fd_ < 0) return Errno("cannot open " + path);
  while (::flock(lock_fd_, LOCK_EX) != 0) {
    if (errno == EINTR) continue;
    Status st = Errno("cannot lock " + path);
    ::close(lock_fd_);
    lock_fd_ = -1;
    return st;
  }
  return Status::Ok();
}

void ArchiveDir::Unlock() {
  CloseAll();
  if (lock_fd_ < 0) return;
  ::close(lock_fd_);  // releases the flock
  lock_fd_ = -1;
}

void ArchiveDir::CloseAll() {
  for (auto& [name, day] : days_) {
    if (day.fd >= 0) ::close(day.fd);
  }
  days_.clear();
}

Result<ArchiveDir::DayFile*> ArchiveDir::OpenDay(const std::string& name) {
  auto it = days_.find(name);
  if (it != days_.end()) return &it->second;
  const std::string path = dir_ + "/" + name;
  Result<std::string> text = ReadAll(path);
  if (!text.ok()) return text.status();
  DayFile day;
  const std::vector<std::string> lines = CompleteLines(*text);
  for (size_t i = 0; i < lines.size(); ++i) {
    Result<pb::FollowUpTaskRecord> r = FromArchiveLine(lines[i]);
    if (!r.ok()) return BadLine(path, i, r.status());
    day.task_ids.insert(r->task().id());
  }
  day.fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (day.fd < 0) return Errno("cannot open " + path);
  size_t complete = 0;
  for (const std::string& l : lines) complete += l.size() + 1;
  if (complete != text->size() && ::ftruncate(day.fd, static_cast<off_t>(complete)) != 0) {
    Status st = Errno("cannot cut the unfinished last line of " + path);
    ::close(day.fd);
    return st;
  }
  return &days_.emplace(name, std::move(day)).first->second;
}

Result<bool> ArchiveDir::Add(const pb::FollowUpTaskRecord& record) {
  const std::string name = FileOf(record.task().ended_at_ms());
  Result<DayFile*> day = OpenDay(name);
  if (!day.ok()) return day.status();
  if (!(*day)->task_ids.insert(record.task().id()).second) return false;
  SB_RETURN_IF_ERROR(WriteAll((*day)->fd, ToArchiveLine(record) + "\n", dir_ + "/" + name));
  (*day)->dirty = true;
  return true;
}

Status ArchiveDir::Commit(const std::map<int32_t, int64_t>& positions) {
  for (auto& [name, day] : days_) {
    if (!day.dirty) continue;
    if (::fsync(day.fd) != 0) return Errno("cannot sync " + dir_ + "/" + name);
    day.dirty = false;
  }
  SB_RETURN_IF_ERROR(SyncDir(dir_));  // new files' names
  std::string text;
  for (const auto& [partition, offset] : positions) {
    text += std::to_string(partition) + " " + std::to_string(offset) + "\n";
  }
  return ReplaceFile(dir_, dir_ + "/" + kPositionsFile, text);
}

Result<std::map<int32_t, int64_t>> ArchiveDir::Positions() const {
  const std::string path = dir_ + "/" + kPositionsFile;
  Result<std::string> text = ReadAll(path);
  if (!text.ok()) return text.status();
  std::map<int32_t, int64_t> positions;
  std::istringstream in(*text);
  int32_t partition = 0;
  int64_t offset = 0;
  while (in >> partition >> offset) positions[partition] = offset;
  if (!in.eof()) return FailedPrecondition(path + ": not \"partition offset\" lines");
  return positions;
}

Result<std::vector<ArchiveDir::Erased>> ArchiveDir::EraseCustomer(const std::string& customer_id) {
  CloseAll();  // the files are rewritten: appends must reopen them
  std::vector<std::string> names;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(dir_, ec)) {
    const std::string name = e.path().filename().string();
    if (name.starts_with(kFilePrefix) && name.ends_with(kFileSuffix)) names.push_back(name);
  }
  if (ec) return Internal("cannot list " + dir_ + ": " + ec.message());
  std::sort(names.begin(), names.end());
  struct Rewrite {
    std::string path, kept;
    int removed = 0;
  };
  std::vector<Rewrite> rewrites;
  for (const std::string& name : names) {
    Rewrite w{dir_ + "/" + name, "", 0};
    Result<std::string> text = ReadAll(w.path);
    if (!text.ok()) return text.status();
    const std::vector<std::string> lines = CompleteLines(*text);
    for (size_t i = 0; i < lines.size(); ++i) {
      Result<pb::FollowUpTaskRecord> r = FromArchiveLine(lines[i]);
      if (!r.ok()) return BadLine(w.path, i, r.status());
      if (r->task().request().customer_id() == customer_id) {
        ++w.removed;
      } else {
        w.kept += lines[i] + "\n";
      }
    }
    if (w.removed > 0) rewrites.push_back(std::move(w));
  }
  std::vector<Erased> erased;
  for (const Rewrite& w : rewrites) {
    SB_RETURN_IF_ERROR(ReplaceFile(dir_, w.path, w.kept));
    erased.push_back({w.path, w.removed});
  }
  return erased;
}

}  // namespace sb::privacy
