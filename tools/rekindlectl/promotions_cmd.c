/*
 * promotions_cmd.c - rekindlectl promotions: import a CSV (promotion_id,
 * name, starts_at, ends_at, and optionally merchant_id, partner_id,
 * category), list, delete.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "csv.h"
#include "ctl.h"
#include "pbjson.h"
#include "mem.h"
#include "rekindle/v1/customer.pb-c.h"

#define PROMO_BATCH 500

static const char *const cols[] = {"promotion_id", "name", "starts_at",
    "ends_at", "merchant_id", "partner_id", "category"};
#define NCOLS (sizeof(cols) / sizeof(cols[0]))

static void
free_batch(Rekindle__V1__Promotion **p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(p[i]->promotion_id);
		free(p[i]->name);
		free(p[i]->merchant_id);
		free(p[i]->partner_id);
		free(p[i]->category);
		free(p[i]->start_time);
		free(p[i]->end_time);
		free(p[i]);
	}
}

static Google__Protobuf__Timestamp *
timestamp(int64_t us)
{
	Google__Protobuf__Timestamp *t = xmalloc(sizeof(*t));

	google__protobuf__timestamp__init(t);
	t->seconds = us / 1000000;
	t->nanos = (int32_t)(us % 1000000 * 1000);
	return (t);
}

static int
send_batch(struct ctl *c, Rekindle__V1__Promotion **p, size_t n, long *total)
{
	Rekindle__V1__UpsertPromotionsRequest req =
	    REKINDLE__V1__UPSERT_PROMOTIONS_REQUEST__INIT;
	Rekindle__V1__UpsertPromotionsResponse *resp;
	struct rkc_status st;
	rk_err rc;

	req.promotions = p;
	req.n_promotions = n;
	rc = rkc_unary(c->client, "/rekindle.v1.CustomerService/UpsertPromotions",
	    &req.base, &rekindle__v1__upsert_promotions_response__descriptor,
	    c->timeout_ms, (ProtobufCMessage **)&resp, &st);
	if (rc != RK_OK)
		return (ctl_fail("promotions import", rc, &st));
	*total += resp->upserted;
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return (0);
}

static int
import(struct ctl *c, const char *path)
{
	Rekindle__V1__Promotion *batch[PROMO_BATCH];
	struct csv_row h, row;
	int ci[NCOLS], got, status = 0;
	long line = 1, total = 0;
	size_t n = 0;
	FILE *fp;
	csv *r;

	if ((fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "r")) == NULL) {
		fprintf(stderr, "rekindlectl: cannot open \"%s\": %m\n", path);
		return (1);
	}
	r = csv_open(fp);
	if (csv_next(r, &row) != 1) {
		fprintf(stderr, "rekindlectl: \"%s\" has no header\n", path);
		status = 1;
	}
	h = row;
	for (size_t i = 0; status == 0 && i < NCOLS; i++)
		if ((ci[i] = csv_col(&h, cols[i])) < 0 && i < 4) {
			fprintf(stderr, "rekindlectl: missing column \"%s\"\n",
			    cols[i]);
			status = 1;
		}
	while (status == 0 && (got = csv_next(r, &row)) != 0) {
		Rekindle__V1__Promotion *p;
		int64_t from, to;

		line++;
		if (got < 0 || csv_time(csv_get(&row, ci[2]), &from) != 0 ||
		    csv_time(csv_get(&row, ci[3]), &to) != 0) {
			fprintf(stderr, "rekindlectl: %s:%ld: malformed row or "
			    "time\n", path, line);
			status = 1;
			break;
		}
		p = xmalloc(sizeof(*p));
		rekindle__v1__promotion__init(p);
		p->promotion_id = xstrdup(csv_get(&row, ci[0]));
		p->name = xstrdup(csv_get(&row, ci[1]));
		p->start_time = timestamp(from);
		p->end_time = timestamp(to);
		p->merchant_id = xstrdup(csv_get(&row, ci[4]));
		p->partner_id = xstrdup(csv_get(&row, ci[5]));
		p->category = xstrdup(csv_get(&row, ci[6]));
		batch[n++] = p;
		if (n == PROMO_BATCH) {
			status = send_batch(c, batch, n, &total);
			free_batch(batch, n);
			n = 0;
		}
	}
	if (status == 0 && n > 0)
		status = send_batch(c, batch, n, &total);
	free_batch(batch, n);
	csv_close(r);
	if (fp != stdin)
		fclose(fp);
	if (status == 0)
		printf("%ld promotions upserted\n", total);
	return (status);
}

static void
print_time(const Google__Protobuf__Timestamp *t)
{
	char buf[32];
	time_t s = t ? (time_t)t->seconds : 0;
	struct tm tm;

	gmtime_r(&s, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf(" %s", t ? buf : "-");
}

static int
list(struct ctl *c)
{
	Rekindle__V1__ListPromotionsRequest req =
	    REKINDLE__V1__LIST_PROMOTIONS_REQUEST__INIT;
	char token[1200] = "";
	struct rkc_status st;
	json_t *all = c->json ? json_array() : NULL;

	do {
		Rekindle__V1__ListPromotionsResponse *resp;
		rk_err rc;

		req.page_size = 500;
		req.page_token = token;
		rc = rkc_unary(c->client,
		    "/rekindle.v1.CustomerService/ListPromotions", &req.base,
		    &rekindle__v1__list_promotions_response__descriptor,
		    c->timeout_ms, (ProtobufCMessage **)&resp, &st);
		if (rc != RK_OK) {
			json_decref(all);
			return (ctl_fail("promotions list", rc, &st));
		}
		for (size_t i = 0; i < resp->n_promotions; i++) {
			const Rekindle__V1__Promotion *p = resp->promotions[i];

			if (all != NULL) {
				json_array_append_new(all, pbjson_dump(&p->base));
				continue;
			}
			printf("%-20s", p->promotion_id);
			print_time(p->start_time);
			print_time(p->end_time);
			printf(" %s%s%s%s%s%s  %s\n", *p->merchant_id ? "merchant=" :
			    "", p->merchant_id, *p->partner_id ? " partner=" : "",
			    p->partner_id, *p->category ? " category=" : "",
			    p->category, p->name);
		}
		snprintf(token, sizeof(token), "%s", resp->next_page_token);
		protobuf_c_message_free_unpacked(&resp->base, NULL);
	} while (*token);
	if (all != NULL) {
		ctl_print_json(all);
		json_decref(all);
	}
	return (0);
}

int
cmd_promotions(struct ctl *c, int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "import") == 0)
		return (import(c, argv[2]));
	if (argc == 2 && strcmp(argv[1], "list") == 0)
		return (list(c));
	if (argc == 3 && strcmp(argv[1], "delete") == 0) {
		Rekindle__V1__DeletePromotionRequest req =
		    REKINDLE__V1__DELETE_PROMOTION_REQUEST__INIT;
		Rekindle__V1__DeletePromotionResponse *resp;
		struct rkc_status st;
		rk_err rc;

		req.promotion_id = argv[2];
		rc = rkc_unary(c->client,
		    "/rekindle.v1.CustomerService/DeletePromotion", &req.base,
		    &rekindle__v1__delete_promotion_response__descriptor,
		    c->timeout_ms, (ProtobufCMessage **)&resp, &st);
		if (rc != RK_OK)
			return (ctl_fail("promotions delete", rc, &st));
		protobuf_c_message_free_unpacked(&resp->base, NULL);
		printf("deleted %s\n", argv[2]);
		return (0);
	}
	fprintf(stderr, "usage: rekindlectl promotions import FILE.csv | list | "
	    "delete ID\n");
	return (2);
}
