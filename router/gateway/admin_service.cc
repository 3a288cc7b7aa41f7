#include <algorithm>
#include <cstdio>
#include <set>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/config/config.h"
#include "common/config/text.h"
#include "common/log/log.h"
#include "router/control/control.h"
#include "router/gateway/rpc.h"
#include "router/gateway/services.h"
#include "router/kafka/topics.h"
#include "router/stats/feed.h"
#include "switchboard/v1/cluster.pb.h"
#include "switchboard/v1/events.pb.h"
#include "switchboard/v1/services.grpc.pb.h"

namespace sb::gateway {
namespace {

class AdminServiceImpl final : public pb::AdminService::Service {
 public:
  explicit AdminServiceImpl(const AdminServiceParts& parts) : parts_(parts) {}

  grpc::Status GetConfig(grpc::ServerContext* ctx, const pb::GetConfigRequest*,
                         pb::GetConfigResponse* resp) override {
    Principal who;
    grpc::Status gate = parts_.admission.Gate(ctx, "/switchboard.v1.AdminService/GetConfig", &who);
    if (!gate.ok()) return gate;
    // The config in force (sb.control's config/current, else this router's --config file).
    *resp->mutable_config() = parts_.config.config();
    resp->set_version(control::ConfigVersionOf(resp->config()));
    return grpc::Status::OK;
  }

  // Validates, checks against the config in force, then switches the cluster at a defined log
  // position of every shard (router/control/control.h): config/<version> to sb.control, a
  // ConfigChanged marker to every partition of sb.contacts, then config/current; each write
  // acknowledged before the next. A failure part way answers UNAVAILABLE: applying the same
  // config again completes it (markers of a version a shard already runs change nothing).
  grpc::Status ApplyConfig(grpc::ServerContext* ctx, const pb::ApplyConfigRequest* req,
                           pb::ApplyConfigResponse* resp) override ABSL_LOCKS_EXCLUDED(apply_mu_) {
    Principal who;
    grpc::Status admitted =
        parts_.admission.Admit(ctx, "/switchboard.v1.AdminService/ApplyConfig", *req, &who);
    if (!admitted.ok()) return admitted;
    pb::RoutingConfig next = req->config();
    config::ApplyDefaults(&next);  // validated with defaults by Admit
    const std::string& node = parts_.node_id;
    // One apply at a time through this gateway, judged against sb.control read to its end now.
    absl::MutexLock lock(&apply_mu_);
    auto follower =
        control::ControlFollower::Open(parts_.bootstrap, parts_.kafka_settings, "gateway " + node);
    if (!follower.ok()) return ToGrpc(follower.status());
    Status read = (*follower)->CatchUp(parts_.connect_timeout_ms);
    if (!read.ok()) return ToGrpc(read);
    pb::RoutingConfig running = parts_.config.config();
    std::string running_version = control::ConfigVersionOf(running);
    if (const auto& current = (*follower)->state().current()) {
      if (auto config = (*follower)->state().Find(current->version())) {
        running = *config;
        running_version = current->version();
      }
    }
    if (!req->expected_version().empty() && req->expected_version() != running_version) {
      return {grpc::StatusCode::ABORTED, "expected_version " + req->expected_version() +
                                             ": the config in force is version " + running_version +
                                             " (changed meanwhile: GetConfig, merge, apply again)"};
    }
    Status compatible = control::CheckCompatible(running, next);
    if (!compatible.ok()) return ToGrpc(compatible);
    const std::string version = control::ConfigVersionOf(next);
    resp->set_version(version);
    if (req->dry_run()) return grpc::Status::OK;

    const int64_t now = parts_.clock.NowMs();
    const std::string by = who.name + " via " + node;
    pb::ConfigVersion record;
    record.set_version(version);
    *record.mutable_config() = next;
    record.set_applied_at_ms(now);
    record.set_applied_by(by);
    auto failed = [&](const std::string& step, const Status& st) {
      SB_LOG_WARN("gateway", "gateway %s: routing config version %s not applied: %s: %s\n",
                  node.c_str(), version.c_str(), step.c_str(), st.ToString().c_str());
      return ToGrpc(Unavailable(step + ": " + st.message() +
                                " (apply the same config again to complete the change)"));
    };
    Status st;
    if ((*follower)->state().Find(running_version) == nullptr) {
      // The config in force came from --config files: kept in sb.control too, so a shard whose
      // changelog names it (its owner died before the marker) restores under it anywhere.
      pb::ConfigVersion previous;
      previous.set_version(running_version);
      *previous.mutable_config() = running;
      previous.set_applied_at_ms(now);
      previous.set_applied_by("--config of the routers (recorded by " + by + ")");
      st = parts_.publisher.Publish(kafka::kControlTopic, control::kControlPartition,
                                    control::ConfigKey(running_version),
                                    previous.SerializeAsString());
      if (!st.ok()) return failed("sb.control " + control::ConfigKey(running_version), st);
    }
    st = parts_.publisher.Publish(kafka::kControlTopic, control::kControlPartition,
                                  control::ConfigKey(version), record.SerializeAsString());
    if (!st.ok()) return failed("sb.control " + control::ConfigKey(version), st);
    pb::RoutingEvent marker;
    marker.set_at_ms(now);
    marker.mutable_config_changed()->set_version(version);
    for (int32_t p = 0; p < parts_.publisher.partitions(); ++p) {
      st = parts_.publisher.Publish(kafka::kContactsTopic, p, control::ConfigKey(version),
                                    marker.SerializeAsString());
      if (!st.ok())
        return failed("ConfigChanged marker in sb.contacts[" + std::to_string(p) + "]", st);
    }
    pb::ConfigCurrent current;
    current.set_version(version);
    current.set_previous_version(running_version);
    current.set_applied_at_ms(now);
    current.set_applied_by(by);
    st = parts_.publisher.Publish(kafka::kControlTopic, control::kControlPartition,
                                  control::kCurrentConfigKey, current.SerializeAsString());
    if (!st.ok()) return failed("sb.control " + std::string(control::kCurrentConfigKey), st);
    parts_.config.Set(next);
    SB_LOG_INFO("gateway",
                "gateway %s: routing config version %s applied by %s (was %s): marker written "
                "to %d partitions of sb.contacts\n",
                node.c_str(), version.c_str(), config::Printable(who.name).c_str(),
                running_version.c_str(), parts_.publisher.partitions());
    return grpc::Status::OK;
  }
  // From the shards' live snapshots on sb.stats (each shard's latest, highest epoch first).
  grpc::Status QueueStats(grpc::ServerContext* ctx, const pb::QueueStatsRequest* req,
                          pb::QueueStatsResponse* resp) override {
    Principal who;
    grpc::Status admitted =
        parts_.admission.Admit(ctx, "/switchboard.v1.AdminService/QueueStats", *req, &who);
    if (!admitted.ok()) return admitted;
    const std::set<std::string> wanted(req->queues().begin(), req->queues().end());
    const auto config = parts_.config.Get();  // a supervisor sees the queues of its domains
    for (const pb::ShardLive& live : parts_.estimates.FreshShards()) {
      for (const pb::QueueLive& q : live.queues()) {
        if ((wanted.empty() || wanted.count(q.queue())) &&
            ReachesDomain(who, config->DomainOfQueue(q.queue()))) {
          *resp->add_queues() = q;
        }
      }
      for (const pb::DomainLive& d : live.domains()) {
        if (ReachesDomain(who, d.domain())) *resp->add_domains() = d;
      }
      resp->set_as_of_ms(std::max(resp->as_of_ms(), live.at_ms()));
    }
    return grpc::Status::OK;
  }
  // From the shards' agent lists on sb.stats (every 5 s) and the nodes' desktop sessions (every
  // 3 s): what a supervisor sees may be a few seconds old.
  grpc::Status ListAgents(grpc::ServerContext* ctx, const pb::ListAgentsRequest* req,
                          pb::ListAgentsResponse* resp) override {
    Principal who;
    grpc::Status admitted =
        parts_.admission.Admit(ctx, "/switchboard.v1.AdminService/ListAgents", *req, &who);
    if (!admitted.ok()) return admitted;
    for (stats::ListedAgent& l : parts_.estimates.Agents()) {
      if (!req->domain().empty() && l.agent.agent().domain() != req->domain()) continue;
      if (!ReachesDomain(who, l.agent.agent().domain())) continue;  // a supervisor's domains
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
  // Writes drain/<node id> to sb.control (acknowledged). The named node carries it out when it
  // reads it (router/shard/node.h, gateway BeginDrain) — if it runs now and started before the
  // request; an unknown or stopped node id is accepted (it may be starting) and logged.
  grpc::Status Drain(grpc::ServerContext* ctx, const pb::DrainRequest* req,
                     pb::DrainResponse*) override {
    Principal who;
    grpc::Status admitted =
        parts_.admission.Admit(ctx, "/switchboard.v1.AdminService/Drain", *req, &who);
    if (!admitted.ok()) return admitted;
    pb::NodeDrain drain;
    drain.set_node_id(req->node_id());
    drain.set_requested_at_ms(parts_.clock.NowMs());
    drain.set_requested_by(who.name + " via " + parts_.node_id);
    Status st =
        parts_.publisher.Publish(kafka::kControlTopic, control::kControlPartition,
                                 control::DrainKey(req->node_id()), drain.SerializeAsString());
    if (!st.ok()) return ToGrpc(st);
    SB_LOG_INFO("gateway",
                "gateway %s: drain of node %s requested by %s (in sb.control; the node drains "
                "when it reads it, if it runs)\n",
                parts_.node_id.c_str(), config::Printable(req->node_id()).c_str(),
                config::Printable(who.name).c_str());
    return grpc::Status::OK;
  }
  // The queues' day records of sb.stats in [from_day, to_day], read to the topic's end at the
  // call by the same reader as `switchboard report` (router/stats; the KPIs are computed from
  // these counters by router/stats/kpi.h).
  grpc::Status Report(grpc::ServerContext* ctx, const pb::ReportRequest* req,
                      pb::ReportResponse* resp) override {
    Principal who;
    grpc::Status admitted =
        parts_.admission.Admit(ctx, "/switchboard.v1.AdminService/Report", *req, &who);
    if (!admitted.ok()) return admitted;
    Status allowed = parts_.limits.AllowReport(who.name, parts_.clock.NowMs());
    if (!allowed.ok()) return ToGrpc(allowed);
    const int timeout_ms = parts_.connect_timeout_ms;
    auto feed = stats::StatsFeed::Open(parts_.bootstrap, parts_.kafka_settings, timeout_ms);
    if (!feed.ok()) return ToGrpc(feed.status());
    Status read = (*feed)->CatchUp(std::chrono::milliseconds(timeout_ms));
    if (!read.ok()) return ToGrpc(read);
    const std::set<std::string> wanted(req->queues().begin(), req->queues().end());
    const auto config = parts_.config.Get();  // a supervisor reports on its domains' queues
    for (pb::QueueDay& d : (*feed)->view().Days(req->from_day(), req->to_day())) {
      if ((wanted.empty() || wanted.count(d.queue())) &&
          ReachesDomain(who, config->DomainOfQueue(d.queue()))) {
        *resp->add_days() = std::move(d);
      }
    }
    return grpc::Status::OK;
  }

 private:
  const AdminServiceParts parts_;
  absl::Mutex apply_mu_;  // one ApplyConfig at a time through this gateway
};

}  // namespace

std::unique_ptr<grpc::Service> NewAdminService(const AdminServiceParts& parts) {
  return std::make_unique<AdminServiceImpl>(parts);
}

}  // namespace sb::gateway
