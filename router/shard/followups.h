// The follow-up scheduler of one shard (callbacks, complaint deadlines, return visits, ...), bound
// to the shard's routing and log. Pure: no I/O; time from the injected clock.
//
// The shard feeds it follow-up commands from its input (RoutingEvent.follow_up), the wrap-ups and
// decisions about follow-up contacts, and its timer; it returns what to do, which the shard puts
// in the same changelog group as the engine's changes — a task firing and its contact entering
// the queue are one atomic step, and nothing leaves the shard before that group is acknowledged:
//   - contacts for a queue of this shard's domains: the shard routes them itself;
//   - forwards: events for other shards (a contact for a queue of another domain, or the outcome
//     of an attempt that was routed elsewhere going back to its task's shard), published to
//     sb.contacts in the target partition after the group is acknowledged;
//   - changelog entries: "f/<task>" for every task changed, "x/<contact>" for forwarded contacts
//     received (a re-published copy is recognized and dropped; kept 24 h).
// A task lives in the shard its Submit was sent to; attempt outcomes come from the agent's
// wrap-up disposition (answered, no_answer, busy, failed; anything else counts as answered), from
// a FollowUpCommand.outcome, or, when the contact expires or is withdrawn, as FAILED.
//
// Thread: the shard's owner thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "router/engine/types.h"
#include "router/followup/scheduler.h"
#include "router/shard/changelog.h"
#include "state-store/store.h"
#include "switchboard/v1/cluster.pb.h"
#include "switchboard/v1/config.pb.h"
#include "switchboard/v1/events.pb.h"

namespace sb::shard {

using engine::kForwardedFromAttribute;  // a forwarded contact's sending partition

// The routing domain a Submit must be sent to (the domain of the task's queue).
// kInvalidArgument naming the field when the queue is not in the routing config.
Result<std::string> FollowUpDomain(const pb::FollowUpRequest& request,
                                   const followup::Settings& settings,
                                   const pb::RoutingConfig& config);

// Every queue the follow-up config names must be a queue of the routing config; the first one
// missing, named.
Status CheckFollowUpQueues(const followup::Settings& settings, const pb::RoutingConfig& config);

// The sb.followups record of a task (router/kafka/topics.h): key = task id, value = a
// FollowUpTaskRecord stamped with the shard and its owner's epoch; nullopt (a tombstone) when
// `task` is null.
Entry FollowUpRecord(const std::string& task_id, const pb::FollowUpTask* task, int32_t shard,
                     uint64_t epoch, int64_t now_ms);
// The same from a changelog entry of TakeEntries(); nullopt for entries that are not a task's.
std::optional<Entry> FollowUpRecordOf(const Entry& changelog_entry, int32_t shard, uint64_t epoch,
                                      int64_t now_ms);

// An event for another shard.
struct Forward {
  int32_t partition = 0;
  std::string key;
  pb::RoutingEvent event;
};

class FollowUps {
 public:
  // REQUIRES: `settings`, `config` and `clock` outlive this; CheckFollowUpQueues() passed.
  static Result<std::unique_ptr<FollowUps>> Restore(const followup::Settings* settings,
                                                    const pb::RoutingConfig* config,
                                                    const Clock* clock, int32_t partition,
                                                    int32_t partitions,
                                                    pb::FollowUpSchedulerState tasks,
                                                    const pb::ForwardsSeen& forwards);

  // A command from the input. An error names what was refused (the input is consumed anyway;
  // the shard logs it). Effects are kept for TakeContacts()/TakeForwards()/TakeEntries().
  Status OnCommand(const pb::FollowUpCommand& command);
  // A contact arriving from the input. False when it is a forwarded copy already received: the
  // shard must not route it again. REQUIRES: CheckForwardedFrom(contact) passed.
  bool Admit(const pb::Contact& contact);
  // InvalidArgument when the contact carries kForwardedFromAttribute naming no other partition
  // of the cluster (a record not written by a shard): its outcome would be forwarded nowhere.
  Status CheckForwardedFrom(const pb::Contact& contact) const;
  // The engine accepted the agent's wrap-up of a contact: if it was a follow-up attempt, its
  // outcome.
  void OnWrapUp(const pb::WrapUpDone& wrap_up);
  // A follow-up attempt left without being handled (cancelled, abandoned, expired in its queue,
  // refused by the engine): it failed. Other contact ids are ignored.
  void Failed(const std::string& contact_id, const std::string& why);
  // Fires what is due, at most `max_actions` tasks, and forgets expired forwards.
  void Tick(size_t max_actions);

  // Contacts for this shard's own queues, in order.
  std::vector<pb::Contact> TakeContacts();
  // Attempts of erased tasks out in this shard's queues: the shard cancels them in its engine
  // (those in other shards' queues left as forwards of the cancellation).
  std::vector<pb::ContactCancelled> TakeWithdrawals();
  std::vector<Forward> TakeForwards();
  // Changelog entries of what changed since the last call.
  std::vector<Entry> TakeEntries();
  // Stages tasks changed since the last saved checkpoint and every forward kept into `batch`;
  // CheckpointSaved() once it is committed.
  void StageCheckpoint(store::Batch* batch, std::string_view forwards_meta_key) const;
  void CheckpointSaved() { unsaved_tasks_.clear(); }
  // Every task and every forward kept, into a changelog snapshot (changelog.h).
  void ExportTo(pb::ShardSnapshot* snapshot) const;

  // True while a change of task `id` waits for the next TakeEntries(): the task's state here is
  // newer than what the changelog holds.
  bool Unflushed(const std::string& id) const { return dirty_tasks_.contains(id); }
  // Every task's id, sorted.
  std::vector<std::string> TaskIds() const;

  bool outage() const { return core_->outage(); }
  int64_t outage_since_ms() const { return core_->outage_since_ms(); }
  const followup::Scheduler& core() const { return *core_; }

 private:
  FollowUps(const followup::Settings* settings, const pb::RoutingConfig* config, const Clock* clock,
            int32_t partition, int32_t partitions);
  // Sorts the scheduler's effects into contacts, forwards and dirty tasks.
  void Absorb();
  // The outcome of attempt `contact_id`: recorded here, or sent to the task's shard.
  void Outcome(const std::string& contact_id, pb::AttemptOutcome outcome,
               const std::string& agent_id, const std::string& note);
  int32_t PartitionOfQueue(const std::string& queue) const;
  // FollowUpErase: removes the customer's tasks and withdraws their attempts out now.
  Status Erase(const pb::FollowUpErase& erase);

  const followup::Settings* settings_;
  const Clock* clock_;
  const int32_t partition_;
  const int32_t partitions_;
  std::unordered_map<std::string, std::string> queue_domain_;
  std::unique_ptr<followup::Scheduler> core_;
  followup::Effects fx_;
  std::map<std::string, pb::ForwardSeen> forwards_;   // by contact id
  std::set<std::pair<int64_t, std::string>> expiry_;  // (expires_at_ms, contact id)
  std::vector<pb::Contact> contacts_;
  std::vector<pb::ContactCancelled> withdrawals_;
  std::vector<Forward> forward_out_;
  std::set<std::string> dirty_tasks_, dirty_forwards_;  // since the last TakeEntries()
  std::set<std::string> unsaved_tasks_;                 // since the last StageCheckpoint()
};

}  // namespace sb::shard
