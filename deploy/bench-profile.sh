#!/usr/bin/env bash
# bench-profile.sh - the analytics benchmarks, each against a baseline
# measured in the same run:
#   1. a full profiling run (RunProfiling over 2 profiler processes: the
#      fit step on a sample - RFM cut-offs, BG/NBD + MBG/NBD, churn models -
#      then every customer profiled and scored) against the bare
#        SELECT customer_id, count(*), max(occurred_at), sum(amount_minor)
#        FROM transactions GROUP BY customer_id
#      on the same table; peak resident memory of each profiler;
#   2. the BG/NBD and MBG/NBD fits on CDNOW (2,357 customers).
# Each run also prints the CPU seconds the profilers and PostgreSQL spent
# on it, and what they come to over this machine's cores.
# Usage: deploy/bench-profile.sh [CUSTOMERS]   (default 1,000,000, about
# 20 M transactions from tools/rkgen)
customers=${1:-1000000}
. "$(dirname "$0")/bench-lib.sh"

echo "== generating $customers customers (rkgen, seed 1) and loading them with COPY"
"$bin/rkgen" --customers "$customers" --seed 1 --gap-scale 3.7 --format copy --out "$work/gen"
psql -c "INSERT INTO rekindle.customers (id, time_zone) SELECT 'S' || lpad(g::text, 8, '0'),
         'Asia/Ho_Chi_Minh' FROM generate_series(0, $customers - 1) g"
psql -c "\\copy rekindle.transactions (txn_id, customer_id, occurred_at, amount_minor, currency, mcc, merchant_id, merchant_name, channel) FROM '$work/gen/transactions.copy'"
"$bin/rekindlectl" promotions import "$work/gen/promotions.csv"
psql -c "VACUUM ANALYZE rekindle.transactions" -c "VACUUM ANALYZE rekindle.customers" -c "CHECKPOINT"
rows=$(psql -c "SELECT count(*) FROM rekindle.transactions")
echo "loaded $rows transactions"

t0=$(now)
psql -c "SELECT count(*) FROM (SELECT customer_id, count(*), max(occurred_at), sum(amount_minor)
         FROM rekindle.transactions GROUP BY customer_id) s" >/dev/null
t1=$(now); base=$(echo "$t1 - $t0" | bc -l)
# The floor under any profiler that reads rows: the columns a profile
# needs, in customer order, out of PostgreSQL into nothing - two halves at
# once, as the two profilers read them.
read_half() {
  psql -c "COPY (SELECT customer_id, occurred_at, amount_minor, currency, mcc,
           merchant_id, merchant_name, ingested_at FROM rekindle.transactions
           WHERE $1 ORDER BY customer_id, occurred_at) TO '/dev/null' (FORMAT binary)"
}
mid=$(printf 'S%08d' $((customers / 2)))
t0=$(now)
read_half "customer_id < '$mid'" & r1=$!
read_half "customer_id >= '$mid'" & r2=$!
wait $r1 $r2
t1=$(now); floor=$(echo "$t1 - $t0" | bc -l)

for i in 1 2; do "$bin/rekindle-profiler" >"$work/profiler$i.log" 2>&1 & pids+=($!); done
prof=("${pids[@]:1}")   # pids[0] is the API
sleep 1
# CPU seconds (user + system) so far of the profilers, and of the whole
# PostgreSQL cluster: the postmaster's children, live and reaped.
ticks=$(getconf CLK_TCK)
cpu_profilers() {
  cat "/proc/${prof[0]}/stat" "/proc/${prof[1]}/stat" |
    awk -v t="$ticks" '{s += $14 + $15} END {printf "%.2f", s / t}'
}
cpu_postgres() {
  local pm; pm=$(head -1 "$work/pg/data/postmaster.pid")
  # a backend may exit between the listing and the read: then its time
  # is in the postmaster's reaped-children fields instead
  { cat "/proc/$pm/stat" $(pgrep -P "$pm" | sed 's|.*|/proc/&/stat|') \
      2>/dev/null || true; } |
    awk -v t="$ticks" '{s += $14 + $15 + $16 + $17} END {printf "%.2f", s / t}'
}
# Two full runs, each after a GROUP BY of its own: the ratio twice, and
# the CPU each run cost - on this machine's cores, a run can take no less
# than its CPU seconds over the cores.
ratios=()
for run in 1 2; do
  t0=$(now)
  psql -c "SELECT count(*) FROM (SELECT customer_id, count(*), max(occurred_at), sum(amount_minor)
           FROM rekindle.transactions GROUP BY customer_id) s" >/dev/null
  t1=$(now); b=$(echo "$t1 - $t0" | bc -l)
  sleep 0.5   # the GROUP BY's backend gone and reaped, so none of its CPU counts
  c0=$(cpu_profilers) g0=$(cpu_postgres)
  t0=$(now)
  "$bin/rekindlectl" profiles run --as-of 2025-06-30 --request-id "bench-run-$run" >"$work/run.out"
  t1=$(now); full=$(echo "$t1 - $t0" | bc -l)
  c1=$(cpu_profilers) g1=$(cpu_postgres)
  cat "$work/run.out"
  r=$(echo "$full / $b" | bc -l)
  ratios+=("$(printf '%.2f' "$r")")
  printf 'run %d: GROUP BY baseline %.2f s; full profiling run %.2f s; ratio %.2f\n' \
    "$run" "$b" "$full" "$r"
  printf '  CPU: profilers %.2f s, PostgreSQL %.2f s; over %d cores at least %.2f s\n' \
    "$(echo "$c1 - $c0" | bc -l)" "$(echo "$g1 - $g0" | bc -l)" "$(nproc)" \
    "$(echo "($c1 - $c0 + $g1 - $g0) / $(nproc)" | bc -l)"
done
peak=("$(peak_rss_kb "${prof[0]}")" "$(peak_rss_kb "${prof[1]}")")
grep -h -E "BTYD-FIT|CHURN-FIT|FIT-DONE|PROFILE-RUN-DONE" "$work"/profiler*.log | sed 's/.*"msg":"\(.*\)"}/  \1/'
printf 'profiling: %s customers, %s transactions; first GROUP BY %.2f s; full run / GROUP BY: %s\n' \
  "$customers" "$rows" "$base" "${ratios[*]}"
printf 'reading the profile columns in customer order (2 x COPY to /dev/null): %.2f s (%.2f x the GROUP BY)\n' \
  "$floor" "$(echo "$floor / $base" | bc -l)"
printf 'profiler peak RSS: %.1f MB and %.1f MB\n' "$(echo "${peak[0]} / 1024" | bc -l)" "$(echo "${peak[1]} / 1024" | bc -l)"
echo "== BG/NBD and MBG/NBD on CDNOW"
"$root/build/tests/btyd_bench" tests/fixtures/cdnow/CDNOW_sample.txt
