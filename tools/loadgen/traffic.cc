#include "tools/loadgen/traffic.h"

#include <algorithm>
#include <chrono>

#include "common/clock.h"
#include "router/kafka/topics.h"
#include "tools/loadgen/grpc_agents.h"
#include "tools/loadgen/kafka_agents.h"

namespace sb::loadgen {
namespace {

// The detail of a session move's decision naming a call the agent keeps (decision.proto
// REASON_SESSION_MOVED; engine::kHeldConnected).
constexpr char kHeldConnected[] = "connected";

// Bounds every metadata call of the setup: long enough for the mock broker's slow first second.
constexpr int kMetadataTimeoutMs = 15000;
// A missed offer sets the agent not-ready; the simulated agent is ready again after this.
constexpr int64_t kMissedOfferPauseMs = 1000;
// Outputs read per Step at most, so a backlog never starves the due actions.
constexpr int kMaxOutputsPerStep = 1000;
// Request ids of the callbacks simulated customers ask for (the cluster's attempt and escalation
// contacts start with it too).
constexpr char kCallbackPrefix[] = "cb-";

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Traffic::Traffic(std::string bootstrap, pb::RoutingConfig config, TrafficOptions options)
    : bootstrap_(std::move(bootstrap)),
      config_(std::move(config)),
      options_(std::move(options)),
      rng_(options_.seed),
      run_id_(std::to_string(options_.seed) + "x" + std::to_string(WallMs() % 100000000)) {}

Result<std::unique_ptr<Traffic>> Traffic::Create(const std::string& bootstrap,
                                                 pb::RoutingConfig config, TrafficOptions options) {
  std::unique_ptr<Traffic> t(new Traffic(bootstrap, std::move(config), std::move(options)));
  auto counts =
      kafka::TopicPartitions(bootstrap, {std::string(kafka::kContactsTopic)}, kMetadataTimeoutMs);
  if (!counts.ok()) return counts.status();
  t->partitions_ = counts->begin()->second;
  if (t->partitions_ <= 0) return FailedPrecondition("topic sb.contacts does not exist");
  SB_RETURN_IF_ERROR(t->Setup());
  if (!t->options_.epoch_log.empty()) t->epoch_log_.open(t->options_.epoch_log, std::ios::app);
  return t;
}

bool Traffic::Eligible(const SimAgent& a, const Queue& q) const {
  for (const auto& [skill, min] : q.reqs) {
    auto it = a.prof.find(skill);
    if (it == a.prof.end() || it->second < min) return false;
  }
  return true;
}

Status Traffic::Setup() {
  const uint32_t domains = options_.domains;
  if (domains == 0 || domains > static_cast<uint32_t>(config_.domains_size())) {
    return InvalidArgument("--domains " + std::to_string(domains) + ": the config has " +
                           std::to_string(config_.domains_size()) + " domains");
  }
  for (uint32_t d = 0; d < domains; ++d) {
    domains_.push_back(config_.domains(static_cast<int>(d)).name());
  }
  for (const auto& q : config_.queues()) {
    if (q.acw_limit_s() > 0) acw_queues_.insert(q.name());
    if (std::find(domains_.begin(), domains_.end(), q.domain()) == domains_.end()) continue;
    Queue queue{q.name(), q.domain(), {}, {}};
    for (const auto& r : q.required_skills())
      queue.reqs.emplace_back(r.skill(), r.min_proficiency());
    queues_.push_back(std::move(queue));
  }
  // Agents: spread over the domains; each skill a domain's queues use is held with probability
  // 0.7 at a proficiency 1..5, so some agents are ineligible for some queues by design.
  std::uniform_int_distribution<uint32_t> level(1, 5);
  std::bernoulli_distribution holds(0.7);
  for (uint32_t i = 0; i < options_.agents; ++i) {
    SimAgent a;
    const std::string& domain = domains_[i % domains_.size()];
    a.agent.set_id("a" + run_id_ + "-" + std::to_string(i));
    a.agent.set_domain(domain);
    a.partition = kafka::PartitionFor(domain, partitions_);
    std::set<std::string> skills;
    for (const Queue& q : queues_) {
      if (q.domain != domain) continue;
      for (const auto& [skill, min] : q.reqs) skills.insert(skill);
    }
    for (const std::string& s : skills) {
      if (!holds(rng_)) continue;
      a.prof[s] = level(rng_);
      auto* sl = a.agent.add_skills();
      sl->set_skill(s);
      sl->set_proficiency(a.prof[s]);
    }
    agent_index_[a.agent.id()] = i;
    agents_.push_back(std::move(a));
  }
  for (Queue& q : queues_) {
    for (uint32_t i = 0; i < agents_.size(); ++i) {
      if (agents_[i].agent.domain() == q.domain && Eligible(agents_[i], q))
        q.eligible_agents.push_back(i);
    }
  }
  std::erase_if(queues_, [](const Queue& q) { return q.eligible_agents.empty(); });
  if (queues_.empty()) return InvalidArgument("--agents: no agent can serve any queue");
  ledger_.UseCapacity(config_.capacity());
  return Status::Ok();
}

Status Traffic::Start() {
  auto reader = kafka::PartitionReader::Create(bootstrap_, options_.settings);
  if (!reader.ok()) return reader.status();
  reader_ = std::move(*reader);
  std::vector<kafka::TopicPartition> parts;
  for (int32_t p = 0; p < partitions_; ++p) {
    auto marks = reader_->Watermarks(kafka::kAssignmentsTopic, p, kMetadataTimeoutMs);
    if (!marks.ok()) return marks.status();
    parts.push_back({std::string(kafka::kAssignmentsTopic), p, marks->second});
  }
  SB_RETURN_IF_ERROR(reader_->Assign(parts));
  auto producer = kafka::Producer::Create(bootstrap_, options_.settings,
                                          [this](uint64_t, int32_t, int64_t, const Status& st) {
                                            if (!st.ok() && delivery_failure_.ok())
                                              delivery_failure_ = st;
                                          });
  if (!producer.ok()) return producer.status();
  producer_ = std::move(*producer);
  std::vector<pb::Agent> agents;
  for (const SimAgent& a : agents_) agents.push_back(a.agent);
  if (options_.gateways.empty()) {
    link_ = std::make_unique<KafkaAgentLink>(std::move(agents), partitions_, producer_.get());
  } else {
    GrpcAgentOptions go;
    go.gateways = options_.gateways;
    auto link = GrpcAgentLink::Create(std::move(agents), std::move(go));
    if (!link.ok()) return link.status();
    link_ = std::move(*link);
  }
  return link_->LogIn();
}

Status Traffic::Send(const std::string& key, std::string_view topic, int32_t partition,
                     const pb::RoutingEvent& ev) {
  return producer_->Produce(topic, partition, key, ev.SerializeAsString(), {}, 0);
}

std::string Traffic::ProbeId(size_t queue) const {
  return "c" + run_id_ + "-probe-" + std::to_string(queue);
}

Status Traffic::Submit() {
  std::uniform_int_distribution<size_t> pick(0, queues_.size() - 1);
  const size_t queue = pick(rng_);
  return SubmitContact("c" + run_id_ + "-" + std::to_string(submitted_++), queue, true);
}

Status Traffic::SubmitProbes() {
  for (size_t i = 0; i < queues_.size(); ++i) {
    SB_RETURN_IF_ERROR(SubmitContact(ProbeId(i), i, /*measured=*/false));
  }
  return Status::Ok();
}

bool Traffic::ProbesAnswered() const {
  for (size_t i = 0; i < queues_.size(); ++i) {
    if (!ledger_.Offered(ProbeId(i))) return false;
  }
  return true;
}

Status Traffic::SubmitContact(const std::string& id, size_t queue, bool measured) {
  const Queue& q = queues_[queue];
  pb::RoutingEvent ev;
  ev.set_at_ms(WallMs());
  pb::Contact* c = ev.mutable_contact_arrived()->mutable_contact();
  c->set_id(id);
  c->set_idempotency_key(id);
  c->set_queue(q.name);
  c->set_channel(pb::CHANNEL_VOICE);
  c->set_created_at_ms(ev.at_ms());
  contact_queue_[id] = queue;
  ledger_.Submitted(id, MonotonicMs(), measured, c->channel());
  // Probes (not measured) never hang up: a probe abandoned before its offer could never show
  // that the cluster answers, and the load would never start.
  if (options_.patience_s > 0 && measured) {
    std::exponential_distribution<double> patience(1.0 / (options_.patience_s * 1000.0));
    Schedule({MonotonicMs() + static_cast<int64_t>(patience(rng_)), Act::kAbandon, 0, id, 0});
  }
  return Send(id, kafka::kContactsTopic, kafka::PartitionFor(q.domain, partitions_), ev);
}

Status Traffic::Abandon(const std::string& contact) {
  ledger_.HungUp(contact);
  const Queue& q = queues_[contact_queue_[contact]];
  const int32_t partition = kafka::PartitionFor(q.domain, partitions_);
  pb::RoutingEvent ev;
  ev.set_at_ms(WallMs());
  ev.mutable_contact_abandoned()->set_contact_id(contact);
  SB_RETURN_IF_ERROR(Send(contact, kafka::kContactsTopic, partition, ev));
  if (options_.callback_queue.empty() || contact.starts_with(kCallbackPrefix)) return Status::Ok();
  if (std::bernoulli_distribution(options_.callback_share)(rng_)) return RequestCallback(contact);
  return Status::Ok();
}

Status Traffic::SubmitFollowUp(const pb::RoutingEvent& ev, const std::string& queue) {
  std::string domain;
  for (const auto& q : config_.queues()) {
    if (q.name() == queue) domain = q.domain();
  }
  if (domain.empty()) {
    return InvalidArgument("follow-up queue \"" + queue + "\" is not in the routing config");
  }
  return Send(ev.follow_up().submit().request_id(), kafka::kContactsTopic,
              kafka::PartitionFor(domain, partitions_), ev);
}

Status Traffic::FileComplaint(const std::string& contact) {
  pb::RoutingEvent ev;
  ev.set_at_ms(WallMs());
  pb::FollowUpRequest* r = ev.mutable_follow_up()->mutable_submit();
  r->set_request_id(std::string(kCallbackPrefix) + "cmp-" + contact);
  r->set_kind(pb::FOLLOW_UP_KIND_COMPLAINT_REPLY);
  r->set_queue(options_.complaint_queue);
  r->set_customer_phone("+86139" + std::to_string(10000000 + rng_() % 90000000));
  r->set_customer_surname("Demo");
  r->set_complaint_category("service");
  r->set_customer_category("residential");
  if (!complaint_events_.empty() && std::bernoulli_distribution(0.1)(rng_)) {
    // The same customer again about the same event: the scheduler makes it an incident.
    const std::string& earlier = complaint_events_[rng_() % complaint_events_.size()];
    r->set_customer_id("customer-" + earlier);
    r->set_event_key("event-" + earlier);
  } else {
    r->set_customer_id("customer-" + contact);
    r->set_event_key("event-" + contact);
    complaint_events_.push_back(contact);
  }
  r->set_note("complaint after contact " + contact);
  return SubmitFollowUp(ev, options_.complaint_queue);
}

Status Traffic::RequestCallback(const std::string& contact) {
  pb::RoutingEvent ev;
  ev.set_at_ms(WallMs());
  pb::FollowUpRequest* r = ev.mutable_follow_up()->mutable_submit();
  r->set_request_id(kCallbackPrefix + contact);
  r->set_kind(pb::FOLLOW_UP_KIND_CALLBACK);
  r->set_queue(options_.callback_queue);
  r->set_customer_id("customer-" + contact);
  r->set_customer_phone("+86138" + std::to_string(10000000 + rng_() % 90000000));
  r->set_customer_surname("Demo");
  r->set_note("hung up while waiting");
  ++callbacks_requested_;
  return SubmitFollowUp(ev, options_.callback_queue);
}

bool Traffic::AdoptFollowUp(const pb::Decision& d) {
  const bool follow_up =
      !options_.callback_queue.empty() && d.contact_id().starts_with(kCallbackPrefix);
  if (!follow_up && !options_.adopt_foreign_contacts) return false;
  for (size_t i = 0; i < queues_.size(); ++i) {
    if (queues_[i].name != d.queue()) continue;
    contact_queue_[d.contact_id()] = i;
    ledger_.Submitted(d.contact_id(), MonotonicMs(), /*measured=*/false);
    ++follow_up_contacts_;
    return true;
  }
  return false;  // a queue our agents do not serve
}

Status Traffic::HangUpWaiting() {
  for (const auto& [contact, queue] : contact_queue_) {
    // Only customers no agent was offered: an offer or a connection can reach a desk over gRPC
    // before the ledger reads it on sb.assignments, and hanging up on a call an agent has just
    // taken would count as a contact served after its customer left.
    if (ledger_.IsFinal(contact) || ledger_.IsAbandoned(contact) || ledger_.Offered(contact) ||
        HasLiveOffer(contact) || desk_connected_.count(contact)) {
      continue;
    }
    SB_RETURN_IF_ERROR(Abandon(contact));
  }
  return Status::Ok();
}

Status Traffic::OnOutput(const kafka::Record& r) {
  pb::ShardOutput out;
  if (!r.value || !out.ParseFromString(*r.value)) return Status::Ok();  // not ours to judge
  const pb::Decision& d = out.decision();
  auto cq = contact_queue_.find(d.contact_id());
  if (cq == contact_queue_.end()) {
    if (d.type() != pb::DECISION_OFFER || !AdoptFollowUp(d)) return Status::Ok();  // not ours
    cq = contact_queue_.find(d.contact_id());
  }
  auto ai = agent_index_.find(d.agent_id());
  const bool eligible =
      ai == agent_index_.end() || Eligible(agents_[ai->second], queues_[cq->second]);
  const int64_t now = MonotonicMs();
  ++outputs_booked_;
  if (ledger_.Output(out, eligible, now) != Ledger::Seen::kNew) return Status::Ok();
  if ((d.type() == pb::DECISION_OFFER || d.type() == pb::DECISION_CONNECTED) &&
      epochs_seen_.insert({out.shard(), out.epoch()}).second && epoch_log_.is_open()) {
    epoch_log_ << WallMs() << " " << out.shard() << " " << out.epoch() << "\n" << std::flush;
  }
  link_->Observe(d);  // the Kafka link's agents learn their offers here
  return Status::Ok();
}

bool Traffic::HasLiveOffer(const std::string& contact) const {
  auto it = live_offers_.lower_bound(contact + "#");
  return it != live_offers_.end() && it->starts_with(contact + "#");
}

void Traffic::OnHeard(AgentHeard& h) {
  const int64_t now = MonotonicMs();
  const pb::AgentUpdate& u = h.update;
  if (u.has_state()) {
    // Set not-ready by a gateway (logged in again after another node's logout): ready again.
    if (u.state().state() == pb::AGENT_STATE_NOT_READY) {
      Schedule({now + kMissedOfferPauseMs, Act::kReady, h.agent, "", 0});
    }
    return;
  }
  if (!u.has_offer() && !u.has_decision()) return;  // logged_in, heartbeat, refused (counted)
  const pb::Decision& d = u.has_offer() ? u.offer() : u.decision();
  const std::string offer = d.contact_id() + "#" + std::to_string(d.attempt());
  switch (d.type()) {
    case pb::DECISION_OFFER:
      // A contact not ours (nor a follow-up of ours, nor adopted) is left to time out. Over
      // gRPC the offer may come before the ledger read it on sb.assignments: adopt it here.
      if (!contact_queue_.count(d.contact_id()) && !AdoptFollowUp(d)) break;
      if (ledger_.IsAbandoned(d.contact_id())) break;
      live_offers_.insert(offer);
      Schedule({now + options_.think_ms, Act::kAccept, h.agent, d.contact_id(), d.attempt()});
      break;
    case pb::DECISION_WITHDRAW:
    case pb::DECISION_REQUEUE:
      live_offers_.erase(offer);
      break;
    case pb::DECISION_CONNECTED:
      live_offers_.erase(offer);
      desk_connected_.insert(d.contact_id());
      Schedule({now + options_.handle_ms, Act::kEnd, h.agent, d.contact_id(), d.attempt(),
                acw_queues_.count(d.queue()) > 0});
      break;
    case pb::DECISION_AGENT_STATE:
      // Set not-ready by the engine (missed offer): back to ready after a pause.
      if (d.reason() == pb::REASON_MISSED_OFFER) {
        Schedule({now + kMissedOfferPauseMs, Act::kReady, h.agent, "", 0});
      }
      // Moved to this desktop still holding a contact: its CONNECTED, or the completion or
      // wrap-up sent for it, may have gone down with the old stream. End or wrap it up again
      // (the engine refuses the second of two, harmlessly).
      if (d.reason() == pb::REASON_SESSION_MOVED && !d.contact_id().empty()) {
        desk_connected_.insert(d.contact_id());
        const bool connected = d.detail() == kHeldConnected;
        Schedule({now + (connected ? options_.handle_ms : options_.wrap_ms),
                  connected ? Act::kEnd : Act::kWrapUp, h.agent, d.contact_id(), d.attempt(),
                  acw_queues_.count(d.queue()) > 0});
      }
      break;
    default:
      break;
  }
}

Status Traffic::Fire(const Action& a) {
  if (a.act == Act::kAbandon) {
    // An offered customer stays: the agent's phone rings (over gRPC the offer can reach the
    // agent before the ledger reads it).
    if (ledger_.Offered(a.contact) || ledger_.IsAbandoned(a.contact) || HasLiveOffer(a.contact)) {
      return Status::Ok();
    }
    return Abandon(a.contact);
  }
  pb::AgentRequest r;
  switch (a.act) {
    case Act::kAccept: {
      if (!live_offers_.count(a.contact + "#" + std::to_string(a.attempt))) return Status::Ok();
      if (ledger_.IsAbandoned(a.contact)) return Status::Ok();  // never accept a hung-up call
      r.mutable_accept()->set_contact_id(a.contact);
      r.mutable_accept()->set_attempt(a.attempt);
      break;
    }
    case Act::kEnd: {
      r.mutable_complete()->set_contact_id(a.contact);
      Schedule(
          {MonotonicMs() + options_.wrap_ms, Act::kWrapUp, a.agent, a.contact, a.attempt, a.acw});
      // Without after-contact work the completion frees the agent in the engine.
      if (!a.acw) ledger_.Released(agents_[a.agent].agent.id(), a.contact, a.attempt);
      break;
    }
    case Act::kWrapUp:
      ledger_.Released(agents_[a.agent].agent.id(), a.contact, a.attempt);
      r.mutable_wrap_up()->set_contact_id(a.contact);
      if (a.contact.starts_with(kCallbackPrefix)) {  // the callback's outcome
        const bool answered = std::bernoulli_distribution(0.75)(rng_);
        r.mutable_wrap_up()->set_disposition(answered ? "answered" : "no_answer");
      } else {
        if (options_.resolved_share > 0) {
          const bool resolved = std::bernoulli_distribution(options_.resolved_share)(rng_);
          r.mutable_wrap_up()->set_disposition(resolved ? "resolved" : "unresolved");
        } else if (!options_.gateways.empty()) {
          r.mutable_wrap_up()->set_disposition("done");  // the gateway requires one
        }
        if (!options_.complaint_queue.empty() &&
            std::bernoulli_distribution(options_.complaint_share)(rng_)) {
          SB_RETURN_IF_ERROR(FileComplaint(a.contact));
        }
      }
      break;
    case Act::kReady:
      r.mutable_ready();
      break;
    case Act::kAbandon:
      break;
  }
  return link_->Send(a.agent, r);
}

Status Traffic::Step(int poll_timeout_ms) {
  const int64_t now = MonotonicMs();
  while (!actions_.empty() && actions_.top().due_ms <= now) {
    Action a = actions_.top();
    actions_.pop();
    SB_RETURN_IF_ERROR(Fire(a));
  }
  producer_->Poll(0);
  for (int n = 0; n < kMaxOutputsPerStep; ++n) {
    auto rec = reader_->Poll(n == 0 ? poll_timeout_ms : 0);
    if (!rec.ok()) return rec.status();
    if (!rec->has_value()) break;
    SB_RETURN_IF_ERROR(OnOutput(**rec));
  }
  heard_.clear();
  link_->Take(&heard_);
  for (AgentHeard& h : heard_) OnHeard(h);
  return delivery_failure_;
}

void Traffic::LogOut(int timeout_ms) {
  const int64_t deadline = MonotonicMs() + timeout_ms;
  link_->LogOut(timeout_ms);
  // Contacts' last records (hang-ups) too; courtesy, the verdict is known.
  producer_->Flush(static_cast<int>(std::max<int64_t>(0, deadline - MonotonicMs()))).IgnoreError();
}

}  // namespace sb::loadgen
