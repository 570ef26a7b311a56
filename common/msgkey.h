/*
 * msgkey.h - the idempotency key of one message on one channel: the one
 * codec of it. Made by the delivery pools (stored on the message row and
 * sent to the provider: eSMS RequestId, ZNS tracking_id, FCM
 * data.tracking_id and notification tag, the e-mail's X-Rekindle-Key);
 * parsed wherever a key comes back (delivery receipts).
 *
 *	campaign ":" customer ":" step ":" channel [":" entry]
 *
 * Campaign and customer ids are percent-escaped ("%" -> %25, ":" -> %3A,
 * and every byte outside printable ASCII as %XX), so an id that holds a
 * colon cannot make two messages share a key or a key read two ways.
 * The step is a decimal 0..32767, the channel its name (channel.h). The
 * entry (an always-on campaign's second or later journey of the
 * customer, 2..32767) follows only when it is not the first, so the keys
 * of every first journey are what they always were.
 */
#ifndef RK_MSGKEY_H
#define RK_MSGKEY_H

#include <stdbool.h>
#include <stddef.h>

/* A key is at most this long, NUL included (ids of up to 64 bytes). */
#define MSGKEY_MAX 420

struct msgkey {
	char campaign[128], customer[128];	/* unescaped */
	int step;
	int channel;				/* CHANNEL_EMAIL ... */
	int entry;				/* 1.. (0 reads as 1) */
};

/* Writes the key of k into out (MSGKEY_MAX); false if it does not fit
 * or k is out of range. */
bool msgkey_make(const struct msgkey *k, char *out, size_t cap);

/* Reads a key; false (k unspecified) unless it is well formed. */
bool msgkey_parse(const char *key, struct msgkey *k);

#endif
