#include "router/gateway/publisher.h"

#include <chrono>
#include <utility>

#include "router/kafka/topics.h"

namespace sb::gateway {

Status Publisher::Publish(std::string_view topic, int32_t partition, const std::string& key,
                          std::string value, int64_t* offset) {
  auto out = std::make_shared<PendingRecord>();
  out->topic = std::string(topic);
  out->partition = partition;
  out->key = key;
  out->value = std::move(value);
  std::future<Status> done = out->done.get_future();
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return Unavailable("this node is stopping");
    queued_.push_back(out);
  }
  if (done.wait_for(std::chrono::milliseconds(ack_timeout_ms_)) != std::future_status::ready) {
    return Unavailable("Kafka did not acknowledge within " + std::to_string(ack_timeout_ms_) +
                       " ms");
  }
  Status st = done.get();
  if (offset != nullptr) *offset = out->offset;
  return st;
}

int32_t Publisher::PartitionOf(std::string_view domain) const {
  return kafka::PartitionFor(domain, partitions_);
}

std::deque<std::shared_ptr<PendingRecord>> Publisher::Take() {
  std::deque<std::shared_ptr<PendingRecord>> batch;
  absl::MutexLock lock(&mu_);
  batch.swap(queued_);
  return batch;
}

void Publisher::Stop() {
  absl::MutexLock lock(&mu_);
  stopping_ = true;
}

}  // namespace sb::gateway
