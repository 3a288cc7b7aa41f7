#include "common/status.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace sb {
namespace {

Status FailIfNegative(int v) {
  if (v < 0) return InvalidArgument("v: must not be negative");
  return Status::Ok();
}

int calls_after_check = 0;

Status Chain(int v) {
  SB_RETURN_IF_ERROR(FailIfNegative(v));
  ++calls_after_check;
  return NotFound("reached the end");
}

Result<int> Half(int v) {
  if (v % 2 != 0) return InvalidArgument("v: odd (got " + std::to_string(v) + ")");
  return v / 2;
}

TEST(StatusTest, OkAndErrorsPrintTheirCode) {
  EXPECT_TRUE(Status::Ok().ok());
  EXPECT_TRUE(Status().ok());
  EXPECT_EQ(Status::Ok().ToString(), "OK");
  Status s = InvalidArgument("queues[0].strategy: missing");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.message(), "queues[0].strategy: missing");
  EXPECT_EQ(s.ToString(), "INVALID_ARGUMENT: queues[0].strategy: missing");
}

TEST(StatusTest, EveryCodeHasItsName) {
  EXPECT_EQ(NotFound("x").ToString(), "NOT_FOUND: x");
  EXPECT_EQ(FailedPrecondition("x").ToString(), "FAILED_PRECONDITION: x");
  EXPECT_EQ(AlreadyExists("x").ToString(), "ALREADY_EXISTS: x");
  EXPECT_EQ(Internal("x").ToString(), "INTERNAL: x");
  EXPECT_EQ(Status(Code::kUnavailable, "x").ToString(), "UNAVAILABLE: x");
  EXPECT_EQ(CodeName(Code::kOk), "OK");
}

TEST(StatusTest, ReturnIfErrorStopsAtTheFirstError) {
  calls_after_check = 0;
  Status s = Chain(-1);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.message(), "v: must not be negative");
  EXPECT_EQ(calls_after_check, 0);
  EXPECT_EQ(Chain(1).code(), Code::kNotFound);
  EXPECT_EQ(calls_after_check, 1);
}

TEST(StatusResultTest, HoldsValueOrStatus) {
  Result<int> good = Half(84);
  ASSERT_TRUE(good.ok());
  EXPECT_TRUE(good.status().ok());
  EXPECT_EQ(*good, 42);
  EXPECT_EQ(good.value(), 42);
  Result<int> bad = Half(3);
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().ToString(), "INVALID_ARGUMENT: v: odd (got 3)");
}

TEST(StatusResultTest, ValueCanBeMovedOut) {
  Result<std::unique_ptr<std::string>> r(std::make_unique<std::string>("agent-7"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->size(), 7u);
  std::unique_ptr<std::string> taken = std::move(r).value();
  ASSERT_NE(taken, nullptr);
  EXPECT_EQ(*taken, "agent-7");
}

TEST(StatusResultTest, ArrowReachesMembers) {
  Result<std::vector<int>> r(std::vector<int>{1, 2, 3});
  EXPECT_EQ(r->size(), 3u);
  r->push_back(4);
  EXPECT_EQ(r.value().back(), 4);
}

}  // namespace
}  // namespace sb
