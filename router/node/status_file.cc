#include "router/node/status_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/clock.h"
#include "common/log/log.h"

namespace sb::node {

StatusFile::StatusFile(std::string path, const std::string& node_id) : path_(std::move(path)) {
  if (path_.empty()) return;
  absl::MutexLock lock(&mu_);
  doc_ = {{"node_id", node_id}, {"pid", static_cast<int64_t>(getpid())}, {"state", "starting"}};
  WriteLocked();
}

void StatusFile::Set(std::string_view field, const std::string& value) {
  if (path_.empty()) return;
  absl::MutexLock lock(&mu_);
  doc_[std::string(field)] = value;
  WriteLocked();
}

void StatusFile::SetState(std::string_view state) {
  if (path_.empty()) return;
  absl::MutexLock lock(&mu_);
  doc_["state"] = std::string(state);
  WriteLocked();
}

void StatusFile::SetShards(const std::vector<int32_t>& shards, bool drained) {
  if (path_.empty()) return;
  absl::MutexLock lock(&mu_);
  doc_["shards"] = shards;
  doc_["state"] = drained ? "drained" : "routing";
  WriteLocked();
}

void StatusFile::Failed(const std::string& error) {
  if (path_.empty()) return;
  absl::MutexLock lock(&mu_);
  doc_["state"] = "failed";
  doc_["error"] = error;
  WriteLocked();
}

void StatusFile::WriteLocked() {
  doc_["updated_at_ms"] = SystemClock().NowMs();
  // Replaced, never rewritten in place: a reader sees the old object or the new one.
  const std::string tmp = path_ + ".tmp";
  const std::string text = doc_.dump() + "\n";
  std::string error;
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr) {
    error = tmp + ": " + std::strerror(errno);
  } else {
    const bool written = std::fwrite(text.data(), 1, text.size(), f) == text.size();
    const bool closed = std::fclose(f) == 0;
    if (!written || !closed) {
      error = tmp + ": write failed";
    } else if (std::rename(tmp.c_str(), path_.c_str()) != 0) {
      error = path_ + ": " + std::strerror(errno);
    }
  }
  if (!error.empty() && error != last_error_) {
    SB_LOG_WARN("router", "router: --status-file not written: %s\n", error.c_str());
  }
  last_error_ = error;
}

}  // namespace sb::node
