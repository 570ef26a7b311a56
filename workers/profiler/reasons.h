/*
 * reasons.h - why a customer's churn risk is high, in English and in
 * Vietnamese, from the churn model's per-feature contributions.
 *
 * Features that say one thing are told as one reason, with their
 * contributions added: days since the last purchase, the usual gap and
 * how overdue it is are one "no purchase for N days" - and so are "no
 * purchase in the last 90 days" and "no spend in the last year" when the
 * quiet spell already covers them (a customer quiet for 456 days is not
 * told "low spend in the last year" first). Reasons come strongest
 * first; a feature is told only when it reads as a cause of leaving
 * (a model may lean on "139 purchases last year" to separate the
 * dormant, but a person is not told that). A customer with any reason to
 * explain always gets at least one: the strongest told feature with a
 * positive contribution, else that customers with such a history mostly
 * did not buy again - what the score means.
 */
#ifndef RK_REASONS_H
#define RK_REASONS_H

#include "churn.h"

enum reason_lang { REASON_EN, REASON_VI };

/* Bytes per reason text (UTF-8). */
#define REASON_LEN 192

/* Up to CHURN_MAX_REASONS reasons into out; returns how many (>= 1). */
int reasons_tell(const float *contrib, const struct churn_row *row,
    enum reason_lang lang, char out[][REASON_LEN]);

#endif
