#include "router/wallboard/snapshot.h"

#include <map>

#include "router/stats/kpi.h"

namespace sb::wallboard {

namespace pb = ::switchboard::v1;
using nlohmann::json;

namespace {

json OrNull(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

}  // namespace

json Snapshot(const stats::StatsView& view, int64_t now_ms) {
  json out;
  out["now_ms"] = now_ms;
  const auto shards = view.FreshShards(now_ms);
  int64_t updated = 0;
  for (const pb::ShardLive* s : shards) updated = std::max(updated, s->at_ms());
  out["updated_ms"] = updated > 0 ? json(updated) : json(nullptr);
  out["shards_fresh"] = shards.size();
  out["shards_stale"] = view.StaleShards(now_ms);
  out["error"] = nullptr;

  uint64_t waiting = 0, offered = 0, answered = 0, agents = 0, overdue = 0;
  json queues = json::array();
  for (const auto& [name, lq] : view.LiveQueues(now_ms)) {
    const pb::QueueLive& q = lq.queue;
    const stats::Kpis k = stats::ComputeKpis(q.today());
    json j;
    j["queue"] = name;
    j["domain"] = q.domain();
    j["shard"] = lq.shard;
    j["waiting"] = q.waiting();
    j["oldest_wait_s"] = q.oldest_wait_s();
    j["estimated_wait_s"] = q.estimated_wait_s() < 0 ? json(nullptr) : json(q.estimated_wait_s());
    j["sl_threshold_s"] = q.sl_threshold_s();
    j["sl_target"] = q.sl_target();
    j["sl_today"] = OrNull(k.service_level);
    j["sl_ok"] = k.service_level ? json(*k.service_level >= q.sl_target()) : json(nullptr);
    j["offered_today"] = q.today().offered();
    j["answered_today"] = q.today().answered();
    j["abandoned_today"] = q.today().abandoned_short() + q.today().abandoned();
    j["asa_today_s"] = OrNull(k.asa_s);
    queues.push_back(std::move(j));
    waiting += q.waiting();
    offered += q.today().offered();
    answered += q.today().answered();
  }
  out["queues"] = std::move(queues);

  // One domain lives on one shard; during an ownership move two fresh shards may both report it,
  // and the newer report is the truth.
  std::map<std::string, const pb::DomainLive*> domains;
  std::map<std::string, int64_t> domain_at;
  std::map<std::string, pb::FollowUpLive> followups;
  for (const pb::ShardLive* s : shards) {
    for (const pb::DomainLive& d : s->domains()) {
      auto it = domain_at.find(d.domain());
      if (it != domain_at.end() && it->second >= s->at_ms()) continue;
      domain_at[d.domain()] = s->at_ms();
      domains[d.domain()] = &d;
    }
    for (const pb::FollowUpLive& f : s->followups()) {
      pb::FollowUpLive& sum = followups[f.kind()];
      sum.set_kind(f.kind());
      sum.set_pending(sum.pending() + f.pending());
      sum.set_due(sum.due() + f.due());
      sum.set_firing(sum.firing() + f.firing());
      sum.set_overdue(sum.overdue() + f.overdue());
    }
  }
  json jd = json::array();
  for (const auto& [name, d] : domains) {
    json states = json::object();
    uint64_t total = 0;
    for (const pb::AgentStateCount& a : d->agents()) {
      states[a.state()] = states.value(a.state(), 0u) + a.agents();
      total += a.agents();
    }
    jd.push_back({{"domain", name},
                  {"agents", std::move(states)},
                  {"agents_total", total},
                  {"occupancy", d->occupancy()}});
    agents += total;
  }
  out["domains"] = std::move(jd);
  json jf = json::array();
  for (const auto& [kind, f] : followups) {
    jf.push_back({{"kind", kind},
                  {"pending", f.pending()},
                  {"due", f.due()},
                  {"firing", f.firing()},
                  {"overdue", f.overdue()}});
    overdue += f.overdue();
  }
  out["followups"] = std::move(jf);
  out["totals"] = {{"waiting", waiting},
                   {"offered_today", offered},
                   {"answered_today", answered},
                   {"agents", agents},
                   {"followups_overdue", overdue}};
  out["stats_errors"] = {{"malformed", view.malformed_total()}, {"last", view.last_error()}};
  return out;
}

json ErrorSnapshot(const std::string& error, int64_t now_ms) {
  stats::StatsView empty;
  json out = Snapshot(empty, now_ms);
  out["error"] = error;
  return out;
}

}  // namespace sb::wallboard
