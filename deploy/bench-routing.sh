#!/usr/bin/env bash
# bench-routing.sh - escalation to tickets and their routing: TICKETS
# customers whose last reminder went unanswered, escalation timers all due
# at once, fired by POOL timer processes; each opens a ticket (contact
# governor, context, SLA timer) and routes it in a team of AGENTS agents
# (least-loaded, capacity 1000 each). Reports tickets opened and assigned
# per second.
# Usage: deploy/bench-routing.sh [TICKETS] [AGENTS] [POOL]   (default 20,000, 50, 2)
tickets=${1:-20000}
agents=${2:-50}
pool_size=${3:-2}
. "$(dirname "$0")/bench-lib.sh"

echo "== $tickets interested customers who did not register, a team of $agents agents"
"$bin/rekindlectl" call AgentService/CreateTeam '{"team": {"team_id": "BENCH", "name": "Bench",
  "routing": "ROUTING_MODE_LEAST_LOADED"}}' >/dev/null
for i in $(seq 1 "$agents"); do
  "$bin/rekindlectl" call AgentService/CreateAgent "{\"agent\": {\"agent_id\": \"A$i\",
    \"team_id\": \"BENCH\", \"display_name\": \"Agent $i\", \"capacity\": 1000,
    \"available\": true, \"working_hours\": \"Mon-Sun 00:00-24:00\"}}" >/dev/null
done
bench_customers R "$tickets"
psql -c "INSERT INTO rekindle.customer_consents (customer_id, channel, purpose, granted,
         granted_at, source) SELECT id, 5, 1, true, now(), 'bench' FROM rekindle.customers"
bench_sms_offer RB
"$bin/rekindlectl" call CampaignService/CreateCampaign '{"campaign": {"campaign_id": "RB",
  "name": "Routing", "fallback_offer_id": "RB", "channel_order": ["CHANNEL_SMS"],
  "reminders": {"delay_hours": 1, "max_reminders": 1, "channels": ["CHANNEL_SMS"],
    "escalate_to_ticket": true, "ticket_team_id": "BENCH"}}}' >/dev/null
# The campaign as a launch and its reminders leave it (bench-launch.sh and
# bench-timer.sh measure those steps).
psql -c "UPDATE rekindle.campaigns SET state = 3 WHERE campaign_id = 'RB'"
psql -c "INSERT INTO rekindle.campaign_members (campaign_id, customer_id, status, offer_id,
         offer_basis, interest_at, reminders) SELECT 'RB', id, 'treatment', 'RB', 'fallback',
         now(), 1 FROM rekindle.customers WHERE id LIKE 'R%'"
psql -c "INSERT INTO rekindle.timers (kind, due_at, campaign_id, customer_id)
         SELECT 2, now() + interval '20 seconds', 'RB', id FROM rekindle.customers
         WHERE id LIKE 'R%'"
psql -c "VACUUM ANALYZE"
pool=()
for _ in $(seq 1 "$pool_size"); do
  "$bin/rekindle-timer" >>"$work/timer.log" 2>&1 & pids+=($!); pool+=($!)
done
# (the escalations; each ticket's SLA timer stays pending, hours ahead)
while [ "$(psql -c "SELECT count(*) FROM rekindle.timers WHERE kind = 2 AND state = 'fired'")" != "$tickets" ]; do
  sleep 1
done
psql -c "SELECT format('tickets: %s opened, %s assigned to an agent, %s waiting in the team queue; routing %s tickets assigned/s over %s s; busiest agent %s open, idlest %s',
    (SELECT count(*) FROM rekindle.tickets),
    (SELECT count(*) FROM rekindle.tickets WHERE agent_id IS NOT NULL),
    (SELECT count(*) FROM rekindle.tickets WHERE agent_id IS NULL),
    round(count(*) / nullif(extract(epoch FROM max(at) - min(at)), 0)::numeric),
    round(extract(epoch FROM max(at) - min(at))::numeric, 2),
    (SELECT max(n) FROM (SELECT count(*) n FROM rekindle.tickets GROUP BY agent_id) s),
    (SELECT min(n) FROM (SELECT count(*) n FROM rekindle.tickets WHERE agent_id IS NOT NULL GROUP BY agent_id) s))
  FROM rekindle.ticket_audit WHERE action = 'assigned'"
