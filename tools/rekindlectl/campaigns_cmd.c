/*
 * campaigns_cmd.c - rekindlectl campaigns report ID [--svg FILE]: a
 * campaign's funnel and what it gained against its control group, for
 * people (GetCampaignReport).
 */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "rekindle/v1/campaign.pb-c.h"

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

static int
report(struct ctl *c, const char *id, const char *svg)
{
	Rekindle__V1__GetCampaignReportRequest req =
	    REKINDLE__V1__GET_CAMPAIGN_REPORT_REQUEST__INIT;
	Rekindle__V1__CampaignReport *r;
	const Rekindle__V1__CampaignStats *s;
	struct rkc_status st;
	char b1[32], b2[32];
	rk_err rc;
	long long treated;

	req.campaign_id = (char *)id;
	rc = rkc_unary(c->client, "/rekindle.v1.CampaignService/GetCampaignReport",
	    &req.base, &rekindle__v1__campaign_report__descriptor, c->timeout_ms,
	    (ProtobufCMessage **)&r, &st);
	if (rc != RK_OK)
		return (ctl_fail("GetCampaignReport", rc, &st));
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
	return (0);
}

int
cmd_campaigns(struct ctl *c, int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "report") == 0)
		return (report(c, argv[2], NULL));
	if (argc == 5 && strcmp(argv[1], "report") == 0 &&
	    strcmp(argv[3], "--svg") == 0)
		return (report(c, argv[2], argv[4]));
	fprintf(stderr, "usage: rekindlectl campaigns report ID [--svg FILE]\n");
	return (2);
}
