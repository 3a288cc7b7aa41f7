// Routing config loading and validation: every error names the field and the reason.
#include "common/config/config.h"

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace sb::config {
namespace {

namespace pb = ::switchboard::v1;

constexpr const char* kValidYaml = R"(
skills: [{name: billing}, {name: english}]
domains: [{name: d1}]
queues:
  - name: q1
    domain: d1
    strategy: LONGEST_IDLE
    required_skills: [{skill: billing, min_proficiency: 2}]
    offer_timeout_s: 10
    acw_limit_s: 30
    bullseye: [{after_s: 30, relax_proficiency: 1}]
capacity:
  costs: [{channel: chat, units: 25}]
cross_channel_rules: [{while_on: VOICE, blocks: [CHAT]}]
difficult_cap: 2
)";

constexpr const char* kValidJson = R"({
  "skills": [{"name": "billing"}, {"name": "english"}],
  "domains": [{"name": "d1"}],
  "queues": [{"name": "q1", "domain": "d1", "strategy": "STRATEGY_LONGEST_IDLE",
              "required_skills": [{"skill": "billing", "min_proficiency": 2}],
              "offer_timeout_s": 10, "acw_limit_s": 30,
              "bullseye": [{"after_s": 30, "relax_proficiency": 1}]}],
  "capacity": {"costs": [{"channel": "CHANNEL_CHAT", "units": 25}]},
  "cross_channel_rules": [{"while_on": "CHANNEL_VOICE", "blocks": ["CHANNEL_CHAT"]}],
  "difficult_cap": 2
})";

// Replaces the first occurrence of `from` in the valid YAML; fails the test if absent.
std::string Mutate(const std::string& from, const std::string& to) {
  std::string s = kValidYaml;
  const size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

// Parses text that must be rejected; returns the error message.
std::string ErrorOf(const std::string& text) {
  auto r = ParseRoutingConfig(text);
  EXPECT_FALSE(r.ok()) << "accepted:\n" << text;
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << r.status().ToString();
  return r.status().message();
}

TEST(ConfigTest, YamlAndJsonGiveTheSameConfig) {
  auto yaml = ParseRoutingConfig(kValidYaml);
  ASSERT_TRUE(yaml.ok()) << yaml.status().ToString();
  auto json = ParseRoutingConfig(kValidJson);
  ASSERT_TRUE(json.ok()) << json.status().ToString();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*yaml, *json));
  EXPECT_EQ(yaml->queues(0).strategy(), pb::STRATEGY_LONGEST_IDLE);
  EXPECT_EQ(yaml->cross_channel_rules(0).blocks(0), pb::CHANNEL_CHAT);
}

TEST(ConfigTest, DefaultsAreFilled) {
  auto c = ParseRoutingConfig(kValidYaml);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->capacity().agent_units(), 100u);
  EXPECT_EQ(c->capacity().costs_size(), 5) << "listed chat plus the four defaults";
  EXPECT_EQ(c->capacity().costs(0).units(), 25u) << "a listed cost is kept";
  EXPECT_DOUBLE_EQ(c->queues(0).service_level_threshold_s(), 20);
  EXPECT_DOUBLE_EQ(c->queues(0).service_level_target(), 0.8);
}

TEST(ConfigTest, UnknownSkillReferenceIsRejected) {
  const std::string m = ErrorOf(Mutate("skill: billing", "skill: plumbing"));
  EXPECT_NE(m.find("queues[0].required_skills[0].skill"), std::string::npos) << m;
  EXPECT_NE(m.find("unknown skill \"plumbing\""), std::string::npos) << m;
}

TEST(ConfigTest, NegativeTimeoutIsRejected) {
  const std::string m = ErrorOf(Mutate("offer_timeout_s: 10", "offer_timeout_s: -5"));
  EXPECT_NE(m.find("queues[0].offer_timeout_s"), std::string::npos) << m;
  EXPECT_NE(m.find("negative"), std::string::npos) << m;
  EXPECT_NE(ErrorOf(Mutate("acw_limit_s: 30", "acw_limit_s: -1")).find("queues[0].acw_limit_s"),
            std::string::npos);
}

TEST(ConfigTest, QueueWithoutStrategyIsRejected) {
  const std::string m = ErrorOf(Mutate("    strategy: LONGEST_IDLE\n", ""));
  EXPECT_NE(m.find("queues[0].strategy"), std::string::npos) << m;
  EXPECT_NE(m.find("missing"), std::string::npos) << m;
}

TEST(ConfigTest, ZeroOfferTimeoutIsRejected) {
  EXPECT_NE(ErrorOf(Mutate("offer_timeout_s: 10", "offer_timeout_s: 0")).find("must be > 0"),
            std::string::npos);
}

TEST(ConfigTest, UnknownEnumValueIsRejected) {
  const std::string m = ErrorOf(Mutate("strategy: LONGEST_IDLE", "strategy: RANDOM"));
  EXPECT_NE(m.find("strategy"), std::string::npos) << m;
}

TEST(ConfigTest, UnknownFieldIsRejected) {
  const std::string m = ErrorOf(Mutate("difficult_cap: 2", "dificult_cap: 2"));
  EXPECT_NE(m.find("dificult_cap"), std::string::npos) << m;
}

TEST(ConfigTest, MalformedYamlNamesTheLine) {
  const std::string m = ErrorOf("skills: [{name: billing}\ndomains: [");
  EXPECT_NE(m.find("line"), std::string::npos) << m;
}

TEST(ConfigTest, DuplicateNamesAreRejected) {
  const std::string m = ErrorOf(Mutate("{name: english}", "{name: billing}"));
  EXPECT_NE(m.find("skills[1].name: duplicate"), std::string::npos) << m;
}

TEST(ConfigTest, UnknownDomainIsRejected) {
  const std::string m = ErrorOf(Mutate("domain: d1", "domain: d9"));
  EXPECT_NE(m.find("queues[0].domain: unknown domain \"d9\""), std::string::npos) << m;
}

TEST(ConfigTest, BadOverflowQueueIsRejected) {
  std::string m = ErrorOf(Mutate("relax_proficiency: 1", "overflow_queue: nowhere"));
  EXPECT_NE(m.find("queues[0].bullseye[0].overflow_queue: unknown queue"), std::string::npos) << m;
  m = ErrorOf(Mutate("relax_proficiency: 1", "overflow_queue: q1"));
  EXPECT_NE(m.find("into itself"), std::string::npos) << m;
}

TEST(ConfigTest, BullseyeStepsMustIncreaseAndChangeSomething) {
  std::string m =
      ErrorOf(Mutate("[{after_s: 30, relax_proficiency: 1}]",
                     "[{after_s: 30, relax_proficiency: 1}, {after_s: 20, relax_proficiency: 1}]"));
  EXPECT_NE(m.find("queues[0].bullseye[1].after_s"), std::string::npos) << m;
  m = ErrorOf(Mutate("{after_s: 30, relax_proficiency: 1}", "{after_s: 30}"));
  EXPECT_NE(m.find("changes nothing"), std::string::npos) << m;
  m = ErrorOf(Mutate("relax_proficiency: 1", "drop_skills: [english]"));
  EXPECT_NE(m.find("not required by this queue"), std::string::npos) << m;
}

TEST(ConfigTest, ProficiencyOutOfRangeIsRejected) {
  const std::string m = ErrorOf(Mutate("min_proficiency: 2", "min_proficiency: 7"));
  EXPECT_NE(m.find("queues[0].required_skills[0].min_proficiency: must be 1..5"), std::string::npos)
      << m;
}

TEST(ConfigTest, PreferredAgentStrategyNeedsAWait) {
  const std::string m = ErrorOf(Mutate("strategy: LONGEST_IDLE", "strategy: preferred_agent"));
  EXPECT_NE(m.find("queues[0].preferred_wait_s"), std::string::npos) << m;
}

TEST(ConfigTest, CapacityCostsAreChecked) {
  std::string m = ErrorOf(Mutate("units: 25", "units: 500"));
  EXPECT_NE(m.find("capacity.costs[0].units"), std::string::npos) << m;
}

TEST(ConfigTest, MissingFileNamesThePath) {
  auto r = LoadRoutingConfigFile("/nonexistent/routing.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_NE(r.status().message().find("/nonexistent/routing.yaml"), std::string::npos);
}

TEST(ConfigTest, FileErrorsArePrefixedWithThePath) {
  const auto path = std::filesystem::temp_directory_path() / "sb_config_test_bad.yaml";
  std::ofstream(path) << Mutate("domain: d1", "domain: d9");
  auto r = LoadRoutingConfigFile(path.string());
  std::filesystem::remove(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().rfind(path.string() + ": queues[0].domain", 0), 0u)
      << r.status().message();
}

TEST(ConfigTest, ShippedExampleLoads) {
  const std::filesystem::path example =
      std::filesystem::path(__FILE__).parent_path() / "../../../deploy/config/routing.example.yaml";
  auto r = LoadRoutingConfigFile(example.string());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->queues_size(), 5);
  EXPECT_EQ(r->queues(1).bullseye(2).overflow_queue(), "utilities.general");
}

TEST(ConfigTest, NotAMappingIsRejected) {
  EXPECT_NE(ErrorOf("- just\n- a list\n").find("top level"), std::string::npos);
  EXPECT_NE(ErrorOf("").find("top level"), std::string::npos);
}

}  // namespace
}  // namespace sb::config
