// Polling with a deadline: for the integration tests that wait for another thread, a router node
// or the broker to get somewhere (shards owned, an offer read, a first claim started). Real time
// on the monotonic clock; the pure cores' tests use a manual clock and never wait.
#pragma once

#include <chrono>
#include <functional>

namespace sb::testing {

// A moment on the monotonic clock, fixed at construction. Share one between several waits to
// give them one budget together.
class Deadline {
 public:
  explicit Deadline(std::chrono::milliseconds timeout)
      : at_(std::chrono::steady_clock::now() + timeout) {}
  bool passed() const { return std::chrono::steady_clock::now() >= at_; }

 private:
  std::chrono::steady_clock::time_point at_;
};

// Calls `done` until it returns true (then true) or `deadline` passes (then false), sleeping
// `every` after each false; 0 for a `done` that blocks for a while itself (a Kafka poll). Runs
// `done` on the calling thread; `done` must not throw.
[[nodiscard]] bool WaitUntil(const Deadline& deadline, const std::function<bool()>& done,
                             std::chrono::milliseconds every = std::chrono::milliseconds(10));
[[nodiscard]] bool WaitUntil(std::chrono::milliseconds timeout, const std::function<bool()>& done,
                             std::chrono::milliseconds every = std::chrono::milliseconds(10));

}  // namespace sb::testing
