#include "tools/drill/drill.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <queue>
#include <set>
#include <thread>

#include "CLI/CLI.hpp"
#include "nlohmann/json.hpp"
#include "router/followup/durable_scheduler.h"
#include "tools/drill/file_sink.h"

namespace sb::drill {
namespace {

namespace pb = ::switchboard::v1;
using followup::DurableScheduler;

constexpr std::string_view kInput = "drill";
constexpr std::string_view kBaseKey = "drill/base_real_ms";
constexpr uint32_t kMaxAttempts = 3;
constexpr int64_t kOutcomeDelayMs = 50;

struct Flags {
  std::string data_dir, sink_path;
  uint32_t tasks = 10000;
  uint64_t seed = 1;
  int64_t create_span_ms = 5000;  // tasks are created over this long
  int64_t due_spread_ms = 3000;   // each due up to this long after its creation
  double timeout_s = 120;
  bool verify = false;
};

uint64_t Mix(uint64_t x) {  // splitmix64: outcomes and dues are a pure function of (seed, i, n)
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::string TaskId(uint32_t i) { return "drill-" + std::to_string(i); }

pb::AttemptOutcome OutcomeOf(const Flags& f, uint32_t i, uint32_t attempt) {
  switch (Mix(f.seed ^ (uint64_t{i} << 20) ^ attempt) % 10) {
    case 6:
    case 7:
      return pb::ATTEMPT_OUTCOME_NO_ANSWER;
    case 8:
      return pb::ATTEMPT_OUTCOME_BUSY;
    case 9:
      return pb::ATTEMPT_OUTCOME_FAILED;
    default:
      return pb::ATTEMPT_OUTCOME_ANSWERED;
  }
}

// The contacts task i must have published: attempts until one is answered, else all attempts
// and an escalation.
std::vector<std::string> Expected(const Flags& f, uint32_t i) {
  std::vector<std::string> ids;
  for (uint32_t n = 1; n <= kMaxAttempts; ++n) {
    ids.push_back(TaskId(i) + "#" + std::to_string(n));
    if (OutcomeOf(f, i, n) == pb::ATTEMPT_OUTCOME_ANSWERED) return ids;
  }
  ids.push_back(TaskId(i) + "#escalation");
  return ids;
}

pb::FollowUpRequest RequestOf(const Flags& f, uint32_t i, int64_t created_ms) {
  pb::FollowUpRequest r;
  r.set_request_id(TaskId(i));
  const bool gap = Mix(f.seed + i) % 4 == 0;
  r.set_kind(gap ? pb::FOLLOW_UP_KIND_KNOWLEDGE_GAP : pb::FOLLOW_UP_KIND_CALLBACK);
  r.set_customer_id("c" + std::to_string(i));
  r.set_customer_phone("+86138" + std::to_string(10000000 + i));
  r.set_customer_surname("Li");
  r.set_due_at_ms(created_ms + static_cast<int64_t>(Mix(f.seed * 31 + i) % f.due_spread_ms));
  return r;
}

followup::Settings DrillSettings() {
  pb::FollowUpConfig c;
  c.mutable_retry()->set_max_attempts(kMaxAttempts);
  c.mutable_retry()->set_initial_backoff_s(1);
  c.mutable_retry()->set_max_backoff_s(2);
  c.set_max_fires_per_s(0);
  followup::ApplyDefaults(&c);
  return *followup::Settings::Resolve(c);
}

// Drill time: a fixed weekday 10:00 in Shanghai (inside call windows) plus the real time since
// the drill first started, kept in the store so restarts continue the same timeline.
class DrillClock final : public Clock {
 public:
  explicit DrillClock(int64_t base_real_ms) : base_real_ms_(base_real_ms) {}
  int64_t NowMs() const override { return kStartMs + real_.NowMs() - base_real_ms_; }
  static constexpr int64_t kStartMs = 1772416800000;  // 2026-03-02 10:00 +08:00

 private:
  SystemClock real_;
  int64_t base_real_ms_;
};

int Fail(const std::string& what, const Status& st, int code) {
  std::fprintf(stderr, "switchboard followup-drill: %s: %s\n", what.c_str(), st.message().c_str());
  return code;
}

int Run(const Flags& f) {
  Result<std::unique_ptr<store::Store>> store = store::Store::Open(f.data_dir, {});
  if (!store.ok()) return Fail("data dir", store.status(), 2);
  Result<std::optional<std::string>> base = (*store)->Meta(kBaseKey);
  if (!base.ok()) return Fail("data dir", base.status(), 2);
  int64_t base_real_ms;
  if (base->has_value()) {
    base_real_ms = static_cast<int64_t>(store::DecodeBe64(**base));
  } else {
    base_real_ms = SystemClock().NowMs();
    store::Batch b = (*store)->NewBatch();
    b.PutMeta(kBaseKey, store::EncodeBe64(static_cast<uint64_t>(base_real_ms)));
    if (Status st = (*store)->Commit(std::move(b)); !st.ok()) return Fail("commit", st, 1);
  }
  DrillClock clock(base_real_ms);
  Result<std::unique_ptr<FileSink>> sink = FileSink::Open(f.sink_path);
  if (!sink.ok()) return Fail("sink", sink.status(), 2);
  Result<std::unique_ptr<DurableScheduler>> opened =
      DurableScheduler::Open(store->get(), DrillSettings(), &clock, sink->get());
  if (!opened.ok()) return Fail("restore", opened.status(), 2);
  DurableScheduler& sched = **opened;

  Result<std::optional<uint64_t>> pos = (*store)->InputPosition(kInput);
  if (!pos.ok()) return Fail("data dir", pos.status(), 2);
  uint32_t next = pos->has_value() ? static_cast<uint32_t>(**pos + 1) : 0;

  // Outcomes the simulated customers report, kOutcomeDelayMs after each attempt fired. Rebuilt
  // from the tasks still FIRING after a restart.
  using Pending = std::pair<int64_t, std::pair<std::string, uint32_t>>;
  std::priority_queue<Pending, std::vector<Pending>, std::greater<>> outcomes;
  auto expect_outcome = [&](const pb::FollowUpTask& t) {
    if (t.state() != pb::FOLLOW_UP_STATE_FIRING) return;
    const pb::FollowUpAttempt& a = *t.attempts().rbegin();
    outcomes.push({a.fired_at_ms() + kOutcomeDelayMs, {t.id(), a.number()}});
  };
  sched.core().ForEach(expect_outcome);

  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<int64_t>(f.timeout_s * 1000));
  while (true) {
    const int64_t now = clock.NowMs();
    const int64_t elapsed = now - DrillClock::kStartMs;
    while (next < f.tasks && int64_t{next} * f.create_span_ms / f.tasks <= elapsed) {
      Result<std::string> id =
          sched.Submit(RequestOf(f, next, now), followup::InputPosition{std::string(kInput), next});
      if (!id.ok()) return Fail("submit " + TaskId(next), id.status(), 1);
      ++next;
    }
    while (!outcomes.empty() && outcomes.top().first <= now) {
      const auto [task, attempt] = outcomes.top().second;
      outcomes.pop();
      const uint32_t i = static_cast<uint32_t>(std::stoul(task.substr(task.find('-') + 1)));
      Status st = sched.RecordOutcome(task, attempt, OutcomeOf(f, i, attempt), "drill-agent", "");
      if (!st.ok()) return Fail("outcome " + task, st, 1);
    }
    Result<size_t> fired = sched.Tick();
    if (!fired.ok()) return Fail("tick", fired.status(), 1);
    for (const pb::Contact& c : sched.last_effects().contacts) {
      if (const pb::FollowUpTask* t = sched.core().Get(c.attributes().at("followup_task"))) {
        expect_outcome(*t);
      }
    }
    // Every task open has a timer, so no timer left means every task ended.
    if (next == f.tasks && !sched.core().NextAtMs().has_value()) break;
    if (std::chrono::steady_clock::now() > deadline) {
      const followup::SchedulerStats s = sched.core().Stats();
      std::fprintf(stderr, "switchboard followup-drill: timed out with %llu pending, %llu firing\n",
                   static_cast<unsigned long long>(s.pending),
                   static_cast<unsigned long long>(s.firing));
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  std::printf("{\"created\":%u,\"published_this_run\":%llu}\n", next,
              static_cast<unsigned long long>(sched.published()));
  return 0;
}

int Verify(const Flags& f) {
  std::ifstream in(f.sink_path);
  if (!in) {
    std::fprintf(stderr, "switchboard followup-drill: %s: cannot read the sink log\n",
                 f.sink_path.c_str());
    return 2;
  }
  std::map<std::string, int> seen;
  uint64_t lines = 0;
  for (std::string line; std::getline(in, line);) {
    ++seen[line];
    ++lines;
  }
  uint64_t duplicates = 0, missing = 0, unexpected = 0, escalated = 0;
  std::set<std::string> expected_all;
  for (uint32_t i = 0; i < f.tasks; ++i) {
    const std::vector<std::string> ids = Expected(f, i);
    if (ids.back().ends_with("#escalation")) ++escalated;
    for (const std::string& id : ids) {
      expected_all.insert(id);
      auto it = seen.find(id);
      if (it == seen.end()) {
        ++missing;
      } else if (it->second > 1) {
        duplicates += it->second - 1;
      }
    }
  }
  for (const auto& [id, n] : seen) unexpected += expected_all.count(id) ? 0 : 1;

  store::OpenOptions ro;
  ro.create_if_missing = false;
  ro.read_only = true;
  Result<std::unique_ptr<store::Store>> store = store::Store::Open(f.data_dir, ro);
  if (!store.ok()) return Fail("data dir", store.status(), 2);
  uint64_t tasks = 0, not_ended = 0, wrong_attempts = 0;
  Status st = (*store)->ForEachFollowUp([&](pb::FollowUpTask&& t) {
    ++tasks;
    if (!followup::IsEnded(t.state())) ++not_ended;
    const uint32_t i = static_cast<uint32_t>(std::stoul(t.id().substr(t.id().find('-') + 1)));
    const std::vector<std::string> ids = Expected(f, i);
    const int attempts =
        static_cast<int>(ids.size()) - (ids.back().ends_with("#escalation") ? 1 : 0);
    if (t.attempts_size() != attempts) ++wrong_attempts;
  });
  if (!st.ok()) return Fail("data dir", st, 2);
  nlohmann::json j = {{"tasks", tasks},
                      {"expected_tasks", f.tasks},
                      {"published", lines},
                      {"expected_published", expected_all.size()},
                      {"duplicates", duplicates},
                      {"missing", missing},
                      {"unexpected", unexpected},
                      {"not_ended", not_ended},
                      {"wrong_attempts", wrong_attempts},
                      {"escalated", escalated}};
  std::printf("%s\n", j.dump().c_str());
  const bool ok = tasks == f.tasks && duplicates == 0 && missing == 0 && unexpected == 0 &&
                  not_ended == 0 && wrong_attempts == 0;
  return ok ? 0 : 1;
}

}  // namespace

int Main(int argc, char** argv) {
  CLI::App app{
      "Follow-up crash drill: create and fire follow-ups through a durable sink log; "
      "kill it with SIGKILL and restart it on the same data dir, then --verify.",
      "switchboard followup-drill"};
  Flags f;
  app.add_option("--data-dir", f.data_dir, "state store directory")->required();
  app.add_option("--sink-log", f.sink_path, "durable log of published contact ids")->required();
  app.add_option("--tasks", f.tasks, "follow-up tasks to create (10000)")
      ->check(CLI::Range(1u, 10000000u));
  app.add_option("--seed", f.seed, "seed of dues and outcomes (1)");
  app.add_option("--create-span-ms", f.create_span_ms, "tasks are created over this long (5000)")
      ->check(CLI::Range(int64_t{1}, int64_t{3600000}));
  app.add_option("--due-spread-ms", f.due_spread_ms, "due up to this long after creation (3000)")
      ->check(CLI::Range(int64_t{1}, int64_t{3600000}));
  app.add_option("--timeout-s", f.timeout_s, "give up after this long (120)")
      ->check(CLI::Range(1.0, 3600.0));
  app.add_flag("--verify", f.verify, "check the sink log and the store instead of running");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  return f.verify ? Verify(f) : Run(f);
}

}  // namespace sb::drill
