#include "router/shard/shard.h"

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "common/clock.h"
#include "common/log/log.h"
#include "router/kafka/topics.h"
#include "router/shard/probe.h"
#include "switchboard/v1/events.pb.h"

namespace sb::shard {
namespace {

constexpr char kMetaStoreKey[] = "shard_meta";
constexpr char kEpochStoreKey[] = "shard_epoch";
constexpr char kChangelogPosition[] = "changelog";
constexpr char kForwardsStoreKey[] = "shard_forwards";
// Follow-up tasks acted on per timer tick; the rest wait for the next tick (20 ms later).
constexpr size_t kFollowUpActionsPerTick = 256;
// Tasks published again to sb.followups per timer tick (after a claim: every task).
constexpr size_t kFollowUpRepublishPerTick = 2000;

// Events the engine refuses that a desktop or an integrator sent, and so are answered with a
// DECISION_REFUSED: not timers, not contacts another shard forwarded (the shell's own doing).
bool AnswersRefusal(const pb::RoutingEvent& e) {
  switch (e.event_case()) {
    case pb::RoutingEvent::kTimer:
    case pb::RoutingEvent::kFollowUp:
    case pb::RoutingEvent::EVENT_NOT_SET:
      return false;
    case pb::RoutingEvent::kContactArrived:
      return e.contact_arrived().contact().attributes().count(kForwardedFromAttribute) == 0;
    default:
      return true;
  }
}

// The contact and the acting agent an event names (either may be empty).
void ActorOf(const pb::RoutingEvent& e, std::string* contact, std::string* agent) {
  switch (e.event_case()) {
    case pb::RoutingEvent::kContactArrived:
      *contact = e.contact_arrived().contact().id();
      break;
    case pb::RoutingEvent::kContactCancelled:
      *contact = e.contact_cancelled().contact_id();
      break;
    case pb::RoutingEvent::kContactAbandoned:
      *contact = e.contact_abandoned().contact_id();
      break;
    case pb::RoutingEvent::kContactEnded:
      *contact = e.contact_ended().contact_id();
      break;
    case pb::RoutingEvent::kContactTransferred:
      *contact = e.contact_transferred().contact_id();
      *agent = e.contact_transferred().by_agent_id();
      break;
    case pb::RoutingEvent::kAgentLogin:
      *agent = e.agent_login().agent().id();
      break;
    case pb::RoutingEvent::kAgentLogout:
      *agent = e.agent_logout().agent_id();
      break;
    case pb::RoutingEvent::kAgentReady:
      *agent = e.agent_ready().agent_id();
      break;
    case pb::RoutingEvent::kAgentNotReady:
      *agent = e.agent_not_ready().agent_id();
      break;
    case pb::RoutingEvent::kOfferAccepted:
      *contact = e.offer_accepted().contact_id();
      *agent = e.offer_accepted().agent_id();
      break;
    case pb::RoutingEvent::kOfferRejected:
      *contact = e.offer_rejected().contact_id();
      *agent = e.offer_rejected().agent_id();
      break;
    case pb::RoutingEvent::kWrapUpDone:
      *contact = e.wrap_up_done().contact_id();
      *agent = e.wrap_up_done().agent_id();
      break;
    default:
      break;
  }
}

}  // namespace

uint64_t MakeToken(int32_t partition, TokenKind kind, uint64_t seq) {
  return (static_cast<uint64_t>(partition) << 48) | (static_cast<uint64_t>(kind) << 44) |
         (seq & ((uint64_t{1} << 44) - 1));
}
int32_t TokenPartition(uint64_t token) { return static_cast<int32_t>(token >> 48); }
TokenKind TokenKindOf(uint64_t token) { return static_cast<TokenKind>((token >> 44) & 0xf); }
uint64_t TokenSeq(uint64_t token) { return token & ((uint64_t{1} << 44) - 1); }

Shard::Shard(ShardOptions options, const pb::RoutingConfig* config, const Clock* clock,
             Producers producers)
    : options_(std::move(options)),
      config_(config),
      config_version_(control::ConfigVersionOf(*config)),
      clock_(clock),
      producers_(producers) {}

Shard::~Shard() = default;

void Shard::Fail(Status status) {
  if (!failure_.ok()) return;
  SB_LOG_INFO("shard", "shard %d: %s\n", options_.partition, status.ToString().c_str());
  failure_ = std::move(status);
}

Status Shard::Restore(ChangelogState* state, kafka::PartitionReader* reader, int64_t until) {
  const int64_t deadline = MonotonicMs() + options_.restore_timeout_ms;
  while (state->next_offset() < until) {
    if (MonotonicMs() > deadline) {
      return Unavailable("shard " + std::to_string(options_.partition) +
                         ": changelog restore did not reach offset " + std::to_string(until) +
                         " within " + std::to_string(options_.restore_timeout_ms) + " ms");
    }
    auto rec = reader->Poll(100);
    if (!rec.ok()) return rec.status();
    if (!rec->has_value()) continue;
    ++stats_.restored_records;
    Status st = state->Apply(**rec);
    if (!st.ok()) SB_LOG_INFO("shard", "shard %d: %s\n", options_.partition, st.ToString().c_str());
  }
  return Status::Ok();
}

Status Shard::Claim() {
  const int64_t started = MonotonicMs();
  const int32_t p = options_.partition;
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(options_.store_dir).parent_path(), ec);
  if (ec) return InvalidArgument(options_.store_dir + ": " + ec.message());
  auto store =
      store::Store::Open(options_.store_dir, {.create_if_missing = true, .read_only = false});
  if (!store.ok()) return store.status();
  store_ = std::move(*store);

  // 1. Local checkpoint, if any.
  ChangelogState state;
  auto position = store_->InputPosition(kChangelogPosition);
  if (!position.ok()) return position.status();
  auto meta_bytes = store_->Meta(kMetaStoreKey);
  auto epoch_bytes = store_->Meta(kEpochStoreKey);
  if (!meta_bytes.ok()) return meta_bytes.status();
  if (!epoch_bytes.ok()) return epoch_bytes.status();
  auto reader = kafka::PartitionReader::Create(options_.bootstrap, options_.kafka_settings);
  if (!reader.ok()) return reader.status();
  auto marks = (*reader)->Watermarks(kafka::kChangelogTopic, p, 10000);
  if (!marks.ok()) return marks.status();
  if (position->has_value() && meta_bytes->has_value() && epoch_bytes->has_value()) {
    pb::ShardMeta meta;
    auto engine_state = store_->LoadEngineState();
    if (!engine_state.ok()) return engine_state.status();
    pb::FollowUpSchedulerState tasks;
    SB_RETURN_IF_ERROR(store_->ForEachFollowUp(
        [&](pb::FollowUpTask&& task) { *tasks.add_tasks() = std::move(task); }));
    pb::ForwardsSeen forwards;
    auto forwards_bytes = store_->Meta(kForwardsStoreKey);
    if (!forwards_bytes.ok()) return forwards_bytes.status();
    if (forwards_bytes->has_value() && !forwards.ParseFromString(**forwards_bytes)) {
      return FailedPrecondition(options_.store_dir + ": malformed forwards in checkpoint");
    }
    const int64_t pos = static_cast<int64_t>(**position);
    if (!meta.ParseFromString(**meta_bytes)) {
      return FailedPrecondition(options_.store_dir + ": malformed shard meta in checkpoint");
    }
    if (pos > marks->second || pos < marks->first) {
      // The log does not hold what the checkpoint was taken from (topic recreated, retention):
      // the log is the source of truth, so start over from it.
      SB_LOG_INFO("shard",
                   "shard %d: checkpoint at changelog offset %lld outside the log [%lld, %lld]; "
                   "restoring from the log alone\n",
                   p, static_cast<long long>(pos), static_cast<long long>(marks->first),
                   static_cast<long long>(marks->second));
    } else {
      state = ChangelogState(*engine_state, tasks, forwards, meta, std::stoull(**epoch_bytes), pos);
    }
  }
  int64_t from = state.next_offset();
  if (from < marks->first) {
    // Retention deleted records the restore needs: a changelog must be compacted, never deleted
    // (the embedded broker keeps only the last 5 MB of a partition). Restore what remains rather
    // than not at all, and say so.
    SB_LOG_WARN("shard",
                 "shard %d: WARNING: the changelog starts at offset %lld but the restore needs "
                 "offset %lld: records were deleted by retention; restoring from what remains — "
                 "agents and contacts last written before may be missing\n",
                 p, static_cast<long long>(marks->first), static_cast<long long>(from));
    from = marks->first;
  }
  SB_RETURN_IF_ERROR((*reader)->Assign(kafka::kChangelogTopic, p, from));
  // 2. The tail up to the end of the log.
  SB_RETURN_IF_ERROR(Restore(&state, reader->get(), marks->second));

  // 3. Claim: the next epoch, appended and acknowledged before anything else of ours.
  epoch_ = state.epoch() + 1;
  pb::EpochClaim claim;
  claim.set_epoch(epoch_);
  claim.set_node_id(options_.node_id);
  claim.set_claimed_at_ms(clock_->NowMs());
  SB_RETURN_IF_ERROR(producers_.changelog->Produce(kafka::kChangelogTopic, p, kClaimKey,
                                                   claim.SerializeAsString(), {kafka::EpochHeader(epoch_)},
                                                   MakeToken(p, TokenKind::kChangelog, 0)));
  SB_RETURN_IF_ERROR(producers_.changelog->Flush(options_.restore_timeout_ms));
  if (!failure_.ok()) return failure_;
  if (claim_offset_ < 0)
    return Unavailable("shard " + std::to_string(p) + ": claim not acknowledged");

  // 4. Read up to our claim: it must be the claim in force.
  SB_RETURN_IF_ERROR(Restore(&state, reader->get(), claim_offset_ + 1));
  if (state.epoch() != epoch_ || state.claim_offset() != claim_offset_) {
    return FailedPrecondition("shard " + std::to_string(p) + ": lost the claim of epoch " +
                              std::to_string(epoch_) + " to " + state.owner() + " (epoch " +
                              std::to_string(state.epoch()) + ")");
  }
  expected_offset_ = claim_offset_ + 1;
  acked_through_ = claim_offset_;
  for (const std::string& key : state.abandoned_keys())
    repairs_.push_back({key, state.Committed(key)});

  // 5. The engine, from the materialized state, under the config version it was written with.
  UseRecordedConfig(state.meta().config_version());
  auto engine_state = state.ToEngineState();
  if (!engine_state.ok()) return engine_state.status();
  auto engine = engine_state->agents().empty() && engine_state->contacts().empty()
                    ? engine::Engine::Create(*config_, clock_)
                    : engine::Engine::Restore(*config_, clock_, *engine_state);
  if (!engine.ok()) return engine.status();
  engine_ = std::move(*engine);
  engine_->TrackChanges(true);
  if (options_.followups != nullptr) {
    auto tasks = state.ToFollowUpState();
    if (!tasks.ok()) return tasks.status();
    auto forwards = state.ToForwards();
    if (!forwards.ok()) return forwards.status();
    auto followups = FollowUps::Restore(options_.followups, config_, clock_, p, options_.partitions,
                                        std::move(*tasks), *forwards);
    if (!followups.ok()) return followups.status();
    followups_ = std::move(*followups);
  }
  const pb::ShardMeta& meta = state.meta();
  contacts_next_ = meta.contacts_next_offset();
  agent_events_next_ = meta.agent_events_next_offset();
  checkpoint_meta_ = meta;
  stats_book_ = std::make_unique<StatsBook>(config_, p, options_.partitions);
  stats_book_->Restore(meta);

  // 6. Outputs the previous owner may not have delivered: again (consumers drop repeats).
  Group resend;
  resend.outputs = state.UnackedOutputs();
  resend.meta_offset = claim_offset_;
  groups_.push_back(std::move(resend));
  Publish(groups_.back());
  AdvanceWatermark();
  offsets_moved_ = true;  // the first group records the claim's state (and the repairs)
  PublishStats();         // the day's baselines are taken before any new input counts
  if (followups_ != nullptr) {
    // The previous owner may have died between a commit and its sb.followups records.
    republish_ = followups_->TaskIds();
    RepublishFollowUps(kFollowUpRepublishPerTick);
  }
  stats_.restore_ms = MonotonicMs() - started;
  SB_LOG_INFO("shard",
               "shard %d: claimed epoch %llu at changelog offset %lld (%llu records restored in "
               "%lld ms; input from contacts@%lld agent-events@%lld; %zu outputs re-sent)\n",
               p, static_cast<unsigned long long>(epoch_), static_cast<long long>(claim_offset_),
               static_cast<unsigned long long>(stats_.restored_records),
               static_cast<long long>(stats_.restore_ms), static_cast<long long>(contacts_next_),
               static_cast<long long>(agent_events_next_), state.UnackedOutputs().size());
  return Status::Ok();
}

std::vector<kafka::TopicPartition> Shard::input_offsets() const {
  return {{std::string(kafka::kContactsTopic), options_.partition, contacts_next_},
          {std::string(kafka::kAgentEventsTopic), options_.partition, agent_events_next_}};
}

Status Shard::OnInput(const kafka::Record& record) {
  if (!failure_.ok()) return failure_;
  if (record.topic == kafka::kContactsTopic) {
    contacts_next_ = record.offset + 1;
  } else {
    agent_events_next_ = record.offset + 1;
  }
  offsets_moved_ = true;
  ++stats_.events;
  pb::RoutingEvent event;
  if (!record.value || !event.ParseFromString(*record.value)) {
    Refused(record, "not a RoutingEvent; skipped");
    return Status::Ok();
  }
  if (event.has_config_changed()) return SwitchConfig(record, event.config_changed().version());
  if (event.has_follow_up()) {
    ++stats_.followup_commands;
    if (followups_ == nullptr) {
      Refused(record, "follow-up command refused: follow-ups are off on this router");
      return Status::Ok();
    }
    Status st = followups_->OnCommand(event.follow_up());
    if (!st.ok()) Refused(record, "follow-up command refused: " + st.ToString());
    RouteFollowUps();
    return Status::Ok();
  }
  if (followups_ != nullptr && event.has_contact_arrived() &&
      !followups_->Admit(event.contact_arrived().contact())) {
    ++stats_.duplicate_forwards;
    SB_LOG_INFO("shard", "shard %d: %s@%lld: contact %s was forwarded here before; dropped\n",
                 options_.partition, record.topic.c_str(), static_cast<long long>(record.offset),
                 event.contact_arrived().contact().id().c_str());
    return Status::Ok();
  }
  const size_t first = decisions_.size();
  if (probe_ != nullptr) probe_->BeforeEvent(event, *engine_);
  Status st = engine_->Apply(event, &decisions_);
  if (probe_ != nullptr) probe_->AfterEvent(event, st, *engine_);
  if (!st.ok()) {
    Refused(record, "refused: " + st.ToString());
    // The desktop or integrator learns it (one output per refused event, exactly once like
    // every output: it is part of this group).
    if (AnswersRefusal(event)) decisions_.push_back(RefusalFor(event, record, st));
    return Status::Ok();
  }
  if (followups_ != nullptr) AfterEngine(event, first);
  if (event.has_contact_transferred()) {
    // So the publisher of the transfer can tell its answer from others about the contact.
    for (size_t i = first; i < decisions_.size(); ++i) {
      engine::Decision& d = decisions_[i];
      if (d.type != pb::DECISION_TRANSFERRED) continue;
      d.input_topic = record.topic;
      d.input_offset = record.offset;
    }
  }
  return Status::Ok();
}

engine::Decision Shard::RefusalFor(const pb::RoutingEvent& event, const kafka::Record& record,
                                   const Status& refusal) const {
  engine::Decision d;
  d.type = pb::DECISION_REFUSED;
  ActorOf(event, &d.contact_id, &d.agent_id);
  d.at_ms = engine_->now_ms();
  d.refusal_code = std::string(CodeName(refusal.code()));
  d.detail = refusal.message();
  const auto* field = pb::RoutingEvent::descriptor()->FindFieldByNumber(event.event_case());
  if (field != nullptr) d.refused_event = field->name();
  d.input_topic = record.topic;
  d.input_offset = record.offset;
  return d;
}

void Shard::Refused(const kafka::Record& record, const std::string& what) {
  ++stats_.rejected_events;
  if (stats_.rejected_events <= 20 || stats_.rejected_events % 1000 == 0) {
    SB_LOG_WARN("shard", "shard %d: %s@%lld (%llu refused so far): %s\n", options_.partition,
                 record.topic.c_str(), static_cast<long long>(record.offset),
                 static_cast<unsigned long long>(stats_.rejected_events), what.c_str());
  }
}

void Shard::AfterEngine(const pb::RoutingEvent& event, size_t first) {
  switch (event.event_case()) {
    case pb::RoutingEvent::kWrapUpDone:
      followups_->OnWrapUp(event.wrap_up_done());
      break;
    case pb::RoutingEvent::kContactCancelled:
      followups_->Failed(event.contact_cancelled().contact_id(),
                         "cancelled: " + event.contact_cancelled().reason());
      break;
    case pb::RoutingEvent::kContactAbandoned:
      followups_->Failed(event.contact_abandoned().contact_id(), "abandoned");
      break;
    default:
      break;
  }
  for (size_t i = first; i < decisions_.size(); ++i) {
    const engine::Decision& d = decisions_[i];
    if (d.type == pb::DECISION_EXPIRE) followups_->Failed(d.contact_id, "expired in " + d.queue);
  }
  RouteFollowUps();
}

void Shard::RouteFollowUps() {
  for (std::vector<pb::Contact> contacts; !(contacts = followups_->TakeContacts()).empty();) {
    for (const pb::Contact& c : contacts) {
      // Seen by the probe as an arrival like any other (a callback attempt is counted as outbound).
      pb::RoutingEvent arrived;
      *arrived.mutable_contact_arrived()->mutable_contact() = c;
      if (probe_ != nullptr) probe_->BeforeEvent(arrived, *engine_);
      Status st = engine_->ContactArrived(c, &decisions_);
      if (probe_ != nullptr) probe_->AfterEvent(arrived, st, *engine_);
      if (st.ok()) continue;
      SB_LOG_WARN("shard", "shard %d: follow-up contact %s not routable: %s\n", options_.partition,
                   c.id().c_str(), st.ToString().c_str());
      followups_->Failed(c.id(), "not routable: " + st.ToString());  // may escalate
    }
  }
  for (Forward& f : followups_->TakeForwards()) forwards_.push_back(std::move(f));
}

void Shard::Tick() {
  if (!failure_.ok() || engine_ == nullptr) return;
  const size_t first = decisions_.size();
  engine_->Tick(&decisions_);
  if (followups_ == nullptr) return;
  followups_->Tick(kFollowUpActionsPerTick);
  AfterEngine(pb::RoutingEvent(), first);
  RepublishFollowUps(kFollowUpRepublishPerTick);
}

bool Shard::PublishFollowUp(const Entry& record) {
  const uint64_t seq = ++followup_seq_;
  Status st = producers_.outputs->Produce(
      kafka::kFollowUpsTopic, options_.partition, record.key, record.value, {kafka::EpochHeader(epoch_)},
      MakeToken(options_.partition, TokenKind::kFollowUps, seq));
  if (!st.ok()) {
    FollowUpNotPublished(record.key, st);
    return false;
  }
  followup_tokens_[seq] = record.key;
  ++stats_.followup_records;
  return true;
}

void Shard::FollowUpNotPublished(const std::string& task_id, const Status& why) {
  republish_.push_back(task_id);
  if (stats_.followup_records_failed++ % 100 == 0) {
    SB_LOG_WARN("shard", "shard %d: follow-up task %s not published to %s (%llu so far): %s\n",
                 options_.partition, task_id.c_str(), std::string(kafka::kFollowUpsTopic).c_str(),
                 static_cast<unsigned long long>(stats_.followup_records_failed),
                 why.ToString().c_str());
  }
}

void Shard::RepublishFollowUps(size_t max) {
  if (followups_ == nullptr) return;
  for (size_t n = 0; n < max && !republish_.empty(); ++n) {
    const std::string id = std::move(republish_.back());
    republish_.pop_back();
    // A task changed since its last commit is published with the group that commits it.
    if (followups_->Unflushed(id) || uncommitted_tasks_.contains(id)) continue;
    const Entry record =
        FollowUpRecord(id, followups_->core().Get(id), options_.partition, epoch_, clock_->NowMs());
    if (!PublishFollowUp(record)) return;
  }
}

void Shard::PublishStats() {
  if (!failure_.ok() || engine_ == nullptr || stats_book_ == nullptr) return;
  const int64_t now = clock_->NowMs();
  std::vector<std::pair<std::string, std::optional<std::string>>> records;
  for (auto& [key, value] :
       stats_book_->Collect(now, epoch_, options_.node_id, engine_->Summarize(),
                            followups_ != nullptr ? &followups_->core() : nullptr)) {
    records.emplace_back(std::move(key), std::move(value));
  }
  if (roster_.Due(now)) {
    for (auto& r : roster_.Collect(now, static_cast<int64_t>(epoch_), options_.node_id,
                                   engine_->ListAgents())) {
      records.push_back(std::move(r));
    }
  }
  for (const auto& [key, value] : records) {
    Status st = producers_.outputs->Produce(
        kafka::kStatsTopic, options_.partition, key, value, {kafka::EpochHeader(epoch_)},
        MakeToken(options_.partition, TokenKind::kStats, ++stats_seq_));
    if (!st.ok()) {
      OnDelivery(MakeToken(options_.partition, TokenKind::kStats, stats_seq_), -1, st);
      return;
    }
  }
}

Status Shard::AppendRecord(const std::string& key, const std::optional<std::string>& value) {
  return producers_.changelog->Produce(
      kafka::kChangelogTopic, options_.partition, key, value, {kafka::EpochHeader(epoch_)},
      MakeToken(options_.partition, TokenKind::kChangelog, ++next_seq_));
}

pb::ShardOutput Shard::OutputFor(const engine::Decision& d) const {
  pb::ShardOutput out;
  std::string id = d.contact_id.empty() ? d.agent_id : d.contact_id;
  id += "#" + std::to_string(d.attempt) + "#" + pb::DecisionType_Name(d.type);
  if (d.type == pb::DECISION_OVERFLOW) id += "#" + std::to_string(d.bullseye_step);
  if (d.type == pb::DECISION_AGENT_STATE) id += "#" + d.agent_id + "#" + std::to_string(d.at_ms);
  // One refusal per input record.
  if (d.type == pb::DECISION_REFUSED)
    id += "#" + d.input_topic + "@" + std::to_string(d.input_offset);
  out.set_output_id(std::move(id));
  out.set_shard(options_.partition);
  out.set_epoch(epoch_);
  *out.mutable_decision() = d.ToProto();
  return out;
}

pb::ShardOutput Shard::OutputFor(Forward f) const {
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

Status Shard::Flush() {
  if (!failure_.ok()) return failure_;
  engine_->TakeChanges(&changes_);
  const std::vector<Entry> followup_entries =
      followups_ != nullptr ? followups_->TakeEntries() : std::vector<Entry>{};
  if (changes_.empty() && decisions_.empty() && !offsets_moved_ && followup_entries.empty() &&
      forwards_.empty()) {
    return Status::Ok();
  }
  for (const Entry& e : repairs_) SB_RETURN_IF_ERROR(AppendRecord(e.key, e.value));
  repairs_.clear();
  for (const Entry& e : carried_) SB_RETURN_IF_ERROR(AppendRecord(e.key, e.value));
  carried_.clear();
  for (const Entry& e : EntriesFor(changes_)) SB_RETURN_IF_ERROR(AppendRecord(e.key, e.value));
  for (const Entry& e : followup_entries) SB_RETURN_IF_ERROR(AppendRecord(e.key, e.value));
  Group group;
  for (const Entry& e : followup_entries) {
    if (auto record = FollowUpRecordOf(e, options_.partition, epoch_, clock_->NowMs())) {
      ++uncommitted_tasks_[record->key];
      group.task_records.push_back(std::move(*record));
    }
  }
  pb::ShardMeta& meta = pending_meta_;
  meta.Clear();
  meta.set_taken_at_ms(changes_.taken_at_ms);
  meta.set_next_seq(changes_.next_seq);
  for (const auto& q : changes_.queue_stats) *meta.add_queue_stats() = q;
  meta.set_contacts_next_offset(contacts_next_);
  meta.set_agent_events_next_offset(agent_events_next_);
  meta.set_group_seq(++group_seq_);
  meta.set_outputs_acked_through(outputs_acked_through_);
  meta.set_config_version(config_version_);
  if (stats_book_ != nullptr) stats_book_->SaveTo(&meta);
  if (followups_ != nullptr) {
    meta.set_followup_outage(followups_->outage());
    meta.set_followup_outage_since_ms(followups_->outage_since_ms());
  }
  for (const engine::Decision& d : decisions_) group.outputs.push_back(OutputFor(d));
  for (Forward& f : forwards_) group.outputs.push_back(OutputFor(std::move(f)));
  for (const pb::ShardOutput& out : group.outputs) *meta.add_outputs() = out;
  decisions_.clear();
  forwards_.clear();
  offsets_moved_ = false;
  SB_RETURN_IF_ERROR(AppendRecord(kMetaKey, meta.SerializeAsString()));
  group.meta_seq = next_seq_;
  group.appended_us = MonotonicUs();
  meta.clear_outputs();
  pending_meta_seq_ = next_seq_;
  groups_.push_back(std::move(group));
  ++stats_.groups;
  return Status::Ok();
}

void Shard::Publish(Group& group) {
  group.published = true;
  group.outputs_unacked = group.outputs.size();
  group.first_output_seq = output_seq_ + 1;
  for (const pb::ShardOutput& out : group.outputs) {
    const uint64_t token = MakeToken(options_.partition, TokenKind::kOutput, ++output_seq_);
    Status st = out.has_forward()
                    ? producers_.outputs->Produce(kafka::kContactsTopic, out.to_partition(),
                                                  out.forward_key(),
                                                  out.forward().SerializeAsString(), {}, token)
                    : producers_.outputs->Produce(kafka::kAssignmentsTopic, options_.partition,
                                                  out.decision().contact_id(),
                                                  out.SerializeAsString(), {}, token);
    if (!st.ok()) return Fail(st);
    ++stats_.outputs;
  }
  for (const Entry& record : group.task_records) {
    if (--uncommitted_tasks_[record.key] <= 0) uncommitted_tasks_.erase(record.key);
    PublishFollowUp(record);  // false: queued for the next tick
  }
  group.task_records.clear();
}

void Shard::AdvanceWatermark() {
  while (!groups_.empty() && groups_.front().published && groups_.front().outputs_unacked == 0) {
    outputs_acked_through_ = groups_.front().meta_offset;
    groups_.pop_front();
  }
}

// Who took the shard, from the record that fenced us: the new owner's claim names it. A claim by
// our own node id is another process started with it.
std::string Shard::NewOwner(const kafka::Record& r) const {
  pb::EpochClaim claim;
  if (r.key != kClaimKey || !r.value || !claim.ParseFromString(*r.value))
    return "another node claimed the shard";
  if (claim.node_id() == options_.node_id) {
    return "a router with this node id (" + claim.node_id() +
           ") claimed the shard: is another router running with --node-id " + claim.node_id() +
           "?";
  }
  return "node " + claim.node_id() + " claimed the shard";
}

Status Shard::CheckGap(int64_t from, int64_t to) {
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
  const int64_t deadline = MonotonicMs() + options_.restore_timeout_ms;
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
    const bool lost_claim = r.key == kClaimKey && epoch == epoch_ && r.offset > claim_offset_;
    if (epoch >= epoch_ && !lost_claim && !(epoch == epoch_ && r.offset <= claim_offset_)) {
      return FailedPrecondition("fenced: " + where + " include epoch " + std::to_string(epoch) +
                                " (ours " + std::to_string(epoch_) + "): " + NewOwner(r));
    }
  }
  ++stats_.zombie_records;
  SB_LOG_WARN("shard", "shard %d: ignored %s (an older owner's, or a claim that lost to ours)\n",
              options_.partition, where.c_str());
  return Status::Ok();
}

void Shard::OnDelivery(uint64_t token, int64_t offset, const Status& status) {
  if (TokenKindOf(token) == TokenKind::kStats) {
    // Statistics are re-sent within a second: a lost one is not lost state.
    if (!status.ok() && ++stats_failed_ % 100 == 1) {
      SB_LOG_WARN("shard", "shard %d: statistics not delivered (%llu so far): %s\n",
                   options_.partition, static_cast<unsigned long long>(stats_failed_),
                   status.ToString().c_str());
    }
    return;
  }
  if (TokenKindOf(token) == TokenKind::kFollowUps) {
    auto it = followup_tokens_.find(TokenSeq(token));
    if (it == followup_tokens_.end()) return;
    if (!status.ok()) FollowUpNotPublished(it->second, status);
    followup_tokens_.erase(it);
    return;
  }
  if (!status.ok()) return Fail(status);
  if (TokenKindOf(token) == TokenKind::kOutput) {
    // Outputs go to several partitions (forwards), so acknowledgements may come out of order.
    const uint64_t seq = TokenSeq(token);
    for (Group& g : groups_) {
      if (g.published && seq >= g.first_output_seq && seq < g.first_output_seq + g.outputs.size()) {
        --g.outputs_unacked;
        break;
      }
    }
    AdvanceWatermark();
    return;
  }
  const uint64_t seq = TokenSeq(token);
  if (seq == 0) {  // our claim
    claim_offset_ = offset;
    return;
  }
  if (offset != expected_offset_) {
    Status gap = offset > expected_offset_ ? CheckGap(expected_offset_, offset)
                                           : Internal("changelog offset went backwards");
    if (!gap.ok()) return Fail(gap);
  }
  expected_offset_ = offset + 1;
  acked_through_ = offset;
  for (Group& g : groups_) {
    if (!g.published && g.meta_seq == seq) {
      g.meta_offset = offset;
      if (probe_ != nullptr) probe_->ChangelogCommitted(MonotonicUs() - g.appended_us);
      Publish(g);
      break;
    }
  }
  if (seq == pending_meta_seq_) {
    pending_meta_.set_outputs_acked_through(outputs_acked_through_);
    checkpoint_meta_ = pending_meta_;
  }
  AdvanceWatermark();
}

Status Shard::Checkpoint() {
  if (!failure_.ok()) return failure_;
  if (!idle() || !decisions_.empty() || !forwards_.empty() || offsets_moved_ || !checkpoint_meta_) {
    return Status::Ok();
  }
  store::Batch batch = store_->NewBatch();
  pb::ShardMeta meta = *checkpoint_meta_;
  meta.set_outputs_acked_through(acked_through_);
  SB_RETURN_IF_ERROR(store_->StageEngineState(engine_->ExportState(), &batch));
  batch.PutMeta(kMetaStoreKey, meta.SerializeAsString());
  batch.PutMeta(kEpochStoreKey, std::to_string(epoch_));
  batch.SetInputPosition(kChangelogPosition, static_cast<uint64_t>(acked_through_ + 1));
  if (followups_ != nullptr) followups_->StageCheckpoint(&batch, kForwardsStoreKey);
  SB_RETURN_IF_ERROR(store_->Commit(std::move(batch)));
  if (followups_ != nullptr) followups_->CheckpointSaved();
  return Status::Ok();
}

void Shard::UseRecordedConfig(const std::string& version) {
  if (version.empty() || version == config_version_) return;
  auto recorded = options_.configs != nullptr ? options_.configs->Find(version, 0) : nullptr;
  if (recorded == nullptr) {
    SB_LOG_WARN("shard",
                 "shard %d: WARNING: the changelog was written under routing config version %s, "
                 "which this node does not know (not in sb.control); restoring under version "
                 "%s\n",
                 options_.partition, version.c_str(), config_version_.c_str());
    return;
  }
  SB_LOG_INFO("shard",
               "shard %d: restoring under routing config version %s (recorded in the changelog; "
               "this node started with %s)\n",
               options_.partition, version.c_str(), config_version_.c_str());
  config_holder_ = std::move(recorded);
  config_ = config_holder_.get();
  config_version_ = version;
}

Status Shard::SwitchConfig(const kafka::Record& record, const std::string& version) {
  const std::string where = record.topic + "@" + std::to_string(record.offset);
  if (version == config_version_) return Status::Ok();  // a marker written again (a retry)
  if (options_.configs == nullptr) {
    Refused(record, "config change to version " + version + " refused: no config source");
    return Status::Ok();
  }
  auto next = options_.configs->Find(version, options_.config_wait_ms);
  if (next == nullptr) {
    // Skipping the marker would make this owner decide differently from any replay: stop
    // instead (crash-only: a restart reads sb.control again).
    Fail(Unavailable("shard " + std::to_string(options_.partition) + ": " + where +
                     ": routing config version " + version + " not found in sb.control within " +
                     std::to_string(options_.config_wait_ms) + " ms"));
    return failure_;
  }
  Status compatible = control::CheckCompatible(*config_, *next);
  if (!compatible.ok()) {  // ApplyConfig refuses these; the same refusal in every replay
    Refused(record, "config change to version " + version + " refused: " + compatible.message());
    return Status::Ok();
  }
  // The engine is rebuilt from its complete state (its timers follow from the times in it) under
  // the new config; what it changed since the last flush goes into the next group first.
  engine::Changes pending;
  engine_->TakeChanges(&pending);
  for (Entry& e : EntriesFor(pending)) carried_.push_back(std::move(e));
  const pb::EngineState state = engine_->ExportState();
  auto engine = state.agents().empty() && state.contacts().empty()
                    ? engine::Engine::Create(*next, clock_)
                    : engine::Engine::Restore(*next, clock_, state);
  if (!engine.ok()) {
    Fail(Internal("shard " + std::to_string(options_.partition) + ": " + where +
                  ": switching to routing config version " + version + ": " +
                  engine.status().ToString()));
    return failure_;
  }
  engine_ = std::move(*engine);
  engine_->TrackChanges(true);
  if (stats_book_ != nullptr) {
    pb::ShardMeta saved;
    stats_book_->SaveTo(&saved);
    stats_book_ = std::make_unique<StatsBook>(next.get(), options_.partition, options_.partitions);
    stats_book_->Restore(saved);
  }
  SB_LOG_INFO("shard", "shard %d: routing config version %s -> %s at %s\n", options_.partition,
               config_version_.c_str(), version.c_str(), where.c_str());
  // Follow-ups keep the config they were made with (kept alive by the source): they only look
  // up the domains of queues, and no queue or domain is ever removed.
  config_holder_ = std::move(next);
  config_ = config_holder_.get();
  config_version_ = version;
  return Status::Ok();
}

engine::Summary Shard::Summarize() const {
  return engine_ != nullptr ? engine_->Summarize() : engine::Summary{};
}

}  // namespace sb::shard
