#include "router/shard/stats_book.h"

#include <cctype>
#include <ctime>

#include "router/kafka/topics.h"
#include "switchboard/v1/followup.pb.h"

namespace sb::shard {
namespace {

double Seconds(int64_t ms) { return static_cast<double>(ms) / 1000.0; }

// a - b for counters that only grow; 0 when a baseline is ahead (a config change, say).
uint64_t Since(uint64_t now, uint64_t base) { return now > base ? now - base : 0; }

std::string KindName(pb::FollowUpKind kind) {
  std::string name = pb::FollowUpKind_Name(kind);
  constexpr std::string_view kPrefix = "FOLLOW_UP_KIND_";
  if (name.rfind(kPrefix, 0) == 0) name.erase(0, kPrefix.size());
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

bool Open(const pb::FollowUpTask& t) {
  return t.state() == pb::FOLLOW_UP_STATE_PENDING || t.state() == pb::FOLLOW_UP_STATE_FIRING;
}

// Follow-up counters of `day` per queue, from the tasks: ends on that day, complaints created on
// it. Cancelled tasks are withdrawn promises, not kept or broken ones: not counted.
std::map<std::string, pb::QueueDay> FollowUpDays(const followup::Scheduler* followups,
                                                 const std::string& day) {
  std::map<std::string, pb::QueueDay> days;
  if (followups == nullptr) return days;
  followups->ForEach([&](const pb::FollowUpTask& t) {
    const pb::FollowUpKind kind = t.request().kind();
    if (kind == pb::FOLLOW_UP_KIND_COMPLAINT_REPLY && UtcDay(t.created_at_ms()) == day) {
      pb::QueueDay& d = days[t.queue()];
      d.set_complaints(d.complaints() + 1);
      if (t.incident()) d.set_repeat_complaints(d.repeat_complaints() + 1);
    }
    const bool ended = t.state() == pb::FOLLOW_UP_STATE_DONE ||
                       t.state() == pb::FOLLOW_UP_STATE_ESCALATED ||
                       t.state() == pb::FOLLOW_UP_STATE_EXPIRED;
    if (!ended || UtcDay(t.ended_at_ms()) != day) return;
    const bool on_time = t.state() == pb::FOLLOW_UP_STATE_DONE &&
                         (t.deadline_at_ms() == 0 || t.ended_at_ms() <= t.deadline_at_ms());
    pb::QueueDay& d = days[t.queue()];
    d.set_followups_ended(d.followups_ended() + 1);
    if (on_time) d.set_followups_on_time(d.followups_on_time() + 1);
    if (kind == pb::FOLLOW_UP_KIND_COMPLAINT_REPLY) {
      d.set_complaint_replies_ended(d.complaint_replies_ended() + 1);
      if (on_time) d.set_complaint_replies_on_time(d.complaint_replies_on_time() + 1);
    }
    if (kind == pb::FOLLOW_UP_KIND_RETURN_VISIT && t.state() == pb::FOLLOW_UP_STATE_DONE) {
      d.set_return_visits_done(d.return_visits_done() + 1);
    }
  });
  return days;
}

void AddAgents(pb::DomainLive* d, const char* state, uint64_t n) {
  pb::AgentStateCount* c = d->add_agents();
  c->set_state(state);
  c->set_agents(static_cast<uint32_t>(n));
}

}  // namespace

std::string UtcDay(int64_t ms) {
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

std::string LiveStatsKey(int32_t partition) { return "live/" + std::to_string(partition); }

std::string DayStatsKey(const std::string& queue, const std::string& day) {
  return "day/" + queue + "/" + day;
}

StatsBook::StatsBook(const pb::RoutingConfig* config, int32_t partition, int32_t partitions)
    : config_(config), partition_(partition), partitions_(partitions) {
  for (const pb::QueueDef& q : config_->queues()) {
    if (Mine(q.domain())) queues_[q.name()] = &q;
  }
}

bool StatsBook::Mine(const std::string& domain) const {
  return partitions_ <= 1 || kafka::PartitionFor(domain, partitions_) == partition_;
}

void StatsBook::Restore(const pb::ShardMeta& meta) {
  day_ = meta.stats_day();
  baselines_.clear();
  for (const pb::QueueStats& b : meta.day_baselines()) baselines_[b.queue()] = b;
}

void StatsBook::SaveTo(pb::ShardMeta* meta) const {
  meta->set_stats_day(day_);
  meta->clear_day_baselines();
  for (const auto& [queue, b] : baselines_) *meta->add_day_baselines() = b;
}

pb::QueueDay StatsBook::DayOf(const engine::QueueSummary& q, const std::string& day,
                              const std::map<std::string, pb::QueueDay>& followup_days) const {
  pb::QueueDay d;
  if (auto f = followup_days.find(q.name); f != followup_days.end()) d = f->second;
  const pb::QueueDef& def = *queues_.at(q.name);
  d.set_queue(q.name);
  d.set_domain(def.domain());
  d.set_day(day);
  d.set_sl_threshold_s(def.service_level_threshold_s());
  d.set_sl_target(def.service_level_target());
  const pb::QueueStats& now = q.stats;
  pb::QueueStats base;
  if (auto b = baselines_.find(q.name); b != baselines_.end()) base = b->second;
  d.set_offered(Since(now.arrived(), base.arrived()));
  d.set_answered(Since(now.answered(), base.answered()));
  d.set_answered_within_sl(Since(now.answered_in_threshold(), base.answered_in_threshold()));
  d.set_abandoned_short(Since(now.short_abandoned(), base.short_abandoned()));
  d.set_abandoned(Since(now.abandoned(), base.abandoned()));
  d.set_expired(Since(now.expired(), base.expired()));
  d.set_cancelled(Since(now.cancelled(), base.cancelled()));
  d.set_overflowed_out(Since(now.overflowed_out(), base.overflowed_out()));
  d.set_answered_wait_s_sum(
      Seconds(std::max<int64_t>(0, now.answered_wait_ms_total() - base.answered_wait_ms_total())));
  d.set_handled(Since(now.handled(), base.handled()));
  d.set_handle_s_sum(Seconds(std::max<int64_t>(0, now.handle_ms_total() - base.handle_ms_total())));
  d.set_resolved_first_contact(Since(now.resolved_first_contact(), base.resolved_first_contact()));
  d.set_excluded_test(Since(now.test_arrived(), base.test_arrived()));
  d.set_outbound_offered(Since(now.outbound_arrived(), base.outbound_arrived()));
  d.set_outbound_answered(Since(now.outbound_answered(), base.outbound_answered()));
  return d;
}

void StatsBook::Emit(std::string key, const google::protobuf::Message& record,
                     std::vector<std::pair<std::string, std::string>>* out) {
  out->emplace_back(std::move(key), record.SerializeAsString());
}

std::vector<std::pair<std::string, std::string>> StatsBook::Collect(
    int64_t now_ms, uint64_t epoch, const std::string& node_id, const engine::Summary& summary,
    const followup::Scheduler* followups) {
  std::vector<std::pair<std::string, std::string>> out;
  const std::string today = UtcDay(now_ms);
  if (day_ != today) {
    if (!day_.empty()) {
      // The day that ended: its final counters (until now: events after midnight that came
      // before this call still count to it).
      const auto fdays = FollowUpDays(followups, day_);
      for (const engine::QueueSummary& q : summary.queues) {
        if (!queues_.count(q.name)) continue;
        pb::QueueDay d = DayOf(q, day_, fdays);
        d.set_epoch(static_cast<int64_t>(epoch));
        Emit(DayStatsKey(q.name, day_), d, &out);
      }
    }
    day_ = today;
    baselines_.clear();
    published_.clear();
    for (const engine::QueueSummary& q : summary.queues) {
      if (queues_.count(q.name)) baselines_[q.name] = q.stats;
    }
  }

  const auto fdays = FollowUpDays(followups, today);
  pb::ShardLive live;
  live.set_shard(partition_);
  live.set_node_id(node_id);
  live.set_epoch(static_cast<int64_t>(epoch));
  live.set_at_ms(now_ms);
  for (const engine::QueueSummary& q : summary.queues) {
    if (!queues_.count(q.name)) continue;
    pb::QueueDay d = DayOf(q, today, fdays);
    d.set_epoch(static_cast<int64_t>(epoch));
    std::string key = DayStatsKey(q.name, today);
    std::string bytes = d.SerializeAsString();
    if (published_[key] != bytes) {
      published_[key] = bytes;
      out.emplace_back(std::move(key), std::move(bytes));
    }
    pb::QueueLive* ql = live.add_queues();
    ql->set_queue(q.name);
    ql->set_domain(d.domain());
    ql->set_waiting(static_cast<uint32_t>(q.waiting));
    ql->set_oldest_wait_s(Seconds(q.oldest_wait_ms));
    ql->set_estimated_wait_s(q.estimated_wait_ms < 0 ? -1.0 : Seconds(q.estimated_wait_ms));
    ql->set_sl_threshold_s(d.sl_threshold_s());
    ql->set_sl_target(d.sl_target());
    *ql->mutable_today() = std::move(d);
  }
  for (const engine::DomainSummary& dom : summary.domains) {
    if (!Mine(dom.name)) continue;
    pb::DomainLive* d = live.add_domains();
    d->set_domain(dom.name);
    AddAgents(d, "ready", dom.agents_ready);
    AddAgents(d, "not_ready", dom.agents_not_ready);
    AddAgents(d, "reserved", dom.agents_reserved);
    AddAgents(d, "busy", dom.agents_busy);
    AddAgents(d, "acw", dom.agents_acw);
    const int64_t worked = dom.busy_ms + dom.ready_ms;
    d->set_occupancy(worked > 0 ? static_cast<double>(dom.busy_ms) / worked : 0.0);
  }
  if (followups != nullptr) {
    std::map<pb::FollowUpKind, pb::FollowUpLive> kinds;
    followups->ForEach([&](const pb::FollowUpTask& t) {
      if (!Open(t)) return;
      pb::FollowUpLive& k = kinds[t.request().kind()];
      if (t.state() == pb::FOLLOW_UP_STATE_FIRING) {
        k.set_firing(k.firing() + 1);
      } else if (t.fire_at_ms() > 0 && t.fire_at_ms() <= now_ms) {
        k.set_due(k.due() + 1);
      } else {
        k.set_pending(k.pending() + 1);
      }
      if (t.deadline_at_ms() > 0 && now_ms > t.deadline_at_ms()) k.set_overdue(k.overdue() + 1);
    });
    for (auto& [kind, k] : kinds) {
      k.set_kind(KindName(kind));
      *live.add_followups() = std::move(k);
    }
  }
  Emit(LiveStatsKey(partition_), live, &out);
  return out;
}

}  // namespace sb::shard
