/*
 * provider.c - request bodies with jansson; replies read into outcomes.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provider.h"

static void
set(struct send_result *r, enum send_outcome o, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
set(struct send_result *r, enum send_outcome o, const char *fmt, ...)
{
	va_list ap;

	r->outcome = o;
	va_start(ap, fmt);
	vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
	va_end(ap);
}

/* The verdicts every provider shares, from the HTTP status alone; false
 * when the body must decide. */
static bool
http_verdict(long http, const char *retry_after, struct send_result *r)
{
	memset(r, 0, sizeof(*r));
	r->quota_left = -1;
	if (http == 0) {
		set(r, SEND_RETRY, "no reply (timeout or connection)");
		return (true);
	}
	if (http == 429) {
		r->retry_after_s = retry_after ? atoi(retry_after) : 0;
		set(r, SEND_RETRY, "rate limited (429)");
		return (true);
	}
	if (http >= 500) {
		set(r, SEND_RETRY, "provider error (%ld)", http);
		return (true);
	}
	return (false);
}

char *
provider_sms_request(const struct sms_account *a, const char *phone_e164,
    const char *text, const char *key)
{
	char local[24];
	json_t *j;
	char *s;

	/* eSMS takes the national form: 0912345678 */
	snprintf(local, sizeof(local), "0%s", strncmp(phone_e164, "+84", 3) ==
	    0 ? phone_e164 + 3 : phone_e164);
	j = json_pack("{s:s,s:s,s:s,s:s,s:[s],s:s,s:s}", "ApiKey", a->api_key,
	    "SecretKey", a->secret_key, "Brandname", a->brandname, "Content",
	    text, "Phones", local, "SmsType", "1", "RequestId", key);
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return (s);
}

void
provider_sms_reply(long http, const char *retry_after, const char *body,
    struct send_result *r)
{
	json_t *j;
	const char *code;

	if (http_verdict(http, retry_after, r))
		return;
	j = body ? json_loads(body, 0, NULL) : NULL;
	code = json_string_value(json_object_get(j, "CodeResult"));
	if (http != 200 || code == NULL)
		set(r, SEND_FAILED, "unexpected reply (%ld)", http);
	else if (strcmp(code, "100") == 0) {
		set(r, SEND_OK, "accepted");
		snprintf(r->provider_id, sizeof(r->provider_id), "%s",
		    json_string_value(json_object_get(j, "SMSID")) ?
		    json_string_value(json_object_get(j, "SMSID")) : "");
	} else if (strcmp(code, "124") == 0)
		set(r, SEND_OK, "accepted earlier (duplicate RequestId)");
	else if (strcmp(code, "101") == 0 || strcmp(code, "104") == 0)
		set(r, SEND_FAILED, "gateway refused the account or brand name "
		    "(%s)", code);
	else
		set(r, SEND_FAILED, "gateway refused the message (%s)", code);
	json_decref(j);
}

char *
provider_zns_request(const char *phone_e164, const char *template_id,
    const json_t *template_data, const char *key)
{
	json_t *j = json_pack("{s:s,s:s,s:O,s:s}", "phone", *phone_e164 == '+' ?
	    phone_e164 + 1 : phone_e164, "template_id", template_id,
	    "template_data", template_data, "tracking_id", key);
	char *s = json_dumps(j, JSON_COMPACT);

	json_decref(j);
	return (s);
}

void
provider_zns_reply(long http, const char *retry_after, const char *body,
    struct send_result *r)
{
	json_t *j, *data;
	int err;

	if (http_verdict(http, retry_after, r))
		return;
	j = body ? json_loads(body, 0, NULL) : NULL;
	if (http != 200 || !json_is_integer(json_object_get(j, "error"))) {
		set(r, SEND_FAILED, "unexpected reply (%ld)", http);
		json_decref(j);
		return;
	}
	err = (int)json_integer_value(json_object_get(j, "error"));
	data = json_object_get(j, "data");
	switch (err) {
	case 0: {
		const char *q = json_string_value(json_object_get(json_object_get(
		    data, "quota"), "remainingQuota"));

		set(r, SEND_OK, "accepted");
		snprintf(r->provider_id, sizeof(r->provider_id), "%s",
		    json_string_value(json_object_get(data, "msg_id")) ?
		    json_string_value(json_object_get(data, "msg_id")) : "");
		r->quota_left = q ? atol(q) : -1;
		break;
	}
	case -118:
		set(r, SEND_NEXT_CHANNEL, "no Zalo account (-118)");
		break;
	case -114:
		set(r, SEND_NEXT_CHANNEL, "Zalo user inactive or refused (-114)");
		break;
	case -124:
	case -220:
		set(r, SEND_REFRESH_TOKEN, "access token %s (%d)", err == -220 ?
		    "expired" : "invalid", err);
		break;
	case -1472:
		set(r, SEND_NEXT_CHANNEL, "daily ZNS quota used up (-1472)");
		break;
	default:
		set(r, SEND_FAILED, "Zalo refused the message (%d)", err);
	}
	json_decref(j);
}

char *
provider_fcm_request(const char *device_token, const char *title,
    const char *body, const json_t *data, const char *key)
{
	json_t *d = json_object(), *j;
	const char *k;
	json_t *v;
	char *s;

	/* FCM data values are strings, always. */
	json_object_foreach((json_t *)data, k, v) {
		if (json_is_string(v))
			json_object_set(d, k, v);
		else {
			char *t = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

			json_object_set_new(d, k, json_string(t ? t : ""));
			free(t);
		}
	}
	json_object_set_new(d, "tracking_id", json_string(key));
	j = json_pack("{s:{s:s,s:{s:s,s:s},s:o,s:{s:s}}}", "message", "token",
	    device_token, "notification", "title", title, "body", body, "data",
	    d, "android", "priority", "high");
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return (s);
}

void
provider_fcm_reply(long http, const char *retry_after, const char *body,
    struct send_result *r)
{
	json_t *j;

	if (http_verdict(http, retry_after, r))
		return;
	j = body ? json_loads(body, 0, NULL) : NULL;
	if (http == 200 && json_string_value(json_object_get(j, "name"))) {
		set(r, SEND_OK, "accepted");
		snprintf(r->provider_id, sizeof(r->provider_id), "%s",
		    json_string_value(json_object_get(j, "name")));
	} else if (http == 404 || (json_string_value(json_object_get(
	    json_object_get(j, "error"), "status")) && strcmp(json_string_value(
	    json_object_get(json_object_get(j, "error"), "status")),
	    "UNREGISTERED") == 0))
		set(r, SEND_NEXT_CHANNEL, "device token no longer registered");
	else
		set(r, SEND_FAILED, "FCM refused the message (%ld)", http);
	json_decref(j);
}

void
provider_smtp_reply(long code, const char *text, struct send_result *r)
{
	memset(r, 0, sizeof(*r));
	r->quota_left = -1;
	if (code == 250)
		set(r, SEND_OK, "accepted");
	else if (code == 0)
		set(r, SEND_RETRY, "no reply from the mail relay");
	else if (code >= 400 && code < 500)
		set(r, SEND_RETRY, "mail relay busy (%ld)", code);
	else if (code == 550 || code == 551 || code == 553)
		set(r, SEND_NEXT_CHANNEL, "mailbox unavailable (%ld)", code);
	else
		set(r, SEND_FAILED, "mail relay refused the message (%ld%s%.80s)",
		    code, text ? ": " : "", text ? text : "");
}
