// The load generator's book of contacts and the outputs seen for them: the verification behind
// `switchboard loadgen --verify`. Pure: no I/O, times passed in.
//
// Counting rules (one contact = one customer):
//   assigned    a DECISION_CONNECTED was seen for it (an agent accepted and the shard connected).
//               A transferred contact (DECISION_TRANSFERRED) connected again is still one.
//   abandoned   the simulated customer left before any offer, or the router expired it.
//   lost        submitted, and neither assigned nor abandoned when the run ended.
//   duplicates  outputs that contradict each other: the same output id with different content,
//               or a contact connected twice (a second agent or a second attempt).
//   ineligible  an offer to an agent lacking a required skill at the queue's minimum.
//   redelivered identical repeats of an output (expected after a crash: consumers drop them).
// Latency: submit → first offer of the contact, per contact.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "switchboard/v1/cluster.pb.h"

namespace sb::loadgen {

namespace pb = ::switchboard::v1;

// The counts so far, for a live status while contacts are still open.
struct Tally {
  uint64_t submitted = 0, offered = 0, assigned = 0, abandoned = 0, duplicates = 0, ineligible = 0;
  uint64_t waiting = 0;  // submitted, neither offered yet nor final
};

struct Verdict {
  uint64_t submitted = 0, assigned = 0, abandoned = 0, lost = 0, duplicates = 0, ineligible = 0;
  uint64_t redelivered = 0, offers = 0;
  double p50_ms = 0, p99_ms = 0, max_ms = 0;
  // Longest time between two consecutive first offers of the run: how long the cluster made no
  // new assignment (a failover, a broker loss), as long as contacts keep arriving.
  double max_offer_gap_ms = 0;
  double throughput_per_s = 0;  // contacts offered per second, first submit → last first offer
};

class Ledger {
 public:
  enum class Seen { kNew, kRepeat, kConflict };

  void Submitted(const std::string& contact_id, int64_t at_ms, bool measured);
  // The simulated customer hung up (sent only before any offer was seen).
  void Abandoned(const std::string& contact_id);
  // Records an output; `eligible` says whether an OFFER's agent meets the queue's requirements.
  Seen Output(const pb::ShardOutput& out, bool eligible, int64_t at_ms);

  bool Offered(const std::string& contact_id) const;
  bool IsAbandoned(const std::string& contact_id) const;
  // Assigned or abandoned: nothing more is expected for it.
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
    bool abandoned = false;
    bool connected = false;
    std::string connected_as;  // agent#attempt of the connection; cleared by a transfer
  };
  void MarkFinal(Contact& c);

  std::unordered_map<std::string, Contact> contacts_;
  std::unordered_map<std::string, std::string> outputs_;  // output id -> decision bytes
  size_t final_ = 0;
  uint64_t duplicates_ = 0, ineligible_ = 0, redelivered_ = 0, offers_ = 0;
  uint64_t first_offers_ = 0, connected_ = 0, waiting_ = 0;
  std::vector<int64_t> recent_waits_;
  int64_t first_submit_ms_ = -1, last_first_offer_ms_ = -1, max_offer_gap_ms_ = 0;
};

}  // namespace sb::loadgen
