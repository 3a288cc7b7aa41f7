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

// The event for `r` by agent `agent_id` at `at_ms`; nullopt for actions that publish nothing of
// their own (login opens the session, heartbeat is answered by the gateway, no action set).
std::optional<::switchboard::v1::RoutingEvent> AgentActionEvent(
    std::string_view agent_id, const ::switchboard::v1::AgentRequest& r, int64_t at_ms);

}  // namespace sb::gateway
