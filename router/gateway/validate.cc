#include "router/gateway/validate.h"

#include "common/clock.h"
#include "common/config/config.h"
#include "common/config/text.h"
#include "common/text.h"
#include "common/validate/contact.h"
#include "common/validate/followup_request.h"
#include "common/zone.h"
#include "router/gateway/followup_index.h"

namespace sb::gateway {
namespace {

constexpr size_t kMaxIdChars = 128;
constexpr size_t kMaxNoteChars = 4096;
constexpr size_t kMaxListItems = 64;
constexpr uint32_t kMaxPageSize = 1000;
constexpr int64_t kMinTimeMs = 946684800000;   // 2000-01-01T00:00:00Z
constexpr int64_t kMaxTimeMs = 4102444800000;  // 2100-01-01T00:00:00Z

Status Bad(const std::string& field, const std::string& problem) {
  return InvalidArgument("field " + field + ": " + problem);
}

bool Printable(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

// An id-like field: required or optional, at most 128 printable characters.
Status Id(const std::string& field, const std::string& value, bool required) {
  if (value.empty()) return required ? Bad(field, "required") : Status::Ok();
  if (value.size() > kMaxIdChars) return Bad(field, "longer than 128 characters");
  if (!Printable(value)) return Bad(field, "control characters are not allowed");
  return Status::Ok();
}

// Free text (notes, reasons): at most 4096 characters; newlines and tabs allowed.
Status Text(const std::string& field, const std::string& value, bool required) {
  if (value.empty()) return required ? Bad(field, "required") : Status::Ok();
  if (value.size() > kMaxNoteChars) return Bad(field, "longer than 4096 characters");
  for (unsigned char c : value) {
    if ((c < 0x20 && c != '\n' && c != '\t' && c != '\r') || c == 0x7f) {
      return Bad(field, "control characters are not allowed");
    }
  }
  return Status::Ok();
}

Status Time(const std::string& field, int64_t ms) {
  if (ms == 0 || (ms >= kMinTimeMs && ms < kMaxTimeMs)) return Status::Ok();
  return Bad(field, "not a time between 2000 and 2100 (ms since the epoch): " + std::to_string(ms));
}

template <typename IsValid>
Status Enum(const std::string& field, int value, IsValid is_valid, bool required) {
  if (!is_valid(value)) return Bad(field, "unknown value " + std::to_string(value));
  if (required && value == 0) return Bad(field, "required (UNSPECIFIED is not allowed)");
  return Status::Ok();
}

}  // namespace

Validator::Validator(pb::RoutingConfig config) : config_(std::move(config)) {
  for (const auto& q : config_.queues()) queue_domain_[q.name()] = q.domain();
  for (const auto& s : config_.skills()) skills_.insert(s.name());
  for (const auto& d : config_.domains()) domains_.insert(d.name());
}

bool Validator::KnownQueue(const std::string& name) const { return queue_domain_.count(name) > 0; }
bool Validator::KnownSkill(const std::string& name) const { return skills_.count(name) > 0; }
bool Validator::KnownDomain(const std::string& name) const { return domains_.count(name) > 0; }

validate::KnownNames Validator::Known() const {
  return {.queue = [this](std::string_view q) { return queue_domain_.contains(q); },
          .skill = [this](std::string_view s) { return skills_.contains(s); },
          .domain = [this](std::string_view d) { return domains_.contains(d); }};
}

const std::string& Validator::DomainOfQueue(const std::string& queue) const {
  static const std::string kNone;
  auto it = queue_domain_.find(queue);
  return it == queue_domain_.end() ? kNone : it->second;
}

Status Validator::Check(const pb::SubmitContactRequest& r) const {
  if (!r.has_contact()) return Bad("contact", "required");
  const pb::Contact& c = r.contact();
  if (!c.id().empty()) {
    return Bad("contact.id", "must be empty: the id is derived from the idempotency key");
  }
  SB_RETURN_IF_ERROR(Id("contact.idempotency_key", c.idempotency_key(), true));
  // The rule the engine applies too (common/validate), for a caller.
  return validate::CheckContact(c, Known(), validate::Source::kCaller);
}

Status Validator::Check(const pb::GetContactRequest& r) const {
  return Id("contact_id", r.contact_id(), true);
}

Status Validator::Check(const pb::CancelContactRequest& r) const {
  SB_RETURN_IF_ERROR(Id("contact_id", r.contact_id(), true));
  return Text("reason", r.reason(), false);
}

Status Validator::Check(const pb::WatchContactRequest& r) const {
  return Id("contact_id", r.contact_id(), true);
}

Status Validator::Check(const pb::TransferContactRequest& r) const {
  SB_RETURN_IF_ERROR(Id("contact_id", r.contact_id(), true));
  switch (r.target_case()) {
    case pb::TransferContactRequest::kQueue:
      SB_RETURN_IF_ERROR(Id("queue", r.queue(), true));
      if (!KnownQueue(r.queue())) return Bad("queue", "unknown queue " + config::Quote(r.queue()));
      break;
    case pb::TransferContactRequest::kAgentId:
      SB_RETURN_IF_ERROR(Id("agent_id", r.agent_id(), true));
      break;
    default:
      return Bad("target", "required (queue or agent_id)");
  }
  return Text("handoff_note", r.handoff_note(), true);
}

Status Validator::Check(const pb::AgentRequest& r) const {
  switch (r.action_case()) {
    case pb::AgentRequest::kLogin: {
      const auto& l = r.login();
      if (!l.has_agent()) return Bad("login.agent", "required");
      SB_RETURN_IF_ERROR(validate::CheckAgent(l.agent(), Known(), "login.agent."));
      if (l.capacities_size() > 8) return Bad("login.capacities", "more than 8 entries");
      for (int i = 0; i < l.capacities_size(); ++i) {
        const std::string at = config::Field("login.capacities", i);
        SB_RETURN_IF_ERROR(
            Enum(at + ".channel", l.capacities(i).channel(), pb::Channel_IsValid, true));
        if (l.capacities(i).max_contacts() > 100) {
          return Bad(at + ".max_contacts", "at most 100");
        }
      }
      return Status::Ok();
    }
    case pb::AgentRequest::kReady:
      return Status::Ok();
    case pb::AgentRequest::kNotReady:
      return Id("not_ready.reason", r.not_ready().reason(), true);
    case pb::AgentRequest::kAccept:
      SB_RETURN_IF_ERROR(Id("accept.contact_id", r.accept().contact_id(), true));
      if (r.accept().attempt() == 0) return Bad("accept.attempt", "required (1, 2, ...)");
      return Status::Ok();
    case pb::AgentRequest::kReject:
      SB_RETURN_IF_ERROR(Id("reject.contact_id", r.reject().contact_id(), true));
      if (r.reject().attempt() == 0) return Bad("reject.attempt", "required (1, 2, ...)");
      return Text("reject.reason", r.reject().reason(), false);
    case pb::AgentRequest::kComplete:
      return Id("complete.contact_id", r.complete().contact_id(), true);
    case pb::AgentRequest::kWrapUp:
      SB_RETURN_IF_ERROR(Id("wrap_up.contact_id", r.wrap_up().contact_id(), true));
      SB_RETURN_IF_ERROR(Id("wrap_up.disposition", r.wrap_up().disposition(), true));
      return Text("wrap_up.note", r.wrap_up().note(), false);
    case pb::AgentRequest::kHeartbeat:
      return Time("heartbeat.client_time_ms", r.heartbeat().client_time_ms());
    case pb::AgentRequest::kLogout:
      return Text("logout.reason", r.logout().reason(), false);
    case pb::AgentRequest::ACTION_NOT_SET:
      break;
  }
  return Bad("action", "required");
}

Status Validator::Check(const pb::CreateFollowUpRequest& r) const {
  return Check(r, SystemClock().NowMs());
}

Status Validator::Check(const pb::CreateFollowUpRequest& r, int64_t now_ms) const {
  if (!r.has_request()) return Bad("request", "required");
  const pb::FollowUpRequest& f = r.request();
  // The rule the shard's scheduler applies too (common/validate), then what only the API knows.
  SB_RETURN_IF_ERROR(validate::CheckFollowUpRequest(f, now_ms, "request."));
  if (!f.queue().empty() && !KnownQueue(f.queue())) {
    return Bad("request.queue", "unknown queue " + config::Quote(f.queue()));
  }
  return Status::Ok();
}

Status Validator::Check(const pb::ListFollowUpsRequest& r) const {
  SB_RETURN_IF_ERROR(Id("customer_id", r.customer_id(), false));
  SB_RETURN_IF_ERROR(Id("owner", r.owner(), false));
  SB_RETURN_IF_ERROR(Enum("state", r.state(), pb::FollowUpState_IsValid, false));
  if (r.customer_id().empty() && r.owner().empty() && r.state() == 0) {
    return Bad("customer_id", "a filter is required (customer_id, owner or state)");
  }
  if (r.page_size() > kMaxPageSize) return Bad("page_size", "at most 1000");
  if (!r.page_token().empty() && !ValidFollowUpPageToken(r.page_token())) {
    return Bad("page_token", "not a token this API returned");
  }
  return Status::Ok();
}

Status Validator::Check(const pb::CancelFollowUpRequest& r) const {
  SB_RETURN_IF_ERROR(Id("task_id", r.task_id(), true));
  return Text("reason", r.reason(), true);
}

Status Validator::Check(const pb::RecordOutcomeRequest& r) const {
  if (!r.has_outcome()) return Bad("outcome", "required");
  const auto& o = r.outcome();
  SB_RETURN_IF_ERROR(Id("outcome.task_id", o.task_id(), true));
  if (o.attempt() == 0) return Bad("outcome.attempt", "required (1, 2, ...)");
  SB_RETURN_IF_ERROR(Enum("outcome.outcome", o.outcome(), pb::AttemptOutcome_IsValid, true));
  if (o.outcome() == pb::ATTEMPT_OUTCOME_TIMED_OUT) {
    return Bad("outcome.outcome", "TIMED_OUT is set by the scheduler, not reported");
  }
  SB_RETURN_IF_ERROR(Id("outcome.agent_id", o.agent_id(), false));
  return Text("outcome.note", o.note(), false);
}

Status Validator::Check(const pb::GetConfigRequest&) const { return Status::Ok(); }

Status Validator::Check(const pb::ApplyConfigRequest& r) const {
  if (!r.has_config()) return Bad("config", "required");
  SB_RETURN_IF_ERROR(Id("expected_version", r.expected_version(), false));
  pb::RoutingConfig copy = r.config();
  config::ApplyDefaults(&copy);
  Status st = config::Validate(copy);
  // config::Validate names the field ("queues[2].strategy: missing ..."): keep its words.
  if (!st.ok()) return InvalidArgument("field config." + st.message().substr(0, 900));
  return Status::Ok();
}

Status Validator::Check(const pb::QueueStatsRequest& r) const {
  if (r.queues_size() > static_cast<int>(kMaxListItems)) return Bad("queues", "more than 64");
  for (int i = 0; i < r.queues_size(); ++i) {
    if (!KnownQueue(r.queues(i))) {
      return Bad(config::Field("queues", i), "unknown queue " + config::Quote(r.queues(i)));
    }
  }
  return Status::Ok();
}

Status Validator::Check(const pb::ListAgentsRequest& r) const {
  if (!r.domain().empty() && !KnownDomain(r.domain())) {
    return Bad("domain", "unknown domain " + config::Quote(r.domain()));
  }
  return Enum("state", r.state(), pb::AgentState_IsValid, false);
}

Status Validator::Check(const pb::DrainRequest& r) const {
  return Id("node_id", r.node_id(), true);
}

Status Validator::Check(const pb::ReportRequest& r) const {
  if (r.queues_size() > static_cast<int>(kMaxListItems)) return Bad("queues", "more than 64");
  for (int i = 0; i < r.queues_size(); ++i) {
    if (!KnownQueue(r.queues(i))) {
      return Bad(config::Field("queues", i), "unknown queue " + config::Quote(r.queues(i)));
    }
  }
  if (!IsDate(r.from_day())) return Bad("from_day", "expected YYYY-MM-DD");
  if (!IsDate(r.to_day())) return Bad("to_day", "expected YYYY-MM-DD");
  if (r.to_day() < r.from_day()) return Bad("to_day", "before from_day");
  return Status::Ok();
}

}  // namespace sb::gateway
