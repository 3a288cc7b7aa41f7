#include "router/shard/changelog.h"

#include <algorithm>
#include <utility>

#include "common/config/text.h"

namespace sb::shard {
namespace {

constexpr std::string_view kAgentPrefix = "a/";
constexpr std::string_view kContactPrefix = "c/";
constexpr std::string_view kFollowUpPrefix = "f/";
constexpr std::string_view kForwardPrefix = "x/";
constexpr std::string_view kIdentityPrefix = "i/";
constexpr std::string_view kClaimPrefix = "claim/";
constexpr std::string_view kSnapshotPrefix = "s/";

// Zero-padded so keys sort as their numbers do.
std::string Padded(uint64_t n, int width) {
  std::string digits = std::to_string(n);
  if (static_cast<int>(digits.size()) < width) digits.insert(0, width - digits.size(), '0');
  return digits;
}

std::string Where(const kafka::Record& r) {
  return "changelog offset " + std::to_string(r.offset) + " key " + config::Quote(r.key);
}

}  // namespace

std::string AgentKey(std::string_view agent_id) {
  return std::string(kAgentPrefix) + std::string(agent_id);
}
std::string ContactKey(std::string_view contact_id) {
  return std::string(kContactPrefix) + std::string(contact_id);
}

std::string FollowUpKey(std::string_view task_id) {
  return std::string(kFollowUpPrefix) + std::string(task_id);
}
std::string ForwardKey(std::string_view contact_id) {
  return std::string(kForwardPrefix) + std::string(contact_id);
}

std::string ClaimKey(uint64_t epoch) { return std::string(kClaimPrefix) + Padded(epoch, 20); }

bool IsClaimKey(std::string_view key) { return key.starts_with(kClaimPrefix); }

std::vector<Entry> SnapshotEntries(const pb::ShardSnapshot& snapshot, uint64_t snapshot_id,
                                   size_t chunk_bytes) {
  const std::string bytes = snapshot.SerializeAsString();
  const size_t count = std::max<size_t>(1, (bytes.size() + chunk_bytes - 1) / chunk_bytes);
  std::vector<Entry> out;
  out.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    pb::SnapshotChunk chunk;
    chunk.set_snapshot_id(snapshot_id);
    chunk.set_index(static_cast<uint32_t>(i));
    chunk.set_count(static_cast<uint32_t>(count));
    chunk.set_data(bytes.substr(i * chunk_bytes, chunk_bytes));
    out.push_back(
        {std::string(kSnapshotPrefix) + std::to_string(snapshot.slot()) + "/" + Padded(i, 6),
         chunk.SerializeAsString()});
  }
  return out;
}

std::vector<Entry> EntriesFor(const engine::Changes& changes) {
  std::vector<Entry> out;
  out.reserve(changes.removed_contacts.size() + changes.agents.size() + changes.contacts.size());
  for (const auto& id : changes.removed_contacts) out.push_back({ContactKey(id), std::nullopt});
  for (const auto& a : changes.agents)
    out.push_back({AgentKey(a.agent().id()), a.SerializeAsString()});
  for (const auto& c : changes.contacts) {
    out.push_back({ContactKey(c.contact().id()), c.SerializeAsString()});
  }
  for (const auto& i : changes.identities) {
    out.push_back({std::string(kIdentityPrefix) + i.agent_id(), i.SerializeAsString()});
  }
  return out;
}

ChangelogState::ChangelogState(const pb::EngineState& state,
                               const pb::FollowUpSchedulerState& followups,
                               const pb::ForwardsSeen& forwards, const pb::ShardMeta& meta,
                               uint64_t epoch, int64_t next_offset)
    : epoch_(epoch), next_offset_(next_offset), meta_(meta) {
  for (const auto& t : followups.tasks()) followups_[t.id()] = t.SerializeAsString();
  for (const auto& f : forwards.seen()) forwards_[f.contact_id()] = f.SerializeAsString();
  for (const auto& a : state.agents()) {
    if (agents_.emplace(a.agent().id(), a.SerializeAsString()).second) {
      agent_order_.push_back(a.agent().id());
    }
  }
  for (const auto& c : state.contacts()) contacts_[c.contact().id()] = c.SerializeAsString();
  for (const auto& i : state.identities()) identities_[i.agent_id()] = i.SerializeAsString();
  meta_.clear_outputs();
}

Status ChangelogState::Apply(const kafka::Record& r) {
  if (r.offset < next_offset_) return Status::Ok();  // already in the checkpoint
  next_offset_ = r.offset + 1;
  const std::optional<uint64_t> epoch = kafka::RecordEpoch(r);
  if (!epoch) return InvalidArgument(Where(r) + ": missing or malformed sb-epoch header");
  if (IsClaimKey(r.key)) {
    pb::EpochClaim claim;
    if (!r.value || !claim.ParseFromString(*r.value) || claim.epoch() != *epoch ||
        r.key != ClaimKey(claim.epoch())) {
      return InvalidArgument(Where(r) + ": malformed epoch claim");
    }
    if (claim.epoch() <= epoch_) return Status::Ok();  // lost the race to an earlier claim
    NewEpoch(claim.epoch(), claim.node_id(), r.offset);
    return Status::Ok();
  }
  if (*epoch < epoch_) return Status::Ok();  // a fenced-off (zombie) writer
  // A newer epoch whose claim is gone (retention removed the log's head): its records count.
  if (*epoch > epoch_) NewEpoch(*epoch, "", -1);
  if (r.key.starts_with(kSnapshotPrefix)) return ApplyChunk(r);
  if (r.key == kMetaKey) {
    pb::ShardMeta meta;
    if (!r.value || !meta.ParseFromString(*r.value)) {
      return InvalidArgument(Where(r) + ": malformed shard meta");
    }
    Commit(meta, r.offset);
    return Status::Ok();
  }
  if (MapFor(r.key) == nullptr) return InvalidArgument(Where(r) + ": unknown key");
  staged_[r.key] = r.value;
  return Status::Ok();
}

void ChangelogState::NewEpoch(uint64_t epoch, std::string owner, int64_t claim_offset) {
  epoch_ = epoch;
  owner_ = std::move(owner);
  claim_offset_ = claim_offset;
  abandoned_keys_ = StagedKeys();
  staged_.clear();  // the previous owner's unfinished group never happened
  pending_snapshot_.reset();
}

Status ChangelogState::ApplyChunk(const kafka::Record& r) {
  pb::SnapshotChunk chunk;
  if (!r.value || !chunk.ParseFromString(*r.value) || chunk.count() == 0 ||
      chunk.index() >= chunk.count()) {
    pending_snapshot_.reset();
    return InvalidArgument(Where(r) + ": malformed snapshot chunk");
  }
  if (chunk.index() == 0) {
    pending_snapshot_.emplace();
    pending_snapshot_->id = chunk.snapshot_id();
    pending_snapshot_->count = chunk.count();
    pending_snapshot_->first_offset = r.offset;
  } else if (!pending_snapshot_ || pending_snapshot_->id != chunk.snapshot_id() ||
             pending_snapshot_->next_index != chunk.index()) {
    // Part of a snapshot whose beginning is not here: unfinished, or half-replaced by a newer
    // one in the same slot. The snapshot before it is the one that counts.
    pending_snapshot_.reset();
    return Status::Ok();
  }
  PendingSnapshot& p = *pending_snapshot_;
  p.data += chunk.data();
  if (++p.next_index < p.count) return Status::Ok();
  pb::ShardSnapshot snapshot;
  const bool parsed = snapshot.ParseFromString(p.data);
  const int64_t first = p.first_offset;
  pending_snapshot_.reset();
  if (!parsed) return InvalidArgument(Where(r) + ": malformed snapshot (its chunks do not parse)");
  Load(std::move(snapshot), first, r.offset);
  return Status::Ok();
}

void ChangelogState::Load(pb::ShardSnapshot snapshot, int64_t first_offset, int64_t last_offset) {
  agents_.clear();
  agent_order_.clear();
  contacts_.clear();
  followups_.clear();
  forwards_.clear();
  identities_.clear();
  staged_.clear();
  abandoned_keys_.clear();
  unacked_.clear();
  for (const auto& a : snapshot.engine().agents()) {
    if (agents_.emplace(a.agent().id(), a.SerializeAsString()).second) {
      agent_order_.push_back(a.agent().id());
    }
  }
  for (const auto& c : snapshot.engine().contacts()) {
    contacts_[c.contact().id()] = c.SerializeAsString();
  }
  for (const auto& i : snapshot.engine().identities())
    identities_[i.agent_id()] = i.SerializeAsString();
  for (const auto& t : snapshot.followups()) followups_[t.id()] = t.SerializeAsString();
  for (const auto& f : snapshot.forwards().seen())
    forwards_[f.contact_id()] = f.SerializeAsString();
  meta_ = std::move(*snapshot.mutable_meta());
  meta_.clear_outputs();
  meta_.set_snapshot_slot(snapshot.slot());
  if (snapshot.unacked_outputs_size() > 0) {
    // They belong to groups before the snapshot: acknowledged once a later meta says so of the
    // offset just before it (earlier offsets are not known here; re-sending is harmless).
    unacked_.emplace_back(first_offset - 1,
                          std::vector<pb::ShardOutput>(snapshot.unacked_outputs().begin(),
                                                       snapshot.unacked_outputs().end()));
  }
  snapshot_offset_ = last_offset;
  ++snapshots_applied_;
}

void ChangelogState::Commit(const pb::ShardMeta& meta, int64_t offset) {
  for (auto& [key, value] : staged_) {
    Map& map = *MapFor(key);  // Apply() staged only keys of known kinds
    const std::string id = key.substr(2);
    if (value) {
      if (&map == &agents_ && !agents_.contains(id)) agent_order_.push_back(id);
      map[id] = std::move(*value);
    } else {
      map.erase(id);
    }
  }
  staged_.clear();
  meta_ = meta;
  if (meta_.outputs_size() > 0) {
    unacked_.emplace_back(
        offset, std::vector<pb::ShardOutput>(meta_.outputs().begin(), meta_.outputs().end()));
  }
  meta_.clear_outputs();
  while (!unacked_.empty() && unacked_.front().first <= meta.outputs_acked_through()) {
    unacked_.pop_front();
  }
}

std::vector<std::string> ChangelogState::StagedKeys() const {
  std::vector<std::string> keys;
  for (const auto& [key, value] : staged_) keys.push_back(key);
  return keys;
}

ChangelogState::Map* ChangelogState::MapFor(std::string_view key) {
  return const_cast<Map*>(std::as_const(*this).MapFor(key));
}

const ChangelogState::Map* ChangelogState::MapFor(std::string_view key) const {
  if (key.starts_with(kAgentPrefix)) return &agents_;
  if (key.starts_with(kContactPrefix)) return &contacts_;
  if (key.starts_with(kFollowUpPrefix)) return &followups_;
  if (key.starts_with(kForwardPrefix)) return &forwards_;
  if (key.starts_with(kIdentityPrefix)) return &identities_;
  return nullptr;
}

std::optional<std::string> ChangelogState::Committed(const std::string& key) const {
  const Map* map = MapFor(key);
  if (map == nullptr) return std::nullopt;
  auto it = map->find(key.substr(2));
  if (it == map->end()) return std::nullopt;
  return it->second;
}

std::vector<pb::ShardOutput> ChangelogState::UnackedOutputs() const {
  std::vector<pb::ShardOutput> out;
  for (const auto& [offset, outputs] : unacked_)
    out.insert(out.end(), outputs.begin(), outputs.end());
  return out;
}

Result<pb::EngineState> ChangelogState::ToEngineState() const {
  pb::EngineState st;
  st.set_taken_at_ms(meta_.taken_at_ms());
  st.set_next_seq(meta_.next_seq());
  for (const std::string& id : agent_order_) {
    auto it = agents_.find(id);
    if (it == agents_.end()) continue;
    if (!st.add_agents()->ParseFromString(it->second)) {
      return InvalidArgument("changelog: malformed record of agent " + config::Quote(id));
    }
  }
  for (const auto& [id, bytes] : contacts_) {
    if (!st.add_contacts()->ParseFromString(bytes)) {
      return InvalidArgument("changelog: malformed record of contact " + config::Quote(id));
    }
  }
  std::sort(
      st.mutable_contacts()->begin(), st.mutable_contacts()->end(),
      [](const pb::ContactRecord& x, const pb::ContactRecord& y) { return x.seq() < y.seq(); });
  *st.mutable_queue_stats() = meta_.queue_stats();
  for (const auto& [id, bytes] : identities_) {
    if (!st.add_identities()->ParseFromString(bytes)) {
      return InvalidArgument("changelog: malformed identity record of agent " + config::Quote(id));
    }
  }
  return st;
}

Result<pb::FollowUpSchedulerState> ChangelogState::ToFollowUpState() const {
  pb::FollowUpSchedulerState st;
  for (const auto& [id, bytes] : followups_) {
    if (!st.add_tasks()->ParseFromString(bytes)) {
      return InvalidArgument("changelog: malformed record of follow-up task " + config::Quote(id));
    }
  }
  st.set_outage(meta_.followup_outage());
  st.set_outage_since_ms(meta_.followup_outage_since_ms());
  return st;
}

Result<pb::ForwardsSeen> ChangelogState::ToForwards() const {
  pb::ForwardsSeen out;
  for (const auto& [id, bytes] : forwards_) {
    if (!out.add_seen()->ParseFromString(bytes)) {
      return InvalidArgument("changelog: malformed record of forwarded contact " +
                             config::Quote(id));
    }
  }
  return out;
}

}  // namespace sb::shard
