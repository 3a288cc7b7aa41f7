#include "router/shard/followup_bridge.h"

#include "common/log/log.h"
#include "router/kafka/epoch.h"
#include "router/kafka/topics.h"

namespace sb::shard {
namespace {

// Follow-up tasks acted on per timer tick; the rest wait for the next tick (20 ms later).
constexpr size_t kActionsPerTick = 256;
// Tasks published again to sb.followups per timer tick (after a claim: every task).
constexpr size_t kRepublishPerTick = 2000;

}  // namespace

FollowUpBridge::FollowUpBridge(std::unique_ptr<FollowUps> followups, int32_t partition,
                               const Clock* clock, kafka::Producer* producer, ShardStats* stats,
                               RouteContact route)
    : followups_(std::move(followups)),
      partition_(partition),
      clock_(clock),
      producer_(producer),
      stats_(stats),
      route_(std::move(route)) {}

Status FollowUpBridge::OnCommand(const pb::FollowUpCommand& command,
                                 std::vector<Forward>* forwards) {
  Status st = followups_->OnCommand(command);
  RouteFollowUps(forwards);
  return st;
}

void FollowUpBridge::AfterEngine(const pb::RoutingEvent& event, const engine::Decisions& decisions,
                                 size_t first, std::vector<Forward>* forwards) {
  switch (event.event_case()) {
    case pb::RoutingEvent::kWrapUpDone:
      followups_->OnWrapUp(event.wrap_up_done());
      break;
    case pb::RoutingEvent::kContactCancelled:
      followups_->Failed(event.contact_cancelled().contact_id(),
                         "cancelled: " + event.contact_cancelled().reason());
      break;
    case pb::RoutingEvent::kContactAbandoned:
      followups_->Failed(event.contact_abandoned().contact_id(), "abandoned");
      break;
    default:
      break;
  }
  for (size_t i = first; i < decisions.size(); ++i) {
    const engine::Decision& d = decisions[i];
    if (d.type == pb::DECISION_EXPIRE) followups_->Failed(d.contact_id, "expired in " + d.queue);
  }
  RouteFollowUps(forwards);
}

void FollowUpBridge::Tick(const engine::Decisions& decisions, size_t first,
                          std::vector<Forward>* forwards) {
  followups_->Tick(kActionsPerTick);
  AfterEngine(pb::RoutingEvent(), decisions, first, forwards);
  Republish(kRepublishPerTick);
}

void FollowUpBridge::RouteFollowUps(std::vector<Forward>* forwards) {
  for (std::vector<pb::Contact> contacts; !(contacts = followups_->TakeContacts()).empty();) {
    for (const pb::Contact& c : contacts) {
      Status st = route_(c);
      if (st.ok()) continue;
      SB_LOG_WARN("shard", "shard %d: follow-up contact %s not routable: %s\n", partition_,
                  c.id().c_str(), st.ToString().c_str());
      followups_->Failed(c.id(), "not routable: " + st.ToString());  // may escalate
    }
  }
  for (Forward& f : followups_->TakeForwards()) forwards->push_back(std::move(f));
}

std::vector<Entry> FollowUpBridge::TaskRecordsOf(const std::vector<Entry>& entries) {
  std::vector<Entry> records;
  for (const Entry& e : entries) {
    if (auto record = FollowUpRecordOf(e, partition_, epoch_, clock_->NowMs())) {
      ++uncommitted_tasks_[record->key];
      records.push_back(std::move(*record));
    }
  }
  return records;
}

void FollowUpBridge::TasksCommitted(const std::vector<Entry>& task_records) {
  for (const Entry& record : task_records) {
    if (--uncommitted_tasks_[record.key] <= 0) uncommitted_tasks_.erase(record.key);
    Publish(record);  // false: queued for the next tick
  }
}

void FollowUpBridge::RepublishAll() {
  republish_ = followups_->TaskIds();
  Republish(kRepublishPerTick);
}

bool FollowUpBridge::Publish(const Entry& record) {
  const uint64_t seq = ++seq_;
  Status st = producer_->Produce(kafka::kFollowUpsTopic, partition_, record.key, record.value,
                                 {kafka::EpochHeader(epoch_)},
                                 MakeToken(partition_, TokenKind::kFollowUps, seq));
  if (!st.ok()) {
    NotPublished(record.key, st);
    return false;
  }
  tokens_[seq] = record.key;
  ++stats_->followup_records;
  return true;
}

void FollowUpBridge::OnDelivery(uint64_t seq, const Status& status) {
  auto it = tokens_.find(seq);
  if (it == tokens_.end()) return;
  if (!status.ok()) NotPublished(it->second, status);
  tokens_.erase(it);
}

void FollowUpBridge::NotPublished(const std::string& task_id, const Status& why) {
  republish_.push_back(task_id);
  if (stats_->followup_records_failed++ % 100 == 0) {
    SB_LOG_WARN("shard", "shard %d: follow-up task %s not published to %s (%llu so far): %s\n",
                partition_, task_id.c_str(), std::string(kafka::kFollowUpsTopic).c_str(),
                static_cast<unsigned long long>(stats_->followup_records_failed),
                why.ToString().c_str());
  }
}

void FollowUpBridge::Republish(size_t max) {
  for (size_t n = 0; n < max && !republish_.empty(); ++n) {
    const std::string id = std::move(republish_.back());
    republish_.pop_back();
    // A task changed since its last commit is published with the group that commits it.
    if (followups_->Unflushed(id) || uncommitted_tasks_.contains(id)) continue;
    const Entry record =
        FollowUpRecord(id, followups_->core().Get(id), partition_, epoch_, clock_->NowMs());
    if (!Publish(record)) return;
  }
}

void FollowUpBridge::SaveTo(pb::ShardMeta* meta) const {
  meta->set_followup_outage(followups_->outage());
  meta->set_followup_outage_since_ms(followups_->outage_since_ms());
}

}  // namespace sb::shard
