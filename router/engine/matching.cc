// The matching core: requirement signatures, ready-agent rankings, offers and requeues.
#include <algorithm>
#include <cassert>
#include <utility>

#include "router/engine/engine_impl.h"

namespace sb::engine {
namespace {

bool Excluded(const ContactRec& c, AgentIdx a) {
  return std::find(c.excluded.begin(), c.excluded.end(), a) != c.excluded.end();
}

}  // namespace

EngineImpl::EngineImpl(CompiledConfig config, const Clock* clock)
    : cfg_(std::move(config)), clock_(clock), stats_(cfg_.queues().size()) {
  for (size_t q = 0; q < stats_.size(); ++q) stats_[q].set_queue(cfg_.queue(q).name);
}

SigIdx EngineImpl::SigFor(QueueIdx queue, pb::Channel channel, bool difficult,
                          std::vector<Req> reqs) {
  std::string key;
  key.reserve(4 + reqs.size() * 3);
  key.push_back(static_cast<char>(queue & 0xff));
  key.push_back(static_cast<char>(queue >> 8));
  key.push_back(static_cast<char>(channel));
  key.push_back(difficult ? 1 : 0);
  for (const Req& r : reqs) {
    key.push_back(static_cast<char>(r.skill & 0xff));
    key.push_back(static_cast<char>(r.skill >> 8));
    key.push_back(static_cast<char>(r.min));
  }
  auto [it, inserted] = sig_index_.try_emplace(std::move(key), static_cast<SigIdx>(sigs_.size()));
  if (!inserted) return it->second;

  // A requirement seen for the first time: rank every logged-in agent that can meet it. This is
  // the one O(agents) step, paid once per distinct requirement.
  const SigIdx idx = it->second;
  Sig& s = sigs_.emplace_back();
  s.queue = queue;
  s.channel = channel;
  s.difficult = difficult;
  s.domain = cfg_.queue(queue).domain;
  s.units = cfg_.units(channel);
  s.reqs = std::move(reqs);
  SigHead& h = heads_.emplace_back();
  h.difficult = difficult;
  h.channel = channel;
  h.units = s.units;
  for (uint32_t i = 0; i < agents_.size(); ++i) {
    AgentRec& a = agents_[i];
    if (!Qualifies(a, sigs_[idx])) continue;
    a.sigs.push_back(idx);
    a.sig_keys.emplace_back();
    a.in_ready.push_back(0);
    ++sigs_[idx].staffed;
    RefreshReady(AgentIdx{i});
  }
  return idx;
}

bool EngineImpl::Qualifies(const AgentRec& a, const Sig& s) const {
  if (!a.logged_in() || a.domain != s.domain) return false;
  for (const Req& r : s.reqs) {
    if (a.prof[r.skill] < r.min) return false;
  }
  return true;
}

bool EngineImpl::AvailableFor(const AgentRec& a, const Sig& s) const {
  return AvailableFor(a, heads_[&s - sigs_.data()]);
}

bool EngineImpl::AvailableFor(const AgentRec& a, const SigHead& h) const {
  if (a.presence != pb::AGENT_STATE_READY || a.acw_items > 0 || a.identity_pending) return false;
  if (a.units_used + h.units > a.capacity) return false;
  for (int on = 1; on < kNumChannels; ++on) {
    if (a.on_channel[on] > 0 && cfg_.blocks(on, h.channel)) return false;
  }
  if (h.difficult && cfg_.difficult_cap() > 0 &&
      a.difficult_streak + a.difficult_pending >= cfg_.difficult_cap()) {
    return false;
  }
  return true;
}

AgentKey EngineImpl::KeyFor(const AgentRec& a, AgentIdx idx, const Sig& s) const {
  AgentKey k;
  k.agent = idx.value();
  switch (cfg_.queue(s.queue).strategy) {
    case pb::STRATEGY_LEAST_OCCUPIED: {
      const int64_t total = a.busy_ms + a.ready_ms;
      k.a = a.units_used;
      k.b = total > 0 ? a.busy_ms * 1'000'000 / total : 0;
      k.c = a.idle_since_ms;
      break;
    }
    case pb::STRATEGY_BEST_SKILL: {
      int64_t sum = 0;
      for (const Req& r : s.reqs) sum += a.prof[r.skill];
      k.a = -sum;
      k.b = a.idle_since_ms;
      break;
    }
    default:  // longest idle; preferred-agent queues pick the rest longest-idle
      k.a = a.idle_since_ms;
      break;
  }
  return k;
}

void EngineImpl::JoinSigs(AgentIdx idx) {
  AgentRec& a = A(idx);
  for (SigIdx s = 0; s < sigs_.size(); ++s) {
    if (!Qualifies(a, sigs_[s])) continue;
    a.sigs.push_back(s);
    a.sig_keys.emplace_back();
    a.in_ready.push_back(0);
    ++sigs_[s].staffed;
  }
}

void EngineImpl::LeaveSigs(AgentIdx idx) {
  AgentRec& a = A(idx);
  for (size_t i = 0; i < a.sigs.size(); ++i) {
    Sig& s = sigs_[a.sigs[i]];
    if (a.in_ready[i]) s.ready.erase(a.sig_keys[i]);
    --s.staffed;
  }
  a.ready_entries = 0;
  a.sigs.clear();
  a.sig_keys.clear();
  a.in_ready.clear();
}

void EngineImpl::RefreshReady(AgentIdx idx) {
  AgentRec& a = A(idx);
  const bool may_work = a.presence == pb::AGENT_STATE_READY && a.acw_items == 0 &&
                        !a.identity_pending && a.units_used + cfg_.min_units() <= a.capacity;
  if (!may_work && a.ready_entries == 0) return;  // the common case for a busy agent
  for (size_t i = 0; i < a.sigs.size(); ++i) {
    Sig& s = sigs_[a.sigs[i]];
    const bool want = may_work && AvailableFor(a, s);
    if (!want) {
      if (a.in_ready[i]) {
        s.ready.erase(a.sig_keys[i]);
        a.in_ready[i] = 0;
        --a.ready_entries;
      }
      continue;
    }
    const AgentKey key = KeyFor(a, idx, s);
    if (a.in_ready[i]) {
      if (key == a.sig_keys[i]) continue;
      s.ready.erase(a.sig_keys[i]);
    } else {
      ++a.ready_entries;
    }
    s.ready.insert(key);
    a.sig_keys[i] = key;
    a.in_ready[i] = 1;
  }
}

void EngineImpl::PlaceAt(ContactIdx c, uint32_t step) {
  ContactRec& cr = C(c);
  Placement p = cfg_.Place(cr.origin, cr.extras, step);
  cr.step = step;
  cr.queue = p.queue;
  cr.sig = SigFor(p.queue, cr.contact.channel(), cr.difficult, std::move(p.reqs));
}

void EngineImpl::Route(ContactIdx c, Decisions* out) {
  ContactRec& cr = C(c);
  const Sig& s = sigs_[cr.sig];
  if (cr.preferred != kNoAgent && !cr.preferred_released) {
    AgentRec& p = A(cr.preferred);
    const QueueSpec& q = cfg_.queue(cr.queue);
    if (!p.logged_in()) {
      cr.preferred_released = true;
      cr.next_reason = pb::REASON_PREFERRED_AGENT_LOGGED_OUT;
    } else if (!Qualifies(p, s) || Excluded(cr, cr.preferred)) {
      cr.preferred_released = true;
      cr.next_reason = pb::REASON_PREFERRED_AGENT_INELIGIBLE;
    } else if (AvailableFor(p, s)) {
      Offer(c, cr.preferred, pb::REASON_PREFERRED_AGENT_IDLE, out);
      return;
    } else if (q.preferred_wait_ms > 0 && now_ < cr.queued_ms + q.preferred_wait_ms) {
      auto& list = p.preferred_waiting;
      auto pos = std::upper_bound(list.begin(), list.end(), c, [this](ContactIdx x, ContactIdx y) {
        return C(x).key < C(y).key;
      });
      list.insert(pos, c);
      cr.waiting_for_preferred = true;
      Schedule(TimerKind::kPreferredWait, c, cr.queued_ms + q.preferred_wait_ms);
      return;
    } else {
      cr.preferred_released = true;
      cr.next_reason = pb::REASON_PREFERRED_AGENT_WAIT_LIMIT;
    }
  }
  for (const AgentKey& k : s.ready) {
    const AgentIdx a{k.agent};
    if (Excluded(cr, a)) continue;
    Offer(c, a, cr.next_reason, out);
    return;
  }
  FileWaiting(c);
}

void EngineImpl::FileWaiting(ContactIdx c) {
  const ContactRec& cr = C(c);
  sigs_[cr.sig].waiting.insert({cr.key, c});
  SigHead& h = heads_[cr.sig];
  if (!h.has_contact || cr.key < h.key) {
    h.key = cr.key;
    h.contact = c;
    h.has_contact = true;
  }
}

void EngineImpl::UpdateHead(SigIdx s) {
  SigHead& h = heads_[s];
  const WaitSet& w = sigs_[s].waiting;
  h.has_contact = !w.empty();
  if (h.has_contact) {
    h.key = w.begin()->key;
    h.contact = w.begin()->contact;
  }
}

void EngineImpl::FillAgent(AgentIdx a, Decisions* out) {
  for (;;) {
    AgentRec& ar = A(a);
    if (ar.presence != pb::AGENT_STATE_READY || ar.acw_items > 0 || ar.identity_pending) break;
    ContactIdx best{};
    bool found = false;
    pb::DecisionReason reason = pb::REASON_BEST_AVAILABLE;
    // Contacts that waited for this agent by name come first.
    for (ContactIdx pc : ar.preferred_waiting) {
      if (AvailableFor(ar, sigs_[C(pc).sig])) {
        best = pc;
        found = true;
        reason = pb::REASON_PREFERRED_AGENT_BUSY_FREED;
        break;
      }
    }
    if (!found) {
      // Compare the heads of this agent's signatures from the compact array; only the winner's
      // contact is looked at (for agents that rejected it). Rare exclusions take the slow path.
      const SigHead* head = nullptr;
      for (SigIdx si : ar.sigs) {
        const SigHead& h = heads_[si];
        if (!h.has_contact || (head != nullptr && !(h.key < head->key))) continue;
        if (!AvailableFor(ar, h)) continue;
        head = &h;
      }
      if (head == nullptr) break;
      best = head->contact;
      if (!C(best).excluded.empty() && Excluded(C(best), a)) {
        if (!BestAllowing(a, &best)) break;
      }
      found = true;
      reason = C(best).next_reason;
    }
    Unfile(best);
    Offer(best, a, reason, out);
  }
  RefreshReady(a);
}

bool EngineImpl::BestAllowing(AgentIdx a, ContactIdx* best) const {
  const AgentRec& ar = A(a);
  const WaitEntry* head = nullptr;
  for (SigIdx si : ar.sigs) {
    const Sig& s = sigs_[si];
    if (s.waiting.empty() || !AvailableFor(ar, heads_[si])) continue;
    for (const WaitEntry& e : s.waiting) {
      if (Excluded(C(e.contact), a)) continue;
      if (head == nullptr || e.key < head->key) head = &e;
      break;
    }
  }
  if (head == nullptr) return false;
  *best = head->contact;
  return true;
}

void EngineImpl::Unfile(ContactIdx c) {
  ContactRec& cr = C(c);
  if (cr.waiting_for_preferred) {
    auto& list = A(cr.preferred).preferred_waiting;
    list.erase(std::find(list.begin(), list.end(), c));
    cr.waiting_for_preferred = false;
    return;
  }
  [[maybe_unused]] const size_t erased = sigs_[cr.sig].waiting.erase({cr.key, c});
  assert(erased == 1);
  if (heads_[cr.sig].has_contact && heads_[cr.sig].contact == c) UpdateHead(cr.sig);
}

void EngineImpl::Offer(ContactIdx c, AgentIdx a, pb::DecisionReason reason, Decisions* out) {
  ContactRec& cr = C(c);
  AgentRec& ar = A(a);
  const Sig& s = sigs_[cr.sig];
  Account(ar);
  cr.state = pb::CONTACT_STATE_OFFERED;
  cr.state_since_ms = now_;
  cr.agent = a;
  ++cr.attempt;
  ar.items.push_back({c, pb::CONTACT_STATE_OFFERED, now_, s.units, s.channel, s.difficult});
  ar.units_used += s.units;
  ++ar.on_channel[s.channel];
  if (s.difficult) ++ar.difficult_pending;
  ar.idle_since_ms = now_;
  Schedule(TimerKind::kOfferTimeout, c, now_ + cfg_.queue(cr.queue).offer_timeout_ms);
  Emit(out, pb::DECISION_OFFER, reason, &cr, &ar);
  cr.next_reason = pb::REASON_BEST_AVAILABLE;
  RefreshReady(a);
}

WorkItem EngineImpl::ReleaseItem(AgentIdx a, ContactIdx c) {
  AgentRec& ar = A(a);
  Account(ar);
  auto it = std::find_if(ar.items.begin(), ar.items.end(),
                         [c](const WorkItem& w) { return w.contact == c; });
  assert(it != ar.items.end());
  const WorkItem item = *it;
  ar.items.erase(it);
  ar.units_used -= item.units;
  --ar.on_channel[item.channel];
  if (item.state == pb::CONTACT_STATE_OFFERED && item.difficult) --ar.difficult_pending;
  if (item.state == pb::CONTACT_STATE_COMPLETED) --ar.acw_items;
  if (ar.items.empty()) ar.idle_since_ms = now_;
  return item;
}

void EngineImpl::Requeue(ContactIdx c, pb::DecisionReason reason, Decisions* out) {
  ContactRec& cr = C(c);
  Emit(out, pb::DECISION_REQUEUE, reason, &cr, cr.agent == kNoAgent ? nullptr : &A(cr.agent));
  cr.state = pb::CONTACT_STATE_WAITING;
  cr.state_since_ms = now_;
  cr.agent = kNoAgent;
  // Its max wait may have run out while it was offered: the timer found it not waiting.
  if (PastMaxWait(cr)) {
    Expire(c, out);
    return;
  }
  MoveToStep(c, cfg_.StepsDue(cr.origin, now_ - cr.queued_ms), out);
  Route(c, out);
}

bool EngineImpl::PastMaxWait(const ContactRec& cr) const {
  const int64_t max_wait = cfg_.queue(cr.origin).max_wait_ms;
  return max_wait > 0 && !cr.answered && now_ - cr.arrived_ms >= max_wait;
}

void EngineImpl::Expire(ContactIdx c, Decisions* out) {
  ContactRec& cr = C(c);
  if (cr.counts_for_sl) StatsOf(cr.origin).set_expired(StatsOf(cr.origin).expired() + 1);
  Emit(out, pb::DECISION_EXPIRE, pb::REASON_MAX_WAIT, &cr, nullptr);
  Finish(c);
}

void EngineImpl::MoveToStep(ContactIdx c, uint32_t step, Decisions* out) {
  ContactRec& cr = C(c);
  const QueueIdx before = cr.queue;
  PlaceAt(c, step);
  if (cr.queue != before) {
    pb::QueueStats& st = StatsOf(cr.origin);
    if (cr.counts_for_sl) st.set_overflowed_out(st.overflowed_out() + 1);
    Emit(out, pb::DECISION_OVERFLOW, pb::REASON_BULLSEYE_STEP, &cr, nullptr);
  }
  ScheduleWaitingTimers(c);
}

void EngineImpl::Account(AgentRec& a) {
  const int64_t elapsed = now_ - a.accounted_at_ms;
  if (elapsed > 0) {
    if (!a.items.empty() || !a.legs.empty()) {
      a.busy_ms += elapsed;
    } else if (a.presence == pb::AGENT_STATE_READY) {
      a.ready_ms += elapsed;
    }
  }
  a.accounted_at_ms = now_;
}

void EngineImpl::Schedule(TimerKind kind, ContactIdx c, int64_t due_ms) {
  timers_.push({due_ms, kind, C(c).key.seq, c});
}

void EngineImpl::ScheduleWaitingTimers(ContactIdx c) {
  const ContactRec& cr = C(c);
  const auto& steps = cfg_.queue(cr.origin).steps;
  if (cr.step < steps.size())
    Schedule(TimerKind::kBullseye, c, cr.queued_ms + steps[cr.step].after_ms);
}

void EngineImpl::RunTimers(Decisions* out) {
  while (!timers_.empty() && timers_.top().due_ms <= now_) {
    const Timer t = timers_.top();
    timers_.pop();
    FireTimer(t, out);
  }
}

void EngineImpl::FireTimer(const Timer& t, Decisions* out) {
  if (t.kind == TimerKind::kLegAcwLimit) {
    // Every transferred leg of the agent whose limit is due ends, oldest first.
    if (t.agent.value() >= agents_.size()) return;
    const AgentRec& seen = std::as_const(*this).A(t.agent);
    bool ended = false;
    for (size_t i = 0; i < seen.legs.size();) {
      const Leg& leg = seen.legs[i];
      if (leg.acw_due_ms > now_) {
        ++i;
        continue;
      }
      Decision& d = out->emplace_back();
      d.type = pb::DECISION_AGENT_STATE;
      d.reason = pb::REASON_ACW_LIMIT;
      d.at_ms = now_;
      d.contact_id = leg.contact_id;
      d.queue = cfg_.queue(leg.queue).name;
      d.agent_id = seen.id;
      CloseLeg(t.agent, i);
      ended = true;
    }
    if (ended) FillAgent(t.agent, out);
    return;
  }
  if (t.contact.value() >= contacts_.size()) return;
  // Most timers are stale: look through the const accessor so they do not mark the slot changed.
  const ContactRec& seen = std::as_const(*this).C(t.contact);
  if (!seen.live || seen.key.seq != t.contact_seq) return;  // contact gone: stale timer
  ContactRec& cr = C(t.contact);
  const QueueSpec& q = cfg_.queue(cr.queue);
  switch (t.kind) {
    case TimerKind::kOfferTimeout: {
      if (cr.state != pb::CONTACT_STATE_OFFERED || now_ < cr.state_since_ms + q.offer_timeout_ms)
        return;
      const AgentIdx a = cr.agent;
      ReleaseItem(a, t.contact);
      AgentRec& ar = A(a);
      ar.presence = pb::AGENT_STATE_NOT_READY;
      ar.reason = "missed offer";
      ar.presence_since_ms = now_;
      RefreshReady(a);  // before the requeue: the contact must not come straight back to it
      Emit(out, pb::DECISION_AGENT_STATE, pb::REASON_MISSED_OFFER, &cr, &ar);
      Requeue(t.contact, pb::REASON_OFFER_TIMEOUT, out);
      return;
    }
    case TimerKind::kAcwLimit: {
      if (cr.state != pb::CONTACT_STATE_COMPLETED || now_ < cr.state_since_ms + q.acw_ms) return;
      const AgentIdx a = cr.agent;
      ReleaseItem(a, t.contact);
      Emit(out, pb::DECISION_AGENT_STATE, pb::REASON_ACW_LIMIT, &cr, &A(a));
      Finish(t.contact);
      FillAgent(a, out);
      return;
    }
    case TimerKind::kPreferredWait: {
      // A timer of an earlier wait (before a transfer) is stale.
      if (!cr.waiting_for_preferred || now_ < cr.queued_ms + q.preferred_wait_ms) return;
      Unfile(t.contact);
      cr.preferred_released = true;
      cr.next_reason = pb::REASON_PREFERRED_AGENT_WAIT_LIMIT;
      Route(t.contact, out);
      return;
    }
    case TimerKind::kBullseye: {
      if (cr.state != pb::CONTACT_STATE_WAITING) return;
      const uint32_t due = cfg_.StepsDue(cr.origin, now_ - cr.queued_ms);
      if (due <= cr.step) return;
      Unfile(t.contact);
      MoveToStep(t.contact, due, out);
      Route(t.contact, out);
      return;
    }
    case TimerKind::kMaxWait: {
      if (cr.state != pb::CONTACT_STATE_WAITING || !PastMaxWait(cr)) return;
      Unfile(t.contact);
      Expire(t.contact, out);
      return;
    }
    case TimerKind::kLegAcwLimit:
      return;  // handled above
  }
}

void EngineImpl::Finish(ContactIdx c) {
  ContactRec& cr = C(c);
  NoteRemoved(cr);
  contact_index_.erase(cr.contact.id());
  // Reset the record but keep its buffers: the next contact in this slot reuses them.
  pb::Contact contact;
  contact.Swap(&cr.contact);
  contact.Clear();
  std::vector<Req> extras = std::move(cr.extras);
  std::vector<AgentIdx> excluded = std::move(cr.excluded);
  extras.clear();
  excluded.clear();
  cr = ContactRec{};
  cr.contact.Swap(&contact);
  cr.extras = std::move(extras);
  cr.excluded = std::move(excluded);
  free_contacts_.push_back(c);
}

void EngineImpl::Emit(Decisions* out, pb::DecisionType type, pb::DecisionReason reason,
                      const ContactRec* c, const AgentRec* a) {
  Decision& d = out->emplace_back();
  d.type = type;
  d.reason = reason;
  d.at_ms = now_;
  if (c != nullptr) {
    d.contact_id = c->contact.id();
    d.queue = cfg_.queue(c->queue).name;
    d.attempt = c->attempt;
    d.bullseye_step = c->step;
    if (c->transfers > 0) {
      d.owner_agent_id = c->owner;
      d.handoff_note = c->handoff_note;
    }
  }
  if (a != nullptr) d.agent_id = a->id;
}

}  // namespace sb::engine
