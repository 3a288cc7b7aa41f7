#include "router/stats/kpi.h"

#include <gtest/gtest.h>

namespace sb::stats {
namespace {

namespace pb = ::switchboard::v1;

pb::QueueDay Sample() {
  pb::QueueDay d;
  d.set_queue("q");
  d.set_day("2026-11-23");
  d.set_offered(100);
  d.set_answered(80);
  d.set_answered_within_sl(60);
  d.set_abandoned_short(4);
  d.set_abandoned(6);
  d.set_expired(5);
  d.set_cancelled(2);
  d.set_overflowed_out(3);
  d.set_answered_wait_s_sum(800);
  d.set_handled(75);
  d.set_handle_s_sum(15000);
  d.set_resolved_first_contact(60);
  d.set_followups_ended(10);
  d.set_followups_on_time(9);
  d.set_complaint_replies_ended(4);
  d.set_complaint_replies_on_time(3);
  d.set_complaints(50);
  d.set_repeat_complaints(1);
  d.set_return_visits_done(7);
  d.set_sl_threshold_s(20);
  d.set_sl_target(0.8);
  return d;
}

TEST(KpiTest, EveryFormula) {
  const Kpis k = ComputeKpis(Sample());
  EXPECT_EQ(k.offered, 100u);
  EXPECT_EQ(k.answered, 80u);
  EXPECT_DOUBLE_EQ(*k.connection_rate, 80.0 / 100);
  EXPECT_DOUBLE_EQ(*k.human_answer_rate, 80.0 / 96);  // short abandons leave the denominator
  EXPECT_DOUBLE_EQ(*k.service_level, 60.0 / 86);      // answered + abandoned (not short)
  EXPECT_DOUBLE_EQ(k.sl_threshold_s, 20);
  EXPECT_DOUBLE_EQ(k.sl_target, 0.8);
  EXPECT_DOUBLE_EQ(*k.asa_s, 10);
  EXPECT_DOUBLE_EQ(*k.abandonment_rate, 10.0 / 100);
  EXPECT_DOUBLE_EQ(*k.aht_s, 200);
  EXPECT_DOUBLE_EQ(*k.followup_timeliness, 0.9);
  EXPECT_DOUBLE_EQ(*k.complaint_reply_timeliness, 0.75);
  EXPECT_DOUBLE_EQ(*k.repeat_complaint_rate, 0.02);
  EXPECT_DOUBLE_EQ(*k.fcr, 60.0 / 75);
  EXPECT_EQ(k.return_visits_done, 7u);
}

TEST(KpiTest, ZeroDenominatorsAreNotApplicableNeverNanOrPerfect) {
  pb::QueueDay empty;
  const Kpis k = ComputeKpis(empty);
  EXPECT_FALSE(k.connection_rate.has_value());
  EXPECT_FALSE(k.human_answer_rate.has_value());
  EXPECT_FALSE(k.service_level.has_value());
  EXPECT_FALSE(k.asa_s.has_value());
  EXPECT_FALSE(k.abandonment_rate.has_value());
  EXPECT_FALSE(k.aht_s.has_value());
  EXPECT_FALSE(k.followup_timeliness.has_value());
  EXPECT_FALSE(k.complaint_reply_timeliness.has_value());
  EXPECT_FALSE(k.repeat_complaint_rate.has_value());
  EXPECT_FALSE(k.fcr.has_value());
  EXPECT_EQ(k.return_visits_done, 0u);
}

TEST(KpiTest, AllShortAbandonsLeaveHumanAnswerRateNotApplicable) {
  pb::QueueDay d;
  d.set_offered(3);
  d.set_abandoned_short(3);
  const Kpis k = ComputeKpis(d);
  EXPECT_DOUBLE_EQ(*k.connection_rate, 0);
  EXPECT_FALSE(k.human_answer_rate.has_value());
  EXPECT_FALSE(k.service_level.has_value());  // short abandons are not in SL
  EXPECT_DOUBLE_EQ(*k.abandonment_rate, 1);
  d.set_abandoned_short(5);  // inconsistent counters: no wrap-around
  EXPECT_FALSE(ComputeKpis(d).human_answer_rate.has_value());
}

TEST(KpiTest, RangeTotalsRecomputeRatiosFromSums) {
  pb::QueueDay busy = Sample();  // SL 60/86
  pb::QueueDay quiet;
  quiet.set_queue("q");
  quiet.set_day("2026-11-24");
  quiet.set_offered(2);
  quiet.set_answered(2);
  quiet.set_answered_within_sl(2);  // SL 100 %
  quiet.set_sl_threshold_s(30);
  const pb::QueueDay sum = SumDays({busy, quiet});
  EXPECT_EQ(sum.day(), "2026-11-23..2026-11-24");
  EXPECT_EQ(sum.offered(), 102u);
  const Kpis k = ComputeKpis(sum);
  EXPECT_DOUBLE_EQ(*k.service_level, 62.0 / 88);  // not (60/86 + 1) / 2
  EXPECT_DOUBLE_EQ(k.sl_threshold_s, 30);
  EXPECT_EQ(k.return_visits_done, 7u);
}

TEST(KpiTest, RatioHelper) {
  EXPECT_FALSE(Ratio(1, 0).has_value());
  EXPECT_FALSE(Ratio(0, 0).has_value());
  EXPECT_DOUBLE_EQ(*Ratio(0, 5), 0);
}

}  // namespace
}  // namespace sb::stats
