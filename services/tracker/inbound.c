/*
 * inbound.c - opting out by reply (Decree 91/2020 art. 11-12): the SMS
 * gateway's inbound (MO) webhook and Zalo's OA events.
 *
 *	GET  /mo/sms	an SMS reply (eSMS's short-code MO): a reply that is
 *			an opt-out keyword withdraws advertising SMS consent
 *			for every customer with that number and queues the one
 *			confirmation the law asks for (customer care, sent by
 *			the SMS pool: care.c); answered with eSMS's
 *			<ClientResponse> and no reply text of its own
 *	POST /mo/zalo	a Zalo event: one of zalo_optout_events withdraws
 *			ZNS consent for the event's number
 *
 * Both are authenticated (inbound_parse.c): a request that is not signed
 * with the configured secret is 403 and records nothing; an endpoint
 * whose secret is not configured is 404. Each message is recorded once
 * (rekindle.inbound_optout, by the provider's id), in the transaction
 * that withdraws the consent - so it is in force when the reply is sent.
 */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "inbound_parse.h"
#include "tracker.h"
#include "tracker_cfg.h"

#define CHANNEL_SMS_NUM "2"
#define CHANNEL_ZNS_NUM "3"

static enum MHD_Result
text(struct MHD_Connection *c, unsigned code, const char *s)
{
	return (respond(c, code, "text/plain; charset=utf-8", s, strlen(s),
	    NULL));
}

/* Records in into the database; false if the database failed. */
static bool
record(const char *provider, const struct inbound *in,
    const char *channel, const char *confirm, char *action, size_t cap)
{
	db_conn *db = conn();
	const char *p[8] = {provider, in->msgid, *in->phone ? in->phone : NULL,
	    *in->text ? in->text : NULL, in->opt_out ? in->keyword : NULL,
	    channel, in->at, in->opt_out ? confirm : NULL};
	db_res *r = NULL;
	rk_err rc;

	if (db == NULL)
		return (false);
	/* one statement: the record, the withdrawals, the confirmation */
	rc = db_execp(db, in->epoch ? "inbound_optout_epoch" :
	    "inbound_optout", in->epoch ? "SELECT inbound_id, action, "
	    "customers, repeated FROM rekindle.inbound_optout($1, $2, $3, $4, "
	    "$5, $6::smallint, to_timestamp($7::bigint), $8)" : "SELECT "
	    "inbound_id, action, customers, repeated FROM "
	    "rekindle.inbound_optout($1, $2, $3, $4, $5, $6::smallint, "
	    "$7::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh', $8)", 8, p, &r);
	if (rc != RK_OK) {
		log_warn("INBOUND-FAIL", "%s inbound message: %s", provider,
		    db_errmsg(db));
		return (false);
	}
	snprintf(action, cap, "%s", db_res_str(r, 0, 1));
	/* ids and counts only: never the number or the text */
	log_info("INBOUND", "%s inbound %s: %s, %lld customer(s) withdrew%s",
	    provider, db_res_str(r, 0, 0), action, (long long)db_res_int64(r, 0,
	    2), db_res_bool(r, 0, 3) ? " (a repeat: nothing done)" : "");
	db_res_free(r);
	return (true);
}

static enum MHD_Result
mo_sms(struct MHD_Connection *c)
{
	static const char *const names[ESMS_NFIELDS] = {"sender", "content",
	    "serviceNumber", "keyword", "sign", "cpid", "smsid",
	    "receiverTime"};
	const char *f[ESMS_NFIELDS], *why;
	struct inbound in;
	char action[32];

	if (*var_mo_cpid == '\0' || *var_mo_private_key == '\0')
		return (text(c, MHD_HTTP_NOT_FOUND, "not configured\n"));
	for (int i = 0; i < ESMS_NFIELDS; i++)
		f[i] = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
		    names[i]);
	why = esms_mo_parse(f, var_mo_cpid, var_mo_private_key,
	    var_optout_keywords, &in);
	if (why == NULL) {
		log_warn("INBOUND-REFUSED", "sms inbound message with a bad "
		    "signature");
		return (text(c, MHD_HTTP_FORBIDDEN, "bad signature\n"));
	}
	if (*why != '\0')
		return (text(c, MHD_HTTP_BAD_REQUEST, why));
	if (!record("sms", &in, CHANNEL_SMS_NUM, var_optout_confirmation,
	    action, sizeof(action)))
		return (text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "try again\n"));
	/* smsid and sender are checked ids and digits: nothing to escape */
	{
		char xml[512];
		int n = snprintf(xml, sizeof(xml), "<ClientResponse><Message>"
		    "</Message><Smsid>%s</Smsid><Receiver>%s</Receiver>"
		    "</ClientResponse>", in.msgid, f[ESMS_SENDER]);

		return (respond(c, MHD_HTTP_OK, "application/xml; charset=utf-8",
		    xml, (size_t)n, NULL));
	}
}

static enum MHD_Result
mo_zalo(struct MHD_Connection *c, const char *body, size_t len)
{
	struct inbound in;
	const char *why;
	char action[32];

	if (*var_zalo_app_id == '\0' || *var_zalo_oa_secret_key == '\0')
		return (text(c, MHD_HTTP_NOT_FOUND, "not configured\n"));
	why = zalo_event_parse(body, len, MHD_lookup_connection_value(c,
	    MHD_HEADER_KIND, "X-ZEvent-Signature"), var_zalo_app_id,
	    var_zalo_oa_secret_key, var_zalo_optout_events, &in);
	if (why == NULL) {
		log_warn("INBOUND-REFUSED", "zalo event with a bad signature");
		return (text(c, MHD_HTTP_FORBIDDEN, "bad signature\n"));
	}
	if (*why != '\0')
		return (text(c, MHD_HTTP_BAD_REQUEST, why));
	if (!in.opt_out)	/* another event: not ours to keep */
		return (text(c, MHD_HTTP_OK, "ok\n"));
	if (!record("zalo", &in, CHANNEL_ZNS_NUM, NULL, action,
	    sizeof(action)))
		return (text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "try again\n"));
	return (text(c, MHD_HTTP_OK, "ok\n"));
}

enum MHD_Result
inbound_serve(struct MHD_Connection *c, const char *method, const char *path,
    const char *body, size_t len)
{
	if (strcmp(path, "sms") == 0 && strcmp(method, "GET") == 0)
		return (mo_sms(c));
	if (strcmp(path, "zalo") == 0 && strcmp(method, "POST") == 0)
		return (mo_zalo(c, body, len));
	return (text(c, MHD_HTTP_NOT_FOUND, "no such endpoint\n"));
}
