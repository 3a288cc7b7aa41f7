// Checks shared by the fuzz targets: how a finding is reported, and what every error message of a
// parser of outside input must be (one bounded, printable line: it goes to terminals and logs).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace sb::fuzz {

inline constexpr size_t kMaxInputBytes = 64 * 1024;
inline constexpr size_t kMaxMessageBytes = 1024;

[[noreturn]] inline void Die(const char* target, const char* what, const std::string& detail) {
  std::fprintf(stderr, "%s: %s\n%s\n", target, what, detail.c_str());
  std::abort();
}

// The non-empty records of an input that holds several, separated by 0x1e.
inline std::vector<std::string_view> Records(std::string_view input) {
  std::vector<std::string_view> records;
  for (size_t start = 0; start < input.size();) {
    size_t end = input.find('\x1e', start);
    if (end == std::string_view::npos) end = input.size();
    if (end > start) records.push_back(input.substr(start, end - start));
    start = end + 1;
  }
  return records;
}

inline void CheckErrorMessage(const char* target, const std::string& m) {
  if (m.empty() || m.size() > kMaxMessageBytes) Die(target, "error message empty or huge", m);
  for (unsigned char ch : m) {
    if (ch < 0x20 || ch == 0x7f) Die(target, "control character in error message", m);
  }
}

}  // namespace sb::fuzz
