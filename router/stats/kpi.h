// The derived service-level measures (KPIs) of Switchboard, computed from one QueueDay's counters.
// This is the one place they are defined: the wallboard, `switchboard report` and any future
// AdminService call use these functions, so a measure never means two things (DESIGN.md
// "Service-level definitions"; README.md "Reports and KPI definitions" documents each one).
//
// Pure functions, no state, any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "switchboard/v1/stats.pb.h"

namespace sb::stats {

// numerator / denominator, or nullopt ("n/a") when the denominator is zero: a day without
// contacts has no service level, it does not have a perfect one.
std::optional<double> Ratio(double numerator, double denominator);

struct Kpis {
  uint64_t offered = 0;
  uint64_t answered = 0;
  // Every ratio is nullopt when its denominator is zero.
  std::optional<double> connection_rate;    // answered / offered
  std::optional<double> human_answer_rate;  // answered / (offered - abandoned_short)
  std::optional<double> service_level;      // answered_within_sl / (answered + abandoned)
  double sl_threshold_s = 0;                // the T of service_level
  double sl_target = 0;
  std::optional<double> asa_s;                       // answered_wait_s_sum / answered
  std::optional<double> abandonment_rate;            // (abandoned_short + abandoned) / offered
  std::optional<double> aht_s;                       // handle_s_sum / handled
  std::optional<double> followup_timeliness;         // followups_on_time / followups_ended
  std::optional<double> complaint_reply_timeliness;  // complaint_replies_on_time / .._ended
  std::optional<double> repeat_complaint_rate;       // repeat_complaints / complaints
  std::optional<double> fcr;                         // resolved_first_contact / handled
  uint64_t return_visits_done = 0;
};

Kpis ComputeKpis(const ::switchboard::v1::QueueDay& day);

// Adds the counters of several days of one queue (a report's range total). Ratios over a range
// are computed from these sums, never by averaging daily ratios (a quiet day must not weigh as
// much as a busy one). queue/domain/epoch come from the first day, `day` is "<first>..<last>",
// the SL threshold and target from the last day (the config in force at the end of the range).
::switchboard::v1::QueueDay SumDays(const std::vector<::switchboard::v1::QueueDay>& days);

}  // namespace sb::stats
