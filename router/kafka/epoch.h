// The writer's epoch on a record: the `sb-epoch` header (8 bytes, big-endian) that a shard owner
// puts on every record it writes to sb.router-changelog, sb.followups and sb.stats. One codec for
// the writers (router/shard) and the readers (router/shard, router/gateway).
#pragma once

#include <cstdint>
#include <optional>

#include "router/kafka/client.h"

namespace sb::kafka {

inline constexpr char kEpochHeader[] = "sb-epoch";

Header EpochHeader(uint64_t epoch);
// The writer's epoch of a record; nullopt when the header is missing or malformed.
std::optional<uint64_t> RecordEpoch(const Record& r);

}  // namespace sb::kafka
