#include "tools/sim/scenario.h"

#include <cmath>
#include <set>
#include <string>

#include "common/config/config.h"
#include "common/config/text.h"

namespace sb::sim {
namespace {

using config::Field;
using config::FormatNumber;
using config::ParseTimeOfDay;
using config::Quote;

constexpr double kMaxHours = 24 * 365;
constexpr uint32_t kMaxReplications = 1000;
constexpr uint64_t kMaxAgents = 100000;
constexpr double kMaxArrivalsPerHour = 10'000'000;
constexpr double kMaxSeconds = 30 * 24 * 3600;
constexpr int kMaxProfileIntervals = 96;  // one day of 15-minute intervals
constexpr uint32_t kMaxProficiency = 5;

Status NonNegative(const std::string& field, double v, double max) {
  if (!std::isfinite(v)) return InvalidArgument(field + ": must be a finite number");
  if (v < 0) return InvalidArgument(field + ": must not be negative (got " + FormatNumber(v) + ")");
  if (v > max) {
    return InvalidArgument(field + ": must be at most " + FormatNumber(max) + " (got " +
                           FormatNumber(v) + ")");
  }
  return Status::Ok();
}

Status Positive(const std::string& field, double v, double max) {
  SB_RETURN_IF_ERROR(NonNegative(field, v, max));
  if (v == 0) return InvalidArgument(field + ": must be positive");
  return Status::Ok();
}

Status TimeOfDay(const std::string& field, const std::string& text) {
  Result<int> minutes = ParseTimeOfDay(text);
  if (!minutes.ok()) return InvalidArgument(field + ": " + minutes.status().message());
  return Status::Ok();
}

class Checker {
 public:
  explicit Checker(const pb::SimScenario& s) : s_(s) {}

  Status Run() {
    if (s_.routing().queues_size() == 0) {
      return InvalidArgument("routing: a routing config with at least one queue is required");
    }
    if (Status st = config::Validate(s_.routing()); !st.ok()) {
      return InvalidArgument("routing." + st.message());
    }
    for (const auto& q : s_.routing().queues()) queues_.insert(q.name());
    for (const auto& k : s_.routing().skills()) skills_.insert(k.name());
    for (const auto& d : s_.routing().domains()) domains_.insert(d.name());
    SB_RETURN_IF_ERROR(Positive("hours", s_.hours(), kMaxHours));
    SB_RETURN_IF_ERROR(NonNegative("warmup_hours", s_.warmup_hours(), kMaxHours));
    if (s_.replications() < 1 || s_.replications() > kMaxReplications) {
      return InvalidArgument("replications: must be 1.." + std::to_string(kMaxReplications) +
                             " (got " + std::to_string(s_.replications()) + ")");
    }
    SB_RETURN_IF_ERROR(TimeOfDay("start_time", s_.start_time()));
    if (s_.traffic_size() == 0) return InvalidArgument("traffic: at least one entry is required");
    for (int i = 0; i < s_.traffic_size(); ++i) SB_RETURN_IF_ERROR(Traffic(i));
    if (s_.agents_size() == 0) return InvalidArgument("agents: at least one group is required");
    uint64_t total = 0;
    for (int i = 0; i < s_.agents_size(); ++i) {
      SB_RETURN_IF_ERROR(Group(i));
      total += s_.agents(i).count();
    }
    if (total > kMaxAgents) {
      return InvalidArgument("agents: at most " + std::to_string(kMaxAgents) +
                             " agents in all (got " + std::to_string(total) + ")");
    }
    return Status::Ok();
  }

 private:
  Status Traffic(int i) {
    const pb::SimTraffic& t = s_.traffic(i);
    const std::string f = Field("traffic", i);
    if (!queues_.count(t.queue())) {
      return InvalidArgument(f + ".queue: unknown queue " + Quote(t.queue()) +
                             " (not in routing.queues)");
    }
    if (t.channel() == pb::CHANNEL_UNSPECIFIED || !pb::Channel_IsValid(t.channel())) {
      return InvalidArgument(f + ".channel: must be a channel");
    }
    SB_RETURN_IF_ERROR(
        NonNegative(f + ".arrivals_per_hour", t.arrivals_per_hour(), kMaxArrivalsPerHour));
    if (t.profile_size() > kMaxProfileIntervals) {
      return InvalidArgument(f + ".profile: at most " + std::to_string(kMaxProfileIntervals) +
                             " 15-minute intervals (got " + std::to_string(t.profile_size()) + ")");
    }
    for (int k = 0; k < t.profile_size(); ++k) {
      SB_RETURN_IF_ERROR(NonNegative(Field(f + ".profile", k), t.profile(k), kMaxArrivalsPerHour));
    }
    if (t.profile_size() > 0 && t.arrivals_per_hour() > 0) {
      return InvalidArgument(f + ": give either arrivals_per_hour or profile, not both");
    }
    SB_RETURN_IF_ERROR(TimeOfDay(f + ".profile_start", t.profile_start()));
    SB_RETURN_IF_ERROR(Positive(f + ".aht_s", t.aht_s(), kMaxSeconds));
    if (!pb::HandleTime_IsValid(t.handle_time())) {
      return InvalidArgument(f + ".handle_time: unknown distribution");
    }
    SB_RETURN_IF_ERROR(Positive(f + ".handle_time_cv", t.handle_time_cv(), 100));
    SB_RETURN_IF_ERROR(NonNegative(f + ".acw_s", t.acw_s(), kMaxSeconds));
    if (t.acw_s() > 0) {
      for (const auto& q : s_.routing().queues()) {
        if (q.name() == t.queue() && q.acw_limit_s() == 0) {
          return InvalidArgument(f + ".acw_s: queue " + Quote(t.queue()) +
                                 " has no after-contact work (routing acw_limit_s is 0)");
        }
      }
    }
    SB_RETURN_IF_ERROR(NonNegative(f + ".patience_s", t.patience_s(), kMaxSeconds));
    double shares = 0;
    for (int k = 0; k < t.priority_mix_size(); ++k) {
      const pb::SimPriorityShare& p = t.priority_mix(k);
      const std::string pf = Field(f + ".priority_mix", k);
      if (!pb::Priority_IsValid(p.priority())) return InvalidArgument(pf + ".priority: unknown");
      if (!pb::Origin_IsValid(p.origin())) return InvalidArgument(pf + ".origin: unknown");
      SB_RETURN_IF_ERROR(NonNegative(pf + ".share", p.share(), 1e9));
      shares += p.share();
    }
    if (shares <= 0)
      return InvalidArgument(f + ".priority_mix: the shares must add up to more than 0");
    return Status::Ok();
  }

  Status Group(int i) {
    const pb::SimAgentGroup& g = s_.agents(i);
    const std::string f = Field("agents", i);
    if (g.count() == 0) return InvalidArgument(f + ".count: must be at least 1");
    if (!domains_.count(g.domain())) {
      return InvalidArgument(
          f + ".domain: unknown domain " + Quote(g.domain()) +
          (s_.routing().domains_size() > 1 ? " (required when routing has several domains)" : ""));
    }
    if (g.skills_size() == 0) return InvalidArgument(f + ".skills: at least one skill is required");
    for (int k = 0; k < g.skills_size(); ++k) {
      const std::string sf = Field(f + ".skills", k);
      const pb::SkillLevel& s = g.skills(k);
      if (!skills_.count(s.skill())) {
        return InvalidArgument(sf + ".skill: unknown skill " + Quote(s.skill()) +
                               " (not in routing.skills)");
      }
      if (s.proficiency() < 1 || s.proficiency() > kMaxProficiency) {
        return InvalidArgument(sf + ".proficiency: must be 1..5 (got " +
                               std::to_string(s.proficiency()) + ")");
      }
    }
    for (int k = 0; k < g.shifts_size(); ++k) {
      const std::string sf = Field(f + ".shifts", k);
      SB_RETURN_IF_ERROR(TimeOfDay(sf + ".start", g.shifts(k).start()));
      SB_RETURN_IF_ERROR(TimeOfDay(sf + ".end", g.shifts(k).end()));
      if (*ParseTimeOfDay(g.shifts(k).start()) == *ParseTimeOfDay(g.shifts(k).end())) {
        return InvalidArgument(sf +
                               ": start and end are the same time (leave shifts out for "
                               "agents on duty around the clock)");
      }
    }
    return Status::Ok();
  }

  const pb::SimScenario& s_;
  std::set<std::string> queues_, skills_, domains_;
};

}  // namespace

pb::SimScenario ScenarioFromFlags(const FlagScenario& flags) {
  pb::SimScenario s;
  pb::RoutingConfig* r = s.mutable_routing();
  r->add_skills()->set_name("general");
  r->add_domains()->set_name("main");
  pb::QueueDef* q = r->add_queues();
  q->set_name("main");
  q->set_domain("main");
  q->set_strategy(flags.strategy);
  pb::SkillRequirement* req = q->add_required_skills();
  req->set_skill("general");
  req->set_min_proficiency(1);
  q->set_service_level_threshold_s(flags.threshold_s);
  q->set_offer_timeout_s(30);
  r->set_short_abandon_s(0);

  pb::SimTraffic* t = s.add_traffic();
  t->set_queue("main");
  t->set_arrivals_per_hour(flags.arrivals_per_hour);
  t->set_aht_s(flags.aht_s);
  t->set_patience_s(flags.patience_s);
  if (flags.urgent_share > 0) {
    pb::SimPriorityShare* urgent = t->add_priority_mix();
    urgent->set_priority(pb::PRIORITY_URGENT);
    urgent->set_share(flags.urgent_share);
    pb::SimPriorityShare* normal = t->add_priority_mix();
    normal->set_share(std::max(0.0, 1 - flags.urgent_share));
  }
  // Five groups of proficiency 1..5, agent n in group n % 5.
  for (int p = 1; p <= 5; ++p) {
    const int count = flags.agents / 5 + (p <= flags.agents % 5 ? 1 : 0);
    if (count == 0) continue;
    pb::SimAgentGroup* g = s.add_agents();
    g->set_name("proficiency-" + std::to_string(p));
    g->set_count(static_cast<uint32_t>(count));
    g->set_domain("main");
    pb::SkillLevel* k = g->add_skills();
    k->set_skill("general");
    k->set_proficiency(static_cast<uint32_t>(p));
  }
  return s;
}

void ApplyDefaults(pb::SimScenario* s) {
  config::ApplyDefaults(s->mutable_routing());
  if (s->replications() == 0) s->set_replications(1);
  if (s->start_time().empty()) s->set_start_time("00:00");
  for (pb::SimTraffic& t : *s->mutable_traffic()) {
    if (t.channel() == pb::CHANNEL_UNSPECIFIED) t.set_channel(pb::CHANNEL_VOICE);
    if (t.profile_start().empty()) t.set_profile_start("00:00");
    if (t.handle_time_cv() == 0) t.set_handle_time_cv(1);
    if (t.priority_mix_size() == 0) t.add_priority_mix()->set_share(1);
  }
  if (s->routing().domains_size() == 1) {
    for (pb::SimAgentGroup& g : *s->mutable_agents()) {
      if (g.domain().empty()) g.set_domain(s->routing().domains(0).name());
    }
  }
}

Status Validate(const pb::SimScenario& scenario) { return Checker(scenario).Run(); }

void ApplyOverrides(const Overrides& o, pb::SimScenario* s) {
  if (o.hours) s->set_hours(*o.hours);
  if (o.warmup_hours) s->set_warmup_hours(*o.warmup_hours);
  if (o.seed) s->set_seed(*o.seed);
  if (o.replications) s->set_replications(*o.replications);
}

Result<pb::SimScenario> ParseScenario(std::string_view text, const Overrides& overrides) {
  pb::SimScenario scenario;
  if (Status st = config::ParseMessage(text, &scenario); !st.ok()) {
    // ParseMessage speaks of "config"; here the input is a scenario.
    std::string m = st.message();
    if (m.rfind("config: ", 0) == 0) m = "scenario: " + m.substr(8);
    return InvalidArgument(m);
  }
  ApplyOverrides(overrides, &scenario);
  ApplyDefaults(&scenario);
  SB_RETURN_IF_ERROR(Validate(scenario));
  return scenario;
}

Result<pb::SimScenario> LoadScenarioFile(const std::string& path, const Overrides& overrides) {
  std::string text;
  SB_RETURN_IF_ERROR(config::ReadConfigFile(path, &text));
  Result<pb::SimScenario> s = ParseScenario(text, overrides);
  if (!s.ok()) return Status(s.status().code(), path + ": " + s.status().message());
  return s;
}

}  // namespace sb::sim
