#!/usr/bin/env bash
# bench-launch.sh - launching a campaign over a 1 M-customer audience
# (audience rule, exclusions, control split, offers by affinity, outbox
# written), target <= 20 s: rkgen customers with phones, e-mail addresses
# and marketing consent, profiled by a full run, then one campaign whose
# rule matches every customer with a purchase, launched by one campaigner;
# the campaigner's resident memory.
# Usage: deploy/bench-launch.sh [CUSTOMERS]   (default 1,000,000)
customers=${1:-1000000}
. "$(dirname "$0")/bench-lib.sh"

echo "== $customers customers (rkgen, seed 1), profiled"
"$bin/rkgen" --customers "$customers" --seed 1 --gap-scale 3.7 --format copy --out "$work/gen"
psql -c "INSERT INTO rekindle.customers (id, time_zone, phone_e164, email)
         SELECT 'S' || lpad(g::text, 8, '0'), 'Asia/Ho_Chi_Minh',
                '+8490' || lpad(g::text, 7, '0'), 'kh' || g || '@example.vn'
         FROM generate_series(0, $customers - 1) g"
psql -c "INSERT INTO rekindle.customer_consents (customer_id, channel, purpose, granted,
         granted_at, source) SELECT id, ch, 1, true, now(), 'bench'
         FROM rekindle.customers, (VALUES (1), (2)) v(ch)"
psql -c "\\copy rekindle.transactions (txn_id, customer_id, occurred_at, amount_minor, currency, mcc, merchant_id, merchant_name, channel) FROM '$work/gen/transactions.copy'"
psql -c "VACUUM ANALYZE"
for i in 1 2; do "$bin/rekindle-profiler" >"$work/profiler$i.log" 2>&1 & pids+=($!); done
"$bin/rekindlectl" profiles run --as-of 2025-06-30 >/dev/null
for p in "${pids[@]:1}"; do kill "$p"; done
psql -c "VACUUM ANALYZE rekindle.customer_profiles"

offer() {
  "$bin/rekindlectl" call OfferService/CreateOffer "{\"offer\": {$1,
    \"title\": \"Ưu đãi quay lại\", \"kind\": \"OFFER_KIND_FIXED_AMOUNT\",
    \"amount\": {\"amount_minor\": 100000, \"currency\": \"VND\"},
    \"valid_from\": \"$(date -u -d '-1 day' +%FT%TZ)\", \"valid_until\": \"$(date -u -d '+30 days' +%FT%TZ)\",
    \"landing_url\": \"https://bank.example/uu-dai\",
    \"templates\": [{\"channel\": \"CHANNEL_SMS\", \"body\": \"{name}: {offer} {link}\"},
      {\"channel\": \"CHANNEL_EMAIL\", \"subject\": \"{name}: {offer}\", \"body\": \"{offer} {link}\"}]}}" >/dev/null
}
offer '"offer_id": "TIKI", "partner_id": "TIKI", "quantity_cap": 50000'
offer '"offer_id": "SHOPEE", "partner_id": "SHOPEE"'
offer '"offer_id": "TRAVEL", "category": "travel"'
offer '"offer_id": "ANY", "fallback": true'
"$bin/rekindlectl" call CampaignService/CreateCampaign '{"campaign": {"campaign_id": "ALL",
  "name": "Everyone", "offer_ids": ["TIKI", "SHOPEE", "TRAVEL"], "fallback_offer_id": "ANY",
  "holdout_percent": 10, "channel_order": ["CHANNEL_SMS", "CHANNEL_EMAIL"]}}' >/dev/null

echo "== launching over $(psql -c "SELECT count(*) FROM rekindle.customer_profiles WHERE txn_count > 0") profiled customers"
"$bin/rekindle-campaigner" >"$work/campaigner.log" 2>&1 & pids+=($!); camp=$!
sleep 1
t0=$(now)
"$bin/rekindlectl" call CampaignService/LaunchCampaign '{"campaign_id": "ALL"}' >/dev/null
while ! grep -q "CAMPAIGN-LAUNCHED\|LAUNCH-FAIL" "$work/campaigner.log"; do
  sleep 0.1
done
t1=$(now)
peak=$(peak_rss_kb "$camp")
grep -h "LAUNCH" "$work/campaigner.log" | sed 's/.*"msg":"\(.*\)"}/  \1/'
printf 'launch: %.2f s (target <= 20 s); campaigner peak RSS %.1f MB\n' \
  "$(echo "$t1 - $t0" | bc -l)" "$(echo "$peak / 1024" | bc -l)"
