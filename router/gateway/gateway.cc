#include "router/gateway/gateway.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/resource_quota.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <deque>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "common/clock.h"
#include "common/config/config.h"
#include "common/config/text.h"
#include "router/gateway/auth.h"
#include "router/gateway/validate.h"
#include "router/kafka/topics.h"
#include "router/stats/feed.h"
#include "switchboard/v1/cluster.pb.h"
#include "switchboard/v1/events.pb.h"
#include "switchboard/v1/services.grpc.pb.h"

namespace sb::gateway {
namespace {

constexpr int kMaxHandlerThreads = 256;  // beyond: RESOURCE_EXHAUSTED, never a crash
constexpr int kWatchPollMs = 250;
constexpr int kShutdownGraceMs = 2000;

grpc::Status ToGrpc(const Status& st) {
  switch (st.code()) {
    case Code::kOk:
      return grpc::Status::OK;
    case Code::kInvalidArgument:
      return {grpc::StatusCode::INVALID_ARGUMENT, st.message()};
    case Code::kNotFound:
      return {grpc::StatusCode::NOT_FOUND, st.message()};
    case Code::kFailedPrecondition:
      return {grpc::StatusCode::FAILED_PRECONDITION, st.message()};
    case Code::kAlreadyExists:
      return {grpc::StatusCode::ALREADY_EXISTS, st.message()};
    case Code::kUnavailable:
      return {grpc::StatusCode::UNAVAILABLE, st.message()};
    case Code::kInternal:
      break;
  }
  return {grpc::StatusCode::INTERNAL, st.message()};
}

grpc::Status NotYet(std::string_view rpc) {
  return {grpc::StatusCode::UNIMPLEMENTED,
          std::string(rpc) + " is declared but not implemented yet (the request was valid)"};
}

// The contact id of an idempotency key: the same caller name and key give the same id on every
// node, so a retry (to this node or another) names the contact it created the first time.
std::string ContactIdFor(const std::string& caller, const std::string& key) {
  std::string material = caller;
  material.push_back('\0');
  material += key;
  return "c-" + Sha256Hex(material).substr(0, 32);
}

Result<std::string> ReadPem(const std::string& flag, const std::string& path) {
  std::string text;
  Status st = config::ReadConfigFile(path, &text);
  if (!st.ok()) return InvalidArgument(flag + ": " + st.message());
  if (text.find("-----BEGIN") == std::string::npos) {
    return InvalidArgument(flag + " " + path + ": not a PEM file");
  }
  return text;
}

}  // namespace

class Gateway::Impl {
 public:
  Impl(GatewayOptions options, pb::RoutingConfig config)
      : options_(std::move(options)), validator_(std::move(config)), book_(options_.book) {}
  ~Impl() { Stop(); }

  Status Init();
  void Stop();
  int port() const { return port_; }
  std::string address() const {
    const std::string& h = options_.bind_host;
    return (h.find(':') != std::string::npos ? "[" + h + "]" : h) + ":" + std::to_string(port_);
  }

  // --- used by the service handlers (gRPC threads) ---

  // Authenticates the call and checks the role table; `*who` is the caller when OK.
  grpc::Status Gate(grpc::ServerContext* ctx, std::string_view method, Principal* who) const {
    if (options_.no_auth) {
      who->role = Role::kAdmin;
      who->name = "anonymous";
      return grpc::Status::OK;
    }
    const auto& md = ctx->client_metadata();
    auto it = md.find("authorization");
    std::string_view authorization;
    if (it != md.end()) authorization = std::string_view(it->second.data(), it->second.size());
    AuthResult r = Authorize(*tokens_, authorization, method);
    if (r.code == AuthCode::kUnauthenticated) {
      return {grpc::StatusCode::UNAUTHENTICATED, r.message};
    }
    if (r.code == AuthCode::kPermissionDenied) {
      return {grpc::StatusCode::PERMISSION_DENIED, r.message};
    }
    *who = std::move(r.principal);
    return grpc::Status::OK;
  }

  // Hands one record to the I/O thread and waits for the broker's acknowledgement.
  // UNAVAILABLE when the record was not written (or not acknowledged in time).
  Status Publish(std::string_view topic, int32_t partition, const std::string& key,
                 std::string value, int64_t* offset = nullptr) {
    auto out = std::make_shared<Outgoing>();
    out->topic = std::string(topic);
    out->partition = partition;
    out->key = key;
    out->value = std::move(value);
    std::future<Status> done = out->done.get_future();
    {
      std::lock_guard lock(out_mu_);
      if (stopping_) return Unavailable("this node is stopping");
      outbox_.push_back(out);
    }
    if (done.wait_for(std::chrono::milliseconds(options_.ack_timeout_ms)) !=
        std::future_status::ready) {
      return Unavailable("Kafka did not acknowledge within " +
                         std::to_string(options_.ack_timeout_ms) + " ms");
    }
    Status st = done.get();
    if (offset != nullptr) *offset = out->offset;
    return st;
  }

  int32_t PartitionOfQueue(const std::string& queue) const {
    return kafka::PartitionFor(validator_.DomainOfQueue(queue), partitions_);
  }
  void FillEstimate(pb::ContactStatus* s) const {
    s->set_estimated_wait_s(
        s->state() == pb::CONTACT_STATE_WAITING ? estimates_.EstimatedWaitS(s->queue()) : -1);
  }

  // Submits of one contact id through this gateway run one at a time, so a retry racing its
  // original waits for it and then finds the contact in the book.
  void BeginSubmit(const std::string& id) {
    std::unique_lock lock(submit_mu_);
    submit_cv_.wait(lock, [&] { return submitting_.count(id) == 0; });
    submitting_.insert(id);
  }
  void EndSubmit(const std::string& id) {
    {
      std::lock_guard lock(submit_mu_);
      submitting_.erase(id);
    }
    submit_cv_.notify_all();
  }

  // --- agent desktop sessions (AgentService.Session) ---

  // The updates waiting for one agent's stream. Written by the I/O thread (offers, decisions)
  // and the session's reader (replies); drained by the session's writer.
  struct Desk {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<pb::AgentUpdate> updates;  // GUARDED_BY(mu)
    bool closed = false;                  // GUARDED_BY(mu)
    // Set before the desk is registered, then read-only.
    pb::Agent agent;
    int32_t partition = 0;
    std::atomic<int64_t> login_offset{-1};  // of this session's AgentLogin in sb.agent-events
    std::atomic<bool> leaving{false};       // the desktop asked to log out
    void Push(pb::AgentUpdate u) {
      {
        std::lock_guard lock(mu);
        updates.push_back(std::move(u));
      }
      cv.notify_all();
    }
    void Close() {
      {
        std::lock_guard lock(mu);
        closed = true;
      }
      cv.notify_all();
    }
  };
  // Registers the agent's desk on this node (closing an older session of the same agent) and
  // cancels a pending grace-period logout.
  std::shared_ptr<Desk> OpenDesk(const pb::Agent& agent, int32_t partition) {
    const std::string& agent_id = agent.id();
    auto desk = std::make_shared<Desk>();
    desk->agent = agent;
    desk->partition = partition;
    std::shared_ptr<Desk> old;
    {
      std::lock_guard lock(desks_mu_);
      logouts_.erase(agent_id);
      old = std::exchange(desks_[agent_id], desk);
    }
    if (old) old->Close();
    return desk;
  }
  // The session ended. Unless the agent logged out, it is logged out after the grace period
  // (unless it logs in again before): what it held goes back to the queue.
  void CloseDesk(const std::string& agent_id, int32_t partition, const std::shared_ptr<Desk>& desk,
                 bool logged_out) {
    std::lock_guard lock(desks_mu_);
    auto it = desks_.find(agent_id);
    if (it == desks_.end() || it->second != desk) return;  // taken over by a newer session
    desks_.erase(it);
    if (!logged_out) {
      logouts_[agent_id] = {MonotonicMs() + options_.agent_grace_ms, partition};
    }
  }
  // I/O thread: a decision about an agent's work reaches its desk if the agent is connected here.
  void Deliver(const pb::Decision& d) {
    if (d.agent_id().empty()) return;
    std::shared_ptr<Desk> desk;
    {
      std::lock_guard lock(desks_mu_);
      auto it = desks_.find(d.agent_id());
      if (it == desks_.end()) return;
      desk = it->second;
    }
    pb::AgentUpdate u;
    if (d.type() == pb::DECISION_OFFER) {
      *u.mutable_offer() = d;
    } else {
      *u.mutable_decision() = d;
    }
    desk->Push(std::move(u));
  }

  const GatewayOptions options_;
  const Validator validator_;
  ContactBook book_;
  QueueEstimates estimates_;
  std::optional<TokenTable> tokens_;  // unset with no_auth
  int32_t partitions_ = 0;
  std::atomic<bool> stopping_{false};
  SystemClock clock_;

 private:
  struct Outgoing {
    std::string topic;
    int32_t partition = 0;
    std::string key;
    std::string value;
    int64_t offset = -1;  // acknowledged offset, set before `done`
    std::promise<Status> done;
  };

  Status StartKafka();
  Status StartServer();
  void IoLoop();
  void Apply(const kafka::Record& rec);

  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::vector<std::unique_ptr<grpc::Service>> services_;
  std::thread io_;
  std::atomic<bool> stop_io_{false};
  bool stopped_ = false;

  std::mutex out_mu_;
  std::deque<std::shared_ptr<Outgoing>> outbox_;  // GUARDED_BY(out_mu_)

  struct PendingLogout {
    int64_t due_ms = 0;  // MonotonicMs
    int32_t partition = 0;
  };
  std::mutex desks_mu_;
  std::map<std::string, std::shared_ptr<Desk>> desks_;  // GUARDED_BY(desks_mu_)
  std::map<std::string, PendingLogout> logouts_;        // GUARDED_BY(desks_mu_)
  void PublishDueLogouts();
  void Relogin(const std::string& agent_id, int64_t logout_offset);

  std::mutex submit_mu_;
  std::condition_variable submit_cv_;
  std::set<std::string> submitting_;  // GUARDED_BY(submit_mu_)

  // Owned by the I/O thread once it runs.
  std::unique_ptr<kafka::Producer> producer_;
  std::unique_ptr<kafka::PartitionReader> reader_;
  std::map<uint64_t, std::shared_ptr<Outgoing>> in_flight_;
  uint64_t next_token_ = 1;
  uint64_t read_errors_ = 0;
};

namespace {

using Impl = Gateway::Impl;

class ContactServiceImpl final : public pb::ContactService::Service {
 public:
  explicit ContactServiceImpl(Impl* gw) : gw_(gw) {}

  grpc::Status Submit(grpc::ServerContext* ctx, const pb::SubmitContactRequest* req,
                      pb::SubmitContactResponse* resp) override {
    Principal who;
    grpc::Status gate = gw_->Gate(ctx, "/switchboard.v1.ContactService/Submit", &who);
    if (!gate.ok()) return gate;
    Status valid = gw_->validator_.Check(*req);
    if (!valid.ok()) return ToGrpc(valid);
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
    grpc::Status gate = gw_->Gate(ctx, "/switchboard.v1.ContactService/Get", &who);
    if (!gate.ok()) return gate;
    Status valid = gw_->validator_.Check(*req);
    if (!valid.ok()) return ToGrpc(valid);
    auto status = gw_->book_.Get(req->contact_id());
    if (!status) return ToGrpc(Unknown(req->contact_id()));
    gw_->FillEstimate(&*status);
    *resp->mutable_status() = std::move(*status);
    return grpc::Status::OK;
  }

  grpc::Status Cancel(grpc::ServerContext* ctx, const pb::CancelContactRequest* req,
                      pb::CancelContactResponse*) override {
    Principal who;
    grpc::Status gate = gw_->Gate(ctx, "/switchboard.v1.ContactService/Cancel", &who);
    if (!gate.ok()) return gate;
    Status valid = gw_->validator_.Check(*req);
    if (!valid.ok()) return ToGrpc(valid);
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
    grpc::Status gate = gw_->Gate(ctx, "/switchboard.v1.ContactService/Watch", &who);
    if (!gate.ok()) return gate;
    Status valid = gw_->validator_.Check(*req);
    if (!valid.ok()) return ToGrpc(valid);
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

  grpc::Status Transfer(grpc::ServerContext* ctx, const pb::TransferContactRequest* req,
                        pb::TransferContactResponse*) override {
    Principal who;
    grpc::Status gate = gw_->Gate(ctx, "/switchboard.v1.ContactService/Transfer", &who);
    if (!gate.ok()) return gate;
    Status valid = gw_->validator_.Check(*req);
    if (!valid.ok()) return ToGrpc(valid);
    return NotYet("ContactService.Transfer");
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

class AgentServiceImpl final : public pb::AgentService::Service {
 public:
  explicit AgentServiceImpl(Impl* gw) : gw_(gw) {}

  // One desktop: the first message logs the agent in; then a reader thread publishes the
  // agent's actions while this thread writes the offers and decisions for the agent.
  grpc::Status Session(
      grpc::ServerContext* ctx,
      grpc::ServerReaderWriter<pb::AgentUpdate, pb::AgentRequest>* stream) override {
    Principal who;
    grpc::Status gate = gw_->Gate(ctx, "/switchboard.v1.AgentService/Session", &who);
    if (!gate.ok()) return gate;
    pb::AgentRequest req;
    if (!stream->Read(&req)) return grpc::Status::OK;
    Status valid = gw_->validator_.Check(req);
    if (!valid.ok()) return ToGrpc(valid);
    if (!req.has_login()) {
      return {grpc::StatusCode::FAILED_PRECONDITION, "the first message must be login"};
    }
    AuthResult as = CheckActsAs(who, req.login().agent().id());
    if (!as.ok()) return {grpc::StatusCode::PERMISSION_DENIED, as.message};
    const pb::Agent agent = req.login().agent();
    const int32_t partition = kafka::PartitionFor(agent.domain(), gw_->partitions_);
    // Registered before the login is published, so no offer made right after it is missed.
    auto desk = gw_->OpenDesk(agent, partition);
    pb::RoutingEvent login;
    login.set_at_ms(gw_->clock_.NowMs());
    *login.mutable_agent_login()->mutable_agent() = agent;
    login.mutable_agent_login()->set_ready(req.login().ready());
    int64_t login_offset = -1;
    Status st = gw_->Publish(kafka::kAgentEventsTopic, partition, agent.id(),
                             login.SerializeAsString(), &login_offset);
    desk->login_offset = login_offset;
    if (!st.ok()) {
      gw_->CloseDesk(agent.id(), partition, desk, /*logged_out=*/true);
      return ToGrpc(Unavailable("login not accepted: " + st.message()));
    }
    pb::AgentUpdate hello;
    hello.mutable_logged_in()->set_agent_id(agent.id());
    hello.mutable_logged_in()->set_node_id(gw_->options_.node_id);
    stream->Write(hello);

    std::atomic<bool> logged_out{false};
    std::thread reader([&] {
      pb::AgentRequest r;
      while (stream->Read(&r)) {
        pb::AgentUpdate reply;
        if (Act(*desk, r, &reply)) {
          logged_out = true;
          break;
        }
        if (reply.update_case() != pb::AgentUpdate::UPDATE_NOT_SET) desk->Push(std::move(reply));
      }
      desk->Close();
    });
    while (true) {
      std::deque<pb::AgentUpdate> batch;
      bool closed = false;
      {
        std::unique_lock lock(desk->mu);
        desk->cv.wait_for(lock, std::chrono::milliseconds(kWatchPollMs),
                          [&] { return !desk->updates.empty() || desk->closed; });
        batch.swap(desk->updates);
        closed = desk->closed;
      }
      bool write_failed = false;
      for (const auto& u : batch) {
        if (!stream->Write(u)) {
          write_failed = true;
          break;
        }
      }
      if (closed || write_failed || ctx->IsCancelled() || gw_->stopping_) break;
    }
    ctx->TryCancel();  // unblocks the reader if it still waits for the desktop
    reader.join();
    gw_->CloseDesk(agent.id(), partition, desk, logged_out);
    return grpc::Status::OK;
  }

 private:
  Status Publish(int32_t partition, const std::string& agent_id, const pb::RoutingEvent& ev) {
    return gw_->Publish(kafka::kAgentEventsTopic, partition, agent_id, ev.SerializeAsString());
  }

  // Publishes one desktop action to sb.agent-events (the agent's partition), acknowledged by the
  // broker before the next is read. A refused action is answered on the stream; the session
  // stays. Returns true when the agent logged out.
  bool Act(Impl::Desk& desk, const pb::AgentRequest& r, pb::AgentUpdate* reply) {
    const pb::Agent& agent = desk.agent;
    const int32_t partition = desk.partition;
    auto refuse = [&](const Status& st) {
      reply->mutable_refused()->set_code(std::string(CodeName(st.code())));  // the gRPC names
      reply->mutable_refused()->set_message(st.message());
    };
    Status valid = gw_->validator_.Check(r);
    if (!valid.ok()) {
      refuse(valid);
      return false;
    }
    const std::string& id = agent.id();
    pb::RoutingEvent ev;
    ev.set_at_ms(gw_->clock_.NowMs());
    switch (r.action_case()) {
      case pb::AgentRequest::kLogin:
        refuse(FailedPrecondition("already logged in on this stream"));
        return false;
      case pb::AgentRequest::kReady:
        ev.mutable_agent_ready()->set_agent_id(id);
        break;
      case pb::AgentRequest::kNotReady:
        ev.mutable_agent_not_ready()->set_agent_id(id);
        ev.mutable_agent_not_ready()->set_reason(r.not_ready().reason());
        break;
      case pb::AgentRequest::kAccept:
        ev.mutable_offer_accepted()->set_agent_id(id);
        ev.mutable_offer_accepted()->set_contact_id(r.accept().contact_id());
        ev.mutable_offer_accepted()->set_attempt(r.accept().attempt());
        break;
      case pb::AgentRequest::kReject:
        ev.mutable_offer_rejected()->set_agent_id(id);
        ev.mutable_offer_rejected()->set_contact_id(r.reject().contact_id());
        ev.mutable_offer_rejected()->set_attempt(r.reject().attempt());
        ev.mutable_offer_rejected()->set_reason(r.reject().reason());
        break;
      case pb::AgentRequest::kComplete:
        ev.mutable_contact_ended()->set_contact_id(r.complete().contact_id());
        break;
      case pb::AgentRequest::kWrapUp:
        ev.mutable_wrap_up_done()->set_agent_id(id);
        ev.mutable_wrap_up_done()->set_contact_id(r.wrap_up().contact_id());
        ev.mutable_wrap_up_done()->set_disposition(r.wrap_up().disposition());
        break;
      case pb::AgentRequest::kHeartbeat:
        reply->mutable_heartbeat()->set_client_time_ms(r.heartbeat().client_time_ms());
        reply->mutable_heartbeat()->set_server_time_ms(gw_->clock_.NowMs());
        return false;
      case pb::AgentRequest::kLogout:
        desk.leaving = true;
        ev.mutable_agent_logout()->set_agent_id(id);
        ev.mutable_agent_logout()->set_reason(r.logout().reason());
        break;
      case pb::AgentRequest::ACTION_NOT_SET:
        return false;  // refused by validation above
    }
    Status st = Publish(partition, id, ev);
    if (!st.ok()) {
      refuse(Unavailable("not accepted: " + st.message()));
      return false;
    }
    if (ev.has_contact_ended()) gw_->book_.OnEnded(ev.contact_ended().contact_id(), ev.at_ms());
    return r.has_logout();
  }

  Impl* gw_;
};

class FollowUpServiceImpl final : public pb::FollowUpService::Service {
 public:
  explicit FollowUpServiceImpl(Impl* gw) : gw_(gw) {}

#define SB_GATEWAY_DECLARED_ONLY(Rpc, Req, Resp, Full)                                 \
  grpc::Status Rpc(grpc::ServerContext* ctx, const pb::Req* req, pb::Resp*) override { \
    Principal who;                                                                     \
    grpc::Status gate = gw_->Gate(ctx, Full, &who);                                    \
    if (!gate.ok()) return gate;                                                       \
    Status valid = gw_->validator_.Check(*req);                                        \
    if (!valid.ok()) return ToGrpc(valid);                                             \
    return NotYet(Full);                                                               \
  }

  // Publishes the request as a FollowUpCommand to sb.contacts, partition of its queue's domain;
  // the shard's scheduler creates the task (the same request id never creates a second one).
  grpc::Status Create(grpc::ServerContext* ctx, const pb::CreateFollowUpRequest* req,
                      pb::CreateFollowUpResponse* resp) override {
    Principal who;
    grpc::Status gate = gw_->Gate(ctx, "/switchboard.v1.FollowUpService/Create", &who);
    if (!gate.ok()) return gate;
    Status valid = gw_->validator_.Check(*req);
    if (!valid.ok()) return ToGrpc(valid);
    if (!gw_->options_.followup_domain) {
      return ToGrpc(FailedPrecondition("follow-ups are off on this router"));
    }
    auto domain = gw_->options_.followup_domain(req->request());
    if (!domain.ok()) {
      return ToGrpc(InvalidArgument("field request." + domain.status().message()));
    }
    pb::RoutingEvent ev;
    ev.set_at_ms(gw_->clock_.NowMs());
    *ev.mutable_follow_up()->mutable_submit() = req->request();
    Status st = gw_->Publish(kafka::kContactsTopic, kafka::PartitionFor(*domain, gw_->partitions_),
                             req->request().request_id(), ev.SerializeAsString());
    if (!st.ok()) return ToGrpc(Unavailable("follow-up not accepted: " + st.message()));
    resp->set_task_id(req->request().request_id());
    return grpc::Status::OK;
  }
  SB_GATEWAY_DECLARED_ONLY(List, ListFollowUpsRequest, ListFollowUpsResponse,
                           "/switchboard.v1.FollowUpService/List")
  SB_GATEWAY_DECLARED_ONLY(Cancel, CancelFollowUpRequest, CancelFollowUpResponse,
                           "/switchboard.v1.FollowUpService/Cancel")
  SB_GATEWAY_DECLARED_ONLY(RecordOutcome, RecordOutcomeRequest, RecordOutcomeResponse,
                           "/switchboard.v1.FollowUpService/RecordOutcome")

 private:
  Impl* gw_;
};

class AdminServiceImpl final : public pb::AdminService::Service {
 public:
  explicit AdminServiceImpl(Impl* gw) : gw_(gw) {}

  grpc::Status GetConfig(grpc::ServerContext* ctx, const pb::GetConfigRequest*,
                         pb::GetConfigResponse* resp) override {
    Principal who;
    grpc::Status gate = gw_->Gate(ctx, "/switchboard.v1.AdminService/GetConfig", &who);
    if (!gate.ok()) return gate;
    *resp->mutable_config() = gw_->validator_.config();
    std::string bytes;
    gw_->validator_.config().SerializeToString(&bytes);  // deterministic enough for one binary
    resp->set_version(Sha256Hex(bytes).substr(0, 16));
    return grpc::Status::OK;
  }

  SB_GATEWAY_DECLARED_ONLY(ApplyConfig, ApplyConfigRequest, ApplyConfigResponse,
                           "/switchboard.v1.AdminService/ApplyConfig")
  // From the shards' live snapshots on sb.stats (each shard's latest, highest epoch first).
  grpc::Status QueueStats(grpc::ServerContext* ctx, const pb::QueueStatsRequest* req,
                          pb::QueueStatsResponse* resp) override {
    Principal who;
    grpc::Status gate = gw_->Gate(ctx, "/switchboard.v1.AdminService/QueueStats", &who);
    if (!gate.ok()) return gate;
    Status valid = gw_->validator_.Check(*req);
    if (!valid.ok()) return ToGrpc(valid);
    const std::set<std::string> wanted(req->queues().begin(), req->queues().end());
    for (const auto& [shard, live] : gw_->estimates_.Shards()) {
      for (const pb::QueueLive& q : live.queues()) {
        if (wanted.empty() || wanted.count(q.queue())) *resp->add_queues() = q;
      }
      for (const pb::DomainLive& d : live.domains()) *resp->add_domains() = d;
      resp->set_as_of_ms(std::max(resp->as_of_ms(), live.at_ms()));
    }
    return grpc::Status::OK;
  }
  SB_GATEWAY_DECLARED_ONLY(ListAgents, ListAgentsRequest, ListAgentsResponse,
                           "/switchboard.v1.AdminService/ListAgents")
  SB_GATEWAY_DECLARED_ONLY(Drain, DrainRequest, DrainResponse, "/switchboard.v1.AdminService/Drain")
  // The queues' day records of sb.stats in [from_day, to_day], read to the topic's end at the
  // call by the same reader as `switchboard report` (router/stats; the KPIs are computed from
  // these counters by router/stats/kpi.h).
  grpc::Status Report(grpc::ServerContext* ctx, const pb::ReportRequest* req,
                      pb::ReportResponse* resp) override {
    Principal who;
    grpc::Status gate = gw_->Gate(ctx, "/switchboard.v1.AdminService/Report", &who);
    if (!gate.ok()) return gate;
    Status valid = gw_->validator_.Check(*req);
    if (!valid.ok()) return ToGrpc(valid);
    const int timeout_ms = gw_->options_.connect_timeout_ms;
    auto feed =
        stats::StatsFeed::Open(gw_->options_.bootstrap, gw_->options_.kafka_settings, timeout_ms);
    if (!feed.ok()) return ToGrpc(feed.status());
    Status read = (*feed)->CatchUp(std::chrono::milliseconds(timeout_ms));
    if (!read.ok()) return ToGrpc(read);
    const std::set<std::string> wanted(req->queues().begin(), req->queues().end());
    for (pb::QueueDay& d : (*feed)->view().Days(req->from_day(), req->to_day())) {
      if (wanted.empty() || wanted.count(d.queue())) *resp->add_days() = std::move(d);
    }
    return grpc::Status::OK;
  }
#undef SB_GATEWAY_DECLARED_ONLY

 private:
  Impl* gw_;
};

}  // namespace

Status Gateway::Impl::Init() {
  if (options_.no_auth == !options_.tokens_file.empty()) {
    return InvalidArgument("gateway: give a token file or no_auth (exactly one)");
  }
  if (!options_.no_auth) {
    auto tokens = TokenTable::LoadFile(options_.tokens_file);
    if (!tokens.ok()) return InvalidArgument("--auth-tokens: " + tokens.status().message());
    tokens_ = std::move(*tokens);
  }
  if (options_.tls_cert.empty() != options_.tls_key.empty()) {
    return InvalidArgument("--tls-cert and --tls-key go together");
  }
  if (!options_.tls_client_ca.empty() && options_.tls_cert.empty()) {
    return InvalidArgument("--tls-client-ca needs --tls-cert and --tls-key");
  }
  SB_RETURN_IF_ERROR(StartKafka());
  SB_RETURN_IF_ERROR(StartServer());
  io_ = std::thread([this] { IoLoop(); });
  return Status::Ok();
}

Status Gateway::Impl::StartKafka() {
  const std::vector<std::string> topics = {
      std::string(kafka::kContactsTopic), std::string(kafka::kAgentEventsTopic),
      std::string(kafka::kAssignmentsTopic), std::string(kafka::kStatsTopic)};
  auto counts = kafka::TopicPartitions(options_.bootstrap, topics, options_.connect_timeout_ms);
  if (!counts.ok()) return counts.status();
  for (const std::string& t : topics) {
    if ((*counts)[t] <= 0) return Unavailable("gateway: topic " + t + " does not exist");
  }
  partitions_ = (*counts)[topics[0]];
  kafka::Settings settings = options_.kafka_settings;
  settings.erase("session.timeout.ms");
  settings.erase("heartbeat.interval.ms");
  settings["linger.ms"] = "1";
  auto producer =
      kafka::Producer::Create(options_.bootstrap, settings,
                              [this](uint64_t token, int32_t, int64_t offset, const Status& st) {
                                auto it = in_flight_.find(token);
                                if (it == in_flight_.end()) return;
                                it->second->offset = offset;
                                it->second->done.set_value(st);
                                in_flight_.erase(it);
                              });
  if (!producer.ok()) return producer.status();
  producer_ = std::move(*producer);
  settings.erase("linger.ms");
  auto reader = kafka::PartitionReader::Create(options_.bootstrap, settings);
  if (!reader.ok()) return reader.status();
  reader_ = std::move(*reader);
  std::vector<kafka::TopicPartition> parts;
  for (int32_t p = 0; p < partitions_; ++p) {
    for (std::string_view topic :
         {kafka::kContactsTopic, kafka::kAgentEventsTopic, kafka::kAssignmentsTopic}) {
      auto marks = reader_->Watermarks(topic, p, options_.connect_timeout_ms);
      if (!marks.ok()) return marks.status();
      parts.push_back({std::string(topic), p, marks->second});
    }
    parts.push_back({std::string(kafka::kStatsTopic), p, RD_KAFKA_OFFSET_BEGINNING});
  }
  return reader_->Assign(parts);
}

Status Gateway::Impl::StartServer() {
  std::shared_ptr<grpc::ServerCredentials> creds = grpc::InsecureServerCredentials();
  if (!options_.tls_cert.empty()) {
    auto cert = ReadPem("--tls-cert", options_.tls_cert);
    if (!cert.ok()) return cert.status();
    auto key = ReadPem("--tls-key", options_.tls_key);
    if (!key.ok()) return key.status();
    grpc::SslServerCredentialsOptions ssl(
        options_.tls_client_ca.empty()
            ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
            : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    if (!options_.tls_client_ca.empty()) {
      auto ca = ReadPem("--tls-client-ca", options_.tls_client_ca);
      if (!ca.ok()) return ca.status();
      ssl.pem_root_certs = *ca;
    }
    ssl.pem_key_cert_pairs.push_back({*key, *cert});
    creds = grpc::SslServerCredentials(ssl);
  }
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options_.bind_host + ":" + std::to_string(options_.port), creds, &port_);
  builder.SetMaxReceiveMessageSize(options_.max_message_bytes);
  grpc::ResourceQuota quota("sb-gateway");
  quota.SetMaxThreads(kMaxHandlerThreads);
  builder.SetResourceQuota(quota);
  services_.push_back(std::make_unique<ContactServiceImpl>(this));
  services_.push_back(std::make_unique<AgentServiceImpl>(this));
  services_.push_back(std::make_unique<FollowUpServiceImpl>(this));
  services_.push_back(std::make_unique<AdminServiceImpl>(this));
  for (auto& s : services_) builder.RegisterService(s.get());
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || port_ == 0) {
    return Unavailable("gateway: cannot listen on " + options_.bind_host + ":" +
                       std::to_string(options_.port));
  }
  return Status::Ok();
}

void Gateway::Impl::IoLoop() {
  int64_t last_prune = MonotonicMs();
  while (!stop_io_) {
    std::deque<std::shared_ptr<Outgoing>> batch;
    {
      std::lock_guard lock(out_mu_);
      batch.swap(outbox_);
    }
    for (auto& out : batch) {
      const uint64_t token = next_token_++;
      Status st = producer_->Produce(out->topic, out->partition, out->key, out->value, {}, token);
      if (st.ok()) {
        in_flight_[token] = std::move(out);
      } else {
        out->done.set_value(st);
      }
    }
    producer_->Poll(0);
    auto rec = reader_->Poll(in_flight_.empty() ? 5 : 1);
    if (!rec.ok()) {
      if (read_errors_++ % 100 == 0) {
        std::fprintf(stderr, "gateway %s: kafka read: %s\n", options_.node_id.c_str(),
                     rec.status().ToString().c_str());
      }
    } else if (rec->has_value()) {
      Apply(**rec);
    }
    PublishDueLogouts();
    if (MonotonicMs() - last_prune >= 1000) {
      last_prune = MonotonicMs();
      book_.Prune(clock_.NowMs());
    }
  }
  // Stopping: what was handed over gets its chance to be acknowledged; the rest fails.
  Status flushed = producer_->Flush(kShutdownGraceMs);
  flushed.IgnoreError();  // each record's own outcome is reported through its delivery callback
  producer_->Poll(0);
  for (auto& [token, out] : in_flight_) out->done.set_value(Unavailable("this node is stopping"));
  in_flight_.clear();
  std::lock_guard lock(out_mu_);
  for (auto& out : outbox_) out->done.set_value(Unavailable("this node is stopping"));
  outbox_.clear();
}

void Gateway::Impl::PublishDueLogouts() {
  std::vector<std::pair<std::string, int32_t>> due;
  {
    std::lock_guard lock(desks_mu_);
    const int64_t now = MonotonicMs();
    for (auto it = logouts_.begin(); it != logouts_.end();) {
      if (it->second.due_ms > now) {
        ++it;
        continue;
      }
      due.emplace_back(it->first, it->second.partition);
      it = logouts_.erase(it);
    }
  }
  for (const auto& [agent, partition] : due) {
    pb::RoutingEvent ev;
    ev.set_at_ms(clock_.NowMs());
    ev.mutable_agent_logout()->set_agent_id(agent);
    ev.mutable_agent_logout()->set_reason("desktop disconnected");
    const uint64_t token = next_token_++;
    Status st = producer_->Produce(kafka::kAgentEventsTopic, partition, agent,
                                   ev.SerializeAsString(), {}, token);
    if (!st.ok()) {
      std::fprintf(stderr, "gateway %s: logout of agent %s not published: %s\n",
                   options_.node_id.c_str(), config::Printable(agent).c_str(),
                   st.ToString().c_str());
      continue;
    }
    in_flight_[token] = std::make_shared<Outgoing>();  // nobody waits for it
    std::fprintf(stderr, "gateway %s: agent %s logged out: desktop gone for %d ms\n",
                 options_.node_id.c_str(), config::Printable(agent).c_str(),
                 options_.agent_grace_ms);
  }
}

// An agent logged out while its desktop is connected here: another node's grace period ran out
// for a session the desktop left there before reconnecting here (its login here was refused, as
// the agent was still logged in). Log it in again, not ready, and tell the desktop.
void Gateway::Impl::Relogin(const std::string& agent_id, int64_t logout_offset) {
  std::shared_ptr<Desk> desk;
  {
    std::lock_guard lock(desks_mu_);
    auto it = desks_.find(agent_id);
    if (it == desks_.end()) return;
    desk = it->second;
  }
  // Older than our login (the engine applied it first), or our own desktop's logout.
  if (desk->leaving || desk->login_offset < 0 || logout_offset < desk->login_offset) return;
  pb::RoutingEvent ev;
  ev.set_at_ms(clock_.NowMs());
  *ev.mutable_agent_login()->mutable_agent() = desk->agent;
  ev.mutable_agent_login()->set_ready(false);
  const uint64_t token = next_token_++;
  Status st = producer_->Produce(kafka::kAgentEventsTopic, desk->partition, agent_id,
                                 ev.SerializeAsString(), {}, token);
  if (!st.ok()) {
    std::fprintf(stderr, "gateway %s: agent %s: login again not published: %s\n",
                 options_.node_id.c_str(), config::Printable(agent_id).c_str(),
                 st.ToString().c_str());
    return;
  }
  in_flight_[token] = std::make_shared<Outgoing>();  // nobody waits for it
  pb::AgentUpdate u;
  u.mutable_state()->set_state(pb::AGENT_STATE_NOT_READY);
  u.mutable_state()->set_reason("logged in again after another node logged this agent out");
  desk->Push(std::move(u));
}

void Gateway::Impl::Apply(const kafka::Record& rec) {
  if (!rec.value) return;
  if (rec.topic == kafka::kAssignmentsTopic) {
    pb::ShardOutput out;
    if (out.ParseFromString(*rec.value) && out.has_decision()) {
      book_.OnDecision(out.decision());
      Deliver(out.decision());
    }
    return;
  }
  // Contact ends arrive on sb.contacts (channels) and sb.agent-events (desktops).
  if (rec.topic == kafka::kContactsTopic || rec.topic == kafka::kAgentEventsTopic) {
    pb::RoutingEvent ev;
    if (!ev.ParseFromString(*rec.value)) return;
    const int64_t at = ev.at_ms() != 0 ? ev.at_ms() : rec.timestamp_ms;
    switch (ev.event_case()) {
      case pb::RoutingEvent::kContactArrived:
        book_.OnArrived(ev.contact_arrived().contact(), at);
        break;
      case pb::RoutingEvent::kContactCancelled:
        book_.OnCancelled(ev.contact_cancelled().contact_id(), at);
        break;
      case pb::RoutingEvent::kContactAbandoned:
        book_.OnAbandoned(ev.contact_abandoned().contact_id(), at);
        break;
      case pb::RoutingEvent::kContactEnded:
        book_.OnEnded(ev.contact_ended().contact_id(), at);
        break;
      case pb::RoutingEvent::kAgentLogout:
        if (rec.topic == kafka::kAgentEventsTopic)
          Relogin(ev.agent_logout().agent_id(), rec.offset);
        break;
      default:
        break;
    }
    return;
  }
  if (rec.topic == kafka::kStatsTopic && rec.key.starts_with("live/")) {
    pb::ShardLive live;
    if (live.ParseFromString(*rec.value)) estimates_.OnShardLive(live);
  }
}

void Gateway::Impl::Stop() {
  if (stopped_) return;
  stopped_ = true;
  stopping_ = true;
  {
    std::lock_guard lock(out_mu_);  // no new record after this
  }
  if (server_ != nullptr) {
    server_->Shutdown(std::chrono::system_clock::now() +
                      std::chrono::milliseconds(kShutdownGraceMs));
  }
  stop_io_ = true;
  if (io_.joinable()) io_.join();
}

Result<std::unique_ptr<Gateway>> Gateway::Start(GatewayOptions options, pb::RoutingConfig config) {
  auto impl = std::make_unique<Impl>(std::move(options), std::move(config));
  Status st = impl->Init();
  if (!st.ok()) return st;
  return std::unique_ptr<Gateway>(new Gateway(std::move(impl)));
}

Gateway::Gateway(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Gateway::~Gateway() { Stop(); }
int Gateway::port() const { return impl_->port(); }
std::string Gateway::address() const { return impl_->address(); }
void Gateway::Stop() { impl_->Stop(); }

}  // namespace sb::gateway
