#include <atomic>
#include <deque>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/config/text.h"
#include "router/gateway/agent_events.h"
#include "router/gateway/rpc.h"
#include "router/gateway/services.h"
#include "router/kafka/topics.h"
#include "switchboard/v1/events.pb.h"
#include "switchboard/v1/services.grpc.pb.h"

namespace sb::gateway {
namespace {

constexpr char kSessionMethod[] = "/switchboard.v1.AgentService/Session";

class AgentServiceImpl final : public pb::AgentService::Service {
 public:
  explicit AgentServiceImpl(const AgentServiceParts& parts) : parts_(parts) {}

  // One desktop: the first message logs the agent in; then a reader thread publishes the
  // agent's actions while this thread writes the offers and decisions for the agent.
  grpc::Status Session(
      grpc::ServerContext* ctx,
      grpc::ServerReaderWriter<pb::AgentUpdate, pb::AgentRequest>* stream) override {
    Principal who;
    // Before the gate: a reload between the two is seen by the loop below.
    uint64_t tokens_seen = parts_.admission.tokens_generation();
    grpc::Status gate = parts_.admission.Gate(ctx, kSessionMethod, &who);
    if (!gate.ok()) return gate;
    auto slot =
        parts_.limits.Open(who.name, who.role == Role::kAgent ? CallerLimits::Stream::kDesk
                                                              : CallerLimits::Stream::kProxyDesk);
    if (!slot.ok()) return ToGrpc(slot.status());
    if (parts_.desks.draining()) return Draining();
    pb::AgentRequest req;
    bool timed_out = false;
    if (!ReadLogin(ctx, stream, &req, &timed_out)) {
      if (!timed_out) return grpc::Status::OK;  // the desktop went away
      return {grpc::StatusCode::DEADLINE_EXCEEDED,
              "no login within " + std::to_string(parts_.login_wait_ms) + " ms"};
    }
    Status valid = parts_.admission.Check(req);
    if (!valid.ok()) return ToGrpc(valid);
    if (!req.has_login()) {
      return {grpc::StatusCode::FAILED_PRECONDITION, "the first message must be login"};
    }
    AuthResult as = CheckActsAs(who, req.login().agent().id());
    if (!as.ok()) return {grpc::StatusCode::PERMISSION_DENIED, as.message};
    AuthResult granted = CheckAgentProfile(who, req.login().agent());
    if (!granted.ok()) return {grpc::StatusCode::PERMISSION_DENIED, granted.message};
    const pb::Agent agent = req.login().agent();
    if (auto other = LoggedInElsewhere(parts_.agents.Agents(), agent)) {
      return {grpc::StatusCode::FAILED_PRECONDITION,
              "agent " + config::Quote(agent.id()) + " is logged in under routing domain " +
                  config::Quote(other->agent.agent().domain()) + " (shard " +
                  std::to_string(other->shard) +
                  (other->session_node.empty() ? "" : ", desktop on node " + other->session_node) +
                  "): an agent serves one domain at a time; log out there first"};
    }
    const int32_t partition = parts_.publisher.PartitionOf(agent.domain());
    // Registered before the login is published, so no offer made right after it is missed.
    // A new session id per stream: a login of an agent logged in elsewhere moves it here, and
    // the older session's events (its node's grace logout included) are refused by the engine.
    std::shared_ptr<Desk> desk = parts_.desks.Open(agent, partition, NewSessionId(parts_.node_id));
    if (desk == nullptr) return Draining();  // the drain began since the check above
    pb::RoutingEvent login;
    login.set_at_ms(parts_.clock.NowMs());
    *login.mutable_agent_login()->mutable_agent() = agent;
    login.mutable_agent_login()->set_ready(req.login().ready());
    login.mutable_agent_login()->set_session(desk->session());
    int64_t login_offset = -1;
    Status st = parts_.publisher.Publish(kafka::kAgentEventsTopic, partition, agent.id(),
                                         login.SerializeAsString(), &login_offset);
    desk->set_login_offset(login_offset);
    if (!st.ok()) {
      parts_.desks.Close(desk, /*logged_out=*/true);
      return ToGrpc(Unavailable("login not accepted: " + st.message()));
    }
    pb::AgentUpdate hello;
    hello.mutable_logged_in()->set_agent_id(agent.id());
    hello.mutable_logged_in()->set_node_id(parts_.node_id);
    hello.mutable_logged_in()->set_session(desk->session());
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
    grpc::Status revoked;
    while (true) {
      std::deque<pb::AgentUpdate> batch;
      const bool closed = desk->Take(absl::Milliseconds(kWatchPollMs), &batch);
      bool write_failed = false;
      for (const auto& u : batch) {
        if (!stream->Write(u)) {
          write_failed = true;
          break;
        }
      }
      if (closed || write_failed || ctx->IsCancelled() || parts_.publisher.stopping()) break;
      if (parts_.admission.tokens_generation() != tokens_seen) {  // the token file was reloaded
        tokens_seen = parts_.admission.tokens_generation();
        revoked = parts_.admission.StillAdmitted(ctx, kSessionMethod, who);
        if (!revoked.ok()) {
          pb::AgentUpdate last;
          last.mutable_refused()->set_code("UNAUTHENTICATED");
          last.mutable_refused()->set_message(revoked.error_message());
          stream->Write(last);
          break;
        }
      }
    }
    ctx->TryCancel();  // unblocks the reader if it still waits for the desktop
    reader.join();
    parts_.desks.Close(desk, logged_out);
    // The desktop read why in the last update (the cancel above ends the call as CANCELLED);
    // the agent is logged out after the grace period.
    if (!revoked.ok()) return revoked;
    return !logged_out && parts_.desks.draining() ? Draining() : grpc::Status::OK;
  }

 private:
  // The stream's first message, waited for at most login_wait_ms (then the call is cancelled).
  bool ReadLogin(grpc::ServerContext* ctx,
                 grpc::ServerReaderWriter<pb::AgentUpdate, pb::AgentRequest>* stream,
                 pb::AgentRequest* req, bool* timed_out) const {
    absl::Notification read;
    std::atomic<bool> cancelled{false};
    std::thread guard([&] {
      if (!read.WaitForNotificationWithTimeout(absl::Milliseconds(parts_.login_wait_ms))) {
        cancelled = true;
        ctx->TryCancel();
      }
    });
    const bool got = stream->Read(req);
    read.Notify();
    guard.join();
    *timed_out = cancelled.load();
    return got && !*timed_out;
  }

  static grpc::Status Draining() {
    return {grpc::StatusCode::UNAVAILABLE, "node draining, connect to another node"};
  }

  Status Publish(int32_t partition, const std::string& agent_id, const pb::RoutingEvent& ev) {
    return parts_.publisher.Publish(kafka::kAgentEventsTopic, partition, agent_id,
                                    ev.SerializeAsString());
  }

  // Publishes one desktop action to sb.agent-events (the agent's partition), acknowledged by the
  // broker before the next is read. A refused action is answered on the stream; the session
  // stays. Returns true when the agent logged out.
  bool Act(Desk& desk, const pb::AgentRequest& r, pb::AgentUpdate* reply) {
    const pb::Agent& agent = desk.agent();
    const int32_t partition = desk.partition();
    auto refuse = [&](const Status& st) {
      reply->mutable_refused()->set_code(std::string(CodeName(st.code())));  // the gRPC names
      reply->mutable_refused()->set_message(st.message());
    };
    Status valid = parts_.admission.Check(r);
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
        reply->mutable_heartbeat()->set_server_time_ms(parts_.clock.NowMs());
        return false;
      default:
        break;
    }
    std::optional<pb::RoutingEvent> event =
        AgentActionEvent(id, r, parts_.clock.NowMs(), desk.session());
    if (!event) return false;  // no action: refused by validation above
    const pb::RoutingEvent& ev = *event;
    Status st = Publish(partition, id, ev);
    if (!st.ok()) {
      refuse(Unavailable("not accepted: " + st.message()));
      return false;
    }
    if (ev.has_contact_ended()) parts_.book.OnEnded(ev.contact_ended().contact_id(), ev.at_ms());
    return r.has_logout();
  }

  const AgentServiceParts parts_;
};

}  // namespace

std::unique_ptr<grpc::Service> NewAgentService(const AgentServiceParts& parts) {
  return std::make_unique<AgentServiceImpl>(parts);
}

}  // namespace sb::gateway
