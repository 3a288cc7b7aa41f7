// Private to router/gateway: the gateway's shared state (Gateway::Impl) and the four services
// built on it, one file each (contact_service.cc, agent_service.cc, followup_service.cc,
// admin_service.cc). gateway.cc owns the Kafka I/O thread and the server.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "router/control/control.h"
#include "router/gateway/auth.h"
#include "router/gateway/contact_book.h"
#include "router/gateway/followup_index.h"
#include "router/gateway/gateway.h"
#include "router/gateway/live_stats.h"
#include "router/gateway/validate.h"
#include "router/kafka/client.h"
#include "router/kafka/topics.h"
#include "switchboard/v1/services.grpc.pb.h"

namespace sb::gateway {

// How often blocked stream handlers look at cancellation and shutdown.
inline constexpr int kWatchPollMs = 250;

// sb::Status -> grpc::Status with the matching code.
grpc::Status ToGrpc(const Status& st);

// The request validator of the routing config in force: swapped when sb.control's config/current
// changes (I/O thread) or after ApplyConfig; read by every handler. A caller holding Get() keeps
// one version for its whole request. Thread-safe.
class LiveValidator {
 public:
  explicit LiveValidator(pb::RoutingConfig config)
      : v_(std::make_shared<const Validator>(std::move(config))) {}
  std::shared_ptr<const Validator> Get() const {
    std::lock_guard lock(mu_);
    return v_;
  }
  void Set(pb::RoutingConfig config) {
    auto v = std::make_shared<const Validator>(std::move(config));
    std::lock_guard lock(mu_);
    v_ = std::move(v);
  }
  template <typename Request>
  [[nodiscard]] Status Check(const Request& r) const {
    return Get()->Check(r);
  }
  pb::RoutingConfig config() const { return Get()->config(); }
  std::string DomainOfQueue(const std::string& queue) const { return Get()->DomainOfQueue(queue); }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const Validator> v_;  // GUARDED_BY(mu_)
};

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

  // Gate() and then the request's validation: what every unary handler does first.
  template <typename Request>
  grpc::Status Admit(grpc::ServerContext* ctx, std::string_view method, const Request& req,
                     Principal* who) const {
    grpc::Status gate = Gate(ctx, method, who);
    if (!gate.ok()) return gate;
    return ToGrpc(validator_.Check(req));
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
    } else if (d.type() == pb::DECISION_REFUSED) {
      // A desktop that reconnected within the grace period finds its agent still logged in:
      // the session goes on with that login (Relogin covers the other node's late logout).
      if (d.refused_event() == "agent_login" && d.refusal_code() == "FAILED_PRECONDITION") return;
      // An action the engine refused after the gateway had accepted it (an accept of an offer
      // that had timed out, a wrap-up of nothing): the desktop learns it like a validation error.
      u.mutable_refused()->set_code(d.refusal_code());
      u.mutable_refused()->set_message(d.detail());
    } else {
      *u.mutable_decision() = d;
    }
    desk->Push(std::move(u));
  }

  // --- answers to published events (ContactService.Transfer) ---

  // The router's answers about one contact (DECISION_TRANSFERRED / DECISION_REFUSED carrying the
  // input record they answer), collected while a handler waits for one.
  struct AnswerWait {
    std::string contact_id;
    std::vector<pb::Decision> seen;  // GUARDED_BY(answers_mu_)
  };
  // Registers before publishing, so an answer that comes quickly is not missed.
  std::shared_ptr<AnswerWait> AwaitAnswers(const std::string& contact_id) {
    auto w = std::make_shared<AnswerWait>();
    w->contact_id = contact_id;
    std::lock_guard lock(answers_mu_);
    answers_.emplace(contact_id, w);
    return w;
  }
  // The answer to the record at (topic, offset), or nullopt after `timeout_ms`.
  std::optional<pb::Decision> WaitAnswer(const std::shared_ptr<AnswerWait>& w,
                                         std::string_view topic, int64_t offset, int timeout_ms) {
    std::unique_lock lock(answers_mu_);
    std::optional<pb::Decision> found;
    answered_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] {
      for (const pb::Decision& d : w->seen) {
        if (d.input_topic() == topic && d.input_offset() == offset) {
          found = d;
          return true;
        }
      }
      return stopping_.load();
    });
    return found;
  }
  void EndAwait(const std::shared_ptr<AnswerWait>& w) {
    std::lock_guard lock(answers_mu_);
    auto [from, to] = answers_.equal_range(w->contact_id);
    for (auto it = from; it != to; ++it) {
      if (it->second == w) {
        answers_.erase(it);
        break;
      }
    }
  }
  // I/O thread: hands an answer to the handlers waiting on its contact (none: dropped).
  void OfferAnswer(const pb::Decision& d) {
    if (d.input_topic().empty() ||
        (d.type() != pb::DECISION_TRANSFERRED && d.type() != pb::DECISION_REFUSED)) {
      return;
    }
    {
      std::lock_guard lock(answers_mu_);
      auto [from, to] = answers_.equal_range(d.contact_id());
      if (from == to) return;
      for (auto it = from; it != to; ++it) it->second->seen.push_back(d);
    }
    answered_.notify_all();
  }

  // Loop thread of the I/O: sb.control's config/current changed or a drain for this node came.
  void FollowControl();
  // This node is to drain: health NOT_SERVING, new desktop sessions refused with UNAVAILABLE,
  // open ones ended after a last `refused` update (UNAVAILABLE "node draining, connect to another
  // node"): the desktops reconnect to another node and keep their agent's state.
  void BeginDrain(const pb::NodeDrain& request);
  bool draining() const { return draining_.load(); }

  const GatewayOptions options_;
  SystemClock clock_;
  LiveValidator validator_;
  std::mutex apply_mu_;  // one ApplyConfig at a time through this gateway
  std::atomic<bool> draining_{false};
  int64_t started_at_ms_ = 0;  // wall clock: drain requests before it are for an earlier run
  ContactBook book_;
  LiveStats estimates_{&clock_};
  FollowUpIndex followups_;           // fed from sb.followups by the I/O thread
  std::optional<TokenTable> tokens_;  // unset with no_auth
  int32_t partitions_ = 0;
  std::atomic<bool> stopping_{false};

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
  void PublishSessions();
  void Relogin(const std::string& agent_id, int64_t logout_offset);

  std::mutex answers_mu_;
  std::condition_variable answered_;
  std::multimap<std::string, std::shared_ptr<AnswerWait>> answers_;  // GUARDED_BY(answers_mu_)

  std::mutex submit_mu_;
  std::condition_variable submit_cv_;
  std::set<std::string> submitting_;  // GUARDED_BY(submit_mu_)

  // Owned by the I/O thread once it runs.
  std::unique_ptr<kafka::Producer> producer_;
  std::unique_ptr<kafka::PartitionReader> reader_;
  std::map<uint64_t, std::shared_ptr<Outgoing>> in_flight_;
  uint64_t next_token_ = 1;
  uint64_t read_errors_ = 0;
  std::unique_ptr<control::ControlFollower> control_;
  std::string config_version_;  // of validator_, as the I/O thread last set it
};

std::unique_ptr<grpc::Service> NewContactService(Gateway::Impl* gw);
std::unique_ptr<grpc::Service> NewAgentService(Gateway::Impl* gw);
std::unique_ptr<grpc::Service> NewFollowUpService(Gateway::Impl* gw);
std::unique_ptr<grpc::Service> NewAdminService(Gateway::Impl* gw);

}  // namespace sb::gateway
