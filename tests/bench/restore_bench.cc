// Restore benchmark: how long a node with no local state takes to rebuild a shard from its
// changelog's newest snapshot, and what snapshots cost.
//
//   restore_bench [--smoke] [--results FILE] [--kafka BOOTSTRAP]
//
// Full shape: one shard with 10,000 logged-in agents (not ready) and 100,000 waiting contacts.
// Measured (CPU only, no broker: the records are built in memory, so the time to fetch them from
// Kafka is not in it):
//   snapshot_bytes        the snapshot's chunk records (keys and values)
//   snapshot_build_ms     ExportState + serialize + cut into chunks (the owner's cost, per
//   snapshot) restore_ms            ChangelogState reading the chunks + ToEngineState +
//   Engine::Restore changelog_bytes_per_contact  the changelog records one contact's life writes
//   (arrival, offer,
//                         acceptance, connection, end, wrap-up: entity records + a meta per group)
//   snapshot_bytes_per_s_at_5000  what snapshots add at 5,000 contacts/s: the policy writes one
//                         snapshot per max(1 MiB, snapshot size) of changelog (snapshot_policy.h)
//   kafka_restore_ms      with --kafka: the same records written to a fresh one-partition topic
//                         of that broker, then read back from its start by a new reader
//                         (ReadChangelog, as a claim does) and rebuilt: the log-alone restore
// Prints the figures and writes FILE (JSON, default bench-results/restore.json). Nothing is
// enforced. Exit 1 when the engine refuses an input or the restored state differs in size.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/config/config.h"
#include "router/engine/engine.h"
#include "router/kafka/client.h"
#include "router/kafka/epoch.h"
#include "router/shard/changelog.h"
#include "router/shard/checkpoint.h"
#include "router/shard/snapshot_policy.h"

namespace {

namespace pb = ::switchboard::v1;
using sb::Status;
using sb::shard::ChangelogState;
using sb::shard::Entry;

constexpr char kConfig[] = R"(
skills: [{name: general}, {name: billing}, {name: spanish}]
domains: [{name: d00}]
queues:
  - {name: d00.general, domain: d00, strategy: LONGEST_IDLE,
     required_skills: [{skill: general, min_proficiency: 1}], offer_timeout_s: 600}
  - {name: d00.billing, domain: d00, strategy: LONGEST_IDLE,
     required_skills: [{skill: billing, min_proficiency: 2}], offer_timeout_s: 600}
)";
constexpr int64_t kStartMs = 1'700'000'000'000;

double MsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

pb::Agent MakeAgent(int i) {
  pb::Agent a;
  a.set_id("agent-" + std::to_string(i));
  a.set_domain("d00");
  for (const char* s : {"general", "billing"}) {
    auto* k = a.add_skills();
    k->set_skill(s);
    k->set_proficiency(3);
  }
  return a;
}

pb::Contact MakeContact(int i) {
  pb::Contact c;
  c.set_id("contact-" + std::to_string(i));
  c.set_queue(i % 3 == 0 ? "d00.billing" : "d00.general");
  c.set_channel(pb::CHANNEL_VOICE);
  c.set_customer_id("customer-" + std::to_string(i));
  return c;
}

sb::kafka::Record Rec(int64_t offset, uint64_t epoch, const Entry& e) {
  sb::kafka::Record r;
  r.topic = "sb.router-changelog";
  r.offset = offset;
  r.key = e.key;
  r.value = e.value;
  r.headers.push_back(sb::kafka::EpochHeader(epoch));
  return r;
}

uint64_t BytesOf(const std::vector<Entry>& entries) {
  uint64_t n = 0;
  for (const Entry& e : entries) n += e.key.size() + (e.value ? e.value->size() : 0);
  return n;
}

// Changelog bytes of `contacts` whole contact lives with ready agents: each event is one group
// (its entity records and a meta carrying its outputs), as a shard writes under light load.
double ChangelogBytesPerContact(const pb::RoutingConfig& config, int contacts) {
  sb::ManualClock clock(kStartMs);
  auto engine = sb::engine::Engine::Create(config, &clock);
  if (!engine.ok()) return -1;
  (*engine)->TrackChanges(true);
  sb::engine::Decisions out;
  sb::engine::Changes changes;
  uint64_t bytes = 0;
  auto group = [&] {
    (*engine)->TakeChanges(&changes);
    bytes += BytesOf(sb::shard::EntriesFor(changes));
    pb::ShardMeta meta;
    for (const auto& q : changes.queue_stats) *meta.add_queue_stats() = q;
    meta.set_contacts_next_offset(1'000'000);
    meta.set_agent_events_next_offset(1'000'000);
    meta.set_config_version(std::string(16, 'f'));
    for (const auto& d : out) {
      pb::ShardOutput* o = meta.add_outputs();
      o->set_output_id(d.contact_id + "#1#" + pb::DecisionType_Name(d.type));
      *o->mutable_decision() = d.ToProto();
    }
    bytes += 4 + meta.ByteSizeLong();
    out.clear();
  };
  for (int i = 0; i < 50; ++i) {
    if (!(*engine)->AgentLogin(MakeAgent(i), true, &out).ok()) return -1;
  }
  group();
  const uint64_t before = bytes;
  for (int i = 0; i < contacts; ++i) {
    const pb::Contact c = MakeContact(i);
    if (!(*engine)->ContactArrived(c, &out).ok()) return -1;
    std::string agent;
    for (const auto& d : out) {
      if (d.type == pb::DECISION_OFFER) agent = d.agent_id;
    }
    group();
    if (agent.empty()) return -1;
    clock.AdvanceMs(100);
    if (!(*engine)->OfferAccepted(agent, c.id(), 1, &out).ok()) return -1;
    group();
    clock.AdvanceMs(1000);
    if (!(*engine)->ContactEnded(c.id(), &out).ok()) return -1;
    group();
    if ((*engine)->GetContact(c.id()).ok()) {  // after-contact work
      if (!(*engine)->WrapUpDone(agent, c.id(), &out, "answered").ok()) return -1;
      group();
    }
  }
  return static_cast<double>(bytes - before) / contacts;
}

// Writes `log` to a fresh topic of `bootstrap`, then restores from it as a claim does; the
// milliseconds from the new reader's creation to the rebuilt engine.
sb::Result<double> KafkaRestoreMs(const std::string& bootstrap,
                                  const std::vector<sb::kafka::Record>& log,
                                  const pb::RoutingConfig& config, sb::ManualClock* clock) {
  const std::string topic =
      "sb.restore-bench-" + std::to_string(getpid()) + "-" + std::to_string(sb::MonotonicMs());
  SB_RETURN_IF_ERROR(sb::kafka::EnsureTopic(bootstrap, topic, 1, 30000));
  sb::Status failed;
  auto producer =
      sb::kafka::Producer::Create(bootstrap, {{"message.max.bytes", "2000000"}},
                                  [&failed](uint64_t, int32_t, int64_t, const sb::Status& st) {
                                    if (!st.ok()) failed = st;
                                  });
  if (!producer.ok()) return producer.status();
  for (const auto& r : log) {
    SB_RETURN_IF_ERROR((*producer)->Produce(topic, 0, r.key, r.value, r.headers, 0));
  }
  SB_RETURN_IF_ERROR((*producer)->Flush(60000));
  SB_RETURN_IF_ERROR(failed);
  const auto t0 = std::chrono::steady_clock::now();
  auto reader = sb::kafka::PartitionReader::Create(bootstrap, {});
  if (!reader.ok()) return reader.status();
  auto marks = (*reader)->Watermarks(topic, 0, 10000);
  if (!marks.ok()) return marks.status();
  SB_RETURN_IF_ERROR((*reader)->Assign(topic, 0, marks->first));
  ChangelogState state;
  uint64_t records = 0;
  SB_RETURN_IF_ERROR(
      sb::shard::ReadChangelog(&state, reader->get(), marks->second, 0, 60000, &records));
  auto engine_state = state.ToEngineState();
  if (!engine_state.ok()) return engine_state.status();
  auto engine = sb::engine::Engine::Restore(config, clock, *engine_state);
  if (!engine.ok()) return engine.status();
  return MsSince(t0);
}

int Fail(const char* what, const sb::Status& st) {
  std::fprintf(stderr, "restore_bench: %s: %s\n", what, st.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  bool smoke = false;
  std::string results = "bench-results/restore.json";
  std::string kafka;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--smoke") {
      smoke = true;
    } else if (a == "--results" && i + 1 < argc) {
      results = argv[++i];
    } else if (a == "--kafka" && i + 1 < argc) {
      kafka = argv[++i];
    } else {
      std::fprintf(stderr, "usage: restore_bench [--smoke] [--results FILE] [--kafka BOOTSTRAP]\n");
      return 2;
    }
  }
  const int agents = smoke ? 500 : 10'000;
  const int waiting = smoke ? 5'000 : 100'000;
  auto config = sb::config::ParseRoutingConfig(kConfig);
  if (!config.ok()) {
    std::fprintf(stderr, "restore_bench: config: %s\n", config.status().ToString().c_str());
    return 1;
  }
  sb::ManualClock clock(kStartMs);
  auto engine = sb::engine::Engine::Create(*config, &clock);
  if (!engine.ok()) return Fail("engine", engine.status());
  sb::engine::Decisions out;
  for (int i = 0; i < agents; ++i) {
    Status st = (*engine)->AgentLogin(MakeAgent(i), /*ready=*/false, &out);
    if (!st.ok()) return Fail("login", st);
  }
  for (int i = 0; i < waiting; ++i) {
    clock.AdvanceMs(1);
    Status st = (*engine)->ContactArrived(MakeContact(i), &out);
    if (!st.ok()) return Fail("arrival", st);
  }

  // The owner's side: one snapshot.
  auto t0 = std::chrono::steady_clock::now();
  pb::ShardSnapshot snapshot;
  *snapshot.mutable_engine() = (*engine)->ExportState();
  snapshot.mutable_meta()->set_taken_at_ms(clock.NowMs());
  snapshot.set_slot(0);
  const std::vector<Entry> chunks = sb::shard::SnapshotEntries(snapshot, uint64_t{1} << 32 | 1);
  const double build_ms = MsSince(t0);
  const uint64_t snapshot_bytes = BytesOf(chunks);

  // A new node's side: read the claim and the chunks, rebuild the engine.
  std::vector<sb::kafka::Record> log;
  pb::EpochClaim claim;
  claim.set_epoch(1);
  claim.set_node_id("n1");
  log.push_back(Rec(0, 1, {sb::shard::ClaimKey(1), claim.SerializeAsString()}));
  for (const Entry& e : chunks) log.push_back(Rec(static_cast<int64_t>(log.size()), 1, e));
  t0 = std::chrono::steady_clock::now();
  ChangelogState state;
  for (const auto& r : log) {
    Status st = state.Apply(r);
    if (!st.ok()) return Fail("changelog", st);
  }
  auto restored_state = state.ToEngineState();
  if (!restored_state.ok()) return Fail("changelog state", restored_state.status());
  auto restored = sb::engine::Engine::Restore(*config, &clock, *restored_state);
  const double restore_ms = MsSince(t0);
  if (!restored.ok()) return Fail("restore", restored.status());
  const auto sum = (*restored)->Summarize();
  if (sum.waiting != static_cast<uint64_t>(waiting) ||
      sum.agents_logged_in != static_cast<uint64_t>(agents)) {
    std::fprintf(stderr, "restore_bench: restored %llu waiting, %llu agents\n",
                 static_cast<unsigned long long>(sum.waiting),
                 static_cast<unsigned long long>(sum.agents_logged_in));
    return 1;
  }

  const double per_contact = ChangelogBytesPerContact(*config, smoke ? 500 : 20'000);
  if (per_contact < 0) return Fail("contact lives", sb::Internal("an input was refused"));
  const double tail_per_s = 5000 * per_contact;
  const sb::shard::SnapshotPolicy::Options policy;
  const double snapshot_per_s =
      tail_per_s * static_cast<double>(snapshot_bytes) /
      static_cast<double>(std::max<uint64_t>(policy.min_bytes, snapshot_bytes));
  nlohmann::json j = {{"mode", smoke ? "smoke" : "full"},
                      {"agents", agents},
                      {"waiting_contacts", waiting},
                      {"snapshot_bytes", snapshot_bytes},
                      {"snapshot_chunks", chunks.size()},
                      {"snapshot_build_ms", build_ms},
                      {"restore_ms", restore_ms},
                      {"changelog_bytes_per_contact", per_contact},
                      {"changelog_bytes_per_s_at_5000", tail_per_s},
                      {"snapshot_bytes_per_s_at_5000", snapshot_per_s}};
  if (!kafka.empty()) {
    auto ms = KafkaRestoreMs(kafka, log, *config, &clock);
    if (!ms.ok()) return Fail("kafka restore", ms.status());
    j["kafka_restore_ms"] = *ms;
  }
  std::printf("%s\n", j.dump(2).c_str());
  std::error_code ec;
  if (std::filesystem::path(results).has_parent_path()) {
    std::filesystem::create_directories(std::filesystem::path(results).parent_path(), ec);
  }
  std::ofstream f(results);
  f << j.dump(2) << "\n";
  if (!f) {
    std::fprintf(stderr, "restore_bench: cannot write %s\n", results.c_str());
    return 1;
  }
  return 0;
}
