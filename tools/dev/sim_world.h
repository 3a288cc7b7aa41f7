// The simulated contact center of `switchboard dev`: agents and customers around a real routing
// engine, as a small discrete-event simulation (a priority queue of timed actions).
//
// Simulated people learn what the engine decided only from the decisions its calls return, and
// act on them later (think time, talk time, wrap-up), so some of their calls lose a race with an
// engine decision made meanwhile (an offer that timed out, ACW ended by its limit, a customer who
// left). Such calls fail with FAILED_PRECONDITION or NOT_FOUND; they are expected and counted as
// races. Any other failure is a defect (of the simulator or the engine): it is counted as an error
// and printed to stderr.
//
// Thread: owned by one thread (the demo's main loop), which also owns the engine and the clock.
#pragma once

#include <cstdint>
#include <functional>
#include <queue>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "router/engine/engine.h"
#include "switchboard/v1/config.pb.h"

namespace sb::dev {

namespace pb = ::switchboard::v1;

// The traffic generated for one queue.
struct QueueTraffic {
  std::string name;
  std::string domain;
  pb::Channel channel = pb::CHANNEL_VOICE;
  double weight = 1.0;                     // share of arrivals, relative to the other queues
  double difficult_share = 0.02;           // contacts flagged difficult
  double preferred_share = 0.0;            // contacts naming a preferred agent
  std::string difficult_skill;             // extra skill a difficult contact requires ("" = none)
  std::vector<pb::SkillRequirement> base;  // the queue's own requirement (agents are given it)
};

// A language: a skill some contacts ask for and some agents speak.
struct LanguageMix {
  std::string skill;
  double contact_share = 0;  // of all contacts
  double agent_share = 0;    // of all agents
};

struct TrafficProfile {
  std::vector<QueueTraffic> queues;
  std::vector<LanguageMix> languages;
};

// A plain profile for any valid config: queues weighted equally, channel guessed from the queue
// name ("chat", "mail", "callback", "task"; else voice), preferred agents named in 30% of the
// contacts of preferred-agent queues, no languages.
TrafficProfile DeriveProfile(const pb::RoutingConfig& config);

struct SimOptions {
  int agents = 40;
  double arrivals_per_min = 35;  // Poisson; ~75% occupancy for the default 40 agents
  double aht_s = 45;              // mean talk time, exponential
  double patience_s = 90;         // mean customer patience, exponential; 0 = never abandons
  uint64_t seed = 1;
};

// What the simulated people did, beside the engine's own queue statistics.
struct SimCounters {
  uint64_t arrivals = 0, offers = 0, accepted = 0, rejected = 0, missed = 0;
  uint64_t withdrawn = 0, expired = 0, overflows = 0, acw_limits = 0, breaks = 0;
  uint64_t races = 0;   // calls that lost a race with an engine decision: expected
  uint64_t errors = 0;  // any other failed call: a defect, printed to stderr
};

class SimWorld {
 public:
  // REQUIRES: `engine` was created with `clock`; both outlive this object, and only this object
  // moves the clock (through AdvanceTo).
  SimWorld(const SimOptions& options, TrafficProfile profile, engine::Engine* engine,
           ManualClock* clock);

  // Logs the agents in (staggered over the first seconds), schedules the first arrival and the
  // engine's periodic Tick.
  void Start();

  // Runs the actions due up to `target_ms` in time order, setting the clock to each action's time,
  // then sets it to `target_ms`. Stops early after `max_actions` actions (so a caller far behind
  // real time stays responsive) and returns false if it did.
  bool AdvanceTo(int64_t target_ms, size_t max_actions);

  const SimCounters& counters() const { return counters_; }

 private:
  struct SimAgent {
    pb::Agent agent;
    bool on_break = false;
  };
  struct Action {
    int64_t at_ms;
    uint64_t seq;  // FIFO among actions due at the same time: keeps a seeded run reproducible
    std::function<void()> run;
  };
  struct Later {
    bool operator()(const Action& a, const Action& b) const {
      return a.at_ms != b.at_ms ? a.at_ms > b.at_ms : a.seq > b.seq;
    }
  };

  // --- scheduling and engine plumbing ---
  int64_t Now() const { return clock_->NowMs(); }
  void After(double seconds, std::function<void()> run);
  void Tick();
  // Counts a failed call as a race or an error, then hands the decisions to the simulated people.
  void Handle(std::string_view call, const Status& status, const engine::Decisions& decisions);
  void OnDecision(const engine::Decision& d);

  // --- agents ---
  pb::Agent MakeAgent(int n, const std::string& domain);
  bool Serves(const pb::Agent& agent, const QueueTraffic& queue) const;
  void Login(size_t agent);
  void OnOffer(const engine::Decision& d);
  void Accept(size_t agent, const std::string& contact, uint32_t attempt);
  void Reject(size_t agent, const std::string& contact, uint32_t attempt);
  void EndTalk(size_t agent, const std::string& contact);
  void WrapUp(size_t agent, const std::string& contact);
  void StartBreak(size_t agent);
  void EndBreak(size_t agent);
  void RecoverFromMissedOffer(size_t agent);

  // --- customers ---
  void ScheduleNextArrival();
  void Arrive();
  pb::Contact MakeContact(const QueueTraffic& queue);
  void Abandon(const std::string& contact);

  // --- randomness ---
  double Uniform(double lo, double hi) { return std::uniform_real_distribution<>(lo, hi)(rng_); }
  int UniformInt(int lo, int hi) { return std::uniform_int_distribution<>(lo, hi)(rng_); }
  bool Chance(double p) { return Uniform(0, 1) < p; }
  double Exponential(double mean) { return std::exponential_distribution<>(1.0 / mean)(rng_); }

  SimOptions options_;
  TrafficProfile profile_;
  engine::Engine* engine_;
  ManualClock* clock_;
  std::mt19937_64 rng_;
  std::discrete_distribution<size_t> pick_queue_;
  std::priority_queue<Action, std::vector<Action>, Later> actions_;
  uint64_t next_seq_ = 0;
  uint64_t next_contact_ = 1;
  std::vector<SimAgent> agents_;
  std::unordered_map<std::string, size_t> agent_index_;
  std::vector<std::vector<size_t>> servers_;  // by profile queue: agents who meet its requirement
  SimCounters counters_;
};

}  // namespace sb::dev
