/*
 * msgtoken.h - the personal token a message carries in its links, open
 * pixel and push data: the outbox message id and the first 8 bytes of
 * HMAC-SHA256(secret, id) in hex, "8812.3f9a0c21d4e5b6a7". Nothing is
 * stored: the id finds the message (customer, campaign, channel), the MAC
 * proves the token was made by rekindle. Pure but for the configured key.
 */
#ifndef RK_MSGTOKEN_H
#define RK_MSGTOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfg.h"

/*
 * tracking_secret, the HMAC key: one table for every program that makes
 * or checks tokens (the delivery pools, the API, the tracker), so the key
 * is declared once.
 */
extern const struct cfg_entry msgtoken_cfg[];
extern char *var_tracking_secret, *var_tracking_url;

/* Longest token, with its NUL: 20 digits, ".", 16 hex digits. */
#define MSGTOKEN_MAX 38

/* Writes the token of message id into out (MSGTOKEN_MAX bytes). */
void msgtoken_make(const char *secret, int64_t id, char out[MSGTOKEN_MAX]);

/*
 * The message id of token (len bytes, not necessarily NUL-terminated),
 * if it is well formed and its MAC is right (compared in constant time).
 */
bool msgtoken_verify(const char *secret, const char *token, size_t len,
    int64_t *id);

#endif
