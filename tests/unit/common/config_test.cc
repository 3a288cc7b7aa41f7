// Routing config loading and validation: every error names the field and the reason.
#include "common/config/config.h"

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <string>

#include "support/configs.h"
#include "support/files.h"
#include "support/temp_dir.h"

namespace sb::config {
namespace {

namespace pb = ::switchboard::v1;
using ::sb::testing::kRoutingExample;
using ::sb::testing::ShippedConfigPath;
using ::sb::testing::TempDir;
using ::sb::testing::WriteAll;

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
  EXPECT_EQ(r.status().message().find('\n'), std::string::npos)
      << "one line per error: " << r.status().message();
  return r.status().message();
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(ConfigTest, YamlAndJsonGiveTheSameConfig) {
  auto yaml = ParseRoutingConfig(kValidYaml);
  ASSERT_TRUE(yaml.ok()) << yaml.status().ToString();
  auto json = ParseRoutingConfig(kValidJson);
  ASSERT_TRUE(json.ok()) << json.status().ToString();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*yaml, *json))
      << yaml->DebugString() << "\nvs\n"
      << json->DebugString();
  EXPECT_EQ(yaml->queues(0).strategy(), pb::STRATEGY_LONGEST_IDLE);
  EXPECT_EQ(yaml->queues(0).required_skills(0).skill(), "billing");
  EXPECT_EQ(yaml->queues(0).bullseye(0).relax_proficiency(), 1u);
  EXPECT_EQ(yaml->cross_channel_rules(0).while_on(), pb::CHANNEL_VOICE);
  EXPECT_EQ(yaml->cross_channel_rules(0).blocks(0), pb::CHANNEL_CHAT);
  EXPECT_EQ(yaml->difficult_cap(), 2u);
}

TEST(ConfigTest, EnumValuesMayBeShortOrFullInAnyCase) {
  for (const std::string strategy :
       {"LONGEST_IDLE", "longest_idle", "STRATEGY_LONGEST_IDLE", "Strategy_Longest_Idle"}) {
    auto c = ParseRoutingConfig(Mutate("strategy: LONGEST_IDLE", "strategy: " + strategy));
    ASSERT_TRUE(c.ok()) << strategy << ": " << c.status().ToString();
    EXPECT_EQ(c->queues(0).strategy(), pb::STRATEGY_LONGEST_IDLE) << strategy;
  }
  // whileOn: the lowerCamelCase spelling the protobuf JSON mapping allows is an enum field too.
  auto c = ParseRoutingConfig(Mutate("{while_on: VOICE, blocks: [CHAT]}",
                                     "{whileOn: channel_voice, blocks: [chat, CHANNEL_EMAIL]}"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->cross_channel_rules(0).while_on(), pb::CHANNEL_VOICE);
  ASSERT_EQ(c->cross_channel_rules(0).blocks_size(), 2);
  EXPECT_EQ(c->cross_channel_rules(0).blocks(0), pb::CHANNEL_CHAT);
  EXPECT_EQ(c->cross_channel_rules(0).blocks(1), pb::CHANNEL_EMAIL);
}

TEST(ConfigTest, UnknownEnumValueNamesTheChoices) {
  std::string m = ErrorOf(Mutate("strategy: LONGEST_IDLE", "strategy: RANDOM"));
  EXPECT_TRUE(Contains(m,
                       "queues[0].strategy: unknown value \"RANDOM\" (one of LONGEST_IDLE, "
                       "LEAST_OCCUPIED, BEST_SKILL, PREFERRED_AGENT)"))
      << m;
  m = ErrorOf(Mutate("blocks: [CHAT]", "blocks: [CHAT, FAX]"));
  EXPECT_TRUE(Contains(m, "cross_channel_rules[0].blocks[1]: unknown value \"FAX\"")) << m;
  // The zero value means "not set": writing it out is no better than leaving the field away.
  m = ErrorOf(Mutate("strategy: LONGEST_IDLE", "strategy: UNSPECIFIED"));
  EXPECT_TRUE(Contains(m, "queues[0].strategy")) << m;
  // Enum numbers would let values unknown to this build through; only names are taken.
  m = ErrorOf(Mutate("strategy: LONGEST_IDLE", "strategy: 1"));
  EXPECT_TRUE(Contains(m, "queues[0].strategy")) << m;
}

TEST(ConfigTest, NamesThatLookLikeNumbersStayNames) {
  std::string yaml = Mutate("name: q1", "name: 112");
  yaml.replace(yaml.find("{name: d1}"), 10, "{name: d1, description: 2024}");
  auto c = ParseRoutingConfig(yaml);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->queues(0).name(), "112");
  EXPECT_EQ(c->domains(0).description(), "2024");
}

TEST(ConfigTest, QuotedNumbersAreAccepted) {
  auto c = ParseRoutingConfig(Mutate("offer_timeout_s: 10", "offer_timeout_s: \"12.5\""));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_DOUBLE_EQ(c->queues(0).offer_timeout_s(), 12.5);
}

TEST(ConfigTest, AnchorsAndAliasesAreExpanded) {
  auto c = ParseRoutingConfig(R"(
skills: [{name: billing}]
domains: [{name: d1}]
queues:
  - {name: q1, domain: d1, strategy: LONGEST_IDLE, offer_timeout_s: 10,
     required_skills: &billing [{skill: billing, min_proficiency: 2}]}
  - {name: q2, domain: d1, strategy: BEST_SKILL, offer_timeout_s: 10, required_skills: *billing}
)");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->queues_size(), 2);
  ASSERT_EQ(c->queues(1).required_skills_size(), 1);
  EXPECT_EQ(c->queues(1).required_skills(0).min_proficiency(), 2u);
}

TEST(ConfigTest, AliasBombIsRejectedQuickly) {
  // Nine levels of ten aliases each: a billion leaves if expanded.
  std::string yaml = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int level = 1; level < 9; ++level) {
    const std::string prev = "*a" + std::to_string(level - 1);
    yaml += "a" + std::to_string(level) + ": &a" + std::to_string(level) + " [";
    for (int i = 0; i < 10; ++i) yaml += (i ? ", " : "") + prev;
    yaml += "]\n";
  }
  const auto start = std::chrono::steady_clock::now();
  const std::string m = ErrorOf(yaml);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_TRUE(Contains(m, "expands to more than")) << m;
}

TEST(ConfigTest, DeepNestingIsRejected) {
  std::string m = ErrorOf("skills: " + std::string(100, '[') + std::string(100, ']') + "\n");
  EXPECT_TRUE(Contains(m, "nested deeper than")) << m;
  // Deep enough for yaml-cpp's own guard, which would otherwise report "bad file".
  m = ErrorOf("skills: " + std::string(5000, '[') + std::string(5000, ']') + "\n");
  EXPECT_TRUE(Contains(m, "nested deeper than")) << m;
}

TEST(ConfigTest, DefaultsAreFilled) {
  auto c = ParseRoutingConfig(kValidYaml);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->capacity().agent_units(), 100u);
  ASSERT_EQ(c->capacity().costs_size(), 5) << "listed chat plus the four defaults";
  EXPECT_EQ(c->capacity().costs(0).channel(), pb::CHANNEL_CHAT);
  EXPECT_EQ(c->capacity().costs(0).units(), 25u) << "a listed cost is kept";
  std::map<pb::Channel, uint32_t> units;
  for (const auto& cost : c->capacity().costs()) units[cost.channel()] = cost.units();
  EXPECT_EQ(units, (std::map<pb::Channel, uint32_t>{{pb::CHANNEL_VOICE, 100},
                                                    {pb::CHANNEL_CHAT, 25},
                                                    {pb::CHANNEL_EMAIL, 20},
                                                    {pb::CHANNEL_CALLBACK, 100},
                                                    {pb::CHANNEL_TASK, 25}}));
  EXPECT_DOUBLE_EQ(c->queues(0).service_level_threshold_s(), 20);
  EXPECT_DOUBLE_EQ(c->queues(0).service_level_target(), 0.8);
}

TEST(ConfigTest, DefaultCostsFitSmallAgentUnits) {
  auto c = ParseRoutingConfig(Mutate("capacity:\n", "capacity:\n  agent_units: 30\n"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  std::map<pb::Channel, uint32_t> units;
  for (const auto& cost : c->capacity().costs()) units[cost.channel()] = cost.units();
  EXPECT_EQ(units, (std::map<pb::Channel, uint32_t>{{pb::CHANNEL_VOICE, 30},
                                                    {pb::CHANNEL_CHAT, 25},
                                                    {pb::CHANNEL_EMAIL, 20},
                                                    {pb::CHANNEL_CALLBACK, 30},
                                                    {pb::CHANNEL_TASK, 25}}));
}

TEST(ConfigTest, ApplyDefaultsKeepsSetValues) {
  RoutingConfig c;
  c.mutable_capacity()->set_agent_units(200);
  auto* q = c.add_queues();
  q->set_service_level_threshold_s(45);
  q->set_service_level_target(0.9);
  ApplyDefaults(&c);
  EXPECT_EQ(c.capacity().agent_units(), 200u);
  EXPECT_DOUBLE_EQ(c.queues(0).service_level_threshold_s(), 45);
  EXPECT_DOUBLE_EQ(c.queues(0).service_level_target(), 0.9);
  const RoutingConfig once = c;
  ApplyDefaults(&c);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(once, c)) << "idempotent";
}

TEST(ConfigTest, UnknownSkillReferenceIsRejected) {
  const std::string m = ErrorOf(Mutate("skill: billing", "skill: plumbing"));
  EXPECT_TRUE(Contains(m, "queues[0].required_skills[0].skill")) << m;
  EXPECT_TRUE(Contains(m, "unknown skill \"plumbing\"")) << m;
}

TEST(ConfigTest, SkillListedTwiceIsRejected) {
  const std::string m = ErrorOf(
      Mutate("[{skill: billing, min_proficiency: 2}]",
             "[{skill: billing, min_proficiency: 2}, {skill: billing, min_proficiency: 3}]"));
  EXPECT_TRUE(Contains(m, "queues[0].required_skills[1].skill: \"billing\" listed twice")) << m;
}

TEST(ConfigTest, ZeroSkillsAreAllowed) {
  auto c = ParseRoutingConfig(R"(
domains: [{name: d1}]
queues: [{name: q1, domain: d1, strategy: LONGEST_IDLE, offer_timeout_s: 10}]
)");
  EXPECT_TRUE(c.ok()) << c.status().ToString();
}

TEST(ConfigTest, DomainsAndQueuesAreRequired) {
  EXPECT_TRUE(Contains(ErrorOf("skills: []\n"), "domains: at least one domain"));
  EXPECT_TRUE(Contains(ErrorOf("domains: [{name: d1}]\n"), "queues: at least one queue"));
}

TEST(ConfigTest, NegativeTimeoutIsRejected) {
  const std::string m = ErrorOf(Mutate("offer_timeout_s: 10", "offer_timeout_s: -5"));
  EXPECT_TRUE(Contains(m, "queues[0].offer_timeout_s")) << m;
  EXPECT_TRUE(Contains(m, "must not be negative (got -5)")) << m;
  EXPECT_TRUE(
      Contains(ErrorOf(Mutate("acw_limit_s: 30", "acw_limit_s: -1")), "queues[0].acw_limit_s"));
  EXPECT_TRUE(Contains(ErrorOf(Mutate("difficult_cap: 2", "short_abandon_s: -3")),
                       "short_abandon_s: must not be negative"));
}

TEST(ConfigTest, NonFiniteAndHugeDurationsAreRejected) {
  std::string m = ErrorOf(Mutate("acw_limit_s: 30", "acw_limit_s: \"Infinity\""));
  EXPECT_TRUE(Contains(m, "queues[0].acw_limit_s: must be a finite number")) << m;
  m = ErrorOf(Mutate("acw_limit_s: 30", "max_wait_s: 2600000"));
  EXPECT_TRUE(Contains(m, "queues[0].max_wait_s: must be at most 30 days")) << m;
  m = ErrorOf(Mutate("acw_limit_s: 30", "service_level_target: \"NaN\""));
  EXPECT_TRUE(Contains(m, "queues[0].service_level_target")) << m;
  m = ErrorOf(Mutate("acw_limit_s: 30", "service_level_target: 1.5"));
  EXPECT_TRUE(Contains(m, "queues[0].service_level_target: must be between 0 and 1")) << m;
}

TEST(ConfigTest, QueueWithoutStrategyIsRejected) {
  const std::string m = ErrorOf(Mutate("    strategy: LONGEST_IDLE\n", ""));
  EXPECT_TRUE(Contains(m,
                       "queues[0].strategy: missing (one of LONGEST_IDLE, LEAST_OCCUPIED, "
                       "BEST_SKILL, PREFERRED_AGENT)"))
      << m;
}

TEST(ConfigTest, ZeroOfferTimeoutIsRejected) {
  const std::string m = ErrorOf(Mutate("offer_timeout_s: 10", "offer_timeout_s: 0"));
  EXPECT_TRUE(Contains(m, "queues[0].offer_timeout_s: must be > 0")) << m;
  EXPECT_TRUE(Contains(ErrorOf(Mutate("    offer_timeout_s: 10\n", "")), "offer_timeout_s"));
}

TEST(ConfigTest, UnknownFieldIsRejected) {
  std::string m = ErrorOf(Mutate("difficult_cap: 2", "dificult_cap: 2"));
  EXPECT_TRUE(Contains(m, "dificult_cap: unknown field")) << m;
  m = ErrorOf(Mutate("acw_limit_s: 30", "acw_limit: 30"));
  EXPECT_TRUE(Contains(m, "queues[0].acw_limit: unknown field")) << m;
}

TEST(ConfigTest, WrongTypeNamesTheField) {
  const std::string m = ErrorOf(Mutate("difficult_cap: 2", "difficult_cap: 4294967296"));
  EXPECT_TRUE(Contains(m, "difficult_cap")) << m;
}

TEST(ConfigTest, MalformedYamlNamesTheLine) {
  const std::string m = ErrorOf("skills: [{name: billing}\ndomains: [");
  EXPECT_TRUE(Contains(m, "config: line ")) << m;
  EXPECT_TRUE(Contains(m, "column ")) << m;
}

TEST(ConfigTest, NotAMappingIsRejected) {
  EXPECT_TRUE(Contains(ErrorOf("- just\n- a list\n"), "top level"));
  EXPECT_TRUE(Contains(ErrorOf(""), "top level"));
  EXPECT_TRUE(Contains(ErrorOf(std::string("\0\x01\xff", 3)), "config: "));
}

TEST(ConfigTest, DuplicateNamesAreRejected) {
  std::string m = ErrorOf(Mutate("{name: english}", "{name: billing}"));
  EXPECT_TRUE(Contains(m, "skills[1].name: duplicate name \"billing\"")) << m;
  m = ErrorOf(Mutate("{name: d1}", "{name: d1}, {name: d1}"));
  EXPECT_TRUE(Contains(m, "domains[1].name: duplicate")) << m;
}

TEST(ConfigTest, BadNamesAreRejected) {
  std::string m = ErrorOf(Mutate("name: q1", "name: \"q 1\""));
  EXPECT_TRUE(Contains(m, "queues[0].name: \"q 1\" may use only")) << m;
  m = ErrorOf(Mutate("{name: english}", "{name: " + std::string(129, 'e') + "}"));
  EXPECT_TRUE(Contains(m, "skills[1].name: longer than 128")) << m;
  m = ErrorOf(Mutate("{name: english}", "{name: \"\"}"));
  EXPECT_TRUE(Contains(m, "skills[1].name: required")) << m;
  EXPECT_TRUE(ParseRoutingConfig(Mutate("{name: english}", "{name: \"lang:en-GB.v2_x\"}")).ok());
}

TEST(ConfigTest, ErrorsQuoteInputSafely) {
  // A control character from the input must not reach a terminal; a huge value is cut short.
  std::string m = ErrorOf(Mutate("domain: d1", "domain: \"d\\e[31m\\nx\""));
  EXPECT_TRUE(Contains(m, "queues[0].domain: unknown domain \"d\\u001b[31m\\nx\"")) << m;
  m = ErrorOf(Mutate("domain: d1", "domain: " + std::string(10000, 'd')));
  EXPECT_LT(m.size(), 200u) << m;
  m = ErrorOf(Mutate("difficult_cap: 2", "\"bad\\tkey\": 2"));
  EXPECT_TRUE(Contains(m, "bad\\x09key: unknown field")) << m;
}

TEST(ConfigTest, UnknownDomainIsRejected) {
  const std::string m = ErrorOf(Mutate("domain: d1", "domain: d9"));
  EXPECT_TRUE(Contains(m, "queues[0].domain: unknown domain \"d9\"")) << m;
}

TEST(ConfigTest, BadOverflowQueueIsRejected) {
  std::string m = ErrorOf(Mutate("relax_proficiency: 1", "overflow_queue: nowhere"));
  EXPECT_TRUE(Contains(m, "queues[0].bullseye[0].overflow_queue: unknown queue \"nowhere\"")) << m;
  m = ErrorOf(Mutate("relax_proficiency: 1", "overflow_queue: q1"));
  EXPECT_TRUE(Contains(m, "queues[0].bullseye[0].overflow_queue: a queue cannot overflow into"))
      << m;
}

TEST(ConfigTest, BullseyeStepsMustIncreaseAndChangeSomething) {
  std::string m =
      ErrorOf(Mutate("[{after_s: 30, relax_proficiency: 1}]",
                     "[{after_s: 30, relax_proficiency: 1}, {after_s: 30, relax_proficiency: 1}]"));
  EXPECT_TRUE(Contains(m, "queues[0].bullseye[1].after_s: must be > 0 and greater")) << m;
  m = ErrorOf(Mutate("after_s: 30", "after_s: 0"));
  EXPECT_TRUE(Contains(m, "queues[0].bullseye[0].after_s")) << m;
  m = ErrorOf(Mutate("{after_s: 30, relax_proficiency: 1}", "{after_s: 30}"));
  EXPECT_TRUE(Contains(m, "queues[0].bullseye[0]: changes nothing")) << m;
  m = ErrorOf(Mutate("relax_proficiency: 1", "drop_skills: [english]"));
  EXPECT_TRUE(Contains(m, "queues[0].bullseye[0].drop_skills[0]: \"english\" is not required"))
      << m;
  m = ErrorOf(Mutate("relax_proficiency: 1", "drop_skills: [cooking]"));
  EXPECT_TRUE(Contains(m, "queues[0].bullseye[0].drop_skills[0]: unknown skill")) << m;
}

TEST(ConfigTest, ProficiencyOutOfRangeIsRejected) {
  std::string m = ErrorOf(Mutate("min_proficiency: 2", "min_proficiency: 7"));
  EXPECT_TRUE(Contains(m, "queues[0].required_skills[0].min_proficiency: must be 1..5 (got 7)"))
      << m;
  m = ErrorOf(Mutate("min_proficiency: 2", "min_proficiency: 0"));
  EXPECT_TRUE(Contains(m, "queues[0].required_skills[0].min_proficiency")) << m;
}

TEST(ConfigTest, PreferredAgentStrategyNeedsAWait) {
  const std::string m = ErrorOf(Mutate("strategy: LONGEST_IDLE", "strategy: preferred_agent"));
  EXPECT_TRUE(Contains(m, "queues[0].preferred_wait_s: must be > 0")) << m;
  EXPECT_TRUE(ParseRoutingConfig(Mutate("strategy: LONGEST_IDLE",
                                        "strategy: preferred_agent\n    preferred_wait_s: 30"))
                  .ok());
}

TEST(ConfigTest, CapacityIsChecked) {
  std::string m = ErrorOf(Mutate("units: 25", "units: 500"));
  EXPECT_TRUE(Contains(m, "capacity.costs[0].units: must be 1..capacity.agent_units")) << m;
  m = ErrorOf(Mutate("units: 25", "units: 0"));
  EXPECT_TRUE(Contains(m, "capacity.costs[0].units")) << m;
  m = ErrorOf(Mutate("{channel: chat, units: 25}",
                     "{channel: chat, units: 25}, {channel: CHAT, "
                     "units: 30}"));
  EXPECT_TRUE(Contains(m, "capacity.costs[1].channel: CHANNEL_CHAT listed twice")) << m;
  m = ErrorOf(Mutate("{channel: chat, units: 25}", "{units: 25}"));
  EXPECT_TRUE(Contains(m, "capacity.costs[0].channel: required")) << m;
  m = ErrorOf(Mutate("capacity:\n", "capacity:\n  agent_units: 20000\n"));
  EXPECT_TRUE(Contains(m, "capacity.agent_units: must be 1..10000 (got 20000)")) << m;
}

TEST(ConfigTest, CrossChannelRulesNeedChannels) {
  std::string m = ErrorOf(Mutate("{while_on: VOICE, blocks: [CHAT]}", "{blocks: [CHAT]}"));
  EXPECT_TRUE(Contains(m, "cross_channel_rules[0].while_on: required")) << m;
  m = ErrorOf(Mutate("{while_on: VOICE, blocks: [CHAT]}", "{while_on: VOICE}"));
  EXPECT_TRUE(Contains(m, "cross_channel_rules[0].blocks")) << m;
}

TEST(ConfigTest, DifficultCapIsBounded) {
  const std::string m = ErrorOf(Mutate("difficult_cap: 2", "difficult_cap: 1001"));
  EXPECT_TRUE(Contains(m, "difficult_cap: must be at most 1000")) << m;
  EXPECT_TRUE(ParseRoutingConfig(Mutate("difficult_cap: 2", "difficult_cap: 0")).ok());
}

TEST(ConfigTest, ValidateRejectsValuesOnlyCodeCanSet) {
  auto c = ParseRoutingConfig(kValidYaml);
  ASSERT_TRUE(c.ok());
  RoutingConfig bad = *c;
  bad.mutable_queues(0)->set_strategy(static_cast<pb::Strategy>(99));
  EXPECT_TRUE(Contains(Validate(bad).message(), "queues[0].strategy: unknown strategy 99"));
  bad = *c;
  bad.mutable_cross_channel_rules(0)->set_blocks(0, static_cast<pb::Channel>(42));
  EXPECT_TRUE(Contains(Validate(bad).message(), "cross_channel_rules[0].blocks[0]"));
  EXPECT_TRUE(Validate(*c).ok());
}

TEST(ConfigTest, MissingFileNamesThePath) {
  auto r = LoadRoutingConfigFile("/nonexistent/routing.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_TRUE(Contains(r.status().message(), "/nonexistent/routing.yaml"));
}

TEST(ConfigTest, DirectoryIsNotAConfigFile) {
  const std::string dir = std::filesystem::temp_directory_path().string();
  auto r = LoadRoutingConfigFile(dir);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(Contains(r.status().message(), dir)) << r.status().message();
}

TEST(ConfigTest, FileErrorsArePrefixedWithThePath) {
  const TempDir dir("sb_config_test_");
  const auto path = dir.path() / "bad.yaml";
  WriteAll(path, Mutate("domain: d1", "domain: d9"));
  auto r = LoadRoutingConfigFile(path.string());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().rfind(path.string() + ": queues[0].domain", 0), 0u)
      << r.status().message();
}

TEST(ConfigTest, ShippedExampleLoads) {
  auto r = LoadRoutingConfigFile(ShippedConfigPath(kRoutingExample).string());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->domains_size(), 2);
  EXPECT_EQ(r->queues_size(), 5);
  EXPECT_EQ(r->difficult_cap(), 2u);
  EXPECT_DOUBLE_EQ(r->short_abandon_s(), 5);
  ASSERT_EQ(r->cross_channel_rules_size(), 1);
  EXPECT_EQ(r->cross_channel_rules(0).while_on(), pb::CHANNEL_VOICE);
  EXPECT_EQ(r->cross_channel_rules(0).blocks_size(), 2);
  // Overflow crosses domains: a telecom queue spills into utilities.
  bool cross_domain_overflow = false;
  for (const auto& q : r->queues()) {
    for (const auto& step : q.bullseye()) {
      if (step.overflow_queue().empty()) continue;
      for (const auto& target : r->queues()) {
        if (target.name() == step.overflow_queue() && target.domain() != q.domain()) {
          cross_domain_overflow = true;
        }
      }
    }
  }
  EXPECT_TRUE(cross_domain_overflow);
}

}  // namespace
}  // namespace sb::config

namespace sb::config {
namespace {

TEST(ConfigDefaultsTest, DefaultChatCostLetsAnAgentTakeThreeChats) {
  pb::RoutingConfig config;
  ApplyDefaults(&config);
  uint32_t chat = 0;
  for (const auto& c : config.capacity().costs()) {
    if (c.channel() == pb::CHANNEL_CHAT) chat = c.units();
  }
  ASSERT_GT(chat, 0u);
  EXPECT_EQ(config.capacity().agent_units() / chat, 3u);
}

}  // namespace
}  // namespace sb::config
