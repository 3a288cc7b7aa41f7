// Between a shard's follow-up scheduler (followups.h), its routing engine and sb.followups.
//
// Engine events end follow-up attempts (a wrap-up records the outcome; a cancel, an abandon or an
// expiry fails the attempt); contacts the scheduler fires for this shard's queues enter the
// engine through `route`, and the rest are forwards to other shards, carried to the shard's next
// group. Every task a committed group changed is published to sb.followups (the tasks' read
// model, stamped with the owner's epoch; not outputs: a lost one is published again, and after a
// claim every task is published once, since the previous owner may have died between a commit
// and its records).
//
// Thread: the shard's (the node loop).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "router/engine/types.h"
#include "router/kafka/client.h"
#include "router/shard/followups.h"
#include "router/shard/shard_types.h"
#include "switchboard/v1/cluster.pb.h"
#include "switchboard/v1/events.pb.h"

namespace sb::shard {

class FollowUpBridge {
 public:
  // Routes a contact a follow-up fired for this shard's queues into the engine, appending the
  // decisions; an error fails the attempt ("not routable").
  using RouteContact = std::function<Status(const pb::Contact&)>;

  // REQUIRES: `clock`, `producer` and `stats` outlive the bridge.
  FollowUpBridge(std::unique_ptr<FollowUps> followups, int32_t partition, const Clock* clock,
                 kafka::Producer* producer, ShardStats* stats, RouteContact route);

  const FollowUps& followups() const { return *followups_; }
  FollowUps& followups() { return *followups_; }
  // The owner's epoch, stamped on sb.followups records.
  void set_epoch(uint64_t epoch) { epoch_ = epoch; }

  // A follow-up command from the input; an error names what was refused.
  Status OnCommand(const pb::FollowUpCommand& command, std::vector<Forward>* forwards);
  // False for a forwarded contact already received (not to be routed again).
  bool Admit(const pb::Contact& contact) { return followups_->Admit(contact); }
  // The engine applied `event` (`decisions` from `first` on are its answer).
  void AfterEngine(const pb::RoutingEvent& event, const engine::Decisions& decisions, size_t first,
                   std::vector<Forward>* forwards);
  // A timer tick: fires what is due (the engine's tick decisions are `decisions` from `first`
  // on) and publishes some of the tasks waiting to be published again.
  void Tick(const engine::Decisions& decisions, size_t first, std::vector<Forward>* forwards);

  // The changelog entries of what changed, and the sb.followups records of those that are
  // tasks' (published by TasksCommitted once their group is acknowledged).
  std::vector<Entry> TakeEntries() { return followups_->TakeEntries(); }
  std::vector<Entry> TaskRecordsOf(const std::vector<Entry>& entries);
  void TasksCommitted(const std::vector<Entry>& task_records);
  // After a claim: every task, once.
  void RepublishAll();
  // A delivery report of an sb.followups record.
  void OnDelivery(uint64_t seq, const Status& status);
  void SaveTo(pb::ShardMeta* meta) const;

 private:
  void RouteFollowUps(std::vector<Forward>* forwards);
  // False when the record could not be produced (queued to be published again).
  bool Publish(const Entry& record);
  void NotPublished(const std::string& task_id, const Status& why);
  // Publishes up to `max` tasks of republish_ in their committed state.
  void Republish(size_t max);

  std::unique_ptr<FollowUps> followups_;
  const int32_t partition_;
  const Clock* clock_;
  kafka::Producer* producer_;
  ShardStats* stats_;
  RouteContact route_;
  uint64_t epoch_ = 0;
  // Tasks to publish again (after a claim, or a failed delivery), tasks in groups not yet
  // acknowledged (count), and the records in flight by delivery sequence.
  std::vector<std::string> republish_;
  std::map<std::string, int> uncommitted_tasks_;
  std::map<uint64_t, std::string> tokens_;
  uint64_t seq_ = 0;
};

}  // namespace sb::shard
