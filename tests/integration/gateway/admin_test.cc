// AdminService.ApplyConfig and Drain on a two-node cluster over librdkafka's mock cluster in
// process, called through a real gRPC channel: a config change reaches both shards at their
// ConfigChanged markers (a contact of a new queue is routed in each, a restore keeps the new
// config), refused changes change nothing, and a drained node gives all its shards to the other
// node without losing or double-routing a contact, and sends its desktops elsewhere.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "router/control/control.h"
#include "router/gateway/gateway.h"
#include "router/kafka/topics.h"
#include "router/shard/node.h"
#include "support/configs.h"
#include "support/mock_kafka.h"
#include "support/one_domain.h"
#include "support/running_node.h"
#include "support/temp_dir.h"
#include "support/wait.h"
#include "switchboard/v1/cluster.pb.h"
#include "switchboard/v1/services.grpc.pb.h"

namespace sb::gateway {
namespace {

using ::sb::testing::GeneralAgent;
using ::sb::testing::MockKafka;
using ::sb::testing::NodeOptionsFor;
using ::sb::testing::RoutingConfigOf;
using ::sb::testing::RunningNode;
using ::sb::testing::TempDir;
using ::sb::testing::WaitUntil;

constexpr int32_t kPartitions = 2;  // d00 -> partition 1, d01 -> partition 0

constexpr const char* kConfig = ::sb::testing::kTwoDomainConfig;

// kConfig plus one new queue per domain and a changed service-level threshold.
constexpr char kNextConfig[] = R"(
skills: [{name: general}]
domains: [{name: d00}, {name: d01}]
queues:
  - {name: d00.general, domain: d00, strategy: LONGEST_IDLE,
     required_skills: [{skill: general, min_proficiency: 1}], offer_timeout_s: 600}
  - {name: d01.general, domain: d01, strategy: LONGEST_IDLE, service_level_threshold_s: 45,
     required_skills: [{skill: general, min_proficiency: 1}], offer_timeout_s: 600}
  - {name: d00.new, domain: d00, strategy: BEST_SKILL,
     required_skills: [{skill: general, min_proficiency: 1}], offer_timeout_s: 600}
  - {name: d01.new, domain: d01, strategy: LONGEST_IDLE,
     required_skills: [{skill: general, min_proficiency: 1}], offer_timeout_s: 600}
)";

class AdminTest : public ::testing::Test {
 protected:
  AdminTest() : kafka_(kPartitions) {}

  void SetUp() override { config_ = RoutingConfigOf(kConfig); }
  void TearDown() override {
    gateway_.reset();
    for (auto& [id, n] : nodes_) StopNode(id);
  }

  void StartNode(const std::string& id) {
    shard::NodeOptions o =
        NodeOptionsFor(kafka_.bootstrap(), id, (dir_.path() / id).string(), kPartitions);
    o.kafka_settings["session.timeout.ms"] = "6000";
    o.kafka_settings["heartbeat.interval.ms"] = "500";
    auto node = RunningNode::Start(o, config_);  // always the --config file of the first version
    ASSERT_TRUE(node.ok()) << node.status().ToString();
    nodes_[id] = std::move(*node);
  }
  void StopNode(const std::string& id) {
    auto it = nodes_.find(id);
    if (it == nodes_.end() || !it->second) return;
    const Status status = it->second->Stop();
    EXPECT_TRUE(status.ok()) << id << ": " << status.ToString();
    it->second.reset();
  }
  shard::Node& Node(const std::string& id) { return nodes_.at(id)->node(); }

  // Waits until each named node owns `counts` shards.
  bool WaitShards(const std::map<std::string, size_t>& counts, int timeout_ms = 40000) {
    return WaitUntil(
        std::chrono::milliseconds(timeout_ms),
        [&] {
          bool all = true;
          for (const auto& [id, n] : counts) all = all && Node(id).owned_shards() == n;
          return all;
        },
        std::chrono::milliseconds(50));
  }

  void StartGateway(const std::string& node_id) {
    GatewayOptions o;
    o.node_id = node_id;
    o.bootstrap = kafka_.bootstrap();
    o.no_auth = true;
    o.connect_timeout_ms = 10000;
    o.agent_grace_ms = 60000;
    auto gw = Gateway::Start(std::move(o), config_);
    ASSERT_TRUE(gw.ok()) << gw.status().ToString();
    gateway_ = std::move(*gw);
    channel_ = grpc::CreateChannel(gateway_->address(), grpc::InsecureChannelCredentials());
    admin_ = pb::AdminService::NewStub(channel_);
    contacts_ = pb::ContactService::NewStub(channel_);
    agents_ = pb::AgentService::NewStub(channel_);
  }

  static void Deadline(grpc::ClientContext* ctx) {
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  }

  grpc::Status Apply(const pb::RoutingConfig& config, const std::string& expected, bool dry_run,
                     std::string* version) {
    pb::ApplyConfigRequest req;
    *req.mutable_config() = config;
    req.set_expected_version(expected);
    req.set_dry_run(dry_run);
    pb::ApplyConfigResponse resp;
    grpc::ClientContext ctx;
    Deadline(&ctx);
    grpc::Status st = admin_->ApplyConfig(&ctx, req, &resp);
    if (version != nullptr) *version = resp.version();
    return st;
  }

  pb::GetConfigResponse GetConfig() {
    pb::GetConfigResponse resp;
    grpc::ClientContext ctx;
    Deadline(&ctx);
    grpc::Status st = admin_->GetConfig(&ctx, pb::GetConfigRequest(), &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp;
  }

  grpc::Status Submit(const std::string& key, const std::string& queue, std::string* id) {
    pb::SubmitContactRequest r;
    r.mutable_contact()->set_idempotency_key(key);
    r.mutable_contact()->set_queue(queue);
    r.mutable_contact()->set_channel(pb::CHANNEL_VOICE);
    pb::SubmitContactResponse resp;
    grpc::ClientContext ctx;
    Deadline(&ctx);
    grpc::Status st = contacts_->Submit(&ctx, r, &resp);
    if (id != nullptr) *id = resp.contact_id();
    return st;
  }

  void LoginAgents(const std::string& domain, int n) {
    auto producer = kafka::Producer::Create(kafka_.bootstrap(), {}, nullptr);
    ASSERT_TRUE(producer.ok());
    for (int i = 0; i < n; ++i) {
      pb::RoutingEvent ev;
      const std::string id = domain + "-a" + std::to_string(i);
      *ev.mutable_agent_login()->mutable_agent() = GeneralAgent(id, domain);
      ev.mutable_agent_login()->set_ready(true);
      ASSERT_TRUE((*producer)
                      ->Produce(kafka::kAgentEventsTopic, kafka::PartitionFor(domain, kPartitions),
                                id, ev.SerializeAsString(), {}, 0)
                      .ok());
    }
    ASSERT_TRUE((*producer)->Flush(10000).ok());
  }

  // Offers on sb.assignments so far: contact id -> distinct output ids (a re-published copy of an
  // output has the same id) and the agents offered.
  struct Offers {
    std::map<std::string, std::set<std::string>> ids;
    std::map<std::string, std::set<std::string>> agents;
  };
  void ReadOffers(Offers* offers) {
    if (offers_reader_ == nullptr) {
      auto reader = kafka::PartitionReader::Create(kafka_.bootstrap(), {});
      ASSERT_TRUE(reader.ok());
      offers_reader_ = std::move(*reader);
      std::vector<kafka::TopicPartition> parts;
      for (int32_t p = 0; p < kPartitions; ++p)
        parts.push_back({std::string(kafka::kAssignmentsTopic), p, 0});
      ASSERT_TRUE(offers_reader_->Assign(parts).ok());
    }
    for (;;) {
      auto rec = offers_reader_->Poll(20);
      ASSERT_TRUE(rec.ok());
      if (!rec->has_value()) return;
      if (!(*rec)->value) continue;
      pb::ShardOutput out;
      ASSERT_TRUE(out.ParseFromString(*(*rec)->value));
      if (!out.has_decision() || out.decision().type() != pb::DECISION_OFFER) continue;
      offers->ids[out.decision().contact_id()].insert(out.output_id());
      offers->agents[out.decision().contact_id()].insert(out.decision().agent_id());
    }
  }
  // Reads offers until each of `contacts` has one; false after timeout_ms. No sleep between
  // reads: ReadOffers waits up to 20 ms for a record itself.
  bool WaitOffered(const std::set<std::string>& contacts, Offers* offers, int timeout_ms = 30000) {
    return WaitUntil(
        std::chrono::milliseconds(timeout_ms),
        [&] {
          ReadOffers(offers);
          bool all = true;
          for (const std::string& c : contacts) all = all && offers->ids.count(c);
          return all;
        },
        std::chrono::milliseconds(0));
  }

  MockKafka kafka_;
  pb::RoutingConfig config_;
  const TempDir dir_{"sb-admin-test-"};
  std::map<std::string, std::unique_ptr<RunningNode>> nodes_;
  std::unique_ptr<Gateway> gateway_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<pb::AdminService::Stub> admin_;
  std::unique_ptr<pb::ContactService::Stub> contacts_;
  std::unique_ptr<pb::AgentService::Stub> agents_;
  std::unique_ptr<kafka::PartitionReader> offers_reader_;
};

TEST_F(AdminTest, ApplyConfigSwitchesEveryShardAndSurvivesARestore) {
  StartNode("n1");
  StartNode("n2");
  ASSERT_TRUE(WaitShards({{"n1", 1}, {"n2", 1}})) << "each node should own one shard";
  StartGateway("n1");
  LoginAgents("d00", 4);
  LoginAgents("d01", 4);
  const pb::RoutingConfig next = RoutingConfigOf(kNextConfig);
  const std::string v1 = control::ConfigVersionOf(config_);
  EXPECT_EQ(GetConfig().version(), v1);

  std::string id;
  EXPECT_EQ(Submit("early", "d00.new", &id).error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << "d00.new is not configured yet";

  // Refused: a stale expected version, and removing a queue contacts may wait in.
  std::string version;
  grpc::Status st = Apply(next, "0123456789abcdef", false, &version);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::ABORTED) << st.error_message();
  pb::RoutingConfig removing = config_;
  removing.mutable_queues()->RemoveLast();
  st = Apply(removing, v1, false, &version);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << st.error_message();
  EXPECT_NE(st.error_message().find("d01.general"), std::string::npos) << st.error_message();

  // A dry run answers the version and changes nothing.
  st = Apply(next, v1, true, &version);
  ASSERT_TRUE(st.ok()) << st.error_message();
  const std::string v2 = version;
  EXPECT_NE(v2, v1);
  EXPECT_EQ(v2, control::ConfigVersionOf(next));
  EXPECT_EQ(GetConfig().version(), v1);
  EXPECT_EQ(Submit("dry", "d00.new", &id).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  st = Apply(next, v1, false, &version);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(version, v2);
  const pb::GetConfigResponse after = GetConfig();
  EXPECT_EQ(after.version(), v2);
  EXPECT_EQ(after.config().queues_size(), 4);

  // A contact of each new queue, one per shard (each on its own node), is routed.
  std::set<std::string> routed;
  for (const std::string queue : {"d00.new", "d01.new"}) {
    st = Submit("after-" + queue, queue, &id);
    ASSERT_TRUE(st.ok()) << queue << ": " << st.error_message();
    routed.insert(id);
  }
  Offers offers;
  EXPECT_TRUE(WaitOffered(routed, &offers)) << "both shards switched to the new config";

  // Every node stops; a new one started with the OLD --config file restores both shards under
  // the new config (recorded in their changelogs, in force in sb.control) and routes to the new
  // queues.
  StopNode("n1");
  StopNode("n2");
  StartNode("n3");
  EXPECT_EQ(control::ConfigVersionOf(Node("n3").config()), v2);
  ASSERT_TRUE(WaitShards({{"n3", 2}}));
  std::set<std::string> restored;
  for (const std::string queue : {"d00.new", "d01.new"}) {
    st = Submit("restored-" + queue, queue, &id);
    ASSERT_TRUE(st.ok()) << queue << ": " << st.error_message();
    restored.insert(id);
  }
  EXPECT_TRUE(WaitOffered(restored, &offers)) << "the restored shards route to the new queues";
  for (const auto& [contact, ids] : offers.ids) EXPECT_EQ(ids.size(), 1u) << contact;
}

TEST_F(AdminTest, DrainMovesEveryShardToTheOtherNode) {
  StartNode("n1");
  StartNode("n2");
  ASSERT_TRUE(WaitShards({{"n1", 1}, {"n2", 1}})) << "each node should own one shard";
  StartGateway("n1");
  constexpr int kContacts = 40;  // per domain, each with an agent of its own
  LoginAgents("d00", kContacts);
  LoginAgents("d01", kContacts);

  // A desktop connected to n1 before the drain.
  grpc::ClientContext desk_ctx;
  auto desk = agents_->Session(&desk_ctx);
  pb::AgentRequest login;
  *login.mutable_login()->mutable_agent() = GeneralAgent("desk", "d00");
  ASSERT_TRUE(desk->Write(login));
  pb::AgentUpdate hello;
  ASSERT_TRUE(desk->Read(&hello));
  ASSERT_TRUE(hello.has_logged_in());

  // Contacts keep arriving in both domains while n1 drains.
  auto producer = kafka::Producer::Create(kafka_.bootstrap(), {}, nullptr);
  ASSERT_TRUE(producer.ok());
  std::set<std::string> submitted;
  for (int i = 0; i < kContacts; ++i) {
    for (const std::string domain : {"d00", "d01"}) {
      pb::RoutingEvent ev;
      auto* c = ev.mutable_contact_arrived()->mutable_contact();
      c->set_id(domain + "-c" + std::to_string(i));
      c->set_queue(domain + ".general");
      c->set_channel(pb::CHANNEL_VOICE);
      ASSERT_TRUE((*producer)
                      ->Produce(kafka::kContactsTopic, kafka::PartitionFor(domain, kPartitions),
                                domain, ev.SerializeAsString(), {}, 0)
                      .ok());
      submitted.insert(c->id());
    }
    if (i == kContacts / 2) {
      ASSERT_TRUE((*producer)->Flush(10000).ok());
      pb::DrainRequest req;
      req.set_node_id("n1");
      pb::DrainResponse resp;
      grpc::ClientContext ctx;
      Deadline(&ctx);
      grpc::Status st = admin_->Drain(&ctx, req, &resp);
      ASSERT_TRUE(st.ok()) << st.error_message();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE((*producer)->Flush(10000).ok());

  ASSERT_TRUE(WaitShards({{"n1", 0}, {"n2", 2}})) << "n2 should own every shard";
  EXPECT_TRUE(Node("n1").drained());
  Offers offers;
  EXPECT_TRUE(WaitOffered(submitted, &offers)) << "every contact routed";
  for (const std::string& c : submitted) {
    EXPECT_EQ(offers.ids[c].size(), 1u) << c << " offered more than once";
    EXPECT_EQ(offers.agents[c].size(), 1u) << c << " offered to several agents";
  }

  // The open desktop session was ended, new ones are refused: they go to another node.
  pb::AgentUpdate u;
  std::string last_refusal;
  while (desk->Read(&u)) {
    if (u.has_refused()) last_refusal = u.refused().code() + " " + u.refused().message();
  }
  EXPECT_EQ(last_refusal, "UNAVAILABLE node draining, connect to another node");
  EXPECT_FALSE(desk->Finish().ok());
  grpc::ClientContext again_ctx;
  Deadline(&again_ctx);
  auto again = agents_->Session(&again_ctx);
  again->Write(login);
  while (again->Read(&u)) {
  }
  EXPECT_EQ(again->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
}

}  // namespace
}  // namespace sb::gateway
