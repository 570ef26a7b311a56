/*
 * deliver_db.h - the delivery pool's SQL: claiming due messages, the
 * contact-cap slots, every move of the send ledger, and the leases of
 * attempts in flight. deliver.c decides; this file only reads and
 * writes (msgstate.h names the states).
 */
#ifndef RK_DELIVER_DB_H
#define RK_DELIVER_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "channel_ops.h"
#include "db.h"

/*
 * Inside a transaction: locks up to max due messages of channel (queued,
 * or uncertain and to be sent again; FOR UPDATE SKIP LOCKED, oldest due
 * first) and reads each with what sending it needs, sorted by customer.
 * *out (in a) gets *n messages. max is fixed for the process (the first
 * call's). *db_now_us gets the database's now() (if *n > 0): the clock
 * the due predicate reads, the same for every process of a pool.
 */
rk_err ddb_claim(db_conn *db, arena *a, int channel, int max,
    struct dmsg **out, int *n, int64_t *db_now_us);

/*
 * Inside the claim's transaction: takes the transaction-scoped advisory
 * lock of each recipient (in one global order, so two claimers never
 * wait on each other in a circle), then reads the contact-cap slots each
 * holds on channel in the last 24 hours: count[i] and the oldest slot's
 * time oldest_us[i] (0 if none). The locks hold until the commit that
 * takes the new slots.
 */
rk_err ddb_slots(db_conn *db, arena *a, int channel,
    const char *const *recipients, size_t n, int *count, int64_t *oldest_us);

/*
 * Of the campaigns ids[0..n), those no longer running: ids[i] with
 * state[i] its state (rekindle.v1.CampaignState), *nstopped of them, in
 * arena a.
 */
rk_err ddb_stopped(db_conn *db, arena *a, const char *const *ids, size_t n,
    const char ***stopped, int **state, size_t *nstopped);

/*
 * Inside the claim's transaction, after ddb_slots: locks the pace rows of
 * the campaigns ids[0..n) on channel (made at the epoch if missing), in
 * their order - sorted by strcmp, one global order - and reads each
 * one's theoretical arrival time into tat_us[i]. The locks hold until the claim commits (ddb_pace_save).
 */
rk_err ddb_pace_lock(db_conn *db, arena *a, int channel,
    const char *const *ids, size_t n, int64_t *tat_us);

/* Stores tat_us[i] as the theoretical arrival time of ids[i] on channel. */
rk_err ddb_pace_save(db_conn *db, arena *a, int channel,
    const char *const *ids, size_t n, const int64_t *tat_us);

/* One move of the ledger for one message. NULL / 0 / -1: unchanged. */
struct fate {
	int64_t id;
	int attempt;		/* the attempts the row must have */
	int state;		/* MSG_* */
	int64_t not_before_us;	/* 0: unchanged */
	int channel;		/* 0: unchanged (else: moved to it) */
	int channel_index;
	const char *reason;
	bool error;		/* reason is also the last error */
	const char *decision;	/* the governor's, or NULL */
	const char *key;	/* MSG_SENDING: the idempotency key */
	const char *recipient;	/* MSG_SENDING: whose slot */
	const char *provider_id;
	bool ambiguous;		/* this attempt may have been taken */
	bool resend;		/* MSG_UNCERTAIN: send again, same key */
	int64_t sent_us;	/* MSG_SENT: when the provider took it */
	int64_t pace_slot_us;	/* deferred to this slot by the campaign's
				 * rate; 0: none (every other move clears it) */
};

/*
 * Applies f[0..n) set-wise: the common move (claim: to 'sending', which
 * takes an attempt, a lease of lease_s for worker and the slot;
 * outcome: to 'sent') by a lean statement, every other by a general
 * one. claim: the rows are this transaction's claim (queued or
 * uncertain, attempts as read). Otherwise they are outcomes of worker's
 * attempts (state sending, locked by worker, attempts = f.attempt), or
 * a late 'sent' for an attempt the sweeper already called uncertain.
 * Rows that no longer match are left alone.
 */
rk_err ddb_apply(db_conn *db, arena *a, bool claim, const char *worker,
    int lease_s, const struct fate *f, size_t n);

/* Extends the leases of worker's attempts in flight on channel. */
rk_err ddb_extend(db_conn *db, const char *worker, int channel, int lease_s);

/*
 * Attempts on channel whose lease ran out (their process died mid-send)
 * become uncertain, to be sent again only if resend; *n gets how many.
 */
rk_err ddb_sweep(db_conn *db, int channel, bool resend, int max_attempts,
    int64_t *n);

/* For the metrics: messages of channel due now (*n), how long the oldest
 * has waited (*oldest_s), and how many are uncertain (*uncertain). */
rk_err ddb_due(db_conn *db, int channel, int64_t *n, double *oldest_s,
    int64_t *uncertain);

/* A provider's shared OAuth tokens (provider_tokens); gen counts the
 * refreshes; expires_us: when the access token expires, life_us: how long
 * it was given for (0 if not known). */
struct ptoken {
	const char *access, *refresh;
	int64_t gen;
	int64_t expires_us, life_us;
};

/*
 * Stores the configuration's pair for provider unless the stored one
 * came from the same seed (seed_digest), then reads what is stored into
 * *t (strings in a; t->access NULL if nothing is).
 */
rk_err ddb_token_seed(db_conn *db, arena *a, const char *provider,
    const char *access, const char *refresh, const char *seed_digest,
    struct ptoken *t);
/* Reads the stored pair (t->access NULL if none). */
rk_err ddb_token_get(db_conn *db, arena *a, const char *provider,
    struct ptoken *t);
/* Stores a refreshed pair (expiring at expires_us, 0: not known) as
 * generation gen + 1 if the stored one is still generation gen; *won says
 * whether it was. */
rk_err ddb_token_put(db_conn *db, const char *provider, const char *access,
    const char *refresh, int64_t expires_us, int64_t gen, bool *won);
/*
 * The lease to refresh generation gen of provider's pair for lease_ms,
 * committed (no transaction may be open); *got says whether this process
 * has it - not while another's runs, nor once a newer pair is stored.
 * ddb_token_put ends it; ddb_token_unlease gives it up after a failure.
 */
rk_err ddb_token_lease(db_conn *db, const char *provider, int64_t gen,
    int lease_ms, bool *got);
rk_err ddb_token_unlease(db_conn *db, const char *provider, int64_t gen);

#endif
