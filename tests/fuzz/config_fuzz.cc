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
#include "tests/fuzz/fuzz_checks.h"

constexpr char kTarget[] = "config_fuzz";

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > sb::fuzz::kMaxInputBytes) return 0;
  auto parsed =
      sb::config::ParseRoutingConfig(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!parsed.ok()) {
    sb::fuzz::CheckErrorMessage(kTarget, parsed.status().message());
    return 0;
  }
  if (sb::Status st = sb::config::Validate(*parsed); !st.ok()) {
    sb::fuzz::Die(kTarget, "accepted an invalid config", st.ToString());
  }
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  if (!google::protobuf::util::MessageToJsonString(*parsed, &json, options).ok()) {
    sb::fuzz::Die(kTarget, "cannot print an accepted config", parsed->DebugString());
  }
  auto again = sb::config::ParseRoutingConfig(json);
  if (!again.ok())
    sb::fuzz::Die(kTarget, "own JSON rejected", again.status().ToString() + "\n" + json);
  if (!google::protobuf::util::MessageDifferencer::Equals(*parsed, *again)) {
    sb::fuzz::Die(kTarget, "JSON round trip changed the config", json);
  }
  return 0;
}
