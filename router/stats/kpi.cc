#include "router/stats/kpi.h"

namespace sb::stats {

namespace pb = ::switchboard::v1;

std::optional<double> Ratio(double numerator, double denominator) {
  if (!(denominator > 0)) return std::nullopt;
  return numerator / denominator;
}

Kpis ComputeKpis(const pb::QueueDay& d) {
  Kpis k;
  k.offered = d.offered();
  k.answered = d.answered();
  const double offered = static_cast<double>(d.offered());
  const double answered = static_cast<double>(d.answered());
  k.connection_rate = Ratio(answered, offered);
  // Short abandons (callers who hung up before a human could reasonably answer) are not asks for
  // a human: they leave the human answer rate's denominator. Guard the subtraction: counters
  // from a broken producer must not wrap around.
  const uint64_t asked = d.offered() > d.abandoned_short() ? d.offered() - d.abandoned_short() : 0;
  k.human_answer_rate = Ratio(answered, static_cast<double>(asked));
  k.service_level = Ratio(static_cast<double>(d.answered_within_sl()),
                          static_cast<double>(d.answered() + d.abandoned()));
  k.sl_threshold_s = d.sl_threshold_s();
  k.sl_target = d.sl_target();
  k.asa_s = Ratio(d.answered_wait_s_sum(), answered);
  k.abandonment_rate = Ratio(static_cast<double>(d.abandoned_short() + d.abandoned()), offered);
  k.aht_s = Ratio(d.handle_s_sum(), static_cast<double>(d.handled()));
  k.followup_timeliness =
      Ratio(static_cast<double>(d.followups_on_time()), static_cast<double>(d.followups_ended()));
  k.complaint_reply_timeliness = Ratio(static_cast<double>(d.complaint_replies_on_time()),
                                       static_cast<double>(d.complaint_replies_ended()));
  k.repeat_complaint_rate =
      Ratio(static_cast<double>(d.repeat_complaints()), static_cast<double>(d.complaints()));
  k.fcr = Ratio(static_cast<double>(d.resolved_first_contact()), static_cast<double>(d.handled()));
  k.return_visits_done = d.return_visits_done();
  return k;
}

pb::QueueDay SumDays(const std::vector<pb::QueueDay>& days) {
  pb::QueueDay s;
  if (days.empty()) return s;
  s.set_queue(days.front().queue());
  s.set_domain(days.front().domain());
  s.set_epoch(days.front().epoch());
  s.set_day(days.front().day() + ".." + days.back().day());
  for (const pb::QueueDay& d : days) {
    s.set_offered(s.offered() + d.offered());
    s.set_answered(s.answered() + d.answered());
    s.set_answered_within_sl(s.answered_within_sl() + d.answered_within_sl());
    s.set_abandoned_short(s.abandoned_short() + d.abandoned_short());
    s.set_abandoned(s.abandoned() + d.abandoned());
    s.set_expired(s.expired() + d.expired());
    s.set_cancelled(s.cancelled() + d.cancelled());
    s.set_overflowed_out(s.overflowed_out() + d.overflowed_out());
    s.set_answered_wait_s_sum(s.answered_wait_s_sum() + d.answered_wait_s_sum());
    s.set_handled(s.handled() + d.handled());
    s.set_handle_s_sum(s.handle_s_sum() + d.handle_s_sum());
    s.set_resolved_first_contact(s.resolved_first_contact() + d.resolved_first_contact());
    s.set_excluded_test(s.excluded_test() + d.excluded_test());
    s.set_outbound_offered(s.outbound_offered() + d.outbound_offered());
    s.set_outbound_answered(s.outbound_answered() + d.outbound_answered());
    s.set_followups_ended(s.followups_ended() + d.followups_ended());
    s.set_followups_on_time(s.followups_on_time() + d.followups_on_time());
    s.set_complaint_replies_ended(s.complaint_replies_ended() + d.complaint_replies_ended());
    s.set_complaint_replies_on_time(s.complaint_replies_on_time() + d.complaint_replies_on_time());
    s.set_complaints(s.complaints() + d.complaints());
    s.set_repeat_complaints(s.repeat_complaints() + d.repeat_complaints());
    s.set_return_visits_done(s.return_visits_done() + d.return_visits_done());
  }
  s.set_sl_threshold_s(days.back().sl_threshold_s());
  s.set_sl_target(days.back().sl_target());
  return s;
}

}  // namespace sb::stats
