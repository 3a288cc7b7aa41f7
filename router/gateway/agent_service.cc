#include "common/config/text.h"
#include "router/gateway/agent_events.h"
#include "router/gateway/gateway_impl.h"
#include "switchboard/v1/events.pb.h"

namespace sb::gateway {
namespace {

using Impl = Gateway::Impl;

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
    if (gw_->draining()) return Draining();
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
    return !logged_out && gw_->draining() ? Draining() : grpc::Status::OK;
  }

 private:
  static grpc::Status Draining() {
    return {grpc::StatusCode::UNAVAILABLE, "node draining, connect to another node"};
  }

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
    switch (r.action_case()) {
      case pb::AgentRequest::kLogin:
        refuse(FailedPrecondition("already logged in on this stream"));
        return false;
      case pb::AgentRequest::kHeartbeat:
        reply->mutable_heartbeat()->set_client_time_ms(r.heartbeat().client_time_ms());
        reply->mutable_heartbeat()->set_server_time_ms(gw_->clock_.NowMs());
        return false;
      case pb::AgentRequest::kLogout:
        desk.leaving = true;
        break;
      default:
        break;
    }
    std::optional<pb::RoutingEvent> event = AgentActionEvent(id, r, gw_->clock_.NowMs());
    if (!event) return false;  // no action: refused by validation above
    const pb::RoutingEvent& ev = *event;
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

}  // namespace

std::unique_ptr<grpc::Service> NewAgentService(Gateway::Impl* gw) {
  return std::make_unique<AgentServiceImpl>(gw);
}

}  // namespace sb::gateway
