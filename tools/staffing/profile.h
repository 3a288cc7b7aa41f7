// Intraday profiles for staffing: one line per interval, "HH:MM,arrivals_per_hour[,aht_s]",
// times strictly increasing (intervals are as long as the gap to the next line; the last one as
// long as the one before it, or 15 minutes). '#' starts a comment; blank lines and one header
// line ("time,...") are allowed. Outside input: every error names the line.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace sb::staffing {

struct Interval {
  int start_min = 0;  // minutes after midnight
  int length_min = 15;
  double arrivals_per_hour = 0;
  double aht_s = 0;  // 0 = the run's --aht-s
};

inline constexpr size_t kMaxProfileBytes = 4 << 20;
inline constexpr size_t kMaxProfileLines = 10000;

Result<std::vector<Interval>> ParseProfile(std::string_view text);
// Reads at most kMaxProfileBytes; errors name the path.
Result<std::vector<Interval>> LoadProfileFile(const std::string& path);

}  // namespace sb::staffing
