// Routing-engine benchmark: steady-state decisions/s and decision latency percentiles with 50k
// agents, 100 queues, 20 skills and 100k waiting contacts; heap bytes per waiting contact and per
// agent. See tests/bench/README.md for the method and the meaning of every figure.
//
//   engine_bench [--smoke] [--results FILE] [--iterations N] [--benchmark_* flags]
//
// Prints a table and writes FILE (JSON, default bench-results/engine.json). Targets are reported
// (target_* and targets.*.pass), never enforced: a benchmark on a shared machine measures, it does
// not fail. Exit status: 0 = measured; 1 = the engine returned an error where none was expected,
// or behaved unlike the model below (e.g. a freed agent got no offer), or FILE could not be
// written; 2 = bad command line.
//
// Thread: single-threaded, like the engine it drives.
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
// From <sanitizer/allocator_interface.h>, which GCC does not install on every distribution.
extern "C" size_t __sanitizer_get_current_allocated_bytes();
#endif

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/config/config.h"
#include "router/engine/engine.h"

namespace {

namespace pb = ::switchboard::v1;
using sb::engine::Decision;
using sb::engine::Decisions;
using sb::engine::Engine;

// ------------------------------------------------------------------------------------------------
// Shapes and targets

struct Shape {
  const char* mode;
  int agents;
  int queues;
  int skills;
  int waiting;
  int64_t iterations;  // timed iterations per scenario (each one yields one decision)
  double max_seconds;  // per scenario; whichever of iterations / seconds comes first
  int64_t warmup;      // untimed iterations before each timed loop
};

constexpr Shape kFull{"full", 50'000, 100, 20, 100'000, 1'000'000, 30.0, 20'000};
// Small enough for the ctest smoke run to take a few seconds under ASan+UBSan.
constexpr Shape kSmoke{"smoke", 2'000, 10, 20, 4'000, 20'000, 5.0, 1'000};

constexpr double kTargetDecisionsPerSec = 1'000'000;
constexpr double kTargetP99Ns = 50'000;
constexpr double kTargetBytesPerContact = 1024;
constexpr double kTargetBytesPerAgent = 2048;

// Offers are accepted at once, so the offer timeout never acts; it only decides how long the stale
// timer of each offer sits in the engine's heap (60 s = 60k iterations at 1 ms per iteration).
constexpr double kOfferTimeoutS = 60;
constexpr int64_t kStartMs = 1'700'000'000'000;
constexpr int64_t kStepMs = 1;  // ManualClock advance per iteration
constexpr uint64_t kSeed = 20'240'601;

// ------------------------------------------------------------------------------------------------
// Small utilities

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "engine_bench: %s\n", what.c_str());
  std::fflush(stdout);
  std::exit(1);
}

void Check(const sb::Status& st, const char* what) {
  if (!st.ok()) Fail(std::string(what) + " failed: " + st.ToString());
}

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

int64_t ThreadCpuNs() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// Heap bytes in use. glibc: uordblks (arena chunks in use, headers included) + hblkhd (chunks
// served by mmap: every allocation above the mmap threshold, e.g. the engine's big vectors and
// hash tables, which uordblks alone would miss). Under ASan the sanitizer's allocator serves
// malloc, so ask it instead.
int64_t HeapBytes() {
#if defined(__SANITIZE_ADDRESS__)
  return static_cast<int64_t>(__sanitizer_get_current_allocated_bytes());
#else
  const struct mallinfo2 mi = mallinfo2();
  return static_cast<int64_t>(mi.uordblks + mi.hblkhd);
#endif
}

// Resident set size, for comparison: capacity that was reserved but never touched is not resident.
int64_t RssBytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  long pages_total = 0, pages_resident = 0;
  const int n = std::fscanf(f, "%ld %ld", &pages_total, &pages_resident);
  std::fclose(f);
  return n == 2 ? int64_t{pages_resident} * sysconf(_SC_PAGESIZE) : 0;
}

struct MemMark {
  int64_t heap, rss;
  static MemMark Now() { return {HeapBytes(), RssBytes()}; }
};

// xorshift64*: cheap enough to sit inside the timed loop without showing in it.
class FastRng {
 public:
  explicit FastRng(uint64_t seed) : s_(seed ? seed : 1) {}
  uint64_t Next() {
    s_ ^= s_ >> 12;
    s_ ^= s_ << 25;
    s_ ^= s_ >> 27;
    return s_ * 0x2545F4914F6CDD1DULL;
  }
  // Uniform in [0, n) (Lemire's multiply-shift; the bias is negligible here).
  uint32_t Below(uint32_t n) {
    return static_cast<uint32_t>(((Next() >> 32) * static_cast<uint64_t>(n)) >> 32);
  }

 private:
  uint64_t s_;
};

// Writes `prefix` + `n` as exactly `width` decimal digits (zero-padded; n < 10^width) at the
// start of `out`, which keeps its other bytes: `out` is sized once and then stamped in place, so
// the harness spends next to nothing on ids inside the timed loop.
void StampId(std::string* out, char prefix, uint64_t n, int width) {
  const size_t len = static_cast<size_t>(width) + 1;
  if (out->size() < len) out->resize(len);
  char* p = out->data();
  p[0] = prefix;
  for (int i = width; i >= 1; --i) {
    p[i] = static_cast<char>('0' + n % 10);
    n /= 10;
  }
}

// Agent ids are "a" + index: parsing one back is cheaper than a hash map in the hot loop.
uint32_t AgentIndex(std::string_view id) {
  uint32_t v = 0;
  if (id.size() < 2 || std::from_chars(id.data() + 1, id.data() + id.size(), v).ec != std::errc{})
    Fail("unexpected agent id in a decision: " + std::string(id));
  return v;
}

struct Percentiles {
  double p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0, mean = 0;
};

// Nearest-rank percentiles. Sorts `v`.
Percentiles ComputePercentiles(std::vector<int64_t>& v) {
  Percentiles p;
  if (v.empty()) return p;
  std::sort(v.begin(), v.end());
  auto rank = [&](double q) {
    size_t k = static_cast<size_t>(q * static_cast<double>(v.size()) + 0.999999);
    k = std::clamp<size_t>(k, 1, v.size());
    return static_cast<double>(v[k - 1]);
  };
  p.p50 = rank(0.50);
  p.p90 = rank(0.90);
  p.p99 = rank(0.99);
  p.p999 = rank(0.999);
  p.max = static_cast<double>(v.back());
  double sum = 0;
  for (int64_t x : v) sum += static_cast<double>(x);
  p.mean = sum / static_cast<double>(v.size());
  return p;
}

// ------------------------------------------------------------------------------------------------
// The world: config, queues and agents, generated once from a fixed seed.

struct QueueModel {
  std::string name;
  std::vector<std::pair<int, int>> reqs;  // (skill, min proficiency)
};

struct Model {
  Shape shape;
  pb::RoutingConfig config;
  std::vector<QueueModel> queues;
  std::vector<pb::Agent> agents;
  std::vector<std::vector<int>> eligible;  // agent → queues whose requirement it meets
};

std::string SkillName(int s) { return "skill-" + std::to_string(s); }

// 20 skills; every queue needs 1–2 distinct skills at minimum proficiency 1–3; strategies rotate
// longest-idle / least-occupied / best-skill; no after-contact work (acw_limit 0), so ContactEnded
// frees the agent at once; no bullseye, no max wait. All contacts are voice (exclusive), so an
// agent holds one contact at a time. Agents hold 4–6 distinct skills at proficiency 1–5 and each
// meets at least one queue; agent q < queues is built to meet queue q, so every queue is staffed.
Model MakeModel(const Shape& shape) {
  Model m;
  m.shape = shape;
  std::mt19937_64 rng(kSeed);
  auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  auto distinct_skills = [&](int n) {
    std::vector<int> all(static_cast<size_t>(shape.skills));
    for (int s = 0; s < shape.skills; ++s) all[static_cast<size_t>(s)] = s;
    for (int i = 0; i < n; ++i)
      std::swap(all[static_cast<size_t>(i)],
                all[static_cast<size_t>(uniform(i, shape.skills - 1))]);
    all.resize(static_cast<size_t>(n));
    return all;
  };

  pb::RoutingConfig& cfg = m.config;
  for (int s = 0; s < shape.skills; ++s) cfg.add_skills()->set_name(SkillName(s));
  cfg.add_domains()->set_name("bench");
  const pb::Strategy strategies[] = {pb::STRATEGY_LONGEST_IDLE, pb::STRATEGY_LEAST_OCCUPIED,
                                     pb::STRATEGY_BEST_SKILL};
  for (int q = 0; q < shape.queues; ++q) {
    QueueModel qm;
    qm.name = "queue-" + std::to_string(q);
    for (int s : distinct_skills(uniform(1, 2))) qm.reqs.emplace_back(s, uniform(1, 3));
    pb::QueueDef* qd = cfg.add_queues();
    qd->set_name(qm.name);
    qd->set_domain("bench");
    qd->set_strategy(strategies[q % 3]);
    for (const auto& [skill, min] : qm.reqs) {
      auto* r = qd->add_required_skills();
      r->set_skill(SkillName(skill));
      r->set_min_proficiency(static_cast<uint32_t>(min));
    }
    qd->set_service_level_threshold_s(20);
    qd->set_service_level_target(0.8);
    qd->set_priority_aging_s(60);
    qd->set_offer_timeout_s(kOfferTimeoutS);
    qd->set_acw_limit_s(0);
    qd->set_max_wait_s(0);
    m.queues.push_back(std::move(qm));
  }
  cfg.mutable_capacity()->set_agent_units(100);  // channel costs: the defaults (voice 100)
  sb::config::ApplyDefaults(&cfg);
  Check(sb::config::Validate(cfg), "config validation");

  std::vector<int> prof(static_cast<size_t>(shape.skills));
  auto meets = [&](const QueueModel& q) {
    for (const auto& [skill, min] : q.reqs) {
      if (prof[static_cast<size_t>(skill)] < min) return false;
    }
    return true;
  };
  m.agents.reserve(static_cast<size_t>(shape.agents));
  m.eligible.resize(static_cast<size_t>(shape.agents));
  std::string id;
  for (int a = 0; a < shape.agents; ++a) {
    std::vector<int> eligible;
    for (int attempt = 0; eligible.empty(); ++attempt) {
      std::fill(prof.begin(), prof.end(), 0);
      const int n = uniform(4, 6);
      // Agent a < queues starts from queue a's skills (at or above its minimum); others retry
      // until they meet some queue (after 1000 tries they too start from a queue's skills).
      const bool seeded = a < shape.queues || attempt >= 1000;
      int have = 0;
      if (seeded) {
        const QueueModel& q =
            m.queues[static_cast<size_t>(a < shape.queues ? a : uniform(0, shape.queues - 1))];
        for (const auto& [skill, min] : q.reqs) {
          prof[static_cast<size_t>(skill)] = uniform(min, 5);
          ++have;
        }
      }
      for (int s : distinct_skills(shape.skills)) {
        if (have >= n) break;
        if (prof[static_cast<size_t>(s)] != 0) continue;
        prof[static_cast<size_t>(s)] = uniform(1, 5);
        ++have;
      }
      for (int q = 0; q < shape.queues; ++q) {
        if (meets(m.queues[static_cast<size_t>(q)])) eligible.push_back(q);
      }
    }
    pb::Agent& agent = m.agents.emplace_back();
    id.clear();
    StampId(&id, 'a', static_cast<uint64_t>(a), 6);
    agent.set_id(id);
    agent.set_domain("bench");
    for (int s = 0; s < shape.skills; ++s) {
      if (prof[static_cast<size_t>(s)] == 0) continue;
      auto* l = agent.add_skills();
      l->set_skill(SkillName(s));
      l->set_proficiency(static_cast<uint32_t>(prof[static_cast<size_t>(s)]));
    }
    m.eligible[static_cast<size_t>(a)] = std::move(eligible);
  }
  return m;
}

// ------------------------------------------------------------------------------------------------
// Harness: one engine, a manual clock, and what each agent holds.

struct Anomalies {
  int64_t freed_without_offer = 0;    // steady state: ContactEnded offered nothing
  int64_t arrival_without_offer = 0;  // arrival routing: ContactArrived found nobody
  int64_t unexpected_decisions = 0;   // any decision the scenario does not predict
};

class Harness {
 public:
  explicit Harness(const Model& model) : model_(model), clock_(kStartMs), rng_(kSeed) {
    auto e = Engine::Create(model.config, &clock_);
    Check(e.status(), "Engine::Create");
    engine_ = std::move(e).value();
    holding_.resize(model.agents.size());
    for (auto& h : holding_) h.reserve(15);
    out_.reserve(64);
    side_.reserve(64);
    contact_.set_channel(pb::CHANNEL_VOICE);
    contact_.set_origin(pb::ORIGIN_EXTERNAL);
  }

  Engine& engine() { return *engine_; }
  sb::ManualClock& clock() { return clock_; }
  const Anomalies& anomalies() const { return anomalies_; }
  int64_t offers() const { return offers_; }
  size_t busy() const { return busy_; }

  // Logs every agent in, ready, accepting whatever it is offered.
  void LoginAll() {
    for (const pb::Agent& a : model_.agents) {
      out_.clear();
      Check(engine_->AgentLogin(a, /*ready=*/true, &out_), "AgentLogin");
      Absorb(out_);
    }
  }

  // A new contact arrives in `queue` (a name); its decisions are left in out_.
  const Decisions& Arrive(const std::string& queue) {
    FillContact(queue);
    out_.clear();
    Check(engine_->ContactArrived(contact_, &out_), "ContactArrived");
    return out_;
  }
  const std::string& QueueName(int q) const { return model_.queues[static_cast<size_t>(q)].name; }

  // Accepts every offer in `ds` at once and books it on the agent.
  void Absorb(const Decisions& ds) {
    for (const Decision& d : ds) {
      if (d.type != pb::DECISION_OFFER) {
        ++anomalies_.unexpected_decisions;
        continue;
      }
      Accept(d);
    }
  }

  // --- setup of the steady-state world (see RunSteadyScenario for the memory marks) ---

  // One contact per queue with nobody logged in: creates every requirement signature while it
  // costs nothing, so that agents pay for their place in the signatures when they log in.
  void PrimeSignatures() {
    for (int q = 0; q < model_.shape.queues; ++q) {
      if (!Arrive(QueueName(q)).empty()) Fail("a contact was offered with no agent logged in");
    }
  }

  // Occupies every agent: while agent a is idle, a contact arrives in a queue a can serve; the
  // engine gives it to that queue's best ready agent (a or another), who accepts.
  void OccupyAllAgents() {
    for (size_t a = 0; a < holding_.size(); ++a) {
      const auto& queues = model_.eligible[a];
      for (size_t i = 0; holding_[a].empty(); ++i) {
        const Decisions& ds = Arrive(QueueName(queues[i % queues.size()]));
        if (ds.size() != 1 || ds[0].type != pb::DECISION_OFFER)
          Fail("an arrival in a queue with a ready agent was not offered at once");
        Accept(ds[0]);
      }
    }
  }

  // With every agent busy, `n` contacts arrive in uniformly random queues and wait.
  void AddWaiting(int n) {
    for (int i = 0; i < n; ++i) {
      if (!Arrive(
               QueueName(static_cast<int>(rng_.Below(static_cast<uint32_t>(model_.shape.queues)))))
               .empty())
        Fail("a contact was offered while every agent was busy");
    }
  }

  // Moves the clock past the offer timeout of the setup's offers and fires their (stale) timers
  // now, so that the timed loop does not meet all of them in one call.
  void DrainSetupTimers() {
    clock_.AdvanceMs(static_cast<int64_t>(kOfferTimeoutS * 1000) + 1);
    out_.clear();
    engine_->Tick(&out_);
    if (!out_.empty()) Fail("setup timers made decisions; offers should all have been accepted");
  }

  // --- the two scenarios' iterations ---

  // Steady state: a random busy agent's contact ends; the engine offers the agent the best contact
  // waiting for it (the measured decision); the agent accepts; a new contact arrives in the queue
  // the taken one came from, so every queue's backlog stays level. Returns the ContactEnded
  // latency in ns, or -1 if no offer came of it.
  int64_t SteadyStep() {
    uint32_t a = PickBusy();
    out_.clear();
    const int64_t t0 = NowNs();
    Check(engine_->ContactEnded(holding_[a], &out_), "ContactEnded");
    const int64_t t1 = NowNs();
    holding_[a].clear();
    --busy_;
    int64_t latency = -1;
    if (out_.size() == 1 && out_[0].type == pb::DECISION_OFFER &&
        AgentIndex(out_[0].agent_id) == a) {
      latency = t1 - t0;
      const Decision& d = out_[0];
      Accept(d, a);
      Arrive(std::string(d.queue));
      if (!out_.empty()) {
        ++anomalies_.unexpected_decisions;
        side_.swap(out_);
        Absorb(side_);
      }
    } else {
      ++anomalies_.freed_without_offer;
      side_.swap(out_);
      Absorb(side_);
    }
    clock_.AdvanceMs(kStepMs);
    return latency;
  }

  // Arrival routing: a contact arrives in queue `q` (default: a random one) and takes the best
  // ready agent (the measured decision); the agent accepts; the contact ends and the agent, finding
  // nothing waiting, is ready again. Returns the ContactArrived latency in ns, or -1 if no offer
  // came of it.
  int64_t ArrivalStep(int q = -1) {
    if (q < 0) q = static_cast<int>(rng_.Below(static_cast<uint32_t>(model_.shape.queues)));
    FillContact(QueueName(q));
    out_.clear();
    const int64_t t0 = NowNs();
    Check(engine_->ContactArrived(contact_, &out_), "ContactArrived");
    const int64_t t1 = NowNs();
    int64_t latency = -1;
    if (out_.size() == 1 && out_[0].type == pb::DECISION_OFFER) {
      latency = t1 - t0;
      const uint32_t a = Accept(out_[0]);
      side_.clear();
      Check(engine_->ContactEnded(holding_[a], &side_), "ContactEnded");
      holding_[a].clear();
      --busy_;
      if (!side_.empty()) {
        ++anomalies_.unexpected_decisions;
        out_.swap(side_);
        Absorb(out_);
      }
    } else {
      ++anomalies_.arrival_without_offer;
      side_.swap(out_);
      Absorb(side_);
    }
    clock_.AdvanceMs(kStepMs);
    return latency;
  }

 private:
  // The next contact, as a channel adapter sends a call: id, idempotency key, customer, creation
  // time, queue; one in ten is urgent and one in five internal.
  void FillContact(const std::string& queue) {
    ++next_contact_;
    StampId(contact_.mutable_id(), 'c', next_contact_, 9);
    std::string* key = contact_.mutable_idempotency_key();
    if (key->empty()) key->assign("k000000000@sbc-1.voice.example.net");
    StampId(key, 'k', next_contact_, 9);
    StampId(contact_.mutable_customer_id(), 'u', next_contact_ % 1'000'000, 7);
    contact_.set_created_at_ms(clock_.NowMs());
    *contact_.mutable_queue() = queue;
    const uint32_t r = rng_.Below(10);
    contact_.set_priority(r == 0 ? pb::PRIORITY_URGENT : pb::PRIORITY_NORMAL);
    contact_.set_origin(r >= 8 ? pb::ORIGIN_INTERNAL : pb::ORIGIN_EXTERNAL);
  }

  // Accepts offer `d` (to agent `a`, parsed from it when not known) and books it; returns `a`.
  uint32_t Accept(const Decision& d, uint32_t known = UINT32_MAX) {
    ++offers_;
    const uint32_t a = known != UINT32_MAX ? known : AgentIndex(d.agent_id);
    if (a >= holding_.size()) Fail("offer to an unknown agent " + d.agent_id);
    if (!holding_[a].empty()) Fail("agent " + d.agent_id + " offered a second voice contact");
    holding_[a] = d.contact_id;
    ++busy_;
    accept_out_.clear();
    Check(engine_->OfferAccepted(d.agent_id, d.contact_id, d.attempt, &accept_out_),
          "OfferAccepted");
    if (!accept_out_.empty()) {
      anomalies_.unexpected_decisions += static_cast<int64_t>(accept_out_.size());
    }
    return a;
  }

  uint32_t PickBusy() {
    if (busy_ == 0) Fail("no busy agent left to free");
    for (;;) {
      const uint32_t a = rng_.Below(static_cast<uint32_t>(holding_.size()));
      if (!holding_[a].empty()) return a;
    }
  }

  const Model& model_;
  sb::ManualClock clock_;
  std::unique_ptr<Engine> engine_;
  FastRng rng_;
  std::vector<std::string> holding_;  // agent → contact it is connected to ("" = none)
  size_t busy_ = 0;
  pb::Contact contact_;  // scratch for arrivals
  uint64_t next_contact_ = 0;
  Decisions out_, side_, accept_out_;
  int64_t offers_ = 0;
  Anomalies anomalies_;
};

// ------------------------------------------------------------------------------------------------
// Scenarios

struct LoopResult {
  int64_t iterations = 0;
  int64_t decisions = 0;        // OFFER decisions made during the timed loop
  int64_t measured = 0;         // iterations whose deciding call made the expected offer
  double seconds = 0;           // wall time of the whole loop, all calls included
  double cpu_fraction = 0;      // thread CPU time / wall time (< 1: the thread was descheduled)
  double decision_call_ns = 0;  // sum of the measured calls' latencies
  Percentiles lat;
};

// Runs `step` (returning a latency or -1) for at most shape.iterations iterations or
// shape.max_seconds. Not inlined, so profilers can single it out (callgrind --toggle-collect).
template <typename Step>
__attribute__((noinline)) LoopResult TimedLoop(const Shape& shape, int64_t iterations, Harness& h,
                                               Step step) {
  for (int64_t i = 0; i < shape.warmup; ++i) step();
  std::vector<int64_t> lat(static_cast<size_t>(iterations));
  size_t n = 0;
  LoopResult r;
  const int64_t offers_before = h.offers();
  const int64_t deadline = NowNs() + static_cast<int64_t>(shape.max_seconds * 1e9);
  const int64_t cpu0 = ThreadCpuNs();
  const int64_t start = NowNs();
  int64_t i = 0;
  for (; i < iterations; ++i) {
    const int64_t l = step();
    if (l >= 0) lat[n++] = l;
    if ((i & 1023) == 1023 && NowNs() > deadline) {
      ++i;
      break;
    }
  }
  const int64_t end = NowNs();
  const int64_t cpu1 = ThreadCpuNs();
  lat.resize(n);
  r.iterations = i;
  r.measured = static_cast<int64_t>(n);
  r.decisions = h.offers() - offers_before;
  r.seconds = static_cast<double>(end - start) / 1e9;
  r.cpu_fraction = static_cast<double>(cpu1 - cpu0) / static_cast<double>(end - start);
  for (int64_t x : lat) r.decision_call_ns += static_cast<double>(x);
  r.lat = ComputePercentiles(lat);
  return r;
}

struct SteadyFigures {
  LoopResult loop;
  double bytes_per_agent = 0, bytes_per_contact = 0;
  double rss_bytes_per_agent = 0, rss_bytes_per_contact = 0;
  uint64_t waiting = 0, agents_busy = 0;
  double setup_seconds = 0;
};

SteadyFigures RunSteadyScenario(const Shape& shape, int64_t iterations, Harness& h) {
  SteadyFigures f;
  const int64_t t0 = NowNs();
  h.PrimeSignatures();
  const MemMark before_agents = MemMark::Now();
  h.LoginAll();
  const MemMark after_agents = MemMark::Now();
  h.OccupyAllAgents();
  const MemMark before_waiting = MemMark::Now();
  h.AddWaiting(shape.waiting);
  const MemMark after_waiting = MemMark::Now();
  h.DrainSetupTimers();
  f.setup_seconds = static_cast<double>(NowNs() - t0) / 1e9;

  f.bytes_per_agent = static_cast<double>(after_agents.heap - before_agents.heap) / shape.agents;
  f.rss_bytes_per_agent = static_cast<double>(after_agents.rss - before_agents.rss) / shape.agents;
  f.bytes_per_contact =
      static_cast<double>(after_waiting.heap - before_waiting.heap) / shape.waiting;
  f.rss_bytes_per_contact =
      static_cast<double>(after_waiting.rss - before_waiting.rss) / shape.waiting;

  const sb::engine::Summary before = h.engine().Summarize();
  if (before.waiting != static_cast<uint64_t>(shape.waiting) ||
      before.agents_busy != static_cast<uint64_t>(shape.agents)) {
    Fail("setup left " + std::to_string(before.waiting) + " waiting and " +
         std::to_string(before.agents_busy) + " busy agents");
  }
  f.loop = TimedLoop(shape, iterations, h, [&h] { return h.SteadyStep(); });
  const sb::engine::Summary after = h.engine().Summarize();
  f.waiting = after.waiting;
  f.agents_busy = after.agents_busy;
  return f;
}

LoopResult RunArrivalScenario(const Shape& shape, int64_t iterations, Harness& h) {
  h.LoginAll();
  // The first arrival in a queue ranks every agent for its requirement (the one O(agents) step,
  // paid once per requirement): pay it for every queue before measuring.
  for (int q = 0; q < shape.queues; ++q) {
    if (h.ArrivalStep(q) < 0) Fail("an arrival in " + h.QueueName(q) + " found no ready agent");
  }
  return TimedLoop(shape, iterations, h, [&h] { return h.ArrivalStep(); });
}

// ------------------------------------------------------------------------------------------------
// Google Benchmark views of the same two paths, for --benchmark_filter and comparisons. They run
// after the scenarios, on the scenarios' worlds (left in their steady state).

Harness* g_steady = nullptr;
Harness* g_arrival = nullptr;

// One iteration = ContactEnded (→ one offer) + OfferAccepted + ContactArrived (waits).
void BM_FreedAgentTakesBestContact(benchmark::State& state) {
  if (g_steady == nullptr) {
    state.SkipWithError("steady-state world not built");
    return;
  }
  const int64_t offers_before = g_steady->offers();
  for (auto _ : state) benchmark::DoNotOptimize(g_steady->SteadyStep());
  state.counters["decisions/s"] = benchmark::Counter(
      static_cast<double>(g_steady->offers() - offers_before), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_FreedAgentTakesBestContact);

// One iteration = ContactArrived (→ one offer) + OfferAccepted + ContactEnded (agent ready again).
void BM_ContactArrivedAndRouted(benchmark::State& state) {
  if (g_arrival == nullptr) {
    state.SkipWithError("arrival world not built");
    return;
  }
  const int64_t offers_before = g_arrival->offers();
  for (auto _ : state) benchmark::DoNotOptimize(g_arrival->ArrivalStep());
  state.counters["decisions/s"] = benchmark::Counter(
      static_cast<double>(g_arrival->offers() - offers_before), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ContactArrivedAndRouted);

// ------------------------------------------------------------------------------------------------
// Report

double ClockOverheadNs() {
  std::vector<int64_t> d(2001);
  for (auto& x : d) {
    const int64_t a = NowNs();
    x = NowNs() - a;
  }
  std::nth_element(d.begin(), d.begin() + 1000, d.end());
  return static_cast<double>(d[1000]);
}

nlohmann::ordered_json Report(const Model& model, const SteadyFigures& st, const LoopResult& ar,
                              const Anomalies& steady_anomalies, const Anomalies& arrival_anomalies,
                              double clock_overhead_ns) {
  const Shape& shape = model.shape;
  const LoopResult& l = st.loop;
  const double dps = l.seconds > 0 ? static_cast<double>(l.decisions) / l.seconds : 0;
  // Decisions per second of time spent inside the deciding call only (ContactEnded), i.e. without
  // the accept and arrival calls of each iteration.
  const double call_only =
      l.decision_call_ns > 0 ? static_cast<double>(l.measured) / (l.decision_call_ns / 1e9) : 0;
  const double adps = ar.seconds > 0 ? static_cast<double>(ar.decisions) / ar.seconds : 0;
  nlohmann::ordered_json j;
  j["mode"] = shape.mode;
  j["agents"] = shape.agents;
  j["queues"] = shape.queues;
  j["skills"] = shape.skills;
  j["waiting_contacts"] = st.waiting;
  // How much of the world each agent sees: the engine scans this many queue heads per free agent.
  size_t eligible = 0;
  std::vector<int> staffed(static_cast<size_t>(shape.queues));
  for (const auto& qs : model.eligible) {
    eligible += qs.size();
    for (int q : qs) ++staffed[static_cast<size_t>(q)];
  }
  j["queues_per_agent_avg"] = static_cast<double>(eligible) / shape.agents;
  j["agents_per_queue_min"] = *std::min_element(staffed.begin(), staffed.end());
  j["agents_per_queue_max"] = *std::max_element(staffed.begin(), staffed.end());
  j["iterations"] = l.iterations;
  j["decisions"] = l.decisions;
  j["elapsed_s"] = l.seconds;
  j["decisions_per_sec"] = dps;
  j["decision_call_only_per_sec"] = call_only;
  j["p50_ns"] = l.lat.p50;
  j["p90_ns"] = l.lat.p90;
  j["p99_ns"] = l.lat.p99;
  j["p999_ns"] = l.lat.p999;
  j["max_ns"] = l.lat.max;
  j["mean_ns"] = l.lat.mean;
  j["loop_ns_per_iteration"] =
      l.iterations ? l.seconds * 1e9 / static_cast<double>(l.iterations) : 0;
  j["loop_cpu_fraction"] = l.cpu_fraction;
  j["bytes_per_contact"] = st.bytes_per_contact;
  j["bytes_per_agent"] = st.bytes_per_agent;
  j["rss_bytes_per_contact"] = st.rss_bytes_per_contact;
  j["rss_bytes_per_agent"] = st.rss_bytes_per_agent;
  j["arrival_iterations"] = ar.iterations;
  j["arrival_decisions"] = ar.decisions;
  j["arrival_elapsed_s"] = ar.seconds;
  j["arrival_decisions_per_sec"] = adps;
  j["arrival_p50_ns"] = ar.lat.p50;
  j["arrival_p90_ns"] = ar.lat.p90;
  j["arrival_p99_ns"] = ar.lat.p99;
  j["arrival_p999_ns"] = ar.lat.p999;
  j["arrival_max_ns"] = ar.lat.max;
  j["arrival_cpu_fraction"] = ar.cpu_fraction;
  j["setup_s"] = st.setup_seconds;
  j["clock_overhead_ns"] = clock_overhead_ns;
  j["anomalies"] = {
      {"freed_without_offer", steady_anomalies.freed_without_offer},
      {"arrival_without_offer", arrival_anomalies.arrival_without_offer},
      {"unexpected_decisions",
       steady_anomalies.unexpected_decisions + arrival_anomalies.unexpected_decisions},
  };
  j["target_decisions_per_sec"] = kTargetDecisionsPerSec;
  j["target_p99_ns"] = kTargetP99Ns;
  j["target_bytes_per_contact"] = kTargetBytesPerContact;
  j["target_bytes_per_agent"] = kTargetBytesPerAgent;
  const bool pass_dps = dps >= kTargetDecisionsPerSec;
  const bool pass_p99 = l.lat.p99 <= kTargetP99Ns;
  const bool pass_contact = st.bytes_per_contact <= kTargetBytesPerContact;
  const bool pass_agent = st.bytes_per_agent <= kTargetBytesPerAgent;
  auto target = [](double t, double m, bool pass) {
    return nlohmann::ordered_json{{"target", t}, {"measured", m}, {"pass", pass}};
  };
  j["targets"] = {
      {"decisions_per_sec", target(kTargetDecisionsPerSec, dps, pass_dps)},
      {"p99_ns", target(kTargetP99Ns, l.lat.p99, pass_p99)},
      {"bytes_per_contact", target(kTargetBytesPerContact, st.bytes_per_contact, pass_contact)},
      {"bytes_per_agent", target(kTargetBytesPerAgent, st.bytes_per_agent, pass_agent)},
  };
  j["all_targets_met"] = pass_dps && pass_p99 && pass_contact && pass_agent;
  return j;
}

void PrintTable(const nlohmann::ordered_json& j) {
  auto num = [&](const char* k) { return j[k].get<double>(); };
  auto pass = [&](const char* k) { return j["targets"][k]["pass"].get<bool>() ? "ok" : "MISSED"; };
  std::printf("\nengine_bench (%s): %d agents, %d queues, %d skills, %.0f waiting contacts\n",
              j["mode"].get<std::string>().c_str(), j["agents"].get<int>(), j["queues"].get<int>(),
              j["skills"].get<int>(), num("waiting_contacts"));
  std::printf("  %-34s %14s   %s\n", "figure", "measured", "target");
  std::printf("  %-34s %14.0f   >= 1,000,000  %s\n", "decisions/s (steady state)",
              num("decisions_per_sec"), pass("decisions_per_sec"));
  std::printf("  %-34s %14.0f\n", "  decision call only, /s", num("decision_call_only_per_sec"));
  std::printf("  %-34s %14.0f\n", "  loop ns per iteration (3 calls)",
              num("loop_ns_per_iteration"));
  std::printf("  %-34s %14.0f\n", "decision latency p50 ns", num("p50_ns"));
  std::printf("  %-34s %14.0f\n", "decision latency p90 ns", num("p90_ns"));
  std::printf("  %-34s %14.0f   <= 50,000     %s\n", "decision latency p99 ns", num("p99_ns"),
              pass("p99_ns"));
  std::printf("  %-34s %14.0f\n", "decision latency p99.9 ns", num("p999_ns"));
  std::printf("  %-34s %14.0f\n", "decision latency max ns", num("max_ns"));
  std::printf("  %-34s %14.0f   <= 1,024      %s\n", "heap bytes per waiting contact",
              num("bytes_per_contact"), pass("bytes_per_contact"));
  std::printf("  %-34s %14.0f   <= 2,048      %s\n", "heap bytes per agent", num("bytes_per_agent"),
              pass("bytes_per_agent"));
  std::printf("  %-34s %14.0f\n", "  RSS bytes per waiting contact", num("rss_bytes_per_contact"));
  std::printf("  %-34s %14.0f\n", "  RSS bytes per agent", num("rss_bytes_per_agent"));
  std::printf("  %-34s %14.0f\n", "arrival decisions/s", num("arrival_decisions_per_sec"));
  std::printf("  %-34s %14.0f\n", "arrival latency p50 ns", num("arrival_p50_ns"));
  std::printf("  %-34s %14.0f\n", "arrival latency p99 ns", num("arrival_p99_ns"));
  std::printf("  %-34s %14.0f\n", "arrival latency max ns", num("arrival_max_ns"));
  std::printf("  queues per agent %.1f, agents per queue %d..%d\n", num("queues_per_agent_avg"),
              j["agents_per_queue_min"].get<int>(), j["agents_per_queue_max"].get<int>());
  std::printf(
      "  iterations %.0f + %.0f (arrival); loop CPU share %.2f / %.2f; clock read %.0f ns;"
      " setup %.1f s\n",
      num("iterations"), num("arrival_iterations"), num("loop_cpu_fraction"),
      num("arrival_cpu_fraction"), num("clock_overhead_ns"), num("setup_s"));
  const auto& an = j["anomalies"];
  if (an["freed_without_offer"].get<int64_t>() + an["arrival_without_offer"].get<int64_t>() +
          an["unexpected_decisions"].get<int64_t>() >
      0) {
    std::printf("  anomalies: %s\n", an.dump().c_str());
  }
}

bool WriteResults(const std::string& path, const nlohmann::ordered_json& j) {
  std::error_code ec;
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  std::ofstream out(path);
  out << j.dump(2) << "\n";
  out.close();
  return static_cast<bool>(out);
}

}  // namespace

int main(int argc, char** argv) {
  bool smoke = false;
  std::string results = "bench-results/engine.json";
  int64_t iterations = -1;
  std::vector<char*> rest = {argv[0]};
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--smoke") {
      smoke = true;
    } else if (arg == "--results" || arg == "--iterations") {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "engine_bench: %s needs a value\n", argv[i]);
        return 2;
      }
      if (arg == "--results") {
        results = argv[++i];
      } else {
        iterations = std::atoll(argv[++i]);
        if (iterations <= 0 || iterations > 100'000'000) {  // contact ids have 9 digits
          std::fprintf(stderr, "engine_bench: --iterations must be 1..100000000\n");
          return 2;
        }
      }
    } else if (arg.starts_with("--results=")) {
      results = std::string(arg.substr(10));
    } else {
      rest.push_back(argv[i]);
    }
  }
  const Shape& shape = smoke ? kSmoke : kFull;
  if (iterations < 0) iterations = shape.iterations;

  // A smoke run only proves the registered benchmarks run: keep them short (user flags, later on
  // the command line, still win).
  static char min_time[] = "--benchmark_min_time=0.01";
  if (smoke) rest.insert(rest.begin() + 1, min_time);
  int bargc = static_cast<int>(rest.size());
  rest.push_back(nullptr);
  benchmark::Initialize(&bargc, rest.data());
  if (benchmark::ReportUnrecognizedArguments(bargc, rest.data())) return 2;

  std::printf("engine_bench (%s): building %d agents, %d queues, %d skills...\n", shape.mode,
              shape.agents, shape.queues, shape.skills);
  std::fflush(stdout);
  const Model model = MakeModel(shape);

  auto steady = std::make_unique<Harness>(model);
  const SteadyFigures st = RunSteadyScenario(shape, iterations, *steady);
  auto arrival = std::make_unique<Harness>(model);
  const LoopResult ar = RunArrivalScenario(shape, iterations, *arrival);

  const nlohmann::ordered_json j =
      Report(model, st, ar, steady->anomalies(), arrival->anomalies(), ClockOverheadNs());
  PrintTable(j);
  if (!WriteResults(results, j)) {
    std::fprintf(stderr, "engine_bench: cannot write %s\n", results.c_str());
    return 1;
  }
  std::printf("results written to %s\n\n", results.c_str());
  std::fflush(stdout);

  g_steady = steady.get();
  g_arrival = arrival.get();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
