#include "router/gateway/gateway_impl.h"
#include "switchboard/v1/events.pb.h"

namespace sb::gateway {
namespace {

using Impl = Gateway::Impl;

class FollowUpServiceImpl final : public pb::FollowUpService::Service {
 public:
  explicit FollowUpServiceImpl(Impl* gw) : gw_(gw) {}

  // Publishes the request as a FollowUpCommand to sb.contacts, partition of its queue's domain;
  // the shard's scheduler creates the task (the same request id never creates a second one).
  grpc::Status Create(grpc::ServerContext* ctx, const pb::CreateFollowUpRequest* req,
                      pb::CreateFollowUpResponse* resp) override {
    Principal who;
    grpc::Status admitted = gw_->Admit(ctx, "/switchboard.v1.FollowUpService/Create", *req, &who);
    if (!admitted.ok()) return admitted;
    if (!gw_->options_.followup_domain) {
      return ToGrpc(FailedPrecondition("follow-ups are off on this router"));
    }
    auto domain = gw_->options_.followup_domain(req->request());
    if (!domain.ok()) {
      return ToGrpc(InvalidArgument("field request." + domain.status().message()));
    }
    pb::RoutingEvent ev;
    ev.set_at_ms(gw_->clock_.NowMs());
    *ev.mutable_follow_up()->mutable_submit() = req->request();
    Status st = gw_->Publish(kafka::kContactsTopic, kafka::PartitionFor(*domain, gw_->partitions_),
                             req->request().request_id(), ev.SerializeAsString());
    if (!st.ok()) return ToGrpc(Unavailable("follow-up not accepted: " + st.message()));
    resp->set_task_id(req->request().request_id());
    return grpc::Status::OK;
  }
  grpc::Status List(grpc::ServerContext* ctx, const pb::ListFollowUpsRequest* req,
                    pb::ListFollowUpsResponse*) override {
    return gw_->DeclaredOnly(ctx, "/switchboard.v1.FollowUpService/List", *req);
  }
  grpc::Status Cancel(grpc::ServerContext* ctx, const pb::CancelFollowUpRequest* req,
                      pb::CancelFollowUpResponse*) override {
    return gw_->DeclaredOnly(ctx, "/switchboard.v1.FollowUpService/Cancel", *req);
  }
  grpc::Status RecordOutcome(grpc::ServerContext* ctx, const pb::RecordOutcomeRequest* req,
                             pb::RecordOutcomeResponse*) override {
    return gw_->DeclaredOnly(ctx, "/switchboard.v1.FollowUpService/RecordOutcome", *req);
  }

 private:
  Impl* gw_;
};

}  // namespace

std::unique_ptr<grpc::Service> NewFollowUpService(Gateway::Impl* gw) {
  return std::make_unique<FollowUpServiceImpl>(gw);
}

}  // namespace sb::gateway
