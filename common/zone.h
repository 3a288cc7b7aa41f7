// Time zones by IANA name, one rule for every caller (the gateway's validation of a follow-up
// request, the follow-up scheduler's call windows and settings).
#pragma once

#include <string>

#include "absl/time/time.h"
#include "common/status.h"

namespace sb {

// Loads an IANA zone ("Asia/Shanghai"). kInvalidArgument naming the zone for a name not in the
// system's zone list (the TZif files under TZDIR or /usr/share/zoneinfo, listed once per process)
// or with other than zone-name characters.
Result<absl::TimeZone> LoadZone(const std::string& name);

}  // namespace sb
