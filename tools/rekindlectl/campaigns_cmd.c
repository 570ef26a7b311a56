/*
 * campaigns_cmd.c - rekindlectl campaigns report ID [--svg FILE]
 * [--html FILE] [--json]: a campaign's funnel and what it gained against
 * its control group, for people (GetCampaignReport), as text, as one
 * self-contained HTML page, or as JSON.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "pbjson.h"
#include "rekindle/v1/campaign.pb-c.h"
#include "report_html.h"

/* "12,345" */
static const char *
thousands(long long n, char *buf, size_t cap)
{
	char raw[32];
	size_t len, k = 0;
	int neg = n < 0;

	snprintf(raw, sizeof(raw), "%lld", neg ? -n : n);
	len = strlen(raw);
	if (neg && k + 1 < cap)
		buf[k++] = '-';
	for (size_t i = 0; i < len && k + 2 < cap; i++) {
		if (i > 0 && (len - i) % 3 == 0)
			buf[k++] = ',';
		buf[k++] = raw[i];
	}
	buf[k] = '\0';
	return (buf);
}

/* Writes the HTML page of campaign id's report r to path. */
static int
write_html(struct ctl *c, const char *id, const Rekindle__V1__CampaignReport *r,
    const char *path)
{
	Rekindle__V1__GetCampaignRequest req =
	    REKINDLE__V1__GET_CAMPAIGN_REQUEST__INIT;
	Rekindle__V1__Campaign *cp;
	struct rkc_status st;
	FILE *fp;
	rk_err rc;
	int bad;

	req.campaign_id = (char *)id;
	rc = rkc_unary(c->client, "/rekindle.v1.CampaignService/GetCampaign",
	    &req.base, &rekindle__v1__campaign__descriptor, c->timeout_ms,
	    (ProtobufCMessage **)&cp, &st);
	if (rc != RK_OK)
		return (ctl_fail("GetCampaign", rc, &st));
	if ((fp = fopen(path, "w")) == NULL) {
		fprintf(stderr, "rekindlectl: cannot write %s\n", path);
		protobuf_c_message_free_unpacked(&cp->base, NULL);
		return (1);
	}
	bad = report_html(fp, cp, r) != 0;
	bad |= fclose(fp) != 0;
	protobuf_c_message_free_unpacked(&cp->base, NULL);
	if (bad)
		fprintf(stderr, "rekindlectl: cannot write %s\n", path);
	return (bad);
}

static int
report(struct ctl *c, const char *id, const char *svg, const char *html)
{
	Rekindle__V1__GetCampaignReportRequest req =
	    REKINDLE__V1__GET_CAMPAIGN_REPORT_REQUEST__INIT;
	Rekindle__V1__CampaignReport *r;
	const Rekindle__V1__CampaignStats *s;
	struct rkc_status st;
	char b1[32], b2[32];
	rk_err rc;
	long long treated;
	int status = 0;

	req.campaign_id = (char *)id;
	rc = rkc_unary(c->client, "/rekindle.v1.CampaignService/GetCampaignReport",
	    &req.base, &rekindle__v1__campaign_report__descriptor, c->timeout_ms,
	    (ProtobufCMessage **)&r, &st);
	if (rc != RK_OK)
		return (ctl_fail("GetCampaignReport", rc, &st));
	if (html != NULL)
		status = write_html(c, id, r, html);
	if (c->json) {
		json_t *j = pbjson_dump(&r->base);

		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII);
		putchar('\n');
		json_decref(j);
		protobuf_c_message_free_unpacked(&r->base, NULL);
		return (status);
	}
	s = r->stats;
	treated = (long long)(s->audience - s->control);
	printf("Campaign %s\n\n", id);
	printf("  %-28s %12s\n", "audience", thousands(s->audience, b1,
	    sizeof(b1)));
	printf("  %-28s %12s\n", "  control (held out)", thousands(s->control, b1,
	    sizeof(b1)));
	printf("  %-28s %12s\n", "  treatment", thousands(treated, b1,
	    sizeof(b1)));
	printf("  %-28s %12s\n", "sent", thousands(s->sent, b1, sizeof(b1)));
	/* messages that may have gone: held, never sent twice */
	printf("  %-28s %12s\n", "uncertain (may have gone)",
	    thousands(s->uncertain, b1, sizeof(b1)));
	printf("  %-28s %12s\n", "failed or refused",
	    thousands(s->undelivered, b1, sizeof(b1)));
	printf("  %-28s %12s\n", "delivered", thousands(s->delivered, b1,
	    sizeof(b1)));
	printf("  %-28s %12s\n", "opened (strong evidence)",
	    thousands(s->opened_strong, b1, sizeof(b1)));
	printf("  %-28s %12s\n", "opened (weak: e-mail only)",
	    thousands(s->opened_weak, b1, sizeof(b1)));
	printf("  %-28s %12s\n", "clicked", thousands(s->clicked, b1,
	    sizeof(b1)));
	printf("  %-28s %12s\n", "registered", thousands(s->registered, b1,
	    sizeof(b1)));
	printf("  %-28s %12s\n", "reminded", thousands(s->reminded, b1,
	    sizeof(b1)));
	printf("  %-28s %12s\n", "ticketed", thousands(s->ticketed, b1,
	    sizeof(b1)));
	printf("  %-28s %12s\n", "contacted by an agent",
	    thousands(s->contacted, b1, sizeof(b1)));
	printf("  %-28s %12s\n\n", "reactivated (treatment)",
	    thousands(s->reactivated, b1, sizeof(b1)));
	printf("  reactivation   treatment %.2f%%  control %.2f%% (%s of %s)\n",
	    100 * r->treatment_rate, 100 * r->control_rate,
	    thousands(s->control_reactivated, b1, sizeof(b1)),
	    thousands(s->control, b2, sizeof(b2)));
	printf("  lift           %+.2f points, 95%% CI [%+.2f, %+.2f]%s\n",
	    100 * r->lift, 100 * r->lift_ci_low, 100 * r->lift_ci_high,
	    r->lift_ci_low > 0 ? "" : "  (not significant)");
	printf("  incremental spend       %s VND\n",
	    thousands(r->incremental_spend->amount_minor, b1, sizeof(b1)));
	printf("  redeemed                %s (%.1f%% of treatment)\n",
	    thousands(r->redeemed, b1, sizeof(b1)), 100 * r->redemption_rate);
	printf("  cost                    %s VND (offers %s",
	    thousands(r->total_cost ? r->total_cost->amount_minor : 0, b1,
	    sizeof(b1)), thousands(r->offer_cost ? r->offer_cost->amount_minor :
	    0, b2, sizeof(b2)));
	printf(", messages %s)\n", thousands(r->message_cost ?
	    r->message_cost->amount_minor : 0, b1, sizeof(b1)));
	printf("  ROI                     %+.0f%% (margin %.2f%%)\n",
	    100 * r->roi, r->margin_percent);
	for (size_t i = 0; i < r->n_variants; i++)
		printf("  variant %-15s %s entries, %.2f%% back, lift %+.2f "
		    "[%+.2f, %+.2f], share %.0f%%\n", r->variants[i]->variant_id,
		    thousands(r->variants[i]->entries, b1, sizeof(b1)),
		    100 * r->variants[i]->rate, 100 * r->variants[i]->lift,
		    100 * r->variants[i]->lift_ci_low,
		    100 * r->variants[i]->lift_ci_high, 100 * r->variants[i]->share);
	if (*r->best_variant)
		printf("  best variant            %s (%s, p = %.4f; %s)\n",
		    r->best_variant, r->best_significant ? "significant" :
		    "not significant", r->best_p_value, r->variant_test);
	if (r->cost_per_reactivation->amount_minor > 0)
		printf("  cost per reactivation   %s VND\n",
		    thousands(r->cost_per_reactivation->amount_minor, b1,
		    sizeof(b1)));
	else
		printf("  cost per reactivation   - (no incremental "
		    "reactivation)\n");
	if (svg != NULL) {
		FILE *fp = fopen(svg, "w");

		if (fp == NULL || fputs(r->funnel_svg, fp) < 0 || fclose(fp) != 0) {
			fprintf(stderr, "rekindlectl: cannot write %s\n", svg);
			protobuf_c_message_free_unpacked(&r->base, NULL);
			return (1);
		}
	}
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return (status);
}

#define USAGE "usage: rekindlectl [--json] campaigns report ID [--svg FILE] " \
	"[--html FILE] [--json]\n"

int
cmd_campaigns(struct ctl *c, int argc, char **argv)
{
	const char *svg = NULL, *html = NULL;

	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)) {
		fputs(USAGE, stdout);
		return (0);
	}
	if (argc < 3 || strcmp(argv[1], "report") != 0) {
		fputs(USAGE, stderr);
		return (2);
	}
	for (int i = 3; i < argc; i++) {
		if (strcmp(argv[i], "--svg") == 0 && i + 1 < argc)
			svg = argv[++i];
		else if (strcmp(argv[i], "--html") == 0 && i + 1 < argc)
			html = argv[++i];
		else if (strcmp(argv[i], "--json") == 0)
			c->json = true;
		else if (strcmp(argv[i], "--help") == 0) {
			fputs(USAGE, stdout);
			return (0);
		} else {
			fputs(USAGE, stderr);
			return (2);
		}
	}
	return (report(c, argv[2], svg, html));
}
