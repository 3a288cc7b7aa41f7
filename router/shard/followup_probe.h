// Metrics of the follow-up tasks the node's shards hold (sb_followup_*), read from the tasks
// themselves at each refresh of the router probe: what is open now, and cumulative counts of
// ended tasks and attempts. The cumulative counts come from the shard's durable task state, so
// a shard that moves to another node is counted there from where it was (its series leave this
// node with it).
//
//   sb_followup_open_tasks{domain,kind,state="pending|due|firing"}   gauge
//   sb_followup_overdue_tasks{domain,kind}                           gauge: open past the deadline
//   sb_followup_ended_total{domain,kind,end,timely="yes|no"}         counter
//   sb_followup_attempts_total{domain,kind,outcome}                  counter
//
// Thread: the node's loop thread.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"
#include "router/followup/scheduler.h"
#include "switchboard/v1/config.pb.h"

namespace sb::shard {

namespace pb = ::switchboard::v1;

class FollowUpProbe {
 public:
  // REQUIRES: `registry` outlives the probe.
  FollowUpProbe(prometheus::Registry& registry, const pb::RoutingConfig& config);

  // The tasks of every shard this node owns now (each scheduler once), at wall time `now_ms`.
  void Publish(const std::vector<const followup::Scheduler*>& schedulers, int64_t now_ms);

 private:
  template <typename Metric>
  struct Series {
    prometheus::Family<Metric>* family;
    std::map<prometheus::Labels, std::pair<Metric*, double>> live;  // metric, value last set
  };
  using Values = std::map<prometheus::Labels, double>;
  static void SetGauges(Series<prometheus::Gauge>& s, const Values& values);
  static void SetCounters(Series<prometheus::Counter>& s, const Values& values);

  std::map<std::string, std::string> domain_of_queue_;
  Series<prometheus::Gauge> open_, overdue_;
  Series<prometheus::Counter> ended_, attempts_;
};

}  // namespace sb::shard
