// When a follow-up may call a customer: the allowed windows of the local day (defaults 07:30–12:30
// and 14:00–21:00, i.e. no calls before 07:30, between 12:30 and 14:00, or after 21:00), applied in
// the customer's own time zone. A task due inside quiet hours fires at the next allowed moment.
//
// Pure and immutable after Create: thread-safe. Times are Unix milliseconds; local days come from
// the IANA time-zone database (absl::TimeZone over /usr/share/zoneinfo), so DST days are handled.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/status.h"
#include "common/zone.h"

namespace sb::followup {

// [start_min, end_min) minutes after local midnight.
struct Window {
  int start_min = 0;
  int end_min = 0;
};

class CallWindows {
 public:
  // REQUIRES nothing; fails with kInvalidArgument naming the window when one is empty, outside
  // 00:00–24:00, or not after the previous one (windows are sorted and do not touch).
  static Result<CallWindows> Create(std::vector<Window> allowed);
  // 07:30–12:30 and 14:00–21:00.
  static CallWindows Default();

  bool Allowed(int64_t at_ms, const absl::TimeZone& zone) const;
  // The first moment at or after `at_ms` when a call is allowed. A window opening inside a DST gap
  // (a local time that does not exist that day) opens at the transition.
  int64_t NextAllowed(int64_t at_ms, const absl::TimeZone& zone) const;

  const std::vector<Window>& windows() const { return windows_; }

 private:
  explicit CallWindows(std::vector<Window> w) : windows_(std::move(w)) {}
  std::vector<Window> windows_;
};

using sb::LoadZone;  // common/zone.h

}  // namespace sb::followup
