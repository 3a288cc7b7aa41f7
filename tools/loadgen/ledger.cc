#include "tools/loadgen/ledger.h"

#include <algorithm>

namespace sb::loadgen {
namespace {

std::string HoldKey(const std::string& agent, const std::string& contact, uint32_t attempt) {
  return agent + "#" + contact + "#" + std::to_string(attempt);
}

}  // namespace

void Ledger::UseCapacity(const pb::CapacityModel& model) {
  agent_units_ = model.agent_units();
  channel_units_.clear();
  for (const pb::ChannelCost& cost : model.costs()) channel_units_[cost.channel()] = cost.units();
}

uint32_t Ledger::UnitsOf(pb::Channel channel) const {
  if (agent_units_ == 0) {  // no model: voice and callbacks are exclusive, the rest unchecked
    return channel == pb::CHANNEL_VOICE || channel == pb::CHANNEL_CALLBACK ? 1 : 0;
  }
  auto it = channel_units_.find(channel);
  if (it != channel_units_.end()) return it->second;
  // Unknown channel: the cheapest, so an unknown contact never makes a correct offer look wrong.
  uint32_t cheapest = agent_units_;
  for (const auto& [ch, units] : channel_units_) cheapest = std::min(cheapest, units);
  return channel_units_.empty() ? 0 : cheapest;
}

void Ledger::Hold(Contact& c, const std::string& contact_id, const std::string& agent,
                  uint32_t attempt, bool connection) {
  if (agent.empty() || c.holder == agent) return;
  Unhold(c);  // one agent holds a contact at a time: a new offer moved it
  // Released before read: the offer and then the connection come, and neither holds.
  auto early = released_early_.find(HoldKey(agent, contact_id, attempt));
  if (early != released_early_.end()) {
    if (connection) released_early_.erase(early);
    return;
  }
  c.holder = agent;
  c.held_units = UnitsOf(c.channel);
  uint32_t& held = units_held_[agent];
  held += c.held_units;
  const uint32_t capacity = agent_units_ == 0 ? 1 : agent_units_;
  if (c.held_units > 0 && held > capacity) ++over_capacity_;
}

void Ledger::Unhold(Contact& c) {
  if (c.holder.empty()) return;
  auto it = units_held_.find(c.holder);
  if (it != units_held_.end()) {
    it->second -= std::min(it->second, c.held_units);
    if (it->second == 0) units_held_.erase(it);
  }
  c.holder.clear();
  c.held_units = 0;
}

void Ledger::Released(const std::string& agent_id, const std::string& contact_id,
                      uint32_t attempt) {
  auto it = contacts_.find(contact_id);
  if (it == contacts_.end()) return;
  Contact& c = it->second;
  if (c.holder == agent_id) {
    Unhold(c);
  } else if (c.connected_as != agent_id + "#" + std::to_string(attempt)) {
    // Not read yet (a gRPC desk heard it first): the hold, when read, is already over.
    released_early_.insert(HoldKey(agent_id, contact_id, attempt));
  }
}

void Ledger::Submitted(const std::string& contact_id, int64_t at_ms, bool measured,
                       pb::Channel channel) {
  Contact& c = contacts_[contact_id];
  c.submitted_ms = at_ms;
  c.measured = measured;
  c.channel = channel;
  ++waiting_;
  if (first_submit_ms_ < 0) first_submit_ms_ = at_ms;
}

void Ledger::MarkFinal(Contact& c) {
  if (c.abandoned || c.connected) return;  // already final
  ++final_;
  if (c.first_offer_ms < 0) --waiting_;
}

void Ledger::Confirm(Contact& c) {
  MarkFinal(c);
  c.abandoned = true;
}

void Ledger::HungUp(const std::string& contact_id) {
  auto it = contacts_.find(contact_id);
  if (it != contacts_.end()) it->second.hung_up = true;
}

Ledger::Seen Ledger::Output(const pb::ShardOutput& out, bool eligible, int64_t at_ms) {
  const std::string bytes = out.decision().SerializeAsString();
  auto [seen, fresh] = outputs_.try_emplace(out.output_id(), bytes);
  if (!fresh) {
    if (seen->second == bytes) {
      ++redelivered_;
      return Seen::kRepeat;
    }
    ++duplicates_;
    return Seen::kConflict;
  }
  const pb::Decision& d = out.decision();
  auto it = contacts_.find(d.contact_id());
  if (it == contacts_.end()) return Seen::kNew;  // not ours (another run's contact)
  Contact& c = it->second;
  switch (d.type()) {
    case pb::DECISION_OFFER:
      if (c.abandoned || (c.connected && !c.connected_as.empty() && !c.requeued)) {
        // Offered after the router confirmed the customer gone, or while connected and neither
        // transferred nor requeued since (a zombie owner's, or a contact routed twice).
        ++duplicates_;
        return Seen::kConflict;
      }
      ++offers_;
      if (!eligible) ++ineligible_;
      Hold(c, d.contact_id(), d.agent_id(), d.attempt(), /*connection=*/false);
      if (c.first_offer_ms < 0) {
        c.first_offer_ms = at_ms;
        if (last_first_offer_ms_ >= 0) {
          max_offer_gap_ms_ = std::max(max_offer_gap_ms_, at_ms - last_first_offer_ms_);
        }
        last_first_offer_ms_ = std::max(last_first_offer_ms_, at_ms);
        ++first_offers_;
        if (!c.abandoned && !c.connected) --waiting_;
        if (c.measured) recent_waits_.push_back(at_ms - c.submitted_ms);
      }
      break;
    case pb::DECISION_CONNECTED: {
      const std::string as = d.agent_id() + "#" + std::to_string(d.attempt());
      if (c.connected && !c.connected_as.empty() && c.connected_as != as) {
        ++duplicates_;
        return Seen::kConflict;
      }
      if (c.abandoned) {
        ++duplicates_;  // connected although the router confirmed the customer gone
        return Seen::kConflict;
      }
      // A hang-up sent but not confirmed: the router connected first (it refuses the hang-up).
      MarkFinal(c);
      if (!c.connected) ++connected_;
      c.connected = true;
      c.connected_as = as;
      c.requeued = false;
      Hold(c, d.contact_id(), d.agent_id(), d.attempt(), /*connection=*/true);
      break;
    }
    case pb::DECISION_TRANSFERRED:
      // Handed on while connected: the next agent's connection is the same customer served
      // once, not a second assignment (it stays counted as assigned).
      c.connected_as.clear();
      Unhold(c);
      break;
    case pb::DECISION_WITHDRAW:
      Unhold(c);
      if ((d.reason() == pb::REASON_OFFER_ABANDONED || d.reason() == pb::REASON_CUSTOMER_LEFT) &&
          c.hung_up && !c.connected) {
        Confirm(c);
      }
      break;
    case pb::DECISION_REQUEUE:
      // A connected contact goes back to its queue when its agent logs out: offers follow.
      if (c.connected) c.requeued = true;
      if (d.agent_id().empty() || d.agent_id() == c.holder) Unhold(c);
      break;
    case pb::DECISION_AGENT_STATE:  // naming the contact: missed offer, ACW limit
      if (d.reason() == pb::REASON_SESSION_MOVED) break;  // the moved agent keeps it
      if (d.agent_id().empty() || d.agent_id() == c.holder) Unhold(c);
      break;
    case pb::DECISION_EXPIRE:
      Unhold(c);
      if (!c.connected) Confirm(c);
      break;
    default:  // a hang-up refused NOT_FOUND: the router no longer knew the contact (lost)
      break;
  }
  return Seen::kNew;
}

bool Ledger::Offered(const std::string& contact_id) const {
  auto it = contacts_.find(contact_id);
  return it != contacts_.end() && it->second.first_offer_ms >= 0;
}

bool Ledger::IsAbandoned(const std::string& contact_id) const {
  auto it = contacts_.find(contact_id);
  return it != contacts_.end() && (it->second.abandoned || it->second.hung_up);
}

bool Ledger::IsFinal(const std::string& contact_id) const {
  auto it = contacts_.find(contact_id);
  return it != contacts_.end() && (it->second.abandoned || it->second.connected);
}

Tally Ledger::Counts() const {
  Tally t;
  t.submitted = contacts_.size();
  t.offered = first_offers_;
  t.assigned = connected_;
  t.abandoned = final_ - connected_;
  t.duplicates = duplicates_;
  t.ineligible = ineligible_;
  t.over_capacity = over_capacity_;
  t.waiting = waiting_;
  return t;
}

Verdict Ledger::Finish() const {
  Verdict v;
  std::vector<int64_t> waits;
  for (const auto& [id, c] : contacts_) {
    ++v.submitted;
    if (c.connected) {
      ++v.assigned;
    } else if (c.abandoned) {
      ++v.abandoned;
    } else {
      ++v.lost;
      if (c.hung_up) ++v.hangups_unconfirmed;
    }
    if (c.measured && c.first_offer_ms >= 0) waits.push_back(c.first_offer_ms - c.submitted_ms);
  }
  v.duplicates = duplicates_;
  v.ineligible = ineligible_;
  v.over_capacity = over_capacity_;
  v.redelivered = redelivered_;
  v.offers = offers_;
  if (!waits.empty()) {
    std::sort(waits.begin(), waits.end());
    auto at = [&](double q) {
      return static_cast<double>(
          waits[std::min(waits.size() - 1, static_cast<size_t>(q * waits.size()))]);
    };
    v.p50_ms = at(0.50);
    v.p99_ms = at(0.99);
    v.max_ms = static_cast<double>(waits.back());
  }
  v.max_offer_gap_ms = static_cast<double>(max_offer_gap_ms_);
  if (last_first_offer_ms_ > first_submit_ms_ && first_submit_ms_ >= 0) {
    uint64_t offered = 0;
    for (const auto& [id, c] : contacts_) offered += c.first_offer_ms >= 0 ? 1 : 0;
    v.throughput_per_s =
        offered * 1000.0 / static_cast<double>(last_first_offer_ms_ - first_submit_ms_);
  }
  return v;
}

}  // namespace sb::loadgen
