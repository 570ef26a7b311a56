/*
 * main.c - rekindle-timer: one process of the timer pool.
 *
 * DESIGN
 *	The timers live in PostgreSQL (timers, due_at indexed while
 *	pending and unclaimed). Each process claims the near future -
 *	pending timers due within timer_horizon_ms that nobody holds - with
 *	a lease of
 *	timer_lease_seconds (FOR UPDATE SKIP LOCKED, so processes never
 *	claim the same timer), keeps them in a heap in memory, sleeps until
 *	the earliest is due and fires every due one in a batch: one
 *	transaction moves them from 'pending' to 'fired' (only those this
 *	process still holds) and does their work (fire.h). It renews its
 *	leases while it lives; if it dies, its timers are claimed again by
 *	the others when the leases run out, and fire then - late, never
 *	twice, never lost.
 *
 *	rekindle-timer [-c FILE] [-o NAME=VALUE]... [-v]
 */
#include <stdio.h>
#include <stdlib.h>

#include "arena.h"
#include "cfg.h"
#include "clock.h"
#include "daemon.h"
#include "db.h"
#include "dueheap.h"
#include "engage.h"
#include "fire.h"
#include "log.h"
#include "metrics.h"
#include "timer_cfg.h"
#include "worker.h"

static struct metric lateness = METRIC_HISTOGRAM(
    "rekindle_timer_lateness_seconds", "How late a timer fired after it was "
    "due.", metric_long_buckets, NULL);
static struct metric fired_total = METRIC_COUNTER(
    "rekindle_timers_fired_total", "Timers this process fired.", NULL);
static struct metric pending = METRIC_GAUGE("rekindle_timers_pending",
    "Timers waiting to fire (all of them, not only the due ones).", NULL);
static struct metric held = METRIC_GAUGE("rekindle_timers_held",
    "Timers this process has claimed and keeps in memory.", NULL);

/* At a scrape: pending timers, and the due ones as the queue "timers". */
static void
scrape(void *arg)
{
	db_conn *db = daemon_metrics_db();
	db_res *r;

	(void)arg;
	if (db == NULL)
		return;
	if (db_execp(db, "timer_gauge", "SELECT count(*), count(*) FILTER "
	    "(WHERE due_at <= now()), coalesce(extract(epoch FROM now() - "
	    "min(due_at)), 0)::float8 FROM timers WHERE state = 'pending'",
	    0, NULL, &r) != RK_OK)
		return;
	metric_set(&pending, (double)db_res_int64(r, 0, 0));
	worker_queue_gauge("timers", "", db_res_int64(r, 0, 1),
	    db_res_int64(r, 0, 1) > 0 ? db_res_double(r, 0, 2) : 0);
	db_res_free(r);
}

/* Claims the unheld near future into h; renews what this process holds. */
static rk_err
claim(db_conn *db, arena *a, const char *me, struct dueheap *h)
{
	/* never hold more than claim_max: what this process cannot fire in
	 * time stays for the others */
	const char *p[4] = {me, arena_printf(a, "%d", var_lease_s),
	    arena_printf(a, "%d", var_horizon_ms), arena_printf(a, "%d",
	    var_claim_max - (int)h->n)};
	db_res *r;
	rk_err rc;

	if ((int)h->n >= var_claim_max)
		return (RK_OK);
	rc = db_execp(db, "timer_claim", "UPDATE timers t SET claimed_by = "
		    "$1, claimed_until = now() + $2::int * interval '1 second' "
		    "FROM (SELECT id FROM timers WHERE state = 'pending' AND "
		    "claimed_by IS NULL AND due_at <= now() + $3::int * "
		    "interval '1 millisecond' ORDER BY due_at LIMIT $4 "
		    "FOR UPDATE SKIP LOCKED) c WHERE t.id = c.id "
		    "RETURNING t.id, (extract(epoch FROM t.due_at) * 1e6)::int8", 4, p,
		    &r);
	if (rc != RK_OK)
		return (rc);
	for (int i = 0; i < db_res_nrows(r); i++)
		dueheap_push(h, db_res_int64(r, i, 1), db_res_int64(r, i, 0));
	db_res_free(r);
	return (RK_OK);
}

static rk_err
renew(db_conn *db, arena *a, const char *me)
{
	const char *p[2] = {me, arena_printf(a, "%d", var_lease_s)};
	rk_err rc;

	rc = db_execp(db, "timer_renew", "UPDATE timers SET claimed_until = "
	    "now() + $2::int * interval '1 second' WHERE claimed_by = $1 AND "
	    "state = 'pending'", 2, p, NULL);
	/* claims that outlived their process go back to everyone */
	if (rc == RK_OK)
		rc = db_execp(db, "timer_expired", "UPDATE timers SET claimed_by = "
		    "NULL, claimed_until = NULL WHERE state = 'pending' AND "
		    "claimed_by IS NOT NULL AND claimed_until < now()", 0, NULL,
		    NULL);
	return (rc);
}

/* Gives back what this process holds (a clean exit: others fire them). */
static void
release(db_conn *db, const char *me)
{
	const char *p[1] = {me};

	if (db_exec(db, "UPDATE timers SET claimed_by = NULL, claimed_until = "
	    "NULL WHERE claimed_by = $1 AND state = 'pending'", 1, p, NULL) !=
	    RK_OK)
		log_warn("DB-UNAVAILABLE", "could not release timers: %s",
		    db_errmsg(db));
}

/* Fires the due entries at the top of h, up to var_fire_max. */
static rk_err
fire_due(db_conn *db, arena *a, const char *me, struct dueheap *h,
    int64_t *ids, int *fired)
{
	int64_t now = clock_now_us();
	double late = 0;
	size_t n = 0;
	rk_err rc;

	*fired = 0;
	while (n < (size_t)var_fire_max && dueheap_peek(h) != NULL &&
	    dueheap_peek(h)->due_us <= now) {
		ids[n++] = dueheap_peek(h)->id;
		late += (double)(now - dueheap_peek(h)->due_us) / 1e6;
		dueheap_pop(h);
	}
	if (n == 0)
		return (RK_OK);
	if ((rc = db_begin(db)) != RK_OK)
		return (rc);
	if ((rc = fire_timers(db, a, me, ids, n, var_policy_hour_seconds, fired)) != RK_OK ||
	    (rc = db_commit(db)) != RK_OK) {
		log_warn("TIMER-FIRE-FAIL", "%zu timers: %s (they fire again when "
		    "claimed)", n, db_errmsg(db));
		db_rollback(db);
		*fired = 0;
	} else if (*fired > 0) {
		/* each fired timer counts with the batch's mean lateness */
		for (int i = 0; i < *fired; i++)
			metric_observe(&lateness, late / (double)n);
		metric_add(&fired_total, *fired);
	}
	return (rc);
}

int
main(int argc, char **argv)
{
	static const struct cfg_entry *const tables[] = {timer_cfg, engage_cfg,
	    NULL};
	struct dueheap h;
	const char *me;
	int64_t next_claim = 0, next_renew, total = 0, *ids;
	arena *a;
	db_conn *db;

	daemon_start(argc, argv, &(struct daemon_spec){.name = "rekindle-timer",
	    .cfg = tables, .flags = DAEMON_DATABASE});
	me = daemon_id();
	if ((db = daemon_db_open("rekindle-timer")) == NULL)
		return (0);
	metrics_on_scrape(scrape, NULL);
	metric_register(&lateness);
	dueheap_init(&h);
	a = arena_create(64 * 1024);
	ids = calloc((size_t)var_fire_max, sizeof(*ids));
	if (ids == NULL)
		log_fatal("MEM-EXHAUSTED", "timer batch");
	next_renew = clock_mono_ms() + var_lease_s * 1000 / 3;
	log_info("WORKER-START", "%s firing timers (horizon %d ms, lease %d s)",
	    me, var_horizon_ms, var_lease_s);
	while (!daemon_stopping()) {
		int64_t now = clock_mono_ms(), wait_ms;
		const struct due *top;
		int fired = 0;

		arena_reset(a);
		if (now >= next_claim) {
			if (claim(db, a, me, &h) != RK_OK) {
				log_warn("DB-UNAVAILABLE", "could not claim timers: %s",
				    db_errmsg(db));
				daemon_sleep_ms(200);
				continue;
			}
			next_claim = now + var_poll_ms;
		}
		if (now >= next_renew) {
			if (renew(db, a, me) != RK_OK)
				log_warn("DB-UNAVAILABLE", "could not renew timer "
				    "leases: %s", db_errmsg(db));
			next_renew = now + var_lease_s * 1000 / 3;
			next_claim = now;	/* released claims may be due */
		}
		/* everything due now, before claiming more (a claim is the
		 * costly statement; falling behind must not make it more
		 * frequent) */
		while (!daemon_stopping() && clock_mono_ms() < now + var_poll_ms &&
		    fire_due(db, a, me, &h, ids, &fired) == RK_OK && fired > 0) {
			total += fired;
			log_debug("TIMER-FIRED", "%d timers (%lld in all)", fired,
			    (long long)total);
			arena_reset(a);
		}
		top = dueheap_peek(&h);
		if (top != NULL && top->due_us <= clock_now_us())
			continue;		/* more due already */
		wait_ms = next_claim - clock_mono_ms();
		if (top != NULL && (top->due_us - clock_now_us()) / 1000 < wait_ms)
			wait_ms = (top->due_us - clock_now_us()) / 1000;
		metric_set(&held, (double)h.n);
		if (wait_ms > 0)
			daemon_sleep_ms((int)wait_ms);
	}
	release(db, me);
	log_info("WORKER-STOP", "%s: %lld timers fired", me, (long long)total);
	free(ids);
	dueheap_free(&h);
	arena_destroy(a);
	db_close(db);
	daemon_finish();
	return (0);
}
