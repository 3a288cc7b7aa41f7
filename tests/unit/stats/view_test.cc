#include "router/stats/view.h"

#include <gtest/gtest.h>

#include <limits>

namespace sb::stats {
namespace {

namespace pb = ::switchboard::v1;

std::string Live(int32_t shard, int64_t epoch, int64_t at_ms, const std::string& queue,
                 uint32_t waiting) {
  pb::ShardLive s;
  s.set_shard(shard);
  s.set_epoch(epoch);
  s.set_at_ms(at_ms);
  auto* q = s.add_queues();
  q->set_queue(queue);
  q->set_waiting(waiting);
  return s.SerializeAsString();
}

std::string Day(const std::string& queue, const std::string& day, int64_t epoch, uint64_t offered) {
  pb::QueueDay d;
  d.set_queue(queue);
  d.set_day(day);
  d.set_epoch(epoch);
  d.set_offered(offered);
  return d.SerializeAsString();
}

TEST(StatsViewTest, HigherEpochWinsAndLowerEpochIsIgnoredEvenWhenLater) {
  StatsView v;
  EXPECT_EQ(v.Apply("live/0", Live(0, 5, 1000, "q", 3), {0, 1}), Applied::kKept);
  // A zombie owner (epoch 4) writes after its successor: must not overwrite.
  EXPECT_EQ(v.Apply("live/0", Live(0, 4, 1500, "q", 99), {0, 2}), Applied::kOlder);
  auto live = v.LiveQueues(1500);
  ASSERT_EQ(live.count("q"), 1u);
  EXPECT_EQ(live["q"].queue.waiting(), 3u);
  EXPECT_EQ(v.older_ignored(), 1u);
  EXPECT_EQ(v.Apply("live/0", Live(0, 6, 1600, "q", 7), {0, 3}), Applied::kKept);
  EXPECT_EQ(v.LiveQueues(1600)["q"].queue.waiting(), 7u);
}

TEST(StatsViewTest, EqualEpochLaterOffsetWins) {
  StatsView v;
  EXPECT_EQ(v.Apply("day/q/2026-11-23", Day("q", "2026-11-23", 2, 10), {1, 10}), Applied::kKept);
  // Same epoch, earlier offset (a re-read): stays at the later state.
  EXPECT_EQ(v.Apply("day/q/2026-11-23", Day("q", "2026-11-23", 2, 5), {1, 4}), Applied::kOlder);
  EXPECT_EQ(v.Apply("day/q/2026-11-23", Day("q", "2026-11-23", 2, 12), {1, 11}), Applied::kKept);
  auto days = v.Days("2026-11-23", "2026-11-23");
  ASSERT_EQ(days.size(), 1u);
  EXPECT_EQ(days[0].offered(), 12u);
}

TEST(StatsViewTest, StaleShardsLeaveTheLiveView) {
  StatsView v(10'000);
  ASSERT_EQ(v.Apply("live/0", Live(0, 1, 100'000, "a", 1), {0, 0}), Applied::kKept);
  ASSERT_EQ(v.Apply("live/1", Live(1, 1, 95'000, "b", 2), {1, 0}), Applied::kKept);
  auto live = v.LiveQueues(105'000);
  EXPECT_EQ(live.size(), 2u);
  live = v.LiveQueues(105'001);  // shard 1 is 10.001 s old
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live.begin()->first, "a");
  EXPECT_EQ(v.StaleShards(105'001), 1);
  EXPECT_EQ(v.FreshShards(105'001).size(), 1u);
}

// Found by stats_view_fuzz: a record stamped far in the past (any producer may write one)
// overflowed the age computed from it (UBSan).
TEST(StatsViewTest, AnyStampIsFreshOrStaleWithoutOverflow) {
  StatsView v(10'000);
  ASSERT_EQ(v.Apply("live/0", Live(0, 1, std::numeric_limits<int64_t>::min(), "old", 1), {0, 0}),
            Applied::kKept);
  ASSERT_EQ(v.Apply("live/1", Live(1, 1, std::numeric_limits<int64_t>::max(), "new", 1), {1, 0}),
            Applied::kKept);
  const int64_t now = std::numeric_limits<int64_t>::max() / 2;
  auto live = v.LiveQueues(now);
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live.begin()->first, "new");
  EXPECT_EQ(v.StaleShards(now), 1);
  EXPECT_EQ(v.FreshShards(now).size(), 1u);
}

TEST(StatsViewTest, OneQueueOnTwoFreshShardsShowsTheNewer) {
  StatsView v;
  ASSERT_EQ(v.Apply("live/0", Live(0, 1, 1000, "q", 1), {0, 0}), Applied::kKept);
  ASSERT_EQ(v.Apply("live/1", Live(1, 1, 2000, "q", 2), {1, 0}), Applied::kKept);
  EXPECT_EQ(v.LiveQueues(2000)["q"].queue.waiting(), 2u);
  EXPECT_EQ(v.LiveQueues(2000)["q"].shard, 1);
}

TEST(StatsViewTest, DaysFilteredByRangeAndQueueInOrder) {
  StatsView v;
  for (const char* d : {"2026-11-20", "2026-11-21", "2026-11-22", "2026-11-23"}) {
    ASSERT_EQ(v.Apply(std::string("day/b/") + d, Day("b", d, 1, 1), {0, 0}), Applied::kKept);
    ASSERT_EQ(v.Apply(std::string("day/a.x/") + d, Day("a.x", d, 1, 1), {0, 0}), Applied::kKept);
  }
  auto days = v.Days("2026-11-21", "2026-11-22");
  ASSERT_EQ(days.size(), 4u);
  EXPECT_EQ(days[0].queue() + days[0].day(), "a.x2026-11-21");
  EXPECT_EQ(days[1].queue() + days[1].day(), "a.x2026-11-22");
  EXPECT_EQ(days[2].queue() + days[2].day(), "b2026-11-21");
  EXPECT_EQ(v.Days("2026-11-21", "2026-11-22", "b").size(), 2u);
  EXPECT_TRUE(v.Days("2026-12-01", "2026-12-31").empty());
}

TEST(StatsViewTest, QueueNamesWithSlashes) {
  StatsView v;
  EXPECT_EQ(v.Apply("day/d/q/2026-11-23", Day("d/q", "2026-11-23", 1, 4), {0, 0}), Applied::kKept);
  EXPECT_EQ(v.Days("2026-11-23", "2026-11-23", "d/q").size(), 1u);
}

TEST(StatsViewTest, MalformedRecordsAreCountedByReasonNeverFatal) {
  StatsView v;
  EXPECT_EQ(v.Apply("live/x", Live(0, 1, 1, "q", 1), {0, 0}), Applied::kMalformed);
  EXPECT_EQ(v.Apply("live/", Live(0, 1, 1, "q", 1), {0, 0}), Applied::kMalformed);
  EXPECT_EQ(v.Apply("live/-1", Live(0, 1, 1, "q", 1), {0, 0}), Applied::kMalformed);
  EXPECT_EQ(v.Apply("live/0", std::string("\xff\xff\xff\x0f garbage"), {0, 1}),
            Applied::kMalformed);
  EXPECT_EQ(v.Apply("live/1", Live(0, 1, 1, "q", 1), {0, 2}), Applied::kMalformed);
  EXPECT_EQ(v.Apply("day/q/2026-02-30", Day("q", "2026-02-30", 1, 1), {0, 3}), Applied::kMalformed);
  EXPECT_EQ(v.Apply("day/q/2026-11-23", Day("other", "2026-11-23", 1, 1), {0, 4}),
            Applied::kMalformed);
  EXPECT_EQ(v.Apply("day//2026-11-23", Day("", "2026-11-23", 1, 1), {0, 5}), Applied::kMalformed);
  EXPECT_EQ(v.Apply(std::string("evil\n\x01key"), std::string("x"), {0, 6}), Applied::kMalformed);
  EXPECT_EQ(v.malformed_total(), 9u);
  EXPECT_EQ(v.malformed().at("unparsable ShardLive"), 1u);
  EXPECT_EQ(v.malformed().at("bad key (live/<shard>)"), 3u);
  EXPECT_EQ(v.last_error(),
            "sb.stats key \"evil\\x0a\\x01key\": unknown key kind (not live/, day/, agents/ or "
            "sessions/)");
  EXPECT_TRUE(v.LiveQueues(1).empty());
  EXPECT_TRUE(v.Days("0000-01-01", "9999-12-31").empty());
  EXPECT_EQ(v.applied(), 0u);
}

TEST(StatsViewTest, TombstoneRemovesTheKey) {
  StatsView v;
  ASSERT_EQ(v.Apply("live/0", Live(0, 1, 1000, "q", 1), {0, 0}), Applied::kKept);
  EXPECT_EQ(v.Apply("live/0", std::nullopt, {0, 1}), Applied::kDeleted);
  EXPECT_TRUE(v.LiveQueues(1000).empty());
}

std::string Agents(int32_t shard, int64_t epoch, int64_t at_ms, uint32_t part, uint32_t parts,
                   std::initializer_list<const char*> ids) {
  pb::ShardAgents a;
  a.set_shard(shard);
  a.set_epoch(epoch);
  a.set_at_ms(at_ms);
  a.set_part(part);
  a.set_parts(parts);
  for (const char* id : ids) {
    pb::AgentLive* l = a.add_agents();
    l->mutable_agent()->set_id(id);
    l->set_state(pb::AGENT_STATE_READY);
  }
  return a.SerializeAsString();
}

std::string Sessions(const std::string& node, int64_t at_ms,
                     std::initializer_list<const char*> ids) {
  pb::NodeSessions s;
  s.set_node_id(node);
  s.set_at_ms(at_ms);
  for (const char* id : ids) s.add_agent_ids(id);
  return s.SerializeAsString();
}

std::vector<std::string> Ids(const std::vector<ListedAgent>& agents) {
  std::vector<std::string> out;
  for (const auto& a : agents) out.push_back(a.agent.agent().id() + "@" + a.session_node);
  return out;
}

TEST(StatsViewTest, AgentsComeFromEachShardsPartsWithFreshSessionNodes) {
  StatsView v(10'000);
  ASSERT_EQ(v.Apply("agents/0/0", Agents(0, 2, 1000, 0, 2, {"a1"}), {0, 1}), Applied::kKept);
  ASSERT_EQ(v.Apply("agents/0/1", Agents(0, 2, 1000, 1, 2, {"a2"}), {0, 2}), Applied::kKept);
  // A part beyond part 0's count (left by an earlier, longer list) is not listed.
  ASSERT_EQ(v.Apply("agents/0/2", Agents(0, 1, 500, 2, 3, {"gone"}), {0, 3}), Applied::kKept);
  ASSERT_EQ(v.Apply("agents/1/0", Agents(1, 1, 1000, 0, 1, {"b1"}), {1, 1}), Applied::kKept);
  ASSERT_EQ(v.Apply("sessions/r1", Sessions("r1", 1000, {"a1", "b1"}), {2, 1}), Applied::kKept);
  ASSERT_EQ(v.Apply("sessions/r2", Sessions("r2", 100, {"a2"}), {2, 2}), Applied::kKept);
  // r2's list is stale at 11 000: a2's desktop is not known to be anywhere.
  EXPECT_EQ(Ids(v.Agents(11'000)), (std::vector<std::string>{"a1@r1", "a2@", "b1@r1"}));
  // A zombie owner's list (lower epoch) does not replace the current one.
  EXPECT_EQ(v.Apply("agents/0/0", Agents(0, 1, 2000, 0, 1, {"z"}), {0, 4}), Applied::kOlder);
  // The shard's list shrinks: part 1 is tombstoned.
  EXPECT_EQ(v.Apply("agents/0/0", Agents(0, 2, 3000, 0, 1, {"a1"}), {0, 5}), Applied::kKept);
  EXPECT_EQ(v.Apply("agents/0/1", std::nullopt, {0, 6}), Applied::kDeleted);
  EXPECT_EQ(Ids(v.Agents(3000)), (std::vector<std::string>{"a1@r1", "b1@r1"}));
}

TEST(StatsViewTest, AnAgentListedByTwoShardsIsTakenFromTheNewerList) {
  StatsView v;
  ASSERT_EQ(v.Apply("agents/0/0", Agents(0, 1, 1000, 0, 1, {"a1"}), {0, 1}), Applied::kKept);
  ASSERT_EQ(v.Apply("agents/3/0", Agents(3, 1, 2000, 0, 1, {"a1"}), {3, 1}), Applied::kKept);
  auto agents = v.Agents(2000);
  ASSERT_EQ(agents.size(), 1u);
  EXPECT_EQ(agents[0].shard, 3);
}

TEST(StatsViewTest, MalformedAgentAndSessionRecordsAreCountedNotKept) {
  StatsView v;
  EXPECT_EQ(v.Apply("agents/x/0", Agents(0, 1, 1, 0, 1, {"a"}), {0, 1}), Applied::kMalformed);
  EXPECT_EQ(v.Apply("agents/0", Agents(0, 1, 1, 0, 1, {"a"}), {0, 1}), Applied::kMalformed);
  EXPECT_EQ(v.Apply("agents/1/0", Agents(0, 1, 1, 0, 1, {"a"}), {0, 1}), Applied::kMalformed);
  EXPECT_EQ(v.Apply("agents/0/1", Agents(0, 1, 1, 1, 1, {"a"}), {0, 1}), Applied::kMalformed);
  EXPECT_EQ(v.Apply("agents/0/0", std::string_view("\xff\xff"), {0, 1}), Applied::kMalformed);
  EXPECT_EQ(v.Apply("sessions/", Sessions("", 1, {"a"}), {0, 1}), Applied::kMalformed);
  EXPECT_EQ(v.Apply("sessions/r1", Sessions("r2", 1, {"a"}), {0, 1}), Applied::kMalformed);
  EXPECT_TRUE(v.Agents(1).empty());
  EXPECT_EQ(v.malformed_total(), 7u);
}

}  // namespace
}  // namespace sb::stats
