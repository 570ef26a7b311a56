/*
 * tickets.c - tickets in SQL; the call decision through governor.h; the
 * context and talking points written here, in Vietnamese, from the
 * profile, the offer and the events.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel.h"
#include "clock.h"
#include "governor.h"
#include "log.h"
#include "tickets.h"

rk_err
ticket_audit(db_conn *db, arena *a, int64_t ticket_id, const char *actor,
    const char *action, const char *key, const char *value)
{
	const char *p[5] = {arena_printf(a, "%lld", (long long)ticket_id), actor,
	    action, key, value};

	return (db_execp(db, "ticket_audit", "INSERT INTO ticket_audit "
	    "(ticket_id, actor, action, detail) VALUES ($1, $2, $3, "
	    "CASE WHEN $4::text IS NULL THEN '{}'::jsonb ELSE "
	    "jsonb_build_object($4::text, $5::text) END)", 5, p, NULL));
}

/* The words of a lifecycle state. */
static const char *
state_words(const char *s)
{
	static const char *const map[][2] = {{"new", "khách mới"},
	    {"active", "đang hoạt động"}, {"at_risk", "có nguy cơ rời bỏ"},
	    {"dormant", "ngủ đông"}, {"lost", "đã rời bỏ"}};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(s, map[i][0]) == 0)
			return (map[i][1]);
	return ("chưa rõ");
}

#define OPEN_SQL                                                           \
	"SELECT mb.journey, k.rem_ticket_team_id, cu.phone_e164 IS NOT NULL, " \
	" cu.time_zone, coalesce(cu.language, 'vi'), "                         \
	" EXISTS (SELECT 1 FROM customer_consents cc WHERE "                   \
	"  cc.customer_id = cu.id AND cc.channel = 5 AND cc.purpose = 1 AND "  \
	"  cc.granted), "                                                      \
	" EXISTS (SELECT 1 FROM do_not_call d WHERE "                          \
	"  d.phone_e164 = cu.phone_e164), "                                    \
	" coalesce(p.state, ''), coalesce(p.days_since_last, 0), "             \
	" coalesce(p.median_gap_days, 0), "                                    \
	" coalesce(to_char(p.churn_risk, 'FM0.00'), 'chưa chấm điểm'), "      \
	" coalesce(array_to_string(coalesce(p.churn_reasons_vi, "             \
	"  p.churn_reasons), '; '), ''), "                                    \
	" coalesce(p.top_partner, ''), coalesce(p.top_category, ''), "         \
	" mb.offer_id, coalesce(o.title, ''), "                                \
	" coalesce(pa.display_name, o.partner_id, ''), "                       \
	" coalesce(mb.voucher_code, ''), "                                     \
	" coalesce(to_char(o.valid_until AT TIME ZONE cu.time_zone, "          \
	"  'DD/MM/YYYY'), ''), "                                               \
	" coalesce((SELECT string_agg(to_char(e.occurred_at AT TIME ZONE "    \
	"  cu.time_zone, 'DD/MM HH24:MI') || ' ' || (ARRAY['nhận tin', "      \
	"  'mở thư', 'bấm liên kết', 'đăng ký', 'huỷ nhận tin', 'không gửi " \
	"  được', 'báo rác', 'mở ứng dụng', 'xem trang ưu đãi'])[e.type] || "  \
	"  ' (' || (ARRAY['email', 'SMS', 'Zalo', 'push'])[e.channel] || ')', " \
	"  '; ' ORDER BY e.occurred_at) FROM events e WHERE "                 \
	"  e.campaign_id = mb.campaign_id AND e.customer_id = mb.customer_id " \
	"  AND e.evidence <> 3), ''), "                                        \
	" (SELECT t.sla_business_hours FROM teams t WHERE "                    \
	"  t.team_id = k.rem_ticket_team_id) "                                 \
	"FROM campaign_members mb "                                            \
	"JOIN campaigns k ON k.campaign_id = mb.campaign_id "                  \
	"JOIN customers cu ON cu.id = mb.customer_id "                         \
	"LEFT JOIN customer_profiles p ON p.customer_id = mb.customer_id "     \
	"LEFT JOIN offers o ON o.offer_id = mb.offer_id "                      \
	"LEFT JOIN partners pa ON pa.partner_id = o.partner_id "               \
	"WHERE mb.campaign_id = $1 AND mb.customer_id = $2 FOR UPDATE OF mb"

rk_err
ticket_open(db_conn *db, arena *a, const char *campaign_id,
    const char *customer_id, int hour_s, int64_t *ticket_id,
    const char **why)
{
	const char *p[2] = {campaign_id, customer_id}, *team, *summary,
	    *points[5];
	struct gov_rules rules;
	struct gov_request q = {.channel = CHANNEL_CALL, .advertising = true};
	struct gov_decision d;
	int np = 0;
	db_res *r;
	rk_err rc;

	*ticket_id = 0;
	*why = NULL;
	if ((rc = db_execp(db, "ticket_open_ctx", OPEN_SQL, 2, p, &r)) != RK_OK)
		return (rc);
	if (db_res_nrows(r) == 0) {
		db_res_free(r);
		*why = "not a member of the campaign";
		return (RK_OK);
	}
	if (strcmp(db_res_str(r, 0, 0), "open") != 0) {
		db_res_free(r);
		*why = "journey already ended";
		return (RK_OK);
	}
	if (db_res_isnull(r, 0, 1) || db_res_isnull(r, 0, 20)) {
		db_res_free(r);
		*why = "the campaign names no ticket team";
		goto finish;
	}
	team = arena_strdup(a, db_res_str(r, 0, 1));
	gov_default_rules(&rules);
	q.now_us = clock_now_us();
	q.zone = db_res_str(r, 0, 3);
	q.has_address = db_res_bool(r, 0, 2);
	q.consent = db_res_bool(r, 0, 5);
	q.do_not_call = db_res_bool(r, 0, 6);
	gov_decide(&rules, &q, &d);
	if (d.verdict == GOV_DENY) {
		*why = gov_reason_code(d.reason);
		db_res_free(r);
		goto finish;
	}
	summary = arena_printf(a, "Khách hàng %s, %lld ngày không giao dịch "
	    "thẻ (thường %.0f ngày/lần); rủi ro rời bỏ %s%s%s. Hay chi tiêu: "
	    "%s%s%s. Ưu đãi: %s%s%s%s%s, hạn %s. Tương tác: %s.",
	    state_words(db_res_str(r, 0, 7)), (long long)db_res_int64(r, 0, 8),
	    db_res_double(r, 0, 9), db_res_str(r, 0, 10),
	    *db_res_str(r, 0, 11) ? " - " : "", db_res_str(r, 0, 11),
	    *db_res_str(r, 0, 12) ? db_res_str(r, 0, 12) : "",
	    *db_res_str(r, 0, 12) && *db_res_str(r, 0, 13) ? ", " : "",
	    db_res_str(r, 0, 13), db_res_str(r, 0, 15),
	    *db_res_str(r, 0, 16) ? " tại " : "", db_res_str(r, 0, 16),
	    *db_res_str(r, 0, 17) ? ", mã " : "", db_res_str(r, 0, 17),
	    db_res_str(r, 0, 18), *db_res_str(r, 0, 19) ? db_res_str(r, 0, 19) :
	    "chưa có");
	points[np++] = arena_printf(a, "Giới thiệu ưu đãi dành riêng: %s%s%s.",
	    db_res_str(r, 0, 15), *db_res_str(r, 0, 16) ? " tại " : "",
	    db_res_str(r, 0, 16));
	if (*db_res_str(r, 0, 12))
		points[np++] = arena_printf(a, "Khách hay mua sắm tại %s: nhắc ưu "
		    "đãi dùng được ngay ở đó.", db_res_str(r, 0, 12));
	points[np++] = arena_strdup(a, "Khách đã quan tâm (bấm xem ưu đãi) "
	    "nhưng chưa đăng ký: hỏi khách có cần hỗ trợ đăng ký không.");
	if (*db_res_str(r, 0, 18))
		points[np++] = arena_printf(a, "Ưu đãi còn hạn đến %s.",
		    db_res_str(r, 0, 18));
	points[np++] = arena_strdup(a, "Nếu khách không muốn nhận cuộc gọi "
	    "tiếp thị: ghi nhận và kết thúc (không quan tâm).");
	{
		const char *ins[9] = {campaign_id, customer_id, team,
		    db_res_isnull(r, 0, 14) ? NULL : arena_strdup(a,
		    db_res_str(r, 0, 14)), summary, db_text_array(a, points,
		    (size_t)np), arena_printf(a, "{lang:%s}", db_res_str(r, 0, 4)),
		    arena_printf(a, "%lld", (long long)db_res_int64(r, 0, 20)),
		    arena_printf(a, "%d", hour_s)};
		db_res *t;

		db_res_free(r);
		/* SLA hours ($8) are business hours on the real clock; a
		 * compressed clock ($9 seconds an hour) runs them straight */
		rc = db_execp(db, "ticket_insert", "INSERT INTO tickets "
		    "(campaign_id, customer_id, team_id, offer_id, "
		    "context_summary, talking_points, needs_skills, sla_due_at) "
		    "VALUES ($1, $2, $3, $4, $5, $6::text[], $7::text[], "
		    "CASE WHEN $9::int = 3600 THEN business_add(now(), $8::int * "
		    "60, 'Asia/Ho_Chi_Minh') ELSE now() + $8::int * $9::int * "
		    "interval '1 second' END) "
		    "ON CONFLICT DO NOTHING RETURNING id", 9, ins, &t);
		if (rc != RK_OK)
			return (rc);
		if (db_res_nrows(t) == 0) {
			db_res_free(t);
			*why = "a ticket is already open";
			return (RK_OK);
		}
		*ticket_id = db_res_int64(t, 0, 0);
		db_res_free(t);
	}
	p[0] = arena_printf(a, "%lld", (long long)*ticket_id);
	if ((rc = ticket_audit(db, a, *ticket_id, "timer", "opened", "team_id",
	    team)) != RK_OK)
		return (rc);
	/* the SLA timer: first contact due */
	rc = db_execp(db, "ticket_sla_timer", "INSERT INTO timers (kind, due_at, "
	    "ticket_id, campaign_id, customer_id) SELECT 4, sla_due_at, id, "
	    "campaign_id, customer_id FROM tickets WHERE id = $1 "
	    "ON CONFLICT DO NOTHING", 1, p, NULL);
	if (rc == RK_OK)
		rc = db_execp(db, "ticket_journey", "UPDATE campaign_members SET "
		    "journey = 'escalated', journey_at = now() WHERE "
		    "campaign_id = $1 AND customer_id = $2", 2,
		    (const char *[]){campaign_id, customer_id}, NULL);
	if (rc == RK_OK)
		rc = ticket_route(db, a, *ticket_id, NULL, "timer", &team);
	return (rc);
finish:
	/* no call may be made: the journey ends here, and says why */
	return (db_execp(db, "ticket_no_call", "UPDATE campaign_members SET "
	    "journey = 'finished', journey_at = now() WHERE campaign_id = $1 "
	    "AND customer_id = $2 AND journey = 'open'", 2, p, NULL));
}

/* The agent chosen for a ticket by its team's routing. */
#define ROUTE_SQL                                                          \
	"WITH tk AS (SELECT t.id, t.team_id, t.needs_skills, m.routing "      \
	" FROM tickets t JOIN teams m ON m.team_id = t.team_id "              \
	" WHERE t.id = $1) "                                                  \
	"SELECT a.agent_id FROM agents a JOIN tk ON tk.team_id = a.team_id "  \
	"CROSS JOIN LATERAL (SELECT count(*) AS n FROM tickets o "            \
	" WHERE o.agent_id = a.agent_id AND o.state < 5) l "                  \
	"WHERE a.available AND a.agent_id IS DISTINCT FROM $2 "               \
	" AND l.n < a.capacity "                                              \
	" AND extract(isodow FROM now() AT TIME ZONE a.time_zone)::smallint " \
	"  = ANY (a.work_days) "                                               \
	" AND extract(hour FROM now() AT TIME ZONE a.time_zone) * 60 + "      \
	"  extract(minute FROM now() AT TIME ZONE a.time_zone) "              \
	"  >= a.work_start_min "                                              \
	" AND extract(hour FROM now() AT TIME ZONE a.time_zone) * 60 + "      \
	"  extract(minute FROM now() AT TIME ZONE a.time_zone) "              \
	"  < a.work_end_min "                                                 \
	" AND (tk.routing <> 3 OR a.skills @> tk.needs_skills) "              \
	"ORDER BY CASE WHEN tk.routing = 1 THEN 0 ELSE l.n END, "             \
	" a.last_assigned_at NULLS FIRST, a.agent_id LIMIT 1"

rk_err
ticket_route(db_conn *db, arena *a, int64_t ticket_id,
    const char *except_agent, const char *actor, const char **agent_id)
{
	const char *p[2] = {arena_printf(a, "%lld", (long long)ticket_id),
	    except_agent};
	db_res *r;
	rk_err rc;

	*agent_id = NULL;
	/* one router per team at a time: the capacity count holds (NO KEY:
	 * new tickets keep their foreign-key share lock on the team, so a
	 * router never waits on a ticket being opened) */
	if ((rc = db_execp(db, "ticket_route_lock", "SELECT 1 FROM teams m "
	    "JOIN tickets t ON t.team_id = m.team_id WHERE t.id = $1 "
	    "FOR NO KEY UPDATE OF m", 1, p, NULL)) != RK_OK)
		return (rc);
	if ((rc = db_execp(db, "ticket_route", ROUTE_SQL, 2, p, &r)) != RK_OK)
		return (rc);
	if (db_res_nrows(r) == 0) {
		db_res_free(r);
		return (ticket_audit(db, a, ticket_id, actor, "queued", "why",
		    "no available agent with room"));
	}
	*agent_id = arena_strdup(a, db_res_str(r, 0, 0));
	db_res_free(r);
	p[1] = *agent_id;
	rc = db_execp(db, "ticket_assign", "WITH t AS (UPDATE tickets SET "
	    "agent_id = $2, state = 2, updated_at = now() WHERE id = $1 "
	    "RETURNING 1) UPDATE agents SET last_assigned_at = clock_timestamp() "
	    "WHERE agent_id = $2", 2, p, NULL);
	if (rc == RK_OK)
		rc = ticket_audit(db, a, ticket_id, actor, "assigned", "agent_id",
		    *agent_id);
	return (rc);
}

rk_err
ticket_reassign_agent(db_conn *db, arena *a, const char *agent_id,
    const char *actor, int *n)
{
	const char *p[1] = {agent_id}, *to;
	db_res *r;
	rk_err rc;

	*n = 0;
	rc = db_execp(db, "ticket_unassign", "UPDATE tickets SET agent_id = NULL, "
	    "state = 1, updated_at = now() WHERE agent_id = $1 AND state < 5 "
	    "RETURNING id", 1, p, &r);
	if (rc != RK_OK)
		return (rc);
	for (int i = 0; rc == RK_OK && i < db_res_nrows(r); i++) {
		int64_t id = db_res_int64(r, i, 0);

		rc = ticket_audit(db, a, id, actor, "unassigned: agent unavailable",
		    "agent_id", agent_id);
		if (rc == RK_OK)
			rc = ticket_route(db, a, id, agent_id, actor, &to);
		(*n)++;
	}
	db_res_free(r);
	return (rc);
}
