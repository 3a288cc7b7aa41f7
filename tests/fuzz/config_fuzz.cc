// Fuzz target: arbitrary bytes as a routing config. Errors are fine; crashes, hangs and configs
// that are accepted yet invalid are not. An accepted config must also survive a round trip through
// its own JSON form unchanged, which checks that what we accept is what we mean.
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/config/config.h"

namespace {

constexpr size_t kMaxInputBytes = 64 * 1024;
constexpr size_t kMaxMessageBytes = 1024;

[[noreturn]] void Die(const char* what, const std::string& detail) {
  std::fprintf(stderr, "config_fuzz: %s\n%s\n", what, detail.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > kMaxInputBytes) return 0;
  auto parsed =
      sb::config::ParseRoutingConfig(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!parsed.ok()) {
    // Errors are printed to terminals and logs: one bounded line, no control characters.
    const std::string& m = parsed.status().message();
    if (m.empty() || m.size() > kMaxMessageBytes) Die("error message empty or huge", m);
    for (unsigned char ch : m) {
      if (ch < 0x20 || ch == 0x7f) Die("control character in error message", m);
    }
    return 0;
  }
  if (sb::Status st = sb::config::Validate(*parsed); !st.ok()) {
    Die("accepted an invalid config", st.ToString());
  }
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  if (!google::protobuf::util::MessageToJsonString(*parsed, &json, options).ok()) {
    Die("cannot print an accepted config", parsed->DebugString());
  }
  auto again = sb::config::ParseRoutingConfig(json);
  if (!again.ok()) Die("own JSON rejected", again.status().ToString() + "\n" + json);
  if (!google::protobuf::util::MessageDifferencer::Equals(*parsed, *again)) {
    Die("JSON round trip changed the config", json);
  }
  return 0;
}
