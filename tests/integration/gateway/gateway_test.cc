// The gateway on port 0 against librdkafka's mock cluster in process, called through a real gRPC
// channel: authentication and roles, validation, Submit idempotency (one ContactArrived per key),
// Get/Watch/Cancel following a router node's decisions, health without a token, TLS.
#include "router/gateway/gateway.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/client_unary_call.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <cstdlib>
#include <map>
#include <sstream>
#include <thread>

#include "common/clock.h"
#include "common/config/config.h"
#include "router/followup/settings.h"
#include "router/gateway/auth.h"
#include "router/kafka/topics.h"
#include "router/shard/followups.h"
#include "router/shard/node.h"
#include "support/files.h"
#include "support/mock_kafka.h"
#include "support/one_domain.h"
#include "support/running_node.h"
#include "support/temp_dir.h"
#include "support/wait.h"
#include "switchboard/v1/cluster.pb.h"
#include "switchboard/v1/services.grpc.pb.h"

namespace sb::gateway {
namespace {

// TLS clients dial the loopback address and check the certificate's name "localhost": a
// "localhost" target would go through the c-ares resolver, whose allocation LeakSanitizer reports.
grpc::ChannelArguments TlsArgs() {
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride("localhost");
  return args;
}

using ::sb::testing::kOneDomainConfig;
using ::sb::testing::kTwoDomainConfig;
using ::sb::testing::Login;
using ::sb::testing::MockKafka;
using ::sb::testing::NodeOptionsFor;
using ::sb::testing::ReadAll;
using ::sb::testing::RunningNode;
using ::sb::testing::TempDir;
using ::sb::testing::WriteAll;

constexpr int32_t kPartitions = 2;
constexpr char kAgentToken[] = "agent-a1-token";
constexpr char kIntegratorToken[] = "integrator-token";
constexpr char kOtherIntegratorToken[] = "other-integrator-token";  // unnamed
constexpr char kAdminToken[] = "admin-token";
constexpr char kSupervisorToken[] = "supervisor-d00-token";     // supervises d00
constexpr char kFarSupervisorToken[] = "supervisor-d99-token";  // supervises d99 only

// A desktop's login of agent `id` of d00 with the general skill (proficiency 3).
pb::AgentRequest DeskLogin(const std::string& id, bool ready) {
  pb::AgentRequest r;
  *r.mutable_login()->mutable_agent() = ::sb::testing::GeneralAgent(id);
  r.mutable_login()->set_ready(ready);
  return r;
}

class GatewayTest : public ::testing::Test {
 protected:
  GatewayTest() : kafka_(kPartitions) {}

  void SetUp() override {
    auto config = config::ParseRoutingConfig(kOneDomainConfig);
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    config_ = *config;
    std::ostringstream tokens;
    tokens << "tokens:\n"
           << "  - {sha256: " << Sha256Hex(kAgentToken) << ", role: agent, agent_id: a1}\n"
           << "  - {sha256: " << Sha256Hex(kIntegratorToken) << ", role: integrator}\n"
           << "  - {sha256: " << Sha256Hex(kOtherIntegratorToken) << ", role: integrator}\n"
           << "  - {sha256: " << Sha256Hex(kAdminToken) << ", role: admin}\n"
           << "  - {sha256: " << Sha256Hex(kSupervisorToken)
           << ", role: supervisor, name: team-d00, domains: [d00]}\n"
           << "  - {sha256: " << Sha256Hex(kFarSupervisorToken)
           << ", role: supervisor, name: team-d99, domains: [d99]}\n";
    WriteAll(dir_.path() / "tokens.yaml", tokens.str());
    std::filesystem::permissions(
        dir_.path() / "tokens.yaml",
        std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  }

  void TearDown() override {
    StopNode();
    gateway_.reset();
  }

  GatewayOptions Options() {
    GatewayOptions o;
    o.node_id = "n1";
    o.bootstrap = kafka_.bootstrap();
    o.tokens_file = (dir_.path() / "tokens.yaml").string();
    o.connect_timeout_ms = 10000;
    return o;
  }

  void StartGateway(GatewayOptions o) {
    auto gw = Gateway::Start(std::move(o), config_);
    ASSERT_TRUE(gw.ok()) << gw.status().ToString();
    gateway_ = std::move(*gw);
    ASSERT_GT(gateway_->port(), 0);
    channel_ = grpc::CreateChannel(gateway_->address(), grpc::InsecureChannelCredentials());
    contacts_ = pb::ContactService::NewStub(channel_);
    admin_ = pb::AdminService::NewStub(channel_);
    agents_ = pb::AgentService::NewStub(channel_);
  }

  void StartNode() {
    shard::NodeOptions options =
        NodeOptionsFor(kafka_.bootstrap(), "n1", (dir_.path() / "node").string(), kPartitions);
    options.followups = node_followups_;
    auto node = RunningNode::Start(options, config_);
    ASSERT_TRUE(node.ok()) << node.status().ToString();
    node_ = std::move(*node);
  }
  void StopNode() {
    if (!node_) return;
    const Status status = node_->Stop();
    EXPECT_TRUE(status.ok()) << status.ToString();
    node_.reset();
  }

  static void Authorize(grpc::ClientContext* ctx, const std::string& token) {
    ctx->AddMetadata("authorization", "Bearer " + token);
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  }

  static pb::SubmitContactRequest Contact(const std::string& key) {
    pb::SubmitContactRequest r;
    r.mutable_contact()->set_idempotency_key(key);
    r.mutable_contact()->set_queue("d00.general");
    r.mutable_contact()->set_channel(pb::CHANNEL_VOICE);
    return r;
  }

  grpc::Status Submit(const std::string& token, const pb::SubmitContactRequest& r,
                      pb::SubmitContactResponse* resp) {
    grpc::ClientContext ctx;
    Authorize(&ctx, token);
    return contacts_->Submit(&ctx, r, resp);
  }

  int CountArrivals(const std::string& contact_id) {
    int n = 0;
    for (const auto& rec :
         kafka_.ReadPartition(kafka::kContactsTopic, kafka::PartitionFor("d00", kPartitions))) {
      pb::RoutingEvent ev;
      if (rec.value && ev.ParseFromString(*rec.value) && ev.has_contact_arrived() &&
          ev.contact_arrived().contact().id() == contact_id) {
        ++n;
      }
    }
    return n;
  }

  MockKafka kafka_;
  pb::RoutingConfig config_;
  const TempDir dir_{"sb-gateway-test-"};
  std::unique_ptr<Gateway> gateway_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<pb::ContactService::Stub> contacts_;
  std::unique_ptr<pb::AdminService::Stub> admin_;
  std::unique_ptr<pb::AgentService::Stub> agents_;
  std::optional<followup::Settings> node_followups_;  // for StartNode()
  std::unique_ptr<RunningNode> node_;
};

TEST_F(GatewayTest, NoTokenOrBadTokenIsUnauthenticated) {
  StartGateway(Options());
  pb::SubmitContactResponse resp;
  grpc::ClientContext bare;
  EXPECT_EQ(contacts_->Submit(&bare, Contact("k1"), &resp).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Submit("not-a-token", Contact("k1"), &resp).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  grpc::ClientContext basic;
  basic.AddMetadata("authorization", "Basic YWRtaW46YWRtaW4=");
  pb::GetConfigResponse config;
  EXPECT_EQ(admin_->GetConfig(&basic, pb::GetConfigRequest(), &config).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(GatewayTest, WrongRoleIsPermissionDenied) {
  StartGateway(Options());
  pb::GetConfigResponse config;
  grpc::ClientContext as_agent;
  Authorize(&as_agent, kAgentToken);
  EXPECT_EQ(admin_->GetConfig(&as_agent, pb::GetConfigRequest(), &config).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  grpc::ClientContext as_integrator;
  Authorize(&as_integrator, kIntegratorToken);
  EXPECT_EQ(admin_->GetConfig(&as_integrator, pb::GetConfigRequest(), &config).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  pb::SubmitContactResponse resp;
  EXPECT_EQ(Submit(kAgentToken, Contact("k1"), &resp).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  grpc::ClientContext as_admin;
  Authorize(&as_admin, kAdminToken);
  grpc::Status ok = admin_->GetConfig(&as_admin, pb::GetConfigRequest(), &config);
  ASSERT_TRUE(ok.ok()) << ok.error_message();
  EXPECT_EQ(config.config().queues(0).name(), "d00.general");
  EXPECT_EQ(config.version().size(), 16u);
}

TEST_F(GatewayTest, AnAgentMayLogInOnlyAsItself) {
  StartGateway(Options());
  grpc::ClientContext ctx;
  Authorize(&ctx, kAgentToken);
  auto stream = agents_->Session(&ctx);
  pb::AgentRequest login;
  login.mutable_login()->mutable_agent()->set_id("a2");
  login.mutable_login()->mutable_agent()->set_domain("d00");
  ASSERT_TRUE(stream->Write(login));
  stream->WritesDone();
  pb::AgentUpdate update;
  while (stream->Read(&update)) {
  }
  grpc::Status st = stream->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED) << st.error_message();
}

TEST_F(GatewayTest, InvalidRequestNamesTheField) {
  StartGateway(Options());
  pb::SubmitContactResponse resp;
  grpc::Status st = Submit(kIntegratorToken, Contact(""), &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("idempotency_key"), std::string::npos) << st.error_message();
  auto unknown = Contact("k1");
  unknown.mutable_contact()->set_queue("nowhere");
  st = Submit(kIntegratorToken, unknown, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("contact.queue"), std::string::npos) << st.error_message();
}

TEST_F(GatewayTest, OversizedRequestIsRefusedAndTheNodeLives) {
  StartGateway(Options());
  auto big = Contact("k-big");
  (*big.mutable_contact()->mutable_attributes())["blob"] = std::string(2 << 20, 'x');
  pb::SubmitContactResponse resp;
  EXPECT_EQ(Submit(kIntegratorToken, big, &resp).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  grpc::Status st = Submit(kIntegratorToken, Contact("k-small"), &resp);
  EXPECT_TRUE(st.ok()) << st.error_message();
}

TEST_F(GatewayTest, HealthAnswersWithoutAToken) {
  StartGateway(Options());
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  // grpc.health.v1.HealthCheckRequest{service: ""} is empty on the wire; the answer
  // HealthCheckResponse{status: SERVING} is field 1 = 1.
  grpc::ByteBuffer request, response;
  grpc::Slice empty;
  request = grpc::ByteBuffer(&empty, 1);
  grpc::Status st = grpc::internal::BlockingUnaryCall<grpc::ByteBuffer, grpc::ByteBuffer>(
      channel_.get(),
      grpc::internal::RpcMethod("/grpc.health.v1.Health/Check",
                                grpc::internal::RpcMethod::NORMAL_RPC),
      &ctx, request, &response);
  ASSERT_TRUE(st.ok()) << st.error_message();
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(response.Dump(&slices).ok());
  std::string bytes;
  for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  EXPECT_EQ(bytes, std::string("\x08\x01", 2));
}

TEST_F(GatewayTest, SameKeyGivesTheSameContactAndOneArrival) {
  StartGateway(Options());
  pb::SubmitContactResponse first, second;
  grpc::Status st = Submit(kIntegratorToken, Contact("sip-call-1"), &first);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_TRUE(first.contact_id().starts_with("c-"));
  EXPECT_FALSE(first.existing());
  EXPECT_EQ(first.estimated_wait_s(), -1);  // no shard has published live stats
  st = Submit(kIntegratorToken, Contact("sip-call-1"), &second);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(second.contact_id(), first.contact_id());
  EXPECT_TRUE(second.existing());
  // Another key, another contact; another caller with the same key, another contact.
  pb::SubmitContactResponse other, admin_same_key;
  ASSERT_TRUE(Submit(kIntegratorToken, Contact("sip-call-2"), &other).ok());
  EXPECT_NE(other.contact_id(), first.contact_id());
  ASSERT_TRUE(Submit(kAdminToken, Contact("sip-call-1"), &admin_same_key).ok());
  EXPECT_NE(admin_same_key.contact_id(), first.contact_id());
  // Acknowledged means written: the record is on sb.contacts once, in the queue's partition.
  EXPECT_EQ(CountArrivals(first.contact_id()), 1);
}

TEST_F(GatewayTest, ConcurrentRetriesMakeOneArrival) {
  StartGateway(Options());
  std::vector<std::thread> callers;
  std::vector<std::string> ids(8);
  for (int i = 0; i < 8; ++i) {
    callers.emplace_back([&, i] {
      pb::SubmitContactResponse resp;
      if (Submit(kIntegratorToken, Contact("chat-77"), &resp).ok()) ids[i] = resp.contact_id();
    });
  }
  for (auto& t : callers) t.join();
  for (const auto& id : ids) EXPECT_EQ(id, ids[0]);
  EXPECT_EQ(CountArrivals(ids[0]), 1);
}

// An integrator's contacts are its own: another integrator (even with the same idempotency key)
// gets another contact, and Get/Cancel/Watch of the first one's answer NOT_FOUND to it.
TEST_F(GatewayTest, AnIntegratorReachesOnlyTheContactsItSubmitted) {
  StartNode();
  StartGateway(Options());
  pb::SubmitContactResponse mine;
  ASSERT_TRUE(Submit(kIntegratorToken, Contact("sip-call-5"), &mine).ok());
  pb::SubmitContactResponse theirs;
  ASSERT_TRUE(Submit(kOtherIntegratorToken, Contact("sip-call-5"), &theirs).ok());
  EXPECT_NE(theirs.contact_id(), mine.contact_id());
  EXPECT_FALSE(theirs.existing());
  auto get = [&](const std::string& token, const std::string& id) {
    grpc::ClientContext ctx;
    Authorize(&ctx, token);
    pb::GetContactRequest r;
    r.set_contact_id(id);
    pb::GetContactResponse got;
    return contacts_->Get(&ctx, r, &got).error_code();
  };
  EXPECT_EQ(get(kIntegratorToken, mine.contact_id()), grpc::StatusCode::OK);
  EXPECT_EQ(get(kOtherIntegratorToken, mine.contact_id()), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(get(kAdminToken, mine.contact_id()), grpc::StatusCode::OK);
  {
    grpc::ClientContext ctx;
    Authorize(&ctx, kOtherIntegratorToken);
    pb::CancelContactRequest r;
    r.set_contact_id(mine.contact_id());
    pb::CancelContactResponse resp;
    EXPECT_EQ(contacts_->Cancel(&ctx, r, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
  }
  {
    grpc::ClientContext ctx;
    Authorize(&ctx, kOtherIntegratorToken);
    pb::WatchContactRequest r;
    r.set_contact_id(mine.contact_id());
    auto watch = contacts_->Watch(&ctx, r);
    pb::ContactUpdate u;
    EXPECT_FALSE(watch->Read(&u));
    EXPECT_EQ(watch->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
  }
  EXPECT_EQ(get(kIntegratorToken, mine.contact_id()), grpc::StatusCode::OK);  // not cancelled
}

TEST_F(GatewayTest, GetWatchAndCancelFollowTheRouter) {
  StartNode();
  StartGateway(Options());
  grpc::ClientContext unknown_ctx;
  Authorize(&unknown_ctx, kIntegratorToken);
  pb::GetContactRequest unknown;
  unknown.set_contact_id("c-nope");
  pb::GetContactResponse got;
  EXPECT_EQ(contacts_->Get(&unknown_ctx, unknown, &got).error_code(), grpc::StatusCode::NOT_FOUND);

  // Contact first (no agent yet): it waits; cancel it.
  pb::SubmitContactResponse waiting;
  ASSERT_TRUE(Submit(kIntegratorToken, Contact("email-1"), &waiting).ok());
  {
    grpc::ClientContext ctx;
    Authorize(&ctx, kIntegratorToken);
    pb::GetContactRequest r;
    r.set_contact_id(waiting.contact_id());
    ASSERT_TRUE(contacts_->Get(&ctx, r, &got).ok());
    EXPECT_EQ(got.status().state(), pb::CONTACT_STATE_WAITING);
    EXPECT_EQ(got.status().queue(), "d00.general");
  }
  {
    grpc::ClientContext ctx;
    Authorize(&ctx, kIntegratorToken);
    pb::CancelContactRequest r;
    r.set_contact_id(waiting.contact_id());
    r.set_reason("customer hung up the form");
    pb::CancelContactResponse resp;
    grpc::Status st = contacts_->Cancel(&ctx, r, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }
  {
    grpc::ClientContext ctx;
    Authorize(&ctx, kIntegratorToken);
    pb::GetContactRequest r;
    r.set_contact_id(waiting.contact_id());
    ASSERT_TRUE(contacts_->Get(&ctx, r, &got).ok());
    EXPECT_EQ(got.status().state(), pb::CONTACT_STATE_CANCELLED);
  }

  // A second contact, watched while an agent logs in: waiting, then offered to that agent.
  pb::SubmitContactResponse routed;
  ASSERT_TRUE(Submit(kIntegratorToken, Contact("sip-call-9"), &routed).ok());
  grpc::ClientContext watch_ctx;
  Authorize(&watch_ctx, kIntegratorToken);
  pb::WatchContactRequest w;
  w.set_contact_id(routed.contact_id());
  auto watch = contacts_->Watch(&watch_ctx, w);
  pb::ContactUpdate update;
  ASSERT_TRUE(watch->Read(&update));
  EXPECT_EQ(update.status().state(), pb::CONTACT_STATE_WAITING);

  auto producer = kafka::Producer::Create(kafka_.bootstrap(), {}, nullptr);
  ASSERT_TRUE(producer.ok());
  ASSERT_TRUE((*producer)
                  ->Produce(kafka::kAgentEventsTopic, kafka::PartitionFor("d00", kPartitions), "a1",
                            Login("a1").SerializeAsString(), {}, 0)
                  .ok());
  ASSERT_TRUE((*producer)->Flush(10000).ok());
  ASSERT_TRUE(watch->Read(&update));
  EXPECT_EQ(update.status().state(), pb::CONTACT_STATE_OFFERED);
  EXPECT_EQ(update.status().agent_id(), "a1");
  EXPECT_EQ(update.decision().type(), pb::DECISION_OFFER);
  watch_ctx.TryCancel();
  while (watch->Read(&update)) {
  }
  watch->Finish();  // CANCELLED by us

  // The same key again: the same contact, and only one offer was ever made for it.
  pb::SubmitContactResponse again;
  ASSERT_TRUE(Submit(kIntegratorToken, Contact("sip-call-9"), &again).ok());
  EXPECT_EQ(again.contact_id(), routed.contact_id());
  EXPECT_TRUE(again.existing());
  EXPECT_EQ(CountArrivals(routed.contact_id()), 1);
  int offers = 0;
  for (const auto& rec :
       kafka_.ReadPartition(kafka::kAssignmentsTopic, kafka::PartitionFor("d00", kPartitions))) {
    pb::ShardOutput out;
    if (rec.value && out.ParseFromString(*rec.value) &&
        out.decision().contact_id() == routed.contact_id() &&
        out.decision().type() == pb::DECISION_OFFER) {
      ++offers;
    }
  }
  EXPECT_EQ(offers, 1);
}

// Reads updates until one satisfies `want` (false when the stream ends first).
template <typename Stream, typename Pred>
bool ReadUntil(Stream& stream, pb::AgentUpdate* u, Pred want) {
  while (stream->Read(u)) {
    if (want(*u)) return true;
  }
  return false;
}

TEST_F(GatewayTest, AgentDesktopSessionEndToEnd) {
  StartNode();
  GatewayOptions o = Options();
  o.agent_grace_ms = 300;
  StartGateway(o);
  grpc::ClientContext ctx;
  Authorize(&ctx, kAgentToken);
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  auto desk = agents_->Session(&ctx);
  pb::AgentRequest login = DeskLogin("a1", /*ready=*/true);
  ASSERT_TRUE(desk->Write(login));
  pb::AgentUpdate u;
  ASSERT_TRUE(desk->Read(&u));
  ASSERT_TRUE(u.has_logged_in());
  EXPECT_EQ(u.logged_in().agent_id(), "a1");

  // An offer reaches the desktop; accepting it connects the contact.
  pb::SubmitContactResponse submitted;
  ASSERT_TRUE(Submit(kIntegratorToken, Contact("sip-call-42"), &submitted).ok());
  ASSERT_TRUE(ReadUntil(desk, &u, [](const pb::AgentUpdate& x) { return x.has_offer(); }));
  EXPECT_EQ(u.offer().contact_id(), submitted.contact_id());
  pb::AgentRequest accept;
  accept.mutable_accept()->set_contact_id(submitted.contact_id());
  accept.mutable_accept()->set_attempt(u.offer().attempt());
  ASSERT_TRUE(desk->Write(accept));
  ASSERT_TRUE(ReadUntil(desk, &u, [](const pb::AgentUpdate& x) {
    return x.has_decision() && x.decision().type() == pb::DECISION_CONNECTED;
  }));
  {
    grpc::ClientContext get_ctx;
    Authorize(&get_ctx, kIntegratorToken);
    pb::GetContactRequest r;
    r.set_contact_id(submitted.contact_id());
    pb::GetContactResponse got;
    ASSERT_TRUE(contacts_->Get(&get_ctx, r, &got).ok());
    EXPECT_EQ(got.status().state(), pb::CONTACT_STATE_CONNECTED);
    EXPECT_EQ(got.status().owner_agent_id(), "a1");
  }

  // Complete, wrap up; a bad action is refused on the stream, which stays open.
  pb::AgentRequest complete;
  complete.mutable_complete()->set_contact_id(submitted.contact_id());
  ASSERT_TRUE(desk->Write(complete));
  pb::AgentRequest bad;
  bad.mutable_not_ready();  // no reason
  ASSERT_TRUE(desk->Write(bad));
  ASSERT_TRUE(ReadUntil(desk, &u, [](const pb::AgentUpdate& x) { return x.has_refused(); }));
  EXPECT_EQ(u.refused().code(), "INVALID_ARGUMENT");
  EXPECT_NE(u.refused().message().find("not_ready.reason"), std::string::npos);
  pb::AgentRequest wrap;
  wrap.mutable_wrap_up()->set_contact_id(submitted.contact_id());
  wrap.mutable_wrap_up()->set_disposition("resolved");
  ASSERT_TRUE(desk->Write(wrap));
  pb::AgentRequest beat;
  beat.mutable_heartbeat()->set_client_time_ms(1700000000000);
  ASSERT_TRUE(desk->Write(beat));
  ASSERT_TRUE(ReadUntil(desk, &u, [](const pb::AgentUpdate& x) { return x.has_heartbeat(); }));
  EXPECT_EQ(u.heartbeat().client_time_ms(), 1700000000000);
  {
    grpc::ClientContext get_ctx;
    Authorize(&get_ctx, kIntegratorToken);
    pb::GetContactRequest r;
    r.set_contact_id(submitted.contact_id());
    pb::GetContactResponse got;
    ASSERT_TRUE(contacts_->Get(&get_ctx, r, &got).ok());
    EXPECT_EQ(got.status().state(), pb::CONTACT_STATE_COMPLETED);
  }

  // The desktop drops: after the grace period the agent is logged out.
  ctx.TryCancel();
  desk->Finish();  // CANCELLED by us
  const int32_t partition = kafka::PartitionFor("d00", kPartitions);
  bool logged_out = false;
  for (int i = 0; i < 50 && !logged_out; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    for (const auto& rec : kafka_.ReadPartition(kafka::kAgentEventsTopic, partition)) {
      pb::RoutingEvent ev;
      if (rec.value && ev.ParseFromString(*rec.value) && ev.has_agent_logout() &&
          ev.agent_logout().agent_id() == "a1") {
        logged_out = true;
      }
    }
  }
  EXPECT_TRUE(logged_out);
}

// A desktop session of `agent` (token `token`), logged in and acknowledged.
template <typename Stub>
auto OpenDesk(Stub& agents, grpc::ClientContext* ctx, const std::string& agent, bool ready) {
  auto desk = agents->Session(ctx);
  EXPECT_TRUE(desk->Write(DeskLogin(agent, ready)));
  pb::AgentUpdate u;
  EXPECT_TRUE(desk->Read(&u));
  EXPECT_TRUE(u.has_logged_in());
  return desk;
}

// ContactService.Transfer end to end through a router node: validation, the agent token's limit,
// the engine's answer (transferred, or its refusal) as the RPC's answer, the handoff note and the
// owner on the next agent's offer; a refused desktop action reaches the desktop.
TEST_F(GatewayTest, TransferHandsTheContactOnWithItsNote) {
  StartNode();
  StartGateway(Options());
  grpc::ClientContext ctx1, ctx2;
  Authorize(&ctx1, kAgentToken);
  Authorize(&ctx2, kAdminToken);  // an admin may act for any agent
  ctx1.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  ctx2.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  auto desk1 = OpenDesk(agents_, &ctx1, "a1", /*ready=*/true);
  pb::SubmitContactResponse submitted;
  ASSERT_TRUE(Submit(kIntegratorToken, Contact("sip-transfer-1"), &submitted).ok());
  const std::string id = submitted.contact_id();
  pb::AgentUpdate u;
  ASSERT_TRUE(ReadUntil(desk1, &u, [](const pb::AgentUpdate& x) { return x.has_offer(); }));
  const uint32_t first_attempt = u.offer().attempt();
  pb::AgentRequest accept;
  accept.mutable_accept()->set_contact_id(id);
  accept.mutable_accept()->set_attempt(first_attempt);
  ASSERT_TRUE(desk1->Write(accept));
  ASSERT_TRUE(ReadUntil(desk1, &u, [](const pb::AgentUpdate& x) {
    return x.has_decision() && x.decision().type() == pb::DECISION_CONNECTED;
  }));
  auto desk2 = OpenDesk(agents_, &ctx2, "a2", /*ready=*/true);
  // Routable once its home shard confirmed the login (before, a transfer to it finds it busy).
  ASSERT_TRUE(ReadUntil(desk2, &u, [](const pb::AgentUpdate& x) {
    return x.has_decision() && x.decision().reason() == pb::REASON_IDENTITY_CONFIRMED;
  }));

  auto transfer = [&](const std::string& token, const pb::TransferContactRequest& r,
                      pb::TransferContactResponse* resp) {
    grpc::ClientContext c;
    Authorize(&c, token);
    return contacts_->Transfer(&c, r, resp);
  };
  pb::TransferContactRequest r;
  r.set_contact_id(id);
  r.set_agent_id("a2");
  pb::TransferContactResponse resp;
  // No handoff note: refused before anything is published, naming the field.
  grpc::Status st = transfer(kAgentToken, r, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
  EXPECT_NE(st.error_message().find("handoff_note"), std::string::npos) << st.error_message();
  // A named agent the engine does not know: the engine's refusal is the answer.
  r.set_handoff_note("customer wants a refund; ticket 77");
  r.set_agent_id("nobody");
  st = transfer(kIntegratorToken, r, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << st.error_message();
  EXPECT_NE(st.error_message().find("to_agent_id"), std::string::npos) << st.error_message();

  // a1 hands it to a2.
  r.set_agent_id("a2");
  st = transfer(kAgentToken, r, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.status().contact_id(), id);
  EXPECT_NE(resp.status().state(), pb::CONTACT_STATE_CONNECTED);
  EXPECT_EQ(resp.status().owner_agent_id(), "a1");
  ASSERT_TRUE(ReadUntil(desk1, &u, [](const pb::AgentUpdate& x) {
    return x.has_decision() && x.decision().type() == pb::DECISION_TRANSFERRED;
  }));
  EXPECT_EQ(u.decision().agent_id(), "a1");
  ASSERT_TRUE(ReadUntil(desk2, &u, [](const pb::AgentUpdate& x) { return x.has_offer(); }));
  EXPECT_EQ(u.offer().contact_id(), id);
  EXPECT_EQ(u.offer().handoff_note(), "customer wants a refund; ticket 77");
  EXPECT_EQ(u.offer().owner_agent_id(), "a1");
  EXPECT_EQ(u.offer().reason(), pb::REASON_PREFERRED_AGENT_IDLE);
  accept.mutable_accept()->set_attempt(u.offer().attempt());
  ASSERT_TRUE(desk2->Write(accept));
  ASSERT_TRUE(ReadUntil(desk2, &u, [](const pb::AgentUpdate& x) {
    return x.has_decision() && x.decision().type() == pb::DECISION_CONNECTED;
  }));
  EXPECT_EQ(u.decision().owner_agent_id(), "a1");
  {
    grpc::ClientContext get_ctx;
    Authorize(&get_ctx, kIntegratorToken);
    pb::GetContactRequest g;
    g.set_contact_id(id);
    pb::GetContactResponse got;
    ASSERT_TRUE(contacts_->Get(&get_ctx, g, &got).ok());
    EXPECT_EQ(got.status().state(), pb::CONTACT_STATE_CONNECTED);
    EXPECT_EQ(got.status().agent_id(), "a2");
    EXPECT_EQ(got.status().owner_agent_id(), "a1");
  }

  // a1's token may not transfer a2's contact.
  st = transfer(kAgentToken, r, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED) << st.error_message();

  // a1 accepts its first offer again: the engine refuses, and a1's desktop is told so.
  accept.mutable_accept()->set_attempt(first_attempt);
  ASSERT_TRUE(desk1->Write(accept));
  ASSERT_TRUE(ReadUntil(desk1, &u, [](const pb::AgentUpdate& x) { return x.has_refused(); }));
  EXPECT_EQ(u.refused().code(), "FAILED_PRECONDITION");
  EXPECT_NE(u.refused().message().find("no open offer"), std::string::npos)
      << u.refused().message();

  ctx1.TryCancel();
  ctx2.TryCancel();
  desk1->Finish();
  desk2->Finish();
}

// The estimated wait of a submitted contact and AdminService.QueueStats come from the shards'
// live snapshots on sb.stats; the highest epoch of a shard wins.
// AdminService.Report: the day records of sb.stats in the range, the highest epoch per key, for
// the queues asked; a bad range is refused naming the field.
TEST_F(GatewayTest, ReportReturnsTheDaysOfTheRange) {
  auto producer = kafka::Producer::Create(kafka_.bootstrap(), {}, nullptr);
  ASSERT_TRUE(producer.ok());
  const int32_t partition = kafka::PartitionFor("d00", kPartitions);
  auto publish = [&](const std::string& day, int64_t epoch, uint64_t offered) {
    pb::QueueDay d;
    d.set_queue("d00.general");
    d.set_domain("d00");
    d.set_day(day);
    d.set_epoch(epoch);
    d.set_offered(offered);
    ASSERT_TRUE((*producer)
                    ->Produce(kafka::kStatsTopic, partition, "day/d00.general/" + day,
                              d.SerializeAsString(), {}, 0)
                    .ok());
  };
  publish("2026-11-20", 1, 5);
  publish("2026-11-21", 2, 9);
  publish("2026-11-21", 1, 3);  // a zombie's late record: the epoch-2 one stands
  publish("2026-11-23", 2, 4);  // outside the range
  ASSERT_TRUE((*producer)->Flush(10000).ok());
  StartGateway(Options());

  pb::ReportRequest r;
  r.set_from_day("2026-11-20");
  r.set_to_day("2026-11-22");
  r.add_queues("d00.general");
  pb::ReportResponse report;
  grpc::ClientContext ctx;
  Authorize(&ctx, kAdminToken);
  grpc::Status st = admin_->Report(&ctx, r, &report);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(report.days_size(), 2);
  EXPECT_EQ(report.days(0).day(), "2026-11-20");
  EXPECT_EQ(report.days(0).offered(), 5u);
  EXPECT_EQ(report.days(1).day(), "2026-11-21");
  EXPECT_EQ(report.days(1).offered(), 9u);

  r.set_to_day("2026-11-19");
  grpc::ClientContext bad;
  Authorize(&bad, kAdminToken);
  st = admin_->Report(&bad, r, &report);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("to_day"), std::string::npos) << st.error_message();
}

TEST_F(GatewayTest, EstimatedWaitAndQueueStatsFromLiveStats) {
  auto producer = kafka::Producer::Create(kafka_.bootstrap(), {}, nullptr);
  ASSERT_TRUE(producer.ok());
  const int32_t partition = kafka::PartitionFor("d00", kPartitions);
  const int64_t now_ms = SystemClock().NowMs();
  auto publish = [&](int64_t epoch, double ewt) {
    pb::ShardLive live;
    live.set_shard(partition);
    live.set_node_id("n1");
    live.set_epoch(epoch);
    live.set_at_ms(now_ms + epoch);  // fresh: the gateway leaves out shards silent for 10 s
    auto* q = live.add_queues();
    q->set_queue("d00.general");
    q->set_domain("d00");
    q->set_waiting(3);
    q->set_estimated_wait_s(ewt);
    live.add_domains()->set_domain("d00");
    ASSERT_TRUE((*producer)
                    ->Produce(kafka::kStatsTopic, partition, "live/" + std::to_string(partition),
                              live.SerializeAsString(), {}, 0)
                    .ok());
    ASSERT_TRUE((*producer)->Flush(10000).ok());
  };
  publish(2, 42.5);
  publish(1, 7);            // a zombie owner's late snapshot: ignored
  StartGateway(Options());  // reads sb.stats from its start
  pb::QueueStatsResponse stats;
  for (int i = 0; i < 100; ++i) {
    grpc::ClientContext ctx;
    Authorize(&ctx, kAdminToken);
    pb::QueueStatsRequest r;
    r.add_queues("d00.general");
    stats.Clear();
    ASSERT_TRUE(admin_->QueueStats(&ctx, r, &stats).ok());
    if (stats.queues_size() > 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(stats.queues_size(), 1);
  EXPECT_EQ(stats.queues(0).estimated_wait_s(), 42.5);
  EXPECT_EQ(stats.queues(0).waiting(), 3u);
  EXPECT_EQ(stats.domains_size(), 1);
  EXPECT_EQ(stats.as_of_ms(), now_ms + 2);
  pb::SubmitContactResponse submitted;
  ASSERT_TRUE(Submit(kIntegratorToken, Contact("chat-5"), &submitted).ok());
  EXPECT_EQ(submitted.estimated_wait_s(), 42.5);
  // Supervisors may look; integrators may not.
  grpc::ClientContext as_integrator;
  Authorize(&as_integrator, kIntegratorToken);
  EXPECT_EQ(admin_->QueueStats(&as_integrator, pb::QueueStatsRequest(), &stats).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

// ListAgents: the shards' agent lists and the nodes' desktop sessions on sb.stats; a
// supervisor (here an admin) sees a desktop's agent with its state and the node serving it, filters
// apply.
TEST_F(GatewayTest, ListAgentsShowsLoggedInAgentsAndTheirNode) {
  StartNode();
  StartGateway(Options());
  grpc::ClientContext ctx;
  Authorize(&ctx, kAgentToken);
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  auto desk = agents_->Session(&ctx);
  pb::AgentRequest login = DeskLogin("a1", /*ready=*/false);
  ASSERT_TRUE(desk->Write(login));
  pb::AgentUpdate u;
  ASSERT_TRUE(desk->Read(&u));
  ASSERT_TRUE(u.has_logged_in());

  auto list = [&](const pb::ListAgentsRequest& r, pb::ListAgentsResponse* out,
                  const char* token = kAdminToken) {
    grpc::ClientContext c;
    Authorize(&c, token);
    out->Clear();
    return admin_->ListAgents(&c, r, out);
  };
  pb::ListAgentsResponse agents;
  // The shard lists its agents every 5 s, the gateway its sessions every 3 s.
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE(list(pb::ListAgentsRequest(), &agents).ok());
    if (agents.agents_size() == 1 && !agents.agents(0).node_id().empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(agents.agents_size(), 1);
  EXPECT_EQ(agents.agents(0).agent().id(), "a1");
  EXPECT_EQ(agents.agents(0).agent().domain(), "d00");
  ASSERT_EQ(agents.agents(0).agent().skills_size(), 1);
  EXPECT_EQ(agents.agents(0).state(), pb::AGENT_STATE_NOT_READY);
  EXPECT_EQ(agents.agents(0).node_id(), "n1");

  pb::ListAgentsRequest ready;
  ready.set_state(pb::AGENT_STATE_READY);
  ASSERT_TRUE(list(ready, &agents).ok());
  EXPECT_EQ(agents.agents_size(), 0);
  pb::ListAgentsRequest same_domain;
  same_domain.set_domain("d00");
  ASSERT_TRUE(list(same_domain, &agents).ok());
  EXPECT_EQ(agents.agents_size(), 1);
  pb::ListAgentsRequest unknown;
  unknown.set_domain("nowhere");
  grpc::Status st = list(unknown, &agents);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("domain"), std::string::npos) << st.error_message();
  EXPECT_EQ(list(pb::ListAgentsRequest(), &agents, kIntegratorToken).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ctx.TryCancel();
}

// FollowUpService.Create: a callback request lands on sb.contacts as a follow-up command in the
// partition of its queue's domain; without follow-ups on the router, FAILED_PRECONDITION.
TEST_F(GatewayTest, FollowUpCreatePublishesTheCommand) {
  GatewayOptions o = Options();
  o.followup_domain = [](const pb::FollowUpRequest& r) -> Result<std::string> {
    if (r.queue() == "elsewhere") return InvalidArgument("queue: not a queue of the config");
    return std::string("d00");
  };
  o.followup_visible_ms = 100;  // no router: the task never shows
  StartGateway(o);
  auto followups = pb::FollowUpService::NewStub(channel_);
  pb::CreateFollowUpRequest req;
  auto* f = req.mutable_request();
  f->set_request_id("cb-1001");
  f->set_kind(pb::FOLLOW_UP_KIND_CALLBACK);
  f->set_customer_id("cust-9");
  f->set_customer_phone("+8613800000000");
  f->set_customer_surname("Wang");
  pb::CreateFollowUpResponse resp;
  {
    grpc::ClientContext ctx;
    Authorize(&ctx, kAgentToken);
    grpc::Status st = followups->Create(&ctx, req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(resp.task_id(), "cb-1001");
  }
  int commands = 0;
  for (const auto& rec :
       kafka_.ReadPartition(kafka::kContactsTopic, kafka::PartitionFor("d00", kPartitions))) {
    pb::RoutingEvent ev;
    if (rec.value && ev.ParseFromString(*rec.value) && ev.follow_up().has_submit() &&
        ev.follow_up().submit().request_id() == "cb-1001") {
      ++commands;
    }
  }
  EXPECT_EQ(commands, 1);
  {
    grpc::ClientContext ctx;
    Authorize(&ctx, kAgentToken);
    f->clear_customer_surname();
    grpc::Status st = followups->Create(&ctx, req, &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(st.error_message().find("request.customer_surname"), std::string::npos);
  }
  {
    grpc::ClientContext ctx;
    Authorize(&ctx, kAgentToken);
    f->set_customer_surname("Wang");
    f->set_queue("d00.general");
    o = Options();  // a router without follow-ups
    auto off = Gateway::Start(o, config_);
    ASSERT_TRUE(off.ok());
    auto off_stub = pb::FollowUpService::NewStub(
        grpc::CreateChannel((*off)->address(), grpc::InsecureChannelCredentials()));
    EXPECT_EQ(off_stub->Create(&ctx, req, &resp).error_code(),
              grpc::StatusCode::FAILED_PRECONDITION);
  }
}

// The follow-up queues in d00 next to d00.general.
constexpr char kFollowUpConfig[] = R"(
skills: [{name: general}]
domains: [{name: d00}]
queues:
  - {name: d00.general, domain: d00, strategy: LONGEST_IDLE,
     required_skills: [{skill: general, min_proficiency: 1}], offer_timeout_s: 600}
  - {name: callbacks, domain: d00, strategy: LONGEST_IDLE,
     required_skills: [{skill: general, min_proficiency: 1}], offer_timeout_s: 600}
  - {name: complaints, domain: d00, strategy: LONGEST_IDLE,
     required_skills: [{skill: general, min_proficiency: 1}], offer_timeout_s: 600}
  - {name: return-visits, domain: d00, strategy: LONGEST_IDLE,
     required_skills: [{skill: general, min_proficiency: 1}], offer_timeout_s: 600}
  - {name: team-lead, domain: d00, strategy: LONGEST_IDLE,
     required_skills: [{skill: general, min_proficiency: 1}], offer_timeout_s: 600}
  - {name: management, domain: d00, strategy: LONGEST_IDLE,
     required_skills: [{skill: general, min_proficiency: 1}], offer_timeout_s: 600}
)";

// FollowUpService against a router node running follow-ups: Create → List by customer shows the
// task PENDING → Cancel → List shows it CANCELLED; RecordOutcome on the attempt out; the errors
// (unknown task, no filter, an ended task, an agent reporting for another agent, not the attempt
// out).
class FollowUpServiceTest : public GatewayTest {
 protected:
  void SetUp() override {
    GatewayTest::SetUp();
    auto config = config::ParseRoutingConfig(kFollowUpConfig);
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    config_ = *config;
    // Calls at any hour: the test runs on the wall clock.
    auto fu = followup::ParseConfig(R"({call_windows: [{start: "00:00", end: "24:00"}]})");
    ASSERT_TRUE(fu.ok()) << fu.status().ToString();
    auto settings = followup::Settings::Resolve(*fu);
    ASSERT_TRUE(settings.ok()) << settings.status().ToString();
    ASSERT_TRUE(shard::CheckFollowUpQueues(*settings, config_).ok());
    node_followups_ = *settings;
    StartNode();
    GatewayOptions o = Options();
    o.followup_domain = [this](const pb::FollowUpRequest& r) {
      return shard::FollowUpDomain(r, *node_followups_, config_);
    };
    o.followup_visible_ms = 20000;  // the node joins its group and claims its shards first
    StartGateway(o);
    followups_ = pb::FollowUpService::NewStub(channel_);
  }

  grpc::Status Create(const std::string& id, int64_t due_at_ms, const std::string& owner = "a1",
                      const std::string& token = kIntegratorToken) {
    pb::CreateFollowUpRequest req;
    auto* f = req.mutable_request();
    f->set_request_id(id);
    f->set_kind(pb::FOLLOW_UP_KIND_CALLBACK);
    f->set_customer_id("cust-9");
    f->set_customer_phone("+8613800000000");
    f->set_customer_surname("Wang");
    f->set_owner(owner);
    f->set_due_at_ms(due_at_ms);
    grpc::ClientContext ctx;
    Authorize(&ctx, token);
    pb::CreateFollowUpResponse resp;
    return followups_->Create(&ctx, req, &resp);
  }

  grpc::Status List(const pb::ListFollowUpsRequest& req, pb::ListFollowUpsResponse* resp,
                    const std::string& token = kIntegratorToken) {
    grpc::ClientContext ctx;
    Authorize(&ctx, token);
    return followups_->List(&ctx, req, resp);
  }

  // The task as List by customer shows it; a default task when it is not there.
  pb::FollowUpTask Listed(const std::string& id) {
    pb::ListFollowUpsRequest req;
    req.set_customer_id("cust-9");
    pb::ListFollowUpsResponse resp;
    grpc::Status st = List(req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    for (const auto& t : resp.tasks()) {
      if (t.id() == id) return t;
    }
    return {};
  }

  grpc::Status Cancel(const std::string& id, const std::string& token = kIntegratorToken) {
    pb::CancelFollowUpRequest req;
    req.set_task_id(id);
    req.set_reason("customer called in meanwhile");
    grpc::ClientContext ctx;
    Authorize(&ctx, token);
    pb::CancelFollowUpResponse resp;
    return followups_->Cancel(&ctx, req, &resp);
  }

  grpc::Status Outcome(const std::string& token, const std::string& id, uint32_t attempt,
                       const std::string& agent) {
    pb::RecordOutcomeRequest req;
    req.mutable_outcome()->set_task_id(id);
    req.mutable_outcome()->set_attempt(attempt);
    req.mutable_outcome()->set_outcome(pb::ATTEMPT_OUTCOME_ANSWERED);
    req.mutable_outcome()->set_agent_id(agent);
    grpc::ClientContext ctx;
    Authorize(&ctx, token);
    pb::RecordOutcomeResponse resp;
    return followups_->RecordOutcome(&ctx, req, &resp);
  }

  std::unique_ptr<pb::FollowUpService::Stub> followups_;
};

TEST_F(FollowUpServiceTest, CreateListCancelList) {
  // Due in an hour: it stays PENDING.
  ASSERT_TRUE(Create("cb-2001", SystemClock().NowMs() + 3600 * 1000).ok());
  pb::FollowUpTask t = Listed("cb-2001");  // read-your-writes: Create waited for it
  EXPECT_EQ(t.state(), pb::FOLLOW_UP_STATE_PENDING);
  EXPECT_EQ(t.request().owner(), "a1");
  {
    pb::ListFollowUpsRequest by_owner;
    by_owner.set_owner("a1");
    by_owner.set_state(pb::FOLLOW_UP_STATE_PENDING);
    pb::ListFollowUpsResponse resp;
    ASSERT_TRUE(List(by_owner, &resp).ok());
    ASSERT_EQ(resp.tasks_size(), 1);
    EXPECT_TRUE(resp.next_page_token().empty());
  }

  grpc::Status st = Cancel("cb-2001");
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(Listed("cb-2001").state(), pb::FOLLOW_UP_STATE_CANCELLED);
  {
    pb::ListFollowUpsRequest cancelled;
    cancelled.set_state(pb::FOLLOW_UP_STATE_CANCELLED);
    pb::ListFollowUpsResponse resp;
    ASSERT_TRUE(List(cancelled, &resp).ok());
    ASSERT_EQ(resp.tasks_size(), 1);
    EXPECT_EQ(resp.tasks(0).id(), "cb-2001");
  }
  // Ended: a second cancel says so.
  st = Cancel("cb-2001");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(st.error_message().find("CANCELLED"), std::string::npos) << st.error_message();
  // Unknown task; no filter.
  st = Cancel("cb-nope");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(st.error_message().find("cb-nope"), std::string::npos) << st.error_message();
  pb::ListFollowUpsResponse resp;
  st = List(pb::ListFollowUpsRequest(), &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("customer_id"), std::string::npos) << st.error_message();
}

// Follow-ups carry customers' phone numbers and surnames: an agent's token lists, cancels and
// reports only the tasks its agent owns.
TEST_F(FollowUpServiceTest, AnAgentReachesOnlyItsOwnFollowUps) {
  const int64_t in_an_hour = SystemClock().NowMs() + 3600 * 1000;
  ASSERT_TRUE(Create("cb-4001", in_an_hour, "a1").ok());
  ASSERT_TRUE(Create("cb-4002", in_an_hour, "a2").ok());
  ASSERT_EQ(Listed("cb-4002").state(), pb::FOLLOW_UP_STATE_PENDING);  // visible on this node
  pb::ListFollowUpsRequest pending;
  pending.set_state(pb::FOLLOW_UP_STATE_PENDING);
  pb::ListFollowUpsResponse resp;
  grpc::Status st = List(pending, &resp, kAgentToken);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(resp.tasks_size(), 1);
  EXPECT_EQ(resp.tasks(0).id(), "cb-4001");
  pb::ListFollowUpsRequest others = pending;
  others.set_owner("a2");
  st = List(others, &resp, kAgentToken);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED) << st.error_message();
  st = Cancel("cb-4002", kAgentToken);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED) << st.error_message();
  EXPECT_EQ(st.error_message().find("Wang"), std::string::npos) << st.error_message();
  EXPECT_EQ(Listed("cb-4002").state(), pb::FOLLOW_UP_STATE_PENDING);
  st = Cancel("cb-4001", kAgentToken);
  EXPECT_TRUE(st.ok()) << st.error_message();
  // The integrator still reaches both.
  ASSERT_TRUE(List(pending, &resp).ok());
  ASSERT_EQ(resp.tasks_size(), 1);
  EXPECT_EQ(resp.tasks(0).id(), "cb-4002");
}

// A request id is the caller's idempotency key: another integrator cannot take it over (its
// Create is refused, not merged into the first caller's task), list the first caller's tasks
// (phone numbers) or cancel them.
TEST_F(FollowUpServiceTest, AnIntegratorReachesOnlyTheFollowUpsItSubmitted) {
  const int64_t in_an_hour = SystemClock().NowMs() + 3600 * 1000;
  ASSERT_TRUE(Create("crm-5001", in_an_hour).ok());
  ASSERT_EQ(Listed("crm-5001").state(), pb::FOLLOW_UP_STATE_PENDING);
  EXPECT_TRUE(Create("crm-5001", in_an_hour).ok());  // the same caller again: idempotent
  grpc::Status st = Create("crm-5001", in_an_hour, "a1", kOtherIntegratorToken);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::ALREADY_EXISTS) << st.error_message();
  EXPECT_NE(st.error_message().find("request.request_id"), std::string::npos);
  pb::ListFollowUpsRequest by_customer;
  by_customer.set_customer_id("cust-9");
  pb::ListFollowUpsResponse resp;
  ASSERT_TRUE(List(by_customer, &resp, kOtherIntegratorToken).ok());
  EXPECT_EQ(resp.tasks_size(), 0);
  st = Cancel("crm-5001", kOtherIntegratorToken);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED) << st.error_message();
  EXPECT_EQ(Listed("crm-5001").request().submitted_by(),
            "integrator/" + Sha256Hex(kIntegratorToken).substr(0, 12));
  EXPECT_TRUE(Cancel("crm-5001").ok());
}

// A supervisor token with domains reaches the follow-ups (phones, surnames) of its domains' queues
// only: another domain's tasks are not listed, not cancellable, and it cannot create any there;
// nor submit contacts to those queues.
TEST_F(FollowUpServiceTest, ASupervisorReachesOnlyItsDomainsFollowUps) {
  const int64_t in_an_hour = SystemClock().NowMs() + 3600 * 1000;
  ASSERT_TRUE(Create("cb-6001", in_an_hour).ok());
  ASSERT_EQ(Listed("cb-6001").state(), pb::FOLLOW_UP_STATE_PENDING);
  pb::ListFollowUpsRequest pending;
  pending.set_state(pb::FOLLOW_UP_STATE_PENDING);
  pb::ListFollowUpsResponse resp;
  ASSERT_TRUE(List(pending, &resp, kSupervisorToken).ok());
  ASSERT_EQ(resp.tasks_size(), 1);
  EXPECT_EQ(resp.tasks(0).id(), "cb-6001");
  grpc::Status st = List(pending, &resp, kFarSupervisorToken);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.tasks_size(), 0);
  st = Cancel("cb-6001", kFarSupervisorToken);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED) << st.error_message();
  EXPECT_NE(st.error_message().find("\"d00\""), std::string::npos) << st.error_message();
  st = Create("cb-6002", in_an_hour, "a1", kFarSupervisorToken);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED) << st.error_message();
  EXPECT_NE(st.error_message().find("request.queue"), std::string::npos) << st.error_message();
  pb::SubmitContactResponse submitted;
  st = Submit(kFarSupervisorToken, Contact("sup-1"), &submitted);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED) << st.error_message();
  EXPECT_TRUE(Cancel("cb-6001", kSupervisorToken).ok());
}

TEST_F(FollowUpServiceTest, RecordOutcomeOnTheAttemptOut) {
  ASSERT_TRUE(Create("cb-3001", 0).ok());  // due now: the shard fires it on its next tick
  pb::FollowUpTask t;
  for (int i = 0; i < 200 && t.state() != pb::FOLLOW_UP_STATE_FIRING; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    t = Listed("cb-3001");
  }
  ASSERT_EQ(t.state(), pb::FOLLOW_UP_STATE_FIRING);
  ASSERT_EQ(t.attempts_size(), 1);

  // Agent a1 may not report for a2; attempt 2 is not out; an unknown task is not found.
  grpc::Status st = Outcome(kAgentToken, "cb-3001", 1, "a2");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED) << st.error_message();
  st = Outcome(kAgentToken, "cb-3001", 2, "a1");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << st.error_message();
  EXPECT_EQ(Outcome(kAgentToken, "cb-nope", 1, "a1").error_code(), grpc::StatusCode::NOT_FOUND);

  // The agent reports as itself (agent_id empty = the caller): answered, the promise is kept.
  st = Outcome(kAgentToken, "cb-3001", 1, "");
  ASSERT_TRUE(st.ok()) << st.error_message();
  t = Listed("cb-3001");
  ASSERT_EQ(t.attempts_size(), 1);
  EXPECT_EQ(t.attempts(0).outcome(), pb::ATTEMPT_OUTCOME_ANSWERED);
  EXPECT_EQ(t.attempts(0).agent_id(), "a1");
  EXPECT_EQ(t.state(), pb::FOLLOW_UP_STATE_DONE);
  // A repeat is fine; another outcome for it is not.
  EXPECT_TRUE(Outcome(kAgentToken, "cb-3001", 1, "a1").ok());
  pb::RecordOutcomeRequest busy;
  busy.mutable_outcome()->set_task_id("cb-3001");
  busy.mutable_outcome()->set_attempt(1);
  busy.mutable_outcome()->set_outcome(pb::ATTEMPT_OUTCOME_BUSY);
  grpc::ClientContext ctx;
  Authorize(&ctx, kAdminToken);
  pb::RecordOutcomeResponse resp;
  EXPECT_EQ(followups_->RecordOutcome(&ctx, busy, &resp).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

// A desktop that drops on one node and comes back on another within the grace period: its login
// there moves the agent to the new session (DECISION_AGENT_STATE, REASON_SESSION_MOVED), and the
// first node's logout when its grace runs out is of the older session: dropped by that node or
// refused by the engine. The agent stays logged in and ready; offers reach the new desktop.
TEST_F(GatewayTest, DesktopMovingToAnotherNodeStaysLoggedIn) {
  StartNode();
  GatewayOptions o = Options();
  o.agent_grace_ms = 2000;
  StartGateway(o);
  auto second = Gateway::Start(Options(), config_);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  auto second_agents = pb::AgentService::NewStub(
      grpc::CreateChannel((*second)->address(), grpc::InsecureChannelCredentials()));
  pb::AgentRequest login = DeskLogin("a1", /*ready=*/true);
  pb::AgentUpdate u;
  std::string first_session;
  {
    grpc::ClientContext ctx;
    Authorize(&ctx, kAgentToken);
    auto desk = agents_->Session(&ctx);
    ASSERT_TRUE(desk->Write(login));
    ASSERT_TRUE(desk->Read(&u));
    ASSERT_TRUE(u.has_logged_in());
    first_session = u.logged_in().session();
    ctx.TryCancel();
    desk->Finish();  // CANCELLED by us
  }
  grpc::ClientContext ctx;
  Authorize(&ctx, kAgentToken);
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  auto desk = second_agents->Session(&ctx);
  ASSERT_TRUE(desk->Write(login));
  ASSERT_TRUE(desk->Read(&u));
  ASSERT_TRUE(u.has_logged_in());
  const std::string session = u.logged_in().session();
  EXPECT_FALSE(session.empty());
  EXPECT_NE(session, first_session);
  ASSERT_TRUE(ReadUntil(desk, &u, [](const pb::AgentUpdate& x) {
    return x.has_decision() && x.decision().reason() == pb::REASON_SESSION_MOVED;
  }));
  EXPECT_EQ(u.decision().session(), session);
  // Past the first node's grace period: its logout must not have logged the agent out.
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  pb::SubmitContactResponse submitted;
  ASSERT_TRUE(Submit(kIntegratorToken, Contact("sip-call-77"), &submitted).ok());
  std::vector<std::string> refused;
  ASSERT_TRUE(ReadUntil(desk, &u, [&](const pb::AgentUpdate& x) {
    if (x.has_refused()) refused.push_back(x.refused().message());
    return x.has_offer();
  }));
  EXPECT_EQ(u.offer().contact_id(), submitted.contact_id());
  EXPECT_TRUE(refused.empty()) << "the older session's refused logout is not this desktop's: "
                               << refused[0];
  ctx.TryCancel();
  desk->Finish();  // CANCELLED by us
}

// An agent logging in through another node while its desktop is still connected here: the older
// session ends with a last refused update (ABORTED) naming the new one; the new one gets offers.
TEST_F(GatewayTest, ALoginElsewhereEndsTheOlderDesktopSession) {
  StartNode();
  StartGateway(Options());
  auto second = Gateway::Start(Options(), config_);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  auto second_agents = pb::AgentService::NewStub(
      grpc::CreateChannel((*second)->address(), grpc::InsecureChannelCredentials()));
  pb::AgentRequest login = DeskLogin("a1", /*ready=*/true);
  pb::AgentUpdate u;
  grpc::ClientContext old_ctx;
  Authorize(&old_ctx, kAgentToken);
  old_ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  auto old_desk = agents_->Session(&old_ctx);
  ASSERT_TRUE(old_desk->Write(login));
  ASSERT_TRUE(old_desk->Read(&u));
  ASSERT_TRUE(u.has_logged_in());

  grpc::ClientContext ctx;
  Authorize(&ctx, kAgentToken);
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  auto desk = second_agents->Session(&ctx);
  ASSERT_TRUE(desk->Write(login));
  ASSERT_TRUE(desk->Read(&u));
  ASSERT_TRUE(u.has_logged_in());
  const std::string session = u.logged_in().session();

  ASSERT_TRUE(ReadUntil(old_desk, &u, [](const pb::AgentUpdate& x) { return x.has_refused(); }));
  EXPECT_EQ(u.refused().code(), "ABORTED");
  EXPECT_NE(u.refused().message().find(session), std::string::npos) << u.refused().message();
  EXPECT_FALSE(old_desk->Read(&u)) << "the older session's stream ends";
  old_desk->Finish();  // ended by the gateway

  pb::SubmitContactResponse submitted;
  ASSERT_TRUE(Submit(kIntegratorToken, Contact("sip-call-78"), &submitted).ok());
  ASSERT_TRUE(ReadUntil(desk, &u, [](const pb::AgentUpdate& x) { return x.has_offer(); }));
  EXPECT_EQ(u.offer().contact_id(), submitted.contact_id());
  ctx.TryCancel();
  desk->Finish();  // CANCELLED by us
}

// A desktop stream that never sends its login is ended by the gateway (after login_wait_ms), not
// left holding a server thread until the client gives up.
TEST_F(GatewayTest, ADesktopStreamWithoutALoginIsEnded) {
  GatewayOptions o = Options();
  o.login_wait_ms = 300;
  StartGateway(o);
  grpc::ClientContext ctx;
  Authorize(&ctx, kAgentToken);
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  const auto started = std::chrono::steady_clock::now();
  auto desk = agents_->Session(&ctx);
  pb::AgentUpdate u;
  EXPECT_FALSE(desk->Read(&u));
  EXPECT_FALSE(desk->Finish().ok());
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(30))
      << "ended by the client's deadline, not by the gateway";
}

// --no-auth makes every caller an admin: refused on any address but loopback, before anything
// listens or connects.
TEST_F(GatewayTest, NoAuthOnlyOnALoopbackBind) {
  GatewayOptions o = Options();
  o.tokens_file.clear();
  o.no_auth = true;
  o.bind_host = "0.0.0.0";
  auto gw = Gateway::Start(o, config_);
  ASSERT_FALSE(gw.ok());
  EXPECT_NE(gw.status().message().find("--no-auth"), std::string::npos) << gw.status().ToString();
  EXPECT_NE(gw.status().message().find("0.0.0.0"), std::string::npos) << gw.status().ToString();
  o.bind_host = "127.0.0.1";
  gw = Gateway::Start(o, config_);
  EXPECT_TRUE(gw.ok()) << gw.status().ToString();
}

// kTwoDomainConfig: d00 on partition 1, d01 on partition 0; agent a1's home: partition 1.

// One agent, one capacity across the cluster: the same agent logging in under d00 through one
// node and under d01 through another at the same moment (no agent list can have told either
// gateway yet) is held by one shard only; the other login is refused, naming where the agent is.
TEST_F(GatewayTest, TheSameAgentLoggingInUnderTwoDomainsAtOnceGetsOneCapacity) {
  ASSERT_NE(kafka::PartitionFor("d00", kPartitions), kafka::PartitionFor("d01", kPartitions));
  auto config = config::ParseRoutingConfig(kTwoDomainConfig);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  config_ = *config;
  StartNode();
  StartGateway(Options());
  auto second = Gateway::Start(Options(), config_);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  auto second_agents = pb::AgentService::NewStub(
      grpc::CreateChannel((*second)->address(), grpc::InsecureChannelCredentials()));
  const std::string domains[] = {"d00", "d01"};
  grpc::ClientContext ctx[2];
  std::unique_ptr<grpc::ClientReaderWriter<pb::AgentRequest, pb::AgentUpdate>> desks[2];
  for (int i = 0; i < 2; ++i) {
    Authorize(&ctx[i], kAgentToken);
    ctx[i].set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    desks[i] = (i == 0 ? agents_ : second_agents)->Session(&ctx[i]);
  }
  for (int i = 0; i < 2; ++i) {  // both logins before either is read
    pb::AgentRequest login = DeskLogin("a1", /*ready=*/true);
    login.mutable_login()->mutable_agent()->set_domain(domains[i]);
    ASSERT_TRUE(desks[i]->Write(login));
  }
  for (const std::string& domain : domains) {
    pb::SubmitContactRequest r = Contact("call-for-" + domain);
    r.mutable_contact()->set_queue(domain + ".general");
    pb::SubmitContactResponse submitted;
    ASSERT_TRUE(Submit(kIntegratorToken, r, &submitted).ok());
  }
  // Each desk either gets an offer (it holds the agent) or ends refused.
  int offered = 0;
  int refused = 0;
  for (int i = 0; i < 2; ++i) {
    pb::AgentUpdate u;
    const bool got = ReadUntil(
        desks[i], &u, [](const pb::AgentUpdate& x) { return x.has_offer() || x.has_refused(); });
    std::string why;
    if (got && u.has_offer()) {
      ++offered;
      ctx[i].TryCancel();
      desks[i]->Finish();  // CANCELLED by us
      continue;
    }
    if (got) {
      why = u.refused().code() + ": " + u.refused().message();
      EXPECT_FALSE(desks[i]->Read(&u)) << "a refused login's stream ends";
      desks[i]->Finish();  // ended by the gateway
    } else {  // refused before the login was published (the gateway saw the agent listed)
      grpc::Status st = desks[i]->Finish();
      why = std::to_string(st.error_code()) + ": " + st.error_message();
    }
    ++refused;
    const std::string other = domains[1 - i];
    EXPECT_NE(why.find("logged in under routing domain \"" + other + "\""), std::string::npos)
        << why;
  }
  EXPECT_EQ(offered, 1);
  EXPECT_EQ(refused, 1);
}

// TLS: a self-signed certificate made with the openssl CLI; a plaintext client cannot talk to
// it, a client trusting the certificate can.
TEST_F(GatewayTest, TlsServesOnlyTlsClients) {
  const std::string key = (dir_.path() / "server.key").string();
  const std::string cert = (dir_.path() / "server.crt").string();
  const std::string cmd =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
      "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout " +
      key + " -out " + cert + " >/dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0) GTEST_SKIP() << "openssl CLI not available";
  GatewayOptions o = Options();
  o.tls_cert = cert;
  o.tls_key = key;
  StartGateway(o);
  pb::GetConfigResponse config;
  {
    grpc::ClientContext ctx;
    Authorize(&ctx, kAdminToken);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
    EXPECT_FALSE(admin_->GetConfig(&ctx, pb::GetConfigRequest(), &config).ok());
  }
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ReadAll(cert);
  auto secure = pb::AdminService::NewStub(grpc::CreateCustomChannel(
      "127.0.0.1:" + std::to_string(gateway_->port()), grpc::SslCredentials(ssl), TlsArgs()));
  grpc::ClientContext ctx;
  Authorize(&ctx, kAdminToken);
  grpc::Status st = secure->GetConfig(&ctx, pb::GetConfigRequest(), &config);
  EXPECT_TRUE(st.ok()) << st.error_message();
}

// mTLS: with a client CA, only clients holding a certificate that CA signed get through.
TEST_F(GatewayTest, MutualTlsRequiresAClientCertificate) {
  const std::string d = dir_.path().string() + "/";
  WriteAll(d + "san.ext", "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  const std::string quiet = " >/dev/null 2>&1";
  const std::string cmds[] = {
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=sb-test-ca -keyout " + d +
          "ca.key -out " + d + "ca.crt",
      "openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout " + d + "server.key -out " +
          d + "server.csr",
      "openssl x509 -req -in " + d + "server.csr -CA " + d + "ca.crt -CAkey " + d +
          "ca.key -CAcreateserial -days 1 -extfile " + d + "san.ext -out " + d + "server.crt",
      "openssl req -newkey rsa:2048 -nodes -subj /CN=desk-1 -keyout " + d + "client.key -out " + d +
          "client.csr",
      "openssl x509 -req -in " + d + "client.csr -CA " + d + "ca.crt -CAkey " + d +
          "ca.key -CAcreateserial -days 1 -out " + d + "client.crt",
  };
  for (const std::string& cmd : cmds) {
    if (std::system((cmd + quiet).c_str()) != 0) GTEST_SKIP() << "openssl failed: " << cmd;
  }
  GatewayOptions o = Options();
  o.tls_cert = d + "server.crt";
  o.tls_key = d + "server.key";
  o.tls_client_ca = d + "ca.crt";
  StartGateway(o);
  const std::string target = "127.0.0.1:" + std::to_string(gateway_->port());
  auto call = [&](const grpc::SslCredentialsOptions& ssl) {
    auto stub = pb::AdminService::NewStub(
        grpc::CreateCustomChannel(target, grpc::SslCredentials(ssl), TlsArgs()));
    grpc::ClientContext ctx;
    Authorize(&ctx, kAdminToken);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    pb::GetConfigResponse config;
    return stub->GetConfig(&ctx, pb::GetConfigRequest(), &config);
  };
  grpc::SslCredentialsOptions no_cert;
  no_cert.pem_root_certs = ReadAll(d + "ca.crt");
  EXPECT_FALSE(call(no_cert).ok());
  grpc::SslCredentialsOptions with_cert = no_cert;
  with_cert.pem_private_key = ReadAll(d + "client.key");
  with_cert.pem_cert_chain = ReadAll(d + "client.crt");
  grpc::Status st = call(with_cert);
  EXPECT_TRUE(st.ok()) << st.error_message();
}

TEST_F(GatewayTest, BadOptionsFailNamingTheFlag) {
  GatewayOptions o = Options();
  o.tokens_file = (dir_.path() / "missing.yaml").string();
  auto gw = Gateway::Start(o, config_);
  ASSERT_FALSE(gw.ok());
  EXPECT_NE(gw.status().message().find("--auth-tokens"), std::string::npos);
  o = Options();
  o.tls_cert = (dir_.path() / "tokens.yaml").string();
  gw = Gateway::Start(o, config_);
  ASSERT_FALSE(gw.ok());
  EXPECT_NE(gw.status().message().find("--tls-"), std::string::npos) << gw.status().message();
}

// --require-agent-profiles: a token file with an agent token that carries no profile (the agent
// would declare its own skills) is refused at start and on reload, naming the flag.
TEST_F(GatewayTest, RequiredAgentProfilesRefuseATokenFileWithoutThem) {
  GatewayOptions o = Options();
  o.require_agent_profiles = true;
  auto gw = Gateway::Start(o, config_);  // a1's token has no profile
  ASSERT_FALSE(gw.ok());
  EXPECT_NE(gw.status().message().find("--require-agent-profiles"), std::string::npos)
      << gw.status().message();
  const std::filesystem::path file = dir_.path() / "tokens.yaml";
  const std::string without = ReadAll(file);
  std::string with = without;
  const std::string a1 = "agent_id: a1}";
  ASSERT_NE(with.find(a1), std::string::npos);
  with.replace(with.find(a1), a1.size(),
               "agent_id: a1, profile: {skills: {general: 5}, capacity_units: 100}}");
  WriteAll(file, with);
  gw = Gateway::Start(o, config_);
  ASSERT_TRUE(gw.ok()) << gw.status().ToString();
  WriteAll(file, without);
  auto reloaded = (*gw)->ReloadTokens();
  ASSERT_FALSE(reloaded.ok());
  EXPECT_NE(reloaded.status().message().find("stay in force"), std::string::npos)
      << reloaded.status().message();
}

// The shards' outputs a gateway cannot read are kept in sb.dead-letter, counted, and skipped;
// an unreadable input record is left to the shard of its partition (which dead-letters it).
TEST_F(GatewayTest, OutputsTheGatewayCannotReadGoToTheDeadLetterTopic) {
  prometheus::Registry registry;
  GatewayOptions o = Options();
  o.metrics = &registry;
  StartGateway(std::move(o));
  auto producer = kafka::Producer::Create(kafka_.bootstrap(), {}, nullptr);
  ASSERT_TRUE(producer.ok());
  const std::string garbage("\xff\xff\xff not protobuf", 17);
  for (std::string_view topic :
       {kafka::kAssignmentsTopic, kafka::kFollowUpsTopic, kafka::kContactsTopic}) {
    ASSERT_TRUE((*producer)->Produce(topic, 1, "k", garbage, {}, 0).ok());
  }
  ASSERT_TRUE((*producer)->Flush(10000).ok());
  std::vector<pb::DeadLetter> letters;
  ASSERT_TRUE(testing::WaitUntil(std::chrono::seconds(20), [&] {
    letters.clear();
    for (const kafka::Record& r : kafka_.ReadPartition(kafka::kDeadLetterTopic, 1)) {
      EXPECT_TRUE(r.value && letters.emplace_back().ParseFromString(*r.value));
    }
    return letters.size() >= 2;
  }));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // no third one follows
  EXPECT_EQ(kafka_.ReadPartition(kafka::kDeadLetterTopic, 1).size(), 2u);
  std::map<std::string, std::string> reason_by_topic;
  for (const pb::DeadLetter& l : letters) {
    EXPECT_EQ(l.written_by(), "gateway n1");
    EXPECT_EQ(l.source_partition(), 1);
    EXPECT_EQ(l.key(), "k");
    EXPECT_EQ(l.value(), garbage);
    reason_by_topic[l.source_topic()] = l.reason();
  }
  EXPECT_EQ(reason_by_topic,
            (std::map<std::string, std::string>{
                {std::string(kafka::kAssignmentsTopic), "not a ShardOutput"},
                {std::string(kafka::kFollowUpsTopic), "not a follow-up task record"}}));
  double counted = -1;
  for (const prometheus::MetricFamily& f : registry.Collect()) {
    if (f.name == "sb_gateway_dead_letters_total") counted = f.metric.at(0).counter.value;
  }
  EXPECT_EQ(counted, 2);
}

// SIGHUP's reload: a token left out of the file stops working at once, for new calls and for the
// streams it opened (a desktop session, a Watch); a file with an error changes nothing.
TEST_F(GatewayTest, ReloadingTheTokenFileRevokesATokenAndEndsItsStreams) {
  StartNode();
  StartGateway(Options());
  grpc::ClientContext desk_ctx;
  Authorize(&desk_ctx, kAgentToken);
  desk_ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  auto desk = OpenDesk(agents_, &desk_ctx, "a1", /*ready=*/false);
  pb::SubmitContactResponse submitted;
  ASSERT_TRUE(Submit(kIntegratorToken, Contact("sip-revoke-1"), &submitted).ok());
  grpc::ClientContext watch_ctx;
  Authorize(&watch_ctx, kIntegratorToken);
  pb::WatchContactRequest w;
  w.set_contact_id(submitted.contact_id());
  auto watch = contacts_->Watch(&watch_ctx, w);
  pb::ContactUpdate update;
  ASSERT_TRUE(watch->Read(&update));
  EXPECT_EQ(update.status().state(), pb::CONTACT_STATE_WAITING);

  const std::filesystem::path file = dir_.path() / "tokens.yaml";
  const std::string before = ReadAll(file);
  WriteAll(file, "tokens: [{sha256: nothex, role: admin}]\n");
  auto broken = gateway_->ReloadTokens();
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.status().message().find("tokens[0].sha256"), std::string::npos)
      << broken.status().message();
  pb::SubmitContactResponse still;
  EXPECT_TRUE(Submit(kIntegratorToken, Contact("sip-revoke-2"), &still).ok())
      << "a failed reload changed the tokens in force";

  std::ostringstream kept;
  kept << "tokens:\n"
       << "  - {sha256: " << Sha256Hex(kOtherIntegratorToken) << ", role: integrator}\n"
       << "  - {sha256: " << Sha256Hex(kAdminToken) << ", role: admin}\n";
  WriteAll(file, kept.str());
  auto reloaded = gateway_->ReloadTokens();
  ASSERT_TRUE(reloaded.ok()) << reloaded.status().ToString();
  EXPECT_EQ(*reloaded, 2u);

  pb::AgentUpdate u;
  ASSERT_TRUE(ReadUntil(desk, &u, [](const pb::AgentUpdate& x) { return x.has_refused(); }));
  EXPECT_EQ(u.refused().code(), "UNAUTHENTICATED") << u.refused().message();
  EXPECT_FALSE(desk->Finish().ok());  // cancelled: the refusal above says why
  while (watch->Read(&update)) {
  }
  EXPECT_EQ(watch->Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
  grpc::Status refused = Submit(kIntegratorToken, Contact("sip-revoke-3"), &still);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAUTHENTICATED) << refused.error_message();
  EXPECT_TRUE(Submit(kOtherIntegratorToken, Contact("sip-revoke-4"), &still).ok());
  WriteAll(file, before);
}

// One token cannot hold a node's threads: desktop sessions per caller are capped (the first goes
// on working), and so is Report.
TEST_F(GatewayTest, ACallerGetsAtMostItsShareOfStreamsAndReports) {
  StartNode();
  GatewayOptions o = Options();
  o.limits.max_desk_sessions = 1;
  o.limits.report_burst = 1;
  o.limits.report_per_s = 0.01;
  StartGateway(o);
  grpc::ClientContext first_ctx;
  Authorize(&first_ctx, kAgentToken);
  auto first = OpenDesk(agents_, &first_ctx, "a1", /*ready=*/false);
  grpc::ClientContext second_ctx;
  Authorize(&second_ctx, kAgentToken);
  auto second = agents_->Session(&second_ctx);
  second->Write(DeskLogin("a1", false));
  pb::AgentUpdate u;
  EXPECT_FALSE(second->Read(&u));
  grpc::Status refused = second->Finish();
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << refused.error_message();
  EXPECT_NE(refused.error_message().find("desktop sessions"), std::string::npos);

  auto report = [&] {
    grpc::ClientContext c;
    Authorize(&c, kAdminToken);
    pb::ReportRequest r;
    r.set_from_day("2026-03-01");
    r.set_to_day("2026-03-01");
    pb::ReportResponse resp;
    return admin_->Report(&c, r, &resp);
  };
  grpc::Status once = report();
  EXPECT_TRUE(once.ok()) << once.error_message();
  grpc::Status twice = report();
  EXPECT_EQ(twice.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << twice.error_message();
  first_ctx.TryCancel();
}

// An agent does not grant itself skills: with a profile in the token file, a desktop login
// claiming more is refused before anything is published.
TEST_F(GatewayTest, ADesktopLoginClaimingSkillsBeyondItsProfileIsRefused) {
  std::ostringstream tokens;
  tokens << "tokens:\n"
         << "  - {sha256: " << Sha256Hex(kAgentToken) << ", role: agent, agent_id: a1,\n"
         << "     profile: {domains: [d00], skills: {general: 2}}}\n";
  WriteAll(dir_.path() / "tokens.yaml", tokens.str());
  StartGateway(Options());
  grpc::ClientContext ctx;
  Authorize(&ctx, kAgentToken);
  auto desk = agents_->Session(&ctx);
  desk->Write(DeskLogin("a1", true));  // general at proficiency 3
  pb::AgentUpdate u;
  EXPECT_FALSE(desk->Read(&u));
  grpc::Status refused = desk->Finish();
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::PERMISSION_DENIED) << refused.error_message();
  EXPECT_NE(refused.error_message().find("login.agent.skills[0]"), std::string::npos)
      << refused.error_message();
  for (const auto& rec :
       kafka_.ReadPartition(kafka::kAgentEventsTopic, kafka::PartitionFor("d00", kPartitions))) {
    ADD_FAILURE() << "a refused login was published: " << rec.key;
  }
}

}  // namespace
}  // namespace sb::gateway
