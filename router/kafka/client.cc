#include "router/kafka/client.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/log/log.h"
#include "router/kafka/topics.h"

namespace sb::kafka {

Result<Settings> ParseSettings(const std::vector<std::string>& key_values) {
  Settings out;
  for (const std::string& kv : key_values) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0)
      return InvalidArgument("--kafka-setting \"" + kv + "\": expected key=value");
    out[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return out;
}

Settings WithoutGroupSettings(Settings s) {
  for (const char* k :
       {"session.timeout.ms", "heartbeat.interval.ms", "group.instance.id", "max.poll.interval.ms"})
    s.erase(k);
  return s;
}
namespace {

std::string ErrText(rd_kafka_resp_err_t err) { return rd_kafka_err2str(err); }

// Builds a configuration: ours first, then `extra` (operators may override any of it).
// librdkafka's own log lines (syslog levels), through the process log instead of its printf.
void LogLine(const rd_kafka_t* rk, int level, const char* facility, const char* line) {
  const log::Level ours = level <= 3   ? log::Level::kError
                          : level == 4 ? log::Level::kWarn
                          : level <= 6 ? log::Level::kInfo
                                       : log::Level::kDebug;
  log::Write(ours, "kafka", "kafka %s: %s: %s", rd_kafka_name(rk), facility, line);
}

Result<rd_kafka_conf_t*> MakeConf(const std::string& bootstrap, const Settings& ours,
                                  const Settings& extra) {
  if (bootstrap.empty()) return InvalidArgument("--kafka: empty bootstrap server list");
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set_log_cb(conf, &LogLine);
  char err[512];
  auto set = [&](const std::string& k, const std::string& v) -> Status {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      return InvalidArgument("kafka setting " + k + "=" + v + ": " + err);
    }
    return Status::Ok();
  };
  Status st = set("bootstrap.servers", bootstrap);
  for (const auto& [k, v] : ours) {
    if (st.ok()) st = set(k, v);
  }
  for (const auto& [k, v] : extra) {
    if (st.ok()) st = set(k, v);
  }
  if (!st.ok()) {
    rd_kafka_conf_destroy(conf);
    return st;
  }
  return conf;
}

Result<rd_kafka_t*> NewHandle(rd_kafka_type_t type, rd_kafka_conf_t* conf) {
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);  // takes conf on success
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return InvalidArgument(std::string("kafka client: ") + err);
  }
  return rk;
}

// How long a consumer's fetch may wait on the broker. Apache Kafka answers a waiting fetch as
// soon as data arrives, so librdkafka's long poll (500 ms) costs no latency and spares the broker
// thousands of empty fetches a second (with 5 ms, ~30 consumers of a 3-router test starved a
// 1-broker JVM until group heartbeats timed out). librdkafka's mock cluster holds an empty fetch
// for the whole wait even when data arrives meanwhile: its clients poll every 5 ms.
std::string FetchWaitMs(const std::string& bootstrap, const Settings& extra) {
  return IsEmbeddedBroker(bootstrap, extra) ? "5" : "500";
}

void LogError(rd_kafka_t* rk, int err, const char* reason, void*) {
  SB_LOG_WARN("kafka", "kafka %s: %s: %s\n", rd_kafka_name(rk),
              rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)), reason);
}

std::vector<TopicPartition> FromList(const rd_kafka_topic_partition_list_t* list) {
  std::vector<TopicPartition> out;
  for (int i = 0; list != nullptr && i < list->cnt; ++i) {
    out.push_back({list->elems[i].topic, list->elems[i].partition, list->elems[i].offset});
  }
  return out;
}

// Replaces the consumer's assignment (an empty `parts` is an assignment of nothing).
Status AssignList(rd_kafka_t* rk, const std::vector<TopicPartition>& parts) {
  rd_kafka_topic_partition_list_t* list =
      rd_kafka_topic_partition_list_new(static_cast<int>(std::max<size_t>(1, parts.size())));
  for (const TopicPartition& tp : parts) {
    rd_kafka_topic_partition_list_add(list, tp.topic.c_str(), tp.partition)->offset = tp.offset;
  }
  rd_kafka_resp_err_t err = rd_kafka_assign(rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return Unavailable("kafka assign: " + ErrText(err));
  return Status::Ok();
}

}  // namespace

const std::string* Record::FindHeader(std::string_view name) const {
  for (const Header& h : headers) {
    if (h.name == name) return &h.value;
  }
  return nullptr;
}

Record ToRecord(const rd_kafka_message_t* m) {
  Record r;
  r.topic = rd_kafka_topic_name(m->rkt);
  r.partition = m->partition;
  r.offset = m->offset;
  r.timestamp_ms = rd_kafka_message_timestamp(m, nullptr);
  if (m->key != nullptr) r.key.assign(static_cast<const char*>(m->key), m->key_len);
  if (m->payload != nullptr) r.value.emplace(static_cast<const char*>(m->payload), m->len);
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    const char* name;
    const void* value;
    size_t size;
    for (size_t i = 0;
         rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
         ++i) {
      r.headers.push_back({name, std::string(static_cast<const char*>(value), size)});
    }
  }
  return r;
}

// --- Producer ---

Result<std::unique_ptr<Producer>> Producer::Create(const std::string& bootstrap,
                                                   const Settings& extra, DeliveryFn on_delivery) {
  auto conf = MakeConf(bootstrap,
                       {{"enable.idempotence", "true"},
                        {"acks", "all"},
                        // librdkafka's default, explicit: batches of 5 ms keep the
                        // request and batch count down at thousands of records per second.
                        {"linger.ms", "5"},
                        {"message.timeout.ms", "60000"}},
                       extra);
  if (!conf.ok()) return conf.status();
  std::unique_ptr<Producer> p(new Producer());
  p->on_delivery_ = std::move(on_delivery);
  rd_kafka_conf_set_dr_msg_cb(*conf, &Producer::OnDelivery);
  rd_kafka_conf_set_error_cb(*conf, &LogError);
  rd_kafka_conf_set_opaque(*conf, p.get());
  auto rk = NewHandle(RD_KAFKA_PRODUCER, *conf);
  if (!rk.ok()) return rk.status();
  p->rk_ = *rk;
  return p;
}

Producer::~Producer() {
  if (rk_ == nullptr) return;
  rd_kafka_flush(rk_, 5000);
  for (auto& [name, t] : topics_) rd_kafka_topic_destroy(t);
  rd_kafka_destroy(rk_);
}

void Producer::OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* self = static_cast<Producer*>(opaque);
  const uint64_t token = reinterpret_cast<uintptr_t>(m->_private);
  Status st = m->err == RD_KAFKA_RESP_ERR_NO_ERROR
                  ? Status::Ok()
                  : Unavailable(std::string("kafka delivery to ") + rd_kafka_topic_name(m->rkt) +
                                ": " + ErrText(m->err));
  if (self->on_delivery_) self->on_delivery_(token, m->partition, st.ok() ? m->offset : -1, st);
}

Status Producer::Produce(std::string_view topic, int32_t partition, std::string_view key,
                         const std::optional<std::string>& value,
                         const std::vector<Header>& headers, uint64_t token) {
  auto it = topics_.find(topic);
  if (it == topics_.end()) {
    rd_kafka_topic_t* t = rd_kafka_topic_new(rk_, std::string(topic).c_str(), nullptr);
    if (t == nullptr) return Internal("kafka topic handle " + std::string(topic));
    it = topics_.emplace(std::string(topic), t).first;
  }
  rd_kafka_headers_t* hdrs = nullptr;
  if (!headers.empty()) {
    hdrs = rd_kafka_headers_new(headers.size());
    for (const Header& h : headers) {
      rd_kafka_header_add(hdrs, h.name.data(), static_cast<ssize_t>(h.name.size()), h.value.data(),
                          static_cast<ssize_t>(h.value.size()));
    }
  }
  char* payload = value ? const_cast<char*>(value->data()) : nullptr;
  const size_t payload_len = value ? value->size() : 0;
  for (;;) {
    rd_kafka_resp_err_t err =
        rd_kafka_producev(rk_, RD_KAFKA_V_RKT(it->second), RD_KAFKA_V_PARTITION(partition),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                          RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
                          RD_KAFKA_V_VALUE(payload, payload_len), RD_KAFKA_V_HEADERS(hdrs),
                          // The opaque carries our delivery token, not a pointer.
                          // NOLINTNEXTLINE(performance-no-int-to-ptr)
                          RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(token)), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return Status::Ok();  // headers now owned by the message
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(rk_, 10);  // back-pressure: wait for acknowledgements
      continue;
    }
    if (hdrs != nullptr) rd_kafka_headers_destroy(hdrs);
    return Unavailable("kafka produce to " + std::string(topic) + ": " + ErrText(err));
  }
}

int Producer::Poll(int timeout_ms) { return rd_kafka_poll(rk_, timeout_ms); }

Status Producer::Flush(int timeout_ms) {
  rd_kafka_resp_err_t err = rd_kafka_flush(rk_, timeout_ms);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return Unavailable("kafka flush: " + ErrText(err));
  return Status::Ok();
}

int64_t Producer::in_flight() const { return rd_kafka_outq_len(rk_); }

// --- GroupConsumer ---

Result<std::unique_ptr<GroupConsumer>> GroupConsumer::Create(const std::string& bootstrap,
                                                             const std::string& group,
                                                             const Settings& extra,
                                                             Listener* listener) {
  auto conf = MakeConf(bootstrap,
                       {{"group.id", group},
                        {"enable.auto.commit", "false"},
                        {"enable.auto.offset.store", "false"},
                        {"auto.offset.reset", "earliest"},
                        // Range keeps partition i of every subscribed topic on one member: the
                        // co-partitioning a shard needs (both topics have the same count).
                        {"partition.assignment.strategy", "range"},
                        {"session.timeout.ms", "6000"},
                        {"heartbeat.interval.ms", "1000"},
                        {"fetch.wait.max.ms", FetchWaitMs(bootstrap, extra)},
                        {"enable.partition.eof", "false"}},
                       extra);
  if (!conf.ok()) return conf.status();
  std::unique_ptr<GroupConsumer> c(new GroupConsumer());
  c->listener_ = listener;
  rd_kafka_conf_set_rebalance_cb(*conf, &GroupConsumer::OnRebalance);
  rd_kafka_conf_set_error_cb(*conf, &LogError);
  rd_kafka_conf_set_opaque(*conf, c.get());
  auto rk = NewHandle(RD_KAFKA_CONSUMER, *conf);
  if (!rk.ok()) return rk.status();
  c->rk_ = *rk;
  rd_kafka_poll_set_consumer(c->rk_);
  return c;
}

GroupConsumer::~GroupConsumer() {
  if (rk_ == nullptr) return;
  Close();
  rd_kafka_destroy(rk_);
}

void GroupConsumer::Close() {
  if (closed_) return;
  closed_ = true;
  rd_kafka_consumer_close(rk_);
}

void GroupConsumer::Leave() {
  if (closed_) return;
  // librdkafka sends LeaveGroup for a static member on unsubscribe, not on close (KIP-345).
  rd_kafka_resp_err_t err = rd_kafka_unsubscribe(rk_);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    SB_LOG_ERROR("kafka", "kafka %s: unsubscribe: %s\n", rd_kafka_name(rk_), ErrText(err).c_str());
  }
  // Serve the revocation (Listener::OnRevoked) and give librdkafka's main thread time to send
  // LeaveGroup once the unassignment is done; records fetched meanwhile are dropped unprocessed
  // (the next owner resumes from the changelog's positions). Bounded: 3 s.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  int empty_polls = 0;
  while (empty_polls < 4 && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, 50);
    if (m != nullptr) rd_kafka_message_destroy(m);
    rd_kafka_topic_partition_list_t* assigned = nullptr;
    const bool none = rd_kafka_assignment(rk_, &assigned) == RD_KAFKA_RESP_ERR_NO_ERROR &&
                      assigned != nullptr && assigned->cnt == 0;
    if (assigned != nullptr) rd_kafka_topic_partition_list_destroy(assigned);
    empty_polls = none ? empty_polls + 1 : 0;
  }
  Close();
}

std::optional<int64_t> GroupConsumer::CachedHighWatermark(const std::string& topic,
                                                          int32_t partition) const {
  int64_t low = -1, high = -1;
  if (rd_kafka_get_watermark_offsets(rk_, topic.c_str(), partition, &low, &high) !=
          RD_KAFKA_RESP_ERR_NO_ERROR ||
      high < 0) {
    return std::nullopt;
  }
  return high;
}

void GroupConsumer::OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                                rd_kafka_topic_partition_list_t* parts, void* opaque) {
  auto* self = static_cast<GroupConsumer*>(opaque);
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    // Always an assign() call, even of nothing: it ends this member's part of the rebalance.
    Status st = AssignList(rk, self->listener_->OnAssigned(FromList(parts)));
    if (!st.ok()) SB_LOG_INFO("kafka", "%s\n", st.ToString().c_str());
    return;
  }
  if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) self->listener_->OnRevoked(FromList(parts));
  rd_kafka_assign(rk, nullptr);
}

Status GroupConsumer::Assign(const std::vector<TopicPartition>& parts) {
  return AssignList(rk_, parts);
}

Status GroupConsumer::Subscribe(const std::vector<std::string>& topics) {
  rd_kafka_topic_partition_list_t* list =
      rd_kafka_topic_partition_list_new(static_cast<int>(topics.size()));
  for (const auto& t : topics) {
    rd_kafka_topic_partition_list_add(list, t.c_str(), RD_KAFKA_PARTITION_UA);
  }
  rd_kafka_resp_err_t err = rd_kafka_subscribe(rk_, list);
  rd_kafka_topic_partition_list_destroy(list);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return Unavailable("kafka subscribe: " + ErrText(err));
  return Status::Ok();
}

namespace {

Result<std::optional<Record>> PollConsumer(rd_kafka_t* rk, int timeout_ms) {
  rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, timeout_ms);
  if (m == nullptr) return std::optional<Record>();
  std::unique_ptr<rd_kafka_message_t, decltype(&rd_kafka_message_destroy)> guard(
      m, &rd_kafka_message_destroy);
  if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) return std::optional<Record>();
  if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    const std::string what = rd_kafka_message_errstr(m);
    char fatal[256];
    const rd_kafka_resp_err_t fatal_err = rd_kafka_fatal_error(rk, fatal, sizeof fatal);
    if (fatal_err == RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID) {
      return FailedPrecondition(std::string(kFencedInstance) + ": " + fatal);
    }
    if (fatal_err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Unavailable(std::string("kafka consumer fatal error: ") + fatal);
    }
    if (m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
        m->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC) {
      return Unavailable("kafka consumer: " + what);
    }
    SB_LOG_ERROR("kafka", "kafka consumer: %s\n", what.c_str());
    return std::optional<Record>();
  }
  return std::optional<Record>(ToRecord(m));
}

}  // namespace

Result<std::optional<Record>> GroupConsumer::Poll(int timeout_ms) {
  return PollConsumer(rk_, timeout_ms);
}

// --- PartitionReader ---

Result<std::unique_ptr<PartitionReader>> PartitionReader::Create(const std::string& bootstrap,
                                                                 const Settings& extra) {
  auto conf = MakeConf(bootstrap,
                       {{"group.id", "sb-partition-reader"},
                        {"enable.auto.commit", "false"},
                        // An offset deleted meanwhile: read what remains, never skip to the end.
                        {"auto.offset.reset", "earliest"},
                        {"enable.auto.offset.store", "false"},
                        {"enable.partition.eof", "true"},
                        {"fetch.wait.max.ms", FetchWaitMs(bootstrap, extra)}},
                       extra);
  if (!conf.ok()) return conf.status();
  rd_kafka_conf_set_error_cb(*conf, &LogError);
  auto rk = NewHandle(RD_KAFKA_CONSUMER, *conf);
  if (!rk.ok()) return rk.status();
  std::unique_ptr<PartitionReader> r(new PartitionReader());
  r->rk_ = *rk;
  rd_kafka_poll_set_consumer(r->rk_);
  return r;
}

PartitionReader::~PartitionReader() {
  if (rk_ == nullptr) return;
  rd_kafka_assign(rk_, nullptr);
  rd_kafka_destroy(rk_);
}

Status PartitionReader::Assign(std::string_view topic, int32_t partition, int64_t offset) {
  return Assign({{std::string(topic), partition, offset}});
}

Status PartitionReader::Assign(const std::vector<TopicPartition>& parts) {
  return AssignList(rk_, parts);
}

Result<std::optional<Record>> PartitionReader::Poll(int timeout_ms) {
  return PollConsumer(rk_, timeout_ms);
}

Result<std::pair<int64_t, int64_t>> PartitionReader::Watermarks(std::string_view topic,
                                                                int32_t partition, int timeout_ms) {
  int64_t low = 0, high = 0;
  const std::string name(topic);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  rd_kafka_resp_err_t err;
  // A partition between leaders (just created, or its leader's broker lost) answers
  // NOT_LEADER/LEADER_NOT_AVAILABLE for a moment on real Kafka: ask again until the deadline.
  for (;;) {
    err = rd_kafka_query_watermark_offsets(rk_, name.c_str(), partition, &low, &high, timeout_ms);
    const bool transient = err == RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION ||
                           err == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE ||
                           err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
                           err == RD_KAFKA_RESP_ERR__TRANSPORT;
    if (!transient || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Unavailable("kafka watermarks of " + std::string(topic) + "[" +
                       std::to_string(partition) + "]: " + ErrText(err));
  }
  return std::make_pair(low, high);
}

Status ReadRange(PartitionReader& reader, std::string_view topic, int32_t partition, int64_t from,
                 int64_t to, int timeout_ms, const std::function<Status(const Record&)>& fn) {
  if (from >= to) return Status::Ok();
  SB_RETURN_IF_ERROR(reader.Assign(topic, partition, from));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (int64_t next = from; next < to;) {
    if (std::chrono::steady_clock::now() > deadline) {
      return Unavailable(std::string(topic) + "[" + std::to_string(partition) +
                         "]: read up to offset " + std::to_string(next) + " of " +
                         std::to_string(to) + " within " + std::to_string(timeout_ms) + " ms");
    }
    Result<std::optional<Record>> rec = reader.Poll(200);
    if (!rec.ok()) return rec.status();
    if (!rec->has_value()) continue;
    next = (*rec)->offset + 1;
    SB_RETURN_IF_ERROR(fn(**rec));
  }
  return Status::Ok();
}

// --- Topics ---

namespace {

// An admin-only client handle; move-only so exactly one owner destroys it.
struct Handle {
  rd_kafka_t* rk = nullptr;
  Handle() = default;
  Handle(Handle&& o) noexcept : rk(std::exchange(o.rk, nullptr)) {}
  Handle& operator=(Handle&&) = delete;
  ~Handle() {
    if (rk != nullptr) rd_kafka_destroy(rk);
  }
};

// What the cluster metadata says of the asked topics: partitions (0 = missing) and replicas.
struct Described {
  std::map<std::string, int32_t> partitions;
  std::map<std::string, int> replicas;
  std::map<std::string, bool> led;  // every partition has a leader
  int brokers = 0;
};

Result<Described> Describe(rd_kafka_t* rk, const std::vector<std::string>& topics, int timeout_ms) {
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, nullptr, &md, timeout_ms);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Unavailable("no Kafka broker answered within " + std::to_string(timeout_ms) +
                       " ms: " + ErrText(err));
  }
  Described out;
  for (const auto& t : topics) out.partitions[t] = 0;
  for (int i = 0; i < md->topic_cnt; ++i) {
    const rd_kafka_metadata_topic_t& t = md->topics[i];
    auto it = out.partitions.find(t.topic);
    if (it != out.partitions.end() && t.err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      it->second = t.partition_cnt;
      out.replicas[t.topic] = t.partition_cnt > 0 ? t.partitions[0].replica_cnt : 0;
      bool led = true;
      for (int p = 0; p < t.partition_cnt; ++p) {
        const rd_kafka_metadata_partition_t& part = t.partitions[p];
        led = led && part.err == RD_KAFKA_RESP_ERR_NO_ERROR && part.leader >= 0;
      }
      out.led[t.topic] = led;
    }
  }
  out.brokers = md->broker_cnt;
  rd_kafka_metadata_destroy(md);
  return out;
}

// Admin requests go through the operator's security settings (SASL, TLS) like every client.
Result<Handle> AdminHandle(const std::string& bootstrap, const Settings& extra) {
  // Consumer settings mean nothing to an admin client (librdkafka warns on them).
  Settings admin_safe = WithoutGroupSettings(extra);
  admin_safe.erase("auto.offset.reset");
  admin_safe.erase("enable.auto.commit");
  auto conf = MakeConf(bootstrap, {{"allow.auto.create.topics", "false"}}, admin_safe);
  if (!conf.ok()) return conf.status();
  auto rk = NewHandle(RD_KAFKA_PRODUCER, *conf);
  if (!rk.ok()) return rk.status();
  Handle h;
  h.rk = *rk;
  return h;
}

std::vector<std::string> AllTopicNames() {
  std::vector<std::string> names;
  names.reserve(std::size(kTopics));
  for (const TopicSpec& t : kTopics) names.emplace_back(t.name);
  return names;
}

const TopicSpec* FindSpec(std::string_view name) {
  for (const TopicSpec& t : kTopics) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

// Runs one admin request on a private queue and returns its result event (owned by the caller),
// or Unavailable naming `what` when there is no answer or the request as a whole failed.
using EventPtr = std::unique_ptr<rd_kafka_event_t, decltype(&rd_kafka_event_destroy)>;
template <typename Send>
Result<EventPtr> AdminCall(rd_kafka_t* rk, rd_kafka_admin_op_t op, const std::string& what,
                           int timeout_ms, Send send) {
  char err[512];
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
  rd_kafka_AdminOptions_t* opts = rd_kafka_AdminOptions_new(rk, op);
  rd_kafka_AdminOptions_set_request_timeout(opts, timeout_ms, err, sizeof err);
  if (op == RD_KAFKA_ADMIN_OP_CREATETOPICS) {
    rd_kafka_AdminOptions_set_operation_timeout(opts, timeout_ms, err, sizeof err);
  }
  send(opts, q);
  EventPtr ev(rd_kafka_queue_poll(q, timeout_ms + 1000), &rd_kafka_event_destroy);
  rd_kafka_AdminOptions_destroy(opts);
  rd_kafka_queue_destroy(q);
  if (ev == nullptr) {
    return Unavailable("kafka " + what + ": no answer within " + std::to_string(timeout_ms) +
                       " ms");
  }
  if (rd_kafka_event_error(ev.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Unavailable("kafka " + what + ": " + rd_kafka_event_error_string(ev.get()));
  }
  return ev;
}

Status CreateTopics(rd_kafka_t* rk, const std::vector<std::string>& names, int32_t partitions,
                    int replication, int timeout_ms) {
  std::vector<rd_kafka_NewTopic_t*> topics;
  auto free_topics = [&] { rd_kafka_NewTopic_destroy_array(topics.data(), topics.size()); };
  char err[512];
  for (const auto& name : names) {
    rd_kafka_NewTopic_t* t =
        rd_kafka_NewTopic_new(name.c_str(), partitions, replication, err, sizeof err);
    if (t == nullptr) {
      free_topics();
      return InvalidArgument("topic " + name + ": " + err);
    }
    topics.push_back(t);
    for (const auto& [key, value] : RequiredTopicSettings(name, replication)) {
      rd_kafka_NewTopic_set_config(t, key.c_str(), value.c_str());
    }
  }
  auto ev = AdminCall(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS, "CreateTopics", timeout_ms,
                      [&](rd_kafka_AdminOptions_t* opts, rd_kafka_queue_t* q) {
                        rd_kafka_CreateTopics(rk, topics.data(), topics.size(), opts, q);
                      });
  free_topics();
  if (!ev.ok()) return ev.status();
  size_t n = 0;
  const rd_kafka_topic_result_t** res =
      rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev->get()), &n);
  for (size_t i = 0; i < n; ++i) {
    rd_kafka_resp_err_t e = rd_kafka_topic_result_error(res[i]);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      const char* why = rd_kafka_topic_result_error_string(res[i]);
      return Unavailable(std::string("kafka CreateTopics ") + rd_kafka_topic_result_name(res[i]) +
                         ": " + ErrText(e) + (why != nullptr ? std::string(": ") + why : ""));
    }
  }
  return Status::Ok();
}

// The settings of each topic, from one DescribeConfigs request. `unknown_topic` is set when a
// broker did not know a topic yet.
using TopicConfigs = std::map<std::string, std::map<std::string, std::string>>;
Result<TopicConfigs> DescribeTopicConfigsOnce(rd_kafka_t* rk, const std::vector<std::string>& names,
                                              int timeout_ms, bool* unknown_topic) {
  std::vector<rd_kafka_ConfigResource_t*> resources;
  resources.reserve(names.size());
  for (const auto& name : names) {
    resources.push_back(rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, name.c_str()));
  }
  auto ev = AdminCall(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, "DescribeConfigs", timeout_ms,
                      [&](rd_kafka_AdminOptions_t* opts, rd_kafka_queue_t* q) {
                        rd_kafka_DescribeConfigs(rk, resources.data(), resources.size(), opts, q);
                      });
  rd_kafka_ConfigResource_destroy_array(resources.data(), resources.size());
  if (!ev.ok()) return ev.status();
  TopicConfigs out;
  size_t n = 0;
  const rd_kafka_ConfigResource_t** res = rd_kafka_DescribeConfigs_result_resources(
      rd_kafka_event_DescribeConfigs_result(ev->get()), &n);
  for (size_t i = 0; i < n; ++i) {
    const std::string name = rd_kafka_ConfigResource_name(res[i]);
    const rd_kafka_resp_err_t e = rd_kafka_ConfigResource_error(res[i]);
    if (e == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
        e == RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED) {
      return FailedPrecondition("topic " + name +
                                ": not allowed to describe its settings (grant the router's "
                                "principal DescribeConfigs on the sb.* topics)");
    }
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      *unknown_topic = e == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
      return Unavailable("kafka DescribeConfigs " + name + ": " + ErrText(e));
    }
    size_t entries = 0;
    const rd_kafka_ConfigEntry_t** configs = rd_kafka_ConfigResource_configs(res[i], &entries);
    for (size_t j = 0; j < entries; ++j) {
      const char* value = rd_kafka_ConfigEntry_value(configs[j]);
      out[name][rd_kafka_ConfigEntry_name(configs[j])] = value != nullptr ? value : "";
    }
  }
  return out;
}

// The settings of each topic. A broker learns of a topic created a moment ago from the
// controller a little later than the one that answered the metadata request (measured on 3
// brokers: "Unknown topic or partition" right after every partition had a leader): asked again
// until `timeout_ms`.
Result<TopicConfigs> DescribeTopicConfigs(rd_kafka_t* rk, const std::vector<std::string>& names,
                                          int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    bool unknown_topic = false;
    auto configs = DescribeTopicConfigsOnce(rk, names, timeout_ms, &unknown_topic);
    if (configs.ok() || !unknown_topic || std::chrono::steady_clock::now() > deadline)
      return configs;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

// Refuses topics whose cleanup policy would lose what Switchboard relies on; warns (once, on
// stderr) about replication that does not survive a broker loss. Not for the mock cluster.
Status CheckTopicSettings(rd_kafka_t* rk, const Described& described, int timeout_ms,
                          int64_t changelog_min_lag_ms) {
  auto configs = DescribeTopicConfigs(rk, AllTopicNames(), timeout_ms);
  if (!configs.ok()) return configs.status();
  for (const TopicSpec& spec : kTopics) {
    const std::string name(spec.name);
    const auto& c = (*configs)[name];
    auto get = [&](const char* key) {
      auto it = c.find(key);
      return it == c.end() ? std::string("?") : it->second;
    };
    const std::string policy = get("cleanup.policy");
    const std::string want = spec.compacted() ? "compact" : "delete";
    if (policy != want) {
      return FailedPrecondition(
          "topic " + name + ": cleanup.policy=" + policy +
          ", Switchboard needs cleanup.policy=" + want +
          (spec.compacted()
               ? " (keyed full-state records: a key's newest record must never expire)"
               : " (a stream of records kept by time: compaction would drop records that share "
                 "a key)") +
          "; change it with kafka-configs --alter --entity-type topics --entity-name " + name +
          " --add-config cleanup.policy=" + want);
    }
    if (spec.name == kChangelogTopic) {
      const std::string lag = get("min.compaction.lag.ms");
      int64_t lag_ms = -1;
      std::from_chars(lag.data(), lag.data() + lag.size(), lag_ms);
      if (lag_ms < changelog_min_lag_ms) {
        return FailedPrecondition(
            "topic " + name + ": min.compaction.lag.ms=" + lag + ", Switchboard needs at least " +
            std::to_string(changelog_min_lag_ms) +
            " (10 x the routers' --snapshot-interval-s: compaction must never reach the records "
            "after a shard's newest complete snapshot, or a restore could miss them); change it "
            "with kafka-configs --alter "
            "--entity-type topics --entity-name " +
            name + " --add-config min.compaction.lag.ms=" + std::string(kMinCompactionLagMs));
      }
    }
    const auto replicas = described.replicas.find(name);
    const int rf = replicas == described.replicas.end() ? 0 : replicas->second;
    const std::string isr = get("min.insync.replicas");
    if (rf < std::min(described.brokers, kMaxReplicationFactor) || (rf >= 3 && isr == "1")) {
      SB_LOG_WARN("kafka",
                  "kafka: WARNING topic %s has replication.factor=%d, min.insync.replicas=%s on "
                  "%d brokers: a broker loss can lose acknowledged records (recommended: 3 "
                  "and 2)\n",
                  name.c_str(), rf, isr.c_str(), described.brokers);
    }
  }
  return Status::Ok();
}

// Waits until the metadata shows every named topic with `partitions` partitions, each with a
// leader (real Kafka elects them a moment after creating the topic).
Result<Described> AwaitTopics(rd_kafka_t* rk, const std::vector<std::string>& names,
                              int32_t partitions, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    auto again = Describe(rk, names, timeout_ms);
    if (!again.ok()) return again.status();
    bool all = true;
    for (const auto& [name, n] : again->partitions) {
      all = all && n == partitions && again->led[name];
    }
    if (all) return again;
    if (std::chrono::steady_clock::now() > deadline) {
      return Unavailable("created topics did not appear within " + std::to_string(timeout_ms) +
                         " ms");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

// IsEmbeddedBroker's answers per bootstrap: asking costs a connection and a round trip. A struct
// rather than function-local statics because only members and globals can carry ABSL_GUARDED_BY.
struct BrokerKinds {
  absl::Mutex mu;
  std::map<std::string, bool> mock ABSL_GUARDED_BY(mu);
};

BrokerKinds& KnownBrokerKinds() {
  static BrokerKinds* kinds = new BrokerKinds();  // never freed
  return *kinds;
}

}  // namespace

bool IsEmbeddedBroker(const std::string& bootstrap, const Settings& extra) {
  BrokerKinds& known = KnownBrokerKinds();
  {
    absl::MutexLock lock(&known.mu);
    auto it = known.mock.find(bootstrap);
    if (it != known.mock.end()) return it->second;
  }
  auto h = AdminHandle(bootstrap, extra);
  if (!h.ok()) return false;
  char* id = rd_kafka_clusterid(h->rk, 10000);
  if (id == nullptr) return false;  // unreachable: not cached, the caller's own call will say so
  // rdkafka_mock.c names its cluster "mockCluster<hex>"; Apache Kafka's ids are base64 UUIDs.
  const bool mock = std::string_view(id).starts_with("mockCluster");
  rd_kafka_mem_free(h->rk, id);
  absl::MutexLock lock(&known.mu);
  known.mock[bootstrap] = mock;
  return mock;
}

int ReplicationFor(int brokers) { return std::clamp(brokers, 1, kMaxReplicationFactor); }

Result<int> ClusterBrokers(const std::string& bootstrap, int timeout_ms, const Settings& extra) {
  auto h = AdminHandle(bootstrap, extra);
  if (!h.ok()) return h.status();
  auto d = Describe(h->rk, {}, timeout_ms);
  if (!d.ok()) return d.status();
  return d->brokers;
}

std::map<std::string, std::string> RequiredTopicSettings(std::string_view topic, int replication) {
  std::map<std::string, std::string> out;
  const TopicSpec* spec = FindSpec(topic);
  if (spec == nullptr || !spec->compacted()) {
    out["cleanup.policy"] = "delete";
    out["retention.ms"] = std::string(kTimeRetentionMs);
  } else {
    out["cleanup.policy"] = "compact";
    out["min.compaction.lag.ms"] = std::string(kMinCompactionLagMs);
  }
  if (replication >= 3) out["min.insync.replicas"] = std::string(kMinInsyncReplicasAt3);
  return out;
}

Result<std::map<std::string, int32_t>> TopicPartitions(const std::string& bootstrap,
                                                       const std::vector<std::string>& topics,
                                                       int timeout_ms, const Settings& extra) {
  auto h = AdminHandle(bootstrap, extra);
  if (!h.ok()) return h.status();
  auto d = Describe(h->rk, topics, timeout_ms);
  if (!d.ok()) return d.status();
  return d->partitions;
}

Status EnsureTopic(const std::string& bootstrap, const std::string& topic, int32_t partitions,
                   int timeout_ms, const Settings& extra) {
  auto h = AdminHandle(bootstrap, extra);
  if (!h.ok()) return h.status();
  auto d = Describe(h->rk, {topic}, timeout_ms);
  if (!d.ok()) return d.status();
  if (d->partitions[topic] > 0) return Status::Ok();
  SB_RETURN_IF_ERROR(
      CreateTopics(h->rk, {topic}, partitions, ReplicationFor(d->brokers), timeout_ms));
  auto created = AwaitTopics(h->rk, {topic}, partitions, timeout_ms);
  return created.ok() ? Status::Ok() : created.status();
}

Result<int32_t> EnsureTopics(const std::string& bootstrap, int32_t partitions, int timeout_ms,
                             const Settings& extra, int64_t changelog_min_compaction_lag_ms) {
  auto h = AdminHandle(bootstrap, extra);
  if (!h.ok()) return h.status();
  const std::vector<std::string> names = AllTopicNames();
  auto d = Describe(h->rk, names, timeout_ms);
  if (!d.ok()) return d.status();
  std::vector<std::string> missing;
  std::map<int32_t, std::vector<std::string>> by_count;
  for (const auto& [name, n] : d->partitions) {
    if (n == 0) {
      missing.push_back(name);
    } else {
      by_count[n].push_back(name);
    }
  }
  auto describe = [&] {
    std::string s;
    for (const auto& [name, n] : d->partitions) {
      s += (s.empty() ? "" : ", ") + name + "=" + std::to_string(n);
    }
    return s;
  };
  if (by_count.size() > 1 ||
      (partitions > 0 && !by_count.empty() && by_count.begin()->first != partitions)) {
    return FailedPrecondition(
        "Switchboard topics must all have the same partition count" +
        (partitions > 0 ? " (--partitions " + std::to_string(partitions) + ")" : std::string()) +
        "; found " + describe());
  }
  const int32_t want = by_count.empty() ? partitions : by_count.begin()->first;
  if (!missing.empty()) {
    if (want <= 0) {
      return FailedPrecondition("topics missing (" + describe() +
                                ") and no --partitions given to create them");
    }
    SB_RETURN_IF_ERROR(CreateTopics(h->rk, missing, want, ReplicationFor(d->brokers), timeout_ms));
    // Creation is asynchronous on the brokers: wait until the metadata shows every topic.
    d = AwaitTopics(h->rk, names, want, timeout_ms);
    if (!d.ok()) return d.status();
  }
  // librdkafka's mock cluster has no topic configs (nor a controller to ask).
  if (IsEmbeddedBroker(bootstrap, extra)) return want;
  SB_RETURN_IF_ERROR(CheckTopicSettings(h->rk, *d, timeout_ms, changelog_min_compaction_lag_ms));
  return want;
}

}  // namespace sb::kafka
