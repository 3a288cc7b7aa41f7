#include "router/gateway/limits.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

namespace sb::gateway {
namespace {

using Stream = CallerLimits::Stream;

TEST(CallerLimitsTest, StreamsPerCallerAreCappedAndFreedWhenClosed) {
  CallerLimits limits({.max_desk_sessions = 2, .max_watch_streams = 3});
  std::vector<std::unique_ptr<CallerLimits::Slot>> held;
  for (int i = 0; i < 3; ++i) {
    auto slot = limits.Open("integrator/a", Stream::kWatch);
    ASSERT_TRUE(slot.ok()) << i;
    held.push_back(std::move(*slot));
  }
  auto refused = limits.Open("integrator/a", Stream::kWatch);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kResourceExhausted);
  EXPECT_NE(refused.status().message().find("Watch streams"), std::string::npos);
  // Another caller and another kind of stream have their own counts.
  EXPECT_TRUE(limits.Open("integrator/b", Stream::kWatch).ok());
  auto desk = limits.Open("integrator/a", Stream::kDesk);
  EXPECT_TRUE(desk.ok());
  // A proxy (another role's desktops for many agents) has its own, larger allowance.
  std::vector<std::unique_ptr<CallerLimits::Slot>> proxied;
  for (int i = 0; i < 5; ++i) proxied.push_back(std::move(*limits.Open("cti", Stream::kProxyDesk)));
  EXPECT_EQ(limits.open("cti", Stream::kProxyDesk), 5);
  held.pop_back();  // one closed: one more may open
  EXPECT_EQ(limits.open("integrator/a", Stream::kWatch), 2);
  EXPECT_TRUE(limits.Open("integrator/a", Stream::kWatch).ok());
  held.clear();
  EXPECT_EQ(limits.open("integrator/a", Stream::kWatch), 0);
}

TEST(CallerLimitsTest, ReportsFollowATokenBucketPerCaller) {
  CallerLimits limits({.report_per_s = 0.5, .report_burst = 2});
  const int64_t t0 = 1'000'000;
  EXPECT_TRUE(limits.AllowReport("admin", t0).ok());
  EXPECT_TRUE(limits.AllowReport("admin", t0).ok());
  Status third = limits.AllowReport("admin", t0 + 100);
  EXPECT_EQ(third.code(), Code::kResourceExhausted);
  EXPECT_NE(third.message().find("retry in 2 s"), std::string::npos) << third.message();
  EXPECT_TRUE(limits.AllowReport("other-admin", t0 + 100).ok());
  EXPECT_TRUE(limits.AllowReport("admin", t0 + 2100).ok());  // one refilled in 2 s
  EXPECT_FALSE(limits.AllowReport("admin", t0 + 2200).ok());
  // Callers whose bucket is full again are forgotten: the state stays bounded.
  EXPECT_TRUE(limits.AllowReport("late", t0 + 60'000).ok());
  EXPECT_EQ(limits.callers(), 1u);
}

}  // namespace
}  // namespace sb::gateway
