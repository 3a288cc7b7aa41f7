#include "router/gateway/desks.h"

#include "common/clock.h"

namespace sb::gateway {

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

std::shared_ptr<Desk> Desks::Open(const pb::Agent& agent, int32_t partition) {
  auto desk = std::make_shared<Desk>(agent, partition);
  std::shared_ptr<Desk> old;
  {
    absl::MutexLock lock(&mu_);
    if (draining_.load()) return nullptr;
    logouts_.erase(agent.id());
    old = std::exchange(desks_[agent.id()], desk);
  }
  if (old) old->Close();
  return desk;
}

void Desks::Close(const std::shared_ptr<Desk>& desk, bool logged_out) {
  const std::string& agent_id = desk->agent().id();
  absl::MutexLock lock(&mu_);
  auto it = desks_.find(agent_id);
  if (it == desks_.end() || it->second != desk) return;  // taken over by a newer session
  desks_.erase(it);
  if (!logged_out) logouts_[agent_id] = {MonotonicMs() + grace_ms_, desk->partition()};
}

void Desks::Deliver(const pb::Decision& d) {
  if (d.agent_id().empty()) return;
  std::shared_ptr<Desk> desk = Find(d.agent_id());
  if (desk == nullptr) return;
  pb::AgentUpdate u;
  if (d.type() == pb::DECISION_OFFER) {
    *u.mutable_offer() = d;
  } else if (d.type() == pb::DECISION_REFUSED) {
    // A desktop that reconnected within the grace period finds its agent still logged in:
    // the session goes on with that login (the gateway's Relogin covers the other node's late
    // logout).
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

std::vector<std::pair<std::string, int32_t>> Desks::TakeDueLogouts() {
  std::vector<std::pair<std::string, int32_t>> due;
  absl::MutexLock lock(&mu_);
  const int64_t now = MonotonicMs();
  for (auto it = logouts_.begin(); it != logouts_.end();) {
    if (it->second.due_ms > now) {
      ++it;
      continue;
    }
    due.emplace_back(it->first, it->second.partition);
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
