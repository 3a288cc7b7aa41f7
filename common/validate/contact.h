// The one rule for a contact and for an agent's login (proto Contact, Agent), whoever sends them:
// the gateway's ContactService.Submit and AgentService.Session (API callers), the routing engine
// (every ContactArrived and AgentLogin it applies, including records on sb.contacts and
// sb.agent-events that no gateway wrote), and the channel adapters. What the API accepts the
// engine accepts (tests/unit/validate feeds one corpus through both).
#pragma once

#include <cstddef>
#include <functional>
#include <string_view>

#include "common/status.h"
#include "switchboard/v1/agent.pb.h"
#include "switchboard/v1/contact.pb.h"

namespace sb::validate {

namespace pb = ::switchboard::v1;

inline constexpr size_t kMaxContactIdBytes = 256;  // a follow-up's "<task>#escalation" included
inline constexpr size_t kMaxListItems = 64;        // required skills, agent skills
inline constexpr size_t kMaxAttributes = 32;
inline constexpr size_t kMaxAttributeValueBytes = 4096;
inline constexpr uint32_t kMaxCapacityUnits = 10000;

// The names the routing config in force knows.
struct KnownNames {
  std::function<bool(std::string_view)> queue, skill, domain;
};

// Who a contact comes from: an API caller may not set the router's own attributes
// (kReservedAttributePrefix, common/text.h); a record on a topic may (the shards' forwards).
enum class Source { kCaller, kCluster };

// kInvalidArgument "field <prefix><name>: <problem>" for the first field of `c` that breaks a
// rule. contact.id is not checked here: the API derives it (must be empty), a record carries it
// (CheckContactId).
Status CheckContact(const pb::Contact& c, const KnownNames& known, Source source,
                    std::string_view prefix = "contact.");
// A contact id of a record: 1..256 bytes, no control characters.
Status CheckContactId(std::string_view id, std::string_view field = "contact.id");
// An agent at login: id, a known domain, known skills with proficiency 1..5, capacity.
Status CheckAgent(const pb::Agent& a, const KnownNames& known, std::string_view prefix = "agent.");

}  // namespace sb::validate
