/*
 * message_rpc.c - CampaignService.ListMessages: the send ledger as the
 * delivery pools left it (msgstate.h), by campaign or customer, in
 * message id order (keyset pages: the token is the last id).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "campaign_rpc.h"
#include "channel.h"
#include "msgstate.h"
#include "pbtime.h"
#include "rekindle/v1/campaign.pb-c.h"
#include "validate.h"

#define PAGE_DEFAULT 100
#define PAGE_MAX 500

#define MESSAGE_COLS                                                      \
	"id, campaign_id, customer_id, step, channel, channel_index, state, " \
	"coalesce(reason, ''), coalesce(last_error, ''), attempts, "          \
	"coalesce(idempotency_key, ''), coalesce(provider_message_id, ''), "  \
	"coalesce(decision, ''), resend, "                                    \
	"coalesce(" PBTIME_US("created_at") ", 0), "                          \
	"coalesce(" PBTIME_US("not_before") ", 0), "                          \
	"coalesce(" PBTIME_US("sent_at") ", 0), "                             \
	"coalesce(" PBTIME_US("delivered_at") ", 0), "                        \
	"coalesce(" PBTIME_US("updated_at") ", 0)"

static Rekindle__V1__Message *
message_view(arena *a, db_res *r, int i)
{
	Rekindle__V1__Message *m = arena_alloc(a, sizeof(*m));
	int k = 0;

	rekindle__v1__message__init(m);
	m->message_id = db_res_int64(r, i, k++);
	m->campaign_id = arena_strdup(a, db_res_str(r, i, k++));
	m->customer_id = arena_strdup(a, db_res_str(r, i, k++));
	m->step = (int32_t)db_res_int64(r, i, k++);
	m->channel = (Rekindle__V1__Channel)db_res_int64(r, i, k++);
	m->channel_index = (int32_t)db_res_int64(r, i, k++);
	m->state = (Rekindle__V1__MessageState)msg_state_of(db_res_str(r, i,
	    k++));
	m->reason = arena_strdup(a, db_res_str(r, i, k++));
	m->last_error = arena_strdup(a, db_res_str(r, i, k++));
	m->attempts = (int32_t)db_res_int64(r, i, k++);
	m->idempotency_key = arena_strdup(a, db_res_str(r, i, k++));
	m->provider_message_id = arena_strdup(a, db_res_str(r, i, k++));
	m->governor_decision = arena_strdup(a, db_res_str(r, i, k++));
	m->resend = db_res_bool(r, i, k++);
	m->create_time = pbtime_new(a, db_res_int64(r, i, k++));
	m->not_before = pbtime_new(a, db_res_int64(r, i, k++));
	m->sent_time = pbtime_new(a, db_res_int64(r, i, k++));
	m->delivered_time = pbtime_new(a, db_res_int64(r, i, k++));
	m->update_time = pbtime_new(a, db_res_int64(r, i, k++));
	return (m);
}

/* The id a page token carries, 0 for none, -1 if it is not one. */
static int64_t
page_after(const char *token)
{
	char *end;
	long long id;

	if (token == NULL || *token == '\0')
		return (0);
	if (*token < '1' || *token > '9' || strlen(token) > 18)
		return (-1);
	id = strtoll(token, &end, 10);
	return (*end == '\0' ? (int64_t)id : -1);
}

/* Does the named row exist? */
static rk_err
exists(rpc_call *c, const char *name, const char *sql, const char *id)
{
	db_res *r;
	rk_err rc;
	bool found;

	if ((rc = db_execp(rpc_db(c), name, sql, 1, &id, &r)) != RK_OK)
		return (rc);
	found = db_res_nrows(r) > 0;
	db_res_free(r);
	return (found ? RK_OK : RK_ENOTFOUND);
}

static rk_err
list_messages(rpc_call *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp)
{
	const Rekindle__V1__ListMessagesRequest *r = (const void *)req;
	Rekindle__V1__ListMessagesResponse *out;
	arena *a = rpc_arena(c);
	const char *camp = r->campaign_id ? r->campaign_id : "",
	    *cust = r->customer_id ? r->customer_id : "", *why;
	const char **states = arena_zalloc(a, sizeof(char *) *
	    (r->n_states + 1));
	int64_t *chans = arena_zalloc(a, sizeof(int64_t) * (r->n_channels + 1));
	int64_t after = page_after(r->page_token);
	int size = r->page_size == 0 ? PAGE_DEFAULT : r->page_size;
	const char *p[6];
	db_res *res;
	rk_err rc;
	int n;

	if (*camp == '\0' && *cust == '\0')
		rpc_bad_field(c, "campaign_id", "campaign_id or customer_id is "
		    "required");
	if (*camp && (why = validate_id(camp)) != NULL)
		rpc_bad_field(c, "campaign_id", "%s", why);
	if (*cust && (why = validate_id(cust)) != NULL)
		rpc_bad_field(c, "customer_id", "%s", why);
	for (size_t i = 0; i < r->n_states; i++)
		if ((states[i] = msg_state_name((int)r->states[i])) == NULL)
			rpc_bad_field(c, arena_printf(a, "states[%zu]", i),
			    "is not a message state");
	for (size_t i = 0; i < r->n_channels; i++) {
		chans[i] = (int64_t)r->channels[i];
		if (chans[i] < CHANNEL_EMAIL || chans[i] > CHANNEL_PUSH)
			rpc_bad_field(c, arena_printf(a, "channels[%zu]", i),
			    "is not a message channel");
	}
	if (r->page_size < 0 || r->page_size > PAGE_MAX)
		rpc_bad_field(c, "page_size", "must be 1..%d (0: %d)", PAGE_MAX,
		    PAGE_DEFAULT);
	if (after < 0)
		rpc_bad_field(c, "page_token", "is not a token this server "
		    "issued");
	if ((rc = rpc_fields_ok(c)) != RK_OK)
		return (rc);
	if (*camp && (rc = exists(c, "message_campaign", "SELECT 1 FROM "
	    "campaigns WHERE campaign_id = $1", camp)) != RK_OK)
		return (rc == RK_ENOTFOUND ? rpc_error(c, rc, "campaign not "
		    "found") : rc);
	if (*cust && (rc = exists(c, "message_customer", "SELECT 1 FROM "
	    "customers WHERE id = $1", cust)) != RK_OK)
		return (rc == RK_ENOTFOUND ? rpc_error(c, rc, "customer not "
		    "found") : rc);
	p[0] = camp;
	p[1] = cust;
	p[2] = r->n_states ? db_text_array(a, states, r->n_states) : NULL;
	p[3] = r->n_channels ? db_int64_array(a, chans, r->n_channels) : NULL;
	p[4] = arena_printf(a, "%lld", (long long)after);
	p[5] = arena_printf(a, "%d", size + 1);
	if ((rc = db_execp(rpc_read_db(c), "message_list", "SELECT " MESSAGE_COLS
	    " FROM messages WHERE ($1 = '' OR campaign_id = $1) AND "
	    "($2 = '' OR customer_id = $2) AND ($3::text[] IS NULL OR "
	    "state = ANY ($3::text[])) AND ($4::smallint[] IS NULL OR "
	    "channel = ANY ($4::smallint[])) AND id > $5::bigint "
	    "ORDER BY id LIMIT $6", 6, p, &res)) != RK_OK)
		return (rc);
	n = db_res_nrows(res);
	out = arena_alloc(a, sizeof(*out));
	rekindle__v1__list_messages_response__init(out);
	out->n_messages = (size_t)(n > size ? size : n);
	out->messages = arena_alloc(a, sizeof(void *) * (out->n_messages + 1));
	for (size_t i = 0; i < out->n_messages; i++)
		out->messages[i] = message_view(a, res, (int)i);
	db_res_free(res);
	out->next_page_token = n > size ? arena_printf(a, "%lld", (long long)
	    out->messages[out->n_messages - 1]->message_id) : "";
	*resp = &out->base;
	return (RK_OK);
}

const struct rpc_handler message_handlers[] = {
	{.path = "/rekindle.v1.CampaignService/ListMessages",
	    .unary = list_messages},
	{.path = NULL},
};
