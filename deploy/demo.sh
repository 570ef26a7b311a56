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
#     loopback, and it prints what the providers received;
#  6. simulated customers follow their personal links on the tracking
#     endpoint (rekindle-tracker): some click, some register, a mail
#     scanner clicks, a few unsubscribe;
#  7. on a compressed clock (a policy hour is 2 seconds) the timer pool
#     reminds the interested who did not register, then opens tickets
#     for telesales; agents claim them, call through the contact
#     governor and resolve them;
#  8. some customers spend again; the campaign report measures the
#     reactivation lift against the control group.
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
# every process serves /metrics, /healthz and /readyz: the launcher and
# its children from mbase up, the tracker and the delivery pools at +40..
mbase=$((20000 + RANDOM % 20000))
bin=$root/build/bin
# The compressed clock: campaign policies' hours last 2 s. Simulated
# customers act within seconds of a message, which the evidence rules
# would call machines: not in the demo.
export REKINDLE_POLICY_HOUR_SECONDS=2 REKINDLE_MACHINE_OPEN_SECONDS=0 \
  REKINDLE_MACHINE_CLICK_SECONDS=0
"$bin/rekindle-local" --state "$state" --listen "127.0.0.1:$port" --profilers 2 \
  --metrics-base "$mbase" >"$state/rekindle.log" 2>&1 &
launcher=$!
extra=()
cleanup() {
  deploy/demo/prometheus.sh stop "$state" || true
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
# a real Prometheus scrapes every process from now on (deploy/monitoring)
deploy/demo/prometheus.sh start "$state"
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
     {\"channel\": \"CHANNEL_PUSH\", \"subject\": \"Quà cho {name}\", \"body\": \"{offer} - đến {expiry}\"},
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
echo "== telesales: a team routing to the least-loaded agent, three agents with their own tokens"
"$bin/rekindlectl" call AgentService/CreateTeam '{"request_id": "demo-team", "team": {"team_id": "TELESALES",
  "name": "Telesales thẻ", "routing": "ROUTING_MODE_LEAST_LOADED", "sla_business_hours": 4}}' >/dev/null
agent_tokens=()
for a in LAN MINH TUAN; do
  "$bin/rekindlectl" call AgentService/CreateAgent "{\"request_id\": \"demo-agent-$a\", \"agent\": {
    \"agent_id\": \"$a\", \"team_id\": \"TELESALES\", \"display_name\": \"Agent $a\",
    \"skills\": [\"lang:vi\"], \"capacity\": 60, \"available\": true,
    \"working_hours\": \"Mon-Sun 00:00-24:00\"}}" >/dev/null
  tok=$("$bin/rekindlectl" call AgentService/CreateToken "{\"name\": \"demo-$a\",
    \"role\": \"ROLE_AGENT\", \"agent_id\": \"$a\"}" | sed -n 's/.*"secret": "\(.*\)".*/\1/p')
  agent_tokens+=("$a=$tok")
done
"$bin/rekindlectl" call CampaignService/CreateCampaign '{"request_id": "demo-campaign",
  "campaign": {"campaign_id": "WAKE-2025-07", "name": "Đánh thức khách hàng ngủ đông",
    "audience": {"states": ["LIFECYCLE_STATE_DORMANT"], "min_dormant_days": 90},
    "offer_ids": ["TIKI-100K", "SHOPEE-50K", "FLY-5PCT"], "fallback_offer_id": "WELCOME-BACK",
    "holdout_percent": 10, "channel_order": ["CHANNEL_PUSH", "CHANNEL_ZNS", "CHANNEL_SMS", "CHANNEL_EMAIL"],
    "reminders": {"delay_hours": 2, "max_reminders": 2, "interval_hours": 2,
      "channels": ["CHANNEL_SMS"], "escalate_to_ticket": true, "ticket_team_id": "TELESALES"}}}' >/dev/null
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
echo "== delivery: ZNS and SMS pools (rekindle-deliver) to the provider doubles (rkdouble);"
echo "   personal links point at the tracking endpoint (rekindle-tracker)"
"$bin/rkdouble" --port-file "$state/double.port" >"$state/double.log" 2>&1 & extra+=($!)
"$bin/rekindle-tracker" -o tracker_port=0 -o "tracker_port_file=$state/tracker.port" \
  -o "metrics_listen=127.0.0.1:$((mbase + 40))" >"$state/tracker.log" 2>&1 & extra+=($!)
for _ in $(seq 1 50); do [ -s "$state/double.port" ] && [ -s "$state/tracker.port" ] && break; sleep 0.1; done
dport=$(cat "$state/double.port")
track=http://127.0.0.1:$(cat "$state/tracker.port")
mport=$((mbase + 41))
for ch in zns sms; do
  case $ch in zns) path=/zns/message/template ;; sms) path=/sms/send ;; esac
  mport=$((mport + 1))
  "$bin/rekindle-deliver" --channel "$ch" -o "provider_url=http://127.0.0.1:$dport$path" \
    -o zns_access_token=zns-token-1 -o zns_refresh_token=zns-refresh-1 \
    -o "zns_refresh_url=http://127.0.0.1:$dport/v4/oa/access_token" \
    -o zns_app_id=zns-app-1 -o zns_secret_key=zns-secret-1 \
    -o sms_api_key=demo -o sms_secret_key=demo -o sms_brandname=REKINDLE \
    -o "tracking_url=$track/t/" -o poll_interval_ms=200 -o sms_from_hour=0 -o sms_until_hour=24 \
    -o "metrics_listen=127.0.0.1:$mport" >"$state/deliver-$ch.log" 2>&1 & extra+=($!)
done
cat >"$state/prometheus-targets-more.json" <<JSON
[{"targets": ["127.0.0.1:$((mbase + 40))"], "labels": {"program": "rekindle-tracker"}},
 {"targets": ["127.0.0.1:$((mbase + 42))"], "labels": {"program": "rekindle-deliver", "channel": "zns"}},
 {"targets": ["127.0.0.1:$((mbase + 43))"], "labels": {"program": "rekindle-deliver", "channel": "sms"}}]
JSON
for _ in $(seq 1 300); do
  [ "$(psql -c "SELECT count(*) FROM rekindle.messages WHERE campaign_id = 'WAKE-2025-07'
        AND state = 'queued' AND not_before <= now()")" = 0 ] && break
  sleep 0.2
done
echo "Messages by channel and state:"
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
echo "== the providers report deliveries (RecordDeliveryReceipts)"
psql -c "SELECT customer_id || '|' || id || '|' || channel FROM rekindle.messages
  WHERE campaign_id = 'WAKE-2025-07' AND step = 0 AND state = 'sent'" >"$state/sent-ch.txt"
/usr/bin/python3 deploy/demo/behave.py receipts "$bin/rekindlectl" WAKE-2025-07 "$state/sent-ch.txt"
echo
echo "== customers respond (simulated, over HTTP to the tracking endpoint)"
psql -c "SELECT customer_id || '|' || id FROM rekindle.messages WHERE campaign_id = 'WAKE-2025-07'
  AND step = 0 AND state = 'sent' ORDER BY id" >"$state/sent.txt"
/usr/bin/python3 deploy/demo/behave.py engage "$track" "$REKINDLE_TRACKING_SECRET" "$state/sent.txt"
echo "Events by type and evidence (a scanner's click is a machine's, not interest):"
psql -F ' | ' -c "SELECT (ARRAY['delivered','opened','clicked','registered','unsubscribed','bounced',
    'complained','app opened','page viewed'])[type], (ARRAY['weak','strong','machine'])[evidence],
    count(*) FROM rekindle.events WHERE campaign_id = 'WAKE-2025-07' GROUP BY 1, 2 ORDER BY 3 DESC"
echo
echo "== the timer pool: reminders at +2 and +4 policy hours (4 and 8 s), then tickets"
for i in $(seq 1 150); do
  [ "$i" -gt 20 ] && [ "$(psql -c "SELECT count(*) FROM rekindle.timers WHERE campaign_id = 'WAKE-2025-07'
        AND kind IN (1, 2) AND state = 'pending'")" = 0 ] &&
  [ "$(psql -c "SELECT count(*) FROM rekindle.messages WHERE campaign_id = 'WAKE-2025-07'
        AND step > 0 AND state = 'queued' AND not_before <= now()")" = 0 ] && break
  sleep 0.5
  [ "$i" = 20 ] && { psql -c "SELECT customer_id || '|' || id FROM rekindle.messages
      WHERE campaign_id = 'WAKE-2025-07' AND step = 1 AND state = 'sent'" >"$state/reminded.txt"
    /usr/bin/python3 deploy/demo/behave.py second-wave "$track" "$REKINDLE_TRACKING_SECRET" \
      "$state/reminded.txt"; }
done
psql -F ' | ' -c "SELECT 'reminder ' || step, state, count(*) FROM rekindle.messages
  WHERE campaign_id = 'WAKE-2025-07' AND step > 0 GROUP BY 1, 2 ORDER BY 1, 2"
echo "Timers, late by (fired - due):"
psql -F ' | ' -c "SELECT (ARRAY['reminder','escalation','call-back','SLA'])[kind], state, count(*),
    'p99 ' || coalesce(round(1000 * percentile_cont(0.99) WITHIN GROUP (ORDER BY
      extract(epoch FROM fired_at - due_at)))::text || ' ms', '-')
  FROM rekindle.timers WHERE campaign_id = 'WAKE-2025-07' GROUP BY 1, 2 ORDER BY 1, 2"
echo "Journeys (registration or unsubscribing ends one; no reminder after either):"
psql -F ' | ' -c "SELECT journey, count(*) FROM rekindle.campaign_members
  WHERE campaign_id = 'WAKE-2025-07' AND status = 'treatment' GROUP BY 1 ORDER BY 2 DESC"
psql -c "SELECT 'reminders sent after registering or unsubscribing: ' || count(*)
  FROM rekindle.messages m JOIN rekindle.events e ON e.campaign_id = m.campaign_id
  AND e.customer_id = m.customer_id AND e.type IN (4, 5) WHERE m.campaign_id = 'WAKE-2025-07'
  AND m.step > 0 AND m.state = 'sent' AND m.sent_at > e.occurred_at"
echo "Escalations: tickets opened only where an advertising call is allowed:"
psql -F ' | ' -c "SELECT coalesce(split_part(outcome, ' ', 1), '-'), count(*) FROM rekindle.timers
  WHERE campaign_id = 'WAKE-2025-07' AND kind = 2 GROUP BY 1 ORDER BY 2 DESC"
psql -F ' | ' -c "SELECT 'tickets by agent', coalesce(agent_id, '(team queue)'), count(*)
  FROM rekindle.tickets WHERE campaign_id = 'WAKE-2025-07' GROUP BY 2 ORDER BY 2"
echo
echo "== agents at work (ClaimNextTicket, LogCallAttempt, ResolveTicket with their own tokens)"
hour=$(TZ=Asia/Ho_Chi_Minh date +%H)
if [ "$hour" -lt 8 ] || [ "$hour" -ge 17 ]; then
  echo "  It is $(TZ=Asia/Ho_Chi_Minh date +%H:%M) in Vietnam, outside the 08:00-17:00 calling window:"
  /usr/bin/python3 deploy/demo/agents.py "$bin/rekindlectl" 1 "${agent_tokens[0]}"
  off=$(( 12 - 10#$(date -u +%H) )); [ "$off" -gt 14 ] && off=$((off - 24))
  echo "  To show the agents at work, the demo's ticketed customers now live at UTC$(printf %+d "$off"),"
  echo "  where it is midday (the governor still checks every call):"
  psql -c "UPDATE rekindle.customers SET time_zone = 'Etc/GMT$(printf %+d $((-off)))'
    WHERE id IN (SELECT customer_id FROM rekindle.tickets)"
fi
/usr/bin/python3 deploy/demo/agents.py "$bin/rekindlectl" 12 "${agent_tokens[@]}"
psql -F ' | ' -c "SELECT 'tickets', (ARRAY['new','assigned','in progress','contacted','resolved',
    'closed'])[state], coalesce((ARRAY['registered','not interested','unreachable','call back'])[resolution], '-'),
    count(*) FROM rekindle.tickets WHERE campaign_id = 'WAKE-2025-07' GROUP BY 2, 3 ORDER BY 2, 3"
echo
echo "== some customers spend again (simulated card transactions, through the API)"
psql -c "SELECT customer_id FROM rekindle.campaign_members WHERE campaign_id = 'WAKE-2025-07'
  AND status = 'treatment'" >"$state/treated.txt"
psql -c "SELECT customer_id FROM rekindle.campaign_members WHERE campaign_id = 'WAKE-2025-07'
  AND status = 'control'" >"$state/control.txt"
psql -c "SELECT customer_id FROM rekindle.campaign_members WHERE campaign_id = 'WAKE-2025-07'
  AND registered_at IS NOT NULL" >"$state/registered.txt"
/usr/bin/python3 deploy/demo/behave.py comeback "$state/comeback.csv" "$state/treated.txt" \
  "$state/control.txt" "$state/registered.txt"
"$bin/rekindlectl" customers import "$state/comeback.csv"
echo
echo "== an always-on win-back journey with two offer variants (A: Shopee 50.000d, B: the"
echo "   welcome-back gift): whoever goes quiet enters the day a profiling run sees it"
"$bin/rekindlectl" call CampaignService/CreateCampaign '{"request_id": "demo-journey",
  "campaign": {"campaign_id": "WAKE-DAILY", "name": "Đánh thức mỗi ngày",
    "kind": "CAMPAIGN_KIND_ALWAYS_ON", "reentry_days": 90,
    "audience": {"states": ["LIFECYCLE_STATE_DORMANT"], "min_dormant_days": 90,
      "exclude_in_running_campaign": true},
    "fallback_offer_id": "WELCOME-BACK", "holdout_percent": 10,
    "channel_order": ["CHANNEL_ZNS", "CHANNEL_SMS"],
    "variants": [{"variant_id": "A", "offer_id": "SHOPEE-50K"},
      {"variant_id": "B", "offer_id": "WELCOME-BACK"}]}}' >/dev/null
"$bin/rekindlectl" call CampaignService/LaunchCampaign \
  '{"campaign_id": "WAKE-DAILY", "request_id": "demo-journey-launch"}' >/dev/null
for _ in $(seq 1 300); do
  [ "$(psql -c "SELECT state FROM rekindle.campaigns WHERE campaign_id = 'WAKE-DAILY'")" = 3 ] && break
  sleep 0.2
done
first=$(psql -c "SELECT count(*) FROM rekindle.campaign_entries WHERE campaign_id = 'WAKE-DAILY'")
echo "At the launch (profiles as of 2025-06-30): $first entries (the rest of the dormant are"
echo "in WAKE-2025-07 already, or excluded as before)."
echo "A month on: a profiling run as of 2025-07-31 sees who crossed 90 days without a card"
echo "transaction since; the profiler asks for an entry run, the timer pool fires it, the"
echo "campaigner lets them in, the delivery pools send:"
"$bin/rekindlectl" profiles run --as-of 2025-07-31 | tail -1
for _ in $(seq 1 300); do
  n=$(psql -c "SELECT count(*) FROM rekindle.campaign_entries WHERE campaign_id = 'WAKE-DAILY'")
  [ "$n" -gt "$first" ] && [ "$(psql -c "SELECT count(*) FROM rekindle.messages
      WHERE campaign_id = 'WAKE-DAILY' AND state IN ('queued', 'sending') AND not_before <= now()")" = 0 ] &&
    break
  sleep 0.2
done
psql -F ' | ' -c "SELECT 'entered', coalesce(variant_id, 'control'), count(*)
  FROM rekindle.campaign_entries WHERE campaign_id = 'WAKE-DAILY' GROUP BY 2 ORDER BY 2"
echo "From the profiling run that saw them cross the threshold to their first message:"
psql -F ' | ' -c "WITH run AS (SELECT finished_at FROM rekindle.profile_runs
    WHERE state = 'done' ORDER BY id DESC LIMIT 1),
  firsts AS (SELECT extract(epoch FROM m.sent_at - run.finished_at) AS s
    FROM rekindle.messages m, run WHERE m.campaign_id = 'WAKE-DAILY' AND m.step = 0
    AND m.state = 'sent' AND m.created_at > run.finished_at)
  SELECT count(*) || ' customers', 'first ' || round(min(s)::numeric, 1) || ' s',
    'median ' || round((percentile_cont(0.5) WITHIN GROUP (ORDER BY s))::numeric, 1) || ' s',
    'last ' || round(max(s)::numeric, 1) || ' s' FROM firsts"
"$bin/rekindlectl" profiles run --as-of 2025-07-31 | tail -1
echo "The same run again lets nobody in twice: $(psql -c "SELECT count(*) FROM (SELECT customer_id
  FROM rekindle.campaign_entries WHERE campaign_id = 'WAKE-DAILY' GROUP BY customer_id
  HAVING count(*) > 1) d") customers with two entries."
echo
echo "================ campaign report ================"
"$bin/rekindlectl" campaigns report WAKE-2025-07 --svg "$state/funnel.svg" \
  --html "$state/report.html"
echo
"$bin/rekindlectl" campaigns report WAKE-DAILY --html "$state/journey.html" | tail -8
echo "(funnel chart: $state/funnel.svg; the reports as pages: $state/report.html,"
echo " $state/journey.html)"
echo
echo "================ operations: /metrics of every process ================"
/usr/bin/python3 deploy/demo/metrics_summary.py "$state/prometheus-targets.json" \
  "$state/prometheus-targets-more.json"
echo
deploy/demo/prometheus.sh report "$state"
