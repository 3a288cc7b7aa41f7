// Shard ownership against a real Kafka-protocol broker (librdkafka's mock cluster, in process):
// a new owner restores what the old one committed, and an old owner that keeps running (a
// zombie) is fenced at its next write and publishes nothing more.
#include "router/shard/shard.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>

#include "common/config/config.h"
#include "fixtures.h"
#include "router/control/control.h"
#include "router/kafka/topics.h"
#include "switchboard/v1/events.pb.h"

namespace sb::shard {
namespace {

constexpr int32_t kPartitions = 2;

class ShardTest : public ShardFixture {
 protected:
  ShardTest() : ShardFixture(kPartitions, 1'700'000'000'000) {}

  void SetUp() override {
    SetUpConfig(kOneDomainConfig);
    partition_ = kafka::PartitionFor("d00", kPartitions);
  }

  Owner MakeOwner(const std::string& node) { return ShardFixture::MakeOwner(node, partition_); }

  kafka::Record Input(std::string_view topic, int64_t offset, const pb::RoutingEvent& ev) {
    return ShardFixture::Input(topic, partition_, offset, ev);
  }

  // Every output published on the shard's partition of sb.assignments, in order.
  std::vector<pb::ShardOutput> Outputs() {
    std::vector<pb::ShardOutput> out;
    for (const kafka::Record& r : kafka_.ReadPartition(kafka::kAssignmentsTopic, partition_)) {
      out.emplace_back().ParseFromString(*r.value);
    }
    return out;
  }

  int32_t partition_ = 0;
};

pb::RoutingEvent Accept(const std::string& agent, const std::string& contact) {
  pb::RoutingEvent ev;
  ev.mutable_offer_accepted()->set_agent_id(agent);
  ev.mutable_offer_accepted()->set_contact_id(contact);
  return ev;
}

TEST_F(ShardTest, NewOwnerRestoresAndZombieIsFenced) {
  Owner a = MakeOwner("n1");
  {
    Status st = a.shard->Claim();
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  EXPECT_EQ(a.shard->epoch(), 1u);
  ASSERT_TRUE(a.shard->OnInput(Input(kafka::kAgentEventsTopic, 0, Login("ag1"))).ok());
  ASSERT_TRUE(a.shard->OnInput(Input(kafka::kContactsTopic, 0, Arrive("c1"))).ok());
  Settle(a);
  ASSERT_TRUE(a.shard->failure().ok());
  ASSERT_TRUE(a.shard->idle());

  // n2 takes over while n1 still runs.
  Owner b = MakeOwner("n2");
  ASSERT_TRUE(b.shard->Claim().ok()) << b.shard->failure().ToString();
  EXPECT_EQ(b.shard->epoch(), 2u);
  EXPECT_EQ(b.shard->Summarize().being_offered, 1u);  // c1's offer to ag1 survived
  const auto offsets = b.shard->input_offsets();
  EXPECT_EQ(offsets[0].offset, 1);  // contacts: next after c1
  EXPECT_EQ(offsets[1].offset, 1);  // agent events: next after the login

  // The zombie n1 applies the acceptance and tries to write: fenced, nothing published.
  ASSERT_TRUE(a.shard->OnInput(Input(kafka::kAgentEventsTopic, 1, Accept("ag1", "c1"))).ok());
  Settle(a);
  EXPECT_FALSE(a.shard->failure().ok());
  EXPECT_NE(a.shard->failure().message().find("fenced"), std::string::npos);
  EXPECT_FALSE(a.shard->Flush().ok());

  // The owner applies the same acceptance and connects the contact, once.
  ASSERT_TRUE(b.shard->OnInput(Input(kafka::kAgentEventsTopic, 1, Accept("ag1", "c1"))).ok());
  Settle(b);
  ASSERT_TRUE(b.shard->failure().ok());

  // The new owner re-sends outputs not known to be delivered: same id, same decision. Distinct
  // outputs: one offer, one connection, by the owner of epoch 2.
  std::map<std::string, std::string> by_id;
  std::map<std::string, int> connected_by_epoch;
  for (const auto& o : Outputs()) {
    auto [it, fresh] = by_id.try_emplace(o.output_id(), o.decision().SerializeAsString());
    EXPECT_EQ(it->second, o.decision().SerializeAsString()) << "contradicting " << o.output_id();
    if (fresh && o.decision().type() == pb::DECISION_CONNECTED) {
      ++connected_by_epoch[std::to_string(o.epoch())];
    }
  }
  EXPECT_EQ(by_id.size(), 2u);
  EXPECT_TRUE(by_id.count("c1#1#DECISION_OFFER"));
  EXPECT_EQ(connected_by_epoch, (std::map<std::string, int>{{"2", 1}}));
}

// Two nodes claim the same epoch at once (a rebalance race, or two routers started with one node
// id): the first claim in the log wins and every reader ignores the second. The winner must
// ignore it too when it finds it between its own writes, not take it for a newer owner.
TEST_F(ShardTest, AClaimThatLostTheRaceDoesNotFenceTheWinner) {
  Owner a = MakeOwner("n1");
  ASSERT_TRUE(a.shard->Claim().ok()) << a.shard->failure().ToString();
  ASSERT_EQ(a.shard->epoch(), 1u);
  // The loser's claim of epoch 1, appended after the winner's (it restored before a claimed).
  pb::EpochClaim lost;
  lost.set_epoch(1);
  lost.set_node_id("n1");
  auto twin = kafka::Producer::Create(kafka_.bootstrap(), {},
                                      [](uint64_t, int32_t, int64_t, const Status&) {});
  ASSERT_TRUE(twin.ok());
  ASSERT_TRUE((*twin)
                  ->Produce(kafka::kChangelogTopic, partition_, ClaimKey(1),
                            lost.SerializeAsString(), {kafka::EpochHeader(1)}, 0)
                  .ok());
  ASSERT_TRUE((*twin)->Flush(10000).ok());

  ASSERT_TRUE(a.shard->OnInput(Input(kafka::kAgentEventsTopic, 0, Login("ag1"))).ok());
  ASSERT_TRUE(a.shard->OnInput(Input(kafka::kContactsTopic, 0, Arrive("c1"))).ok());
  Settle(a);
  EXPECT_TRUE(a.shard->failure().ok()) << a.shard->failure().ToString();
  EXPECT_EQ(a.shard->Summarize().being_offered, 1u);

  // A newer claim still fences it.
  Owner b = MakeOwner("n2");
  ASSERT_TRUE(b.shard->Claim().ok()) << b.shard->failure().ToString();
  EXPECT_EQ(b.shard->epoch(), 2u);
  EXPECT_EQ(b.shard->Summarize().being_offered, 1u);
  ASSERT_TRUE(a.shard->OnInput(Input(kafka::kAgentEventsTopic, 1, Accept("ag1", "c1"))).ok());
  Settle(a);
  EXPECT_NE(a.shard->failure().message().find("fenced"), std::string::npos);
  EXPECT_NE(a.shard->failure().message().find("node n2 claimed the shard"), std::string::npos)
      << a.shard->failure().ToString();
}

// An event of a desktop the engine refuses becomes one DECISION_REFUSED output (the actor, the
// contact, the code, the engine's message, the input record), repeated after a failover with the
// same id and content; a transfer's decision names its input record, and the next connection
// carries the owner and the note.
TEST_F(ShardTest, RefusalsAndTransfersAreOutputs) {
  Owner a = MakeOwner("n1");
  ASSERT_TRUE(a.shard->Claim().ok());
  ASSERT_TRUE(a.shard->OnInput(Input(kafka::kAgentEventsTopic, 0, Login("ag1"))).ok());
  ASSERT_TRUE(a.shard->OnInput(Input(kafka::kContactsTopic, 0, Arrive("c1"))).ok());
  // Accepting an offer of a contact that does not exist: refused.
  ASSERT_TRUE(a.shard->OnInput(Input(kafka::kAgentEventsTopic, 1, Accept("ag1", "c9"))).ok());
  pb::RoutingEvent timer;
  timer.mutable_timer();
  ASSERT_TRUE(a.shard->OnInput(Input(kafka::kAgentEventsTopic, 2, timer)).ok());
  ASSERT_TRUE(a.shard->OnInput(Input(kafka::kAgentEventsTopic, 3, Accept("ag1", "c1"))).ok());
  ASSERT_TRUE(a.shard->OnInput(Input(kafka::kAgentEventsTopic, 4, Login("ag2"))).ok());
  pb::RoutingEvent transfer;
  transfer.mutable_contact_transferred()->set_contact_id("c1");
  transfer.mutable_contact_transferred()->set_by_agent_id("ag1");
  transfer.mutable_contact_transferred()->set_to_agent_id("ag2");
  transfer.mutable_contact_transferred()->set_handoff_note("note for ag2");
  ASSERT_TRUE(a.shard->OnInput(Input(kafka::kContactsTopic, 1, transfer)).ok());
  ASSERT_TRUE(a.shard->OnInput(Input(kafka::kAgentEventsTopic, 5, Accept("ag2", "c1"))).ok());
  Settle(a);
  ASSERT_TRUE(a.shard->failure().ok());
  EXPECT_EQ(a.shard->stats().rejected_events, 1u);

  // A new owner re-sends what it cannot know was delivered: still one refusal.
  Owner b = MakeOwner("n2");
  ASSERT_TRUE(b.shard->Claim().ok());
  Settle(b);

  std::map<std::string, pb::Decision> by_id;
  for (const auto& o : Outputs()) {
    auto [it, fresh] = by_id.try_emplace(o.output_id(), o.decision());
    EXPECT_EQ(it->second.SerializeAsString(), o.decision().SerializeAsString()) << o.output_id();
  }
  std::vector<pb::Decision> refused, transferred, connected;
  for (const auto& [id, d] : by_id) {
    if (d.type() == pb::DECISION_REFUSED) refused.push_back(d);
    if (d.type() == pb::DECISION_TRANSFERRED) transferred.push_back(d);
    if (d.type() == pb::DECISION_CONNECTED && d.agent_id() == "ag2") connected.push_back(d);
  }
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].agent_id(), "ag1");
  EXPECT_EQ(refused[0].contact_id(), "c9");
  EXPECT_EQ(refused[0].refusal_code(), "NOT_FOUND");
  EXPECT_NE(refused[0].detail().find("unknown contact"), std::string::npos) << refused[0].detail();
  EXPECT_EQ(refused[0].refused_event(), "offer_accepted");
  EXPECT_EQ(refused[0].input_topic(), kafka::kAgentEventsTopic);
  EXPECT_EQ(refused[0].input_offset(), 1);
  ASSERT_EQ(transferred.size(), 1u);
  EXPECT_EQ(transferred[0].agent_id(), "ag1");
  EXPECT_EQ(transferred[0].input_topic(), kafka::kContactsTopic);
  EXPECT_EQ(transferred[0].input_offset(), 1);
  ASSERT_EQ(connected.size(), 1u);
  EXPECT_EQ(connected[0].owner_agent_id(), "ag1");
  EXPECT_EQ(connected[0].handoff_note(), "note for ag2");
}

// A record no shard can process never stops a shard (the next owner would stop on it too) and is
// never dropped unseen: it goes to sb.dead-letter with where it came from and why.
TEST_F(ShardTest, RecordsAShardCannotProcessGoToTheDeadLetterTopic) {
  auto control = control::ControlFollower::Open(kafka_.bootstrap(), {}, "test");
  ASSERT_TRUE(control.ok()) << control.status().ToString();
  configs_ = control->get();  // an empty sb.control: no version is known
  Owner a = MakeOwner("n1");
  ASSERT_TRUE(a.shard->Claim().ok());
  kafka::Record garbage = Input(kafka::kContactsTopic, 0, {});
  garbage.key = "d00";
  garbage.value = std::string("\xff\xff\xff not protobuf", 17);
  ASSERT_TRUE(a.shard->OnInput(garbage).ok());
  pb::RoutingEvent marker;
  marker.mutable_config_changed()->set_version("0123456789abcdef");
  ASSERT_TRUE(a.shard->OnInput(Input(kafka::kContactsTopic, 1, marker)).ok());
  ASSERT_TRUE(a.shard->OnInput(Input(kafka::kAgentEventsTopic, 0, Login("ag1"))).ok());
  ASSERT_TRUE(a.shard->OnInput(Input(kafka::kContactsTopic, 2, Arrive("c1"))).ok());
  Settle(a);
  ASSERT_TRUE(a.shard->failure().ok()) << a.shard->failure().ToString();
  EXPECT_EQ(a.shard->stats().dead_letters, 2u);
  EXPECT_EQ(a.shard->Summarize().waiting, 0u);  // c1 was offered: the shard went on

  const std::vector<pb::DeadLetter> letters = DeadLetters(partition_);
  ASSERT_EQ(letters.size(), 2u);
  EXPECT_EQ(letters[0].source_topic(), kafka::kContactsTopic);
  EXPECT_EQ(letters[0].source_partition(), partition_);
  EXPECT_EQ(letters[0].source_offset(), 0);
  EXPECT_EQ(letters[0].key(), "d00");
  EXPECT_EQ(letters[0].value(), *garbage.value);
  EXPECT_EQ(letters[0].reason(), "not a RoutingEvent");
  EXPECT_EQ(letters[0].written_by(), "shard " + std::to_string(partition_));
  EXPECT_EQ(letters[1].source_offset(), 1);
  EXPECT_NE(letters[1].reason().find("0123456789abcdef"), std::string::npos) << letters[1].reason();
  EXPECT_NE(letters[1].reason().find("no such version"), std::string::npos) << letters[1].reason();

  // The next owner starts after them: at most a re-send of outputs it cannot know were
  // delivered (the same keys), no new dead letter.
  Owner b = MakeOwner("n2");
  ASSERT_TRUE(b.shard->Claim().ok());
  Settle(b);
  EXPECT_TRUE(b.shard->failure().ok()) << b.shard->failure().ToString();
  std::set<std::string> keys;
  for (const pb::DeadLetter& l : DeadLetters(partition_)) keys.insert(kafka::DeadLetterKey(l));
  EXPECT_EQ(keys, (std::set<std::string>{"sb.contacts/" + std::to_string(partition_) + "/0",
                                         "sb.contacts/" + std::to_string(partition_) + "/1"}));
  EXPECT_EQ(b.shard->stats().dead_letters, 0u);
}

TEST_F(ShardTest, RestartRestoresFromCheckpointAndTail) {
  {
    Owner a = MakeOwner("n1");
    {
      Status st = a.shard->Claim();
      ASSERT_TRUE(st.ok()) << st.ToString();
    }
    ASSERT_TRUE(a.shard->OnInput(Input(kafka::kAgentEventsTopic, 0, Login("ag1"))).ok());
    Settle(a);
    ASSERT_TRUE(a.shard->Checkpoint().ok());  // checkpoint holds the login
    ASSERT_TRUE(a.shard->OnInput(Input(kafka::kContactsTopic, 0, Arrive("c1"))).ok());
    Settle(a);  // the tail holds the arrival and offer; then n1 "crashes"
  }
  Owner again = MakeOwner("n1");
  ASSERT_TRUE(again.shard->Claim().ok());
  EXPECT_EQ(again.shard->epoch(), 2u);
  EXPECT_EQ(again.shard->Summarize().being_offered, 1u);
  EXPECT_EQ(again.shard->input_offsets()[0].offset, 1);
}

// Retention removed the head of a log that holds no snapshot after it (written by something that
// is not a shard of this version): restoring "what remains" would forget agents and contacts and
// resume the input from a wrong offset, so the claim is refused, naming why.
TEST_F(ShardTest, RefusesALogWhoseHeadIsGoneWithoutASnapshotAfterIt) {
  // The mock broker keeps the last 5 MB of a partition: 7 MB of an older owner's unfinished group.
  auto producer = kafka::Producer::Create(kafka_.bootstrap(), {}, nullptr);
  ASSERT_TRUE(producer.ok());
  const std::string big(100 * 1024, 'x');
  for (int i = 0; i < 70; ++i) {
    ASSERT_TRUE((*producer)
                    ->Produce(kafka::kChangelogTopic, partition_, "a/pad" + std::to_string(i), big,
                              {kafka::EpochHeader(0)}, 0)
                    .ok());
  }
  ASSERT_TRUE((*producer)->Flush(10000).ok());
  auto reader = kafka::PartitionReader::Create(kafka_.bootstrap(), {});
  ASSERT_TRUE(reader.ok());
  auto marks = (*reader)->Watermarks(kafka::kChangelogTopic, partition_, 5000);
  ASSERT_TRUE(marks.ok());
  ASSERT_GT(marks->first, 0) << "the broker kept the whole log: the scenario does not hold";

  Owner a = MakeOwner("n1");
  Status st = a.shard->Claim();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Code::kFailedPrecondition) << st.ToString();
  EXPECT_NE(st.message().find("no complete snapshot"), std::string::npos) << st.ToString();
}

// A node with no local state (a new pod) takes over after retention removed the log's head,
// claims included: it restores from the newest complete snapshot and the records after it, and
// resumes the input where the old owner stopped.
TEST_F(ShardTest, ANodeWithNoLocalStateRestoresFromTheSnapshotAfterTheHeadIsGone) {
  const SnapshotPolicy::Options often{.min_bytes = 256 * 1024, .interval_ms = 3'600'000};
  Owner a = ShardFixture::MakeOwner("n1", partition_, nullptr, often);
  ASSERT_TRUE(a.shard->Claim().ok()) << a.shard->failure().ToString();
  ASSERT_TRUE(a.shard->OnInput(Input(kafka::kAgentEventsTopic, 0, Login("ag1"))).ok());
  ASSERT_TRUE(a.shard->OnInput(Input(kafka::kContactsTopic, 0, Arrive("c1"))).ok());
  ASSERT_TRUE(a.shard->OnInput(Input(kafka::kAgentEventsTopic, 1, Accept("ag1", "c1"))).ok());
  ASSERT_TRUE(a.shard->OnInput(Input(kafka::kContactsTopic, 1, Arrive("c2"))).ok());  // waits
  Settle(a);
  // 7 MB of contacts that come and go: the broker drops the head, the claim with it.
  // 50 KB each, as 25 attributes of 2 KB (a value is at most 4 KB: common/validate/contact.h).
  const std::string big(2 * 1024, 'x');
  int64_t contacts = 2;
  for (int i = 0; i < 140; ++i) {
    pb::RoutingEvent arrive = Arrive("pad" + std::to_string(i));
    for (int k = 0; k < 25; ++k) {
      (*arrive.mutable_contact_arrived()
            ->mutable_contact()
            ->mutable_attributes())["pad" + std::to_string(k)] = big;
    }
    ASSERT_TRUE(a.shard->OnInput(Input(kafka::kContactsTopic, contacts++, arrive)).ok());
    Settle(a);
    pb::RoutingEvent cancel;
    cancel.mutable_contact_cancelled()->set_contact_id("pad" + std::to_string(i));
    ASSERT_TRUE(a.shard->OnInput(Input(kafka::kContactsTopic, contacts++, cancel)).ok());
    Settle(a);
  }
  ASSERT_TRUE(a.shard->failure().ok()) << a.shard->failure().ToString();
  EXPECT_GT(a.shard->stats().snapshots, 5u);
  auto reader = kafka::PartitionReader::Create(kafka_.bootstrap(), {});
  ASSERT_TRUE(reader.ok());
  auto marks = (*reader)->Watermarks(kafka::kChangelogTopic, partition_, 5000);
  ASSERT_TRUE(marks.ok());
  ASSERT_GT(marks->first, 0) << "the broker kept the whole log: the scenario does not hold";

  Owner b = ShardFixture::MakeOwner("n2", partition_, nullptr, often);
  Status st = b.shard->Claim();
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(b.shard->epoch(), 2u);
  EXPECT_GE(b.shard->stats().snapshots_restored, 1u);
  const engine::Summary sum = b.shard->Summarize();
  EXPECT_EQ(sum.agents_logged_in, 1u);
  EXPECT_EQ(sum.connected, 1u);  // c1, with ag1
  EXPECT_EQ(sum.waiting, 1u);    // c2
  const auto offsets = b.shard->input_offsets();
  EXPECT_EQ(offsets[0].offset, contacts);
  EXPECT_EQ(offsets[1].offset, 2);
}

}  // namespace
}  // namespace sb::shard
