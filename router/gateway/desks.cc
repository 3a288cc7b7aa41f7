#include "router/gateway/desks.h"

#include <cstdio>
#include <random>

#include "common/clock.h"
#include "common/text.h"

namespace sb::gateway {
namespace {

// DECISION_REFUSED.refused_event of a refused login (the RoutingEvent field's name).
constexpr char kLoginEvent[] = "agent_login";

// The last update of a desk a newer session of its agent replaced.
pb::AgentUpdate Replaced(const Desk& desk, const std::string& by) {
  pb::AgentUpdate u;
  u.mutable_refused()->set_code("ABORTED");
  u.mutable_refused()->set_message("session " + Quote(desk.session()) + " of agent " +
                                   Quote(desk.agent().id()) + " ended: " + by);
  return u;
}

}  // namespace

std::string NewSessionId(std::string_view node_id) {
  // One generator per thread, seeded from the OS: no lock, no two threads drawing the same.
  thread_local std::mt19937_64 rng{(uint64_t{std::random_device{}()} << 32) ^
                                   std::random_device{}()};
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(rng()));
  return std::string(node_id) + "-" + hex;
}

void Desk::Push(pb::AgentUpdate u) {
  absl::MutexLock lock(&mu_);
  updates_.push_back(std::move(u));
}

void Desk::Close() {
  absl::MutexLock lock(&mu_);
  closed_ = true;
}

bool Desk::Take(absl::Duration timeout, std::deque<pb::AgentUpdate>* batch) {
  absl::MutexLock lock(&mu_);
  // Push() and Close() wake the writer as they release mu_ (no CondVar to signal).
  mu_.AwaitWithTimeout(absl::Condition(this, &Desk::HasNews), timeout);
  batch->swap(updates_);
  return closed_;
}

std::shared_ptr<Desk> Desks::Open(const pb::Agent& agent, int32_t partition, std::string session) {
  auto desk = std::make_shared<Desk>(agent, partition, std::move(session));
  std::shared_ptr<Desk> old;
  {
    absl::MutexLock lock(&mu_);
    if (draining_.load()) return nullptr;
    logouts_.erase(agent.id());
    old = std::exchange(desks_[agent.id()], desk);
  }
  if (old) {
    old->Push(Replaced(*old, "a newer session of the agent opened on this node (session " +
                                 Quote(desk->session()) + ")"));
    old->Close();
  }
  return desk;
}

void Desks::Close(const std::shared_ptr<Desk>& desk, bool logged_out) {
  const std::string& agent_id = desk->agent().id();
  absl::MutexLock lock(&mu_);
  auto it = desks_.find(agent_id);
  if (it == desks_.end() || it->second != desk) return;  // taken over by a newer session
  desks_.erase(it);
  if (!logged_out) {
    logouts_[agent_id] = {MonotonicMs() + grace_ms_, desk->partition(), desk->session(),
                          desk->login_offset()};
  }
}

void Desks::Moved(const pb::Decision& d, int32_t shard) {
  std::shared_ptr<Desk> ended;
  std::shared_ptr<Desk> current;
  {
    absl::MutexLock lock(&mu_);
    auto pending = logouts_.find(d.agent_id());
    if (pending != logouts_.end() && pending->second.partition == shard &&
        pending->second.session != d.session() &&
        Superseded(pending->second.login_offset, d.input_offset())) {
      logouts_.erase(pending);  // the engine would refuse it: the agent is in use elsewhere
    }
    auto it = desks_.find(d.agent_id());
    if (it == desks_.end() || it->second->partition() != shard) return;
    if (it->second->session() == d.session()) {
      current = it->second;
    } else if (Superseded(it->second->login_offset(), d.input_offset())) {
      ended = std::move(it->second);
      desks_.erase(it);  // so its Close() schedules no logout
    }
  }
  if (current) {  // this desk's own login took the agent over: the desktop learns it
    pb::AgentUpdate u;
    *u.mutable_decision() = d;
    current->Push(std::move(u));
  }
  if (ended) {
    ended->Push(Replaced(*ended, "the agent logged in again elsewhere (session " +
                                     Quote(d.session()) + ", generation " +
                                     std::to_string(d.generation()) + ")"));
    ended->Close();
  }
}

void Desks::Deliver(const pb::Decision& d, int32_t shard) {
  if (d.agent_id().empty()) return;
  if (d.type() == pb::DECISION_AGENT_STATE && d.reason() == pb::REASON_SESSION_MOVED) {
    Moved(d, shard);
    return;
  }
  std::shared_ptr<Desk> desk = Find(d.agent_id());
  // A desk hears only the shard its login went to: another shard's decisions about the same
  // agent id (a refused login under another domain, through another node) are not its own.
  if (desk == nullptr || desk->partition() != shard) return;
  pb::AgentUpdate u;
  if (d.type() == pb::DECISION_OFFER) {
    *u.mutable_offer() = d;
  } else if (d.type() == pb::DECISION_REFUSED) {
    // Another session's event (an older desktop's, its late grace logout): not this desktop's
    // business. Events without a session (a Transfer by an integrator for this agent) are.
    if (!d.session().empty() && d.session() != desk->session()) return;
    if (d.refused_event() == kLoginEvent) {
      // Only the desk's own login; a publisher's session-less login refused (the desk's session
      // holds the agent) leaves the desk be.
      if (d.session() == desk->session()) LoginRefused(desk, d);
      return;
    }
    // An action the engine refused after the gateway had accepted it (an accept of an offer
    // that had timed out, a wrap-up of nothing): the desktop learns it like a validation error.
    u.mutable_refused()->set_code(d.refusal_code());
    u.mutable_refused()->set_message(d.detail());
  } else {
    // A login confirmed is its own session's news.
    if (d.reason() == pb::REASON_IDENTITY_CONFIRMED && d.session() != desk->session()) return;
    *u.mutable_decision() = d;
  }
  desk->Push(std::move(u));
}

void Desks::LoginRefused(const std::shared_ptr<Desk>& desk, const pb::Decision& d) {
  {
    absl::MutexLock lock(&mu_);
    auto it = desks_.find(d.agent_id());
    if (it != desks_.end() && it->second == desk) desks_.erase(it);  // no grace logout: not in
  }
  pb::AgentUpdate u;
  u.mutable_refused()->set_code(d.refusal_code());
  u.mutable_refused()->set_message("login refused: " + d.detail());
  desk->Push(std::move(u));
  desk->Close();
}

std::shared_ptr<Desk> Desks::Find(const std::string& agent_id) const {
  absl::MutexLock lock(&mu_);
  auto it = desks_.find(agent_id);
  return it != desks_.end() ? it->second : nullptr;
}

std::vector<std::string> Desks::AgentIds() const {
  std::vector<std::string> ids;
  absl::MutexLock lock(&mu_);
  for (const auto& [agent, desk] : desks_) ids.push_back(agent);
  return ids;
}

std::vector<Desks::DueLogout> Desks::TakeDueLogouts() {
  std::vector<DueLogout> due;
  absl::MutexLock lock(&mu_);
  const int64_t now = MonotonicMs();
  for (auto it = logouts_.begin(); it != logouts_.end();) {
    if (it->second.due_ms > now) {
      ++it;
      continue;
    }
    due.push_back({it->first, it->second.partition, it->second.session});
    it = logouts_.erase(it);
  }
  return due;
}

void Desks::StartDraining() {
  absl::MutexLock lock(&mu_);
  draining_ = true;
}

size_t Desks::CloseAll(const pb::AgentUpdate& last) {
  std::vector<std::shared_ptr<Desk>> open;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [agent, desk] : desks_) open.push_back(desk);
  }
  for (const auto& desk : open) {
    desk->Push(last);
    desk->Close();
  }
  return open.size();
}

}  // namespace sb::gateway
