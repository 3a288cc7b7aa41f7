#include "tools/loadgen/ledger.h"

#include <algorithm>

namespace sb::loadgen {

void Ledger::Submitted(const std::string& contact_id, int64_t at_ms, bool measured) {
  Contact& c = contacts_[contact_id];
  c.submitted_ms = at_ms;
  c.measured = measured;
  ++waiting_;
  if (first_submit_ms_ < 0) first_submit_ms_ = at_ms;
}

void Ledger::MarkFinal(Contact& c) {
  if (c.abandoned || c.connected) return;  // already final
  ++final_;
  if (c.first_offer_ms < 0) --waiting_;
}

void Ledger::Abandoned(const std::string& contact_id) {
  auto it = contacts_.find(contact_id);
  if (it == contacts_.end()) return;
  MarkFinal(it->second);
  it->second.abandoned = true;
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
      ++offers_;
      if (!eligible) ++ineligible_;
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
        ++duplicates_;  // connected although the customer had left: the contact was served twice
        return Seen::kConflict;
      }
      MarkFinal(c);
      if (!c.connected) ++connected_;
      c.connected = true;
      c.connected_as = as;
      break;
    }
    case pb::DECISION_TRANSFERRED:
      // Handed on while connected: the next agent's connection is the same customer served
      // once, not a second assignment (it stays counted as assigned).
      c.connected_as.clear();
      break;
    case pb::DECISION_EXPIRE:
      MarkFinal(c);
      c.abandoned = true;
      break;
    default:
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
  return it != contacts_.end() && it->second.abandoned;
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
    }
    if (c.measured && c.first_offer_ms >= 0) waits.push_back(c.first_offer_ms - c.submitted_ms);
  }
  v.duplicates = duplicates_;
  v.ineligible = ineligible_;
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
