#include "router/wallboard/snapshot.h"

#include <gtest/gtest.h>

#include "router/wallboard/page.h"

namespace sb::wallboard {
namespace {

namespace pb = ::switchboard::v1;

std::string Live(int32_t shard, int64_t at_ms, const std::string& queue, const std::string& domain,
                 uint32_t waiting) {
  pb::ShardLive s;
  s.set_shard(shard);
  s.set_epoch(1);
  s.set_at_ms(at_ms);
  auto* q = s.add_queues();
  q->set_queue(queue);
  q->set_domain(domain);
  q->set_waiting(waiting);
  q->set_sl_target(0.9);
  q->mutable_today()->set_offered(4);
  q->mutable_today()->set_answered(3);
  q->mutable_today()->set_answered_within_sl(2);
  q->mutable_today()->set_abandoned(1);
  auto* d = s.add_domains();
  d->set_domain(domain);
  auto* a = d->add_agents();
  a->set_state("ready");
  a->set_agents(2);
  auto* f = s.add_followups();
  f->set_kind("callback");
  f->set_overdue(1);
  return s.SerializeAsString();
}

TEST(SnapshotTest, FreshShardsOnlySummedAndJudgedAgainstTarget) {
  stats::StatsView view(10'000);
  ASSERT_EQ(view.Apply("live/0", Live(0, 100'000, "a", "d0", 3), {0, 0}), stats::Applied::kKept);
  ASSERT_EQ(view.Apply("live/1", Live(1, 100'000, "b", "d1", 4), {1, 0}), stats::Applied::kKept);
  ASSERT_EQ(view.Apply("live/2", Live(2, 50'000, "c", "d2", 100), {2, 0}), stats::Applied::kKept);
  const auto j = Snapshot(view, 101'000);
  EXPECT_EQ(j["shards_fresh"], 2);
  EXPECT_EQ(j["shards_stale"], 1);
  EXPECT_EQ(j["updated_ms"], 100'000);
  ASSERT_EQ(j["queues"].size(), 2u);
  EXPECT_EQ(j["totals"]["waiting"], 7);
  EXPECT_EQ(j["totals"]["agents"], 4);
  EXPECT_EQ(j["totals"]["followups_overdue"], 2);
  EXPECT_DOUBLE_EQ(j["queues"][0]["sl_today"].get<double>(), 0.5);  // 2 / (3 + 1)
  EXPECT_EQ(j["queues"][0]["sl_ok"], false);                        // target 0.9
  EXPECT_EQ(j["queues"][0]["abandoned_today"], 1);
  EXPECT_TRUE(j["error"].is_null());
}

TEST(SnapshotTest, NothingLiveIsZerosAndNullsNotFakeNumbers) {
  stats::StatsView view;
  const auto j = Snapshot(view, 1);
  EXPECT_TRUE(j["updated_ms"].is_null());
  EXPECT_TRUE(j["queues"].empty());
  EXPECT_EQ(j["totals"]["waiting"], 0);
  const auto e = ErrorSnapshot("UNAVAILABLE: no broker", 1);
  EXPECT_EQ(e["error"], "UNAVAILABLE: no broker");
}

TEST(PageTest, SnapshotCannotCloseTheScriptElement) {
  stats::StatsView view;
  ASSERT_EQ(view.Apply("live/0", Live(0, 1000, "</script><b>x", "d", 1), {0, 0}),
            stats::Applied::kKept);
  const std::string page = Page(Snapshot(view, 1000).dump());
  EXPECT_EQ(page.find("</script><b>"), std::string::npos);
  EXPECT_NE(page.find("\\u003c/script>\\u003cb>x"), std::string::npos);
  EXPECT_EQ(page.find("</script>"), page.rfind("</script>"));  // only the page's own
}

// Found by http_fuzz: in a script element, "<!--<script>" makes the HTML parser skip the next
// "</script>" (the page's own), so the rest of the page became script.
TEST(PageTest, SnapshotCannotOpenAnEscapedScriptComment) {
  stats::StatsView view;
  ASSERT_EQ(view.Apply("live/0", Live(0, 1000, "<!--<script>", "d", 1), {0, 0}),
            stats::Applied::kKept);
  const std::string page = Page(Snapshot(view, 1000).dump());
  EXPECT_EQ(page.find("<!--"), std::string::npos);
  EXPECT_NE(page.find("\\u003c!--\\u003cscript>"), std::string::npos);
}

}  // namespace
}  // namespace sb::wallboard
