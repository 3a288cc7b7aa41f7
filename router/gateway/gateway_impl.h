// Private to router/gateway (gateway.cc): Gateway::Impl owns the gateway's parts, the Kafka I/O
// thread and the gRPC server. The services (services.h) are each built from the parts they use.
#pragma once

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/service_type.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "router/control/control.h"
#include "router/gateway/admission.h"
#include "router/gateway/answers.h"
#include "router/gateway/contact_book.h"
#include "router/gateway/desks.h"
#include "router/gateway/followup_index.h"
#include "router/gateway/gateway.h"
#include "router/gateway/live_stats.h"
#include "router/gateway/live_validator.h"
#include "router/gateway/publisher.h"
#include "router/gateway/seen_outputs.h"
#include "router/kafka/client.h"

namespace prometheus {
class Counter;
}

namespace sb::gateway {

// Threads: Init() and Stop() from the owner's thread; the I/O thread runs IoLoop() and owns
// what is marked so below; gRPC threads run the services, which reach Impl only through the
// thread-safe parts they were given.
class Gateway::Impl {
 public:
  Impl(GatewayOptions options, pb::RoutingConfig config)
      : options_(std::move(options)),
        validator_(std::move(config)),
        book_(options_.book),
        desks_(options_.agent_grace_ms) {}
  ~Impl() { Stop(); }

  Status Init();
  void Stop();
  Result<size_t> ReloadTokens();
  // Agent tokens without a profile: refused with --require-agent-profiles, else warned about.
  [[nodiscard]] Status CheckProfiles(const TokenTable& tokens) const;
  bool KnowsToken(std::string_view token) const { return admission_->KnowsToken(token); }
  int port() const { return port_; }
  std::string address() const;

 private:
  Status StartKafka();
  Status StartServer();
  void IoLoop();
  void Apply(const kafka::Record& rec);
  void ApplyDecision(const pb::Decision& d, int32_t shard);
  // A record of the topics this node reads that it cannot process: counted, logged, skipped;
  // from the shards' outputs also published to sb.dead-letter (an input record of sb.contacts
  // or sb.agent-events is the dead letter of its partition's shard).
  void Unreadable(const kafka::Record& rec, const std::string& what);
  // sb.control's config/current changed or a drain for this node came.
  void FollowControl();
  // This node is to drain: health NOT_SERVING, new desktop sessions refused with UNAVAILABLE,
  // open ones ended after a last `refused` update (UNAVAILABLE "node draining, connect to another
  // node"): the desktops reconnect to another node and keep their agent's state.
  void BeginDrain(const pb::NodeDrain& request);
  void PublishDueLogouts();
  void PublishSessions();
  // I/O thread: a record nobody waits for (its delivery report is dropped).
  Status ProduceUnwaited(std::string_view topic, int32_t partition, const std::string& key,
                         const std::string& value);

  const GatewayOptions options_;
  SystemClock clock_;
  int64_t started_at_ms_ = 0;  // wall clock: drain requests before it are for an earlier run

  // The parts the services are built from (services.h); thread-safe each.
  LiveValidator validator_;
  ContactBook book_;
  LiveStats estimates_{&clock_};
  FollowUpIndex followups_;  // fed from sb.followups by the I/O thread
  Answers answers_;
  Desks desks_;
  CallerLimits limits_{options_.limits};
  SeenOutputs seen_outputs_;            // I/O thread: sb.assignments repeats are applied once
  std::optional<Admission> admission_;  // set by Init() once the token file is read
  std::optional<Publisher> publisher_;  // set by StartKafka() once the partitions are known

  // The server.
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::vector<std::unique_ptr<grpc::Service>> services_;
  std::thread io_;
  std::atomic<bool> stop_io_{false};
  bool stopped_ = false;

  // Owned by the I/O thread once it runs.
  std::unique_ptr<kafka::Producer> producer_;
  std::unique_ptr<kafka::PartitionReader> reader_;
  std::map<uint64_t, std::shared_ptr<PendingRecord>> in_flight_;
  uint64_t next_token_ = 1;
  uint64_t read_errors_ = 0;
  uint64_t malformed_records_ = 0;               // see Unreadable()
  prometheus::Counter* dead_letters_ = nullptr;  // sb_gateway_dead_letters_total, when metrics
  std::unique_ptr<control::ControlFollower> control_;
  std::string config_version_;  // of validator_, as the I/O thread last set it
};

}  // namespace sb::gateway
