/*
 * deliver.c - one channel's batches through the send ledger.
 *
 * THE LEDGER
 *	A batch is claimed in one short transaction: due messages locked
 *	(SKIP LOCKED), the governor asked, and every message moved on in
 *	one statement - to 'sending' (attempt number, a lease, its
 *	contact-cap slot), or deferred, or to the next channel, or ended.
 *	That commits before any provider is called. The calls run with no
 *	transaction and no lock; outcomes are committed as they complete,
 *	in group commits of at most OUTCOME_WINDOW_MS or OUTCOME_GROUP
 *	messages. Each outcome applies only while the attempt is still
 *	this process's (state 'sending', locked by it, same attempt).
 *
 * AMBIGUITY
 *	A call that was written and got no reply, or whose process died
 *	while it was 'sending' (the sweeper finds its lease run out), may
 *	have been taken. Such a message becomes 'uncertain': it keeps its
 *	cap slot, and it is sent again with the same key only when the
 *	channel's policy says resend - by default only where the provider
 *	de-duplicates on the key (SMS). Once ambiguous, a message never goes
 *	back to 'queued' (which would free its slot) nor to another channel:
 *	a later clear failure does not prove the earlier attempt failed.
 *
 * CONTACT LIMITS
 *	The claim holds an advisory lock per recipient (phone number,
 *	e-mail address) from counting its slots to committing the new ones,
 *	so two batches of different campaigns cannot both take the last
 *	slot of a Decree 91 daily cap. The lock is never held across a
 *	provider call: the committed 'sending' row is what the next batch
 *	counts.
 *
 * PACING
 *	A campaign's provider_rate_per_second holds for every process of the
 *	channel together: the generic cell rate algorithm (gov_pace_slot)
 *	on the campaign's row of campaign_pace, locked inside the claim
 *	after the recipients' locks, on the database's clock (the one the
 *	due predicate reads, the same for every machine of a pool). Each
 *	call takes the slot max(tat, now) and moves tat on by 1/rate; a
 *	message whose slot is later is deferred to it, the slot kept with
 *	it, and spends it when it comes due. A call never goes before its
 *	slot, and a slot more than S = pace_stale_us() past is given up for
 *	a new one, so in any t seconds at most rate x (t + S) + 1 calls of a
 *	campaign start on a channel (S = 2 s with the default poll
 *	interval), and over a long run rate a second.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "campaign.h"
#include "channel.h"
#include "care.h"
#include "channel_ops.h"
#include "clock.h"
#include "deliver.h"
#include "daemon.h"
#include "deliver_db.h"
#include "gate.h"
#include "governor.h"
#include "log.h"
#include "mem.h"
#include "metrics.h"
#include "msgkey.h"
#include "msgstate.h"
#include "msgtoken.h"
#include "strv.h"
#include "template.h"

#define MAX_ATTEMPTS 8
#define OUTCOME_WINDOW_MS 100
#define OUTCOME_GROUP 256
#define STOP_CHECK_MS 250	/* how often a batch asks if its campaigns
				 * were paused or cancelled */

int deliver_channel;

static struct metric sends = METRIC_COUNTER("rekindle_sends_total",
    "Send attempts' outcomes, by channel: sent, failed (for good), denied "
    "(by the governor), uncertain (written, no reply), retried.",
    "channel", "outcome");
static struct metric provider_seconds = METRIC_HISTOGRAM(
    "rekindle_provider_request_seconds", "Time a provider took to answer a "
    "send (or to time out), by channel.", metric_latency_buckets, "channel");
static struct metric provider_replies = METRIC_COUNTER(
    "rekindle_provider_replies_total", "Provider answers, by channel and "
    "class: ok, 4xx, 429, 5xx, no_reply (timeout or connection lost), "
    "tls_refused (the provider's certificate refused: nothing sent).",
    "channel", "class");
static struct metric uncertain_now = METRIC_GAUGE(
    "rekindle_messages_uncertain", "Messages written to a provider with no "
    "answer (held, or to be sent again with the same key), by channel.",
    "channel");
static struct metric provider_down = METRIC_GAUGE(
    "rekindle_provider_down", "1 while this process's provider answers "
    "nothing (gate.h: nothing claimed but one message now and then to try "
    "it), else 0, by channel.", "channel");
static struct metric paced = METRIC_COUNTER("rekindle_sends_paced_total",
    "Messages deferred to a later slot by their campaign's provider rate, "
    "by channel.", "channel");
static struct metric refreshes = METRIC_COUNTER(
    "rekindle_provider_token_refreshes_total", "Provider access-token "
    "renewals, by channel and outcome: refreshed (stored for the pool), "
    "taken (another process's, from the store), unstored (refreshed, the "
    "store failed), failed (no new token answered).", "channel", "outcome");
static struct metric decisions = METRIC_COUNTER(
    "rekindle_governor_decisions_total", "The contact governor's verdicts, "
    "by channel, verdict (allow, deny, defer) and reason.", "channel",
    "verdict", "reason");

static const struct channel_ops *ops;
static enum on_uncertain policy;
static struct gate gate = GATE_INITIALIZER;
static char *var_provider_url, *var_provider_ca_file;
int deliver_lanes;
static int var_provider_timeout_ms, var_provider_parallel, var_deliver_batch,
    var_sms_per_day, var_email_per_day, var_sms_from_hour, var_sms_until_hour;

const struct cfg_entry deliver_cfg[] = {
	{"provider_url", CFG_STR, "", &var_provider_url, 0, 0, 0,
	    "the channel provider's send endpoint (deliver pools)"},
	{"provider_ca_file", CFG_STR, "", &var_provider_ca_file, 0, 0, 0,
	    "CA bundle (PEM) the provider's certificate is checked against - "
	    "its sends, token renewals and mail relay alike; empty: the "
	    "system's"},
	{"provider_timeout_ms", CFG_INT, "10000", &var_provider_timeout_ms, 100,
	    120000, 0, "longest wait for a provider's reply"},
	{"provider_parallel", CFG_INT, "16", &var_provider_parallel, 1, 256, 0,
	    "requests in flight at once to the provider, per process"},
	{"deliver_batch", CFG_INT, "256", &var_deliver_batch, 1, 5000, 0,
	    "messages a delivery lane claims at once (all of them are "
	    "'sending' until their outcome: what a crash leaves uncertain)"},
	{"deliver_lanes", CFG_INT, "2", &deliver_lanes, 1, 16, 0,
	    "batches a delivery process runs at once, each on its own "
	    "database connection: one lane's claim overlaps another's "
	    "provider calls (a crash leaves up to lanes x deliver_batch "
	    "uncertain)"},
	{"sms_per_day", CFG_INT, "3", &var_sms_per_day, 0, 100, 0,
	    "advertising SMS per number in any 24 hours (Decree 91: 3)"},
	{"email_per_day", CFG_INT, "3", &var_email_per_day, 0, 100, 0,
	    "advertising e-mails per address in any 24 hours (Decree 91: 3)"},
	{"sms_from_hour", CFG_INT, "7", &var_sms_from_hour, 0, 24, 0,
	    "advertising SMS from this local hour (Decree 91: 07)"},
	{"sms_until_hour", CFG_INT, "22", &var_sms_until_hour, 0, 24, 0,
	    "... until this local hour (Decree 91: 22)"},
	CFG_END,
};

/* At a scrape: the channel's outbox, as the queue "deliver". */
static void
scrape(void *arg)
{
	db_conn *db = daemon_metrics_db();
	int64_t n, unc;
	double age;

	(void)arg;
	metric_set(&provider_down, gate_shut(&gate) ? 1 : 0,
	    channel_name(deliver_channel));
	if (db == NULL || ddb_due(db, deliver_channel, &n, &age, &unc) != RK_OK)
		return;
	worker_queue_gauge("deliver", channel_name(deliver_channel), n, age);
	metric_set(&uncertain_now, (double)unc, channel_name(deliver_channel));
}

rk_err
deliver_init(struct worker *w, db_conn *db)
{
	rk_err rc;

	(void)w;
	if ((ops = channel_ops_of(deliver_channel)) == NULL)
		log_fatal("CONFIG-INVALID", "not a delivery channel");
	if (*var_provider_url == '\0')
		log_fatal("CONFIG-INVALID", "provider_url is required");
	if (*var_tracking_secret == '\0')
		log_fatal("CONFIG-INVALID", "tracking_secret is required");
	/* A personal link is never cut: base, up to 20 digits, ".", 16 hex. */
	if (strlen(var_tracking_url) + 37 > (size_t)tmpl_var_max[TV_LINK])
		log_fatal("CONFIG-INVALID", "tracking_url is longer than %d "
		    "characters: links would not fit {link}",
		    tmpl_var_max[TV_LINK] - 37);
	/* an unreadable bundle would fail every call as if the provider were
	 * down: said once, at start */
	if (*var_provider_ca_file != '\0' && access(var_provider_ca_file,
	    R_OK) != 0)
		log_fatal("CONFIG-INVALID", "provider_ca_file: %s",
		    strerror(errno));
	if ((rc = ops->init(db, &policy)) == RK_EUNAVAIL)
		return (rc);	/* the database: waited out */
	if (rc != RK_OK)
		log_fatal("CONFIG-INVALID", "%s channel: %s%s%s",
		    channel_name(deliver_channel), rk_strerror(rc), rc ==
		    RK_EINVAL ? "" : ": ", rc == RK_EINVAL ? "" : db_errmsg(db));
	http_init(var_provider_timeout_ms, var_provider_parallel,
	    var_provider_ca_file);
	metrics_on_scrape(scrape, NULL);
	metric_register(&refreshes);	/* served before the first renewal */
	log_info("DELIVER-POLICY", "%s: provider %s on our key; an uncertain "
	    "message is %s", channel_name(deliver_channel), ops->dedups ?
	    "de-duplicates" : "does not de-duplicate", policy ==
	    UNCERTAIN_RESEND ? "sent again with the same key" : "held");
	return (RK_OK);
}

/* The digest a recipient's contact-cap slots are kept under: SHA-256 of
 * channel and address (e-mail case-folded), hex, 32 characters. */
static const char *
recipient_of(arena *a, const char *address)
{
	char *out = arena_alloc(a, 33), *text;

	text = arena_printf(a, "%s:%s", channel_name(deliver_channel), address);
	if (deliver_channel == CHANNEL_EMAIL)
		for (char *p = text; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
	provider_sha256_hex(text, 16, out);
	return (out);
}

/* Backoff before attempt n + 1: 2^n s (at most 32) with up to 1 s of
 * jitter, or what the provider asked (at most an hour). */
static int64_t
backoff_us(int attempt, int retry_after_s)
{
	if (retry_after_s > 0)
		return ((int64_t)(retry_after_s < 3600 ? retry_after_s : 3600) *
		    1000000);
	return ((INT64_C(1000000) << (attempt < 5 ? attempt : 5)) +
	    (int64_t)(lrand48() % 1000000));
}

/* The next channel of m's plan after its current one, 0 if none. */
static int
next_channel(arena *a, const struct dmsg *m, int *index)
{
	size_t n;
	char **ch = db_array_split(a, m->plan, &n);

	if ((size_t)m->channel_index + 1 >= n)
		return (0);
	*index = m->channel_index + 1;
	return (atoi(ch[m->channel_index + 1]));
}

/* m cannot go out on this channel (why): the next channel of its plan,
 * or the end state given. */
static void
move_on(arena *a, const struct dmsg *m, struct fate *f, int end,
    const char *why)
{
	int idx = 0, ch = next_channel(a, m, &idx);

	f->reason = why;
	if (ch != 0) {
		f->state = MSG_QUEUED;
		f->channel = ch;
		f->channel_index = idx;
		f->not_before_us = clock_now_us();
	} else
		f->state = end;
}

/*
 * The claim's verdict on one message, under the campaign's state, its
 * template and the governor (slots: the recipient's cap slots held in 24
 * hours, oldest_us the oldest). True if it is to be sent now (f is then
 * completed by the caller).
 */
static bool
decide(arena *a, const struct gov_rules *rules, const struct dmsg *m,
    const char *address, int slots, int64_t oldest_us, int64_t now,
    struct fate *f)
{
	struct gov_request q = {deliver_channel, true, now,
	    m->zone, address != NULL, m->consent, m->dnc, slots, oldest_us,
	    m->window_from_min, m->window_until_min};
	struct gov_decision d;

	f->id = m->id;
	f->attempt = m->attempts;
	/* an uncertain message stays so (its slot held) whatever happens */
	f->state = m->uncertain ? MSG_UNCERTAIN : MSG_QUEUED;
	f->resend = m->uncertain;
	if (m->campaign_state == CAMPAIGN_PAUSED) {
		f->not_before_us = now + 60 * INT64_C(1000000);
		f->reason = CAMPAIGN_PAUSED_REASON;
		return (false);
	}
	if (m->campaign_state != CAMPAIGN_RUNNING || m->ended) {
		/* its end time stops first messages, even before the end
		 * timer fires */
		f->reason = m->ended ? "campaign ended" : "campaign not running";
		if (m->uncertain)
			f->resend = false;
		else
			f->state = MSG_CANCELLED;
		return (false);
	}
	if (!m->has_template && !m->uncertain) {
		move_on(a, m, f, MSG_FAILED, arena_printf(a, "no %s template",
		    channel_name(deliver_channel)));
		return (false);
	}
	gov_decide(rules, &q, &d);
	f->decision = gov_reason_code(d.reason);
	metric_add(&decisions, 1, channel_name(deliver_channel),
	    d.verdict == GOV_DENY ? "deny" : d.verdict == GOV_DEFER ? "defer" :
	    "allow", gov_reason_code(d.reason));
	if (d.verdict == GOV_DENY && !m->uncertain)
		metric_add(&sends, 1, channel_name(deliver_channel), "denied");
	if (d.verdict == GOV_DENY) {
		if (m->uncertain) {
			f->resend = false;
			f->reason = gov_reason_code(d.reason);
		} else
			move_on(a, m, f, MSG_DENIED, gov_reason_code(d.reason));
		return (false);
	}
	if (d.verdict == GOV_DEFER) {
		f->not_before_us = d.not_before_us;
		f->reason = gov_reason_code(d.reason);
		return (false);
	}
	f->decision = "send";
	return (true);
}

/*
 * How far past its pace slot a message may still spend it, else it takes
 * a new one: how late a paced call may go, and so how far it may bunch
 * with others. Twice the poll interval (a deferred message is claimed at
 * the first poll after its slot), and at least 2 s.
 */
static int64_t
pace_stale_us(void)
{
	int ms = worker_poll_interval_ms();

	return (2 * INT64_C(1000) * (ms > 1000 ? ms : 1000));
}

/* The paced campaigns of one claim, with their pace rows' times. */
struct pacer {
	const char **ids;	/* sorted, unique */
	int64_t *tat_us;	/* theoretical arrival time of the next call */
	size_t n;
};

/* Locks the pace rows of the paced campaigns of m[0..n). */
static rk_err
pace_begin(db_conn *db, arena *a, const struct dmsg *m, int n,
    struct pacer *pc)
{
	pc->ids = arena_zalloc(a, sizeof(char *) * (size_t)(n + 1));
	pc->n = 0;
	for (int i = 0; i < n; i++)
		if (m[i].rate > 0)
			pc->ids[pc->n++] = m[i].campaign;
	pc->n = strv_sort_unique(pc->ids, pc->n);
	pc->tat_us = arena_zalloc(a, sizeof(int64_t) * (pc->n + 1));
	return (pc->n == 0 ? RK_OK : ddb_pace_lock(db, a, deliver_channel,
	    pc->ids, pc->n, pc->tat_us));
}

/*
 * True if m, allowed by the governor, may call the provider now under its
 * campaign's rate (PACING); else f defers it to its slot.
 */
static bool
pace(struct pacer *pc, const struct dmsg *m, int64_t now, struct fate *f)
{
	const char **c;
	int64_t *tat, slot;

	if (m->rate <= 0)
		return (true);
	if (m->pace_slot_us > now) {
		/* made due early (a resumed campaign): its slot stands */
		slot = m->pace_slot_us;
		goto defer;
	}
	if (m->pace_slot_us != 0 && m->pace_slot_us >= now - pace_stale_us())
		return (true);	/* the slot it was deferred to */
	c = bsearch(&m->campaign, pc->ids, pc->n, sizeof(char *), strv_cmp);
	if (c == NULL)
		return (false);	/* not locked: cannot be */
	tat = &pc->tat_us[c - pc->ids];
	if ((slot = gov_pace_slot(tat, now, m->rate)) <= now)
		return (true);
defer:
	f->not_before_us = slot;
	f->pace_slot_us = slot;
	f->decision = "paced";
	f->reason = "paced to the campaign's provider rate";
	metric_add(&paced, 1, channel_name(deliver_channel));
	return (false);
}

/* A batch in flight: its messages, their calls and what is not yet
 * committed of their outcomes. */
struct batch {
	struct worker *w;
	db_conn *db;
	arena *a;
	struct dmsg *m;
	struct http_call *calls;
	int *which;		/* calls[k] is m[which[k]] */
	struct fate *out;	/* outcomes not yet committed */
	size_t nout;
	int64_t first_ms;	/* when the oldest of them came */
	int lease_s;
	bool refresh;		/* the provider asked for new credentials */
	bool probe;		/* one message, to try a provider that was
				 * down (gate.h) */
	int answered, unanswered;	/* calls, for the gate */
	int tls_refused;	/* of the unanswered: certificate refused */
	const char *tls_error;	/* the first one's libcurl words */
	int counts[MSG_UNCERTAIN + 1];
	int *held;		/* held[k]: calls[k]'s campaign's state when
				 * it was withheld, else 0 */
	const char **camps;	/* the calls' campaigns, sorted, unique */
	size_t ncamps;
	int64_t checked_ms;	/* when they were last asked about */
};

/* The outcome of m's attempt from the provider's answer. */
static void
outcome(struct batch *b, const struct dmsg *m, const struct send_result *res,
    struct fate *f)
{
	int attempt = m->attempts + 1;
	bool again = policy == UNCERTAIN_RESEND && attempt < MAX_ATTEMPTS;

	memset(f, 0, sizeof(*f));
	f->id = m->id;
	f->attempt = attempt;
	f->reason = arena_strdup(b->a, res->reason);
	metric_add(&sends, 1, channel_name(deliver_channel),
	    res->outcome == SEND_OK ? "sent" : res->outcome == SEND_AMBIGUOUS ?
	    "uncertain" : (res->outcome == SEND_RETRY || res->outcome ==
	    SEND_REFRESH_TOKEN) && attempt < MAX_ATTEMPTS ? "retried" :
	    "failed");
	switch (res->outcome) {
	case SEND_OK:
		f->state = MSG_SENT;
		f->sent_us = clock_now_us();
		f->provider_id = arena_strdup(b->a, res->provider_id);
		return;
	case SEND_AMBIGUOUS:
		f->ambiguous = true;
		f->state = MSG_UNCERTAIN;
		f->resend = again;
		f->not_before_us = clock_now_us() + backoff_us(attempt, 0);
		f->error = true;
		return;
	case SEND_REFRESH_TOKEN:
		b->refresh = true;
		/* FALLTHROUGH */
	case SEND_RETRY:
		f->error = true;
		f->not_before_us = clock_now_us() + (res->outcome ==
		    SEND_REFRESH_TOKEN ? 0 : backoff_us(attempt,
		    res->retry_after_s));
		if (m->ambiguous) {
			f->state = MSG_UNCERTAIN;
			f->resend = again;
		} else
			f->state = attempt >= MAX_ATTEMPTS ? MSG_FAILED :
			    MSG_QUEUED;
		return;
	case SEND_NEXT_CHANNEL:
	case SEND_FAILED:
		f->error = true;
		if (m->ambiguous)
			f->state = MSG_UNCERTAIN;	/* held: proves nothing */
		else if (res->outcome == SEND_NEXT_CHANNEL)
			move_on(b->a, m, f, MSG_FAILED, f->reason);
		else
			f->state = MSG_FAILED;
		return;
	}
}

/* Commits the gathered outcomes; false (they stay gathered) if the
 * database is away. */
static bool
flush(struct batch *b)
{
	rk_err rc;

	if (b->nout == 0)
		return (true);
	rc = ddb_apply(b->db, b->a, false, worker_id(b->w), b->lease_s, b->out,
	    b->nout);
	if (rc != RK_OK) {
		log_warn("DB-UNAVAILABLE", "could not record %zu outcomes, "
		    "keeping them: %s", b->nout, db_errmsg(b->db));
		return (false);
	}
	for (size_t i = 0; i < b->nout; i++)
		b->counts[b->out[i].state]++;
	b->nout = 0;
	return (true);
}

/*
 * The outcome of a call withheld because its campaign stopped (state):
 * never sent, so nothing is ambiguous; held while paused (resuming makes
 * it due at once), else cancelled. An uncertain message stays so.
 */
static void
withheld(const struct dmsg *m, int state, struct fate *f)
{
	bool paused = state == CAMPAIGN_PAUSED;

	memset(f, 0, sizeof(*f));
	f->id = m->id;
	f->attempt = m->attempts + 1;
	f->reason = paused ? CAMPAIGN_PAUSED_REASON : state ==
	    CAMPAIGN_CANCELLED ? CAMPAIGN_CANCELLED_REASON :
	    "campaign not running";
	if (m->uncertain) {
		f->state = MSG_UNCERTAIN;
		f->resend = paused;
	} else
		f->state = paused ? MSG_QUEUED : MSG_CANCELLED;
	f->not_before_us = clock_now_us() + 60 * INT64_C(1000000);
}

/*
 * Every STOP_CHECK_MS while a batch is in flight: the calls of campaigns
 * paused or cancelled since the claim that have not started yet are
 * withheld (a pause or a cancel stops sends within a fraction of a
 * second, not after the batch).
 */
static void
check_stopped(struct batch *b, int64_t now)
{
	const char **stopped;
	int *state;
	size_t n;

	if (now - b->checked_ms < STOP_CHECK_MS || b->ncamps == 0)
		return;
	b->checked_ms = now;
	if (ddb_stopped(b->db, b->a, b->camps, b->ncamps, &stopped, &state,
	    &n) != RK_OK || n == 0)
		return;
	for (size_t k = 0; b->calls[k].url != NULL; k++) {
		struct http_call *c = &b->calls[k];
		const char *camp = b->m[b->which[k]].campaign;

		for (size_t i = 0; i < n && !c->withheld; i++)
			if (strcmp(camp, stopped[i]) == 0) {
				c->withheld = true;
				b->held[k] = state[i];
			}
	}
}

/*
 * One reading of a provider's reply, for the metrics and the gate: no
 * reply at all, no connection because its certificate was refused, 429,
 * another 4xx, a 5xx, or a success. SMTP's reply codes are three digits
 * too, so 4xx is also its "try later".
 */
enum reply_class { REPLY_NONE, REPLY_TLS, REPLY_429, REPLY_4XX, REPLY_5XX,
	REPLY_OK };

static enum reply_class
reply_class(const struct http_reply *h)
{
	long status = h->status;

	if (status == 0)
		return (h->tls_refused ? REPLY_TLS : REPLY_NONE);
	return (status == 429 ? REPLY_429 : status >= 500 ? REPLY_5XX :
	    status >= 400 ? REPLY_4XX : REPLY_OK);
}

/* The provider's answer in the metrics. */
static void
count_reply(const struct http_reply *h)
{
	static const char *const label[] = {[REPLY_NONE] = "no_reply",
	    [REPLY_TLS] = "tls_refused", [REPLY_429] = "429",
	    [REPLY_4XX] = "4xx", [REPLY_5XX] = "5xx", [REPLY_OK] = "ok"};
	const char *ch = channel_name(deliver_channel);

	metric_observe(&provider_seconds, h->seconds, ch);
	metric_add(&provider_replies, 1, ch, label[reply_class(h)]);
}

/*
 * Whether the provider did not act on the call (gate.h): no connection
 * (a refused certificate too: nothing can be sent until it is mended) or
 * no reply, a 5xx, an SMTP 4xx ("try later") - not a 429, which is an
 * answer (its Retry-After paces the message), nor any refusal.
 */
static bool
unanswered(const struct http_call *c, const struct send_result *res)
{
	enum reply_class rc = reply_class(&c->reply);

	if (res->outcome != SEND_AMBIGUOUS && !(res->outcome == SEND_RETRY &&
	    res->retry_after_s == 0))
		return (false);
	return (rc == REPLY_NONE || rc == REPLY_TLS || rc == REPLY_5XX ||
	    (c->mail_rcpt != NULL && rc == REPLY_4XX));
}

/* http_run's callback: a finished call's outcome, gathered; the group
 * committed when it is large or old enough. */
static void
on_done(void *ctx, struct http_call *c)
{
	struct batch *b = ctx;
	int64_t now = clock_mono_ms();

	if (c != NULL && c->withheld && c->reply.status == 0 &&
	    strcmp(c->reply.error, "withheld") == 0) {
		/* never started */
		withheld(&b->m[b->which[c - b->calls]], b->held[c - b->calls],
		    &b->out[b->nout++]);
		free((char *)(uintptr_t)c->body);
		c->body = NULL;
		if (b->nout == 1)
			b->first_ms = now;
	} else if (c != NULL) {
		struct dmsg *m = &b->m[b->which[c - b->calls]];
		struct send_result res;

		ops->reply(&c->reply, &res);
		count_reply(&c->reply);
		if (unanswered(c, &res)) {
			b->unanswered++;
			if (c->reply.tls_refused && b->tls_refused++ == 0)
				b->tls_error = arena_strdup(b->a,
				    c->reply.error);
		} else
			b->answered++;
		outcome(b, m, &res, &b->out[b->nout++]);
		if (res.outcome == SEND_AMBIGUOUS)
			log_warn("DELIVER-UNCERTAIN", "message %lld attempt %d: %s",
			    (long long)m->id, m->attempts + 1, res.reason);
		free(c->reply.body);
		c->reply.body = NULL;
		free((char *)(uintptr_t)c->body);
		c->body = NULL;
		if (b->nout == 1)
			b->first_ms = now;
	}
	if (b->nout >= OUTCOME_GROUP || (b->nout > 0 && now - b->first_ms >=
	    OUTCOME_WINDOW_MS))
		(void)flush(b);
	check_stopped(b, now);
}

/* The governor's rules of this process's configuration. */
static void
rules_of(struct gov_rules *rules)
{
	gov_default_rules(rules);
	rules->per_24h[CHANNEL_SMS] = var_sms_per_day;
	rules->per_24h[CHANNEL_EMAIL] = var_email_per_day;
	rules->from_hour[CHANNEL_SMS] = var_sms_from_hour;
	rules->until_hour[CHANNEL_SMS] = var_sms_until_hour;
}

/*
 * The claim: in one transaction, the due messages locked, their
 * recipients' slots counted under their locks, each decided, and every
 * verdict committed. On RK_OK the messages to send are b->m[which[k]],
 * k < *nsend, their calls prepared.
 */
static rk_err
claim(struct batch *b, int *n, size_t *nsend)
{
	arena *a = b->a;
	struct gov_rules rules;
	struct pacer pc;
	struct fate *f;
	const char **addr, **rcpt, **uniq;
	int *slots;
	int64_t *oldest, now = clock_now_us(), db_now = now;
	size_t nu = 0;
	bool capped;
	rk_err rc;

	rules_of(&rules);
	capped = rules.per_24h[deliver_channel] > 0;
	*nsend = 0;
	if ((rc = db_begin(b->db)) != RK_OK)
		return (rc);
	if ((rc = ddb_claim(b->db, a, deliver_channel, b->probe ? 1 :
	    var_deliver_batch, &b->m, n, &db_now)) != RK_OK || *n == 0)
		goto out;
	addr = arena_zalloc(a, sizeof(char *) * (size_t)*n);
	rcpt = arena_zalloc(a, sizeof(char *) * (size_t)*n);
	uniq = arena_zalloc(a, sizeof(char *) * (size_t)*n);
	for (int i = 0; i < *n; i++)
		if ((addr[i] = ops->address(&b->m[i])) != NULL && capped) {
			rcpt[i] = recipient_of(a, addr[i]);
			uniq[nu++] = rcpt[i];
		}
	nu = strv_sort_unique(uniq, nu);
	slots = arena_zalloc(a, sizeof(int) * (nu + 1));
	oldest = arena_zalloc(a, sizeof(int64_t) * (nu + 1));
	if (nu > 0 && (rc = ddb_slots(b->db, a, deliver_channel, uniq,
	    nu, slots, oldest)) != RK_OK)
		goto out;
	if ((rc = pace_begin(b->db, a, b->m, *n, &pc)) != RK_OK)
		goto out;
	f = arena_zalloc(a, sizeof(*f) * (size_t)*n);
	b->calls = arena_zalloc(a, sizeof(*b->calls) * (size_t)(*n + 1));
	b->which = arena_zalloc(a, sizeof(int) * (size_t)(*n + 1));
	for (int i = 0; i < *n; i++) {
		struct dmsg *m = &b->m[i];
		const char **u = rcpt[i] ? bsearch(&rcpt[i], uniq, nu,
		    sizeof(char *), strv_cmp) : NULL;
		size_t r = u ? (size_t)(u - uniq) : 0;
		/* a message sent again holds its slot already */
		int held = u ? slots[r] - (m->uncertain ? 1 : 0) : 0;
		struct msgkey k = {.step = m->step, .channel = deliver_channel,
		    .entry = m->entry};
		char key[MSGKEY_MAX], token[MSGTOKEN_MAX];
		struct render rd;
		struct http_call *c;

		if (!decide(a, &rules, m, addr[i], held > 0 ? held : 0,
		    u ? oldest[r] : 0, now, &f[i]) || !pace(&pc, m, db_now,
		    &f[i]))
			continue;
		snprintf(k.campaign, sizeof(k.campaign), "%s", m->campaign);
		snprintf(k.customer, sizeof(k.customer), "%s", m->customer);
		if (!msgkey_make(&k, key, sizeof(key))) {
			f[i].state = MSG_FAILED;
			f[i].reason = "ids too long for an idempotency key";
			continue;
		}
		f[i].state = MSG_SENDING;
		f[i].key = arena_strdup(a, key);
		f[i].recipient = rcpt[i];
		f[i].ambiguous = false;
		f[i].resend = false;
		if (u && !m->uncertain) {
			if (slots[r]++ == 0)
				oldest[r] = now;
		}
		/* the request */
		msgtoken_make(var_tracking_secret, m->id, token);
		rd = (struct render){{m->name, m->offer, m->partner, m->expiry,
		    m->code, arena_printf(a, "%s%s", var_tracking_url, token)},
		    f[i].key};
		c = &b->calls[*nsend];
		c->url = var_provider_url;
		ops->request(a, m, &rd, c);
		b->which[(*nsend)++] = i;
	}
	/* the campaigns of the calls, to ask while they run */
	b->camps = arena_zalloc(a, sizeof(char *) * (*nsend + 1));
	for (size_t k = 0; k < *nsend; k++)
		b->camps[k] = b->m[b->which[k]].campaign;
	b->ncamps = strv_sort_unique(b->camps, *nsend);
	b->held = arena_zalloc(a, sizeof(int) * (*nsend + 1));
	b->checked_ms = clock_mono_ms();
	if (pc.n > 0 && (rc = ddb_pace_save(b->db, a, deliver_channel, pc.ids,
	    pc.n, pc.tat_us)) != RK_OK)
		goto out;
	rc = ddb_apply(b->db, a, true, worker_id(b->w), b->lease_s, f,
	    (size_t)*n);
	for (int i = 0; rc == RK_OK && i < *n; i++)
		b->counts[f[i].state]++;
out:
	if (rc == RK_OK)
		rc = db_commit(b->db);
	else
		db_rollback(b->db);
	if (rc != RK_OK)
		for (size_t k = 0; k < *nsend; k++) {
			free((char *)(uintptr_t)b->calls[k].body);
			b->calls[k].body = NULL;
		}
	return (rc);
}

/* Renews the channel's credentials, counting the outcome. */
static void
renew(db_conn *db, arena *a)
{
	const char *outcome = ops->refresh(db, a);

	if (outcome != NULL)
		metric_add(&refreshes, 1, channel_name(deliver_channel), outcome);
}

/* Whether to claim: not while the channel's credentials are known bad
 * (a renewal first, when one is due). */
static bool
credentials_usable(db_conn *db, arena *a)
{
	if (ops->credentials == NULL)
		return (true);
	switch (ops->credentials()) {
	case CRED_OK:
		return (true);
	case CRED_RENEW:
		renew(db, a);
		return (ops->credentials() == CRED_OK);
	case CRED_WAIT:
		break;
	}
	return (false);
}

int
deliver_poll(struct worker *w, db_conn *db, arena *a)
{
	struct batch b = {.w = w, .db = db, .a = a,
	    .lease_s = worker_lease_seconds()};
	size_t nsend;
	int n = 0, care;
	int64_t t0 = clock_mono_ms(), t1, t2;
	rk_err rc;

	if (!credentials_usable(db, a))
		return (0);
	switch (gate_state(&gate, clock_mono_us())) {
	case GATE_SHUT:
		return (0);
	case GATE_PROBE:
		b.probe = true;
		break;
	case GATE_OPEN:
		break;
	}
	/* an opt-out's confirmation first: it is owed at once */
	care = care_poll(db, a, ops, var_provider_url, b.lease_s);
	if ((rc = claim(&b, &n, &nsend)) != RK_OK) {
		log_warn("DB-UNAVAILABLE", "could not claim messages: %s",
		    db_errmsg(db));
		if (b.probe)	/* another lane (or this one) tries later */
			(void)gate_result(&gate, clock_mono_us(), 0, 0, true);
		return (-1);
	}
	t1 = clock_mono_ms();
	if (nsend > 0) {
		b.out = arena_zalloc(a, sizeof(*b.out) * nsend);
		http_run(b.calls, nsend, on_done, &b);
		/* the rest of the outcomes, however long the database is away
		 * (the heartbeat keeps the leases meanwhile) */
		for (int tries = 0; !flush(&b); tries++) {
			struct timespec ts = {0, 200 * 1000000L};

			if (worker_stopping() && tries > 50) {
				log_error("DELIVER-UNRECORDED", "%zu outcomes not "
				    "recorded; their leases will expire and they "
				    "become uncertain", b.nout);
				break;
			}
			nanosleep(&ts, NULL);
		}
	}
	/* Not an outage: said apart, every batch it happens in - with the
	 * gate shut, once a probe. */
	if (b.tls_refused > 0)
		log_error("PROVIDER-TLS-REFUSED", "%s: %d of %d calls not sent: "
		    "the provider's certificate was refused (%s); check the "
		    "provider's URL and provider_ca_file", channel_name(
		    deliver_channel), b.tls_refused, b.answered + b.unanswered,
		    b.tls_error);
	if ((b.answered + b.unanswered > 0 || b.probe) && gate_result(&gate,
	    clock_mono_us(), b.answered, b.unanswered, b.probe)) {
		if (b.answered > 0)
			log_info("PROVIDER-UP", "%s: the provider answers again",
			    channel_name(deliver_channel));
		else
			log_warn("PROVIDER-DOWN", "%s: none of %d calls answered "
			    "(no connection, no reply, or a server error): nothing "
			    "is claimed but one message now and then to try it",
			    channel_name(deliver_channel), b.unanswered);
	}
	if (b.refresh && ops->refresh != NULL)
		renew(db, a);
	t2 = clock_mono_ms();
	if (n > 0)
		log_debug("DELIVER-BATCH", "%d claimed, %zu sent to the provider: "
		    "%d sent, %d queued again, %d uncertain, %d failed, %d denied, "
		    "%d cancelled; claim %lld ms, sending and recording %lld ms",
		    n, nsend, b.counts[MSG_SENT], b.counts[MSG_QUEUED],
		    b.counts[MSG_UNCERTAIN], b.counts[MSG_FAILED],
		    b.counts[MSG_DENIED], b.counts[MSG_CANCELLED],
		    (long long)(t1 - t0), (long long)(t2 - t1));
	return (n + care);
}

void
deliver_heartbeat(struct worker *w, db_conn *db, int lease_s)
{
	int64_t swept = 0;

	if (ddb_extend(db, worker_id(w), deliver_channel, lease_s) != RK_OK ||
	    ddb_sweep(db, deliver_channel, policy == UNCERTAIN_RESEND,
	    MAX_ATTEMPTS, &swept) != RK_OK) {
		log_warn("DB-UNAVAILABLE", "delivery heartbeat failed: %s",
		    db_errmsg(db));
		return;
	}
	if (swept > 0)
		log_warn("DELIVER-SWEPT", "%lld %s messages were being sent by a "
		    "process that stopped: uncertain, %s", (long long)swept,
		    channel_name(deliver_channel), policy == UNCERTAIN_RESEND ?
		    "to be sent again with the same key" : "held");
}
