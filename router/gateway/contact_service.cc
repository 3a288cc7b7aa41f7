#include <set>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/config/config.h"
#include "common/config/text.h"
#include "router/gateway/rpc.h"
#include "router/gateway/services.h"
#include "router/kafka/topics.h"
#include "switchboard/v1/events.pb.h"
#include "switchboard/v1/services.grpc.pb.h"

namespace sb::gateway {
namespace {

// The gRPC code of a refusal's code name (sb::CodeName); UNKNOWN for a name not known here.
grpc::StatusCode GrpcCodeOf(std::string_view name) {
  for (Code c : {Code::kInvalidArgument, Code::kNotFound, Code::kFailedPrecondition,
                 Code::kAlreadyExists, Code::kUnavailable, Code::kInternal}) {
    if (CodeName(c) == name) return ToGrpc(Status(c, "")).error_code();
  }
  return grpc::StatusCode::UNKNOWN;
}

// The contact id of an idempotency key: the same caller name and key give the same id on every
// node, so a retry (to this node or another) names the contact it created the first time.
std::string ContactIdFor(const std::string& caller, const std::string& key) {
  std::string material = caller;
  material.push_back('\0');
  material += key;
  return "c-" + Sha256Hex(material).substr(0, 32);
}

// Submits of one contact id through this gateway run one at a time, so a retry racing its
// original waits for it and then finds the contact in the book. Thread-safe.
class SubmitTurns {
 public:
  // Returns once no other submit of `id` is in progress. REQUIRES: End(id) follows.
  void Begin(const std::string& id) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    auto free = [this, &id] {
      mu_.AssertReaderHeld();
      return busy_.count(id) == 0;
    };
    mu_.Await(absl::Condition(&free));
    busy_.insert(id);
  }
  // A submit waiting for `id` goes on as this releases mu_.
  void End(const std::string& id) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    busy_.erase(id);
  }

 private:
  absl::Mutex mu_;
  std::set<std::string> busy_ ABSL_GUARDED_BY(mu_);
};

class ContactServiceImpl final : public pb::ContactService::Service {
 public:
  explicit ContactServiceImpl(const ContactServiceParts& parts) : parts_(parts) {}

  grpc::Status Submit(grpc::ServerContext* ctx, const pb::SubmitContactRequest* req,
                      pb::SubmitContactResponse* resp) override {
    Principal who;
    grpc::Status admitted =
        parts_.admission.Admit(ctx, "/switchboard.v1.ContactService/Submit", *req, &who);
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
    // A supervisor submits into its domains' queues (an unknown queue is refused below).
    if (const std::string domain = parts_.config.DomainOfQueue(req->contact().queue());
        !domain.empty() && !ReachesDomain(who, domain)) {
      return {grpc::StatusCode::PERMISSION_DENIED,
              "field contact.queue: its domain " + config::Quote(domain) +
                  " is not one supervisor " + config::Quote(who.name) + " supervises"};
    }
    const std::string id = ContactIdFor(who.name, req->contact().idempotency_key());
    submits_.Begin(id);
    grpc::Status result = SubmitOnce(id, who.name, *req, resp);
    submits_.End(id);
    return result;
  }

  grpc::Status Get(grpc::ServerContext* ctx, const pb::GetContactRequest* req,
                   pb::GetContactResponse* resp) override {
    Principal who;
    grpc::Status admitted =
        parts_.admission.Admit(ctx, "/switchboard.v1.ContactService/Get", *req, &who);
    if (!admitted.ok()) return admitted;
    if (!Reaches(who, req->contact_id())) return ToGrpc(Unknown(req->contact_id()));
    auto status = parts_.book.Get(req->contact_id());
    if (!status) return ToGrpc(Unknown(req->contact_id()));
    FillEstimate(&*status);
    *resp->mutable_status() = std::move(*status);
    return grpc::Status::OK;
  }

  grpc::Status Cancel(grpc::ServerContext* ctx, const pb::CancelContactRequest* req,
                      pb::CancelContactResponse*) override {
    Principal who;
    grpc::Status admitted =
        parts_.admission.Admit(ctx, "/switchboard.v1.ContactService/Cancel", *req, &who);
    if (!admitted.ok()) return admitted;
    if (!Reaches(who, req->contact_id())) return ToGrpc(Unknown(req->contact_id()));
    auto status = parts_.book.Get(req->contact_id());
    if (!status) return ToGrpc(Unknown(req->contact_id()));
    if (IsFinal(status->state()) || status->state() == pb::CONTACT_STATE_CONNECTED) {
      return ToGrpc(FailedPrecondition("contact " + config::Quote(req->contact_id()) + " is " +
                                       pb::ContactState_Name(status->state()) +
                                       ": only a waiting or offered contact can be "
                                       "cancelled"));
    }
    if (parts_.config.DomainOfQueue(status->queue()).empty()) {
      return ToGrpc(FailedPrecondition("contact " + config::Quote(req->contact_id()) +
                                       " is in queue " + config::Quote(status->queue()) +
                                       ", which this node's routing config does not know"));
    }
    pb::RoutingEvent ev;
    const int64_t now = parts_.clock.NowMs();
    ev.set_at_ms(now);
    ev.mutable_contact_cancelled()->set_contact_id(req->contact_id());
    ev.mutable_contact_cancelled()->set_reason(req->reason());
    Status st = parts_.publisher.Publish(kafka::kContactsTopic, PartitionOfQueue(status->queue()),
                                         req->contact_id(), ev.SerializeAsString());
    if (!st.ok()) return ToGrpc(Unavailable("cancel not accepted: " + st.message()));
    parts_.book.OnCancelled(req->contact_id(), now);
    return grpc::Status::OK;
  }

  grpc::Status Watch(grpc::ServerContext* ctx, const pb::WatchContactRequest* req,
                     grpc::ServerWriter<pb::ContactUpdate>* writer) override {
    Principal who;
    uint64_t tokens_seen = parts_.admission.tokens_generation();  // before the gate, as Session
    grpc::Status admitted =
        parts_.admission.Admit(ctx, "/switchboard.v1.ContactService/Watch", *req, &who);
    if (!admitted.ok()) return admitted;
    auto slot = parts_.limits.Open(who.name, CallerLimits::Stream::kWatch);
    if (!slot.ok()) return ToGrpc(slot.status());
    if (!Reaches(who, req->contact_id())) return ToGrpc(Unknown(req->contact_id()));
    auto first = parts_.book.WaitChange(req->contact_id(), 0, 0);
    if (!first) return ToGrpc(Unknown(req->contact_id()));
    uint64_t version = first->version;
    pb::ContactUpdate update;
    *update.mutable_status() = first->status;
    FillEstimate(update.mutable_status());
    if (!writer->Write(update)) return grpc::Status::OK;
    pb::ContactState state = first->status.state();
    while (!IsFinal(state)) {
      if (ctx->IsCancelled() || parts_.publisher.stopping()) return grpc::Status::CANCELLED;
      if (parts_.admission.tokens_generation() != tokens_seen) {  // the token file was reloaded
        tokens_seen = parts_.admission.tokens_generation();
        grpc::Status still =
            parts_.admission.StillAdmitted(ctx, "/switchboard.v1.ContactService/Watch", who);
        if (!still.ok()) return still;
      }
      auto change = parts_.book.WaitChange(req->contact_id(), version, kWatchPollMs);
      if (!change) {
        if (!parts_.book.Get(req->contact_id())) {
          return {grpc::StatusCode::NOT_FOUND, "contact forgotten by this node (view size cap)"};
        }
        continue;
      }
      version = change->version;
      state = change->status.state();
      update.Clear();
      *update.mutable_status() = std::move(change->status);
      FillEstimate(update.mutable_status());
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
    grpc::Status admitted =
        parts_.admission.Admit(ctx, "/switchboard.v1.ContactService/Transfer", *req, &who);
    if (!admitted.ok()) return admitted;
    const std::string& id = req->contact_id();
    if (!Reaches(who, id)) return ToGrpc(Unknown(id));
    auto status = parts_.book.Get(id);
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
    const std::string& domain = parts_.config.DomainOfQueue(status->queue());
    if (domain.empty()) {
      return ToGrpc(FailedPrecondition("contact " + config::Quote(id) + " is in queue " +
                                       config::Quote(status->queue()) +
                                       ", which this node's routing config does not know"));
    }
    if (req->target_case() == pb::TransferContactRequest::kQueue) {
      const std::string& to = parts_.config.DomainOfQueue(req->queue());
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
    ev.set_at_ms(parts_.clock.NowMs());

    const Answers::WaitId wait = parts_.answers.Begin(id);
    int64_t offset = -1;
    Status st = parts_.publisher.Publish(kafka::kContactsTopic, PartitionOfQueue(status->queue()),
                                         id, ev.SerializeAsString(), &offset);
    if (!st.ok()) {
      parts_.answers.End(wait);
      return ToGrpc(Unavailable("transfer not accepted: " + st.message()));
    }
    const int timeout_ms = parts_.ack_timeout_ms;
    std::optional<pb::Decision> answer =
        parts_.answers.Await(wait, kafka::kContactsTopic, offset, timeout_ms);
    parts_.answers.End(wait);
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
    auto after = parts_.book.Get(id);
    if (after) {
      FillEstimate(&*after);
      *resp->mutable_status() = std::move(*after);
    }
    return grpc::Status::OK;
  }

 private:
  // An integrator reaches the contacts it submitted (and the shards' own follow-up contacts),
  // not another integrator's: to it, those are unknown. A supervisor with domains reaches the
  // contacts of their queues; admins all; agents are checked against the contact's agent where
  // they may act (Transfer).
  bool Reaches(const Principal& who, const std::string& contact_id) const {
    if (who.role == Role::kIntegrator) return parts_.book.SubmittedBy(contact_id, who.name);
    if (who.role != Role::kSupervisor || who.domains.empty()) return true;
    auto status = parts_.book.Get(contact_id);
    return status && ReachesDomain(who, parts_.config.DomainOfQueue(status->queue()));
  }
  int32_t PartitionOfQueue(const std::string& queue) const {
    return parts_.publisher.PartitionOf(parts_.config.DomainOfQueue(queue));
  }
  void FillEstimate(pb::ContactStatus* s) const {
    s->set_estimated_wait_s(
        s->state() == pb::CONTACT_STATE_WAITING ? parts_.estimates.EstimatedWaitS(s->queue()) : -1);
  }

  static Status Unknown(const std::string& id) {
    return NotFound("contact " + config::Quote(id) +
                    " is not known to this node (never submitted, or ended long ago)");
  }

  grpc::Status SubmitOnce(const std::string& id, const std::string& who_name,
                          const pb::SubmitContactRequest& req, pb::SubmitContactResponse* resp) {
    resp->set_contact_id(id);
    if (auto known = parts_.book.Get(id)) {
      resp->set_existing(true);
      resp->set_estimated_wait_s(known->state() == pb::CONTACT_STATE_WAITING
                                     ? parts_.estimates.EstimatedWaitS(known->queue())
                                     : -1);
      return grpc::Status::OK;
    }
    pb::RoutingEvent ev;
    const int64_t now = parts_.clock.NowMs();
    ev.set_at_ms(now);
    pb::Contact* c = ev.mutable_contact_arrived()->mutable_contact();
    *c = req.contact();
    c->set_id(id);
    (*c->mutable_attributes())[kSubmittedByAttribute] = who_name;
    if (c->created_at_ms() == 0) c->set_created_at_ms(now);
    // Acknowledged only once the broker has the record: an accepted contact is never lost.
    Status st = parts_.publisher.Publish(kafka::kContactsTopic, PartitionOfQueue(c->queue()), id,
                                         ev.SerializeAsString());
    if (!st.ok()) {
      return ToGrpc(
          Unavailable("contact not accepted (" + st.message() + "); retry with the same key"));
    }
    parts_.book.OnArrived(*c, now);
    // From the queue's live statistics; -1 while no shard has published one.
    resp->set_estimated_wait_s(parts_.estimates.EstimatedWaitS(c->queue()));
    return grpc::Status::OK;
  }

  const ContactServiceParts parts_;
  SubmitTurns submits_;
};

}  // namespace

std::unique_ptr<grpc::Service> NewContactService(const ContactServiceParts& parts) {
  return std::make_unique<ContactServiceImpl>(parts);
}

}  // namespace sb::gateway
