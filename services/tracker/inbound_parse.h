/*
 * inbound_parse.h - checking the inbound webhooks' requests (the SMS
 * gateway's MO, Zalo's OA events) before anything is recorded.
 */
#ifndef RK_INBOUND_PARSE_H
#define RK_INBOUND_PARSE_H

#include <stdbool.h>
#include <stddef.h>

/* eSMS's MO parameters, in this order. */
enum {
	ESMS_SENDER, ESMS_CONTENT, ESMS_SERVICE, ESMS_KEYWORD, ESMS_SIGN,
	ESMS_CPID, ESMS_SMSID, ESMS_TIME, ESMS_NFIELDS
};

struct inbound {
	bool authenticated;
	char msgid[72];		/* the provider's id (Zalo: SHA-256 of the
				 * event) */
	char phone[24];		/* E.164, "" if none or not Vietnamese */
	char text[1100];	/* what the customer wrote (SMS), clean UTF-8 */
	bool opt_out;		/* an opt-out keyword or event */
	char keyword[64];	/* the keyword (folded) or the event's name */
	char at[20];		/* SMS: "yyyy-MM-dd hh:mm:ss", Vietnam time;
				 * Zalo: epoch seconds */
	bool epoch;		/* at is epoch seconds */
};

/*
 * The MO whose parameters are f (NULL where absent), with the CP id and
 * private key configured and the opt-out keywords (comma-separated).
 * NULL: not authenticated (403, nothing recorded); "": accepted, *out
 * filled; otherwise why it is malformed (400).
 */
const char *esms_mo_parse(const char *const f[ESMS_NFIELDS], const char *cpid,
    const char *private_key, const char *keywords, struct inbound *out);

/*
 * The Zalo OA event body (len bytes) with its X-ZEvent-Signature header,
 * the app id, OA secret key and opt-out event names (comma-separated).
 * Answers as esms_mo_parse does.
 */
const char *zalo_event_parse(const char *body, size_t len,
    const char *signature, const char *app_id, const char *oa_secret,
    const char *events, struct inbound *out);

#endif
