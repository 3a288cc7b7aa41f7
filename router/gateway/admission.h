// Private to router/gateway: who may call what. Every handler starts here.
#pragma once

#include <grpcpp/grpcpp.h>

#include <optional>
#include <string_view>
#include <utility>

#include "router/gateway/auth.h"
#include "router/gateway/live_validator.h"
#include "router/gateway/rpc.h"

namespace sb::gateway {

// Authentication (bearer tokens, the role table of auth.h) and request validation against the
// routing config in force. Thread-safe: immutable but for the config it reads.
class Admission {
 public:
  // `tokens` unset: no authentication (--no-auth), every caller is an anonymous admin.
  // REQUIRES: `config` outlives this.
  Admission(std::optional<TokenTable> tokens, const LiveValidator& config)
      : tokens_(std::move(tokens)), config_(config) {}

  // Authenticates the call and checks the role table; `*who` is the caller when OK,
  // UNAUTHENTICATED or PERMISSION_DENIED otherwise.
  grpc::Status Gate(grpc::ServerContext* ctx, std::string_view method, Principal* who) const;

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

 private:
  const std::optional<TokenTable> tokens_;
  const LiveValidator& config_;
};

}  // namespace sb::gateway
