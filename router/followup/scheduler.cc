#include "router/followup/scheduler.h"

#include <algorithm>
#include <cmath>

#include "common/config/text.h"

namespace sb::followup {
namespace {

constexpr int64_t kHourMs = 3'600'000;
constexpr int64_t kOverdueSlackMs = 60'000;
constexpr size_t kMaxIdLen = validate::kMaxIdBytes;
constexpr size_t kMaxNoteLen = validate::kMaxFollowUpNoteBytes;

std::string KindName(pb::FollowUpKind kind) {
  std::string name = pb::FollowUpKind_Name(kind);
  constexpr std::string_view kPrefix = "FOLLOW_UP_KIND_";
  if (name.starts_with(kPrefix)) name.erase(0, kPrefix.size());
  std::transform(name.begin(), name.end(), name.begin(), [](char c) { return std::tolower(c); });
  return name;
}

void AddHistory(pb::FollowUpTask* task, int64_t now, std::string note) {
  pb::FollowUpEvent* e = task->add_history();
  e->set_at_ms(now);
  e->set_state(task->state());
  e->set_note(std::move(note));
}

std::string IncidentKey(const pb::FollowUpRequest& r) {
  return r.customer_id() + '\x1f' + r.event_key();
}

}  // namespace

bool IsWatch(pb::FollowUpKind kind) {
  return kind == pb::FOLLOW_UP_KIND_REPAIR_STAGE || kind == pb::FOLLOW_UP_KIND_DEPARTMENT_FEEDBACK;
}

bool IsEnded(pb::FollowUpState state) {
  return state == pb::FOLLOW_UP_STATE_DONE || state == pb::FOLLOW_UP_STATE_ESCALATED ||
         state == pb::FOLLOW_UP_STATE_EXPIRED || state == pb::FOLLOW_UP_STATE_CANCELLED;
}

void Effects::Clear() {
  contacts.clear();
  changed.clear();
  ended.clear();
  touched.clear();
}

Scheduler::Scheduler(Settings settings, const Clock* clock)
    : settings_(std::move(settings)), clock_(clock) {
  fire_tokens_ = std::max(1.0, settings_.config.max_fires_per_s());
  tokens_at_ms_ = clock_->NowMs();
}

Scheduler::~Scheduler() = default;

std::unique_ptr<Scheduler> Scheduler::Create(Settings settings, const Clock* clock) {
  return std::unique_ptr<Scheduler>(new Scheduler(std::move(settings), clock));
}

Result<std::unique_ptr<Scheduler>> Scheduler::Restore(Settings settings, const Clock* clock,
                                                      pb::FollowUpSchedulerState state) {
  std::unique_ptr<Scheduler> s(new Scheduler(std::move(settings), clock));
  s->outage_ = state.outage();
  s->outage_since_ms_ = state.outage_since_ms();
  for (pb::FollowUpTask& task : *state.mutable_tasks()) {
    if (!validate::ValidRequestId(task.id()) || task.state() == pb::FOLLOW_UP_STATE_UNSPECIFIED ||
        (task.state() == pb::FOLLOW_UP_STATE_FIRING && task.attempts_size() == 0)) {
      return FailedPrecondition("follow-up state: task " + config::Quote(task.id()) +
                                " is malformed");
    }
    const std::string id = task.id();
    if (IsEnded(task.state())) {
      s->ended_.insert({task.ended_at_ms(), id});
    } else {
      s->due_.insert({task.next_at_ms(), id});
    }
    s->NoteIncidentKey(task);
    if (!s->tasks_.emplace(id, std::move(task)).second) {
      return FailedPrecondition("follow-up state: task " + config::Quote(id) + " appears twice");
    }
  }
  return s;
}

pb::FollowUpTask* Scheduler::Find(std::string_view task_id) {
  auto it = tasks_.find(std::string(task_id));
  return it == tasks_.end() ? nullptr : &it->second;
}

const pb::FollowUpTask* Scheduler::Get(std::string_view task_id) const {
  auto it = tasks_.find(std::string(task_id));
  return it == tasks_.end() ? nullptr : &it->second;
}

Result<pb::FollowUpTask*> Scheduler::FindOpen(std::string_view task_id) {
  pb::FollowUpTask* task = Find(task_id);
  if (task == nullptr) return NotFound("follow-up task " + config::Quote(task_id) + " not found");
  if (IsEnded(task->state())) {
    return FailedPrecondition("follow-up task " + config::Quote(task_id) + " already ended (" +
                              pb::FollowUpState_Name(task->state()) + ")");
  }
  return task;
}

Status Scheduler::CheckRequest(const pb::FollowUpRequest& r) const {
  return validate::CheckFollowUpRequest(r, clock_->NowMs());
}

Result<std::string> Scheduler::Submit(const pb::FollowUpRequest& r, Effects* out) {
  SB_RETURN_IF_ERROR(CheckRequest(r));
  if (const pb::FollowUpTask* existing = Get(r.request_id())) {
    // Idempotent per caller; another caller's id is not theirs to reuse (nor to learn about).
    if (existing->request().submitted_by() != r.submitted_by()) {
      return AlreadyExists("field request_id: " + config::Quote(r.request_id()) +
                           " is taken by another caller (request ids are per caller)");
    }
    return existing->id();
  }
  const pb::FollowUpConfig& c = settings_.config;
  const int64_t now = clock_->NowMs();
  pb::FollowUpTask task;
  task.set_id(r.request_id());
  *task.mutable_request() = r;
  task.set_state(pb::FOLLOW_UP_STATE_PENDING);
  task.set_created_at_ms(now);
  task.set_time_zone(r.time_zone().empty() ? c.default_time_zone() : r.time_zone());
  task.set_max_attempts(c.retry().max_attempts());

  int64_t due = r.due_at_ms() != 0 ? std::max(r.due_at_ms(), now) : now;
  int64_t deadline = r.deadline_at_ms();
  switch (r.kind()) {
    case pb::FOLLOW_UP_KIND_CALLBACK:
      break;
    case pb::FOLLOW_UP_KIND_COMPLAINT_REPLY: {
      const int64_t limit = now + settings_.ComplaintHours(r) * kHourMs;
      deadline =
          deadline == 0 ? limit : std::min(deadline, now + c.complaint_cap_hours() * kHourMs);
      break;
    }
    case pb::FOLLOW_UP_KIND_RETURN_VISIT:
      if (r.due_at_ms() == 0) due = now + c.return_visit_delay_hours() * kHourMs;
      break;
    case pb::FOLLOW_UP_KIND_KNOWLEDGE_GAP:
      if (deadline == 0) deadline = now + c.knowledge_gap_hours() * kHourMs;
      break;
    case pb::FOLLOW_UP_KIND_REPAIR_STAGE:
      task.set_repair_stage(pb::REPAIR_STAGE_REPORTED);
      if (deadline == 0) {
        deadline = now + (r.repair_area() == pb::REPAIR_AREA_RURAL ? c.repair_rural_hours()
                                                                   : c.repair_urban_hours()) *
                             kHourMs;
      }
      break;
    case pb::FOLLOW_UP_KIND_DEPARTMENT_FEEDBACK:
    case pb::FOLLOW_UP_KIND_MANAGEMENT_NOTIFICATION:
      break;
    default:
      return InvalidArgument("kind: unsupported");
  }
  task.set_queue(r.queue().empty() ? settings_.DefaultQueue(r.kind()) : r.queue());
  task.set_deadline_at_ms(deadline);
  if (!IsWatch(r.kind())) {
    task.set_fire_at_ms(NextCallTime(task, due));
    if (r.window_end_ms() != 0) {
      task.set_expires_at_ms(r.window_end_ms());
    } else if (r.kind() == pb::FOLLOW_UP_KIND_CALLBACK ||
               r.kind() == pb::FOLLOW_UP_KIND_RETURN_VISIT) {
      task.set_expires_at_ms(task.fire_at_ms() + c.expire_after_hours() * kHourMs);
    }
  }

  bool incident = false;
  if (r.kind() == pb::FOLLOW_UP_KIND_COMPLAINT_REPLY && !r.event_key().empty()) {
    incident = complaints_by_event_[IncidentKey(r)]++ > 0;
    task.set_incident(incident);
  }
  AddHistory(&task, now, "created");
  std::string id = Insert(std::move(task), out);
  if (incident) {
    pb::FollowUpRequest n;
    n.set_request_id(id + "/incident");
    n.set_submitted_by(r.submitted_by());
    n.set_kind(pb::FOLLOW_UP_KIND_MANAGEMENT_NOTIFICATION);
    n.set_customer_id(r.customer_id());
    n.set_customer_phone(r.customer_phone());
    n.set_case_id(r.case_id());
    n.set_event_key(r.event_key());
    n.set_note("repeated complaint about the same event: incident (" +
               config::Quote(r.event_key()) + ")");
    SubmitInternal(n, out);
  }
  return id;
}

void Scheduler::SubmitInternal(const pb::FollowUpRequest& request, Effects* out) {
  // Internal requests are built from validated tasks; a failure here would be a bug, and it is
  // recorded rather than dropped.
  Result<std::string> id = Submit(request, out);
  if (!id.ok()) {
    if (pb::FollowUpTask* parent =
            Find(request.request_id().substr(0, request.request_id().rfind('/')))) {
      AddHistory(parent, clock_->NowMs(),
                 "could not create " + request.request_id() + ": " + id.status().message());
    }
  }
}

void Scheduler::NoteIncidentKey(const pb::FollowUpTask& task, int delta) {
  const pb::FollowUpRequest& r = task.request();
  if (r.kind() != pb::FOLLOW_UP_KIND_COMPLAINT_REPLY || r.event_key().empty()) return;
  if (delta > 0) {
    ++complaints_by_event_[IncidentKey(r)];
    return;
  }
  auto it = complaints_by_event_.find(IncidentKey(r));
  if (it != complaints_by_event_.end() && --it->second == 0) complaints_by_event_.erase(it);
}

void Scheduler::Remove(pb::FollowUpTask* task, Effects* out) {
  Touch(*task, out);
  if (IsEnded(task->state())) {
    ended_.erase({task->ended_at_ms(), task->id()});
  } else if (task->next_at_ms() != 0) {
    due_.erase({task->next_at_ms(), task->id()});
  }
  NoteIncidentKey(*task, -1);
  const std::string id = task->id();
  tasks_.erase(id);  // `task` dangles from here
}

Result<std::vector<std::string>> Scheduler::Erase(std::string_view customer_id, Effects* out) {
  if (customer_id.empty()) return InvalidArgument("erase.customer_id: required");
  std::vector<std::string> ids;
  for (const auto& [id, task] : tasks_) {
    if (task.request().customer_id() == customer_id) ids.push_back(id);
  }
  std::sort(ids.begin(), ids.end());
  for (const std::string& id : ids) Remove(Find(id), out);
  return ids;
}

std::string Scheduler::Insert(pb::FollowUpTask task, Effects* out) {
  std::string id = task.id();
  pb::FollowUpTask& stored = tasks_.emplace(id, std::move(task)).first->second;
  stored.set_next_at_ms(0);
  Touch(stored, out);
  Reindex(&stored);
  return id;
}

int64_t Scheduler::NextCallTime(const pb::FollowUpTask& task, int64_t at_ms) const {
  if (!CallsCustomer(task.request().kind())) return at_ms;
  auto it = zones_.find(task.time_zone());
  if (it == zones_.end()) {
    Result<absl::TimeZone> zone = LoadZone(task.time_zone());
    // Zones were checked at Submit; a zone database that lost one falls back to the default.
    it = zones_.emplace(task.time_zone(), zone.ok() ? *zone : settings_.default_zone).first;
  }
  return settings_.windows.NextAllowed(at_ms, it->second);
}

void Scheduler::Touch(const pb::FollowUpTask& task, Effects* out) {
  if (!out->touched.insert(task.id()).second) return;
  std::optional<int64_t> old;
  if (!IsEnded(task.state()) && task.next_at_ms() != 0) old = task.next_at_ms();
  out->changed.push_back({task.id(), old});
}

void Scheduler::Reindex(pb::FollowUpTask* task) {
  int64_t next = 0;
  if (task->state() == pb::FOLLOW_UP_STATE_FIRING) {
    next = task->attempts().rbegin()->fired_at_ms() +
           int64_t{settings_.config.outcome_timeout_s()} * 1000;
  } else if (task->state() == pb::FOLLOW_UP_STATE_PENDING) {
    if (IsWatch(task->request().kind())) {
      next = task->deadline_at_ms();
    } else {
      next = task->fire_at_ms();
      if (task->deadline_at_ms() != 0) next = std::min(next, task->deadline_at_ms());
      if (task->expires_at_ms() != 0) next = std::min(next, task->expires_at_ms());
    }
  }
  if (task->next_at_ms() != 0) due_.erase({task->next_at_ms(), task->id()});
  task->set_next_at_ms(next);
  if (next != 0) due_.insert({next, task->id()});
}

bool Scheduler::TakeFireToken(int64_t now) {
  const double rate = settings_.config.max_fires_per_s();
  if (rate <= 0) return true;
  const double capacity = std::max(1.0, rate);
  fire_tokens_ = std::min(capacity, fire_tokens_ + (now - tokens_at_ms_) * rate / 1000.0);
  tokens_at_ms_ = now;
  if (fire_tokens_ < 1) return false;
  fire_tokens_ -= 1;
  return true;
}

void Scheduler::Tick(Effects* out, size_t max_actions) {
  const int64_t now = clock_->NowMs();
  const int64_t keep_ms = int64_t{settings_.config.ended_retention_days()} * 24 * kHourMs;
  for (size_t removed = 0;
       removed < max_actions && !ended_.empty() && ended_.begin()->first + keep_ms <= now;
       ++removed) {
    Remove(Find(ended_.begin()->second), out);
  }
  if (outage_) return;
  for (size_t acted = 0; acted < max_actions && !due_.empty() && due_.begin()->first <= now;) {
    pb::FollowUpTask* task = Find(due_.begin()->second);
    const bool watch = IsWatch(task->request().kind());
    const bool pending = task->state() == pb::FOLLOW_UP_STATE_PENDING;
    const bool past_deadline = task->deadline_at_ms() != 0 && now >= task->deadline_at_ms();
    const bool expired = task->expires_at_ms() != 0 && now >= task->expires_at_ms();
    if (pending && !past_deadline && !expired && !watch) {
      const int64_t allowed = NextCallTime(*task, now);
      if (allowed != now) {  // quiet hours: wait for the next window
        Touch(*task, out);
        task->set_fire_at_ms(allowed);
        Reindex(task);
        continue;
      }
    }
    // Everything that sends a contact (a call attempt or an escalation) spends a token.
    const bool sends = pending && (past_deadline || !expired);
    if (sends && !TakeFireToken(now)) break;
    Act(task, now, out);
    ++acted;
  }
}

void Scheduler::Act(pb::FollowUpTask* task, int64_t now, Effects* out) {
  Touch(*task, out);
  if (task->state() == pb::FOLLOW_UP_STATE_FIRING) {
    pb::FollowUpAttempt* a = &*task->mutable_attempts()->rbegin();
    a->set_outcome(pb::ATTEMPT_OUTCOME_TIMED_OUT);
    a->set_outcome_at_ms(now);
    AfterFailedAttempt(task, now, out);
    return;
  }
  const pb::FollowUpKind kind = task->request().kind();
  if (task->deadline_at_ms() != 0 && now >= task->deadline_at_ms()) {
    std::string why = kind == pb::FOLLOW_UP_KIND_REPAIR_STAGE
                          ? "repair order not completed by its deadline (stage " +
                                pb::RepairStage_Name(task->repair_stage()) + ")"
                      : kind == pb::FOLLOW_UP_KIND_DEPARTMENT_FEEDBACK
                          ? "department " + config::Quote(task->request().department()) +
                                " did not report back by its deadline"
                          : "deadline missed: " + KindName(kind) + " not done in time";
    Escalate(task, std::move(why), out);
  } else if (task->expires_at_ms() != 0 && now >= task->expires_at_ms()) {
    End(task, pb::FOLLOW_UP_STATE_EXPIRED, "the customer's window passed before it was done", out);
  } else {
    Fire(task, now, out);
  }
}

void Scheduler::Fire(pb::FollowUpTask* task, int64_t now, Effects* out) {
  const pb::FollowUpRequest& r = task->request();
  const uint32_t n = static_cast<uint32_t>(task->attempts_size()) + 1;
  pb::FollowUpAttempt* a = task->add_attempts();
  a->set_number(n);
  a->set_contact_id(task->id() + "#" + std::to_string(n));
  a->set_fired_at_ms(now);
  a->set_due_at_ms(task->fire_at_ms());
  task->set_state(pb::FOLLOW_UP_STATE_FIRING);
  AddHistory(task, now, "attempt " + std::to_string(n) + " fired");
  Reindex(task);

  pb::Contact& c = out->contacts.emplace_back();
  c.set_id(a->contact_id());
  c.set_idempotency_key(a->contact_id());
  c.set_queue(task->queue());
  const bool call = CallsCustomer(r.kind());
  c.set_channel(call ? pb::CHANNEL_CALLBACK : pb::CHANNEL_TASK);
  c.set_priority(r.kind() == pb::FOLLOW_UP_KIND_MANAGEMENT_NOTIFICATION
                     ? settings_.config.escalation_priority()
                     : pb::PRIORITY_NORMAL);
  c.mutable_flags()->set_outbound(call);
  c.set_preferred_agent(!r.preferred_agent().empty() ? r.preferred_agent() : r.owner());
  c.set_customer_id(r.customer_id());
  c.set_created_at_ms(now);
  auto& attrs = *c.mutable_attributes();
  attrs["followup_task"] = task->id();
  attrs["followup_kind"] = KindName(r.kind());
  attrs["attempt"] = std::to_string(n);
  if (!r.customer_phone().empty()) attrs["phone"] = r.customer_phone();
  if (!r.customer_surname().empty()) attrs["surname"] = r.customer_surname();
  if (!r.case_id().empty()) attrs["case_id"] = r.case_id();
  if (!r.note().empty()) attrs["note"] = r.note();
}

void Scheduler::AfterFailedAttempt(pb::FollowUpTask* task, int64_t now, Effects* out) {
  const pb::FollowUpAttempt& last = *task->attempts().rbegin();
  const uint32_t n = last.number();
  const std::string outcome = pb::AttemptOutcome_Name(last.outcome());
  if (n >= task->max_attempts()) {
    Escalate(task, std::to_string(n) + " attempts without an answer (last " + outcome + ")", out);
    return;
  }
  if (task->deadline_at_ms() != 0 && now >= task->deadline_at_ms()) {
    Escalate(task, "deadline missed after attempt " + std::to_string(n) + " (" + outcome + ")",
             out);
    return;
  }
  task->set_state(pb::FOLLOW_UP_STATE_PENDING);
  task->set_fire_at_ms(NextCallTime(*task, now + settings_.BackoffMs(n + 1)));
  AddHistory(task, now, "attempt " + std::to_string(n) + ": " + outcome + "; retry scheduled");
  Reindex(task);
}

void Scheduler::Escalate(pb::FollowUpTask* task, std::string reason, Effects* out) {
  const pb::FollowUpRequest& r = task->request();
  task->set_escalation_contact_id(task->id() + "#escalation");
  pb::Contact& c = out->contacts.emplace_back();
  c.set_id(task->escalation_contact_id());
  c.set_idempotency_key(task->escalation_contact_id());
  c.set_queue(settings_.config.escalation_queue());
  c.set_channel(pb::CHANNEL_TASK);
  c.set_priority(settings_.config.escalation_priority());
  c.set_origin(pb::ORIGIN_INTERNAL);
  c.set_customer_id(r.customer_id());
  c.set_created_at_ms(clock_->NowMs());
  auto& attrs = *c.mutable_attributes();
  attrs["followup_task"] = task->id();
  attrs["followup_kind"] = KindName(r.kind());
  attrs["escalation_reason"] = reason;
  if (!r.owner().empty()) attrs["owner"] = r.owner();
  if (!r.case_id().empty()) attrs["case_id"] = r.case_id();
  End(task, pb::FOLLOW_UP_STATE_ESCALATED, std::move(reason), out);
}

void Scheduler::End(pb::FollowUpTask* task, pb::FollowUpState state, std::string note,
                    Effects* out) {
  const int64_t now = clock_->NowMs();
  task->set_state(state);
  task->set_ended_at_ms(now);
  AddHistory(task, now, std::move(note));
  Reindex(task);
  ended_.insert({now, task->id()});
  out->ended.push_back(task->id());
  if (state != pb::FOLLOW_UP_STATE_DONE) return;
  // A return visit after every complaint and every completed repair order.
  const pb::FollowUpRequest& r = task->request();
  const bool complaint = r.kind() == pb::FOLLOW_UP_KIND_COMPLAINT_REPLY;
  if (!complaint && r.kind() != pb::FOLLOW_UP_KIND_REPAIR_STAGE) return;
  pb::FollowUpRequest visit;
  visit.set_request_id(task->id() + "/return-visit");
  visit.set_submitted_by(r.submitted_by());
  visit.set_kind(pb::FOLLOW_UP_KIND_RETURN_VISIT);
  visit.set_return_visit_kind(complaint ? pb::RETURN_VISIT_KIND_COMPLAINT
                                        : pb::RETURN_VISIT_KIND_SURVEY);
  visit.set_customer_id(r.customer_id());
  visit.set_customer_phone(r.customer_phone());
  visit.set_customer_surname(r.customer_surname());
  visit.set_time_zone(r.time_zone());
  visit.set_owner(r.owner());
  visit.set_case_id(r.case_id());
  SubmitInternal(visit, out);
}

Status Scheduler::RecordOutcome(std::string_view task_id, uint32_t attempt,
                                pb::AttemptOutcome outcome, std::string_view agent_id,
                                std::string_view note, Effects* out) {
  if (!pb::AttemptOutcome_IsValid(outcome) || outcome == pb::ATTEMPT_OUTCOME_UNSPECIFIED ||
      outcome == pb::ATTEMPT_OUTCOME_TIMED_OUT) {
    return InvalidArgument("outcome: one of ANSWERED, NO_ANSWER, BUSY, FAILED");
  }
  if (note.size() > kMaxNoteLen) return InvalidArgument("note: at most 2000 bytes");
  if (agent_id.size() > kMaxIdLen) return InvalidArgument("agent_id: at most 128 bytes");
  pb::FollowUpTask* task = Find(task_id);
  if (task == nullptr) return NotFound("follow-up task " + config::Quote(task_id) + " not found");
  if (attempt == 0 || attempt > static_cast<uint32_t>(task->attempts_size())) {
    return FailedPrecondition("follow-up task " + config::Quote(task_id) + " has no attempt " +
                              std::to_string(attempt));
  }
  pb::FollowUpAttempt* a = task->mutable_attempts(static_cast<int>(attempt) - 1);
  if (a->outcome() == outcome) return Status::Ok();  // a repeated report
  if (a->outcome() != pb::ATTEMPT_OUTCOME_UNSPECIFIED) {
    return FailedPrecondition("attempt " + std::to_string(attempt) + " of " +
                              config::Quote(task_id) + " already has outcome " +
                              pb::AttemptOutcome_Name(a->outcome()));
  }
  // Only the last attempt of a FIRING task can still be open.
  Touch(*task, out);
  const int64_t now = clock_->NowMs();
  a->set_outcome(outcome);
  a->set_outcome_at_ms(now);
  a->set_agent_id(std::string(agent_id));
  a->set_note(std::string(note));
  if (outcome == pb::ATTEMPT_OUTCOME_ANSWERED) {
    End(task, pb::FOLLOW_UP_STATE_DONE, "answered on attempt " + std::to_string(attempt), out);
  } else {
    AfterFailedAttempt(task, now, out);
  }
  return Status::Ok();
}

Status Scheduler::Cancel(std::string_view task_id, std::string_view reason, Effects* out) {
  if (reason.empty() || reason.size() > kMaxNoteLen) {
    return InvalidArgument("reason: required, at most 2000 bytes");
  }
  Result<pb::FollowUpTask*> task = FindOpen(task_id);
  if (!task.ok()) return task.status();
  Touch(**task, out);
  End(*task, pb::FOLLOW_UP_STATE_CANCELLED, "cancelled: " + std::string(reason), out);
  return Status::Ok();
}

Status Scheduler::AdvanceRepair(std::string_view task_id, pb::RepairStage stage, Effects* out) {
  Result<pb::FollowUpTask*> found = FindOpen(task_id);
  if (!found.ok()) return found.status();
  pb::FollowUpTask* task = *found;
  if (task->request().kind() != pb::FOLLOW_UP_KIND_REPAIR_STAGE) {
    return FailedPrecondition("follow-up task " + config::Quote(task_id) +
                              " is not a repair order");
  }
  if (!pb::RepairStage_IsValid(stage) || stage <= task->repair_stage()) {
    return FailedPrecondition("repair order " + config::Quote(task_id) + " is at " +
                              pb::RepairStage_Name(task->repair_stage()) +
                              "; stages only move forward");
  }
  Touch(*task, out);
  task->set_repair_stage(stage);
  if (stage >= pb::REPAIR_STAGE_COMPLETED) {
    End(task, pb::FOLLOW_UP_STATE_DONE, "repair completed in time", out);
  } else {
    AddHistory(task, clock_->NowMs(), "stage " + pb::RepairStage_Name(stage));
  }
  return Status::Ok();
}

Status Scheduler::Complete(std::string_view task_id, std::string_view note, Effects* out) {
  if (note.size() > kMaxNoteLen) return InvalidArgument("note: at most 2000 bytes");
  Result<pb::FollowUpTask*> task = FindOpen(task_id);
  if (!task.ok()) return task.status();
  if ((*task)->request().kind() != pb::FOLLOW_UP_KIND_DEPARTMENT_FEEDBACK) {
    return FailedPrecondition("follow-up task " + config::Quote(task_id) +
                              " is not a department feedback (calls end by their outcome)");
  }
  Touch(**task, out);
  End(*task, pb::FOLLOW_UP_STATE_DONE,
      "department reported back" + (note.empty() ? "" : ": " + std::string(note)), out);
  return Status::Ok();
}

void Scheduler::SetOutage(bool on, Effects* out) {
  if (on == outage_) return;
  const int64_t now = clock_->NowMs();
  outage_ = on;
  if (on) {
    outage_since_ms_ = now;
    return;
  }
  // Parked callbacks resume after the outage: their windows move by its length.
  const int64_t length = now - outage_since_ms_;
  std::vector<pb::FollowUpTask*> open;
  for (const auto& [next, id] : due_) open.push_back(Find(id));
  for (pb::FollowUpTask* task : open) {
    if (task->expires_at_ms() == 0) continue;
    Touch(*task, out);
    task->set_expires_at_ms(task->expires_at_ms() + length);
    Reindex(task);
  }
  outage_since_ms_ = 0;
  // The backlog drains at the configured rate from here: start with an empty bucket.
  fire_tokens_ = 0;
  tokens_at_ms_ = now;
}

std::optional<int64_t> Scheduler::NextAtMs() const {
  if (due_.empty()) return std::nullopt;
  return due_.begin()->first;
}

void Scheduler::ForEach(const std::function<void(const pb::FollowUpTask&)>& fn) const {
  for (const auto& [id, task] : tasks_) fn(task);
}

SchedulerStats Scheduler::Stats() const {
  SchedulerStats s;
  const int64_t now = clock_->NowMs();
  for (const auto& [id, t] : tasks_) {
    switch (t.state()) {
      case pb::FOLLOW_UP_STATE_PENDING:
        ++s.pending;
        break;
      case pb::FOLLOW_UP_STATE_FIRING:
        ++s.firing;
        break;
      case pb::FOLLOW_UP_STATE_DONE:
        ++s.done;
        break;
      case pb::FOLLOW_UP_STATE_ESCALATED:
        ++s.escalated;
        break;
      case pb::FOLLOW_UP_STATE_EXPIRED:
        ++s.expired;
        break;
      case pb::FOLLOW_UP_STATE_CANCELLED:
        ++s.cancelled;
        break;
      default:
        break;
    }
    if (IsEnded(t.state())) continue;
    const bool late_deadline = t.deadline_at_ms() != 0 && now > t.deadline_at_ms();
    const bool late_fire = t.state() == pb::FOLLOW_UP_STATE_PENDING &&
                           !IsWatch(t.request().kind()) && now > t.fire_at_ms() + kOverdueSlackMs;
    if (late_deadline || late_fire) ++s.overdue;
  }
  return s;
}

pb::FollowUpSchedulerState Scheduler::ExportState() const {
  pb::FollowUpSchedulerState state;
  state.set_outage(outage_);
  state.set_outage_since_ms(outage_since_ms_);
  std::vector<const pb::FollowUpTask*> sorted;
  sorted.reserve(tasks_.size());
  for (const auto& [id, t] : tasks_) sorted.push_back(&t);
  std::sort(sorted.begin(), sorted.end(),
            [](const auto* a, const auto* b) { return a->id() < b->id(); });
  for (const pb::FollowUpTask* t : sorted) *state.add_tasks() = *t;
  return state;
}

}  // namespace sb::followup
