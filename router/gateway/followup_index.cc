#include "router/gateway/followup_index.h"

#include <algorithm>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace sb::gateway {
namespace {

constexpr size_t kMaxTaskIdChars = 128;

// Does `incoming` (epoch, partition, offset) replace the record kept?
bool Replaces(uint64_t epoch, int32_t partition, int64_t offset, const IndexedTask& kept) {
  if (epoch != kept.epoch) return epoch > kept.epoch;
  // Equal epochs: one owner wrote both, the later one in its log is the newer state. Across
  // partitions offsets do not compare; the record read last wins.
  if (partition != kept.partition) return true;
  return offset >= kept.offset;
}

}  // namespace

bool ValidFollowUpPageToken(std::string_view token) {
  return !token.empty() && token.size() <= kMaxTaskIdChars &&
         token.find_first_not_of(
             "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
             "0123456789._:/-") == std::string_view::npos;
}

void FollowUpIndex::Unindex(const IndexedTask& t) {
  auto drop = [&](auto& index, const auto& key) {
    auto it = index.find(key);
    if (it == index.end()) return;
    it->second.erase(t.task.id());
    if (it->second.empty()) index.erase(it);
  };
  if (!t.task.request().customer_id().empty()) drop(by_customer_, t.task.request().customer_id());
  if (!t.task.request().owner().empty()) drop(by_owner_, t.task.request().owner());
  drop(by_state_, static_cast<int>(t.task.state()));
}

void FollowUpIndex::Index(const IndexedTask& t) {
  if (!t.task.request().customer_id().empty()) {
    by_customer_[t.task.request().customer_id()].insert(t.task.id());
  }
  if (!t.task.request().owner().empty()) by_owner_[t.task.request().owner()].insert(t.task.id());
  by_state_[static_cast<int>(t.task.state())].insert(t.task.id());
}

FollowUpIndex::Applied FollowUpIndex::Apply(std::string_view key,
                                            const std::optional<std::string>& value,
                                            std::optional<uint64_t> header_epoch, int32_t partition,
                                            int64_t offset) {
  Applied result;
  {
    absl::MutexLock lock(&mu_);
    int64_t& next = next_[partition];
    next = std::max(next, offset + 1);
    auto it = tasks_.find(key);
    if (!value) {
      const uint64_t epoch = header_epoch.value_or(0);
      if (it != tasks_.end() && header_epoch && !Replaces(epoch, partition, offset, it->second)) {
        ++older_ignored_;
        result = Applied::kOlder;
      } else {
        if (it != tasks_.end()) {
          Unindex(it->second);
          tasks_.erase(it);
        }
        Remember(key, epoch);
        result = Applied::kDeleted;
      }
    } else {
      pb::FollowUpTaskRecord record;
      if (!record.ParseFromString(*value) || record.task().id() != key || record.shard() < 0) {
        ++malformed_;
        result = Applied::kMalformed;
      } else if (it != tasks_.end() && !Replaces(record.epoch(), partition, offset, it->second)) {
        ++older_ignored_;
        result = Applied::kOlder;
      } else if (auto removed = removed_epoch_.find(key); it == tasks_.end() &&
                                                          removed != removed_epoch_.end() &&
                                                          record.epoch() < removed->second) {
        ++older_ignored_;  // a stale owner's record read after a newer owner's tombstone
        result = Applied::kOlder;
      } else {
        if (it != tasks_.end()) {
          Unindex(it->second);
        } else {
          removed_epoch_.erase(std::string(key));
        }
        IndexedTask t;
        t.shard = record.shard();
        t.epoch = record.epoch();
        t.partition = partition;
        t.offset = offset;
        t.task = std::move(*record.mutable_task());
        Index(t);
        tasks_.insert_or_assign(std::string(key), std::move(t));
        result = Applied::kKept;
      }
    }
  }
  changed_.SignalAll();
  return result;
}

void FollowUpIndex::Remember(std::string_view key, uint64_t epoch) {
  auto [it, fresh] = removed_epoch_.insert_or_assign(std::string(key), epoch);
  if (fresh) removed_order_.push_back(it->first);
  while (removed_order_.size() > kMaxRemembered) {
    removed_epoch_.erase(removed_order_.front());
    removed_order_.pop_front();
  }
}

size_t FollowUpIndex::Prune(int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  size_t forgotten = 0;
  for (auto it = tasks_.begin(); it != tasks_.end();) {
    const pb::FollowUpTask& t = it->second.task;
    if (t.ended_at_ms() == 0 || t.ended_at_ms() > now_ms - ended_ttl_ms_) {
      ++it;
      continue;
    }
    // A stale owner's record of the task read later stays out (as after a tombstone).
    Remember(it->first, it->second.epoch + 1);
    Unindex(it->second);
    it = tasks_.erase(it);
    ++forgotten;
  }
  return forgotten;
}

void FollowUpIndex::ExpectEnd(int32_t partition, int64_t low, int64_t high) {
  absl::MutexLock lock(&mu_);
  if (high > low) end_[partition] = high;
}

bool FollowUpIndex::loaded() const {
  absl::MutexLock lock(&mu_);
  for (const auto& [partition, end] : end_) {
    auto it = next_.find(partition);
    if (it == next_.end() || it->second < end) return false;
  }
  return true;
}

const IndexedTask* FollowUpIndex::Find(std::string_view task_id) const {
  auto it = tasks_.find(task_id);
  return it != tasks_.end() ? &it->second : nullptr;
}

std::optional<IndexedTask> FollowUpIndex::Get(const std::string& task_id) const {
  absl::MutexLock lock(&mu_);
  const IndexedTask* t = Find(task_id);
  if (t == nullptr) return std::nullopt;
  return *t;
}

std::optional<IndexedTask> FollowUpIndex::WaitFor(
    const std::string& task_id, const std::function<bool(const IndexedTask*)>& done,
    std::chrono::milliseconds timeout) const {
  absl::MutexLock lock(&mu_);
  const absl::Time deadline = absl::Now() + absl::FromChrono(timeout);
  while (!done(Find(task_id))) {
    if (changed_.WaitWithDeadline(&mu_, deadline)) break;  // timed out
  }
  const IndexedTask* t = Find(task_id);
  if (t == nullptr) return std::nullopt;
  return *t;
}

FollowUpPage FollowUpIndex::List(const FollowUpFilter& filter, size_t page_size,
                                 const std::string& page_token) const {
  absl::MutexLock lock(&mu_);
  static const std::set<std::string> kNone;
  // The smallest candidate set among the filters given; the others are checked per task.
  const std::set<std::string>* candidates = nullptr;
  auto narrow = [&](const auto& index, const auto& key) {
    auto it = index.find(key);
    const std::set<std::string>* ids = it != index.end() ? &it->second : &kNone;
    if (candidates == nullptr || ids->size() < candidates->size()) candidates = ids;
  };
  if (!filter.customer_id.empty()) narrow(by_customer_, filter.customer_id);
  if (!filter.owner.empty()) narrow(by_owner_, filter.owner);
  if (filter.state != pb::FOLLOW_UP_STATE_UNSPECIFIED) {
    narrow(by_state_, static_cast<int>(filter.state));
  }
  FollowUpPage page;
  auto matches = [&](const pb::FollowUpTask& t) {
    return (filter.customer_id.empty() || t.request().customer_id() == filter.customer_id) &&
           (filter.owner.empty() || t.request().owner() == filter.owner) &&
           (filter.state == pb::FOLLOW_UP_STATE_UNSPECIFIED || t.state() == filter.state) &&
           (filter.submitted_by.empty() || t.request().submitted_by() == filter.submitted_by) &&
           (!filter.queues || filter.queues->contains(t.queue()));
  };
  auto visit = [&](const pb::FollowUpTask& t) {
    if (!matches(t)) return true;
    if (page.tasks.size() == page_size) {
      page.next_page_token = page.tasks.back().id();
      return false;
    }
    page.tasks.push_back(t);
    return true;
  };
  if (candidates != nullptr) {
    for (auto it = page_token.empty() ? candidates->begin() : candidates->upper_bound(page_token);
         it != candidates->end(); ++it) {
      auto task = tasks_.find(*it);
      if (task != tasks_.end() && !visit(task->second.task)) break;
    }
  } else {  // no filter: every task
    for (auto it = page_token.empty() ? tasks_.begin() : tasks_.upper_bound(page_token);
         it != tasks_.end(); ++it) {
      if (!visit(it->second.task)) break;
    }
  }
  return page;
}

size_t FollowUpIndex::size() const {
  absl::MutexLock lock(&mu_);
  return tasks_.size();
}

uint64_t FollowUpIndex::malformed() const {
  absl::MutexLock lock(&mu_);
  return malformed_;
}

uint64_t FollowUpIndex::older_ignored() const {
  absl::MutexLock lock(&mu_);
  return older_ignored_;
}

}  // namespace sb::gateway
