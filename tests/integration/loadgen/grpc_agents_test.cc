// The simulated agents over gRPC against two gateways and a router node on the mock broker:
// agents log in on their own streams (spread over the gateways), act on the offers those streams
// deliver, and move to the other gateway when theirs stops; a refused token fails the login
// naming the gateway; Traffic with gateways gets every contact answered by stream-fed agents.
#include "tools/loadgen/grpc_agents.h"

#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <thread>

#include "common/clock.h"
#include "common/config/config.h"
#include "router/gateway/auth.h"
#include "router/gateway/gateway.h"
#include "router/kafka/topics.h"
#include "router/shard/node.h"
#include "support/files.h"
#include "support/mock_kafka.h"
#include "support/one_domain.h"
#include "support/running_node.h"
#include "support/temp_dir.h"
#include "support/wait.h"
#include "tools/loadgen/traffic.h"

namespace sb::loadgen {
namespace {

using ::sb::testing::Arrive;
using ::sb::testing::GeneralAgent;
using ::sb::testing::kOneDomainConfig;
using ::sb::testing::MockKafka;
using ::sb::testing::NodeOptionsFor;
using ::sb::testing::RunningNode;
using ::sb::testing::TempDir;
using ::sb::testing::WaitUntil;
using ::sb::testing::WriteAll;

constexpr int32_t kPartitions = 2;
constexpr char kAdminToken[] = "admin-token";

class GrpcAgentsTest : public ::testing::Test {
 protected:
  GrpcAgentsTest() : kafka_(kPartitions) {}

  void SetUp() override {
    auto config = config::ParseRoutingConfig(kOneDomainConfig);
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    config_ = *config;
    // Desktops wrap every contact up, as the demo's queues require (acw_limit_s > 0); without
    // after-contact work the engine refuses a wrap-up, and the refusal reaches the desktop.
    for (auto& q : *config_.mutable_queues()) q.set_acw_limit_s(60);
    WriteAll(dir_.path() / "tokens.yaml",
             "tokens:\n  - {sha256: " + gateway::Sha256Hex(kAdminToken) + ", role: admin}\n");
    std::filesystem::permissions(
        dir_.path() / "tokens.yaml",
        std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    auto node = RunningNode::Start(
        NodeOptionsFor(kafka_.bootstrap(), "n1", (dir_.path() / "node").string(), kPartitions),
        config_);
    ASSERT_TRUE(node.ok()) << node.status().ToString();
    node_ = std::move(*node);
    for (const char* id : {"g1", "g2"}) {
      gateway::GatewayOptions o;
      o.node_id = id;
      o.bootstrap = kafka_.bootstrap();
      o.tokens_file = (dir_.path() / "tokens.yaml").string();
      o.connect_timeout_ms = 10000;
      auto gw = gateway::Gateway::Start(std::move(o), config_);
      ASSERT_TRUE(gw.ok()) << gw.status().ToString();
      gateways_.push_back(std::move(*gw));
    }
  }

  void TearDown() override {
    gateways_.clear();
    if (node_) {
      const Status status = node_->Stop();
      EXPECT_TRUE(status.ok()) << status.ToString();
    }
  }

  std::vector<GatewayTarget> Targets(const std::string& token) const {
    std::vector<GatewayTarget> t;
    for (const auto& g : gateways_) t.push_back({g->address(), token});
    return t;
  }

  // A contact as a channel adapter sends it.
  void SubmitContact(const std::string& id) {
    auto producer = kafka::Producer::Create(kafka_.bootstrap(), {},
                                            [](uint64_t, int32_t, int64_t, const Status&) {});
    ASSERT_TRUE(producer.ok()) << producer.status().ToString();
    pb::RoutingEvent ev = Arrive(id);
    ASSERT_TRUE((*producer)
                    ->Produce(kafka::kContactsTopic, kafka::PartitionFor("d00", kPartitions), id,
                              ev.SerializeAsString(), {}, 0)
                    .ok());
    ASSERT_TRUE((*producer)->Flush(5000).ok());
  }

  // Takes updates until one for which `want` holds (returned), up to 20 s.
  static std::optional<AgentHeard> TakeUntil(GrpcAgentLink& link,
                                             const std::function<bool(const AgentHeard&)>& want) {
    std::optional<AgentHeard> found;
    const bool heard_it = WaitUntil(std::chrono::seconds(20), [&] {
      std::vector<AgentHeard> heard;
      link.Take(&heard);
      for (AgentHeard& h : heard) {
        if (want(h)) {
          found = std::move(h);
          return true;
        }
      }
      return false;
    });
    return heard_it ? std::move(found) : std::nullopt;
  }

  MockKafka kafka_;
  pb::RoutingConfig config_;
  const TempDir dir_{"sb-grpc-agents-test-"};
  std::unique_ptr<RunningNode> node_;
  std::vector<std::unique_ptr<gateway::Gateway>> gateways_;
};

TEST_F(GrpcAgentsTest, AgentsActOnTheirStreamsAndMoveWhenTheirGatewayStops) {
  GrpcAgentOptions o;
  o.gateways = Targets(kAdminToken);
  o.backoff_min_ms = 50;
  auto link = GrpcAgentLink::Create({GeneralAgent("a0"), GeneralAgent("a1")}, o);
  ASSERT_TRUE(link.ok()) << link.status().ToString();
  GrpcAgentLink& l = **link;
  ASSERT_TRUE(l.LogIn().ok());
  EXPECT_EQ(l.counts().sessions_live, 2u);
  EXPECT_EQ(l.gateway_of(0), 0u);  // round-robin over the gateways
  EXPECT_EQ(l.gateway_of(1), 1u);

  // The offer arrives on the offered agent's own stream; accepting there connects the contact.
  SubmitContact("c1");
  auto offer = TakeUntil(l, [](const AgentHeard& h) { return h.update.has_offer(); });
  ASSERT_TRUE(offer.has_value());
  EXPECT_EQ(offer->update.offer().contact_id(), "c1");
  EXPECT_EQ(offer->update.offer().agent_id(), offer->agent == 0 ? "a0" : "a1");
  EXPECT_EQ(l.counts().offers_heard, 1u);
  const uint32_t agent = offer->agent;
  pb::AgentRequest accept;
  accept.mutable_accept()->set_contact_id("c1");
  accept.mutable_accept()->set_attempt(offer->update.offer().attempt());
  ASSERT_TRUE(l.Send(agent, accept).ok());
  auto connected = TakeUntil(l, [&](const AgentHeard& h) {
    return h.agent == agent && h.update.has_decision() &&
           h.update.decision().type() == pb::DECISION_CONNECTED;
  });
  ASSERT_TRUE(connected.has_value());

  // Its gateway stops: the agent logs in again through the other one; what it does while its
  // stream is down (hang up, wrap up) follows on the new stream, in order.
  const size_t gone = l.gateway_of(agent);
  gateways_[gone]->Stop();
  pb::AgentRequest complete;
  complete.mutable_complete()->set_contact_id("c1");
  ASSERT_TRUE(l.Send(agent, complete).ok());
  pb::AgentRequest wrap;
  wrap.mutable_wrap_up()->set_contact_id("c1");
  wrap.mutable_wrap_up()->set_disposition("resolved");
  ASSERT_TRUE(l.Send(agent, wrap).ok());
  const std::string other_node = gone == 0 ? "g2" : "g1";
  ASSERT_TRUE(TakeUntil(l, [&](const AgentHeard& h) {
                return h.agent == agent && h.update.has_logged_in() &&
                       h.update.logged_in().node_id() == other_node;
              }).has_value());
  EXPECT_EQ(l.counts().sessions_lost, 1u);
  EXPECT_EQ(l.counts().actions_queued, 0u);

  // The other agent steps away: the next contact can only go to the moved agent, which is free
  // again only if its held hang-up arrived; the offer comes on its new stream.
  pb::AgentRequest away;
  away.mutable_not_ready()->set_reason("break");
  ASSERT_TRUE(l.Send(1 - agent, away).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  SubmitContact("c2");
  auto second = TakeUntil(l, [](const AgentHeard& h) { return h.update.has_offer(); });
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->agent, agent);
  EXPECT_EQ(second->update.offer().contact_id(), "c2");
  EXPECT_EQ(l.counts().refused, 0u);
  l.LogOut(5000);
  EXPECT_EQ(l.counts().sessions_live, 0u);
}

TEST_F(GrpcAgentsTest, ABadTokenFailsTheLoginNamingTheGateway) {
  GrpcAgentOptions o;
  o.gateways = Targets("not-a-token");
  auto link = GrpcAgentLink::Create({GeneralAgent("a0")}, o);
  ASSERT_TRUE(link.ok());
  Status st = (*link)->LogIn();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find(gateways_[0]->address()), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("UNAUTHENTICATED"), std::string::npos) << st.message();
}

// Traffic with gateways: contacts go to Kafka, the agents hear their offers on their streams
// only, and every contact is answered exactly once.
TEST_F(GrpcAgentsTest, TrafficAnswersEveryContactThroughTheStreams) {
  TrafficOptions to;
  to.agents = 6;
  to.seed = 3;
  to.think_ms = 20;
  to.handle_ms = 50;
  to.wrap_ms = 20;
  to.patience_s = 0;  // nobody hangs up: every contact must be answered
  to.gateways = Targets(kAdminToken);
  auto traffic = Traffic::Create(kafka_.bootstrap(), config_, to);
  ASSERT_TRUE(traffic.ok()) << traffic.status().ToString();
  Traffic& t = **traffic;
  ASSERT_TRUE(t.Start().ok());
  EXPECT_EQ(t.agent_link_counts().sessions_live, 6u);
  constexpr int kContacts = 20;
  for (int i = 0; i < kContacts; ++i) ASSERT_TRUE(t.Submit().ok());
  const int64_t deadline = MonotonicMs() + 60000;
  while (!t.ledger().AllFinal() && MonotonicMs() < deadline) ASSERT_TRUE(t.Step(10).ok());
  t.LogOut(5000);
  const Verdict v = t.ledger().Finish();
  EXPECT_EQ(v.assigned, static_cast<uint64_t>(kContacts));
  EXPECT_EQ(v.lost, 0u);
  EXPECT_EQ(v.duplicates, 0u);
  EXPECT_EQ(v.ineligible, 0u);
  EXPECT_GE(t.agent_link_counts().offers_heard, static_cast<uint64_t>(kContacts));
  EXPECT_EQ(t.agent_link_counts().refused, 0u);
}

}  // namespace
}  // namespace sb::loadgen
