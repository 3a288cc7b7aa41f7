#include "router/shard/shard.h"

#include <chrono>
#include <filesystem>

#include "common/clock.h"
#include "common/config/text.h"
#include "common/log/log.h"
#include "router/kafka/dead_letter.h"
#include "router/kafka/topics.h"
#include "router/shard/checkpoint.h"
#include "router/shard/probe.h"
#include "switchboard/v1/events.pb.h"

namespace sb::shard {
namespace {

// Nothing to restore: a new engine (Restore() of an empty state would start its sequence at 0).
bool Fresh(const pb::EngineState& state) {
  return state.agents().empty() && state.contacts().empty() && state.identities().empty();
}

bool IsIdentityMessage(const pb::RoutingEvent& e) {
  return e.has_identity_reserve() || e.has_identity_release() || e.has_identity_answer();
}

const std::string& IdentityAgentOf(const pb::RoutingEvent& e) {
  if (e.has_identity_reserve()) return e.identity_reserve().agent_id();
  if (e.has_identity_release()) return e.identity_release().agent_id();
  return e.identity_answer().agent_id();
}

}  // namespace

Shard::Shard(ShardOptions options, const pb::RoutingConfig* config, const Clock* clock,
             Producers producers)
    : options_(std::move(options)),
      config_(config),
      config_version_(control::ConfigVersionOf(*config)),
      clock_(clock),
      producers_(producers),
      writer_({.node_id = options_.node_id,
               .partition = options_.partition,
               .bootstrap = options_.bootstrap,
               .kafka_settings = options_.kafka_settings,
               .read_timeout_ms = options_.restore_timeout_ms},
              producers, &stats_),
      stats_publisher_(options_.node_id, options_.partition, options_.partitions,
                       producers.outputs),
      snapshots_(options_.snapshots) {}

Shard::~Shard() = default;

void Shard::Fail(Status status) {
  if (!failure_.ok()) return;
  SB_LOG_INFO("shard", "shard %d: %s\n", options_.partition, status.ToString().c_str());
  failure_ = std::move(status);
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

  // 1. Local checkpoint, if the log still holds where it was taken.
  auto reader = kafka::PartitionReader::Create(options_.bootstrap, options_.kafka_settings);
  if (!reader.ok()) return reader.status();
  auto marks = (*reader)->Watermarks(kafka::kChangelogTopic, p, 10000);
  if (!marks.ok()) return marks.status();
  auto loaded = LoadCheckpoint(*store_, options_.store_dir, p, {marks->first, marks->second});
  if (!loaded.ok()) return loaded.status();
  ChangelogState state = std::move(*loaded);
  int64_t from = state.next_offset();
  // Retention removed the log's head (the embedded broker keeps ~5 MB of a partition): what
  // remains is enough only from a complete snapshot on.
  const bool head_gone = from < marks->first;
  if (head_gone) from = marks->first;
  SB_RETURN_IF_ERROR((*reader)->Assign(kafka::kChangelogTopic, p, from));
  // 2. The tail up to the end of the log.
  SB_RETURN_IF_ERROR(ReadChangelog(&state, reader->get(), marks->second, p,
                                   options_.restore_timeout_ms, &stats_.restored_records));
  if (head_gone && state.snapshot_offset() < 0) {
    // Restoring "what remains" would forget agents and contacts and resume the input from a
    // wrong offset: duplicates and losses. Refuse to route this shard instead.
    return FailedPrecondition(
        "shard " + std::to_string(p) + ": cannot restore from the changelog: it starts at offset " +
        std::to_string(marks->first) + " (retention removed the records before) and holds no " +
        "complete snapshot after that; the changelog must keep the newest snapshot and every " +
        "record after it (cleanup.policy=compact without retention; on the embedded broker, " +
        "snapshots more often than its ~5 MB per partition: see router/shard/README.md)");
  }
  stats_.snapshots_restored = state.snapshots_applied();

  // 3. Claim: the next epoch, appended and acknowledged before anything else of ours.
  pb::EpochClaim claim;
  claim.set_epoch(state.epoch() + 1);
  claim.set_node_id(options_.node_id);
  claim.set_claimed_at_ms(clock_->NowMs());
  SB_RETURN_IF_ERROR(writer_.AppendClaim(claim));
  SB_RETURN_IF_ERROR(producers_.changelog->Flush(options_.restore_timeout_ms));
  if (!failure_.ok()) return failure_;
  const int64_t claim_offset = writer_.claim_offset();
  if (claim_offset < 0)
    return Unavailable("shard " + std::to_string(p) + ": claim not acknowledged");

  // 4. Read up to our claim: it must be the claim in force.
  SB_RETURN_IF_ERROR(ReadChangelog(&state, reader->get(), claim_offset + 1, p,
                                   options_.restore_timeout_ms, &stats_.restored_records));
  if (state.epoch() != claim.epoch() || state.claim_offset() != claim_offset) {
    return FailedPrecondition("shard " + std::to_string(p) + ": lost the claim of epoch " +
                              std::to_string(claim.epoch()) + " to " + state.owner() + " (epoch " +
                              std::to_string(state.epoch()) + ")");
  }
  writer_.Claimed(state.meta());
  if (state.meta().has_snapshot_slot()) snapshot_slot_ = state.meta().snapshot_slot();
  snapshots_in_epoch_ = 0;
  zombies_at_snapshot_ = stats_.zombie_records;
  snapshots_.Force();  // this epoch's log starts from a complete state of its own
  for (const std::string& key : state.abandoned_keys())
    repairs_.push_back({key, state.Committed(key)});

  // 5. The engine, the follow-ups and the statistics, from the materialized state.
  SB_RETURN_IF_ERROR(Rebuild(state));

  // 6. Outputs the previous owner may not have delivered: again (consumers drop repeats).
  Status resent = writer_.Resend(state.UnackedOutputs());
  if (!resent.ok()) Fail(resent);
  offsets_moved_ = true;  // the first group records the claim's state (and the repairs)
  PublishStats();         // the day's baselines are taken before any new input counts
  if (bridge_ != nullptr) bridge_->RepublishAll();
  stats_.restore_ms = MonotonicMs() - started;
  SB_LOG_INFO(
      "shard",
      "shard %d: claimed epoch %llu at changelog offset %lld (%llu records restored in "
      "%lld ms, %llu complete snapshots read; input from contacts@%lld agent-events@%lld; %zu "
      "outputs re-sent)\n",
      p, static_cast<unsigned long long>(writer_.epoch()), static_cast<long long>(claim_offset),
      static_cast<unsigned long long>(stats_.restored_records),
      static_cast<long long>(stats_.restore_ms),
      static_cast<unsigned long long>(stats_.snapshots_restored),
      static_cast<long long>(contacts_next_), static_cast<long long>(agent_events_next_),
      state.UnackedOutputs().size());
  return Status::Ok();
}

Status Shard::Rebuild(const ChangelogState& state) {
  // Under the config version the log was written with.
  UseRecordedConfig(state.meta().config_version());
  auto engine_state = state.ToEngineState();
  if (!engine_state.ok()) return engine_state.status();
  auto engine = Fresh(*engine_state) ? engine::Engine::Create(*config_, clock_)
                                     : engine::Engine::Restore(*config_, clock_, *engine_state);
  if (!engine.ok()) return engine.status();
  Adopt(std::move(*engine));
  if (options_.followups != nullptr) {
    auto tasks = state.ToFollowUpState();
    if (!tasks.ok()) return tasks.status();
    auto forwards = state.ToForwards();
    if (!forwards.ok()) return forwards.status();
    auto followups = FollowUps::Restore(options_.followups, config_, clock_, options_.partition,
                                        options_.partitions, std::move(*tasks), *forwards);
    if (!followups.ok()) return followups.status();
    bridge_ = std::make_unique<FollowUpBridge>(
        std::move(*followups), options_.partition, clock_, producers_.outputs, &stats_,
        [this](const pb::Contact& c) { return RouteFollowUp(c); });
    bridge_->set_epoch(writer_.epoch());
    writer_.set_tasks_committed(
        [this](const std::vector<Entry>& records) { bridge_->TasksCommitted(records); });
  }
  const pb::ShardMeta& meta = state.meta();
  contacts_next_ = meta.contacts_next_offset();
  agent_events_next_ = meta.agent_events_next_offset();
  stats_publisher_.Restore(config_, meta);
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
    DeadLetter(record, "not a RoutingEvent");
    return Status::Ok();
  }
  if (event.has_config_changed()) return SwitchConfig(record, event.config_changed().version());
  if (IsIdentityMessage(event)) {
    if (record.topic != kafka::kContactsTopic) {
      DeadLetter(record, "agent identity messages travel between shards on sb.contacts only");
      return Status::Ok();
    }
    const std::string& agent = IdentityAgentOf(event);
    if (!event.has_identity_answer() &&
        kafka::PartitionFor(agent, options_.partitions) != options_.partition) {
      DeadLetter(record, "agent identity message for " + config::Quote(agent) +
                             ": this shard is not the agent's home");
      return Status::Ok();
    }
  }
  if (event.has_follow_up()) return OnFollowUpCommand(record, event.follow_up());
  if (bridge_ != nullptr && event.has_contact_arrived()) {
    // A reserved attribute naming no shard would forward the contact's outcome nowhere (and fail
    // every owner of this partition in turn): the record is not a shard's, dropped.
    Status forwarded = bridge_->followups().CheckForwardedFrom(event.contact_arrived().contact());
    if (!forwarded.ok()) {
      DeadLetter(record, forwarded.ToString());
      return Status::Ok();
    }
  }
  if (bridge_ != nullptr && event.has_contact_arrived() &&
      !bridge_->Admit(event.contact_arrived().contact())) {
    ++stats_.duplicate_forwards;
    SB_LOG_INFO("shard", "shard %d: %s@%lld: contact %s was forwarded here before; dropped\n",
                options_.partition, record.topic.c_str(), static_cast<long long>(record.offset),
                event.contact_arrived().contact().id().c_str());
    return Status::Ok();
  }
  const size_t first = decisions_.size();
  Status st = ApplyToEngine(event);
  if (!st.ok()) {
    Refused(record, "refused: " + st.ToString());
    // The engine answered it (DECISION_REFUSED) when a desktop or an integrator sent it: one
    // output per refused input record, exactly once like every output of this group.
    StampInput(record, pb::DECISION_REFUSED, first);
    return Status::Ok();
  }
  if (bridge_ != nullptr) bridge_->AfterEngine(event, decisions_, first, &forwards_);
  // So the publisher of the transfer can tell its answer from others about the contact.
  if (event.has_contact_transferred()) StampInput(record, pb::DECISION_TRANSFERRED, first);
  // So gateways can tell which desks a session move supersedes (sessions whose login came
  // before this record) from newer ones (router/gateway/desks.h).
  if (event.has_agent_login()) StampInput(record, pb::DECISION_AGENT_STATE, first);
  return Status::Ok();
}

Status Shard::OnFollowUpCommand(const kafka::Record& record, const pb::FollowUpCommand& command) {
  ++stats_.followup_commands;
  if (bridge_ == nullptr) {
    DeadLetter(record, "follow-up command: follow-ups are off on this router");
    return Status::Ok();
  }
  Status st = bridge_->OnCommand(command, &forwards_);
  if (!st.ok()) DeadLetter(record, "follow-up command refused: " + st.ToString());
  // Attempts of erased tasks waiting in this shard's queues leave with the customer's data.
  for (pb::ContactCancelled& cancel : bridge_->followups().TakeWithdrawals()) {
    pb::RoutingEvent event;
    event.set_at_ms(clock_->NowMs());
    *event.mutable_contact_cancelled() = std::move(cancel);
    const size_t first = decisions_.size();
    if (ApplyToEngine(event).ok()) {
      bridge_->AfterEngine(event, decisions_, first, &forwards_);
    } else {
      // Refused when the attempt is past waiting (connected): it ends as it goes. Nobody sent
      // this cancel, so nobody is answered (the engine's DECISION_REFUSED is dropped).
      decisions_.erase(decisions_.begin() + static_cast<std::ptrdiff_t>(first), decisions_.end());
    }
  }
  if (command.has_erase() && st.ok()) {
    SB_LOG_INFO("shard", "shard %d: %s@%lld: a customer's follow-ups erased (asked by %s)\n",
                options_.partition, record.topic.c_str(), static_cast<long long>(record.offset),
                config::Quote(command.erase().requested_by()).c_str());
  }
  return Status::Ok();
}

Status Shard::ApplyToEngine(const pb::RoutingEvent& event) {
  if (probe_ != nullptr) probe_->BeforeEvent(event, *engine_);
  Status st = engine_->Apply(event, &decisions_);
  if (probe_ != nullptr) probe_->AfterEvent(event, st, *engine_);
  return st;
}

Status Shard::RouteFollowUp(const pb::Contact& contact) {
  // Seen by the probe as an arrival like any other (a callback attempt is counted as outbound).
  // Not through Engine::Apply: a follow-up nobody sent is not answered when refused.
  pb::RoutingEvent arrived;
  *arrived.mutable_contact_arrived()->mutable_contact() = contact;
  if (probe_ != nullptr) probe_->BeforeEvent(arrived, *engine_);
  Status st = engine_->ContactArrived(contact, &decisions_);
  if (probe_ != nullptr) probe_->AfterEvent(arrived, st, *engine_);
  return st;
}

void Shard::StampInput(const kafka::Record& record, pb::DecisionType type, size_t first) {
  for (size_t i = first; i < decisions_.size(); ++i) {
    engine::Decision& d = decisions_[i];
    if (d.type != type) continue;
    d.input_topic = record.topic;
    d.input_offset = record.offset;
  }
}

void Shard::Refused(const kafka::Record& record, const std::string& what) {
  ++stats_.rejected_events;
  if (stats_.rejected_events <= 20 || stats_.rejected_events % 1000 == 0) {
    SB_LOG_WARN("shard", "shard %d: %s@%lld (%llu refused so far): %s\n", options_.partition,
                record.topic.c_str(), static_cast<long long>(record.offset),
                static_cast<unsigned long long>(stats_.rejected_events), what.c_str());
  }
}

void Shard::DeadLetter(const kafka::Record& record, const std::string& reason) {
  ++stats_.dead_letters;
  Refused(record, "to " + std::string(kafka::kDeadLetterTopic) + ": " + reason);
  dead_letters_.push_back(kafka::DeadLetterOf(
      record, reason, "shard " + std::to_string(options_.partition), clock_->NowMs()));
}

void Shard::Tick() {
  if (!failure_.ok() || engine_ == nullptr) return;
  const size_t first = decisions_.size();
  engine_->Tick(&decisions_);
  if (bridge_ != nullptr) bridge_->Tick(decisions_, first, &forwards_);
}

void Shard::PublishStats() {
  if (!failure_.ok() || engine_ == nullptr) return;
  stats_publisher_.Publish(clock_->NowMs(), writer_.epoch(), *engine_,
                           bridge_ != nullptr ? &bridge_->followups().core() : nullptr);
}

void Shard::Adopt(std::unique_ptr<engine::Engine> engine) {
  engine_ = std::move(engine);
  engine_->TrackChanges(true);
  if (options_.reserve_identities) engine_->ReserveIdentities(options_.partition);
}

void Shard::RouteIdentityMessages() {
  // Applying one to this engine may answer it (a reserve of an agent homed here): again until
  // none is left (a reserve, its answer, a refused login's release: a few rounds at most).
  for (engine_->TakeIdentityMessages(&identity_messages_); !identity_messages_.empty();
       engine_->TakeIdentityMessages(&identity_messages_)) {
    for (engine::IdentityMessage& m : identity_messages_) {
      const std::string& agent = IdentityAgentOf(m.event);
      const int32_t to =
          m.to_home ? kafka::PartitionFor(agent, options_.partitions) : m.to_partition;
      if (to != options_.partition) {
        forwards_.push_back({to, agent, std::move(m.event)});
        continue;
      }
      Status st = ApplyToEngine(m.event);
      if (!st.ok()) {
        SB_LOG_WARN("shard", "shard %d: agent identity message for %s refused: %s\n",
                    options_.partition, agent.c_str(), st.ToString().c_str());
      }
    }
  }
}

Status Shard::Flush() {
  if (!failure_.ok()) return failure_;
  RouteIdentityMessages();
  engine_->TakeChanges(&changes_);
  const std::vector<Entry> followup_entries =
      bridge_ != nullptr ? bridge_->TakeEntries() : std::vector<Entry>{};
  if (changes_.empty() && decisions_.empty() && !offsets_moved_ && followup_entries.empty() &&
      forwards_.empty() && dead_letters_.empty()) {
    return MaybeSnapshot();
  }
  for (const Entry& e : repairs_) SB_RETURN_IF_ERROR(writer_.Append(e.key, e.value));
  repairs_.clear();
  for (const Entry& e : carried_) SB_RETURN_IF_ERROR(writer_.Append(e.key, e.value));
  carried_.clear();
  for (const Entry& e : EntriesFor(changes_)) SB_RETURN_IF_ERROR(writer_.Append(e.key, e.value));
  for (const Entry& e : followup_entries) SB_RETURN_IF_ERROR(writer_.Append(e.key, e.value));
  std::vector<Entry> task_records =
      bridge_ != nullptr ? bridge_->TaskRecordsOf(followup_entries) : std::vector<Entry>{};
  pb::ShardMeta meta;
  meta.set_taken_at_ms(changes_.taken_at_ms);
  meta.set_next_seq(changes_.next_seq);
  for (const auto& q : changes_.queue_stats) *meta.add_queue_stats() = q;
  meta.set_contacts_next_offset(contacts_next_);
  meta.set_agent_events_next_offset(agent_events_next_);
  meta.set_group_seq(++group_seq_);
  meta.set_config_version(config_version_);
  if (snapshot_slot_) meta.set_snapshot_slot(*snapshot_slot_);
  stats_publisher_.SaveTo(&meta);
  if (bridge_ != nullptr) bridge_->SaveTo(&meta);
  std::vector<pb::ShardOutput> outputs;
  outputs.reserve(decisions_.size() + forwards_.size() + dead_letters_.size());
  for (const engine::Decision& d : decisions_) outputs.push_back(writer_.OutputFor(d));
  for (Forward& f : forwards_) {
    // Never a produce to a partition the topic lacks (it would fail this node, and every next
    // owner replaying the same state): whatever asked for it came from a record no shard wrote.
    if (f.partition < 0 || f.partition >= options_.partitions) {
      ++stats_.dropped_forwards;
      ++stats_.dead_letters;
      const std::string reason = "forward to partition " + std::to_string(f.partition) +
                                 ": the cluster has " + std::to_string(options_.partitions);
      SB_LOG_WARN("shard", "shard %d: %s; to %s\n", options_.partition, reason.c_str(),
                  std::string(kafka::kDeadLetterTopic).c_str());
      kafka::Record unsent;
      unsent.topic = kafka::kContactsTopic;
      unsent.partition = f.partition;
      unsent.offset = -1;
      unsent.key = f.key;
      unsent.value = f.event.SerializeAsString();
      outputs.push_back(writer_.OutputFor(kafka::DeadLetterOf(
          unsent, reason, "shard " + std::to_string(options_.partition), clock_->NowMs())));
      continue;
    }
    outputs.push_back(writer_.OutputFor(std::move(f)));
  }
  for (pb::DeadLetter& letter : dead_letters_)
    outputs.push_back(writer_.OutputFor(std::move(letter)));
  decisions_.clear();
  forwards_.clear();
  dead_letters_.clear();
  offsets_moved_ = false;
  SB_RETURN_IF_ERROR(
      writer_.AppendGroup(std::move(meta), std::move(outputs), std::move(task_records)));
  ++stats_.groups;
  return MaybeSnapshot();
}

Status Shard::MaybeSnapshot() {
  if (stats_.zombie_records != zombies_at_snapshot_) {
    // A zombie wrote into the log: its records, once compacted, could shadow values written
    // before them. A snapshot after them makes the restore independent of both.
    zombies_at_snapshot_ = stats_.zombie_records;
    snapshots_.Force();
  }
  const int64_t now = clock_->NowMs();
  if (!snapshots_.Due(writer_.bytes_appended(), now)) return Status::Ok();
  pb::ShardSnapshot snapshot;
  *snapshot.mutable_meta() = writer_.last_meta();
  snapshot.mutable_meta()->clear_outputs();
  *snapshot.mutable_engine() = engine_->ExportState();
  if (bridge_ != nullptr) bridge_->followups().ExportTo(&snapshot);
  for (pb::ShardOutput& out : writer_.UnackedOutputs()) {
    *snapshot.add_unacked_outputs() = std::move(out);
  }
  const uint32_t slot = snapshot_slot_ ? 1 - *snapshot_slot_ : 0;
  snapshot.set_slot(slot);
  const uint64_t id = (writer_.epoch() << 32) | ++snapshots_in_epoch_;
  const uint64_t before = writer_.bytes_appended();
  for (const Entry& e : SnapshotEntries(snapshot, id)) {
    SB_RETURN_IF_ERROR(writer_.Append(e.key, e.value));
  }
  snapshot_slot_ = slot;
  const uint64_t size = writer_.bytes_appended() - before;
  snapshots_.Taken(size, writer_.bytes_appended(), now);
  ++stats_.snapshots;
  stats_.snapshot_bytes += size;
  return Status::Ok();
}

void Shard::OnDelivery(uint64_t token, int64_t offset, const Status& status) {
  switch (TokenKindOf(token)) {
    case TokenKind::kStats:
      return stats_publisher_.OnDelivery(status);
    case TokenKind::kFollowUps:
      if (bridge_ != nullptr) bridge_->OnDelivery(TokenSeq(token), status);
      return;
    case TokenKind::kChangelog:
    case TokenKind::kOutput:
      break;
  }
  Status st = writer_.OnDelivery(token, offset, status);
  if (!st.ok()) Fail(std::move(st));
}

Status Shard::Checkpoint() {
  if (!failure_.ok()) return failure_;
  if (!idle() || !decisions_.empty() || !forwards_.empty() || offsets_moved_ ||
      !writer_.committed_meta()) {
    return Status::Ok();
  }
  const FollowUps* followups = bridge_ != nullptr ? &bridge_->followups() : nullptr;
  SB_RETURN_IF_ERROR(SaveCheckpoint(store_.get(), engine_->ExportState(), *writer_.committed_meta(),
                                    writer_.epoch(), writer_.acked_through(), followups));
  if (bridge_ != nullptr) bridge_->followups().CheckpointSaved();
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
    DeadLetter(record, "config change to version " + version + " refused: no config source");
    return Status::Ok();
  }
  auto next = options_.configs->Find(version, options_.config_wait_ms);
  if (next == nullptr) {
    // AdminService appends a version (acknowledged) before any marker naming it, so a marker
    // whose version sb.control still lacks after the wait is no AdminService's. The skip is as
    // durable as any input: the next group records the offset past it.
    DeadLetter(record, "config change to version " + config::Quote(version) +
                           ": no such version in sb.control after " +
                           std::to_string(options_.config_wait_ms) + " ms");
    return Status::Ok();
  }
  Status compatible = control::CheckCompatible(*config_, *next);
  if (!compatible.ok()) {  // ApplyConfig refuses these; the same refusal in every replay
    DeadLetter(record, "config change to version " + version + " refused: " + compatible.message());
    return Status::Ok();
  }
  // The engine is rebuilt from its complete state (its timers follow from the times in it) under
  // the new config; what it changed since the last flush goes into the next group first.
  engine::Changes pending;
  engine_->TakeChanges(&pending);
  for (Entry& e : EntriesFor(pending)) carried_.push_back(std::move(e));
  RouteIdentityMessages();  // before the engine that made them goes
  const pb::EngineState state = engine_->ExportState();
  auto engine = Fresh(state) ? engine::Engine::Create(*next, clock_)
                             : engine::Engine::Restore(*next, clock_, state);
  if (!engine.ok()) {
    Fail(Internal("shard " + std::to_string(options_.partition) + ": " + where +
                  ": switching to routing config version " + version + ": " +
                  engine.status().ToString()));
    return failure_;
  }
  Adopt(std::move(*engine));
  stats_publisher_.SwitchConfig(next.get());
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
