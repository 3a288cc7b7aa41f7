// What a desktop's action means to the routing engine: the RoutingEvent the gateway publishes to
// sb.agent-events for it. One mapping, used by the gateway's AgentService and by the load
// generator's Kafka agents (which publish what a gateway would). Pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "switchboard/v1/events.pb.h"
#include "switchboard/v1/services.pb.h"

namespace sb::gateway {

// The event for `r` by agent `agent_id` in desktop session `session` at `at_ms`; nullopt for
// actions that publish nothing of their own (login opens the session, heartbeat is answered by
// the gateway, no action set). `session` is stamped on every agent event (events.proto: the
// engine refuses events of a session that is not the agent's current one); publishers without
// sessions pass it empty. ContactEnded (complete) names no agent and carries none.
std::optional<::switchboard::v1::RoutingEvent> AgentActionEvent(
    std::string_view agent_id, const ::switchboard::v1::AgentRequest& r, int64_t at_ms,
    std::string_view session);

}  // namespace sb::gateway
