#include "router/shard/probe.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>

#include "common/clock.h"
#include "router/shard/shard.h"

namespace sb::shard {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;
using prometheus::Histogram;

// The engine's rounding of configured seconds (router/engine/requirements.cc), so that a wait at
// a threshold falls in the same bucket here as in the engine's answered_in_threshold.
int64_t Ms(double seconds) { return static_cast<int64_t>(std::llround(seconds * 1000.0)); }
double Seconds(int64_t ms) { return static_cast<double>(ms) / 1000.0; }

// Bounds beside the configured ones, so every queue's dashboard has the usual steps.
Histogram::BucketBoundaries WaitBuckets(const pb::RoutingConfig& config) {
  std::set<double> bounds = {5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600};
  for (const pb::QueueDef& q : config.queues()) {
    if (q.service_level_threshold_s() > 0)
      bounds.insert(Seconds(Ms(q.service_level_threshold_s())));
  }
  if (config.short_abandon_s() > 0) bounds.insert(Seconds(Ms(config.short_abandon_s())));
  return {bounds.begin(), bounds.end()};
}

Histogram::BucketBoundaries AcwBuckets(const pb::RoutingConfig& config) {
  std::set<double> bounds = {5, 10, 15, 30, 45, 60, 90, 120, 180, 300, 600};
  for (const pb::QueueDef& q : config.queues()) {
    if (q.acw_limit_s() > 0) bounds.insert(Seconds(Ms(q.acw_limit_s())));
  }
  return {bounds.begin(), bounds.end()};
}

// "voice" for CHANNEL_VOICE: the channel as configs and dashboards name it.
std::string ChannelLabel(pb::Channel ch) {
  std::string name = pb::Channel_Name(ch);
  name.erase(0, std::string_view("CHANNEL_").size());
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return name;
}

prometheus::Family<prometheus::Counter>& Counters(prometheus::Registry& r, const char* name,
                                                  const char* help) {
  return BuildCounter().Name(name).Help(help).Register(r);
}
prometheus::Family<prometheus::Gauge>& Gauges(prometheus::Registry& r, const char* name,
                                              const char* help) {
  return BuildGauge().Name(name).Help(help).Register(r);
}
prometheus::Family<prometheus::Histogram>& Histograms(prometheus::Registry& r, const char* name,
                                                      const char* help) {
  return BuildHistogram().Name(name).Help(help).Register(r);
}

// The contact an event concerns, for events whose outcome depends on the contact's past.
const std::string* ContactOf(const pb::RoutingEvent& e) {
  switch (e.event_case()) {
    case pb::RoutingEvent::kContactAbandoned:
      return &e.contact_abandoned().contact_id();
    case pb::RoutingEvent::kContactEnded:
      return &e.contact_ended().contact_id();
    case pb::RoutingEvent::kOfferAccepted:
      return &e.offer_accepted().contact_id();
    case pb::RoutingEvent::kContactTransferred:
      return &e.contact_transferred().contact_id();
    default:
      return nullptr;
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// ShardProbe

ShardProbe::ShardProbe(RouterProbe* router, int32_t partition)
    : router_(router), partition_(partition) {}

void ShardProbe::BeforeEvent(const pb::RoutingEvent& event, const engine::Engine& engine) {
  if (!queue_stats_read_) ReadQueueStats(engine.Summarize(), /*count=*/false);
  before_.reset();
  if (const std::string* id = ContactOf(event)) {
    auto view = engine.GetContact(*id);
    if (view.ok()) before_ = std::move(*view);
  }
  started_ = std::chrono::steady_clock::now();
}

void ShardProbe::AfterEvent(const pb::RoutingEvent& event, const Status& applied,
                            const engine::Engine& engine) {
  const auto took = std::chrono::steady_clock::now() - started_;
  router_->Latency(event.event_case()).Observe(std::chrono::duration<double>(took).count());
  if (!applied.ok()) return;
  RouterProbe& r = *router_;
  const int64_t now = engine.now_ms();
  switch (event.event_case()) {
    case pb::RoutingEvent::kContactArrived: {
      const pb::Contact& c = event.contact_arrived().contact();
      const int q = r.QueueIndex(c.queue());
      if (q < 0) return;
      RouterProbe::QueueSeries& qs = r.Queue(q);
      if (c.flags().test()) {
        r.ContactCounter(r.excluded_, qs.excluded_test, q, c.channel(), {{"reason", "test"}})
            .Increment();
      } else if (c.flags().outbound()) {
        r.ContactCounter(r.excluded_, qs.excluded_outbound, q, c.channel(),
                         {{"reason", "outbound"}})
            .Increment();
      } else {
        r.ContactCounter(r.offered_, qs.offered, q, c.channel()).Increment();
      }
      return;
    }
    case pb::RoutingEvent::kOfferAccepted: {
      if (!before_ || !before_->counts_for_sl || before_->answered) return;
      const int q = r.QueueIndex(before_->origin_queue);
      if (q < 0) return;
      RouterProbe::QueueSeries& qs = r.Queue(q);
      r.ContactCounter(r.answered_, qs.answered, q, before_->channel).Increment();
      // The engine's rule (EngineImpl::Accept): within the threshold when wait <= T.
      if (now - before_->arrived_ms <= r.queue_sl_threshold_ms_[q]) {
        r.ContactCounter(r.answered_within_sl_, qs.answered_within_sl, q, before_->channel)
            .Increment();
      }
      r.ContactHistogram(r.wait_, qs.wait_answered, q, before_->channel, r.wait_buckets_,
                         {{"outcome", "answered"}})
          .Observe(Seconds(now - before_->arrived_ms));
      return;
    }
    case pb::RoutingEvent::kContactAbandoned: {
      // A transferred contact was answered: the engine counts no abandon for it either.
      if (!before_ || !before_->counts_for_sl || before_->transfers > 0) return;
      const int q = r.QueueIndex(before_->origin_queue);
      if (q < 0) return;
      RouterProbe::QueueSeries& qs = r.Queue(q);
      const int64_t waited = now - before_->arrived_ms;
      // The engine's rule (EngineImpl::EndWaiting): short when under the threshold.
      if (waited < r.short_abandon_ms_) {
        r.ContactCounter(r.abandoned_, qs.short_abandoned, q, before_->channel, {{"short", "true"}})
            .Increment();
      } else {
        r.ContactCounter(r.abandoned_, qs.abandoned, q, before_->channel, {{"short", "false"}})
            .Increment();
      }
      r.ContactHistogram(r.wait_, qs.wait_abandoned, q, before_->channel, r.wait_buckets_,
                         {{"outcome", "abandoned"}})
          .Observe(Seconds(waited));
      return;
    }
    case pb::RoutingEvent::kContactEnded: {
      if (!before_ || !before_->counts_for_sl || before_->connected_ms <= 0) return;
      const int q = r.QueueIndex(before_->origin_queue);
      if (q < 0) return;
      const std::string& id = event.contact_ended().contact_id();
      auto after = engine.GetContact(id);
      if (after.ok() && after->state == pb::CONTACT_STATE_COMPLETED) {
        // In after-contact work: handle time is known when it ends.
        const int current = r.QueueIndex(after->queue);
        const int64_t limit = current < 0 ? 0 : r.queue_acw_limit_ms_[current];
        acw_[before_->agent_id].push_back(
            {id, q, before_->channel, before_->connected_ms, now, limit});
        return;
      }
      r.ContactHistogram(r.handle_, r.Queue(q).handle, q, before_->channel, r.handle_buckets_)
          .Observe(Seconds(now - before_->connected_ms));
      return;
    }
    case pb::RoutingEvent::kContactTransferred: {
      if (!before_ || !before_->counts_for_sl) return;
      const int q = r.QueueIndex(before_->queue);  // the queue it was transferred from
      if (q < 0) return;
      const char* to = event.contact_transferred().has_to_agent_id() ? "agent" : "queue";
      r.transferred_.Add({{"domain", r.Queue(q).domain}, {"queue", r.Queue(q).name}, {"to", to}})
          .Increment();
      return;
    }
    case pb::RoutingEvent::kWrapUpDone:
      CloseAcw(event.wrap_up_done().agent_id(), engine, /*by_limit=*/false);
      return;
    case pb::RoutingEvent::kAgentLogout:
      CloseAcw(event.agent_logout().agent_id(), engine, /*by_limit=*/false);
      return;
    default:
      return;
  }
}

void ShardProbe::CloseAcw(const std::string& agent_id, const engine::Engine& engine,
                          bool by_limit) {
  auto it = acw_.find(agent_id);
  if (it == acw_.end()) return;
  RouterProbe& r = *router_;
  const int64_t now = engine.now_ms();
  std::vector<AcwEntry>& entries = it->second;
  for (size_t i = 0; i < entries.size();) {
    const AcwEntry& e = entries[i];
    auto view = engine.GetContact(e.contact_id);
    if (view.ok() && view->state == pb::CONTACT_STATE_COMPLETED) {
      ++i;  // still in after-contact work
      continue;
    }
    // Ended by the limit's timer (fired between events) at ended + limit, else by the event now.
    int64_t end = now;
    if (by_limit && e.limit_ms > 0) end = std::min(now, e.ended_ms + e.limit_ms);
    RouterProbe::QueueSeries& qs = r.Queue(e.queue);
    r.ContactHistogram(r.acw_, qs.acw, e.queue, e.channel, r.acw_buckets_)
        .Observe(Seconds(std::max<int64_t>(0, end - e.ended_ms)));
    r.ContactHistogram(r.handle_, qs.handle, e.queue, e.channel, r.handle_buckets_)
        .Observe(Seconds(std::max<int64_t>(0, end - e.connected_ms)));
    entries[i] = std::move(entries.back());
    entries.pop_back();
  }
  if (entries.empty()) acw_.erase(it);
}

void ShardProbe::ReconcileAcw(const engine::Engine& engine) {
  std::vector<std::string> agents;
  agents.reserve(acw_.size());
  for (const auto& [agent, entries] : acw_) agents.push_back(agent);
  for (const std::string& agent : agents) CloseAcw(agent, engine, /*by_limit=*/true);
}

void ShardProbe::ReadQueueStats(const engine::Summary& summary, bool count) {
  std::vector<RouterProbe::QueueSeries>& series = router_->queues_;
  queue_stats_.resize(summary.queues.size());
  for (size_t q = 0; q < summary.queues.size(); ++q) {
    const pb::QueueStats& now = summary.queues[q].stats;
    pb::QueueStats& was = queue_stats_[q];
    if (count && q < series.size()) {
      auto grow = [](uint64_t n, uint64_t w) { return static_cast<double>(n - std::min(n, w)); };
      series[q].expired->Increment(grow(now.expired(), was.expired()));
      series[q].cancelled->Increment(grow(now.cancelled(), was.cancelled()));
      series[q].overflowed->Increment(grow(now.overflowed_out(), was.overflowed_out()));
    }
    was = now;
  }
  queue_stats_read_ = true;
}

void ShardProbe::ChangelogCommitted(int64_t micros) {
  if (commit_ == nullptr) {
    commit_ = &router_->changelog_commit_.Add({{"shard", std::to_string(partition_)}},
                                              router_->commit_buckets_);
  }
  commit_->Observe(static_cast<double>(micros) / 1e6);
}

// ---------------------------------------------------------------------------------------------
// RouterProbe

RouterProbe::RouterProbe(prometheus::Registry& registry, const pb::RoutingConfig& config,
                         int refresh_interval_ms)
    : registry_(registry),
      refresh_interval_ms_(refresh_interval_ms),
      short_abandon_ms_(Ms(config.short_abandon_s())),
      wait_buckets_(WaitBuckets(config)),
      handle_buckets_({15, 30, 60, 120, 180, 240, 300, 450, 600, 900, 1200, 1800, 3600}),
      acw_buckets_(AcwBuckets(config)),
      latency_buckets_(
          {1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 1e-2, 0.1}),
      restore_buckets_({0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}),
      offered_(Counters(registry, "sb_router_contacts_offered_total",
                        "Contacts offered to a queue (arrived), test and outbound ones excluded")),
      answered_(Counters(registry, "sb_router_contacts_answered_total",
                         "Contacts answered (first acceptance by an agent), by arrival queue")),
      answered_within_sl_(
          Counters(registry, "sb_router_contacts_answered_within_sl_total",
                   "Contacts answered within their queue's service-level threshold "
                   "(sb_router_queue_sl_threshold_seconds): the numerator of service level")),
      abandoned_(Counters(registry, "sb_router_contacts_abandoned_total",
                          "Contacts whose customer left while waiting; short=\"true\": before the "
                          "short-abandon threshold (not in service level)")),
      excluded_(Counters(registry, "sb_router_contacts_excluded_total",
                         "Arrived contacts left out of every contact statistic: test contacts "
                         "and outbound campaigns")),
      wait_(Histograms(registry, "sb_router_wait_seconds",
                       "Wait from arrival to answer or abandonment; bucket bounds include every "
                       "queue's service-level threshold")),
      handle_(Histograms(registry, "sb_router_handle_seconds",
                         "Handle time: from connection to the end of after-contact work")),
      acw_(Histograms(registry, "sb_router_acw_seconds",
                      "After-contact work: from the end of the contact to wrap-up (or the limit)")),
      expired_(
          Counters(registry, "sb_router_contacts_expired_total",
                   "Contacts that waited past their queue's max wait (the channel took over)")),
      cancelled_(Counters(registry, "sb_router_contacts_cancelled_total",
                          "Waiting contacts withdrawn by their channel")),
      overflowed_(Counters(registry, "sb_router_contacts_overflowed_total",
                           "Contacts the bullseye moved from this queue to an overflow queue")),
      transferred_(Counters(registry, "sb_router_contacts_transferred_total",
                            "Connected contacts handed on from this queue by a transfer, to "
                            "another queue (to=\"queue\") or a named agent (to=\"agent\")")),
      waiting_(Gauges(registry, "sb_router_waiting_contacts",
                      "Contacts waiting in the queue now (after an overflow: the new queue)")),
      oldest_wait_(Gauges(registry, "sb_router_oldest_wait_seconds",
                          "Wait so far of the longest-waiting contact of the queue")),
      estimated_wait_(Gauges(registry, "sb_router_estimated_wait_seconds",
                             "Estimated wait of the newest waiting contact (0: none waits; "
                             "-1: no agent logged in can serve it)")),
      agents_(Gauges(registry, "sb_router_agents", "Logged-in agents by state")),
      capacity_used_(Gauges(registry, "sb_router_capacity_used_units",
                            "Capacity units held by work of the logged-in agents")),
      capacity_total_(Gauges(registry, "sb_router_capacity_total_units",
                             "Capacity units of the logged-in agents")),
      occupancy_(Gauges(registry, "sb_router_occupancy_ratio",
                        "Busy / (busy + ready) time of the logged-in agents since their login")),
      decision_latency_(Histograms(registry, "sb_router_decision_latency_seconds",
                                   "Time the routing engine took to apply one input event, "
                                   "including the routing it triggered")),
      shards_owned_(Gauges(registry, "sb_router_shards_owned", "Shards this node routes now")),
      shard_events_(
          Counters(registry, "sb_router_shard_events_total", "Input records a shard consumed")),
      shard_rejected_(
          Counters(registry, "sb_router_shard_rejected_events_total",
                   "Input records a shard skipped: refused by the engine, or dead letters")),
      shard_dead_letters_(
          Counters(registry, "sb_router_dead_letters_total",
                   "Records a shard could not process (malformed or misrouted input, a forward "
                   "to a partition the cluster lacks), published to sb.dead-letter")),
      shard_outputs_(Counters(registry, "sb_router_shard_outputs_total",
                              "Decisions a shard published to sb.assignments")),
      restore_(Histograms(registry, "sb_router_shard_restore_seconds",
                          "Time a claim took: checkpoint, changelog tail, epoch claim")),
      changelog_commit_(Histograms(registry, "sb_router_changelog_commit_seconds",
                                   "From handing a group of changelog records to the producer "
                                   "to the broker's acknowledgement of the group")),
      sl_threshold_(Gauges(registry, "sb_router_queue_sl_threshold_seconds",
                           "The queue's service-level threshold T (answered within T counts)")),
      sl_target_(Gauges(registry, "sb_router_queue_sl_target_ratio",
                        "The queue's service-level target (0..1)")),
      commit_buckets_({0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5}),
      followups_(std::make_unique<FollowUpProbe>(registry, config)),
      consumer_lag_(Gauges(registry, "sb_router_consumer_lag_records",
                           "Input records of a shard not consumed yet (high watermark as "
                           "librdkafka last fetched it minus the shard's next offset)")),
      sst_bytes_(Gauges(registry, "sb_router_store_sst_bytes",
                        "SST file size of a shard's RocksDB, by column family")),
      write_stopped_(Gauges(registry, "sb_router_store_write_stopped",
                            "1 while RocksDB stops a shard's writes (write stall)")),
      delayed_write_rate_(Gauges(registry, "sb_router_store_delayed_write_rate_bytes_per_second",
                                 "Write rate RocksDB slows a shard's writes to (0: not delayed)")),
      shards_owned_gauge_(shards_owned_.Add({})),
      restore_histogram_(restore_.Add({}, restore_buckets_)) {
  std::unordered_map<std::string, int> domain_index;
  for (const pb::DomainDef& d : config.domains()) {
    domain_index[d.name()] = static_cast<int>(domains_.size());
    DomainSeries ds;
    ds.name = d.name();
    const prometheus::Labels l = {{"domain", d.name()}};
    auto state = [&](const char* s) -> prometheus::Gauge* {
      return &agents_.Add({{"domain", d.name()}, {"state", s}});
    };
    ds.ready = state("ready");
    ds.not_ready = state("not_ready");
    ds.reserved = state("reserved");
    ds.busy = state("busy");
    ds.acw = state("acw");
    ds.units_used = &capacity_used_.Add(l);
    ds.units_total = &capacity_total_.Add(l);
    ds.occupancy = &occupancy_.Add(l);
    domains_.push_back(std::move(ds));
  }
  for (const pb::QueueDef& q : config.queues()) {
    queue_index_[q.name()] = static_cast<int>(queues_.size());
    QueueSeries qs;
    qs.name = q.name();
    qs.domain = q.domain();
    const prometheus::Labels l = {{"domain", q.domain()}, {"queue", q.name()}};
    qs.expired = &expired_.Add(l);
    qs.cancelled = &cancelled_.Add(l);
    qs.overflowed = &overflowed_.Add(l);
    qs.waiting = &waiting_.Add(l);
    qs.oldest_wait = &oldest_wait_.Add(l);
    qs.estimated_wait = &estimated_wait_.Add(l);
    sl_threshold_.Add(l).Set(q.service_level_threshold_s());
    sl_target_.Add(l).Set(q.service_level_target());
    queues_.push_back(std::move(qs));
    queue_acw_limit_ms_.push_back(Ms(q.acw_limit_s()));
    queue_sl_threshold_ms_.push_back(Ms(q.service_level_threshold_s()));
  }
}

RouterProbe::~RouterProbe() = default;

int RouterProbe::QueueIndex(const std::string& name) const {
  auto it = queue_index_.find(name);
  return it == queue_index_.end() ? -1 : it->second;
}

prometheus::Counter& RouterProbe::ContactCounter(prometheus::Family<prometheus::Counter>& family,
                                                 std::array<prometheus::Counter*, kChannels>& slot,
                                                 int q, pb::Channel ch, prometheus::Labels extra) {
  const size_t c = ch > 0 && ch < kChannels ? static_cast<size_t>(ch) : 0;
  if (slot[c] == nullptr) {
    const QueueSeries& qs = queues_[q];
    extra.insert({{"domain", qs.domain}, {"queue", qs.name}, {"channel", ChannelLabel(ch)}});
    slot[c] = &family.Add(extra);
  }
  return *slot[c];
}

prometheus::Histogram& RouterProbe::ContactHistogram(
    prometheus::Family<prometheus::Histogram>& family,
    std::array<prometheus::Histogram*, kChannels>& slot, int q, pb::Channel ch,
    const Histogram::BucketBoundaries& buckets, prometheus::Labels extra) {
  const size_t c = ch > 0 && ch < kChannels ? static_cast<size_t>(ch) : 0;
  if (slot[c] == nullptr) {
    const QueueSeries& qs = queues_[q];
    extra.insert({{"domain", qs.domain}, {"queue", qs.name}, {"channel", ChannelLabel(ch)}});
    slot[c] = &family.Add(extra, buckets);
  }
  return *slot[c];
}

prometheus::Histogram& RouterProbe::Latency(pb::RoutingEvent::EventCase event) {
  prometheus::Histogram*& h = latency_[static_cast<int>(event)];
  if (h == nullptr) {
    const auto* field = pb::RoutingEvent::descriptor()->FindFieldByNumber(event);
    h = &decision_latency_.Add({{"event", field != nullptr ? field->name() : "none"}},
                               latency_buckets_);
  }
  return *h;
}

RouterProbe::ShardSeries& RouterProbe::SeriesOfShard(int32_t partition) {
  ShardSeries& s = shard_series_[partition];
  if (s.events == nullptr) {
    const prometheus::Labels l = {{"shard", std::to_string(partition)}};
    s.events = &shard_events_.Add(l);
    s.rejected = &shard_rejected_.Add(l);
    s.dead_letters = &shard_dead_letters_.Add(l);
    s.outputs = &shard_outputs_.Add(l);
  }
  return s;
}

ShardProbe* RouterProbe::ForShard(int32_t partition) {
  auto probe = std::make_unique<ShardProbe>(this, partition);
  ShardProbe* p = probe.get();
  shards_[partition] = std::move(probe);
  return p;
}

void RouterProbe::MaybeRefresh(const std::map<int32_t, std::unique_ptr<shard::Shard>>& shards,
                               const kafka::GroupConsumer& consumer) {
  const int64_t now = MonotonicMs();
  if (last_refresh_ms_ != 0 && now - last_refresh_ms_ < refresh_interval_ms_) return;
  last_refresh_ms_ = now;
  // Probes of shards this node no longer has (released, or a claim that failed) go.
  for (auto it = shards_.begin(); it != shards_.end();) {
    it = shards.count(it->first) ? std::next(it) : shards_.erase(it);
  }
  std::vector<ShardSample> samples;
  for (const auto& [p, s] : shards) {
    if (s->engine() == nullptr) continue;  // not claimed (yet)
    auto it = shards_.find(p);
    ShardSample sample;
    sample.partition = p;
    sample.probe = it != shards_.end() ? it->second.get() : nullptr;
    sample.engine = s->engine();
    if (const FollowUps* f = s->followups(); f != nullptr) sample.followups = &f->core();
    sample.events = s->stats().events;
    sample.rejected_events = s->stats().rejected_events;
    sample.dead_letters = s->stats().dead_letters;
    sample.outputs = s->stats().outputs;
    sample.restore_ms = s->stats().restore_ms;
    for (const kafka::TopicPartition& tp : s->input_offsets()) {
      auto high = consumer.CachedHighWatermark(tp.topic, tp.partition);
      if (high) sample.lag[tp.topic] = std::max<int64_t>(0, *high - tp.offset);
    }
    if (const store::Store* store = s->store(); store != nullptr) {
      sample.column_families = store->ColumnFamilyStats();
      sample.write_stopped = store->IntProperty("rocksdb.is-write-stopped");
      sample.delayed_write_rate = store->IntProperty("rocksdb.actual-delayed-write-rate");
    }
    samples.push_back(std::move(sample));
  }
  Publish(samples);
}

void RouterProbe::Publish(const std::vector<ShardSample>& shards) {
  std::vector<const followup::Scheduler*> schedulers;
  int64_t now_ms = 0;
  for (const ShardSample& s : shards) {
    if (s.followups != nullptr) schedulers.push_back(s.followups);
    now_ms = std::max(now_ms, s.engine->now_ms());
  }
  followups_->Publish(schedulers, now_ms);
  struct QueueNow {
    uint64_t waiting = 0;
    int64_t oldest_ms = 0, ewt_ms = 0;
  };
  std::vector<QueueNow> queues(queues_.size());
  std::vector<engine::DomainSummary> domains(domains_.size());
  for (const ShardSample& s : shards) {
    const engine::Summary sum = s.engine->Summarize();
    for (size_t q = 0; q < sum.queues.size() && q < queues.size(); ++q) {
      const engine::QueueSummary& qs = sum.queues[q];
      QueueNow& n = queues[q];
      n.waiting += qs.waiting;
      n.oldest_ms = std::max(n.oldest_ms, qs.oldest_wait_ms);
      // A queue's contacts live in one shard (its domain's); -1 (nobody can serve) wins.
      if (qs.estimated_wait_ms < 0 || n.ewt_ms < 0) {
        n.ewt_ms = -1;
      } else {
        n.ewt_ms = std::max(n.ewt_ms, qs.estimated_wait_ms);
      }
    }
    for (size_t d = 0; d < sum.domains.size() && d < domains.size(); ++d) {
      const engine::DomainSummary& ds = sum.domains[d];
      engine::DomainSummary& n = domains[d];
      n.agents_ready += ds.agents_ready;
      n.agents_not_ready += ds.agents_not_ready;
      n.agents_reserved += ds.agents_reserved;
      n.agents_busy += ds.agents_busy;
      n.agents_acw += ds.agents_acw;
      n.units_in_use += ds.units_in_use;
      n.capacity_units += ds.capacity_units;
      n.busy_ms += ds.busy_ms;
      n.ready_ms += ds.ready_ms;
    }
    if (s.probe == nullptr) continue;
    ShardProbe& p = *s.probe;
    p.ReconcileAcw(*s.engine);
    // The shard's own counters and the engine's queue statistics grow from what they were when
    // this node claimed the shard (restored history was counted by earlier owners).
    ShardSeries& series = SeriesOfShard(p.partition());
    if (!p.seen_) {
      p.seen_ = true;
      if (s.restore_ms >= 0) restore_histogram_.Observe(Seconds(s.restore_ms));
    }
    series.events->Increment(static_cast<double>(s.events - std::min(s.events, p.events_)));
    series.rejected->Increment(
        static_cast<double>(s.rejected_events - std::min(s.rejected_events, p.rejected_)));
    series.outputs->Increment(static_cast<double>(s.outputs - std::min(s.outputs, p.outputs_)));
    p.events_ = s.events;
    series.dead_letters->Increment(
        static_cast<double>(s.dead_letters - std::min(s.dead_letters, p.dead_letters_)));
    p.rejected_ = s.rejected_events;
    p.dead_letters_ = s.dead_letters;
    p.outputs_ = s.outputs;
    p.ReadQueueStats(sum, /*count=*/p.queue_stats_read_);
  }
  for (size_t q = 0; q < queues_.size(); ++q) {
    queues_[q].waiting->Set(static_cast<double>(queues[q].waiting));
    queues_[q].oldest_wait->Set(Seconds(queues[q].oldest_ms));
    queues_[q].estimated_wait->Set(queues[q].ewt_ms < 0 ? -1.0 : Seconds(queues[q].ewt_ms));
  }
  for (size_t d = 0; d < domains_.size(); ++d) {
    const engine::DomainSummary& n = domains[d];
    DomainSeries& ds = domains_[d];
    ds.ready->Set(static_cast<double>(n.agents_ready));
    ds.not_ready->Set(static_cast<double>(n.agents_not_ready));
    ds.reserved->Set(static_cast<double>(n.agents_reserved));
    ds.busy->Set(static_cast<double>(n.agents_busy));
    ds.acw->Set(static_cast<double>(n.agents_acw));
    ds.units_used->Set(static_cast<double>(n.units_in_use));
    ds.units_total->Set(static_cast<double>(n.capacity_units));
    const int64_t total = n.busy_ms + n.ready_ms;
    ds.occupancy->Set(total > 0 ? static_cast<double>(n.busy_ms) / static_cast<double>(total)
                                : 0.0);
  }
  std::set<int32_t> present;
  for (const ShardSample& s : shards) {
    present.insert(s.partition);
    PublishOwned(s);
  }
  for (auto it = owned_.begin(); it != owned_.end();) {
    if (present.count(it->first)) {
      ++it;
      continue;
    }
    RemoveOwned(it->second);
    it = owned_.erase(it);
  }
  shards_owned_gauge_.Set(static_cast<double>(shards.size()));
}

void RouterProbe::PublishOwned(const ShardSample& s) {
  OwnedShardGauges& g = owned_[s.partition];
  const std::string shard = std::to_string(s.partition);
  for (const auto& [topic, lag] : s.lag) {
    prometheus::Gauge*& gauge = g.lag[topic];
    if (gauge == nullptr) gauge = &consumer_lag_.Add({{"shard", shard}, {"topic", topic}});
    gauge->Set(static_cast<double>(lag));
  }
  for (const store::Store::Stats& cf : s.column_families) {
    prometheus::Gauge*& gauge = g.sst[cf.name];
    if (gauge == nullptr) gauge = &sst_bytes_.Add({{"shard", shard}, {"column_family", cf.name}});
    gauge->Set(static_cast<double>(cf.sst_bytes));
  }
  if (s.write_stopped) {
    if (g.write_stopped == nullptr) g.write_stopped = &write_stopped_.Add({{"shard", shard}});
    g.write_stopped->Set(static_cast<double>(*s.write_stopped));
  }
  if (s.delayed_write_rate) {
    if (g.delayed_write_rate == nullptr) {
      g.delayed_write_rate = &delayed_write_rate_.Add({{"shard", shard}});
    }
    g.delayed_write_rate->Set(static_cast<double>(*s.delayed_write_rate));
  }
}

void RouterProbe::RemoveOwned(OwnedShardGauges& g) {
  for (auto& [topic, gauge] : g.lag) consumer_lag_.Remove(gauge);
  for (auto& [cf, gauge] : g.sst) sst_bytes_.Remove(gauge);
  if (g.write_stopped != nullptr) write_stopped_.Remove(g.write_stopped);
  if (g.delayed_write_rate != nullptr) delayed_write_rate_.Remove(g.delayed_write_rate);
}

}  // namespace sb::shard
