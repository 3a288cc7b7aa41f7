// sb.dead-letter: where a record goes that its reader cannot process (proto DeadLetter). A shard
// or a gateway never stops on such a record and never drops it silently: it is counted, logged
// (without its content) and kept here with the reason, for an operator to inspect
// (`switchboard dead-letters`) and, once the cause is fixed, to write back.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "router/kafka/client.h"
#include "switchboard/v1/cluster.pb.h"

namespace sb::kafka {

namespace pb = ::switchboard::v1;

// Bytes of a source value kept in a dead letter; longer values are cut (and the reason says so).
inline constexpr size_t kDeadLetterMaxValueBytes = size_t{256} * 1024;

// The dead letter of `record`, which `written_by` ("shard 3", "gateway node-1") could not
// process for `reason` (made one printable line of at most 512 bytes).
pb::DeadLetter DeadLetterOf(const Record& record, std::string_view reason,
                            std::string_view written_by, int64_t now_ms);
// "<source topic>/<source partition>/<source offset>": the record's key in sb.dead-letter.
std::string DeadLetterKey(const pb::DeadLetter& letter);

}  // namespace sb::kafka
