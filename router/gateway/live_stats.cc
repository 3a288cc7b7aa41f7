#include "router/gateway/live_stats.h"

namespace sb::gateway {

void LiveStats::Apply(std::string_view key, const std::optional<std::string_view>& value,
                      stats::LogPosition position) {
  absl::MutexLock lock(&mu_);
  view_.Apply(key, value, position);
}

double LiveStats::EstimatedWaitS(const std::string& queue) const {
  absl::MutexLock lock(&mu_);
  const auto queues = view_.LiveQueues(clock_->NowMs());
  auto it = queues.find(queue);
  if (it == queues.end()) return -1;
  const double s = it->second.queue.estimated_wait_s();
  return s < 0 ? -1 : s;
}

std::vector<::switchboard::v1::ShardLive> LiveStats::FreshShards() const {
  absl::MutexLock lock(&mu_);
  std::vector<::switchboard::v1::ShardLive> out;
  for (const auto* s : view_.FreshShards(clock_->NowMs())) out.push_back(*s);
  return out;
}

std::vector<stats::ListedAgent> LiveStats::Agents() const {
  absl::MutexLock lock(&mu_);
  return view_.Agents(clock_->NowMs());
}

std::optional<stats::ListedAgent> LoggedInElsewhere(const std::vector<stats::ListedAgent>& listed,
                                                    const ::switchboard::v1::Agent& agent) {
  for (const stats::ListedAgent& l : listed) {
    if (l.agent.agent().id() == agent.id() && l.agent.agent().domain() != agent.domain()) return l;
  }
  return std::nullopt;
}

}  // namespace sb::gateway
