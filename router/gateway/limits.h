// Per-caller limits of the gateway (GatewayOptions::limits), so one token (an agent's, a leaked
// integrator's) cannot take a node's threads or its Kafka readers: open desktop sessions and Watch
// streams per caller, and a rate for AdminService.Report (each call opens a consumer and reads all
// of sb.stats). A caller is the Principal's name (auth.h: one per token). Pure, thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/status.h"

namespace sb::gateway {

struct CallerLimitsOptions {
  int max_desk_sessions = 4;  // an agent token's: its desktop reconnecting, a second screen
  // Other roles' (a CTI server or softphone proxy holding every agent's desktop).
  int max_proxy_desk_sessions = 10000;
  int max_watch_streams = 256;  // an integrator following its open contacts
  double report_per_s = 0.2;    // one Report every 5 s on average...
  double report_burst = 3;      // ...and this many at once
};

class CallerLimits {
 public:
  // kDesk: an agent token's desktop sessions; kProxyDesk: another role's.
  enum class Stream { kDesk, kProxyDesk, kWatch };

  explicit CallerLimits(CallerLimitsOptions options) : options_(options) {}

  // One open stream of a caller, counted until destroyed.
  class Slot {
   public:
    Slot(CallerLimits* limits, std::string caller, Stream kind)
        : limits_(limits), caller_(std::move(caller)), kind_(kind) {}
    ~Slot() { limits_->Release(caller_, kind_); }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;

   private:
    CallerLimits* limits_;
    std::string caller_;
    Stream kind_;
  };

  // A slot for a new stream of `caller`; RESOURCE_EXHAUSTED naming the limit when it has the
  // most it may have open.
  Result<std::unique_ptr<Slot>> Open(const std::string& caller, Stream kind)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Whether `caller` may call Report at `now_ms` (a token bucket); RESOURCE_EXHAUSTED with the
  // wait otherwise.
  Status AllowReport(const std::string& caller, int64_t now_ms) ABSL_LOCKS_EXCLUDED(mu_);

  int open(const std::string& caller, Stream kind) const ABSL_LOCKS_EXCLUDED(mu_);
  // Callers with state held (open streams, a Report bucket not yet full again).
  size_t callers() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Bucket {
    double tokens = 0;
    int64_t at_ms = 0;
  };
  void Release(const std::string& caller, Stream kind) ABSL_LOCKS_EXCLUDED(mu_);
  double Refilled(const Bucket& b, int64_t now_ms) const;

  const CallerLimitsOptions options_;
  mutable absl::Mutex mu_;
  std::map<std::string, int>& OpenOf(Stream kind) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int MaxOf(Stream kind) const;

  std::map<std::string, int> desks_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> proxy_desks_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> watches_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Bucket> reports_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sb::gateway
