#include "router/shard/group_writer.h"

#include "common/clock.h"
#include "common/log/log.h"
#include "router/kafka/dead_letter.h"
#include "router/kafka/epoch.h"
#include "router/kafka/topics.h"
#include "router/shard/probe.h"

namespace sb::shard {

GroupWriter::GroupWriter(Options options, Producers producers, ShardStats* stats)
    : options_(std::move(options)), producers_(producers), stats_(stats) {}

GroupWriter::~GroupWriter() = default;

Status GroupWriter::AppendClaim(const pb::EpochClaim& claim) {
  epoch_ = claim.epoch();
  return producers_.changelog->Produce(kafka::kChangelogTopic, options_.partition, ClaimKey(epoch_),
                                       claim.SerializeAsString(), {kafka::EpochHeader(epoch_)},
                                       MakeToken(options_.partition, TokenKind::kChangelog, 0));
}

void GroupWriter::Claimed(const pb::ShardMeta& meta) {
  expected_offset_ = claim_offset_ + 1;
  acked_through_ = claim_offset_;
  committed_meta_ = meta;
  pending_meta_ = meta;
}

Status GroupWriter::Append(const std::string& key, const std::optional<std::string>& value) {
  bytes_appended_ += key.size() + (value ? value->size() : 0);
  return producers_.changelog->Produce(
      kafka::kChangelogTopic, options_.partition, key, value, {kafka::EpochHeader(epoch_)},
      MakeToken(options_.partition, TokenKind::kChangelog, ++next_seq_));
}

Status GroupWriter::AppendGroup(pb::ShardMeta meta, std::vector<pb::ShardOutput> outputs,
                                std::vector<Entry> task_records) {
  meta.set_outputs_acked_through(outputs_acked_through_);
  for (const pb::ShardOutput& out : outputs) *meta.add_outputs() = out;
  SB_RETURN_IF_ERROR(Append(kMetaKey, meta.SerializeAsString()));
  Group group;
  group.meta_seq = next_seq_;
  group.appended_us = MonotonicUs();
  group.outputs = std::move(outputs);
  group.task_records = std::move(task_records);
  meta.clear_outputs();
  pending_meta_ = std::move(meta);
  pending_meta_seq_ = next_seq_;
  groups_.push_back(std::move(group));
  return Status::Ok();
}

std::vector<pb::ShardOutput> GroupWriter::UnackedOutputs() const {
  std::vector<pb::ShardOutput> out;
  for (const Group& g : groups_) out.insert(out.end(), g.outputs.begin(), g.outputs.end());
  return out;
}

Status GroupWriter::Resend(std::vector<pb::ShardOutput> outputs) {
  Group resend;
  resend.outputs = std::move(outputs);
  resend.meta_offset = claim_offset_;
  groups_.push_back(std::move(resend));
  Status st = Publish(groups_.back());
  AdvanceWatermark();
  return st;
}

pb::ShardOutput GroupWriter::OutputFor(const engine::Decision& d) const {
  pb::ShardOutput out;
  std::string id = d.contact_id.empty() ? d.agent_id : d.contact_id;
  id += "#" + std::to_string(d.attempt) + "#" + pb::DecisionType_Name(d.type);
  if (d.type == pb::DECISION_OVERFLOW) id += "#" + std::to_string(d.bullseye_step);
  if (d.type == pb::DECISION_AGENT_STATE) {
    id +=
        "#" + d.agent_id + "#" + std::to_string(d.at_ms) + "#" + pb::DecisionReason_Name(d.reason);
  }
  if (d.generation != 0) id += "#g" + std::to_string(d.generation);  // two moves in one ms
  // One refusal per input record.
  if (d.type == pb::DECISION_REFUSED)
    id += "#" + d.input_topic + "@" + std::to_string(d.input_offset);
  out.set_output_id(std::move(id));
  out.set_shard(options_.partition);
  out.set_epoch(epoch_);
  *out.mutable_decision() = d.ToProto();
  return out;
}

pb::ShardOutput GroupWriter::OutputFor(Forward f) const {
  pb::ShardOutput out;
  if (f.event.has_contact_arrived()) {
    out.set_output_id(f.event.contact_arrived().contact().id() + "#FORWARD");
  } else {
    const pb::FollowUpOutcome& o = f.event.follow_up().outcome();
    out.set_output_id(o.task_id() + "#" + std::to_string(o.attempt()) + "#OUTCOME");
  }
  out.set_shard(options_.partition);
  out.set_epoch(epoch_);
  out.set_to_partition(f.partition);
  out.set_forward_key(std::move(f.key));
  *out.mutable_forward() = std::move(f.event);
  return out;
}

pb::ShardOutput GroupWriter::OutputFor(pb::DeadLetter letter) const {
  pb::ShardOutput out;
  out.set_output_id("dead-letter#" + kafka::DeadLetterKey(letter));
  out.set_shard(options_.partition);
  out.set_epoch(epoch_);
  *out.mutable_dead_letter() = std::move(letter);
  return out;
}

Status GroupWriter::Publish(Group& group) {
  group.published = true;
  group.outputs_unacked = group.outputs.size();
  group.first_output_seq = output_seq_ + 1;
  for (const pb::ShardOutput& out : group.outputs) {
    const uint64_t token = MakeToken(options_.partition, TokenKind::kOutput, ++output_seq_);
    Status st;
    if (out.has_forward()) {
      st = producers_.outputs->Produce(kafka::kContactsTopic, out.to_partition(), out.forward_key(),
                                       out.forward().SerializeAsString(), {}, token);
    } else if (out.has_dead_letter()) {
      st = producers_.outputs->Produce(kafka::kDeadLetterTopic, options_.partition,
                                       kafka::DeadLetterKey(out.dead_letter()),
                                       out.dead_letter().SerializeAsString(), {}, token);
    } else {
      st = producers_.outputs->Produce(kafka::kAssignmentsTopic, options_.partition,
                                       out.decision().contact_id(), out.SerializeAsString(), {},
                                       token);
    }
    if (!st.ok()) return st;
    ++stats_->outputs;
  }
  if (tasks_committed_ && !group.task_records.empty()) tasks_committed_(group.task_records);
  group.task_records.clear();
  return Status::Ok();
}

void GroupWriter::AdvanceWatermark() {
  while (!groups_.empty() && groups_.front().published && groups_.front().outputs_unacked == 0) {
    outputs_acked_through_ = groups_.front().meta_offset;
    groups_.pop_front();
  }
}

Status GroupWriter::OnDelivery(uint64_t token, int64_t offset, const Status& status) {
  if (!status.ok()) return status;
  const uint64_t seq = TokenSeq(token);
  if (TokenKindOf(token) == TokenKind::kOutput) {
    // Outputs go to several partitions (forwards), so acknowledgements may come out of order.
    for (Group& g : groups_) {
      if (g.published && seq >= g.first_output_seq && seq < g.first_output_seq + g.outputs.size()) {
        --g.outputs_unacked;
        break;
      }
    }
    AdvanceWatermark();
    return Status::Ok();
  }
  if (seq == 0) {  // our claim
    claim_offset_ = offset;
    return Status::Ok();
  }
  return OnChangelogDelivery(seq, offset);
}

Status GroupWriter::OnChangelogDelivery(uint64_t seq, int64_t offset) {
  if (offset != expected_offset_) {
    SB_RETURN_IF_ERROR(offset > expected_offset_ ? CheckGap(expected_offset_, offset)
                                                 : Internal("changelog offset went backwards"));
  }
  expected_offset_ = offset + 1;
  acked_through_ = offset;
  Status published;
  for (Group& g : groups_) {
    if (!g.published && g.meta_seq == seq) {
      g.meta_offset = offset;
      if (probe_ != nullptr) probe_->ChangelogCommitted(MonotonicUs() - g.appended_us);
      published = Publish(g);
      break;
    }
  }
  if (seq == pending_meta_seq_) {
    pending_meta_.set_outputs_acked_through(outputs_acked_through_);
    committed_meta_ = pending_meta_;
  }
  AdvanceWatermark();
  return published;
}

// Who took the shard, from the record that fenced us: the new owner's claim names it. A claim by
// our own node id is another process started with it.
std::string GroupWriter::NewOwner(const kafka::Record& r) const {
  pb::EpochClaim claim;
  if (!IsClaimKey(r.key) || !r.value || !claim.ParseFromString(*r.value))
    return "another node claimed the shard";
  if (claim.node_id() == options_.node_id) {
    return "a router with this node id (" + claim.node_id() +
           ") claimed the shard: is another router running with --node-id " + claim.node_id() + "?";
  }
  return "node " + claim.node_id() + " claimed the shard";
}

Status GroupWriter::CheckGap(int64_t from, int64_t to) {
  // Someone else wrote [from, to). Records of an older epoch are a zombie's and ignored by every
  // reader; a record of a newer epoch means a newer claim: this node no longer owns the shard.
  const std::string where = "changelog records at [" + std::to_string(from) + ", " +
                            std::to_string(to) + ") not written by this owner";
  if (gap_reader_ == nullptr) {
    auto reader = kafka::PartitionReader::Create(options_.bootstrap, options_.kafka_settings);
    if (!reader.ok()) return reader.status();
    gap_reader_ = std::move(*reader);
  }
  SB_RETURN_IF_ERROR(gap_reader_->Assign(kafka::kChangelogTopic, options_.partition, from));
  const int64_t deadline = MonotonicMs() + options_.read_timeout_ms;
  for (int64_t next = from; next < to;) {
    if (MonotonicMs() > deadline) return Unavailable(where + ": could not read them in time");
    auto rec = gap_reader_->Poll(100);
    if (!rec.ok()) return rec.status();
    if (!rec->has_value()) continue;
    const kafka::Record& r = **rec;
    next = r.offset + 1;
    if (r.offset >= to) break;
    const uint64_t epoch = kafka::RecordEpoch(r).value_or(0);
    // A claim of our epoch after ours lost the race to ours (the first claim of an epoch wins,
    // as every reader of the changelog decides): its writer owns nothing and writes nothing more.
    const bool lost_claim = IsClaimKey(r.key) && epoch == epoch_ && r.offset > claim_offset_;
    if (epoch >= epoch_ && !lost_claim && !(epoch == epoch_ && r.offset <= claim_offset_)) {
      return FailedPrecondition("fenced: " + where + " include epoch " + std::to_string(epoch) +
                                " (ours " + std::to_string(epoch_) + "): " + NewOwner(r));
    }
  }
  ++stats_->zombie_records;
  SB_LOG_WARN("shard", "shard %d: ignored %s (an older owner's, or a claim that lost to ours)\n",
              options_.partition, where.c_str());
  return Status::Ok();
}

}  // namespace sb::shard
