#include "common/zone.h"

#include "common/text.h"

namespace sb {

Result<absl::TimeZone> LoadZone(const std::string& name) {
  const bool plain = !name.empty() && name.size() <= 64 && name.find("..") == std::string::npos &&
                     name.find_first_not_of(
                         "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                         "0123456789_/+-") == std::string::npos;
  absl::TimeZone zone;
  if (!plain || !absl::LoadTimeZone(name, &zone)) {
    return InvalidArgument("time_zone: unknown time zone " + Quote(name) +
                           " (an IANA name such as Asia/Shanghai)");
  }
  return zone;
}

}  // namespace sb
