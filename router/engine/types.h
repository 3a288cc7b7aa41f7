// Strong types and the decision record of the routing engine.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "common/named_type.h"
#include "switchboard/v1/decision.pb.h"

namespace sb::engine {

namespace pb = ::switchboard::v1;

using AgentIdx = NamedType<uint32_t, struct AgentIdxTag>;
using ContactIdx = NamedType<uint32_t, struct ContactIdxTag>;
using SkillId = uint16_t;
using QueueIdx = uint16_t;
using DomainIdx = uint16_t;
using SigIdx = uint32_t;

inline constexpr AgentIdx kNoAgent{std::numeric_limits<uint32_t>::max()};
inline constexpr int kNumChannels = 6;  // pb::Channel values 0..5

// Attribute of a contact one shard forwarded to another: the partition that sent it. The engine
// does not answer a refused forward (the shard's own doing, no person waits for the answer).
// Its name starts with kReservedAttributePrefix (common/text.h).
inline constexpr char kForwardedFromAttribute[] = "sb.forwarded_from";

// One routing decision. Plain strings (not protobuf) because decisions are made on the hot path;
// ToProto() converts for the wire.
// DECISION_AGENT_STATE with REASON_SESSION_MOVED naming a contact: the moved agent still holds
// it, in this state (Decision::detail).
inline constexpr char kHeldConnected[] = "connected";
inline constexpr char kHeldAfterContactWork[] = "after-contact work";

struct Decision {
  pb::DecisionType type = pb::DECISION_TYPE_UNSPECIFIED;
  pb::DecisionReason reason = pb::REASON_UNSPECIFIED;
  std::string contact_id;
  std::string agent_id;
  std::string queue;
  uint32_t attempt = 0;
  int64_t at_ms = 0;
  uint32_t bullseye_step = 0;
  // Of a transferred contact (empty otherwise): its first-contact owner and latest handoff note.
  std::string owner_agent_id;
  std::string handoff_note;
  // DECISION_REFUSED's code, message and refused event (Engine::Apply).
  std::string refusal_code;
  std::string detail;
  std::string refused_event;
  // DECISION_REFUSED: the refused event's session. DECISION_AGENT_STATE of a session move
  // (REASON_SESSION_MOVED): the agent's new current session and its generation.
  std::string session;
  uint64_t generation = 0;
  // Set by the router shard, not the engine: the input record a REFUSED or TRANSFERRED decision
  // answers.
  std::string input_topic;
  int64_t input_offset = 0;

  pb::Decision ToProto() const;
  bool operator==(const Decision&) const = default;
};

using Decisions = std::vector<Decision>;

}  // namespace sb::engine
