#include "tools/staffing/profile.h"

#include <charconv>
#include <cmath>

#include "common/config/config.h"
#include "common/config/text.h"

namespace sb::staffing {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

bool ParseDouble(std::string_view s, double* out) {
  s = Trim(s);
  if (s.empty()) return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size() && std::isfinite(*out);
}

bool ParseTime(std::string_view s, int* minutes) {
  s = Trim(s);
  auto digit = [&](size_t i) { return s[i] >= '0' && s[i] <= '9'; };
  if (s.size() != 5 || s[2] != ':' || !digit(0) || !digit(1) || !digit(3) || !digit(4))
    return false;
  const int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
  if (h > 23 || m > 59) return false;
  *minutes = h * 60 + m;
  return true;
}

}  // namespace

Result<std::vector<Interval>> ParseProfile(std::string_view text) {
  if (text.size() > kMaxProfileBytes) {
    return InvalidArgument("profile: larger than " + std::to_string(kMaxProfileBytes >> 20) +
                           " MiB");
  }
  std::vector<Interval> out;
  size_t line_no = 0;
  bool header_seen = false;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    if (line_no > kMaxProfileLines) {
      return InvalidArgument("profile: more than " + std::to_string(kMaxProfileLines) + " lines");
    }
    const std::string where = "profile line " + std::to_string(line_no) + ": ";
    if (const size_t hash = line.find('#'); hash != std::string_view::npos)
      line = line.substr(0, hash);
    line = Trim(line);
    if (line.empty()) continue;
    std::vector<std::string_view> fields;
    for (size_t start = 0;;) {
      const size_t comma = line.find(',', start);
      fields.push_back(line.substr(start, comma == std::string_view::npos ? comma : comma - start));
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    if (out.empty() && !header_seen && Trim(fields[0]) == "time") {
      header_seen = true;
      continue;
    }
    if (fields.size() < 2 || fields.size() > 3) {
      return InvalidArgument(where + "expected HH:MM,arrivals_per_hour[,aht_s] (got " +
                             config::Quote(line) + ")");
    }
    Interval iv;
    if (!ParseTime(fields[0], &iv.start_min)) {
      return InvalidArgument(where + "time " + config::Quote(Trim(fields[0])) +
                             " is not a valid HH:MM");
    }
    if (!ParseDouble(fields[1], &iv.arrivals_per_hour) || iv.arrivals_per_hour < 0) {
      return InvalidArgument(where + "arrivals_per_hour " + config::Quote(Trim(fields[1])) +
                             " is not a number >= 0");
    }
    if (fields.size() == 3 && (!ParseDouble(fields[2], &iv.aht_s) || iv.aht_s <= 0)) {
      return InvalidArgument(where + "aht_s " + config::Quote(Trim(fields[2])) +
                             " is not a number > 0");
    }
    if (!out.empty()) {
      if (iv.start_min <= out.back().start_min) {
        return InvalidArgument(where + "time " + config::Quote(Trim(fields[0])) +
                               " is not after the previous line's");
      }
      out.back().length_min = iv.start_min - out.back().start_min;
      iv.length_min = out.back().length_min;
    }
    out.push_back(iv);
  }
  if (out.empty()) return InvalidArgument("profile: no intervals");
  if (out.back().start_min + out.back().length_min > 1440) {
    out.back().length_min = 1440 - out.back().start_min;
  }
  return out;
}

Result<std::vector<Interval>> LoadProfileFile(const std::string& path) {
  std::string text;
  SB_RETURN_IF_ERROR(config::ReadConfigFile(path, &text));
  Result<std::vector<Interval>> p = ParseProfile(text);
  if (!p.ok()) return Status(p.status().code(), path + ": " + p.status().message());
  return p;
}

}  // namespace sb::staffing
