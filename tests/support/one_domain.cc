#include "support/one_domain.h"

namespace sb::testing {

namespace pb = ::switchboard::v1;

pb::Agent GeneralAgent(const std::string& id, const std::string& domain) {
  pb::Agent a;
  a.set_id(id);
  a.set_domain(domain);
  auto* s = a.add_skills();
  s->set_skill("general");
  s->set_proficiency(3);
  return a;
}

pb::RoutingEvent Login(const std::string& agent) {
  pb::RoutingEvent ev;
  *ev.mutable_agent_login()->mutable_agent() = GeneralAgent(agent);
  ev.mutable_agent_login()->set_ready(true);
  return ev;
}

pb::RoutingEvent Arrive(const std::string& contact) {
  pb::RoutingEvent ev;
  auto* c = ev.mutable_contact_arrived()->mutable_contact();
  c->set_id(contact);
  c->set_queue("d00.general");
  c->set_channel(pb::CHANNEL_VOICE);
  return ev;
}

}  // namespace sb::testing
