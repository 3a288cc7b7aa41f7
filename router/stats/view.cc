#include "router/stats/view.h"

#include <algorithm>
#include <charconv>

namespace sb::stats {

namespace pb = ::switchboard::v1;

namespace {

constexpr std::string_view kLivePrefix = "live/";
constexpr std::string_view kDayPrefix = "day/";
constexpr std::string_view kAgentsPrefix = "agents/";
constexpr std::string_view kSessionsPrefix = "sessions/";
constexpr size_t kMaxShownKey = 80;

// Whether a record stamped `at_ms` is at most `stale_ms` older than `now_ms`. The stamp comes
// from the record (any producer, any int64), so now_ms - at_ms could overflow: not computed.
bool FreshAt(int64_t at_ms, int64_t now_ms, int64_t stale_ms) { return at_ms >= now_ms - stale_ms; }

// Keys come from outside: shown escaped and bounded, so a hostile key cannot forge log lines.
std::string Printable(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < kMaxShownKey; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c >= 0x7f || c == '\\') {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > kMaxShownKey) out += "...";
  return out;
}

std::string DayKey(std::string_view queue, std::string_view day) {
  std::string k(queue);
  k += '\0';
  k += day;
  return k;
}

// A whole non-negative decimal number.
template <typename Int>
bool ParseNumber(std::string_view s, Int* out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return !s.empty() && ec == std::errc() && end == s.data() + s.size() && *out >= 0;
}

}  // namespace

bool StatsView::Replaces(const Stamp& incoming, const Stamp& stored) {
  if (incoming.epoch != stored.epoch) return incoming.epoch > stored.epoch;
  // Equal epochs: one owner wrote both, the later one in its log is the newer state. Across
  // partitions offsets do not compare; the record read last wins.
  if (incoming.position.partition != stored.position.partition) return true;
  return incoming.position.offset >= stored.position.offset;
}

Applied StatsView::Malformed(std::string_view key, const std::string& reason) {
  ++malformed_[reason];
  last_error_ = "sb.stats key \"" + Printable(key) + "\": " + reason;
  return Applied::kMalformed;
}

template <typename Map, typename Record>
Applied StatsView::Keep(Map* map, const typename Map::key_type& k, Record rec, const Stamp& stamp) {
  auto it = map->find(k);
  if (it != map->end() && !Replaces(stamp, it->second.stamp)) {
    ++older_ignored_;
    return Applied::kOlder;
  }
  (*map)[k] = {std::move(rec), stamp};
  ++applied_;
  return Applied::kKept;
}

Applied StatsView::Apply(std::string_view key, const std::optional<std::string_view>& value,
                         LogPosition position) {
  if (key.starts_with(kLivePrefix)) {
    const std::string_view num = key.substr(kLivePrefix.size());
    int32_t shard = -1;
    if (!ParseNumber(num, &shard)) return Malformed(key, "bad key (live/<shard>)");
    if (!value) {
      live_.erase(shard);
      return Applied::kDeleted;
    }
    pb::ShardLive rec;
    if (!rec.ParseFromArray(value->data(), static_cast<int>(value->size()))) {
      return Malformed(key, "unparsable ShardLive");
    }
    if (rec.shard() != shard) return Malformed(key, "ShardLive.shard differs from the key");
    const Stamp stamp{rec.epoch(), position};
    return Keep(&live_, shard, std::move(rec), stamp);
  }
  if (key.starts_with(kDayPrefix)) {
    const std::string_view rest = key.substr(kDayPrefix.size());
    const size_t slash = rest.rfind('/');
    if (slash == std::string_view::npos || slash == 0 || !IsDate(rest.substr(slash + 1))) {
      return Malformed(key, "bad key (day/<queue>/<YYYY-MM-DD>)");
    }
    const std::string_view queue = rest.substr(0, slash);
    const std::string_view day = rest.substr(slash + 1);
    const std::string k = DayKey(queue, day);
    if (!value) {
      days_.erase(k);
      return Applied::kDeleted;
    }
    pb::QueueDay rec;
    if (!rec.ParseFromArray(value->data(), static_cast<int>(value->size()))) {
      return Malformed(key, "unparsable QueueDay");
    }
    if (rec.queue() != queue || rec.day() != day) {
      return Malformed(key, "QueueDay queue/day differ from the key");
    }
    const Stamp stamp{rec.epoch(), position};
    return Keep(&days_, k, std::move(rec), stamp);
  }
  if (key.starts_with(kAgentsPrefix)) return ApplyAgents(key, value, position);
  if (key.starts_with(kSessionsPrefix)) return ApplySessions(key, value, position);
  return Malformed(key, "unknown key kind (not live/, day/, agents/ or sessions/)");
}

Applied StatsView::ApplyAgents(std::string_view key, const std::optional<std::string_view>& value,
                               LogPosition position) {
  const std::string_view rest = key.substr(kAgentsPrefix.size());
  const size_t slash = rest.find('/');
  int32_t shard = -1;
  int64_t part = -1;
  if (slash == std::string_view::npos || !ParseNumber(rest.substr(0, slash), &shard) ||
      !ParseNumber(rest.substr(slash + 1), &part) || part > UINT32_MAX) {
    return Malformed(key, "bad key (agents/<shard>/<part>)");
  }
  const std::pair<int32_t, uint32_t> k{shard, static_cast<uint32_t>(part)};
  if (!value) {
    agents_.erase(k);
    return Applied::kDeleted;
  }
  pb::ShardAgents rec;
  if (!rec.ParseFromArray(value->data(), static_cast<int>(value->size()))) {
    return Malformed(key, "unparsable ShardAgents");
  }
  if (rec.shard() != shard || rec.part() != k.second || rec.part() >= rec.parts()) {
    return Malformed(key, "ShardAgents shard/part differ from the key");
  }
  const Stamp stamp{rec.epoch(), position};
  return Keep(&agents_, k, std::move(rec), stamp);
}

Applied StatsView::ApplySessions(std::string_view key, const std::optional<std::string_view>& value,
                                 LogPosition position) {
  const std::string node(key.substr(kSessionsPrefix.size()));
  if (node.empty()) return Malformed(key, "bad key (sessions/<node>)");
  if (!value) {
    sessions_.erase(node);
    return Applied::kDeleted;
  }
  pb::NodeSessions rec;
  if (!rec.ParseFromArray(value->data(), static_cast<int>(value->size()))) {
    return Malformed(key, "unparsable NodeSessions");
  }
  if (rec.node_id() != node) return Malformed(key, "NodeSessions node differs from the key");
  return Keep(&sessions_, node, std::move(rec), Stamp{0, position});
}

std::vector<ListedAgent> StatsView::Agents(int64_t now_ms) const {
  // Where each agent's desktop is, from the nodes' fresh session lists.
  std::map<std::string, const std::string*> node_of;
  for (const auto& [node, e] : sessions_) {
    if (!FreshAt(e.record.at_ms(), now_ms, stale_ms_)) continue;
    for (const std::string& id : e.record.agent_ids()) node_of[id] = &e.record.node_id();
  }
  std::map<std::string, std::pair<ListedAgent, int64_t>> by_id;  // agent -> (entry, list at_ms)
  for (const auto& [k, head] : agents_) {
    if (k.second != 0) continue;
    for (uint32_t part = 0; part < head.record.parts(); ++part) {
      auto it = agents_.find({k.first, part});
      if (it == agents_.end()) continue;
      for (const pb::AgentLive& a : it->second.record.agents()) {
        auto [slot, fresh] = by_id.try_emplace(a.agent().id());
        if (!fresh && slot->second.second >= head.record.at_ms()) continue;
        slot->second = {ListedAgent{a, k.first, {}}, head.record.at_ms()};
        auto n = node_of.find(a.agent().id());
        if (n != node_of.end()) slot->second.first.session_node = *n->second;
      }
    }
  }
  std::vector<ListedAgent> out;
  out.reserve(by_id.size());
  for (auto& [id, entry] : by_id) out.push_back(std::move(entry.first));
  return out;
}

std::vector<const pb::ShardLive*> StatsView::FreshShards(int64_t now_ms) const {
  std::vector<const pb::ShardLive*> out;
  for (const auto& [shard, e] : live_) {
    if (FreshAt(e.record.at_ms(), now_ms, stale_ms_)) out.push_back(&e.record);
  }
  return out;
}

int StatsView::StaleShards(int64_t now_ms) const {
  int n = 0;
  for (const auto& [shard, e] : live_) {
    if (!FreshAt(e.record.at_ms(), now_ms, stale_ms_)) ++n;
  }
  return n;
}

std::map<std::string, LiveQueue> StatsView::LiveQueues(int64_t now_ms) const {
  std::map<std::string, LiveQueue> out;
  for (const pb::ShardLive* s : FreshShards(now_ms)) {
    for (const pb::QueueLive& q : s->queues()) {
      auto it = out.find(q.queue());
      if (it != out.end() && it->second.at_ms >= s->at_ms()) continue;
      out[q.queue()] = {q, s->shard(), s->at_ms()};
    }
  }
  return out;
}

std::vector<pb::QueueDay> StatsView::Days(std::string_view from, std::string_view to,
                                          std::string_view queue) const {
  std::vector<pb::QueueDay> out;
  // days_ is ordered by queue, then day: the output order comes for free.
  for (const auto& [k, e] : days_) {
    if (!queue.empty() && e.record.queue() != queue) continue;
    if (e.record.day() < from || e.record.day() > to) continue;
    out.push_back(e.record);
  }
  return out;
}

uint64_t StatsView::malformed_total() const {
  uint64_t n = 0;
  for (const auto& [reason, count] : malformed_) n += count;
  return n;
}

}  // namespace sb::stats
