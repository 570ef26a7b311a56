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
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "cfg.h"
#include "clock.h"
#include "db.h"
#include "dueheap.h"
#include "engage.h"
#include "fire.h"
#include "log.h"
#include "options.h"
#include "timer_cfg.h"



static volatile sig_atomic_t stop_flag;

static void
on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static db_conn *
open_db(void)
{
	char err[512];
	db_conn *db;

	for (int i = 0; i < 600 && !stop_flag; i++) {
		if (db_open(var_timer_database_url, "rekindle-timer", &db, err,
		    sizeof(err)) == RK_OK)
			return (db);
		if (i == 0)
			log_warn("DB-UNAVAILABLE", "could not connect to the "
			    "database, retrying: %s", err);
		usleep(100000);
	}
	log_fatal("DB-CONNECT-FAIL", "could not connect to the database: %s",
	    err);
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
	size_t n = 0;
	rk_err rc;

	*fired = 0;
	while (n < (size_t)var_fire_max && dueheap_peek(h) != NULL &&
	    dueheap_peek(h)->due_us <= now) {
		ids[n++] = dueheap_peek(h)->id;
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
	}
	return (rc);
}

int
main(int argc, char **argv)
{
	const struct cfg_entry *tables[3] = {timer_cfg, engage_cfg, NULL};
	struct dueheap h;
	char me[128], host[64];
	int64_t next_claim = 0, next_renew, total = 0, *ids;
	arena *a;
	db_conn *db;

	log_init("rekindle-timer");
	options_load(argc, argv, tables);
	gethostname(host, sizeof(host));
	host[sizeof(host) - 1] = '\0';
	snprintf(me, sizeof(me), "timer@%s:%d", host, (int)getpid());
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	db = open_db();
	if (db_migrate(db, db_migrations, db_nmigrations, NULL) != RK_OK)
		log_fatal("DB-MIGRATE-FAIL", "could not apply migrations: %s",
		    db_errmsg(db));
	dueheap_init(&h);
	a = arena_create(64 * 1024);
	ids = calloc((size_t)var_fire_max, sizeof(*ids));
	if (ids == NULL)
		log_fatal("MEM-EXHAUSTED", "timer batch");
	next_renew = clock_mono_ms() + var_lease_s * 1000 / 3;
	log_info("WORKER-START", "%s firing timers (horizon %d ms, lease %d s)",
	    me, var_horizon_ms, var_lease_s);
	while (!stop_flag) {
		int64_t now = clock_mono_ms(), wait_ms;
		const struct due *top;
		int fired = 0;

		arena_reset(a);
		if (now >= next_claim) {
			if (claim(db, a, me, &h) != RK_OK) {
				log_warn("DB-UNAVAILABLE", "could not claim timers: %s",
				    db_errmsg(db));
				usleep(200000);
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
		while (!stop_flag && clock_mono_ms() < now + var_poll_ms &&
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
		if (wait_ms > 0) {
			struct timespec ts = {wait_ms / 1000, (long)(wait_ms % 1000) *
			    1000000L};

			while (nanosleep(&ts, &ts) != 0 && errno == EINTR &&
			    !stop_flag)
				;
		}
	}
	release(db, me);
	log_info("WORKER-STOP", "%s: %lld timers fired", me, (long long)total);
	free(ids);
	dueheap_free(&h);
	arena_destroy(a);
	db_close(db);
	return (0);
}
