// The follow-up scheduler bound to the shard's state store and an output sink.
//
// Each call runs the pure Scheduler, then commits its effects as one RocksDB batch — changed
// tasks, their due-index entries, the contacts to publish (outbox) and the input position the
// call came from — and only then publishes the contacts, deleting them from the outbox after
// the sink accepted them. A crash anywhere leaves either the old state (the input is re-read
// from the recorded position) or the new state with an outbox; on open, outbox contacts the sink
// does not already hold are published. So every attempt reaches the sink exactly once, and a
// restart resumes exactly where the last commit stopped.
//
// Thread: owned by the shard's owner thread, like the Scheduler and the Store it uses.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/status.h"
#include "router/followup/scheduler.h"
#include "state-store/store.h"

namespace sb::followup {

// Where fired follow-ups go (the cluster publishes to Kafka sb.contacts; tests use a file).
class Sink {
 public:
  virtual ~Sink() = default;
  // Durably accepts one contact. Called in order; an error stops the caller, who retries the
  // rest (from its outbox) on the next call or restart.
  virtual Status Publish(const pb::Contact& contact) = 0;
  // Whether a contact with this id was accepted before (asked only on restart, for the outbox).
  virtual Result<bool> Contains(std::string_view contact_id) = 0;
};

// The input a call came from: committed with its effects, read back with InputPosition().
struct InputPosition {
  std::string source;
  uint64_t position = 0;
};

class DurableScheduler {
 public:
  // Loads every task and the outage switch from `store`, then publishes any contacts left in
  // the outbox by a crash (those the sink does not hold yet). `store`, `clock` and `sink` must
  // outlive the scheduler. Fails when stored tasks are corrupt (naming the store's dir).
  static Result<std::unique_ptr<DurableScheduler>> Open(store::Store* store, Settings settings,
                                                        const Clock* clock, Sink* sink);

  Result<std::string> Submit(const pb::FollowUpRequest& request,
                             const std::optional<InputPosition>& from = std::nullopt);
  Status RecordOutcome(std::string_view task_id, uint32_t attempt, pb::AttemptOutcome outcome,
                       std::string_view agent_id, std::string_view note,
                       const std::optional<InputPosition>& from = std::nullopt);
  Status Cancel(std::string_view task_id, std::string_view reason);
  Status AdvanceRepair(std::string_view task_id, pb::RepairStage stage);
  Status Complete(std::string_view task_id, std::string_view note);
  Status SetOutage(bool on);
  // Removes every task of the customer (Scheduler::Erase) from memory and the store.
  Result<std::vector<std::string>> Erase(std::string_view customer_id);
  // Fires what is due, at most `max_actions` tasks in one committed batch; returns how many
  // contacts were published. Call again while it returns max_actions' worth of work.
  Result<size_t> Tick(size_t max_actions = 1024);

  const Scheduler& core() const { return *core_; }
  store::Store* store() const { return store_; }
  // Contacts published (after commit) since Open, for figures and tests.
  uint64_t published() const { return published_; }
  // What the last call changed and published (valid until the next call).
  const Effects& last_effects() const { return fx_; }

 private:
  DurableScheduler(store::Store* store, std::unique_ptr<Scheduler> core, Sink* sink)
      : store_(store), core_(std::move(core)), sink_(sink) {}
  // Commits `fx` (+ input position) and publishes its contacts. A call that failed but still
  // changed something (e.g. timers fired first) is persisted too.
  Status Persist(Effects* fx, const std::optional<InputPosition>& from, bool write_outage = false);
  Status Publish(const std::vector<pb::Contact>& contacts);
  // Runs one core call on fresh effects and persists what it changed; returns the call's status.
  Status Apply(const std::function<Status(Effects*)>& call,
               const std::optional<InputPosition>& from);

  store::Store* store_;
  std::unique_ptr<Scheduler> core_;
  Sink* sink_;
  uint64_t published_ = 0;
  Effects fx_;  // reused between calls
};

}  // namespace sb::followup
