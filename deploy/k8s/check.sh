#!/bin/sh
# Checks deploy/k8s: every document against the Kubernetes OpenAPI schema
# of its kind and the deployment's own rules (check/validate.mjs), then
# `kubectl apply --dry-run=client --validate=false` of the whole directory
# against an API server double that answers discovery
# (check/apiserver_double.py): every document must come out "created (dry
# run)".
set -eu
dir=$(cd "$(dirname "$0")" && pwd)
cd "$dir/check"
if [ ! -d node_modules/kubernetes-models ]; then
	npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi
node validate.mjs "$dir"
tmp=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$tmp"' EXIT
/usr/bin/python3 apiserver_double.py "$tmp/port" &
pid=$!
for _ in $(seq 1 50); do [ -s "$tmp/port" ] && break; sleep 0.1; done
KUBECONFIG=/dev/null kubectl --server="http://127.0.0.1:$(cat "$tmp/port")" \
	apply --dry-run=client --validate=false -f "$dir" >"$tmp/out"
want=$(cat "$dir"/*.yaml | grep -c '^kind:')
got=$(grep -c 'created (dry run)' "$tmp/out" || true)
echo "kubectl apply --dry-run=client: $got of $want objects created (dry run)"
[ "$got" = "$want" ]
