// Views, summaries, and the engine state's protobuf form (export / restore).
#include <algorithm>

#include "router/engine/engine_impl.h"

namespace sb::engine {
namespace {

// Handle time assumed for estimated wait until a queue has completed contacts of its own.
constexpr double kDefaultAhtMs = 180'000;

pb::AgentState Derived(const AgentRec& a) {
  if (!a.logged_in()) return pb::AGENT_STATE_LOGGED_OUT;
  bool offered = false;
  for (const WorkItem& w : a.items) {
    if (w.state == pb::CONTACT_STATE_CONNECTED) return pb::AGENT_STATE_BUSY;
    offered |= w.state == pb::CONTACT_STATE_OFFERED;
  }
  if (offered) return pb::AGENT_STATE_RESERVED;
  if (a.acw_items > 0) return pb::AGENT_STATE_AFTER_CONTACT_WORK;
  return a.presence;
}

bool BySeq(const ContactRec* x, const ContactRec* y) { return x->key.seq < y->key.seq; }

}  // namespace

int64_t EngineImpl::EstimateWaitMs(ContactIdx c, int64_t* position) const {
  const ContactRec& cr = C(c);
  const Sig& s = sigs_[cr.sig];
  if (cr.waiting_for_preferred) {
    const auto& list = A(cr.preferred).preferred_waiting;
    *position = std::find(list.begin(), list.end(), c) - list.begin();
  } else {
    *position = static_cast<int64_t>(s.waiting.order_of_key({cr.key, c}));
  }
  if (s.staffed == 0) return -1;
  const double aht =
      stats_[cr.origin].aht_ewma_ms() > 0 ? stats_[cr.origin].aht_ewma_ms() : kDefaultAhtMs;
  const double per_agent = std::max<uint32_t>(1, cfg_.agent_units() / s.units);
  return static_cast<int64_t>(static_cast<double>(*position + 1) * aht / (s.staffed * per_agent));
}

Result<ContactView> EngineImpl::GetContact(std::string_view contact_id) const {
  auto found = FindContact(contact_id);
  if (!found.ok()) return found.status();
  const ContactRec& cr = C(*found);
  ContactView v{.state = cr.state,
                .queue = cfg_.queue(cr.queue).name,
                .agent_id = "",
                .attempt = cr.attempt,
                .bullseye_step = cr.step,
                .waited_ms = ViewNow() - cr.arrived_ms,
                .position = -1,
                .estimated_wait_ms = -1,
                .origin_queue = cfg_.queue(cr.origin).name,
                .channel = cr.contact.channel(),
                .counts_for_sl = cr.counts_for_sl,
                .answered = cr.answered,
                .arrived_ms = cr.arrived_ms,
                .connected_ms = cr.connected_ms,
                .owner_agent_id = cr.owner,
                .transfers = cr.transfers,
                .handoff_note = cr.handoff_note};
  if (cr.agent != kNoAgent) v.agent_id = A(cr.agent).id;
  if (cr.state == pb::CONTACT_STATE_WAITING)
    v.estimated_wait_ms = EstimateWaitMs(*found, &v.position);
  return v;
}

Result<AgentView> EngineImpl::GetAgent(std::string_view agent_id) const {
  auto found = FindAgent(agent_id);
  if (!found.ok()) return found.status();
  const AgentRec& a = A(*found);
  const int64_t total = a.busy_ms + a.ready_ms;
  return AgentView{Derived(a),
                   a.reason,
                   a.units_used,
                   a.capacity,
                   static_cast<uint32_t>(a.items.size()),
                   total > 0 ? static_cast<double>(a.busy_ms) / static_cast<double>(total) : 0.0};
}

Summary EngineImpl::Summarize() const {
  const int64_t now = ViewNow();
  Summary sum;
  sum.queues.resize(cfg_.queues().size());
  std::vector<const ContactRec*> newest(sum.queues.size(), nullptr);  // newest waiting, by queue
  std::vector<ContactIdx> newest_idx(sum.queues.size(), ContactIdx{0});
  sum.domains.resize(cfg_.num_domains());
  for (size_t d = 0; d < sum.domains.size(); ++d) sum.domains[d].name = cfg_.domain_name(d);
  for (size_t q = 0; q < sum.queues.size(); ++q) {
    QueueSummary& qs = sum.queues[q];
    qs.name = cfg_.queue(q).name;
    qs.stats = stats_[q];
    const uint64_t denom = qs.stats.answered() + qs.stats.abandoned();
    qs.service_level = denom ? static_cast<double>(qs.stats.answered_in_threshold()) / denom : 1.0;
  }
  for (size_t i = 0; i < contacts_.size(); ++i) {
    const ContactRec& c = contacts_[i];
    if (!c.live) continue;
    switch (c.state) {
      case pb::CONTACT_STATE_WAITING: {
        ++sum.waiting;
        QueueSummary& qs = sum.queues[c.queue];
        ++qs.waiting;
        qs.oldest_wait_ms = std::max(qs.oldest_wait_ms, now - c.arrived_ms);
        if (newest[c.queue] == nullptr || newest[c.queue]->key.seq < c.key.seq) {
          newest[c.queue] = &c;
          newest_idx[c.queue] = ContactIdx{static_cast<uint32_t>(i)};
        }
        break;
      }
      case pb::CONTACT_STATE_OFFERED:
        ++sum.being_offered;
        break;
      case pb::CONTACT_STATE_CONNECTED:
        ++sum.connected;
        break;
      default:
        break;
    }
  }
  for (size_t q = 0; q < newest.size(); ++q) {
    int64_t position = 0;
    if (newest[q] != nullptr)
      sum.queues[q].estimated_wait_ms = EstimateWaitMs(newest_idx[q], &position);
  }
  for (const AgentRec& a : agents_) {
    DomainSummary& ds = sum.domains[a.domain];
    switch (Derived(a)) {
      case pb::AGENT_STATE_READY:
        ++sum.agents_ready;
        ++ds.agents_ready;
        break;
      case pb::AGENT_STATE_NOT_READY:
        ++sum.agents_not_ready;
        ++ds.agents_not_ready;
        break;
      case pb::AGENT_STATE_RESERVED:
        ++sum.agents_reserved;
        ++ds.agents_reserved;
        break;
      case pb::AGENT_STATE_BUSY:
        ++sum.agents_busy;
        ++ds.agents_busy;
        break;
      case pb::AGENT_STATE_AFTER_CONTACT_WORK:
        ++sum.agents_acw;
        ++ds.agents_acw;
        break;
      default:
        continue;
    }
    ++sum.agents_logged_in;
    ds.units_in_use += a.units_used;
    ds.capacity_units += a.capacity;
    ds.busy_ms += a.busy_ms;
    ds.ready_ms += a.ready_ms;
  }
  return sum;
}

std::vector<AgentListing> EngineImpl::ListAgents() const {
  std::vector<AgentListing> out;
  for (const AgentRec& a : agents_) {
    if (!a.logged_in()) continue;
    AgentListing& l = out.emplace_back();
    ExportAgent(a, &l.record);
    auto view = GetAgent(a.id);
    if (view.ok()) l.view = std::move(*view);
  }
  return out;
}

void EngineImpl::ExportAgent(const AgentRec& a, pb::AgentRecord* r) const {
  r->mutable_agent()->set_id(a.id);
  r->mutable_agent()->set_domain(cfg_.domain_name(a.domain));
  r->set_presence(a.presence);
  r->set_presence_since_ms(a.presence_since_ms);
  r->set_session(a.session);
  r->set_generation(a.generation);
  r->set_reservation(a.reservation);
  r->set_identity_pending(a.identity_pending);
  // Only its identity (and generation) matters: the next login starts afresh.
  if (!a.logged_in()) return;
  for (size_t s = 0; s < a.prof.size(); ++s) {
    if (a.prof[s] == 0) continue;
    pb::SkillLevel* level = r->mutable_agent()->add_skills();
    level->set_skill(cfg_.skill_name(static_cast<SkillId>(s)));
    level->set_proficiency(a.prof[s]);
  }
  r->mutable_agent()->set_capacity_units(a.configured_capacity);
  r->set_reason(a.reason);
  r->set_idle_since_ms(a.idle_since_ms);
  r->set_busy_ms(a.busy_ms);
  r->set_ready_ms(a.ready_ms);
  r->set_accounted_at_ms(a.accounted_at_ms);
  r->set_difficult_streak(a.difficult_streak);
  for (const WorkItem& w : a.items) {
    pb::WorkItem* item = r->add_items();
    item->set_contact_id(C(w.contact).contact.id());
    item->set_state(w.state);
    item->set_since_ms(w.since_ms);
    item->set_units(w.units);
  }
  for (const Leg& leg : a.legs) {
    pb::WorkItem* item = r->add_items();
    item->set_contact_id(leg.contact_id);
    item->set_state(pb::CONTACT_STATE_COMPLETED);
    item->set_since_ms(leg.since_ms);
    item->set_acw_due_ms(leg.acw_due_ms);
    item->set_queue(cfg_.queue(leg.queue).name);
  }
}

void EngineImpl::ExportContact(const ContactRec& c, pb::ContactRecord* r) const {
  *r->mutable_contact() = c.contact;
  r->set_state(c.state);
  r->set_arrived_ms(c.arrived_ms);
  r->set_seq(c.key.seq);
  r->set_queue(cfg_.queue(c.queue).name);
  r->set_step(c.step);
  r->set_attempt(c.attempt);
  if (c.agent != kNoAgent) r->set_agent_id(A(c.agent).id);
  r->set_state_since_ms(c.state_since_ms);
  for (AgentIdx x : c.excluded) r->add_excluded_agents(A(x).id);
  r->set_preferred_released(c.preferred_released);
  r->set_connected_ms(c.connected_ms);
  r->set_answered(c.answered);
  r->set_next_reason(c.next_reason);
  if (c.queued_ms != c.arrived_ms) r->set_queued_ms(c.queued_ms);
  r->set_owner_agent_id(c.owner);
  r->set_handoff_note(c.handoff_note);
  r->set_transfers(c.transfers);
}

pb::EngineState EngineImpl::Export() const {
  pb::EngineState st;
  st.set_taken_at_ms(now_);
  st.set_next_seq(next_seq_);
  for (const AgentRec& a : agents_) ExportAgent(a, st.add_agents());
  std::vector<const ContactRec*> live;
  for (size_t i = 0; i < contacts_.size(); ++i) {
    if (contacts_[i].live) live.push_back(&contacts_[i]);
  }
  std::sort(live.begin(), live.end(), BySeq);
  for (const ContactRec* c : live) ExportContact(*c, st.add_contacts());
  for (const auto& s : stats_) *st.add_queue_stats() = s;
  for (const auto& [agent, id] : identities_) *st.add_identities() = id;
  return st;
}

// Out of line: with tracking off, C() and A() pay one well-predicted branch and no code size.
void EngineImpl::MarkContact(uint32_t slot) { dirty_contacts_.Mark(slot); }
void EngineImpl::MarkAgent(uint32_t slot) { dirty_agents_.Mark(slot); }

void EngineImpl::TrackChanges(bool on) {
  if (on == tracking_) return;
  tracking_ = on;
  dirty_agents_.Clear();
  dirty_contacts_.Clear();
  removed_contacts_.clear();
  dirty_identities_.clear();
}

void EngineImpl::TakeChanges(Changes* out) {
  out->agents.clear();
  out->contacts.clear();
  out->removed_contacts.clear();
  out->identities.clear();
  out->taken_at_ms = now_;
  out->next_seq = next_seq_;
  out->queue_stats.assign(stats_.begin(), stats_.end());
  if (!tracking_) return;

  // Agents in index order and contacts in arrival order, as Export() writes them.
  std::sort(dirty_agents_.slots.begin(), dirty_agents_.slots.end());
  out->agents.reserve(dirty_agents_.slots.size());
  for (uint32_t i : dirty_agents_.slots) ExportAgent(agents_[i], &out->agents.emplace_back());

  // A touched slot that is free now held a contact that finished (listed in removed_contacts_),
  // or one that arrived and finished between two calls.
  std::vector<const ContactRec*> live;
  for (uint32_t i : dirty_contacts_.slots) {
    if (contacts_[i].live) live.push_back(&contacts_[i]);
  }
  std::sort(live.begin(), live.end(), BySeq);
  out->contacts.reserve(live.size());
  for (const ContactRec* c : live) ExportContact(*c, &out->contacts.emplace_back());

  // An id can finish more than once (it may arrive again); one that is live again is replaced by
  // its record above, not removed.
  std::sort(removed_contacts_.begin(), removed_contacts_.end());
  removed_contacts_.erase(std::unique(removed_contacts_.begin(), removed_contacts_.end()),
                          removed_contacts_.end());
  for (std::string& id : removed_contacts_) {
    if (!contact_index_.contains(id)) out->removed_contacts.push_back(std::move(id));
  }

  for (const std::string& id : dirty_identities_) out->identities.push_back(identities_.at(id));

  dirty_agents_.Clear();
  dirty_contacts_.Clear();
  removed_contacts_.clear();
  dirty_identities_.clear();
}

Status EngineImpl::Import(const pb::EngineState& st) {
  now_ = st.taken_at_ms();
  next_seq_ = st.next_seq();
  Decisions ignored;  // logging agents in from a snapshot decides nothing: no contacts yet

  // 1. Agents, in index order so ties between agents break as before.
  for (const pb::AgentRecord& r : st.agents()) {
    if (r.presence() == pb::AGENT_STATE_LOGGED_OUT) {
      AgentRec& a = A(AgentSlot(r.agent().id()));
      auto domain = cfg_.FindDomain(r.agent().domain());
      a.domain = domain ? *domain : 0;
      a.presence_since_ms = r.presence_since_ms();
      a.session = r.session();
      a.generation = r.generation();
      continue;
    }
    // Login() below reserves nothing: identities are switched on after a restore.
    SB_RETURN_IF_ERROR(Login(r.agent(), /*ready=*/false, r.session(), &ignored));
    AgentRec& a = A(*FindAgent(r.agent().id()));
    a.generation = r.generation();
    a.presence = r.presence();
    a.reason = r.reason();
    a.idle_since_ms = r.idle_since_ms();
    a.presence_since_ms = r.presence_since_ms();
    a.busy_ms = r.busy_ms();
    a.ready_ms = r.ready_ms();
    a.accounted_at_ms = r.accounted_at_ms();
    a.difficult_streak = r.difficult_streak();
    a.reservation = r.reservation();
    a.identity_pending = r.identity_pending();
  }
  for (const pb::AgentIdentity& id : st.identities()) identities_[id.agent_id()] = id;
  // 2. Contacts, placed at their step (creating requirement rankings) but not yet filed.
  for (const pb::ContactRecord& r : st.contacts()) {
    const pb::Contact& contact = r.contact();
    auto current = cfg_.FindQueue(r.queue());
    if (!current) return InvalidArgument("state.contacts: unknown queue for " + contact.id());
    auto admitted = Admit(contact, r.arrived_ms(), r.seq());
    if (!admitted.ok()) return admitted.status();
    const ContactIdx c = *admitted;
    ContactRec& cr = C(c);
    cr.state = r.state();
    cr.answered = r.answered();
    cr.state_since_ms = r.state_since_ms();
    cr.connected_ms = r.connected_ms();
    cr.attempt = r.attempt();
    cr.preferred_released = r.preferred_released();
    cr.next_reason = static_cast<pb::DecisionReason>(r.next_reason());
    if (r.queued_ms() != 0) cr.queued_ms = r.queued_ms();
    cr.owner = r.owner_agent_id();
    cr.handoff_note = r.handoff_note();
    cr.transfers = r.transfers();
    for (const auto& id : r.excluded_agents()) {
      auto it = agent_index_.find(id);
      if (it != agent_index_.end()) cr.excluded.push_back(it->second);
    }
    if (!r.agent_id().empty()) {
      auto a = FindAgent(r.agent_id());
      if (!a.ok()) return a.status();
      cr.agent = *a;
    }
    PlaceAt(c, r.step());
    if (cr.queue != *current)
      return InvalidArgument("state.contacts: queue mismatch for " + contact.id());
  }
  // 3. Work the agents hold.
  for (const pb::AgentRecord& r : st.agents()) {
    if (r.presence() == pb::AGENT_STATE_LOGGED_OUT) continue;
    const AgentIdx a = *FindAgent(r.agent().id());
    AgentRec& ar = A(a);
    for (const pb::WorkItem& item : r.items()) {
      if (item.acw_due_ms() != 0) {  // a transferred leg: stands alone
        auto q = cfg_.FindQueue(item.queue());
        if (!q) return InvalidArgument("state.agents: unknown queue of a leg of " + ar.id);
        ar.legs.push_back({item.contact_id(), *q, item.since_ms(), item.acw_due_ms()});
        ++ar.acw_items;
        timers_.push({item.acw_due_ms(), TimerKind::kLegAcwLimit, 0, ContactIdx{0}, a});
        continue;
      }
      auto c = FindContact(item.contact_id());
      if (!c.ok()) return c.status();
      const ContactRec& cr = C(*c);
      const Sig& s = sigs_[cr.sig];
      ar.items.push_back({*c, item.state(), item.since_ms(), item.units(), s.channel, s.difficult});
      ar.units_used += item.units();
      ++ar.on_channel[s.channel];
      if (item.state() == pb::CONTACT_STATE_OFFERED && s.difficult) ++ar.difficult_pending;
      if (item.state() == pb::CONTACT_STATE_COMPLETED) ++ar.acw_items;
    }
  }
  // 4. File waiting contacts and re-arm the timers that can still act (see Timer).
  for (const pb::ContactRecord& r : st.contacts()) {
    const ContactIdx c = *FindContact(r.contact().id());
    ContactRec& cr = C(c);
    const QueueSpec& q = cfg_.queue(cr.queue);
    const int64_t max_wait = cfg_.queue(cr.origin).max_wait_ms;
    if (max_wait > 0 && cr.arrived_ms + max_wait > now_) {
      Schedule(TimerKind::kMaxWait, c, cr.arrived_ms + max_wait);
    }
    switch (cr.state) {
      case pb::CONTACT_STATE_WAITING:
        if (cr.preferred != kNoAgent && !cr.preferred_released) {
          auto& list = A(cr.preferred).preferred_waiting;
          list.push_back(c);  // contacts come in seq order; re-sorted by key below
          cr.waiting_for_preferred = true;
          Schedule(TimerKind::kPreferredWait, c, cr.queued_ms + q.preferred_wait_ms);
        } else {
          FileWaiting(c);
        }
        ScheduleWaitingTimers(c);
        break;
      case pb::CONTACT_STATE_OFFERED:
        Schedule(TimerKind::kOfferTimeout, c, cr.state_since_ms + q.offer_timeout_ms);
        break;
      case pb::CONTACT_STATE_COMPLETED:
        Schedule(TimerKind::kAcwLimit, c, cr.state_since_ms + q.acw_ms);
        break;
      default:
        break;
    }
  }
  for (uint32_t i = 0; i < agents_.size(); ++i) {
    auto& list = agents_[i].preferred_waiting;
    std::sort(list.begin(), list.end(),
              [this](ContactIdx x, ContactIdx y) { return C(x).key < C(y).key; });
    RefreshReady(AgentIdx{i});
  }
  if (st.queue_stats_size() == static_cast<int>(stats_.size())) {
    for (size_t q = 0; q < stats_.size(); ++q) stats_[q] = st.queue_stats(q);
  }
  return Status::Ok();
}

}  // namespace sb::engine
