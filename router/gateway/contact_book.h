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

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
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

// The caller (Principal::name) a contact was submitted by, stamped by the gateway on the
// ContactArrived it publishes ("sb." keys are refused from callers): every node's book learns it.
inline constexpr char kSubmittedByAttribute[] = "sb.submitted_by";

class ContactBook {
 public:
  explicit ContactBook(ContactBookOptions options = {});

  // A contact entered the cluster (a ContactArrived on sb.contacts, or this gateway's own Submit
  // once acknowledged). A contact already known is left as it is.
  void OnArrived(const pb::Contact& contact, int64_t at_ms) ABSL_LOCKS_EXCLUDED(mu_);
  // Whether the contact was submitted by `caller`, or by no named caller. False for a contact
  // not (or no more) known, and for one known only from decisions (its arrival not read: who
  // submitted it is unknown, so no integrator may reach it).
  bool SubmittedBy(const std::string& contact_id, const std::string& caller) const
      ABSL_LOCKS_EXCLUDED(mu_);
  // Customer- or integrator-side ends, as published on sb.contacts. Applied only where the engine
  // accepts them (cancel and abandon while waiting or offered; end while connected).
  void OnCancelled(const std::string& contact_id, int64_t at_ms) ABSL_LOCKS_EXCLUDED(mu_);
  void OnAbandoned(const std::string& contact_id, int64_t at_ms) ABSL_LOCKS_EXCLUDED(mu_);
  void OnEnded(const std::string& contact_id, int64_t at_ms) ABSL_LOCKS_EXCLUDED(mu_);
  // A shard's decision (ShardOutput.decision on sb.assignments). Repeats are harmless.
  void OnDecision(const pb::Decision& d) ABSL_LOCKS_EXCLUDED(mu_);
  // Forgets ended contacts older than the ttl.
  void Prune(int64_t now_ms) ABSL_LOCKS_EXCLUDED(mu_);

  std::optional<pb::ContactStatus> Get(const std::string& contact_id) const
      ABSL_LOCKS_EXCLUDED(mu_);

  struct Change {
    pb::ContactStatus status;
    uint64_t version = 0;
    std::optional<pb::Decision> decision;  // the decision behind the change, if one
  };
  // The contact's state once its version is above `after_version` (0: at once), or nullopt
  // after `timeout_ms` without a change or when the contact is unknown / forgotten.
  std::optional<Change> WaitChange(const std::string& contact_id, uint64_t after_version,
                                   int timeout_ms) const ABSL_LOCKS_EXCLUDED(mu_);
  size_t size() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Entry {
    pb::ContactStatus status;
    std::string submitted_by;   // kSubmittedByAttribute of its arrival; empty: no named caller
    bool arrival_seen = false;  // its ContactArrived was read (submitted_by is known)
    uint64_t version = 0;
    uint64_t seq = 0;  // position in by_seq_
    std::optional<pb::Decision> decision;
    std::optional<int64_t> ended_at_ms;  // final: its key in ended_
  };
  // Creates the entry if needed.
  Entry& Touch(const std::string& contact_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Changed(const std::string& contact_id, Entry& e, int64_t at_ms)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Evict() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Whether WaitChange() has its answer: the contact's version is above `after_version`, or the
  // contact is not (any more) known.
  bool HasChanged(const std::string& contact_id, uint64_t after_version) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const ContactBookOptions options_;
  mutable absl::Mutex mu_;
  // Signalled at every change. A CondVar rather than Mutex::Await: with many Watch streams
  // waiting, their conditions are then evaluated by the waiting threads, not by the I/O thread
  // at each release of mu_.
  mutable absl::CondVar changed_;
  std::map<std::string, Entry, std::less<>> entries_ ABSL_GUARDED_BY(mu_);
  std::map<uint64_t, std::string> by_seq_ ABSL_GUARDED_BY(mu_);  // oldest change first
  // (ended at, id) of every final entry: one each, removed with the entry.
  std::set<std::pair<int64_t, std::string>> ended_ ABSL_GUARDED_BY(mu_);
  uint64_t next_seq_ ABSL_GUARDED_BY(mu_) = 1;
};

}  // namespace sb::gateway
