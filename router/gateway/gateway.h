// The gRPC gateway of a router node: ContactService, AgentService, FollowUpService and
// AdminService (proto/switchboard/v1/services.proto), gRPC health checking and server reflection.
// It is a client of the cluster like any channel adapter: it publishes RoutingEvents to Kafka and
// follows the cluster's outputs; it never touches a shard's state.
//
// Threads: Start() spawns the gRPC server's threads and one I/O thread that owns the Kafka
// producer and reader. RPC handlers run on gRPC threads; they hand records to the I/O thread and
// wait for the broker's acknowledgement. Stop() (or the destructor) from the owner's thread.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/status.h"
#include "router/gateway/contact_book.h"
#include "router/gateway/limits.h"
#include "router/kafka/client.h"
#include "switchboard/v1/config.pb.h"

namespace prometheus {
class Registry;
}

namespace sb::gateway {

struct GatewayOptions {
  std::string bind_host = "127.0.0.1";
  int port = 0;  // 0 = a free port (see Gateway::port())
  std::string node_id;
  // Kafka: the cluster's bootstrap servers and extra librdkafka settings.
  std::string bootstrap;
  kafka::Settings kafka_settings;
  int connect_timeout_ms = 15000;
  // Authentication: a token file (router/gateway/auth.h), or no_auth = true for none at all.
  // REQUIRES: exactly one of the two.
  std::string tokens_file;
  bool no_auth = false;
  // Every agent token must carry a profile (what its logins may claim): a token file with one
  // that does not is refused at start and on reload. Off: such agents declare their own skills
  // (warned about).
  bool require_agent_profiles = false;
  // TLS: cert and key (PEM files) turn it on; a client CA makes client certificates required.
  std::string tls_cert;
  std::string tls_key;
  std::string tls_client_ca;
  int max_message_bytes = 1 << 20;
  // How long Submit/Cancel wait for the broker's acknowledgement before UNAVAILABLE.
  int ack_timeout_ms = 10000;
  // An agent whose desktop stream dropped is logged out after this (unless it comes back).
  int agent_grace_ms = 10000;
  // A desktop stream that sends no login within this is ended (DEADLINE_EXCEEDED): an idle
  // connection does not hold a server thread.
  int login_wait_ms = 10000;
  ContactBookOptions book;
  // FollowUpService.Create: the routing domain a follow-up request goes to (the domain of its
  // queue), kInvalidArgument naming the field when it has none. Unset: follow-ups are off.
  std::function<Result<std::string>(const pb::FollowUpRequest&)> followup_domain;
  // FollowUpService read-your-writes: how long Create waits for its task to show in this node's
  // view of sb.followups (and Cancel/RecordOutcome for their effect, or for a task not known
  // yet) before answering anyway.
  int followup_visible_ms = 3000;
  // Cancel/RecordOutcome of a task this node does not know: how long to wait for it to show
  // (created moments ago through another node) before NOT_FOUND.
  int followup_unknown_wait_ms = 500;
  // Per caller (token): open desktop sessions and Watch streams, Report calls per second.
  CallerLimitsOptions limits;
  // Where the gateway's metrics (sb_gateway_*) are registered; unset: none.
  prometheus::Registry* metrics = nullptr;
};

// 127.0.0.0/8, ::1 or localhost: reachable from this machine only.
bool IsLoopbackHost(std::string_view host);

class Gateway {
 public:
  // Checks the options (token file, TLS files), connects to Kafka (the topics must exist), starts
  // following sb.contacts and sb.assignments from their current end and sb.stats from its start,
  // and sb.followups from its start (the follow-up tasks' read model), and serves. Fails naming the
  // option at fault; UNAVAILABLE when Kafka cannot be reached.
  [[nodiscard]] static Result<std::unique_ptr<Gateway>> Start(GatewayOptions options,
                                                              pb::RoutingConfig config);
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  // The port actually listened on.
  int port() const;
  // "<bind_host>:<port>" (IPv6 hosts in brackets).
  std::string address() const;
  // Stops serving (open streams are cancelled after a short grace) and the I/O thread. Idempotent.
  void Stop();
  // Reads the token file again (SIGHUP) with the checks of the start: calls from now on use it;
  // open desktop sessions and Watch streams whose token it no longer admits as the same caller
  // end (UNAUTHENTICATED). On an error the tables in force stay and the error names the problem;
  // FAILED_PRECONDITION under --no-auth. Returns the number of tokens now in force.
  [[nodiscard]] Result<size_t> ReloadTokens();
  // Whether `token` is one of the token file's in force (any role); false under --no-auth.
  bool KnowsToken(std::string_view token) const;

  class Impl;

 private:
  explicit Gateway(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sb::gateway
