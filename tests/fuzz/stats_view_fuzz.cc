// Fuzz target: sb.stats records as a reader gets them from Kafka (any producer can write to the
// topic). The input is a sequence of records separated by 0x1e; each is key, NUL, value (no NUL:
// a tombstone). They are applied to a StatsView in order, then every query and the wallboard
// snapshot run over it. Malformed records are fine; crashes, exceptions, unreadable error
// messages, records counted twice or not at all, or a stored day that is not a date are not.
#include <google/protobuf/stubs/logging.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "router/stats/kpi.h"
#include "router/stats/view.h"
#include "router/wallboard/snapshot.h"
#include "tests/fuzz/fuzz_checks.h"

constexpr char kTarget[] = "stats_view_fuzz";

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Invalid UTF-8 in a string field fails the parse, and protobuf logs it: quiet.
  static const bool quiet = (google::protobuf::SetLogHandler(nullptr), true);
  (void)quiet;
  if (size > sb::fuzz::kMaxInputBytes) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  sb::stats::StatsView view;
  uint64_t records = 0, kept = 0, older = 0, deleted = 0, malformed = 0;
  int64_t offset = 0;
  for (size_t start = 0; start <= input.size();) {
    size_t end = input.find('\x1e', start);
    if (end == std::string_view::npos) end = input.size();
    const std::string_view rec = input.substr(start, end - start);
    start = end + 1;
    const size_t nul = rec.find('\0');
    std::optional<std::string_view> value;
    if (nul != std::string_view::npos) value = rec.substr(nul + 1);
    const std::string_view key = rec.substr(0, nul);
    ++records;
    switch (view.Apply(key, value, {static_cast<int32_t>(offset % 3), offset})) {
      case sb::stats::Applied::kKept:
        ++kept;
        break;
      case sb::stats::Applied::kOlder:
        ++older;
        break;
      case sb::stats::Applied::kDeleted:
        ++deleted;
        break;
      case sb::stats::Applied::kMalformed:
        ++malformed;
        sb::fuzz::CheckErrorMessage(kTarget, view.last_error());
        break;
    }
    ++offset;
  }
  if (kept + older + deleted + malformed != records || view.applied() != kept ||
      view.older_ignored() != older || view.malformed_total() != malformed) {
    sb::fuzz::Die(kTarget, "records miscounted", std::to_string(records));
  }
  for (const auto& d : view.Days("0000-01-01", "9999-12-31")) {
    if (!sb::stats::IsDate(d.day())) sb::fuzz::Die(kTarget, "stored day is not a date", d.day());
    (void)sb::stats::ComputeKpis(d);
  }
  for (int64_t now : {int64_t{0}, int64_t{1} << 40, INT64_MAX / 2}) {
    (void)view.LiveQueues(now);
    try {
      (void)sb::wallboard::Snapshot(view, now).dump(-1, ' ', false,
                                                    nlohmann::json::error_handler_t::replace);
    } catch (const std::exception& e) {
      sb::fuzz::Die(kTarget, "wallboard snapshot threw", e.what());
    }
  }
  return 0;
}
