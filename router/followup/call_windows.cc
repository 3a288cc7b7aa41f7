#include "router/followup/call_windows.h"

#include <algorithm>
#include <cstdio>

#include "absl/time/civil_time.h"
#include "common/config/text.h"

namespace sb::followup {
namespace {

constexpr int kDayMin = 24 * 60;

std::string Hhmm(int minutes) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%02d:%02d", (minutes / 60) % 100, minutes % 60);
  return buf;
}

int64_t ToMs(absl::Time t) { return absl::ToUnixMillis(t); }

// The absolute time of a local civil time; a time skipped by a DST change maps to the transition.
absl::Time AtLocal(const absl::CivilSecond& cs, const absl::TimeZone& zone) {
  const absl::TimeZone::TimeInfo info = zone.At(cs);
  return info.kind == absl::TimeZone::TimeInfo::SKIPPED ? info.trans : info.pre;
}

}  // namespace

Result<CallWindows> CallWindows::Create(std::vector<Window> allowed) {
  if (allowed.empty()) return InvalidArgument("call_windows: at least one window is required");
  for (size_t i = 0; i < allowed.size(); ++i) {
    const Window& w = allowed[i];
    const std::string f = "call_windows[" + std::to_string(i) + "]";
    if (w.start_min < 0 || w.end_min > kDayMin || w.start_min >= w.end_min) {
      return InvalidArgument(f + ": must be a non-empty range within one day (got " +
                             Hhmm(std::max(0, w.start_min)) + "–" + Hhmm(std::max(0, w.end_min)) +
                             ")");
    }
    if (i > 0 && w.start_min <= allowed[i - 1].end_min) {
      return InvalidArgument(f + ": must start after the previous window ends (" +
                             Hhmm(allowed[i - 1].end_min) + ")");
    }
  }
  return CallWindows(std::move(allowed));
}

CallWindows CallWindows::Default() {
  return CallWindows({{7 * 60 + 30, 12 * 60 + 30}, {14 * 60, 21 * 60}});
}

bool CallWindows::Allowed(int64_t at_ms, const absl::TimeZone& zone) const {
  return NextAllowed(at_ms, zone) == at_ms;
}

int64_t CallWindows::NextAllowed(int64_t at_ms, const absl::TimeZone& zone) const {
  const absl::Time at = absl::FromUnixMillis(at_ms);
  const absl::CivilSecond local = absl::ToCivilSecond(at, zone);
  const absl::CivilDay day(local);
  const int64_t minute_of_day = (local - absl::CivilSecond(day)) / 60;  // whole minutes
  for (const Window& w : windows_) {
    if (minute_of_day < w.end_min && minute_of_day >= w.start_min) return at_ms;
    if (minute_of_day < w.start_min) {
      const int64_t open = ToMs(AtLocal(absl::CivilSecond(day) + int64_t{w.start_min} * 60, zone));
      if (open >= at_ms) return open;
    }
  }
  // Past today's last window: tomorrow's first (two days ahead only if a DST oddity made
  // tomorrow's opening fall before `at`, which a real zone never does).
  for (int ahead = 1; ahead <= 2; ++ahead) {
    const int64_t open = ToMs(
        AtLocal(absl::CivilSecond(day + ahead) + int64_t{windows_.front().start_min} * 60, zone));
    if (open >= at_ms) return open;
  }
  return at_ms;
}

}  // namespace sb::followup
