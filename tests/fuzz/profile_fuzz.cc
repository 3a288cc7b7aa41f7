// Fuzz target: arbitrary bytes as an intraday staffing profile. Errors are fine; crashes, hangs and
// accepted profiles that break the parser's promises (increasing times within one day, rates >= 0)
// are not.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "tools/staffing/profile.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  auto p = sb::staffing::ParseProfile(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!p.ok()) {
    for (unsigned char ch : p.status().message()) {
      if (ch < 0x20 || ch == 0x7f) std::abort();  // errors go to terminals: printable only
    }
    return 0;
  }
  int last = -1;
  for (const auto& iv : *p) {
    if (iv.start_min <= last || iv.start_min >= 1440 || iv.length_min <= 0 ||
        !(iv.arrivals_per_hour >= 0) || iv.aht_s < 0) {
      std::fprintf(stderr, "profile_fuzz: accepted a broken interval\n");
      std::abort();
    }
    last = iv.start_min;
  }
  return 0;
}
