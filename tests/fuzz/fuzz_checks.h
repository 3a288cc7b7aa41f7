// Checks shared by the fuzz targets: how a finding is reported, and what every error message of a
// parser of outside input must be (one bounded, printable line: it goes to terminals and logs).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

namespace sb::fuzz {

inline constexpr size_t kMaxInputBytes = 64 * 1024;
inline constexpr size_t kMaxMessageBytes = 1024;

[[noreturn]] inline void Die(const char* target, const char* what, const std::string& detail) {
  std::fprintf(stderr, "%s: %s\n%s\n", target, what, detail.c_str());
  std::abort();
}

inline void CheckErrorMessage(const char* target, const std::string& m) {
  if (m.empty() || m.size() > kMaxMessageBytes) Die(target, "error message empty or huge", m);
  for (unsigned char ch : m) {
    if (ch < 0x20 || ch == 0x7f) Die(target, "control character in error message", m);
  }
}

}  // namespace sb::fuzz
