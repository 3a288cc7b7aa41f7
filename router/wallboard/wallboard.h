// The router's wallboard: a Server whose snapshots come from a StatsFeed on sb.stats.
//
// Threads: the feed is created and polled on the server's data thread only.
#pragma once

#include <memory>
#include <string>

#include "router/kafka/client.h"
#include "router/wallboard/server.h"

namespace sb::wallboard {

// Listens, then takes the first snapshot on the calling thread (opening the feed: at most about
// 2 s when the broker does not answer). Later the data thread polls the feed and retries opening
// it every few seconds while the broker cannot be reached, the page saying so meanwhile. Fails
// only when it cannot listen.
Result<std::unique_ptr<Server>> StartWithKafka(const ServerOptions& options,
                                               const std::string& bootstrap,
                                               const kafka::Settings& kafka_settings);

}  // namespace sb::wallboard
