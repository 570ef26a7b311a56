#!/usr/bin/env bash
# prometheus.sh - a real Prometheus (Debian's package) scraping the demo's
# processes through the file_sd target lists the demo writes, with
# rekindle's alert rules loaded; at the end a query of what it scraped and
# a screenshot of its graph page in headless Chromium.
#   prometheus.sh start STATE      scrape every second from now on
#   prometheus.sh report STATE     targets up, a few queries, graph PNG
#   prometheus.sh stop STATE
set -euo pipefail
cmd=$1 state=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
dir=$state/prometheus
q() {   # an instant query's result as "labels value" lines
  /usr/bin/python3 - "$(cat "$dir/port")" "$1" <<'PY'
import json, sys, urllib.parse, urllib.request
port, expr = sys.argv[1], sys.argv[2]
url = "http://127.0.0.1:%s/api/v1/query?query=%s" % (port, urllib.parse.quote(expr))
for r in json.load(urllib.request.urlopen(url, timeout=10))["data"]["result"]:
    labels = ",".join("%s=%s" % kv for kv in sorted(r["metric"].items()) if kv[0] != "__name__")
    print("  %-60s %s" % (labels or "-", r["value"][1]))
PY
}
case $cmd in
start)
  mkdir -p "$dir/data"
  port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  echo "$port" >"$dir/port"
  cp "$root/deploy/monitoring/rekindle-rules.yml" "$dir/"
  cat >"$dir/prometheus.yml" <<YML
global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: [rekindle-rules.yml]
scrape_configs:
  - job_name: rekindle
    file_sd_configs:
      - files: ['$state/prometheus-targets*.json']
        refresh_interval: 1s
YML
  prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
    --web.listen-address="127.0.0.1:$port" --log.level=warn >"$dir/prometheus.log" 2>&1 &
  echo $! >"$dir/pid"
  ;;
report)
  port=$(cat "$dir/port")
  echo "Prometheus (http://127.0.0.1:$port) scraped every process; targets up:"
  q 'sum by (program) (up{job="rekindle"})'
  echo "sends by channel and outcome (rekindle_sends_total):"
  q 'sum by (channel, outcome) (rekindle_sends_total)'
  echo "RPC latency p99 over the demo, by method (top 5):"
  q 'topk(5, histogram_quantile(0.99, sum by (le, grpc_method) (rate(rekindle_grpc_server_handling_seconds_bucket[10m]))))'
  echo "timer lateness p99 (s):"
  q 'histogram_quantile(0.99, sum by (le) (rate(rekindle_timer_lateness_seconds_bucket[10m])))'
  expr='sum by (channel, outcome) (rate(rekindle_sends_total[30s]))'
  url="http://127.0.0.1:$port/graph?g0.expr=$(/usr/bin/python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$expr")&g0.tab=0&g0.range_input=3m"
  profile=$(mktemp -d)
  timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --hide-scrollbars --window-size=1400,900 \
    --virtual-time-budget=8000 --screenshot="$state/prometheus.png" "$url" >/dev/null 2>&1 || true
  rm -rf "$profile"
  [ -s "$state/prometheus.png" ] && echo "graph of $expr: $state/prometheus.png"
  ;;
stop)
  [ -f "$dir/pid" ] && kill "$(cat "$dir/pid")" 2>/dev/null || true
  ;;
esac
