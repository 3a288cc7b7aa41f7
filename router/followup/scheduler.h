// The follow-up scheduler: keeps every promise made to a customer — callbacks, complaint replies,
// return visits, knowledge-gap answers — and watches repair-order and department deadlines.
//
// Pure core: requests, outcomes and Tick() in; effects out (contacts to route, tasks whose stored
// copy changed); time only from the injected Clock; no I/O. The shell persists the changed tasks
// and publishes the contacts (state first, then publish; see
// router/followup/durable_scheduler.h).
//
// Lifecycle of a task: PENDING → (due, inside call windows) FIRING attempt n as a contact with the
// deterministic id "<task>#<n>" → outcome: ANSWERED → DONE; otherwise retry with backoff until
// max_attempts → ESCALATED (a contact "<task>#escalation" to the team-lead queue). A deadline
// passing while PENDING escalates; a callback whose window passes EXPIRES; Cancel() ends any open
// task. Watch kinds (repair stage, department feedback) do not call anyone: they escalate when
// their deadline passes before Complete()/AdvanceRepair(COMPLETED). Every end is kept in the
// task's history and reported through Effects. An ended task is kept `ended_retention_days`
// (the config's personal-data retention), then removed by Tick(); Erase() removes a customer's
// tasks at once (the right to erasure). A removed task is a Change whose Get() is null.
//
// Thread: owned by one thread (the shard's owner thread); not thread-safe.
// Determinism: the same calls at the same clock readings give the same effects, also after
// ExportState()/Restore(), except that the fire-rate bucket starts full after a restore.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "absl/container/btree_set.h"
#include "common/clock.h"
#include "common/status.h"
#include "common/validate/followup_request.h"
#include "router/followup/settings.h"
#include "switchboard/v1/contact.pb.h"
#include "switchboard/v1/followup.pb.h"

namespace sb::followup {

// What one call changed. The shell stores `changed` tasks (moving each due-index entry from
// `old_next_at_ms` to the task's next_at_ms) and then publishes `contacts`, in order.
struct Effects {
  struct Change {
    std::string task_id;
    std::optional<int64_t> old_next_at_ms;  // index entry before this call; nullopt: none
  };
  std::vector<pb::Contact> contacts;
  std::vector<Change> changed;
  std::vector<std::string> ended;           // tasks that reached an end state in this call
  std::unordered_set<std::string> touched;  // bookkeeping: ids already in `changed`

  bool empty() const { return contacts.empty() && changed.empty(); }
  void Clear();
};

struct SchedulerStats {
  uint64_t pending = 0, firing = 0, done = 0, escalated = 0, expired = 0, cancelled = 0;
  uint64_t overdue = 0;  // open tasks past their deadline or fire time by more than a minute
};

class Scheduler {
 public:
  // REQUIRES: `settings` resolved; `clock` outlives the scheduler.
  static std::unique_ptr<Scheduler> Create(Settings settings, const Clock* clock);
  // Rebuilds from ExportState() output (or tasks read back from the store).
  static Result<std::unique_ptr<Scheduler>> Restore(Settings settings, const Clock* clock,
                                                    pb::FollowUpSchedulerState state);
  ~Scheduler();

  // Validates and creates a task; returns its id (= request_id). A request_id seen before
  // returns the existing task's id and changes nothing (idempotent). kInvalidArgument naming the
  // field for a bad request (e.g. a callback without customer_phone or customer_surname).
  Result<std::string> Submit(const pb::FollowUpRequest& request, Effects* out);

  // Outcome of attempt `attempt` of a FIRING task. Recording the same outcome again is a no-op;
  // an outcome for another attempt, or for a task not FIRING, is kFailedPrecondition.
  Status RecordOutcome(std::string_view task_id, uint32_t attempt, pb::AttemptOutcome outcome,
                       std::string_view agent_id, std::string_view note, Effects* out);
  // Ends an open task as CANCELLED. `reason` is required.
  Status Cancel(std::string_view task_id, std::string_view reason, Effects* out);
  // Watch kinds: the department reported back / the repair order moved on. COMPLETED (repair)
  // or Complete() (department feedback) ends the watch as DONE and, for repairs, schedules the
  // return visit.
  Status AdvanceRepair(std::string_view task_id, pb::RepairStage stage, Effects* out);
  Status Complete(std::string_view task_id, std::string_view note, Effects* out);

  // Outage switch: while on, nothing fires, escalates or expires. Switching off extends the
  // expiry of every open task by the outage's length; the backlog then drains at
  // max_fires_per_s in due order.
  void SetOutage(bool on, Effects* out);
  bool outage() const { return outage_; }
  int64_t outage_since_ms() const { return outage_since_ms_; }

  // Acts on the tasks whose time has come (fire, timeout, escalation, expiry), oldest first, at
  // most `max_actions` of them (the shell bounds its batches; the rest wait for the next call),
  // and removes as many ended tasks past their retention (also during an outage).
  void Tick(Effects* out, size_t max_actions = SIZE_MAX);

  // Removes every task of `customer_id`, open or ended, and the complaints remembered about the
  // customer; returns the removed ids, sorted. Open tasks end without a trace: the customer
  // withdrew the promise with their data. kInvalidArgument for an empty id.
  Result<std::vector<std::string>> Erase(std::string_view customer_id, Effects* out);

  // nullptr when unknown.
  const pb::FollowUpTask* Get(std::string_view task_id) const;
  // Earliest next_at_ms of an open task (for the shell's timer), nullopt when none.
  std::optional<int64_t> NextAtMs() const;
  void ForEach(const std::function<void(const pb::FollowUpTask&)>& fn) const;
  SchedulerStats Stats() const;
  size_t size() const { return tasks_.size(); }
  pb::FollowUpSchedulerState ExportState() const;

 private:
  Scheduler(Settings settings, const Clock* clock);
  pb::FollowUpTask* Find(std::string_view task_id);
  Result<pb::FollowUpTask*> FindOpen(std::string_view task_id);
  Status CheckRequest(const pb::FollowUpRequest& r) const;
  std::string Insert(pb::FollowUpTask task, Effects* out);
  // Re-derives next_at_ms from the task's state and moves its index entry.
  void Reindex(pb::FollowUpTask* task);
  void Touch(const pb::FollowUpTask& task, Effects* out);
  void Act(pb::FollowUpTask* task, int64_t now, Effects* out);
  bool TakeFireToken(int64_t now);
  void Fire(pb::FollowUpTask* task, int64_t now, Effects* out);
  void AfterFailedAttempt(pb::FollowUpTask* task, int64_t now, Effects* out);
  void End(pb::FollowUpTask* task, pb::FollowUpState state, std::string note, Effects* out);
  void Escalate(pb::FollowUpTask* task, std::string reason, Effects* out);
  void SubmitInternal(const pb::FollowUpRequest& request, Effects* out);
  int64_t NextCallTime(const pb::FollowUpTask& task, int64_t at_ms) const;
  // Counts the task's complaint about its event (+1), or forgets it (-1; the key goes at 0).
  void NoteIncidentKey(const pb::FollowUpTask& task, int delta = 1);
  // Removes a task: its Change is reported, its index entries and incident count go.
  void Remove(pb::FollowUpTask* task, Effects* out);

  Settings settings_;
  const Clock* clock_;
  std::unordered_map<std::string, pb::FollowUpTask> tasks_;
  absl::btree_set<std::pair<int64_t, std::string>> due_;    // (next_at_ms, id) of open tasks
  absl::btree_set<std::pair<int64_t, std::string>> ended_;  // (ended_at_ms, id) of ended tasks
  // customer_id + '\x1f' + event_key → complaint tasks seen about that event.
  std::unordered_map<std::string, uint32_t> complaints_by_event_;
  mutable std::unordered_map<std::string, absl::TimeZone> zones_;  // cache of loaded zones
  bool outage_ = false;
  int64_t outage_since_ms_ = 0;
  double fire_tokens_ = 0;
  int64_t tokens_at_ms_ = 0;
};

// True for kinds that call the customer (quiet hours apply, phone required).
using ::sb::validate::CallsCustomer;
// True for deadline watches (repair stage, department feedback).
bool IsWatch(pb::FollowUpKind kind);
bool IsEnded(pb::FollowUpState state);

}  // namespace sb::followup
