// The follow-up scheduler's configuration: switchboard.v1.FollowUpConfig (YAML/JSON) with defaults
// filled and every field checked, resolved into the values the scheduler uses. Errors name the
// field, e.g. "complaint_deadlines[1].hours: must be 1..48 (the complaint cap), got 72".
// Stateless and thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "common/status.h"
#include "router/followup/call_windows.h"
#include "switchboard/v1/followup.pb.h"

namespace sb::followup {

namespace pb = ::switchboard::v1;

// Fills defaults for fields left at zero: windows 07:30–12:30 and 14:00–21:00, zone
// Asia/Shanghai, complaint 2 h simple / 24 h complex / 48 h cap, written report 24 h, knowledge
// gap 24 h, repair 72 h urban / 48 h rural, return visit 24 h after, expiry 72 h, outcome timeout
// 1 h, retry 3 attempts from 15 min doubling to 2 h, queues callbacks / complaints /
// return-visits / team-lead / management, 50 fires/s, escalations URGENT.
void ApplyDefaults(pb::FollowUpConfig* config);

// Checks a config with defaults applied; the first problem found, naming its field.
Status Validate(const pb::FollowUpConfig& config);

// Parses YAML or JSON, fills defaults, validates.
Result<pb::FollowUpConfig> ParseConfig(std::string_view text);
Result<pb::FollowUpConfig> LoadConfigFile(const std::string& path);

// A validated config resolved for use: windows and zone loaded.
struct Settings {
  pb::FollowUpConfig config;
  CallWindows windows = CallWindows::Default();
  absl::TimeZone default_zone;

  // REQUIRES: Validate(config) passed.
  static Result<Settings> Resolve(const pb::FollowUpConfig& config);
  // Hours allowed for a complaint reply: the first matching table row, else simple/complex or
  // written-report defaults; never beyond the cap.
  uint32_t ComplaintHours(const pb::FollowUpRequest& request) const;
  // Backoff before attempt `next_attempt` (2..): initial × multiplier^(next_attempt-2), capped.
  int64_t BackoffMs(uint32_t next_attempt) const;
  // The queue of a task of `kind` whose request names none (escalation queue for watches).
  const std::string& DefaultQueue(pb::FollowUpKind kind) const;
  // Every queue the config names (callbacks, complaints, return visits, escalation, management).
  std::vector<std::string> Queues() const;
};

}  // namespace sb::followup
