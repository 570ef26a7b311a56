/*
 * ingest.c - IngestTransactions: a client stream of transaction batches,
 * written with binary COPY, idempotent on the bank transaction id.
 *
 * Per message, in one transaction: invalid rows are rejected with a
 * reason (the rest go on); ids already stored, or repeated in the stream,
 * count as duplicates; the new rows are COPYed straight into
 * rekindle.transactions; and one "profile" job for the customers touched
 * is enqueued (the profiler also gives customers the card system has not
 * sent yet a stub row: no contact data, no consent, never contacted).
 * The first attempt assumes every id is new and lets the primary key
 * object: a COPY that meets a stored id (a retried batch, a concurrent
 * stream) fails with 23505, and the message is retried once with a probe
 * of the stored ids, which then count as duplicates.
 *
 * SECURITY
 *	Messages are capped by the gRPC receive limit and MAX_TXNS_PER_MESSAGE;
 *	the reply lists at most MAX_LISTED rejections.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "copybin.h"
#include "customer_rpc.h"
#include "jobq.h"
#include "log.h"
#include "mem.h"
#include "pbtime.h"
#include "rekindle/bus/v1/bus.pb-c.h"
#include "rekindle/v1/customer.pb-c.h"
#include "strv.h"
#include "validate.h"
#include "wakeup.h"

#define MAX_LISTED 1000

struct ingest {
	int64_t index;		/* rows seen before this message */
	int64_t accepted, duplicate, rejected;
	Rekindle__V1__RejectedTransaction **rej;
	size_t nrej;
	copybin buf;
};

static void
reject(rpc_call *c, struct ingest *st, int64_t index, const char *id,
    const char *field, const char *reason)
{
	arena *a = rpc_arena(c);
	Rekindle__V1__RejectedTransaction *r;

	st->rejected++;
	if (st->nrej >= MAX_LISTED)
		return;
	if (st->nrej % 64 == 0) {
		Rekindle__V1__RejectedTransaction **n = arena_alloc(a,
		    sizeof(*n) * (st->nrej + 64));

		if (st->nrej > 0)
			memcpy(n, st->rej, sizeof(*n) * st->nrej);
		st->rej = n;
	}
	r = arena_alloc(a, sizeof(*r));
	rekindle__v1__rejected_transaction__init(r);
	r->index = index;
	r->transaction_id = arena_strndup(a, id ? id : "", MAX_ID_LEN);
	r->field = arena_strdup(a, field);
	r->reason = arena_strdup(a, reason);
	st->rej[st->nrej++] = r;
}

/* Returns the failing field name and sets *why, or NULL if t is valid. */
static const char *
check_row(const Rekindle__V1__Transaction *t, int64_t now_s, const char **why)
{
	if ((*why = validate_id(t->transaction_id)) != NULL)
		return ("transaction_id");
	if ((*why = validate_id(t->customer_id)) != NULL)
		return ("customer_id");
	if (t->occurred_at == NULL) {
		*why = "is required";
		return ("occurred_at");
	}
	if ((*why = validate_past_time(t->occurred_at->seconds, now_s)) != NULL)
		return ("occurred_at");
	if (t->amount_minor > INT64_C(1000000000000000) ||
	    t->amount_minor < -INT64_C(1000000000000000)) {
		*why = "is out of range";
		return ("amount_minor");
	}
	if ((*why = validate_currency(t->currency)) != NULL)
		return ("currency");
	if (t->mcc < 0 || t->mcc > 9999) {
		*why = "must be 0..9999";
		return ("mcc");
	}
	if ((*why = validate_text(t->merchant_id, MAX_NAME_LEN)) != NULL)
		return ("merchant_id");
	if ((*why = validate_text(t->merchant_name, MAX_NAME_LEN)) != NULL)
		return ("merchant_name");
	if ((*why = validate_text(t->channel, 32)) != NULL)
		return ("channel");
	if ((*why = validate_text(t->voucher_code, 64)) != NULL)
		return ("voucher_code");
	return (NULL);
}

/* Orders row indexes by id, then by position (stable "first wins"). */
static _Thread_local const char **sort_seen;

static int
cmp_index(const void *a, const void *b)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int d = strcmp(sort_seen[i], sort_seen[j]);

	return (d != 0 ? d : (i > j) - (i < j));
}

static void
put_text(copybin *b, const char *s)
{
	if (s == NULL || *s == '\0')
		copybin_null(b);
	else
		copybin_text(b, s, strlen(s));
}

/*
 * Marks in fresh[] the rows of ok[] whose ids are not stored yet, counting
 * the others in *dups. Known ids come back as one text[] sorted bytewise,
 * for bsearch with strcmp.
 */
static rk_err
probe_stored(rpc_call *c, Rekindle__V1__Transaction *const *t, size_t n,
    const bool *ok, const char **ids, size_t nids, bool *fresh, int64_t *dups)
{
	arena *a = rpc_msg_arena(c);
	const char *p[1] = {db_text_array(a, ids, nids)}, *arr;
	size_t nknown = 0;
	char **known = NULL;
	db_res *r;
	rk_err rc;

	rc = db_execp(rpc_db(c), "ingest_probe",
	    "SELECT array_agg(txn_id ORDER BY txn_id COLLATE \"C\") "
	    "FROM transactions WHERE txn_id = ANY($1::text[])", 1, p, &r);
	if (rc != RK_OK)
		return (rc);
	arr = db_res_str(r, 0, 0);
	if (arr != NULL && arr[0] == '{') {
		char *copy = arena_strdup(a, arr + 1), *save, *tok;

		known = arena_alloc(a, sizeof(char *) * (nids + 1));
		copy[strlen(copy) - 1] = '\0';
		for (tok = strtok_r(copy, ",", &save); tok && nknown < nids;
		    tok = strtok_r(NULL, ",", &save)) {
			if (tok[0] == '"') {
				tok++;
				tok[strlen(tok) - 1] = '\0';
			}
			known[nknown++] = tok;
		}
	}
	db_res_free(r);
	for (size_t i = 0; i < n; i++) {
		fresh[i] = ok[i] && (nknown == 0 ||
		    bsearch(&t[i]->transaction_id, known, nknown,
		    sizeof(char *), strv_cmp) == NULL);
		if (ok[i] && !fresh[i])
			(*dups)++;
	}
	return (RK_OK);
}

/*
 * Writes the rows marked in ok[] (one transaction). On RK_OK *written and
 * *dups hold the rows copied and found already stored.
 */
static rk_err
write_batch(rpc_call *c, struct ingest *st,
    Rekindle__V1__Transaction *const *t, size_t n, bool *ok, bool probe,
    int64_t *written, int64_t *dups)
{
	arena *a = rpc_msg_arena(c);
	db_conn *db = rpc_db(c);
	const char **ids = arena_alloc(a, sizeof(char *) * (n + 1));
	const char **custs = arena_alloc(a, sizeof(char *) * (n + 1));
	bool *fresh = arena_alloc(a, n + 1);
	size_t nids = 0, ncust = 0;
	rk_err rc;

	*written = *dups = 0;
	for (size_t i = 0; i < n; i++)
		if (ok[i])
			ids[nids++] = t[i]->transaction_id;
	if (nids == 0)
		return (RK_OK);
	if ((rc = rpc_begin(c)) != RK_OK)
		return (rc);
	if (!probe) {
		/* Optimistic: new ids are the rule; the primary key catches
		 * the exceptions and the caller retries with the probe. */
		for (size_t i = 0; i < n; i++)
			fresh[i] = ok[i];
	} else if ((rc = probe_stored(c, t, n, ok, ids, nids, fresh, dups)) !=
	    RK_OK) {
		goto fail;
	}
	for (size_t i = 0; i < n; i++)
		if (fresh[i])
			custs[ncust++] = t[i]->customer_id;
	if (ncust == 0) {
		db_rollback(db);
		return (RK_OK);
	}
	ncust = strv_sort_unique(custs, ncust);
	copybin_reset(&st->buf);
	copybin_header(&st->buf);
	for (size_t i = 0; i < n; i++) {
		const Rekindle__V1__Transaction *x = t[i];

		if (!fresh[i])
			continue;
		copybin_tuple(&st->buf, 10);
		copybin_text(&st->buf, x->transaction_id,
		    strlen(x->transaction_id));
		copybin_text(&st->buf, x->customer_id, strlen(x->customer_id));
		copybin_timestamptz(&st->buf, pbtime_us(x->occurred_at));
		copybin_int64(&st->buf, x->amount_minor);
		copybin_text(&st->buf, x->currency, strlen(x->currency));
		copybin_int16(&st->buf, (int16_t)x->mcc);
		put_text(&st->buf, x->merchant_id);
		put_text(&st->buf, x->merchant_name);
		put_text(&st->buf, x->channel);
		put_text(&st->buf, x->voucher_code);
	}
	copybin_trailer(&st->buf);
	if ((rc = db_copy_begin(db, "COPY transactions (txn_id, customer_id, "
	    "occurred_at, amount_minor, currency, mcc, merchant_id, "
	    "merchant_name, channel, voucher_code) FROM STDIN (FORMAT binary)"))
	    != RK_OK)
		goto fail;
	if ((rc = db_copy_put(db, st->buf.buf, st->buf.len)) != RK_OK) {
		(void)db_copy_end(db, NULL);
		goto fail;
	}
	if ((rc = db_copy_end(db, written)) != RK_OK)
		goto fail;
	{
		Rekindle__Bus__V1__ProfileJob job = REKINDLE__BUS__V1__PROFILE_JOB__INIT;
		size_t len;
		unsigned char *payload;

		job.n_customer_ids = ncust;
		job.customer_ids = (char **)custs;
		len = rekindle__bus__v1__profile_job__get_packed_size(&job);
		payload = arena_alloc(a, len + 1);
		rekindle__bus__v1__profile_job__pack(&job, payload);
		if ((rc = jobq_enqueue(db, "profile", payload, len, NULL)) !=
		    RK_OK)
			goto fail;
	}
	if ((rc = db_commit(db)) != RK_OK)
		goto fail;
	wakeup("profile", 1);
	return (RK_OK);
fail:
	db_rollback(db);
	*written = *dups = 0;
	return (rc);
}

rk_err
ingest_message(rpc_call *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp)
{
	const Rekindle__V1__IngestTransactionsRequest *r = (const void *)req;
	struct ingest *st = *rpc_state(c);
	arena *a = rpc_msg_arena(c);
	int64_t now_s = (int64_t)time(NULL), written = 0, dups = 0;
	const char **seen;
	bool *ok;
	size_t n = r->n_transactions;
	rk_err rc = RK_OK;

	(void)resp;
	if (st == NULL) {
		st = arena_zalloc(rpc_arena(c), sizeof(*st));
		copybin_init(&st->buf);
		*rpc_state(c) = st;
	}
	if (n > MAX_TXNS_PER_MESSAGE)
		return (rpc_bad_field(c, "transactions", "at most %d per message",
		    MAX_TXNS_PER_MESSAGE));
	ok = arena_alloc(a, n + 1);
	seen = arena_alloc(a, sizeof(char *) * (n + 1));
	for (size_t i = 0; i < n; i++) {
		const char *why, *field = check_row(r->transactions[i], now_s,
		    &why);

		ok[i] = field == NULL;
		if (!ok[i])
			reject(c, st, st->index + (int64_t)i,
			    r->transactions[i]->transaction_id, field, why);
		seen[i] = ok[i] ? r->transactions[i]->transaction_id : "";
	}
	/* Repeats inside the message: keep the first. */
	{
		size_t *order = arena_alloc(a, sizeof(size_t) * (n + 1));

		for (size_t i = 0; i < n; i++)
			order[i] = i;
		sort_seen = seen;
		qsort(order, n, sizeof(size_t), cmp_index);
		size_t keep = SIZE_MAX;

		for (size_t k = 0; k < n; k++) {
			size_t i = order[k];

			if (!ok[i])
				continue;
			if (keep != SIZE_MAX && strcmp(seen[i], seen[keep]) == 0) {
				ok[i] = false;
				st->duplicate++;
			} else {
				keep = i;
			}
		}
	}
	for (int attempt = 0; attempt < 5; attempt++) {
		rc = write_batch(c, st, r->transactions, n, ok, attempt > 0,
		    &written, &dups);
		if (rc != RK_ECONFLICT && rc != RK_ERETRY)
			break;
	}
	if (rc != RK_OK) {
		copybin_fini(&st->buf);
		*rpc_state(c) = NULL;
		return (rc);
	}
	st->accepted += written;
	st->duplicate += dups;
	st->index += (int64_t)n;
	return (RK_OK);
}

void
ingest_closed(rpc_call *c)
{
	struct ingest *st = *rpc_state(c);

	/* The stream ended without ingest_finish (client gone, error). */
	if (st != NULL) {
		copybin_fini(&st->buf);
		*rpc_state(c) = NULL;
	}
}

rk_err
ingest_finish(rpc_call *c, ProtobufCMessage **resp)
{
	struct ingest *st = *rpc_state(c);
	Rekindle__V1__IngestTransactionsResponse *out =
	    arena_alloc(rpc_arena(c), sizeof(*out));

	rekindle__v1__ingest_transactions_response__init(out);
	if (st != NULL) {
		out->accepted = st->accepted;
		out->duplicate = st->duplicate;
		out->rejected = st->rejected;
		out->n_rejections = st->nrej;
		out->rejections = st->rej;
		copybin_fini(&st->buf);
		*rpc_state(c) = NULL;
		log_info("INGEST-DONE", "%lld accepted, %lld duplicate, %lld "
		    "rejected", (long long)st->accepted,
		    (long long)st->duplicate, (long long)st->rejected);
	}
	*resp = &out->base;
	return (RK_OK);
}
