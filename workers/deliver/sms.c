/*
 * sms.c - advertising SMS through an eSMS-style brand-name gateway
 * (eSMS API v2, "tin SMS quang cao"): JSON POST, the RequestId is our
 * key and the gateway de-duplicates on it (CodeResult 124), so an
 * ambiguous attempt is safely sent again with the same key.
 */
#include <stdio.h>
#include <string.h>

#include "channel.h"
#include "channel_ops.h"
#include "log.h"

static char *var_sms_api_key, *var_sms_secret_key, *var_sms_brandname,
    *var_sms_on_uncertain;

static const struct cfg_entry sms_cfg[] = {
	{"sms_api_key", CFG_STR, "", &var_sms_api_key, 0, 0, CFG_SECRET,
	    "SMS gateway account key"},
	{"sms_secret_key", CFG_STR, "", &var_sms_secret_key, 0, 0, CFG_SECRET,
	    "SMS gateway account secret"},
	{"sms_brandname", CFG_STR, "", &var_sms_brandname, 0, 0, 0,
	    "registered SMS brand name"},
	{"sms_on_uncertain", CFG_STR, "resend", &var_sms_on_uncertain, 0, 0, 0,
	    "an SMS that may have been taken: resend (same RequestId, the "
	    "gateway drops a repeat) or hold"},
	CFG_END,
};

char *
provider_sms_request(const struct sms_account *a, const char *phone_e164,
    const char *text, const char *key, bool advertising)
{
	char local[24];
	json_t *j;
	char *s;

	/* eSMS takes the national form: 0912345678 */
	snprintf(local, sizeof(local), "0%s", strncmp(phone_e164, "+84", 3) ==
	    0 ? phone_e164 + 3 : phone_e164);
	j = json_pack("{s:s,s:s,s:s,s:s,s:[s],s:s,s:s}", "ApiKey", a->api_key,
	    "SecretKey", a->secret_key, "Brandname", a->brandname, "Content",
	    text, "Phones", local, "SmsType", advertising ? "1" : "2",
	    "RequestId", key);
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return (s);
}

void
provider_sms_reply(const struct http_reply *h, struct send_result *r)
{
	json_t *j;
	const char *code;

	if (provider_http_verdict(h, r))
		return;
	j = h->body ? json_loads(h->body, 0, NULL) : NULL;
	code = json_string_value(json_object_get(j, "CodeResult"));
	if (h->status != 200 || code == NULL)
		provider_set(r, SEND_FAILED, "unexpected reply (%ld)", h->status);
	else if (strcmp(code, "100") == 0) {
		provider_set(r, SEND_OK, "accepted");
		snprintf(r->provider_id, sizeof(r->provider_id), "%s",
		    json_string_value(json_object_get(j, "SMSID")) ?
		    json_string_value(json_object_get(j, "SMSID")) : "");
	} else if (strcmp(code, "124") == 0)
		provider_set(r, SEND_OK, "accepted earlier (duplicate RequestId)");
	else if (strcmp(code, "101") == 0 || strcmp(code, "104") == 0)
		provider_set(r, SEND_FAILED, "gateway refused the account or "
		    "brand name (%s)", code);
	else
		provider_set(r, SEND_FAILED, "gateway refused the message (%s)",
		    code);
	json_decref(j);
}

static rk_err
sms_init(db_conn *db, enum on_uncertain *policy)
{
	(void)db;
	return (channel_policy("sms_on_uncertain", var_sms_on_uncertain,
	    policy));
}

static const char *
sms_address(const struct dmsg *m)
{
	return (*m->phone != '\0' ? m->phone : NULL);
}

static void
sms_request(arena *a, const struct dmsg *m, const struct render *r,
    struct http_call *c)
{
	struct sms_account acc = {var_sms_api_key, var_sms_secret_key,
	    var_sms_brandname};
	char text[2048];
	size_t n = (size_t)snprintf(text, sizeof(text), "%s", TMPL_QC_PREFIX);

	(void)a;
	/* Decree 91: an advertising SMS starts with [QC] */
	tmpl_render(m->body, r->vals, false, text + n, sizeof(text) - n);
	c->body = provider_sms_request(&acc, m->phone, text, r->key, true);
	c->len = strlen(c->body);
}

/* eSMS SmsType 2, customer care: no [QC], not counted as advertising. */
static char *
sms_care_request(const char *phone_e164, const char *text, const char *key)
{
	struct sms_account acc = {var_sms_api_key, var_sms_secret_key,
	    var_sms_brandname};

	return (provider_sms_request(&acc, phone_e164, text, key, false));
}

const struct channel_ops sms_ops = {
	.channel = CHANNEL_SMS,
	.dedups = true,
	.cfg = sms_cfg,
	.init = sms_init,
	.address = sms_address,
	.request = sms_request,
	.reply = provider_sms_reply,
	.care_request = sms_care_request,
};
