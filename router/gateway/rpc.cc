#include "router/gateway/rpc.h"

namespace sb::gateway {

grpc::Status ToGrpc(const Status& st) {
  switch (st.code()) {
    case Code::kOk:
      return grpc::Status::OK;
    case Code::kInvalidArgument:
      return {grpc::StatusCode::INVALID_ARGUMENT, st.message()};
    case Code::kNotFound:
      return {grpc::StatusCode::NOT_FOUND, st.message()};
    case Code::kFailedPrecondition:
      return {grpc::StatusCode::FAILED_PRECONDITION, st.message()};
    case Code::kAlreadyExists:
      return {grpc::StatusCode::ALREADY_EXISTS, st.message()};
    case Code::kUnavailable:
      return {grpc::StatusCode::UNAVAILABLE, st.message()};
    case Code::kResourceExhausted:
      return {grpc::StatusCode::RESOURCE_EXHAUSTED, st.message()};
    case Code::kInternal:
      break;
  }
  return {grpc::StatusCode::INTERNAL, st.message()};
}

}  // namespace sb::gateway
