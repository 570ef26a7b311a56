/*
 * evidence.c - user-agent patterns of image proxies, mail security
 * scanners and crawlers, matched case-insensitively.
 */
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "evidence.h"

/* Fetch images for a mail client, whatever the reader does. */
static const char *const image_proxies[] = {
	"GoogleImageProxy", "ggpht.com", "YahooMailProxy",
	"Yahoo! Slurp", "Thunderbird-Proxy", NULL,
};

/* Open every link of incoming mail to check it. */
static const char *const scanners[] = {
	"Mimecast", "Barracuda", "Proofpoint", "urldefense", "SafeLinks",
	"BingPreview", "Microsoft Office Protection", "ZScaler", "Forcepoint",
	"Trend Micro", "Symantec", "Sophos", "FireEye", "Cisco IronPort",
	"python-requests", "curl/", "Wget/", "Go-http-client", NULL,
};

/* Robots in general ("bot/", not "bot": a CUBOT phone is a person). */
static const char *const robots[] = {
	"bot/", "bot;", "crawler", "spider", "HeadlessChrome", "scanner",
	"+http", NULL,
};

void
evidence_default_rules(struct evidence_rules *r)
{
	r->machine_open_s = 10;
	r->machine_click_s = 2;
}

static int
has(const char *ua, const char *const *pats)
{
	if (ua == NULL || *ua == '\0')
		return (0);
	for (int i = 0; pats[i] != NULL; i++) {
		size_t n = strlen(pats[i]);

		for (const char *p = ua; *p; p++)
			if (strncasecmp(p, pats[i], n) == 0)
				return (1);
	}
	return (0);
}

int
evidence_is_interest(enum ev_type type)
{
	return (type == EV_CLICKED || type == EV_APP_OPENED ||
	    type == EV_PAGE_VIEWED);
}

enum evidence
evidence_of(const struct evidence_rules *r, enum ev_type type,
    int64_t since_sent_us, const char *user_agent, const char **why)
{
	*why = NULL;
	switch (type) {
	case EV_OPENED:
		if (has(user_agent, image_proxies)) {
			*why = "image proxy";
			return (EVIDENCE_MACHINE);
		}
		if (has(user_agent, scanners) || has(user_agent, robots)) {
			*why = "security scanner or robot";
			return (EVIDENCE_MACHINE);
		}
		if (since_sent_us >= 0 && since_sent_us < (int64_t)r->machine_open_s *
		    1000000) {
			*why = "opened within seconds of sending";
			return (EVIDENCE_MACHINE);
		}
		return (EVIDENCE_WEAK);
	case EV_CLICKED:
	case EV_APP_OPENED:
	case EV_PAGE_VIEWED:
	case EV_REGISTERED:
		if (has(user_agent, scanners) || has(user_agent, robots)) {
			*why = "security scanner or robot";
			return (EVIDENCE_MACHINE);
		}
		if (type == EV_CLICKED && since_sent_us >= 0 && since_sent_us <
		    (int64_t)r->machine_click_s * 1000000) {
			*why = "clicked within a second of sending";
			return (EVIDENCE_MACHINE);
		}
		return (EVIDENCE_STRONG);
	default:
		return (EVIDENCE_STRONG);
	}
}
