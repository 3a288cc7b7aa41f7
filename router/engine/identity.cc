// One agent, one capacity across the cluster: the identity protocol between shards (Engine::
// ReserveIdentities; events.proto AgentIdentityReserve). The domain side logs an agent in
// pending and reserves it at its home; the home side grants one shard at a time, in log order.
#include <utility>

#include "common/text.h"
#include "router/engine/engine.h"
#include "router/engine/engine_impl.h"

namespace sb::engine {

pb::AgentIdentity& EngineImpl::Identity(const std::string& agent_id) {
  pb::AgentIdentity& id = identities_[agent_id];
  id.set_agent_id(agent_id);
  if (tracking_) dirty_identities_.insert(agent_id);
  return id;
}

void EngineImpl::SendReserve(AgentIdx a) {
  AgentRec& ar = A(a);
  ar.identity_pending = true;
  ar.reservation = ar.generation;
  IdentityMessage& m = identity_out_.emplace_back();
  m.to_home = true;
  m.event.set_at_ms(now_);
  pb::AgentIdentityReserve* r = m.event.mutable_identity_reserve();
  r->set_agent_id(ar.id);
  r->set_domain(cfg_.domain_name(ar.domain));
  r->set_reservation(ar.reservation);
  r->set_from_partition(identity_partition_);
}

void EngineImpl::SendRelease(AgentIdx a) {
  AgentRec& ar = A(a);
  IdentityMessage& m = identity_out_.emplace_back();
  m.to_home = true;
  m.event.set_at_ms(now_);
  pb::AgentIdentityRelease* r = m.event.mutable_identity_release();
  r->set_agent_id(ar.id);
  r->set_reservation(ar.reservation);
  r->set_from_partition(identity_partition_);
  ar.reservation = 0;
  ar.identity_pending = false;
}

Status EngineImpl::IdentityReserve(const pb::AgentIdentityReserve& r) {
  if (r.agent_id().empty()) return InvalidArgument("identity_reserve.agent_id: required");
  if (r.reservation() == 0) return InvalidArgument("identity_reserve.reservation: required");
  if (r.from_partition() < 0) return InvalidArgument("identity_reserve.from_partition: negative");
  auto known = identities_.find(r.agent_id());
  if (known != identities_.end()) {
    auto seen = known->second.seen().find(r.from_partition());
    // A copy its shard re-published after a takeover, or older than one already answered.
    if (seen != known->second.seen().end() && r.reservation() <= seen->second) return Status::Ok();
  }
  pb::AgentIdentity& id = Identity(r.agent_id());
  (*id.mutable_seen())[r.from_partition()] = r.reservation();
  IdentityMessage& m = identity_out_.emplace_back();
  m.to_partition = r.from_partition();
  m.event.set_at_ms(now_);
  pb::AgentIdentityAnswer* answer = m.event.mutable_identity_answer();
  answer->set_agent_id(r.agent_id());
  answer->set_reservation(r.reservation());
  // The holder's own shard asking again (after a logout there, or a domain of the same shard):
  // one engine holds the agent once.
  if (!id.held() || id.partition() == r.from_partition()) {
    id.set_held(true);
    id.set_partition(r.from_partition());
    id.set_domain(r.domain());
    id.set_reservation(r.reservation());
    answer->set_granted(true);
    return Status::Ok();
  }
  answer->set_granted(false);
  answer->set_held_domain(id.domain());
  answer->set_held_partition(id.partition());
  return Status::Ok();
}

Status EngineImpl::IdentityRelease(const pb::AgentIdentityRelease& r) {
  auto known = identities_.find(r.agent_id());
  if (known == identities_.end()) return Status::Ok();
  const pb::AgentIdentity& cur = known->second;
  // Only the holder's release of its own reservation frees the agent: a refused shard's or an
  // older login's (re-published) release changes nothing.
  if (!cur.held() || cur.partition() != r.from_partition() ||
      cur.reservation() != r.reservation()) {
    return Status::Ok();
  }
  pb::AgentIdentity& id = Identity(r.agent_id());
  id.set_held(false);
  id.clear_partition();
  id.clear_domain();
  id.clear_reservation();
  return Status::Ok();
}

Status EngineImpl::IdentityAnswer(const pb::AgentIdentityAnswer& answer, Decisions* out) {
  auto found = FindAgent(answer.agent_id());
  if (!found.ok()) return Status::Ok();
  const AgentIdx a = *found;
  const AgentRec& cur = std::as_const(*this).A(a);
  // Late or repeated: the agent logged out (and released) since, or logged in again.
  if (!cur.logged_in() || !cur.identity_pending || cur.reservation != answer.reservation()) {
    return Status::Ok();
  }
  if (answer.granted()) {
    A(a).identity_pending = false;
    Decision& confirmed = out->emplace_back();
    confirmed.type = pb::DECISION_AGENT_STATE;
    confirmed.reason = pb::REASON_IDENTITY_CONFIRMED;
    confirmed.agent_id = cur.id;
    confirmed.at_ms = now_;
    confirmed.session = cur.session;
    confirmed.generation = cur.generation;
    RefreshReady(a);
    FillAgent(a, out);
    return Status::Ok();
  }
  // The home never recorded this shard as the holder: nothing to release.
  A(a).reservation = 0;
  A(a).identity_pending = false;
  Decision refusal;
  refusal.type = pb::DECISION_REFUSED;
  refusal.agent_id = cur.id;
  refusal.at_ms = now_;
  refusal.refusal_code = "FAILED_PRECONDITION";
  refusal.refused_event = "agent_login";
  refusal.session = cur.session;
  refusal.detail = "agent " + Quote(cur.id) + " is logged in under routing domain " +
                   Quote(answer.held_domain()) + " (shard " +
                   std::to_string(answer.held_partition()) +
                   "): an agent is one person with one capacity; log out there first";
  out->push_back(std::move(refusal));
  SignOut(a, out);
  return Status::Ok();
}

void EngineImpl::TakeIdentityMessages(std::vector<IdentityMessage>* out) {
  out->clear();
  out->swap(identity_out_);
}

// --- facade ---

void Engine::ReserveIdentities(int32_t partition) { impl_->EnableIdentities(partition); }

void Engine::TakeIdentityMessages(std::vector<IdentityMessage>* out) {
  impl_->TakeIdentityMessages(out);
}

Status Engine::DispatchIdentity(const pb::RoutingEvent& e, Decisions* out) {
  impl_->BeginCall();
  impl_->RunTimers(out);
  if (!impl_->identities_on()) {
    return FailedPrecondition(
        "event: agent identity messages are for shards that reserve "
        "identities (Engine::ReserveIdentities)");
  }
  switch (e.event_case()) {
    case pb::RoutingEvent::kIdentityReserve:
      return impl_->IdentityReserve(e.identity_reserve());
    case pb::RoutingEvent::kIdentityRelease:
      return impl_->IdentityRelease(e.identity_release());
    case pb::RoutingEvent::kIdentityAnswer:
      return impl_->IdentityAnswer(e.identity_answer(), out);
    default:
      return InvalidArgument("event: not an agent identity message");
  }
}

}  // namespace sb::engine
