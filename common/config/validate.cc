// Validation of a RoutingConfig: one pass, the first error wins, every message names the field.
#include <algorithm>
#include <cmath>
#include <set>
#include <string>

#include "common/config/config.h"
#include "common/config/text.h"

namespace sb::config {
namespace {

namespace pb = ::switchboard::v1;

constexpr double kMaxDurationS = 30 * 24 * 3600;
constexpr size_t kMaxNameLength = 128;
constexpr uint32_t kMaxProficiency = 5;
constexpr uint32_t kMaxAgentUnits = 10000;
constexpr uint32_t kMaxDifficultCap = 1000;

// Validation in one pass; the first error found wins. Names are collected before queues are
// checked so a queue may refer to one defined after it (overflow_queue).
class Checker {
 public:
  explicit Checker(const pb::RoutingConfig& c) : c_(c) {}

  Status Run() {
    SB_RETURN_IF_ERROR(Names("skills", c_.skills(), &skills_));
    SB_RETURN_IF_ERROR(Names("domains", c_.domains(), &domains_));
    SB_RETURN_IF_ERROR(Names("queues", c_.queues(), &queues_));
    if (c_.domains_size() == 0) return InvalidArgument("domains: at least one domain is required");
    if (c_.queues_size() == 0) return InvalidArgument("queues: at least one queue is required");
    for (int i = 0; i < c_.queues_size(); ++i) SB_RETURN_IF_ERROR(Queue(i));
    SB_RETURN_IF_ERROR(Capacity());
    for (int i = 0; i < c_.cross_channel_rules_size(); ++i) SB_RETURN_IF_ERROR(CrossChannel(i));
    if (c_.difficult_cap() > kMaxDifficultCap) {
      return InvalidArgument("difficult_cap: must be at most " + std::to_string(kMaxDifficultCap) +
                             " (got " + std::to_string(c_.difficult_cap()) + ")");
    }
    return Duration("short_abandon_s", c_.short_abandon_s());
  }

 private:
  template <typename List>
  static Status Names(const std::string& list, const List& items, std::set<std::string>* seen) {
    for (int i = 0; i < items.size(); ++i) {
      const std::string f = Field(list, i) + ".name";
      const std::string& name = items.Get(i).name();
      if (name.empty()) return InvalidArgument(f + ": required");
      if (name.size() > kMaxNameLength) {
        return InvalidArgument(f + ": longer than " + std::to_string(kMaxNameLength) +
                               " characters");
      }
      if (!ValidNameChars(name)) {
        return InvalidArgument(f + ": " + Quote(name) +
                               " may use only letters, digits and _ . : -");
      }
      if (!seen->insert(name).second) {
        return InvalidArgument(f + ": duplicate name " + Quote(name));
      }
    }
    return Status::Ok();
  }

  static Status Duration(const std::string& f, double v) {
    if (!std::isfinite(v)) {
      return InvalidArgument(f + ": must be a finite number of seconds (got " + FormatNumber(v) +
                             ")");
    }
    if (v < 0) return InvalidArgument(f + ": must not be negative (got " + FormatNumber(v) + ")");
    if (v > kMaxDurationS) {
      return InvalidArgument(f + ": must be at most 30 days (got " + FormatNumber(v) + ")");
    }
    return Status::Ok();
  }

  Status Skill(const std::string& f, const std::string& name) const {
    if (name.empty()) return InvalidArgument(f + ": required");
    if (!skills_.count(name)) return InvalidArgument(f + ": unknown skill " + Quote(name));
    return Status::Ok();
  }

  static Status Channel(const std::string& f, int channel) {
    if (channel == pb::CHANNEL_UNSPECIFIED) return InvalidArgument(f + ": required");
    // Reachable only from code that built the message by hand: JSON parsing rejects bad names.
    if (!pb::Channel_IsValid(channel)) {
      return InvalidArgument(f + ": unknown channel " + std::to_string(channel));
    }
    return Status::Ok();
  }

  Status Queue(int i) {
    const pb::QueueDef& q = c_.queues(i);
    const std::string f = Field("queues", i);
    if (q.domain().empty()) return InvalidArgument(f + ".domain: required");
    if (!domains_.count(q.domain())) {
      return InvalidArgument(f + ".domain: unknown domain " + Quote(q.domain()));
    }
    if (q.strategy() == pb::STRATEGY_UNSPECIFIED) {
      return InvalidArgument(f +
                             ".strategy: missing (one of LONGEST_IDLE, LEAST_OCCUPIED, BEST_SKILL, "
                             "PREFERRED_AGENT)");
    }
    if (!pb::Strategy_IsValid(q.strategy())) {
      return InvalidArgument(f + ".strategy: unknown strategy " + std::to_string(q.strategy()));
    }
    std::set<std::string> required;
    for (int j = 0; j < q.required_skills_size(); ++j) {
      const pb::SkillRequirement& r = q.required_skills(j);
      const std::string rf = f + "." + Field("required_skills", j);
      SB_RETURN_IF_ERROR(Skill(rf + ".skill", r.skill()));
      if (!required.insert(r.skill()).second) {
        return InvalidArgument(rf + ".skill: " + Quote(r.skill()) + " listed twice");
      }
      if (r.min_proficiency() < 1 || r.min_proficiency() > kMaxProficiency) {
        return InvalidArgument(rf + ".min_proficiency: must be 1..5 (got " +
                               std::to_string(r.min_proficiency()) + ")");
      }
    }
    const std::pair<const char*, double> durations[] = {
        {"service_level_threshold_s", q.service_level_threshold_s()},
        {"priority_aging_s", q.priority_aging_s()},
        {"offer_timeout_s", q.offer_timeout_s()},
        {"acw_limit_s", q.acw_limit_s()},
        {"preferred_wait_s", q.preferred_wait_s()},
        {"max_wait_s", q.max_wait_s()}};
    for (const auto& [name, v] : durations) SB_RETURN_IF_ERROR(Duration(f + "." + name, v));
    if (q.offer_timeout_s() == 0) {
      // An offer that never times out parks the contact on an agent who may never answer.
      return InvalidArgument(f + ".offer_timeout_s: must be > 0: an offer must time out");
    }
    // Written so that NaN fails too.
    if (!(q.service_level_target() >= 0 && q.service_level_target() <= 1)) {
      return InvalidArgument(f + ".service_level_target: must be between 0 and 1 (got " +
                             FormatNumber(q.service_level_target()) + ")");
    }
    if (q.strategy() == pb::STRATEGY_PREFERRED_AGENT && q.preferred_wait_s() <= 0) {
      return InvalidArgument(f + ".preferred_wait_s: must be > 0 for strategy PREFERRED_AGENT");
    }
    double previous_after_s = 0;
    for (int j = 0; j < q.bullseye_size(); ++j) {
      SB_RETURN_IF_ERROR(
          Bullseye(q, f + "." + Field("bullseye", j), q.bullseye(j), required, &previous_after_s));
    }
    return Status::Ok();
  }

  Status Bullseye(const pb::QueueDef& q, const std::string& f, const pb::BullseyeStep& s,
                  const std::set<std::string>& required, double* previous_after_s) const {
    SB_RETURN_IF_ERROR(Duration(f + ".after_s", s.after_s()));
    if (s.after_s() <= *previous_after_s) {
      return InvalidArgument(f +
                             ".after_s: must be > 0 and greater than the previous step's (got " +
                             FormatNumber(s.after_s()) + ")");
    }
    *previous_after_s = s.after_s();
    if (s.relax_proficiency() == 0 && s.drop_skills_size() == 0 && s.overflow_queue().empty()) {
      return InvalidArgument(f +
                             ": changes nothing (set relax_proficiency, drop_skills or "
                             "overflow_queue)");
    }
    // Proficiency is 1..5 and relaxing stops at 1, so more than 4 would mean nothing more.
    if (s.relax_proficiency() > kMaxProficiency - 1) {
      return InvalidArgument(f + ".relax_proficiency: must be 0..4 (got " +
                             std::to_string(s.relax_proficiency()) + ")");
    }
    std::set<std::string> dropped;
    for (int k = 0; k < s.drop_skills_size(); ++k) {
      const std::string df = f + "." + Field("drop_skills", k);
      const std::string& skill = s.drop_skills(k);
      SB_RETURN_IF_ERROR(Skill(df, skill));
      if (!required.count(skill)) {
        return InvalidArgument(df + ": " + Quote(skill) + " is not required by this queue");
      }
      if (!dropped.insert(skill).second) {
        return InvalidArgument(df + ": " + Quote(skill) + " listed twice");
      }
    }
    if (!s.overflow_queue().empty()) {
      if (!queues_.count(s.overflow_queue())) {
        return InvalidArgument(f + ".overflow_queue: unknown queue " + Quote(s.overflow_queue()));
      }
      if (s.overflow_queue() == q.name()) {
        return InvalidArgument(f + ".overflow_queue: a queue cannot overflow into itself");
      }
    }
    return Status::Ok();
  }

  Status Capacity() const {
    const pb::CapacityModel& cap = c_.capacity();
    if (cap.agent_units() < 1 || cap.agent_units() > kMaxAgentUnits) {
      return InvalidArgument("capacity.agent_units: must be 1.." + std::to_string(kMaxAgentUnits) +
                             " (got " + std::to_string(cap.agent_units()) + ")");
    }
    std::set<int> seen;
    for (int i = 0; i < cap.costs_size(); ++i) {
      const pb::ChannelCost& cost = cap.costs(i);
      const std::string f = "capacity." + Field("costs", i);
      SB_RETURN_IF_ERROR(Channel(f + ".channel", cost.channel()));
      if (!seen.insert(cost.channel()).second) {
        return InvalidArgument(f + ".channel: " + pb::Channel_Name(cost.channel()) +
                               " listed twice");
      }
      if (cost.units() < 1 || cost.units() > cap.agent_units()) {
        return InvalidArgument(f + ".units: must be 1..capacity.agent_units (" +
                               std::to_string(cap.agent_units()) + ") (got " +
                               std::to_string(cost.units()) + ")");
      }
    }
    return Status::Ok();
  }

  Status CrossChannel(int i) const {
    const pb::CrossChannelRule& r = c_.cross_channel_rules(i);
    const std::string f = Field("cross_channel_rules", i);
    SB_RETURN_IF_ERROR(Channel(f + ".while_on", r.while_on()));
    if (r.blocks_size() == 0) return InvalidArgument(f + ".blocks: at least one channel");
    for (int j = 0; j < r.blocks_size(); ++j) {
      SB_RETURN_IF_ERROR(Channel(f + "." + Field("blocks", j), r.blocks(j)));
    }
    return Status::Ok();
  }

  const pb::RoutingConfig& c_;
  std::set<std::string> skills_, domains_, queues_;
};

}  // namespace

Status Validate(const RoutingConfig& config) {
  Status status = Checker(config).Run();
  if (status.ok()) return status;
  return InvalidArgument(Printable(status.message()));
}

}  // namespace sb::config
