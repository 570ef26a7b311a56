/*
 * fold.c - Vietnamese text folded to plain upper-case ASCII words, so that
 * "Hủy", "HUY", "huỷ" and "H U Y"... compare as keywords do. The table is
 * every precomposed Latin letter of U+00C0-U+024F and U+1EA0-U+1EF9 whose
 * canonical decomposition (Unicode NFD) starts with an ASCII letter, and
 * đ/Đ (no decomposition: D); generated once from Python's unicodedata.
 * Combining marks (U+0300-U+036F: decomposed input) are dropped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fold.h"

struct letter {
	unsigned cp;
	char base;
};

static const struct letter letters[] = {
	{0x00C0, 'A'}, {0x00C1, 'A'}, {0x00C2, 'A'}, {0x00C3, 'A'}, {0x00C4, 'A'}, {0x00C5, 'A'},
	{0x00C7, 'C'}, {0x00C8, 'E'}, {0x00C9, 'E'}, {0x00CA, 'E'}, {0x00CB, 'E'}, {0x00CC, 'I'},
	{0x00CD, 'I'}, {0x00CE, 'I'}, {0x00CF, 'I'}, {0x00D1, 'N'}, {0x00D2, 'O'}, {0x00D3, 'O'},
	{0x00D4, 'O'}, {0x00D5, 'O'}, {0x00D6, 'O'}, {0x00D9, 'U'}, {0x00DA, 'U'}, {0x00DB, 'U'},
	{0x00DC, 'U'}, {0x00DD, 'Y'}, {0x00E0, 'A'}, {0x00E1, 'A'}, {0x00E2, 'A'}, {0x00E3, 'A'},
	{0x00E4, 'A'}, {0x00E5, 'A'}, {0x00E7, 'C'}, {0x00E8, 'E'}, {0x00E9, 'E'}, {0x00EA, 'E'},
	{0x00EB, 'E'}, {0x00EC, 'I'}, {0x00ED, 'I'}, {0x00EE, 'I'}, {0x00EF, 'I'}, {0x00F1, 'N'},
	{0x00F2, 'O'}, {0x00F3, 'O'}, {0x00F4, 'O'}, {0x00F5, 'O'}, {0x00F6, 'O'}, {0x00F9, 'U'},
	{0x00FA, 'U'}, {0x00FB, 'U'}, {0x00FC, 'U'}, {0x00FD, 'Y'}, {0x00FF, 'Y'}, {0x0100, 'A'},
	{0x0101, 'A'}, {0x0102, 'A'}, {0x0103, 'A'}, {0x0104, 'A'}, {0x0105, 'A'}, {0x0106, 'C'},
	{0x0107, 'C'}, {0x0108, 'C'}, {0x0109, 'C'}, {0x010A, 'C'}, {0x010B, 'C'}, {0x010C, 'C'},
	{0x010D, 'C'}, {0x010E, 'D'}, {0x010F, 'D'}, {0x0110, 'D'}, {0x0111, 'D'}, {0x0112, 'E'},
	{0x0113, 'E'}, {0x0114, 'E'}, {0x0115, 'E'}, {0x0116, 'E'}, {0x0117, 'E'}, {0x0118, 'E'},
	{0x0119, 'E'}, {0x011A, 'E'}, {0x011B, 'E'}, {0x011C, 'G'}, {0x011D, 'G'}, {0x011E, 'G'},
	{0x011F, 'G'}, {0x0120, 'G'}, {0x0121, 'G'}, {0x0122, 'G'}, {0x0123, 'G'}, {0x0124, 'H'},
	{0x0125, 'H'}, {0x0128, 'I'}, {0x0129, 'I'}, {0x012A, 'I'}, {0x012B, 'I'}, {0x012C, 'I'},
	{0x012D, 'I'}, {0x012E, 'I'}, {0x012F, 'I'}, {0x0130, 'I'}, {0x0134, 'J'}, {0x0135, 'J'},
	{0x0136, 'K'}, {0x0137, 'K'}, {0x0139, 'L'}, {0x013A, 'L'}, {0x013B, 'L'}, {0x013C, 'L'},
	{0x013D, 'L'}, {0x013E, 'L'}, {0x0143, 'N'}, {0x0144, 'N'}, {0x0145, 'N'}, {0x0146, 'N'},
	{0x0147, 'N'}, {0x0148, 'N'}, {0x014C, 'O'}, {0x014D, 'O'}, {0x014E, 'O'}, {0x014F, 'O'},
	{0x0150, 'O'}, {0x0151, 'O'}, {0x0154, 'R'}, {0x0155, 'R'}, {0x0156, 'R'}, {0x0157, 'R'},
	{0x0158, 'R'}, {0x0159, 'R'}, {0x015A, 'S'}, {0x015B, 'S'}, {0x015C, 'S'}, {0x015D, 'S'},
	{0x015E, 'S'}, {0x015F, 'S'}, {0x0160, 'S'}, {0x0161, 'S'}, {0x0162, 'T'}, {0x0163, 'T'},
	{0x0164, 'T'}, {0x0165, 'T'}, {0x0168, 'U'}, {0x0169, 'U'}, {0x016A, 'U'}, {0x016B, 'U'},
	{0x016C, 'U'}, {0x016D, 'U'}, {0x016E, 'U'}, {0x016F, 'U'}, {0x0170, 'U'}, {0x0171, 'U'},
	{0x0172, 'U'}, {0x0173, 'U'}, {0x0174, 'W'}, {0x0175, 'W'}, {0x0176, 'Y'}, {0x0177, 'Y'},
	{0x0178, 'Y'}, {0x0179, 'Z'}, {0x017A, 'Z'}, {0x017B, 'Z'}, {0x017C, 'Z'}, {0x017D, 'Z'},
	{0x017E, 'Z'}, {0x01A0, 'O'}, {0x01A1, 'O'}, {0x01AF, 'U'}, {0x01B0, 'U'}, {0x01CD, 'A'},
	{0x01CE, 'A'}, {0x01CF, 'I'}, {0x01D0, 'I'}, {0x01D1, 'O'}, {0x01D2, 'O'}, {0x01D3, 'U'},
	{0x01D4, 'U'}, {0x01D5, 'U'}, {0x01D6, 'U'}, {0x01D7, 'U'}, {0x01D8, 'U'}, {0x01D9, 'U'},
	{0x01DA, 'U'}, {0x01DB, 'U'}, {0x01DC, 'U'}, {0x01DE, 'A'}, {0x01DF, 'A'}, {0x01E0, 'A'},
	{0x01E1, 'A'}, {0x01E6, 'G'}, {0x01E7, 'G'}, {0x01E8, 'K'}, {0x01E9, 'K'}, {0x01EA, 'O'},
	{0x01EB, 'O'}, {0x01EC, 'O'}, {0x01ED, 'O'}, {0x01F0, 'J'}, {0x01F4, 'G'}, {0x01F5, 'G'},
	{0x01F8, 'N'}, {0x01F9, 'N'}, {0x01FA, 'A'}, {0x01FB, 'A'}, {0x0200, 'A'}, {0x0201, 'A'},
	{0x0202, 'A'}, {0x0203, 'A'}, {0x0204, 'E'}, {0x0205, 'E'}, {0x0206, 'E'}, {0x0207, 'E'},
	{0x0208, 'I'}, {0x0209, 'I'}, {0x020A, 'I'}, {0x020B, 'I'}, {0x020C, 'O'}, {0x020D, 'O'},
	{0x020E, 'O'}, {0x020F, 'O'}, {0x0210, 'R'}, {0x0211, 'R'}, {0x0212, 'R'}, {0x0213, 'R'},
	{0x0214, 'U'}, {0x0215, 'U'}, {0x0216, 'U'}, {0x0217, 'U'}, {0x0218, 'S'}, {0x0219, 'S'},
	{0x021A, 'T'}, {0x021B, 'T'}, {0x021E, 'H'}, {0x021F, 'H'}, {0x0226, 'A'}, {0x0227, 'A'},
	{0x0228, 'E'}, {0x0229, 'E'}, {0x022A, 'O'}, {0x022B, 'O'}, {0x022C, 'O'}, {0x022D, 'O'},
	{0x022E, 'O'}, {0x022F, 'O'}, {0x0230, 'O'}, {0x0231, 'O'}, {0x0232, 'Y'}, {0x0233, 'Y'},
	{0x1EA0, 'A'}, {0x1EA1, 'A'}, {0x1EA2, 'A'}, {0x1EA3, 'A'}, {0x1EA4, 'A'}, {0x1EA5, 'A'},
	{0x1EA6, 'A'}, {0x1EA7, 'A'}, {0x1EA8, 'A'}, {0x1EA9, 'A'}, {0x1EAA, 'A'}, {0x1EAB, 'A'},
	{0x1EAC, 'A'}, {0x1EAD, 'A'}, {0x1EAE, 'A'}, {0x1EAF, 'A'}, {0x1EB0, 'A'}, {0x1EB1, 'A'},
	{0x1EB2, 'A'}, {0x1EB3, 'A'}, {0x1EB4, 'A'}, {0x1EB5, 'A'}, {0x1EB6, 'A'}, {0x1EB7, 'A'},
	{0x1EB8, 'E'}, {0x1EB9, 'E'}, {0x1EBA, 'E'}, {0x1EBB, 'E'}, {0x1EBC, 'E'}, {0x1EBD, 'E'},
	{0x1EBE, 'E'}, {0x1EBF, 'E'}, {0x1EC0, 'E'}, {0x1EC1, 'E'}, {0x1EC2, 'E'}, {0x1EC3, 'E'},
	{0x1EC4, 'E'}, {0x1EC5, 'E'}, {0x1EC6, 'E'}, {0x1EC7, 'E'}, {0x1EC8, 'I'}, {0x1EC9, 'I'},
	{0x1ECA, 'I'}, {0x1ECB, 'I'}, {0x1ECC, 'O'}, {0x1ECD, 'O'}, {0x1ECE, 'O'}, {0x1ECF, 'O'},
	{0x1ED0, 'O'}, {0x1ED1, 'O'}, {0x1ED2, 'O'}, {0x1ED3, 'O'}, {0x1ED4, 'O'}, {0x1ED5, 'O'},
	{0x1ED6, 'O'}, {0x1ED7, 'O'}, {0x1ED8, 'O'}, {0x1ED9, 'O'}, {0x1EDA, 'O'}, {0x1EDB, 'O'},
	{0x1EDC, 'O'}, {0x1EDD, 'O'}, {0x1EDE, 'O'}, {0x1EDF, 'O'}, {0x1EE0, 'O'}, {0x1EE1, 'O'},
	{0x1EE2, 'O'}, {0x1EE3, 'O'}, {0x1EE4, 'U'}, {0x1EE5, 'U'}, {0x1EE6, 'U'}, {0x1EE7, 'U'},
	{0x1EE8, 'U'}, {0x1EE9, 'U'}, {0x1EEA, 'U'}, {0x1EEB, 'U'}, {0x1EEC, 'U'}, {0x1EED, 'U'},
	{0x1EEE, 'U'}, {0x1EEF, 'U'}, {0x1EF0, 'U'}, {0x1EF1, 'U'}, {0x1EF2, 'Y'}, {0x1EF3, 'Y'},
	{0x1EF4, 'Y'}, {0x1EF5, 'Y'}, {0x1EF6, 'Y'}, {0x1EF7, 'Y'}, {0x1EF8, 'Y'}, {0x1EF9, 'Y'},
};

static int
cmp_cp(const void *k, const void *e)
{
	unsigned a = *(const unsigned *)k, b = *(const unsigned *)e;

	return (a < b ? -1 : a > b);
}

/* The next code point of s (at most n bytes), its length in *len; 0xFFFD
 * for a malformed sequence (one byte taken). */
static unsigned
next_cp(const unsigned char *s, size_t n, size_t *len)
{
	unsigned cp;
	size_t need, i;

	*len = 1;
	if (s[0] < 0x80)
		return (s[0]);
	if ((s[0] & 0xE0) == 0xC0) {
		cp = s[0] & 0x1Fu;
		need = 2;
	} else if ((s[0] & 0xF0) == 0xE0) {
		cp = s[0] & 0x0Fu;
		need = 3;
	} else if ((s[0] & 0xF8) == 0xF0) {
		cp = s[0] & 0x07u;
		need = 4;
	} else {
		return (0xFFFD);
	}
	if (need > n)
		return (0xFFFD);
	for (i = 1; i < need; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return (0xFFFD);
		cp = (cp << 6) | (s[i] & 0x3Fu);
	}
	*len = need;
	return (cp);
}

size_t
fold_words(const char *in, size_t n, char *out, size_t cap)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t o = 0, len;
	bool space = true;	/* at the start: no leading space */

	if (cap == 0)
		return (0);
	for (size_t i = 0; i < n && s[i] != '\0'; i += len) {
		unsigned cp = next_cp(s + i, n - i, &len);
		char c = 0;

		if (cp < 0x80 && ((cp >= 'A' && cp <= 'Z') || (cp >= '0' &&
		    cp <= '9')))
			c = (char)cp;
		else if (cp >= 'a' && cp <= 'z')
			c = (char)(cp - 'a' + 'A');
		else if (cp >= 0x300 && cp <= 0x36F)
			continue;	/* a combining mark */
		else if (cp >= 0xC0) {
			const struct letter *e = bsearch(&cp, letters,
			    sizeof(letters) / sizeof(letters[0]),
			    sizeof(letters[0]), cmp_cp);

			if (e != NULL)
				c = e->base;
		}
		if (c == 0) {		/* anything else separates words */
			if (!space && o + 1 < cap)
				out[o++] = ' ';
			space = true;
			continue;
		}
		if (o + 1 < cap)
			out[o++] = c;
		space = false;
	}
	if (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
	return (o);
}

bool
fold_keyword(const char *text, size_t n, const char *keywords, char *matched,
    size_t cap)
{
	char t[512], k[128];
	const char *p = keywords;

	fold_words(text, n, t, sizeof(t));
	while (*p != '\0') {
		const char *end = strchr(p, ',');
		size_t kl = end ? (size_t)(end - p) : strlen(p), fl;

		fl = fold_words(p, kl, k, sizeof(k));
		/* the whole reply, or its first words ("TC QC", "HUY BANK") */
		if (fl > 0 && strncmp(t, k, fl) == 0 && (t[fl] == '\0' ||
		    t[fl] == ' ')) {
			if (matched != NULL && cap > 0)
				snprintf(matched, cap, "%s", k);
			return (true);
		}
		p = end ? end + 1 : p + kl;
	}
	return (false);
}

size_t
fold_utf8_clean(const char *in, size_t n, char *out, size_t cap)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t o = 0, len;

	if (cap == 0)
		return (0);
	for (size_t i = 0; i < n && s[i] != '\0'; i += len) {
		unsigned cp = next_cp(s + i, n - i, &len);
		bool bad = cp == 0xFFFD || cp < 0x20 || cp == 0x7F ||
		    (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF ||
		    (len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
		    (len == 4 && cp < 0x10000);

		if (bad) {
			if (o + 1 < cap)
				out[o++] = '?';
			continue;
		}
		if (o + len >= cap)
			break;
		memcpy(out + o, s + i, len);
		o += len;
	}
	out[o] = '\0';
	return (o);
}
