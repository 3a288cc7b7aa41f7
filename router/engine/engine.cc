// Event handling of the routing engine, and the public facade.
#include "router/engine/engine.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "absl/strings/string_view.h"
#include "common/text.h"
#include "router/engine/engine_impl.h"

namespace sb::engine {
namespace {

void AddTo(pb::QueueStats& st, uint64_t (pb::QueueStats::*get)() const,
           void (pb::QueueStats::*set)(uint64_t)) {
  (st.*set)((st.*get)() + 1);
}

// Events a desktop or an integrator sent, and so answered with a DECISION_REFUSED when refused:
// not timers, not commands for the shard, not contacts another shard forwarded (its own doing).
bool AnswersRefusal(const pb::RoutingEvent& e) {
  switch (e.event_case()) {
    case pb::RoutingEvent::kTimer:
    case pb::RoutingEvent::kFollowUp:
    case pb::RoutingEvent::kConfigChanged:
    case pb::RoutingEvent::kIdentityReserve:  // between shards: no person waits for an answer
    case pb::RoutingEvent::kIdentityRelease:
    case pb::RoutingEvent::kIdentityAnswer:
    case pb::RoutingEvent::EVENT_NOT_SET:
      return false;
    case pb::RoutingEvent::kContactArrived:
      return e.contact_arrived().contact().attributes().count(kForwardedFromAttribute) == 0;
    default:
      return true;
  }
}

// The contact and the acting agent an event names (either may be empty).
void ActorOf(const pb::RoutingEvent& e, std::string* contact, std::string* agent) {
  switch (e.event_case()) {
    case pb::RoutingEvent::kContactArrived:
      *contact = e.contact_arrived().contact().id();
      break;
    case pb::RoutingEvent::kContactCancelled:
      *contact = e.contact_cancelled().contact_id();
      break;
    case pb::RoutingEvent::kContactAbandoned:
      *contact = e.contact_abandoned().contact_id();
      break;
    case pb::RoutingEvent::kContactEnded:
      *contact = e.contact_ended().contact_id();
      *agent = e.contact_ended().agent_id();
      break;
    case pb::RoutingEvent::kContactTransferred:
      *contact = e.contact_transferred().contact_id();
      *agent = e.contact_transferred().by_agent_id();
      break;
    case pb::RoutingEvent::kAgentLogin:
      *agent = e.agent_login().agent().id();
      break;
    case pb::RoutingEvent::kAgentLogout:
      *agent = e.agent_logout().agent_id();
      break;
    case pb::RoutingEvent::kAgentReady:
      *agent = e.agent_ready().agent_id();
      break;
    case pb::RoutingEvent::kAgentNotReady:
      *agent = e.agent_not_ready().agent_id();
      break;
    case pb::RoutingEvent::kOfferAccepted:
      *contact = e.offer_accepted().contact_id();
      *agent = e.offer_accepted().agent_id();
      break;
    case pb::RoutingEvent::kOfferRejected:
      *contact = e.offer_rejected().contact_id();
      *agent = e.offer_rejected().agent_id();
      break;
    case pb::RoutingEvent::kWrapUpDone:
      *contact = e.wrap_up_done().contact_id();
      *agent = e.wrap_up_done().agent_id();
      break;
    default:
      break;
  }
}

// The desktop session an agent event was sent in (empty for other events, or none given).
std::string SessionOf(const pb::RoutingEvent& e) {
  switch (e.event_case()) {
    case pb::RoutingEvent::kAgentLogin:
      return e.agent_login().session();
    case pb::RoutingEvent::kAgentLogout:
      return e.agent_logout().session();
    case pb::RoutingEvent::kAgentReady:
      return e.agent_ready().session();
    case pb::RoutingEvent::kAgentNotReady:
      return e.agent_not_ready().session();
    case pb::RoutingEvent::kOfferAccepted:
      return e.offer_accepted().session();
    case pb::RoutingEvent::kOfferRejected:
      return e.offer_rejected().session();
    case pb::RoutingEvent::kWrapUpDone:
      return e.wrap_up_done().session();
    case pb::RoutingEvent::kContactEnded:
      return e.contact_ended().session();
    default:
      return {};
  }
}

// "session "s1"", or "no session" for an empty one, in refusal messages.
std::string SessionName(std::string_view session) {
  return session.empty() ? "no session" : "session " + Quote(session);
}

// The answer to `event`, refused with `refusal`.
Decision RefusalOf(const pb::RoutingEvent& event, const Status& refusal, int64_t now_ms) {
  Decision d;
  d.type = pb::DECISION_REFUSED;
  ActorOf(event, &d.contact_id, &d.agent_id);
  d.at_ms = now_ms;
  d.refusal_code = std::string(CodeName(refusal.code()));
  d.detail = refusal.message();
  const auto* field = pb::RoutingEvent::descriptor()->FindFieldByNumber(event.event_case());
  if (field != nullptr) d.refused_event = field->name();
  d.session = SessionOf(event);
  return d;
}

}  // namespace

Result<AgentIdx> EngineImpl::FindAgent(std::string_view id) const {
  auto it = agent_index_.find(absl::string_view(id.data(), id.size()));
  if (it == agent_index_.end()) return NotFound("agent_id: unknown agent " + Quote(id));
  return it->second;
}

Result<ContactIdx> EngineImpl::FindContact(std::string_view id) const {
  auto it = contact_index_.find(absl::string_view(id.data(), id.size()));
  if (it == contact_index_.end()) return NotFound("contact_id: unknown contact " + Quote(id));
  return it->second;
}

ContactIdx EngineImpl::NewContactSlot() {
  if (!free_contacts_.empty()) {
    const ContactIdx c = free_contacts_.back();
    free_contacts_.pop_back();
    return c;
  }
  contacts_.emplace_back();
  return ContactIdx{static_cast<uint32_t>(contacts_.size() - 1)};
}

AgentIdx EngineImpl::AgentSlot(const std::string& id) {
  auto [it, inserted] =
      agent_index_.try_emplace(id, AgentIdx{static_cast<uint32_t>(agents_.size())});
  if (inserted) {
    agents_.emplace_back().id = id;
    agents_.back().prof.assign(cfg_.num_skills(), 0);
  }
  return it->second;
}

ContactKey EngineImpl::KeyOf(const pb::Contact& contact, QueueIdx q, int64_t arrived_ms,
                             uint64_t seq) const {
  const int level = (contact.priority() == pb::PRIORITY_URGENT ? 2 : 0) +
                    (contact.origin() == pb::ORIGIN_EXTERNAL ? 1 : 0);
  const bool emergency = contact.priority() == pb::PRIORITY_EMERGENCY;
  return {static_cast<uint8_t>(emergency ? 0 : 1),
          emergency ? arrived_ms : arrived_ms - level * cfg_.queue(q).aging_ms, seq};
}

validate::KnownNames EngineImpl::Known() const {
  return {.queue = [this](std::string_view q) { return cfg_.FindQueue(q).has_value(); },
          .skill = [this](std::string_view k) { return cfg_.FindSkill(k).has_value(); },
          .domain = [this](std::string_view d) { return cfg_.FindDomain(d).has_value(); }};
}

Result<ContactIdx> EngineImpl::Admit(const pb::Contact& contact, int64_t arrived_ms, uint64_t seq) {
  auto queue = cfg_.FindQueue(contact.queue());
  if (!queue) return InvalidArgument("contact.queue: unknown queue " + Quote(contact.queue()));
  if (contact.channel() <= pb::CHANNEL_UNSPECIFIED || contact.channel() >= kNumChannels) {
    return InvalidArgument("contact.channel: required (voice, chat, email, callback or task)");
  }
  auto extras = cfg_.ContactExtras(contact);
  if (!extras.ok()) return extras.status();

  const ContactIdx c = NewContactSlot();
  ContactRec& cr = C(c);
  cr.contact = contact;
  cr.extras = std::move(extras).value();
  cr.live = true;
  cr.origin = *queue;
  cr.queue = *queue;
  cr.difficult = contact.flags().difficult();
  cr.counts_for_sl = !contact.flags().test() && !contact.flags().outbound();
  cr.arrived_ms = arrived_ms;
  cr.queued_ms = arrived_ms;
  cr.key = KeyOf(contact, *queue, arrived_ms, seq);
  if (!contact.preferred_agent().empty()) {
    auto it = agent_index_.find(contact.preferred_agent());
    if (it == agent_index_.end() || A(it->second).domain != cfg_.queue(*queue).domain) {
      cr.preferred_released = true;
      cr.next_reason = pb::REASON_PREFERRED_AGENT_UNKNOWN;
    } else {
      cr.preferred = it->second;
    }
  }
  contact_index_.emplace(contact.id(), c);
  return c;
}

Status EngineImpl::ContactArrived(const pb::Contact& contact, Decisions* out) {
  // The rule every entry point applies (common/validate): the records on sb.contacts come from
  // any producer, not only from gateways. (Admit also restores state: not checked again there.)
  SB_RETURN_IF_ERROR(validate::CheckContactId(contact.id()));
  SB_RETURN_IF_ERROR(validate::CheckContact(contact, Known(), validate::Source::kCluster));
  if (contact_index_.count(contact.id())) {
    return AlreadyExists("contact.id: contact " + Quote(contact.id()) + " is already being routed");
  }
  auto admitted = Admit(contact, now_, next_seq_);
  if (!admitted.ok()) return admitted.status();
  ++next_seq_;
  const ContactIdx c = *admitted;
  ContactRec& cr = C(c);
  cr.state = pb::CONTACT_STATE_WAITING;
  cr.state_since_ms = now_;
  if (cr.counts_for_sl) {
    AddTo(StatsOf(cr.origin), &pb::QueueStats::arrived, &pb::QueueStats::set_arrived);
  } else if (contact.flags().test()) {
    AddTo(StatsOf(cr.origin), &pb::QueueStats::test_arrived, &pb::QueueStats::set_test_arrived);
  } else {
    AddTo(StatsOf(cr.origin), &pb::QueueStats::outbound_arrived,
          &pb::QueueStats::set_outbound_arrived);
  }

  PlaceAt(c, 0);
  ScheduleWaitingTimers(c);
  const int64_t max_wait = cfg_.queue(cr.origin).max_wait_ms;
  if (max_wait > 0) Schedule(TimerKind::kMaxWait, c, now_ + max_wait);
  Route(c, out);
  return Status::Ok();
}

Status EngineImpl::EndWaiting(std::string_view contact_id, bool abandoned, Decisions* out) {
  auto found = FindContact(contact_id);
  if (!found.ok()) return found.status();
  const ContactIdx c = *found;
  ContactRec& cr = C(c);
  AgentIdx agent = kNoAgent;
  if (cr.state == pb::CONTACT_STATE_WAITING) {
    Unfile(c);
    Emit(out, pb::DECISION_WITHDRAW, abandoned ? pb::REASON_CUSTOMER_LEFT : pb::REASON_CANCELLED,
         &cr, nullptr);
  } else if (cr.state == pb::CONTACT_STATE_OFFERED) {
    agent = cr.agent;
    ReleaseItem(agent, c);
    Emit(out, pb::DECISION_WITHDRAW, abandoned ? pb::REASON_OFFER_ABANDONED : pb::REASON_CANCELLED,
         &cr, &A(agent));
  } else if (cr.state == pb::CONTACT_STATE_CONNECTED) {
    return FailedPrecondition("contact_id: contact " + Quote(contact_id) +
                              " is already connected; end it with ContactEnded");
  } else {
    return FailedPrecondition("contact_id: contact " + Quote(contact_id) +
                              " has already ended (its agent is in after-contact work)");
  }
  // A transferred contact was answered and counted: leaving while it waits again is not a second
  // outcome for its service level.
  if (cr.counts_for_sl && cr.transfers == 0) {
    pb::QueueStats& st = StatsOf(cr.origin);
    if (!abandoned) {
      AddTo(st, &pb::QueueStats::cancelled, &pb::QueueStats::set_cancelled);
    } else if (now_ - cr.arrived_ms < cfg_.short_abandon_ms()) {
      AddTo(st, &pb::QueueStats::short_abandoned, &pb::QueueStats::set_short_abandoned);
    } else {
      AddTo(st, &pb::QueueStats::abandoned, &pb::QueueStats::set_abandoned);
    }
  }
  Finish(c);
  if (agent != kNoAgent) FillAgent(agent, out);
  return Status::Ok();
}

Status EngineImpl::ContactEnded(std::string_view contact_id, std::string_view agent_id,
                                std::string_view session, Decisions* out) {
  auto found = FindContact(contact_id);
  if (!found.ok()) return found.status();
  const ContactIdx c = *found;
  ContactRec& cr = C(c);
  if (cr.state != pb::CONTACT_STATE_CONNECTED) {
    return FailedPrecondition("contact_id: contact " + Quote(contact_id) + " is not connected");
  }
  const AgentIdx a = cr.agent;
  if (!agent_id.empty()) {  // a desktop: only its own agent's call, from the current session
    if (std::as_const(*this).A(a).id != agent_id) {
      return FailedPrecondition("contact_id: contact " + Quote(contact_id) +
                                " is not connected to agent " + Quote(agent_id));
    }
    SB_RETURN_IF_ERROR(CheckSession(std::as_const(*this).A(a), "completion", session));
  }
  const int64_t acw = cfg_.queue(cr.queue).acw_ms;
  if (acw > 0) {
    AgentRec& ar = A(a);
    Account(ar);
    for (WorkItem& w : ar.items) {
      if (w.contact == c) {
        w.state = pb::CONTACT_STATE_COMPLETED;
        w.since_ms = now_;
      }
    }
    ++ar.acw_items;
    cr.state = pb::CONTACT_STATE_COMPLETED;
    cr.state_since_ms = now_;
    Schedule(TimerKind::kAcwLimit, c, now_ + acw);
    RefreshReady(a);
    return Status::Ok();
  }
  CloseWork(a, c);
  FillAgent(a, out);
  return Status::Ok();
}

Status EngineImpl::Transfer(const pb::ContactTransferred& t, Decisions* out) {
  auto found = FindContact(t.contact_id());
  if (!found.ok()) return found.status();
  const ContactIdx c = *found;
  const ContactRec& seen = std::as_const(*this).C(c);
  if (seen.state != pb::CONTACT_STATE_CONNECTED) {
    return FailedPrecondition("contact_id: contact " + Quote(t.contact_id()) + " is " +
                              pb::ContactState_Name(seen.state) +
                              ": only a connected contact can be transferred");
  }
  const AgentIdx a = seen.agent;
  if (!t.by_agent_id().empty() && std::as_const(*this).A(a).id != t.by_agent_id()) {
    return FailedPrecondition("by_agent_id: contact " + Quote(t.contact_id()) +
                              " is not connected to agent " + Quote(t.by_agent_id()));
  }
  if (t.handoff_note().empty()) return InvalidArgument("handoff_note: required");
  const DomainIdx domain = cfg_.queue(seen.queue).domain;
  QueueIdx target = seen.queue;
  AgentIdx to_agent = kNoAgent;
  switch (t.target_case()) {
    case pb::ContactTransferred::kToQueue: {
      auto q = cfg_.FindQueue(t.to_queue());
      if (!q) return InvalidArgument("to_queue: unknown queue " + Quote(t.to_queue()));
      target = *q;
      if (cfg_.queue(target).domain != domain) {
        return FailedPrecondition(
            "to_queue: queue " + Quote(t.to_queue()) + " is in routing domain " +
            Quote(cfg_.domain_name(cfg_.queue(target).domain)) + ", the contact in domain " +
            Quote(cfg_.domain_name(domain)) + ": a transfer stays within its domain");
      }
      break;
    }
    case pb::ContactTransferred::kToAgentId: {
      auto f = FindAgent(t.to_agent_id());
      if (!f.ok()) return NotFound("to_agent_id: unknown agent " + Quote(t.to_agent_id()));
      to_agent = *f;
      const AgentRec& to = std::as_const(*this).A(to_agent);
      if (to_agent == a) {
        return FailedPrecondition("to_agent_id: agent " + Quote(t.to_agent_id()) +
                                  " is the one connected to the contact");
      }
      if (to.domain != domain) {
        return FailedPrecondition("to_agent_id: agent " + Quote(t.to_agent_id()) +
                                  " is in routing domain " + Quote(cfg_.domain_name(to.domain)) +
                                  ", the contact in domain " + Quote(cfg_.domain_name(domain)) +
                                  ": a transfer stays within its domain");
      }
      if (!to.logged_in()) {
        return FailedPrecondition("to_agent_id: agent " + Quote(t.to_agent_id()) +
                                  " is not logged in");
      }
      break;
    }
    case pb::ContactTransferred::TARGET_NOT_SET:
      return InvalidArgument("target: required (to_queue or to_agent_id)");
  }

  // The connected agent's leg ends: after-contact work as for an ended contact, but standing
  // alone (a Leg), as the contact goes on without it.
  const QueueIdx from = seen.queue;
  ReleaseItem(a, c);
  const int64_t acw = cfg_.queue(from).acw_ms;
  if (acw > 0) {
    AgentRec& ar = A(a);
    ar.legs.push_back({t.contact_id(), from, now_, now_ + acw});
    ++ar.acw_items;
    timers_.push({now_ + acw, TimerKind::kLegAcwLimit, 0, ContactIdx{0}, a});
    RefreshReady(a);
  }

  // The contact waits again: in the target queue (or its own, for an agent), with its arrival
  // time (the customer has waited already) and its answered flag (service level counted once),
  // and never again for the agent who handed it on.
  ContactRec& cr = C(c);
  if (cr.owner.empty()) cr.owner = A(a).id;
  cr.handoff_note = t.handoff_note();
  ++cr.transfers;
  cr.excluded.clear();
  cr.excluded.push_back(a);
  cr.contact.set_queue(cfg_.queue(target).name);
  cr.origin = target;
  cr.key = KeyOf(cr.contact, target, cr.arrived_ms, cr.key.seq);
  if (to_agent != kNoAgent) {
    cr.contact.set_preferred_agent(A(to_agent).id);
  } else {
    cr.contact.clear_preferred_agent();
  }
  cr.preferred = to_agent;
  cr.preferred_released = false;
  cr.waiting_for_preferred = false;
  cr.next_reason = pb::REASON_BEST_AVAILABLE;
  cr.state = pb::CONTACT_STATE_WAITING;
  cr.state_since_ms = now_;
  cr.queued_ms = now_;
  cr.agent = kNoAgent;
  PlaceAt(c, 0);
  Emit(out, pb::DECISION_TRANSFERRED, pb::REASON_UNSPECIFIED, &cr, &A(a));
  ScheduleWaitingTimers(c);
  Route(c, out);
  if (acw == 0) FillAgent(a, out);
  return Status::Ok();
}

void EngineImpl::CloseLeg(AgentIdx a, size_t i) {
  AgentRec& ar = A(a);
  Account(ar);
  ar.legs.erase(ar.legs.begin() + static_cast<std::ptrdiff_t>(i));
  --ar.acw_items;
  if (ar.items.empty() && ar.legs.empty()) ar.idle_since_ms = now_;
}

void EngineImpl::CloseWork(AgentIdx a, ContactIdx c) {
  ContactRec& cr = C(c);
  ReleaseItem(a, c);
  if (cr.counts_for_sl && cr.connected_ms > 0) {
    pb::QueueStats& st = StatsOf(cr.origin);
    const double handle = static_cast<double>(now_ - cr.connected_ms);
    st.set_aht_ewma_ms(st.aht_ewma_ms() == 0 ? handle : 0.9 * st.aht_ewma_ms() + 0.1 * handle);
    AddTo(st, &pb::QueueStats::handled, &pb::QueueStats::set_handled);
    st.set_handle_ms_total(st.handle_ms_total() + (now_ - cr.connected_ms));
  }
  Finish(c);
}

Status EngineImpl::CheckSession(const AgentRec& a, std::string_view action,
                                std::string_view session) const {
  if (!a.logged_in() || session == a.session) return Status::Ok();
  return FailedPrecondition("agent " + Quote(a.id) + ": " + std::string(action) + " of " +
                            SessionName(session) + " ignored: " + SessionName(a.session) +
                            " (generation " + std::to_string(a.generation) + ") is current");
}

Status EngineImpl::Login(const pb::Agent& agent, bool ready, std::string_view session,
                         Decisions* out) {
  SB_RETURN_IF_ERROR(validate::CheckAgent(agent, Known()));
  auto domain = cfg_.FindDomain(agent.domain());
  if (!domain) return InvalidArgument("agent.domain: unknown domain " + Quote(agent.domain()));
  std::vector<uint8_t> prof(cfg_.num_skills(), 0);
  for (int i = 0; i < agent.skills_size(); ++i) {
    const auto& s = agent.skills(i);
    const std::string field = "agent.skills[" + std::to_string(i) + "]";
    auto skill = cfg_.FindSkill(s.skill());
    if (!skill) return InvalidArgument(field + ".skill: unknown skill " + Quote(s.skill()));
    if (s.proficiency() < 1 || s.proficiency() > 5) {
      return InvalidArgument(field + ".proficiency: must be 1..5 (got " +
                             std::to_string(s.proficiency()) + ")");
    }
    prof[*skill] = static_cast<uint8_t>(s.proficiency());
  }
  if (agent.capacity_units() > 10000) {
    return InvalidArgument("agent.capacity_units: must be at most 10000");
  }
  auto existing = agent_index_.find(agent.id());
  if (existing != agent_index_.end() && std::as_const(*this).A(existing->second).logged_in()) {
    const AgentRec& cur = std::as_const(*this).A(existing->second);
    // The same session again (a repeated record, or two logins without sessions): as before.
    if (session == cur.session) {
      return FailedPrecondition("agent.id: agent " + Quote(agent.id()) + " is already logged in" +
                                (session.empty() ? "" : " with " + SessionName(session)));
    }
    // A publisher without sessions cannot be told it lost the agent, nor its events told apart:
    // it does not take over a desktop's session.
    if (session.empty()) {
      return FailedPrecondition("agent.id: agent " + Quote(agent.id()) + " is logged in with " +
                                SessionName(cur.session) + " (generation " +
                                std::to_string(cur.generation) +
                                "): a login without a session cannot take it over");
    }
    MoveSession(existing->second, *domain, std::move(prof), agent.capacity_units(), ready, session,
                out);
    return Status::Ok();
  }
  const AgentIdx a = AgentSlot(agent.id());
  AgentRec& ar = A(a);
  ar.session = std::string(session);
  ++ar.generation;
  ar.domain = *domain;
  ar.prof = std::move(prof);
  ar.configured_capacity = agent.capacity_units();
  ar.capacity = agent.capacity_units() > 0 ? agent.capacity_units() : cfg_.agent_units();
  ar.presence = ready ? pb::AGENT_STATE_READY : pb::AGENT_STATE_NOT_READY;
  ar.reason = ready ? "" : "login";
  ar.presence_since_ms = ar.idle_since_ms = ar.accounted_at_ms = now_;
  ar.busy_ms = ar.ready_ms = 0;
  ar.difficult_streak = 0;
  ++logged_in_;
  if (identities_on()) SendReserve(a);  // before JoinSigs: a pending agent is in no ready set
  JoinSigs(a);
  FillAgent(a, out);
  return Status::Ok();
}

void EngineImpl::MoveSession(AgentIdx a, DomainIdx domain, std::vector<uint8_t> prof,
                             uint32_t configured_capacity, bool ready, std::string_view session,
                             Decisions* out) {
  AgentRec& ar = A(a);
  Account(ar);
  const std::string previous = std::exchange(ar.session, std::string(session));
  ++ar.generation;
  // Skills, domain and capacity as this login says; one capacity, the work held counts in it.
  LeaveSigs(a);
  ar.domain = domain;
  ar.prof = std::move(prof);
  ar.configured_capacity = configured_capacity;
  ar.capacity = configured_capacity > 0 ? configured_capacity : cfg_.agent_units();
  const pb::AgentState presence = ready ? pb::AGENT_STATE_READY : pb::AGENT_STATE_NOT_READY;
  if (ar.presence != presence) {
    ar.presence = presence;
    ar.presence_since_ms = now_;
    if (ready && ar.items.empty()) ar.idle_since_ms = now_;
  }
  ar.reason = ready ? "" : "login";
  JoinSigs(a);
  RefreshReady(a);
  {
    Decision& d = out->emplace_back();
    d.type = pb::DECISION_AGENT_STATE;
    d.reason = pb::REASON_SESSION_MOVED;
    d.at_ms = now_;
    d.agent_id = ar.id;
    d.session = ar.session;
    d.generation = ar.generation;
    d.detail = SessionName(ar.session) + " (generation " + std::to_string(ar.generation) +
               ") replaced " + SessionName(previous);
  }
  // The work the agent keeps, one decision per contact (connected, or in after-contact work:
  // `detail`), so the new desktop shows it even when its CONNECTED went to the old one.
  for (const WorkItem& w : A(a).items) {
    if (w.state == pb::CONTACT_STATE_OFFERED) continue;
    Emit(out, pb::DECISION_AGENT_STATE, pb::REASON_SESSION_MOVED, &C(w.contact), &A(a));
    Decision& d = out->back();
    d.session = A(a).session;
    d.generation = A(a).generation;
    d.detail = w.state == pb::CONTACT_STATE_CONNECTED ? kHeldConnected : kHeldAfterContactWork;
  }
  // Contacts waiting for this agent by name that its new skills or domain no longer meet take
  // anyone now (FillAgent offers the others without checking skills again).
  const std::vector<ContactIdx> waiting = A(a).preferred_waiting;
  for (ContactIdx c : waiting) {
    if (Qualifies(A(a), sigs_[C(c).sig])) continue;
    Unfile(c);
    C(c).preferred_released = true;
    C(c).next_reason = pb::REASON_PREFERRED_AGENT_INELIGIBLE;
    Route(c, out);
  }
  // Offers the older session's desktop was shown: the new desktop never saw them.
  std::vector<ContactIdx> offered;
  for (const WorkItem& w : A(a).items) {
    if (w.state == pb::CONTACT_STATE_OFFERED) offered.push_back(w.contact);
  }
  for (ContactIdx c : offered) {
    ReleaseItem(a, c);
    Requeue(c, pb::REASON_SESSION_MOVED, out);
  }
  FillAgent(a, out);
}

Status EngineImpl::Logout(std::string_view agent_id, std::string_view session, Decisions* out) {
  auto found = FindAgent(agent_id);
  if (!found.ok()) return found.status();
  const AgentIdx a = *found;
  AgentRec& ar = A(a);
  if (!ar.logged_in())
    return FailedPrecondition("agent_id: agent " + Quote(agent_id) + " is not logged in");
  SB_RETURN_IF_ERROR(CheckSession(ar, "logout", session));
  SignOut(a, out);
  return Status::Ok();
}

void EngineImpl::SignOut(AgentIdx a, Decisions* out) {
  AgentRec& ar = A(a);
  if (ar.reservation != 0) SendRelease(a);
  Account(ar);
  ar.presence = pb::AGENT_STATE_LOGGED_OUT;
  ar.reason.clear();
  ar.presence_since_ms = now_;
  LeaveSigs(a);
  --logged_in_;
  // Contacts that waited for this agent by name now take anyone; contacts it held go back to
  // their place in the queue; after-contact work ends.
  const std::vector<ContactIdx> waiting = std::move(ar.preferred_waiting);
  ar.preferred_waiting.clear();
  for (ContactIdx c : waiting) {
    ContactRec& cr = C(c);
    cr.waiting_for_preferred = false;
    cr.preferred_released = true;
    cr.next_reason = pb::REASON_PREFERRED_AGENT_LOGGED_OUT;
    Route(c, out);
  }
  A(a).acw_items -= static_cast<uint32_t>(A(a).legs.size());
  A(a).legs.clear();
  const std::vector<WorkItem> items = A(a).items;
  for (const WorkItem& w : items) {
    if (w.state == pb::CONTACT_STATE_COMPLETED) {
      CloseWork(a, w.contact);
    } else {
      ReleaseItem(a, w.contact);
      Requeue(w.contact, pb::REASON_AGENT_LOGGED_OUT, out);
    }
  }
}

Status EngineImpl::SetReady(std::string_view agent_id, std::string_view session, Decisions* out) {
  auto found = FindAgent(agent_id);
  if (!found.ok()) return found.status();
  AgentRec& ar = A(*found);
  if (!ar.logged_in())
    return FailedPrecondition("agent_id: agent " + Quote(agent_id) + " is not logged in");
  SB_RETURN_IF_ERROR(CheckSession(ar, "ready", session));
  if (ar.presence != pb::AGENT_STATE_READY) {
    Account(ar);
    ar.presence = pb::AGENT_STATE_READY;
    ar.reason.clear();
    ar.presence_since_ms = now_;
    if (ar.items.empty()) ar.idle_since_ms = now_;
  }
  FillAgent(*found, out);
  return Status::Ok();
}

Status EngineImpl::SetNotReady(std::string_view agent_id, std::string_view reason,
                               std::string_view session, Decisions*) {
  auto found = FindAgent(agent_id);
  if (!found.ok()) return found.status();
  AgentRec& ar = A(*found);
  if (!ar.logged_in())
    return FailedPrecondition("agent_id: agent " + Quote(agent_id) + " is not logged in");
  SB_RETURN_IF_ERROR(CheckSession(ar, "not-ready", session));
  Account(ar);
  ar.presence = pb::AGENT_STATE_NOT_READY;
  ar.reason = std::string(reason);
  ar.presence_since_ms = now_;
  RefreshReady(*found);
  return Status::Ok();
}

Result<ContactIdx> EngineImpl::FindOffer(std::string_view agent_id, std::string_view contact_id,
                                         uint32_t attempt) const {
  auto a = FindAgent(agent_id);
  if (!a.ok()) return a.status();
  auto c = FindContact(contact_id);
  if (!c.ok()) return c.status();
  const ContactRec& cr = C(*c);
  if (cr.state != pb::CONTACT_STATE_OFFERED || cr.agent != *a ||
      (attempt != 0 && attempt != cr.attempt)) {
    return FailedPrecondition("contact_id: contact " + Quote(contact_id) +
                              " has no open offer to agent " + Quote(agent_id) +
                              (attempt ? " at attempt " + std::to_string(attempt) : ""));
  }
  return *c;
}

Status EngineImpl::Accept(std::string_view agent_id, std::string_view contact_id, uint32_t attempt,
                          std::string_view session, Decisions* out) {
  if (auto a = FindAgent(agent_id); a.ok()) {
    SB_RETURN_IF_ERROR(CheckSession(std::as_const(*this).A(*a), "accept", session));
  }
  auto found = FindOffer(agent_id, contact_id, attempt);
  if (!found.ok()) return found.status();
  const ContactIdx c = *found;
  ContactRec& cr = C(c);
  const AgentIdx a = cr.agent;
  AgentRec& ar = A(a);
  Account(ar);
  for (WorkItem& w : ar.items) {
    if (w.contact != c) continue;
    w.state = pb::CONTACT_STATE_CONNECTED;
    w.since_ms = now_;
    if (w.difficult) {
      --ar.difficult_pending;
      ++ar.difficult_streak;
    } else {
      ar.difficult_streak = 0;
    }
  }
  cr.state = pb::CONTACT_STATE_CONNECTED;
  cr.state_since_ms = now_;
  cr.connected_ms = now_;
  if (cr.owner.empty()) cr.owner = ar.id;
  if (!cr.answered && cr.counts_for_sl) {
    pb::QueueStats& st = StatsOf(cr.origin);
    const int64_t wait = now_ - cr.arrived_ms;
    AddTo(st, &pb::QueueStats::answered, &pb::QueueStats::set_answered);
    st.set_answered_wait_ms_total(st.answered_wait_ms_total() + wait);
    if (wait <= cfg_.queue(cr.origin).sl_threshold_ms) {
      AddTo(st, &pb::QueueStats::answered_in_threshold, &pb::QueueStats::set_answered_in_threshold);
    }
  }
  if (!cr.answered && cr.contact.flags().outbound() && !cr.contact.flags().test()) {
    AddTo(StatsOf(cr.origin), &pb::QueueStats::outbound_answered,
          &pb::QueueStats::set_outbound_answered);
  }
  cr.answered = true;
  // The channel and the agent learn it: the contact is the agent's now (after a transfer, with
  // whose case it is and the handoff note). Before any offer the agent's freed capacity brings.
  Emit(out, pb::DECISION_CONNECTED, pb::REASON_UNSPECIFIED, &cr, &ar);
  RefreshReady(a);
  return Status::Ok();
}

Status EngineImpl::Reject(std::string_view agent_id, std::string_view contact_id, uint32_t attempt,
                          std::string_view session, Decisions* out) {
  if (auto a = FindAgent(agent_id); a.ok()) {
    SB_RETURN_IF_ERROR(CheckSession(std::as_const(*this).A(*a), "reject", session));
  }
  auto found = FindOffer(agent_id, contact_id, attempt);
  if (!found.ok()) return found.status();
  const ContactIdx c = *found;
  const AgentIdx a = C(c).agent;
  ReleaseItem(a, c);
  C(c).excluded.push_back(a);
  Requeue(c, pb::REASON_OFFER_REJECTED, out);
  FillAgent(a, out);
  return Status::Ok();
}

Status EngineImpl::WrapUp(std::string_view agent_id, std::string_view contact_id,
                          std::string_view disposition, std::string_view session, Decisions* out) {
  auto found = FindAgent(agent_id);
  if (!found.ok()) return found.status();
  const AgentIdx a = *found;
  SB_RETURN_IF_ERROR(CheckSession(std::as_const(*this).A(a), "wrap-up", session));
  std::vector<ContactIdx> done;
  for (const WorkItem& w : A(a).items) {
    if (w.state != pb::CONTACT_STATE_COMPLETED) continue;
    if (contact_id.empty() || C(w.contact).contact.id() == contact_id) done.push_back(w.contact);
  }
  // Transferred legs: the wrap-up ends the agent's work only (no first-contact resolution: the
  // contact was handed on).
  bool legs_done = false;
  for (size_t i = A(a).legs.size(); i-- > 0;) {
    if (contact_id.empty() || A(a).legs[i].contact_id == contact_id) {
      CloseLeg(a, i);
      legs_done = true;
    }
  }
  if (done.empty() && legs_done) {
    FillAgent(a, out);
    return Status::Ok();
  }
  if (done.empty()) {
    return FailedPrecondition("contact_id: agent " + Quote(agent_id) +
                              " has no after-contact work" +
                              (contact_id.empty() ? "" : " for contact " + Quote(contact_id)));
  }
  for (ContactIdx c : done) {
    const ContactRec& cr = C(c);
    if (disposition == kResolvedDisposition && cr.counts_for_sl) {
      AddTo(StatsOf(cr.origin), &pb::QueueStats::resolved_first_contact,
            &pb::QueueStats::set_resolved_first_contact);
    }
    CloseWork(a, c);
  }
  FillAgent(a, out);
  return Status::Ok();
}

// ----------------------------------------------------------------------------------------------
// Facade: read the clock, fire due timers, then apply the call.

Engine::Engine(std::unique_ptr<EngineImpl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;

Result<std::unique_ptr<Engine>> Engine::Create(const pb::RoutingConfig& config,
                                               const Clock* clock) {
  auto compiled = CompiledConfig::Compile(config);
  if (!compiled.ok()) return compiled.status();
  return std::unique_ptr<Engine>(
      new Engine(std::make_unique<EngineImpl>(std::move(compiled).value(), clock)));
}

Result<std::unique_ptr<Engine>> Engine::Restore(const pb::RoutingConfig& config, const Clock* clock,
                                                const pb::EngineState& state) {
  auto engine = Create(config, clock);
  if (!engine.ok()) return engine.status();
  SB_RETURN_IF_ERROR((*engine)->impl_->Import(state));
  return engine;
}

#define SB_ENGINE_CALL(out, call) \
  impl_->BeginCall();             \
  impl_->RunTimers(out);          \
  return impl_->call

Status Engine::ContactArrived(const pb::Contact& contact, Decisions* out) {
  SB_ENGINE_CALL(out, ContactArrived(contact, out));
}
Status Engine::ContactCancelled(std::string_view id, Decisions* out) {
  SB_ENGINE_CALL(out, EndWaiting(id, /*abandoned=*/false, out));
}
Status Engine::ContactAbandoned(std::string_view id, Decisions* out) {
  SB_ENGINE_CALL(out, EndWaiting(id, /*abandoned=*/true, out));
}
Status Engine::ContactEnded(std::string_view id, Decisions* out, std::string_view agent_id,
                            std::string_view session) {
  SB_ENGINE_CALL(out, ContactEnded(id, agent_id, session, out));
}
Status Engine::ContactTransferred(const pb::ContactTransferred& transfer, Decisions* out) {
  SB_ENGINE_CALL(out, Transfer(transfer, out));
}
Status Engine::AgentLogin(const pb::Agent& agent, bool ready, Decisions* out,
                          std::string_view session) {
  SB_ENGINE_CALL(out, Login(agent, ready, session, out));
}
Status Engine::AgentLogout(std::string_view id, Decisions* out, std::string_view session) {
  SB_ENGINE_CALL(out, Logout(id, session, out));
}
Status Engine::AgentReady(std::string_view id, Decisions* out, std::string_view session) {
  SB_ENGINE_CALL(out, SetReady(id, session, out));
}
Status Engine::AgentNotReady(std::string_view id, std::string_view reason, Decisions* out,
                             std::string_view session) {
  SB_ENGINE_CALL(out, SetNotReady(id, reason, session, out));
}
Status Engine::OfferAccepted(std::string_view agent_id, std::string_view contact_id,
                             uint32_t attempt, Decisions* out, std::string_view session) {
  SB_ENGINE_CALL(out, Accept(agent_id, contact_id, attempt, session, out));
}
Status Engine::OfferRejected(std::string_view agent_id, std::string_view contact_id,
                             uint32_t attempt, Decisions* out, std::string_view session) {
  SB_ENGINE_CALL(out, Reject(agent_id, contact_id, attempt, session, out));
}
Status Engine::WrapUpDone(std::string_view agent_id, std::string_view contact_id, Decisions* out,
                          std::string_view disposition, std::string_view session) {
  SB_ENGINE_CALL(out, WrapUp(agent_id, contact_id, disposition, session, out));
}
#undef SB_ENGINE_CALL

void Engine::Tick(Decisions* out) {
  impl_->BeginCall();
  impl_->RunTimers(out);
}

Status Engine::Apply(const pb::RoutingEvent& e, Decisions* out) {
  Status st = Dispatch(e, out);
  if (!st.ok() && AnswersRefusal(e)) out->push_back(RefusalOf(e, st, now_ms()));
  return st;
}

Status Engine::Dispatch(const pb::RoutingEvent& e, Decisions* out) {
  switch (e.event_case()) {
    case pb::RoutingEvent::kContactArrived:
      return ContactArrived(e.contact_arrived().contact(), out);
    case pb::RoutingEvent::kContactCancelled:
      return ContactCancelled(e.contact_cancelled().contact_id(), out);
    case pb::RoutingEvent::kContactAbandoned:
      return ContactAbandoned(e.contact_abandoned().contact_id(), out);
    case pb::RoutingEvent::kContactEnded:
      return ContactEnded(e.contact_ended().contact_id(), out, e.contact_ended().agent_id(),
                          e.contact_ended().session());
    case pb::RoutingEvent::kContactTransferred:
      return ContactTransferred(e.contact_transferred(), out);
    case pb::RoutingEvent::kAgentLogin:
      return AgentLogin(e.agent_login().agent(), e.agent_login().ready(), out,
                        e.agent_login().session());
    case pb::RoutingEvent::kAgentLogout:
      return AgentLogout(e.agent_logout().agent_id(), out, e.agent_logout().session());
    case pb::RoutingEvent::kAgentReady:
      return AgentReady(e.agent_ready().agent_id(), out, e.agent_ready().session());
    case pb::RoutingEvent::kAgentNotReady:
      return AgentNotReady(e.agent_not_ready().agent_id(), e.agent_not_ready().reason(), out,
                           e.agent_not_ready().session());
    case pb::RoutingEvent::kOfferAccepted:
      return OfferAccepted(e.offer_accepted().agent_id(), e.offer_accepted().contact_id(),
                           e.offer_accepted().attempt(), out, e.offer_accepted().session());
    case pb::RoutingEvent::kOfferRejected:
      return OfferRejected(e.offer_rejected().agent_id(), e.offer_rejected().contact_id(),
                           e.offer_rejected().attempt(), out, e.offer_rejected().session());
    case pb::RoutingEvent::kWrapUpDone:
      return WrapUpDone(e.wrap_up_done().agent_id(), e.wrap_up_done().contact_id(), out,
                        e.wrap_up_done().disposition(), e.wrap_up_done().session());
    case pb::RoutingEvent::kTimer:
      Tick(out);
      return Status::Ok();
    case pb::RoutingEvent::kFollowUp:
      return InvalidArgument(
          "event.follow_up: a follow-up command is for a shard's follow-up scheduler, not the "
          "routing engine");
    case pb::RoutingEvent::kConfigChanged:
      return InvalidArgument(
          "event.config_changed: a config change is for the shard (it rebuilds the engine), not "
          "the routing engine");
    case pb::RoutingEvent::kIdentityReserve:
    case pb::RoutingEvent::kIdentityRelease:
    case pb::RoutingEvent::kIdentityAnswer:
      return DispatchIdentity(e, out);
    case pb::RoutingEvent::EVENT_NOT_SET:
      break;
  }
  return InvalidArgument("event: no event set");
}

Result<ContactView> Engine::GetContact(std::string_view id) const { return impl_->GetContact(id); }
Result<AgentView> Engine::GetAgent(std::string_view id) const { return impl_->GetAgent(id); }
Summary Engine::Summarize() const { return impl_->Summarize(); }
std::vector<AgentListing> Engine::ListAgents() const { return impl_->ListAgents(); }
pb::EngineState Engine::ExportState() const { return impl_->Export(); }
int64_t Engine::now_ms() const { return impl_->now_ms(); }
void Engine::TrackChanges(bool on) { impl_->TrackChanges(on); }
void Engine::TakeChanges(Changes* out) { impl_->TakeChanges(out); }
size_t Engine::live_contacts() const { return impl_->live_contacts(); }
size_t Engine::logged_in_agents() const { return impl_->logged_in_agents(); }

}  // namespace sb::engine
