// A randomized contact center for property tests: generates valid events from a seeded RNG,
// applies them to an Engine as RoutingEvents, and keeps an independent model of what every
// contact and agent should be, checked against each decision and the engine's own views.
#pragma once

#include <google/protobuf/message.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "common/clock.h"
#include "router/engine/engine.h"

namespace sb::engine::testing {

namespace pb = ::switchboard::v1;

// What differs between two messages (protobuf's own report, cut to 2,000 characters).
std::string Diff(const google::protobuf::Message& a, const google::protobuf::Message& b);

// 8 skills, 1 domain, 6 queues covering every strategy, bullseye (relax, drop, overflow), aging,
// preferred-agent waits, max wait, difficult cap and a cross-channel rule.
pb::RoutingConfig RandomWorldConfig();

struct ModelContact {
  std::string queue;  // origin queue
  pb::Channel channel;
  pb::Priority priority;
  pb::Origin origin;
  bool difficult = false;
  std::string language;
  std::string preferred;
  int64_t arrived_ms = 0;
  uint64_t seq = 0;
  pb::ContactState state = pb::CONTACT_STATE_WAITING;
  std::string agent;
  std::set<std::string> rejected_by;
};

struct ModelAgent {
  std::map<std::string, int> skills;
  bool logged_in = false;
  bool ready = false;
  int streak = 0;
  std::map<std::string, pb::ContactState> items;  // contact → OFFERED/CONNECTED/COMPLETED
};

class RandomWorld {
 public:
  RandomWorld(uint32_t seed, int agents, ManualClock* clock);

  // Generates and applies one random event; records it. Returns the engine's decisions.
  void Step(Engine* engine);
  // Checks the engine's summary and views against the model (no contact lost, states agree,
  // no agent over capacity). `full` also compares every contact and agent one by one.
  void CheckAgainst(const Engine& engine, bool full);

  struct Recorded {
    int64_t at_ms;
    pb::RoutingEvent event;
    Decisions decisions;
  };
  const std::vector<Recorded>& log() const { return log_; }
  // Applies the recorded events from `from` on to `engine` at their recorded times and asserts
  // that it decides exactly as recorded (a restored engine must decide like the original).
  void Replay(size_t from, Engine* engine, ManualClock* clock) const;
  uint64_t offers() const { return offers_; }
  // Offers accepted, and DECISION_CONNECTED the engine answered them with (one each).
  uint64_t accepts() const { return accepts_; }
  uint64_t connections() const { return connections_; }
  uint64_t terminal() const { return terminal_; }
  size_t live() const { return contacts_.size(); }

 private:
  pb::RoutingEvent NextEvent();
  void Apply(const Decisions& decisions, bool from_tick);
  void CheckOffer(const Decision& d, bool from_tick);
  bool Eligible(const ModelAgent& a, const ModelContact& c, uint32_t step, std::string* why) const;
  bool HasRoom(const ModelAgent& a, pb::Channel ch, bool difficult) const;
  uint32_t StepsDue(const ModelContact& c) const;
  // Queue and requirement of `c` at `step`, computed from the config independently of the engine.
  std::pair<std::string, std::map<std::string, int>> Requirement(const ModelContact& c,
                                                                 uint32_t step) const;
  const pb::QueueDef& Queue(const std::string& name) const;
  void Forget(const std::string& contact);
  // Ends every contact the agent holds in after-contact work (wrap-up, logout).
  void FinishAfterContactWork(ModelAgent& a);
  template <typename M>
  const std::string* Pick(const M& m, bool (*pred)(const typename M::value_type&));

  std::mt19937_64 rng_;
  ManualClock* clock_;
  pb::RoutingConfig config_;
  std::map<std::string, ModelAgent> agents_;
  std::map<std::string, ModelContact> contacts_;
  std::vector<std::string> agent_ids_;
  uint64_t next_contact_ = 0;
  uint64_t next_seq_ = 1;
  uint64_t offers_ = 0;
  uint64_t accepts_ = 0;
  uint64_t connections_ = 0;
  uint64_t terminal_ = 0;
  std::vector<Recorded> log_;
};

}  // namespace sb::engine::testing
