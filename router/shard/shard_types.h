// What a shard's parts share: delivery tokens, the node's producers and the shard's counters.
#pragma once

#include <cstdint>

#include "router/kafka/client.h"

namespace sb::shard {

// Delivery tokens: partition | kind | sequence, so one producer serves every shard of a node.
enum class TokenKind : uint8_t { kChangelog = 1, kOutput = 2, kStats = 3, kFollowUps = 4 };
inline constexpr uint64_t kTokenSeqMask = (uint64_t{1} << 44) - 1;
inline uint64_t MakeToken(int32_t partition, TokenKind kind, uint64_t seq) {
  return (static_cast<uint64_t>(partition) << 48) | (static_cast<uint64_t>(kind) << 44) |
         (seq & kTokenSeqMask);
}
inline int32_t TokenPartition(uint64_t token) { return static_cast<int32_t>(token >> 48); }
inline TokenKind TokenKindOf(uint64_t token) { return static_cast<TokenKind>((token >> 44) & 0xf); }
inline uint64_t TokenSeq(uint64_t token) { return token & kTokenSeqMask; }

// A node's producers, shared by its shards. The changelog is on the critical path (no output
// leaves before its group is acknowledged): it lingers 1 ms, enough to send a group's records
// as one batch (which keeps restores fast on the embedded broker, which returns one batch per
// fetch). Outputs are read by every channel: they are batched for librdkafka's default 5 ms.
struct Producers {
  kafka::Producer* changelog = nullptr;
  kafka::Producer* outputs = nullptr;
};

struct ShardStats {
  uint64_t events = 0;
  uint64_t rejected_events = 0;  // refused by the engine, or dead letters (logged; see OnInput)
  uint64_t groups = 0;
  uint64_t outputs = 0;
  uint64_t restored_records = 0;
  uint64_t zombie_records = 0;  // gaps of an older owner's records skipped
  uint64_t followup_commands = 0;
  uint64_t duplicate_forwards = 0;       // re-published copies of forwarded contacts dropped
  uint64_t dropped_forwards = 0;         // forwards to a partition the cluster lacks (logged)
  uint64_t dead_letters = 0;             // records for sb.dead-letter (input, dropped forwards)
  uint64_t followup_records = 0;         // sb.followups records produced
  uint64_t followup_records_failed = 0;  // not produced or not delivered (published again)
  int64_t restore_ms = 0;
  uint64_t snapshots = 0;           // complete snapshots written into the changelog
  uint64_t snapshot_bytes = 0;      // their bytes (keys and values)
  uint64_t snapshots_restored = 0;  // complete snapshots the claim's restore read
};

}  // namespace sb::shard
