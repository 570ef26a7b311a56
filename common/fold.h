/*
 * fold.h - folding outside text (an SMS reply) to plain words, for
 * keyword matching without regard to case, diacritics or spacing.
 */
#ifndef RK_FOLD_H
#define RK_FOLD_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Folds at most n bytes of UTF-8 text (NUL ends it early) into out (cap
 * bytes, always terminated): Vietnamese and other Latin letters to their
 * upper-case ASCII base letter, digits kept, everything else one space
 * between words. "  Từ chối!" -> "TU CHOI". Returns the length written.
 */
size_t fold_words(const char *in, size_t n, char *out, size_t cap);

/*
 * True if the reply text (n bytes) is one of keywords (comma-separated,
 * folded the same way) or starts with one as whole words; the folded
 * keyword to matched (cap bytes) when given.
 */
bool fold_keyword(const char *text, size_t n, const char *keywords,
    char *matched, size_t cap);

/*
 * Copies at most n bytes of text (NUL ends it early) to out (cap bytes,
 * always terminated, never a cut sequence), each malformed, overlong or
 * surrogate sequence and control character replaced by '?': outside text
 * made safe to store as UTF-8. Returns the length written.
 */
size_t fold_utf8_clean(const char *in, size_t n, char *out, size_t cap);

#endif
