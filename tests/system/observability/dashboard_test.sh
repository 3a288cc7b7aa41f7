#!/usr/bin/env bash
# Test: the Grafana dashboard deploy/observability/grafana/switchboard.json is usable against the
# routers' metrics: it parses as JSON, uses the ${DS_PROMETHEUS} data source everywhere, every
# panel query (and template variable query) parses as PromQL once its variables are substituted
# (promtool check rules on a generated rule per query: the real Prometheus parser), and every
# metric it names is a family the source declares (a "sb_..." string literal in router/ or
# tools/ *.cc, with histogram _bucket/_sum/_count series) or a recording rule of the rules file.
# The metric names the rules files themselves mention are checked the same way. Fails naming the
# panel and the metric.
# Usage: dashboard_test.sh <source dir>
set -euo pipefail
fail() { echo "FAIL: $*" >&2; exit 1; }

[ $# -eq 1 ] || fail "usage: $0 <source dir>"
SRC=$1
command -v promtool >/dev/null || fail "promtool not found on PATH (Debian package 'prometheus'; dev.sh installs it)"
command -v python3 >/dev/null || fail "python3 not found"
DASH=${DASHBOARD:-$SRC/deploy/observability/grafana/switchboard.json}
RULES_DIR=$SRC/deploy/observability/rules
[ -f "$DASH" ] || fail "no dashboard $DASH"

TMP=$(mktemp -d /tmp/sb-dashboard.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# The families the source declares.
grep -rhoE --include='*.cc' '"sb_[a-z0-9_]+"' "$SRC/router" "$SRC/tools" | tr -d '"' | sort -u >"$TMP/families"
[ -s "$TMP/families" ] || fail "no sb_ families found in $SRC/router, $SRC/tools"

python3 - "$DASH" "$RULES_DIR" "$TMP" <<'PY'
import glob, json, os, re, subprocess, sys

dash_path, rules_dir, tmp = sys.argv[1:4]
problems = []

# Only what the source declares: no allow-list (a family the rules or the dashboard name must be a
# "sb_..." literal in the source, e.g. .Name("sb_followup_open_tasks") or
# Counters(registry, "sb_router_contacts_offered_total", ...)).
families = set(open(os.path.join(tmp, "families")).read().split())

rules_text = ""
for f in sorted(glob.glob(os.path.join(rules_dir, "*.yml"))):
    rules_text += open(f).read() + "\n"
records = set(re.findall(r"^\s*-\s*record:\s*(\S+)\s*$", rules_text, re.M))
if not records:
    sys.exit(f"FAIL: no recording rules found in {rules_dir}")

def known(name):
    if ":" in name:
        return name in records
    if name in families:
        return True
    for suffix in ("_bucket", "_sum", "_count"):  # series of a histogram family
        if name.endswith(suffix) and name[: -len(suffix)] in families:
            return True
    # A client may append _total to a counter family declared without it.
    return name.endswith("_total") and name[: -len("_total")] in families

# Metric names in PromQL: identifiers with a colon (recording rules) or starting with sb_, outside
# string literals. Label names never contain a colon, and ours never start with sb_.
STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
NAME = re.compile(r"(?<![\w:])([a-zA-Z_:][\w:]*)")
def metric_names(expr):
    names = set()
    for n in NAME.findall(STRING.sub('""', expr)):
        if ":" in n or n.startswith("sb_"):
            names.add(n)
    return names

for n in sorted(set(re.findall(r"(?<![\w:])sb_[a-z0-9_]+(?![\w:])", rules_text))):
    if not n.endswith("_") and not known(n):  # "sb_router_*" in a comment is a prefix
        problems.append(f"rules files: unknown metric {n}")

try:
    dash = json.load(open(dash_path))
except ValueError as e:
    sys.exit(f"FAIL: {dash_path} is not JSON: {e}")

if dash.get("schemaVersion", 0) < 36:
    problems.append(f"schemaVersion {dash.get('schemaVersion')} < 36")
variables = {v["name"]: v for v in dash.get("templating", {}).get("list", [])}
for v in ("DS_PROMETHEUS", "domain", "queue"):
    if v not in variables:
        problems.append(f"no template variable {v}")

# Concrete values for the variables: what Grafana substitutes at query time.
VALUES = {"domain": "d00", "queue": "d00.general", "__rate_interval": "1m", "__interval": "15s",
          "__range": "6h", "__range_s": "21600", "__interval_ms": "15000", "__range_ms": "21600000"}
VAR = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]")
def substitute(expr, where):
    def repl(m):
        name = m.group(1) or m.group(2) or m.group(3)
        if name not in VALUES:
            problems.append(f"{where}: unknown variable ${name}")
            return "x"
        return VALUES[name]
    return VAR.sub(repl, expr)

queries = []  # (where, expr)
for name in ("domain", "queue"):
    v = variables.get(name)
    if not v:
        continue
    q = v.get("query")
    q = q.get("query", "") if isinstance(q, dict) else (q or "")
    m = re.fullmatch(r"\s*label_values\((.*),\s*(\w+)\s*\)\s*", q)
    if not m:
        problems.append(f"variable {name}: query {q!r} is not label_values(selector, label)")
        continue
    queries.append((f"variable {name}", m.group(1)))

def walk(panels):
    for p in panels:
        yield p
        yield from walk(p.get("panels", []))

titles = set()
for p in walk(dash.get("panels", [])):
    titles.add(p.get("title", ""))
    if p.get("type") == "row":
        continue
    where = f"panel {p.get('title')!r}"
    if p.get("datasource", {}).get("uid") != "${DS_PROMETHEUS}":
        problems.append(f"{where}: data source is not ${{DS_PROMETHEUS}}")
    targets = p.get("targets", [])
    if not targets:
        problems.append(f"{where}: no query")
    for t in targets:
        tw = f"{where} target {t.get('refId')}"
        if t.get("datasource", {}).get("uid", "${DS_PROMETHEUS}") != "${DS_PROMETHEUS}":
            problems.append(f"{tw}: data source is not ${{DS_PROMETHEUS}}")
        if not t.get("expr", "").strip():
            problems.append(f"{tw}: empty expr")
            continue
        queries.append((tw, t["expr"]))

# Every query: metric names known, and a real PromQL parse (one promtool run per query so a
# failure names the query).
for i, (where, expr) in enumerate(queries):
    concrete = substitute(expr, where)
    for n in sorted(metric_names(concrete)):
        if not known(n):
            problems.append(f"{where}: unknown metric {n} (not declared in the source nor a recording rule)")
    path = os.path.join(tmp, f"q{i}.yml")
    with open(path, "w") as f:
        f.write("groups:\n  - name: dashboard_check\n    rules:\n      - record: dashboard:check:q%d\n"
                "        expr: %s\n" % (i, json.dumps(concrete)))
    r = subprocess.run(["promtool", "check", "rules", path], capture_output=True, text=True)
    if r.returncode != 0:
        problems.append(f"{where}: does not parse as PromQL: {concrete}\n{r.stdout}{r.stderr}")

if problems:
    print("\n".join("FAIL: " + p for p in problems), file=sys.stderr)
    sys.exit(1)
print(f"PASS: {len(queries)} queries of {len(titles)} panels parse and name only known metrics")
PY
