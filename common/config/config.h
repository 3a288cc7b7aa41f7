// Routing configuration loading and validation. A RoutingConfig that leaves this module is
// complete (defaults filled) and valid; every error names the field path and the reason, e.g.
//   queues[2].strategy: missing (one of LONGEST_IDLE, LEAST_OCCUPIED, BEST_SKILL, PREFERRED_AGENT)
// Stateless and thread-safe.
#pragma once

#include <google/protobuf/message.h>

#include <string>
#include <string_view>

#include "common/status.h"
#include "switchboard/v1/config.pb.h"

namespace sb::config {

using switchboard::v1::RoutingConfig;

// Parses YAML or JSON text (protobuf JSON mapping: field names as in config.proto, enum values by
// name with or without their prefix, e.g. "LONGEST_IDLE" or "STRATEGY_LONGEST_IDLE"), fills
// defaults, and validates. Fails with kInvalidArgument naming the field on any problem.
Result<RoutingConfig> ParseRoutingConfig(std::string_view text);

// Parses YAML or JSON text into any message by its schema, with the same rules and limits as
// ParseRoutingConfig (unknown fields rejected, errors name the field). No defaults, no validation:
// those belong to the message's owner. Used for follow-up config and simulator scenarios.
Status ParseMessage(std::string_view text, google::protobuf::Message* out);

// Reads a config-sized file (at most 4 MiB) into `text`; errors name the path.
Status ReadConfigFile(const std::string& path, std::string* text);

// Reads and parses a file; a missing or unreadable file fails naming the path.
Result<RoutingConfig> LoadRoutingConfigFile(const std::string& path);

// Fills defaults: capacity.agent_units 100; channel costs voice 100, callback 100, chat 33,
// email 20, task 25 for channels not listed; queue service_level_threshold_s 20 and
// service_level_target 0.8 when 0.
void ApplyDefaults(RoutingConfig* config);

// Checks a config with defaults applied. Returns the first error found.
Status Validate(const RoutingConfig& config);

}  // namespace sb::config
