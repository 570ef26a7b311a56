/*
 * provider.h - the wire of each messaging provider: the request body
 * rekindle sends and what each reply means for the message. Pure (no
 * I/O), so every provider's codes are tested against their documented
 * shapes; the delivery pools do the HTTP.
 *
 *	SMS	eSMS-style brand-name gateway: {ApiKey, SecretKey, Brandname,
 *		Content, Phones, SmsType "1" (advertising), RequestId}; the
 *		RequestId is the idempotency key, a repeat answers 124.
 *	ZNS	Zalo: {phone "84...", template_id, template_data,
 *		tracking_id}; error 0 with the day's quota, -118 no Zalo
 *		account (next channel), -124/-220 token invalid/expired
 *		(refresh, retry once).
 *	FCM	HTTP v1: {"message": {token, notification, data}}; data
 *		values are strings, data.tracking_id carries the key;
 *		404/UNREGISTERED means the token is gone (next channel).
 *	email	SMTP (mime.h composes the message): 250 accepted; 4xx
 *		(421 busy, 450/451 try later, 452 full) retried; 550/551/
 *		553 the mailbox is not there (next channel); other 5xx
 *		permanent. A message has one Message-ID for every attempt.
 *
 * Any provider: 429 is "retry after" (Retry-After seconds), 5xx and
 * timeouts are retried with backoff, other 4xx are permanent.
 */
#ifndef RK_PROVIDER_H
#define RK_PROVIDER_H

#include <jansson.h>

enum send_outcome {
	SEND_OK,		/* accepted, now or by an earlier attempt */
	SEND_RETRY,		/* transient: again later */
	SEND_NEXT_CHANNEL,	/* this channel cannot reach the customer */
	SEND_REFRESH_TOKEN,	/* ZNS: refresh the access token first */
	SEND_FAILED,		/* permanent */
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

/* Request bodies (new JSON text, caller frees). */
char *provider_sms_request(const struct sms_account *a, const char *phone_e164,
    const char *text, const char *key);
char *provider_zns_request(const char *phone_e164, const char *template_id,
    const json_t *template_data, const char *key);
char *provider_fcm_request(const char *device_token, const char *title,
    const char *body, const json_t *data, const char *key);

/*
 * What a reply means. http is the status (0: no reply, timed out),
 * retry_after the Retry-After header or NULL, body the reply or NULL.
 */
void provider_sms_reply(long http, const char *retry_after, const char *body,
    struct send_result *r);
void provider_zns_reply(long http, const char *retry_after, const char *body,
    struct send_result *r);
void provider_fcm_reply(long http, const char *retry_after, const char *body,
    struct send_result *r);
/* code: the SMTP relay's last reply code, 0 if none; text its words. */
void provider_smtp_reply(long code, const char *text, struct send_result *r);

#endif
