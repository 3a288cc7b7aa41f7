// Fuzz target: arbitrary bytes as an intraday staffing profile. Errors are fine; crashes, hangs and
// accepted profiles that break the parser's promises (increasing times within one day, rates >= 0)
// are not.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tests/fuzz/fuzz_checks.h"
#include "tools/staffing/profile.h"

constexpr char kTarget[] = "profile_fuzz";

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > sb::fuzz::kMaxInputBytes) return 0;
  auto p = sb::staffing::ParseProfile(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!p.ok()) {
    sb::fuzz::CheckErrorMessage(kTarget, p.status().message());
    return 0;
  }
  int last = -1;
  for (const auto& iv : *p) {
    if (iv.start_min <= last || iv.start_min >= 1440 || iv.length_min <= 0 ||
        !(iv.arrivals_per_hour >= 0) || iv.aht_s < 0) {
      sb::fuzz::Die(kTarget, "accepted a broken interval", std::to_string(iv.start_min));
    }
    last = iv.start_min;
  }
  return 0;
}
