// The desks of a gateway's agents (router/gateway/desks.h): a drain and a session opening at the
// same moment never leave a desk open on the draining node.
#include "router/gateway/desks.h"

#include <gtest/gtest.h>

namespace sb::gateway {
namespace {

pb::Agent AgentNamed(const std::string& id) {
  pb::Agent a;
  a.set_id(id);
  return a;
}

TEST(DesksTest, NoDeskOpensOnceTheNodeIsDraining) {
  Desks desks(/*grace_ms=*/1000);
  std::shared_ptr<Desk> before = desks.Open(AgentNamed("a1"), 0);
  ASSERT_NE(before, nullptr);
  desks.StartDraining();
  EXPECT_TRUE(desks.draining());
  // A session that checked draining() before the drain began reaches Open() after it.
  EXPECT_EQ(desks.Open(AgentNamed("a2"), 1), nullptr);
  pb::AgentUpdate bye;
  bye.mutable_refused()->set_message("node draining, connect to another node");
  EXPECT_EQ(desks.CloseAll(bye), 1u) << "only the desk opened before the drain";
  EXPECT_EQ(desks.Find("a2"), nullptr);
}

TEST(DesksTest, ANewSessionOfTheSameAgentClosesTheOlderOne) {
  Desks desks(/*grace_ms=*/1000);
  std::shared_ptr<Desk> first = desks.Open(AgentNamed("a1"), 0);
  std::shared_ptr<Desk> second = desks.Open(AgentNamed("a1"), 0);
  EXPECT_EQ(desks.Find("a1"), second);
  desks.Close(first, /*logged_out=*/false);  // the older session ending changes nothing
  EXPECT_EQ(desks.Find("a1"), second);
  EXPECT_TRUE(desks.TakeDueLogouts().empty());
}

}  // namespace
}  // namespace sb::gateway
