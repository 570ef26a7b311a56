#!/usr/bin/env bash
# Builds the images (build.sh) and starts them as a runtime would: podman,
# read-only root file system, the image's own non-root user, against a
# throwaway PostgreSQL reached over TCP. The API container must answer
# grpc.health.v1 SERVING and /readyz; a worker container (the profiler,
# from the multi-program image) must answer /readyz. Prints the image size.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${RK_CONTAINER_OUT:-$root/build-container}
tag=check
"$root/deploy/container/build.sh" --tag "$tag" --out "$out"

user=$(podman image inspect --format '{{.Config.User}}' "localhost/rekindle-api:$tag")
[ "$user" = "10001:10001" ] || { echo "image runs as '$user', not 10001" >&2; exit 1; }

tmp=$(mktemp -d)
chmod 755 "$tmp"
port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pgport=$(port) grpc=$(port) m1=$(port) m2=$(port) bus=$(port)
cleanup() {
  podman rm -f rk-check-api rk-check-profiler >/dev/null 2>&1 ||
    podman --runtime runc rm -f rk-check-api rk-check-profiler >/dev/null 2>&1 || true
  "$root/tests/lib/pgcluster.sh" stop "$tmp/pg" || true
  rm -rf "$tmp"
}
trap cleanup EXIT
podman rm -f rk-check-api rk-check-profiler >/dev/null 2>&1 || true  # a run before
RK_PG_LISTEN=127.0.0.1 "$root/tests/lib/pgcluster.sh" start "$tmp/pg" "$pgport" >/dev/null
db="host=127.0.0.1 port=$pgport user=postgres dbname=rekindle"
# How this machine runs containers: podman's defaults first; a sandbox
# that refuses raising the file and process limits gets lower ones, and a
# cgroup v1/v2 hybrid that crun refuses gets runc (both from Debian).
podman_=(podman)
limits=()
for try in "" "--ulimit nofile=4096:4096 --ulimit nproc=4096:4096" \
           "runc --ulimit nofile=4096:4096 --ulimit nproc=4096:4096"; do
  rt=() lim=()
  case $try in runc*) rt=(--runtime runc); try=${try#runc } ;; esac
  read -r -a lim <<<"$try"
  if podman "${rt[@]}" run --rm --read-only "${lim[@]}" "localhost/rekindle:$tag" \
      /usr/bin/true >/dev/null 2>"$tmp/try.err"; then
    podman_=(podman "${rt[@]}") limits=("${lim[@]}")
    break
  fi
  podman_=()
done
[ ${#podman_[@]} -gt 0 ] || { echo "podman cannot run containers here:" >&2; cat "$tmp/try.err" >&2; exit 1; }
echo "running containers with: ${podman_[*]} run ${limits[*]}"
run=("${podman_[@]}" run -d --read-only --network host --tmpfs /tmp:size=16m --cap-drop ALL
     --security-opt no-new-privileges "${limits[@]}" -e "REKINDLE_DATABASE_URL=$db")
"${run[@]}" --name rk-check-api -e REKINDLE_ADMIN_TOKEN=container-check-token-0123 \
  -e "REKINDLE_GRPC_LISTEN=127.0.0.1:$grpc" -e "REKINDLE_BUS_LISTEN=tcp://127.0.0.1:$bus" \
  -e "REKINDLE_METRICS_LISTEN=127.0.0.1:$m1" "localhost/rekindle-api:$tag" >/dev/null
"${run[@]}" --name rk-check-profiler -e "REKINDLE_BUS_CONNECT=tcp://127.0.0.1:$bus" \
  -e "REKINDLE_METRICS_LISTEN=127.0.0.1:$m2" "localhost/rekindle:$tag" \
  /usr/local/bin/rekindle-profiler >/dev/null
ready() {
  for _ in $(seq 1 150); do
    [ "$(/usr/bin/python3 -c "
import urllib.request, sys
try:
    print(urllib.request.urlopen('http://127.0.0.1:$1/readyz', timeout=2).status)
except Exception:
    print(0)")" = 200 ] && return 0
    sleep 0.2
  done
  echo "$2: /readyz never answered 200" >&2
  "${podman_[@]}" logs "$2" >&2 || true
  return 1
}
ready "$m1" rk-check-api
ready "$m2" rk-check-profiler
/usr/bin/python3 - "$grpc" <<'PY'
import sys, grpc
ch = grpc.insecure_channel("127.0.0.1:%s" % sys.argv[1])
# grpc.health.v1.HealthCheckRequest{} is empty; the reply's field 1 is the status
resp = ch.unary_unary("/grpc.health.v1.Health/Check")(b"", timeout=10)
assert resp == b"\x08\x01", resp       # status: SERVING
print("API container: grpc.health.v1 SERVING")
PY
[ "$(podman inspect --format '{{.HostConfig.ReadonlyRootfs}}' rk-check-api)" = true ]
"${podman_[@]}" exec rk-check-api /usr/bin/id -u | grep -qx 10001
size=$(podman image inspect --format '{{.Size}}' "localhost/rekindle:$tag")
echo "containers ready: API and profiler, read-only root, uid 10001; image $((size / 1048576)) MiB"
