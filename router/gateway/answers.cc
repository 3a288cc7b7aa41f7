#include "router/gateway/answers.h"

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace sb::gateway {

Answers::WaitId Answers::Begin(const std::string& contact_id) {
  absl::MutexLock lock(&mu_);
  const WaitId id = next_id_++;
  waits_[id].contact_id = contact_id;
  return id;
}

std::optional<pb::Decision> Answers::Find(WaitId id, std::string_view topic, int64_t offset) const {
  auto it = waits_.find(id);
  if (it == waits_.end()) return std::nullopt;
  for (const pb::Decision& d : it->second.seen) {
    if (d.input_topic() == topic && d.input_offset() == offset) return d;
  }
  return std::nullopt;
}

std::optional<pb::Decision> Answers::Await(WaitId id, std::string_view topic, int64_t offset,
                                           int timeout_ms) {
  absl::MutexLock lock(&mu_);
  const absl::Time deadline = absl::Now() + absl::Milliseconds(timeout_ms);
  while (!stopping_ && !Find(id, topic, offset)) {
    if (answered_.WaitWithDeadline(&mu_, deadline)) break;  // timed out
  }
  return Find(id, topic, offset);
}

void Answers::End(WaitId id) {
  absl::MutexLock lock(&mu_);
  waits_.erase(id);
}

void Answers::Offer(const pb::Decision& d) {
  if (d.input_topic().empty() ||
      (d.type() != pb::DECISION_TRANSFERRED && d.type() != pb::DECISION_REFUSED)) {
    return;
  }
  bool waited_for = false;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [id, w] : waits_) {
      if (w.contact_id != d.contact_id()) continue;
      w.seen.push_back(d);
      waited_for = true;
    }
  }
  if (waited_for) answered_.SignalAll();
}

void Answers::Stop() {
  absl::MutexLock lock(&mu_);
  stopping_ = true;
  answered_.SignalAll();  // a Transfer waiting must not hold up the node's stop
}

}  // namespace sb::gateway
