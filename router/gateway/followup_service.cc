#include <chrono>

#include "common/config/text.h"
#include "router/gateway/rpc.h"
#include "router/gateway/services.h"
#include "router/kafka/topics.h"
#include "switchboard/v1/events.pb.h"
#include "switchboard/v1/services.grpc.pb.h"

namespace sb::gateway {
namespace {

constexpr uint32_t kDefaultPageSize = 100;

bool IsEnded(pb::FollowUpState s) {
  return s == pb::FOLLOW_UP_STATE_DONE || s == pb::FOLLOW_UP_STATE_ESCALATED ||
         s == pb::FOLLOW_UP_STATE_EXPIRED || s == pb::FOLLOW_UP_STATE_CANCELLED;
}

Status Ended(const IndexedTask& t) {
  return FailedPrecondition("follow-up task " + config::Quote(t.task.id()) + " already ended (" +
                            pb::FollowUpState_Name(t.task.state()) + ")");
}

class FollowUpServiceImpl final : public pb::FollowUpService::Service {
 public:
  explicit FollowUpServiceImpl(const FollowUpServiceParts& parts) : parts_(parts) {}

  // Publishes the request as a FollowUpCommand to sb.contacts, partition of its queue's domain;
  // the shard's scheduler creates the task (the same request id never creates a second one).
  grpc::Status Create(grpc::ServerContext* ctx, const pb::CreateFollowUpRequest* req,
                      pb::CreateFollowUpResponse* resp) override {
    Principal who;
    grpc::Status admitted =
        parts_.admission.Admit(ctx, "/switchboard.v1.FollowUpService/Create", *req, &who);
    if (!admitted.ok()) return admitted;
    if (!parts_.domain_of) {
      return ToGrpc(FailedPrecondition("follow-ups are off on this router"));
    }
    auto domain = parts_.domain_of(req->request());
    if (!domain.ok()) {
      return ToGrpc(InvalidArgument("field request." + domain.status().message()));
    }
    if (!ReachesDomain(who, *domain)) {
      return {grpc::StatusCode::PERMISSION_DENIED,
              "field request.queue: its domain " + config::Quote(*domain) +
                  " is not one supervisor " + config::Quote(who.name) + " supervises"};
    }
    // request_id is the caller's idempotency key, not a name any caller may take over: the
    // shard's scheduler refuses the same id from another caller too (dead letter), this answers
    // it at once when this node already knows the task.
    const std::string& id = req->request().request_id();
    if (parts_.index.loaded()) {
      auto known = parts_.index.Get(id);
      if (known && known->task.request().submitted_by() != who.name) {
        return ToGrpc(AlreadyExists("field request.request_id: " + config::Quote(id) +
                                    " is taken by another caller (request ids are per caller)"));
      }
    }
    pb::RoutingEvent ev;
    ev.set_at_ms(parts_.clock.NowMs());
    *ev.mutable_follow_up()->mutable_submit() = req->request();
    ev.mutable_follow_up()->mutable_submit()->set_submitted_by(who.name);
    Status st =
        parts_.publisher.Publish(kafka::kContactsTopic, parts_.publisher.PartitionOf(*domain),
                                 req->request().request_id(), ev.SerializeAsString());
    if (!st.ok()) return ToGrpc(Unavailable("follow-up not accepted: " + st.message()));
    resp->set_task_id(req->request().request_id());
    // Read-your-writes on this node: List/Cancel right after Create find the task (bounded; a
    // request the shard refused never shows, and Create still answers OK: it was accepted).
    if (parts_.index.loaded()) {
      parts_.index
          .WaitFor(
              resp->task_id(), [](const IndexedTask* t) { return t != nullptr; }, Visible())
          .reset();
    }
    return grpc::Status::OK;
  }
  // From this node's view of sb.followups (FollowUpIndex), in task id order.
  grpc::Status List(grpc::ServerContext* ctx, const pb::ListFollowUpsRequest* req,
                    pb::ListFollowUpsResponse* resp) override {
    Principal who;
    grpc::Status admitted =
        parts_.admission.Admit(ctx, "/switchboard.v1.FollowUpService/List", *req, &who);
    if (!admitted.ok()) return admitted;
    if (Status st = Ready(); !st.ok()) return ToGrpc(st);
    FollowUpFilter filter;
    filter.customer_id = req->customer_id();
    filter.owner = req->owner();
    filter.state = req->state();
    if (AuthResult scope = ScopeFollowUpList(who, &filter.owner, &filter.submitted_by);
        !scope.ok()) {
      return {grpc::StatusCode::PERMISSION_DENIED, scope.message};
    }
    if (who.role == Role::kSupervisor && !who.domains.empty()) {
      filter.queues.emplace();
      const auto config = parts_.config.Get();
      for (const pb::QueueDef& q : config->config().queues()) {
        if (ReachesDomain(who, q.domain())) filter.queues->insert(q.name());
      }
    }
    FollowUpPage page = parts_.index.List(
        filter, req->page_size() == 0 ? kDefaultPageSize : req->page_size(), req->page_token());
    for (pb::FollowUpTask& t : page.tasks) *resp->add_tasks() = std::move(t);
    resp->set_next_page_token(std::move(page.next_page_token));
    return grpc::Status::OK;
  }

  // A FollowUpCommand.cancel to the task's shard; answers once the shard's new record for the
  // task arrived here (or after followup_visible_ms: the command is accepted either way).
  grpc::Status Cancel(grpc::ServerContext* ctx, const pb::CancelFollowUpRequest* req,
                      pb::CancelFollowUpResponse*) override {
    Principal who;
    grpc::Status admitted =
        parts_.admission.Admit(ctx, "/switchboard.v1.FollowUpService/Cancel", *req, &who);
    if (!admitted.ok()) return admitted;
    auto task = Find(req->task_id());
    if (!task.ok()) return ToGrpc(task.status());
    if (AuthResult access = CheckFollowUpAccess(who, task->task.id(), task->task.request().owner(),
                                                task->task.request().submitted_by(),
                                                parts_.config.DomainOfQueue(task->task.queue()));
        !access.ok()) {
      return {grpc::StatusCode::PERMISSION_DENIED, access.message};
    }
    if (IsEnded(task->task.state())) return ToGrpc(Ended(*task));
    pb::RoutingEvent ev;
    ev.set_at_ms(parts_.clock.NowMs());
    pb::FollowUpCancel* cancel = ev.mutable_follow_up()->mutable_cancel();
    cancel->set_task_id(req->task_id());
    cancel->set_reason(req->reason());
    if (Status st = Send(*task, ev); !st.ok()) return ToGrpc(st);
    auto after = parts_.index.WaitFor(
        req->task_id(),
        [](const IndexedTask* t) { return t != nullptr && IsEnded(t->task.state()); }, Visible());
    if (after && IsEnded(after->task.state()) &&
        after->task.state() != pb::FOLLOW_UP_STATE_CANCELLED) {
      return ToGrpc(Ended(*after));  // it ended otherwise before the shard saw the cancel
    }
    return grpc::Status::OK;
  }

  // A FollowUpCommand.outcome for the attempt out now (the task FIRING, its last attempt without
  // an outcome) to the task's shard; an agent reports only as itself. A repeat of an outcome
  // already recorded is OK.
  grpc::Status RecordOutcome(grpc::ServerContext* ctx, const pb::RecordOutcomeRequest* req,
                             pb::RecordOutcomeResponse*) override {
    Principal who;
    grpc::Status admitted =
        parts_.admission.Admit(ctx, "/switchboard.v1.FollowUpService/RecordOutcome", *req, &who);
    if (!admitted.ok()) return admitted;
    pb::FollowUpOutcome outcome = req->outcome();
    if (who.role == Role::kAgent && outcome.agent_id().empty()) outcome.set_agent_id(who.agent_id);
    AuthResult acts = CheckActsAs(who, outcome.agent_id());
    if (acts.code != AuthCode::kOk) {
      return {grpc::StatusCode::PERMISSION_DENIED, "outcome.agent_id: " + acts.message};
    }
    auto task = Find(outcome.task_id());
    if (!task.ok()) return ToGrpc(task.status());
    const pb::FollowUpTask& t = task->task;
    if (AuthResult access =
            CheckFollowUpAccess(who, t.id(), t.request().owner(), t.request().submitted_by(),
                                parts_.config.DomainOfQueue(t.queue()));
        !access.ok()) {
      return {grpc::StatusCode::PERMISSION_DENIED, access.message};
    }
    const uint32_t n = outcome.attempt();
    if (n <= static_cast<uint32_t>(t.attempts_size()) &&
        t.attempts(static_cast<int>(n) - 1).outcome() == outcome.outcome()) {
      return grpc::Status::OK;  // a repeated report
    }
    if (IsEnded(t.state())) return ToGrpc(Ended(*task));
    if (n > static_cast<uint32_t>(t.attempts_size())) {
      return ToGrpc(FailedPrecondition("follow-up task " + config::Quote(t.id()) +
                                       " has no attempt " + std::to_string(n) + " (it has " +
                                       std::to_string(t.attempts_size()) + ")"));
    }
    if (t.state() != pb::FOLLOW_UP_STATE_FIRING || n != static_cast<uint32_t>(t.attempts_size())) {
      return ToGrpc(FailedPrecondition("attempt " + std::to_string(n) + " of follow-up task " +
                                       config::Quote(t.id()) + " is not the one out: the task is " +
                                       pb::FollowUpState_Name(t.state()) +
                                       (t.state() == pb::FOLLOW_UP_STATE_FIRING
                                            ? " with attempt " + std::to_string(t.attempts_size())
                                            : std::string(", no attempt is out"))));
    }
    pb::RoutingEvent ev;
    ev.set_at_ms(parts_.clock.NowMs());
    *ev.mutable_follow_up()->mutable_outcome() = outcome;
    if (Status st = Send(*task, ev); !st.ok()) return ToGrpc(st);
    parts_.index
        .WaitFor(
            t.id(),
            [n](const IndexedTask* now) {
              return now != nullptr && now->task.attempts_size() >= static_cast<int>(n) &&
                     now->task.attempts(static_cast<int>(n) - 1).outcome() !=
                         pb::ATTEMPT_OUTCOME_UNSPECIFIED;
            },
            Visible())
        .reset();
    return grpc::Status::OK;
  }

 private:
  std::chrono::milliseconds Visible() const { return std::chrono::milliseconds(parts_.visible_ms); }

  // Follow-ups on, and this node's view of sb.followups read up to where it was at start.
  Status Ready() const {
    if (!parts_.domain_of) return FailedPrecondition("follow-ups are off on this router");
    if (!parts_.index.loaded()) {
      return Unavailable("this node is still reading the follow-up tasks (sb.followups); retry");
    }
    return Status::Ok();
  }

  // The task as this node knows it. A task not known yet is waited for a little: one created
  // moments ago (through any node) may not have reached this node's view.
  Result<IndexedTask> Find(const std::string& task_id) const {
    SB_RETURN_IF_ERROR(Ready());
    auto task = parts_.index.WaitFor(
        task_id, [](const IndexedTask* t) { return t != nullptr; },
        std::chrono::milliseconds(parts_.unknown_wait_ms));
    if (!task) {
      return NotFound("follow-up task " + config::Quote(task_id) +
                      " is not known to this node (unknown, or created through another node "
                      "moments ago: retry)");
    }
    return *task;
  }

  // A command about `task` to its shard's partition of sb.contacts, acknowledged by the broker.
  Status Send(const IndexedTask& task, const pb::RoutingEvent& ev) {
    Status st = parts_.publisher.Publish(kafka::kContactsTopic, task.shard, task.task.id(),
                                         ev.SerializeAsString());
    if (!st.ok()) return Unavailable("follow-up command not accepted: " + st.message());
    return Status::Ok();
  }

  const FollowUpServiceParts parts_;
};

}  // namespace

std::unique_ptr<grpc::Service> NewFollowUpService(const FollowUpServiceParts& parts) {
  return std::make_unique<FollowUpServiceImpl>(parts);
}

}  // namespace sb::gateway
