// What the wallboard shows, as one JSON document built from a StatsView: served once at
// /wallboard/data, pushed every second on /wallboard/events, and inlined in /wallboard so the page
// shows numbers before its first event. Pure; any thread (the caller owns the view).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>

#include "router/stats/view.h"

namespace sb::wallboard {

// Live queues, agents by state per domain and follow-ups of the shards that are fresh at
// `now_ms`; today's SL per queue comes from the shard's QueueLive.today through stats/kpi.h.
nlohmann::json Snapshot(const stats::StatsView& view, int64_t now_ms);

// The snapshot when there is no data source yet (broker unreachable, topic missing): the page
// shows `error` instead of numbers.
nlohmann::json ErrorSnapshot(const std::string& error, int64_t now_ms);

}  // namespace sb::wallboard
