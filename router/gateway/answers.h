// Private to router/gateway: the router's answers to records this gateway published about a
// contact (ContactService.Transfer waits for the DECISION_TRANSFERRED or DECISION_REFUSED that
// carries its record's topic and offset).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "switchboard/v1/decision.pb.h"

namespace sb::gateway {

namespace pb = ::switchboard::v1;

// Thread-safe: handlers begin, wait and end; the I/O thread offers the decisions it reads.
class Answers {
 public:
  using WaitId = uint64_t;

  // Starts collecting the answers about `contact_id`: called before the handler publishes, so an
  // answer that comes quickly is not missed. REQUIRES: End() follows.
  WaitId Begin(const std::string& contact_id) ABSL_LOCKS_EXCLUDED(mu_);
  // The answer to the record at (topic, offset), or nullopt after `timeout_ms` or once the node
  // is stopping.
  std::optional<pb::Decision> Await(WaitId id, std::string_view topic, int64_t offset,
                                    int timeout_ms) ABSL_LOCKS_EXCLUDED(mu_);
  void End(WaitId id) ABSL_LOCKS_EXCLUDED(mu_);

  // I/O thread: hands an answer to the handlers waiting on its contact (none: dropped). Other
  // decisions are ignored.
  void Offer(const pb::Decision& d) ABSL_LOCKS_EXCLUDED(mu_);
  // Waits in progress give up at once, later ones too.
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Waiting {
    std::string contact_id;
    std::vector<pb::Decision> seen;
  };
  // The answer to the record at (topic, offset) among those collected for `id`, if it came.
  std::optional<pb::Decision> Find(WaitId id, std::string_view topic, int64_t offset) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  absl::CondVar answered_;  // signalled when an answer is offered, and at Stop()
  // One per Transfer in progress on this node: few, so Offer() looks at each.
  std::map<WaitId, Waiting> waits_ ABSL_GUARDED_BY(mu_);
  WaitId next_id_ ABSL_GUARDED_BY(mu_) = 1;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace sb::gateway
