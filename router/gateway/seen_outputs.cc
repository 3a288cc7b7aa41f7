#include "router/gateway/seen_outputs.h"

namespace sb::gateway {

bool SeenOutputs::FirstTime(std::string_view output_id) {
  std::string id(output_id);
  if (ids_.contains(id)) {
    ++repeats_;
    return false;
  }
  if (capacity_ == 0) return true;
  if (order_.size() == capacity_) {
    ids_.erase(order_.front());
    order_.pop_front();
  }
  ids_.insert(id);
  order_.push_back(std::move(id));
  return true;
}

}  // namespace sb::gateway
