/*
 * profiles_cmd.c - rekindlectl profiles run | get | list.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "rekindle/v1/common.pb-c.h"
#include "rekindle/v1/profile.pb-c.h"

static const char *const states[] = {"-", "new", "active", "at_risk",
    "dormant", "lost"};

static char *
day(const Google__Protobuf__Timestamp *t, char *buf, size_t cap)
{
	time_t s;

	if (t == NULL)
		return (strcpy(buf, "-"));
	s = (time_t)t->seconds;
	strftime(buf, cap, "%Y-%m-%d", gmtime(&s));
	return (buf);
}

/* A score as text to digits decimals, or "not scored" when absent. */
static const char *
dscore(const Google__Protobuf__DoubleValue *v, int digits, char *buf,
    size_t cap)
{
	if (v == NULL)
		return ("not scored");
	snprintf(buf, cap, "%.*f", digits, v->value);
	return (buf);
}

/* A reliability table, one bin a line. */
static void
print_bins(const char *title, Rekindle__V1__CalibrationBin *const *bins,
    size_t n)
{
	printf("  %s: predicted -> observed (customers)\n", title);
	for (size_t i = 0; i < n; i++)
		printf("    %.2f -> %.2f (%lld)\n", bins[i]->predicted,
		    bins[i]->observed, (long long)bins[i]->count);
}

static const char *
iscore(const Google__Protobuf__Int32Value *v, char *buf, size_t cap)
{
	if (v == NULL)
		return ("-");
	snprintf(buf, cap, "%d", (int)v->value);
	return (buf);
}

/* The profile's reason for an absent score, or "". */
static const char *
unscored(const Rekindle__V1__Profile *p, const char *score)
{
	for (size_t i = 0; i < p->n_not_scored; i++)
		if (strcmp(p->not_scored[i]->key, score) == 0)
			return (p->not_scored[i]->value);
	return ("");
}

static void
print_profile(const Rekindle__V1__Profile *p)
{
	char d1[16], d2[16], d3[16], b[4][32];

	printf("profile %s\n", p->customer_id);
	if (p->days_since_last_transaction != NULL)
		printf("  state                  %s since %s (%d days since "
		    "last)\n", states[p->state % 6], day(p->state_since, d1,
		    sizeof(d1)), (int)p->days_since_last_transaction->value);
	else
		printf("  state                  %s since %s (no purchase)\n",
		    states[p->state % 6], day(p->state_since, d1, sizeof(d1)));
	printf("  first / last           %s / %s\n",
	    day(p->first_transaction_time, d2, sizeof(d2)),
	    day(p->last_transaction_time, d3, sizeof(d3)));
	printf("  transactions / spend   %lld / %.2f %s\n",
	    (long long)p->transaction_count,
	    ctl_major(p->total_spend_minor, p->currency), p->currency);
	for (size_t i = 0; i < p->n_windows; i++)
		printf("  last %3d days          %lld purchases, %.2f %s\n",
		    p->windows[i]->days, (long long)p->windows[i]->count,
		    ctl_major(p->windows[i]->spend_minor, p->currency),
		    p->currency);
	printf("  usual gap              %.1f days (p90 %.1f); overdue x%.1f\n",
	    p->median_gap_days, p->p90_gap_days, p->overdue_ratio);
	for (size_t i = 0; i < p->n_top_categories; i++)
		printf("  category #%zu            %s: %.0f%% of spend, %.0f%% of "
		    "purchases\n", i + 1, p->top_categories[i]->key,
		    100 * p->top_categories[i]->spend_share,
		    100 * p->top_categories[i]->count_share);
	for (size_t i = 0; i < p->n_top_partners; i++)
		printf("  partner #%zu             %s: %.0f%% of spend\n", i + 1,
		    p->top_partners[i]->key,
		    100 * p->top_partners[i]->spend_share);
	printf("  habits                 weekend %.0f%% of spend, peak hour "
	    "%d, promotions %.0f%%, trend %+.2f\n", 100 * p->weekend_spend_share,
	    p->peak_hour, 100 * p->promo_spend_share, p->spend_trend);
	if (p->recency_score != NULL)
		printf("  RFM                    %s-%s-%s %s\n",
		    iscore(p->recency_score, b[0], sizeof(b[0])),
		    iscore(p->frequency_score, b[1], sizeof(b[1])),
		    iscore(p->monetary_score, b[2], sizeof(b[2])),
		    *p->segment ? p->segment : "(after a full run)");
	else
		printf("  RFM                    not scored (%s) %s\n",
		    unscored(p, "recency_score"), p->segment);
	if (p->p_alive != NULL)
		printf("  P(alive)               %.2f; expected purchases 30 d "
		    "%s, 90 d %s\n", p->p_alive->value,
		    dscore(p->expected_purchases_30d, 2, b[0], sizeof(b[0])),
		    dscore(p->expected_purchases_90d, 2, b[1], sizeof(b[1])));
	else
		printf("  P(alive)               not scored (%s)\n",
		    unscored(p, "p_alive"));
	if (p->churn_risk != NULL)
		printf("  churn risk             %.2f\n", p->churn_risk->value);
	else
		printf("  churn risk             not scored (%s)\n",
		    unscored(p, "churn_risk"));
	for (size_t i = 0; i < p->n_churn_reasons; i++)
		printf("    because              %s\n", p->churn_reasons[i]);
	for (size_t i = 0; i < p->n_churn_reasons_vi; i++)
		printf("    vì                   %s\n", p->churn_reasons_vi[i]);
}

static int
models(struct ctl *c)
{
	Rekindle__V1__GetModelReportRequest req =
	    REKINDLE__V1__GET_MODEL_REPORT_REQUEST__INIT;
	Rekindle__V1__ModelReport *m;
	struct rkc_status st;
	rk_err rc;

	rc = rkc_unary(c->client, "/rekindle.v1.ProfileService/GetModelReport",
	    &req.base, &rekindle__v1__model_report__descriptor, c->timeout_ms,
	    (ProtobufCMessage **)&m, &st);
	if (rc != RK_OK)
		return (ctl_fail("GetModelReport", rc, &st));
	if (c->json) {
		ctl_print_message(&m->base);
		protobuf_c_message_free_unpacked(&m->base, NULL);
		return (0);
	}
	for (size_t i = 0; i < m->n_fits; i++) {
		const Rekindle__V1__ModelFit *f = m->fits[i];

		printf("%s\n  LL %.2f on %d customers;", f->model, f->log_likelihood,
		    f->customers);
		for (size_t k = 0; k < f->n_parameters; k++)
			printf(" %s=%.4g", f->parameters[k]->key,
			    f->parameters[k]->value);
		printf("\n");
		if (*f->degenerate)
			printf("  DEGENERATE: %s\n", f->degenerate);
	}
	if (*m->btyd_model) {
		char b[2][32];

		printf("BTYD in use: %s\n  because %s\n", m->btyd_model,
		    m->btyd_reason);
		printf("  validation period (%d customers): AUC of 1 - P(alive) "
		    "%s, of -E[purchases in 90 days] %s; churn model %.4f\n",
		    m->validation_customers, dscore(m->p_alive_auc, 4,
		    b[0], sizeof(b[0])), dscore(m->expected_purchases_auc, 4,
		    b[1], sizeof(b[1])), m->churn_auc);
	}
	if (*m->churn_model) {
		printf("churn model: %s\n", m->churn_model);
		printf("  calibration: %s (%s)\n", m->calibration_method,
		    m->calibration_reason);
		printf("  Brier score on the validation period: %.4f before, "
		    "%.4f after; AUC after %.4f\n", m->brier_before,
		    m->brier_after, m->calibrated_auc);
		print_bins("reliability before", m->calibration_before,
		    m->n_calibration_before);
		print_bins("reliability after (out of fold)", m->calibration,
		    m->n_calibration);
	} else {
		printf("churn model: not trained yet (run a full profiling run)\n");
	}
	protobuf_c_message_free_unpacked(&m->base, NULL);
	return (0);
}

static int
run(struct ctl *c, int argc, char **argv)
{
	Rekindle__V1__RunProfilingRequest req =
	    REKINDLE__V1__RUN_PROFILING_REQUEST__INIT;
	Google__Protobuf__Timestamp as_of = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	Rekindle__V1__Operation *op;
	struct rkc_status st;
	bool tty = isatty(2) == 1;
	char *name;
	rk_err rc;

	for (int i = 2; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--as-of") == 0) {
			struct tm tm = {0};

			if (strptime(argv[i + 1], "%Y-%m-%d", &tm) == NULL) {
				fprintf(stderr, "rekindlectl: --as-of YYYY-MM-DD\n");
				return (2);
			}
			as_of.seconds = timegm(&tm);
			req.as_of = &as_of;
		} else if (strcmp(argv[i], "--request-id") == 0) {
			req.request_id = argv[i + 1];
		}
	}
	rc = rkc_unary(c->client, "/rekindle.v1.ProfileService/RunProfiling",
	    &req.base, &rekindle__v1__operation__descriptor, c->timeout_ms,
	    (ProtobufCMessage **)&op, &st);
	if (rc != RK_OK)
		return (ctl_fail("RunProfiling", rc, &st));
	name = strdup(op->name);
	while (!op->done) {
		Rekindle__V1__GetOperationRequest g =
		    REKINDLE__V1__GET_OPERATION_REQUEST__INIT;
		int bar = (int)(op->percent_done * 30 / 100);

		if (tty)
			fprintf(stderr, "\r[%.*s%*s] %3.0f%%  %.0f customers/s",
			    bar, "##############################", 30 - bar, "",
			    op->percent_done, op->rate);
		protobuf_c_message_free_unpacked(&op->base, NULL);
		usleep(250000);
		g.name = name;
		rc = rkc_unary(c->client, "/rekindle.v1.ProfileService/"
		    "GetOperation", &g.base, &rekindle__v1__operation__descriptor,
		    c->timeout_ms, (ProtobufCMessage **)&op, &st);
		if (rc != RK_OK) {
			free(name);
			return (ctl_fail("GetOperation", rc, &st));
		}
	}
	if (tty)
		fprintf(stderr, "\r[##############################] 100%%\n");
	if (c->json)
		printf("{\"operation\":\"%s\",\"done\":true,\"error\":\"%s\"}\n",
		    op->name, op->error_message);
	else
		printf("%s done: %s%s\n", op->name, *op->error_message ?
		    "failed: " : "ok", op->error_message);
	rc = *op->error_message ? RK_EINTERNAL : RK_OK;
	protobuf_c_message_free_unpacked(&op->base, NULL);
	free(name);
	return (rc == RK_OK ? 0 : 1);
}

static int
get(struct ctl *c, const char *id)
{
	Rekindle__V1__GetProfileRequest req =
	    REKINDLE__V1__GET_PROFILE_REQUEST__INIT;
	Rekindle__V1__Profile *p;
	struct rkc_status st;
	rk_err rc;

	req.customer_id = (char *)id;
	rc = rkc_unary(c->client, "/rekindle.v1.ProfileService/GetProfile",
	    &req.base, &rekindle__v1__profile__descriptor, c->timeout_ms,
	    (ProtobufCMessage **)&p, &st);
	if (rc != RK_OK)
		return (ctl_fail("GetProfile", rc, &st));
	if (c->json) {
		json_t *o = json_pack("{s:s,s:s,s:I,s:f,s:s,s:f}",
		    "customer_id", p->customer_id, "state", states[p->state % 6],
		    "transaction_count", (json_int_t)p->transaction_count,
		    "median_gap_days", p->median_gap_days, "segment", p->segment,
		    "weekend_spend_share", p->weekend_spend_share);
		json_t *ns = json_object(), *cats = json_array(),
		    *pars = json_array();
		char *s;

		/* absent scores are null, with why in not_scored */
		json_object_set_new(o, "days_since_last",
		    p->days_since_last_transaction ? json_integer(
		    p->days_since_last_transaction->value) : json_null());
		json_object_set_new(o, "p_alive", p->p_alive ?
		    json_real(p->p_alive->value) : json_null());
		json_object_set_new(o, "churn_risk", p->churn_risk ?
		    json_real(p->churn_risk->value) : json_null());
		for (size_t i = 0; i < p->n_not_scored; i++)
			json_object_set_new(ns, p->not_scored[i]->key,
			    json_string(p->not_scored[i]->value));
		json_object_set_new(o, "not_scored", ns);
		for (size_t i = 0; i < p->n_top_categories; i++)
			json_array_append_new(cats, json_pack("{s:s,s:f}", "key",
			    p->top_categories[i]->key, "spend_share",
			    p->top_categories[i]->spend_share));
		for (size_t i = 0; i < p->n_top_partners; i++)
			json_array_append_new(pars, json_pack("{s:s,s:f}", "key",
			    p->top_partners[i]->key, "spend_share",
			    p->top_partners[i]->spend_share));
		json_object_set_new(o, "top_categories", cats);
		json_object_set_new(o, "top_partners", pars);
		s = json_dumps(o, JSON_COMPACT);
		printf("%s\n", s);
		free(s);
		json_decref(o);
	} else {
		print_profile(p);
	}
	protobuf_c_message_free_unpacked(&p->base, NULL);
	return (0);
}

static int
list(struct ctl *c, int argc, char **argv)
{
	Rekindle__V1__ListProfilesRequest req =
	    REKINDLE__V1__LIST_PROFILES_REQUEST__INIT;
	Rekindle__V1__LifecycleState st_filter[1];
	Rekindle__V1__ListProfilesResponse *resp;
	struct rkc_status st;
	char *segs[1];
	rk_err rc;

	req.page_size = 20;
	for (int i = 2; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--state") == 0) {
			for (int k = 1; k <= 5; k++)
				if (strcmp(argv[i + 1], states[k]) == 0)
					st_filter[0] = (Rekindle__V1__LifecycleState)k;
			req.states = st_filter;
			req.n_states = 1;
		} else if (strcmp(argv[i], "--segment") == 0) {
			segs[0] = argv[i + 1];
			req.segments = segs;
			req.n_segments = 1;
		} else if (strcmp(argv[i], "--category") == 0) {
			req.category = argv[i + 1];
		} else if (strcmp(argv[i], "--partner") == 0) {
			req.partner_id = argv[i + 1];
		} else if (strcmp(argv[i], "--limit") == 0) {
			req.page_size = atoi(argv[i + 1]);
		}
	}
	rc = rkc_unary(c->client, "/rekindle.v1.ProfileService/ListProfiles",
	    &req.base, &rekindle__v1__list_profiles_response__descriptor,
	    c->timeout_ms, (ProtobufCMessage **)&resp, &st);
	if (rc != RK_OK)
		return (ctl_fail("ListProfiles", rc, &st));
	if (c->json) {
		ctl_print_message(&resp->base);
		protobuf_c_message_free_unpacked(&resp->base, NULL);
		return (0);
	}
	printf("%-14s %-8s %6s %6s %-20s %-12s %-16s %7s %6s\n", "customer",
	    "state", "days", "txns", "segment", "category", "partner", "p_alive",
	    "churn");
	for (size_t i = 0; i < resp->n_profiles; i++) {
		const Rekindle__V1__Profile *p = resp->profiles[i];

		char b[3][32];

		printf("%-14s %-8s %6s %6lld %-20s %-12s %-16s %7s %6s\n",
		    p->customer_id, states[p->state % 6],
		    iscore(p->days_since_last_transaction, b[0], sizeof(b[0])),
		    (long long)p->transaction_count,
		    *p->segment ? p->segment : "-",
		    p->n_top_categories ? p->top_categories[0]->key : "-",
		    p->n_top_partners ? p->top_partners[0]->key : "-",
		    p->p_alive ? dscore(p->p_alive, 2, b[1], sizeof(b[1])) : "-",
		    p->churn_risk ? dscore(p->churn_risk, 2, b[2], sizeof(b[2])) :
		    "-");
	}
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return (0);
}

int
cmd_profiles(struct ctl *c, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "run") == 0)
		return (run(c, argc, argv));
	if (argc == 3 && strcmp(argv[1], "get") == 0)
		return (get(c, argv[2]));
	if (argc >= 2 && strcmp(argv[1], "list") == 0)
		return (list(c, argc, argv));
	if (argc == 2 && strcmp(argv[1], "models") == 0)
		return (models(c));
	fprintf(stderr, "usage: rekindlectl profiles run [--as-of YYYY-MM-DD] "
	    "[--request-id ID] | get ID | list [--state S] [--segment S] "
	    "[--category C] [--partner P] [--limit N] | models\n");
	return (2);
}
