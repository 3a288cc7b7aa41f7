#include "tools/loadgen/floor.h"

#include <algorithm>
#include <chrono>
#include <thread>
#include <vector>

#include "router/kafka/topics.h"

namespace sb::loadgen {
namespace {

const std::string kFloorTopic(kafka::kScratchTopic);

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Result<Floor> MeasureFloor(const std::string& bootstrap, const kafka::Settings& settings,
                           int messages, double rate_per_s, int timeout_ms) {
  SB_RETURN_IF_ERROR(kafka::EnsureTopic(bootstrap, kFloorTopic, 1, timeout_ms, settings));
  auto reader = kafka::PartitionReader::Create(bootstrap, settings);
  if (!reader.ok()) return reader.status();
  auto marks = (*reader)->Watermarks(kFloorTopic, 0, timeout_ms);
  if (!marks.ok()) return marks.status();
  SB_RETURN_IF_ERROR((*reader)->Assign(kFloorTopic, 0, marks->second));
  Status failed;
  auto producer = kafka::Producer::Create(bootstrap, settings,
                                          [&](uint64_t, int32_t, int64_t, const Status& st) {
                                            if (!st.ok()) failed = st;
                                          });
  if (!producer.ok()) return producer.status();
  const int64_t start = NowUs();
  const int64_t deadline = start + int64_t{timeout_ms} * 1000;
  const int warmup = messages / 10;
  int sent = 0, received = 0;
  std::vector<double> lat;
  while (received < messages && NowUs() < deadline) {
    const int due = std::min<int64_t>(messages, (NowUs() - start) * rate_per_s / 1e6 + 1);
    for (; sent < due; ++sent) {
      SB_RETURN_IF_ERROR((*producer)->Produce(kFloorTopic, 0, std::to_string(sent),
                                              std::to_string(NowUs()), {}, 0));
    }
    (*producer)->Poll(0);
    auto rec = (*reader)->Poll(1);
    if (!rec.ok()) return rec.status();
    if (!rec->has_value() || !(*rec)->value) continue;
    const int64_t sent_us = std::stoll(*(*rec)->value);
    if (received++ >= warmup) lat.push_back((NowUs() - sent_us) / 1000.0);
  }
  if (!failed.ok()) return failed;
  if (lat.empty()) return Unavailable("floor: no message came back within the timeout");
  std::sort(lat.begin(), lat.end());
  Floor f;
  f.samples = static_cast<int>(lat.size());
  f.p50_ms = lat[lat.size() / 2];
  f.p99_ms = lat[std::min(lat.size() - 1, lat.size() * 99 / 100)];
  return f;
}

}  // namespace sb::loadgen
