#include "router/shard/followups.h"

#include <algorithm>
#include <cctype>

#include "absl/strings/numbers.h"
#include "common/config/text.h"
#include "router/kafka/topics.h"

namespace sb::shard {
namespace {

// How long a forwarded contact is remembered: far longer than any re-publish after a crash
// (which happens at the next claim, seconds later).
constexpr int64_t kForwardMemoryMs = int64_t{24} * 3600 * 1000;

std::unordered_map<std::string, std::string> QueueDomains(const pb::RoutingConfig& config) {
  std::unordered_map<std::string, std::string> out;
  for (const auto& q : config.queues()) out[q.name()] = q.domain();
  return out;
}

// "answered", "no_answer", "BUSY", "ATTEMPT_OUTCOME_FAILED", ...; anything else: the agent
// handled the contact and reported no failure.
pb::AttemptOutcome OutcomeOf(std::string disposition) {
  std::transform(disposition.begin(), disposition.end(), disposition.begin(),
                 [](unsigned char c) { return c == '-' ? '_' : std::toupper(c); });
  pb::AttemptOutcome outcome;
  if (pb::AttemptOutcome_Parse(disposition, &outcome) ||
      pb::AttemptOutcome_Parse("ATTEMPT_OUTCOME_" + disposition, &outcome)) {
    if (outcome != pb::ATTEMPT_OUTCOME_UNSPECIFIED) return outcome;
  }
  return pb::ATTEMPT_OUTCOME_ANSWERED;
}

// "<task>#<n>" → (task, n); n = 0 when the id is not an attempt's.
std::pair<std::string, uint32_t> ParseAttemptId(const std::string& contact_id) {
  const size_t hash = contact_id.rfind('#');
  if (hash == std::string::npos || hash + 1 == contact_id.size()) return {"", 0};
  uint32_t n = 0;
  for (size_t i = hash + 1; i < contact_id.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(contact_id[i])) || n > 100000) return {"", 0};
    n = n * 10 + static_cast<uint32_t>(contact_id[i] - '0');
  }
  return {contact_id.substr(0, hash), n};
}

}  // namespace

Entry FollowUpRecord(const std::string& task_id, const pb::FollowUpTask* task, int32_t shard,
                     uint64_t epoch, int64_t now_ms) {
  if (task == nullptr) return {task_id, std::nullopt};
  pb::FollowUpTaskRecord record;
  record.set_shard(shard);
  record.set_epoch(epoch);
  *record.mutable_task() = *task;
  record.set_published_at_ms(now_ms);
  return {task_id, record.SerializeAsString()};
}

std::optional<Entry> FollowUpRecordOf(const Entry& changelog_entry, int32_t shard, uint64_t epoch,
                                      int64_t now_ms) {
  const std::string prefix = FollowUpKey("");
  if (!changelog_entry.key.starts_with(prefix)) return std::nullopt;
  std::string id = changelog_entry.key.substr(prefix.size());
  if (!changelog_entry.value) return Entry{std::move(id), std::nullopt};
  pb::FollowUpTask task;
  if (!task.ParseFromString(*changelog_entry.value)) return std::nullopt;  // we serialized it
  return FollowUpRecord(id, &task, shard, epoch, now_ms);
}

Result<std::string> FollowUpDomain(const pb::FollowUpRequest& request,
                                   const followup::Settings& settings,
                                   const pb::RoutingConfig& config) {
  const std::string& queue =
      request.queue().empty() ? settings.DefaultQueue(request.kind()) : request.queue();
  for (const auto& q : config.queues()) {
    if (q.name() == queue) return q.domain();
  }
  return InvalidArgument("queue: " + config::Quote(queue) +
                         " is not a queue of the routing config");
}

Status CheckFollowUpQueues(const followup::Settings& settings, const pb::RoutingConfig& config) {
  const auto domains = QueueDomains(config);
  for (const std::string& q : settings.Queues()) {
    if (!domains.contains(q)) {
      return InvalidArgument("follow-up queue \"" + q +
                             "\" is not a queue of the routing config (add it, or name another "
                             "queue in the follow-up config)");
    }
  }
  return Status::Ok();
}

FollowUps::FollowUps(const followup::Settings* settings, const pb::RoutingConfig* config,
                     const Clock* clock, int32_t partition, int32_t partitions)
    : settings_(settings),
      clock_(clock),
      partition_(partition),
      partitions_(partitions),
      queue_domain_(QueueDomains(*config)) {}

Result<std::unique_ptr<FollowUps>> FollowUps::Restore(const followup::Settings* settings,
                                                      const pb::RoutingConfig* config,
                                                      const Clock* clock, int32_t partition,
                                                      int32_t partitions,
                                                      pb::FollowUpSchedulerState tasks,
                                                      const pb::ForwardsSeen& forwards) {
  std::unique_ptr<FollowUps> f(new FollowUps(settings, config, clock, partition, partitions));
  auto core = followup::Scheduler::Restore(*settings, clock, std::move(tasks));
  if (!core.ok()) return core.status();
  f->core_ = std::move(*core);
  for (const pb::ForwardSeen& seen : forwards.seen()) {
    f->forwards_[seen.contact_id()] = seen;
    f->expiry_.emplace(seen.expires_at_ms(), seen.contact_id());
  }
  return f;
}

int32_t FollowUps::PartitionOfQueue(const std::string& queue) const {
  auto it = queue_domain_.find(queue);
  // Unknown queues stay here: the engine refuses them and OnRefused() fails the attempt.
  if (it == queue_domain_.end()) return partition_;
  return kafka::PartitionFor(it->second, partitions_);
}

void FollowUps::Absorb() {
  for (const followup::Effects::Change& c : fx_.changed) {
    dirty_tasks_.insert(c.task_id);
    unsaved_tasks_.insert(c.task_id);
  }
  for (pb::Contact& c : fx_.contacts) {
    const int32_t to = PartitionOfQueue(c.queue());
    if (to == partition_) {
      contacts_.push_back(std::move(c));
      continue;
    }
    Forward f;
    f.partition = to;
    f.key = queue_domain_.at(c.queue());
    (*c.mutable_attributes())[kForwardedFromAttribute] = std::to_string(partition_);
    f.event.set_at_ms(clock_->NowMs());
    *f.event.mutable_contact_arrived()->mutable_contact() = std::move(c);
    forward_out_.push_back(std::move(f));
  }
  fx_.Clear();
}

Status FollowUps::OnCommand(const pb::FollowUpCommand& command) {
  fx_.Clear();
  Status st;
  switch (command.command_case()) {
    case pb::FollowUpCommand::kSubmit: {
      const pb::FollowUpRequest& r = command.submit();
      const std::string& queue = r.queue().empty() ? settings_->DefaultQueue(r.kind()) : r.queue();
      if (!queue_domain_.contains(queue)) {
        st = InvalidArgument("submit.queue: " + config::Quote(queue) +
                             " is not a queue of the routing config");
        break;
      }
      st = core_->Submit(r, &fx_).status();
      break;
    }
    case pb::FollowUpCommand::kOutcome: {
      const pb::FollowUpOutcome& o = command.outcome();
      st =
          core_->RecordOutcome(o.task_id(), o.attempt(), o.outcome(), o.agent_id(), o.note(), &fx_);
      break;
    }
    case pb::FollowUpCommand::kCancel:
      st = core_->Cancel(command.cancel().task_id(), command.cancel().reason(), &fx_);
      break;
    case pb::FollowUpCommand::kAdvanceRepair:
      st = core_->AdvanceRepair(command.advance_repair().task_id(),
                                command.advance_repair().stage(), &fx_);
      break;
    case pb::FollowUpCommand::kComplete:
      st = core_->Complete(command.complete().task_id(), command.complete().note(), &fx_);
      break;
    case pb::FollowUpCommand::kOutage:
      core_->SetOutage(command.outage().on(), &fx_);
      break;
    case pb::FollowUpCommand::kErase:
      st = Erase(command.erase());
      break;
    case pb::FollowUpCommand::COMMAND_NOT_SET:
      st = InvalidArgument("follow_up: no command set");
      break;
  }
  Absorb();  // also when refused: timers may have acted first
  return st;
}

Status FollowUps::Erase(const pb::FollowUpErase& erase) {
  std::vector<std::pair<std::string, std::string>> out_now;  // (attempt contact id, queue)
  core_->ForEach([&](const pb::FollowUpTask& t) {
    if (t.request().customer_id() == erase.customer_id() &&
        t.state() == pb::FOLLOW_UP_STATE_FIRING && !t.attempts().empty()) {
      out_now.emplace_back(t.attempts().rbegin()->contact_id(), t.queue());
    }
  });
  Result<std::vector<std::string>> erased = core_->Erase(erase.customer_id(), &fx_);
  if (!erased.ok()) return erased.status();
  std::sort(out_now.begin(), out_now.end());
  for (const auto& [contact_id, queue] : out_now) {
    pb::ContactCancelled cancel;
    cancel.set_contact_id(contact_id);
    cancel.set_reason("the customer's personal data was erased");
    const int32_t to = PartitionOfQueue(queue);
    if (to == partition_) {
      withdrawals_.push_back(std::move(cancel));
      continue;
    }
    Forward f;
    f.partition = to;
    f.key = queue_domain_.at(queue);
    f.event.set_at_ms(clock_->NowMs());
    *f.event.mutable_contact_cancelled() = std::move(cancel);
    forward_out_.push_back(std::move(f));
  }
  return Status::Ok();
}

Status FollowUps::CheckForwardedFrom(const pb::Contact& contact) const {
  auto from = contact.attributes().find(kForwardedFromAttribute);
  if (from == contact.attributes().end()) return Status::Ok();
  int32_t partition = -1;
  if (!absl::SimpleAtoi(from->second, &partition) || partition < 0 || partition >= partitions_ ||
      partition == partition_) {
    return InvalidArgument("contact " + config::Quote(contact.id()) + ": attribute " +
                           config::Quote(kForwardedFromAttribute) + " is " +
                           config::Quote(from->second) + ", not another partition of the " +
                           std::to_string(partitions_) + " (reserved for forwards between shards)");
  }
  return Status::Ok();
}

bool FollowUps::Admit(const pb::Contact& contact) {
  auto from = contact.attributes().find(kForwardedFromAttribute);
  if (from == contact.attributes().end()) return true;
  if (forwards_.contains(contact.id())) return false;
  pb::ForwardSeen seen;
  seen.set_contact_id(contact.id());
  seen.set_from_partition(std::atoi(from->second.c_str()));
  seen.set_expires_at_ms(clock_->NowMs() + kForwardMemoryMs);
  auto task = contact.attributes().find("followup_task");
  auto attempt = contact.attributes().find("attempt");
  if (task != contact.attributes().end() && attempt != contact.attributes().end()) {
    seen.set_task_id(task->second);
    seen.set_attempt(static_cast<uint32_t>(std::atoi(attempt->second.c_str())));
  }
  expiry_.emplace(seen.expires_at_ms(), seen.contact_id());
  forwards_[contact.id()] = std::move(seen);
  dirty_forwards_.insert(contact.id());
  return true;
}

void FollowUps::Outcome(const std::string& contact_id, pb::AttemptOutcome outcome,
                        const std::string& agent_id, const std::string& note) {
  auto [task_id, attempt] = ParseAttemptId(contact_id);
  if (attempt == 0) return;
  if (const pb::FollowUpTask* task = core_->Get(task_id)) {
    if (task->state() != pb::FOLLOW_UP_STATE_FIRING || task->attempts().empty() ||
        task->attempts().rbegin()->contact_id() != contact_id) {
      return;  // a late report about an attempt already settled
    }
    fx_.Clear();
    core_->RecordOutcome(task_id, attempt, outcome, agent_id, note, &fx_).IgnoreError();
    Absorb();
    return;
  }
  auto seen = forwards_.find(contact_id);
  if (seen == forwards_.end() || seen->second.task_id().empty()) return;
  Forward f;
  f.partition = seen->second.from_partition();
  f.key = seen->second.task_id();
  f.event.set_at_ms(clock_->NowMs());
  pb::FollowUpOutcome* o = f.event.mutable_follow_up()->mutable_outcome();
  o->set_task_id(seen->second.task_id());
  o->set_attempt(seen->second.attempt());
  o->set_outcome(outcome);
  o->set_agent_id(agent_id);
  o->set_note(note);
  forward_out_.push_back(std::move(f));
}

void FollowUps::OnWrapUp(const pb::WrapUpDone& wrap_up) {
  Outcome(wrap_up.contact_id(), OutcomeOf(wrap_up.disposition()), wrap_up.agent_id(),
          wrap_up.disposition());
}

void FollowUps::Failed(const std::string& contact_id, const std::string& why) {
  Outcome(contact_id, pb::ATTEMPT_OUTCOME_FAILED, "", why);
}

void FollowUps::Tick(size_t max_actions) {
  fx_.Clear();
  core_->Tick(&fx_, max_actions);
  Absorb();
  const int64_t now = clock_->NowMs();
  while (!expiry_.empty() && expiry_.begin()->first <= now) {
    const std::string id = expiry_.begin()->second;
    expiry_.erase(expiry_.begin());
    auto it = forwards_.find(id);
    if (it != forwards_.end() && it->second.expires_at_ms() <= now) {
      forwards_.erase(it);
      dirty_forwards_.insert(id);
    }
  }
}

void FollowUps::ExportTo(pb::ShardSnapshot* snapshot) const {
  core_->ForEach([&](const pb::FollowUpTask& t) { *snapshot->add_followups() = t; });
  for (const auto& [id, seen] : forwards_) *snapshot->mutable_forwards()->add_seen() = seen;
}

std::vector<std::string> FollowUps::TaskIds() const {
  std::vector<std::string> ids;
  core_->ForEach([&](const pb::FollowUpTask& t) { ids.push_back(t.id()); });
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::vector<pb::Contact> FollowUps::TakeContacts() { return std::exchange(contacts_, {}); }

std::vector<pb::ContactCancelled> FollowUps::TakeWithdrawals() {
  return std::exchange(withdrawals_, {});
}

std::vector<Forward> FollowUps::TakeForwards() { return std::exchange(forward_out_, {}); }

std::vector<Entry> FollowUps::TakeEntries() {
  std::vector<Entry> out;
  for (const std::string& id : dirty_tasks_) {
    const pb::FollowUpTask* task = core_->Get(id);
    out.push_back({FollowUpKey(id),
                   task != nullptr ? std::optional(task->SerializeAsString()) : std::nullopt});
  }
  for (const std::string& id : dirty_forwards_) {
    auto it = forwards_.find(id);
    out.push_back({ForwardKey(id), it != forwards_.end()
                                       ? std::optional(it->second.SerializeAsString())
                                       : std::nullopt});
  }
  dirty_tasks_.clear();
  dirty_forwards_.clear();
  return out;
}

void FollowUps::StageCheckpoint(store::Batch* batch, std::string_view forwards_meta_key) const {
  for (const std::string& id : unsaved_tasks_) {
    if (const pb::FollowUpTask* task = core_->Get(id)) {
      batch->PutFollowUp(*task, std::nullopt, std::nullopt);
    } else {
      batch->DeleteFollowUp(id, std::nullopt);  // removed: retention passed, or erased
    }
  }
  pb::ForwardsSeen all;
  for (const auto& [id, seen] : forwards_) *all.add_seen() = seen;
  batch->PutMeta(forwards_meta_key, all.SerializeAsString());
}

}  // namespace sb::shard
