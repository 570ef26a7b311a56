/* provider_test.c - provider request bodies and reply meanings, against
 * the shapes the providers document (see provider.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provider.h"

static json_t *
parsed(char *text)
{
	json_t *j = json_loads(text, 0, NULL);

	free(text);
	assert_non_null(j);
	return (j);
}

static void
test_request_bodies(void **state)
{
	struct sms_account acc = {"key", "secret", "BANKVN"};
	json_t *j, *data = json_pack("{s:s,s:i}", "offer", "TIKI-100K", "n", 3);

	(void)state;
	j = parsed(provider_sms_request(&acc, "+84912345678", "[QC] Chào Lan",
	    "c1:S1:0:2", true));
	assert_string_equal(json_string_value(json_array_get(json_object_get(j,
	    "Phones"), 0)), "0912345678");
	assert_string_equal(json_string_value(json_object_get(j, "SmsType")),
	    "1");
	assert_string_equal(json_string_value(json_object_get(j, "RequestId")),
	    "c1:S1:0:2");
	json_decref(j);
	/* customer care (an opt-out confirmation): type 2 */
	j = parsed(provider_sms_request(&acc, "+84912345678", "Da nhan",
	    "care:7", false));
	assert_string_equal(json_string_value(json_object_get(j, "SmsType")),
	    "2");
	json_decref(j);
	j = parsed(provider_zns_request("+84912345678", "231456", data,
	    "c1:S1:0:3"));
	assert_string_equal(json_string_value(json_object_get(j, "phone")),
	    "84912345678");
	assert_string_equal(json_string_value(json_object_get(j, "tracking_id")),
	    "c1:S1:0:3");
	json_decref(j);
	j = parsed(provider_fcm_request("dev-token", "Quà", "Ưu đãi", data,
	    "c1:S1:0:4"));
	/* every data value a string, the key among them */
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    json_object_get(j, "message"), "data"), "n")), "3");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    json_object_get(j, "message"), "data"), "tracking_id")), "c1:S1:0:4");
	/* the device folds a repeat: Android tag, APNs collapse id */
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    json_object_get(json_object_get(j, "message"), "android"),
	    "notification"), "tag")), "c1:S1:0:4");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    json_object_get(json_object_get(j, "message"), "apns"), "headers"),
	    "apns-collapse-id")), "c1:S1:0:4");
	json_decref(j);
	json_decref(data);
}

/* APNs takes a collapse id of at most 64 bytes: a longer key goes as its
 * SHA-256 in hex; Android's tag is the key itself. */
static void
test_fcm_long_key_collapse_id(void **state)
{
	char key[200];
	json_t *j, *m, *data = json_object();
	const char *cid;

	(void)state;
	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	j = parsed(provider_fcm_request("dev", "t", "b", data, key));
	m = json_object_get(j, "message");
	cid = json_string_value(json_object_get(json_object_get(
	    json_object_get(m, "apns"), "headers"), "apns-collapse-id"));
	assert_non_null(cid);
	assert_int_equal(strlen(cid), 64);
	assert_int_equal(strspn(cid, "0123456789abcdef"), 64);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    json_object_get(m, "android"), "notification"), "tag")), key);
	json_decref(j);
	json_decref(data);
}

static void
test_reply_meanings(void **state)
{
	static const struct {
		int provider;		/* 0 SMS, 1 ZNS, 2 FCM */
		long http;
		const char *retry_after, *body;
		enum send_outcome want;
		bool written;
	} c[] = {
		{0, 200, NULL, "{\"CodeResult\":\"100\",\"SMSID\":\"s1\"}", SEND_OK, false},
		{0, 200, NULL, "{\"CodeResult\":\"124\"}", SEND_OK, false},
		{0, 200, NULL, "{\"CodeResult\":\"101\"}", SEND_FAILED, false},
		{0, 503, NULL, NULL, SEND_RETRY, false},
		/* refused, or dropped before the request was whole: retry */
		{0, 0, NULL, NULL, SEND_RETRY, false},
		/* written and no reply (timeout, dropped): may have been taken */
		{0, 0, NULL, NULL, SEND_AMBIGUOUS, true},
		{1, 0, NULL, NULL, SEND_AMBIGUOUS, true},
		{2, 0, NULL, NULL, SEND_AMBIGUOUS, true},
		{2, 0, NULL, NULL, SEND_RETRY, false},
		{1, 200, NULL, "{\"error\":0,\"message\":\"Success\",\"data\":"
		    "{\"msg_id\":\"m1\",\"sent_time\":\"1714529559833\",\"quota\":"
		    "{\"dailyQuota\":\"5000\",\"remainingQuota\":\"4999\"}}}",
		    SEND_OK, false},
		{1, 200, NULL, "{\"error\":-118,\"message\":\"Zalo account not "
		    "existed\"}", SEND_NEXT_CHANNEL, false},
		{1, 200, NULL, "{\"error\":-220}", SEND_REFRESH_TOKEN, false},
		{1, 200, NULL, "{\"error\":-124}", SEND_REFRESH_TOKEN, false},
		{1, 200, NULL, "{\"error\":-108}", SEND_FAILED, false},
		{2, 200, NULL, "{\"name\":\"projects/p/messages/1\"}", SEND_OK, false},
		{2, 429, "7", "{}", SEND_RETRY, false},
		{2, 404, NULL, "{\"error\":{\"status\":\"NOT_FOUND\"}}",
		    SEND_NEXT_CHANNEL, false},
		{2, 400, NULL, "{\"error\":{\"status\":\"INVALID_ARGUMENT\"}}",
		    SEND_FAILED, false},
		/* the access token refused: nothing sent, a new token */
		{2, 401, NULL, "{\"error\":{\"code\":401,\"status\":"
		    "\"UNAUTHENTICATED\"}}", SEND_REFRESH_TOKEN, false},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct http_reply h = {.status = c[i].http, .written =
		    c[i].written, .body = (char *)(uintptr_t)c[i].body};
		struct send_result r;

		if (c[i].retry_after != NULL)
			snprintf(h.retry_after, sizeof(h.retry_after), "%s",
			    c[i].retry_after);
		if (c[i].provider == 0)
			provider_sms_reply(&h, &r);
		else if (c[i].provider == 1)
			provider_zns_reply(&h, &r);
		else
			provider_fcm_reply(&h, &r);
		assert_int_equal(r.outcome, c[i].want);
		assert_true(r.reason[0] != '\0');
		if (c[i].http == 429)
			assert_int_equal(r.retry_after_s, 7);
		if (c[i].provider == 1 && c[i].want == SEND_OK) {
			assert_int_equal(r.quota_left, 4999);
			assert_string_equal(r.provider_id, "m1");
		}
	}
}

static void
test_smtp_reply_meanings(void **state)
{
	static const struct {
		long code;
		bool written;
		enum send_outcome want;
	} c[] = {
		{250, false, SEND_OK}, {0, false, SEND_RETRY},
		/* lost after the final dot: the relay may have queued it */
		{0, true, SEND_AMBIGUOUS},
		{421, false, SEND_RETRY}, {451, false, SEND_RETRY},
		{452, false, SEND_RETRY}, {550, false, SEND_NEXT_CHANNEL},
		{551, false, SEND_NEXT_CHANNEL}, {553, false, SEND_NEXT_CHANNEL},
		{554, false, SEND_FAILED}, {552, false, SEND_FAILED},
		/* the login (RFC 4954 section 6): refused, wanted, too weak,
		 * in clear - every message alike, so the pool stops; 454 is
		 * a temporary failure */
		{535, false, SEND_REFRESH_TOKEN}, {530, false, SEND_REFRESH_TOKEN},
		{534, false, SEND_REFRESH_TOKEN}, {538, false, SEND_REFRESH_TOKEN},
		{454, false, SEND_RETRY},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct http_reply h = {.status = c[i].code, .written = c[i].written,
		    .body = c[i].code == 554 ? (char *)(uintptr_t)"5.6.0 refused" :
		    NULL};
		struct send_result r;

		provider_smtp_reply(&h, &r);
		assert_int_equal(r.outcome, c[i].want);
		assert_true(r.reason[0] != '\0');
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_bodies),
		cmocka_unit_test(test_fcm_long_key_collapse_id),
		cmocka_unit_test(test_reply_meanings),
		cmocka_unit_test(test_smtp_reply_meanings),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
