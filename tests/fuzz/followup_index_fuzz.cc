// Fuzz target: sb.followups records as a gateway gets them from Kafka (any producer can write to
// the topic). The input is a sequence of records separated by 0x1e; each is one byte of epoch
// header (0 = none), then key, NUL, value (no NUL: a tombstone). They are applied to a
// FollowUpIndex in order (partition = offset % 3); then every state's listing, paged, must agree
// with Get() and with the index's size. Malformed records are fine; crashes, records miscounted,
// a task listed under a state it is not in, or a page that repeats or skips a task are not.
#include <google/protobuf/stubs/logging.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "router/gateway/followup_index.h"
#include "tests/fuzz/fuzz_checks.h"

constexpr char kTarget[] = "followup_index_fuzz";

namespace pb = ::switchboard::v1;

sb::gateway::FollowUpFilter ByState(pb::FollowUpState state) {
  sb::gateway::FollowUpFilter f;
  f.state = state;
  return f;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = (google::protobuf::SetLogHandler(nullptr), true);
  (void)quiet;
  if (size > sb::fuzz::kMaxInputBytes) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  sb::gateway::FollowUpIndex index;
  using Applied = sb::gateway::FollowUpIndex::Applied;
  uint64_t records = 0, older = 0, malformed = 0;
  int64_t offset = 0;
  for (std::string_view rec : sb::fuzz::Records(input)) {
    const uint8_t epoch = static_cast<uint8_t>(rec[0]);
    rec.remove_prefix(1);
    const size_t nul = rec.find('\0');
    std::optional<std::string> value;
    if (nul != std::string_view::npos) value = std::string(rec.substr(nul + 1));
    const std::string_view key = rec.substr(0, nul);
    ++records;
    const Applied a = index.Apply(key, value, epoch == 0 ? std::nullopt : std::optional(epoch),
                                  static_cast<int32_t>(offset % 3), offset);
    older += a == Applied::kOlder;
    malformed += a == Applied::kMalformed;
    if (a == Applied::kKept && !index.Get(std::string(key))) {
      sb::fuzz::Die(kTarget, "a kept record is not found", std::string(key));
    }
    ++offset;
  }
  if (index.older_ignored() != older || index.malformed() != malformed) {
    sb::fuzz::Die(kTarget, "records miscounted", std::to_string(records));
  }
  // Paged listing: task id order, no repeats or gaps, each as Get() says.
  auto list_all = [&](pb::FollowUpState state) {
    std::vector<pb::FollowUpTask> out;
    std::string token;
    for (int pages = 0; pages < 100000; ++pages) {
      sb::gateway::FollowUpPage page = index.List(ByState(state), 2, token);
      for (auto& t : page.tasks) {
        auto got = index.Get(t.id());
        if (!got || got->task.state() != t.state() || (!out.empty() && t.id() <= out.back().id())) {
          sb::fuzz::Die(kTarget, "listing disagrees with the index", t.id());
        }
        out.push_back(std::move(t));
      }
      token = page.next_page_token;
      if (token.empty()) break;
    }
    return out;
  };
  const auto all = list_all(pb::FOLLOW_UP_STATE_UNSPECIFIED);  // no filter: every task
  if (all.size() != index.size()) sb::fuzz::Die(kTarget, "listing misses tasks", "");
  for (int s = pb::FollowUpState_MIN + 1; s <= pb::FollowUpState_MAX; ++s) {
    size_t expected = 0;
    for (const auto& t : all) expected += t.state() == s;
    const auto listed = list_all(static_cast<pb::FollowUpState>(s));
    for (const auto& t : listed) {
      if (t.state() != s) sb::fuzz::Die(kTarget, "task listed under another state", t.id());
    }
    if (listed.size() != expected) sb::fuzz::Die(kTarget, "state listing miscounted", "");
  }
  return 0;
}
