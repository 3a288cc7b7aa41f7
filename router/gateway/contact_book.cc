#include "router/gateway/contact_book.h"

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace sb::gateway {

bool IsFinal(pb::ContactState state) {
  return state == pb::CONTACT_STATE_COMPLETED || state == pb::CONTACT_STATE_ABANDONED ||
         state == pb::CONTACT_STATE_CANCELLED || state == pb::CONTACT_STATE_EXPIRED;
}

namespace {

// The decisions that change a contact's state. The others (refusals, agent states, a type of a
// newer build) leave the book as it is and make no entry: one would be in no state.
bool ChangesContact(pb::DecisionType type) {
  switch (type) {
    case pb::DECISION_OFFER:
    case pb::DECISION_CONNECTED:
    case pb::DECISION_TRANSFERRED:
    case pb::DECISION_REQUEUE:
    case pb::DECISION_OVERFLOW:
    case pb::DECISION_EXPIRE:
    case pb::DECISION_WITHDRAW:
      return true;
    default:
      return false;
  }
}

}  // namespace

ContactBook::ContactBook(ContactBookOptions options) : options_(options) {}

ContactBook::Entry& ContactBook::Touch(const std::string& contact_id) {
  auto [it, fresh] = entries_.try_emplace(contact_id);
  if (fresh) {
    it->second.status.set_contact_id(contact_id);
    it->second.status.set_estimated_wait_s(-1);
  }
  return it->second;
}

void ContactBook::Changed(const std::string& contact_id, Entry& e, int64_t at_ms) {
  e.status.set_updated_at_ms(at_ms);
  ++e.version;
  if (e.seq != 0) by_seq_.erase(e.seq);
  e.seq = next_seq_++;
  by_seq_[e.seq] = contact_id;
  if (e.ended_at_ms) ended_.erase({*e.ended_at_ms, contact_id});
  e.ended_at_ms.reset();
  if (IsFinal(e.status.state())) {
    e.ended_at_ms = at_ms;
    ended_.emplace(at_ms, contact_id);
  }
  Evict();
  changed_.SignalAll();
}

void ContactBook::Evict() {
  while (entries_.size() > options_.max_contacts && !by_seq_.empty()) {
    auto oldest = by_seq_.begin();
    auto it = entries_.find(oldest->second);
    if (it != entries_.end() && it->second.ended_at_ms) {
      ended_.erase({*it->second.ended_at_ms, it->first});
    }
    entries_.erase(it);
    by_seq_.erase(oldest);
  }
}

void ContactBook::OnArrived(const pb::Contact& contact, int64_t at_ms) {
  absl::MutexLock lock(&mu_);
  auto by = contact.attributes().find(kSubmittedByAttribute);
  if (auto known = entries_.find(contact.id()); known != entries_.end()) {
    // Known from a decision read first (another topic): only who submitted it is news.
    if (!known->second.arrival_seen && by != contact.attributes().end()) {
      known->second.submitted_by = by->second;
    }
    known->second.arrival_seen = true;
    return;
  }
  Entry& e = Touch(contact.id());
  e.arrival_seen = true;
  if (by != contact.attributes().end()) e.submitted_by = by->second;
  e.status.set_queue(contact.queue());
  e.status.set_state(pb::CONTACT_STATE_WAITING);
  Changed(contact.id(), e, at_ms);
}

bool ContactBook::SubmittedBy(const std::string& contact_id, const std::string& caller) const {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(contact_id);
  return it != entries_.end() && it->second.arrival_seen &&
         (it->second.submitted_by.empty() || it->second.submitted_by == caller);
}

void ContactBook::OnCancelled(const std::string& contact_id, int64_t at_ms) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(contact_id);
  if (it == entries_.end()) return;
  const auto s = it->second.status.state();
  if (s != pb::CONTACT_STATE_WAITING && s != pb::CONTACT_STATE_OFFERED) return;
  it->second.status.set_state(pb::CONTACT_STATE_CANCELLED);
  it->second.decision.reset();
  Changed(contact_id, it->second, at_ms);
}

void ContactBook::OnAbandoned(const std::string& contact_id, int64_t at_ms) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(contact_id);
  if (it == entries_.end()) return;
  const auto s = it->second.status.state();
  if (s != pb::CONTACT_STATE_WAITING && s != pb::CONTACT_STATE_OFFERED) return;
  it->second.status.set_state(pb::CONTACT_STATE_ABANDONED);
  it->second.decision.reset();
  Changed(contact_id, it->second, at_ms);
}

void ContactBook::OnEnded(const std::string& contact_id, int64_t at_ms) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(contact_id);
  if (it == entries_.end() || it->second.status.state() != pb::CONTACT_STATE_CONNECTED) return;
  it->second.status.set_state(pb::CONTACT_STATE_COMPLETED);
  it->second.decision.reset();
  Changed(contact_id, it->second, at_ms);
}

void ContactBook::OnDecision(const pb::Decision& d) {
  // Refusals change nothing (the engine refused the event); agent states are the agent's.
  if (d.contact_id().empty() || !ChangesContact(d.type())) return;
  absl::MutexLock lock(&mu_);
  Entry& e = Touch(d.contact_id());
  pb::ContactStatus& s = e.status;
  if (IsFinal(s.state())) return;
  // A repeat (a new owner re-publishing after a crash) changes nothing.
  if (e.decision && e.decision->type() == d.type() && e.decision->attempt() == d.attempt() &&
      e.decision->agent_id() == d.agent_id()) {
    return;
  }
  if (!d.queue().empty()) s.set_queue(d.queue());
  // First-contact ownership, as the engine keeps it (set on decisions of transferred contacts).
  if (!d.owner_agent_id().empty()) s.set_owner_agent_id(d.owner_agent_id());
  switch (d.type()) {
    case pb::DECISION_OFFER:
      s.set_state(pb::CONTACT_STATE_OFFERED);
      s.set_agent_id(d.agent_id());
      s.set_attempt(d.attempt());
      break;
    case pb::DECISION_CONNECTED:
      s.set_state(pb::CONTACT_STATE_CONNECTED);
      s.set_agent_id(d.agent_id());
      s.set_attempt(d.attempt());
      // First-contact ownership: the first agent connected stays the owner.
      if (s.owner_agent_id().empty()) s.set_owner_agent_id(d.agent_id());
      break;
    case pb::DECISION_TRANSFERRED:  // waits again, in `queue`, for another agent
    case pb::DECISION_REQUEUE:
    case pb::DECISION_OVERFLOW:
      s.set_state(pb::CONTACT_STATE_WAITING);
      s.clear_agent_id();
      break;
    case pb::DECISION_EXPIRE:
      s.set_state(pb::CONTACT_STATE_EXPIRED);
      s.clear_agent_id();
      break;
    case pb::DECISION_WITHDRAW:
      // The contact left (waiting, or during its offer): the customer hung up (abandoned) or
      // the contact was cancelled.
      s.set_state(d.reason() == pb::REASON_OFFER_ABANDONED || d.reason() == pb::REASON_CUSTOMER_LEFT
                      ? pb::CONTACT_STATE_ABANDONED
                      : pb::CONTACT_STATE_CANCELLED);
      s.clear_agent_id();
      break;
    default:  // ChangesContact() let it through: none
      return;
  }
  s.set_last_decision(d.type());
  s.set_last_reason(d.reason());
  e.decision = d;
  Changed(d.contact_id(), e, d.at_ms());
}

void ContactBook::Prune(int64_t now_ms) {
  // Compared as times before `now_ms`: the end times come from records (any int64), so adding
  // the ttl to them could overflow.
  const int64_t ended_before = now_ms - options_.ended_ttl_ms;
  absl::MutexLock lock(&mu_);
  // In end-time order: an end time far in the future (any producer can write one) waits at the
  // back for its time or the size cap, and holds back nothing that ended before it.
  while (!ended_.empty() && ended_.begin()->first <= ended_before) {
    auto it = entries_.find(ended_.begin()->second);
    ended_.erase(ended_.begin());
    if (it == entries_.end()) continue;
    by_seq_.erase(it->second.seq);
    entries_.erase(it);
  }
}

std::optional<pb::ContactStatus> ContactBook::Get(const std::string& contact_id) const {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(contact_id);
  if (it == entries_.end()) return std::nullopt;
  return it->second.status;
}

bool ContactBook::HasChanged(const std::string& contact_id, uint64_t after_version) const {
  auto it = entries_.find(contact_id);
  return it == entries_.end() || it->second.version > after_version;
}

std::optional<ContactBook::Change> ContactBook::WaitChange(const std::string& contact_id,
                                                           uint64_t after_version,
                                                           int timeout_ms) const {
  absl::MutexLock lock(&mu_);
  const absl::Time deadline = absl::Now() + absl::Milliseconds(timeout_ms);
  while (!HasChanged(contact_id, after_version)) {
    if (changed_.WaitWithDeadline(&mu_, deadline)) break;  // timed out
  }
  auto it = entries_.find(contact_id);
  if (it == entries_.end() || it->second.version <= after_version) return std::nullopt;
  return Change{it->second.status, it->second.version, it->second.decision};
}

size_t ContactBook::size() const {
  absl::MutexLock lock(&mu_);
  return entries_.size();
}

}  // namespace sb::gateway
