// Private to the engine: data structures and the matching core. See README.md for the design.
#pragma once

#include <algorithm>
#include <array>
#include <ext/pb_ds/assoc_container.hpp>
#include <ext/pb_ds/tree_policy.hpp>
#include <functional>
#include <map>
#include <memory>
#include <queue>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "common/clock.h"
#include "common/validate/contact.h"
#include "router/engine/engine.h"
#include "router/engine/requirements.h"

namespace sb::engine {

// Queue order of a waiting contact, fixed at arrival so a requeued contact returns to its place.
// Emergencies (tier 0) go before everything, FIFO. Others order by virtual time
// arrival - level * aging: a level is worth `aging` of waiting, so nothing starves.
struct ContactKey {
  uint8_t tier = 0;
  int64_t vtime = 0;
  uint64_t seq = 0;  // unique
  auto operator<=>(const ContactKey&) const = default;
};

// Order of ready agents for one requirement; smaller is better. Fields per strategy:
// longest-idle (a=idle_since), least-occupied (a=units used, b=occupancy ppm, c=idle_since),
// best-skill (a=-sum of proficiency over the requirement, b=idle_since). Agent index breaks ties.
struct AgentKey {
  int64_t a = 0, b = 0, c = 0;
  uint32_t agent = 0;
  auto operator<=>(const AgentKey&) const = default;
};

struct WaitEntry {
  ContactKey key;
  ContactIdx contact;
  bool operator<(const WaitEntry& o) const { return key < o.key; }
};

// Order-statistics tree: O(log n) insert/erase and rank (queue position for estimated wait).
using WaitSet =
    __gnu_pbds::tree<WaitEntry, __gnu_pbds::null_type, std::less<WaitEntry>,
                     __gnu_pbds::rb_tree_tag, __gnu_pbds::tree_order_statistics_node_update>;

// A requirement signature: contacts in one queue, on one channel, with one difficulty and the same
// skill requirement. Contacts wait here; agents able to take them are ranked here.
struct Sig {
  QueueIdx queue = 0;
  pb::Channel channel = pb::CHANNEL_UNSPECIFIED;
  bool difficult = false;
  DomainIdx domain = 0;
  uint32_t units = 0;
  std::vector<Req> reqs;
  WaitSet waiting;
  absl::btree_set<AgentKey> ready;  // B-tree: a few cache lines per lookup, not one per level
  uint32_t staffed = 0;             // logged-in agents with the skills, ready or not
};

// What a freed agent needs to know about a signature without touching its trees: kept in one
// compact array so scanning an agent's signatures stays in cache.
struct SigHead {
  ContactKey key;  // best waiting contact, valid if `contact` is set
  ContactIdx contact;
  bool has_contact = false;
  bool difficult = false;
  pb::Channel channel = pb::CHANNEL_UNSPECIFIED;
  uint32_t units = 0;
};

// After-contact work of a leg that ended by a transfer. The contact lives on without this agent
// (waiting, or with another agent, or even ended), so the leg stands alone: by id, not by slot.
// It holds no capacity units; like any ACW it keeps the agent from new offers (acw_items).
struct Leg {
  std::string contact_id;
  QueueIdx queue = 0;  // the queue the contact was in when transferred: its ACW limit
  int64_t since_ms = 0;
  int64_t acw_due_ms = 0;
};

struct WorkItem {
  ContactIdx contact;
  pb::ContactState state = pb::CONTACT_STATE_UNSPECIFIED;  // OFFERED, CONNECTED, COMPLETED (ACW)
  int64_t since_ms = 0;
  uint32_t units = 0;
  pb::Channel channel = pb::CHANNEL_UNSPECIFIED;
  bool difficult = false;
};

// Fixed-size chunks instead of one doubling vector: records never move, and growth never leaves
// up to half the capacity unused (at 150k contacts, that slack was most of a contact's bytes).
template <typename T, size_t kChunk = 1024>
class ChunkedPool {
 public:
  T& operator[](size_t i) { return (*chunks_[i / kChunk])[i % kChunk]; }
  const T& operator[](size_t i) const { return (*chunks_[i / kChunk])[i % kChunk]; }
  size_t size() const { return size_; }
  T& emplace_back() {
    if (size_ == chunks_.size() * kChunk)
      chunks_.push_back(std::make_unique<std::array<T, kChunk>>());
    return (*this)[size_++];
  }

 private:
  std::vector<std::unique_ptr<std::array<T, kChunk>>> chunks_;
  size_t size_ = 0;
};

struct AgentRec {
  std::string id;
  DomainIdx domain = 0;
  std::vector<uint8_t> prof;  // proficiency by SkillId, 0 = lacks the skill
  uint32_t capacity = 0;
  uint32_t configured_capacity = 0;  // as logged in (0 = default), for export
  pb::AgentState presence = pb::AGENT_STATE_LOGGED_OUT;
  std::string reason;
  int64_t presence_since_ms = 0;
  int64_t idle_since_ms = 0;
  int64_t busy_ms = 0, ready_ms = 0, accounted_at_ms = 0;
  uint32_t difficult_streak = 0;
  uint32_t difficult_pending = 0;  // difficult offers not yet answered
  uint32_t units_used = 0;
  uint32_t acw_items = 0;
  uint16_t on_channel[kNumChannels] = {};
  std::vector<WorkItem> items;
  std::vector<Leg> legs;           // transferred legs in after-contact work, oldest first
  std::vector<SigIdx> sigs;        // requirements this agent's skills meet
  std::vector<AgentKey> sig_keys;  // parallel to sigs: key in that sig's ready set
  std::vector<uint8_t> in_ready;   // parallel to sigs
  uint32_t ready_entries = 0;      // how many in_ready are set
  std::vector<ContactIdx> preferred_waiting;  // contacts waiting for this agent, in key order
  // The desktop session whose events act (events.proto), and the count of logins and session
  // moves; both kept across logouts (the record is never dropped), so generations only grow.
  std::string session;
  uint64_t generation = 0;
  // Cluster-wide identity (Engine::ReserveIdentities): the generation of the login that
  // reserved the agent at its home (0: none held), and whether the home has yet to grant it.
  uint64_t reservation = 0;
  bool identity_pending = false;

  bool logged_in() const { return presence != pb::AGENT_STATE_LOGGED_OUT; }
};

struct ContactRec {
  pb::Contact contact;
  std::vector<Req> extras;
  QueueIdx origin = 0;  // queue it arrived in: its stats and bullseye
  QueueIdx queue = 0;   // queue it is in now
  pb::ContactState state = pb::CONTACT_STATE_UNSPECIFIED;
  bool difficult = false;
  bool counts_for_sl = true;
  bool answered = false;  // counted as answered once, even if requeued later
  ContactKey key{};
  int64_t arrived_ms = 0;
  int64_t state_since_ms = 0;
  int64_t connected_ms = 0;
  uint32_t step = 0;
  uint32_t attempt = 0;
  SigIdx sig = 0;
  AgentIdx agent = kNoAgent;  // offered/connected agent
  AgentIdx preferred = kNoAgent;
  bool preferred_released = false;
  bool waiting_for_preferred = false;
  pb::DecisionReason next_reason = pb::REASON_BEST_AVAILABLE;
  std::vector<AgentIdx> excluded;
  bool live = false;
  // Base of bullseye and preferred-agent waits: arrived_ms, or the time of the last transfer.
  int64_t queued_ms = 0;
  // First-contact ownership: the first agent it was connected to, kept across transfers.
  std::string owner;
  std::string handoff_note;  // of the latest transfer
  uint32_t transfers = 0;
};

// Slots touched since the last EngineImpl::TakeChanges, each listed once.
struct DirtySlots {
  std::vector<uint8_t> marked;  // by slot
  std::vector<uint32_t> slots;

  void Mark(uint32_t i) {
    if (i >= marked.size()) marked.resize(i + 1);
    if (marked[i]) return;
    marked[i] = 1;
    slots.push_back(i);
  }
  void Clear() {
    for (uint32_t i : slots) marked[i] = 0;
    slots.clear();
  }
};

enum class TimerKind : uint8_t {
  kOfferTimeout,
  kAcwLimit,
  kPreferredWait,
  kBullseye,
  kMaxWait,
  kLegAcwLimit,  // of an agent's transferred legs (Timer::agent); contact fields unused
};

// Timers are checked against state when they fire, so a stale timer is a no-op and the order of
// firing is canonical (due, kind, contact seq): the same after Restore() as before it.
struct Timer {
  int64_t due_ms = 0;
  TimerKind kind = TimerKind::kOfferTimeout;
  uint64_t contact_seq = 0;
  ContactIdx contact;
  AgentIdx agent{0};  // kLegAcwLimit only
  bool operator>(const Timer& o) const {
    return std::tie(due_ms, kind, contact_seq, agent) >
           std::tie(o.due_ms, o.kind, o.contact_seq, o.agent);
  }
};

class EngineImpl {
 public:
  EngineImpl(CompiledConfig config, const Clock* clock);

  // --- events (engine.cc) ---
  Status ContactArrived(const pb::Contact& contact, Decisions* out);
  Status EndWaiting(std::string_view contact_id, bool abandoned, Decisions* out);
  Status ContactEnded(std::string_view contact_id, std::string_view agent_id,
                      std::string_view session, Decisions* out);
  Status Transfer(const pb::ContactTransferred& t, Decisions* out);
  Status Login(const pb::Agent& agent, bool ready, std::string_view session, Decisions* out);
  Status Logout(std::string_view agent_id, std::string_view session, Decisions* out);
  Status SetReady(std::string_view agent_id, std::string_view session, Decisions* out);
  Status SetNotReady(std::string_view agent_id, std::string_view reason, std::string_view session,
                     Decisions* out);
  Status Accept(std::string_view agent_id, std::string_view contact_id, uint32_t attempt,
                std::string_view session, Decisions* out);
  Status Reject(std::string_view agent_id, std::string_view contact_id, uint32_t attempt,
                std::string_view session, Decisions* out);
  Status WrapUp(std::string_view agent_id, std::string_view contact_id,
                std::string_view disposition, std::string_view session, Decisions* out);
  void RunTimers(Decisions* out);

  // --- agent identity across shards (identity.cc; Engine::ReserveIdentities) ---
  void EnableIdentities(int32_t partition) { identity_partition_ = partition; }
  bool identities_on() const { return identity_partition_ >= 0; }
  Status IdentityReserve(const pb::AgentIdentityReserve& r);
  Status IdentityRelease(const pb::AgentIdentityRelease& r);
  Status IdentityAnswer(const pb::AgentIdentityAnswer& a, Decisions* out);
  void TakeIdentityMessages(std::vector<IdentityMessage>* out);

  void BeginCall() { now_ = std::max(now_, clock_->NowMs()); }
  // Views report ages at the clock's time even if no call has advanced the engine since.
  int64_t ViewNow() const { return std::max(now_, clock_->NowMs()); }
  int64_t now_ms() const { return now_; }

  // --- views and state (state.cc) ---
  Result<ContactView> GetContact(std::string_view contact_id) const;
  Result<AgentView> GetAgent(std::string_view agent_id) const;
  Summary Summarize() const;
  std::vector<AgentListing> ListAgents() const;
  // Estimated wait of a waiting contact from its queue position and recent handle times; -1
  // when no agent can serve it. Sets `*position` (0-based).
  int64_t EstimateWaitMs(ContactIdx c, int64_t* position) const;
  pb::EngineState Export() const;
  Status Import(const pb::EngineState& state);
  void TrackChanges(bool on);
  void TakeChanges(Changes* out);
  size_t live_contacts() const { return contact_index_.size(); }
  size_t logged_in_agents() const { return logged_in_; }

 private:
  // --- matching core (matching.cc) ---
  SigIdx SigFor(QueueIdx queue, pb::Channel channel, bool difficult, std::vector<Req> reqs);
  bool Qualifies(const AgentRec& a, const Sig& s) const;
  bool AvailableFor(const AgentRec& a, const Sig& s) const;
  AgentKey KeyFor(const AgentRec& a, AgentIdx idx, const Sig& s) const;
  void JoinSigs(AgentIdx idx);
  void LeaveSigs(AgentIdx idx);
  void RefreshReady(AgentIdx idx);
  // Finds an agent for a waiting contact now, else files it as waiting. `c` must not be filed.
  void Route(ContactIdx c, Decisions* out);
  // Offers waiting contacts to `a` while it has room.
  void FillAgent(AgentIdx a, Decisions* out);
  void Offer(ContactIdx c, AgentIdx a, pb::DecisionReason reason, Decisions* out);
  void Unfile(ContactIdx c);       // removes a waiting contact from its sig or preferred list
  void FileWaiting(ContactIdx c);  // adds a waiting contact to its sig
  void UpdateHead(SigIdx s);
  // Best waiting contact for `a` skipping contacts it rejected. False if none.
  bool BestAllowing(AgentIdx a, ContactIdx* best) const;
  bool AvailableFor(const AgentRec& a, const SigHead& h) const;
  void PlaceAt(ContactIdx c, uint32_t step);
  // Places a waiting contact at bullseye `step`, reporting an overflow; schedules its next step.
  void MoveToStep(ContactIdx c, uint32_t step, Decisions* out);
  WorkItem ReleaseItem(AgentIdx a, ContactIdx c);
  void Requeue(ContactIdx c, pb::DecisionReason reason, Decisions* out);
  // True if the contact, never answered, has waited its queue's max wait.
  bool PastMaxWait(const ContactRec& cr) const;
  void Expire(ContactIdx c, Decisions* out);  // REQUIRES: c not filed
  void Account(AgentRec& a);
  void Schedule(TimerKind kind, ContactIdx c, int64_t due_ms);
  void ScheduleWaitingTimers(ContactIdx c);
  void FireTimer(const Timer& t, Decisions* out);
  void Finish(ContactIdx c);  // frees the slot of a contact at the end of its life
  // Ends a contact's work with the agent (after talk or ACW): handle time, then Finish.
  void CloseWork(AgentIdx a, ContactIdx c);
  // Ends the after-contact work of the agent's transferred leg `i`.
  void CloseLeg(AgentIdx a, size_t i);
  // Queue order of a contact in queue `q`, from its arrival (see ContactKey).
  ContactKey KeyOf(const pb::Contact& contact, QueueIdx q, int64_t arrived_ms, uint64_t seq) const;
  Result<ContactIdx> FindOffer(std::string_view agent_id, std::string_view contact_id,
                               uint32_t attempt) const;
  void Emit(Decisions* out, pb::DecisionType type, pb::DecisionReason reason, const ContactRec* c,
            const AgentRec* a);
  pb::QueueStats& StatsOf(QueueIdx q) { return stats_[q]; }

  Result<AgentIdx> FindAgent(std::string_view id) const;
  // FailedPrecondition unless `session` is the logged-in agent's current session (`action` names
  // the event in the message); Ok for an agent logged out (the caller's own checks refuse).
  Status CheckSession(const AgentRec& a, std::string_view action, std::string_view session) const;
  // A login of `session` while the agent is logged in with another: see Engine::AgentLogin.
  void MoveSession(AgentIdx a, DomainIdx domain, std::vector<uint8_t> prof,
                   uint32_t configured_capacity, bool ready, std::string_view session,
                   Decisions* out);
  Result<ContactIdx> FindContact(std::string_view id) const;
  // Logs a logged-in agent out: its held work goes back to the queue, after-contact work ends,
  // its reservation (if any) is released at its home.
  void SignOut(AgentIdx a, Decisions* out);
  // With identities on: the freshly logged-in agent waits for its home's grant.
  void SendReserve(AgentIdx a);
  void SendRelease(AgentIdx a);                              // and forgets the reservation
  pb::AgentIdentity& Identity(const std::string& agent_id);  // marks it changed
  ContactIdx NewContactSlot();
  // Validates a contact and files its record (not its queue place): identity, requirement extras,
  // queue order key, preferred agent. Shared by arrival and restore so both build the same record.
  Result<ContactIdx> Admit(const pb::Contact& contact, int64_t arrived_ms, uint64_t seq);
  // The config's names for common/validate (valid while this engine lives).
  validate::KnownNames Known() const;
  AgentIdx AgentSlot(const std::string& id);

  // Exported fields change only through the mutable accessors, so change tracking marks records
  // here (SigFor and Import reach agents_ directly, for ranking fields only, which are not
  // exported). A read that should not mark its record goes through the const overload.
  ContactRec& C(ContactIdx i) {
    if (tracking_) [[unlikely]]
      MarkContact(i.value());
    return contacts_[i.value()];
  }
  const ContactRec& C(ContactIdx i) const { return contacts_[i.value()]; }
  AgentRec& A(AgentIdx i) {
    if (tracking_) [[unlikely]]
      MarkAgent(i.value());
    return agents_[i.value()];
  }
  const AgentRec& A(AgentIdx i) const { return agents_[i.value()]; }
  void MarkContact(uint32_t slot);
  void MarkAgent(uint32_t slot);
  // Called by Finish() before the slot is reset: the slot may hold another contact by the time
  // changes are taken, so the id is kept now.
  void NoteRemoved(const ContactRec& cr) {
    if (tracking_) [[unlikely]]
      removed_contacts_.push_back(cr.contact.id());
  }
  // One record of ExportState(): shared by Export() and TakeChanges() so both write the same.
  void ExportAgent(const AgentRec& a, pb::AgentRecord* r) const;
  void ExportContact(const ContactRec& c, pb::ContactRecord* r) const;

  friend class EngineStateCodec;

  CompiledConfig cfg_;
  const Clock* clock_;
  int64_t now_ = 0;  // clock reading of the current call
  uint64_t next_seq_ = 1;
  size_t logged_in_ = 0;

  std::vector<AgentRec> agents_;
  absl::flat_hash_map<std::string, AgentIdx> agent_index_;
  ChunkedPool<ContactRec> contacts_;
  std::vector<ContactIdx> free_contacts_;
  absl::flat_hash_map<std::string, ContactIdx> contact_index_;
  std::vector<Sig> sigs_;
  std::vector<SigHead> heads_;  // parallel to sigs_
  absl::flat_hash_map<std::string, SigIdx> sig_index_;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<Timer>> timers_;
  std::vector<pb::QueueStats> stats_;

  // Agent identity (identity.cc): -1 while off; the records of agents homed here, by id (ordered:
  // export is deterministic); messages for other shards not yet taken.
  int32_t identity_partition_ = -1;
  std::map<std::string, pb::AgentIdentity> identities_;
  std::vector<IdentityMessage> identity_out_;
  std::set<std::string> dirty_identities_;

  // Change tracking (TrackChanges): records touched since the last TakeChanges, and the ids of
  // contacts finished since then (in finish order, possibly repeated).
  bool tracking_ = false;
  DirtySlots dirty_agents_;
  DirtySlots dirty_contacts_;
  std::vector<std::string> removed_contacts_;
};

}  // namespace sb::engine
