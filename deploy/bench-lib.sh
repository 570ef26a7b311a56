# bench-lib.sh - sourced by the benchmark scripts: builds rekindle, starts a
# throwaway PostgreSQL cluster and rekindle-api, and cleans up on exit.
# Sets: root, bin, work, url, token, pids; defines psql(); exports the
# REKINDLE_* variables the processes and rekindlectl read.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
./deploy/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
bin=$root/build/bin
work=$(mktemp -d /tmp/rekindle-bench.XXXXXX)
chmod 755 "$work"
pgport=$((40000 + RANDOM % 5000)) apiport=$((45000 + RANDOM % 5000))
url=$(tests/lib/pgcluster.sh start "$work/pg" "$pgport")
psql() { /usr/lib/postgresql/*/bin/psql "$url" -qAtX -v ON_ERROR_STOP=1 "$@"; }
token=bench-admin-token-0123456789
export REKINDLE_DATABASE_URL=$url REKINDLE_ADMIN_TOKEN=$token \
  REKINDLE_GRPC_LISTEN=127.0.0.1:$apiport REKINDLE_BUS_LISTEN=ipc://$work/bus.ipc \
  REKINDLE_BUS_CONNECT=ipc://$work/bus.ipc \
  REKINDLE_ADDR=127.0.0.1:$apiport REKINDLE_TOKEN=$token
pids=()
bench_cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "${BENCH_LOGS:-}" ]; then cp "$work"/*.log "$work/pg/server.log" "$BENCH_LOGS"/ 2>/dev/null || true; fi
  tests/lib/pgcluster.sh stop "$work/pg"
  rm -rf "$work"
}
trap bench_cleanup EXIT
"$bin/rekindle-api" >"$work/api.log" 2>&1 & pids+=($!)
api=$!
for _ in $(seq 1 100); do
  [ "$("$bin/rekindlectl" health 2>/dev/null)" = SERVING ] && break; sleep 0.1
done
now() { date +%s.%N; }
# peak_rss_kb PID: the process's peak resident set (VmHWM) in kB, read
# once at the end instead of sampling ps while the benchmark runs.
peak_rss_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
# bench_customers PREFIX N: N customers PREFIX00000001.. in Ho Chi Minh
# City, each with a phone number.
bench_customers() {
  psql -c "INSERT INTO rekindle.customers (id, time_zone, phone_e164)
           SELECT '$1' || lpad(g::text, 8, '0'), 'Asia/Ho_Chi_Minh',
                  '+8490' || lpad(g::text, 7, '0') FROM generate_series(1, $2) g"
}
# bench_sms_offer ID: a 50,000 VND fallback offer with an SMS template.
bench_sms_offer() {
  "$bin/rekindlectl" call OfferService/CreateOffer "{\"offer\": {\"offer_id\": \"$1\",
    \"title\": \"Quà\", \"kind\": \"OFFER_KIND_FIXED_AMOUNT\", \"fallback\": true,
    \"amount\": {\"amount_minor\": 50000, \"currency\": \"VND\"},
    \"valid_from\": \"$(date -u -d '-1 day' +%FT%TZ)\", \"valid_until\": \"$(date -u -d '+30 days' +%FT%TZ)\",
    \"landing_url\": \"https://bank.example/uu-dai\", \"templates\": [{\"channel\": \"CHANNEL_SMS\",
    \"body\": \"{name}: {offer} {link}\"}]}}" >/dev/null
}
