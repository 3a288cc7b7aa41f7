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
// text. Plus the queues of the follow-up scheduler: callbacks, complaints and return-visits in
// d00, team-lead and management in d01 (skill general >= 1).
std::string DemoConfigYaml();

// YAML of the demo's FollowUpConfig: callbacks at any hour (UTC) and retries after 20 s, 40 s,
// so a demo shows a callback's whole life in a minute or two.
std::string DemoFollowUpYaml();

}  // namespace sb::dev
