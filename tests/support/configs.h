// Routing configs for tests: the files shipped in deploy/config, found by name (for the tests
// that prove the shipped files load), and a routing config parsed from a test's own YAML.
#pragma once

#include <filesystem>
#include <string_view>

#include "switchboard/v1/config.pb.h"

namespace sb::testing {

// The example routing config shipped in deploy/config (two domains, overflow across them).
inline constexpr std::string_view kRoutingExample = "routing.example.yaml";

// deploy/config/<file_name> in this source tree. Found through SB_SOURCE_DIR, which CMake sets
// to the absolute source directory, not through __FILE__: with ccache's CCACHE_BASEDIR, files are
// compiled under relative paths and __FILE__ no longer leads back to the tree.
std::filesystem::path ShippedConfigPath(std::string_view file_name);

// The routing config `yaml` describes (config::ParseRoutingConfig: no defaults, no validation).
// A parse error fails the current test, naming the error, and returns an empty config.
::switchboard::v1::RoutingConfig RoutingConfigOf(std::string_view yaml);

}  // namespace sb::testing
