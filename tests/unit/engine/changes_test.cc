// Change tracking (Engine::TrackChanges / TakeChanges): a reader that starts from one snapshot and
// applies every change set by id, as the shard's changelog consumer does, holds exactly the
// engine's current state, and an engine restored from it decides like the original.
#include <map>
#include <set>

#include "unit/engine/engine_fixture.h"
#include "unit/engine/random_world.h"

namespace sb::engine::testing {
namespace {

// The state as a changelog reader keeps it: records by id. Agents keep the order they were first
// seen in, which is the engine's own (agents are only ever appended, and a change set lists new
// agents in that order); Restore() needs it, since agent order breaks ties between agents.
class Replica {
 public:
  explicit Replica(const pb::EngineState& s) {
    for (const auto& a : s.agents()) Put(a);
    for (const auto& c : s.contacts()) contacts_[c.contact().id()] = c;
    Scalars(s.taken_at_ms(), s.next_seq(), {s.queue_stats().begin(), s.queue_stats().end()});
  }

  void Apply(const Changes& ch) {
    for (const auto& a : ch.agents) Put(a);
    for (const auto& c : ch.contacts) contacts_[c.contact().id()] = c;
    for (const auto& id : ch.removed_contacts) contacts_.erase(id);
    Scalars(ch.taken_at_ms, ch.next_seq, ch.queue_stats);
  }

  pb::EngineState ToState() const {
    pb::EngineState s = scalars_;
    for (const auto& a : agents_) *s.add_agents() = a;
    std::vector<const pb::ContactRecord*> by_seq;
    for (const auto& [id, c] : contacts_) by_seq.push_back(&c);
    std::sort(by_seq.begin(), by_seq.end(),
              [](const auto* x, const auto* y) { return x->seq() < y->seq(); });
    for (const auto* c : by_seq) *s.add_contacts() = *c;
    return s;
  }

  // Empty if `s` holds the same records by id and the same scalars; else the first difference.
  std::string DiffFrom(const pb::EngineState& s) const {
    const std::string head = Diff(Head(s), scalars_);
    if (!head.empty()) return "taken_at_ms/next_seq/queue_stats: " + head;
    std::map<std::string, const pb::AgentRecord*> agents;
    for (const auto& a : s.agents()) agents[a.agent().id()] = &a;
    if (agents.size() != agents_.size()) {
      return "agents: " + std::to_string(agents_.size()) + " in replica, " +
             std::to_string(agents.size()) + " in engine";
    }
    for (const auto& [id, a] : agents) {
      auto it = agent_pos_.find(id);
      if (it == agent_pos_.end()) return "agent " + id + " missing from replica";
      const std::string d = Diff(agents_[it->second], *a);
      if (!d.empty()) return "agent " + id + ": " + d;
    }
    std::set<std::string> seen;
    for (const auto& c : s.contacts()) {
      const std::string& id = c.contact().id();
      seen.insert(id);
      auto it = contacts_.find(id);
      if (it == contacts_.end()) return "contact " + id + " missing from replica";
      const std::string d = Diff(it->second, c);
      if (!d.empty()) return "contact " + id + ": " + d;
    }
    for (const auto& [id, c] : contacts_) {
      if (!seen.count(id)) return "contact " + id + " in replica but not live in the engine";
    }
    return "";
  }

 private:
  static pb::EngineState Head(const pb::EngineState& s) {
    pb::EngineState h;
    h.set_taken_at_ms(s.taken_at_ms());
    h.set_next_seq(s.next_seq());
    *h.mutable_queue_stats() = s.queue_stats();
    return h;
  }
  void Put(const pb::AgentRecord& a) {
    auto [it, inserted] = agent_pos_.try_emplace(a.agent().id(), agents_.size());
    if (inserted) {
      agents_.push_back(a);
    } else {
      agents_[it->second] = a;
    }
  }
  void Scalars(int64_t taken_at_ms, uint64_t next_seq, const std::vector<pb::QueueStats>& stats) {
    scalars_.Clear();
    scalars_.set_taken_at_ms(taken_at_ms);
    scalars_.set_next_seq(next_seq);
    for (const auto& q : stats) *scalars_.add_queue_stats() = q;
  }

  std::vector<pb::AgentRecord> agents_;
  std::map<std::string, size_t> agent_pos_;
  std::map<std::string, pb::ContactRecord> contacts_;
  pb::EngineState scalars_;  // taken_at_ms, next_seq, queue_stats only
};

constexpr int64_t kStartMs = 1'700'000'000'000;

// Random events of every kind (logins/logouts, ready/not-ready, arrivals in six queues with
// bullseye, overflow, preferred agents and max wait, accepts, rejects, abandons, cancels, ends,
// wrap-ups, clock advances firing offer timeouts and ACW limits). Tracking starts mid-run, so the
// first snapshot is not empty; after every event the replica must equal the engine.
TEST(EngineChangesTest, ReplicaFollowsEveryRandomEvent) {
  for (uint32_t seed : {11u, 2026u, 424242u}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    ManualClock clock(kStartMs);
    auto engine = Engine::Create(RandomWorldConfig(), &clock);
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
    RandomWorld world(seed, /*agents=*/40, &clock);
    for (int i = 0; i < 300; ++i) ASSERT_NO_FATAL_FAILURE(world.Step(engine->get()));

    (*engine)->TrackChanges(true);
    Replica replica((*engine)->ExportState());
    Changes changes;
    size_t records = 0, removed = 0;
    for (int i = 0; i < 2'000; ++i) {
      ASSERT_NO_FATAL_FAILURE(world.Step(engine->get())) << "event " << i;
      (*engine)->TakeChanges(&changes);
      records += changes.agents.size() + changes.contacts.size();
      removed += changes.removed_contacts.size();
      for (const auto& id : changes.removed_contacts) {
        for (const auto& c : changes.contacts) {
          ASSERT_NE(c.contact().id(), id) << "removed and changed at once, event " << i;
        }
      }
      replica.Apply(changes);
      const std::string diff = replica.DiffFrom((*engine)->ExportState());
      ASSERT_EQ(diff, "") << "event " << i << ": " << world.log().back().event.ShortDebugString();
    }
    // The run must have exercised the engine, or it proves nothing.
    EXPECT_GT(world.offers(), 300u);
    EXPECT_GT(removed, 300u);
    EXPECT_GT(records, 2'000u);
  }
}

// A replica built from batches of changes (several events per TakeChanges) restores an engine
// that makes the original's decisions for the events that follow.
TEST(EngineChangesTest, EngineRestoredFromReplicaDecidesLikeTheOriginal) {
  ManualClock clock(kStartMs);
  auto original = Engine::Create(RandomWorldConfig(), &clock);
  ASSERT_TRUE(original.ok());
  RandomWorld world(/*seed=*/99, /*agents=*/60, &clock);
  for (int i = 0; i < 500; ++i) ASSERT_NO_FATAL_FAILURE(world.Step(original->get()));
  (*original)->TrackChanges(true);
  Replica replica((*original)->ExportState());
  Changes changes;
  for (int i = 0; i < 3'000; ++i) {
    ASSERT_NO_FATAL_FAILURE(world.Step(original->get()));
    if (i % 7 == 6) {
      (*original)->TakeChanges(&changes);
      replica.Apply(changes);
    }
  }
  (*original)->TakeChanges(&changes);
  replica.Apply(changes);
  const pb::EngineState rebuilt = replica.ToState();
  ASSERT_GT(rebuilt.contacts_size(), 10);
  ASSERT_EQ(Diff(rebuilt, (*original)->ExportState()), "")
      << "the replica, agents in first-seen order, must be the snapshot itself";

  ManualClock restored_clock(clock.NowMs());
  auto restored = Engine::Restore(RandomWorldConfig(), &restored_clock, rebuilt);
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  const size_t start = world.log().size();
  for (int i = 0; i < 3'000; ++i) ASSERT_NO_FATAL_FAILURE(world.Step(original->get()));
  ASSERT_NO_FATAL_FAILURE(world.Replay(start, restored->get(), &restored_clock));
  EXPECT_EQ(Diff((*restored)->ExportState(), (*original)->ExportState()), "");
}

std::vector<std::string> AgentIds(const Changes& c) {
  std::vector<std::string> ids;
  for (const auto& a : c.agents) ids.push_back(a.agent().id());
  return ids;
}
std::vector<std::string> ContactIds(const Changes& c) {
  std::vector<std::string> ids;
  for (const auto& r : c.contacts) ids.push_back(r.contact().id());
  return ids;
}
using Ids = std::vector<std::string>;

TEST_F(EngineTest, TakeChangesWithTrackingOffIsEmpty) {
  Login("a", {{"sales", 1}});
  Arrive("c1", "sales");
  Changes changes;
  changes.agents.emplace_back();  // replaced, not appended to
  engine_->TakeChanges(&changes);
  EXPECT_TRUE(changes.empty());
  EXPECT_EQ(changes.queue_stats.size(), 2u) << "queue stats are always filled";
  EXPECT_EQ(changes.next_seq, engine_->ExportState().next_seq());

  // Switching tracking off drops what was pending.
  engine_->TrackChanges(true);
  NotReady("a");
  engine_->TrackChanges(false);
  engine_->TakeChanges(&changes);
  EXPECT_TRUE(changes.empty());
  engine_->TrackChanges(true);
  engine_->TakeChanges(&changes);
  EXPECT_TRUE(changes.empty()) << "nothing changed since tracking was switched on again";
}

TEST_F(EngineTest, TakeChangesListsOnlyTheRecordsAnEventChanged) {
  Login("a", {{"sales", 1}});
  Login("b", {{"sales", 1}});
  // A requirement seen for the first time ranks every agent that meets it, which may list them
  // all once; see it before tracking starts.
  Arrive("c0", "sales");
  Do([&](Decisions* o) { return engine_->ContactAbandoned("c0", o); });
  engine_->TrackChanges(true);
  Changes changes;

  NotReady("a", "lunch");
  engine_->TakeChanges(&changes);
  EXPECT_EQ(AgentIds(changes), Ids{"a"});
  EXPECT_EQ(changes.agents[0].reason(), "lunch");
  EXPECT_TRUE(changes.contacts.empty());

  Advance(1'000);  // no timer due: nothing changes
  engine_->TakeChanges(&changes);
  EXPECT_TRUE(changes.empty());
  EXPECT_EQ(changes.taken_at_ms, kStartMs + 1'000);

  Arrive("c1", "sales");  // offered to b
  engine_->TakeChanges(&changes);
  EXPECT_EQ(AgentIds(changes), Ids{"b"});
  EXPECT_EQ(ContactIds(changes), Ids{"c1"});
  EXPECT_EQ(changes.contacts[0].state(), pb::CONTACT_STATE_OFFERED);
  EXPECT_EQ(changes.queue_stats[0].arrived(), 2u);

  Do([&](Decisions* o) { return engine_->ContactAbandoned("c1", o); });
  engine_->TakeChanges(&changes);
  EXPECT_EQ(AgentIds(changes), Ids{"b"});
  EXPECT_TRUE(changes.contacts.empty());
  EXPECT_EQ(changes.removed_contacts, Ids{"c1"});

  engine_->TakeChanges(&changes);
  EXPECT_TRUE(changes.empty()) << "each change is reported once";
}

// Within one call, the ACW limit frees c1's slot and the arriving c2 takes it: c1 must still be
// reported removed.
TEST_F(EngineTest, TakeChangesReportsAContactWhoseSlotWasReusedInTheSameCall) {
  Login("a", {{"sales", 1}});
  Arrive("c1", "sales");
  Accept("a", "c1");
  End("c1");  // a is in after-contact work for c1
  engine_->TrackChanges(true);
  clock_.AdvanceMs(31'000);  // past the 30 s ACW limit; fired by the next call
  Arrive("c2", "sales");
  Changes changes;
  engine_->TakeChanges(&changes);
  EXPECT_EQ(changes.removed_contacts, Ids{"c1"});
  EXPECT_EQ(ContactIds(changes), Ids{"c2"});
  EXPECT_EQ(changes.contacts[0].agent_id(), "a");
}

// An id that finished and arrived again between two calls is a record, not a tombstone.
TEST_F(EngineTest, TakeChangesReportsAReusedContactIdAsLive) {
  Arrive("c1", "sales");
  engine_->TrackChanges(true);
  Do([&](Decisions* o) { return engine_->ContactCancelled("c1", o); });
  Arrive("c1", "support");
  Changes changes;
  engine_->TakeChanges(&changes);
  EXPECT_TRUE(changes.removed_contacts.empty());
  ASSERT_EQ(ContactIds(changes), Ids{"c1"});
  EXPECT_EQ(changes.contacts[0].queue(), "support");

  Do([&](Decisions* o) { return engine_->ContactCancelled("c1", o); });
  Arrive("c1", "sales");
  Do([&](Decisions* o) { return engine_->ContactCancelled("c1", o); });
  engine_->TakeChanges(&changes);
  EXPECT_EQ(changes.removed_contacts, Ids{"c1"}) << "listed once";
  EXPECT_TRUE(changes.contacts.empty());
}

}  // namespace
}  // namespace sb::engine::testing
