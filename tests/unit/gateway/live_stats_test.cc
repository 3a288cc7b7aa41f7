// One agent, one domain: a login is refused when the agent lists show the same agent id logged in
// under another routing domain; the same domain (a session move) and other agents pass.
#include "router/gateway/live_stats.h"

#include <gtest/gtest.h>

namespace sb::gateway {
namespace {

namespace pb = ::switchboard::v1;

stats::ListedAgent Listed(const std::string& id, const std::string& domain, int32_t shard,
                          const std::string& node) {
  stats::ListedAgent l;
  l.agent.mutable_agent()->set_id(id);
  l.agent.mutable_agent()->set_domain(domain);
  l.shard = shard;
  l.session_node = node;
  return l;
}

pb::Agent Agent(const std::string& id, const std::string& domain) {
  pb::Agent a;
  a.set_id(id);
  a.set_domain(domain);
  return a;
}

TEST(LoggedInElsewhereTest, NamesTheOtherDomainOfTheSameAgent) {
  const std::vector<stats::ListedAgent> listed = {Listed("a1", "d00", 3, "r1"),
                                                  Listed("a2", "d01", 5, "r2")};
  auto other = LoggedInElsewhere(listed, Agent("a1", "d01"));
  ASSERT_TRUE(other.has_value());
  EXPECT_EQ(other->agent.agent().domain(), "d00");
  EXPECT_EQ(other->shard, 3);
  EXPECT_EQ(other->session_node, "r1");
  // The same domain is a session move (the engine's), another agent is no conflict.
  EXPECT_FALSE(LoggedInElsewhere(listed, Agent("a1", "d00")).has_value());
  EXPECT_FALSE(LoggedInElsewhere(listed, Agent("a3", "d01")).has_value());
  EXPECT_FALSE(LoggedInElsewhere({}, Agent("a1", "d01")).has_value());
}

}  // namespace
}  // namespace sb::gateway
