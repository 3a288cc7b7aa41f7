// Private to router/gateway: what every gRPC handler of the gateway shares.
#pragma once

#include <grpcpp/grpcpp.h>

#include "common/status.h"

namespace sb::gateway {

// How often blocked stream handlers (ContactService.Watch, AgentService.Session) look at
// cancellation and shutdown.
inline constexpr int kWatchPollMs = 250;

// sb::Status -> grpc::Status with the matching code.
grpc::Status ToGrpc(const Status& st);

}  // namespace sb::gateway
