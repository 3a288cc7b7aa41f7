// The injected clock. Pure cores (routing engine, follow-up scheduler) read time only through it,
// so tests and the simulator drive time by hand.
#pragma once

#include <cstdint>

namespace sb {

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch. Never goes backwards for one Clock.
  virtual int64_t NowMs() const = 0;
};

// Wall time (CLOCK_REALTIME, clamped so it never goes backwards). Thread-safe.
class SystemClock final : public Clock {
 public:
  int64_t NowMs() const override;
};

// Time set by hand. Owned by one thread (the test or simulator driving it).
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_ms = 0) : now_ms_(start_ms) {}
  int64_t NowMs() const override { return now_ms_; }
  // REQUIRES: ms >= NowMs()
  void SetMs(int64_t ms) { now_ms_ = ms; }
  void AdvanceMs(int64_t delta_ms) { now_ms_ += delta_ms; }

 private:
  int64_t now_ms_;
};

// Milliseconds of the monotonic clock (arbitrary origin): for timeouts and latencies in the shell
// around the pure cores, never for decisions.
int64_t MonotonicMs();
int64_t MonotonicUs();

}  // namespace sb
