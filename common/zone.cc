#include "common/zone.h"

#include <cctype>
#include <cstdlib>
#include <filesystem>

#include "common/text.h"

namespace sb {
namespace {

// Components of letters, digits and _+- starting with a letter, joined by single slashes: never
// an absolute path ("/dev/stdin"), a parent ("..") or an empty component.
bool PlainZoneName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  bool component_start = true;
  for (char ch : name) {
    const auto c = static_cast<unsigned char>(ch);
    if (component_start) {
      if (!std::isalpha(c)) return false;
      component_start = false;
    } else if (c == '/') {
      component_start = true;
    } else if (!std::isalnum(c) && c != '_' && c != '+' && c != '-') {
      return false;
    }
  }
  return !component_start;  // no trailing slash
}

// A regular file of the system's zone database (abseil's TZDIR, else /usr/share/zoneinfo): a
// FIFO or device is never opened, and an unknown name never reaches abseil, which caches every
// name it was asked for (failures too).
bool InZoneDatabase(const std::string& name) {
  if (name == "UTC") return true;  // abseil's own, with or without tzdata
  const char* dir = std::getenv("TZDIR");
  std::error_code ec;
  return std::filesystem::is_regular_file(
      std::filesystem::path(dir != nullptr && *dir != '\0' ? dir : "/usr/share/zoneinfo") / name,
      ec);
}

}  // namespace

Result<absl::TimeZone> LoadZone(const std::string& name) {
  const bool plain = PlainZoneName(name) && InZoneDatabase(name);
  absl::TimeZone zone;
  if (!plain || !absl::LoadTimeZone(name, &zone)) {
    return InvalidArgument("time_zone: unknown time zone " + Quote(name) +
                           " (an IANA name such as Asia/Shanghai)");
  }
  return zone;
}

}  // namespace sb
