#include "tools/dev/demo_config.h"

#include <cstdio>

namespace sb::dev {
namespace {

constexpr char kSkills[] =
    R"yaml(# switchboard dev: the built-in demo routing config (written by `switchboard dev`)
skills:
  - {name: general, description: "First-line questions"}
  - {name: billing, description: "Bills, payments, tariffs"}
)yaml";

// One domain's two queues; %s is the domain name.
constexpr char kQueues[] = R"yaml(  - name: %s.general
    domain: %s
    strategy: LONGEST_IDLE
    required_skills: [{skill: general, min_proficiency: 1}]
    service_level_threshold_s: 20
    offer_timeout_s: 20
    acw_limit_s: 60
  - name: %s.billing
    domain: %s
    strategy: BEST_SKILL
    required_skills: [{skill: billing, min_proficiency: 3}]
    service_level_threshold_s: 20
    offer_timeout_s: 20
    acw_limit_s: 60
)yaml";

std::string DomainName(int i) {
  char name[8];
  std::snprintf(name, sizeof name, "d%02d", i);
  return name;
}

}  // namespace

std::string DemoConfigYaml() {
  std::string yaml = kSkills;
  yaml += "domains:\n";
  for (int i = 0; i < kDemoDomains; ++i) yaml += "  - {name: " + DomainName(i) + "}\n";
  yaml += "queues:\n";
  for (int i = 0; i < kDemoDomains; ++i) {
    const std::string d = DomainName(i);
    char queues[sizeof kQueues + 32];
    std::snprintf(queues, sizeof queues, kQueues, d.c_str(), d.c_str(), d.c_str(), d.c_str());
    yaml += queues;
  }
  return yaml;
}

}  // namespace sb::dev
