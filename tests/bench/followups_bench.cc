// Follow-up scheduler benchmark on a real RocksDB (WAL on, sync=false as in production):
//   inserts_per_sec   Submit of 1,000,000 callbacks, each its own committed batch with its
//                     input position (one core, the scheduler's owner thread);
//   fires_per_sec     firing 100,000 due tasks with 1,000,000 pending: commit (task, due index,
//                     outbox), publish, clear outbox, in batches of 1,024;
//   lateness_p50_ms / lateness_p99_ms
//                     real time: 50,000 more tasks due at 20,000/s over 2.5 s, on top of the
//                     pending million; lateness = publish time − due time.
//
//   followups_bench [--smoke] [--results FILE]
//
// Prints a table and writes FILE (JSON, default bench-results/followups.json). Targets (p99 ≤ 100
// ms, ≥ 50k inserts/s) are reported, never enforced. Exit status: 0 measured; 1 a scheduler or
// store error, or a task that never fired; 2 bad command line.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "router/followup/durable_scheduler.h"
#include "support/temp_dir.h"

namespace {

namespace pb = ::switchboard::v1;
namespace fu = ::sb::followup;
using Steady = std::chrono::steady_clock;

constexpr int64_t kStart = 1772416800000;  // 2026-03-02 10:00 Asia/Shanghai (a call window)
constexpr int64_t kHourMs = 3'600'000;

// Manual time for the throughput phases, then real time shifted into a call window.
class BenchClock final : public sb::Clock {
 public:
  int64_t NowMs() const override {
    if (!real_) return manual_ms_;
    return real_base_ +
           std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now() - real_origin_)
               .count();
  }
  void SetManual(int64_t ms) { manual_ms_ = ms; }
  void StartReal(int64_t from_ms) {
    real_ = true;
    real_base_ = from_ms;
    real_origin_ = Steady::now();
  }

 private:
  bool real_ = false;
  int64_t manual_ms_ = kStart, real_base_ = 0;
  Steady::time_point real_origin_;
};

// Records when each attempt reached the sink, against when it was due.
class LatenessSink final : public fu::Sink {
 public:
  explicit LatenessSink(const BenchClock* clock) : clock_(clock) {}
  sb::Status Publish(const pb::Contact& c) override {
    ++published;
    if (sched != nullptr && measure) {
      const pb::FollowUpTask* t = sched->core().Get(c.attributes().at("followup_task"));
      lateness_ms.push_back(clock_->NowMs() - t->attempts().rbegin()->due_at_ms());
    }
    return sb::Status::Ok();
  }
  sb::Result<bool> Contains(std::string_view) override { return false; }

  const fu::DurableScheduler* sched = nullptr;
  bool measure = false;
  uint64_t published = 0;
  std::vector<int64_t> lateness_ms;

 private:
  const BenchClock* clock_;
};

pb::FollowUpRequest Callback(uint64_t i, int64_t due) {
  pb::FollowUpRequest r;
  r.set_request_id("cb-" + std::to_string(i));
  r.set_kind(pb::FOLLOW_UP_KIND_CALLBACK);
  r.set_customer_id("cust-" + std::to_string(i));
  r.set_customer_phone("+86138" + std::to_string(10000000 + i % 89999999));
  r.set_customer_surname("Chen");
  r.set_due_at_ms(due);
  return r;
}

double Seconds(Steady::time_point from) {
  return std::chrono::duration<double>(Steady::now() - from).count();
}

double Percentile(std::vector<int64_t> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  return static_cast<double>(v[k]);
}

int Fail(const char* what, const sb::Status& st) {
  std::fprintf(stderr, "followups_bench: %s: %s\n", what, st.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  bool smoke = false;
  std::string results = "bench-results/followups.json";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--smoke") {
      smoke = true;
    } else if (arg == "--results" && i + 1 < argc) {
      results = argv[++i];
    } else {
      std::fprintf(stderr, "usage: followups_bench [--smoke] [--results FILE]\n");
      return 2;
    }
  }
  const uint64_t pending = smoke ? 20'000 : 1'000'000;
  const uint64_t fire_n = smoke ? 2'000 : 100'000;
  const uint64_t late_n = smoke ? 2'000 : 50'000;
  const double late_rate = smoke ? 2'000 : 20'000;  // due per second in the lateness phase

  // The store's directory, removed on every return.
  std::unique_ptr<sb::testing::TempDir> dir;
  try {
    dir = std::make_unique<sb::testing::TempDir>("sb_fu_bench_");
  } catch (const std::filesystem::filesystem_error& e) {
    return Fail("temp dir", sb::Internal(e.what()));
  }

  auto store = sb::store::Store::Open((dir->path() / "db").string(), {});
  if (!store.ok()) return Fail("open", store.status());
  pb::FollowUpConfig config;
  config.set_max_fires_per_s(0);  // measure the scheduler, not the configured smoothing
  fu::ApplyDefaults(&config);
  BenchClock clock;
  LatenessSink sink(&clock);
  auto opened =
      fu::DurableScheduler::Open(store->get(), *fu::Settings::Resolve(config), &clock, &sink);
  if (!opened.ok()) return Fail("scheduler", opened.status());
  fu::DurableScheduler& sched = **opened;
  sink.sched = &sched;

  // 1. Inserts: fire_n due at 11:00–11:10, the rest two days later (they stay pending).
  const auto t_insert = Steady::now();
  for (uint64_t i = 0; i < pending; ++i) {
    const int64_t due = i < fire_n ? kStart + kHourMs + static_cast<int64_t>(i * 600'000 / fire_n)
                                   : kStart + 48 * kHourMs + static_cast<int64_t>(i % 36'000'000);
    auto id = sched.Submit(Callback(i, due), fu::InputPosition{"bench", i});
    if (!id.ok()) return Fail("submit", id.status());
  }
  const double insert_s = Seconds(t_insert);

  // 2. Fire rate: everything due by 11:10 goes out.
  clock.SetManual(kStart + kHourMs + 600'000);
  const uint64_t before = sink.published;
  const auto t_fire = Steady::now();
  while (true) {
    auto n = sched.Tick();
    if (!n.ok()) return Fail("tick", n.status());
    if (*n == 0) break;
  }
  const double fire_s = Seconds(t_fire);
  const uint64_t fired = sink.published - before;
  if (fired != fire_n) {
    std::fprintf(stderr, "followups_bench: fired %llu of %llu due tasks\n",
                 static_cast<unsigned long long>(fired), static_cast<unsigned long long>(fire_n));
    return 1;
  }

  // 3. Lateness in real time: late_n tasks due at late_rate/s starting 1 s from now.
  clock.StartReal(kStart + 2 * kHourMs);
  const int64_t first_due = clock.NowMs() + 1000 + static_cast<int64_t>(late_n / 100);
  for (uint64_t i = 0; i < late_n; ++i) {
    const int64_t due = first_due + static_cast<int64_t>(static_cast<double>(i) * 1000 / late_rate);
    auto id = sched.Submit(Callback(pending + i, due), fu::InputPosition{"bench", pending + i});
    if (!id.ok()) return Fail("submit", id.status());
  }
  sink.measure = true;
  const auto give_up = Steady::now() + std::chrono::seconds(60);
  while (sink.lateness_ms.size() < late_n && Steady::now() < give_up) {
    auto n = sched.Tick(256);
    if (!n.ok()) return Fail("tick", n.status());
    if (*n == 0) std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  if (sink.lateness_ms.size() != late_n) {
    std::fprintf(stderr, "followups_bench: only %zu of %llu timed tasks fired\n",
                 sink.lateness_ms.size(), static_cast<unsigned long long>(late_n));
    return 1;
  }

  const double inserts_per_sec = static_cast<double>(pending) / insert_s;
  const double fires_per_sec = static_cast<double>(fired) / fire_s;
  const double p50 = Percentile(sink.lateness_ms, 0.50);
  const double p99 = Percentile(sink.lateness_ms, 0.99);
  nlohmann::ordered_json j = {
      {"inserts_per_sec", inserts_per_sec},
      {"fires_per_sec", fires_per_sec},
      {"lateness_p50_ms", p50},
      {"lateness_p99_ms", p99},
      {"lateness_max_ms", Percentile(sink.lateness_ms, 1.0)},
      {"pending_tasks", pending},
      {"fired_in_rate_phase", fired},
      {"timed_tasks", late_n},
      {"timed_due_per_sec", late_rate},
      {"smoke", smoke},
      {"targets",
       {{"lateness_p99_ms_max", 100},
        {"inserts_per_sec_min", 50000},
        {"lateness_pass", p99 <= 100},
        {"inserts_pass", inserts_per_sec >= 50000}}},
  };
  std::printf("followups_bench (%s, RocksDB WAL on, sync=false)\n", smoke ? "smoke" : "full");
  std::printf("  pending tasks          %llu\n", static_cast<unsigned long long>(pending));
  std::printf("  inserts/s              %.0f   (target >= 50000)\n", inserts_per_sec);
  std::printf("  fires/s                %.0f\n", fires_per_sec);
  std::printf("  lateness p50 / p99     %.0f / %.0f ms   (target p99 <= 100)\n", p50, p99);
  std::error_code ec;
  const auto parent = std::filesystem::path(results).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  std::ofstream out(results);
  out << j.dump(2) << "\n";
  out.close();
  if (!out) {
    std::fprintf(stderr, "followups_bench: cannot write %s\n", results.c_str());
    return 1;
  }
  std::printf("results written to %s\n", results.c_str());
  return 0;
}
