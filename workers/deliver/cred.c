/*
 * cred.c - a provider's access token shared by a process's lanes (cred.h).
 */
#include <stdlib.h>

#include "cred.h"
#include "mem.h"

/* Renewed this long (or a quarter of its life) before it expires; not
 * used in its last minute (or tenth): a request may take that long. */
#define RENEW_BEFORE_US INT64_C(300000000)
#define UNUSED_LAST_US INT64_C(60000000)
/* A failed renewal is tried again after 1 s, doubling to a minute. */
#define RETRY_FIRST_US INT64_C(1000000)
#define RETRY_MAX_US INT64_C(60000000)

/* most, or the token's life over part if that is less (life known) */
static int64_t
margin(const struct cred *c, int64_t most, int part)
{
	return (c->life_us > 0 && c->life_us / part < most ? c->life_us / part :
	    most);
}

void
cred_init(struct cred *c, const char *token, const char *refresh,
    int64_t expires_us, int64_t life_us, bool ahead)
{
	pthread_mutex_lock(&c->mu);
	free(c->token);
	free(c->refresh);
	c->token = token && *token ? xstrdup(token) : NULL;
	c->refresh = refresh && *refresh ? xstrdup(refresh) : NULL;
	c->expires_us = expires_us;
	c->life_us = life_us;
	c->ahead = ahead;
	c->refused = false;
	c->renewing = false;
	c->retry_us = 0;
	c->fails = 0;
	c->gen++;
	pthread_mutex_unlock(&c->mu);
}

void
cred_fini(struct cred *c)
{
	pthread_mutex_lock(&c->mu);
	free(c->token);
	free(c->refresh);
	c->token = c->refresh = NULL;
	pthread_mutex_unlock(&c->mu);
}

enum credentials
cred_state(struct cred *c, int64_t now_us, int64_t mono_us, bool *lane_renews)
{
	enum credentials s;
	bool usable, due;

	pthread_mutex_lock(&c->mu);
	usable = c->token != NULL && !c->refused && (c->expires_us == 0 ||
	    now_us < c->expires_us - margin(c, UNUSED_LAST_US, 10));
	due = !c->renewing && mono_us >= c->retry_us && (c->refused ||
	    (c->ahead && (c->token == NULL || (c->expires_us != 0 &&
	    now_us >= c->expires_us - margin(c, RENEW_BEFORE_US, 4)))));
	if (due) {
		c->renewing = true;
		*lane_renews = true;
		s = CRED_RENEW;
	} else
		s = usable ? CRED_OK : CRED_WAIT;
	pthread_mutex_unlock(&c->mu);
	return (s);
}

const char *
cred_use(struct cred *c, arena *a, unsigned *seen)
{
	const char *t;

	pthread_mutex_lock(&c->mu);
	t = arena_strdup(a, c->token ? c->token : "");
	*seen = c->gen;
	pthread_mutex_unlock(&c->mu);
	return (t);
}

unsigned
cred_gen(struct cred *c)
{
	unsigned gen;

	pthread_mutex_lock(&c->mu);
	gen = c->gen;
	pthread_mutex_unlock(&c->mu);
	return (gen);
}

const char *
cred_refresh(struct cred *c, arena *a)
{
	const char *t;

	pthread_mutex_lock(&c->mu);
	t = arena_strdup(a, c->refresh ? c->refresh : "");
	pthread_mutex_unlock(&c->mu);
	return (t);
}

bool
cred_begin(struct cred *c, unsigned seen, bool *lane_renews)
{
	bool go = true;

	pthread_mutex_lock(&c->mu);
	if (!*lane_renews) {
		/* refused: unless a newer token came since this lane's was
		 * taken, or another lane is renewing it */
		if (seen != c->gen)
			go = false;
		else {
			c->refused = true;
			if (c->renewing)
				go = false;
			else
				c->renewing = true;
		}
	}
	*lane_renews = false;
	pthread_mutex_unlock(&c->mu);
	return (go);
}

void
cred_end(struct cred *c, const char *token, const char *refresh,
    int64_t expires_us, int64_t life_us, int64_t mono_us)
{
	pthread_mutex_lock(&c->mu);
	c->renewing = false;
	if (token != NULL) {
		/* "": a refresh token alone (a pair seeded without its access
		 * token) - renewed at the next claim */
		free(c->token);
		c->token = *token ? xstrdup(token) : NULL;
		if (refresh != NULL) {
			free(c->refresh);
			c->refresh = xstrdup(refresh);
		}
		c->expires_us = expires_us;
		c->life_us = life_us;
		c->refused = false;
		c->gen++;
		c->retry_us = 0;
		c->fails = 0;
	} else {
		c->retry_us = mono_us + (c->fails < 6 ? RETRY_FIRST_US <<
		    c->fails : RETRY_MAX_US);
		c->fails++;
	}
	pthread_mutex_unlock(&c->mu);
}
