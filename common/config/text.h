// Text helpers for config-like loaders (routing config, follow-up config, sim scenarios): field
// paths, quoting of input values in errors, number formatting.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "common/text.h"

namespace sb::config {

// "queues" + 2 → "queues[2]": the field-path form every error uses.
std::string Field(const std::string& list, int index);
// An input value quoted for an error message (common/text.h).
using ::sb::Quote;
// A message made safe for terminals and logs: control characters escaped, length capped.
std::string Printable(std::string_view message);
// Names of skills, domains and queues: letters, digits and _ . : -
bool ValidNameChars(const std::string& name);
std::string FormatNumber(double v);
// "HH:MM" → minutes after local midnight, 00:00..23:59; with `allow_end_of_day`, "24:00" (1440)
// too, for the end of a window that runs to midnight.
Result<int> ParseTimeOfDay(std::string_view text, bool allow_end_of_day = false);

}  // namespace sb::config
