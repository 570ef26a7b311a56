/*
 * ticket_rpc.c - rekindle.v1.TicketService: the tickets escalation opened
 * (tickets.h), worked by agents.
 *
 *	new -> assigned -> in progress -> contacted -> resolved (registered,
 *	not interested, unreachable, call back at T) -> closed
 *
 * An agent (a token of role agent) sees and changes only their own and
 * their team's tickets: anything else is PERMISSION_DENIED. A call is
 * logged only inside the calling window (08:00-17:00 in the customer's
 * zone) and under the daily cap of advertising calls, through the
 * contact governor. A call-back is a timer (rekindle-timer). A
 * registration through a call is an engagement event like any other: it
 * ends the journey. Every change is in ticket_audit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_rpc.h"
#include "clock.h"
#include "engage.h"
#include "governor.h"
#include "log.h"
#include "pbtime.h"
#include "rekindle/v1/ticket.pb-c.h"
#include "tickets.h"
#include "validate.h"

/* Who is calling: an administrator or service sees everything. */
struct who {
	const char *agent;	/* NULL: admin or service */
	const char *team;
	const char *actor;	/* for the audit trail */
};

static rk_err
caller(rpc_call *c, struct who *w)
{
	arena *a = rpc_arena(c);
	db_res *r;
	rk_err rc;

	memset(w, 0, sizeof(*w));
	w->actor = arena_printf(a, "token:%lld", (long long)rpc_token_id(c));
	if (rpc_role(c) != ROLE_AGENT)
		return (RK_OK);
	if ((w->agent = agent_of_caller(c)) == NULL)
		return (rpc_error(c, RK_EPERM, "this agent token names no agent"));
	if ((rc = db_execp(rpc_db(c), "ticket_caller_team", "SELECT team_id FROM "
	    "agents WHERE agent_id = $1", 1, &w->agent, &r)) != RK_OK)
		return (rc);
	if (db_res_nrows(r) == 1)
		w->team = arena_strdup(a, db_res_str(r, 0, 0));
	db_res_free(r);
	if (w->team == NULL)
		return (rpc_error(c, RK_EPERM, "agent %s is not set up", w->agent));
	w->actor = arena_printf(a, "agent:%s", w->agent);
	return (RK_OK);
}

#define TICKET_SQL                                                         \
	"SELECT t.id, t.customer_id, t.campaign_id, coalesce(t.offer_id, ''), " \
	" t.state, coalesce(t.resolution, 0), t.team_id, "                    \
	" coalesce(t.agent_id, ''), t.priority, " PBTIME_US("t.sla_due_at")   \
	", coalesce(" PBTIME_US("t.call_back_at") ", 0), t.context_summary, " \
	" t.talking_points::text, t.call_attempts, "                          \
	PBTIME_US("t.created_at") ", " PBTIME_US("t.updated_at") " "          \
	"FROM tickets t "

/* The ticket in row of r (TICKET_SQL's columns), without its notes. */
static Rekindle__V1__Ticket *
ticket_view(arena *a, db_res *r, int row)
{
	Rekindle__V1__Ticket *t = arena_alloc(a, sizeof(*t));
	size_t np;

	rekindle__v1__ticket__init(t);
	t->ticket_id = arena_strdup(a, db_res_str(r, row, 0));
	t->customer_id = arena_strdup(a, db_res_str(r, row, 1));
	t->campaign_id = arena_strdup(a, db_res_str(r, row, 2));
	t->offer_id = arena_strdup(a, db_res_str(r, row, 3));
	t->state = (Rekindle__V1__TicketState)db_res_int64(r, row, 4);
	t->resolution = (Rekindle__V1__Resolution)db_res_int64(r, row, 5);
	t->team_id = arena_strdup(a, db_res_str(r, row, 6));
	t->agent_id = arena_strdup(a, db_res_str(r, row, 7));
	t->priority = (int32_t)db_res_int64(r, row, 8);
	t->sla_due_time = pbtime_new(a, db_res_int64(r, row, 9));
	if (db_res_int64(r, row, 10) != 0)
		t->call_back_time = pbtime_new(a, db_res_int64(r, row, 10));
	t->context_summary = arena_strdup(a, db_res_str(r, row, 11));
	t->talking_points = db_array_split(a, db_res_str(r, row, 12), &np);
	t->n_talking_points = np;
	t->call_attempts = (int32_t)db_res_int64(r, row, 13);
	t->create_time = pbtime_new(a, db_res_int64(r, row, 14));
	t->update_time = pbtime_new(a, db_res_int64(r, row, 15));
	return (t);
}

/* Fills in the notes of tickets t[0..n), in ticket id order, with one
 * query. */
static rk_err
add_notes(rpc_call *c, Rekindle__V1__Ticket **t, size_t n)
{
	arena *a = rpc_arena(c);
	const char **ids = arena_alloc(a, sizeof(char *) * (n + 1)), *p[1];
	db_res *r;
	rk_err rc;
	int at = 0;

	for (size_t i = 0; i < n; i++)
		ids[i] = t[i]->ticket_id;
	p[0] = db_text_array(a, ids, n);
	if ((rc = db_execp(rpc_db(c), "ticket_notes", "SELECT ticket_id, "
	    "coalesce(agent_id, ''), text, " PBTIME_US("created_at") ", "
	    "count(*) OVER (PARTITION BY ticket_id) FROM ticket_notes "
	    "WHERE ticket_id = ANY ($1::bigint[]) ORDER BY ticket_id, id", 1, p,
	    &r)) != RK_OK)
		return (rc);
	for (size_t i = 0; i < n; i++) {
		Rekindle__V1__Ticket *tk = t[i];

		tk->n_notes = db_res_group_len(r, at, 0, 4, tk->ticket_id);
		tk->notes = arena_alloc(a, sizeof(void *) * (tk->n_notes + 1));
		for (size_t k = 0; k < tk->n_notes; k++, at++) {
			Rekindle__V1__TicketNote *note = arena_alloc(a,
			    sizeof(*note));

			rekindle__v1__ticket_note__init(note);
			note->author_agent_id = arena_strdup(a, db_res_str(r, at, 1));
			note->text = arena_strdup(a, db_res_str(r, at, 2));
			note->time = pbtime_new(a, db_res_int64(r, at, 3));
			tk->notes[k] = note;
		}
	}
	db_res_free(r);
	return (RK_OK);
}

/* The ticket id's ticket, if the caller may see it (else an error). With
 * lock, the row is locked for a change. */
static rk_err
load_ticket(rpc_call *c, const struct who *w, const char *id, bool lock,
    Rekindle__V1__Ticket **out)
{
	db_res *r;
	rk_err rc;

	if (id == NULL || *id == '\0' || strspn(id, "0123456789") != strlen(id) ||
	    strlen(id) > 18)
		return (rpc_bad_field(c, "ticket_id", "is not a ticket id"));
	rc = db_execp(rpc_db(c), lock ? "ticket_get_lock" : "ticket_get", lock ?
	    TICKET_SQL "WHERE t.id = $1 FOR UPDATE" : TICKET_SQL "WHERE t.id = $1",
	    1, &id, &r);
	if (rc != RK_OK)
		return (rc);
	if (db_res_nrows(r) == 0) {
		db_res_free(r);
		return (rpc_error(c, RK_ENOTFOUND, "no ticket %s", id));
	}
	if (w->agent != NULL && strcmp(db_res_str(r, 0, 7), w->agent) != 0 &&
	    strcmp(db_res_str(r, 0, 6), w->team) != 0) {
		db_res_free(r);
		return (rpc_error(c, RK_EPERM, "ticket %s is another team's", id));
	}
	*out = ticket_view(rpc_arena(c), r, 0);
	db_res_free(r);
	return (add_notes(c, out, 1));
}

/* Runs body inside a transaction and answers with the ticket after it. */
typedef rk_err (*ticket_change_fn)(rpc_call *c, const struct who *w,
    const ProtobufCMessage *req, Rekindle__V1__Ticket *t);

static rk_err
change(rpc_call *c, const ProtobufCMessage *req, const char *id,
    ticket_change_fn body, ProtobufCMessage **resp)
{
	Rekindle__V1__Ticket *t;
	struct who w;
	rk_err rc;

	if ((rc = rpc_fields_ok(c)) != RK_OK || (rc = rpc_begin(c)) != RK_OK)
		return (rc);
	if ((rc = caller(c, &w)) != RK_OK ||
	    (rc = load_ticket(c, &w, id, true, &t)) != RK_OK ||
	    (rc = body(c, &w, req, t)) != RK_OK ||
	    (rc = load_ticket(c, &w, id, false, &t)) != RK_OK ||
	    (rc = db_commit(rpc_db(c))) != RK_OK) {
		db_rollback(rpc_db(c));
		return (rc);
	}
	*resp = &t->base;
	return (RK_OK);
}

static rk_err
get_ticket(rpc_call *c, const ProtobufCMessage *req, ProtobufCMessage **resp)
{
	const Rekindle__V1__GetTicketRequest *r = (const void *)req;
	Rekindle__V1__Ticket *t;
	struct who w;
	rk_err rc;

	if ((rc = caller(c, &w)) != RK_OK ||
	    (rc = load_ticket(c, &w, r->ticket_id, false, &t)) != RK_OK)
		return (rc);
	*resp = &t->base;
	return (RK_OK);
}

static rk_err
list_tickets(rpc_call *c, const ProtobufCMessage *req, ProtobufCMessage **resp)
{
	const Rekindle__V1__ListTicketsRequest *r = (const void *)req;
	Rekindle__V1__ListTicketsResponse *out;
	int size = r->page_size <= 0 || r->page_size > 100 ? 100 : r->page_size;
	arena *a = rpc_arena(c);
	const char *p[6], *tok = r->page_token ? r->page_token : "";
	const char **st = arena_alloc(a, sizeof(char *) * (r->n_states + 1));
	struct who w;
	db_res *res;
	rk_err rc;
	int n;

	if (*tok && strspn(tok, "0123456789") != strlen(tok))
		rpc_bad_field(c, "page_token", "is not a token this server issued");
	if ((rc = rpc_fields_ok(c)) != RK_OK || (rc = caller(c, &w)) != RK_OK)
		return (rc);
	/* an agent lists their team's tickets, and no other team's */
	if (w.agent != NULL && *r->team_id && strcmp(r->team_id, w.team) != 0)
		return (rpc_error(c, RK_EPERM, "team %s is not yours", r->team_id));
	for (size_t i = 0; i < r->n_states; i++)
		st[i] = arena_printf(a, "%d", r->states[i]);
	p[0] = *tok ? tok : "0";
	p[1] = arena_printf(a, "%d", size + 1);
	p[2] = w.agent ? w.team : *r->team_id ? r->team_id : NULL;
	p[3] = *r->agent_id ? r->agent_id : NULL;
	p[4] = *r->campaign_id ? r->campaign_id : NULL;
	p[5] = r->n_states ? db_text_array(a, st, r->n_states) : NULL;
	/* the page and then its notes: two queries, whatever its size */
	if ((rc = db_execp(rpc_read_db(c), "ticket_list", TICKET_SQL
	    "WHERE t.id > $1::bigint AND ($3::text IS NULL OR t.team_id = $3) "
	    "AND ($4::text IS NULL OR t.agent_id = $4) AND ($5::text IS NULL OR "
	    "t.campaign_id = $5) AND ($6::int[] IS NULL OR t.state = ANY ($6)) "
	    "ORDER BY t.id LIMIT $2", 6, p, &res)) != RK_OK)
		return (rc);
	n = db_res_nrows(res);
	out = arena_alloc(a, sizeof(*out));
	rekindle__v1__list_tickets_response__init(out);
	out->n_tickets = (size_t)(n > size ? size : n);
	out->tickets = arena_alloc(a, sizeof(void *) * (out->n_tickets + 1));
	for (size_t i = 0; i < out->n_tickets; i++)
		out->tickets[i] = ticket_view(a, res, (int)i);
	db_res_free(res);
	if ((rc = add_notes(c, out->tickets, out->n_tickets)) != RK_OK)
		return (rc);
	out->next_page_token = n > size ? out->tickets[size - 1]->ticket_id : "";
	*resp = &out->base;
	return (RK_OK);
}

/*
 * The next ticket for the calling agent: their own assigned ones first,
 * then the team's waiting queue; by priority, then age; only customers
 * it is now allowed to call (their calling window, no advertising call
 * in the last 24 hours).
 */
static rk_err
claim_next(rpc_call *c, const ProtobufCMessage *req, ProtobufCMessage **resp)
{
	Rekindle__V1__Ticket *t;
	const char *p[2], *id;
	struct who w;
	db_res *r;
	rk_err rc;

	(void)req;
	if ((rc = rpc_begin(c)) != RK_OK)
		return (rc);
	if ((rc = caller(c, &w)) != RK_OK || w.agent == NULL) {
		db_rollback(rpc_db(c));
		return (rc != RK_OK ? rc : rpc_error(c, RK_EPRECOND,
		    "ClaimNextTicket is for agents' tokens"));
	}
	p[0] = w.agent;
	p[1] = w.team;
	rc = db_execp(rpc_db(c), "ticket_claim", "SELECT t.id FROM tickets t "
	    "JOIN customers cu ON cu.id = t.customer_id WHERE t.state IN (1, 2, "
	    "3, 4) AND (t.agent_id = $1 OR (t.agent_id IS NULL AND "
	    "t.team_id = $2)) AND extract(hour FROM now() AT TIME ZONE "
	    "cu.time_zone) BETWEEN 8 AND 16 AND NOT EXISTS (SELECT 1 FROM "
	    "call_attempts ca WHERE ca.customer_id = t.customer_id AND "
	    "ca.advertising AND ca.called_at > now() - interval '24 hours') "
	    "ORDER BY (t.agent_id IS NULL), t.priority, t.created_at "
	    "LIMIT 1 FOR UPDATE OF t SKIP LOCKED", 2, p, &r);
	if (rc != RK_OK) {
		db_rollback(rpc_db(c));
		return (rc);
	}
	if (db_res_nrows(r) == 0) {
		db_res_free(r);
		db_rollback(rpc_db(c));
		return (rpc_error(c, RK_ENOTFOUND, "no ticket can be called now"));
	}
	id = arena_strdup(rpc_arena(c), db_res_str(r, 0, 0));
	db_res_free(r);
	p[1] = id;
	rc = db_execp(rpc_db(c), "ticket_take", "UPDATE tickets SET agent_id = $1, "
	    "state = greatest(state, 3), updated_at = now() WHERE id = $2::bigint",
	    2, p, NULL);
	if (rc == RK_OK)
		rc = ticket_audit(rpc_db(c), rpc_arena(c), atoll(id), w.actor,
		    "claimed", "agent_id", w.agent);
	if (rc != RK_OK || (rc = load_ticket(c, &w, id, false, &t)) != RK_OK ||
	    (rc = db_commit(rpc_db(c))) != RK_OK) {
		db_rollback(rpc_db(c));
		return (rc);
	}
	*resp = &t->base;
	return (RK_OK);
}

static rk_err
do_update(rpc_call *c, const struct who *w, const ProtobufCMessage *req,
    Rekindle__V1__Ticket *t)
{
	const Rekindle__V1__UpdateTicketRequest *r = (const void *)req;
	const char *p[3] = {t->ticket_id, NULL, NULL};
	rk_err rc = RK_OK;

	for (size_t i = 0; rc == RK_OK && i < r->update_mask->n_paths; i++) {
		const char *path = r->update_mask->paths[i];

		if (strcmp(path, "priority") == 0) {
			p[1] = arena_printf(rpc_arena(c), "%d", r->ticket->priority);
			rc = db_execp(rpc_db(c), "ticket_priority", "UPDATE tickets SET "
			    "priority = $2::int, updated_at = now() WHERE id = "
			    "$1::bigint", 2, p, NULL);
			if (rc == RK_OK)
				rc = ticket_audit(rpc_db(c), rpc_arena(c),
				    atoll(t->ticket_id), w->actor, "priority", "priority",
				    p[1]);
		} else {
			/* state: only resolved -> closed */
			if (t->state != REKINDLE__V1__TICKET_STATE__TICKET_STATE_RESOLVED ||
			    r->ticket->state !=
			    REKINDLE__V1__TICKET_STATE__TICKET_STATE_CLOSED)
				return (rpc_error(c, RK_EPRECOND, "a ticket is closed only "
				    "once resolved"));
			rc = db_execp(rpc_db(c), "ticket_close", "UPDATE tickets SET "
			    "state = 6, closed_at = now(), updated_at = now() WHERE "
			    "id = $1::bigint", 1, p, NULL);
			if (rc == RK_OK)
				rc = ticket_audit(rpc_db(c), rpc_arena(c),
				    atoll(t->ticket_id), w->actor, "closed", NULL, NULL);
		}
	}
	return (rc);
}

static rk_err
update_ticket(rpc_call *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp)
{
	const Rekindle__V1__UpdateTicketRequest *r = (const void *)req;

	if (r->ticket == NULL)
		return (rpc_bad_field(c, "ticket", "is required"));
	if (r->update_mask == NULL || r->update_mask->n_paths == 0)
		return (rpc_bad_field(c, "update_mask", "name the fields to "
		    "change: priority, state"));
	for (size_t i = 0; i < r->update_mask->n_paths; i++)
		if (strcmp(r->update_mask->paths[i], "priority") != 0 &&
		    strcmp(r->update_mask->paths[i], "state") != 0)
			rpc_bad_field(c, arena_printf(rpc_arena(c),
			    "update_mask.paths[%zu]", i), "cannot change \"%s\"",
			    r->update_mask->paths[i]);
	if (r->ticket->priority < 1 || r->ticket->priority > 5)
		for (size_t i = 0; i < r->update_mask->n_paths; i++)
			if (strcmp(r->update_mask->paths[i], "priority") == 0)
				rpc_bad_field(c, "ticket.priority", "must be 1..5");
	return (change(c, req, r->ticket->ticket_id, do_update, resp));
}

/* Agents act on tickets they hold; administrators on any. */
static rk_err
must_hold(rpc_call *c, const struct who *w, const Rekindle__V1__Ticket *t)
{
	if (w->agent != NULL && strcmp(t->agent_id, w->agent) != 0)
		return (rpc_error(c, RK_EPERM, "ticket %s is not yours: claim it "
		    "first", t->ticket_id));
	if (t->state >= REKINDLE__V1__TICKET_STATE__TICKET_STATE_RESOLVED)
		return (rpc_error(c, RK_EPRECOND, "ticket %s is already resolved",
		    t->ticket_id));
	return (RK_OK);
}

static rk_err
do_call(rpc_call *c, const struct who *w, const ProtobufCMessage *req,
    Rekindle__V1__Ticket *t)
{
	const Rekindle__V1__LogCallAttemptRequest *r = (const void *)req;
	const char *p[6];
	struct gov_rules rules;
	struct gov_request q = {.channel = CHANNEL_CALL, .advertising = true};
	struct gov_decision d;
	db_res *res;
	rk_err rc;

	if ((rc = must_hold(c, w, t)) != RK_OK)
		return (rc);
	p[0] = t->customer_id;
	p[1] = r->request_id && *r->request_id ? r->request_id : NULL;
	if ((rc = db_execp(rpc_db(c), "call_context", "SELECT cu.time_zone, "
	    "cu.phone_e164 IS NOT NULL, EXISTS (SELECT 1 FROM customer_consents "
	    "cc WHERE cc.customer_id = cu.id AND cc.channel = 5 AND "
	    "cc.purpose = 1 AND cc.granted), EXISTS (SELECT 1 FROM do_not_call "
	    "d WHERE d.phone_e164 = cu.phone_e164), (SELECT count(*) FROM "
	    "call_attempts ca WHERE ca.customer_id = cu.id AND ca.advertising "
	    "AND ca.called_at > now() - interval '24 hours'), coalesce((SELECT "
	    "(extract(epoch FROM min(called_at)) * 1e6)::int8 FROM "
	    "call_attempts ca WHERE ca.customer_id = cu.id AND ca.advertising "
	    "AND ca.called_at > now() - interval '24 hours'), 0), EXISTS "
	    "(SELECT 1 FROM call_attempts WHERE request_id = $2) FROM "
	    "customers cu WHERE cu.id = $1", 2, p, &res)) != RK_OK)
		return (rc);
	if (db_res_nrows(res) == 1 && db_res_bool(res, 0, 6)) {
		db_res_free(res);		/* logged before: done */
		return (RK_OK);
	}
	gov_default_rules(&rules);
	q.now_us = clock_now_us();
	q.zone = db_res_nrows(res) ? db_res_str(res, 0, 0) : "Asia/Ho_Chi_Minh";
	q.has_address = db_res_nrows(res) && db_res_bool(res, 0, 1);
	q.consent = db_res_nrows(res) && db_res_bool(res, 0, 2);
	q.do_not_call = db_res_nrows(res) && db_res_bool(res, 0, 3);
	q.sent_24h = db_res_nrows(res) ? (int)db_res_int64(res, 0, 4) : 0;
	q.oldest_us = db_res_nrows(res) ? db_res_int64(res, 0, 5) : 0;
	gov_decide(&rules, &q, &d);
	db_res_free(res);
	if (d.verdict != GOV_SEND)
		return (rpc_error(c, RK_EPRECOND, "the contact governor does not "
		    "allow this call now: %s", gov_reason_code(d.reason)));
	p[0] = t->ticket_id;
	p[2] = t->customer_id;
	p[3] = w->agent ? w->agent : t->agent_id;
	p[4] = r->reached ? "true" : "false";
	p[5] = r->note && *r->note ? r->note : NULL;
	rc = db_execp(rpc_db(c), "call_insert", "WITH ins AS (INSERT INTO "
	    "call_attempts (ticket_id, request_id, customer_id, agent_id, "
	    "reached, note) VALUES ($1::bigint, $2, $3, $4, $5::bool, $6)) "
	    "UPDATE tickets SET call_attempts = call_attempts + 1, "
	    "first_contact_at = CASE WHEN $5::bool THEN coalesce(first_contact_at, "
	    "now()) ELSE first_contact_at END, state = CASE WHEN $5::bool THEN 4 "
	    "ELSE greatest(state, 3) END, updated_at = now() "
	    "WHERE id = $1::bigint", 6, p, NULL);
	if (rc == RK_OK)
		rc = ticket_audit(rpc_db(c), rpc_arena(c), atoll(t->ticket_id),
		    w->actor, r->reached ? "called: reached" : "called: not reached",
		    NULL, NULL);
	return (rc);
}

static rk_err
log_call(rpc_call *c, const ProtobufCMessage *req, ProtobufCMessage **resp)
{
	const Rekindle__V1__LogCallAttemptRequest *r = (const void *)req;
	const char *why;

	if (r->request_id && *r->request_id &&
	    (why = validate_id(r->request_id)) != NULL)
		rpc_bad_field(c, "request_id", "%s", why);
	if ((why = validate_text(r->note, 2000)) != NULL)
		rpc_bad_field(c, "note", "%s", why);
	return (change(c, req, r->ticket_id, do_call, resp));
}

static rk_err
do_resolve(rpc_call *c, const struct who *w, const ProtobufCMessage *req,
    Rekindle__V1__Ticket *t)
{
	const Rekindle__V1__ResolveTicketRequest *r = (const void *)req;
	arena *a = rpc_arena(c);
	const char *p[3] = {t->ticket_id, arena_printf(a, "%d", r->resolution),
	    NULL};
	rk_err rc;

	if ((rc = must_hold(c, w, t)) != RK_OK)
		return (rc);
	if (r->resolution == REKINDLE__V1__RESOLUTION__RESOLUTION_CALL_BACK)
		p[2] = arena_printf(a, "%lld", (long long)pbtime_us(
		    r->call_back_time));
	rc = db_execp(rpc_db(c), "ticket_resolve", "UPDATE tickets SET state = 5, "
	    "resolution = $2::smallint, call_back_at = CASE WHEN $3::bigint IS "
	    "NULL THEN NULL ELSE timestamptz 'epoch' + $3::bigint * "
	    "interval '1 microsecond' END, updated_at = now() WHERE id = "
	    "$1::bigint", 3, p, NULL);
	if (rc == RK_OK && r->note && *r->note)
		rc = db_execp(rpc_db(c), "ticket_note_add", "INSERT INTO ticket_notes "
		    "(ticket_id, agent_id, text) VALUES ($1::bigint, $2, $3)", 3,
		    (const char *[]){t->ticket_id, w->agent, r->note}, NULL);
	if (rc == RK_OK)
		rc = ticket_audit(rpc_db(c), a, atoll(t->ticket_id), w->actor,
		    "resolved", "resolution", p[1]);
	if (rc != RK_OK)
		return (rc);
	switch (r->resolution) {
	case REKINDLE__V1__RESOLUTION__RESOLUTION_CALL_BACK:
		/* the call-back is a timer; the ticket comes back then, and
		 * the first-contact SLA still stands */
		return (db_execp(rpc_db(c), "ticket_callback_timer", "INSERT INTO "
		    "timers (kind, due_at, ticket_id, campaign_id, customer_id, seq) "
		    "SELECT 3, call_back_at, id, campaign_id, customer_id, "
		    "(SELECT count(*) FROM timers WHERE kind = 3 AND ticket_id = "
		    "$1::bigint) FROM tickets WHERE id = $1::bigint", 1, p, NULL));
	case REKINDLE__V1__RESOLUTION__RESOLUTION_REGISTERED: {
		/* an event like any other: the journey ends */
		struct engage_event e = {.event_id = arena_printf(a,
		    "ticket:%s:registered", t->ticket_id), .type = EV_REGISTERED};
		struct evidence_rules rules;
		db_res *m;

		if ((rc = db_execp(rpc_db(c), "ticket_first_message", "SELECT id "
		    "FROM messages WHERE campaign_id = $1 AND customer_id = $2 "
		    "ORDER BY step LIMIT 1", 2, (const char *[]){t->campaign_id,
		    t->customer_id}, &m)) != RK_OK)
			return (rc);
		e.message_id = db_res_nrows(m) ? db_res_int64(m, 0, 0) : 0;
		db_res_free(m);
		engage_rules(&rules);
		rc = engage_record(rpc_db(c), a, &rules, var_policy_hour_seconds,
		    &e, 1);
		break;
	}
	default:
		rc = db_execp(rpc_db(c), "ticket_journey_end", "UPDATE "
		    "campaign_members SET journey = 'finished', journey_at = now() "
		    "WHERE campaign_id = $1 AND customer_id = $2 AND journey = "
		    "'escalated'", 2, (const char *[]){t->campaign_id,
		    t->customer_id}, NULL);
	}
	/* no SLA left to watch */
	if (rc == RK_OK)
		rc = db_execp(rpc_db(c), "ticket_sla_done", "UPDATE timers SET "
		    "state = 'cancelled', outcome = 'resolved' WHERE kind = 4 AND "
		    "ticket_id = $1::bigint AND state = 'pending'", 1, p, NULL);
	return (rc);
}

static rk_err
resolve_ticket(rpc_call *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp)
{
	const Rekindle__V1__ResolveTicketRequest *r = (const void *)req;
	const char *why;

	if (r->resolution < 1 || r->resolution > 4)
		rpc_bad_field(c, "resolution", "registered, not interested, "
		    "unreachable or call back");
	if (r->resolution == REKINDLE__V1__RESOLUTION__RESOLUTION_CALL_BACK &&
	    (r->call_back_time == NULL || pbtime_us(r->call_back_time) <=
	    clock_now_us()))
		rpc_bad_field(c, "call_back_time", "a call back needs a time in "
		    "the future");
	if ((why = validate_text(r->note, 2000)) != NULL)
		rpc_bad_field(c, "note", "%s", why);
	return (change(c, req, r->ticket_id, do_resolve, resp));
}

static rk_err
do_note(rpc_call *c, const struct who *w, const ProtobufCMessage *req,
    Rekindle__V1__Ticket *t)
{
	const Rekindle__V1__AddNoteRequest *r = (const void *)req;
	rk_err rc;

	rc = db_execp(rpc_db(c), "ticket_note_add", "INSERT INTO ticket_notes "
	    "(ticket_id, agent_id, text) VALUES ($1::bigint, $2, $3)", 3,
	    (const char *[]){t->ticket_id, w->agent, r->text}, NULL);
	if (rc == RK_OK)
		rc = ticket_audit(rpc_db(c), rpc_arena(c), atoll(t->ticket_id),
		    w->actor, "note", NULL, NULL);
	return (rc);
}

static rk_err
add_note(rpc_call *c, const ProtobufCMessage *req, ProtobufCMessage **resp)
{
	const Rekindle__V1__AddNoteRequest *r = (const void *)req;
	const char *why;

	if ((why = validate_text(r->text, 2000)) != NULL || *r->text == '\0')
		rpc_bad_field(c, "text", "%s", why ? why : "is required");
	return (change(c, req, r->ticket_id, do_note, resp));
}

const struct rpc_handler ticket_handlers[] = {
	{.path = "/rekindle.v1.TicketService/GetTicket", .unary = get_ticket},
	{.path = "/rekindle.v1.TicketService/ListTickets", .unary = list_tickets},
	{.path = "/rekindle.v1.TicketService/ClaimNextTicket",
	    .unary = claim_next},
	{.path = "/rekindle.v1.TicketService/UpdateTicket", .unary = update_ticket},
	{.path = "/rekindle.v1.TicketService/LogCallAttempt",
	    .unary = log_call},
	{.path = "/rekindle.v1.TicketService/ResolveTicket",
	    .unary = resolve_ticket},
	{.path = "/rekindle.v1.TicketService/AddNote", .unary = add_note},
	{.path = NULL},
};
