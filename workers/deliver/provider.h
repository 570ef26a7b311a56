/*
 * provider.h - the wire of each messaging provider: the request body
 * rekindle sends and what each reply means for the message. Pure (no
 * I/O), so every provider's codes are tested against their documented
 * shapes; the delivery pools do the HTTP. Each channel's file (sms.c,
 * zns.c, push.c, email.c) holds its functions and its channel_ops.
 *
 *	SMS	eSMS-style brand-name gateway: {ApiKey, SecretKey, Brandname,
 *		Content, Phones, SmsType "1" (advertising), RequestId}. The
 *		gateway de-duplicates on RequestId: a repeat answers
 *		CodeResult 124 and sends nothing (eSMS API, "tin SMS quang
 *		cao": 124 = RequestId already used).
 *	ZNS	Zalo: {phone "84...", template_id, template_data,
 *		tracking_id}; error 0 with the day's quota, -118 no Zalo
 *		account (next channel), -124/-220 token invalid/expired
 *		(refresh, then again). tracking_id is only our reference for
 *		reconciliation: Zalo does NOT de-duplicate on it, a repeat is
 *		a second message, charged again.
 *	FCM	HTTP v1: {"message": {token, notification, data, android,
 *		apns}}; data values are strings, data.tracking_id carries the
 *		key. FCM has no idempotency key: a repeat is a second
 *		notification. The device folds repeats into one through
 *		android.notification.tag and the apns-collapse-id header
 *		(at most 64 bytes), both the key (or its digest).
 *	email	SMTP (mime.h composes the message). A relay accepts the same
 *		message twice. Only a 2xx after the end of DATA means it was
 *		taken; a 4xx at any stage (421 closing, 450/451 try later,
 *		452 full) is retried; 550/551/553 the mailbox is not there
 *		(next channel); other 5xx permanent (RFC 5321 4.2.1, 4.3.2).
 *
 * Any HTTP provider: 429 is "retry after" (Retry-After seconds), 5xx is
 * retried with backoff, other 4xx are permanent. No reply at all is one
 * of two things: the request never left in whole (refused, connect or
 * TLS failure, dropped while writing) - safe to try again - or it was
 * written and then the reply did not come (timeout, connection lost):
 * SEND_AMBIGUOUS, the provider may have taken it.
 */
#ifndef RK_PROVIDER_H
#define RK_PROVIDER_H

#include <jansson.h>
#include <stdbool.h>

#include "http.h"

enum send_outcome {
	SEND_OK,		/* accepted, now or by an earlier attempt */
	SEND_RETRY,		/* not taken, transient: again later */
	SEND_NEXT_CHANNEL,	/* this channel cannot reach the customer */
	SEND_REFRESH_TOKEN,	/* ZNS: not taken; refresh the token first */
	SEND_FAILED,		/* permanent */
	SEND_AMBIGUOUS,		/* written, no reply: may have been taken */
};

struct send_result {
	enum send_outcome outcome;
	int retry_after_s;		/* SEND_RETRY: asked for, 0 if not */
	char provider_id[80];		/* SEND_OK: the provider's message id */
	long quota_left;		/* ZNS: remaining daily quota, -1 unknown */
	char reason[160];		/* why, for the message record */
};

struct sms_account {
	const char *api_key, *secret_key, *brandname;
};

/* The first nbytes (at most 32) of the SHA-256 of text, in hex, into out
 * (2 * nbytes + 1 bytes). */
void provider_sha256_hex(const char *text, int nbytes, char *out);

/* Request bodies (new JSON text, caller frees). */
char *provider_sms_request(const struct sms_account *a, const char *phone_e164,
    const char *text, const char *key, bool advertising);
char *provider_zns_request(const char *phone_e164, const char *template_id,
    const json_t *template_data, const char *key);
char *provider_fcm_request(const char *device_token, const char *title,
    const char *body, const json_t *data, const char *key);

/* What a reply (http.h: status 0 when none came) means. */
void provider_sms_reply(const struct http_reply *h, struct send_result *r);
void provider_zns_reply(const struct http_reply *h, struct send_result *r);
void provider_fcm_reply(const struct http_reply *h, struct send_result *r);
/* status: the relay's final reply code (250 accepted), 0 if none came;
 * body its words. */
void provider_smtp_reply(const struct http_reply *h, struct send_result *r);

/* For the channel files: sets r's outcome and reason. */
void provider_set(struct send_result *r, enum send_outcome o,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The verdicts every HTTP provider shares, from the status alone (no
 * reply, 429, 5xx); false when the body must decide. Clears r first. */
bool provider_http_verdict(const struct http_reply *h, struct send_result *r);
/* A call that ended before anything was sent ("request" or "message"):
 * SEND_RETRY, its reason saying whether the provider's certificate was
 * refused (http.h) or there was no connection. */
void provider_not_sent(const struct http_reply *h, struct send_result *r,
    const char *what);

#endif
