#include "tools/dev/demo_config.h"

#include <string>

namespace sb::dev {
namespace {

constexpr char kSkills[] =
    R"yaml(# switchboard dev: the built-in demo routing config (written by `switchboard dev`)
skills:
  - {name: general, description: "First-line questions"}
  - {name: billing, description: "Bills, payments, tariffs"}
)yaml";

// One queue of `domain` requiring `skill`, named `name`.
std::string NamedQueue(const std::string& name, const std::string& domain, const std::string& skill,
                       const std::string& strategy, int min_proficiency) {
  std::string q;
  q += "  - name: " + name + "\n";
  q += "    domain: " + domain + "\n";
  q += "    strategy: " + strategy + "\n";
  q += "    required_skills: [{skill: " + skill +
       ", min_proficiency: " + std::to_string(min_proficiency) + "}]\n";
  q += "    service_level_threshold_s: 20\n";
  q += "    offer_timeout_s: 20\n";
  q += "    acw_limit_s: 60\n";
  return q;
}

// One queue of `domain` requiring `skill`, named after both (e.g. d03.billing).
std::string Queue(const std::string& domain, const std::string& skill, const std::string& strategy,
                  int min_proficiency) {
  return NamedQueue(domain + "." + skill, domain, skill, strategy, min_proficiency);
}

// d00, d01, ...
std::string DomainName(int i) { return (i < 10 ? "d0" : "d") + std::to_string(i); }

}  // namespace

std::string DemoConfigYaml() {
  std::string yaml = kSkills;
  yaml += "domains:\n";
  for (int i = 0; i < kDemoDomains; ++i) yaml += "  - {name: " + DomainName(i) + "}\n";
  yaml += "queues:\n";
  for (int i = 0; i < kDemoDomains; ++i) {
    yaml += Queue(DomainName(i), "general", "LONGEST_IDLE", 1);
    yaml += Queue(DomainName(i), "billing", "BEST_SKILL", 3);
  }
  for (const char* q : {"callbacks", "complaints", "return-visits"}) {
    yaml += NamedQueue(q, DomainName(0), "general", "LONGEST_IDLE", 1);
  }
  for (const char* q : {"team-lead", "management"}) {
    yaml += NamedQueue(q, DomainName(1), "general", "LONGEST_IDLE", 1);
  }
  return yaml;
}

std::string DemoFollowUpYaml() {
  return R"yaml(# switchboard dev: the demo's follow-up config (written by `switchboard dev`)
call_windows: [{start: "00:00", end: "24:00"}]
default_time_zone: UTC
outcome_timeout_s: 300
retry: {max_attempts: 3, initial_backoff_s: 20, multiplier: 2, max_backoff_s: 120}
)yaml";
}

}  // namespace sb::dev
