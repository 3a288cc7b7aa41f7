#include <gtest/gtest.h>
#include <prometheus/counter.h>

#include "common/metrics/server.h"

namespace sb::metrics {
namespace {

TEST(MetricsServer, PortZeroPicksAFreePortOnLoopback) {
  auto server = Server::Start("127.0.0.1", 0);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  EXPECT_GT((*server)->port(), 0);
  EXPECT_EQ((*server)->url(), "http://127.0.0.1:" + std::to_string((*server)->port()) + "/metrics");
}

TEST(MetricsServer, WildcardBindIsShownAsLoopback) {
  auto server = Server::Start("0.0.0.0", 0);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  EXPECT_EQ((*server)->url().rfind("http://127.0.0.1:", 0), 0u) << (*server)->url();
}

TEST(MetricsServer, PortInUseIsAnErrorNotAnException) {
  auto first = Server::Start("127.0.0.1", 0);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = Server::Start("127.0.0.1", (*first)->port());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kUnavailable);
  EXPECT_NE(second.status().message().find(std::to_string((*first)->port())), std::string::npos)
      << second.status().ToString();
}

TEST(MetricsServer, BadPortIsRejected) {
  auto server = Server::Start("127.0.0.1", 70000);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), Code::kInvalidArgument);
}

TEST(MetricsServer, ScrapeShowsTheRegistry) {
  auto server = Server::Start("127.0.0.1", 0);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  prometheus::BuildCounter()
      .Name("sb_test_things_total")
      .Help("things")
      .Register((*server)->registry())
      .Add({{"queue", "q1"}})
      .Increment(3);
  const std::string text = Scrape((*server)->registry());
  EXPECT_NE(text.find("sb_test_things_total{queue=\"q1\"} 3"), std::string::npos) << text;
}

}  // namespace
}  // namespace sb::metrics
