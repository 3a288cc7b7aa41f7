// SeenOutputs: a re-published output (same id) is applied once; the memory is bounded.
#include "router/gateway/seen_outputs.h"

#include <gtest/gtest.h>

namespace sb::gateway {
namespace {

TEST(SeenOutputsTest, ARepeatIsRecognizedUntilItFallsOutOfTheWindow) {
  SeenOutputs seen(2);
  EXPECT_TRUE(seen.FirstTime("c1#1#DECISION_OFFER"));
  EXPECT_TRUE(seen.FirstTime("c1#1#DECISION_CONNECTED"));
  // A new owner re-publishes its predecessor's outputs: not applied again.
  EXPECT_FALSE(seen.FirstTime("c1#1#DECISION_OFFER"));
  EXPECT_FALSE(seen.FirstTime("c1#1#DECISION_CONNECTED"));
  EXPECT_EQ(seen.repeats(), 2u);
  EXPECT_TRUE(seen.FirstTime("c2#1#DECISION_OFFER"));  // the oldest id leaves the window
  EXPECT_TRUE(seen.FirstTime("c1#1#DECISION_OFFER"));
  EXPECT_FALSE(seen.FirstTime("c2#1#DECISION_OFFER"));
}

}  // namespace
}  // namespace sb::gateway
