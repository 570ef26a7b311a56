/*
 * deliver_db.c - the send ledger's statements. Every batch statement
 * passes its rows as one array a column (dbrows.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "campaign.h"
#include "dbrows.h"
#include "deliver_db.h"
#include "msgstate.h"

static const char *
i64(arena *a, int64_t v)
{
	return (arena_printf(a, "%lld", (long long)v));
}

/*
 * Due work: the predicate is the partial index messages_due's, so the
 * claim walks that index in due order and skips rows other claimers
 * hold.
 */
#define CLAIM_SQL                                                         \
	"WITH due AS (SELECT id FROM messages WHERE channel = $1 AND "      \
	" (state = 'queued' OR (state = 'uncertain' AND resend)) AND "      \
	" not_before <= now() ORDER BY not_before LIMIT %d "                \
	" FOR UPDATE SKIP LOCKED) "                                         \
	"SELECT m.id, m.campaign_id, m.customer_id, m.step, m.entry, "      \
	" m.channel_index, "                                                \
	" m.attempts, m.state = 'uncertain', m.ambiguous, "                 \
	" coalesce(cu.full_name, ''), coalesce(cu.phone_e164, ''), "        \
	" coalesce(cu.email, ''), coalesce(cu.push_token, ''), "            \
	" cu.zalo_available, cu.time_zone, "                                \
	" EXISTS (SELECT 1 FROM customer_consents cc WHERE "                \
	"  cc.customer_id = m.customer_id AND cc.channel = m.channel AND "  \
	"  cc.purpose = 1 AND cc.granted), "                                \
	" EXISTS (SELECT 1 FROM do_not_call d WHERE "                       \
	"  d.phone_e164 = cu.phone_e164), "                                 \
	" t.offer_id IS NOT NULL OR vt.channel IS NOT NULL, o.title, "      \
	" coalesce(pa.display_name, o.partner_id, ''), "                    \
	" to_char(o.valid_until AT TIME ZONE cu.time_zone, 'DD/MM/YYYY'), " \
	" coalesce(mb.voucher_code, ''), "                                  \
	" coalesce(vt.subject, t.subject, ''), coalesce(vt.body, t.body, ''), " \
	" coalesce(vt.html_body, t.html_body, ''), "                        \
	" coalesce(vt.provider_template_id, t.provider_template_id, ''), "  \
	" k.channel_order::text, k.state, "                                 \
	" coalesce(m.step = 0 AND k.end_at <= now(), false), "              \
	" coalesce(k.window_start_min, 0), coalesce(k.window_end_min, 0), " \
	" k.provider_rate_per_second, "                                     \
	" coalesce((extract(epoch FROM m.pace_slot) * 1e6)::int8, 0), "     \
	" (extract(epoch FROM now()) * 1e6)::int8 "                         \
	"FROM due JOIN messages m ON m.id = due.id "                        \
	"JOIN customers cu ON cu.id = m.customer_id "                       \
	"JOIN campaign_members mb ON mb.campaign_id = m.campaign_id AND "   \
	" mb.customer_id = m.customer_id "                                  \
	"JOIN offers o ON o.offer_id = mb.offer_id "                        \
	"LEFT JOIN partners pa ON pa.partner_id = o.partner_id "            \
	"LEFT JOIN offer_templates t ON t.offer_id = o.offer_id AND "       \
	" t.channel = m.channel "                                           \
	"LEFT JOIN variant_templates vt ON vt.campaign_id = m.campaign_id " \
	" AND vt.variant_id = mb.variant_id AND vt.channel = m.channel "    \
	"JOIN campaigns k ON k.campaign_id = m.campaign_id "                \
	"ORDER BY m.customer_id, m.id"

/*
 * The claim statements of this process: its batch size is written into
 * the text, so that the plan PostgreSQL caches for it is one that knows
 * the LIMIT (with LIMIT a parameter it planned the join again on every
 * claim: 3 ms of a 7 ms statement); a claim of one message (a probe of a
 * provider that was down: gate.h) has its own. A connection prepares a
 * name once, so max is the process's batch size or 1, never another.
 * The text is built per call in the caller's arena (a few kB, next to a
 * claim's milliseconds): lanes share no buffer.
 */
rk_err
ddb_claim(db_conn *db, arena *a, int channel, int max, struct dmsg **out,
    int *n, int64_t *db_now_us)
{
	const char *p[1] = {arena_printf(a, "%d", channel)};
	db_res *r;
	rk_err rc;

	if ((rc = db_execp(db, max == 1 ? "ddb_claim_one" : "ddb_claim",
	    arena_printf(a, CLAIM_SQL, max), 1, p, &r)) != RK_OK)
		return (rc);
	*n = db_res_nrows(r);
	*out = arena_zalloc(a, sizeof(**out) * (size_t)(*n + 1));
	for (int i = 0; i < *n; i++) {
		struct dmsg *m = &(*out)[i];
		int k = 0;

		m->id = db_res_int64(r, i, k++);
		m->campaign = arena_strdup(a, db_res_str(r, i, k++));
		m->customer = arena_strdup(a, db_res_str(r, i, k++));
		m->step = (int)db_res_int64(r, i, k++);
		m->entry = (int)db_res_int64(r, i, k++);
		m->channel_index = (int)db_res_int64(r, i, k++);
		m->attempts = (int)db_res_int64(r, i, k++);
		m->uncertain = db_res_bool(r, i, k++);
		m->ambiguous = db_res_bool(r, i, k++);
		m->name = arena_strdup(a, db_res_str(r, i, k++));
		m->phone = arena_strdup(a, db_res_str(r, i, k++));
		m->email = arena_strdup(a, db_res_str(r, i, k++));
		m->push_token = arena_strdup(a, db_res_str(r, i, k++));
		m->zalo = db_res_bool(r, i, k++);
		m->zone = arena_strdup(a, db_res_str(r, i, k++));
		m->consent = db_res_bool(r, i, k++);
		m->dnc = db_res_bool(r, i, k++);
		m->has_template = db_res_bool(r, i, k++);
		m->offer = arena_strdup(a, db_res_str(r, i, k++));
		m->partner = arena_strdup(a, db_res_str(r, i, k++));
		m->expiry = arena_strdup(a, db_res_str(r, i, k++));
		m->code = arena_strdup(a, db_res_str(r, i, k++));
		m->subject = arena_strdup(a, db_res_str(r, i, k++));
		m->body = arena_strdup(a, db_res_str(r, i, k++));
		m->html_body = arena_strdup(a, db_res_str(r, i, k++));
		m->provider_template = arena_strdup(a, db_res_str(r, i, k++));
		m->plan = arena_strdup(a, db_res_str(r, i, k++));
		m->campaign_state = (int)db_res_int64(r, i, k++);
		m->ended = db_res_bool(r, i, k++);
		m->window_from_min = (int)db_res_int64(r, i, k++);
		m->window_until_min = (int)db_res_int64(r, i, k++);
		m->rate = (int)db_res_int64(r, i, k++);
		m->pace_slot_us = db_res_int64(r, i, k++);
		*db_now_us = db_res_int64(r, i, k++);
	}
	db_res_free(r);
	return (RK_OK);
}

/* Row i's first column, an ordinality of an array of n: its index, or n
 * if out of range. */
static size_t
index_of(db_res *r, int i, size_t n)
{
	int64_t ord = db_res_int64(r, i, 0);

	return (ord >= 1 && (uint64_t)ord <= n ? (size_t)(ord - 1) : n);
}

rk_err
ddb_slots(db_conn *db, arena *a, int channel, const char *const *recipients,
    size_t n, int *count, int64_t *oldest_us)
{
	const char *p[2] = {arena_printf(a, "%d", channel),
	    db_text_array(a, recipients, n)};
	db_res *r;
	rk_err rc;

	/* class 91 (Decree 91) keeps these apart from other advisory locks */
	rc = db_execp(db, "ddb_slot_locks", "SELECT pg_advisory_xact_lock(91, "
	    "h) FROM (SELECT DISTINCT hashtext(x) h FROM unnest($1::text[]) x) "
	    "s ORDER BY h", 1, p + 1, NULL);
	/* a new statement: its snapshot sees every slot committed before
	 * the locks were granted */
	if (rc == RK_OK)
		rc = db_execp(db, "ddb_slots", "SELECT x.ord, count(m.id), "
		    "coalesce((extract(epoch FROM min(m.slot_at)) * 1e6)::int8, 0) "
		    "FROM unnest($2::text[]) WITH ORDINALITY x(r, ord) "
		    "LEFT JOIN messages m ON m.channel = $1 AND m.recipient = x.r "
		    " AND m.state IN ('sending', 'sent', 'uncertain') AND "
		    " m.slot_at > now() - interval '24 hours' GROUP BY x.ord",
		    2, p, &r);
	if (rc != RK_OK)
		return (rc);
	for (int i = 0; i < db_res_nrows(r); i++) {
		size_t k = index_of(r, i, n);

		if (k < n) {
			count[k] = (int)db_res_int64(r, i, 1);
			oldest_us[k] = db_res_int64(r, i, 2);
		}
	}
	db_res_free(r);
	return (RK_OK);
}

rk_err
ddb_pace_lock(db_conn *db, arena *a, int channel, const char *const *ids,
    size_t n, int64_t *tat_us)
{
	const char *p[2] = {arena_printf(a, "%d", channel),
	    db_text_array(a, ids, n)};
	db_res *r;
	rk_err rc;

	/* one statement makes a missing row and locks an existing one, in
	 * the array's order (sorted: one global order) */
	rc = db_execp(db, "ddb_pace_lock", "INSERT INTO campaign_pace AS c "
	    "(campaign_id, channel, tat) SELECT x, $1, 'epoch' FROM "
	    "unnest($2::text[]) x ON CONFLICT (campaign_id, channel) DO UPDATE "
	    "SET tat = c.tat RETURNING c.campaign_id, "
	    "(extract(epoch FROM c.tat) * 1e6)::int8", 2, p, &r);
	if (rc != RK_OK)
		return (rc);
	/* a few campaigns a batch: found by a walk */
	for (int i = 0; i < db_res_nrows(r); i++)
		for (size_t k = 0; k < n; k++)
			if (strcmp(ids[k], db_res_str(r, i, 0)) == 0) {
				tat_us[k] = db_res_int64(r, i, 1);
				break;
			}
	db_res_free(r);
	return (RK_OK);
}

rk_err
ddb_pace_save(db_conn *db, arena *a, int channel, const char *const *ids,
    size_t n, const int64_t *tat_us)
{
	const char *p[3] = {arena_printf(a, "%d", channel)};
	struct dbrows rows;

	dbrows_init(&rows, a, 2, n);
	for (size_t i = 0; i < n; i++) {
		const char **c = dbrows_add(&rows);

		c[0] = ids[i];
		c[1] = i64(a, tat_us[i]);
	}
	dbrows_params(&rows, p + 1);
	return (db_execp(db, "ddb_pace_save", "UPDATE campaign_pace c SET tat = "
	    "timestamptz 'epoch' + s.tat * interval '1 microsecond' FROM "
	    "unnest($2::text[], $3::bigint[]) s(id, tat) WHERE c.campaign_id = "
	    "s.id AND c.channel = $1", 3, p, NULL));
}

rk_err
ddb_stopped(db_conn *db, arena *a, const char *const *ids, size_t n,
    const char ***stopped, int **state, size_t *nstopped)
{
	const char *p[1] = {db_text_array(a, ids, n)};
	db_res *r;
	rk_err rc;

	rc = db_execp(db, "ddb_stopped", "SELECT campaign_id, state FROM "
	    "campaigns WHERE campaign_id = ANY ($1::text[]) AND state <> "
	    DB_NUM(CAMPAIGN_RUNNING), 1, p, &r);
	if (rc != RK_OK)
		return (rc);
	*nstopped = (size_t)db_res_nrows(r);
	*stopped = arena_zalloc(a, sizeof(char *) * (*nstopped + 1));
	*state = arena_zalloc(a, sizeof(int) * (*nstopped + 1));
	for (size_t i = 0; i < *nstopped; i++) {
		(*stopped)[i] = arena_strdup(a, db_res_str(r, (int)i, 0));
		(*state)[i] = (int)db_res_int64(r, (int)i, 1);
	}
	db_res_free(r);
	return (RK_OK);
}

/*
 * Every other move (deferred, to the next channel, ended, uncertain):
 * $1.. the rows' columns, then the phase and the worker. None of them
 * holds an attempt in flight, so the lease goes; a message moved to
 * another channel gets its key when it is sent there.
 */
#define MOVE_NCOLS 12
/* An attempt that ends in a retry or the next channel after its campaign
 * was cancelled is cancelled instead (the cancel saw it 'sending'). */
#define CANCELLED_SQL                                                     \
	"(NOT $13 AND s.state = 'queued' AND EXISTS (SELECT 1 FROM "        \
	" campaigns k WHERE k.campaign_id = m.campaign_id AND k.state = "   \
	DB_NUM(CAMPAIGN_CANCELLED) "))"
#define MOVE_SQL                                                          \
	"UPDATE messages m SET state = CASE WHEN " CANCELLED_SQL " THEN "   \
	"  'cancelled' ELSE s.state END, "                                  \
	" channel = coalesce(s.ch, m.channel), "                            \
	" channel_index = coalesce(s.idx, m.channel_index), "               \
	" idempotency_key = CASE WHEN s.ch IS NULL THEN m.idempotency_key " \
	"  END, "                                                           \
	" not_before = coalesce(timestamptz 'epoch' + s.at * "              \
	"  interval '1 microsecond', m.not_before), "                       \
	" reason = CASE WHEN " CANCELLED_SQL " THEN '"                      \
	CAMPAIGN_CANCELLED_REASON "' ELSE s.why END, "                      \
	" last_error = CASE WHEN s.err THEN s.why ELSE m.last_error END, "  \
	" decision = coalesce(s.decision, m.decision), "                    \
	" ambiguous = m.ambiguous OR s.amb, resend = s.resend, "            \
	" pace_slot = timestamptz 'epoch' + s.pace * interval '1 microsecond', " \
	" locked_by = NULL, lease_expires_at = NULL, updated_at = now() "   \
	"FROM unnest($1::bigint[], $2::int[], $3::text[], $4::bigint[], "   \
	" $5::smallint[], $6::smallint[], $7::text[], $8::bool[], "         \
	" $9::text[], $10::bool[], $11::bool[], $12::bigint[]) "            \
	" s(id, attempt, state, at, ch, idx, why, err, decision, amb, "     \
	" resend, pace) "                                                   \
	"WHERE m.id = s.id AND m.attempts = s.attempt AND CASE WHEN $13 "   \
	" THEN m.state IN ('queued', 'uncertain') ELSE "                    \
	" m.state = 'sending' AND m.locked_by = $14 END"

/* The rows of f that are not in state skip (those went by a lean
 * statement), by the general one. */
static rk_err
move_rest(db_conn *db, arena *a, bool claim, const char *worker,
    const struct fate *f, size_t n, int skip)
{
	const char *p[MOVE_NCOLS + 2];
	struct dbrows rows;

	dbrows_init(&rows, a, MOVE_NCOLS, n);
	for (size_t i = 0; i < n; i++) {
		const char **c;

		if (f[i].state == skip)
			continue;
		c = dbrows_add(&rows);
		c[0] = i64(a, f[i].id);
		c[1] = i64(a, f[i].attempt);
		c[2] = msg_state_name(f[i].state);
		c[3] = f[i].not_before_us ? i64(a, f[i].not_before_us) : NULL;
		c[4] = f[i].channel ? i64(a, f[i].channel) : NULL;
		c[5] = f[i].channel ? i64(a, f[i].channel_index) : NULL;
		c[6] = f[i].reason;
		c[7] = f[i].error ? "t" : "f";
		c[8] = f[i].decision;
		c[9] = f[i].ambiguous ? "t" : "f";
		c[10] = f[i].resend ? "t" : "f";
		c[11] = f[i].pace_slot_us ? i64(a, f[i].pace_slot_us) : NULL;
	}
	if (rows.n == 0)
		return (RK_OK);
	dbrows_params(&rows, p);
	p[MOVE_NCOLS] = claim ? "t" : "f";
	p[MOVE_NCOLS + 1] = worker;
	return (db_execp(db, "ddb_move", MOVE_SQL, MOVE_NCOLS + 2, p, NULL));
}

/*
 * The two moves nearly every message makes, as lean statements of their
 * own (a quarter of the columns of the general one): claimed to
 * 'sending', and 'sending' to 'sent'.
 */
#define SENDING_SQL                                                       \
	"UPDATE messages m SET state = 'sending', attempts = m.attempts + 1, " \
	" locked_by = $5, lease_expires_at = now() + $6::int * "            \
	" interval '1 second', slot_at = now(), recipient = s.recipient, "  \
	" pace_slot = NULL, "                                               \
	" idempotency_key = s.key, decision = 'send', reason = NULL, "      \
	" updated_at = now() "                                              \
	"FROM unnest($1::bigint[], $2::int[], $3::text[], $4::text[]) "     \
	" s(id, attempt, key, recipient) "                                  \
	"WHERE m.id = s.id AND m.attempts = s.attempt AND "                 \
	" m.state IN ('queued', 'uncertain')"
#define SENT_SQL                                                          \
	"UPDATE messages m SET state = 'sent', sent_at = timestamptz "      \
	" 'epoch' + s.sent * interval '1 microsecond', "                    \
	" provider_message_id = s.pid, reason = s.why, locked_by = NULL, "  \
	" lease_expires_at = NULL, resend = false, updated_at = now() "     \
	"FROM unnest($1::bigint[], $2::int[], $3::bigint[], $4::text[], "   \
	" $5::text[]) s(id, attempt, sent, pid, why) "                      \
	"WHERE m.id = s.id AND m.attempts = s.attempt AND "                 \
	" ((m.state = 'sending' AND m.locked_by = $6) OR "                  \
	" m.state = 'uncertain')"

rk_err
ddb_apply(db_conn *db, arena *a, bool claim, const char *worker, int lease_s,
    const struct fate *f, size_t n)
{
	int lean = claim ? MSG_SENDING : MSG_SENT;
	struct dbrows rows;
	const char *p[6];
	rk_err rc;

	dbrows_init(&rows, a, claim ? 4 : 5, n + 1);
	for (size_t i = 0; i < n; i++) {
		const char **c;

		if (f[i].state != lean)
			continue;
		c = dbrows_add(&rows);
		c[0] = i64(a, f[i].id);
		c[1] = i64(a, f[i].attempt);
		if (claim) {
			c[2] = f[i].key;
			c[3] = f[i].recipient;
		} else {
			c[2] = i64(a, f[i].sent_us);
			c[3] = f[i].provider_id;
			/* "accepted" says nothing the state does not */
			c[4] = strcmp(f[i].reason ? f[i].reason : "", "accepted") ?
			    f[i].reason : NULL;
		}
	}
	if (rows.n > 0) {
		dbrows_params(&rows, p);
		p[rows.ncols] = worker;
		if (claim)
			p[5] = i64(a, lease_s);
		rc = db_execp(db, claim ? "ddb_sending" : "ddb_sent", claim ?
		    SENDING_SQL : SENT_SQL, 6, p, NULL);
		if (rc != RK_OK)
			return (rc);
	}
	return (rows.n < n ? move_rest(db, a, claim, worker, f, n, lean) :
	    RK_OK);
}

rk_err
ddb_extend(db_conn *db, const char *worker, int channel, int lease_s)
{
	char ch[16], lease[16];
	const char *p[3] = {worker, ch, lease};

	snprintf(ch, sizeof(ch), "%d", channel);
	snprintf(lease, sizeof(lease), "%d", lease_s);
	/*
	 * Only the attempts whose lease has run down by a sixth: the
	 * heartbeat comes every lease/3, so one not extended now has at
	 * least half its lease left at the next. A batch that ends within
	 * lease/6 is never rewritten for its lease (an update of every row
	 * in flight at each heartbeat was 8 % of the e-mail pool's row
	 * writes at a 2 s lease).
	 */
	return (db_execp(db, "ddb_extend", "UPDATE messages SET "
	    "lease_expires_at = now() + $3::int * interval '1 second' "
	    "WHERE channel = $2 AND state = 'sending' AND locked_by = $1 AND "
	    "lease_expires_at < now() + $3::int * interval '1 second' * 5 / 6",
	    3, p, NULL));
}

rk_err
ddb_sweep(db_conn *db, int channel, bool resend, int max_attempts,
    int64_t *n)
{
	char ch[16], max[16];
	const char *p[3] = {ch, resend ? "t" : "f", max};
	db_res *r;
	rk_err rc;

	snprintf(ch, sizeof(ch), "%d", channel);
	snprintf(max, sizeof(max), "%d", max_attempts);
	rc = db_execp(db, "ddb_sweep", "UPDATE messages SET state = "
	    "'uncertain', ambiguous = true, resend = $2 AND attempts < $3, "
	    "not_before = now(), reason = 'the delivery process stopped during "
	    "attempt ' || attempts, last_error = 'the delivery process stopped "
	    "during attempt ' || attempts, locked_by = NULL, "
	    "lease_expires_at = NULL, updated_at = now() WHERE channel = $1 AND "
	    "state = 'sending' AND lease_expires_at < now()", 3, p, &r);
	if (rc != RK_OK)
		return (rc);
	*n = db_res_affected(r);
	db_res_free(r);
	return (RK_OK);
}

rk_err
ddb_due(db_conn *db, int channel, int64_t *n, double *oldest_s,
    int64_t *uncertain)
{
	char ch[16];
	const char *p[1] = {ch};
	db_res *r;
	rk_err rc;

	snprintf(ch, sizeof(ch), "%d", channel);
	/* the due predicate is the claim's (and the messages_due index's) */
	rc = db_execp(db, "ddb_due", "SELECT count(*) FILTER (WHERE (state = "
	    "'queued' OR (state = 'uncertain' AND resend)) AND not_before <= "
	    "now()), coalesce(extract(epoch FROM now() - min(not_before) "
	    "FILTER (WHERE (state = 'queued' OR (state = 'uncertain' AND "
	    "resend)) AND not_before <= now())), 0)::float8, count(*) FILTER "
	    "(WHERE state = 'uncertain') FROM messages WHERE channel = $1 AND "
	    "state IN ('queued', 'uncertain')", 1, p, &r);
	if (rc != RK_OK)
		return (rc);
	*n = db_res_int64(r, 0, 0);
	*oldest_s = db_res_double(r, 0, 1);
	*uncertain = db_res_int64(r, 0, 2);
	db_res_free(r);
	return (RK_OK);
}

rk_err
ddb_token_get(db_conn *db, arena *a, const char *provider, struct ptoken *t)
{
	const char *p[1] = {provider};
	db_res *r;
	rk_err rc;

	memset(t, 0, sizeof(*t));
	rc = db_execp(db, "ddb_token_get", "SELECT access_token, refresh_token, "
	    "generation, coalesce((extract(epoch FROM expires_at) * 1e6)::int8, "
	    "0), coalesce((extract(epoch FROM expires_at - updated_at) * "
	    "1e6)::int8, 0) FROM provider_tokens WHERE provider = $1", 1, p, &r);
	if (rc != RK_OK)
		return (rc);
	if (db_res_nrows(r) == 1) {
		t->access = arena_strdup(a, db_res_str(r, 0, 0));
		t->refresh = arena_strdup(a, db_res_str(r, 0, 1));
		t->gen = db_res_int64(r, 0, 2);
		t->expires_us = db_res_int64(r, 0, 3);
		t->life_us = db_res_int64(r, 0, 4);
	}
	db_res_free(r);
	return (RK_OK);
}

rk_err
ddb_token_seed(db_conn *db, arena *a, const char *provider,
    const char *access, const char *refresh, const char *seed_digest,
    struct ptoken *t)
{
	const char *p[4] = {provider, access, refresh, seed_digest};
	rk_err rc;

	rc = db_execp(db, "ddb_token_seed", "INSERT INTO provider_tokens "
	    "(provider, access_token, refresh_token, seed_digest) VALUES ($1, "
	    "$2, $3, $4) ON CONFLICT (provider) DO UPDATE SET access_token = "
	    "EXCLUDED.access_token, refresh_token = EXCLUDED.refresh_token, "
	    "expires_at = NULL, "
	    "generation = provider_tokens.generation + 1, seed_digest = "
	    "EXCLUDED.seed_digest, updated_at = now() WHERE "
	    "provider_tokens.seed_digest <> EXCLUDED.seed_digest", 4, p, NULL);
	if (rc != RK_OK)
		return (rc);
	return (ddb_token_get(db, a, provider, t));
}

rk_err
ddb_token_put(db_conn *db, const char *provider, const char *access,
    const char *refresh, int64_t expires_us, int64_t gen, bool *won)
{
	char g[24], e[24];
	const char *p[5] = {provider, access, refresh, g, expires_us ? e : NULL};
	int64_t n = 0;
	rk_err rc;

	snprintf(g, sizeof(g), "%lld", (long long)gen);
	snprintf(e, sizeof(e), "%lld", (long long)expires_us);
	rc = db_execp_count(db, "ddb_token_put", "UPDATE provider_tokens SET "
	    "access_token = $2, refresh_token = $3, expires_at = "
	    "to_timestamp($5::int8 / 1e6), generation = generation + 1, "
	    "refreshing_until = NULL, "
	    "updated_at = now() WHERE provider = $1 AND generation = $4::bigint",
	    5, p, &n);
	*won = rc == RK_OK && n == 1;
	return (rc);
}

rk_err
ddb_token_lease(db_conn *db, const char *provider, int64_t gen,
    int lease_ms, bool *got)
{
	char g[24], ms[16];
	const char *p[3] = {provider, g, ms};
	int64_t n = 0;
	rk_err rc;

	snprintf(g, sizeof(g), "%lld", (long long)gen);
	snprintf(ms, sizeof(ms), "%d", lease_ms);
	rc = db_execp_count(db, "ddb_token_lease", "UPDATE provider_tokens SET "
	    "refreshing_until = clock_timestamp() + $3::int * interval '1 ms' "
	    "WHERE provider = $1 AND generation = $2::bigint AND "
	    "(refreshing_until IS NULL OR refreshing_until < clock_timestamp())",
	    3, p, &n);
	*got = rc == RK_OK && n == 1;
	return (rc);
}

rk_err
ddb_token_unlease(db_conn *db, const char *provider, int64_t gen)
{
	char g[24];
	const char *p[2] = {provider, g};

	snprintf(g, sizeof(g), "%lld", (long long)gen);
	return (db_execp(db, "ddb_token_unlease", "UPDATE provider_tokens SET "
	    "refreshing_until = NULL WHERE provider = $1 AND generation = "
	    "$2::bigint", 2, p, NULL));
}
