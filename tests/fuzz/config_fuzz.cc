// Fuzz target: arbitrary bytes as a routing config. Must never crash; errors are fine.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  auto result =
      sb::config::ParseRoutingConfig(std::string_view(reinterpret_cast<const char*>(data), size));
  (void)result.ok();
  return 0;
}
