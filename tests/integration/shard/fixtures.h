// Shared by the shard integration tests: librdkafka's mock cluster in process, with every
// Switchboard topic created (a real Kafka-protocol broker on a free loopback port), a one-domain
// routing config and the input events the tests send.
#pragma once

#include <librdkafka/rdkafka_mock.h>

#include <string>

#include "router/kafka/topics.h"
#include "switchboard/v1/events.pb.h"

namespace sb::shard {

class MockKafka {
 public:
  explicit MockKafka(int partitions) {
    char err[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);  // no "no bootstrap" notice
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    mc_ = rd_kafka_mock_cluster_new(rk_, 1);
    for (const auto& t : kafka::kTopics) {
      rd_kafka_mock_topic_create(mc_, std::string(t.name).c_str(), partitions, 1);
    }
    bootstrap_ = rd_kafka_mock_cluster_bootstraps(mc_);
  }
  ~MockKafka() {
    rd_kafka_mock_cluster_destroy(mc_);
    rd_kafka_destroy(rk_);
  }
  MockKafka(const MockKafka&) = delete;
  MockKafka& operator=(const MockKafka&) = delete;
  const std::string& bootstrap() const { return bootstrap_; }

 private:
  rd_kafka_t* rk_;
  rd_kafka_mock_cluster_t* mc_;
  std::string bootstrap_;
};

// One domain, one queue that any agent with the general skill serves.
inline constexpr char kOneDomainConfig[] = R"(
skills: [{name: general}]
domains: [{name: d00}]
queues:
  - {name: d00.general, domain: d00, strategy: LONGEST_IDLE,
     required_skills: [{skill: general, min_proficiency: 1}], offer_timeout_s: 600}
)";

namespace pb = ::switchboard::v1;

inline pb::RoutingEvent Login(const std::string& agent) {
  pb::RoutingEvent ev;
  auto* a = ev.mutable_agent_login()->mutable_agent();
  a->set_id(agent);
  a->set_domain("d00");
  auto* s = a->add_skills();
  s->set_skill("general");
  s->set_proficiency(3);
  ev.mutable_agent_login()->set_ready(true);
  return ev;
}

inline pb::RoutingEvent Arrive(const std::string& contact) {
  pb::RoutingEvent ev;
  auto* c = ev.mutable_contact_arrived()->mutable_contact();
  c->set_id(contact);
  c->set_queue("d00.general");
  c->set_channel(pb::CHANNEL_VOICE);
  return ev;
}

}  // namespace sb::shard
