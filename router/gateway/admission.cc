#include "router/gateway/admission.h"

#include <memory>
#include <string>
#include <utility>

namespace sb::gateway {

Admission::Admission(std::optional<TokenTable> tokens, const LiveValidator& config)
    : authenticate_(tokens.has_value()), config_(config) {
  if (tokens) tokens_ = std::make_shared<const TokenTable>(std::move(*tokens));
}

Status Admission::ReplaceTokens(TokenTable tokens) {
  if (!authenticate_) return FailedPrecondition("no token file: the API runs without auth");
  auto table = std::make_shared<const TokenTable>(std::move(tokens));
  {
    absl::MutexLock lock(&mu_);
    tokens_ = std::move(table);
  }
  ++generation_;
  return Status::Ok();
}

bool Admission::KnowsToken(std::string_view token) const {
  if (!authenticate_) return false;
  std::shared_ptr<const TokenTable> tokens;
  {
    absl::MutexLock lock(&mu_);
    tokens = tokens_;
  }
  return tokens->Authenticate("Bearer " + std::string(token)).ok();
}

grpc::Status Admission::StillAdmitted(grpc::ServerContext* ctx, std::string_view method,
                                      const Principal& who) const {
  Principal now;
  grpc::Status gate = Gate(ctx, method, &now);
  if (gate.ok() && now.role == who.role && now.agent_id == who.agent_id && now.name == who.name) {
    return grpc::Status::OK;
  }
  return {grpc::StatusCode::UNAUTHENTICATED,
          "token revoked or changed by a reload of the token file; authenticate again"};
}

grpc::Status Admission::Gate(grpc::ServerContext* ctx, std::string_view method,
                             Principal* who) const {
  if (!authenticate_) {
    who->role = Role::kAdmin;
    who->name = "anonymous";
    return grpc::Status::OK;
  }
  std::shared_ptr<const TokenTable> tokens;
  {
    absl::MutexLock lock(&mu_);
    tokens = tokens_;
  }
  const auto& md = ctx->client_metadata();
  auto it = md.find("authorization");
  std::string_view authorization;
  if (it != md.end()) authorization = std::string_view(it->second.data(), it->second.size());
  AuthResult r = Authorize(*tokens, authorization, method);
  if (r.code == AuthCode::kUnauthenticated) {
    return {grpc::StatusCode::UNAUTHENTICATED, r.message};
  }
  if (r.code == AuthCode::kPermissionDenied) {
    return {grpc::StatusCode::PERMISSION_DENIED, r.message};
  }
  *who = std::move(r.principal);
  return grpc::Status::OK;
}

}  // namespace sb::gateway
