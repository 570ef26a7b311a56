#!/usr/bin/env bash
# bench.sh - rekindle's benchmarks, each against a baseline measured in the
# same run on the same machine:
#   1. transaction ingest over gRPC (rekindlectl -> IngestTransactions ->
#      binary COPY) against a raw COPY FROM of the same rows into the same
#      table;
#   2. unary GetCustomer calls/s under h2load against the trivial health
#      Check on the same server, and the API's resident memory under load.
# Usage: deploy/bench.sh [ROWS]   (default 1,000,000)
rows=${1:-1000000}
. "$(dirname "$0")/bench-lib.sh"

echo "== generating $rows transactions for 100,000 customers"
/usr/bin/python3 - "$work/txn.csv" "$rows" <<'PY'
import random, sys
random.seed(7)
out, n = sys.argv[1], int(sys.argv[2])
merchants = ["TIKI", "SHOPEE", "LAZADA", "GRAB", "VIETJET AIR", "HIGHLANDS COFFEE",
             "CIRCLE K", "PETROLIMEX", "CGV CINEMAS", "WINMART"]
mccs = [5311, 5311, 5311, 4121, 3000, 5814, 5499, 5541, 7832, 5411]
with open(out, "w") as f:
    f.write("transaction_id,customer_id,occurred_at,amount_minor,currency,mcc,"
            "merchant_id,merchant_name,channel\n")
    for i in range(n):
        m = random.randrange(10)
        t = 1672531200 + random.randrange(60 * 86400 * 6)
        d = "2023-%02d-%02dT%02d:%02d:%02dZ" % (1 + (t - 1672531200) // (31 * 86400) % 12,
            1 + (t // 86400) % 28, (t // 3600) % 24, (t // 60) % 60, t % 60)
        f.write("B%09d,C%06d,%s,%d,VND,%d,M%03d,%s,%s\n" % (
            i, random.randrange(100000), d, random.randrange(20, 5000) * 1000,
            mccs[m], m, merchants[m], "ecom" if m < 3 else "pos"))
PY
psql -c "INSERT INTO rekindle.customers (id) SELECT 'C' || lpad(g::text, 6, '0') FROM generate_series(0, 99999) g" >/dev/null

cols="txn_id, customer_id, occurred_at, amount_minor, currency, mcc, merchant_id, merchant_name, channel"
reset() { psql -c "TRUNCATE rekindle.transactions, rekindle.jobs; CHECKPOINT" >/dev/null; }

reset
t0=$(now); psql -c "\\copy rekindle.transactions ($cols) FROM '$work/txn.csv' CSV HEADER"; t1=$(now)
copy_s=$(echo "$t1 - $t0" | bc -l)
reset
t0=$(now); "$bin/rekindlectl" customers import "$work/txn.csv" >"$work/import.out"; t1=$(now)
grpc_s=$(echo "$t1 - $t0" | bc -l)
cat "$work/import.out"
[ "$(psql -c 'SELECT count(*) FROM rekindle.transactions')" = "$rows" ] || { echo "row count mismatch" >&2; exit 1; }
printf 'ingest: raw COPY %d rows in %.2f s (%.0f rows/s); gRPC ingest in %.2f s (%.0f rows/s); ratio %.2f\n' \
  "$rows" "$copy_s" "$(echo "$rows / $copy_s" | bc -l)" "$grpc_s" "$(echo "$rows / $grpc_s" | bc -l)" \
  "$(echo "$copy_s / $grpc_s" | bc -l)"

echo "== unary calls under h2load (8 connections x 16 streams, 2 threads)"
psql -c "INSERT INTO rekindle.customer_profiles (customer_id, first_txn_at, last_txn_at, txn_count, total_spend_minor, currency)
         SELECT customer_id, min(occurred_at), max(occurred_at), count(*), sum(amount_minor), 'VND'
         FROM rekindle.transactions GROUP BY customer_id ON CONFLICT DO NOTHING" >/dev/null
# gRPC frames: flag 0, 4-byte length, message.
printf '\x00\x00\x00\x00\x00' >"$work/health.bin"
printf '\x00\x00\x00\x00\x09\x0a\x07C000042' >"$work/get.bin"
h2() {
  h2load -n "$3" -c 8 -m 16 -t 2 -d "$2" \
    -H 'content-type: application/grpc' -H 'te: trailers' \
    -H "authorization: Bearer $token" "http://127.0.0.1:$apiport$1" 2>&1
}
h2 /grpc.health.v1.Health/Check "$work/health.bin" 20000 >/dev/null   # warm-up
hl=$(h2 /grpc.health.v1.Health/Check "$work/health.bin" 200000)
health_rps=$(echo "$hl" | awk '/^finished in/ {print $4}')
( h2 /rekindle.v1.CustomerService/GetCustomer "$work/get.bin" 100000 >"$work/get.out" ) &
h2pid=$!
rss=0
while kill -0 "$h2pid" 2>/dev/null; do
  r=$(ps -o rss= -p "$api" | tr -d ' '); [ "${r:-0}" -gt "$rss" ] && rss=$r; sleep 0.2
done
get_rps=$(awk '/^finished in/ {print $4}' "$work/get.out")
grep -E "^requests:|^status codes:" "$work/get.out"
printf 'unary: health Check %.0f calls/s; GetCustomer %.0f calls/s; ratio %.2f; API peak RSS under load %.1f MB\n' \
  "$health_rps" "$get_rps" "$(echo "$get_rps / $health_rps" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
