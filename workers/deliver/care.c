/*
 * care.c - customer-care messages (migration 021): the confirmation an
 * opt-out reply is owed (Decree 91/2020: one message, no advertising,
 * saying when the refusal came and when advertising stops). Not
 * advertising, so no consent, Do-Not-Call or contact-cap check and no
 * [QC]; sent only on a channel whose provider de-duplicates on our key
 * (the SMS gateway: a repeated RequestId is code 124), with the key
 * "care:ID". Each is claimed with a lease and committed as 'sending'
 * before the call, and its outcome committed after it: a process killed
 * between the two leaves it 'sending' until the lease expires, and the
 * retry carries the same key, so the gateway sends it once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "care.h"
#include "channel_ops.h"
#include "http.h"
#include "log.h"
#include "provider.h"

#define CARE_BATCH 20
#define CARE_MAX_ATTEMPTS 10

int
care_poll(db_conn *db, arena *a, const struct channel_ops *ops,
    const char *url, int lease_s)
{
	const char *p[2] = {arena_printf(a, "%d", ops->channel),
	    arena_printf(a, "%d", lease_s)};
	db_res *r = NULL;
	int n;

	if (ops->care_request == NULL)
		return (0);
	/* claimed and committed before any call */
	if (db_execp(db, "care_claim", "UPDATE care_messages c SET state = "
	    "'sending', attempts = attempts + 1, lease_expires_at = now() + "
	    "$2::int * interval '1 second' FROM (SELECT id FROM care_messages "
	    "WHERE channel = $1::int AND not_before <= now() AND (state = "
	    "'queued' OR (state = 'sending' AND lease_expires_at < now())) "
	    "ORDER BY not_before LIMIT " DB_NUM(CARE_BATCH) " FOR UPDATE SKIP "
	    "LOCKED) d WHERE c.id = d.id RETURNING c.id, c.body, c.attempts, "
	    "(SELECT phone_e164 FROM customers cu WHERE cu.id = c.customer_id)",
	    2, p, &r) != RK_OK) {
		log_warn("DB-UNAVAILABLE", "care messages: %s", db_errmsg(db));
		return (0);
	}
	n = db_res_nrows(r);
	for (int i = 0; i < n; i++) {
		const char *id = db_res_str(r, i, 0), *why;
		const char *q[4] = {id, NULL, NULL, NULL};
		int attempts = (int)db_res_int64(r, i, 2);
		struct http_reply h = {0};
		struct send_result res = {0};
		char *body;

		if (db_res_isnull(r, i, 3)) {
			/* erased, or the number was removed since */
			q[1] = "failed";
			q[2] = "the customer has no phone number";
		} else {
			body = ops->care_request(db_res_str(r, i, 3),
			    db_res_str(r, i, 1), arena_printf(a, "care:%s", id));
			http_post(url, NULL, NULL, body, &h);
			free(body);
			ops->reply(&h, &res);
			free(h.body);
			switch (res.outcome) {
			case SEND_OK:
				q[1] = "sent";
				q[3] = res.provider_id;
				break;
			case SEND_FAILED:
			case SEND_NEXT_CHANNEL:
				q[1] = "failed";
				break;
			default:	/* again later, with the same key */
				q[1] = attempts >= CARE_MAX_ATTEMPTS ? "failed" :
				    "queued";
				break;
			}
			q[2] = res.reason;
		}
		/* the outcome, committed after the call */
		if (db_execp(db, "care_outcome", "UPDATE care_messages SET state "
		    "= $2, reason = $3, provider_message_id = coalesce($4, "
		    "provider_message_id), lease_expires_at = NULL, sent_at = "
		    "CASE WHEN $2 = 'sent' THEN now() END, not_before = now() + "
		    "least(attempts * attempts, 300) * interval '1 second' "
		    "WHERE id = $1::bigint AND state = 'sending'", 4, q, NULL) !=
		    RK_OK) {
			why = db_errmsg(db);
			log_warn("CARE-UNRECORDED", "care message %s: %s (its lease "
			    "expires and it is sent again with the same key)", id,
			    why);
			continue;
		}
		log_info("CARE-SEND", "care message %s: %s", id, q[1]);
	}
	db_res_free(r);
	return (n);
}
