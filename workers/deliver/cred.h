/*
 * cred.h - a provider's access token, shared by the lanes of a delivery
 * process: the one seam for every channel whose provider takes a bearer
 * token that expires or is refused (ZNS, push).
 *
 * A lane asks cred_state before it claims messages: nothing is claimed
 * while the token is known bad (every attempt would be refused, and
 * spend one of the message's attempts) or in its last minute (a request
 * may take that long). One lane at a time renews, between cred_begin and
 * cred_end, with no lock held across the network call; the others send
 * with the token they have while it is good. A token whose expiry is
 * known is renewed ahead of it - five minutes before, or a quarter of its
 * life if that is less - where the provider lets us renew at all; one
 * the provider refuses is renewed at once. A renewal that failed is tried
 * again after 1 s, doubling to a minute.
 *
 * Pure: the clocks are the caller's (wall clock for expiries, monotonic
 * for retries), so the rules are tested without waiting.
 */
#ifndef RK_CRED_H
#define RK_CRED_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "arena.h"

/* Whether a channel's credentials can be used now. */
enum credentials {
	CRED_OK,	/* good: claim and send */
	CRED_WAIT,	/* known bad, or in its last minute: claim nothing */
	CRED_RENEW	/* due for renewal, by this lane (cred_begin) */
};

struct cred {
	pthread_mutex_t mu;
	char *token;		/* in use; NULL: none yet */
	char *refresh;		/* what renews it, where the provider has one */
	unsigned gen;		/* tokens so far */
	int64_t expires_us;	/* wall clock; 0: not known */
	int64_t life_us;	/* as long as it was given for; 0: not known */
	bool ahead;		/* renewed ahead of its expiry (it can be) */
	bool refused;		/* by the provider, or none could be had */
	bool renewing;		/* a lane is renewing it */
	int64_t retry_us;	/* after a failed renewal: not before (mono) */
	int fails;		/* renewals failed in a row */
};

#define CRED_INITIALIZER {.mu = PTHREAD_MUTEX_INITIALIZER}

/* The token (and refresh token, may be NULL) to start with, when it
 * expires and how long it was given for (0: not known); ahead: it can be
 * renewed before it expires (a refresh token, a service account). Before
 * the lanes start. */
void cred_init(struct cred *c, const char *token, const char *refresh,
    int64_t expires_us, int64_t life_us, bool ahead);
void cred_fini(struct cred *c);

/*
 * Before a claim. CRED_RENEW chooses the calling lane (*lane_renews set:
 * a thread-local of the caller's) to renew now; the others go on with
 * the token while it is good.
 */
enum credentials cred_state(struct cred *c, int64_t now_us, int64_t mono_us,
    bool *lane_renews);

/* The token for a request (in a, "" if none), and its generation in
 * *seen (a thread-local of the caller's). */
const char *cred_use(struct cred *c, arena *a, unsigned *seen);

/* The generation alone, for a channel whose token is not sent (a login
 * configured once: email.c) but whose refusal must still be matched to
 * the token it refused. */
unsigned cred_gen(struct cred *c);

/* The refresh token (in a, "" if none). */
const char *cred_refresh(struct cred *c, arena *a);

/*
 * Whether this lane renews now: the one cred_state chose, or one whose
 * token (of generation seen) the provider refused - unless a newer token
 * came since, or another lane is renewing. Then cred_end follows, once.
 */
bool cred_begin(struct cred *c, unsigned seen, bool *lane_renews);

/* The renewal's end: a new token (refresh NULL: the same one; expires_us
 * and life_us 0 if not known; "" with a refresh token: none yet, renewed
 * at the next cred_state), or NULL if none could be had. */
void cred_end(struct cred *c, const char *token, const char *refresh,
    int64_t expires_us, int64_t life_us, int64_t mono_us);

#endif
