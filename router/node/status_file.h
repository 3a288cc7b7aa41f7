// `switchboard router --status-file PATH`: the router's state for local tools, tests and
// operators' scripts, instead of lines of its log. One JSON object, replaced atomically on every
// change (written beside PATH, then renamed), so a reader never sees half of one:
//
//   {"node_id": "r1", "pid": 4242, "state": "routing", "shards": [0, 2],
//    "metrics_url": "http://127.0.0.1:9464/metrics", "wallboard_url": "http://...",
//    "grpc_address": "127.0.0.1:50051", "admin_token_file": "/data/admin.token",
//    "error": "...", "updated_at_ms": 1765100000000}
//
// state: "starting" until the node has claimed what the group gave it, then "routing" (shards:
// the shards it routes now), "drained" (left the group on a drain request), "stopped" (clean
// exit) or "failed" ("error" says why). Fields not known yet are absent.
//
// Thread-safe. A failed write is logged (once per distinct error); the router goes on.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "nlohmann/json.hpp"

namespace sb::node {

class StatusFile {
 public:
  // An empty `path`: no file, every call does nothing.
  StatusFile(std::string path, const std::string& node_id);

  // A string field ("metrics_url", "wallboard_url", "grpc_address", "admin_token_file", ...).
  void Set(std::string_view field, const std::string& value) ABSL_LOCKS_EXCLUDED(mu_);
  void SetState(std::string_view state) ABSL_LOCKS_EXCLUDED(mu_);
  void SetShards(const std::vector<int32_t>& shards, bool drained) ABSL_LOCKS_EXCLUDED(mu_);
  // "failed" with `error`.
  void Failed(const std::string& error) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void WriteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string path_;
  absl::Mutex mu_;
  nlohmann::json doc_ ABSL_GUARDED_BY(mu_);
  std::string last_error_ ABSL_GUARDED_BY(mu_);  // of a write, logged once
};

}  // namespace sb::node
