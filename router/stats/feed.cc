#include "router/stats/feed.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>

#include "router/kafka/topics.h"

namespace sb::stats {

Result<std::unique_ptr<StatsFeed>> StatsFeed::Open(const std::string& bootstrap,
                                                   const kafka::Settings& extra, int timeout_ms,
                                                   int64_t stale_ms, int64_t tail) {
  const std::string topic(kafka::kStatsTopic);
  auto counts = kafka::TopicPartitions(bootstrap, {topic}, timeout_ms, extra);
  if (!counts.ok()) return counts.status();
  const int32_t n = (*counts)[topic];
  if (n <= 0) return FailedPrecondition("topic " + topic + " does not exist on " + bootstrap);
  auto reader = kafka::PartitionReader::Create(bootstrap, extra);
  if (!reader.ok()) return reader.status();
  std::vector<kafka::TopicPartition> parts;
  for (int32_t p = 0; p < n; ++p) {
    int64_t from = RD_KAFKA_OFFSET_BEGINNING;
    if (tail > 0) {
      auto marks = (*reader)->Watermarks(topic, p, timeout_ms);
      if (!marks.ok()) return marks.status();
      from = std::max(marks->first, marks->second - tail);
    }
    parts.push_back({topic, p, from});
  }
  SB_RETURN_IF_ERROR((*reader)->Assign(parts));
  std::unique_ptr<StatsFeed> feed(new StatsFeed(std::move(*reader), n, stale_ms));
  feed->next_offset_.assign(static_cast<size_t>(n), 0);
  return feed;
}

void StatsFeed::ApplyRecord(const kafka::Record& r) {
  if (r.partition >= 0 && r.partition < partitions_) {
    next_offset_[static_cast<size_t>(r.partition)] = r.offset + 1;
  }
  std::optional<std::string_view> value;
  if (r.value) value = std::string_view(*r.value);
  // The outcome is counted inside the view (malformed, older); nothing more to do here.
  (void)view_.Apply(r.key, value, {r.partition, r.offset});
}

Result<int> StatsFeed::Poll(int timeout_ms) {
  int applied = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    if (left <= 0) break;
    auto rec = reader_->Poll(applied > 0 ? 0 : static_cast<int>(left));
    if (!rec.ok()) return rec.status();
    if (!rec->has_value()) {
      if (applied > 0) break;
      continue;
    }
    ApplyRecord(**rec);
    ++applied;
  }
  return applied;
}

Status StatsFeed::CatchUp(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto left_ms = [&] {
    return static_cast<int>(std::max<int64_t>(
        0, std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                 std::chrono::steady_clock::now())
               .count()));
  };
  std::vector<int64_t> high(static_cast<size_t>(partitions_), 0);
  std::vector<int64_t> low(static_cast<size_t>(partitions_), 0);
  for (int32_t p = 0; p < partitions_; ++p) {
    auto wm = reader_->Watermarks(kafka::kStatsTopic, p, std::max(1, left_ms()));
    if (!wm.ok()) return wm.status();
    low[static_cast<size_t>(p)] = wm->first;
    high[static_cast<size_t>(p)] = wm->second;
  }
  // A partition that has records but has delivered none yet is still being fetched, however
  // long the broker takes: only the timeout ends the wait for it.
  auto started = [&] {
    for (int32_t p = 0; p < partitions_; ++p) {
      const size_t i = static_cast<size_t>(p);
      if (high[i] > low[i] && next_offset_[i] == 0) return false;
    }
    return true;
  };
  auto done = [&] {
    for (int32_t p = 0; p < partitions_; ++p) {
      // Compaction may have removed the last offsets below the watermark; a partition is also
      // caught up once a poll found nothing more and its records end below `high`.
      if (next_offset_[static_cast<size_t>(p)] < high[static_cast<size_t>(p)]) return false;
    }
    return true;
  };
  int empty_polls = 0;
  while (!done()) {
    const int left = left_ms();
    if (left <= 0) {
      return Unavailable("sb.stats: end of the topic not reached within " +
                         std::to_string(timeout.count()) + " ms");
    }
    auto rec = reader_->Poll(std::min(left, 200));
    if (!rec.ok()) return rec.status();
    if (!rec->has_value()) {
      // Compaction can leave the high watermark above the last record: after several empty
      // polls in a row nothing more is coming, whatever the watermark says.
      if (++empty_polls >= 10 && started()) break;
      continue;
    }
    empty_polls = 0;
    ApplyRecord(**rec);
  }
  return Status::Ok();
}

}  // namespace sb::stats
