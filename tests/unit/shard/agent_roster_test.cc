// The agent list a shard publishes to sb.stats, from a real engine: every logged-in agent with
// its derived state and the contacts it holds, split into parts, shrunk parts tombstoned, read
// back by StatsView the way AdminService.ListAgents reads it.
#include "router/shard/agent_roster.h"

#include <gtest/gtest.h>

#include "router/stats/view.h"
#include "unit/engine/engine_fixture.h"

namespace sb::shard {
namespace {

namespace pb = ::switchboard::v1;

class AgentRosterTest : public engine::testing::EngineTest {};

TEST_F(AgentRosterTest, ListsLoggedInAgentsWithStateAndHeldContacts) {
  Login("a1", {{"sales", 2}});
  Login("a2", {{"support", 4}}, /*ready=*/false);
  Login("a3", {{"sales", 1}});
  Do([&](engine::Decisions* o) { return engine_->AgentLogout("a3", o); });
  Arrive("c1", "sales");  // offered to a1
  AgentRoster roster(4);
  ASSERT_TRUE(roster.Due(1000));
  auto records = roster.Collect(1000, 7, "r1", engine_->ListAgents());
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].first, "agents/4/0");
  ASSERT_TRUE(records[0].second.has_value());
  pb::ShardAgents rec;
  ASSERT_TRUE(rec.ParseFromString(*records[0].second));
  EXPECT_EQ(rec.shard(), 4);
  EXPECT_EQ(rec.epoch(), 7);
  EXPECT_EQ(rec.parts(), 1u);
  ASSERT_EQ(rec.agents_size(), 2);  // a3 logged out
  EXPECT_EQ(rec.agents(0).agent().id(), "a1");
  EXPECT_EQ(rec.agents(0).state(), pb::AGENT_STATE_RESERVED);
  ASSERT_EQ(rec.agents(0).contact_ids_size(), 1);
  EXPECT_EQ(rec.agents(0).contact_ids(0), "c1");
  ASSERT_EQ(rec.agents(0).agent().skills_size(), 1);
  EXPECT_EQ(rec.agents(0).agent().skills(0).skill(), "sales");
  EXPECT_EQ(rec.agents(1).agent().id(), "a2");
  EXPECT_EQ(rec.agents(1).state(), pb::AGENT_STATE_NOT_READY);
  EXPECT_FALSE(roster.Due(1000 + AgentRoster::kRosterIntervalMs - 1));
  EXPECT_TRUE(roster.Due(1000 + AgentRoster::kRosterIntervalMs));
}

TEST_F(AgentRosterTest, SplitsIntoPartsAndTombstonesPartsNoLongerNeeded) {
  const size_t n = AgentRoster::kAgentsPerPart * 2 + 1;
  for (size_t i = 0; i < n; ++i) Login("a" + std::to_string(i), {{"sales", 1}});
  AgentRoster roster(0);
  auto records = roster.Collect(1000, 1, "r1", engine_->ListAgents());
  ASSERT_EQ(records.size(), 3u);
  stats::StatsView view;
  int64_t offset = 0;
  for (const auto& [k, v] : records) {
    ASSERT_EQ(view.Apply(k, *v, {0, offset++}), stats::Applied::kKept) << k;
  }
  EXPECT_EQ(view.Agents(1000).size(), n);

  for (size_t i = 0; i < AgentRoster::kAgentsPerPart + 1; ++i) {
    Do([&](engine::Decisions* o) { return engine_->AgentLogout("a" + std::to_string(i), o); });
  }
  records = roster.Collect(7000, 1, "r1", engine_->ListAgents());
  ASSERT_EQ(records.size(), 3u);  // parts 0 and 1, and a tombstone for part 2
  EXPECT_EQ(records[2].first, "agents/0/2");
  EXPECT_FALSE(records[2].second.has_value());
  for (const auto& [k, v] : records) {
    std::optional<std::string_view> value;
    if (v) value = *v;
    view.Apply(k, value, {0, offset++});
  }
  EXPECT_EQ(view.Agents(7000).size(), n - AgentRoster::kAgentsPerPart - 1);
}

}  // namespace
}  // namespace sb::shard
