// A one-domain routing world for the integration tests that run router shards or nodes (shard,
// gateway, loadgen, admin): its config and the input events a channel adapter or a desktop sends.
// Every agent here has the skill "general" at proficiency 3.
#pragma once

#include <string>

#include "switchboard/v1/agent.pb.h"
#include "switchboard/v1/events.pb.h"

namespace sb::testing {

// Domain d00 with one queue, d00.general, that any agent with the general skill serves.
inline constexpr char kOneDomainConfig[] = R"(
skills: [{name: general}]
domains: [{name: d00}]
queues:
  - {name: d00.general, domain: d00, strategy: LONGEST_IDLE,
     required_skills: [{skill: general, min_proficiency: 1}], offer_timeout_s: 600}
)";

// Domains d00 and d01, each with one queue (d00.general, d01.general) any general agent serves.
// With 2 partitions: d00 -> partition 1, d01 -> partition 0.
inline constexpr char kTwoDomainConfig[] = R"(
skills: [{name: general}]
domains: [{name: d00}, {name: d01}]
queues:
  - {name: d00.general, domain: d00, strategy: LONGEST_IDLE,
     required_skills: [{skill: general, min_proficiency: 1}], offer_timeout_s: 600}
  - {name: d01.general, domain: d01, strategy: LONGEST_IDLE,
     required_skills: [{skill: general, min_proficiency: 1}], offer_timeout_s: 600}
)";

// Agent `id` of `domain` with the general skill (proficiency 3).
::switchboard::v1::Agent GeneralAgent(const std::string& id, const std::string& domain = "d00");

// Agent `agent` of d00 logs in, ready.
::switchboard::v1::RoutingEvent Login(const std::string& agent);

// Voice contact `contact` arrives in d00.general.
::switchboard::v1::RoutingEvent Arrive(const std::string& contact);

}  // namespace sb::testing
