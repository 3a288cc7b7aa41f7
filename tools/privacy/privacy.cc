#include "tools/privacy/privacy.h"

#include <signal.h>

#include <cstdio>
#include <ctime>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "common/clock.h"
#include "common/text.h"
#include "router/followup/scheduler.h"
#include "router/kafka/client.h"
#include "router/kafka/topics.h"
#include "switchboard/v1/events.pb.h"
#include "tools/privacy/archive.h"

namespace sb::privacy {
namespace {

struct KafkaFlags {
  std::string bootstrap;
  std::vector<std::string> settings;
  int timeout_ms = 30000;
};

// What sb.followups says now: per task, its newest record (nullopt: removed), and the end offset
// of each partition when it was read.
struct ReadModel {
  std::map<std::string, std::optional<pb::FollowUpTaskRecord>> tasks;
  std::map<int32_t, int64_t> ends;
};

void AddKafkaFlags(CLI::App* app, KafkaFlags* f) {
  app->add_option("--kafka", f->bootstrap, "Kafka bootstrap servers (host:port,...)")->required();
  app->add_option("--kafka-setting", f->settings,
                  "extra librdkafka setting key=value (repeatable)");
  app->add_option("--timeout-ms", f->timeout_ms, "give up waiting for Kafka after this")
      ->check(CLI::PositiveNumber);
}

int Fail(const std::string& what, const Status& st) {
  std::fprintf(stderr, "privacy %s: %s\n", what.c_str(), st.message().c_str());
  return 1;
}

// Partition counts of `topics`; an absent topic is an error naming it.
Result<std::map<std::string, int32_t>> Partitions(const KafkaFlags& f, const kafka::Settings& extra,
                                                  const std::vector<std::string>& topics) {
  auto counts = kafka::TopicPartitions(f.bootstrap, topics, f.timeout_ms, extra);
  if (!counts.ok()) return counts.status();
  for (const std::string& t : topics) {
    if ((*counts)[t] == 0) {
      return FailedPrecondition(t + " does not exist (no router has run on this cluster)");
    }
  }
  return *counts;
}

// Reads sb.followups partition `p` from `from` to its end as of now; `fn` sees each record
// (value nullopt: a tombstone). Returns the end offset.
Result<int64_t> ReadFollowUps(
    kafka::PartitionReader& reader, int32_t p, int64_t from, int timeout_ms,
    const std::function<Status(const std::string& task_id, const pb::FollowUpTaskRecord* record)>&
        fn) {
  const std::string topic(kafka::kFollowUpsTopic);
  auto marks = reader.Watermarks(topic, p, timeout_ms);
  if (!marks.ok()) return marks.status();
  from = std::max(from, marks->first);  // retention or compaction removed the rest
  SB_RETURN_IF_ERROR(kafka::ReadRange(
      reader, topic, p, from, marks->second, timeout_ms, [&](const kafka::Record& r) {
        if (!r.value) return fn(r.key, nullptr);
        pb::FollowUpTaskRecord record;
        if (!record.ParseFromString(*r.value)) {
          // Gateways dead-letter such records (sb.dead-letter); nothing of a task to keep.
          std::fprintf(stderr, "privacy: %s[%d]@%lld is not a follow-up task record; skipped\n",
                       topic.c_str(), p, static_cast<long long>(r.offset));
          return Status::Ok();
        }
        return fn(r.key, &record);
      }));
  return std::max(from, marks->second);
}

// --- archive ---

// One pass: every partition from the archive's positions to its end now.
Status ArchivePass(ArchiveDir& archive, kafka::PartitionReader& reader, int32_t partitions,
                   int timeout_ms, int64_t* added, int64_t* present) {
  SB_RETURN_IF_ERROR(archive.Lock());
  Result<std::map<int32_t, int64_t>> positions = archive.Positions();
  if (!positions.ok()) return positions.status();
  for (int32_t p = 0; p < partitions; ++p) {
    Result<int64_t> end =
        ReadFollowUps(reader, p, (*positions)[p], timeout_ms,
                      [&](const std::string&, const pb::FollowUpTaskRecord* record) {
                        if (record == nullptr || !followup::IsEnded(record->task().state()))
                          return Status::Ok();
                        Result<bool> is_new = archive.Add(*record);
                        if (!is_new.ok()) return is_new.status();
                        ++*(*is_new ? added : present);
                        return Status::Ok();
                      });
    if (!end.ok()) return end.status();
    (*positions)[p] = *end;
  }
  Status st = archive.Commit(*positions);
  archive.Unlock();
  return st;
}

int Archive(int argc, char** argv) {
  CLI::App app{
      "Copies every ended follow-up task from sb.followups into DIR (one JSON-lines file per "
      "day the task ended, fsync'd) before the shards remove it when its retention "
      "(ended_retention_days, default 60) passes. Runs until SIGINT/SIGTERM, a pass every "
      "--interval-s; --once makes one pass and exits (for a cron job).",
      "switchboard privacy archive"};
  KafkaFlags f;
  std::string dir;
  bool once = false;
  int interval_s = 60;
  AddKafkaFlags(&app, &f);
  app.add_option("--dir", dir, "the archive directory (created 0700)")->required();
  app.add_flag("--once", once, "one pass to the end of sb.followups, then exit");
  app.add_option("--interval-s", interval_s, "seconds between passes")->check(CLI::PositiveNumber);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  // Blocked before librdkafka starts its threads, so they inherit it; waited for between passes.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  auto extra = kafka::ParseSettings(f.settings);
  if (!extra.ok()) return Fail("archive", extra.status()) + 1;
  const std::string topic(kafka::kFollowUpsTopic);
  auto counts = Partitions(f, *extra, {topic});
  if (!counts.ok()) return Fail("archive", counts.status());
  auto archive = ArchiveDir::Open(dir);
  if (!archive.ok()) return Fail("archive", archive.status());
  auto reader = kafka::PartitionReader::Create(f.bootstrap, *extra);
  if (!reader.ok()) return Fail("archive", reader.status());
  for (;;) {
    int64_t added = 0, present = 0;
    Status st = ArchivePass(**archive, **reader, (*counts)[topic], f.timeout_ms, &added, &present);
    if (!st.ok()) return Fail("archive", st);
    std::printf("privacy archive: %lld ended tasks archived in %s (%lld were there already)\n",
                static_cast<long long>(added), dir.c_str(), static_cast<long long>(present));
    std::fflush(stdout);
    if (once) return 0;
    timespec wait{interval_s, 0};
    if (sigtimedwait(&stop, nullptr, &wait) > 0) return 0;
  }
}

// --- erase ---

Result<ReadModel> ReadAllFollowUps(kafka::PartitionReader& reader, int32_t partitions,
                                   int timeout_ms) {
  ReadModel model;
  for (int32_t p = 0; p < partitions; ++p) {
    Result<int64_t> end = ReadFollowUps(
        reader, p, 0, timeout_ms, [&](const std::string& id, const pb::FollowUpTaskRecord* record) {
          model.tasks[id] = record != nullptr ? std::optional(*record) : std::nullopt;
          return Status::Ok();
        });
    if (!end.ok()) return end.status();
    model.ends[p] = *end;
  }
  return model;
}

// Sends FollowUpErase to every shard (each partition of sb.contacts).
Status SendErase(const KafkaFlags& f, const kafka::Settings& extra, int32_t partitions,
                 const pb::FollowUpErase& erase) {
  int failed = 0;
  Status first_error;
  auto producer = kafka::Producer::Create(f.bootstrap, extra,
                                          [&](uint64_t, int32_t, int64_t, const Status& st) {
                                            if (!st.ok() && failed++ == 0) first_error = st;
                                          });
  if (!producer.ok()) return producer.status();
  pb::RoutingEvent event;
  event.set_at_ms(SystemClock().NowMs());
  *event.mutable_follow_up()->mutable_erase() = erase;
  const std::string value = event.SerializeAsString();
  for (int32_t p = 0; p < partitions; ++p) {
    SB_RETURN_IF_ERROR((*producer)->Produce(kafka::kContactsTopic, p, erase.customer_id(), value,
                                            {}, static_cast<uint64_t>(p)));
  }
  SB_RETURN_IF_ERROR((*producer)->Flush(f.timeout_ms));
  if (failed > 0) return first_error;
  return Status::Ok();
}

// Waits until sb.followups shows a tombstone for each of `ids` (by shard) after `ends`; returns
// those still not removed when the timeout passed.
Result<std::set<std::string>> AwaitRemoval(kafka::PartitionReader& reader,
                                           const std::map<std::string, int32_t>& ids,
                                           std::map<int32_t, int64_t> ends, int timeout_ms) {
  std::set<std::string> waiting;
  std::set<int32_t> shards;
  for (const auto& [id, shard] : ids) {
    waiting.insert(id);
    shards.insert(shard);
  }
  const int64_t deadline = MonotonicMs() + timeout_ms;
  while (!waiting.empty() && MonotonicMs() < deadline) {
    for (int32_t p : shards) {
      Result<int64_t> end =
          ReadFollowUps(reader, p, ends[p], timeout_ms,
                        [&](const std::string& id, const pb::FollowUpTaskRecord* record) {
                          if (record == nullptr) waiting.erase(id);
                          return Status::Ok();
                        });
      if (!end.ok()) return end.status();
      ends[p] = *end;
    }
    if (!waiting.empty()) ::usleep(200 * 1000);
  }
  return waiting;
}

int Erase(int argc, char** argv) {
  CLI::App app{
      "The right to erasure: removes the customer's follow-up tasks (open or ended) from every "
      "shard's state, the changelog and sb.followups (tombstones), their attempts from the "
      "queues, and their lines from the archive (--archive-dir), then reports where the "
      "customer's data was and what keeps it until its retention passes.",
      "switchboard privacy erase"};
  KafkaFlags f;
  std::string customer, archive_dir, requested_by;
  AddKafkaFlags(&app, &f);
  app.add_option("--customer", customer, "the customer id")->required();
  app.add_option("--archive-dir", archive_dir, "the archive of `privacy archive` to clean too");
  app.add_option("--requested-by", requested_by, "who asked (logged by the shards)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (customer.empty() || customer.size() > validate::kMaxIdBytes) {
    std::fprintf(stderr, "privacy erase: --customer: 1..%zu bytes, got %zu\n",
                 validate::kMaxIdBytes, customer.size());
    return 2;
  }
  auto extra = kafka::ParseSettings(f.settings);
  if (!extra.ok()) return Fail("erase", extra.status()) + 1;
  const std::string contacts(kafka::kContactsTopic), followups(kafka::kFollowUpsTopic);
  auto counts = Partitions(f, *extra, {contacts, followups});
  if (!counts.ok()) return Fail("erase", counts.status());
  std::unique_ptr<ArchiveDir> archive;
  if (!archive_dir.empty()) {
    auto opened = ArchiveDir::Open(archive_dir);
    if (!opened.ok()) return Fail("erase", opened.status());
    archive = std::move(*opened);
    // Held to the end: no archiver pass appends a task of the customer meanwhile.
    if (Status st = archive->Lock(); !st.ok()) return Fail("erase", st);
  }
  auto reader = kafka::PartitionReader::Create(f.bootstrap, *extra);
  if (!reader.ok()) return Fail("erase", reader.status());
  Result<ReadModel> before = ReadAllFollowUps(**reader, (*counts)[followups], f.timeout_ms);
  if (!before.ok()) return Fail("erase", before.status());
  std::map<std::string, int32_t> found;  // task id -> shard
  for (const auto& [id, record] : before->tasks) {
    if (record && record->task().request().customer_id() == customer) found[id] = record->shard();
  }
  pb::FollowUpErase erase;
  erase.set_customer_id(customer);
  erase.set_requested_by(requested_by);
  if (Status st = SendErase(f, *extra, (*counts)[contacts], erase); !st.ok()) {
    return Fail("erase", st);
  }
  Result<std::set<std::string>> left = AwaitRemoval(**reader, found, before->ends, f.timeout_ms);
  if (!left.ok()) return Fail("erase", left.status());

  std::printf("privacy erase: customer %s%s\n", Quote(customer).c_str(),
              requested_by.empty() ? "" : (" (asked by " + Quote(requested_by) + ")").c_str());
  std::printf("  erasure sent to all %d shards (sb.contacts partitions)\n", (*counts)[contacts]);
  std::printf("  follow-up tasks: %zu found in sb.followups, %zu removed\n", found.size(),
              found.size() - left->size());
  for (const auto& [id, shard] : found) {
    std::printf("    %s  shard %d  %s\n", Quote(id).c_str(), shard,
                left->contains(id) ? "NOT CONFIRMED (is a router owning the shard running?)"
                                   : "removed: state, changelog, sb.followups");
  }
  int archived_lines = 0;
  if (archive != nullptr) {
    Result<std::vector<ArchiveDir::Erased>> erased = archive->EraseCustomer(customer);
    if (!erased.ok()) return Fail("erase", erased.status());
    for (const ArchiveDir::Erased& e : *erased) {
      std::printf("  archive %s: %d lines removed\n", e.file.c_str(), e.lines);
      archived_lines += e.lines;
    }
    if (erased->empty())
      std::printf("  archive %s: no lines of the customer\n", archive_dir.c_str());
  } else {
    std::printf("  archive: not given (--archive-dir): not searched\n");
  }
  std::printf(
      "  kept until their retention passes (time-retained topics are never rewritten): %s, %s, "
      "%s (%s days)\n",
      contacts.c_str(), std::string(kafka::kAssignmentsTopic).c_str(),
      std::string(kafka::kDeadLetterTopic).c_str(),
      std::to_string(std::stoll(std::string(kafka::kTimeRetentionMs)) / 86'400'000).c_str());
  std::printf(
      "  compacted topics (%s, %s): tombstones written; the broker drops the older records at "
      "its next compaction\n",
      std::string(kafka::kChangelogTopic).c_str(), followups.c_str());
  std::fflush(stdout);
  return left->empty() ? 0 : 1;
}

}  // namespace

int Main(int argc, char** argv) {
  const std::string usage =
      "usage: switchboard privacy <archive|erase> [flags]\n"
      "  archive  keep ended follow-up tasks in files before their retention removes them\n"
      "  erase    remove a customer's personal data everywhere it lives, and report where\n";
  if (argc < 2) {
    std::fputs(usage.c_str(), stderr);
    return 2;
  }
  const std::string command = argv[1];
  if (command == "archive") return Archive(argc - 1, argv + 1);
  if (command == "erase") return Erase(argc - 1, argv + 1);
  if (command == "--help" || command == "-h") {
    std::fputs(usage.c_str(), stdout);
    return 0;
  }
  std::fprintf(stderr, "privacy: unknown command %s\n%s", Quote(command).c_str(), usage.c_str());
  return 2;
}

}  // namespace sb::privacy
