/*
 * evidence.h - how much an engagement event says about the customer.
 *
 * An e-mail open is weak: mail clients and privacy proxies fetch images
 * by themselves. An open from a known image proxy or security scanner, or
 * within a few seconds of sending (no person reads that fast), is a
 * machine open. A click is strong, unless a link scanner made it (its
 * user agent, or within a second of sending). An app open from push, a
 * landing-page view and a registration are strong, unless a crawler
 * made them. Receipts (delivered, bounced) and a customer's own
 * unsubscribe or complaint are facts: strong. Pure.
 */
#ifndef RK_EVIDENCE_H
#define RK_EVIDENCE_H

#include <stdint.h>

/* As rekindle.v1.EventType. */
enum ev_type {
	EV_DELIVERED = 1, EV_OPENED, EV_CLICKED, EV_REGISTERED,
	EV_UNSUBSCRIBED, EV_BOUNCED, EV_COMPLAINED, EV_APP_OPENED,
	EV_PAGE_VIEWED, EV_TYPE_MAX = EV_PAGE_VIEWED
};

/* As rekindle.v1.Evidence. */
enum evidence { EVIDENCE_WEAK = 1, EVIDENCE_STRONG, EVIDENCE_MACHINE };

struct evidence_rules {
	int machine_open_s;	/* opens sooner than this after sending */
	int machine_click_s;	/* clicks sooner than this after sending */
};

/* The defaults: 10 s for opens, 2 s for clicks. */
void evidence_default_rules(struct evidence_rules *r);

/*
 * The evidence of an event of type, since_sent_us after its message was
 * sent (negative: unknown), with user_agent (NULL or ""); *why says why
 * when it is not the type's usual (static text), else NULL.
 */
enum evidence evidence_of(const struct evidence_rules *r, enum ev_type type,
    int64_t since_sent_us, const char *user_agent, const char **why);

/* True for the events that show a person's interest when strong. */
int evidence_is_interest(enum ev_type type);

#endif
