#include "common/config/config.h"
#include "common/config/text.h"
#include "router/gateway/gateway_impl.h"
#include "switchboard/v1/events.pb.h"

namespace sb::gateway {
namespace {

using Impl = Gateway::Impl;

// The contact id of an idempotency key: the same caller name and key give the same id on every
// node, so a retry (to this node or another) names the contact it created the first time.
// The gRPC code of a refusal's code name (sb::CodeName); UNKNOWN for a name not known here.
grpc::StatusCode GrpcCodeOf(std::string_view name) {
  for (Code c : {Code::kInvalidArgument, Code::kNotFound, Code::kFailedPrecondition,
                 Code::kAlreadyExists, Code::kUnavailable, Code::kInternal}) {
    if (CodeName(c) == name) return ToGrpc(Status(c, "")).error_code();
  }
  return grpc::StatusCode::UNKNOWN;
}

std::string ContactIdFor(const std::string& caller, const std::string& key) {
  std::string material = caller;
  material.push_back('\0');
  material += key;
  return "c-" + Sha256Hex(material).substr(0, 32);
}

class ContactServiceImpl final : public pb::ContactService::Service {
 public:
  explicit ContactServiceImpl(Impl* gw) : gw_(gw) {}

  grpc::Status Submit(grpc::ServerContext* ctx, const pb::SubmitContactRequest* req,
                      pb::SubmitContactResponse* resp) override {
    Principal who;
    grpc::Status admitted = gw_->Admit(ctx, "/switchboard.v1.ContactService/Submit", *req, &who);
    if (!admitted.ok()) return admitted;
    // "The same key returns the same contact, never a second one":
    // 1. the id is derived from (caller, key), so every node names a retry the same;
    // 2. every gateway's book learns every contact that enters the cluster (it reads
    //    sb.contacts), so a retry of a known key is answered from the book and publishes nothing;
    // 3. a retry racing its original through another node publishes the same id again, and the
    //    routing engine refuses a ContactArrived whose id is still being routed (AlreadyExists):
    //    still one contact.
    // Not covered yet: a retry after the contact ended AND this gateway restarted since (its book
    // is in memory) would route the id again; closing that needs the shard to remember ended ids.
    const std::string id = ContactIdFor(who.name, req->contact().idempotency_key());
    gw_->BeginSubmit(id);
    grpc::Status result = SubmitOnce(id, *req, resp);
    gw_->EndSubmit(id);
    return result;
  }

  grpc::Status Get(grpc::ServerContext* ctx, const pb::GetContactRequest* req,
                   pb::GetContactResponse* resp) override {
    Principal who;
    grpc::Status admitted = gw_->Admit(ctx, "/switchboard.v1.ContactService/Get", *req, &who);
    if (!admitted.ok()) return admitted;
    auto status = gw_->book_.Get(req->contact_id());
    if (!status) return ToGrpc(Unknown(req->contact_id()));
    gw_->FillEstimate(&*status);
    *resp->mutable_status() = std::move(*status);
    return grpc::Status::OK;
  }

  grpc::Status Cancel(grpc::ServerContext* ctx, const pb::CancelContactRequest* req,
                      pb::CancelContactResponse*) override {
    Principal who;
    grpc::Status admitted = gw_->Admit(ctx, "/switchboard.v1.ContactService/Cancel", *req, &who);
    if (!admitted.ok()) return admitted;
    auto status = gw_->book_.Get(req->contact_id());
    if (!status) return ToGrpc(Unknown(req->contact_id()));
    if (IsFinal(status->state()) || status->state() == pb::CONTACT_STATE_CONNECTED) {
      return ToGrpc(FailedPrecondition("contact " + config::Quote(req->contact_id()) + " is " +
                                       pb::ContactState_Name(status->state()) +
                                       ": only a waiting or offered contact can be "
                                       "cancelled"));
    }
    if (gw_->validator_.DomainOfQueue(status->queue()).empty()) {
      return ToGrpc(FailedPrecondition("contact " + config::Quote(req->contact_id()) +
                                       " is in queue " + config::Quote(status->queue()) +
                                       ", which this node's routing config does not know"));
    }
    pb::RoutingEvent ev;
    const int64_t now = gw_->clock_.NowMs();
    ev.set_at_ms(now);
    ev.mutable_contact_cancelled()->set_contact_id(req->contact_id());
    ev.mutable_contact_cancelled()->set_reason(req->reason());
    Status st = gw_->Publish(kafka::kContactsTopic, gw_->PartitionOfQueue(status->queue()),
                             req->contact_id(), ev.SerializeAsString());
    if (!st.ok()) return ToGrpc(Unavailable("cancel not accepted: " + st.message()));
    gw_->book_.OnCancelled(req->contact_id(), now);
    return grpc::Status::OK;
  }

  grpc::Status Watch(grpc::ServerContext* ctx, const pb::WatchContactRequest* req,
                     grpc::ServerWriter<pb::ContactUpdate>* writer) override {
    Principal who;
    grpc::Status admitted = gw_->Admit(ctx, "/switchboard.v1.ContactService/Watch", *req, &who);
    if (!admitted.ok()) return admitted;
    auto first = gw_->book_.WaitChange(req->contact_id(), 0, 0);
    if (!first) return ToGrpc(Unknown(req->contact_id()));
    uint64_t version = first->version;
    pb::ContactUpdate update;
    *update.mutable_status() = first->status;
    gw_->FillEstimate(update.mutable_status());
    if (!writer->Write(update)) return grpc::Status::OK;
    pb::ContactState state = first->status.state();
    while (!IsFinal(state)) {
      if (ctx->IsCancelled() || gw_->stopping_) return grpc::Status::CANCELLED;
      auto change = gw_->book_.WaitChange(req->contact_id(), version, kWatchPollMs);
      if (!change) {
        if (!gw_->book_.Get(req->contact_id())) {
          return {grpc::StatusCode::NOT_FOUND, "contact forgotten by this node (view size cap)"};
        }
        continue;
      }
      version = change->version;
      state = change->status.state();
      update.Clear();
      *update.mutable_status() = std::move(change->status);
      gw_->FillEstimate(update.mutable_status());
      if (change->decision) *update.mutable_decision() = std::move(*change->decision);
      if (!writer->Write(update)) return grpc::Status::OK;
    }
    return grpc::Status::OK;
  }

  // Hands a connected contact on to a queue of its routing domain or to a named agent, with a
  // handoff note; the first-contact owner is kept (the engine: ContactTransferred). Published to
  // sb.contacts (the contact's domain), acknowledged, then answered with the router's decision
  // about that very record: the contact's status after DECISION_TRANSFERRED, or the engine's
  // refusal (its code and message). An agent token transfers only a contact connected to it.
  grpc::Status Transfer(grpc::ServerContext* ctx, const pb::TransferContactRequest* req,
                        pb::TransferContactResponse* resp) override {
    Principal who;
    grpc::Status admitted = gw_->Admit(ctx, "/switchboard.v1.ContactService/Transfer", *req, &who);
    if (!admitted.ok()) return admitted;
    const std::string& id = req->contact_id();
    auto status = gw_->book_.Get(id);
    if (!status) return ToGrpc(Unknown(id));
    if (status->state() != pb::CONTACT_STATE_CONNECTED) {
      return ToGrpc(FailedPrecondition("contact " + config::Quote(id) + " is " +
                                       pb::ContactState_Name(status->state()) +
                                       ": only a connected contact can be transferred"));
    }
    pb::RoutingEvent ev;
    pb::ContactTransferred* t = ev.mutable_contact_transferred();
    if (who.role == Role::kAgent) {
      if (status->agent_id() != who.agent_id) {
        return {grpc::StatusCode::PERMISSION_DENIED, "agent " + config::Quote(who.agent_id) +
                                                         " may transfer only a contact connected "
                                                         "to it; contact " +
                                                         config::Quote(id) + " is not"};
      }
      t->set_by_agent_id(who.agent_id);  // the engine checks it against the contact's agent
    }
    const std::string& domain = gw_->validator_.DomainOfQueue(status->queue());
    if (domain.empty()) {
      return ToGrpc(FailedPrecondition("contact " + config::Quote(id) + " is in queue " +
                                       config::Quote(status->queue()) +
                                       ", which this node's routing config does not know"));
    }
    if (req->target_case() == pb::TransferContactRequest::kQueue) {
      const std::string& to = gw_->validator_.DomainOfQueue(req->queue());
      if (to != domain) {
        return ToGrpc(InvalidArgument("field queue: queue " + config::Quote(req->queue()) +
                                      " is in routing domain " + config::Quote(to) +
                                      ", the contact in domain " + config::Quote(domain) +
                                      ": a transfer stays within its domain"));
      }
      t->set_to_queue(req->queue());
    } else {
      t->set_to_agent_id(req->agent_id());
    }
    t->set_contact_id(id);
    t->set_handoff_note(req->handoff_note());
    ev.set_at_ms(gw_->clock_.NowMs());

    auto wait = gw_->AwaitAnswers(id);
    int64_t offset = -1;
    Status st = gw_->Publish(kafka::kContactsTopic, gw_->PartitionOfQueue(status->queue()), id,
                             ev.SerializeAsString(), &offset);
    if (!st.ok()) {
      gw_->EndAwait(wait);
      return ToGrpc(Unavailable("transfer not accepted: " + st.message()));
    }
    const int timeout_ms = gw_->options_.ack_timeout_ms;
    std::optional<pb::Decision> answer =
        gw_->WaitAnswer(wait, kafka::kContactsTopic, offset, timeout_ms);
    gw_->EndAwait(wait);
    if (!answer) {
      return {grpc::StatusCode::DEADLINE_EXCEEDED,
              "transfer of contact " + config::Quote(id) +
                  " was accepted, but the router did not decide within " +
                  std::to_string(timeout_ms) + " ms; Get the contact to see its state"};
    }
    if (answer->type() == pb::DECISION_REFUSED) {
      return {GrpcCodeOf(answer->refusal_code()), answer->detail()};
    }
    // The I/O thread applied the decision to the book before handing it over (and maybe the
    // offer after it): the book is at least as new as the answer.
    auto after = gw_->book_.Get(id);
    if (after) {
      gw_->FillEstimate(&*after);
      *resp->mutable_status() = std::move(*after);
    }
    return grpc::Status::OK;
  }

 private:
  static Status Unknown(const std::string& id) {
    return NotFound("contact " + config::Quote(id) +
                    " is not known to this node (never submitted, or ended long ago)");
  }

  grpc::Status SubmitOnce(const std::string& id, const pb::SubmitContactRequest& req,
                          pb::SubmitContactResponse* resp) {
    resp->set_contact_id(id);
    if (auto known = gw_->book_.Get(id)) {
      resp->set_existing(true);
      resp->set_estimated_wait_s(known->state() == pb::CONTACT_STATE_WAITING
                                     ? gw_->estimates_.EstimatedWaitS(known->queue())
                                     : -1);
      return grpc::Status::OK;
    }
    pb::RoutingEvent ev;
    const int64_t now = gw_->clock_.NowMs();
    ev.set_at_ms(now);
    pb::Contact* c = ev.mutable_contact_arrived()->mutable_contact();
    *c = req.contact();
    c->set_id(id);
    if (c->created_at_ms() == 0) c->set_created_at_ms(now);
    // Acknowledged only once the broker has the record: an accepted contact is never lost.
    Status st = gw_->Publish(kafka::kContactsTopic, gw_->PartitionOfQueue(c->queue()), id,
                             ev.SerializeAsString());
    if (!st.ok()) {
      return ToGrpc(
          Unavailable("contact not accepted (" + st.message() + "); retry with the same key"));
    }
    gw_->book_.OnArrived(*c, now);
    // From the queue's live statistics; -1 while no shard has published one.
    resp->set_estimated_wait_s(gw_->estimates_.EstimatedWaitS(c->queue()));
    return grpc::Status::OK;
  }

  Impl* gw_;
};

}  // namespace

std::unique_ptr<grpc::Service> NewContactService(Gateway::Impl* gw) {
  return std::make_unique<ContactServiceImpl>(gw);
}

}  // namespace sb::gateway
