// `switchboard staffing` as a user runs it, and its intraday profile parser.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "nlohmann/json.hpp"
#include "support/files.h"
#include "support/temp_dir.h"
#include "tools/staffing/profile.h"
#include "tools/staffing/staffing.h"

namespace sb::staffing {
namespace {

using ::sb::testing::TempDir;
using ::sb::testing::WriteAll;
using ::testing::HasSubstr;

struct Output {
  int code;
  std::string out, err;
};

Output RunCli(std::vector<std::string> args) {
  std::ostringstream out, err;
  const int code = Run(args, out, err);
  return {code, out.str(), err.str()};
}

TEST(StaffingCliTest, SizesTheTextbookCase) {
  const Output o = RunCli({"--arrivals-per-hour", "200", "--aht-s", "180", "--threshold-s", "20",
                           "--target-sl", "0.8"});
  EXPECT_EQ(o.code, 0) << o.err;
  EXPECT_THAT(o.out, HasSubstr("required agents: 14"));
  EXPECT_THAT(o.out, HasSubstr("0.8884"));
}

TEST(StaffingCliTest, JsonAndPredictModes) {
  Output o =
      RunCli({"--arrivals-per-hour", "200", "--aht-s", "180", "--target-sl", "0.8", "--json"});
  ASSERT_EQ(o.code, 0) << o.err;
  const auto j = nlohmann::json::parse(o.out);
  EXPECT_EQ(j["required_agents"], 14);
  EXPECT_NEAR(j["service_level"].get<double>(), 0.8884, 1e-4);
  EXPECT_EQ(j["one_fewer"]["agents"], 13);
  o = RunCli({"--arrivals-per-hour", "250", "--aht-s", "180", "--agents", "14", "--patience-s",
              "120", "--json"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_GT(nlohmann::json::parse(o.out)["abandon_rate"].get<double>(), 0.05);
}

TEST(StaffingCliTest, BadInputExitsTwoNamingTheProblem) {
  Output o = RunCli({"--arrivals-per-hour", "-5", "--aht-s", "180", "--target-sl", "0.8"});
  EXPECT_EQ(o.code, 2);
  EXPECT_THAT(o.err, HasSubstr("arrivals_per_hour: must be positive"));
  o = RunCli({"--arrivals-per-hour", "200", "--aht-s", "180", "--agents", "9"});
  EXPECT_EQ(o.code, 2);
  EXPECT_THAT(o.err, HasSubstr("unstable"));
  o = RunCli({"--arrivals-per-hour", "200", "--aht-s", "180"});
  EXPECT_EQ(o.code, 2);
  EXPECT_THAT(o.err, HasSubstr("--target-sl"));
  o = RunCli({"--arrivals-per-hour", "200", "--aht-s", "180", "--frobnicate"});
  EXPECT_EQ(o.code, 2);
  o = RunCli({"--aht-s", "180", "--target-sl", "0.8", "--profile", "/nonexistent/profile.csv"});
  EXPECT_EQ(o.code, 2);
  EXPECT_THAT(o.err, HasSubstr("/nonexistent/profile.csv"));
}

TEST(StaffingCliTest, IntradayProfile) {
  const TempDir dir("sb-profile-");
  const std::string path = (dir.path() / "profile.csv").string();
  WriteAll(path, "time,arrivals_per_hour\n08:00,100\n08:15,200\n08:30,400,240\n");
  const Output o = RunCli({"--aht-s", "180", "--target-sl", "0.8", "--profile", path, "--json"});
  ASSERT_EQ(o.code, 0) << o.err;
  const auto j = nlohmann::json::parse(o.out);
  ASSERT_EQ(j["intervals"].size(), 3u);
  EXPECT_EQ(j["intervals"][1]["agents"], 14);  // the textbook load
  EXPECT_GT(j["intervals"][2]["agents"].get<int>(), j["intervals"][1]["agents"].get<int>());
  EXPECT_DOUBLE_EQ(j["agent_hours"].get<double>(), (j["intervals"][0]["agents"].get<int>() + 14 +
                                                    j["intervals"][2]["agents"].get<int>()) *
                                                       0.25);
}

TEST(ProfileTest, ErrorsNameTheLine) {
  auto error = [](const char* text) {
    auto p = ParseProfile(text);
    return p.ok() ? std::string("(accepted)") : p.status().message();
  };
  EXPECT_EQ(error("08:00,10\n25:00,20\n"), "profile line 2: time \"25:00\" is not a valid HH:MM");
  EXPECT_EQ(error("08:00,10\n07:45,20\n"),
            "profile line 2: time \"07:45\" is not after the previous line's");
  EXPECT_EQ(error("08:00,ten\n"), "profile line 1: arrivals_per_hour \"ten\" is not a number >= 0");
  EXPECT_EQ(error("08:00,-1\n"), "profile line 1: arrivals_per_hour \"-1\" is not a number >= 0");
  EXPECT_EQ(error("08:00,10,0\n"), "profile line 1: aht_s \"0\" is not a number > 0");
  EXPECT_EQ(error("08:00\n"),
            "profile line 1: expected HH:MM,arrivals_per_hour[,aht_s] (got \"08:00\")");
  EXPECT_EQ(error("# nothing\n\n"), "profile: no intervals");
  auto ok = ParseProfile("# day\ntime,rate\n08:00, 10 \r\n08:30,20 # peak\n");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  ASSERT_EQ(ok->size(), 2u);
  EXPECT_EQ((*ok)[0].length_min, 30);
  EXPECT_EQ((*ok)[1].start_min, 8 * 60 + 30);
}

}  // namespace
}  // namespace sb::staffing
