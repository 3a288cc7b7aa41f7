#include "tools/loadgen/grpc_agents.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cstdio>

#include "absl/time/time.h"
#include "common/clock.h"

namespace sb::loadgen {
namespace {

// Lines about lost sessions and refused actions: the first few, then one in this many.
constexpr uint64_t kLogFirst = 20;
constexpr uint64_t kLogEvery = 100;

bool ShouldLog(uint64_t n) { return n <= kLogFirst || n % kLogEvery == 0; }

// A login the gateway refuses for one of these will be refused again: LogIn() fails at once.
bool RefusedForGood(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAUTHENTICATED || code == grpc::StatusCode::PERMISSION_DENIED ||
         code == grpc::StatusCode::INVALID_ARGUMENT ||
         code == grpc::StatusCode::FAILED_PRECONDITION;
}

// "UNAVAILABLE: failed to connect", for the log lines.
std::string StatusText(const grpc::Status& s) {
  static constexpr const char* kNames[] = {"OK",
                                           "CANCELLED",
                                           "UNKNOWN",
                                           "INVALID_ARGUMENT",
                                           "DEADLINE_EXCEEDED",
                                           "NOT_FOUND",
                                           "ALREADY_EXISTS",
                                           "PERMISSION_DENIED",
                                           "RESOURCE_EXHAUSTED",
                                           "FAILED_PRECONDITION",
                                           "ABORTED",
                                           "OUT_OF_RANGE",
                                           "UNIMPLEMENTED",
                                           "INTERNAL",
                                           "UNAVAILABLE",
                                           "DATA_LOSS",
                                           "UNAUTHENTICATED"};
  const auto code = static_cast<size_t>(s.error_code());
  const std::string name = code < std::size(kNames) ? kNames[code] : std::to_string(code);
  return s.error_message().empty() ? name : name + ": " + s.error_message();
}

}  // namespace

// One AgentService.Session call. Reads run from the reactions; writes start on the owner thread
// (Write) or in OnWriteDone, one at a time. A hold keeps OnDone away while the owner may still
// start a write: it is released once reading has ended and no write is in flight, so Write()
// never meets a finished call. Deleted by the owner after OnDone posted the end.
class GrpcAgentLink::Stream final
    : public grpc::ClientBidiReactor<pb::AgentRequest, pb::AgentUpdate> {
 public:
  Stream(GrpcAgentLink* link, uint32_t agent) : link_(link), agent_(agent) {}

  // Starts the call with `login` as its first message.
  void Begin(pb::AgentService::Stub* stub, const std::string& token, pb::AgentRequest login)
      ABSL_LOCKS_EXCLUDED(mu_) {
    if (!token.empty()) ctx_.AddMetadata("authorization", "Bearer " + token);
    stub->async()->Session(&ctx_, this);
    AddHold();
    const pb::AgentRequest* first = nullptr;
    {
      absl::MutexLock lock(&mu_);
      out_.push_back(std::move(login));
      writing_ = true;
      first = &out_.front();
    }
    StartWrite(first);
    StartRead(&in_);
    StartCall();
  }

  // Owner thread. False when the call is ending: the caller keeps the request.
  bool Write(pb::AgentRequest r) ABSL_LOCKS_EXCLUDED(mu_) {
    const pb::AgentRequest* next = nullptr;
    {
      absl::MutexLock lock(&mu_);
      if (ending_) return false;
      out_.push_back(std::move(r));
      if (!writing_) {
        writing_ = true;
        next = &out_.back();  // deque: stays put while later requests are appended
      }
    }
    if (next) StartWrite(next);
    return true;
  }

  // Any thread, until the owner deletes the stream.
  void Cancel() { ctx_.TryCancel(); }

  void OnWriteDone(bool ok) override ABSL_LOCKS_EXCLUDED(mu_) {
    const pb::AgentRequest* next = nullptr;
    bool release = false;
    {
      absl::MutexLock lock(&mu_);
      out_.pop_front();
      if (!ok) {
        ending_ = true;  // the call is broken: what is queued waits for the next session
        out_.clear();
      }
      if (!out_.empty()) {
        next = &out_.front();
      } else {
        writing_ = false;
        release = reading_over_;
      }
    }
    if (next) {
      StartWrite(next);
    } else if (release) {
      RemoveHold();  // may run OnDone: nothing of this object is touched after
    }
  }

  void OnReadDone(bool ok) override ABSL_LOCKS_EXCLUDED(mu_) {
    if (ok) {
      link_->Post({agent_, this, false, grpc::Status::OK, std::move(in_)});
      in_.Clear();
      StartRead(&in_);
      return;
    }
    bool release = false;
    {
      absl::MutexLock lock(&mu_);
      reading_over_ = true;
      ending_ = true;
      release = !writing_;
    }
    if (release) RemoveHold();
  }

  void OnDone(const grpc::Status& s) override { link_->Post({agent_, this, true, s, {}}); }

 private:
  GrpcAgentLink* const link_;
  const uint32_t agent_;
  grpc::ClientContext ctx_;
  pb::AgentUpdate in_;  // the read in flight
  absl::Mutex mu_;
  std::deque<pb::AgentRequest> out_ ABSL_GUARDED_BY(mu_);  // front() is being written
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool reading_over_ ABSL_GUARDED_BY(mu_) = false;
  bool ending_ ABSL_GUARDED_BY(mu_) = false;  // no new writes
};

GrpcAgentLink::GrpcAgentLink(std::vector<pb::Agent> agents, GrpcAgentOptions options)
    : agents_(std::move(agents)), options_(std::move(options)), desks_(agents_.size()) {}

Result<std::unique_ptr<GrpcAgentLink>> GrpcAgentLink::Create(std::vector<pb::Agent> agents,
                                                             GrpcAgentOptions options) {
  if (options.gateways.empty()) return InvalidArgument("gRPC agents: no gateway to connect to");
  std::unique_ptr<GrpcAgentLink> link(new GrpcAgentLink(std::move(agents), std::move(options)));
  for (const GatewayTarget& g : link->options_.gateways) {
    link->stubs_.push_back(pb::AgentService::NewStub(
        grpc::CreateChannel(g.address, grpc::InsecureChannelCredentials())));
  }
  for (uint32_t i = 0; i < link->desks_.size(); ++i) {
    link->desks_[i].gateway = i % link->stubs_.size();
    link->desks_[i].backoff_ms = link->options_.backoff_min_ms;
  }
  return link;
}

GrpcAgentLink::~GrpcAgentLink() {
  stopping_ = true;
  for (Desk& d : desks_) {
    if (d.stream) d.stream->Cancel();
  }
  {
    // Waits for every call's OnDone; a cancelled call ends promptly.
    absl::MutexLock lock(&mu_, absl::Condition(this, &GrpcAgentLink::AllStreamsDone));
  }
  std::vector<AgentHeard> ignored;
  Pump(&ignored, false).IgnoreError();  // deletes the ended streams; nothing is refused here
}

void GrpcAgentLink::Post(Event e) {
  {
    absl::MutexLock lock(&mu_);
    if (e.ended) --open_streams_;
    inbox_.push_back(std::move(e));
  }
  posted_.SignalAll();
}

void GrpcAgentLink::Connect(uint32_t agent) {
  Desk& d = desks_[agent];
  pb::AgentRequest login;
  *login.mutable_login()->mutable_agent() = agents_[agent];
  login.mutable_login()->set_ready(true);
  {
    absl::MutexLock lock(&mu_);
    ++open_streams_;
  }
  d.stream = new Stream(this, agent);
  d.logged_in = false;
  d.stream->Begin(stubs_[d.gateway].get(), options_.gateways[d.gateway].token, std::move(login));
}

Status GrpcAgentLink::LogIn() {
  for (uint32_t i = 0; i < desks_.size(); ++i) Connect(i);
  const int64_t deadline = MonotonicMs() + options_.login_timeout_ms;
  while (counts_.sessions_live < desks_.size()) {
    {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(this, &GrpcAgentLink::InboxHasEvents),
                           absl::Milliseconds(50));
    }
    SB_RETURN_IF_ERROR(Pump(&stash_, /*strict=*/true));
    ReconnectDue();  // a gateway not serving yet is tried again, or the next one
    if (MonotonicMs() > deadline) {
      return Unavailable(
          "gRPC agents: " + std::to_string(counts_.sessions_live) + " of " +
          std::to_string(desks_.size()) + " agents logged in within " +
          std::to_string(options_.login_timeout_ms / 1000) + " s" +
          (last_login_failure_.empty() ? "" : "; last login failure " + last_login_failure_));
    }
  }
  return Status::Ok();
}

Status GrpcAgentLink::Send(uint32_t agent, const pb::AgentRequest& request) {
  Desk& d = desks_[agent];
  if (stopping_) return Status::Ok();  // logged out: nothing more is said
  if (d.stream && d.logged_in && d.stream->Write(request)) return Status::Ok();
  d.held.push_back(request);
  if (d.held.size() > options_.max_held_actions) d.held.pop_front();
  return Status::Ok();
}

void GrpcAgentLink::Take(std::vector<AgentHeard>* out) {
  for (AgentHeard& h : stash_) out->push_back(std::move(h));
  stash_.clear();
  Pump(out, false).IgnoreError();  // not strict: never fails
  ReconnectDue();
}

void GrpcAgentLink::ReconnectDue() {
  const int64_t now = MonotonicMs();
  while (!stopping_ && !reconnects_.empty() && reconnects_.begin()->first <= now) {
    const uint32_t agent = reconnects_.begin()->second;
    reconnects_.erase(reconnects_.begin());
    Connect(agent);
  }
}

Status GrpcAgentLink::Pump(std::vector<AgentHeard>* out, bool strict) {
  std::deque<Event> events;
  {
    absl::MutexLock lock(&mu_);
    events.swap(inbox_);
  }
  Status refused;
  for (Event& e : events) {
    Desk& d = desks_[e.agent];
    if (e.ended) {
      const bool current = d.stream == e.stream;  // always: one call per agent at a time
      delete e.stream;                            // OnDone touches nothing of it after posting this
      if (!current) continue;
      d.stream = nullptr;
      OnEnded(e.agent, d, e.status, strict, &refused);
      continue;
    }
    if (d.stream != e.stream) continue;  // from an ended call
    const pb::AgentUpdate& u = e.update;
    if (u.has_logged_in()) {
      d.logged_in = true;
      d.backoff_ms = options_.backoff_min_ms;
      ++counts_.sessions_live;
      // What the agent did while its stream was down, in order.
      while (!d.held.empty() && d.stream->Write(d.held.front())) d.held.pop_front();
    } else if (u.has_offer()) {
      ++counts_.offers_heard;
    } else if (u.has_refused()) {
      if (ShouldLog(++counts_.refused)) {
        std::fprintf(stderr, "agents: agent %s: action refused by %s: %s %s\n",
                     agents_[e.agent].id().c_str(), options_.gateways[d.gateway].address.c_str(),
                     u.refused().code().c_str(), u.refused().message().c_str());
      }
    }
    out->push_back({e.agent, std::move(e.update)});
  }
  return refused;
}

Result<size_t> GrpcAgentLink::CutStreams(size_t gateway) {
  if (gateway >= stubs_.size()) {
    return InvalidArgument("gateway " + std::to_string(gateway) + ": there are " +
                           std::to_string(stubs_.size()));
  }
  size_t cut = 0;
  for (Desk& d : desks_) {
    if (d.stream == nullptr || d.gateway != gateway || !d.logged_in || d.leaving) continue;
    d.stream->Cancel();  // OnDone follows: OnEnded moves the desktop to the next gateway
    ++cut;
  }
  return cut;
}

void GrpcAgentLink::OnEnded(uint32_t agent, Desk& d, const grpc::Status& status, bool strict,
                            Status* refused) {
  const std::string& was = options_.gateways[d.gateway].address;
  if (d.logged_in) --counts_.sessions_live;
  const bool was_logged_in = std::exchange(d.logged_in, false);
  if (d.leaving || stopping_) return;
  if (strict && !was_logged_in && RefusedForGood(status.error_code())) {
    if (refused->ok()) {
      *refused = Unavailable("gRPC agents: " + was + " refused the login of agent " +
                             agents_[agent].id() + ": " + StatusText(status));
    }
    return;
  }
  if (was_logged_in) {
    ++counts_.sessions_lost;
  } else {
    ++login_failures_;
    last_login_failure_ = was + ": " + StatusText(status);
  }
  d.gateway = (d.gateway + 1) % stubs_.size();
  const int delay = d.backoff_ms;
  d.backoff_ms = std::min(d.backoff_ms * 2, options_.backoff_max_ms);
  reconnects_.insert({MonotonicMs() + delay, agent});
  if (ShouldLog(was_logged_in ? counts_.sessions_lost : login_failures_)) {
    std::fprintf(stderr,
                 "agents: agent %s: session to %s ended (%s); logging in through %s in %d ms\n",
                 agents_[agent].id().c_str(), was.c_str(), StatusText(status).c_str(),
                 options_.gateways[d.gateway].address.c_str(), delay);
  }
}

void GrpcAgentLink::LogOut(int timeout_ms) {
  if (stopping_) return;
  stopping_ = true;
  reconnects_.clear();
  for (Desk& d : desks_) {
    if (!d.stream) continue;
    d.leaving = true;
    pb::AgentRequest bye;
    bye.mutable_logout()->set_reason("simulation ends");
    if (!d.logged_in || !d.stream->Write(std::move(bye))) d.stream->Cancel();
  }
  const int64_t deadline = MonotonicMs() + timeout_ms;
  std::vector<AgentHeard> ignored;
  while (MonotonicMs() < deadline) {
    {
      absl::MutexLock lock(&mu_);
      if (open_streams_ == 0) break;
      posted_.WaitWithTimeout(&mu_, absl::Milliseconds(20));
    }
    ignored.clear();
    Pump(&ignored, false).IgnoreError();  // not strict: never fails
  }
  // The last streams may have ended while the loop pumped: their ends are in the inbox still
  // (sessions_live counts them until pumped).
  ignored.clear();
  Pump(&ignored, false).IgnoreError();
  for (Desk& d : desks_) {
    if (d.stream) d.stream->Cancel();  // the gateway logs it out after its grace period
  }
}

AgentLinkCounts GrpcAgentLink::counts() const {
  AgentLinkCounts c = counts_;
  c.actions_queued = 0;
  for (const Desk& d : desks_) c.actions_queued += d.held.size();
  return c;
}

std::string GrpcAgentLink::Describe() const {
  return "gRPC AgentService.Session, " + std::to_string(options_.gateways.size()) +
         (options_.gateways.size() == 1 ? " gateway" : " gateways");
}

}  // namespace sb::loadgen
