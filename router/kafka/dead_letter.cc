#include "router/kafka/dead_letter.h"

#include "common/config/text.h"

namespace sb::kafka {

pb::DeadLetter DeadLetterOf(const Record& record, std::string_view reason,
                            std::string_view written_by, int64_t now_ms) {
  pb::DeadLetter letter;
  letter.set_source_topic(record.topic);
  letter.set_source_partition(record.partition);
  letter.set_source_offset(record.offset);
  letter.set_key(record.key);
  std::string why = config::Printable(reason);
  if (record.value) {
    if (record.value->size() > kDeadLetterMaxValueBytes) {
      letter.set_value(record.value->substr(0, kDeadLetterMaxValueBytes));
      why += " (value cut at " + std::to_string(kDeadLetterMaxValueBytes) + " of " +
             std::to_string(record.value->size()) + " bytes)";
    } else {
      letter.set_value(*record.value);
    }
  }
  letter.set_reason(std::move(why));
  letter.set_written_by(std::string(written_by));
  letter.set_at_ms(now_ms);
  return letter;
}

std::string DeadLetterKey(const pb::DeadLetter& letter) {
  return letter.source_topic() + "/" + std::to_string(letter.source_partition()) + "/" +
         std::to_string(letter.source_offset());
}

}  // namespace sb::kafka
