// `switchboard report` against the mock broker: known QueueDay records in, exact CSV/JSON out.
#include "tools/report/report.h"

#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <sstream>

#include "support/mock_kafka.h"

namespace sb::report {
namespace {

namespace pb = ::switchboard::v1;
using ::sb::testing::MockKafka;
using ::sb::testing::StatsPublisher;

pb::QueueDay Day(const std::string& queue, const std::string& day) {
  pb::QueueDay d;
  d.set_queue(queue);
  d.set_day(day);
  d.set_epoch(1);
  d.set_sl_threshold_s(20);
  d.set_sl_target(0.8);
  return d;
}

void Publish(StatsPublisher& pub, const pb::QueueDay& d) {
  pub.Publish(0, "day/" + d.queue() + "/" + d.day(), d.SerializeAsString());
}

class ReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StatsPublisher pub(kafka_.bootstrap());
    pb::QueueDay d = Day("a.q", "2026-11-20");
    d.set_offered(10);
    d.set_answered(8);
    d.set_answered_within_sl(6);
    d.set_abandoned_short(1);
    d.set_abandoned(1);
    d.set_answered_wait_s_sum(40);
    d.set_handled(8);
    d.set_handle_s_sum(1600);
    d.set_resolved_first_contact(6);
    d.set_followups_ended(2);
    d.set_followups_on_time(1);
    d.set_return_visits_done(1);
    Publish(pub, d);
    pb::QueueDay stale = d;  // a zombie's lower epoch, published later: ignored
    stale.set_epoch(0);
    stale.set_offered(1000);
    Publish(pub, stale);
    d = Day("a.q", "2026-11-21");
    d.set_offered(30);
    d.set_answered(27);
    d.set_answered_within_sl(27);
    d.set_abandoned_short(3);
    d.set_answered_wait_s_sum(27);
    d.set_handled(27);
    d.set_handle_s_sum(5400);
    d.set_resolved_first_contact(27);
    d.set_complaints(4);
    d.set_repeat_complaints(1);
    d.set_complaint_replies_ended(4);
    d.set_complaint_replies_on_time(4);
    d.set_return_visits_done(2);
    Publish(pub, d);
    d = Day("a.q", "2026-11-25");  // outside the range
    d.set_offered(99);
    Publish(pub, d);
    d = Day("b", "2026-11-20");  // a day without contacts: every ratio n/a
    d.set_sl_threshold_s(30);
    Publish(pub, d);
    pub.Publish(0, "day/garbage/2026-11-20", std::string("\xff\xff", 2));
  }

  std::string Report(Format format, const std::string& queue = "") {
    Options o;
    o.bootstrap = kafka_.bootstrap();
    o.from = "2026-11-20";
    o.to = "2026-11-21";
    o.queue = queue;
    o.format = format;
    std::ostringstream out, err;
    EXPECT_EQ(report::Run(o, out, err), 0) << err.str();
    return out.str();
  }

  MockKafka kafka_{2};
};

TEST_F(ReportTest, CsvExact) {
  EXPECT_EQ(
      Report(Format::kCsv),
      "queue,day,offered,answered,connection_rate,human_answer_rate,service_level,"
      "sl_threshold_s,asa_s,abandonment_rate,aht_s,followup_timeliness,"
      "complaint_reply_timeliness,repeat_complaint_rate,fcr,return_visits_done\n"
      "a.q,2026-11-20,10,8,0.8000,0.8889,0.6667,20,5.0,0.2000,200.0,0.5000,,,0.7500,1\n"
      "a.q,2026-11-21,30,27,0.9000,1.0000,1.0000,20,1.0,0.1000,200.0,,1.0000,0.2500,1.0000,2\n"
      "a.q,total,40,35,0.8750,0.9722,0.9167,20,1.9,0.1250,200.0,0.5000,1.0000,0.2500,0.9429,3\n"
      "b,2026-11-20,0,0,,,,30,,,,,,,,0\n"
      "b,total,0,0,,,,30,,,,,,,,0\n");
  EXPECT_EQ(Report(Format::kCsv, "b"),
            "queue,day,offered,answered,connection_rate,human_answer_rate,service_level,"
            "sl_threshold_s,asa_s,abandonment_rate,aht_s,followup_timeliness,"
            "complaint_reply_timeliness,repeat_complaint_rate,fcr,return_visits_done\n"
            "b,2026-11-20,0,0,,,,30,,,,,,,,0\n"
            "b,total,0,0,,,,30,,,,,,,,0\n");
}

TEST_F(ReportTest, JsonExact) {
  const nlohmann::json j = nlohmann::json::parse(Report(Format::kJson));
  EXPECT_EQ(j["from"], "2026-11-20");
  EXPECT_EQ(j["to"], "2026-11-21");
  ASSERT_EQ(j["queues"].size(), 2u);
  const auto& a = j["queues"][0];
  EXPECT_EQ(a["queue"], "a.q");
  ASSERT_EQ(a["days"].size(), 2u);
  EXPECT_EQ(a["days"][0]["day"], "2026-11-20");
  EXPECT_EQ(a["days"][0]["offered"], 10);
  EXPECT_EQ(a["days"][0]["connection_rate"], 0.8);
  EXPECT_EQ(a["days"][0]["abandonment_rate"], 0.2);
  EXPECT_TRUE(a["days"][0]["complaint_reply_timeliness"].is_null());
  EXPECT_EQ(a["total"]["day"], "total");
  EXPECT_EQ(a["total"]["offered"], 40);
  EXPECT_EQ(a["total"]["answered"], 35);
  EXPECT_EQ(a["total"]["connection_rate"], 0.875);
  EXPECT_EQ(a["total"]["service_level"], 33.0 / 36);  // from the sums, not averaged
  EXPECT_EQ(a["total"]["abandonment_rate"], 0.125);
  EXPECT_EQ(a["total"]["aht_s"], 200.0);
  EXPECT_EQ(a["total"]["return_visits_done"], 3);
  const auto& b = j["queues"][1];
  for (const char* k : {"connection_rate", "human_answer_rate", "service_level", "asa_s",
                        "abandonment_rate", "aht_s", "followup_timeliness",
                        "complaint_reply_timeliness", "repeat_complaint_rate", "fcr"}) {
    EXPECT_TRUE(b["total"][k].is_null()) << k;
  }
}

TEST_F(ReportTest, TableShowsNotApplicable) {
  const std::string t = Report(Format::kTable);
  EXPECT_NE(t.find("a.q    total"), std::string::npos) << t;
  EXPECT_NE(t.find("87.5%"), std::string::npos) << t;
  EXPECT_NE(t.find("n/a@30s"), std::string::npos) << t;
}

int MainWith(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return Main(static_cast<int>(argv.size()), argv.data());
}

TEST(ReportCliTest, BadFlagsExit2) {
  EXPECT_EQ(MainWith({"report", "--kafka", "x:1", "--from", "2026-02-30", "--to", "2026-03-01"}),
            2);
  EXPECT_EQ(MainWith({"report", "--kafka", "x:1", "--from", "2026-03-02", "--to", "2026-03-01"}),
            2);
  EXPECT_EQ(MainWith({"report", "--kafka", "x:1", "--from", "2026-03-01", "--to", "tomorrow"}), 2);
  EXPECT_EQ(MainWith({"report", "--kafka", "x:1", "--from", "2026-03-01", "--to", "2026-03-01",
                      "--format", "xml"}),
            2);
  EXPECT_EQ(MainWith({"report", "--from", "2026-03-01", "--to", "2026-03-01"}), 2);
}

TEST(ReportCliTest, UnreachableBrokerExit1InBoundedTime) {
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(MainWith({"report", "--kafka", "127.0.0.1:1", "--from", "2026-03-01", "--to",
                      "2026-03-01", "--timeout-ms", "1500"}),
            1);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

}  // namespace
}  // namespace sb::report
