// Fuzz target: arbitrary bytes as a gateway request. The first byte picks the request type, the
// rest is parsed as that message (as gRPC would) and validated. Refusals are fine; crashes, hangs
// and refusals that do not name a field in one printable line are not. An accepted Submit must
// name a queue of the routing config (the gateway computes its partition from it).
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/config/config.h"
#include "router/gateway/validate.h"
#include "tests/fuzz/fuzz_checks.h"

namespace {

constexpr char kTarget[] = "gateway_validate_fuzz";
namespace pb = ::switchboard::v1;

constexpr char kConfig[] = R"(
skills: [{name: general}, {name: english}]
domains: [{name: d00}, {name: d01}]
queues:
  - {name: d00.general, domain: d00, strategy: LONGEST_IDLE,
     required_skills: [{skill: general, min_proficiency: 1}], offer_timeout_s: 30}
  - {name: d01.english, domain: d01, strategy: BEST_SKILL,
     required_skills: [{skill: english, min_proficiency: 2}], offer_timeout_s: 30}
)";

const sb::gateway::Validator& TheValidator() {
  static const sb::gateway::Validator* v = [] {
    auto config = sb::config::ParseRoutingConfig(kConfig);
    if (!config.ok()) sb::fuzz::Die(kTarget, "bad built-in config", config.status().ToString());
    return new sb::gateway::Validator(*config);
  }();
  return *v;
}

template <typename Request>
void Run(const uint8_t* data, size_t size) {
  Request r;
  if (!r.ParseFromArray(data, static_cast<int>(size))) return;
  sb::Status st = TheValidator().Check(r);
  if (st.ok()) return;
  if (st.code() != sb::Code::kInvalidArgument) {
    sb::fuzz::Die(kTarget, "refusal is not INVALID_ARGUMENT", st.ToString());
  }
  sb::fuzz::CheckErrorMessage(kTarget, st.message());
  if (st.message().rfind("field ", 0) != 0) {
    sb::fuzz::Die(kTarget, "refusal does not name its field", st.message());
  }
}

void RunSubmit(const uint8_t* data, size_t size) {
  Run<pb::SubmitContactRequest>(data, size);
  pb::SubmitContactRequest r;
  if (!r.ParseFromArray(data, static_cast<int>(size)) || !TheValidator().Check(r).ok()) return;
  if (TheValidator().DomainOfQueue(r.contact().queue()).empty()) {
    sb::fuzz::Die(kTarget, "accepted a contact of an unknown queue", r.DebugString());
  }
  if (r.contact().idempotency_key().empty()) {
    sb::fuzz::Die(kTarget, "accepted a contact without an idempotency key", r.DebugString());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > sb::fuzz::kMaxInputBytes) return 0;
  const uint8_t* body = data + 1;
  const size_t n = size - 1;
  switch (data[0] % 16) {
    case 0:
      RunSubmit(body, n);
      break;
    case 1:
      Run<pb::GetContactRequest>(body, n);
      break;
    case 2:
      Run<pb::CancelContactRequest>(body, n);
      break;
    case 3:
      Run<pb::WatchContactRequest>(body, n);
      break;
    case 4:
      Run<pb::TransferContactRequest>(body, n);
      break;
    case 5:
      Run<pb::AgentRequest>(body, n);
      break;
    case 6:
      Run<pb::CreateFollowUpRequest>(body, n);
      break;
    case 7:
      Run<pb::ListFollowUpsRequest>(body, n);
      break;
    case 8:
      Run<pb::CancelFollowUpRequest>(body, n);
      break;
    case 9:
      Run<pb::RecordOutcomeRequest>(body, n);
      break;
    case 10:
      Run<pb::GetConfigRequest>(body, n);
      break;
    case 11:
      Run<pb::ApplyConfigRequest>(body, n);
      break;
    case 12:
      Run<pb::QueueStatsRequest>(body, n);
      break;
    case 13:
      Run<pb::ListAgentsRequest>(body, n);
      break;
    case 14:
      Run<pb::DrainRequest>(body, n);
      break;
    case 15:
      Run<pb::ReportRequest>(body, n);
      break;
  }
  return 0;
}
