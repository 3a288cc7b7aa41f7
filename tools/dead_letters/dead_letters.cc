#include "tools/dead_letters/dead_letters.h"

#include <absl/strings/escaping.h>
#include <absl/time/time.h>

#include <cstdio>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "common/text.h"
#include "router/kafka/client.h"
#include "router/kafka/dead_letter.h"
#include "router/kafka/topics.h"

namespace sb::dead_letters {
namespace {

namespace pb = ::switchboard::v1;

void Field(std::string_view name, std::string_view value, std::string* out) {
  out->push_back(out->size() > 1 ? ',' : '{');
  AppendJsonString(name, out);
  out->push_back(':');
  AppendJsonString(value, out);
}

void Field(std::string_view name, int64_t value, std::string* out) {
  out->push_back(out->size() > 1 ? ',' : '{');
  AppendJsonString(name, out);
  *out += ":" + std::to_string(value);
}

// Reads `partition` of sb.dead-letter from its start to its end as of now.
Status PrintPartition(kafka::PartitionReader& reader, int32_t partition, bool with_value,
                      int timeout_ms, int64_t* printed) {
  const std::string topic(kafka::kDeadLetterTopic);
  auto marks = reader.Watermarks(topic, partition, timeout_ms);
  if (!marks.ok()) return marks.status();
  return kafka::ReadRange(reader, topic, partition, marks->first, marks->second, timeout_ms,
                          [&](const kafka::Record& r) {
                            pb::DeadLetter letter;
                            if (!r.value || !letter.ParseFromString(*r.value)) {
                              std::fprintf(stderr,
                                           "dead-letters: %s[%d]@%lld is not a DeadLetter; "
                                           "skipped\n",
                                           topic.c_str(), partition,
                                           static_cast<long long>(r.offset));
                              return Status::Ok();
                            }
                            std::printf("%s\n", ToJsonLine(letter, with_value).c_str());
                            ++*printed;
                            return Status::Ok();
                          });
}

}  // namespace

std::string ToJsonLine(const pb::DeadLetter& letter, bool with_value) {
  std::string out;
  Field("dead_letter", kafka::DeadLetterKey(letter), &out);
  Field("source_topic", letter.source_topic(), &out);
  Field("source_partition", letter.source_partition(), &out);
  Field("source_offset", letter.source_offset(), &out);
  Field("reason", letter.reason(), &out);
  Field("written_by", letter.written_by(), &out);
  Field("at",
        absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixMillis(letter.at_ms()),
                         absl::UTCTimeZone()),
        &out);
  Field("key", letter.key(), &out);
  Field("value_bytes", static_cast<int64_t>(letter.value().size()), &out);
  if (with_value) Field("value_base64", absl::Base64Escape(letter.value()), &out);
  out.push_back('}');
  return out;
}

int Main(int argc, char** argv) {
  CLI::App app{
      "Prints the records of sb.dead-letter: input records a shard or a gateway could not "
      "process, with their source (topic, partition, offset), the reason and the writer, one "
      "JSON object per line.",
      "switchboard dead-letters"};
  std::string bootstrap;
  std::vector<int32_t> partitions;
  std::vector<std::string> settings;
  bool with_values = false;
  int timeout_ms = 15000;
  app.add_option("--kafka", bootstrap, "Kafka bootstrap servers (host:port,...)")->required();
  app.add_option("--partition", partitions, "only these partitions (repeatable); default all");
  app.add_flag("--with-values", with_values,
               "also print each source record's value, base64 (may hold customer data)");
  app.add_option("--kafka-setting", settings, "extra librdkafka setting key=value (repeatable)");
  app.add_option("--timeout-ms", timeout_ms, "give up reading a partition after this")
      ->check(CLI::PositiveNumber);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  auto extra = kafka::ParseSettings(settings);
  if (!extra.ok()) {
    std::fprintf(stderr, "dead-letters: %s\n", extra.status().message().c_str());
    return 2;
  }
  const std::string topic(kafka::kDeadLetterTopic);
  auto counts = kafka::TopicPartitions(bootstrap, {topic}, timeout_ms, *extra);
  if (!counts.ok()) {
    std::fprintf(stderr, "dead-letters: %s\n", counts.status().message().c_str());
    return 1;
  }
  const int32_t count = (*counts)[topic];
  if (count == 0) {
    std::fprintf(stderr, "dead-letters: %s does not exist (no router has run on this cluster)\n",
                 topic.c_str());
    return 1;
  }
  if (partitions.empty()) {
    for (int32_t p = 0; p < count; ++p) partitions.push_back(p);
  }
  auto reader = kafka::PartitionReader::Create(bootstrap, *extra);
  if (!reader.ok()) {
    std::fprintf(stderr, "dead-letters: %s\n", reader.status().message().c_str());
    return 1;
  }
  int64_t printed = 0;
  for (int32_t p : partitions) {
    if (p < 0 || p >= count) {
      std::fprintf(stderr, "dead-letters: --partition %d: %s has partitions 0..%d\n", p,
                   topic.c_str(), count - 1);
      return 2;
    }
    Status st = PrintPartition(**reader, p, with_values, timeout_ms, &printed);
    if (!st.ok()) {
      std::fprintf(stderr, "dead-letters: %s\n", st.message().c_str());
      return 1;
    }
  }
  std::fprintf(stderr, "dead-letters: %lld records\n", static_cast<long long>(printed));
  return 0;
}

}  // namespace sb::dead_letters
