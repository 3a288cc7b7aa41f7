#include "router/followup/durable_scheduler.h"

namespace sb::followup {
namespace {

constexpr std::string_view kOutageKey = "followup/outage_since_ms";  // 0 = no outage

}  // namespace

Result<std::unique_ptr<DurableScheduler>> DurableScheduler::Open(store::Store* store,
                                                                 Settings settings,
                                                                 const Clock* clock, Sink* sink) {
  pb::FollowUpSchedulerState state;
  SB_RETURN_IF_ERROR(store->ForEachFollowUp(
      [&](pb::FollowUpTask&& task) { *state.add_tasks() = std::move(task); }));
  Result<std::optional<std::string>> outage = store->Meta(kOutageKey);
  if (!outage.ok()) return outage.status();
  if (outage->has_value() && (*outage)->size() == 8) {
    const auto since = static_cast<int64_t>(store::DecodeBe64(**outage));
    state.set_outage(since != 0);
    state.set_outage_since_ms(since);
  }
  Result<std::unique_ptr<Scheduler>> core =
      Scheduler::Restore(std::move(settings), clock, std::move(state));
  if (!core.ok()) {
    return FailedPrecondition(store->dir() + ": " + core.status().message());
  }
  std::unique_ptr<DurableScheduler> s(new DurableScheduler(store, std::move(*core), sink));

  // Contacts decided before a crash: publish those the sink never got, then clear the outbox.
  std::vector<pb::Contact> outbox;
  SB_RETURN_IF_ERROR(
      store->ForEachOutbox([&](pb::Contact&& c) { outbox.push_back(std::move(c)); }));
  std::vector<pb::Contact> missing;
  for (pb::Contact& c : outbox) {
    Result<bool> held = sink->Contains(c.id());
    if (!held.ok()) return held.status();
    if (!*held) missing.push_back(std::move(c));
  }
  SB_RETURN_IF_ERROR(s->Publish(missing));
  store::Batch clear = store->NewBatch();
  for (const pb::Contact& c : outbox) clear.DeleteOutbox(c.id());
  if (!clear.empty()) SB_RETURN_IF_ERROR(store->Commit(std::move(clear)));
  return s;
}

Status DurableScheduler::Persist(Effects* fx, const std::optional<InputPosition>& from,
                                 bool write_outage) {
  if (fx->empty() && !from && !write_outage) return Status::Ok();
  store::Batch batch = store_->NewBatch();
  if (write_outage) {
    batch.PutMeta(kOutageKey, store::EncodeBe64(core_->outage() ? core_->outage_since_ms() : 0));
  }
  for (const Effects::Change& change : fx->changed) {
    const pb::FollowUpTask* task = core_->Get(change.task_id);
    if (task == nullptr) {  // removed: retention passed, or the customer's data erased
      batch.DeleteFollowUp(change.task_id, change.old_next_at_ms);
      continue;
    }
    std::optional<int64_t> due;
    if (!IsEnded(task->state()) && task->next_at_ms() != 0) due = task->next_at_ms();
    batch.PutFollowUp(*task, change.old_next_at_ms, due);
  }
  for (const pb::Contact& c : fx->contacts) batch.PutOutbox(c);
  if (from) batch.SetInputPosition(from->source, from->position);
  SB_RETURN_IF_ERROR(store_->Commit(std::move(batch)));
  SB_RETURN_IF_ERROR(Publish(fx->contacts));
  if (!fx->contacts.empty()) {
    store::Batch sent = store_->NewBatch();
    for (const pb::Contact& c : fx->contacts) sent.DeleteOutbox(c.id());
    SB_RETURN_IF_ERROR(store_->Commit(std::move(sent)));
  }
  return Status::Ok();
}

Status DurableScheduler::Publish(const std::vector<pb::Contact>& contacts) {
  for (const pb::Contact& c : contacts) {
    SB_RETURN_IF_ERROR(sink_->Publish(c));
    ++published_;
  }
  return Status::Ok();
}

Result<std::string> DurableScheduler::Submit(const pb::FollowUpRequest& request,
                                             const std::optional<InputPosition>& from) {
  fx_.Clear();
  Result<std::string> id = core_->Submit(request, &fx_);
  // A rejected request is still input consumed: its position is recorded so it is not re-read.
  SB_RETURN_IF_ERROR(Persist(&fx_, from));
  return id;
}

Status DurableScheduler::Apply(const std::function<Status(Effects*)>& call,
                               const std::optional<InputPosition>& from) {
  fx_.Clear();
  Status st = call(&fx_);
  // Persisted even when the call failed: timers may have fired first, and the input was consumed.
  SB_RETURN_IF_ERROR(Persist(&fx_, from));
  return st;
}

Status DurableScheduler::RecordOutcome(std::string_view task_id, uint32_t attempt,
                                       pb::AttemptOutcome outcome, std::string_view agent_id,
                                       std::string_view note,
                                       const std::optional<InputPosition>& from) {
  return Apply(
      [&](Effects* fx) {
        return core_->RecordOutcome(task_id, attempt, outcome, agent_id, note, fx);
      },
      from);
}

Status DurableScheduler::Cancel(std::string_view task_id, std::string_view reason) {
  return Apply([&](Effects* fx) { return core_->Cancel(task_id, reason, fx); }, std::nullopt);
}

Result<std::vector<std::string>> DurableScheduler::Erase(std::string_view customer_id) {
  std::vector<std::string> ids;
  SB_RETURN_IF_ERROR(Apply(
      [&](Effects* fx) {
        Result<std::vector<std::string>> erased = core_->Erase(customer_id, fx);
        if (!erased.ok()) return erased.status();
        ids = std::move(*erased);
        return Status::Ok();
      },
      std::nullopt));
  return ids;
}

Status DurableScheduler::AdvanceRepair(std::string_view task_id, pb::RepairStage stage) {
  return Apply([&](Effects* fx) { return core_->AdvanceRepair(task_id, stage, fx); }, std::nullopt);
}

Status DurableScheduler::Complete(std::string_view task_id, std::string_view note) {
  return Apply([&](Effects* fx) { return core_->Complete(task_id, note, fx); }, std::nullopt);
}

Status DurableScheduler::SetOutage(bool on) {
  fx_.Clear();
  core_->SetOutage(on, &fx_);
  return Persist(&fx_, std::nullopt, /*write_outage=*/true);
}

Result<size_t> DurableScheduler::Tick(size_t max_actions) {
  fx_.Clear();
  core_->Tick(&fx_, max_actions);
  const size_t n = fx_.contacts.size();
  SB_RETURN_IF_ERROR(Persist(&fx_, std::nullopt));
  return n;
}

}  // namespace sb::followup
