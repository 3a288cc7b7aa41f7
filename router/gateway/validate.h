// Request validation of the public gRPC API: one function per request type. Pure and
// thread-safe; every error is INVALID_ARGUMENT "field <path>: <problem>" naming the first bad
// field. Rules: ids (contact, agent, task, key, queue, skill) 1..128 printable characters; notes
// and reasons at most 4096; enums in range and not UNSPECIFIED where required; phone "+" and
// 6..20 digits; queues, domains and skills known in the routing config; timestamps 0 or between
// 2000-01-01 and 2100-01-01 (ms since the epoch).
//
// Threads: a Validator holds a copy of the routing config and is immutable: any thread.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>

#include "common/status.h"
#include "common/text.h"
#include "common/validate/contact.h"
#include "switchboard/v1/config.pb.h"
#include "switchboard/v1/services.pb.h"

namespace sb::gateway {

namespace pb = ::switchboard::v1;

class Validator {
 public:
  explicit Validator(pb::RoutingConfig config);

  [[nodiscard]] Status Check(const pb::SubmitContactRequest& r) const;
  [[nodiscard]] Status Check(const pb::GetContactRequest& r) const;
  [[nodiscard]] Status Check(const pb::CancelContactRequest& r) const;
  [[nodiscard]] Status Check(const pb::WatchContactRequest& r) const;
  [[nodiscard]] Status Check(const pb::TransferContactRequest& r) const;
  [[nodiscard]] Status Check(const pb::AgentRequest& r) const;
  // As the shard's scheduler checks it (common/validate/followup_request.h), and its queue known.
  [[nodiscard]] Status Check(const pb::CreateFollowUpRequest& r) const;
  [[nodiscard]] Status Check(const pb::CreateFollowUpRequest& r, int64_t now_ms) const;
  [[nodiscard]] Status Check(const pb::ListFollowUpsRequest& r) const;
  [[nodiscard]] Status Check(const pb::CancelFollowUpRequest& r) const;
  [[nodiscard]] Status Check(const pb::RecordOutcomeRequest& r) const;
  [[nodiscard]] Status Check(const pb::GetConfigRequest& r) const;
  [[nodiscard]] Status Check(const pb::ApplyConfigRequest& r) const;
  [[nodiscard]] Status Check(const pb::QueueStatsRequest& r) const;
  [[nodiscard]] Status Check(const pb::ListAgentsRequest& r) const;
  [[nodiscard]] Status Check(const pb::DrainRequest& r) const;
  [[nodiscard]] Status Check(const pb::ReportRequest& r) const;

  const pb::RoutingConfig& config() const { return config_; }
  // The routing domain of a known queue; empty when unknown.
  const std::string& DomainOfQueue(const std::string& queue) const;

 private:
  bool KnownQueue(const std::string& name) const;
  bool KnownSkill(const std::string& name) const;
  bool KnownDomain(const std::string& name) const;
  // The names above for common/validate (valid while this validator lives).
  validate::KnownNames Known() const;

  pb::RoutingConfig config_;
  std::map<std::string, std::string, std::less<>> queue_domain_;
  std::set<std::string, std::less<>> skills_;
  std::set<std::string, std::less<>> domains_;
};

// "+" then 6..20 digits (common/text.h: the one rule of every module).
using ::sb::ValidPhone;

}  // namespace sb::gateway
