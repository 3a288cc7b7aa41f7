// Private to router/gateway: who may call what. Every handler starts here.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "router/gateway/auth.h"
#include "router/gateway/live_validator.h"
#include "router/gateway/rpc.h"

namespace sb::gateway {

// Authentication (bearer tokens, the role table of auth.h) and request validation against the
// routing config in force. Thread-safe. The token table can be replaced while serving (SIGHUP:
// revocation without a restart); streams opened before check StillAdmitted() when
// tokens_generation() moved and end when their token no longer admits the same caller.
class Admission {
 public:
  // `tokens` unset: no authentication (--no-auth), every caller is an anonymous admin.
  // REQUIRES: `config` outlives this.
  Admission(std::optional<TokenTable> tokens, const LiveValidator& config);

  // Authenticates the call and checks the role table; `*who` is the caller when OK,
  // UNAUTHENTICATED or PERMISSION_DENIED otherwise.
  grpc::Status Gate(grpc::ServerContext* ctx, std::string_view method, Principal* who) const
      ABSL_LOCKS_EXCLUDED(mu_);

  // Gate() and then the request's validation (INVALID_ARGUMENT naming the field): what every
  // unary handler does first.
  template <typename Request>
  grpc::Status Admit(grpc::ServerContext* ctx, std::string_view method, const Request& req,
                     Principal* who) const {
    grpc::Status gate = Gate(ctx, method, who);
    if (!gate.ok()) return gate;
    return ToGrpc(config_.Check(req));
  }

  // Validation alone: the messages of a stream after its call passed Gate().
  template <typename Request>
  [[nodiscard]] Status Check(const Request& req) const {
    return config_.Check(req);
  }

  // Whether `token` is one of the token file's (any role): the wallboard's check off loopback.
  // False without authentication.
  bool KnowsToken(std::string_view token) const ABSL_LOCKS_EXCLUDED(mu_);

  // Calls gated from now on use `tokens`. FAILED_PRECONDITION without authentication.
  Status ReplaceTokens(TokenTable tokens) ABSL_LOCKS_EXCLUDED(mu_);
  // Moves at every ReplaceTokens.
  uint64_t tokens_generation() const { return generation_.load(); }
  // Whether the call on `ctx`, admitted as `who`, still passes Gate() as the same caller: OK, or
  // UNAUTHENTICATED "token revoked ...".
  grpc::Status StillAdmitted(grpc::ServerContext* ctx, std::string_view method,
                             const Principal& who) const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  const bool authenticate_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const TokenTable> tokens_ ABSL_GUARDED_BY(mu_);
  std::atomic<uint64_t> generation_{0};
  const LiveValidator& config_;
};

}  // namespace sb::gateway
