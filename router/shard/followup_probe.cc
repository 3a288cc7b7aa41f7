#include "router/shard/followup_probe.h"

#include <cctype>

#include "switchboard/v1/followup.pb.h"

namespace sb::shard {
namespace {

// An enum value's name without its prefix, lower case: FOLLOW_UP_KIND_CALLBACK -> callback.
std::string Short(const std::string& name, std::string_view prefix) {
  std::string s = name.rfind(prefix, 0) == 0 ? name.substr(prefix.size()) : name;
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string KindLabel(pb::FollowUpKind k) {
  return Short(pb::FollowUpKind_Name(k), "FOLLOW_UP_KIND_");
}

}  // namespace

FollowUpProbe::FollowUpProbe(prometheus::Registry& registry, const pb::RoutingConfig& config)
    : open_{&prometheus::BuildGauge()
                 .Name("sb_followup_open_tasks")
                 .Help("Open follow-up tasks: pending (waiting for their time), due (their time "
                       "has come; held by quiet hours, outage or the firing rate), firing (an "
                       "attempt is out)")
                 .Register(registry),
            {}},
      overdue_{&prometheus::BuildGauge()
                    .Name("sb_followup_overdue_tasks")
                    .Help("Open follow-up tasks past their deadline: promises being broken")
                    .Register(registry),
               {}},
      ended_{&prometheus::BuildCounter()
                  .Name("sb_followup_ended_total")
                  .Help("Follow-up tasks ended (done, escalated, expired, cancelled); timely=yes: "
                        "done before the deadline (or without one)")
                  .Register(registry),
             {}},
      attempts_{&prometheus::BuildCounter()
                     .Name("sb_followup_attempts_total")
                     .Help("Follow-up attempts by outcome")
                     .Register(registry),
                {}} {
  for (const pb::QueueDef& q : config.queues()) domain_of_queue_[q.name()] = q.domain();
}

void FollowUpProbe::Publish(const std::vector<const followup::Scheduler*>& schedulers,
                            int64_t now_ms) {
  Values open, overdue, ended, attempts;
  for (const followup::Scheduler* s : schedulers) {
    s->ForEach([&](const pb::FollowUpTask& t) {
      auto d = domain_of_queue_.find(t.queue());
      const std::string domain = d == domain_of_queue_.end() ? "" : d->second;
      const std::string kind = KindLabel(t.request().kind());
      for (const pb::FollowUpAttempt& a : t.attempts()) {
        if (a.outcome() == pb::ATTEMPT_OUTCOME_UNSPECIFIED) continue;  // still out
        attempts[{{"domain", domain},
                  {"kind", kind},
                  {"outcome", Short(pb::AttemptOutcome_Name(a.outcome()), "ATTEMPT_OUTCOME_")}}] +=
            1;
      }
      switch (t.state()) {
        case pb::FOLLOW_UP_STATE_PENDING:
        case pb::FOLLOW_UP_STATE_FIRING: {
          const char* state = t.state() == pb::FOLLOW_UP_STATE_FIRING            ? "firing"
                              : (t.fire_at_ms() > 0 && t.fire_at_ms() <= now_ms) ? "due"
                                                                                 : "pending";
          open[{{"domain", domain}, {"kind", kind}, {"state", state}}] += 1;
          if (t.deadline_at_ms() > 0 && now_ms > t.deadline_at_ms())
            overdue[{{"domain", domain}, {"kind", kind}}] += 1;
          break;
        }
        default: {
          const bool timely = t.state() == pb::FOLLOW_UP_STATE_DONE &&
                              (t.deadline_at_ms() == 0 || t.ended_at_ms() <= t.deadline_at_ms());
          ended[{{"domain", domain},
                 {"kind", kind},
                 {"end", Short(pb::FollowUpState_Name(t.state()), "FOLLOW_UP_STATE_")},
                 {"timely", timely ? "yes" : "no"}}] += 1;
          break;
        }
      }
    });
  }
  SetGauges(open_, open);
  SetGauges(overdue_, overdue);
  SetCounters(ended_, ended);
  SetCounters(attempts_, attempts);
}

void FollowUpProbe::SetGauges(Series<prometheus::Gauge>& s, const Values& values) {
  for (auto it = s.live.begin(); it != s.live.end();) {
    if (values.count(it->first)) {
      ++it;
    } else {
      s.family->Remove(it->second.first);
      it = s.live.erase(it);
    }
  }
  for (const auto& [labels, v] : values) {
    auto& slot = s.live[labels];
    if (slot.first == nullptr) slot.first = &s.family->Add(labels);
    slot.first->Set(v);
    slot.second = v;
  }
}

void FollowUpProbe::SetCounters(Series<prometheus::Counter>& s, const Values& values) {
  for (auto it = s.live.begin(); it != s.live.end();) {
    auto v = values.find(it->first);
    // Gone, or lower (a shard left this node): the series starts over (a counter reset).
    if (v != values.end() && v->second >= it->second.second) {
      ++it;
    } else {
      s.family->Remove(it->second.first);
      it = s.live.erase(it);
    }
  }
  for (const auto& [labels, v] : values) {
    auto& slot = s.live[labels];
    if (slot.first == nullptr) slot.first = &s.family->Add(labels);
    slot.first->Increment(v - slot.second);
    slot.second = v;
  }
}

}  // namespace sb::shard
