// The built-in routing config of `switchboard dev`, so the demo runs from any directory.
#pragma once

#include <string>

namespace sb::dev {

// Routing domains of the built-in config: enough that the demo's traffic lands on several shards
// of every router, few enough that each domain has a handful of agents at the default --agents.
inline constexpr int kDemoDomains = 8;

// YAML of a RoutingConfig with kDemoDomains domains d00, d01, ..., each with a general queue
// (longest idle, skill general >= 1) and a billing queue (best skill, billing >= 3): the shape of
// deploy/config/cluster.yaml. The routers read it from a file, the dev process parses the same
// text.
std::string DemoConfigYaml();

}  // namespace sb::dev
