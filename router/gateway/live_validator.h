// Private to router/gateway: the routing config in force and the request validator built from it.
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/status.h"
#include "router/gateway/validate.h"

namespace sb::gateway {

// Swapped when sb.control's config/current changes (I/O thread) or after ApplyConfig; read by
// every handler. A caller holding Get() keeps one version for its whole request. Thread-safe.
class LiveValidator {
 public:
  explicit LiveValidator(pb::RoutingConfig config)
      : v_(std::make_shared<const Validator>(std::move(config))) {}

  std::shared_ptr<const Validator> Get() const ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return v_;
  }
  void Set(pb::RoutingConfig config) ABSL_LOCKS_EXCLUDED(mu_) {
    // Built outside the lock: readers never wait for a validator's construction.
    auto v = std::make_shared<const Validator>(std::move(config));
    absl::MutexLock lock(&mu_);
    v_ = std::move(v);
  }

  template <typename Request>
  [[nodiscard]] Status Check(const Request& r) const {
    return Get()->Check(r);
  }
  pb::RoutingConfig config() const { return Get()->config(); }
  std::string DomainOfQueue(const std::string& queue) const { return Get()->DomainOfQueue(queue); }

 private:
  mutable absl::Mutex mu_;
  std::shared_ptr<const Validator> v_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sb::gateway
