#include "tools/loadgen/loadgen.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <queue>
#include <random>
#include <set>

#include "CLI/CLI.hpp"
#include "common/clock.h"
#include "common/config/config.h"
#include "nlohmann/json.hpp"
#include "router/kafka/client.h"
#include "router/kafka/topics.h"
#include "switchboard/v1/events.pb.h"
#include "tools/loadgen/floor.h"
#include "tools/loadgen/ledger.h"

namespace sb::loadgen {
namespace {

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Flags {
  std::string kafka;
  std::string config_path;
  uint64_t contacts = 1000;
  double rate = 100;
  uint32_t agents = 50;
  uint32_t domains = 1;
  uint64_t seed = 1;
  bool verify = false;
  double timeout_s = 120;
  int think_ms = 200, handle_ms = 2000, wrap_ms = 300;
  double patience_s = 60;
  int floor_messages = 2000;
  std::string results;
  std::string epoch_log;
  std::vector<std::string> settings;
};

struct SimAgent {
  pb::Agent agent;
  std::map<std::string, uint32_t> prof;
  int32_t partition = 0;
};

struct Queue {
  std::string name;
  std::string domain;
  std::vector<std::pair<std::string, uint32_t>> reqs;
  std::vector<uint32_t> eligible_agents;
};

enum class Act : uint8_t { kAccept, kEnd, kWrapUp, kReady, kAbandon };
struct Action {
  int64_t due_ms;
  Act act;
  uint32_t agent;
  std::string contact;
  uint32_t attempt;
  bool operator>(const Action& o) const { return due_ms > o.due_ms; }
};

class Run {
 public:
  Run(Flags f, pb::RoutingConfig config)
      : f_(std::move(f)), config_(std::move(config)), rng_(f_.seed) {}
  int Go();

 private:
  Status Setup();
  bool Eligible(const SimAgent& a, const Queue& q) const;
  Status Send(const std::string& domain_partition_key, std::string_view topic, int32_t partition,
              const pb::RoutingEvent& ev);
  Status SubmitContact(uint64_t n, bool measured);
  Status OnOutput(const kafka::Record& r);
  Status Fire(const Action& a);
  void Schedule(Action a) { actions_.push(std::move(a)); }
  int Report(const Verdict& v, const Floor& floor);

  Flags f_;
  pb::RoutingConfig config_;
  std::mt19937_64 rng_;
  std::string run_id_;
  int32_t partitions_ = 0;
  std::unique_ptr<kafka::Producer> producer_;
  std::unique_ptr<kafka::PartitionReader> reader_;
  Status delivery_failure_;
  std::vector<SimAgent> agents_;
  std::map<std::string, uint32_t> agent_index_;
  std::vector<Queue> queues_;
  std::vector<std::string> domains_;
  std::map<std::string, size_t> contact_queue_;  // contact -> queue index
  std::set<std::string> live_offers_;            // contact#attempt offered, not withdrawn
  std::priority_queue<Action, std::vector<Action>, std::greater<>> actions_;
  std::set<std::pair<int32_t, uint64_t>> epochs_seen_;
  std::ofstream epoch_log_;
  Ledger ledger_;
};

bool Run::Eligible(const SimAgent& a, const Queue& q) const {
  for (const auto& [skill, min] : q.reqs) {
    auto it = a.prof.find(skill);
    if (it == a.prof.end() || it->second < min) return false;
  }
  return true;
}

Status Run::Setup() {
  if (f_.domains == 0 || f_.domains > static_cast<uint32_t>(config_.domains_size())) {
    return InvalidArgument("--domains " + std::to_string(f_.domains) + ": the config has " +
                           std::to_string(config_.domains_size()) + " domains");
  }
  for (uint32_t d = 0; d < f_.domains; ++d) domains_.push_back(config_.domains(d).name());
  for (const auto& q : config_.queues()) {
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
  for (uint32_t i = 0; i < f_.agents; ++i) {
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
  return Status::Ok();
}

Status Run::Send(const std::string& key, std::string_view topic, int32_t partition,
                 const pb::RoutingEvent& ev) {
  return producer_->Produce(topic, partition, key, ev.SerializeAsString(), {}, 0);
}

Status Run::SubmitContact(uint64_t n, bool measured) {
  std::uniform_int_distribution<size_t> pick(0, queues_.size() - 1);
  // Probes go one per domain's first queue; the load goes to random servable queues.
  const size_t qi = measured ? pick(rng_) : n % queues_.size();
  const Queue& q = queues_[qi];
  pb::RoutingEvent ev;
  ev.set_at_ms(WallMs());
  pb::Contact* c = ev.mutable_contact_arrived()->mutable_contact();
  c->set_id("c" + run_id_ + "-" + (measured ? "" : "probe-") + std::to_string(n));
  c->set_idempotency_key(c->id());
  c->set_queue(q.name);
  c->set_channel(pb::CHANNEL_VOICE);
  c->set_created_at_ms(ev.at_ms());
  contact_queue_[c->id()] = qi;
  ledger_.Submitted(c->id(), MonotonicMs(), measured);
  if (f_.patience_s > 0) {
    std::exponential_distribution<double> patience(1.0 / (f_.patience_s * 1000.0));
    Schedule({MonotonicMs() + static_cast<int64_t>(patience(rng_)), Act::kAbandon, 0, c->id(), 0});
  }
  return Send(c->id(), kafka::kContactsTopic, kafka::PartitionFor(q.domain, partitions_), ev);
}

Status Run::OnOutput(const kafka::Record& r) {
  pb::ShardOutput out;
  if (!r.value || !out.ParseFromString(*r.value)) return Status::Ok();  // not ours to judge
  const pb::Decision& d = out.decision();
  auto cq = contact_queue_.find(d.contact_id());
  if (cq == contact_queue_.end()) return Status::Ok();  // another run's contact
  auto ai = agent_index_.find(d.agent_id());
  const bool eligible =
      ai == agent_index_.end() || Eligible(agents_[ai->second], queues_[cq->second]);
  const int64_t now = MonotonicMs();
  if (ledger_.Output(out, eligible, now) != Ledger::Seen::kNew) return Status::Ok();
  if ((d.type() == pb::DECISION_OFFER || d.type() == pb::DECISION_CONNECTED) &&
      epochs_seen_.insert({out.shard(), out.epoch()}).second && epoch_log_.is_open()) {
    epoch_log_ << WallMs() << " " << out.shard() << " " << out.epoch() << "\n" << std::flush;
  }
  const std::string offer = d.contact_id() + "#" + std::to_string(d.attempt());
  switch (d.type()) {
    case pb::DECISION_OFFER:
      if (ai == agent_index_.end() || ledger_.IsAbandoned(d.contact_id())) break;
      live_offers_.insert(offer);
      Schedule({now + f_.think_ms, Act::kAccept, ai->second, d.contact_id(), d.attempt()});
      break;
    case pb::DECISION_WITHDRAW:
    case pb::DECISION_REQUEUE:
      live_offers_.erase(offer);
      break;
    case pb::DECISION_CONNECTED:
      live_offers_.erase(offer);
      if (ai != agent_index_.end()) {
        Schedule({now + f_.handle_ms, Act::kEnd, ai->second, d.contact_id(), d.attempt()});
      }
      break;
    case pb::DECISION_AGENT_STATE:
      // Set not-ready by the engine (missed offer): back to ready after a second.
      if (ai != agent_index_.end() && d.reason() == pb::REASON_MISSED_OFFER) {
        Schedule({now + 1000, Act::kReady, ai->second, "", 0});
      }
      break;
    default:
      break;
  }
  return Status::Ok();
}

Status Run::Fire(const Action& a) {
  pb::RoutingEvent ev;
  ev.set_at_ms(WallMs());
  if (a.act == Act::kAbandon) {
    if (ledger_.Offered(a.contact) || ledger_.IsAbandoned(a.contact)) return Status::Ok();
    ledger_.Abandoned(a.contact);
    ev.mutable_contact_abandoned()->set_contact_id(a.contact);
    const Queue& q = queues_[contact_queue_[a.contact]];
    return Send(a.contact, kafka::kContactsTopic, kafka::PartitionFor(q.domain, partitions_), ev);
  }
  const SimAgent& agent = agents_[a.agent];
  const std::string& id = agent.agent.id();
  switch (a.act) {
    case Act::kAccept: {
      if (!live_offers_.count(a.contact + "#" + std::to_string(a.attempt))) return Status::Ok();
      auto* acc = ev.mutable_offer_accepted();
      acc->set_agent_id(id);
      acc->set_contact_id(a.contact);
      acc->set_attempt(a.attempt);
      break;
    }
    case Act::kEnd:
      ev.mutable_contact_ended()->set_contact_id(a.contact);
      Schedule({MonotonicMs() + f_.wrap_ms, Act::kWrapUp, a.agent, a.contact, a.attempt});
      break;
    case Act::kWrapUp:
      ev.mutable_wrap_up_done()->set_agent_id(id);
      ev.mutable_wrap_up_done()->set_contact_id(a.contact);
      break;
    case Act::kReady:
      ev.mutable_agent_ready()->set_agent_id(id);
      break;
    case Act::kAbandon:
      break;
  }
  // The agent's desktop reports everything on the agent's partition, in the agent's order.
  return Send(id, kafka::kAgentEventsTopic, agent.partition, ev);
}

int Run::Report(const Verdict& v, const Floor& floor) {
  nlohmann::ordered_json j;
  j["submitted"] = v.submitted;
  j["assigned"] = v.assigned;
  j["abandoned"] = v.abandoned;
  j["lost"] = v.lost;
  j["duplicates"] = v.duplicates;
  j["ineligible"] = v.ineligible;
  j["p50_ms"] = v.p50_ms;
  j["p99_ms"] = v.p99_ms;
  j["max_ms"] = v.max_ms;
  j["throughput_per_s"] = std::round(v.throughput_per_s * 10) / 10;
  j["offers"] = v.offers;
  j["redelivered"] = v.redelivered;
  j["floor_p50_ms"] = floor.p50_ms;
  j["floor_p99_ms"] = floor.p99_ms;
  j["ratio_p99"] = floor.p99_ms > 0 ? std::round(v.p99_ms / floor.p99_ms * 100) / 100 : 0.0;
  j["rate_per_s"] = f_.rate;
  j["agents"] = f_.agents;
  j["domains"] = f_.domains;
  const std::string line = j.dump();
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
  if (!f_.results.empty()) {
    std::ofstream out(f_.results);
    out << j.dump(2) << "\n";
    if (!out) {
      std::fprintf(stderr, "loadgen: cannot write %s\n", f_.results.c_str());
      return 1;
    }
  }
  if (f_.verify && (v.lost > 0 || v.duplicates > 0 || v.ineligible > 0)) {
    std::fprintf(
        stderr, "loadgen: verification FAILED (lost %llu, duplicates %llu, ineligible %llu)\n",
        static_cast<unsigned long long>(v.lost), static_cast<unsigned long long>(v.duplicates),
        static_cast<unsigned long long>(v.ineligible));
    return 1;
  }
  return 0;
}

int Run::Go() {
  kafka::Settings settings;
  for (const std::string& kv : f_.settings) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::fprintf(stderr, "loadgen: --kafka-setting \"%s\": expected key=value\n", kv.c_str());
      return 2;
    }
    settings[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  run_id_ = std::to_string(f_.seed) + "x" + std::to_string(WallMs() % 100000000);
  const int64_t deadline = MonotonicMs() + static_cast<int64_t>(f_.timeout_s * 1000);
  auto fail = [](const Status& st) {
    std::fprintf(stderr, "loadgen: %s\n", st.ToString().c_str());
    return 1;
  };
  auto counts = kafka::TopicPartitions(f_.kafka, {std::string(kafka::kContactsTopic)}, 15000);
  if (!counts.ok()) return fail(counts.status());
  partitions_ = counts->begin()->second;
  if (partitions_ <= 0) return fail(FailedPrecondition("topic sb.contacts does not exist"));
  if (Status st = Setup(); !st.ok()) {
    std::fprintf(stderr, "loadgen: %s\n", st.ToString().c_str());
    return 2;
  }
  if (!f_.epoch_log.empty()) epoch_log_.open(f_.epoch_log, std::ios::app);

  // The raw floor first, on a scratch topic, with the same client settings.
  Floor floor;
  if (f_.floor_messages > 0) {
    auto fl = MeasureFloor(f_.kafka, settings, f_.floor_messages, std::min(f_.rate, 5000.0), 30000);
    if (!fl.ok()) return fail(fl.status());
    floor = *fl;
    std::fprintf(stderr, "loadgen: floor produce→consume p50 %.2f ms p99 %.2f ms (%d samples)\n",
                 floor.p50_ms, floor.p99_ms, floor.samples);
  }

  // Read sb.assignments from its current end: every output of this run comes after.
  auto reader = kafka::PartitionReader::Create(f_.kafka, settings);
  if (!reader.ok()) return fail(reader.status());
  reader_ = std::move(*reader);
  std::vector<kafka::TopicPartition> parts;
  for (int32_t p = 0; p < partitions_; ++p) {
    auto marks = reader_->Watermarks(kafka::kAssignmentsTopic, p, 15000);
    if (!marks.ok()) return fail(marks.status());
    parts.push_back({std::string(kafka::kAssignmentsTopic), p, marks->second});
  }
  if (Status st = reader_->Assign(parts); !st.ok()) return fail(st);
  auto producer = kafka::Producer::Create(f_.kafka, settings,
                                          [this](uint64_t, int32_t, int64_t, const Status& st) {
                                            if (!st.ok() && delivery_failure_.ok())
                                              delivery_failure_ = st;
                                          });
  if (!producer.ok()) return fail(producer.status());
  producer_ = std::move(*producer);

  for (const SimAgent& a : agents_) {
    pb::RoutingEvent ev;
    ev.set_at_ms(WallMs());
    *ev.mutable_agent_login()->mutable_agent() = a.agent;
    ev.mutable_agent_login()->set_ready(true);
    if (Status st = Send(a.agent.id(), kafka::kAgentEventsTopic, a.partition, ev); !st.ok())
      return fail(st);
  }
  // Probes: one contact per queue, waited for, so the timed load starts on a warm cluster.
  for (size_t i = 0; i < queues_.size(); ++i) {
    if (Status st = SubmitContact(i, /*measured=*/false); !st.ok()) return fail(st);
  }
  bool probing = true;
  uint64_t sent = 0;
  int64_t load_start = 0, done_at = -1;
  Status st;
  while (st.ok() && delivery_failure_.ok() && MonotonicMs() < deadline) {
    const int64_t now = MonotonicMs();
    if (probing) {
      bool all = true;
      for (size_t i = 0; i < queues_.size(); ++i) {
        all = all && ledger_.Offered("c" + run_id_ + "-probe-" + std::to_string(i));
      }
      if (all) {
        probing = false;
        load_start = now;
        std::fprintf(stderr,
                     "loadgen: cluster answered the probes; submitting %llu contacts at %.0f/s\n",
                     static_cast<unsigned long long>(f_.contacts), f_.rate);
      }
    } else if (sent < f_.contacts) {
      const uint64_t due = std::min<uint64_t>(
          f_.contacts, static_cast<uint64_t>((now - load_start) * f_.rate / 1000.0) + 1);
      for (; sent < due && st.ok(); ++sent) st = SubmitContact(sent, /*measured=*/true);
    }
    while (st.ok() && !actions_.empty() && actions_.top().due_ms <= now) {
      Action a = actions_.top();
      actions_.pop();
      st = Fire(a);
    }
    producer_->Poll(0);
    for (int n = 0; st.ok() && n < 1000; ++n) {
      auto rec = reader_->Poll(n == 0 ? 1 : 0);
      if (!rec.ok()) {
        st = rec.status();
        break;
      }
      if (!rec->has_value()) break;
      st = OnOutput(**rec);
    }
    if (!probing && sent == f_.contacts && ledger_.AllFinal()) {
      if (done_at < 0) done_at = now;
      if (now - done_at > 1000) break;  // a second more for late repeats or contradictions
    }
  }
  if (!st.ok()) return fail(st);
  if (!delivery_failure_.ok()) return fail(delivery_failure_);
  if (probing) std::fprintf(stderr, "loadgen: the cluster never answered the probe contacts\n");
  for (const SimAgent& a : agents_) {
    pb::RoutingEvent ev;
    ev.set_at_ms(WallMs());
    ev.mutable_agent_logout()->set_agent_id(a.agent.id());
    Send(a.agent.id(), kafka::kAgentEventsTopic, a.partition, ev).IgnoreError();  // best effort
  }
  producer_->Flush(5000).IgnoreError();  // logouts are courtesy; the verdict is already known
  return Report(ledger_.Finish(), floor);
}

}  // namespace

int Main(int argc, char** argv) {
  CLI::App app{"switchboard loadgen: contacts and simulated agents through Kafka, verified"};
  Flags f;
  app.add_option("--kafka", f.kafka, "Kafka bootstrap servers")->required();
  app.add_option("--config", f.config_path, "routing configuration the routers use")->required();
  app.add_option("--contacts", f.contacts, "contacts to submit (1000)");
  app.add_option("--rate", f.rate, "contacts per second (100)")->check(CLI::PositiveNumber);
  app.add_option("--agents", f.agents, "simulated agents (50)")->check(CLI::PositiveNumber);
  app.add_option("--domains", f.domains, "use the first D domains of the config (1)");
  app.add_option("--seed", f.seed, "random seed (1)");
  app.add_flag("--verify", f.verify, "exit 1 unless lost = duplicates = ineligible = 0");
  app.add_option("--timeout-s", f.timeout_s, "stop after this long (120)")
      ->check(CLI::PositiveNumber);
  app.add_option("--think-ms", f.think_ms, "agent's time to accept an offer (200)");
  app.add_option("--handle-ms", f.handle_ms, "talk time (2000)");
  app.add_option("--wrap-ms", f.wrap_ms, "after-contact work (300)");
  app.add_option("--patience-s", f.patience_s,
                 "mean customer patience before an offer; 0 = never abandon (60)");
  app.add_option("--floor-messages", f.floor_messages,
                 "messages of the raw floor measurement (2000; 0 = skip)");
  app.add_option("--results", f.results, "write the verdict as JSON here too");
  app.add_option("--epoch-log", f.epoch_log,
                 "append '<wall ms> <shard> <epoch>' at each new shard owner's first output");
  app.add_option("--kafka-setting", f.settings, "extra librdkafka setting key=value (repeatable)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  auto config = config::LoadRoutingConfigFile(f.config_path);
  if (!config.ok()) {
    std::fprintf(stderr, "loadgen: %s\n", config.status().ToString().c_str());
    return 2;
  }
  Run run(std::move(f), std::move(*config));
  return run.Go();
}

}  // namespace sb::loadgen
