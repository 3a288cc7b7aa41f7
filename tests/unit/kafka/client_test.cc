// router/kafka's pure parts: the --kafka-setting flag, which settings reach which client, the
// epoch header codec, and the topic settings the router creates and checks.
#include "router/kafka/client.h"

#include <gtest/gtest.h>

#include "router/kafka/epoch.h"
#include "router/kafka/topics.h"

namespace sb::kafka {
namespace {

TEST(ParseSettingsTest, KeyValuePairsLastOneWins) {
  auto s = ParseSettings({"security.protocol=SASL_SSL", "sasl.mechanism=PLAIN", "client.id=a=b",
                          "debug=", "debug=broker"});
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(*s, (Settings{{"security.protocol", "SASL_SSL"},
                          {"sasl.mechanism", "PLAIN"},
                          {"client.id", "a=b"},  // only the first '=' splits
                          {"debug", "broker"}}));
}

TEST(ParseSettingsTest, AnEntryWithoutKeyOrEqualsIsAnErrorNamingIt) {
  for (const char* bad : {"session.timeout.ms", "=3000", ""}) {
    auto s = ParseSettings({"acks=all", bad});
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_EQ(s.status().code(), Code::kInvalidArgument);
    EXPECT_NE(s.status().message().find(std::string("\"") + bad + "\""), std::string::npos)
        << s.status().message();
    EXPECT_NE(s.status().message().find("expected key=value"), std::string::npos);
  }
}

TEST(WithoutGroupSettingsTest, KeepsSecurityDropsMembership) {
  const Settings all{{"security.protocol", "SSL"},     {"ssl.ca.location", "/ca.pem"},
                     {"session.timeout.ms", "10000"},  {"heartbeat.interval.ms", "500"},
                     {"group.instance.id", "r1"},      {"max.poll.interval.ms", "60000"},
                     {"auto.offset.reset", "earliest"}};
  EXPECT_EQ(WithoutGroupSettings(all), (Settings{{"security.protocol", "SSL"},
                                                 {"ssl.ca.location", "/ca.pem"},
                                                 {"auto.offset.reset", "earliest"}}));
}

TEST(EpochHeaderTest, RoundTripsBigEndianAndRejectsMalformed) {
  for (uint64_t epoch : {uint64_t{0}, uint64_t{1}, uint64_t{0x0102030405060708}, ~uint64_t{0}}) {
    Record r;
    r.headers.push_back(EpochHeader(epoch));
    EXPECT_EQ(r.headers[0].name, "sb-epoch");
    ASSERT_EQ(r.headers[0].value.size(), 8u);
    EXPECT_EQ(RecordEpoch(r), epoch);
  }
  EXPECT_EQ(EpochHeader(0x0102030405060708).value, std::string("\x01\x02\x03\x04\x05\x06\x07\x08"));
  Record none;
  EXPECT_EQ(RecordEpoch(none), std::nullopt);
  Record short_header;
  short_header.headers.push_back({"sb-epoch", "\x01\x02"});
  EXPECT_EQ(RecordEpoch(short_header), std::nullopt);
}

TEST(TopicSettingsTest, ChangelogIsCompactedInputsAreRetained) {
  const auto changelog = RequiredTopicSettings(kChangelogTopic, 1);
  EXPECT_EQ(changelog.at("cleanup.policy"), "compact");
  EXPECT_EQ(changelog.count("min.insync.replicas"), 0u);
  const auto contacts = RequiredTopicSettings(kContactsTopic, 3);
  EXPECT_EQ(contacts.at("cleanup.policy"), "delete");
  EXPECT_EQ(contacts.at("min.insync.replicas"), "2");
  EXPECT_EQ(ReplicationFor(1), 1);
  EXPECT_EQ(ReplicationFor(5), 3);
}

}  // namespace
}  // namespace sb::kafka
