#include <algorithm>

#include "router/gateway/gateway_impl.h"
#include "router/stats/feed.h"

namespace sb::gateway {
namespace {

using Impl = Gateway::Impl;

class AdminServiceImpl final : public pb::AdminService::Service {
 public:
  explicit AdminServiceImpl(Impl* gw) : gw_(gw) {}

  grpc::Status GetConfig(grpc::ServerContext* ctx, const pb::GetConfigRequest*,
                         pb::GetConfigResponse* resp) override {
    Principal who;
    grpc::Status gate = gw_->Gate(ctx, "/switchboard.v1.AdminService/GetConfig", &who);
    if (!gate.ok()) return gate;
    *resp->mutable_config() = gw_->validator_.config();
    std::string bytes;
    gw_->validator_.config().SerializeToString(&bytes);  // deterministic enough for one binary
    resp->set_version(Sha256Hex(bytes).substr(0, 16));
    return grpc::Status::OK;
  }

  grpc::Status ApplyConfig(grpc::ServerContext* ctx, const pb::ApplyConfigRequest* req,
                           pb::ApplyConfigResponse*) override {
    return gw_->DeclaredOnly(ctx, "/switchboard.v1.AdminService/ApplyConfig", *req);
  }
  // From the shards' live snapshots on sb.stats (each shard's latest, highest epoch first).
  grpc::Status QueueStats(grpc::ServerContext* ctx, const pb::QueueStatsRequest* req,
                          pb::QueueStatsResponse* resp) override {
    Principal who;
    grpc::Status admitted = gw_->Admit(ctx, "/switchboard.v1.AdminService/QueueStats", *req, &who);
    if (!admitted.ok()) return admitted;
    const std::set<std::string> wanted(req->queues().begin(), req->queues().end());
    for (const pb::ShardLive& live : gw_->estimates_.FreshShards()) {
      for (const pb::QueueLive& q : live.queues()) {
        if (wanted.empty() || wanted.count(q.queue())) *resp->add_queues() = q;
      }
      for (const pb::DomainLive& d : live.domains()) *resp->add_domains() = d;
      resp->set_as_of_ms(std::max(resp->as_of_ms(), live.at_ms()));
    }
    return grpc::Status::OK;
  }
  // From the shards' agent lists on sb.stats (every 5 s) and the nodes' desktop sessions (every
  // 3 s): what a supervisor sees may be a few seconds old.
  grpc::Status ListAgents(grpc::ServerContext* ctx, const pb::ListAgentsRequest* req,
                          pb::ListAgentsResponse* resp) override {
    Principal who;
    grpc::Status admitted = gw_->Admit(ctx, "/switchboard.v1.AdminService/ListAgents", *req, &who);
    if (!admitted.ok()) return admitted;
    for (stats::ListedAgent& l : gw_->estimates_.Agents()) {
      if (!req->domain().empty() && l.agent.agent().domain() != req->domain()) continue;
      if (req->state() != pb::AGENT_STATE_UNSPECIFIED && l.agent.state() != req->state()) continue;
      pb::AgentInfo* info = resp->add_agents();
      *info->mutable_agent() = std::move(*l.agent.mutable_agent());
      info->set_state(l.agent.state());
      info->set_reason(l.agent.reason());
      info->set_node_id(l.session_node);
      *info->mutable_contact_ids() = std::move(*l.agent.mutable_contact_ids());
    }
    return grpc::Status::OK;
  }
  grpc::Status Drain(grpc::ServerContext* ctx, const pb::DrainRequest* req,
                     pb::DrainResponse*) override {
    return gw_->DeclaredOnly(ctx, "/switchboard.v1.AdminService/Drain", *req);
  }
  // The queues' day records of sb.stats in [from_day, to_day], read to the topic's end at the
  // call by the same reader as `switchboard report` (router/stats; the KPIs are computed from
  // these counters by router/stats/kpi.h).
  grpc::Status Report(grpc::ServerContext* ctx, const pb::ReportRequest* req,
                      pb::ReportResponse* resp) override {
    Principal who;
    grpc::Status admitted = gw_->Admit(ctx, "/switchboard.v1.AdminService/Report", *req, &who);
    if (!admitted.ok()) return admitted;
    const int timeout_ms = gw_->options_.connect_timeout_ms;
    auto feed =
        stats::StatsFeed::Open(gw_->options_.bootstrap, gw_->options_.kafka_settings, timeout_ms);
    if (!feed.ok()) return ToGrpc(feed.status());
    Status read = (*feed)->CatchUp(std::chrono::milliseconds(timeout_ms));
    if (!read.ok()) return ToGrpc(read);
    const std::set<std::string> wanted(req->queues().begin(), req->queues().end());
    for (pb::QueueDay& d : (*feed)->view().Days(req->from_day(), req->to_day())) {
      if (wanted.empty() || wanted.count(d.queue())) *resp->add_days() = std::move(d);
    }
    return grpc::Status::OK;
  }

 private:
  Impl* gw_;
};

}  // namespace

std::unique_ptr<grpc::Service> NewAdminService(Gateway::Impl* gw) {
  return std::make_unique<AdminServiceImpl>(gw);
}

}  // namespace sb::gateway
