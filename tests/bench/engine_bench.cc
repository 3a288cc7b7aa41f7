// Routing-engine benchmark: steady-state decisions/s and decision latency with 50k agents, 100
// queues, 20 skills and 100k waiting contacts; memory per waiting contact and per agent.
//
//   engine_bench [--smoke] [--results FILE] [google-benchmark flags]
//
// Writes FILE (JSON) with decisions_per_sec, p50_ns, p99_ns, bytes_per_contact, bytes_per_agent and
// more, and prints them. Targets are reported (target_* and *_ok), never enforced: a benchmark on
// a shared machine measures, it does not fail.
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "router/engine/engine.h"

namespace {

namespace pb = ::switchboard::v1;
using sb::engine::Decision;
using sb::engine::Decisions;
using sb::engine::Engine;

struct Shape {
  int agents, queues, skills, waiting;
  int64_t max_iterations;
  double max_seconds;
};

constexpr Shape kFull{50'000, 100, 20, 100'000, 2'000'000, 30};
constexpr Shape kSmoke{2'000, 10, 20, 4'000, 20'000, 5};

void Check(const sb::Status& st, const char* what) {
  if (!st.ok()) {
    std::fprintf(stderr, "engine_bench: %s failed: %s\n", what, st.ToString().c_str());
    std::exit(1);
  }
}

size_t HeapBytes() { return mallinfo2().uordblks; }

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// 20 skills; queue q needs 1 or 2 skills at proficiency 1..2; agents hold 5 random skills at 1..5.
// Strategies rotate over longest-idle, least-occupied and best-skill. Offers never time out and
// there is no after-contact work, so every freed agent is at once offered the next contact.
pb::RoutingConfig MakeConfig(const Shape& shape) {
  pb::RoutingConfig cfg;
  for (int s = 0; s < shape.skills; ++s) cfg.add_skills()->set_name("skill" + std::to_string(s));
  cfg.add_domains()->set_name("bench");
  const pb::Strategy strategies[] = {pb::STRATEGY_LONGEST_IDLE, pb::STRATEGY_LEAST_OCCUPIED,
                                     pb::STRATEGY_BEST_SKILL};
  for (int q = 0; q < shape.queues; ++q) {
    pb::QueueDef* qd = cfg.add_queues();
    qd->set_name("queue" + std::to_string(q));
    qd->set_domain("bench");
    qd->set_strategy(strategies[q % 3]);
    const int n = 1 + q % 2;
    for (int i = 0; i < n; ++i) {
      auto* r = qd->add_required_skills();
      r->set_skill("skill" + std::to_string((q * 7 + i * 3) % shape.skills));
      r->set_min_proficiency(1 + (q + i) % 2);
    }
    qd->set_service_level_threshold_s(20);
    qd->set_priority_aging_s(60);
    qd->set_offer_timeout_s(30 * 24 * 3600);
  }
  cfg.mutable_capacity()->set_agent_units(100);
  for (int ch = 1; ch <= 5; ++ch) {
    auto* c = cfg.mutable_capacity()->add_costs();
    c->set_channel(static_cast<pb::Channel>(ch));
    c->set_units(100);
  }
  return cfg;
}

class World {
 public:
  explicit World(const Shape& shape)
      : shape_(shape), clock_(1'700'000'000'000), rng_(42), config_(MakeConfig(shape)) {
    auto e = Engine::Create(config_, &clock_);
    Check(e.status(), "Engine::Create");
    engine_ = std::move(e).value();
  }

  // Logs in every agent ready; returns heap bytes they took.
  size_t LoginAgents() {
    const size_t before = HeapBytes();
    Decisions out;
    for (int a = 0; a < shape_.agents; ++a) {
      pb::Agent agent;
      agent.set_id("agent-" + std::to_string(a));
      agent.set_domain("bench");
      std::vector<int> skills(shape_.skills);
      for (int s = 0; s < shape_.skills; ++s) skills[s] = s;
      std::shuffle(skills.begin(), skills.end(), rng_);
      for (int k = 0; k < 5; ++k) {
        auto* l = agent.add_skills();
        l->set_skill("skill" + std::to_string(skills[k]));
        l->set_proficiency(1 + static_cast<uint32_t>(rng_() % 5));
      }
      Check(engine_->AgentLogin(agent, true, &out), "AgentLogin");
    }
    return HeapBytes() - before;
  }

  std::string Arrive(int queue, Decisions* out) {
    pb::Contact& c = scratch_;
    c.set_id("contact-" + std::to_string(next_contact_++));
    c.set_queue(config_.queues(queue).name());
    c.set_channel(pb::CHANNEL_VOICE);
    Check(engine_->ContactArrived(c, out), "ContactArrived");
    return c.id();
  }

  // Submits contacts round-robin over the queues until `waiting` of them wait beyond what the
  // agents took; accepts every offer. Returns heap bytes per waiting contact.
  double Saturate() {
    Decisions out;
    int q = 0;
    // First occupy the agents (those whose skills no queue wants stay ready), then build the
    // backlog up to exactly `waiting` contacts.
    for (int i = 0; i < shape_.agents; ++i) Arrive(q++ % shape_.queues, &out);
    AcceptAll(out);
    const size_t before = HeapBytes();
    const uint64_t waiting_before = engine_->Summarize().waiting;
    while (engine_->Summarize().waiting < static_cast<uint64_t>(shape_.waiting)) {
      for (int i = 0; i < 1000; ++i) Arrive(q++ % shape_.queues, &out);
      AcceptAll(out);
    }
    const uint64_t added = engine_->Summarize().waiting - waiting_before;
    return added ? static_cast<double>(HeapBytes() - before) / static_cast<double>(added) : 0;
  }

  void AcceptAll(Decisions& out) {
    Decisions one(1);
    for (const Decision& d : out) {
      if (d.type != pb::DECISION_OFFER) continue;
      one[0] = d;
      TakeOffer(one);
    }
    out.clear();
  }

  int QueueOf(const std::string& name) const { return std::stoi(name.substr(5)); }

  // One steady-state step: a busy agent's call ends, the engine offers it the best waiting
  // contact (the measured decision), the agent accepts, and a new contact arrives in the queue
  // the taken one came from, so every queue's backlog stays level. Returns decision latency or -1.
  int64_t Step(Decisions& out) {
    Busy& b = busy_[cursor_++ % busy_.size()];
    clock_.AdvanceMs(1);
    out.clear();
    const int64_t t0 = NowNs();
    Check(engine_->ContactEnded(b.contact, &out), "ContactEnded");
    const int64_t latency = NowNs() - t0;
    const Decision* offer = nullptr;
    for (const Decision& d : out) {
      if (d.type == pb::DECISION_OFFER) offer = &d;
    }
    if (offer == nullptr) {
      ++idle_;
      return -1;
    }
    b.contact = offer->contact_id;
    b.queue = QueueOf(offer->queue);
    Decisions ignored;
    Check(engine_->OfferAccepted(b.agent, b.contact, offer->attempt, &ignored), "OfferAccepted");
    Arrive(b.queue, &ignored);
    return latency;
  }

  // The other direction: an agent frees with nobody waiting for it, then a contact arrives and
  // takes the best ready agent. Measures the arrival → offer decision; -1 when the freed agent
  // found a waiting contact instead (then nothing was measured).
  int64_t ArrivalStep(Decisions& out) {
    Busy& b = busy_[cursor_++ % busy_.size()];
    if (b.contact.empty()) return -1;  // this agent sits ready: someone else took its last arrival
    clock_.AdvanceMs(1);
    out.clear();
    Check(engine_->ContactEnded(b.contact, &out), "ContactEnded");
    b.contact.clear();
    if (TakeOffer(out)) return -1;
    out.clear();
    const int64_t t0 = NowNs();
    Arrive(b.queue, &out);
    const int64_t latency = NowNs() - t0;
    return TakeOffer(out) ? latency : -1;
  }

  // Accepts the offer among `out`, if any, and books it on the agent's entry.
  bool TakeOffer(const Decisions& out) {
    for (const Decision& d : out) {
      if (d.type != pb::DECISION_OFFER) continue;
      Decisions ignored;
      Check(engine_->OfferAccepted(d.agent_id, d.contact_id, d.attempt, &ignored), "OfferAccepted");
      auto it = by_agent_.find(d.agent_id);
      if (it == by_agent_.end()) {
        by_agent_[d.agent_id] = busy_.size();
        busy_.push_back({d.agent_id, d.contact_id, QueueOf(d.queue)});
      } else {
        busy_[it->second].contact = d.contact_id;
        busy_[it->second].queue = QueueOf(d.queue);
      }
      return true;
    }
    return false;
  }

  Engine& engine() { return *engine_; }
  size_t busy() const { return busy_.size(); }
  int64_t idle() const { return idle_; }

 private:
  struct Busy {
    std::string agent, contact;
    int queue;
  };
  Shape shape_;
  sb::ManualClock clock_;
  std::mt19937_64 rng_;
  pb::RoutingConfig config_;
  std::unique_ptr<Engine> engine_;
  pb::Contact scratch_;
  std::vector<Busy> busy_;
  std::unordered_map<std::string, size_t> by_agent_;  // agent → its entry in busy_
  size_t cursor_ = 0;
  int64_t next_contact_ = 0;
  int64_t idle_ = 0;
};

struct Figures {
  double decisions_per_sec = 0, p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0;
  double bytes_per_contact = 0, bytes_per_agent = 0;
  double arrival_per_sec = 0, arrival_p50 = 0, arrival_p99 = 0;
  int64_t iterations = 0, arrival_iterations = 0;
  uint64_t waiting = 0;
};

double Percentile(std::vector<int64_t>& v, double p) {
  if (v.empty()) return 0;
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return static_cast<double>(v[k]);
}

Figures Measure(const Shape& shape) {
  Figures f;
  World world(shape);
  f.bytes_per_agent = static_cast<double>(world.LoginAgents()) / shape.agents;
  f.bytes_per_contact = world.Saturate();
  f.waiting = world.engine().Summarize().waiting;
  std::printf("setup: %d agents, %zu busy, %lu waiting\n", shape.agents, world.busy(),
              static_cast<unsigned long>(f.waiting));

  Decisions out;
  out.reserve(16);
  for (int i = 0; i < 10'000; ++i) world.Step(out);  // warm-up
  std::vector<int64_t> lat;
  lat.reserve(static_cast<size_t>(shape.max_iterations));
  const int64_t start = NowNs();
  const int64_t deadline = start + static_cast<int64_t>(shape.max_seconds * 1e9);
  for (int64_t i = 0; i < shape.max_iterations; ++i) {
    const int64_t l = world.Step(out);
    if (l >= 0) lat.push_back(l);
    if ((i & 1023) == 0 && NowNs() > deadline) break;
  }
  const double seconds = static_cast<double>(NowNs() - start) / 1e9;
  f.iterations = static_cast<int64_t>(lat.size());
  f.decisions_per_sec = static_cast<double>(lat.size()) / seconds;
  f.p50 = Percentile(lat, 0.50);
  f.p90 = Percentile(lat, 0.90);
  f.p99 = Percentile(lat, 0.99);
  f.p999 = Percentile(lat, 0.999);
  f.max = lat.empty() ? 0 : static_cast<double>(*std::max_element(lat.begin(), lat.end()));
  if (world.idle() > 0) {
    std::printf("note: %ld freed agents found no waiting contact\n",
                static_cast<long>(world.idle()));
  }

  // Arrival direction on a fresh world with no backlog.
  World arrivals(shape);
  arrivals.LoginAgents();
  Decisions first;
  for (int i = 0; i < shape.agents / 2; ++i) arrivals.Arrive(i % shape.queues, &first);
  arrivals.AcceptAll(first);
  std::vector<int64_t> alat;
  alat.reserve(static_cast<size_t>(shape.max_iterations / 4));
  const int64_t astart = NowNs();
  for (int64_t i = 0; i < shape.max_iterations / 4; ++i) {
    const int64_t l = arrivals.ArrivalStep(out);
    if (l >= 0) alat.push_back(l);
    if ((i & 1023) == 0 && NowNs() > astart + static_cast<int64_t>(shape.max_seconds * 1e9 / 2))
      break;
  }
  const double aseconds = static_cast<double>(NowNs() - astart) / 1e9;
  f.arrival_iterations = static_cast<int64_t>(alat.size());
  f.arrival_per_sec = static_cast<double>(alat.size()) / aseconds;
  f.arrival_p50 = Percentile(alat, 0.50);
  f.arrival_p99 = Percentile(alat, 0.99);
  return f;
}

// Google Benchmark view of the same hot path, for `--benchmark_filter` and comparisons.
void BM_FreedAgentTakesBestContact(benchmark::State& state) {
  static World* world = [] {
    auto* w = new World(kSmoke);
    w->LoginAgents();
    w->Saturate();
    return w;
  }();
  Decisions out;
  for (auto _ : state) benchmark::DoNotOptimize(world->Step(out));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FreedAgentTakesBestContact);

void WriteResults(const std::string& path, const Shape& shape, const Figures& f, bool smoke) {
  std::ofstream out(path);
  auto line = [&](const char* key, double v, bool last = false) {
    out << "  \"" << key << "\": " << static_cast<int64_t>(v) << (last ? "\n" : ",\n");
  };
  auto flag = [&](const char* key, bool v) {
    out << "  \"" << key << "\": " << (v ? "true" : "false") << ",\n";
  };
  out << "{\n  \"mode\": \"" << (smoke ? "smoke" : "full") << "\",\n";
  line("agents", shape.agents);
  line("queues", shape.queues);
  line("skills", shape.skills);
  line("waiting_contacts", static_cast<double>(f.waiting));
  line("iterations", static_cast<double>(f.iterations));
  line("decisions_per_sec", f.decisions_per_sec);
  line("p50_ns", f.p50);
  line("p90_ns", f.p90);
  line("p99_ns", f.p99);
  line("p999_ns", f.p999);
  line("max_ns", f.max);
  line("bytes_per_contact", f.bytes_per_contact);
  line("bytes_per_agent", f.bytes_per_agent);
  line("arrival_decisions_per_sec", f.arrival_per_sec);
  line("arrival_p50_ns", f.arrival_p50);
  line("arrival_p99_ns", f.arrival_p99);
  line("target_decisions_per_sec", 1e6);
  line("target_p99_ns", 50'000);
  line("target_bytes_per_contact", 1024);
  line("target_bytes_per_agent", 2048);
  flag("decisions_per_sec_ok", f.decisions_per_sec >= 1e6);
  flag("p99_ok", f.p99 <= 50'000);
  flag("bytes_per_contact_ok", f.bytes_per_contact <= 1024);
  out << "  \"bytes_per_agent_ok\": " << (f.bytes_per_agent <= 2048 ? "true" : "false") << "\n}\n";
}

}  // namespace

int main(int argc, char** argv) {
  bool smoke = false;
  std::string results = "bench-results/engine.json";
  std::vector<char*> rest = {argv[0]};
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--smoke") == 0) {
      smoke = true;
    } else if (std::strcmp(argv[i], "--results") == 0 && i + 1 < argc) {
      results = argv[++i];
    } else {
      rest.push_back(argv[i]);
    }
  }
  const Shape& shape = smoke ? kSmoke : kFull;
  const Figures f = Measure(shape);
  std::printf(
      "engine: %d agents, %d queues, %d skills, %lu waiting\n"
      "  decisions/s       %12.0f   (target >= 1,000,000)\n"
      "  latency p50/p90   %8.0f / %.0f ns\n"
      "  latency p99/p999  %8.0f / %.0f ns   (target p99 <= 50,000)   max %.0f ns\n"
      "  bytes/contact     %12.0f   (target <= 1024)\n"
      "  bytes/agent       %12.0f   (target <= 2048)\n"
      "  arrival decisions/s %10.0f   p50 %.0f ns   p99 %.0f ns\n",
      shape.agents, shape.queues, shape.skills, static_cast<unsigned long>(f.waiting),
      f.decisions_per_sec, f.p50, f.p90, f.p99, f.p999, f.max, f.bytes_per_contact,
      f.bytes_per_agent, f.arrival_per_sec, f.arrival_p50, f.arrival_p99);
  WriteResults(results, shape, f, smoke);
  std::printf("results written to %s\n", results.c_str());

  if (smoke) return 0;  // the registered micro-benchmarks add nothing to a smoke run
  int bargc = static_cast<int>(rest.size());
  benchmark::Initialize(&bargc, rest.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
