// Fuzz target: what a router shard reads from Kafka. The first byte picks the input: even → the
// rest is a RoutingEvent of sb.contacts / sb.agent-events (follow-up commands go to the shard's
// follow-up scheduler, the rest to the routing engine, as Shard::OnInput does); odd → the rest is
// a changelog record (key, 0 byte, value) fed to the changelog reader after a claim. Errors are
// fine; crashes, unreadable error messages and state that cannot be rebuilt are not.
#include <google/protobuf/stubs/logging.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/config/config.h"
#include "router/engine/engine.h"
#include "router/shard/changelog.h"
#include "router/shard/followups.h"
#include "tests/fuzz/fuzz_checks.h"

constexpr char kTarget[] = "shard_input_fuzz";

namespace {

namespace pb = ::switchboard::v1;
namespace shard = ::sb::shard;

constexpr char kConfig[] = R"(
skills: [{name: general}]
domains: [{name: d00}, {name: d01}]
queues:
  - {name: callbacks, domain: d00, strategy: LONGEST_IDLE, offer_timeout_s: 30, max_wait_s: 60,
     required_skills: [{skill: general, min_proficiency: 1}]}
  - {name: complaints, domain: d00, strategy: LONGEST_IDLE, offer_timeout_s: 30}
  - {name: return-visits, domain: d00, strategy: LONGEST_IDLE, offer_timeout_s: 30}
  - {name: team-lead, domain: d01, strategy: LONGEST_IDLE, offer_timeout_s: 30}
  - {name: management, domain: d01, strategy: LONGEST_IDLE, offer_timeout_s: 30}
)";

void FuzzEvent(std::string_view bytes) {
  pb::RoutingEvent event;
  if (!event.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return;
  static const pb::RoutingConfig config = *sb::config::ParseRoutingConfig(kConfig);
  static const sb::followup::Settings settings =
      *sb::followup::Settings::Resolve(*sb::followup::ParseConfig("{}"));
  sb::ManualClock clock(1772416800000);  // 2026-03-02 10:00 Asia/Shanghai
  auto followups = shard::FollowUps::Restore(&settings, &config, &clock, 0, 4, {}, {});
  if (!followups.ok()) sb::fuzz::Die(kTarget, "empty restore failed", "");
  auto engine = sb::engine::Engine::Create(config, &clock);
  if (!engine.ok()) sb::fuzz::Die(kTarget, "engine", engine.status().message());
  sb::engine::Decisions out;
  for (int round = 0; round < 3; ++round) {  // repeats must be harmless
    sb::Status st;
    if (event.has_follow_up()) {
      st = (*followups)->OnCommand(event.follow_up());
    } else {
      if (event.has_contact_arrived() && !(*followups)->Admit(event.contact_arrived().contact())) {
        continue;
      }
      st = (*engine)->Apply(event, &out);
      if (st.ok() && event.has_wrap_up_done()) (*followups)->OnWrapUp(event.wrap_up_done());
    }
    if (!st.ok()) sb::fuzz::CheckErrorMessage(kTarget, st.message());
    clock.AdvanceMs(3600'000);
    (*followups)->Tick(256);
    for (const pb::Contact& c : (*followups)->TakeContacts()) {
      (*engine)->ContactArrived(c, &out).IgnoreError();  // refusals are the engine's to name
    }
    (*followups)->TakeForwards();
    (*followups)->TakeEntries();
  }
}

void FuzzChangelog(std::string_view bytes) {
  const size_t nul = bytes.find('\0');
  sb::kafka::Record r;
  r.topic = "sb.router-changelog";
  r.offset = 1;
  r.key = std::string(bytes.substr(0, nul));
  if (nul != std::string_view::npos) r.value = std::string(bytes.substr(nul + 1));
  r.headers.push_back(sb::kafka::EpochHeader(1));
  shard::ChangelogState state;
  pb::EpochClaim claim;
  claim.set_epoch(1);
  sb::kafka::Record c;
  c.offset = 0;
  c.key = shard::ClaimKey(1);
  c.value = claim.SerializeAsString();
  c.headers.push_back(sb::kafka::EpochHeader(1));
  if (!state.Apply(c).ok()) sb::fuzz::Die(kTarget, "claim refused", "");
  sb::Status st = state.Apply(r);
  if (!st.ok()) sb::fuzz::CheckErrorMessage(kTarget, st.message());
  sb::kafka::Record meta;
  meta.offset = 2;
  meta.key = shard::kMetaKey;
  meta.value = pb::ShardMeta().SerializeAsString();
  meta.headers.push_back(sb::kafka::EpochHeader(1));
  if (!state.Apply(meta).ok()) sb::fuzz::Die(kTarget, "meta refused", "");
  // Malformed committed records are named when the state is rebuilt, never a crash.
  for (sb::Status s : {state.ToEngineState().status(), state.ToFollowUpState().status(),
                       state.ToForwards().status()}) {
    if (!s.ok()) sb::fuzz::CheckErrorMessage(kTarget, s.message());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = (google::protobuf::SetLogHandler(nullptr), true);
  (void)quiet;
  if (size == 0 || size > sb::fuzz::kMaxInputBytes) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    FuzzEvent(rest);
  } else {
    FuzzChangelog(rest);
  }
  return 0;
}
