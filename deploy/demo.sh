#!/usr/bin/env bash
# demo.sh - rekindle's main job on one machine: builds it, starts a private
# PostgreSQL, the API and the worker pools (rekindle-local), and
#  1. loads the real UCI Online Retail data set (4,372 customers, 22,190
#     card-style transactions) through the gRPC API and profiles it;
#  2. loads 20,000 synthetic bank-card customers (tools/rkgen: marketplace
#     shoppers, travellers, weekend and promotion shoppers, customers who
#     went quiet) and runs a full profiling run over the profiler pool;
#  3. prints the dormant customers worth winning back, with their
#     preferences, rhythm, segment and P(alive);
#  4. creates offers (a Tiki voucher pool, Shopee, a travel cashback, a
#     fallback) and a dormant-customer campaign with a 10 % control group,
#     launches it over the campaigner pool, and prints who got which offer
#     and why anyone was left out;
#  5. delivers it: ZNS and SMS pools send to the provider doubles on
#     loopback, and it prints what the providers received.
# Stops everything at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
./deploy/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
state=$(mktemp -d /tmp/rekindle-demo.XXXXXX)
chmod 755 "$state"
port=$((50000 + RANDOM % 5000))
bin=$root/build/bin
"$bin/rekindle-local" --state "$state" --listen "127.0.0.1:$port" --profilers 2 \
  >"$state/rekindle.log" 2>&1 &
launcher=$!
extra=()
cleanup() {
  for p in "${extra[@]}"; do kill "$p" 2>/dev/null || true; done
  kill -INT "$launcher" 2>/dev/null && wait "$launcher" 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 1 300); do [ -f "$state/env" ] && break; sleep 0.2; done
set -a; . "$state/env"; set +a
for _ in $(seq 1 300); do
  [ "$("$bin/rekindlectl" health 2>/dev/null)" = SERVING ] && break; sleep 0.2
done
echo "== rekindle is up: API on $REKINDLE_ADDR, state in $state"
echo "== converting UCI Online Retail (541,909 invoice lines) to card transactions"
/usr/bin/python3 deploy/demo/online_retail.py \
  tests/fixtures/online-retail/online_retail.csv.gz "$state/data"
echo "== importing customers and transactions through the gRPC API"
"$bin/rekindlectl" customers import "$state/data/customers.csv"
"$bin/rekindlectl" customers import "$state/data/transactions.csv"
echo "== importing the same transactions again (idempotent on transaction id)"
"$bin/rekindlectl" customers import "$state/data/transactions.csv"
echo "== a bad request is refused and writes nothing"
printf 'customer_id,full_name,phone,email\nDEMO-1,Nguyen Van A,0912345678,a@example.vn\nDEMO-2,Tran Thi B,12345,not-an-email\n' \
  >"$state/bad.csv"
"$bin/rekindlectl" customers import "$state/bad.csv" || true
psql() { /usr/lib/postgresql/*/bin/psql "$REKINDLE_DATABASE_URL" -qAtX "$@"; }
echo "== waiting for the profiler pool"
for _ in $(seq 1 600); do
  left=$(psql -c "SELECT count(*) FROM rekindle.jobs WHERE state <> 'done'")
  [ "$left" = 0 ] && break; sleep 0.2
done
echo
echo "================ rekindle summary ================"
psql -F ' | ' -c "
SELECT 'customers', count(*)::text FROM rekindle.customers
UNION ALL SELECT 'transactions', count(*)::text FROM rekindle.transactions
UNION ALL SELECT 'profiled customers', count(*)::text FROM rekindle.customer_profiles
UNION ALL SELECT 'profile jobs done', count(*)::text FROM rekindle.jobs WHERE state = 'done'
UNION ALL SELECT 'data ends', max(occurred_at)::date::text FROM rekindle.transactions"
echo
echo "Recency at the end of the data (2011-12-09), by the default lifecycle thresholds:"
psql -F ' | ' -c "
WITH p AS (SELECT date '2011-12-09' - last_txn_at::date AS days FROM rekindle.customer_profiles)
SELECT CASE WHEN days < 30 THEN '1 active (<30 d)'
            WHEN days < 90 THEN '2 at risk (30-89 d)'
            WHEN days < 365 THEN '3 dormant (90-364 d)'
            ELSE '4 lost (>=365 d)' END AS state, count(*)
FROM p GROUP BY 1 ORDER BY 1"
echo
echo "Dormant customers (90-364 days) with the most past spend:"
psql -F ' | ' -c "
SELECT customer_id, txn_count, round(total_spend_minor / 100.0, 2) || ' ' || currency,
       last_txn_at::date, date '2011-12-09' - last_txn_at::date || ' days'
FROM rekindle.customer_profiles
WHERE date '2011-12-09' - last_txn_at::date BETWEEN 90 AND 364
ORDER BY total_spend_minor DESC LIMIT 5"
top=$(psql -c "SELECT customer_id FROM rekindle.customer_profiles
  WHERE date '2011-12-09' - last_txn_at::date BETWEEN 90 AND 364
  ORDER BY total_spend_minor DESC LIMIT 1")
echo
"$bin/rekindlectl" customers get "$top"
echo "=================================================="
echo
echo "== synthetic bank: 20,000 card customers with known behaviour (rkgen)"
"$bin/rkgen" --customers 20000 --seed 2025 --as-of 2025-06-30 --out "$state/bank"
"$bin/rekindlectl" customers import "$state/bank/customers.csv"
"$bin/rekindlectl" customers import "$state/bank/transactions.csv"
"$bin/rekindlectl" promotions import "$state/bank/promotions.csv"
echo "== full profiling run as of 2025-06-30 over the profiler pool"
"$bin/rekindlectl" profiles run --as-of 2025-06-30 --request-id demo-bank-run
echo
echo "Models (BG/NBD and MBG/NBD, the churn models and their AUCs):"
"$bin/rekindlectl" profiles models
echo
echo "Lifecycle of the synthetic bank's customers:"
psql -F ' | ' -c "SELECT state, count(*) FROM rekindle.customer_profiles
                  WHERE customer_id LIKE 'S%' GROUP BY 1 ORDER BY 2 DESC"
echo
echo "Dormant bank customers worth winning back (most past spend first):"
psql -F ' | ' -c "SELECT customer_id, days_since_last || ' d quiet', top_category,
    coalesce(top_partner, '-'), round(median_gap_days::numeric, 1) || ' d gap',
    segment, 'P(alive) ' || round(p_alive::numeric, 2),
    'churn ' || round(churn_risk::numeric, 2), churn_reasons[1]
  FROM rekindle.customer_profiles WHERE state = 'dormant' AND customer_id LIKE 'S%'
  ORDER BY total_spend_minor DESC LIMIT 8"
echo
echo "The same through the API (ListProfiles, dormant Tiki shoppers):"
"$bin/rekindlectl" profiles list --state dormant --partner TIKI --limit 5
top=$(psql -c "SELECT customer_id FROM rekindle.customer_profiles
  WHERE state = 'dormant' AND customer_id LIKE 'S%'
  ORDER BY total_spend_minor DESC LIMIT 1")
echo
"$bin/rekindlectl" profiles get "$top"
echo "=================================================="
echo "== offers and a dormant-customer campaign (rekindlectl call: JSON over gRPC)"
from=$(date -u -d '-1 hour' +%FT%TZ) until=$(date -u -d '+30 days' +%FT%TZ)
offer() {   # ID, offer fields, SMS text
  "$bin/rekindlectl" call OfferService/CreateOffer "{\"request_id\": \"demo-$1\",
    \"offer\": {\"offer_id\": \"$1\", $2, \"valid_from\": \"$from\",
    \"valid_until\": \"$until\", \"landing_url\": \"https://bank.example/uu-dai\",
    \"amount\": {\"amount_minor\": 100000, \"currency\": \"VND\"},
    \"templates\": [{\"channel\": \"CHANNEL_SMS\", \"body\": \"$3\"},
     {\"channel\": \"CHANNEL_ZNS\", \"provider_template_id\": \"231456\"},
     {\"channel\": \"CHANNEL_EMAIL\", \"subject\": \"{name}, quà của bạn đang chờ\",
      \"body\": \"Chào {name},\\n{offer}, hết hạn {expiry}.\\n{link}\"}]}}" >/dev/null
}
offer TIKI-100K '"title": "Voucher Tiki 100.000đ", "kind": "OFFER_KIND_VOUCHER", "partner_id": "TIKI", "quantity_cap": 200' \
  '{name} oi, {partner} tang ban {offer}, ma {code}, HSD {expiry}: {link}'
"$bin/rekindlectl" call OfferService/AddVoucherCodes "{\"request_id\": \"demo-codes\",
  \"offer_id\": \"TIKI-100K\", \"codes\": [$(seq -f '"TK%05g"' 1 300 | paste -sd,)]}"
offer SHOPEE-50K '"title": "Shopee giảm 50.000đ", "kind": "OFFER_KIND_FIXED_AMOUNT", "partner_id": "SHOPEE", "budget": {"amount_minor": 20000000, "currency": "VND"}' \
  '{name} oi, {partner} tang ban {offer}, HSD {expiry}: {link}'
offer FLY-5PCT '"title": "Hoàn 5% vé máy bay", "kind": "OFFER_KIND_CASHBACK_PERCENT", "category": "travel", "cashback_percent": 5' \
  '{name} oi, {offer} khi dat ve truoc {expiry}: {link}'
offer WELCOME-BACK '"title": "Quà chào mừng trở lại", "kind": "OFFER_KIND_FIXED_AMOUNT", "fallback": true' \
  '{name} oi, ngan hang gui ban {offer}, HSD {expiry}: {link}'
"$bin/rekindlectl" call CampaignService/CreateCampaign '{"request_id": "demo-campaign",
  "campaign": {"campaign_id": "WAKE-2025-07", "name": "Đánh thức khách hàng ngủ đông",
    "audience": {"states": ["LIFECYCLE_STATE_DORMANT"], "min_dormant_days": 90},
    "offer_ids": ["TIKI-100K", "SHOPEE-50K", "FLY-5PCT"], "fallback_offer_id": "WELCOME-BACK",
    "holdout_percent": 10, "channel_order": ["CHANNEL_PUSH", "CHANNEL_ZNS", "CHANNEL_SMS", "CHANNEL_EMAIL"],
    "send_window_start": "08:00", "send_window_end": "21:00"}}' >/dev/null
op=$("$bin/rekindlectl" call CampaignService/LaunchCampaign \
  '{"campaign_id": "WAKE-2025-07", "request_id": "demo-launch"}' | sed -n 's/.*"name": "\(.*\)".*/\1/p')
for _ in $(seq 1 300); do
  "$bin/rekindlectl" call CampaignService/GetOperation "{\"name\": \"$op\"}" |
    grep -q '"done": true' && break
  sleep 0.2
done
echo "Launch $op:"
"$bin/rekindlectl" call CampaignService/GetOperation "{\"name\": \"$op\"}" |
  sed -n '/"counters"/,/}/p'
echo
echo "Who got what (offer by affinity: partner, then category, then fallback):"
psql -F ' | ' -c "SELECT status, coalesce(reason, offer_id || ' (' || offer_basis || ')', '-'),
    count(*) FROM rekindle.campaign_members WHERE campaign_id = 'WAKE-2025-07'
  GROUP BY 1, 2 ORDER BY 1 DESC, 3 DESC"
echo
echo "First messages queued, by channel (1 email, 2 SMS, 3 ZNS, 4 push):"
psql -F ' | ' -c "SELECT channel, count(*) FROM rekindle.messages
  WHERE campaign_id = 'WAKE-2025-07' GROUP BY 1 ORDER BY 1"
echo
echo
echo "== delivery: ZNS and SMS pools (rekindle-deliver) to the provider doubles (rkdouble)"
"$bin/rkdouble" --port-file "$state/double.port" >"$state/double.log" 2>&1 & extra+=($!)
for _ in $(seq 1 50); do [ -s "$state/double.port" ] && break; sleep 0.1; done
dport=$(cat "$state/double.port")
for ch in zns sms; do
  case $ch in zns) path=/zns/message/template ;; sms) path=/sms/send ;; esac
  "$bin/rekindle-deliver" --channel "$ch" -o "provider_url=http://127.0.0.1:$dport$path" \
    -o zns_access_token=zns-token-1 -o zns_refresh_token=zns-refresh-1 \
    -o "zns_refresh_url=http://127.0.0.1:$dport/zns/oa/access_token" \
    -o sms_api_key=demo -o sms_secret_key=demo -o sms_brandname=REKINDLE \
    -o tracking_secret=demo-secret -o poll_interval_ms=200 \
    >"$state/deliver-$ch.log" 2>&1 & extra+=($!)
done
for _ in $(seq 1 300); do
  [ "$(psql -c "SELECT count(*) FROM rekindle.messages WHERE campaign_id = 'WAKE-2025-07'
        AND state = 'queued' AND not_before <= now()")" = 0 ] && break
  sleep 0.2
done
echo "Messages by channel and state (SMS waits outside 07:00-22:00 Vietnam time):"
psql -F ' | ' -c "SELECT CASE channel WHEN 1 THEN 'email' WHEN 2 THEN 'sms' WHEN 3 THEN 'zns'
    ELSE 'push' END, state, coalesce(reason, ''), count(*) FROM rekindle.messages
  WHERE campaign_id = 'WAKE-2025-07' GROUP BY 1, 2, 3 ORDER BY 1, 2"
echo
echo "What the providers received (the doubles' last messages):"
/usr/bin/python3 - "$dport" <<'PY'
import json, sys, urllib.request
base = "http://127.0.0.1:%s" % sys.argv[1]
get = lambda path: json.load(urllib.request.urlopen(base + path, timeout=10))
for m in get("/_messages/zns")[-3:]:
    print("  ZNS  phone %s  template %s  data %s" % (
        m["phone"], m["template_id"], json.dumps(m["template_data"], ensure_ascii=False)))
for m in get("/_messages/sms")[-3:]:
    print("  SMS  %s  %s" % (m["Phones"][0], m["Content"]))
print("Provider doubles' counts:", json.dumps(get("/_stats")))
PY
echo
echo "Funnel so far (GetCampaignStats):"
"$bin/rekindlectl" call CampaignService/GetCampaignStats '{"campaign_id": "WAKE-2025-07"}'
echo "(reminders, engagement and tickets arrive with the next issue)"
