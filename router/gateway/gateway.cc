#include "router/gateway/gateway.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/resource_quota.h>
#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <cstdio>

#include "common/config/config.h"
#include "common/config/text.h"
#include "common/log/log.h"
#include "router/gateway/gateway_impl.h"
#include "router/gateway/services.h"
#include "router/kafka/dead_letter.h"
#include "router/kafka/epoch.h"
#include "router/kafka/topics.h"
#include "switchboard/v1/cluster.pb.h"
#include "switchboard/v1/events.pb.h"

namespace sb::gateway {
namespace {

// One per open call, desktop sessions included (each also has a reader thread of its own);
// beyond: RESOURCE_EXHAUSTED, never a crash.
constexpr int kMaxHandlerThreads = 4096;
constexpr int kShutdownGraceMs = 2000;
// How often the node's desktop sessions are published to sb.stats (StatsView judges them stale
// after 10 s).
constexpr int64_t kSessionsIntervalMs = 3000;

Result<std::string> ReadPem(const std::string& flag, const std::string& path) {
  std::string text;
  Status st = config::ReadConfigFile(path, &text);
  if (!st.ok()) return InvalidArgument(flag + ": " + st.message());
  if (text.find("-----BEGIN") == std::string::npos) {
    return InvalidArgument(flag + " " + path + ": not a PEM file");
  }
  return text;
}

}  // namespace

bool IsLoopbackHost(std::string_view host) {
  return host == "localhost" || host == "::1" || host == "[::1]" || host.starts_with("127.");
}

std::string Gateway::Impl::address() const {
  const std::string& h = options_.bind_host;
  return (h.find(':') != std::string::npos ? "[" + h + "]" : h) + ":" + std::to_string(port_);
}

Status Gateway::Impl::Init() {
  if (options_.no_auth == !options_.tokens_file.empty()) {
    return InvalidArgument("gateway: give a token file or no_auth (exactly one)");
  }
  if (options_.no_auth && !IsLoopbackHost(options_.bind_host)) {
    return InvalidArgument(
        "--no-auth makes every caller an admin: allowed only on a loopback "
        "bind (--grpc-bind 127.0.0.1 or ::1), not " +
        config::Quote(options_.bind_host));
  }
  if (!options_.no_auth && options_.tls_cert.empty() && !IsLoopbackHost(options_.bind_host)) {
    SB_LOG_WARN("gateway",
                "gateway %s: WARNING: tokens travel in cleartext on %s (no --tls-cert): anyone on "
                "the network path can read and reuse them\n",
                options_.node_id.c_str(), options_.bind_host.c_str());
  }
  std::optional<TokenTable> tokens;  // none: no authentication
  if (!options_.no_auth) {
    auto loaded = TokenTable::LoadFile(options_.tokens_file);
    if (!loaded.ok()) return InvalidArgument("--auth-tokens: " + loaded.status().message());
    SB_RETURN_IF_ERROR(CheckProfiles(*loaded));
    tokens = std::move(*loaded);
  }
  admission_.emplace(std::move(tokens), validator_);
  if (options_.tls_cert.empty() != options_.tls_key.empty()) {
    return InvalidArgument("--tls-cert and --tls-key go together");
  }
  if (!options_.tls_client_ca.empty() && options_.tls_cert.empty()) {
    return InvalidArgument("--tls-client-ca needs --tls-cert and --tls-key");
  }
  if (options_.metrics != nullptr) {
    dead_letters_ = &prometheus::BuildCounter()
                         .Name("sb_gateway_dead_letters_total")
                         .Help(
                             "Records of the shards' outputs (sb.assignments, sb.followups) "
                             "this gateway could not read, published to sb.dead-letter")
                         .Register(*options_.metrics)
                         .Add({});
  }
  started_at_ms_ = clock_.NowMs();
  SB_RETURN_IF_ERROR(StartKafka());
  SB_RETURN_IF_ERROR(StartServer());
  io_ = std::thread([this] { IoLoop(); });
  return Status::Ok();
}

Status Gateway::Impl::CheckProfiles(const TokenTable& tokens) const {
  const size_t n = tokens.agents_without_profile();
  if (n > 0 && options_.require_agent_profiles) {
    return InvalidArgument(
        "--auth-tokens: " + std::to_string(n) +
        " agent tokens have no profile, and --require-agent-profiles makes one "
        "required (its domains, skills and capacity; see router/gateway/auth.h)");
  }
  if (n > 0) {
    SB_LOG_WARN("gateway",
                "gateway %s: %zu agent tokens have no profile: those agents log in with the "
                "skills, domain and capacity they declare themselves (give each a `profile` in "
                "the token file, or start with --require-agent-profiles)\n",
                options_.node_id.c_str(), n);
  }
  return Status::Ok();
}

Result<size_t> Gateway::Impl::ReloadTokens() {
  if (options_.no_auth) return FailedPrecondition("--no-auth: there is no token file to reload");
  auto loaded = TokenTable::LoadFile(options_.tokens_file);
  if (!loaded.ok()) {
    return InvalidArgument("--auth-tokens: " + loaded.status().message() +
                           " (the tokens loaded before stay in force)");
  }
  const size_t n = loaded->size();
  if (Status st = CheckProfiles(*loaded); !st.ok()) {
    return InvalidArgument(st.message() + " (the tokens loaded before stay in force)");
  }
  SB_RETURN_IF_ERROR(admission_->ReplaceTokens(std::move(*loaded)));
  return n;
}

Status Gateway::Impl::StartKafka() {
  const std::vector<std::string> topics = {
      std::string(kafka::kContactsTopic), std::string(kafka::kAgentEventsTopic),
      std::string(kafka::kAssignmentsTopic), std::string(kafka::kStatsTopic),
      std::string(kafka::kFollowUpsTopic)};
  auto counts = kafka::TopicPartitions(options_.bootstrap, topics, options_.connect_timeout_ms,
                                       options_.kafka_settings);
  if (!counts.ok()) return counts.status();
  for (const std::string& t : topics) {
    if ((*counts)[t] <= 0) return Unavailable("gateway: topic " + t + " does not exist");
  }
  const int32_t partitions = (*counts)[topics[0]];
  publisher_.emplace(partitions, options_.ack_timeout_ms);
  kafka::Settings settings = options_.kafka_settings;
  settings.erase("session.timeout.ms");
  settings.erase("heartbeat.interval.ms");
  settings["linger.ms"] = "1";
  auto producer =
      kafka::Producer::Create(options_.bootstrap, settings,
                              [this](uint64_t token, int32_t, int64_t offset, const Status& st) {
                                auto it = in_flight_.find(token);
                                if (it == in_flight_.end()) return;
                                it->second->offset = offset;
                                it->second->done.set_value(st);
                                in_flight_.erase(it);
                              });
  if (!producer.ok()) return producer.status();
  producer_ = std::move(*producer);
  settings.erase("linger.ms");
  auto reader = kafka::PartitionReader::Create(options_.bootstrap, settings);
  if (!reader.ok()) return reader.status();
  reader_ = std::move(*reader);
  std::vector<kafka::TopicPartition> parts;
  for (int32_t p = 0; p < partitions; ++p) {
    for (std::string_view topic :
         {kafka::kContactsTopic, kafka::kAgentEventsTopic, kafka::kAssignmentsTopic}) {
      auto marks = reader_->Watermarks(topic, p, options_.connect_timeout_ms);
      if (!marks.ok()) return marks.status();
      parts.push_back({std::string(topic), p, marks->second});
    }
    parts.push_back({std::string(kafka::kStatsTopic), p, RD_KAFKA_OFFSET_BEGINNING});
    // The follow-up tasks' read model, whole: List answers UNAVAILABLE until it is read.
    auto marks = reader_->Watermarks(kafka::kFollowUpsTopic, p, options_.connect_timeout_ms);
    if (!marks.ok()) return marks.status();
    followups_.ExpectEnd(p, marks->first, marks->second);
    parts.push_back({std::string(kafka::kFollowUpsTopic), p, RD_KAFKA_OFFSET_BEGINNING});
  }
  SB_RETURN_IF_ERROR(reader_->Assign(parts));
  // The routing config in force is sb.control's when it has one (AdminService.ApplyConfig).
  auto control =
      control::ControlFollower::Open(options_.bootstrap, settings, "gateway " + options_.node_id);
  if (!control.ok()) return control.status();
  control_ = std::move(*control);
  SB_RETURN_IF_ERROR(control_->CatchUp(options_.connect_timeout_ms));
  config_version_ = control::ConfigVersionOf(validator_.config());
  FollowControl();
  return Status::Ok();
}

void Gateway::Impl::FollowControl() {
  const control::ControlState& state = control_->state();
  const auto& current = state.current();
  if (current && current->version() != config_version_) {
    if (auto config = state.Find(current->version())) {
      validator_.Set(*config);
      SB_LOG_INFO("gateway", "gateway %s: routing config version %s (sb.control, was %s)\n",
                  options_.node_id.c_str(), current->version().c_str(), config_version_.c_str());
      config_version_ = current->version();
    }
  }
  if (desks_.draining() || server_ == nullptr) return;
  auto drain = state.drains().find(options_.node_id);
  if (drain != state.drains().end() && drain->second.requested_at_ms() > started_at_ms_) {
    BeginDrain(drain->second);
  }
}

void Gateway::Impl::BeginDrain(const pb::NodeDrain& request) {
  desks_.StartDraining();
  server_->GetHealthCheckService()->SetServingStatus(false);
  // The stream's own status cannot carry it (the session cancels the call to stop its reader):
  // the desktop gets a last update saying why, then the stream ends.
  pb::AgentUpdate bye;
  bye.mutable_refused()->set_code("UNAVAILABLE");
  bye.mutable_refused()->set_message("node draining, connect to another node");
  const size_t ended = desks_.CloseAll(bye);
  SB_LOG_WARN("gateway",
              "gateway %s: draining (requested at %lld ms by %s): health NOT_SERVING, %zu "
              "desktop sessions ended, new ones refused\n",
              options_.node_id.c_str(), static_cast<long long>(request.requested_at_ms()),
              config::Printable(request.requested_by()).c_str(), ended);
}

Status Gateway::Impl::StartServer() {
  std::shared_ptr<grpc::ServerCredentials> creds = grpc::InsecureServerCredentials();
  if (!options_.tls_cert.empty()) {
    auto cert = ReadPem("--tls-cert", options_.tls_cert);
    if (!cert.ok()) return cert.status();
    auto key = ReadPem("--tls-key", options_.tls_key);
    if (!key.ok()) return key.status();
    grpc::SslServerCredentialsOptions ssl(
        options_.tls_client_ca.empty()
            ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
            : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    if (!options_.tls_client_ca.empty()) {
      auto ca = ReadPem("--tls-client-ca", options_.tls_client_ca);
      if (!ca.ok()) return ca.status();
      ssl.pem_root_certs = *ca;
    }
    ssl.pem_key_cert_pairs.push_back({*key, *cert});
    creds = grpc::SslServerCredentials(ssl);
  }
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options_.bind_host + ":" + std::to_string(options_.port), creds, &port_);
  builder.SetMaxReceiveMessageSize(options_.max_message_bytes);
  grpc::ResourceQuota quota("sb-gateway");
  quota.SetMaxThreads(kMaxHandlerThreads);
  builder.SetResourceQuota(quota);
  const Admission& admission = *admission_;
  Publisher& publisher = *publisher_;
  services_.push_back(NewContactService({.admission = admission,
                                         .publisher = publisher,
                                         .config = validator_,
                                         .book = book_,
                                         .estimates = estimates_,
                                         .answers = answers_,
                                         .limits = limits_,
                                         .clock = clock_,
                                         .ack_timeout_ms = options_.ack_timeout_ms}));
  services_.push_back(NewAgentService({.admission = admission,
                                       .publisher = publisher,
                                       .desks = desks_,
                                       .book = book_,
                                       .agents = estimates_,
                                       .limits = limits_,
                                       .clock = clock_,
                                       .node_id = options_.node_id,
                                       .login_wait_ms = options_.login_wait_ms}));
  services_.push_back(NewFollowUpService({.admission = admission,
                                          .publisher = publisher,
                                          .index = followups_,
                                          .config = validator_,
                                          .clock = clock_,
                                          .domain_of = options_.followup_domain,
                                          .visible_ms = options_.followup_visible_ms,
                                          .unknown_wait_ms = options_.followup_unknown_wait_ms}));
  services_.push_back(NewAdminService({.admission = admission,
                                       .publisher = publisher,
                                       .config = validator_,
                                       .estimates = estimates_,
                                       .limits = limits_,
                                       .clock = clock_,
                                       .node_id = options_.node_id,
                                       .bootstrap = options_.bootstrap,
                                       .kafka_settings = options_.kafka_settings,
                                       .connect_timeout_ms = options_.connect_timeout_ms}));
  for (auto& s : services_) builder.RegisterService(s.get());
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || port_ == 0) {
    return Unavailable("gateway: cannot listen on " + options_.bind_host + ":" +
                       std::to_string(options_.port));
  }
  return Status::Ok();
}

void Gateway::Impl::IoLoop() {
  int64_t last_prune = MonotonicMs();
  int64_t last_sessions = 0;
  while (!stop_io_) {
    for (auto& out : publisher_->Take()) {
      const uint64_t token = next_token_++;
      Status st = producer_->Produce(out->topic, out->partition, out->key, out->value, {}, token);
      if (st.ok()) {
        in_flight_[token] = std::move(out);
      } else {
        out->done.set_value(st);
      }
    }
    producer_->Poll(0);
    auto rec = reader_->Poll(in_flight_.empty() ? 5 : 1);
    if (!rec.ok()) {
      if (read_errors_++ % 100 == 0) {
        SB_LOG_ERROR("gateway", "gateway %s: kafka read: %s\n", options_.node_id.c_str(),
                     rec.status().ToString().c_str());
      }
    } else if (rec->has_value()) {
      Apply(**rec);
    }
    PublishDueLogouts();
    if (MonotonicMs() - last_sessions >= kSessionsIntervalMs) {
      last_sessions = MonotonicMs();
      PublishSessions();
    }
    if (control_->Poll(0) > 0) FollowControl();
    if (MonotonicMs() - last_prune >= 1000) {
      last_prune = MonotonicMs();
      book_.Prune(clock_.NowMs());
      followups_.Prune(clock_.NowMs());
    }
  }
  // Stopping: what was handed over gets its chance to be acknowledged; the rest fails.
  Status flushed = producer_->Flush(kShutdownGraceMs);
  flushed.IgnoreError();  // each record's own outcome is reported through its delivery callback
  producer_->Poll(0);
  for (auto& [token, out] : in_flight_) out->done.set_value(Unavailable("this node is stopping"));
  in_flight_.clear();
  // Publisher::Stop() came first: nothing is handed over after these.
  for (auto& out : publisher_->Take()) out->done.set_value(Unavailable("this node is stopping"));
}

Status Gateway::Impl::ProduceUnwaited(std::string_view topic, int32_t partition,
                                      const std::string& key, const std::string& value) {
  const uint64_t token = next_token_++;
  Status st = producer_->Produce(topic, partition, key, value, {}, token);
  if (st.ok()) in_flight_[token] = std::make_shared<PendingRecord>();  // nobody waits for it
  return st;
}

// "sessions/<node>" in sb.stats: the agents whose desktops are connected here, for
// AdminService.ListAgents on every node. Best effort: a lost record is replaced 3 s later.
void Gateway::Impl::PublishSessions() {
  pb::NodeSessions rec;
  rec.set_node_id(options_.node_id);
  rec.set_at_ms(clock_.NowMs());
  for (std::string& agent : desks_.AgentIds()) rec.add_agent_ids(std::move(agent));
  // Best effort (see above): a failure is not reported.
  ProduceUnwaited(kafka::kStatsTopic, publisher_->PartitionOf(options_.node_id),
                  "sessions/" + options_.node_id, rec.SerializeAsString())
      .IgnoreError();
}

void Gateway::Impl::PublishDueLogouts() {
  // Each in its session: if the desktop came back through another node meanwhile, the engine
  // moved the agent to that session and refuses this logout.
  for (const Desks::DueLogout& due : desks_.TakeDueLogouts()) {
    const std::string& agent = due.agent_id;
    pb::RoutingEvent ev;
    ev.set_at_ms(clock_.NowMs());
    ev.mutable_agent_logout()->set_agent_id(agent);
    ev.mutable_agent_logout()->set_reason("desktop disconnected");
    ev.mutable_agent_logout()->set_session(due.session);
    Status st =
        ProduceUnwaited(kafka::kAgentEventsTopic, due.partition, agent, ev.SerializeAsString());
    if (!st.ok()) {
      SB_LOG_WARN("gateway", "gateway %s: logout of agent %s not published: %s\n",
                  options_.node_id.c_str(), config::Printable(agent).c_str(),
                  st.ToString().c_str());
      continue;
    }
    SB_LOG_WARN("gateway", "gateway %s: agent %s logged out: desktop gone for %d ms\n",
                options_.node_id.c_str(), config::Printable(agent).c_str(),
                options_.agent_grace_ms);
  }
}

void Gateway::Impl::Apply(const kafka::Record& rec) {
  if (rec.topic == kafka::kStatsTopic) {  // compacted: a tombstone removes a record
    std::optional<std::string_view> value;
    if (rec.value) value = *rec.value;
    estimates_.Apply(rec.key, value, {rec.partition, rec.offset});
    return;
  }
  if (rec.topic == kafka::kFollowUpsTopic) {
    if (followups_.Apply(rec.key, rec.value, kafka::RecordEpoch(rec), rec.partition, rec.offset) ==
        FollowUpIndex::Applied::kMalformed) {
      Unreadable(rec, "not a follow-up task record");
    }
    return;
  }
  if (!rec.value) return;
  if (rec.topic == kafka::kAssignmentsTopic) {
    pb::ShardOutput out;
    if (!out.ParseFromString(*rec.value)) {
      Unreadable(rec, "not a ShardOutput");
      return;
    }
    if (out.has_decision() &&
        (out.output_id().empty() || seen_outputs_.FirstTime(out.output_id()))) {
      ApplyDecision(out.decision(), out.shard());
    }
    return;
  }
  // Contact ends arrive on sb.contacts (channels) and sb.agent-events (desktops).
  if (rec.topic == kafka::kContactsTopic || rec.topic == kafka::kAgentEventsTopic) {
    pb::RoutingEvent ev;
    if (!ev.ParseFromString(*rec.value)) {
      Unreadable(rec, "not a RoutingEvent");
      return;
    }
    const int64_t at = ev.at_ms() != 0 ? ev.at_ms() : rec.timestamp_ms;
    switch (ev.event_case()) {
      case pb::RoutingEvent::kContactArrived:
        book_.OnArrived(ev.contact_arrived().contact(), at);
        break;
      case pb::RoutingEvent::kContactCancelled:
        book_.OnCancelled(ev.contact_cancelled().contact_id(), at);
        break;
      case pb::RoutingEvent::kContactAbandoned:
        book_.OnAbandoned(ev.contact_abandoned().contact_id(), at);
        break;
      case pb::RoutingEvent::kContactEnded:
        book_.OnEnded(ev.contact_ended().contact_id(), at);
        break;
      default:
        break;
    }
    return;
  }
}

void Gateway::Impl::Unreadable(const kafka::Record& rec, const std::string& what) {
  ++malformed_records_;
  if (malformed_records_ <= 20 || malformed_records_ % 1000 == 0) {
    SB_LOG_WARN("gateway", "gateway %s: %s@%d:%lld skipped (%llu so far): %s\n",
                options_.node_id.c_str(), rec.topic.c_str(), rec.partition,
                static_cast<long long>(rec.offset),
                static_cast<unsigned long long>(malformed_records_), what.c_str());
  }
  if (rec.topic == kafka::kContactsTopic || rec.topic == kafka::kAgentEventsTopic) return;
  if (dead_letters_ != nullptr) dead_letters_->Increment();
  const pb::DeadLetter letter =
      kafka::DeadLetterOf(rec, what, "gateway " + options_.node_id, clock_.NowMs());
  Status st = ProduceUnwaited(kafka::kDeadLetterTopic, rec.partition, kafka::DeadLetterKey(letter),
                              letter.SerializeAsString());
  if (!st.ok()) {
    SB_LOG_WARN("gateway", "gateway %s: dead letter of %s@%d:%lld not published: %s\n",
                options_.node_id.c_str(), rec.topic.c_str(), rec.partition,
                static_cast<long long>(rec.offset), st.ToString().c_str());
  }
}

// The book first: a handler woken by the answer finds the book at least as new as it.
void Gateway::Impl::ApplyDecision(const pb::Decision& d, int32_t shard) {
  book_.OnDecision(d);
  desks_.Deliver(d, shard);
  answers_.Offer(d);
}

void Gateway::Impl::Stop() {
  if (stopped_) return;
  stopped_ = true;
  if (publisher_) publisher_->Stop();  // no new record after this
  answers_.Stop();
  if (server_ != nullptr) {
    server_->Shutdown(std::chrono::system_clock::now() +
                      std::chrono::milliseconds(kShutdownGraceMs));
  }
  stop_io_ = true;
  if (io_.joinable()) io_.join();
}

Result<std::unique_ptr<Gateway>> Gateway::Start(GatewayOptions options, pb::RoutingConfig config) {
  auto impl = std::make_unique<Impl>(std::move(options), std::move(config));
  Status st = impl->Init();
  if (!st.ok()) return st;
  return std::unique_ptr<Gateway>(new Gateway(std::move(impl)));
}

Gateway::Gateway(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Gateway::~Gateway() { Stop(); }
int Gateway::port() const { return impl_->port(); }
std::string Gateway::address() const { return impl_->address(); }
void Gateway::Stop() { impl_->Stop(); }
Result<size_t> Gateway::ReloadTokens() { return impl_->ReloadTokens(); }
bool Gateway::KnowsToken(std::string_view token) const { return impl_->KnowsToken(token); }

}  // namespace sb::gateway
