#include "router/gateway/admission.h"

#include <string>
#include <utility>

namespace sb::gateway {

grpc::Status Admission::Gate(grpc::ServerContext* ctx, std::string_view method,
                             Principal* who) const {
  if (!tokens_) {
    who->role = Role::kAdmin;
    who->name = "anonymous";
    return grpc::Status::OK;
  }
  const auto& md = ctx->client_metadata();
  auto it = md.find("authorization");
  std::string_view authorization;
  if (it != md.end()) authorization = std::string_view(it->second.data(), it->second.size());
  AuthResult r = Authorize(*tokens_, authorization, method);
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
