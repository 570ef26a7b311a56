#!/usr/bin/env bash
# bench-deliver.sh - delivery throughput, messages per second of each
# channel pool (rekindle-deliver --channel CH, POOL processes) to the
# provider doubles on loopback (tools/rkdouble: the eSMS-style gateway,
# Zalo ZNS, FCM HTTP v1, the SMTP relay), target >= 10,000; the pool
# processes' and the double's resident memory. One campaign per channel
# over every customer, delivered one channel at a time, every message
# through the send ledger (queued -> sending -> sent, each committed).
# Then one SIGKILL of a ZNS pool process at full speed: how many messages
# it leaves uncertain (ZNS does not de-duplicate: they are held), and how
# many of those the double had in fact taken. Each pool process runs
# deliver_lanes batches at once (DELIVER_LANES, default the
# configuration's 2); each channel starts on a vacuumed outbox, so that
# no channel pays for the dead rows of the one before.
# Usage: deploy/bench-deliver.sh [CUSTOMERS] [POOL] [CHANNELS]
#        (default 100,000, 2, "sms zns push email"); PROVIDER_PARALLEL in
#        the environment: each lane's concurrent provider calls (16);
#        DELIVER_LANES: each process's lanes (2).
customers=${1:-100000}
pool_size=${2:-2}
channels=${3:-sms zns push email}
. "$(dirname "$0")/bench-lib.sh"

echo "== $customers customers (rkgen), profiled; each has a phone on Zalo, the app and e-mail"
"$bin/rkgen" --customers "$customers" --seed 3 --format copy --out "$work/gen"
psql -c "INSERT INTO rekindle.customers (id, time_zone, phone_e164, zalo_available,
         push_token, email)
         SELECT 'S' || lpad(g::text, 8, '0'), 'Asia/Ho_Chi_Minh',
                '+8490' || lpad(g::text, 7, '0'), true, 'bench-device-' || g,
                'kh' || g || '@example.com' FROM generate_series(0, $customers - 1) g"
psql -c "INSERT INTO rekindle.customer_consents (customer_id, channel, purpose, granted,
         granted_at, source) SELECT id, ch, 1, true, now(), 'bench'
         FROM rekindle.customers, generate_series(1, 4) ch"
psql -c "\\copy rekindle.transactions (txn_id, customer_id, occurred_at, amount_minor, currency, mcc, merchant_id, merchant_name, channel) FROM '$work/gen/transactions.copy'"
psql -c "VACUUM ANALYZE"
"$bin/rekindle-profiler" >"$work/profiler.log" 2>&1 & pids+=($!); prof=$!
"$bin/rekindlectl" profiles run --as-of 2025-06-30 >/dev/null
kill "$prof"
"$bin/rekindlectl" call OfferService/CreateOffer "{\"offer\": {\"offer_id\": \"ALL\",
  \"title\": \"Quà chào mừng trở lại\", \"kind\": \"OFFER_KIND_FIXED_AMOUNT\", \"fallback\": true,
  \"amount\": {\"amount_minor\": 50000, \"currency\": \"VND\"},
  \"valid_from\": \"$(date -u -d '-1 day' +%FT%TZ)\", \"valid_until\": \"$(date -u -d '+30 days' +%FT%TZ)\",
  \"landing_url\": \"https://bank.example/uu-dai\", \"templates\": [
  {\"channel\": \"CHANNEL_SMS\", \"body\": \"{name} oi, ngan hang gui ban {offer}, HSD {expiry}: {link}\"},
  {\"channel\": \"CHANNEL_ZNS\", \"provider_template_id\": \"231456\"},
  {\"channel\": \"CHANNEL_PUSH\", \"subject\": \"Quà cho {name}\", \"body\": \"{offer}, HSD {expiry}\"},
  {\"channel\": \"CHANNEL_EMAIL\", \"subject\": \"{name}, {offer} đang chờ bạn\",
   \"body\": \"Chào {name},\\n{offer} dành riêng cho bạn đến {expiry}.\\nXem ngay: {link}\"}]}}" >/dev/null
"$bin/rekindle-campaigner" >"$work/campaigner.log" 2>&1 & pids+=($!)
"$bin/rkdouble" --port-file "$work/double.port" --smtp-port-file "$work/double.smtp" \
  >"$work/double.log" 2>&1 & pids+=($!); dbl=$!
while [ ! -s "$work/double.port" ]; do sleep 0.1; done
http=http://127.0.0.1:$(cat "$work/double.port")

code_of() { case $1 in email) echo 1;; sms) echo 2;; zns) echo 3;; push) echo 4;; esac; }
provider_of() {
  case $1 in
    sms) echo "$http/sms/send" ;;
    zns) echo "$http/zns/message/template" ;;
    push) echo "$http/fcm/v1/projects/bench/messages:send" ;;
    email) echo "smtp://127.0.0.1:$(cat "$work/double.smtp")" ;;
    *) echo "unknown channel $1" >&2; exit 2 ;;
  esac
}
launched=0
# launch ID CH: a campaign over every customer on channel CH, waited for
launch() {
  "$bin/rekindlectl" call CampaignService/CreateCampaign "{\"campaign\": {\"campaign_id\": \"$1\",
    \"name\": \"All\", \"fallback_offer_id\": \"ALL\", \"channel_order\": [\"CHANNEL_$(echo "$2" | tr a-z A-Z)\"]}}" >/dev/null
  "$bin/rekindlectl" call CampaignService/LaunchCampaign "{\"campaign_id\": \"$1\"}" >/dev/null
  launched=$((launched + 1))
  while [ "$(grep -c "CAMPAIGN-LAUNCHED" "$work/campaigner.log")" -lt "$launched" ]; do sleep 0.2; done
}
# start_pool CH: POOL delivery processes of channel CH (their pids in pool)
start_pool() {
  pool=()
  # push mints its FCM tokens with the double's service account
  [ -s "$work/fcm-sa.json" ] || /usr/bin/python3 -c "import sys, urllib.request; sys.stdout.buffer.write(urllib.request.urlopen(sys.argv[1]).read())" "$http/_fcm/service_account" >"$work/fcm-sa.json"
  for _ in $(seq 1 "$pool_size"); do
    "$bin/rekindle-deliver" --channel "$1" -o "provider_url=$(provider_of "$1")" \
      -o sms_api_key=bench -o sms_secret_key=bench -o sms_brandname=BENCH \
      -o zns_access_token=zns-token-1 -o zns_refresh_token=zns-refresh-1 \
      -o "zns_refresh_url=$http/v4/oa/access_token" -o "fcm_service_account=$work/fcm-sa.json" \
      -o zns_app_id=zns-app-1 -o zns_secret_key=zns-secret-1 \
      -o email_from=uudai@bank.example -o tracking_secret=bench -o poll_interval_ms=100 \
      -o sms_from_hour=0 -o sms_until_hour=24 -o sms_per_day=0 -o email_per_day=0 \
      -o lease_seconds=2 -o "provider_parallel=${PROVIDER_PARALLEL:-16}" \
      -o "deliver_lanes=${DELIVER_LANES:-2}" \
      >>"$work/deliver-$1.log" 2>&1 & pids+=($!); pool+=($!)
  done
}
# start_pool_one CH: one more delivery process of channel CH (appended to pool)
start_pool_one() {
  local keep=("${pool[@]}")
  pool_size_was=$pool_size pool_size=1
  start_pool "$1"
  pool_size=$pool_size_was
  pool=("${keep[@]}" "${pool[@]}")
}
# wait_done ID: until no message of the campaign is queued or being sent,
# watched twice a second by a query that stops at the first such message
# (a count of the queued ones cost PostgreSQL up to 30 ms a time, taken
# from the pool it measures); the run's end is its last sent_at anyway
wait_done() {
  while [ "$(psql -c "SELECT EXISTS (SELECT 1 FROM rekindle.messages WHERE campaign_id = '$1'
      AND state IN ('queued', 'sending'))")" != f ]; do
    sleep 0.5
  done
}

for ch in $channels; do
  CH=$(echo "$ch" | tr a-z A-Z)
  launch "BENCH-$CH" "$ch"
  psql -c "VACUUM ANALYZE rekindle.messages"
  n=$(psql -c "SELECT count(*) FROM rekindle.messages WHERE campaign_id = 'BENCH-$CH'")
  echo "== $ch: delivering $n messages with a pool of $pool_size processes"
  t0=$(now)
  start_pool "$ch"
  wait_done "BENCH-$CH"
  # the run ends when the provider took the last message
  t1=$(psql -c "SELECT extract(epoch FROM max(sent_at)) FROM rekindle.messages WHERE campaign_id = 'BENCH-$CH'")
  peak=0
  for p in "${pool[@]}"; do
    r=$(peak_rss_kb "$p"); [ "${r:-0}" -gt "$peak" ] && peak=$r
  done
  dpeak=$(peak_rss_kb "$dbl")
  kill "${pool[@]}"; wait "${pool[@]}" 2>/dev/null || true
  secs=$(echo "$t1 - $t0" | bc -l)
  sent=$(psql -c "SELECT count(*) FROM rekindle.messages WHERE campaign_id = 'BENCH-$CH' AND state = 'sent'")
  printf 'delivery %s: %s of %s messages sent in %.2f s = %.0f messages/s (target >= 10,000); largest pool process RSS %.1f MB, double RSS %.1f MB\n' \
    "$ch" "$sent" "$n" "$secs" "$(echo "$sent / $secs" | bc -l)" "$(echo "$peak / 1024" | bc -l)" "$(echo "$dpeak / 1024" | bc -l)"
done

# SIGKILLs at full speed (ZNS: held, not sent again). A kill between two
# batches leaves nothing uncertain, one in the middle of a batch leaves
# the batch: KILLS kills at random moments give the mean and the most.
if [ "${BENCH_KILL:-1}" = 1 ]; then
  kills=${KILLS:-5}
  launch BENCH-KILL zns
  echo "== $kills SIGKILLs of a ZNS pool process at full speed, at random moments"
  start_pool zns
  while [ "$(psql -c "SELECT count(*) FROM rekindle.messages WHERE campaign_id = 'BENCH-KILL' AND state = 'sent'")" -lt 10000 ]; do
    sleep 0.1
  done
  per=()
  for k in $(seq 1 "$kills"); do
    sleep "0.$((RANDOM % 9 + 1))"
    victim=${pool[0]}
    kill -9 "$victim"; wait "$victim" 2>/dev/null || true
    # its attempts are swept once their lease (2 s) ran out
    sleep 3
    while [ "$(psql -c "SELECT count(*) FROM rekindle.messages WHERE campaign_id = 'BENCH-KILL'
        AND state = 'sending' AND locked_by LIKE '%:$victim'")" != 0 ]; do sleep 0.5; done
    per+=("$(psql -c "SELECT count(*) FROM rekindle.messages WHERE campaign_id = 'BENCH-KILL'
        AND state = 'uncertain' AND reason LIKE 'the delivery process stopped%'")")
    survivor=${pool[1]}
    start_pool_one zns
    pool=("$survivor" "${pool[-1]}")
  done
  wait_done BENCH-KILL
  kill "${pool[@]}"; wait "${pool[@]}" 2>/dev/null || true
  unc=$(psql -c "SELECT count(*) FROM rekindle.messages WHERE campaign_id = 'BENCH-KILL' AND state = 'uncertain'")
  /usr/bin/python3 -c "import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1]).read().decode())" \
    "$http/_keys/zns" >"$work/zns-keys.json"
  psql -c "SELECT idempotency_key FROM rekindle.messages WHERE campaign_id = 'BENCH-KILL' AND state = 'uncertain'" >"$work/unc-keys.txt"
  taken=$(/usr/bin/python3 -c "import json,sys; k={x['key'] for x in json.load(open(sys.argv[1]))}; print(sum(1 for l in open(sys.argv[2]) if l.strip() in k))" "$work/zns-keys.json" "$work/unc-keys.txt")
  # per[] is cumulative: each kill's own share is the difference
  prev=0 each=()
  for c in "${per[@]}"; do each+=($((c - prev))); prev=$c; done
  max=0; for e in "${each[@]}"; do [ "$e" -gt "$max" ] && max=$e; done
  printf 'SIGKILL at full speed: %d kills left %s ZNS messages uncertain (per kill: %s; mean %.0f, most %d; deliver_batch 256 x %d lanes); the double had taken %s of them; none sent again\n' \
    "$kills" "$unc" "${each[*]}" "$(echo "$unc / $kills" | bc -l)" "$max" "${DELIVER_LANES:-2}" "$taken"
fi
