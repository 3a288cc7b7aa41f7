#include "common/zone.h"

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string_view>

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

// The names of the system's zone database (abseil's TZDIR, else /usr/share/zoneinfo): every
// regular file under it that starts with the TZif magic, read once. A FIFO or device is never
// opened, and an unknown name never reaches abseil, which caches every name it was asked for
// (failures too).
const std::set<std::string>& ZoneNames() {
  static const std::set<std::string>* names = [] {
    auto* out = new std::set<std::string>{"UTC"};  // abseil's own, with or without tzdata
    const char* env = std::getenv("TZDIR");
    const std::filesystem::path root(env != nullptr && *env != '\0' ? env : "/usr/share/zoneinfo");
    std::error_code ec;
    for (std::filesystem::recursive_directory_iterator it(root, ec), end; !ec && it != end;
         it.increment(ec)) {
      if (!it->is_regular_file(ec)) continue;  // a symlink to a file counts; to a FIFO, not
      const std::string name = it->path().lexically_relative(root).generic_string();
      if (!PlainZoneName(name)) continue;
      char magic[4] = {};
      std::ifstream in(it->path(), std::ios::binary);
      if (in.read(magic, sizeof(magic)) && std::string_view(magic, 4) == "TZif") out->insert(name);
    }
    return out;
  }();
  return *names;
}

}  // namespace

Result<absl::TimeZone> LoadZone(const std::string& name) {
  const bool plain = PlainZoneName(name) && ZoneNames().contains(name);
  absl::TimeZone zone;
  if (!plain || !absl::LoadTimeZone(name, &zone)) {
    return InvalidArgument("time_zone: unknown time zone " + Quote(name) +
                           " (an IANA name such as Asia/Shanghai)");
  }
  return zone;
}

}  // namespace sb
