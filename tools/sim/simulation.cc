#include "tools/sim/simulation.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <memory>
#include <queue>
#include <random>
#include <utility>

#include "common/clock.h"
#include "common/config/text.h"
#include "router/engine/engine.h"
#include "tools/sim/scenario.h"

namespace sb::sim {
namespace {

using config::ParseTimeOfDay;
using engine::Decision;
using engine::Decisions;

constexpr int64_t kEpochMs = 1'700'006'400'000;  // a midnight (UTC), so day boundaries are round
constexpr int64_t kMinuteMs = 60'000;
constexpr int64_t kDayMs = 1440 * kMinuteMs;
constexpr int64_t kIntervalMs = 15 * kMinuteMs;
constexpr int64_t kNever = INT64_MAX;
constexpr int64_t kTickMs = 250;  // engine timers (bullseye, max wait) fire at least this often

// Seeds a random stream from the run seed, a stream kind and an index (splitmix64), so streams
// are independent of each other and of how many draws other streams made.
uint64_t StreamSeed(uint64_t seed, uint64_t kind, uint64_t index) {
  uint64_t z = seed * 0x9E3779B97F4A7C15ULL + kind * 0xBF58476D1CE4E5B9ULL + index + 1;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

int64_t Ms(double seconds) { return std::llround(seconds * 1000.0); }

std::string ClassName(pb::Priority p, pb::Origin o) {
  std::string name = p == pb::PRIORITY_EMERGENCY ? "emergency"
                     : p == pb::PRIORITY_URGENT  ? "urgent"
                                                 : "normal";
  return name + (o == pb::ORIGIN_INTERNAL ? "-internal" : "-external");
}

// Length of [a, b) inside [lo, hi).
int64_t Overlap(int64_t a, int64_t b, int64_t lo, int64_t hi) {
  return std::max<int64_t>(0, std::min(b, hi) - std::max(a, lo));
}

class Simulation {
 public:
  Simulation(const pb::SimScenario& s, const RunOptions& o) : s_(s), options_(o) {}

  Status Init() {
    config_ = s_.routing();
    if (options_.strategy) {
      for (pb::QueueDef& q : *config_.mutable_queues()) q.set_strategy(*options_.strategy);
    }
    bool timers = false;
    for (const pb::QueueDef& q : config_.queues()) {
      queue_index_.emplace(q.name(), queue_index_.size());
      threshold_ms_.push_back(Ms(q.service_level_threshold_s()));
      timers = timers || q.bullseye_size() > 0 || q.max_wait_s() > 0 || q.preferred_wait_s() > 0;
    }
    short_abandon_ms_ = Ms(config_.short_abandon_s());
    clock_ = std::make_unique<ManualClock>(kEpochMs);
    auto engine = engine::Engine::Create(config_, clock_.get());
    if (!engine.ok()) return engine.status();
    engine_ = std::move(*engine);

    warm_ms_ = Ms(s_.warmup_hours() * 3600);
    end_ms_ = warm_ms_ + Ms(s_.hours() * 3600);
    start_of_day_ms_ = *ParseTimeOfDay(s_.start_time()) * kMinuteMs;
    metrics_.resize(config_.queues_size());

    for (int i = 0; i < s_.traffic_size(); ++i) {
      Stream& st = streams_.emplace_back();
      st.t = &s_.traffic(i);
      st.queue = queue_index_.at(st.t->queue());
      st.profile_start_ms = *ParseTimeOfDay(st.t->profile_start()) * kMinuteMs;
      st.arrivals.seed(StreamSeed(options_.seed, 1, i));
      st.draws.seed(StreamSeed(options_.seed, 2, i));
      std::vector<double> w;
      for (const auto& p : st.t->priority_mix()) w.push_back(p.share());
      st.pick_class = std::discrete_distribution<size_t>(w.begin(), w.end());
      if (st.t->handle_time() == pb::HANDLE_TIME_LOGNORMAL) {
        const double cv = st.t->handle_time_cv();
        st.sigma = std::sqrt(std::log(1 + cv * cv));
        st.mu = std::log(st.t->aht_s()) - st.sigma * st.sigma / 2;
      }
      ScheduleArrival(streams_.size() - 1, 0);
    }
    for (const pb::SimAgentGroup& g : s_.agents()) AddGroup(g);
    if (timers) Push(0, Kind::kTick, 0);
    return Status::Ok();
  }

  Status Run() {
    while (!events_.empty() && events_.top().at_ms <= end_ms_) {
      const Event e = events_.top();
      events_.pop();
      now_ms_ = e.at_ms;
      clock_->SetMs(kEpochMs + now_ms_);
      switch (e.kind) {
        case Kind::kArrival:
          Arrive(e.index);
          break;
        case Kind::kAbandon:
          Abandon(e.index);
          break;
        case Kind::kEnd:
          EndTalk(e.index);
          break;
        case Kind::kWrapUp:
          WrapUp(e.index);
          break;
        case Kind::kShiftStart:
          ShiftStart(e.index);
          break;
        case Kind::kShiftEnd:
          ShiftEnd(e.index);
          break;
        case Kind::kTick:
          Tick();
          break;
      }
      if (!error_.ok()) return error_;
    }
    now_ms_ = end_ms_;
    return Status::Ok();
  }

  ReplicationResult Finish() {
    ReplicationResult r;
    for (const pb::QueueDef& q : config_.queues()) r.queue_names.push_back(q.name());
    // Close the intervals still open at the end and share agent time out to the queues.
    for (SimAgent& a : agents_) {
      if (a.logged_in) a.duty_ms += Overlap(a.login_ms, end_ms_, warm_ms_, end_ms_);
      if (a.items > 0) a.busy_ms += Overlap(a.busy_since_ms, end_ms_, warm_ms_, end_ms_);
      if (a.duty_ms > 0) {
        r.agent_occupancy.push_back(static_cast<double>(a.busy_ms) /
                                    static_cast<double>(a.duty_ms));
      }
      for (size_t q = 0; q < metrics_.size(); ++q) {
        if (!groups_[a.group].serves[q]) continue;
        metrics_[q].busy_s += a.busy_ms / 1000.0;
        metrics_[q].duty_s += a.duty_ms / 1000.0;
      }
      r.total.busy_s += a.busy_ms / 1000.0;
      r.total.duty_s += a.duty_ms / 1000.0;
    }
    for (const Metrics& m : metrics_) {
      Metrics counts = m;
      counts.busy_s = counts.duty_s = 0;  // agent time is counted once, above
      r.total.Add(counts);
    }
    r.queues = metrics_;
    r.max_wait_by_class = max_wait_by_class_;
    for (const auto& q : engine_->Summarize().queues) r.engine_stats.push_back(q.stats);
    r.engine_calls = engine_calls_;
    return r;
  }

 private:
  enum class Kind : uint8_t { kArrival, kAbandon, kEnd, kWrapUp, kShiftStart, kShiftEnd, kTick };
  struct Event {
    int64_t at_ms;
    uint64_t seq;  // FIFO among events at the same millisecond: runs are reproducible
    Kind kind;
    uint32_t index;  // stream, contact, agent, or shift slot, by kind
  };
  struct Later {
    bool operator()(const Event& a, const Event& b) const {
      return a.at_ms != b.at_ms ? a.at_ms > b.at_ms : a.seq > b.seq;
    }
  };
  struct Stream {
    const pb::SimTraffic* t = nullptr;
    size_t queue = 0;
    int64_t profile_start_ms = 0;
    std::mt19937_64 arrivals, draws;
    std::discrete_distribution<size_t> pick_class;
    double mu = 0, sigma = 0;  // lognormal parameters
  };
  enum class ContactState : uint8_t { kWaiting, kConnected, kDone };
  struct SimContact {
    int64_t arrival_ms;
    int64_t handle_ms;
    uint32_t stream;
    uint32_t agent = 0;
    uint8_t priority_class;
    ContactState state = ContactState::kWaiting;
  };
  struct Group {
    std::vector<bool> serves;  // by queue
  };
  struct SimAgent {
    pb::Agent agent;
    size_t group = 0;
    int duty = 0;  // shifts in progress (a group's shifts may overlap)
    bool logged_in = false, leaving = false;
    int items = 0;
    int64_t login_ms = 0, busy_since_ms = 0;
    int64_t duty_ms = 0, busy_ms = 0;  // inside the measurement window
  };
  struct ShiftSlot {
    uint32_t agent;
    int64_t start_ms, end_ms;  // the next occurrence, relative to the run's start
    bool repeats;              // daily; a one-off slot covers a shift under way at the start
  };

  void Push(int64_t at_ms, Kind kind, uint32_t index) {
    events_.push({at_ms, next_seq_++, kind, index});
  }

  bool Measured(const SimContact& c) const { return c.arrival_ms >= warm_ms_; }

  // --- engine plumbing ---

  // Any failed engine call is a defect of the simulator or the engine: the run stops with it.
  void Check(const char* call, const Status& st, const Decisions& out) {
    ++engine_calls_;
    if (!st.ok() && error_.ok()) {
      error_ = Internal(std::string("engine ") + call + " failed at t=" +
                        std::to_string(now_ms_ / 1000.0) + " s: " + st.ToString());
    }
    for (const Decision& d : out) OnDecision(d);
  }

  static uint32_t IndexOf(const std::string& id) {
    uint32_t n = 0;
    std::from_chars(id.data() + 1, id.data() + id.size(), n);
    return n;
  }

  void OnDecision(const Decision& d) {
    if (d.type == pb::DECISION_OFFER) {
      Accept(IndexOf(d.contact_id), IndexOf(d.agent_id), d.attempt);
    } else if (d.type == pb::DECISION_EXPIRE) {
      SimContact& c = contacts_[IndexOf(d.contact_id)];
      c.state = ContactState::kDone;
      if (Measured(c)) ++metrics_[streams_[c.stream].queue].expired;
    }
    // Requeue, overflow and agent-state decisions need nothing from simulated people who accept
    // every offer at once and never miss one.
  }

  void Tick() {
    Decisions out;
    engine_->Tick(&out);
    Check("Tick", Status::Ok(), out);
    Push(now_ms_ + kTickMs, Kind::kTick, 0);
  }

  // --- customers ---

  double RateAt(const Stream& st, int64_t t) const {
    if (st.t->profile_size() == 0) return st.t->arrivals_per_hour();
    const int64_t into = ((start_of_day_ms_ + t - st.profile_start_ms) % kDayMs + kDayMs) % kDayMs;
    const int64_t k = into / kIntervalMs;
    return k < st.t->profile_size() ? st.t->profile(static_cast<int>(k)) : 0.0;
  }

  int64_t NextRateChange(const Stream& st, int64_t t) const {
    if (st.t->profile_size() == 0) return kNever;
    const int64_t into = ((start_of_day_ms_ + t - st.profile_start_ms) % kDayMs + kDayMs) % kDayMs;
    return t + (kIntervalMs - into % kIntervalMs);
  }

  // Piecewise-constant Poisson rate: an exponential gap at the current rate, restarted at every
  // rate change (exact, by memorylessness).
  void ScheduleArrival(size_t stream, int64_t from_ms) {
    Stream& st = streams_[stream];
    double t = static_cast<double>(from_ms);
    while (t <= static_cast<double>(end_ms_)) {
      const int64_t change = NextRateChange(st, static_cast<int64_t>(t));
      const double rate = RateAt(st, static_cast<int64_t>(t));
      if (rate > 0) {
        const double gap_ms = std::exponential_distribution<>(rate / 3.6e6)(st.arrivals);
        if (t + gap_ms < static_cast<double>(change)) {
          Push(std::llround(t + gap_ms), Kind::kArrival, static_cast<uint32_t>(stream));
          return;
        }
      }
      if (change == kNever) return;
      t = static_cast<double>(change);
    }
  }

  void Arrive(uint32_t stream) {
    Stream& st = streams_[stream];
    ScheduleArrival(stream, now_ms_);
    const uint32_t n = static_cast<uint32_t>(contacts_.size());
    SimContact& c = contacts_.emplace_back();
    c.arrival_ms = now_ms_;
    c.stream = stream;
    // Draw everything about the contact from its stream now, so the draws do not depend on
    // what routing did.
    const size_t cls = st.pick_class(st.draws);
    const pb::SimPriorityShare& mix = st.t->priority_mix(static_cast<int>(cls));
    c.priority_class = static_cast<uint8_t>(cls);
    const double handle_s = st.t->handle_time() == pb::HANDLE_TIME_LOGNORMAL
                                ? std::lognormal_distribution<>(st.mu, st.sigma)(st.draws)
                                : std::exponential_distribution<>(1.0 / st.t->aht_s())(st.draws);
    c.handle_ms = std::max<int64_t>(1, Ms(handle_s));
    const double patience_s =
        st.t->patience_s() > 0 ? std::exponential_distribution<>(1.0 / st.t->patience_s())(st.draws)
                               : 0;
    if (Measured(c)) ++metrics_[st.queue].offered;

    pb::Contact contact;
    contact.set_id("c" + std::to_string(n));
    contact.set_queue(st.t->queue());
    contact.set_channel(st.t->channel());
    contact.set_priority(mix.priority());
    contact.set_origin(mix.origin());
    contact.set_created_at_ms(kEpochMs + now_ms_);
    Decisions out;
    const Status status = engine_->ContactArrived(contact, &out);
    if (st.t->patience_s() > 0) Push(now_ms_ + Ms(patience_s), Kind::kAbandon, n);
    Check("ContactArrived", status, out);
  }

  void NoteWait(const SimContact& c, int64_t wait_ms) {
    Metrics& m = metrics_[streams_[c.stream].queue];
    const double wait_s = wait_ms / 1000.0;
    m.max_wait_s = std::max(m.max_wait_s, wait_s);
    const pb::SimPriorityShare& mix =
        streams_[c.stream].t->priority_mix(static_cast<int>(c.priority_class));
    double& cls = max_wait_by_class_[ClassName(mix.priority(), mix.origin())];
    cls = std::max(cls, wait_s);
  }

  void Abandon(uint32_t n) {
    if (contacts_[n].state != ContactState::kWaiting) return;
    const std::string id = "c" + std::to_string(n);
    Decisions out;
    const Status st = engine_->ContactAbandoned(id, &out);
    // Its max wait ran out in this very millisecond: the engine's timer came first and expired
    // it (EXPIRE in `out`, counted as expired), so there was nothing left to hang up on.
    const bool expired_first =
        st.code() == Code::kNotFound && std::any_of(out.begin(), out.end(), [&](const Decision& d) {
          return d.type == pb::DECISION_EXPIRE && d.contact_id == id;
        });
    if (!expired_first) {
      SimContact& c = contacts_[n];
      c.state = ContactState::kDone;
      const int64_t wait = now_ms_ - c.arrival_ms;
      if (Measured(c)) {
        Metrics& m = metrics_[streams_[c.stream].queue];
        ++(wait < short_abandon_ms_ ? m.short_abandoned : m.abandoned);
        NoteWait(c, wait);
      }
    }
    Check("ContactAbandoned", expired_first ? Status::Ok() : st, out);
  }

  // --- agents ---

  void Accept(uint32_t n, uint32_t a, uint32_t attempt) {
    SimContact& c = contacts_[n];
    c.state = ContactState::kConnected;
    c.agent = a;
    HoldItem(a);
    const int64_t wait = now_ms_ - c.arrival_ms;
    if (Measured(c)) {
      Metrics& m = metrics_[streams_[c.stream].queue];
      ++m.answered;
      if (wait <= threshold_ms_[streams_[c.stream].queue]) ++m.answered_in_threshold;
      m.answered_wait_s += wait / 1000.0;
      NoteWait(c, wait);
    }
    Push(now_ms_ + c.handle_ms, Kind::kEnd, n);
    Decisions out;
    const Status st =
        engine_->OfferAccepted(agents_[a].agent.id(), "c" + std::to_string(n), attempt, &out);
    Check("OfferAccepted", st, out);
  }

  void EndTalk(uint32_t n) {
    SimContact& c = contacts_[n];
    c.state = ContactState::kDone;
    Decisions out;
    const Status st = engine_->ContactEnded("c" + std::to_string(n), &out);
    const double acw_s = streams_[c.stream].t->acw_s();
    if (acw_s > 0) {
      Push(now_ms_ + Ms(acw_s), Kind::kWrapUp, n);
    } else {
      ReleaseItem(c.agent);
    }
    Check("ContactEnded", st, out);
  }

  void WrapUp(uint32_t n) {
    const uint32_t a = contacts_[n].agent;
    Decisions out;
    Status st = engine_->WrapUpDone(agents_[a].agent.id(), "c" + std::to_string(n), &out);
    ReleaseItem(a);  // before the decisions: they may offer this agent the next contact
    // The queue's ACW limit may have closed the wrap-up already: expected, not a defect.
    if (st.code() == Code::kFailedPrecondition) st = Status::Ok();
    Check("WrapUpDone", st, out);
  }

  void HoldItem(uint32_t a) {
    SimAgent& ag = agents_[a];
    if (ag.items++ == 0) ag.busy_since_ms = now_ms_;
  }

  void ReleaseItem(uint32_t a) {
    SimAgent& ag = agents_[a];
    if (--ag.items == 0) {
      ag.busy_ms += Overlap(ag.busy_since_ms, now_ms_, warm_ms_, end_ms_);
      if (ag.leaving) Logout(a);
    }
  }

  void AddGroup(const pb::SimAgentGroup& g) {
    Group& group = groups_.emplace_back();
    for (const pb::QueueDef& q : config_.queues()) {
      bool serves = q.domain() == g.domain();
      for (const auto& r : q.required_skills()) {
        serves = serves && std::any_of(g.skills().begin(), g.skills().end(), [&](const auto& s) {
                   return s.skill() == r.skill() && s.proficiency() >= r.min_proficiency();
                 });
      }
      group.serves.push_back(serves);
    }
    for (uint32_t k = 0; k < g.count(); ++k) {
      const uint32_t a = static_cast<uint32_t>(agents_.size());
      SimAgent& ag = agents_.emplace_back();
      ag.group = groups_.size() - 1;
      ag.agent.set_id("a" + std::to_string(a));
      ag.agent.set_domain(g.domain());
      *ag.agent.mutable_skills() = g.skills();
      if (g.shifts_size() == 0) {
        Push(0, Kind::kShiftStart, Slot(a, 0, kNever, false));
        continue;
      }
      for (const pb::SimShift& sh : g.shifts()) {
        // Times relative to the run's start. A shift that began the day before and is still
        // under way at the start gets a one-off slot from 0.
        const int64_t from = *ParseTimeOfDay(sh.start()) * kMinuteMs;
        const int64_t length =
            ((*ParseTimeOfDay(sh.end()) * kMinuteMs - from) % kDayMs + kDayMs) % kDayMs;
        const int64_t start = ((from - start_of_day_ms_) % kDayMs + kDayMs) % kDayMs;
        if (start + length > kDayMs) {
          Push(0, Kind::kShiftStart, Slot(a, 0, start + length - kDayMs, false));
        }
        Push(start, Kind::kShiftStart, Slot(a, start, start + length, true));
      }
    }
  }

  uint32_t Slot(uint32_t agent, int64_t start_ms, int64_t end_ms, bool repeats) {
    slots_.push_back({agent, start_ms, end_ms, repeats});
    return static_cast<uint32_t>(slots_.size() - 1);
  }

  void ShiftStart(uint32_t s) {
    const ShiftSlot& slot = slots_[s];
    SimAgent& ag = agents_[slot.agent];
    if (slot.end_ms != kNever) Push(slot.end_ms, Kind::kShiftEnd, s);
    if (++ag.duty > 1) return;
    Decisions out;
    if (ag.logged_in) {  // back on duty before finishing the contacts in hand: stays on
      ag.leaving = false;
      const Status st = engine_->AgentReady(ag.agent.id(), &out);
      Check("AgentReady", st, out);
      return;
    }
    ag.logged_in = true;
    ag.login_ms = now_ms_;
    const Status st = engine_->AgentLogin(ag.agent, /*ready=*/true, &out);
    Check("AgentLogin", st, out);
  }

  void ShiftEnd(uint32_t s) {
    ShiftSlot& slot = slots_[s];
    const uint32_t a = slot.agent;
    if (slot.repeats) {  // the same shift tomorrow
      slot.start_ms += kDayMs;
      slot.end_ms += kDayMs;
      Push(slot.start_ms, Kind::kShiftStart, s);
    }
    SimAgent& ag = agents_[a];
    if (--ag.duty > 0) return;
    if (ag.items > 0) {  // finishes the contacts in hand first, taking no new ones
      ag.leaving = true;
      Decisions out;
      const Status st = engine_->AgentNotReady(ag.agent.id(), "end of shift", &out);
      Check("AgentNotReady", st, out);
      return;
    }
    Logout(a);
  }

  void Logout(uint32_t a) {
    SimAgent& ag = agents_[a];
    ag.logged_in = ag.leaving = false;
    ag.duty_ms += Overlap(ag.login_ms, now_ms_, warm_ms_, end_ms_);
    Decisions out;
    const Status st = engine_->AgentLogout(ag.agent.id(), &out);
    Check("AgentLogout", st, out);
  }

  const pb::SimScenario& s_;
  RunOptions options_;
  pb::RoutingConfig config_;
  std::unique_ptr<ManualClock> clock_;
  std::unique_ptr<engine::Engine> engine_;
  std::map<std::string, size_t> queue_index_;
  std::vector<int64_t> threshold_ms_;
  int64_t short_abandon_ms_ = 0;
  int64_t warm_ms_ = 0, end_ms_ = 0, start_of_day_ms_ = 0, now_ms_ = 0;
  std::priority_queue<Event, std::vector<Event>, Later> events_;
  uint64_t next_seq_ = 0;
  std::vector<Stream> streams_;
  std::vector<SimContact> contacts_;
  std::vector<Group> groups_;
  std::vector<SimAgent> agents_;
  std::vector<ShiftSlot> slots_;
  std::vector<Metrics> metrics_;
  std::map<std::string, double> max_wait_by_class_;
  uint64_t engine_calls_ = 0;
  Status error_;
};

}  // namespace

void Metrics::Add(const Metrics& o) {
  offered += o.offered;
  answered += o.answered;
  answered_in_threshold += o.answered_in_threshold;
  abandoned += o.abandoned;
  short_abandoned += o.short_abandoned;
  expired += o.expired;
  answered_wait_s += o.answered_wait_s;
  max_wait_s = std::max(max_wait_s, o.max_wait_s);
  busy_s += o.busy_s;
  duty_s += o.duty_s;
}

double Metrics::service_level() const {
  const uint64_t denom = answered + abandoned;
  return denom ? static_cast<double>(answered_in_threshold) / static_cast<double>(denom) : 1.0;
}
double Metrics::asa_s() const { return answered ? answered_wait_s / answered : 0.0; }
double Metrics::abandon_rate() const {
  return offered ? static_cast<double>(abandoned + short_abandoned) / offered : 0.0;
}
double Metrics::occupancy() const { return duty_s > 0 ? busy_s / duty_s : 0.0; }

Result<ReplicationResult> RunReplication(const pb::SimScenario& scenario,
                                         const RunOptions& options) {
  Simulation sim(scenario, options);
  SB_RETURN_IF_ERROR(sim.Init());
  SB_RETURN_IF_ERROR(sim.Run());
  return sim.Finish();
}

}  // namespace sb::sim
