#include "router/gateway/limits.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace sb::gateway {

std::map<std::string, int>& CallerLimits::OpenOf(Stream kind) {
  switch (kind) {
    case Stream::kDesk:
      return desks_;
    case Stream::kProxyDesk:
      return proxy_desks_;
    case Stream::kWatch:
      break;
  }
  return watches_;
}

int CallerLimits::MaxOf(Stream kind) const {
  switch (kind) {
    case Stream::kDesk:
      return options_.max_desk_sessions;
    case Stream::kProxyDesk:
      return options_.max_proxy_desk_sessions;
    case Stream::kWatch:
      break;
  }
  return options_.max_watch_streams;
}

Result<std::unique_ptr<CallerLimits::Slot>> CallerLimits::Open(const std::string& caller,
                                                               Stream kind) {
  absl::MutexLock lock(&mu_);
  std::map<std::string, int>& open = OpenOf(kind);
  const int max = MaxOf(kind);
  int& n = open[caller];
  if (n >= max) {
    if (n == 0) open.erase(caller);
    return ResourceExhausted(
        std::string(kind == Stream::kWatch ? "Watch streams" : "desktop sessions") +
        ": this caller has " + std::to_string(max) +
        " open, the most allowed per token; close one first");
  }
  ++n;
  return std::make_unique<Slot>(this, caller, kind);
}

void CallerLimits::Release(const std::string& caller, Stream kind) {
  absl::MutexLock lock(&mu_);
  std::map<std::string, int>& open = OpenOf(kind);
  auto it = open.find(caller);
  if (it != open.end() && --it->second <= 0) open.erase(it);
}

double CallerLimits::Refilled(const Bucket& b, int64_t now_ms) const {
  const double elapsed_s = static_cast<double>(std::max<int64_t>(0, now_ms - b.at_ms)) / 1000.0;
  return std::min(options_.report_burst, b.tokens + elapsed_s * options_.report_per_s);
}

Status CallerLimits::AllowReport(const std::string& caller, int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  // Callers whose bucket is full again hold nothing: forgotten, so the map stays bounded by the
  // callers active in the last burst / rate seconds.
  for (auto it = reports_.begin(); it != reports_.end();) {
    it = Refilled(it->second, now_ms) >= options_.report_burst ? reports_.erase(it) : std::next(it);
  }
  auto [it, fresh] = reports_.try_emplace(caller, Bucket{options_.report_burst, now_ms});
  Bucket& b = it->second;
  b.tokens = Refilled(b, now_ms);
  b.at_ms = now_ms;
  if (b.tokens < 1) {
    const double wait_s = (1 - b.tokens) / options_.report_per_s;
    return ResourceExhausted("Report: at most " + std::to_string(options_.report_per_s) +
                             " calls per second per token (bursts of " +
                             std::to_string(static_cast<int>(options_.report_burst)) +
                             "); retry in " + std::to_string(static_cast<int>(std::ceil(wait_s))) +
                             " s");
  }
  b.tokens -= 1;
  return Status::Ok();
}

int CallerLimits::open(const std::string& caller, Stream kind) const {
  absl::MutexLock lock(&mu_);
  const std::map<std::string, int>& open = kind == Stream::kDesk        ? desks_
                                           : kind == Stream::kProxyDesk ? proxy_desks_
                                                                        : watches_;
  auto it = open.find(caller);
  return it == open.end() ? 0 : it->second;
}

size_t CallerLimits::callers() const {
  absl::MutexLock lock(&mu_);
  return desks_.size() + proxy_desks_.size() + watches_.size() + reports_.size();
}

}  // namespace sb::gateway
