// The routing config compiled for the engine: names interned to small integers, durations in ms,
// and the requirement a contact has at each bullseye step. Immutable after Compile().
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "router/engine/types.h"
#include "switchboard/v1/config.pb.h"
#include "switchboard/v1/contact.pb.h"

namespace sb::engine {

struct Req {
  SkillId skill;
  uint8_t min;
  bool operator==(const Req&) const = default;
};

struct QueueSpec {
  std::string name;
  DomainIdx domain = 0;
  pb::Strategy strategy = pb::STRATEGY_LONGEST_IDLE;
  std::vector<Req> base;  // sorted by skill
  int64_t sl_threshold_ms = 0;
  int64_t aging_ms = 0;  // never 0: strict priority is a very long aging
  int64_t offer_timeout_ms = 0;
  int64_t acw_ms = 0;
  int64_t preferred_wait_ms = 0;
  int64_t max_wait_ms = 0;  // 0 = never expires
  struct Step {
    int64_t after_ms;
    uint32_t relax;
    std::vector<SkillId> drop;
    std::optional<QueueIdx> overflow;
  };
  std::vector<Step> steps;
};

// Where a contact stands at a bullseye step: the queue it is in and what an agent needs.
struct Placement {
  QueueIdx queue;
  std::vector<Req> reqs;  // sorted by skill
};

class CompiledConfig {
 public:
  // REQUIRES: config validated by sb::config::Validate (defaults applied).
  static Result<CompiledConfig> Compile(const pb::RoutingConfig& config);

  std::optional<SkillId> FindSkill(std::string_view name) const;
  std::optional<QueueIdx> FindQueue(std::string_view name) const;
  std::optional<DomainIdx> FindDomain(std::string_view name) const;
  size_t num_skills() const { return skill_names_.size(); }
  const std::string& skill_name(SkillId s) const { return skill_names_[s]; }
  const std::string& domain_name(DomainIdx d) const { return domain_names_[d]; }
  size_t num_domains() const { return domain_names_.size(); }
  const std::vector<QueueSpec>& queues() const { return queues_; }
  const QueueSpec& queue(QueueIdx q) const { return queues_[q]; }

  uint32_t agent_units() const { return agent_units_; }
  uint32_t units(pb::Channel ch) const { return units_[ch]; }
  // The cheapest channel's cost: an agent with less room than this can take nothing.
  uint32_t min_units() const { return min_units_; }
  // True if holding a contact of `on` forbids offering one of `ch`.
  bool blocks(int on, int ch) const { return blocks_[on][ch]; }
  uint32_t difficult_cap() const { return difficult_cap_; }
  int64_t short_abandon_ms() const { return short_abandon_ms_; }

  // Contact-specific skills (required_skills + language) resolved against the skill table.
  // Fails naming the field when a skill is unknown or a proficiency is out of 1..5.
  Result<std::vector<Req>> ContactExtras(const pb::Contact& contact) const;
  // Number of steps of `origin`'s bullseye due after `waited_ms` of waiting.
  uint32_t StepsDue(QueueIdx origin, int64_t waited_ms) const;
  // Queue and requirement after `step` bullseye steps of the origin queue. Steps accumulate;
  // an overflow step moves the contact to the overflow queue's base requirement (the overflow
  // queue's own bullseye does not apply, so overflows never chain or loop).
  Placement Place(QueueIdx origin, const std::vector<Req>& extras, uint32_t step) const;

 private:
  std::vector<std::string> skill_names_;
  std::unordered_map<std::string, SkillId> skills_;
  std::vector<std::string> domain_names_;
  std::unordered_map<std::string, DomainIdx> domains_;
  std::vector<QueueSpec> queues_;
  std::unordered_map<std::string, QueueIdx> queue_index_;
  uint32_t agent_units_ = 100;
  uint32_t units_[kNumChannels] = {};
  uint32_t min_units_ = 0;
  bool blocks_[kNumChannels][kNumChannels] = {};
  uint32_t difficult_cap_ = 0;
  int64_t short_abandon_ms_ = 0;
};

// Merges b into a (both sorted by skill), keeping the higher minimum for a skill in both.
std::vector<Req> MergeReqs(const std::vector<Req>& a, const std::vector<Req>& b);

}  // namespace sb::engine
