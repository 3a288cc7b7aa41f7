#include "common/status.h"

#include <gtest/gtest.h>

namespace sb {
namespace {

Status FailIfNegative(int v) {
  if (v < 0) return InvalidArgument("v: must not be negative");
  return Status::Ok();
}

Status Chain(int v) {
  SB_RETURN_IF_ERROR(FailIfNegative(v));
  return NotFound("reached the end");
}

TEST(StatusTest, OkAndErrorsPrintTheirCode) {
  EXPECT_TRUE(Status::Ok().ok());
  EXPECT_EQ(Status::Ok().ToString(), "OK");
  Status s = InvalidArgument("queues[0].strategy: missing");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.ToString(), "INVALID_ARGUMENT: queues[0].strategy: missing");
}

TEST(StatusTest, ReturnIfErrorStopsAtTheFirstError) {
  EXPECT_EQ(Chain(-1).code(), Code::kInvalidArgument);
  EXPECT_EQ(Chain(1).code(), Code::kNotFound);
}

TEST(ResultTest, HoldsValueOrStatus) {
  Result<int> good(42);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 42);
  Result<int> bad(NotFound("agent_id: unknown agent \"x\""));
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kNotFound);
}

}  // namespace
}  // namespace sb
