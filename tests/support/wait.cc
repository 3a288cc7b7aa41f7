#include "support/wait.h"

#include <thread>

namespace sb::testing {

bool WaitUntil(const Deadline& deadline, const std::function<bool()>& done,
               std::chrono::milliseconds every) {
  while (!deadline.passed()) {
    if (done()) return true;
    if (every.count() > 0) std::this_thread::sleep_for(every);
  }
  return false;
}

bool WaitUntil(std::chrono::milliseconds timeout, const std::function<bool()>& done,
               std::chrono::milliseconds every) {
  return WaitUntil(Deadline(timeout), done, every);
}

}  // namespace sb::testing
