#include "router/stats/view.h"

#include <algorithm>
#include <charconv>

namespace sb::stats {

namespace pb = ::switchboard::v1;

namespace {

constexpr std::string_view kLivePrefix = "live/";
constexpr std::string_view kDayPrefix = "day/";
constexpr size_t kMaxShownKey = 80;

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

}  // namespace

bool IsDate(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  const int y = std::stoi(std::string(s.substr(0, 4)));
  const int m = std::stoi(std::string(s.substr(5, 2)));
  const int d = std::stoi(std::string(s.substr(8, 2)));
  if (m < 1 || m > 12 || d < 1) return false;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return d <= kDays[m - 1] + (m == 2 && leap ? 1 : 0);
}

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

Applied StatsView::Apply(std::string_view key, const std::optional<std::string_view>& value,
                         LogPosition position) {
  if (key.starts_with(kLivePrefix)) {
    const std::string_view num = key.substr(kLivePrefix.size());
    int32_t shard = -1;
    auto [end, ec] = std::from_chars(num.data(), num.data() + num.size(), shard);
    if (num.empty() || ec != std::errc() || end != num.data() + num.size() || shard < 0) {
      return Malformed(key, "bad key (live/<shard>)");
    }
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
    auto it = live_.find(shard);
    if (it != live_.end() && !Replaces(stamp, it->second.stamp)) {
      ++older_ignored_;
      return Applied::kOlder;
    }
    live_[shard] = {std::move(rec), stamp};
    ++applied_;
    return Applied::kKept;
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
    auto it = days_.find(k);
    if (it != days_.end() && !Replaces(stamp, it->second.stamp)) {
      ++older_ignored_;
      return Applied::kOlder;
    }
    days_[k] = {std::move(rec), stamp};
    ++applied_;
    return Applied::kKept;
  }
  return Malformed(key, "unknown key kind (not live/ or day/)");
}

std::vector<const pb::ShardLive*> StatsView::FreshShards(int64_t now_ms) const {
  std::vector<const pb::ShardLive*> out;
  for (const auto& [shard, e] : live_) {
    if (now_ms - e.record.at_ms() <= stale_ms_) out.push_back(&e.record);
  }
  return out;
}

int StatsView::StaleShards(int64_t now_ms) const {
  int n = 0;
  for (const auto& [shard, e] : live_) {
    if (now_ms - e.record.at_ms() > stale_ms_) ++n;
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
