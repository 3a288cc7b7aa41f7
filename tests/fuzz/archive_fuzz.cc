// Fuzz target: the archive directory of `switchboard privacy` (tools/privacy/archive.h) as an
// operator's disk may hold it: files edited, cut or corrupted. The input is up to two records
// separated by 0x1e: the content of one day's file, then the content of `positions`.
// Each input gets a fresh directory; the archive then reads the positions, adds a task to that day
// and erases a customer. Errors are fine when they name the problem in one printable line; crashes
// are not, nor an erasure that reports success and leaves a line of the customer, or a day file
// left with a line that is not a record after a successful erasure or add.
#include <google/protobuf/stubs/logging.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/fuzz/fuzz_checks.h"
#include "tools/privacy/archive.h"

namespace {

constexpr char kTarget[] = "archive_fuzz";
constexpr int64_t kDayMs = 1772409600000;  // 2026-03-02T00:00:00Z
namespace pb = ::switchboard::v1;
namespace fs = std::filesystem;
using sb::privacy::ArchiveDir;

pb::FollowUpTaskRecord Ended(const std::string& id, const std::string& customer) {
  pb::FollowUpTaskRecord r;
  r.mutable_task()->set_id(id);
  r.mutable_task()->set_state(pb::FOLLOW_UP_STATE_DONE);
  r.mutable_task()->set_ended_at_ms(kDayMs + 1);
  r.mutable_task()->mutable_request()->set_customer_id(customer);
  return r;
}

std::string Read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Every complete line of the day's file is a record and none is `customer`'s.
void CheckDay(const fs::path& file, const std::string& customer, const char* after) {
  std::istringstream in(Read(file));
  for (std::string line; std::getline(in, line);) {
    sb::Result<pb::FollowUpTaskRecord> r = sb::privacy::FromArchiveLine(line);
    if (!r.ok()) sb::fuzz::Die(kTarget, after, "a line that is not a record was kept: " + line);
    if (!customer.empty() && r->task().request().customer_id() == customer) {
      sb::fuzz::Die(kTarget, after, "a line of the erased customer was kept: " + line);
    }
  }
}

struct Dir {
  Dir() {
    char tmpl[] = "/tmp/sb-archive-fuzz.XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~Dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string path;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = [] {
    google::protobuf::SetLogHandler(nullptr);  // JSON parse errors are expected here
    return true;
  }();
  (void)quiet;
  if (size > sb::fuzz::kMaxInputBytes) return 0;
  const auto records =
      sb::fuzz::Records(std::string_view(reinterpret_cast<const char*>(data), size));
  const Dir dir;
  const fs::path day = fs::path(dir.path) / ArchiveDir::FileOf(kDayMs);
  if (!records.empty()) std::ofstream(day, std::ios::binary) << records[0];
  if (records.size() > 1) std::ofstream(fs::path(dir.path) / "positions") << records[1];
  auto archive = ArchiveDir::Open(dir.path);
  if (!archive.ok()) sb::fuzz::Die(kTarget, "an existing directory was refused", "");
  if (!(*archive)->Lock().ok()) sb::fuzz::Die(kTarget, "lock failed", "");
  if (auto p = (*archive)->Positions(); !p.ok()) {
    sb::fuzz::CheckErrorMessage(kTarget, p.status().message());
  }
  sb::Result<bool> added = (*archive)->Add(Ended("fuzz-task", "cust-fuzz"));
  if (!added.ok()) {
    sb::fuzz::CheckErrorMessage(kTarget, added.status().message());
  } else if ((*archive)->Commit({{0, 1}}).ok()) {
    CheckDay(day, "", "after an add");
  }
  sb::Result<std::vector<ArchiveDir::Erased>> erased = (*archive)->EraseCustomer("cust-1");
  if (!erased.ok()) {
    sb::fuzz::CheckErrorMessage(kTarget, erased.status().message());
    return 0;
  }
  CheckDay(day, "cust-1", "after an erasure");
  return 0;
}
