/*
 * channel_ops.h - the seam between the delivery pool and one channel's
 * provider (the way nng plugs in a transport). Each channel is one file
 * filling one channel_ops: sms.c, zns.c, push.c, email.c; the table in
 * channel_ops.c names them. Adding a channel is a new file and a row
 * there; deliver.c knows no channel by name.
 */
#ifndef RK_CHANNEL_OPS_H
#define RK_CHANNEL_OPS_H

#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "cfg.h"
#include "cred.h"
#include "db.h"
#include "http.h"
#include "provider.h"
#include "template.h"

/* A message being delivered, as the claim read it (deliver_db.c). */
struct dmsg {
	int64_t id;
	const char *campaign, *customer;
	int step, entry, channel_index, attempts;
	bool uncertain;		/* claimed from 'uncertain' to be sent again */
	bool ambiguous;		/* an earlier attempt may have been taken */
	const char *name, *phone, *email, *push_token, *zone;
	bool zalo, consent, dnc, has_template;
	const char *offer, *partner, *expiry, *code;
	const char *subject, *body, *html_body, *provider_template;
	const char *plan;	/* the campaign's channel_order as text */
	int campaign_state;	/* rekindle.v1.CampaignState */
	bool ended;		/* a first message after the campaign's end */
	int window_from_min;	/* the campaign's send window (governor.h) */
	int window_until_min;
	int rate;		/* the campaign's provider calls a second, 0:
				 * no limit */
	int64_t pace_slot_us;	/* the slot it was deferred to by that rate,
				 * 0 if none */
};

/* What a channel's request is made of besides the message. */
struct render {
	const char *vals[TV_N];	/* the template values, {link} included */
	const char *key;	/* the idempotency key (msgkey.h) */
};

/* What the operator wants done with an uncertain message. */
enum on_uncertain { UNCERTAIN_HOLD, UNCERTAIN_RESEND };

struct channel_ops {
	int channel;		/* CHANNEL_SMS, ... (channel.h) */
	/* Does the provider de-duplicate on our key? Only then is an
	 * ambiguous attempt safe to repeat. */
	bool dedups;
	/* The channel's configuration (CFG_END-terminated). */
	const struct cfg_entry *cfg;
	/* Checks the configuration (db: the process's connection, for what
	 * the pool's processes share); the default on_uncertain policy is
	 * resend where the provider de-duplicates, hold elsewhere. */
	rk_err (*init)(db_conn *db, enum on_uncertain *policy);
	/* The address this channel would use, NULL if the customer has
	 * none (the caps count per address). */
	const char *(*address)(const struct dmsg *m);
	/*
	 * Fills c (c->url is set) with m's request: headers, body (new,
	 * caller frees c->body), length, SMTP envelope.
	 */
	void (*request)(arena *a, const struct dmsg *m, const struct render *r,
	    struct http_call *c);
	/* What the reply means. */
	void (*reply)(const struct http_reply *h, struct send_result *res);
	/* After a batch in which the provider asked for it
	 * (SEND_REFRESH_TOKEN), renews the credentials, on the lane's
	 * connection (no transaction open); may be NULL. Says what came of
	 * it, counted by the pool (rekindle_provider_token_refreshes_total):
	 * "refreshed" (a new token, stored for the pool), "taken" (another
	 * process's, from the store), "unstored" (new, but the store failed),
	 * "failed" (none answered); NULL if another lane already had. */
	const char *(*refresh)(db_conn *db, arena *a);
	/* Asked before each claim where refresh is set: nothing is claimed
	 * while the credentials are known bad (every attempt would be
	 * refused, and spend one of the message's attempts). */
	enum credentials (*credentials)(void);
	/* A customer-care (not advertising) message's request body (new,
	 * caller frees) to phone, with key; NULL where the channel sends
	 * none (care.c). */
	char *(*care_request)(const char *phone_e164, const char *text,
	    const char *key);
};

extern const struct channel_ops sms_ops, zns_ops, push_ops, email_ops;

/* The ops of a channel, NULL if it is not a delivery channel. */
const struct channel_ops *channel_ops_of(int channel);

/* Every channel's configuration table, NULL-terminated: a process
 * serving one channel still reads a file written for all of them. */
const struct cfg_entry *const *channel_cfgs(void);

/* Parses "hold" / "resend" (for the channels' init). */
rk_err channel_policy(const char *name, const char *value,
    enum on_uncertain *out);

#endif
