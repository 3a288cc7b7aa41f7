// The router's wallboard: a Server whose snapshots come from a StatsFeed on sb.stats.
//
// Threads: the feed is created and polled on the server's data thread only.
#pragma once

#include <memory>
#include <string>

#include "router/kafka/client.h"
#include "router/wallboard/server.h"

namespace sb::wallboard {

// Listens at once; the feed is opened on the data thread (retried every few seconds while the
// broker cannot be reached, the page saying so meanwhile), so a slow broker never delays the
// caller. Fails only when it cannot listen.
Result<std::unique_ptr<Server>> StartWithKafka(const ServerOptions& options,
                                               const std::string& bootstrap,
                                               const kafka::Settings& kafka_settings);

}  // namespace sb::wallboard
