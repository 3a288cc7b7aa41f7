// The gateway's bounded view of contact states, fed from what the cluster publishes: arrivals,
// cancels, abandons and ends on sb.contacts, and the shards' decisions on sb.assignments. It
// answers ContactService.Get and wakes ContactService.Watch streams.
//
// Bounded: at most `max_contacts` entries (the least recently changed go first) and an ended
// contact is kept `ended_ttl_ms` after its end, then forgotten (Get answers NOT_FOUND).
//
// Threads: thread-safe. The gateway's I/O thread writes (On*, Prune); gRPC handler threads read
// and wait. One mutex guards everything.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "switchboard/v1/contact.pb.h"
#include "switchboard/v1/decision.pb.h"
#include "switchboard/v1/services.pb.h"
#include "switchboard/v1/stats.pb.h"

namespace sb::gateway {

namespace pb = ::switchboard::v1;

struct ContactBookOptions {
  size_t max_contacts = 100000;
  int64_t ended_ttl_ms = 15 * 60 * 1000;
};

// Completed, abandoned, cancelled or expired: nothing changes it any more.
bool IsFinal(pb::ContactState state);

class ContactBook {
 public:
  explicit ContactBook(ContactBookOptions options = {});

  // A contact entered the cluster (a ContactArrived on sb.contacts, or this gateway's own Submit
  // once acknowledged). A contact already known is left as it is.
  void OnArrived(const pb::Contact& contact, int64_t at_ms);
  // Customer- or integrator-side ends, as published on sb.contacts. Applied only where the engine
  // accepts them (cancel and abandon while waiting or offered; end while connected).
  void OnCancelled(const std::string& contact_id, int64_t at_ms);
  void OnAbandoned(const std::string& contact_id, int64_t at_ms);
  void OnEnded(const std::string& contact_id, int64_t at_ms);
  // A shard's decision (ShardOutput.decision on sb.assignments). Repeats are harmless.
  void OnDecision(const pb::Decision& d);
  // Forgets ended contacts older than the ttl.
  void Prune(int64_t now_ms);

  std::optional<pb::ContactStatus> Get(const std::string& contact_id) const;

  struct Change {
    pb::ContactStatus status;
    uint64_t version = 0;
    std::optional<pb::Decision> decision;  // the decision behind the change, if one
  };
  // The contact's state once its version is above `after_version` (0: at once), or nullopt
  // after `timeout_ms` without a change or when the contact is unknown / forgotten.
  std::optional<Change> WaitChange(const std::string& contact_id, uint64_t after_version,
                                   int timeout_ms) const;
  size_t size() const;

 private:
  struct Entry {
    pb::ContactStatus status;
    uint64_t version = 0;
    uint64_t seq = 0;  // position in by_seq_
    std::optional<pb::Decision> decision;
  };
  // REQUIRES: mu_ held. Creates the entry if needed.
  Entry& Touch(const std::string& contact_id);
  void Changed(const std::string& contact_id, Entry& e, int64_t at_ms);
  void Evict();

  const ContactBookOptions options_;
  mutable std::mutex mu_;
  mutable std::condition_variable changed_;
  std::map<std::string, Entry, std::less<>> entries_;  // GUARDED_BY(mu_)
  std::map<uint64_t, std::string> by_seq_;             // GUARDED_BY(mu_): oldest change first
  std::deque<std::pair<int64_t, std::string>> ended_;  // GUARDED_BY(mu_): (ended at, id)
  uint64_t next_seq_ = 1;                              // GUARDED_BY(mu_)
};

}  // namespace sb::gateway
