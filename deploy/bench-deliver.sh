#!/usr/bin/env bash
# bench-deliver.sh - delivery throughput, messages per second of one
# channel pool (rekindle-deliver --channel sms, POOL processes) to the SMS
# gateway double on loopback (tools/rkdouble), target >= 10,000; the
# pool processes' and the double's resident memory.
# Usage: deploy/bench-deliver.sh [CUSTOMERS] [POOL]   (default 100,000, 2)
customers=${1:-100000}
pool_size=${2:-2}
. "$(dirname "$0")/bench-lib.sh"

echo "== $customers customers (rkgen), profiled, one campaign to all over SMS"
"$bin/rkgen" --customers "$customers" --seed 3 --format copy --out "$work/gen"
psql -c "INSERT INTO rekindle.customers (id, time_zone, phone_e164)
         SELECT 'S' || lpad(g::text, 8, '0'), 'Asia/Ho_Chi_Minh',
                '+8490' || lpad(g::text, 7, '0') FROM generate_series(0, $customers - 1) g"
psql -c "INSERT INTO rekindle.customer_consents (customer_id, channel, purpose, granted,
         granted_at, source) SELECT id, 2, 1, true, now(), 'bench' FROM rekindle.customers"
psql -c "\\copy rekindle.transactions (txn_id, customer_id, occurred_at, amount_minor, currency, mcc, merchant_id, merchant_name, channel) FROM '$work/gen/transactions.copy'"
psql -c "VACUUM ANALYZE"
"$bin/rekindle-profiler" >"$work/profiler.log" 2>&1 & pids+=($!); prof=$!
"$bin/rekindlectl" profiles run --as-of 2025-06-30 >/dev/null
kill "$prof"
"$bin/rekindlectl" call OfferService/CreateOffer "{\"offer\": {\"offer_id\": \"ALL\",
  \"title\": \"Quà chào mừng trở lại\", \"kind\": \"OFFER_KIND_FIXED_AMOUNT\", \"fallback\": true,
  \"amount\": {\"amount_minor\": 50000, \"currency\": \"VND\"},
  \"valid_from\": \"$(date -u -d '-1 day' +%FT%TZ)\", \"valid_until\": \"$(date -u -d '+30 days' +%FT%TZ)\",
  \"landing_url\": \"https://bank.example/uu-dai\", \"templates\": [{\"channel\": \"CHANNEL_SMS\",
  \"body\": \"{name} oi, ngan hang gui ban {offer}, HSD {expiry}: {link}\"}]}}" >/dev/null
"$bin/rekindlectl" call CampaignService/CreateCampaign '{"campaign": {"campaign_id": "BENCH",
  "name": "All", "fallback_offer_id": "ALL", "channel_order": ["CHANNEL_SMS"]}}' >/dev/null
"$bin/rekindle-campaigner" >"$work/campaigner.log" 2>&1 & pids+=($!)
"$bin/rekindlectl" call CampaignService/LaunchCampaign '{"campaign_id": "BENCH"}' >/dev/null
while ! grep -q "CAMPAIGN-LAUNCHED" "$work/campaigner.log"; do sleep 0.2; done
n=$(psql -c "SELECT count(*) FROM rekindle.messages WHERE campaign_id = 'BENCH'")

"$bin/rkdouble" --port-file "$work/double.port" >"$work/double.log" 2>&1 & pids+=($!); dbl=$!
while [ ! -s "$work/double.port" ]; do sleep 0.1; done
echo "== delivering $n messages with an SMS pool of $pool_size processes"
t0=$(now)
pool=()
for _ in $(seq 1 "$pool_size"); do
  "$bin/rekindle-deliver" --channel sms -o "provider_url=http://127.0.0.1:$(cat "$work/double.port")/sms/send" \
    -o sms_api_key=bench -o sms_secret_key=bench -o sms_brandname=BENCH \
    -o tracking_secret=bench -o poll_interval_ms=100 -o worker_batch=1 \
    -o sms_from_hour=0 -o sms_until_hour=24 -o sms_per_day=0 >>"$work/deliver.log" 2>&1 & pids+=($!); pool+=($!)
done
peak=0 dpeak=0
while [ "$(psql -c "SELECT count(*) FROM rekindle.messages WHERE campaign_id = 'BENCH' AND state = 'queued'")" != 0 ]; do
  for p in "${pool[@]}"; do
    r=$(ps -o rss= -p "$p" | tr -d ' '); [ "${r:-0}" -gt "$peak" ] && peak=$r
  done
  r=$(ps -o rss= -p "$dbl" | tr -d ' '); [ "${r:-0}" -gt "$dpeak" ] && dpeak=$r
  sleep 0.2
done
t1=$(now)
secs=$(echo "$t1 - $t0" | bc -l)
printf 'delivery: %s messages in %.2f s = %.0f messages/s (target >= 10,000); largest pool process RSS %.1f MB, double RSS %.1f MB\n' \
  "$n" "$secs" "$(echo "$n / $secs" | bc -l)" "$(echo "$peak / 1024" | bc -l)" "$(echo "$dpeak / 1024" | bc -l)"
