// The router's metrics (sb_router_*): every family is declared here, in one place, and fed from
// two points of the shard shell, never from the engine (which stays I/O-free):
//   - ShardProbe::BeforeEvent / AfterEvent around each input event a shard applies: counters and
//     histograms of what happened to contacts (offered, answered, abandoned, waits, handle time,
//     ACW) and how long the engine took (decision latency);
//   - RouterProbe::MaybeRefresh from the node loop, about once a second: gauges read from the
//     engines' summaries (waiting, oldest wait, EWT, agents by state, capacity, occupancy),
//     counters of the shards' own statistics, consumer lag (librdkafka's cached watermarks) and
//     the shards' RocksDB (SST size, write stalls).
//
// Service level has one definition (DESIGN.md): what the engine counts in QueueStats. Contacts the
// engine leaves out of service level (test contacts, outbound campaigns) are left out of every
// contact family here too; their arrivals are counted apart in sb_router_contacts_excluded_total.
// Contacts are labelled by the queue they arrived in (where their service level belongs) even
// after a bullseye overflow. Labels are bounded: domain, queue, channel, state, event, shard, to —
// never a contact or agent id.
//
// SL(T) over a window, from Prometheus:
//   sum(rate(sb_router_wait_seconds_bucket{outcome="answered",le="T"}[w])) /
//   (sum(rate(sb_router_contacts_answered_total[w])) +
//    sum(rate(sb_router_contacts_abandoned_total{short="false"}[w])))
// The wait histogram has a bucket bound at every queue's service_level_threshold_s.
//
// Counters count what this process saw: a shard that moves to another node continues there, so
// sum over nodes with rate(). Events re-applied after a failover may be counted twice (metrics
// are at-least-once; the changelog, not the metrics, is exact).
//
// Thread: both classes are owned by the node's loop thread (every call comes from it). The
// metric objects they update are thread-safe: scrapes read them on the exposer's threads.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "router/engine/engine.h"
#include "router/followup/scheduler.h"
#include "router/kafka/client.h"
#include "router/shard/followup_probe.h"
#include "state-store/store.h"
#include "switchboard/v1/config.pb.h"
#include "switchboard/v1/events.pb.h"

namespace sb::shard {

namespace pb = ::switchboard::v1;

class Shard;
class RouterProbe;

// The probe of one shard: created by RouterProbe::ForShard() when the node claims the shard.
class ShardProbe {
 public:
  ShardProbe(RouterProbe* router, int32_t partition);

  // Around engine->Apply(event): Before reads the contact the event concerns as it was (an
  // abandoned contact is gone afterwards); After counts what the engine did, if `applied` is OK
  // (a refused event changed nothing).
  void BeforeEvent(const pb::RoutingEvent& event, const engine::Engine& engine);
  void AfterEvent(const pb::RoutingEvent& event, const Status& applied,
                  const engine::Engine& engine);

  // Contacts in after-contact work whose ACW the engine's limit ended (its timer fires outside
  // any input event): ACW and handle time observed with the limit. From RouterProbe's refresh.
  void ReconcileAcw(const engine::Engine& engine);

  int32_t partition() const { return partition_; }

  // A changelog group was acknowledged `micros` after its records were handed to the producer.
  void ChangelogCommitted(int64_t micros);

 private:
  friend class RouterProbe;
  struct AcwEntry {
    std::string contact_id;
    int queue = -1;  // origin queue index in RouterProbe
    pb::Channel channel = pb::CHANNEL_UNSPECIFIED;
    int64_t connected_ms = 0;
    int64_t ended_ms = 0;
    int64_t limit_ms = 0;  // the ACW limit of the queue it ended in; 0 = none
  };
  // Observes ACW and handle time of the agent's entries whose ACW is over (`now_ms`; an entry
  // that ended by the limit is observed at the limit). Others stay.
  void CloseAcw(const std::string& agent_id, const engine::Engine& engine, bool by_limit);

  RouterProbe* const router_;
  const int32_t partition_;
  std::chrono::steady_clock::time_point started_;
  std::optional<engine::ContactView> before_;
  prometheus::Histogram* commit_ = nullptr;  // made on first use
  // Contacts in after-contact work, by agent (an agent has few). Bounded by the agents' work.
  std::unordered_map<std::string, std::vector<AcwEntry>> acw_;

  // Refresh state: the shard's cumulative statistics when last seen, to count their increase.
  // The engine's queue statistics are first read at the first event or refresh after the claim.
  void ReadQueueStats(const engine::Summary& summary, bool count);
  bool seen_ = false;
  bool queue_stats_read_ = false;
  uint64_t events_ = 0, rejected_ = 0, outputs_ = 0, dead_letters_ = 0;
  std::vector<pb::QueueStats> queue_stats_;  // by queue index; empty until the first reading
};

// The node's probe: owns the metric families (in the process's registry) and the shards' probes.
class RouterProbe {
 public:
  // REQUIRES: `config` validated. `registry` outlives the probe. Declares every family.
  RouterProbe(prometheus::Registry& registry, const pb::RoutingConfig& config,
              int refresh_interval_ms = 1000);
  ~RouterProbe();

  // A fresh probe for the shard of `partition` (replacing an earlier one): called when the node
  // (re)claims it. The probe lives until the partition is claimed again or MaybeRefresh() sees
  // the shard gone, so a Shard may hold the pointer for its whole life.
  ShardProbe* ForShard(int32_t partition);

  // Refreshes the gauges from the shards' engines when refresh_interval_ms has passed since the
  // last time. Cost: O(agents + contacts) per refresh (engine::Engine::Summarize).
  void MaybeRefresh(const std::map<int32_t, std::unique_ptr<Shard>>& shards,
                    const kafka::GroupConsumer& consumer);

  // What MaybeRefresh reads of one shard; public so tests can publish without a Kafka cluster.
  struct ShardSample {
    int32_t partition = 0;
    ShardProbe* probe = nullptr;  // may be null (then only gauges)
    const engine::Engine* engine = nullptr;
    const followup::Scheduler* followups = nullptr;  // null: follow-ups off
    uint64_t events = 0, rejected_events = 0, outputs = 0, dead_letters = 0;
    int64_t restore_ms = -1;             // -1: not restored
    std::map<std::string, int64_t> lag;  // records behind, by input topic (known ones only)
    std::vector<store::Store::Stats> column_families;
    std::optional<uint64_t> write_stopped, delayed_write_rate;
  };
  void Publish(const std::vector<ShardSample>& shards);

  // The registry, for the families of modules that run inside the router node (follow-ups: the
  // scheduler's probe declares sb_followup_* families here and refreshes them from the node
  // loop like MaybeRefresh does).
  prometheus::Registry& registry() { return registry_; }

 private:
  friend class ShardProbe;
  static constexpr int kChannels = 6;  // pb::Channel values

  struct QueueSeries {
    std::string name, domain;
    // By channel, made on first use (so a scrape lists only channels the queue saw).
    std::array<prometheus::Counter*, kChannels> offered{}, answered{}, answered_within_sl{},
        abandoned{}, short_abandoned{}, excluded_test{}, excluded_outbound{};
    std::array<prometheus::Histogram*, kChannels> wait_answered{}, wait_abandoned{}, handle{},
        acw{};
    prometheus::Counter *expired = nullptr, *cancelled = nullptr, *overflowed = nullptr;
    prometheus::Gauge *waiting = nullptr, *oldest_wait = nullptr, *estimated_wait = nullptr;
  };
  struct DomainSeries {
    std::string name;
    prometheus::Gauge *ready = nullptr, *not_ready = nullptr, *reserved = nullptr, *busy = nullptr,
                      *acw = nullptr, *units_used = nullptr, *units_total = nullptr,
                      *occupancy = nullptr;
  };
  struct ShardSeries {
    prometheus::Counter *events = nullptr, *rejected = nullptr, *outputs = nullptr,
                        *dead_letters = nullptr;
  };
  // Gauges of a shard this node owns now: removed when it goes (no stale lag of a lost shard).
  struct OwnedShardGauges {
    std::map<std::string, prometheus::Gauge*> lag;  // by topic
    std::map<std::string, prometheus::Gauge*> sst;  // by column family
    prometheus::Gauge *write_stopped = nullptr, *delayed_write_rate = nullptr;
  };
  void PublishOwned(const ShardSample& s);
  void RemoveOwned(OwnedShardGauges& g);

  int QueueIndex(const std::string& name) const;  // -1 if unknown
  QueueSeries& Queue(int q) { return queues_[q]; }
  prometheus::Counter& ContactCounter(prometheus::Family<prometheus::Counter>& family,
                                      std::array<prometheus::Counter*, kChannels>& slot, int q,
                                      pb::Channel ch, prometheus::Labels extra = {});
  prometheus::Histogram& ContactHistogram(prometheus::Family<prometheus::Histogram>& family,
                                          std::array<prometheus::Histogram*, kChannels>& slot,
                                          int q, pb::Channel ch,
                                          const prometheus::Histogram::BucketBoundaries& buckets,
                                          prometheus::Labels extra = {});
  ShardSeries& SeriesOfShard(int32_t partition);
  prometheus::Histogram& Latency(pb::RoutingEvent::EventCase event);

  prometheus::Registry& registry_;
  const int refresh_interval_ms_;
  int64_t last_refresh_ms_ = 0;
  int64_t short_abandon_ms_ = 0;
  std::unordered_map<std::string, int> queue_index_;
  std::vector<QueueSeries> queues_;
  std::vector<int64_t> queue_acw_limit_ms_;     // by queue index
  std::vector<int64_t> queue_sl_threshold_ms_;  // by queue index
  std::vector<DomainSeries> domains_;
  std::map<int32_t, ShardSeries> shard_series_;
  std::map<int32_t, OwnedShardGauges> owned_;
  std::map<int32_t, std::unique_ptr<ShardProbe>> shards_;
  std::map<int, prometheus::Histogram*> latency_;  // by RoutingEvent::EventCase
  prometheus::Histogram::BucketBoundaries wait_buckets_, handle_buckets_, acw_buckets_,
      latency_buckets_, restore_buckets_;

  // Contacts (labels domain, queue, channel).
  prometheus::Family<prometheus::Counter>& offered_;
  prometheus::Family<prometheus::Counter>& answered_;
  prometheus::Family<prometheus::Counter>& answered_within_sl_;
  prometheus::Family<prometheus::Counter>& abandoned_;  // + short="true|false"
  prometheus::Family<prometheus::Counter>& excluded_;   // + reason="test|outbound"
  prometheus::Family<prometheus::Histogram>& wait_;     // + outcome="answered|abandoned"
  prometheus::Family<prometheus::Histogram>& handle_;
  prometheus::Family<prometheus::Histogram>& acw_;
  // Contacts by queue (labels domain, queue), from the engine's QueueStats.
  prometheus::Family<prometheus::Counter>& expired_;
  prometheus::Family<prometheus::Counter>& cancelled_;
  prometheus::Family<prometheus::Counter>& overflowed_;
  // Transfers (labels domain, queue transferred from, to="queue|agent"), from the events.
  prometheus::Family<prometheus::Counter>& transferred_;
  // Queues now (labels domain, queue).
  prometheus::Family<prometheus::Gauge>& waiting_;
  prometheus::Family<prometheus::Gauge>& oldest_wait_;
  prometheus::Family<prometheus::Gauge>& estimated_wait_;
  // Agents now (label domain; agents also state).
  prometheus::Family<prometheus::Gauge>& agents_;
  prometheus::Family<prometheus::Gauge>& capacity_used_;
  prometheus::Family<prometheus::Gauge>& capacity_total_;
  prometheus::Family<prometheus::Gauge>& occupancy_;
  // The node and its shards.
  prometheus::Family<prometheus::Histogram>& decision_latency_;  // label event
  prometheus::Family<prometheus::Gauge>& shards_owned_;
  prometheus::Family<prometheus::Counter>& shard_events_;  // label shard
  prometheus::Family<prometheus::Counter>& shard_rejected_;
  prometheus::Family<prometheus::Counter>& shard_dead_letters_;
  prometheus::Family<prometheus::Counter>& shard_outputs_;
  prometheus::Family<prometheus::Histogram>& restore_;
  prometheus::Family<prometheus::Histogram>& changelog_commit_;  // label shard
  // The queues' service-level settings (labels domain, queue), for rules and dashboards.
  prometheus::Family<prometheus::Gauge>& sl_threshold_;
  prometheus::Family<prometheus::Gauge>& sl_target_;
  prometheus::Histogram::BucketBoundaries commit_buckets_;
  std::unique_ptr<FollowUpProbe> followups_;
  prometheus::Family<prometheus::Gauge>& consumer_lag_;        // labels shard, topic
  prometheus::Family<prometheus::Gauge>& sst_bytes_;           // labels shard, column_family
  prometheus::Family<prometheus::Gauge>& write_stopped_;       // label shard
  prometheus::Family<prometheus::Gauge>& delayed_write_rate_;  // label shard
  prometheus::Gauge& shards_owned_gauge_;
  prometheus::Histogram& restore_histogram_;
};

}  // namespace sb::shard
