#include "unit/engine/random_world.h"

#include <google/protobuf/util/message_differencer.h>

#include <algorithm>

namespace sb::engine::testing {
namespace {

constexpr int64_t kStrictAgingMs = int64_t{1'000'000'000'000};
const char* const kSkills[] = {"general", "tech",       "billing", "chat",
                               "email",   "complaints", "english", "french"};

uint32_t Cost(pb::Channel ch) {
  switch (ch) {
    case pb::CHANNEL_CHAT:
      return 34;
    case pb::CHANNEL_EMAIL:
      return 20;
    case pb::CHANNEL_TASK:
      return 25;
    default:
      return 100;
  }
}

}  // namespace

pb::RoutingConfig RandomWorldConfig() {
  pb::RoutingConfig cfg;
  for (const char* s : kSkills) cfg.add_skills()->set_name(s);
  cfg.add_domains()->set_name("main");
  auto queue = [&](const char* name, pb::Strategy strategy,
                   std::vector<std::pair<const char*, int>> skills) {
    pb::QueueDef* q = cfg.add_queues();
    q->set_name(name);
    q->set_domain("main");
    q->set_strategy(strategy);
    for (const auto& [s, m] : skills) {
      auto* r = q->add_required_skills();
      r->set_skill(s);
      r->set_min_proficiency(m);
    }
    q->set_service_level_threshold_s(20);
    q->set_offer_timeout_s(8);
    q->set_acw_limit_s(5);
    return q;
  };
  auto* general = queue("voice_general", pb::STRATEGY_LONGEST_IDLE, {{"general", 1}});
  general->set_priority_aging_s(30);
  general->set_max_wait_s(600);
  auto* tech = queue("voice_tech", pb::STRATEGY_BEST_SKILL, {{"tech", 3}, {"billing", 2}});
  tech->set_priority_aging_s(20);
  auto* s1 = tech->add_bullseye();
  s1->set_after_s(20);
  s1->set_relax_proficiency(1);
  auto* s2 = tech->add_bullseye();
  s2->set_after_s(40);
  s2->add_drop_skills("billing");
  auto* s3 = tech->add_bullseye();
  s3->set_after_s(60);
  s3->set_overflow_queue("voice_general");
  queue("chat", pb::STRATEGY_LEAST_OCCUPIED, {{"chat", 1}})->set_priority_aging_s(60);
  queue("email", pb::STRATEGY_LONGEST_IDLE, {{"email", 1}})->set_acw_limit_s(0);
  auto* complaints = queue("complaints", pb::STRATEGY_PREFERRED_AGENT, {{"complaints", 2}});
  complaints->set_preferred_wait_s(30);
  complaints->set_priority_aging_s(30);
  queue("vip", pb::STRATEGY_BEST_SKILL, {{"general", 4}});
  cfg.mutable_capacity()->set_agent_units(100);
  for (auto ch : {pb::CHANNEL_VOICE, pb::CHANNEL_CHAT, pb::CHANNEL_EMAIL, pb::CHANNEL_CALLBACK,
                  pb::CHANNEL_TASK}) {
    auto* c = cfg.mutable_capacity()->add_costs();
    c->set_channel(ch);
    c->set_units(Cost(ch));
  }
  auto* rule = cfg.add_cross_channel_rules();
  rule->set_while_on(pb::CHANNEL_VOICE);
  rule->add_blocks(pb::CHANNEL_CHAT);
  cfg.set_difficult_cap(2);
  cfg.set_short_abandon_s(3);
  return cfg;
}

RandomWorld::RandomWorld(uint32_t seed, int agents, ManualClock* clock)
    : rng_(seed), clock_(clock), config_(RandomWorldConfig()) {
  for (int i = 0; i < agents; ++i) {
    const std::string id = "agent-" + std::to_string(i);
    ModelAgent& a = agents_[id];
    for (const char* s : kSkills) {
      if (rng_() % 10 < 4) a.skills[s] = 1 + static_cast<int>(rng_() % 5);
    }
    agent_ids_.push_back(id);
  }
}

const pb::QueueDef& RandomWorld::Queue(const std::string& name) const {
  for (const auto& q : config_.queues()) {
    if (q.name() == name) return q;
  }
  ADD_FAILURE() << "no queue " << name;
  return config_.queues(0);
}

uint32_t RandomWorld::StepsDue(const ModelContact& c) const {
  const auto& steps = Queue(c.queue).bullseye();
  const double waited_s = static_cast<double>(clock_->NowMs() - c.arrived_ms) / 1000.0;
  uint32_t n = 0;
  while (n < static_cast<uint32_t>(steps.size()) && steps[n].after_s() <= waited_s) ++n;
  return n;
}

std::pair<std::string, std::map<std::string, int>> RandomWorld::Requirement(const ModelContact& c,
                                                                            uint32_t step) const {
  const pb::QueueDef& origin = Queue(c.queue);
  std::string queue = c.queue;
  int relax = 0;
  std::set<std::string> dropped;
  for (uint32_t i = 0; i < step; ++i) {
    const auto& s = origin.bullseye(i);
    relax += s.relax_proficiency();
    dropped.insert(s.drop_skills().begin(), s.drop_skills().end());
    if (!s.overflow_queue().empty()) queue = s.overflow_queue();
  }
  std::map<std::string, int> reqs;
  for (const auto& r : Queue(queue).required_skills()) {
    if (!dropped.count(r.skill())) reqs[r.skill()] = r.min_proficiency();
  }
  if (!c.language.empty()) reqs[c.language] = std::max(reqs[c.language], 1);
  for (auto& [skill, min] : reqs) min = std::max(1, min - relax);
  return {queue, reqs};
}

bool RandomWorld::HasRoom(const ModelAgent& a, pb::Channel ch, bool difficult) const {
  uint32_t used = 0;
  int difficult_offers = 0;
  for (const auto& [id, state] : a.items) {
    const ModelContact& c = contacts_.at(id);
    used += Cost(c.channel);
    if (c.channel == pb::CHANNEL_VOICE && ch == pb::CHANNEL_CHAT) return false;
    if (state == pb::CONTACT_STATE_OFFERED && c.difficult) ++difficult_offers;
  }
  if (used + Cost(ch) > 100) return false;
  return !difficult || a.streak + difficult_offers < 2;
}

bool RandomWorld::Eligible(const ModelAgent& a, const ModelContact& c, uint32_t step,
                           std::string* why) const {
  if (!a.logged_in || !a.ready) return *why = "agent not logged in and ready", false;
  for (const auto& [id, state] : a.items) {
    if (state == pb::CONTACT_STATE_COMPLETED) return *why = "agent in after-contact work", false;
  }
  if (!HasRoom(a, c.channel, c.difficult)) return *why = "agent has no room (capacity/cap)", false;
  for (const auto& [skill, min] : Requirement(c, step).second) {
    auto it = a.skills.find(skill);
    if (it == a.skills.end() || it->second < min) return *why = "agent lacks " + skill, false;
  }
  return true;
}

void RandomWorld::FinishAfterContactWork(ModelAgent& a) {
  for (auto it = a.items.begin(); it != a.items.end();) {
    if (it->second == pb::CONTACT_STATE_COMPLETED) {
      Forget(it->first);
      it = a.items.erase(it);
    } else {
      ++it;
    }
  }
}

void RandomWorld::Forget(const std::string& contact) {
  contacts_.erase(contact);
  ++terminal_;
}

template <typename M>
const std::string* RandomWorld::Pick(const M& m, bool (*pred)(const typename M::value_type&)) {
  std::vector<const std::string*> candidates;
  for (const auto& entry : m) {
    if (pred(entry)) candidates.push_back(&entry.first);
  }
  if (candidates.empty()) return nullptr;
  return candidates[rng_() % candidates.size()];
}

pb::RoutingEvent RandomWorld::NextEvent() {
  using C = std::pair<const std::string, ModelContact>;
  using A = std::pair<const std::string, ModelAgent>;
  pb::RoutingEvent ev;
  for (;;) {
    const int roll = static_cast<int>(rng_() % 100);
    if (roll < 20) {  // a customer arrives
      if (contacts_.size() >= 600) continue;
      static const char* const kQueues[] = {"voice_general", "voice_tech", "chat",
                                            "email",         "complaints", "vip"};
      const std::string queue = kQueues[rng_() % 6];
      pb::Contact* c = ev.mutable_contact_arrived()->mutable_contact();
      c->set_id("c-" + std::to_string(next_contact_++));
      c->set_queue(queue);
      c->set_channel(queue == "chat"    ? pb::CHANNEL_CHAT
                     : queue == "email" ? pb::CHANNEL_EMAIL
                     : rng_() % 10 == 0 ? pb::CHANNEL_CALLBACK
                                        : pb::CHANNEL_VOICE);
      const int p = static_cast<int>(rng_() % 100);
      c->set_priority(p < 1   ? pb::PRIORITY_EMERGENCY
                      : p < 6 ? pb::PRIORITY_URGENT
                              : pb::PRIORITY_NORMAL);
      c->set_origin(rng_() % 10 == 0 ? pb::ORIGIN_INTERNAL : pb::ORIGIN_EXTERNAL);
      c->mutable_flags()->set_difficult(rng_() % 10 == 0);
      const int lang = static_cast<int>(rng_() % 10);
      if (lang == 0) c->set_language("english");
      if (lang == 1) c->set_language("french");
      if (queue == "complaints" && rng_() % 3 == 0) {
        c->set_preferred_agent(rng_() % 10 == 0 ? "nobody"
                                                : agent_ids_[rng_() % agent_ids_.size()]);
      }
      return ev;
    }
    if (roll < 35) {
      ev.mutable_timer();
      return ev;
    }
    if (roll < 58) {
      const std::string* id = Pick(
          contacts_, +[](const C& c) { return c.second.state == pb::CONTACT_STATE_OFFERED; });
      if (!id) continue;
      const ModelContact& c = contacts_.at(*id);
      if (rng_() % 100 < 12) {
        auto* r = ev.mutable_offer_rejected();
        r->set_agent_id(c.agent);
        r->set_contact_id(*id);
      } else {
        auto* a = ev.mutable_offer_accepted();
        a->set_agent_id(c.agent);
        a->set_contact_id(*id);
      }
      return ev;
    }
    if (roll < 72) {
      const std::string* id = Pick(
          contacts_, +[](const C& c) { return c.second.state == pb::CONTACT_STATE_CONNECTED; });
      if (!id) continue;
      ev.mutable_contact_ended()->set_contact_id(*id);
      return ev;
    }
    if (roll < 82) {
      const std::string* id = Pick(
          agents_, +[](const A& a) {
            for (const auto& [c, s] : a.second.items) {
              if (s == pb::CONTACT_STATE_COMPLETED) return true;
            }
            return false;
          });
      if (!id) continue;
      ev.mutable_wrap_up_done()->set_agent_id(*id);
      return ev;
    }
    if (roll < 87) {
      const std::string* id = Pick(
          contacts_, +[](const C& c) {
            return c.second.state == pb::CONTACT_STATE_WAITING ||
                   c.second.state == pb::CONTACT_STATE_OFFERED;
          });
      if (!id) continue;
      if (rng_() % 5 == 0 && contacts_.at(*id).state == pb::CONTACT_STATE_WAITING) {
        ev.mutable_contact_cancelled()->set_contact_id(*id);
      } else {
        ev.mutable_contact_abandoned()->set_contact_id(*id);
      }
      return ev;
    }
    if (roll < 92) {
      const std::string* id = Pick(
          agents_, +[](const A& a) { return a.second.logged_in && !a.second.ready; });
      if (!id) continue;
      ev.mutable_agent_ready()->set_agent_id(*id);
      return ev;
    }
    if (roll < 95) {
      const std::string* id = Pick(
          agents_, +[](const A& a) { return a.second.logged_in && a.second.ready; });
      if (!id) continue;
      ev.mutable_agent_not_ready()->set_agent_id(*id);
      ev.mutable_agent_not_ready()->set_reason("break");
      return ev;
    }
    if (roll < 98) {
      const std::string* id = Pick(
          agents_, +[](const A& a) { return !a.second.logged_in; });
      if (!id) continue;
      pb::Agent* a = ev.mutable_agent_login()->mutable_agent();
      a->set_id(*id);
      a->set_domain("main");
      for (const auto& [skill, prof] : agents_.at(*id).skills) {
        auto* l = a->add_skills();
        l->set_skill(skill);
        l->set_proficiency(prof);
      }
      ev.mutable_agent_login()->set_ready(rng_() % 4 != 0);
      return ev;
    }
    const std::string* id = Pick(
        agents_, +[](const A& a) { return a.second.logged_in; });
    if (!id) continue;
    ev.mutable_agent_logout()->set_agent_id(*id);
    return ev;
  }
}

void RandomWorld::Step(Engine* engine) {
  pb::RoutingEvent ev = NextEvent();
  const bool tick = ev.has_timer();
  if (tick) clock_->AdvanceMs(1 + static_cast<int64_t>(rng_() % 2000));
  ev.set_at_ms(clock_->NowMs());

  // Model effects that precede the engine's decisions.
  switch (ev.event_case()) {
    case pb::RoutingEvent::kContactArrived: {
      const pb::Contact& p = ev.contact_arrived().contact();
      ModelContact& c = contacts_[p.id()];
      c.queue = p.queue();
      c.channel = p.channel();
      c.priority = p.priority();
      c.origin = p.origin();
      c.difficult = p.flags().difficult();
      c.language = p.language();
      c.preferred = p.preferred_agent();
      c.arrived_ms = clock_->NowMs();
      c.seq = next_seq_++;
      break;
    }
    case pb::RoutingEvent::kOfferAccepted: {
      ModelContact& c = contacts_.at(ev.offer_accepted().contact_id());
      ModelAgent& a = agents_.at(c.agent);
      c.state = pb::CONTACT_STATE_CONNECTED;
      a.items[ev.offer_accepted().contact_id()] = pb::CONTACT_STATE_CONNECTED;
      a.streak = c.difficult ? a.streak + 1 : 0;
      ++accepts_;
      break;
    }
    case pb::RoutingEvent::kOfferRejected: {
      ModelContact& c = contacts_.at(ev.offer_rejected().contact_id());
      c.rejected_by.insert(c.agent);
      break;
    }
    case pb::RoutingEvent::kContactEnded: {
      const std::string& id = ev.contact_ended().contact_id();
      ModelContact& c = contacts_.at(id);
      ModelAgent& a = agents_.at(c.agent);
      c.state = pb::CONTACT_STATE_COMPLETED;
      a.items[id] = pb::CONTACT_STATE_COMPLETED;
      break;
    }
    case pb::RoutingEvent::kAgentLogin: {
      ModelAgent& a = agents_.at(ev.agent_login().agent().id());
      a.logged_in = true;
      a.ready = ev.agent_login().ready();
      a.streak = 0;
      break;
    }
    case pb::RoutingEvent::kAgentLogout: {
      ModelAgent& a = agents_.at(ev.agent_logout().agent_id());
      a.logged_in = false;
      a.ready = false;
      FinishAfterContactWork(a);
      break;
    }
    case pb::RoutingEvent::kAgentReady:
      agents_.at(ev.agent_ready().agent_id()).ready = true;
      break;
    case pb::RoutingEvent::kAgentNotReady:
      agents_.at(ev.agent_not_ready().agent_id()).ready = false;
      break;
    default:
      break;
  }

  Decisions out;
  Status st = engine->Apply(ev, &out);
  ASSERT_TRUE(st.ok()) << st.ToString() << " for " << ev.ShortDebugString();

  // Contacts whose completion the engine reports by silence: ended without ACW, wrapped up.
  if (ev.has_contact_ended()) {
    const std::string& id = ev.contact_ended().contact_id();
    auto v = engine->GetContact(id);
    if (!v.ok()) {  // queue without after-contact work: done at once
      agents_.at(contacts_.at(id).agent).items.erase(id);
      Forget(id);
    }
  }
  if (ev.has_wrap_up_done()) {
    FinishAfterContactWork(agents_.at(ev.wrap_up_done().agent_id()));
  }
  if (ev.has_contact_abandoned() || ev.has_contact_cancelled()) {
    const std::string& id = ev.has_contact_abandoned() ? ev.contact_abandoned().contact_id()
                                                       : ev.contact_cancelled().contact_id();
    // The engine says it saw the contact go (the channel and the verifier rely on it).
    const auto withdrawn = std::count_if(out.begin(), out.end(), [&](const Decision& d) {
      return d.type == pb::DECISION_WITHDRAW && d.contact_id == id;
    });
    ASSERT_EQ(withdrawn, 1) << id << " left without one DECISION_WITHDRAW";
  }
  Apply(out, tick);
  if (ev.has_contact_abandoned() || ev.has_contact_cancelled()) {
    const std::string& id = ev.has_contact_abandoned() ? ev.contact_abandoned().contact_id()
                                                       : ev.contact_cancelled().contact_id();
    Forget(id);
  }
  log_.push_back({clock_->NowMs(), std::move(ev), std::move(out)});
}

void RandomWorld::Apply(const Decisions& decisions, bool from_tick) {
  for (const Decision& d : decisions) {
    switch (d.type) {
      case pb::DECISION_OFFER: {
        CheckOffer(d, from_tick);
        ModelContact& c = contacts_.at(d.contact_id);
        c.state = pb::CONTACT_STATE_OFFERED;
        c.agent = d.agent_id;
        agents_.at(d.agent_id).items[d.contact_id] = pb::CONTACT_STATE_OFFERED;
        ++offers_;
        break;
      }
      case pb::DECISION_REQUEUE: {
        auto it = contacts_.find(d.contact_id);
        ASSERT_NE(it, contacts_.end()) << "requeue of unknown contact " << d.contact_id;
        ModelContact& c = it->second;
        ASSERT_TRUE(c.state == pb::CONTACT_STATE_OFFERED || c.state == pb::CONTACT_STATE_CONNECTED)
            << d.contact_id << " requeued from state " << c.state;
        if (!c.agent.empty()) agents_.at(c.agent).items.erase(d.contact_id);
        c.state = pb::CONTACT_STATE_WAITING;
        c.agent.clear();
        break;
      }
      case pb::DECISION_WITHDRAW: {
        const pb::ContactState state = contacts_.at(d.contact_id).state;
        if (d.agent_id.empty()) {  // a waiting contact that left: said so, once
          ASSERT_EQ(state, pb::CONTACT_STATE_WAITING) << d.contact_id;
          ASSERT_TRUE(d.reason == pb::REASON_CUSTOMER_LEFT || d.reason == pb::REASON_CANCELLED);
          break;
        }
        ASSERT_EQ(state, pb::CONTACT_STATE_OFFERED);
        agents_.at(d.agent_id).items.erase(d.contact_id);
        break;
      }
      case pb::DECISION_EXPIRE: {
        ASSERT_EQ(contacts_.at(d.contact_id).state, pb::CONTACT_STATE_WAITING);
        Forget(d.contact_id);
        break;
      }
      case pb::DECISION_AGENT_STATE: {
        ModelAgent& a = agents_.at(d.agent_id);
        if (d.reason == pb::REASON_MISSED_OFFER) {
          a.ready = false;
        } else {
          ASSERT_EQ(d.reason, pb::REASON_ACW_LIMIT);
          ASSERT_EQ(a.items.at(d.contact_id), pb::CONTACT_STATE_COMPLETED);
          a.items.erase(d.contact_id);
          Forget(d.contact_id);
        }
        break;
      }
      case pb::DECISION_OVERFLOW:
        break;
      case pb::DECISION_CONNECTED: {
        // Only in answer to the acceptance the model applied before the engine's answer.
        ASSERT_FALSE(from_tick) << "connection of " << d.contact_id << " on a tick";
        const ModelContact& c = contacts_.at(d.contact_id);
        ASSERT_EQ(c.state, pb::CONTACT_STATE_CONNECTED) << d.contact_id;
        ASSERT_EQ(c.agent, d.agent_id) << d.contact_id;
        ++connections_;
        break;
      }
      default:
        FAIL() << "unexpected decision type " << d.type;
    }
  }
}

void RandomWorld::CheckOffer(const Decision& d, bool from_tick) {
  auto it = contacts_.find(d.contact_id);
  ASSERT_NE(it, contacts_.end()) << "offer of unknown contact " << d.contact_id;
  const ModelContact& c = it->second;
  ASSERT_EQ(c.state, pb::CONTACT_STATE_WAITING)
      << d.contact_id << " offered while " << pb::ContactState_Name(c.state) << " (to " << c.agent
      << "): a contact offered to two agents";
  const ModelAgent& a = agents_.at(d.agent_id);
  std::string why;
  ASSERT_TRUE(Eligible(a, c, d.bullseye_step, &why))
      << "ineligible offer " << d.contact_id << " -> " << d.agent_id << ": " << why;
  ASSERT_EQ(d.queue, Requirement(c, d.bullseye_step).first);
  ASSERT_FALSE(c.rejected_by.count(d.agent_id))
      << d.agent_id << " re-offered a contact it rejected";
  if (from_tick) return;
  ASSERT_EQ(d.bullseye_step, StepsDue(c)) << d.contact_id;
  if (!c.preferred.empty() || d.reason != pb::REASON_BEST_AVAILABLE) return;
  // Aging bound: no waiting contact this agent could take was passed over though it out-ranked
  // the chosen one (emergency first; otherwise waited longer than its priority deficit allows).
  auto rank = [this](const ModelContact& x) {
    const pb::QueueDef& q = Queue(x.queue);
    const int64_t aging = q.priority_aging_s() > 0
                              ? static_cast<int64_t>(q.priority_aging_s() * 1000)
                              : kStrictAgingMs;
    const bool emergency = x.priority == pb::PRIORITY_EMERGENCY;
    const int level =
        (x.priority == pb::PRIORITY_URGENT ? 2 : 0) + (x.origin == pb::ORIGIN_EXTERNAL ? 1 : 0);
    return std::make_tuple(emergency ? 0 : 1,
                           emergency ? x.arrived_ms : x.arrived_ms - level * aging, x.seq);
  };
  for (const auto& [id, other] : contacts_) {
    if (id == d.contact_id || other.state != pb::CONTACT_STATE_WAITING || !other.preferred.empty())
      continue;
    if (other.rejected_by.count(d.agent_id)) continue;
    if (!Eligible(a, other, StepsDue(other), &why)) continue;
    ASSERT_FALSE(rank(other) < rank(c))
        << "starvation: " << d.agent_id << " got " << d.contact_id << " while " << id
        << " (waiting " << clock_->NowMs() - other.arrived_ms << " ms) out-ranked it";
  }
}

void RandomWorld::CheckAgainst(const Engine& engine, bool full) {
  uint64_t waiting = 0, offered = 0, connected = 0, logged_in = 0;
  for (const auto& [id, c] : contacts_) {
    waiting += c.state == pb::CONTACT_STATE_WAITING;
    offered += c.state == pb::CONTACT_STATE_OFFERED;
    connected += c.state == pb::CONTACT_STATE_CONNECTED;
  }
  for (const auto& [id, a] : agents_) logged_in += a.logged_in;
  const Summary s = engine.Summarize();
  ASSERT_EQ(s.waiting, waiting) << "waiting contacts differ: one was lost or invented";
  ASSERT_EQ(s.being_offered, offered);
  ASSERT_EQ(s.connected, connected);
  ASSERT_EQ(s.agents_logged_in, logged_in);
  ASSERT_EQ(engine.live_contacts(), contacts_.size());
  if (!full) return;
  for (const auto& [id, c] : contacts_) {
    auto v = engine.GetContact(id);
    ASSERT_TRUE(v.ok()) << "lost contact " << id << ": " << v.status().ToString();
    ASSERT_EQ(v->state, c.state) << id;
    ASSERT_EQ(v->agent_id, c.agent) << id;
  }
  for (const auto& [id, a] : agents_) {
    auto v = engine.GetAgent(id);
    if (!a.logged_in) {
      if (v.ok()) {
        ASSERT_EQ(v->state, pb::AGENT_STATE_LOGGED_OUT) << id;
      }
      continue;
    }
    ASSERT_TRUE(v.ok()) << id;
    ASSERT_LE(v->units_in_use, v->capacity_units) << id << " over capacity";
    uint32_t units = 0;
    for (const auto& [cid, st] : a.items) units += Cost(contacts_.at(cid).channel);
    ASSERT_EQ(v->units_in_use, units) << id;
    ASSERT_EQ(v->items, a.items.size()) << id;
  }
}

std::string Diff(const google::protobuf::Message& a, const google::protobuf::Message& b) {
  std::string report;
  google::protobuf::util::MessageDifferencer differ;
  differ.ReportDifferencesToString(&report);
  differ.Compare(a, b);
  return report.substr(0, 2000);
}

void RandomWorld::Replay(size_t from, Engine* engine, ManualClock* clock) const {
  for (size_t i = from; i < log_.size(); ++i) {
    const Recorded& rec = log_[i];
    clock->SetMs(rec.at_ms);
    Decisions out;
    ASSERT_TRUE(engine->Apply(rec.event, &out).ok()) << rec.event.ShortDebugString();
    ASSERT_EQ(out, rec.decisions) << "event " << i << ": " << rec.event.ShortDebugString();
  }
}

}  // namespace sb::engine::testing
