#include "router/followup/settings.h"

#include <algorithm>
#include <cmath>

#include "common/config/config.h"
#include "common/config/text.h"

namespace sb::followup {
namespace {

constexpr uint32_t kMaxHours = 24 * 365;
constexpr uint32_t kMaxRetentionDays = 3650;
constexpr uint32_t kMaxAttempts = 20;

template <typename T>
void Default(T value, T fallback, void (pb::FollowUpConfig::*set)(T), pb::FollowUpConfig* c) {
  if (value == T{}) (c->*set)(fallback);
}

Status Hours(const std::string& field, uint32_t value, uint32_t max) {
  if (value < 1 || value > max) {
    return InvalidArgument(field + ": must be 1.." + std::to_string(max) + " hours, got " +
                           std::to_string(value));
  }
  return Status::Ok();
}

Status QueueName(const std::string& field, const std::string& name) {
  if (name.size() > 64 || !config::ValidNameChars(name)) {
    return InvalidArgument(field + ": " + config::Quote(name) +
                           " is not a queue name (letters, digits, _ . : -; at most 64)");
  }
  return Status::Ok();
}

Result<std::vector<Window>> WindowsOf(const pb::FollowUpConfig& c) {
  std::vector<Window> windows;
  for (int i = 0; i < c.call_windows_size(); ++i) {
    const std::string f = config::Field("call_windows", i);
    Result<int> start = config::ParseTimeOfDay(c.call_windows(i).start(), true);
    if (!start.ok()) return InvalidArgument(f + ".start: " + start.status().message());
    Result<int> end = config::ParseTimeOfDay(c.call_windows(i).end(), true);
    if (!end.ok()) return InvalidArgument(f + ".end: " + end.status().message());
    windows.push_back({*start, *end});
  }
  return windows;
}

}  // namespace

void ApplyDefaults(pb::FollowUpConfig* c) {
  if (c->call_windows_size() == 0) {
    for (auto [start, end] : {std::pair{"07:30", "12:30"}, std::pair{"14:00", "21:00"}}) {
      pb::CallWindowDef* w = c->add_call_windows();
      w->set_start(start);
      w->set_end(end);
    }
  }
  if (c->default_time_zone().empty()) c->set_default_time_zone("Asia/Shanghai");
  using C = pb::FollowUpConfig;
  Default<uint32_t>(c->simple_complaint_hours(), 2, &C::set_simple_complaint_hours, c);
  Default<uint32_t>(c->complex_complaint_hours(), 24, &C::set_complex_complaint_hours, c);
  Default<uint32_t>(c->complaint_cap_hours(), 48, &C::set_complaint_cap_hours, c);
  Default<uint32_t>(c->written_report_hours(), 24, &C::set_written_report_hours, c);
  Default<uint32_t>(c->knowledge_gap_hours(), 24, &C::set_knowledge_gap_hours, c);
  Default<uint32_t>(c->repair_urban_hours(), 72, &C::set_repair_urban_hours, c);
  Default<uint32_t>(c->repair_rural_hours(), 48, &C::set_repair_rural_hours, c);
  Default<uint32_t>(c->return_visit_delay_hours(), 24, &C::set_return_visit_delay_hours, c);
  Default<uint32_t>(c->expire_after_hours(), 72, &C::set_expire_after_hours, c);
  Default<uint32_t>(c->outcome_timeout_s(), 3600, &C::set_outcome_timeout_s, c);
  Default<uint32_t>(c->ended_retention_days(), 60, &C::set_ended_retention_days, c);
  if (!c->has_max_fires_per_s()) c->set_max_fires_per_s(50);
  pb::RetryPolicy* r = c->mutable_retry();
  if (r->max_attempts() == 0) r->set_max_attempts(3);
  if (r->initial_backoff_s() == 0) r->set_initial_backoff_s(900);
  if (r->multiplier() == 0) r->set_multiplier(2);
  if (r->max_backoff_s() == 0) r->set_max_backoff_s(7200);
  if (c->callback_queue().empty()) c->set_callback_queue("callbacks");
  if (c->complaint_queue().empty()) c->set_complaint_queue("complaints");
  if (c->return_visit_queue().empty()) c->set_return_visit_queue("return-visits");
  if (c->escalation_queue().empty()) c->set_escalation_queue("team-lead");
  if (c->management_queue().empty()) c->set_management_queue("management");
  if (c->escalation_priority() == pb::PRIORITY_NORMAL) {
    c->set_escalation_priority(pb::PRIORITY_URGENT);
  }
}

Status Validate(const pb::FollowUpConfig& c) {
  Result<std::vector<Window>> windows = WindowsOf(c);
  if (!windows.ok()) return windows.status();
  SB_RETURN_IF_ERROR(CallWindows::Create(*windows).status());
  if (Result<absl::TimeZone> z = LoadZone(c.default_time_zone()); !z.ok()) {
    return InvalidArgument("default_" + z.status().message());
  }
  SB_RETURN_IF_ERROR(Hours("complaint_cap_hours", c.complaint_cap_hours(), kMaxHours));
  const uint32_t cap = c.complaint_cap_hours();
  SB_RETURN_IF_ERROR(Hours("simple_complaint_hours", c.simple_complaint_hours(), cap));
  SB_RETURN_IF_ERROR(Hours("complex_complaint_hours", c.complex_complaint_hours(), cap));
  SB_RETURN_IF_ERROR(Hours("written_report_hours", c.written_report_hours(), cap));
  for (int i = 0; i < c.complaint_deadlines_size(); ++i) {
    const pb::ComplaintDeadline& d = c.complaint_deadlines(i);
    const std::string f = config::Field("complaint_deadlines", i);
    if (d.complaint_category().empty() || d.customer_category().empty()) {
      return InvalidArgument(f +
                             ": complaint_category and customer_category are required (\"*\" "
                             "matches any)");
    }
    SB_RETURN_IF_ERROR(Hours(f + ".hours", d.hours(), cap));
  }
  SB_RETURN_IF_ERROR(Hours("knowledge_gap_hours", c.knowledge_gap_hours(), kMaxHours));
  SB_RETURN_IF_ERROR(Hours("repair_urban_hours", c.repair_urban_hours(), kMaxHours));
  SB_RETURN_IF_ERROR(Hours("repair_rural_hours", c.repair_rural_hours(), kMaxHours));
  SB_RETURN_IF_ERROR(Hours("return_visit_delay_hours", c.return_visit_delay_hours(), kMaxHours));
  SB_RETURN_IF_ERROR(Hours("expire_after_hours", c.expire_after_hours(), kMaxHours));
  if (c.outcome_timeout_s() > kMaxHours * 3600u) {
    return InvalidArgument("outcome_timeout_s: at most " + std::to_string(kMaxHours * 3600u));
  }
  if (c.ended_retention_days() > kMaxRetentionDays) {
    return InvalidArgument("ended_retention_days: at most " + std::to_string(kMaxRetentionDays) +
                           " (ten years), got " + std::to_string(c.ended_retention_days()));
  }
  const pb::RetryPolicy& r = c.retry();
  if (r.max_attempts() > kMaxAttempts) {
    return InvalidArgument("retry.max_attempts: must be 1.." + std::to_string(kMaxAttempts) +
                           ", got " + std::to_string(r.max_attempts()));
  }
  if (!(r.multiplier() >= 1 && r.multiplier() <= 10)) {
    return InvalidArgument("retry.multiplier: must be 1..10, got " +
                           config::FormatNumber(r.multiplier()));
  }
  if (r.initial_backoff_s() > r.max_backoff_s() || r.max_backoff_s() > kMaxHours * 3600u) {
    return InvalidArgument("retry.max_backoff_s: must be at least initial_backoff_s (" +
                           std::to_string(r.initial_backoff_s()) + ") and at most a year");
  }
  SB_RETURN_IF_ERROR(QueueName("callback_queue", c.callback_queue()));
  SB_RETURN_IF_ERROR(QueueName("complaint_queue", c.complaint_queue()));
  SB_RETURN_IF_ERROR(QueueName("return_visit_queue", c.return_visit_queue()));
  SB_RETURN_IF_ERROR(QueueName("escalation_queue", c.escalation_queue()));
  SB_RETURN_IF_ERROR(QueueName("management_queue", c.management_queue()));
  if (!(c.max_fires_per_s() >= 0 && c.max_fires_per_s() <= 1e6)) {
    return InvalidArgument("max_fires_per_s: must be 0 (unlimited) .. 1000000, got " +
                           config::FormatNumber(c.max_fires_per_s()));
  }
  return Status::Ok();
}

Result<pb::FollowUpConfig> ParseConfig(std::string_view text) {
  pb::FollowUpConfig config;
  SB_RETURN_IF_ERROR(config::ParseMessage(text, &config));
  ApplyDefaults(&config);
  SB_RETURN_IF_ERROR(Validate(config));
  return config;
}

Result<pb::FollowUpConfig> LoadConfigFile(const std::string& path) {
  std::string text;
  SB_RETURN_IF_ERROR(config::ReadConfigFile(path, &text));
  Result<pb::FollowUpConfig> config = ParseConfig(text);
  if (!config.ok()) return InvalidArgument(path + ": " + config.status().message());
  return config;
}

Result<Settings> Settings::Resolve(const pb::FollowUpConfig& config) {
  SB_RETURN_IF_ERROR(Validate(config));
  Settings s;
  s.config = config;
  Result<std::vector<Window>> windows = WindowsOf(config);
  if (!windows.ok()) return windows.status();
  Result<CallWindows> cw = CallWindows::Create(*windows);
  if (!cw.ok()) return cw.status();
  s.windows = *cw;
  Result<absl::TimeZone> zone = LoadZone(config.default_time_zone());
  if (!zone.ok()) return zone.status();
  s.default_zone = *zone;
  return s;
}

uint32_t Settings::ComplaintHours(const pb::FollowUpRequest& r) const {
  uint32_t hours = r.written_report() ? config.written_report_hours()
                   : r.complex()      ? config.complex_complaint_hours()
                                      : config.simple_complaint_hours();
  auto matches = [](const std::string& pattern, const std::string& value) {
    return pattern == "*" || pattern == value;
  };
  for (const pb::ComplaintDeadline& d : config.complaint_deadlines()) {
    if (matches(d.complaint_category(), r.complaint_category()) &&
        matches(d.customer_category(), r.customer_category())) {
      hours = d.hours();
      break;
    }
  }
  return std::min(hours, config.complaint_cap_hours());
}

int64_t Settings::BackoffMs(uint32_t next_attempt) const {
  const pb::RetryPolicy& r = config.retry();
  const double s =
      r.initial_backoff_s() * std::pow(r.multiplier(), next_attempt < 2 ? 0 : next_attempt - 2);
  return static_cast<int64_t>(std::min<double>(s, r.max_backoff_s()) * 1000);
}

const std::string& Settings::DefaultQueue(pb::FollowUpKind kind) const {
  switch (kind) {
    case pb::FOLLOW_UP_KIND_COMPLAINT_REPLY:
      return config.complaint_queue();
    case pb::FOLLOW_UP_KIND_RETURN_VISIT:
      return config.return_visit_queue();
    case pb::FOLLOW_UP_KIND_REPAIR_STAGE:
    case pb::FOLLOW_UP_KIND_DEPARTMENT_FEEDBACK:
      return config.escalation_queue();
    case pb::FOLLOW_UP_KIND_MANAGEMENT_NOTIFICATION:
      return config.management_queue();
    default:  // callbacks, knowledge gaps (and kinds Submit refuses)
      return config.callback_queue();
  }
}

std::vector<std::string> Settings::Queues() const {
  return {config.callback_queue(), config.complaint_queue(), config.return_visit_queue(),
          config.escalation_queue(), config.management_queue()};
}

}  // namespace sb::followup
