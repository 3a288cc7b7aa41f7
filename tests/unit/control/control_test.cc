// router/control: which config changes may be applied to a running cluster, the content
// version, and sb.control records materialized in order.
#include "router/control/control.h"

#include <gtest/gtest.h>

#include "common/config/config.h"
#include "support/configs.h"

namespace sb::control {
namespace {

using ::sb::testing::RoutingConfigOf;

constexpr char kRunning[] = R"(
skills: [{name: general}, {name: billing}]
domains: [{name: d00}, {name: d01}]
queues:
  - {name: d00.general, domain: d00, strategy: LONGEST_IDLE,
     required_skills: [{skill: general, min_proficiency: 1}], offer_timeout_s: 30}
  - {name: d01.billing, domain: d01, strategy: BEST_SKILL, service_level_threshold_s: 20,
     required_skills: [{skill: billing, min_proficiency: 2}], offer_timeout_s: 30,
     bullseye: [{after_s: 30, relax_proficiency: 1}]}
)";

TEST(CheckCompatibleTest, SameConfigIsCompatible) {
  EXPECT_TRUE(CheckCompatible(RoutingConfigOf(kRunning), RoutingConfigOf(kRunning)).ok());
}

TEST(CheckCompatibleTest, AdditionsAndParameterChangesAreAllowed) {
  pb::RoutingConfig next = RoutingConfigOf(kRunning);
  auto* billing = next.mutable_queues(1);
  billing->set_service_level_threshold_s(45);
  billing->set_strategy(pb::STRATEGY_LONGEST_IDLE);
  billing->mutable_required_skills(0)->set_min_proficiency(1);
  billing->mutable_bullseye(0)->set_after_s(60);
  next.add_domains()->set_name("d02");
  auto* added = next.add_queues();
  added->set_name("d02.new");
  added->set_domain("d02");
  added->set_strategy(pb::STRATEGY_LONGEST_IDLE);
  added->set_offer_timeout_s(10);
  next.mutable_capacity()->mutable_costs(0)->set_units(50);
  next.set_difficult_cap(3);
  ASSERT_TRUE(config::Validate(next).ok());
  EXPECT_TRUE(CheckCompatible(RoutingConfigOf(kRunning), next).ok());
}

TEST(CheckCompatibleTest, RemovingAQueueIsRefusedNamingIt) {
  pb::RoutingConfig next = RoutingConfigOf(kRunning);
  next.mutable_queues()->RemoveLast();
  Status st = CheckCompatible(RoutingConfigOf(kRunning), next);
  ASSERT_EQ(st.code(), Code::kFailedPrecondition);
  EXPECT_NE(st.message().find("queues \"d01.billing\""), std::string::npos) << st.message();
  EXPECT_EQ(st.message().find("d00.general"), std::string::npos) << st.message();
}

TEST(CheckCompatibleTest, RenamingADomainAndItsQueueNamesBoth) {
  pb::RoutingConfig next = RoutingConfigOf(kRunning);
  next.mutable_domains(1)->set_name("d01b");
  next.mutable_queues(1)->set_domain("d01b");
  next.mutable_queues(1)->set_name("d01b.billing");
  Status st = CheckCompatible(RoutingConfigOf(kRunning), next);
  ASSERT_EQ(st.code(), Code::kFailedPrecondition);
  EXPECT_NE(st.message().find("routing domains \"d01\""), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("queues \"d01.billing\""), std::string::npos) << st.message();
}

// Found with control_fuzz's message check (a crafted input): every removed name was listed, so
// a config removing many made a refusal of any length (it reaches ApplyConfig's caller and logs).
TEST(CheckCompatibleTest, RemovingManyNamesKeepsTheMessageOneShortLine) {
  pb::RoutingConfig running = RoutingConfigOf(kRunning);
  for (int i = 0; i < 40; ++i) {
    running.add_domains()->set_name("domain-with-a-long-name-to-make-the-message-long-" +
                                    std::to_string(i));
  }
  ASSERT_TRUE(config::Validate(running).ok());
  Status st = CheckCompatible(running, RoutingConfigOf(kRunning));
  ASSERT_EQ(st.code(), Code::kFailedPrecondition);
  EXPECT_LE(st.message().size(), 1024u) << st.message();
  EXPECT_NE(st.message().find("and 35 more"), std::string::npos) << st.message();
}

TEST(ConfigVersionTest, ContentDecidesTheVersion) {
  const pb::RoutingConfig a = RoutingConfigOf(kRunning);
  pb::RoutingConfig b = a;
  EXPECT_EQ(ConfigVersionOf(a), ConfigVersionOf(b));
  EXPECT_EQ(ConfigVersionOf(a).size(), 16u);
  b.mutable_queues(0)->set_service_level_threshold_s(21);
  EXPECT_NE(ConfigVersionOf(a), ConfigVersionOf(b));
}

kafka::Record Rec(int64_t offset, std::string key, std::optional<std::string> value) {
  kafka::Record r;
  r.topic = "sb.control";
  r.offset = offset;
  r.key = std::move(key);
  r.value = std::move(value);
  return r;
}

TEST(ControlStateTest, VersionsCurrentAndDrainsInLogOrder) {
  ControlState state;
  const pb::RoutingConfig config = RoutingConfigOf(kRunning);
  const std::string version = ConfigVersionOf(config);
  pb::ConfigVersion v;
  v.set_version(version);
  *v.mutable_config() = config;
  ASSERT_TRUE(state.Apply(Rec(0, ConfigKey(version), v.SerializeAsString())).ok());
  pb::ConfigCurrent current;
  current.set_version(version);
  ASSERT_TRUE(state.Apply(Rec(1, kCurrentConfigKey, current.SerializeAsString())).ok());
  ASSERT_TRUE(state.current().has_value());
  EXPECT_EQ(state.current()->version(), version);
  ASSERT_NE(state.Find(version), nullptr);
  EXPECT_EQ(state.Find(version)->queues_size(), 2);

  // A record whose version is not its config's hash is refused (it would switch shards to
  // something else than what the version names).
  pb::ConfigVersion forged = v;
  forged.mutable_config()->mutable_queues(0)->set_offer_timeout_s(99);
  Status st = state.Apply(Rec(2, ConfigKey(version), forged.SerializeAsString()));
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(state.Find(version)->queues(0).offer_timeout_s(), 30);

  pb::NodeDrain drain;
  drain.set_node_id("n1");
  drain.set_requested_at_ms(1000);
  ASSERT_TRUE(state.Apply(Rec(3, DrainKey("n1"), drain.SerializeAsString())).ok());
  ASSERT_EQ(state.drains().count("n1"), 1u);
  EXPECT_EQ(state.drains().at("n1").requested_at_ms(), 1000);
  ASSERT_TRUE(state.Apply(Rec(4, DrainKey("n1"), std::nullopt)).ok());
  EXPECT_EQ(state.drains().count("n1"), 0u);
  EXPECT_EQ(state.Apply(Rec(5, DrainKey("n2"), drain.SerializeAsString())).code(),
            Code::kInvalidArgument);  // names another node
}

}  // namespace
}  // namespace sb::control
