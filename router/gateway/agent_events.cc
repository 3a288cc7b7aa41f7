#include "router/gateway/agent_events.h"

#include <string>

namespace sb::gateway {

namespace pb = ::switchboard::v1;

std::optional<pb::RoutingEvent> AgentActionEvent(std::string_view agent_id,
                                                 const pb::AgentRequest& r, int64_t at_ms,
                                                 std::string_view session) {
  const std::string id(agent_id);
  const std::string sid(session);
  pb::RoutingEvent ev;
  ev.set_at_ms(at_ms);
  switch (r.action_case()) {
    case pb::AgentRequest::kReady:
      ev.mutable_agent_ready()->set_agent_id(id);
      ev.mutable_agent_ready()->set_session(sid);
      return ev;
    case pb::AgentRequest::kNotReady:
      ev.mutable_agent_not_ready()->set_agent_id(id);
      ev.mutable_agent_not_ready()->set_session(sid);
      ev.mutable_agent_not_ready()->set_reason(r.not_ready().reason());
      return ev;
    case pb::AgentRequest::kAccept:
      ev.mutable_offer_accepted()->set_agent_id(id);
      ev.mutable_offer_accepted()->set_session(sid);
      ev.mutable_offer_accepted()->set_contact_id(r.accept().contact_id());
      ev.mutable_offer_accepted()->set_attempt(r.accept().attempt());
      return ev;
    case pb::AgentRequest::kReject:
      ev.mutable_offer_rejected()->set_agent_id(id);
      ev.mutable_offer_rejected()->set_session(sid);
      ev.mutable_offer_rejected()->set_contact_id(r.reject().contact_id());
      ev.mutable_offer_rejected()->set_attempt(r.reject().attempt());
      ev.mutable_offer_rejected()->set_reason(r.reject().reason());
      return ev;
    case pb::AgentRequest::kComplete:
      ev.mutable_contact_ended()->set_contact_id(r.complete().contact_id());
      ev.mutable_contact_ended()->set_agent_id(id);
      ev.mutable_contact_ended()->set_session(sid);
      return ev;
    case pb::AgentRequest::kWrapUp:
      ev.mutable_wrap_up_done()->set_agent_id(id);
      ev.mutable_wrap_up_done()->set_session(sid);
      ev.mutable_wrap_up_done()->set_contact_id(r.wrap_up().contact_id());
      ev.mutable_wrap_up_done()->set_disposition(r.wrap_up().disposition());
      return ev;
    case pb::AgentRequest::kLogout:
      ev.mutable_agent_logout()->set_agent_id(id);
      ev.mutable_agent_logout()->set_session(sid);
      ev.mutable_agent_logout()->set_reason(r.logout().reason());
      return ev;
    case pb::AgentRequest::kLogin:
    case pb::AgentRequest::kHeartbeat:
    case pb::AgentRequest::ACTION_NOT_SET:
      break;
  }
  return std::nullopt;
}

}  // namespace sb::gateway
