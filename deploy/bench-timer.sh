#!/usr/bin/env bash
# bench-timer.sh - the reminder timer pool (rekindle-timer): TIMERS pending
# reminder timers of a running campaign, due at RATE per second from 30 s
# after they are written; POOL timer processes fire them (each fire writes
# the reminder message and hands it to the SMS pool's queue). Reports the
# fires per second and the lateness (fired - due) percentiles, target p99
# <= 1 s at 10,000 fires/s, and each timer process's resident memory.
# Usage: deploy/bench-timer.sh [TIMERS] [RATE] [POOL]   (default 1,000,000, 10,000, 2)
timers=${1:-1000000}
rate=${2:-10000}
pool_size=${3:-2}
. "$(dirname "$0")/bench-lib.sh"

echo "== $timers customers in a running campaign, each with a reminder due"
bench_customers T "$timers"
bench_sms_offer TB
"$bin/rekindlectl" call CampaignService/CreateCampaign '{"campaign": {"campaign_id": "TB",
  "name": "Timers", "fallback_offer_id": "TB", "channel_order": ["CHANNEL_SMS"],
  "reminders": {"delay_hours": 1, "max_reminders": 1, "channels": ["CHANNEL_SMS"]}}}' >/dev/null
psql -c "UPDATE rekindle.campaigns SET state = 3 WHERE campaign_id = 'TB'"
psql -c "INSERT INTO rekindle.campaign_members (campaign_id, customer_id, status, offer_id,
         offer_basis, interest_at) SELECT 'TB', id, 'treatment', 'TB', 'fallback', now()
         FROM rekindle.customers WHERE id LIKE 'T%'"
psql -c "INSERT INTO rekindle.timers (kind, due_at, campaign_id, customer_id, seq)
         SELECT 1, now() + interval '30 seconds' + (row_number() OVER (ORDER BY id) - 1)
                * interval '1 second' / $rate, 'TB', id, 1
         FROM rekindle.customers WHERE id LIKE 'T%'"
psql -c "VACUUM ANALYZE"
first=$(psql -c "SELECT extract(epoch FROM min(due_at)) FROM rekindle.timers")
echo "== $pool_size timer processes; the first timer is due in $(echo "$first - $(date +%s.%N)" | bc | cut -d. -f1) s"
pool=()
for _ in $(seq 1 "$pool_size"); do
  "$bin/rekindle-timer" >>"$work/timer.log" 2>&1 & pids+=($!); pool+=($!)
done
# (each EXISTS answered by its partial index, not a scan of the fired)
while [ "$(psql -c "SELECT EXISTS (SELECT 1 FROM rekindle.timers WHERE state = 'pending'
    AND claimed_by IS NULL) OR EXISTS (SELECT 1 FROM rekindle.timers WHERE state = 'pending'
    AND claimed_by IS NOT NULL)")" = t ]; do
  sleep 1
done
peak=0
for p in "${pool[@]}"; do
  r=$(peak_rss_kb "$p"); [ "${r:-0}" -gt "$peak" ] && peak=$r
done
psql -c "SELECT format('timers: %s fired in %s s = %s fires/s (asked %s/s); lateness p50 %s ms, p99 %s ms, p99.9 %s ms, max %s ms (target p99 <= 1000 ms); reminder messages written %s',
    count(*), round(extract(epoch FROM max(fired_at) - min(fired_at))::numeric, 2),
    round(count(*) / nullif(extract(epoch FROM max(fired_at) - min(fired_at)), 0)::numeric),
    $rate,
    round(1000 * percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM fired_at - due_at))::numeric),
    round(1000 * percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM fired_at - due_at))::numeric),
    round(1000 * percentile_cont(0.999) WITHIN GROUP (ORDER BY extract(epoch FROM fired_at - due_at))::numeric),
    round(1000 * max(extract(epoch FROM fired_at - due_at))::numeric),
    (SELECT count(*) FROM rekindle.messages WHERE campaign_id = 'TB' AND step = 1))
  FROM rekindle.timers WHERE state = 'fired'"
printf 'largest timer process RSS %.1f MB\n' "$(echo "$peak / 1024" | bc -l)"
