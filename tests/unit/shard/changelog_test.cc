// ChangelogState: groups apply only when their meta arrives, claims fence older epochs, and the
// outputs of groups not known to be delivered are kept for the next owner.
#include "router/shard/changelog.h"

#include <gtest/gtest.h>

namespace sb::shard {
namespace {

kafka::Record Rec(int64_t offset, uint64_t epoch, std::string key,
                  std::optional<std::string> value) {
  kafka::Record r;
  r.topic = "sb.router-changelog";
  r.offset = offset;
  r.key = std::move(key);
  r.value = std::move(value);
  r.headers.push_back(kafka::EpochHeader(epoch));
  return r;
}

kafka::Record Claim(int64_t offset, uint64_t epoch, const std::string& node) {
  pb::EpochClaim c;
  c.set_epoch(epoch);
  c.set_node_id(node);
  return Rec(offset, epoch, ClaimKey(epoch), c.SerializeAsString());
}

std::string Agent(const std::string& id) {
  pb::AgentRecord a;
  a.mutable_agent()->set_id(id);
  a.set_presence(pb::AGENT_STATE_READY);
  return a.SerializeAsString();
}

std::string Contact(const std::string& id, uint64_t seq) {
  pb::ContactRecord c;
  c.mutable_contact()->set_id(id);
  c.set_seq(seq);
  return c.SerializeAsString();
}

kafka::Record Meta(int64_t offset, uint64_t epoch, int64_t contacts_next,
                   std::vector<std::string> outputs = {}, int64_t acked_through = -1) {
  pb::ShardMeta m;
  m.set_contacts_next_offset(contacts_next);
  m.set_outputs_acked_through(acked_through);
  for (auto& id : outputs) m.add_outputs()->set_output_id(id);
  return Rec(offset, epoch, kMetaKey, m.SerializeAsString());
}

TEST(ChangelogStateTest, GroupAppliesOnlyWithItsMeta) {
  ChangelogState s;
  ASSERT_TRUE(s.Apply(Claim(0, 1, "n1")).ok());
  ASSERT_TRUE(s.Apply(Rec(1, 1, AgentKey("a1"), Agent("a1"))).ok());
  ASSERT_TRUE(s.Apply(Rec(2, 1, ContactKey("c1"), Contact("c1", 1))).ok());
  EXPECT_EQ(s.ToEngineState()->agents_size(), 0);  // no meta yet: nothing happened
  EXPECT_EQ(s.StagedKeys().size(), 2u);
  ASSERT_TRUE(s.Apply(Meta(3, 1, 7)).ok());
  auto st = s.ToEngineState();
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->agents_size(), 1);
  EXPECT_EQ(st->contacts_size(), 1);
  EXPECT_EQ(s.meta().contacts_next_offset(), 7);
  EXPECT_EQ(s.next_offset(), 4);
}

TEST(ChangelogStateTest, TombstoneRemovesAContact) {
  ChangelogState s;
  ASSERT_TRUE(s.Apply(Claim(0, 1, "n1")).ok());
  ASSERT_TRUE(s.Apply(Rec(1, 1, ContactKey("c1"), Contact("c1", 1))).ok());
  ASSERT_TRUE(s.Apply(Meta(2, 1, 1)).ok());
  ASSERT_TRUE(s.Apply(Rec(3, 1, ContactKey("c1"), std::nullopt)).ok());
  ASSERT_TRUE(s.Apply(Meta(4, 1, 2)).ok());
  EXPECT_EQ(s.ToEngineState()->contacts_size(), 0);
}

TEST(ChangelogStateTest, NewerClaimFencesTheOldOwner) {
  ChangelogState s;
  ASSERT_TRUE(s.Apply(Claim(0, 1, "n1")).ok());
  ASSERT_TRUE(s.Apply(Rec(1, 1, AgentKey("a1"), Agent("a1"))).ok());  // n1 dies mid-group
  ASSERT_TRUE(s.Apply(Claim(2, 2, "n2")).ok());
  EXPECT_EQ(s.abandoned_keys(), std::vector<std::string>{AgentKey("a1")});
  // The zombie n1 finishes its group after n2's claim: ignored.
  ASSERT_TRUE(s.Apply(Rec(3, 1, ContactKey("c9"), Contact("c9", 9))).ok());
  ASSERT_TRUE(s.Apply(Meta(4, 1, 99)).ok());
  EXPECT_EQ(s.ToEngineState()->agents_size(), 0);
  EXPECT_EQ(s.ToEngineState()->contacts_size(), 0);
  EXPECT_EQ(s.meta().contacts_next_offset(), 0);
  EXPECT_EQ(s.epoch(), 2u);
  EXPECT_EQ(s.owner(), "n2");
  EXPECT_EQ(s.claim_offset(), 2);
}

TEST(ChangelogStateTest, SecondClaimOfTheSameEpochLoses) {
  ChangelogState s;
  ASSERT_TRUE(s.Apply(Claim(0, 1, "n1")).ok());
  ASSERT_TRUE(s.Apply(Claim(1, 2, "n2")).ok());
  ASSERT_TRUE(s.Apply(Claim(2, 2, "n3")).ok());  // raced n2 with the same epoch: too late
  EXPECT_EQ(s.owner(), "n2");
  EXPECT_EQ(s.claim_offset(), 1);
}

TEST(ChangelogStateTest, KeepsOutputsUntilAcknowledged) {
  ChangelogState s;
  ASSERT_TRUE(s.Apply(Claim(0, 1, "n1")).ok());
  ASSERT_TRUE(s.Apply(Meta(1, 1, 1, {"c1#1#OFFER"})).ok());
  ASSERT_TRUE(s.Apply(Meta(2, 1, 2, {"c2#1#OFFER"})).ok());
  EXPECT_EQ(s.UnackedOutputs().size(), 2u);
  ASSERT_TRUE(s.Apply(Meta(3, 1, 3, {}, /*acked_through=*/1)).ok());
  ASSERT_EQ(s.UnackedOutputs().size(), 1u);
  EXPECT_EQ(s.UnackedOutputs()[0].output_id(), "c2#1#OFFER");
}

TEST(ChangelogStateTest, MalformedRecordsAreNamedAndSkipped) {
  ChangelogState s;
  kafka::Record no_epoch = Rec(0, 1, ClaimKey(1), "x");
  no_epoch.headers.clear();
  Status st = s.Apply(no_epoch);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("offset 0"), std::string::npos);
  ASSERT_TRUE(s.Apply(Claim(1, 1, "n1")).ok());
  EXPECT_FALSE(s.Apply(Rec(2, 1, "bogus", "x")).ok());
  EXPECT_FALSE(s.Apply(Rec(3, 1, kMetaKey, "\xff\xff")).ok());
  EXPECT_EQ(s.next_offset(), 4);
}

TEST(ChangelogStateTest, CheckpointSkipsRecordsItAlreadyHolds) {
  pb::EngineState base;
  base.add_agents()->mutable_agent()->set_id("a1");
  pb::ShardMeta meta;
  meta.set_contacts_next_offset(5);
  ChangelogState s(base, {}, {}, meta, 3, /*next_offset=*/10);
  ASSERT_TRUE(s.Apply(Rec(4, 3, AgentKey("a2"), Agent("a2"))).ok());  // before the checkpoint
  ASSERT_TRUE(s.Apply(Meta(5, 3, 6)).ok());
  EXPECT_EQ(s.ToEngineState()->agents_size(), 1);
  ASSERT_TRUE(s.Apply(Rec(10, 3, AgentKey("a2"), Agent("a2"))).ok());
  ASSERT_TRUE(s.Apply(Meta(11, 3, 7)).ok());
  EXPECT_EQ(s.ToEngineState()->agents_size(), 2);
  EXPECT_EQ(s.meta().contacts_next_offset(), 7);
}

TEST(ChangelogStateTest, FollowUpTasksAndForwardsAreKeptLikeEntities) {
  pb::FollowUpSchedulerState tasks;
  tasks.add_tasks()->set_id("t1");
  pb::ForwardsSeen forwards;
  forwards.add_seen()->set_contact_id("x1");
  ChangelogState s(pb::EngineState(), tasks, forwards, pb::ShardMeta(), 1, /*next_offset=*/2);
  pb::FollowUpTask t2;
  t2.set_id("t2");
  t2.set_state(pb::FOLLOW_UP_STATE_FIRING);
  ASSERT_TRUE(s.Apply(Rec(2, 1, FollowUpKey("t2"), t2.SerializeAsString())).ok());
  ASSERT_TRUE(s.Apply(Rec(3, 1, ForwardKey("x1"), std::nullopt)).ok());  // expired
  EXPECT_EQ(s.ToFollowUpState()->tasks_size(), 1);                       // staged until the meta
  pb::ShardMeta m;
  m.set_followup_outage(true);
  m.set_followup_outage_since_ms(77);
  ASSERT_TRUE(s.Apply(Rec(4, 1, kMetaKey, m.SerializeAsString())).ok());
  auto st = s.ToFollowUpState();
  ASSERT_TRUE(st.ok());
  ASSERT_EQ(st->tasks_size(), 2);
  EXPECT_EQ(st->tasks(1).state(), pb::FOLLOW_UP_STATE_FIRING);
  EXPECT_TRUE(st->outage());
  EXPECT_EQ(st->outage_since_ms(), 77);
  EXPECT_EQ(s.ToForwards()->seen_size(), 0);
  EXPECT_EQ(s.Committed(FollowUpKey("t1")).has_value(), true);
}

// The home shard's agent identities (engine.h ReserveIdentities) are engine records like agents:
// written by EntriesFor, applied with their group's meta, carried by snapshots.
TEST(ChangelogStateTest, AgentIdentitiesAreKeptThroughGroupsAndSnapshots) {
  engine::Changes changes;
  pb::AgentIdentity held;
  held.set_agent_id("a1");
  held.set_held(true);
  held.set_partition(3);
  held.set_domain("d07");
  held.set_reservation(2);
  (*held.mutable_seen())[3] = 2;
  changes.identities.push_back(held);
  const std::vector<Entry> entries = EntriesFor(changes);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].key, "i/a1");
  ChangelogState s;
  ASSERT_TRUE(s.Apply(Claim(0, 1, "n1")).ok());
  ASSERT_TRUE(s.Apply(Rec(1, 1, entries[0].key, entries[0].value)).ok());
  EXPECT_EQ(s.ToEngineState()->identities_size(), 0);  // staged until the meta
  ASSERT_TRUE(s.Apply(Meta(2, 1, 5)).ok());
  auto st = s.ToEngineState();
  ASSERT_TRUE(st.ok());
  ASSERT_EQ(st->identities_size(), 1);
  EXPECT_EQ(st->identities(0).partition(), 3);
  EXPECT_EQ(st->identities(0).seen().at(3), 2u);

  pb::ShardSnapshot snap;
  held.set_agent_id("a2");
  *snap.mutable_engine()->add_identities() = held;
  int64_t offset = 3;
  for (const Entry& e : SnapshotEntries(snap, uint64_t{1} << 32 | 1, 8)) {
    ASSERT_TRUE(s.Apply(Rec(offset++, 1, e.key, e.value)).ok());
  }
  st = s.ToEngineState();
  ASSERT_TRUE(st.ok());
  ASSERT_EQ(st->identities_size(), 1);
  EXPECT_EQ(st->identities(0).agent_id(), "a2");  // the snapshot's, a1 is not in it
}

// A snapshot holding agent `agent` and nothing else, as `epoch`'s owner writes it, in chunks of
// 8 bytes from `offset` on; returns the offset after it.
int64_t AppendSnapshot(ChangelogState* s, int64_t offset, uint64_t epoch, const std::string& agent,
                       int64_t contacts_next, uint32_t slot, size_t drop_last = 0) {
  pb::ShardSnapshot snap;
  snap.mutable_meta()->set_contacts_next_offset(contacts_next);
  snap.mutable_engine()->add_agents()->ParseFromString(Agent(agent));
  snap.add_unacked_outputs()->set_output_id("c0#1#OFFER");
  snap.set_slot(slot);
  std::vector<Entry> chunks = SnapshotEntries(snap, epoch << 32 | 1, 8);
  EXPECT_GT(chunks.size(), 2u);
  chunks.resize(chunks.size() - drop_last);
  for (const Entry& e : chunks) EXPECT_TRUE(s->Apply(Rec(offset++, epoch, e.key, e.value)).ok());
  return offset;
}

TEST(ChangelogStateTest, ACompleteSnapshotReplacesEverythingReadBefore) {
  ChangelogState s;
  ASSERT_TRUE(s.Apply(Claim(0, 1, "n1")).ok());
  ASSERT_TRUE(s.Apply(Rec(1, 1, AgentKey("a1"), Agent("a1"))).ok());
  ASSERT_TRUE(s.Apply(Meta(2, 1, 5, {"c9#1#OFFER"})).ok());
  int64_t next = AppendSnapshot(&s, 3, 1, "a2", 6, /*slot=*/1);
  EXPECT_EQ(s.snapshot_offset(), next - 1);
  EXPECT_EQ(s.meta().snapshot_slot(), 1u);
  ASSERT_TRUE(s.Apply(Rec(next, 1, ContactKey("c1"), Contact("c1", 1))).ok());
  ASSERT_TRUE(s.Apply(Meta(next + 1, 1, 7)).ok());
  auto st = s.ToEngineState();
  ASSERT_TRUE(st.ok());
  ASSERT_EQ(st->agents_size(), 1);
  EXPECT_EQ(st->agents(0).agent().id(), "a2");  // a1 is not in the snapshot: gone
  EXPECT_EQ(st->contacts_size(), 1);            // written after it
  EXPECT_EQ(s.meta().contacts_next_offset(), 7);
  // The outputs the snapshot carried, not the ones of the groups before it.
  ASSERT_EQ(s.UnackedOutputs().size(), 1u);
  EXPECT_EQ(s.UnackedOutputs()[0].output_id(), "c0#1#OFFER");
  // Acknowledged through the offset before the snapshot: forgotten.
  ASSERT_TRUE(s.Apply(Meta(next + 2, 1, 7, {}, /*acked_through=*/2)).ok());
  EXPECT_TRUE(s.UnackedOutputs().empty());
}

TEST(ChangelogStateTest, AnUnfinishedSnapshotChangesNothing) {
  ChangelogState s;
  ASSERT_TRUE(s.Apply(Claim(0, 1, "n1")).ok());
  ASSERT_TRUE(s.Apply(Rec(1, 1, AgentKey("a1"), Agent("a1"))).ok());
  ASSERT_TRUE(s.Apply(Meta(2, 1, 5)).ok());
  // n1 dies in the middle of its snapshot; n2 claims.
  int64_t next = AppendSnapshot(&s, 3, 1, "a2", 6, 0, /*drop_last=*/1);
  ASSERT_TRUE(s.Apply(Claim(next, 2, "n2")).ok());
  EXPECT_EQ(s.snapshot_offset(), -1);
  ASSERT_EQ(s.ToEngineState()->agents_size(), 1);
  EXPECT_EQ(s.ToEngineState()->agents(0).agent().id(), "a1");
  EXPECT_EQ(s.meta().contacts_next_offset(), 5);
}

TEST(ChangelogStateTest, AZombiesSnapshotAfterANewerClaimIsIgnored) {
  ChangelogState s;
  ASSERT_TRUE(s.Apply(Claim(0, 1, "n1")).ok());
  ASSERT_TRUE(s.Apply(Claim(1, 2, "n2")).ok());
  ASSERT_TRUE(s.Apply(Rec(2, 2, AgentKey("a1"), Agent("a1"))).ok());
  ASSERT_TRUE(s.Apply(Meta(3, 2, 5)).ok());
  AppendSnapshot(&s, 4, 1, "zombie", 99, 0);
  EXPECT_EQ(s.snapshot_offset(), -1);
  ASSERT_EQ(s.ToEngineState()->agents_size(), 1);
  EXPECT_EQ(s.ToEngineState()->agents(0).agent().id(), "a1");
  EXPECT_EQ(s.meta().contacts_next_offset(), 5);
}

// Retention removed the head of the log, claims included: the records of the epoch that wrote
// what remains count, and a zombie's after them do not.
TEST(ChangelogStateTest, RecordsOfAnEpochWhoseClaimIsGoneCount) {
  ChangelogState s;
  int64_t next = AppendSnapshot(&s, 40, 3, "a3", 8, 0);
  EXPECT_EQ(s.epoch(), 3u);
  ASSERT_TRUE(s.Apply(Rec(next, 2, AgentKey("zombie"), Agent("zombie"))).ok());
  ASSERT_TRUE(s.Apply(Meta(next + 1, 2, 99)).ok());
  ASSERT_EQ(s.ToEngineState()->agents_size(), 1);
  EXPECT_EQ(s.ToEngineState()->agents(0).agent().id(), "a3");
  EXPECT_EQ(s.meta().contacts_next_offset(), 8);
}

// What compaction leaves: the newest record per key. Claims have a key per epoch, so every claim
// stays, and the reader rule (a newer claim before a record fences it) still holds: an agent last
// written under epoch 1 counts, a zombie's write of epoch 1 after claim 2 does not.
TEST(ChangelogStateTest, ACompactedLogKeepsEveryClaimAndOlderEpochsEntities) {
  EXPECT_NE(ClaimKey(1), ClaimKey(2));
  EXPECT_EQ(ClaimKey(7), "claim/00000000000000000007");
  ChangelogState s;
  ASSERT_TRUE(s.Apply(Claim(0, 1, "n1")).ok());
  ASSERT_TRUE(s.Apply(Rec(3, 1, AgentKey("a1"), Agent("a1"))).ok());
  ASSERT_TRUE(s.Apply(Claim(10, 2, "n2")).ok());  // n1's meta at 4 was compacted by 2's metas
  ASSERT_TRUE(s.Apply(Rec(11, 1, AgentKey("a2"), Agent("a2"))).ok());  // zombie
  ASSERT_TRUE(s.Apply(Rec(12, 2, AgentKey("a3"), Agent("a3"))).ok());
  ASSERT_TRUE(s.Apply(Meta(13, 2, 5)).ok());
  auto state = s.ToEngineState();
  ASSERT_TRUE(state.ok());
  std::vector<std::string> ids;
  for (const auto& a : state->agents()) ids.push_back(a.agent().id());
  EXPECT_EQ(ids, std::vector<std::string>{"a3"});
}

TEST(ChangelogStateTest, MalformedSnapshotChunksAreNamed) {
  ChangelogState s;
  ASSERT_TRUE(s.Apply(Claim(0, 1, "n1")).ok());
  Status st = s.Apply(Rec(1, 1, "s/0/000000", "\xff\xff"));
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("snapshot chunk"), std::string::npos) << st.message();
  pb::SnapshotChunk bad;
  bad.set_snapshot_id(1);
  bad.set_count(1);
  bad.set_data("\xff\xff\xff");
  st = s.Apply(Rec(2, 1, "s/0/000000", bad.SerializeAsString()));
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("do not parse"), std::string::npos) << st.message();
  EXPECT_EQ(s.snapshot_offset(), -1);
}

}  // namespace
}  // namespace sb::shard
