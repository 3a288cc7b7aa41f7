// common/log: levels filter, text lines are the message alone, JSON lines are one valid object
// each with the module, the level and the message escaped.
#include "common/log/log.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace sb::log {
namespace {

std::string Logged(Level level, Format format, void (*write)()) {
  Configure(level, format);
  ::testing::internal::CaptureStderr();
  write();
  std::string out = ::testing::internal::GetCapturedStderr();
  Configure(Level::kInfo, Format::kText);
  return out;
}

TEST(LogTest, TextIsTheMessageAloneOneLinePerCall) {
  const std::string out = Logged(Level::kInfo, Format::kText, [] {
    SB_LOG_INFO("shard", "shard %d: claimed epoch %d\n", 3, 7);
    SB_LOG_DEBUG("shard", "dropped below the level");
    SB_LOG_WARN("kafka", "kafka: WARNING %s", "low replication");
  });
  EXPECT_EQ(out, "shard 3: claimed epoch 7\nkafka: WARNING low replication\n");
}

TEST(LogTest, JsonLinesAreObjectsWithModuleLevelAndEscapedMessage) {
  const std::string out = Logged(Level::kDebug, Format::kJson, [] {
    SB_LOG_DEBUG("router", "router %s: \"quoted\" and a\ttab", "r1");
    SB_LOG_ERROR("gateway", "gateway g1: stopped");
  });
  std::vector<nlohmann::json> lines;
  size_t from = 0;
  for (size_t nl; (nl = out.find('\n', from)) != std::string::npos; from = nl + 1) {
    lines.push_back(nlohmann::json::parse(out.substr(from, nl - from)));
  }
  ASSERT_EQ(lines.size(), 2u) << out;
  EXPECT_EQ(lines[0]["module"], "router");
  EXPECT_EQ(lines[0]["level"], "debug");
  EXPECT_EQ(lines[0]["msg"], "router r1: \"quoted\" and a\ttab");
  EXPECT_EQ(lines[1]["level"], "error");
  EXPECT_EQ(lines[1]["module"], "gateway");
  const std::string time = lines[1]["time"];
  EXPECT_EQ(time.size(), 24u) << time;  // 2026-12-07T09:00:00.123Z
  EXPECT_EQ(time.back(), 'Z');
}

TEST(LogTest, LevelAndFormatNamesAreCheckedNamingTheValue) {
  EXPECT_EQ(*ParseLevel("warn"), Level::kWarn);
  EXPECT_EQ(*ParseFormat("json"), Format::kJson);
  auto bad = ParseLevel("verbose");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("\"verbose\""), std::string::npos);
  EXPECT_FALSE(ParseFormat("xml").ok());
}

}  // namespace
}  // namespace sb::log
