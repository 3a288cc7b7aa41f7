#include "tools/dev/sim_world.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <map>
#include <utility>

namespace sb::dev {
namespace {

// Agent behaviour. Think time stays well under the offer timeout: only deliberate misses time out.
constexpr double kMissShare = 0.02;    // offers an agent never answers: the offer timeout fires
constexpr double kRejectShare = 0.03;  // offers an agent rejects
constexpr double kThinkMinS = 1, kThinkMaxS = 4;
constexpr double kMinTalkS = 2;  // an exponential talk time can be ~0; no real call is that short
constexpr double kWrapUpMinS = 2, kWrapUpMaxS = 8;
constexpr double kNoticeMissMinS = 3, kNoticeMissMaxS = 10;  // until a missed-offer agent is back
constexpr double kFirstBreakMinS = 60, kFirstBreakMaxS = 360;
constexpr double kBreakGapMinS = 180, kBreakGapMaxS = 480;
constexpr double kBreakMinS = 30, kBreakMaxS = 60;
constexpr double kLoginSpreadS = 3;
// Agent skills: each queue of the agent's domain is served with this chance (at least one is);
// of the queues not served, some are held below the queue's minimum (juniors: bullseye material).
constexpr double kServeShare = 0.5, kJuniorShare = 0.3, kDifficultTrainedShare = 0.4;
// Customer mix.
constexpr double kEmergencyShare = 0.005, kUrgentShare = 0.05;
constexpr double kInternalShare = 0.05, kVipShare = 0.05;
constexpr double kTickS = 0.1;  // the engine's timers fire at least this often (simulated time)

pb::Channel GuessChannel(std::string name) {
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (name.find("chat") != std::string::npos) return pb::CHANNEL_CHAT;
  if (name.find("mail") != std::string::npos) return pb::CHANNEL_EMAIL;
  if (name.find("callback") != std::string::npos) return pb::CHANNEL_CALLBACK;
  if (name.find("task") != std::string::npos) return pb::CHANNEL_TASK;
  return pb::CHANNEL_VOICE;
}

std::string ContactId(uint64_t n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "C%07llu", static_cast<unsigned long long>(n));
  return buf;
}

}  // namespace

TrafficProfile DeriveProfile(const pb::RoutingConfig& config) {
  TrafficProfile profile;
  for (const pb::QueueDef& q : config.queues()) {
    QueueTraffic& t = profile.queues.emplace_back();
    t.name = q.name();
    t.domain = q.domain();
    t.channel = GuessChannel(q.name());
    t.preferred_share = q.strategy() == pb::STRATEGY_PREFERRED_AGENT ? 0.3 : 0.0;
    t.base.assign(q.required_skills().begin(), q.required_skills().end());
  }
  return profile;
}

SimWorld::SimWorld(const SimOptions& options, TrafficProfile profile, engine::Engine* engine,
                   ManualClock* clock)
    : options_(options),
      profile_(std::move(profile)),
      engine_(engine),
      clock_(clock),
      rng_(options.seed) {
  std::vector<double> weights;
  std::vector<std::string> domains;
  for (const QueueTraffic& q : profile_.queues) {
    weights.push_back(q.weight);
    if (std::find(domains.begin(), domains.end(), q.domain) == domains.end()) {
      domains.push_back(q.domain);
    }
  }
  pick_queue_ = std::discrete_distribution<size_t>(weights.begin(), weights.end());
  for (int n = 0; n < options_.agents && !domains.empty(); ++n) {
    SimAgent& a = agents_.emplace_back();
    a.agent = MakeAgent(n, domains[n % domains.size()]);
    agent_index_.emplace(a.agent.id(), agents_.size() - 1);
  }
  servers_.resize(profile_.queues.size());
  for (size_t q = 0; q < profile_.queues.size(); ++q) {
    for (size_t a = 0; a < agents_.size(); ++a) {
      if (Serves(agents_[a].agent, profile_.queues[q])) servers_[q].push_back(a);
    }
  }
}

void SimWorld::Start() {
  for (size_t a = 0; a < agents_.size(); ++a) {
    After(Uniform(0, kLoginSpreadS), [this, a] { Login(a); });
  }
  ScheduleNextArrival();
  After(0, [this] { Tick(); });
}

bool SimWorld::AdvanceTo(int64_t target_ms, size_t max_actions) {
  for (size_t n = 0; !actions_.empty() && actions_.top().at_ms <= target_ms; ++n) {
    if (n == max_actions) return false;
    const Action action = actions_.top();
    actions_.pop();
    if (action.at_ms > Now()) clock_->SetMs(action.at_ms);
    action.run();
  }
  if (target_ms > Now()) clock_->SetMs(target_ms);
  return true;
}

// ---------------------------------------------------------------------------------------------
// Scheduling and engine plumbing

void SimWorld::After(double seconds, std::function<void()> run) {
  const int64_t at = Now() + std::max<int64_t>(0, std::llround(seconds * 1000.0));
  actions_.push({at, next_seq_++, std::move(run)});
}

void SimWorld::Tick() {
  engine::Decisions out;
  engine_->Tick(&out);
  Handle("Tick", Status::Ok(), out);
  After(kTickS, [this] { Tick(); });
}

void SimWorld::Handle(std::string_view call, const Status& status,
                      const engine::Decisions& decisions) {
  // Decisions of timers that fired before the call stand even when the call itself failed.
  for (const engine::Decision& d : decisions) OnDecision(d);
  if (status.ok()) return;
  if (status.code() == Code::kFailedPrecondition || status.code() == Code::kNotFound) {
    ++counters_.races;
    return;
  }
  ++counters_.errors;
  std::fprintf(stderr, "switchboard dev: engine %.*s failed: %s\n", static_cast<int>(call.size()),
               call.data(), status.ToString().c_str());
}

void SimWorld::OnDecision(const engine::Decision& d) {
  switch (d.type) {
    case pb::DECISION_OFFER:
      ++counters_.offers;
      OnOffer(d);
      break;
    case pb::DECISION_WITHDRAW:
      ++counters_.withdrawn;
      break;
    case pb::DECISION_EXPIRE:
      ++counters_.expired;
      break;
    case pb::DECISION_OVERFLOW:
      ++counters_.overflows;
      break;
    case pb::DECISION_AGENT_STATE:
      if (d.reason == pb::REASON_ACW_LIMIT) ++counters_.acw_limits;
      if (d.reason == pb::REASON_MISSED_OFFER) {
        ++counters_.missed;
        auto it = agent_index_.find(d.agent_id);
        if (it != agent_index_.end()) {
          const size_t a = it->second;
          After(Uniform(kNoticeMissMinS, kNoticeMissMaxS),
                [this, a] { RecoverFromMissedOffer(a); });
        }
      }
      break;
    default:  // requeues need nothing from the simulated people
      break;
  }
}

// ---------------------------------------------------------------------------------------------
// Agents

pb::Agent SimWorld::MakeAgent(int n, const std::string& domain) {
  std::map<std::string, uint32_t> prof;  // ordered: the same seed gives the same agents
  auto grant = [&](const std::string& skill, int level) {
    uint32_t& p = prof[skill];
    p = std::max(p, static_cast<uint32_t>(level));
  };
  auto serve = [&](const QueueTraffic& q) {
    for (const auto& r : q.base) {
      grant(r.skill(), UniformInt(std::max<int>(1, r.min_proficiency()), 5));
    }
    if (!q.difficult_skill.empty() && Chance(kDifficultTrainedShare)) {
      grant(q.difficult_skill, UniformInt(1, 5));
    }
  };
  std::vector<const QueueTraffic*> mine;
  for (const QueueTraffic& q : profile_.queues) {
    if (q.domain == domain) mine.push_back(&q);
  }
  bool serves_any = false;
  for (const QueueTraffic* q : mine) {
    if (Chance(kServeShare)) {
      serve(*q);
      serves_any = true;
    } else if (Chance(kJuniorShare)) {
      for (const auto& r : q->base) {
        if (r.min_proficiency() > 1) {
          grant(r.skill(), UniformInt(1, static_cast<int>(r.min_proficiency()) - 1));
        }
      }
    }
  }
  if (!serves_any && !mine.empty()) serve(*mine[UniformInt(0, static_cast<int>(mine.size()) - 1)]);
  for (const LanguageMix& l : profile_.languages) {
    if (Chance(l.agent_share)) grant(l.skill, UniformInt(2, 5));
  }

  pb::Agent agent;
  agent.set_id("A" + std::to_string(1001 + n));
  agent.set_domain(domain);
  for (const auto& [skill, level] : prof) {
    pb::SkillLevel* s = agent.add_skills();
    s->set_skill(skill);
    s->set_proficiency(level);
  }
  return agent;
}

bool SimWorld::Serves(const pb::Agent& agent, const QueueTraffic& queue) const {
  if (agent.domain() != queue.domain) return false;
  for (const auto& r : queue.base) {
    const bool has = std::any_of(agent.skills().begin(), agent.skills().end(), [&](const auto& s) {
      return s.skill() == r.skill() && s.proficiency() >= r.min_proficiency();
    });
    if (!has) return false;
  }
  return true;
}

void SimWorld::Login(size_t a) {
  engine::Decisions out;
  const Status st = engine_->AgentLogin(agents_[a].agent, /*ready=*/true, &out);
  Handle("AgentLogin", st, out);
  if (st.ok()) After(Uniform(kFirstBreakMinS, kFirstBreakMaxS), [this, a] { StartBreak(a); });
}

void SimWorld::OnOffer(const engine::Decision& d) {
  auto it = agent_index_.find(d.agent_id);
  if (it == agent_index_.end()) {
    ++counters_.errors;
    std::fprintf(stderr, "switchboard dev: engine offered %s to unknown agent %s\n",
                 d.contact_id.c_str(), d.agent_id.c_str());
    return;
  }
  const size_t a = it->second;
  const double roll = Uniform(0, 1);
  if (roll < kMissShare) return;  // never answered: the engine's offer timeout takes over
  const double think = Uniform(kThinkMinS, kThinkMaxS);
  if (roll < kMissShare + kRejectShare) {
    After(think, [this, a, c = d.contact_id, n = d.attempt] { Reject(a, c, n); });
  } else {
    After(think, [this, a, c = d.contact_id, n = d.attempt] { Accept(a, c, n); });
  }
}

void SimWorld::Accept(size_t a, const std::string& contact, uint32_t attempt) {
  engine::Decisions out;
  const Status st = engine_->OfferAccepted(agents_[a].agent.id(), contact, attempt, &out);
  Handle("OfferAccepted", st, out);
  if (!st.ok()) return;
  ++counters_.accepted;
  After(std::max(kMinTalkS, Exponential(options_.aht_s)),
        [this, a, contact] { EndTalk(a, contact); });
}

void SimWorld::Reject(size_t a, const std::string& contact, uint32_t attempt) {
  engine::Decisions out;
  const Status st = engine_->OfferRejected(agents_[a].agent.id(), contact, attempt, &out);
  Handle("OfferRejected", st, out);
  if (st.ok()) ++counters_.rejected;
}

void SimWorld::EndTalk(size_t a, const std::string& contact) {
  engine::Decisions out;
  const Status st = engine_->ContactEnded(contact, &out);
  Handle("ContactEnded", st, out);
  if (!st.ok()) return;
  // Queues without after-contact work close the contact at once; the rest wait for wrap-up.
  auto view = engine_->GetContact(contact);
  if (view.ok() && view->state == pb::CONTACT_STATE_COMPLETED) {
    After(Uniform(kWrapUpMinS, kWrapUpMaxS), [this, a, contact] { WrapUp(a, contact); });
  }
}

void SimWorld::WrapUp(size_t a, const std::string& contact) {
  engine::Decisions out;
  const Status st = engine_->WrapUpDone(agents_[a].agent.id(), contact, &out);
  Handle("WrapUpDone", st, out);
}

void SimWorld::StartBreak(size_t a) {
  if (agents_[a].on_break) return;
  engine::Decisions out;
  const Status st = engine_->AgentNotReady(agents_[a].agent.id(), "break", &out);
  Handle("AgentNotReady", st, out);
  if (!st.ok()) return;
  agents_[a].on_break = true;
  ++counters_.breaks;
  After(Uniform(kBreakMinS, kBreakMaxS), [this, a] { EndBreak(a); });
}

void SimWorld::EndBreak(size_t a) {
  agents_[a].on_break = false;
  engine::Decisions out;
  const Status st = engine_->AgentReady(agents_[a].agent.id(), &out);
  Handle("AgentReady", st, out);
  After(Uniform(kBreakGapMinS, kBreakGapMaxS), [this, a] { StartBreak(a); });
}

void SimWorld::RecoverFromMissedOffer(size_t a) {
  if (agents_[a].on_break) return;  // the end of the break makes the agent ready
  engine::Decisions out;
  const Status st = engine_->AgentReady(agents_[a].agent.id(), &out);
  Handle("AgentReady", st, out);
}

// ---------------------------------------------------------------------------------------------
// Customers

void SimWorld::ScheduleNextArrival() {
  if (options_.arrivals_per_min <= 0 || profile_.queues.empty()) return;
  After(Exponential(60.0 / options_.arrivals_per_min), [this] {
    Arrive();
    ScheduleNextArrival();
  });
}

void SimWorld::Arrive() {
  const size_t q = pick_queue_(rng_);
  pb::Contact contact = MakeContact(profile_.queues[q]);
  if (Chance(profile_.queues[q].preferred_share) && !servers_[q].empty()) {
    const size_t a = servers_[q][UniformInt(0, static_cast<int>(servers_[q].size()) - 1)];
    contact.set_preferred_agent(agents_[a].agent.id());
  }
  engine::Decisions out;
  const Status st = engine_->ContactArrived(contact, &out);
  Handle("ContactArrived", st, out);
  if (!st.ok()) return;
  ++counters_.arrivals;
  if (options_.patience_s > 0) {
    After(Exponential(options_.patience_s), [this, id = contact.id()] { Abandon(id); });
  }
}

pb::Contact SimWorld::MakeContact(const QueueTraffic& queue) {
  pb::Contact c;
  c.set_id(ContactId(next_contact_++));
  c.set_idempotency_key("demo-" + c.id());
  c.set_queue(queue.name);
  c.set_channel(queue.channel);
  c.set_created_at_ms(Now());
  c.set_customer_id("cust-" + std::to_string(UniformInt(1, 99999)));
  const double p = Uniform(0, 1);
  c.set_priority(p < kEmergencyShare                  ? pb::PRIORITY_EMERGENCY
                 : p < kEmergencyShare + kUrgentShare ? pb::PRIORITY_URGENT
                                                      : pb::PRIORITY_NORMAL);
  if (Chance(kInternalShare)) c.set_origin(pb::ORIGIN_INTERNAL);
  if (Chance(kVipShare)) c.set_segment(pb::SEGMENT_VIP);
  if (Chance(queue.difficult_share)) {
    c.mutable_flags()->set_difficult(true);
    if (!queue.difficult_skill.empty()) {
      pb::SkillRequirement* r = c.add_required_skills();
      r->set_skill(queue.difficult_skill);
      r->set_min_proficiency(1);
    }
  }
  double language = Uniform(0, 1);
  for (const LanguageMix& l : profile_.languages) {
    if (language < l.contact_share) {
      c.set_language(l.skill);
      break;
    }
    language -= l.contact_share;
  }
  return c;
}

void SimWorld::Abandon(const std::string& contact) {
  // A customer knows whether someone answered; the engine's view stands in for that knowledge.
  auto view = engine_->GetContact(contact);
  if (!view.ok()) return;  // handled and gone, or expired by the queue's max wait
  if (view->state != pb::CONTACT_STATE_WAITING && view->state != pb::CONTACT_STATE_OFFERED) return;
  engine::Decisions out;
  const Status st = engine_->ContactAbandoned(contact, &out);
  Handle("ContactAbandoned", st, out);
}

}  // namespace sb::dev
