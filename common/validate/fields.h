// Private to common/validate: field errors of one message, "field <prefix><name>: <problem>".
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"
#include "common/validate/followup_request.h"

namespace sb::validate {

// Field errors of one request, with the field path's prefix.
class Fields {
 public:
  explicit Fields(std::string_view prefix) : prefix_(prefix) {}

  Status Bad(std::string_view field, const std::string& problem) const {
    return InvalidArgument("field " + prefix_ + std::string(field) + ": " + problem);
  }
  // One line of at most `max` bytes without control characters.
  Status Line(std::string_view field, const std::string& value, size_t max, bool required) const {
    if (value.empty()) return required ? Bad(field, "required") : Status::Ok();
    if (value.size() > max) {
      return Bad(field,
                 "at most " + std::to_string(max) + " bytes, got " + std::to_string(value.size()));
    }
    if (std::any_of(value.begin(), value.end(),
                    [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
      return Bad(field, "control characters are not allowed");
    }
    return Status::Ok();
  }
  // Free text: newlines and tabs allowed.
  Status Text(std::string_view field, const std::string& value, size_t max) const {
    if (value.size() > max) {
      return Bad(field,
                 "at most " + std::to_string(max) + " bytes, got " + std::to_string(value.size()));
    }
    for (unsigned char c : value) {
      if ((c < 0x20 && c != '\n' && c != '\t' && c != '\r') || c == 0x7f) {
        return Bad(field, "control characters are not allowed");
      }
    }
    return Status::Ok();
  }
  Status Time(std::string_view field, int64_t ms) const {
    if (ms == 0 || (ms >= kMinTimeMs && ms < kMaxTimeMs)) return Status::Ok();
    return Bad(field,
               "not a time between 2000 and 2100 (ms since the epoch): " + std::to_string(ms));
  }

 private:
  const std::string prefix_;
};

}  // namespace sb::validate
