// Quiet hours at their edges, across midnight, in two time zones, and on a DST day.
#include "router/followup/call_windows.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "absl/time/civil_time.h"

namespace sb::followup {
namespace {

class CallWindowsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto sh = LoadZone("Asia/Shanghai");
    auto ny = LoadZone("America/New_York");
    ASSERT_TRUE(sh.ok() && ny.ok()) << "tzdata missing";
    shanghai_ = *sh;
    new_york_ = *ny;
  }
  static int64_t Local(int y, int mo, int d, int h, int mi, int s, const absl::TimeZone& z) {
    return absl::ToUnixMillis(z.At(absl::CivilSecond(y, mo, d, h, mi, s)).pre);
  }
  // NextAllowed as local wall time, for readable expectations.
  std::string Next(int h, int mi, int s, const absl::TimeZone& z, int day = 10) const {
    const int64_t next = windows_.NextAllowed(Local(2026, 3, day, h, mi, s, z), z);
    return absl::FormatTime("%d %H:%M:%S", absl::FromUnixMillis(next), z);
  }

  CallWindows windows_ = CallWindows::Default();
  absl::TimeZone shanghai_, new_york_;
};

TEST_F(CallWindowsTest, EdgesOfTheDefaultQuietHours) {
  EXPECT_EQ(Next(7, 29, 59, shanghai_), "10 07:30:00");
  EXPECT_EQ(Next(7, 30, 0, shanghai_), "10 07:30:00");
  EXPECT_EQ(Next(12, 29, 59, shanghai_), "10 12:29:59");
  EXPECT_EQ(Next(12, 30, 0, shanghai_), "10 14:00:00");
  EXPECT_EQ(Next(13, 59, 59, shanghai_), "10 14:00:00");
  EXPECT_EQ(Next(14, 0, 0, shanghai_), "10 14:00:00");
  EXPECT_EQ(Next(20, 59, 59, shanghai_), "10 20:59:59");
  EXPECT_EQ(Next(21, 0, 0, shanghai_), "11 07:30:00");
}

TEST_F(CallWindowsTest, AcrossMidnight) {
  EXPECT_EQ(Next(23, 59, 59, shanghai_), "11 07:30:00");
  EXPECT_EQ(Next(0, 0, 0, shanghai_), "10 07:30:00");
  EXPECT_EQ(Next(3, 15, 0, shanghai_), "10 07:30:00");
}

TEST_F(CallWindowsTest, TheCustomersZoneDecides) {
  // 20:00 in New York is 08:00 next day in Shanghai: callable in both. 22:00 in New York is
  // 10:00 in Shanghai: quiet for the New York customer, callable for the Shanghai one.
  const int64_t t = Local(2026, 3, 10, 20, 0, 0, new_york_);
  EXPECT_TRUE(windows_.Allowed(t, new_york_));
  EXPECT_TRUE(windows_.Allowed(t, shanghai_));                // 08:00 in Shanghai
  const int64_t u = Local(2026, 3, 10, 22, 0, 0, new_york_);  // 10:00 in Shanghai
  EXPECT_FALSE(windows_.Allowed(u, new_york_));
  EXPECT_TRUE(windows_.Allowed(u, shanghai_));
  EXPECT_EQ(absl::FormatTime("%H:%M", absl::FromUnixMillis(windows_.NextAllowed(u, new_york_)),
                             new_york_),
            "07:30");
}

TEST_F(CallWindowsTest, DaylightSavingDay) {
  // 2026-03-08: New York skips 02:00–03:00. 07:30 still exists, with the new offset (-4).
  EXPECT_EQ(Next(1, 0, 0, new_york_, 8), "08 07:30:00");
  const int64_t open = windows_.NextAllowed(Local(2026, 3, 8, 1, 0, 0, new_york_), new_york_);
  EXPECT_EQ(absl::FormatTime("%z", absl::FromUnixMillis(open), new_york_), "-0400");
  // A window opening inside the gap opens at the transition (03:00 EDT).
  auto night = CallWindows::Create({{2 * 60 + 30, 4 * 60}});
  ASSERT_TRUE(night.ok());
  const int64_t at = night->NextAllowed(Local(2026, 3, 8, 1, 0, 0, new_york_), new_york_);
  EXPECT_EQ(absl::FormatTime("%H:%M %z", absl::FromUnixMillis(at), new_york_), "03:00 -0400");
}

TEST(CallWindowsConfigTest, BadWindowsAndZonesAreNamed) {
  EXPECT_EQ(CallWindows::Create({}).status().message(),
            "call_windows: at least one window is required");
  EXPECT_EQ(CallWindows::Create({{600, 500}}).status().message(),
            "call_windows[0]: must be a non-empty range within one day (got 10:00–08:20)");
  EXPECT_EQ(CallWindows::Create({{400, 600}, {600, 700}}).status().message(),
            "call_windows[1]: must start after the previous window ends (10:00)");
  EXPECT_EQ(LoadZone("Mars/Olympus").status().message(),
            "time_zone: unknown time zone \"Mars/Olympus\" (an IANA name such as Asia/Shanghai)");
  EXPECT_FALSE(LoadZone("../../etc/passwd").ok());
  // Absolute paths (abseil would open them: /dev/stdin blocks), empty or odd components.
  for (const char* bad : {"/dev/stdin", "/usr/share/zoneinfo/UTC", "Asia//Shanghai", "Asia/",
                          "-Asia/Shanghai", "Asia/.Shanghai", ""}) {
    EXPECT_FALSE(LoadZone(bad).ok()) << bad;
  }
  EXPECT_TRUE(LoadZone("UTC").ok());
  EXPECT_TRUE(LoadZone("Etc/GMT+8").ok());
  // Files of the zone directory that are not zones (tzdata's leap-second table) are not names
  // of the zone list, and never reach abseil.
  if (std::filesystem::is_regular_file("/usr/share/zoneinfo/leapseconds") &&
      std::getenv("TZDIR") == nullptr) {
    EXPECT_FALSE(LoadZone("leapseconds").ok());
  }
}

}  // namespace
}  // namespace sb::followup
