/*
 * campaigns_cmd.c - rekindlectl campaigns create | list | get | launch |
 * pause | resume | cancel | messages | report: campaigns from readable
 * YAML or JSON files, their lifecycle, their send ledger, and the report
 * - a campaign's funnel and what it gained against its control group,
 * for people (GetCampaignReport), as text, as one self-contained HTML
 * page, or as JSON.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
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
		ctl_print_message(&r->base);
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

static int
list(struct ctl *c, int argc, char **argv)
{
	json_t *req = json_pack("{s:i}", "page_size", 500), *out, *o, *all;
	size_t i;
	int status;

	for (int k = 2; k + 1 < argc; k++)
		if (strcmp(argv[k], "--state") == 0)
			json_object_set_new(req, "states", json_pack("[s]", argv[k +
			    1]));
	status = ctl_rpc(c, "CampaignService/ListCampaigns", req, &out);
	json_decref(req);
	if (status != 0)
		return (status);
	all = json_object_get(out, "campaigns");
	if (c->json)
		ctl_print_json(all ? all : json_array());
	else {
		printf("%-22s %-26s %-24s %s\n", "campaign", "state", "kind",
		    "name");
		json_array_foreach(all, i, o)
			printf("%-22s %-26s %-24s %s\n", ctl_jstr(o, "campaign_id"),
			    ctl_jstr(o, "state"), *ctl_jstr(o, "kind") ? ctl_jstr(o, "kind") :
			    "CAMPAIGN_KIND_ONE_SHOT", ctl_jstr(o, "name"));
	}
	json_decref(out);
	return (0);
}

/* LaunchCampaign, then (unless no_wait) its operation until done, with
 * the elapsed time on a terminal. */
static int
launch(struct ctl *c, const char *id, bool no_wait)
{
	json_t *req = json_pack("{s:s,s:s}", "campaign_id", id, "request_id",
	    id), *op;
	int status = ctl_rpc(c, "CampaignService/LaunchCampaign", req, &op);
	bool tty = isatty(2) == 1;
	time_t t0 = time(NULL);

	json_decref(req);
	if (status != 0)
		return (status);
	while (!no_wait && !json_is_true(json_object_get(op, "done"))) {
		const char *name = ctl_jstr(op, "name");
		json_t *get = json_pack("{s:s}", "name", name);

		if (tty)
			fprintf(stderr, "\r%s: waiting for its start or the "
			    "campaigner, %lds", name, (long)(time(NULL) - t0));
		usleep(200000);
		json_decref(op);
		status = ctl_rpc(c, "CampaignService/GetOperation", get, &op);
		json_decref(get);
		if (status != 0)
			return (status);
	}
	if (tty && !no_wait)
		fputc('\n', stderr);
	return (ctl_show(c, op));
}

/* Pause, Resume, Cancel. */
static int
act(struct ctl *c, const char *verb, const char *id, int argc, char **argv)
{
	char method[64];
	json_t *req = json_pack("{s:s}", "campaign_id", id), *out;
	int status;

	for (int k = 3; k + 1 < argc; k++)
		if (strcmp(argv[k], "--reason") == 0)
			json_object_set_new(req, "reason", json_string(argv[k + 1]));
	snprintf(method, sizeof(method), "CampaignService/%c%sCampaign",
	    verb[0] - 'a' + 'A', verb + 1);
	status = ctl_rpc(c, method, req, &out);
	json_decref(req);
	if (status != 0)
		return (status);
	if (c->json)
		ctl_print_json(out);
	else
		printf("%s: %s\n", id, ctl_jstr(out, "state"));
	json_decref(out);
	return (0);
}

/* ListMessages: the send ledger of a campaign, a page. */
static int
messages(struct ctl *c, const char *id, int argc, char **argv)
{
	json_t *req = json_pack("{s:s,s:i}", "campaign_id", id, "page_size", 100),
	    *out, *all, *m;
	size_t i;
	int status;

	for (int k = 3; k + 1 < argc; k++) {
		if (strcmp(argv[k], "--state") == 0)
			json_object_set_new(req, "states", json_pack("[s]",
			    argv[k + 1]));
		else if (strcmp(argv[k], "--channel") == 0)
			json_object_set_new(req, "channels", json_pack("[s]",
			    argv[k + 1]));
		else if (strcmp(argv[k], "--customer") == 0)
			json_object_set_new(req, "customer_id",
			    json_string(argv[k + 1]));
		else if (strcmp(argv[k], "--limit") == 0)
			json_object_set_new(req, "page_size",
			    json_integer(atoi(argv[k + 1])));
	}
	status = ctl_rpc(c, "CampaignService/ListMessages", req, &out);
	json_decref(req);
	if (status != 0)
		return (status);
	all = json_object_get(out, "messages");
	if (c->json)
		ctl_print_json(out);
	else {
		printf("%-10s %-14s %4s %-16s %-22s %3s  %s\n", "message",
		    "customer", "step", "channel", "state", "try", "reason");
		json_array_foreach(all, i, m) {
			json_t *step = json_object_get(m, "step"), *att =
			    json_object_get(m, "attempts");

			printf("%-10s %-14s %4lld %-16s %-22s %3lld  %s\n",
			    ctl_jstr(m, "message_id"), ctl_jstr(m, "customer_id"),
			    step ? (long long)json_integer_value(step) : 0,
			    ctl_jstr(m, "channel"), ctl_jstr(m, "state"),
			    att ? (long long)json_integer_value(att) : 0,
			    ctl_jstr(m, "reason"));
		}
	}
	json_decref(out);
	return (0);
}

int
cmd_campaigns(struct ctl *c, int argc, char **argv)
{
	const char *svg = NULL, *html = NULL;

	if (argc >= 3 && strcmp(argv[1], "create") == 0)
		return (ctl_create(c, "campaign", "CampaignService/CreateCampaign",
		    argv[2], argc == 5 && strcmp(argv[3], "--request-id") == 0 ?
		    argv[4] : NULL));
	if (argc >= 2 && strcmp(argv[1], "list") == 0)
		return (list(c, argc, argv));
	if (argc == 3 && strcmp(argv[1], "get") == 0)
		return (ctl_get(c, "CampaignService/GetCampaign", "campaign_id",
		    argv[2]));
	if (argc >= 3 && strcmp(argv[1], "launch") == 0)
		return (launch(c, argv[2], argc == 4 && strcmp(argv[3],
		    "--no-wait") == 0));
	if (argc >= 3 && (strcmp(argv[1], "pause") == 0 || strcmp(argv[1],
	    "resume") == 0 || strcmp(argv[1], "cancel") == 0))
		return (act(c, argv[1], argv[2], argc, argv));
	if (argc >= 3 && strcmp(argv[1], "messages") == 0)
		return (messages(c, argv[2], argc, argv));
	if (argc < 3 || strcmp(argv[1], "report") != 0) {
		ctl_usage(stderr, "campaigns");
		return (2);
	}
	for (int i = 3; i < argc; i++) {
		if (strcmp(argv[i], "--svg") == 0 && i + 1 < argc)
			svg = argv[++i];
		else if (strcmp(argv[i], "--html") == 0 && i + 1 < argc)
			html = argv[++i];
		else if (strcmp(argv[i], "--json") == 0)
			c->json = true;
		else {
			ctl_usage(stderr, "campaigns");
			return (2);
		}
	}
	return (report(c, argv[2], svg, html));
}
