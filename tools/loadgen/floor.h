// The raw librdkafka floor: produce → consume latency on a scratch topic with the load
// generator's own producer settings, so the cluster's latency can be stated as a ratio to it.
#pragma once

#include <string>

#include "common/status.h"
#include "router/kafka/client.h"

namespace sb::loadgen {

struct Floor {
  double p50_ms = 0, p99_ms = 0;
  int samples = 0;
};

// Sends `messages` records at `rate_per_s` (the first 10% are warm-up and not counted) and
// measures each one's produce → consume time. Bounded by `timeout_ms`.
Result<Floor> MeasureFloor(const std::string& bootstrap, const kafka::Settings& settings,
                           int messages, double rate_per_s, int timeout_ms);

}  // namespace sb::loadgen
