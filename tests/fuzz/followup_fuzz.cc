// Fuzz target: the follow-up scheduler's outside inputs. The first byte picks the input: even →
// the rest is a follow-up config (YAML/JSON); odd → the rest is a FollowUpRequest in protobuf
// wire format, submitted to a scheduler and run for two simulated days. Errors are fine; crashes,
// unreadable error messages, an accepted config that fails validation, an accepted request with
// no task, or a customer call fired in quiet hours are not.
#include <google/protobuf/stubs/logging.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "router/followup/scheduler.h"
#include "tests/fuzz/fuzz_checks.h"

constexpr char kTarget[] = "followup_fuzz";

namespace {

namespace fu = ::sb::followup;
namespace pb = ::switchboard::v1;

void FuzzConfig(std::string_view text) {
  auto parsed = fu::ParseConfig(text);
  if (!parsed.ok()) {
    sb::fuzz::CheckErrorMessage(kTarget, parsed.status().message());
    return;
  }
  auto settings = fu::Settings::Resolve(*parsed);
  if (!settings.ok())
    sb::fuzz::Die(kTarget, "accepted config does not resolve", settings.status().message());
}

void FuzzRequest(std::string_view bytes) {
  // Invalid UTF-8 in a string field is a parse failure; protobuf also logs it, which floods runs.
  static const bool quiet = (google::protobuf::SetLogHandler(nullptr), true);
  (void)quiet;
  pb::FollowUpRequest request;
  if (!request.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return;
  pb::FollowUpConfig config;
  fu::ApplyDefaults(&config);
  static const fu::Settings settings = *fu::Settings::Resolve(config);
  sb::ManualClock clock(1772416800000);  // 2026-03-02 10:00 Asia/Shanghai
  auto sched = fu::Scheduler::Create(settings, &clock);
  fu::Effects fx;
  auto id = sched->Submit(request, &fx);
  if (!id.ok()) {
    sb::fuzz::CheckErrorMessage(kTarget, id.status().message());
    return;
  }
  if (sched->Get(*id) == nullptr) sb::fuzz::Die(kTarget, "accepted request has no task", *id);
  absl::TimeZone zone;
  for (int step = 0; step < 200; ++step) {
    clock.AdvanceMs(15 * 60'000);
    fx.Clear();
    sched->Tick(&fx);
    for (const pb::Contact& c : fx.contacts) {
      const pb::FollowUpTask* t = sched->Get(c.attributes().at("followup_task"));
      if (c.channel() != pb::CHANNEL_CALLBACK) continue;
      if (!fu::LoadZone(t->time_zone()).ok())
        sb::fuzz::Die(kTarget, "task with a bad zone", t->id());
      if (!settings.windows.Allowed(clock.NowMs(), *fu::LoadZone(t->time_zone()))) {
        sb::fuzz::Die(kTarget, "customer call fired in quiet hours", c.id());
      }
      auto st = sched->RecordOutcome(t->id(), static_cast<uint32_t>(t->attempts_size()),
                                     pb::ATTEMPT_OUTCOME_NO_ANSWER, "", "", &fx);
      if (!st.ok()) sb::fuzz::Die(kTarget, "outcome of a fired attempt refused", st.ToString());
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > sb::fuzz::kMaxInputBytes) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    FuzzConfig(rest);
  } else {
    FuzzRequest(rest);
  }
  return 0;
}
