#include "router/wallboard/page.h"

namespace sb::wallboard {

namespace {

constexpr char kHead[] = R"HTML(<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Switchboard wallboard</title>
<style>
body{font-family:system-ui,sans-serif;margin:0;background:#10151c;color:#e8edf2}
header{display:flex;justify-content:space-between;align-items:baseline;padding:12px 20px;background:#1b2430}
h1{font-size:22px;margin:0} h2{font-size:16px;margin:18px 20px 6px;color:#9fb0c3}
#updated{font-size:14px;color:#9fb0c3} #error{color:#ff6b6b;padding:0 20px}
.tiles{display:flex;gap:14px;padding:14px 20px;flex-wrap:wrap}
.tile{background:#1b2430;border-radius:8px;padding:10px 18px;min-width:140px}
.tile .v{font-size:40px;font-weight:700} .tile .l{font-size:13px;color:#9fb0c3}
table{border-collapse:collapse;margin:0 20px;min-width:60%}
th,td{padding:6px 12px;text-align:right;border-bottom:1px solid #2a3543} th:first-child,td:first-child{text-align:left}
th{color:#9fb0c3;font-weight:500}
.ok{color:#4cd67a} .bad{color:#ff6b6b;font-weight:700} .na{color:#6b7b8c}
</style></head><body>
<header><h1>Switchboard wallboard</h1><span id="updated" data-testid="updated">no data yet</span></header>
<div id="error" data-testid="error"></div>
<div class="tiles">
<div class="tile"><div class="v" id="total-waiting" data-testid="total-waiting">-</div><div class="l">waiting</div></div>
<div class="tile"><div class="v" id="total-offered" data-testid="total-offered">-</div><div class="l">offered today</div></div>
<div class="tile"><div class="v" id="total-answered" data-testid="total-answered">-</div><div class="l">answered today</div></div>
<div class="tile"><div class="v" id="total-agents" data-testid="total-agents">-</div><div class="l">agents logged in</div></div>
<div class="tile"><div class="v" id="total-overdue" data-testid="total-overdue">-</div><div class="l">follow-ups overdue</div></div>
</div>
<h2>Queues</h2>
<table><thead><tr><th>queue</th><th>waiting</th><th>oldest</th><th>EWT</th><th>SL today</th><th>target</th><th>offered</th><th>answered</th><th>abandoned</th></tr></thead>
<tbody id="queues"></tbody></table>
<h2>Agents by state</h2>
<table><thead><tr><th>domain</th><th>ready</th><th>reserved</th><th>busy</th><th>acw</th><th>not ready</th><th>occupancy</th></tr></thead>
<tbody id="domains"></tbody></table>
<h2>Follow-ups</h2>
<table><thead><tr><th>kind</th><th>pending</th><th>due</th><th>firing</th><th>overdue</th></tr></thead>
<tbody id="followups"></tbody></table>
<script>
const initial = )HTML";

constexpr char kTail[] = R"HTML(;
function esc(s){return String(s).replace(/[&<>"']/g,c=>({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'}[c]));}
function secs(v){return v===null||v===undefined?'<span class="na">n/a</span>':Math.round(v)+' s';}
function pct(v){return v===null||v===undefined?'<span class="na">n/a</span>':(100*v).toFixed(1)+' %';}
function td(v,id,cls){return '<td'+(id?' data-testid="'+esc(id)+'"':'')+(cls?' class="'+cls+'"':'')+'>'+v+'</td>';}
function render(s){
  document.getElementById('error').textContent=s.error||'';
  document.getElementById('updated').textContent=s.updated_ms?('updated '+new Date(s.updated_ms).toLocaleTimeString()+' ('+s.shards_fresh+' shards live'+(s.shards_stale?', '+s.shards_stale+' stale':'')+')'):'no live data';
  const t=s.totals;
  for(const [id,k] of [['total-waiting','waiting'],['total-offered','offered_today'],['total-answered','answered_today'],['total-agents','agents'],['total-overdue','followups_overdue']]){
    const e=document.getElementById(id); e.textContent=t[k]; e.className='v';
  }
  document.getElementById('total-overdue').className='v '+(t.followups_overdue>0?'bad':'ok');
  document.getElementById('queues').innerHTML=s.queues.map(q=>'<tr>'+td(esc(q.queue))+
    td(q.waiting,'waiting-'+q.queue)+td(secs(q.oldest_wait_s))+td(secs(q.estimated_wait_s))+
    td(pct(q.sl_today)+' <small>('+Math.round(q.sl_threshold_s)+' s)</small>','sl-'+q.queue,q.sl_ok===null?'na':(q.sl_ok?'ok':'bad'))+
    td(pct(q.sl_target))+td(q.offered_today,'offered-'+q.queue)+td(q.answered_today)+td(q.abandoned_today)+'</tr>').join('');
  document.getElementById('domains').innerHTML=s.domains.map(d=>{const a=d.agents;const n=k=>a[k]||0;return '<tr>'+
    td(esc(d.domain))+td(n('ready'),'ready-'+d.domain)+td(n('reserved'))+td(n('busy'))+td(n('acw'))+td(n('not_ready'))+td(pct(d.occupancy))+'</tr>';}).join('');
  document.getElementById('followups').innerHTML=s.followups.map(f=>'<tr>'+td(esc(f.kind))+td(f.pending)+td(f.due)+td(f.firing)+
    td(f.overdue,'overdue-'+f.kind,f.overdue>0?'bad':'ok')+'</tr>').join('');
}
render(initial);
// The inlined snapshot is current; the stream takes over a few seconds later. Delayed because a
// headless browser's virtual clock (--virtual-time-budget) stops while a request is open: a page
// that streams from its first instant never settles for a screenshot or a DOM dump.
setTimeout(()=>{if(window.EventSource){const es=new EventSource('/wallboard/events');es.onmessage=e=>{try{render(JSON.parse(e.data));}catch(err){}};}},4000);
</script></body></html>
)HTML";

}  // namespace

std::string Page(const std::string& snapshot_json) {
  std::string out = kHead;
  out.reserve(out.size() + snapshot_json.size() + sizeof kTail);
  // No '<' reaches the script element: "</script>" would end it early (a queue named so), and
  // "<!--<script>" switches the HTML parser to a state where the page's own "</script>" does not
  // end it. In JSON, '<' occurs only inside strings, where "\u003c" is the same character.
  for (char c : snapshot_json) {
    if (c == '<') {
      out += "\\u003c";
    } else {
      out += c;
    }
  }
  out += kTail;
  return out;
}

}  // namespace sb::wallboard
