// The load generator's book of contacts and the outputs seen for them: the verification behind
// `switchboard loadgen --verify`. Pure: no I/O, times passed in.
//
// Counting rules (one contact = one customer):
//   assigned    a DECISION_CONNECTED was seen for it (an agent accepted and the shard connected).
//               A transferred contact (DECISION_TRANSFERRED) connected again is still one.
//   abandoned   the router confirmed the customer gone: it expired the contact (DECISION_EXPIRE)
//               or withdrew it because the customer hung up (DECISION_WITHDRAW,
//               REASON_CUSTOMER_LEFT while waiting, REASON_OFFER_ABANDONED during an offer). A
//               hang-up sent is not an abandon.
//   lost        submitted, and neither assigned nor abandoned when the run ended; in particular a
//               hang-up the router refused with NOT_FOUND (it no longer knew the contact) or
//               never confirmed.
//   duplicates  outputs that contradict each other: the same output id with different content,
//               a contact connected twice (a second agent or a second attempt), connected or
//               offered after the router confirmed its customer gone, or offered again while
//               connected (neither transferred nor requeued in between).
//   ineligible  an offer to an agent lacking a required skill at the queue's minimum.
//   over_capacity offers that left their agent holding more capacity units than it has (see
//               Capacity below).
//   redelivered identical repeats of an output (expected after a crash: consumers drop them).
// Latency: submit → first offer of the contact, per contact.
//
// Capacity. An agent holds a contact from its DECISION_OFFER (DECISION_CONNECTED when no offer
// was seen) until an output releases it (REQUEUE, WITHDRAW, TRANSFERRED, AGENT_STATE naming the
// contact: missed offer or ACW limit, or a new offer of the contact) or until the simulated agent
// sent the input that frees it in the engine (Released(): the completion for a queue without
// after-contact work, else the wrap-up). Inputs free the agent in the ledger when they are sent,
// before the router applies them: the check can miss an offer made just before that, never blame
// a correct one. Each contact costs its channel's units of the capacity model (a contact of
// unknown channel: the cheapest channel); an agent has the model's agent_units.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "switchboard/v1/cluster.pb.h"
#include "switchboard/v1/config.pb.h"

namespace sb::loadgen {

namespace pb = ::switchboard::v1;

// The counts so far, for a live status while contacts are still open.
struct Tally {
  uint64_t submitted = 0, offered = 0, assigned = 0, abandoned = 0, duplicates = 0, ineligible = 0;
  uint64_t waiting = 0;  // submitted, neither offered yet nor final
  uint64_t over_capacity = 0;
};

struct Verdict {
  uint64_t submitted = 0, assigned = 0, abandoned = 0, lost = 0, duplicates = 0, ineligible = 0;
  uint64_t over_capacity = 0;
  uint64_t redelivered = 0, offers = 0;
  // Of `lost`: hang-ups sent that the router never confirmed (or refused: contact unknown).
  uint64_t hangups_unconfirmed = 0;
  double p50_ms = 0, p99_ms = 0, max_ms = 0;
  // Longest time between two consecutive first offers of the run: how long the cluster made no
  // new assignment (a failover, a broker loss), as long as contacts keep arriving.
  double max_offer_gap_ms = 0;
  double throughput_per_s = 0;  // contacts offered per second, first submit → last first offer
};

class Ledger {
 public:
  enum class Seen { kNew, kRepeat, kConflict };

  // Offers are checked against `model` (a routing config's, defaults applied: every agent has
  // agent_units). Without a call: at most one voice or callback contact per agent at a time.
  void UseCapacity(const pb::CapacityModel& model);

  // `channel` prices the contact's capacity; CHANNEL_UNSPECIFIED: not known (the cheapest).
  void Submitted(const std::string& contact_id, int64_t at_ms, bool measured,
                 pb::Channel channel = pb::CHANNEL_UNSPECIFIED);
  // The simulated customer hung up: its ContactAbandoned was sent.
  // The contact stays open until the router confirms.
  void HungUp(const std::string& contact_id);
  // `agent_id` sent the input that frees its hold of `contact_id` (offer `attempt`) in the engine.
  // May come before the ledger read the offer or the connection (gRPC agents hear their streams
  // first): that hold is then never taken.
  void Released(const std::string& agent_id, const std::string& contact_id, uint32_t attempt);
  // Records an output; `eligible` says whether an OFFER's agent meets the queue's requirements.
  Seen Output(const pb::ShardOutput& out, bool eligible, int64_t at_ms);

  bool Offered(const std::string& contact_id) const;
  // The customer hung up (sent, confirmed or not), or the router expired the contact: nobody
  // should take it any more.
  bool IsAbandoned(const std::string& contact_id) const;
  // Assigned or abandoned (confirmed): nothing more is expected for it.
  bool IsFinal(const std::string& contact_id) const;
  bool AllFinal() const { return final_ == contacts_.size(); }
  Tally Counts() const;
  // Submit → first offer waits of the measured contacts first offered since the previous call.
  // Undrained, they grow with the book (a few bytes a contact).
  std::vector<int64_t> TakeRecentWaits() { return std::exchange(recent_waits_, {}); }
  Verdict Finish() const;

 private:
  struct Contact {
    int64_t submitted_ms = 0;
    int64_t first_offer_ms = -1;
    bool measured = true;
    bool hung_up = false;    // the customer's hang-up was sent
    bool abandoned = false;  // confirmed by the router
    bool connected = false;
    bool requeued = false;  // connected, then back in its queue (its agent logged out)
    pb::Channel channel = pb::CHANNEL_UNSPECIFIED;
    std::string connected_as;  // agent#attempt of the connection; cleared by a transfer
    std::string holder;        // the agent holding it now (capacity), empty: none
    uint32_t held_units = 0;
  };
  void MarkFinal(Contact& c);
  void Confirm(Contact& c);
  uint32_t UnitsOf(pb::Channel channel) const;
  // Books `agent` holding `c` (counting over_capacity), unless the agent released it already;
  // `connection`: for a DECISION_CONNECTED (the last output an early release waits for).
  void Hold(Contact& c, const std::string& contact_id, const std::string& agent, uint32_t attempt,
            bool connection);
  void Unhold(Contact& c);

  std::unordered_map<std::string, Contact> contacts_;
  std::unordered_map<std::string, std::string> outputs_;  // output id -> decision bytes
  // Capacity: units per agent and per channel; agent_units_ 0 = no model (see UseCapacity).
  uint32_t agent_units_ = 0;
  std::map<int, uint32_t> channel_units_;
  std::unordered_map<std::string, uint32_t> units_held_;  // agent -> units
  std::unordered_set<std::string> released_early_;        // agent#contact#attempt
  size_t final_ = 0;
  uint64_t duplicates_ = 0, ineligible_ = 0, redelivered_ = 0, offers_ = 0, over_capacity_ = 0;
  uint64_t first_offers_ = 0, connected_ = 0, waiting_ = 0;
  std::vector<int64_t> recent_waits_;
  int64_t first_submit_ms_ = -1, last_first_offer_ms_ = -1, max_offer_gap_ms_ = 0;
};

}  // namespace sb::loadgen
