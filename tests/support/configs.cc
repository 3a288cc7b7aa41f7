#include "support/configs.h"

#include <gtest/gtest.h>

#include "common/config/config.h"

#ifndef SB_SOURCE_DIR
#error "SB_SOURCE_DIR (the source tree, absolute) is set by tests/support/CMakeLists.txt"
#endif

namespace sb::testing {

std::filesystem::path ShippedConfigPath(std::string_view file_name) {
  return std::filesystem::path(SB_SOURCE_DIR) / "deploy" / "config" / file_name;
}

::switchboard::v1::RoutingConfig RoutingConfigOf(std::string_view yaml) {
  auto config = config::ParseRoutingConfig(yaml);
  EXPECT_TRUE(config.ok()) << config.status().ToString();
  return config.ok() ? *config : ::switchboard::v1::RoutingConfig();
}

}  // namespace sb::testing
