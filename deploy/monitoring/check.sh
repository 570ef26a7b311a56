#!/bin/sh
# Checks the monitoring files with Prometheus's own tool: the alert rules
# parse and their expressions are valid PromQL, and the example
# configuration loads them. (That every metric they and the dashboard name
# exists is checked against live processes in test_ops.py.)
set -eu
dir=$(cd "$(dirname "$0")" && pwd)
promtool check rules "$dir/rekindle-rules.yml"
promtool check config "$dir/prometheus.yml"
# the dashboard is JSON with a panel per query
python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
assert d["panels"] and all(p["targets"] for p in d["panels"])
print("dashboard: %d panels" % len(d["panels"]))' "$dir/rekindle-dashboard.json"
