/*
 * engagement_rpc.c - rekindle.v1.EngagementService: events from the
 * bank's systems and apps (RecordEvents, by message token), provider
 * delivery receipts (RecordDeliveryReceipts, by the idempotency key the
 * provider was given), and the events of a customer or campaign
 * (ListEvents). Recording and its effects: engage.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "channel.h"
#include "clock.h"
#include "config.h"
#include "engage.h"
#include "engagement_rpc.h"
#include "log.h"
#include "msgkey.h"
#include "msgtoken.h"
#include "pbtime.h"
#include "rekindle/v1/engagement.pb-c.h"
#include "validate.h"

#define MAX_EVENTS 1000
#define MAX_EVENT_ID 128

/* Records ev[0..n) in one transaction and counts the results. */
static rk_err
record(rpc_call *c, struct engage_event *ev, size_t n,
    Rekindle__V1__RecordEventsResponse **out)
{
	struct evidence_rules r;
	rk_err rc;

	engage_rules(&r);
	/* a transient conflict (deadlock, serialization) is tried again:
	 * the events are keyed, so a repeat records nothing twice */
	for (int attempt = 1;; attempt++) {
		if ((rc = rpc_begin(c)) != RK_OK)
			return (rc);
		if ((rc = engage_record(rpc_db(c), rpc_arena(c), &r,
		    var_policy_hour_seconds, ev, n)) == RK_OK &&
		    (rc = db_commit(rpc_db(c))) == RK_OK)
			break;
		db_rollback(rpc_db(c));
		if (rc != RK_ERETRY || attempt == 3)
			return (rc);
	}
	*out = arena_alloc(rpc_arena(c), sizeof(**out));
	rekindle__v1__record_events_response__init(*out);
	for (size_t i = 0; i < n; i++)
		if (ev[i].result == ENGAGE_RECORDED)
			(*out)->recorded++;
		else if (ev[i].result == ENGAGE_DUPLICATE)
			(*out)->duplicate++;
		else
			(*out)->unknown_token++;
	log_info("ENGAGE-RECORD", "%zu events: %d recorded, %d duplicate, %d "
	    "unknown", n, (*out)->recorded, (*out)->duplicate,
	    (*out)->unknown_token);
	return (RK_OK);
}

static rk_err
record_events(rpc_call *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp)
{
	const Rekindle__V1__RecordEventsRequest *r = (const void *)req;
	Rekindle__V1__RecordEventsResponse *out;
	arena *a = rpc_arena(c);
	struct engage_event *ev;
	const char *why;
	rk_err rc;

	if (*var_tracking_secret == '\0')
		return (rpc_error(c, RK_EPRECOND, "tracking_secret is not "
		    "configured: message tokens cannot be verified"));
	if (r->n_events == 0 || r->n_events > MAX_EVENTS)
		rpc_bad_field(c, "events", "1..%d events per call", MAX_EVENTS);
	ev = arena_zalloc(a, sizeof(*ev) * (r->n_events + 1));
	for (size_t i = 0; i < r->n_events; i++) {
		const Rekindle__V1__Event *e = r->events[i];
		const char *f = arena_printf(a, "events[%zu]", i);

		if ((why = validate_text(e->event_id, MAX_EVENT_ID)) != NULL ||
		    *e->event_id == '\0')
			rpc_bad_field(c, arena_printf(a, "%s.event_id", f), "%s",
			    why ? why : "is required");
		if ((int)e->type < 1 || (int)e->type > (int)EV_TYPE_MAX)
			rpc_bad_field(c, arena_printf(a, "%s.type", f), "is not an "
			    "event type");
		if (e->token == NULL || *e->token == '\0')
			rpc_bad_field(c, arena_printf(a, "%s.token", f), "is required");
		if ((why = validate_text(e->user_agent, 512)) != NULL)
			rpc_bad_field(c, arena_printf(a, "%s.user_agent", f), "%s", why);
		if ((why = validate_text(e->source_ip, 64)) != NULL)
			rpc_bad_field(c, arena_printf(a, "%s.source_ip", f), "%s", why);
		if (e->time != NULL && pbtime_us(e->time) > clock_now_us() +
		    INT64_C(300000000))
			rpc_bad_field(c, arena_printf(a, "%s.time", f), "is in the "
			    "future");
		ev[i].event_id = e->event_id;
		ev[i].type = (enum ev_type)e->type;
		ev[i].time_us = e->time ? pbtime_us(e->time) : 0;
		ev[i].user_agent = e->user_agent;
		ev[i].source_ip = e->source_ip;
		/* A token that does not verify is counted, not refused: links
		 * get mangled in the wild. */
		if (e->token != NULL && !msgtoken_verify(var_tracking_secret,
		    e->token, strlen(e->token), &ev[i].message_id))
			ev[i].message_id = 0;
	}
	if ((rc = rpc_fields_ok(c)) != RK_OK)
		return (rc);
	if ((rc = record(c, ev, r->n_events, &out)) != RK_OK)
		return (rc);
	*resp = &out->base;
	return (RK_OK);
}

/* A receipt's status as an event type, 0 if not one rekindle knows. */
static int
receipt_type(const char *status)
{
	static const char *const delivered[] = {"delivered", "DELIVERED",
	    "user_received_message", "DELIVRD", "2", NULL}, *const failed[] =
	    {"failed", "FAILED", "undelivered", "UNDELIV", "rejected", "REJECTD",
	    "EXPIRED", "3", NULL};

	for (int i = 0; delivered[i]; i++)
		if (strcmp(status, delivered[i]) == 0)
			return (EV_DELIVERED);
	for (int i = 0; failed[i]; i++)
		if (strcmp(status, failed[i]) == 0)
			return (EV_BOUNCED);
	return (0);
}

static rk_err
record_receipts(rpc_call *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp)
{
	const Rekindle__V1__RecordDeliveryReceiptsRequest *r = (const void *)req;
	Rekindle__V1__RecordEventsResponse *out;
	arena *a = rpc_arena(c);
	struct engage_event *ev;
	const char **camp, **cust, **step, **entry;
	db_res *res;
	rk_err rc;

	if (r->n_receipts == 0 || r->n_receipts > MAX_EVENTS)
		rpc_bad_field(c, "receipts", "1..%d receipts per call", MAX_EVENTS);
	ev = arena_zalloc(a, sizeof(*ev) * (r->n_receipts + 1));
	camp = arena_zalloc(a, sizeof(char *) * (r->n_receipts + 1));
	cust = arena_zalloc(a, sizeof(char *) * (r->n_receipts + 1));
	step = arena_zalloc(a, sizeof(char *) * (r->n_receipts + 1));
	entry = arena_zalloc(a, sizeof(char *) * (r->n_receipts + 1));
	for (size_t i = 0; i < r->n_receipts; i++) {
		const Rekindle__V1__DeliveryReceipt *d = r->receipts[i];
		const char *f = arena_printf(a, "receipts[%zu]", i);
		int type = d->status ? receipt_type(d->status) : 0;
		struct msgkey k;

		if ((int)d->channel < CHANNEL_EMAIL || (int)d->channel > CHANNEL_PUSH)
			rpc_bad_field(c, arena_printf(a, "%s.channel", f), "is not a "
			    "message channel");
		/* campaign:customer:step:channel[:entry] as sent (msgkey.h) */
		if (d->tracking_id == NULL || validate_text(d->tracking_id, 300) ||
		    !msgkey_parse(d->tracking_id, &k))
			rpc_bad_field(c, arena_printf(a, "%s.tracking_id", f), "is not "
			    "an idempotency key rekindle sent");
		else if (k.channel != (int)d->channel)
			rpc_bad_field(c, arena_printf(a, "%s.tracking_id", f), "is the "
			    "key of a %s message, not %s", channel_name(k.channel),
			    channel_name((int)d->channel) ? channel_name((int)
			    d->channel) : "this channel");
		else {
			camp[i] = arena_strdup(a, k.campaign);
			cust[i] = arena_strdup(a, k.customer);
			step[i] = arena_printf(a, "%d", k.step);
			entry[i] = arena_printf(a, "%d", k.entry);
		}
		if (type == 0)
			rpc_bad_field(c, arena_printf(a, "%s.status", f), "is not a "
			    "known delivery status");
		ev[i].type = (enum ev_type)type;
		ev[i].event_id = arena_printf(a, "receipt:%s:%d", d->tracking_id ?
		    d->tracking_id : "", type);
		ev[i].time_us = d->delivery_time ? pbtime_us(d->delivery_time) : 0;
	}
	if ((rc = rpc_fields_ok(c)) != RK_OK)
		return (rc);
	/* The messages the keys name, in one look-up. */
	rc = db_execp(rpc_db(c), "receipt_messages", "SELECT k.ord, m.id "
	    "FROM unnest($1::text[], $2::text[], $3::int[], $4::int[]) WITH "
	    "ORDINALITY k(c, cu, st, en, ord) JOIN messages m ON "
	    "m.campaign_id = k.c AND m.customer_id = k.cu AND m.entry = k.en "
	    "AND m.step = k.st", 4, (const char *[]){
	    db_text_array(a, camp, r->n_receipts), db_text_array(a, cust,
	    r->n_receipts), db_text_array(a, step, r->n_receipts),
	    db_text_array(a, entry, r->n_receipts)}, &res);
	if (rc != RK_OK)
		return (rc);
	for (int i = 0; i < db_res_nrows(res); i++)
		ev[db_res_int64(res, i, 0) - 1].message_id = db_res_int64(res, i, 1);
	db_res_free(res);
	if ((rc = record(c, ev, r->n_receipts, &out)) != RK_OK)
		return (rc);
	*resp = &out->base;
	return (RK_OK);
}

static rk_err
list_events(rpc_call *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp)
{
	const Rekindle__V1__ListEventsRequest *r = (const void *)req;
	Rekindle__V1__ListEventsResponse *out;
	int size = r->page_size <= 0 ? 100 : r->page_size > 1000 ? 1000 :
	    r->page_size, n;
	arena *a = rpc_arena(c);
	const char *p[5], *tok = r->page_token ? r->page_token : "", *bar;
	db_res *res;
	rk_err rc;

	if ((!r->customer_id || !*r->customer_id) &&
	    (!r->campaign_id || !*r->campaign_id))
		rpc_bad_field(c, "customer_id", "customer_id or campaign_id is "
		    "required");
	bar = strchr(tok, '|');
	if (*tok && (bar == NULL || bar == tok || strspn(tok, "0123456789") !=
	    (size_t)(bar - tok)))
		rpc_bad_field(c, "page_token", "is not a token this server issued");
	if ((rc = rpc_fields_ok(c)) != RK_OK)
		return (rc);
	p[0] = r->customer_id && *r->customer_id ? r->customer_id : NULL;
	p[1] = r->campaign_id && *r->campaign_id ? r->campaign_id : NULL;
	p[2] = *tok ? arena_strndup(a, tok, (size_t)(bar - tok)) : "0";
	p[3] = *tok ? bar + 1 : "";
	p[4] = arena_printf(a, "%d", size + 1);
	rc = db_execp(rpc_read_db(c), "events_list", "SELECT event_id, type, "
	    "message_id, " PBTIME_US("occurred_at") ", coalesce(user_agent, ''), "
	    "coalesce(source_ip, ''), evidence, customer_id, campaign_id, "
	    "channel FROM events WHERE ($1::text IS NULL OR customer_id = $1) "
	    "AND ($2::text IS NULL OR campaign_id = $2) AND (occurred_at, "
	    "event_id) > (timestamptz 'epoch' + $3::bigint * interval "
	    "'1 microsecond', $4) ORDER BY occurred_at, event_id LIMIT $5", 5, p,
	    &res);
	if (rc != RK_OK)
		return (rc);
	n = db_res_nrows(res);
	out = arena_alloc(a, sizeof(*out));
	rekindle__v1__list_events_response__init(out);
	out->n_events = (size_t)(n > size ? size : n);
	out->events = arena_alloc(a, sizeof(void *) * (out->n_events + 1));
	for (size_t i = 0; i < out->n_events; i++) {
		Rekindle__V1__Event *e = arena_alloc(a, sizeof(*e));
		int k = (int)i;
		char token[MSGTOKEN_MAX] = "";

		rekindle__v1__event__init(e);
		e->event_id = arena_strdup(a, db_res_str(res, k, 0));
		e->type = (Rekindle__V1__EventType)db_res_int64(res, k, 1);
		if (*var_tracking_secret)
			msgtoken_make(var_tracking_secret, db_res_int64(res, k, 2),
			    token);
		e->token = arena_strdup(a, token);
		e->time = pbtime_new(a, db_res_int64(res, k, 3));
		e->user_agent = arena_strdup(a, db_res_str(res, k, 4));
		e->source_ip = arena_strdup(a, db_res_str(res, k, 5));
		e->evidence = (Rekindle__V1__Evidence)db_res_int64(res, k, 6);
		e->customer_id = arena_strdup(a, db_res_str(res, k, 7));
		e->campaign_id = arena_strdup(a, db_res_str(res, k, 8));
		e->channel = (Rekindle__V1__Channel)db_res_int64(res, k, 9);
		out->events[i] = e;
	}
	out->next_page_token = n > size ? arena_printf(a, "%lld|%s",
	    (long long)db_res_int64(res, size - 1, 3), db_res_str(res, size - 1,
	    0)) : "";
	db_res_free(res);
	*resp = &out->base;
	return (RK_OK);
}

const struct rpc_handler engagement_handlers[] = {
	{.path = "/rekindle.v1.EngagementService/RecordEvents",
	    .unary = record_events},
	{.path = "/rekindle.v1.EngagementService/RecordDeliveryReceipts",
	    .unary = record_receipts},
	{.path = "/rekindle.v1.EngagementService/ListEvents",
	    .unary = list_events},
	{.path = NULL},
};
