// The outputs of sb.assignments this gateway has already applied, by output id, so desktops and
// ContactService.Get/Watch see each decision once: a new shard owner re-publishes the outputs its
// predecessor may not have delivered (same deterministic ids, DESIGN.md §3), and applying such a
// repeat again would offer a contact to a desktop twice or move a contact's view back to an older
// state (a repeated OFFER after its CONNECTED).
//
// Bounded: the newest `capacity` ids (FIFO); a repeat older than that is applied again (a
// re-publish follows its original by at most a failover, far fewer outputs than the bound).
// Thread: the gateway's I/O thread only.
#pragma once

#include <cstddef>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_set>

namespace sb::gateway {

class SeenOutputs {
 public:
  explicit SeenOutputs(size_t capacity = 200'000) : capacity_(capacity) {}

  // True the first time `output_id` is seen (and remembers it); false for a repeat.
  bool FirstTime(std::string_view output_id);
  size_t repeats() const { return repeats_; }

 private:
  const size_t capacity_;
  std::unordered_set<std::string> ids_;
  std::deque<std::string> order_;  // oldest first
  size_t repeats_ = 0;
};

}  // namespace sb::gateway
