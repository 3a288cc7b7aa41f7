#include "router/engine/requirements.h"

#include <algorithm>
#include <cmath>

namespace sb::engine {
namespace {

// Strict priority is aging so slow that no real wait ever crosses a level (about 31 years).
constexpr int64_t kStrictAgingMs = int64_t{1'000'000'000'000};

int64_t Ms(double seconds) { return static_cast<int64_t>(std::llround(seconds * 1000.0)); }

}  // namespace

pb::Decision Decision::ToProto() const {
  pb::Decision d;
  d.set_type(type);
  d.set_reason(reason);
  d.set_contact_id(contact_id);
  d.set_agent_id(agent_id);
  d.set_queue(queue);
  d.set_attempt(attempt);
  d.set_at_ms(at_ms);
  d.set_bullseye_step(bullseye_step);
  if (!owner_agent_id.empty()) d.set_owner_agent_id(owner_agent_id);
  if (!handoff_note.empty()) d.set_handoff_note(handoff_note);
  if (!refusal_code.empty()) d.set_refusal_code(refusal_code);
  if (!detail.empty()) d.set_detail(detail);
  if (!refused_event.empty()) d.set_refused_event(refused_event);
  if (!session.empty()) d.set_session(session);
  if (generation != 0) d.set_generation(generation);
  if (!input_topic.empty()) {
    d.set_input_topic(input_topic);
    d.set_input_offset(input_offset);
  }
  return d;
}

std::vector<Req> MergeReqs(const std::vector<Req>& a, const std::vector<Req>& b) {
  std::vector<Req> out;
  out.reserve(a.size() + b.size());
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    if (j == b.size() || (i < a.size() && a[i].skill < b[j].skill)) {
      out.push_back(a[i++]);
    } else if (i == a.size() || b[j].skill < a[i].skill) {
      out.push_back(b[j++]);
    } else {
      out.push_back({a[i].skill, std::max(a[i].min, b[j].min)});
      ++i, ++j;
    }
  }
  return out;
}

Result<CompiledConfig> CompiledConfig::Compile(const pb::RoutingConfig& config) {
  CompiledConfig c;
  for (const auto& s : config.skills()) {
    c.skills_.emplace(s.name(), static_cast<SkillId>(c.skill_names_.size()));
    c.skill_names_.push_back(s.name());
  }
  for (const auto& d : config.domains()) {
    c.domains_.emplace(d.name(), static_cast<DomainIdx>(c.domain_names_.size()));
    c.domain_names_.push_back(d.name());
  }
  for (const auto& q : config.queues()) {
    c.queue_index_.emplace(q.name(), static_cast<QueueIdx>(c.queues_.size()));
    c.queues_.emplace_back();
  }
  for (int qi = 0; qi < config.queues_size(); ++qi) {
    const auto& q = config.queues(qi);
    const std::string field = "queues[" + std::to_string(qi) + "]";
    QueueSpec& spec = c.queues_[qi];
    spec.name = q.name();
    auto domain = c.FindDomain(q.domain());
    if (!domain) return InvalidArgument(field + ".domain: unknown domain \"" + q.domain() + "\"");
    spec.domain = *domain;
    spec.strategy = q.strategy();
    for (const auto& r : q.required_skills()) {
      auto skill = c.FindSkill(r.skill());
      if (!skill)
        return InvalidArgument(field + ".required_skills: unknown skill \"" + r.skill() + "\"");
      spec.base.push_back({*skill, static_cast<uint8_t>(r.min_proficiency())});
    }
    std::sort(spec.base.begin(), spec.base.end(),
              [](const Req& a, const Req& b) { return a.skill < b.skill; });
    spec.sl_threshold_ms = Ms(q.service_level_threshold_s());
    spec.aging_ms =
        q.priority_aging_s() > 0 ? std::max<int64_t>(1, Ms(q.priority_aging_s())) : kStrictAgingMs;
    spec.offer_timeout_ms = std::max<int64_t>(1, Ms(q.offer_timeout_s()));
    spec.acw_ms = Ms(q.acw_limit_s());
    spec.preferred_wait_ms = Ms(q.preferred_wait_s());
    spec.max_wait_ms = Ms(q.max_wait_s());
    for (int si = 0; si < q.bullseye_size(); ++si) {
      const auto& s = q.bullseye(si);
      QueueSpec::Step step{Ms(s.after_s()), s.relax_proficiency(), {}, std::nullopt};
      for (const auto& name : s.drop_skills()) {
        auto skill = c.FindSkill(name);
        if (!skill) {
          return InvalidArgument(field + ".bullseye[" + std::to_string(si) +
                                 "].drop_skills: unknown skill \"" + name + "\"");
        }
        step.drop.push_back(*skill);
      }
      if (!s.overflow_queue().empty()) {
        step.overflow = c.FindQueue(s.overflow_queue());
        if (!step.overflow) {
          return InvalidArgument(field + ".bullseye[" + std::to_string(si) +
                                 "].overflow_queue: unknown queue \"" + s.overflow_queue() + "\"");
        }
      }
      spec.steps.push_back(std::move(step));
    }
  }
  c.agent_units_ = config.capacity().agent_units();
  for (const auto& cost : config.capacity().costs()) {
    if (cost.channel() > 0 && cost.channel() < kNumChannels)
      c.units_[cost.channel()] = cost.units();
  }
  c.min_units_ = c.agent_units_;
  for (int ch = 1; ch < kNumChannels; ++ch) {
    c.min_units_ = std::min(c.min_units_, c.units_[ch]);
    if (c.units_[ch] == 0)
      return InvalidArgument("capacity.costs: no cost for channel " +
                             pb::Channel_Name(static_cast<pb::Channel>(ch)));
  }
  for (const auto& rule : config.cross_channel_rules()) {
    for (int blocked : rule.blocks()) {
      if (rule.while_on() < kNumChannels && blocked < kNumChannels) {
        c.blocks_[rule.while_on()][blocked] = true;
      }
    }
  }
  c.difficult_cap_ = config.difficult_cap();
  c.short_abandon_ms_ = Ms(config.short_abandon_s());
  return c;
}

std::optional<SkillId> CompiledConfig::FindSkill(std::string_view name) const {
  auto it = skills_.find(std::string(name));
  if (it == skills_.end()) return std::nullopt;
  return it->second;
}

std::optional<QueueIdx> CompiledConfig::FindQueue(std::string_view name) const {
  auto it = queue_index_.find(std::string(name));
  if (it == queue_index_.end()) return std::nullopt;
  return it->second;
}

std::optional<DomainIdx> CompiledConfig::FindDomain(std::string_view name) const {
  auto it = domains_.find(std::string(name));
  if (it == domains_.end()) return std::nullopt;
  return it->second;
}

Result<std::vector<Req>> CompiledConfig::ContactExtras(const pb::Contact& contact) const {
  std::vector<Req> extras;
  for (int i = 0; i < contact.required_skills_size(); ++i) {
    const auto& r = contact.required_skills(i);
    const std::string field = "contact.required_skills[" + std::to_string(i) + "]";
    auto skill = FindSkill(r.skill());
    if (!skill) return InvalidArgument(field + ".skill: unknown skill \"" + r.skill() + "\"");
    if (r.min_proficiency() < 1 || r.min_proficiency() > 5) {
      return InvalidArgument(field + ".min_proficiency: must be 1..5 (got " +
                             std::to_string(r.min_proficiency()) + ")");
    }
    extras = MergeReqs(extras, {{*skill, static_cast<uint8_t>(r.min_proficiency())}});
  }
  if (!contact.language().empty()) {
    auto skill = FindSkill(contact.language());
    if (!skill) {
      return InvalidArgument("contact.language: unknown language skill \"" + contact.language() +
                             "\"");
    }
    extras = MergeReqs(extras, {{*skill, 1}});
  }
  return extras;
}

uint32_t CompiledConfig::StepsDue(QueueIdx origin, int64_t waited_ms) const {
  const auto& steps = queues_[origin].steps;
  uint32_t n = 0;
  while (n < steps.size() && steps[n].after_ms <= waited_ms) ++n;
  return n;
}

Placement CompiledConfig::Place(QueueIdx origin, const std::vector<Req>& extras,
                                uint32_t step) const {
  const QueueSpec& spec = queues_[origin];
  QueueIdx queue = origin;
  uint32_t relax = 0;
  std::vector<SkillId> drop;
  for (uint32_t i = 0; i < step && i < spec.steps.size(); ++i) {
    const auto& s = spec.steps[i];
    relax += s.relax;
    drop.insert(drop.end(), s.drop.begin(), s.drop.end());
    if (s.overflow) queue = *s.overflow;
  }
  std::vector<Req> base;
  for (const Req& r : queues_[queue].base) {
    if (std::find(drop.begin(), drop.end(), r.skill) == drop.end()) base.push_back(r);
  }
  std::vector<Req> reqs = MergeReqs(base, extras);
  if (relax > 0) {
    for (Req& r : reqs) r.min = static_cast<uint8_t>(std::max<int>(1, int{r.min} - int(relax)));
  }
  return {queue, std::move(reqs)};
}

}  // namespace sb::engine
