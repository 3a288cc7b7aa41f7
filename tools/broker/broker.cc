#include "tools/broker/broker.h"

#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "common/status.h"
#include "router/kafka/topics.h"

namespace sb::broker {
namespace {

// Bounds that catch typos (an extra zero) without limiting any real test setup.
constexpr int kMaxBrokers = 64;
constexpr int kMaxPartitions = 10000;

struct Flags {
  int brokers = 1;
  int partitions = 12;
  std::string bootstrap_file;
  std::vector<std::string> topic_partitions;  // TOPIC=N overrides (tests of validation)
};

struct RdKafkaDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
struct MockClusterDeleter {
  void operator()(rd_kafka_mock_cluster_t* mc) const { rd_kafka_mock_cluster_destroy(mc); }
};
using RdKafkaPtr = std::unique_ptr<rd_kafka_t, RdKafkaDeleter>;
using MockClusterPtr = std::unique_ptr<rd_kafka_mock_cluster_t, MockClusterDeleter>;

// The mock cluster runs its own thread but needs an rd_kafka_t to belong to; a producer handle
// without bootstrap servers is the cheapest one (it never connects anywhere).
Result<RdKafkaPtr> NewHostHandle() {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // The host handle has no brokers of its own; without this it would log that every few seconds.
  if (rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err)) != RD_KAFKA_CONF_OK) {
    rd_kafka_conf_destroy(conf);
    return Internal(std::string("librdkafka config: ") + err);
  }
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  if (rk == nullptr) {  // rd_kafka_new frees conf only on success
    rd_kafka_conf_destroy(conf);
    return Internal(std::string("rd_kafka_new: ") + err);
  }
  return RdKafkaPtr(rk);
}

Status CreateTopics(rd_kafka_mock_cluster_t* mc, const Flags& f) {
  const int replication = std::min(f.brokers, kafka::kMaxReplicationFactor);
  for (const auto& topic : kafka::kTopics) {
    const std::string name(topic.name);
    int partitions = f.partitions;
    for (const std::string& kv : f.topic_partitions) {
      const size_t eq = kv.find('=');
      if (eq == std::string::npos || kv.substr(0, eq) != name) continue;
      partitions = std::atoi(kv.c_str() + eq + 1);
      if (partitions <= 0) return InvalidArgument("--topic-partitions " + kv + ": N must be > 0");
    }
    const rd_kafka_resp_err_t e =
        rd_kafka_mock_topic_create(mc, name.c_str(), partitions, replication);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Internal("creating topic " + name + ": " + rd_kafka_err2str(e));
    }
    // The mock cluster has no topic configs, so cleanup.policy=compact cannot be set: a compacted
    // topic here keeps every record. Readers of the changelog must not rely on compaction in dev.
    std::fprintf(stderr, "broker: topic %s partitions=%d replication=%d%s\n", name.c_str(),
                 partitions, replication,
                 topic.compacted() ? " (compacted in production; not compacted by the mock)" : "");
  }
  // The load generator's floor measurement topic: the mock cluster cannot create topics on
  // request (no CreateTopics), so it exists from the start.
  const std::string scratch(kafka::kScratchTopic);
  const rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, scratch.c_str(), 1, replication);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Internal("creating topic " + scratch + ": " + rd_kafka_err2str(e));
  }
  return Status::Ok();
}

// Writes `content` to `path` via path.tmp + rename, so a reader polling for the file never sees
// it half written.
Status WriteFileAtomically(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Unavailable("--bootstrap-file: open " + tmp + ": " + std::strerror(errno));
  }
  size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      const int saved = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return Unavailable("--bootstrap-file: write " + tmp + ": " + std::strerror(saved));
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) {
    const int saved = errno;
    ::unlink(tmp.c_str());
    return Unavailable("--bootstrap-file: close " + tmp + ": " + std::strerror(saved));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int saved = errno;
    ::unlink(tmp.c_str());
    return Unavailable("--bootstrap-file: rename to " + path + ": " + std::strerror(saved));
  }
  return Status::Ok();
}

// REQUIRES: `stop` is blocked in every thread of the process.
int WaitForStop(const sigset_t& stop) {
  int sig = SIGTERM;
  // sigwait fails only for an invalid set; then stopping at once beats hanging forever.
  if (sigwait(&stop, &sig) != 0) {
    return SIGTERM;
  }
  return sig;
}

// Starts the cluster, announces it and serves until a stop signal. REQUIRES: `stop` is blocked in
// the calling thread (librdkafka threads created here inherit that).
Status Serve(const Flags& f, const sigset_t& stop) {
  Result<RdKafkaPtr> host = NewHostHandle();
  SB_RETURN_IF_ERROR(host.status());
  // Declared after `host`, so the cluster is destroyed before the handle it lives in.
  MockClusterPtr cluster(rd_kafka_mock_cluster_new(host->get(), f.brokers));
  if (cluster == nullptr) {
    return Internal("rd_kafka_mock_cluster_new failed");
  }
  SB_RETURN_IF_ERROR(CreateTopics(cluster.get(), f));

  const std::string bootstrap = rd_kafka_mock_cluster_bootstraps(cluster.get());
  // The one line on stdout: scripts read it, so it is printed only once the topics exist.
  std::printf("bootstrap=%s\n", bootstrap.c_str());
  std::fflush(stdout);
  // Last, so a script that sees the file knows the stdout line is out too.
  if (!f.bootstrap_file.empty()) {
    SB_RETURN_IF_ERROR(WriteFileAtomically(f.bootstrap_file, bootstrap + "\n"));
  }
  std::fprintf(stderr, "broker: %d broker(s) serving at %s; SIGTERM or SIGINT stops\n", f.brokers,
               bootstrap.c_str());

  const int sig = WaitForStop(stop);
  std::fprintf(stderr, "broker: %s, shutting down\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
  return Status::Ok();
}

}  // namespace

int Main(int argc, char** argv) {
  CLI::App app{
      "Embedded Kafka-protocol broker (librdkafka mock cluster) for development and tests: "
      "creates the Switchboard topics, prints bootstrap=HOST:PORT,... and serves until "
      "SIGTERM/SIGINT. Never for production.",
      "switchboard broker"};
  Flags f;
  app.add_option("--brokers", f.brokers, "brokers in the mock cluster (1)")
      ->check(CLI::Range(1, kMaxBrokers));
  app.add_option("--partitions", f.partitions, "partitions of every topic (12)")
      ->check(CLI::Range(1, kMaxPartitions));
  app.add_option("--topic-partitions", f.topic_partitions,
                 "override one topic's partition count, TOPIC=N (repeatable; to test validation)");
  app.add_option("--bootstrap-file", f.bootstrap_file,
                 "also write the bootstrap list here (atomically, once the topics exist)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

  sigset_t stop, old;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, &old);
  // A client hanging up mid-response must not kill the broker.
  std::signal(SIGPIPE, SIG_IGN);

  const Status s = Serve(f, stop);

  // librdkafka's threads are gone: drop a second pending stop signal, then restore the mask.
  const timespec zero{};
  while (sigtimedwait(&stop, nullptr, &zero) > 0) {
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (!s.ok()) {
    std::fprintf(stderr, "broker: %s\n", s.message().c_str());
    return 1;
  }
  return 0;
}

}  // namespace sb::broker
