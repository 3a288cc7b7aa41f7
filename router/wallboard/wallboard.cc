#include "router/wallboard/wallboard.h"

#include <chrono>

#include "router/stats/feed.h"
#include "router/wallboard/snapshot.h"

namespace sb::wallboard {

namespace {

constexpr int kOpenTimeoutMs = 2000;
constexpr auto kReopenEvery = std::chrono::seconds(5);
// The wallboard shows live snapshots only (today's counters ride in them): it starts this many
// records before each partition's end, enough to hold its shard's latest snapshot.
constexpr int64_t kTailRecords = 200;

// Names come from producers: a bad byte must cost a replacement character, not the data thread.
std::string Dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Owned by the SnapshotFn, so used by one thread at a time: the caller of Server::Start for the
// first snapshot, the data thread after it.
struct FeedSource {
  std::string bootstrap;
  kafka::Settings settings;
  int poll_ms = 300;
  std::unique_ptr<stats::StatsFeed> feed;
  std::string error = "not connected to Kafka yet";
  std::chrono::steady_clock::time_point next_open{};

  std::string Next() {
    const auto now = std::chrono::steady_clock::now();
    if (feed == nullptr && now >= next_open) {
      next_open = now + kReopenEvery;
      auto opened = stats::StatsFeed::Open(bootstrap, settings, kOpenTimeoutMs,
                                           stats::StatsView::kDefaultStaleMs, kTailRecords);
      if (opened.ok()) {
        feed = std::move(*opened);
      } else {
        error = opened.status().ToString();
      }
    }
    if (feed == nullptr) return Dump(ErrorSnapshot(error, NowMs()));
    // Everything that arrived, within the poll budget: one Poll returns at the first pause of
    // the consumer's queue, and 12 shards publish every second.
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(poll_ms);
    Result<int> polled = 0;
    do {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                            until - std::chrono::steady_clock::now())
                            .count();
      if (left <= 0) break;
      polled = feed->Poll(static_cast<int>(left));
    } while (polled.ok() && *polled > 0);
    nlohmann::json snap = Snapshot(feed->view(), NowMs());
    if (!polled.ok()) snap["error"] = polled.status().ToString();
    return Dump(snap);
  }
};

}  // namespace

Result<std::unique_ptr<Server>> StartWithKafka(const ServerOptions& options,
                                               const std::string& bootstrap,
                                               const kafka::Settings& kafka_settings) {
  auto source = std::make_shared<FeedSource>();
  source->bootstrap = bootstrap;
  source->settings = kafka_settings;
  source->poll_ms = std::max(50, options.push_interval_ms / 3);
  return Server::Start(options, [source] { return source->Next(); });
}

}  // namespace sb::wallboard
