#include "router/shard/stats_publisher.h"

#include <optional>
#include <utility>
#include <vector>

#include "common/log/log.h"
#include "router/kafka/epoch.h"
#include "router/kafka/topics.h"
#include "router/shard/shard_types.h"

namespace sb::shard {

StatsPublisher::StatsPublisher(std::string node_id, int32_t partition, int32_t partitions,
                               kafka::Producer* producer)
    : node_id_(std::move(node_id)),
      partition_(partition),
      partitions_(partitions),
      producer_(producer) {}

void StatsPublisher::Restore(const pb::RoutingConfig* config, const pb::ShardMeta& meta) {
  book_ = std::make_unique<StatsBook>(config, partition_, partitions_);
  book_->Restore(meta);
}

void StatsPublisher::SwitchConfig(const pb::RoutingConfig* config) {
  if (book_ == nullptr) return;
  pb::ShardMeta saved;
  book_->SaveTo(&saved);
  Restore(config, saved);
}

void StatsPublisher::SaveTo(pb::ShardMeta* meta) const {
  if (book_ != nullptr) book_->SaveTo(meta);
}

void StatsPublisher::Publish(int64_t now_ms, uint64_t epoch, const engine::Engine& engine,
                             const followup::Scheduler* followups) {
  if (book_ == nullptr) return;
  std::vector<std::pair<std::string, std::optional<std::string>>> records;
  for (auto& [key, value] :
       book_->Collect(now_ms, epoch, node_id_, engine.Summarize(), followups)) {
    records.emplace_back(std::move(key), std::move(value));
  }
  if (roster_.Due(now_ms)) {
    for (auto& r :
         roster_.Collect(now_ms, static_cast<int64_t>(epoch), node_id_, engine.ListAgents())) {
      records.push_back(std::move(r));
    }
  }
  for (const auto& [key, value] : records) {
    Status st =
        producer_->Produce(kafka::kStatsTopic, partition_, key, value, {kafka::EpochHeader(epoch)},
                           MakeToken(partition_, TokenKind::kStats, ++seq_));
    if (!st.ok()) {
      OnDelivery(st);
      return;
    }
  }
}

void StatsPublisher::OnDelivery(const Status& status) {
  // Statistics are re-sent within a second: a lost one is not lost state.
  if (!status.ok() && ++failed_ % 100 == 1) {
    SB_LOG_WARN("shard", "shard %d: statistics not delivered (%llu so far): %s\n", partition_,
                static_cast<unsigned long long>(failed_), status.ToString().c_str());
  }
}

}  // namespace sb::shard
