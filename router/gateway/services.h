// Private to router/gateway: the four gRPC services of a gateway, one file each. Each is built
// from only the parts of Gateway::Impl it works with; Impl owns them all and outlives the
// services.
#pragma once

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/service_type.h>

#include <functional>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "router/gateway/admission.h"
#include "router/gateway/answers.h"
#include "router/gateway/contact_book.h"
#include "router/gateway/desks.h"
#include "router/gateway/followup_index.h"
#include "router/gateway/limits.h"
#include "router/gateway/live_stats.h"
#include "router/gateway/live_validator.h"
#include "router/gateway/publisher.h"
#include "router/kafka/client.h"

namespace sb::gateway {

// ContactService (contact_service.cc): Submit, Get, Cancel, Watch, Transfer.
struct ContactServiceParts {
  const Admission& admission;
  Publisher& publisher;
  const LiveValidator& config;  // the queues' routing domains
  ContactBook& book;            // answers Get/Watch; this gateway's own arrivals and cancels
  const LiveStats& estimates;   // estimated waits
  Answers& answers;             // the router's answer to a Transfer
  CallerLimits& limits;         // Watch streams per caller
  const Clock& clock;
  int ack_timeout_ms;  // also how long Transfer waits for the router's answer
};
std::unique_ptr<grpc::Service> NewContactService(const ContactServiceParts& parts);

// AgentService (agent_service.cc): Session.
struct AgentServiceParts {
  const Admission& admission;
  Publisher& publisher;
  Desks& desks;
  ContactBook& book;        // contacts this node's desktops end
  const LiveStats& agents;  // who is logged in where (one agent, one domain)
  CallerLimits& limits;     // desktop sessions per caller
  const Clock& clock;
  std::string node_id;
  int login_wait_ms;  // GatewayOptions::login_wait_ms
};
std::unique_ptr<grpc::Service> NewAgentService(const AgentServiceParts& parts);

// FollowUpService (followup_service.cc): Create, List, Cancel, RecordOutcome.
struct FollowUpServiceParts {
  const Admission& admission;
  Publisher& publisher;
  const FollowUpIndex& index;
  const LiveValidator& config;  // the queues' routing domains (a supervisor's reach)
  const Clock& clock;
  // GatewayOptions::followup_domain (unset: follow-ups are off), followup_visible_ms and
  // followup_unknown_wait_ms.
  const std::function<Result<std::string>(const pb::FollowUpRequest&)>& domain_of;
  int visible_ms;
  int unknown_wait_ms;
};
std::unique_ptr<grpc::Service> NewFollowUpService(const FollowUpServiceParts& parts);

// AdminService (admin_service.cc): GetConfig, ApplyConfig, QueueStats, ListAgents, Drain, Report.
struct AdminServiceParts {
  const Admission& admission;
  Publisher& publisher;
  LiveValidator& config;       // the config in force; switched by ApplyConfig
  const LiveStats& estimates;  // live queue stats and agent lists
  CallerLimits& limits;        // Report calls per caller
  const Clock& clock;
  std::string node_id;
  // For the readers ApplyConfig (sb.control) and Report (sb.stats) open per call.
  std::string bootstrap;
  kafka::Settings kafka_settings;
  int connect_timeout_ms;
};
std::unique_ptr<grpc::Service> NewAdminService(const AdminServiceParts& parts);

}  // namespace sb::gateway
