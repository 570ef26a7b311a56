/*
 * customers_cmd.c - rekindlectl customers import | get | export | erase.
 *
 * import reads a CSV with a header. A "transaction_id" column makes it a
 * transactions file, streamed through IngestTransactions in messages of
 * 10,000 rows; otherwise it is a customers file sent through
 * UpsertCustomers in calls of 500. A progress bar goes to a terminal.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "channel.h"
#include "csv.h"
#include "ctl.h"
#include "mem.h"
#include "rekindle/v1/customer.pb-c.h"

#define TXN_BATCH 10000
#define CUST_BATCH 500

struct progress {
	bool tty;
	long total;		/* bytes of the file */
	time_t last;
	struct timespec t0;
};

/* "[####    ]  42%  120,000 rows  35,000 rows/s  0:07 left" on a
 * terminal, once a second. */
static void
progress(struct progress *pg, long done, long rows, bool final)
{
	time_t now = time(NULL);
	struct timespec ts;
	double secs, rate, left;
	int pct, bar;

	if (!pg->tty || (!final && now == pg->last))
		return;
	pg->last = now;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	secs = (double)(ts.tv_sec - pg->t0.tv_sec) + (double)(ts.tv_nsec -
	    pg->t0.tv_nsec) / 1e9;
	pct = pg->total > 0 ? (int)(done * 100 / pg->total) : 0;
	if (final)
		pct = 100;
	bar = pct * 30 / 100;
	rate = secs > 0 ? (double)rows / secs : 0;
	left = done > 0 && pg->total > done ? secs * (double)(pg->total - done) /
	    (double)done : 0;
	fprintf(stderr, "\r[%.*s%*s] %3d%%  %ld rows  %.0f rows/s  %d:%02d %s ",
	    bar, "##############################", 30 - bar, "", pct, rows, rate,
	    (int)(final ? secs : left) / 60, (int)(final ? secs : left) % 60,
	    final ? "taken" : "left");
	if (final)
		fputc('\n', stderr);
}

static int
import_transactions(struct ctl *c, csv *r, const struct csv_row *h,
    struct progress *pg)
{
	int ci[10];
	static const char *const names[10] = {"transaction_id", "customer_id",
	    "occurred_at", "amount_minor", "currency", "mcc", "merchant_id",
	    "merchant_name", "channel", "voucher_code"};
	Rekindle__V1__Transaction *rows = xcalloc(TXN_BATCH, sizeof(*rows));
	Rekindle__V1__Transaction **ptrs = xcalloc(TXN_BATCH, sizeof(*ptrs));
	Google__Protobuf__Timestamp *ts = xcalloc(TXN_BATCH, sizeof(*ts));
	char **strs = xcalloc(TXN_BATCH * 8, sizeof(char *));
	Rekindle__V1__IngestTransactionsResponse *resp = NULL;
	Rekindle__V1__IngestTransactionsRequest req =
	    REKINDLE__V1__INGEST_TRANSACTIONS_REQUEST__INIT;
	struct rkc_status st;
	struct csv_row row;
	rkc_stream *s;
	long line = 1, nrows = 0, local_bad = 0;
	size_t n = 0;
	int got, status = 0;
	rk_err rc = RK_OK;

	for (int i = 0; i < 10; i++)
		if ((ci[i] = csv_col(h, names[i])) < 0 && i < 5) {
			fprintf(stderr, "rekindlectl: missing column \"%s\"\n",
			    names[i]);
			return (1);
		}
	rkc_stream_open(c->client, "/rekindle.v1.CustomerService/"
	    "IngestTransactions", 0, &s);
	for (;;) {
		got = csv_next(r, &row);
		line++;
		if (got == 1) {
			Rekindle__V1__Transaction *t = &rows[n];
			int64_t us;
			char *end;

			rekindle__v1__transaction__init(t);
			if (csv_time(csv_get(&row, ci[2]), &us) != 0) {
				if (local_bad++ < 10)
					fprintf(stderr, "line %ld: occurred_at: not a "
					    "time\n", line);
				continue;
			}
			t->amount_minor = strtoll(csv_get(&row, ci[3]), &end, 10);
			if (*end != '\0' || end == csv_get(&row, ci[3])) {
				if (local_bad++ < 10)
					fprintf(stderr, "line %ld: amount_minor: not "
					    "an integer\n", line);
				continue;
			}
			for (int k = 0; k < 8; k++) {
				int src = (int[]){0, 1, 4, 6, 7, 8, 9, -1}[k];

				strs[n * 8 + (size_t)k] = src >= 0 ?
				    xstrdup(csv_get(&row, ci[src])) : NULL;
			}
			t->transaction_id = strs[n * 8];
			t->customer_id = strs[n * 8 + 1];
			t->currency = strs[n * 8 + 2];
			t->merchant_id = strs[n * 8 + 3];
			t->merchant_name = strs[n * 8 + 4];
			t->channel = strs[n * 8 + 5];
			t->voucher_code = strs[n * 8 + 6];
			t->mcc = atoi(csv_get(&row, ci[5]));
			google__protobuf__timestamp__init(&ts[n]);
			ts[n].seconds = us / 1000000;
			ts[n].nanos = (int32_t)(us % 1000000) * 1000;
			t->occurred_at = &ts[n];
			ptrs[n] = t;
			n++;
			nrows++;
		} else if (got < 0) {
			if (local_bad++ < 10)
				fprintf(stderr, "line %ld: malformed CSV record\n",
				    line);
			continue;
		}
		if (n == TXN_BATCH || (got == 0 && n > 0)) {
			req.n_transactions = n;
			req.transactions = ptrs;
			rc = rkc_stream_send(s, &req.base);
			for (size_t i = 0; i < n * 8; i++) {
				free(strs[i]);
				strs[i] = NULL;
			}
			n = 0;
			progress(pg, csv_offset(r), nrows, false);
			if (rc != RK_OK)
				break;
		}
		if (got == 0)
			break;
	}
	progress(pg, csv_offset(r), nrows, true);
	rc = rkc_stream_close(s, &rekindle__v1__ingest_transactions_response__descriptor,
	    (ProtobufCMessage **)&resp, &st);
	if (rc != RK_OK) {
		status = ctl_fail("IngestTransactions", rc, &st);
	} else if (c->json) {
		printf("{\"accepted\":%lld,\"duplicate\":%lld,\"rejected\":%lld,"
		    "\"unparsed\":%ld}\n", (long long)resp->accepted,
		    (long long)resp->duplicate, (long long)resp->rejected,
		    local_bad);
	} else {
		printf("transactions: %lld accepted, %lld duplicate, %lld "
		    "rejected, %ld unparsable\n", (long long)resp->accepted,
		    (long long)resp->duplicate, (long long)resp->rejected,
		    local_bad);
		for (size_t i = 0; i < resp->n_rejections && i < 10; i++)
			printf("  row %lld (%s): %s %s\n",
			    (long long)resp->rejections[i]->index,
			    resp->rejections[i]->transaction_id,
			    resp->rejections[i]->field,
			    resp->rejections[i]->reason);
	}
	if (resp != NULL)
		protobuf_c_message_free_unpacked(&resp->base, NULL);
	free(rows);
	free(ptrs);
	free(ts);
	free(strs);
	return (status);
}

static const char *const purposes[] = {"", "marketing", "service",
    "analytics"};

/* A channel's name, "" if it has none. */
static const char *
channel_label(int channel)
{
	const char *n = channel_name(channel);

	return (n ? n : "");
}

/* Parses "email/marketing;sms/service" into granted consents. */
static size_t
parse_consents(const char *spec, int64_t at_us, const char *source,
    Rekindle__V1__Consent **out, size_t max)
{
	char *copy = xstrdup(spec), *save = NULL, *tok;
	size_t n = 0;

	for (tok = strtok_r(copy, ";", &save); tok && n < max;
	    tok = strtok_r(NULL, ";", &save)) {
		char *slash = strchr(tok, '/');
		Rekindle__V1__Consent *co;

		if (slash == NULL)
			continue;
		*slash = '\0';
		co = xcalloc(1, sizeof(*co));
		rekindle__v1__consent__init(co);
		co->channel = (Rekindle__V1__Channel)channel_of_name(tok);
		for (int k = 1; k <= 3; k++)
			if (strcmp(slash + 1, purposes[k]) == 0)
				co->purpose = (Rekindle__V1__Purpose)k;
		co->granted = 1;
		co->source = xstrdup(source);
		co->time = xcalloc(1, sizeof(*co->time));
		google__protobuf__timestamp__init(co->time);
		co->time->seconds = at_us / 1000000;
		out[n++] = co;
	}
	free(copy);
	return (n);
}

static void
free_customers(Rekindle__V1__Customer **cs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		Rekindle__V1__Customer *cu = cs[i];

		free(cu->customer_id);
		free(cu->full_name);
		free(cu->phone);
		free(cu->email);
		free(cu->push_token);
		free(cu->time_zone);
		free(cu->language);
		for (size_t k = 0; k < cu->n_consents; k++) {
			free(cu->consents[k]->source);
			free(cu->consents[k]->time);
			free(cu->consents[k]);
		}
		free(cu->consents);
		free(cu);
	}
}

static int
import_customers(struct ctl *c, csv *r, const struct csv_row *h,
    struct progress *pg)
{
	int id = csv_col(h, "customer_id"), name = csv_col(h, "full_name"),
	    phone = csv_col(h, "phone"), email = csv_col(h, "email"),
	    push = csv_col(h, "push_token"), zalo = csv_col(h, "zalo_available"),
	    tz = csv_col(h, "time_zone"), lang = csv_col(h, "language"),
	    cons = csv_col(h, "consents"), ctime = csv_col(h, "consent_time"),
	    csrc = csv_col(h, "consent_source");
	Rekindle__V1__Customer **cs = xcalloc(CUST_BATCH, sizeof(*cs));
	Rekindle__V1__UpsertCustomersRequest req =
	    REKINDLE__V1__UPSERT_CUSTOMERS_REQUEST__INIT;
	long created = 0, updated = 0, nrows = 0;
	struct csv_row row;
	size_t n = 0;
	int got, status = 0;

	if (id < 0) {
		fprintf(stderr, "rekindlectl: missing column \"customer_id\"\n");
		free(cs);
		return (1);
	}
	for (;;) {
		got = csv_next(r, &row);
		if (got == 1) {
			Rekindle__V1__Customer *cu = xcalloc(1, sizeof(*cu));
			int64_t at = 0;

			rekindle__v1__customer__init(cu);
			cu->customer_id = xstrdup(csv_get(&row, id));
			cu->full_name = xstrdup(csv_get(&row, name));
			cu->phone = xstrdup(csv_get(&row, phone));
			cu->email = xstrdup(csv_get(&row, email));
			cu->push_token = xstrdup(csv_get(&row, push));
			cu->zalo_available = strcmp(csv_get(&row, zalo), "true") == 0;
			cu->time_zone = xstrdup(csv_get(&row, tz));
			cu->language = xstrdup(csv_get(&row, lang));
			if (*csv_get(&row, cons) && csv_time(csv_get(&row, ctime), &at) ==
			    0) {
				cu->consents = xcalloc(8, sizeof(void *));
				cu->n_consents = parse_consents(csv_get(&row, cons), at,
				    *csv_get(&row, csrc) ? csv_get(&row, csrc) : "import",
				    cu->consents, 8);
			}
			cs[n++] = cu;
			nrows++;
		} else if (got < 0) {
			fprintf(stderr, "rekindlectl: malformed CSV record\n");
			status = 1;
			break;
		}
		if (n == CUST_BATCH || (got == 0 && n > 0)) {
			Rekindle__V1__UpsertCustomersResponse *resp;
			struct rkc_status st;
			rk_err rc;

			req.n_customers = n;
			req.customers = cs;
			rc = rkc_unary(c->client,
			    "/rekindle.v1.CustomerService/UpsertCustomers",
			    &req.base,
			    &rekindle__v1__upsert_customers_response__descriptor,
			    c->timeout_ms, (ProtobufCMessage **)&resp, &st);
			free_customers(cs, n);
			n = 0;
			if (rc != RK_OK) {
				status = ctl_fail("UpsertCustomers", rc, &st);
				break;
			}
			created += resp->created;
			updated += resp->updated;
			protobuf_c_message_free_unpacked(&resp->base, NULL);
			progress(pg, csv_offset(r), nrows, false);
		}
		if (got == 0)
			break;
	}
	free_customers(cs, n);
	free(cs);
	progress(pg, csv_offset(r), nrows, true);
	if (status == 0) {
		if (c->json)
			printf("{\"created\":%ld,\"updated\":%ld}\n", created,
			    updated);
		else
			printf("customers: %ld created, %ld updated\n", created,
			    updated);
	}
	return (status);
}

static int
import(struct ctl *c, const char *path)
{
	struct progress pg = {.tty = isatty(2) == 1};
	struct csv_row header;
	struct stat sb;
	FILE *fp;
	csv *r;
	int status;

	if ((fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "r")) == NULL) {
		fprintf(stderr, "rekindlectl: cannot open \"%s\": %m\n", path);
		return (1);
	}
	if (fstat(fileno(fp), &sb) == 0 && S_ISREG(sb.st_mode))
		pg.total = (long)sb.st_size;
	clock_gettime(CLOCK_MONOTONIC, &pg.t0);
	r = csv_open(fp);
	if (csv_next(r, &header) != 1) {
		fprintf(stderr, "rekindlectl: \"%s\" has no header\n", path);
		status = 1;
	} else {
		/* csv_next's fields live in its buffer: keep a copy. */
		struct csv_row h = header;

		for (int i = 0; i < h.n; i++)
			h.field[i] = xstrdup(header.field[i]);
		status = csv_col(&h, "transaction_id") >= 0 ?
		    import_transactions(c, r, &h, &pg) :
		    import_customers(c, r, &h, &pg);
		for (int i = 0; i < h.n; i++)
			free(h.field[i]);
	}
	csv_close(r);
	if (fp != stdin)
		fclose(fp);
	return (status);
}

static void
print_time(const char *label, const Google__Protobuf__Timestamp *t)
{
	char buf[32];
	time_t s;

	if (t == NULL) {
		printf("  %-22s -\n", label);
		return;
	}
	s = (time_t)t->seconds;
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", gmtime(&s));
	printf("  %-22s %s\n", label, buf);
}

static json_t *
json_time(const Google__Protobuf__Timestamp *t)
{
	char buf[32];
	time_t s;

	if (t == NULL)
		return (json_null());
	s = (time_t)t->seconds;
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", gmtime(&s));
	return (json_string(buf));
}

static int
get_customer(struct ctl *c, const char *id)
{
	Rekindle__V1__GetCustomerRequest req =
	    REKINDLE__V1__GET_CUSTOMER_REQUEST__INIT;
	Rekindle__V1__Customer *cu;
	Rekindle__V1__Profile *p;
	struct rkc_status st;
	rk_err rc;

	req.customer_id = (char *)id;
	rc = rkc_unary(c->client, "/rekindle.v1.CustomerService/GetCustomer",
	    &req.base, &rekindle__v1__customer__descriptor, c->timeout_ms,
	    (ProtobufCMessage **)&cu, &st);
	if (rc != RK_OK)
		return (ctl_fail("GetCustomer", rc, &st));
	p = cu->profile;
	if (c->json) {
		json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:b,s:s,s:s}",
		    "customer_id", cu->customer_id, "full_name", cu->full_name,
		    "phone", cu->phone, "email", cu->email, "zalo_available",
		    cu->zalo_available, "time_zone", cu->time_zone, "language",
		    cu->language);
		json_t *cons = json_array();
		char *s;

		for (size_t i = 0; i < cu->n_consents; i++)
			json_array_append_new(cons, json_pack("{s:s,s:s,s:b,s:o,s:s}",
			    "channel", channel_label(cu->consents[i]->channel),
			    "purpose", purposes[cu->consents[i]->purpose % 4],
			    "granted", cu->consents[i]->granted, "time",
			    json_time(cu->consents[i]->time), "source",
			    cu->consents[i]->source));
		json_object_set_new(o, "consents", cons);
		if (p != NULL)
			json_object_set_new(o, "profile", json_pack(
			    "{s:o,s:o,s:I,s:I,s:s,s:o}",
			    "first_transaction_time",
			    json_time(p->first_transaction_time),
			    "last_transaction_time",
			    json_time(p->last_transaction_time),
			    "transaction_count", (json_int_t)p->transaction_count,
			    "total_spend_minor", (json_int_t)p->total_spend_minor,
			    "currency", p->currency,
			    "days_since_last_transaction",
			    p->days_since_last_transaction ? json_integer(
			    p->days_since_last_transaction->value) :
			    json_null()));
		else
			json_object_set_new(o, "profile", json_null());
		s = json_dumps(o, JSON_COMPACT);
		printf("%s\n", s);
		free(s);
		json_decref(o);
	} else {
		printf("customer %s\n", cu->customer_id);
		printf("  %-22s %s\n", "name", *cu->full_name ? cu->full_name : "-");
		printf("  %-22s %s\n", "phone", *cu->phone ? cu->phone : "-");
		printf("  %-22s %s\n", "email", *cu->email ? cu->email : "-");
		printf("  %-22s %s\n", "zalo", cu->zalo_available ? "yes" : "no");
		printf("  %-22s %s / %s\n", "time zone / language",
		    cu->time_zone, cu->language);
		for (size_t i = 0; i < cu->n_consents; i++)
			printf("  consent %-14s %s/%s (%s)\n",
			    cu->consents[i]->granted ? "granted" : "withdrawn",
			    channel_label(cu->consents[i]->channel),
			    purposes[cu->consents[i]->purpose % 4],
			    cu->consents[i]->source);
		if (p == NULL) {
			printf("  profile                not computed yet\n");
		} else {
			print_time("first transaction", p->first_transaction_time);
			print_time("last transaction", p->last_transaction_time);
			if (p->days_since_last_transaction != NULL)
				printf("  %-22s %d\n", "days since last",
				    (int)p->days_since_last_transaction->value);
			else
				printf("  %-22s %s\n", "days since last",
				    "no purchase");
			printf("  %-22s %lld\n", "transactions",
			    (long long)p->transaction_count);
			printf("  %-22s %.2f %s\n", "total spend",
			    ctl_major(p->total_spend_minor, p->currency),
			    p->currency);
			print_time("profiled at", p->profile_time);
		}
	}
	protobuf_c_message_free_unpacked(&cu->base, NULL);
	return (0);
}

/* The export's chunks, in order, to a file. */
struct export_out {
	FILE *fp;
	int64_t written;
};

static rk_err
export_chunk(const ProtobufCMessage *m, void *arg)
{
	const Rekindle__V1__CustomerDataChunk *ch = (const void *)m;
	struct export_out *o = arg;

	if (ch->offset != o->written)
		return (RK_EPROTO);	/* out of order: never written */
	if (ch->data.len > 0 && fwrite(ch->data.data, 1, ch->data.len, o->fp) !=
	    ch->data.len)
		return (RK_ESYS);
	o->written += (int64_t)ch->data.len;
	return (RK_OK);
}

/* customers export ID [-o FILE]: everything held about ID, as JSON. */
static int
export_customer(struct ctl *c, const char *id, const char *path)
{
	Rekindle__V1__ExportCustomerDataRequest req =
	    REKINDLE__V1__EXPORT_CUSTOMER_DATA_REQUEST__INIT;
	struct export_out o = {path ? fopen(path, "w") : stdout, 0};
	struct rkc_status st;
	rk_err rc;

	if (o.fp == NULL) {
		perror(path);
		return (1);
	}
	req.customer_id = (char *)id;
	rc = rkc_server_stream(c->client,
	    "/rekindle.v1.CustomerService/ExportCustomerData", &req.base,
	    &rekindle__v1__customer_data_chunk__descriptor, c->timeout_ms,
	    export_chunk, &o, &st);
	if (path != NULL && fclose(o.fp) != 0 && rc == RK_OK)
		rc = RK_ESYS;
	if (rc != RK_OK) {
		if (path != NULL)
			remove(path);	/* never half a document */
		return (ctl_fail("ExportCustomerData", rc, &st));
	}
	if (path == NULL)
		putchar('\n');
	else
		fprintf(stderr, "%s: %lld bytes\n", path, (long long)o.written);
	return (0);
}

/* customers erase ID --reason TEXT */
static int
erase_customer(struct ctl *c, const char *id, const char *reason)
{
	json_t *out, *req = json_pack("{s:s,s:s}", "customer_id", id, "reason",
	    reason ? reason : "");
	int rc = ctl_rpc(c, "CustomerService/EraseCustomer", req, &out);

	json_decref(req);
	return (rc != 0 ? rc : ctl_show(c, out));
}

int
cmd_customers(struct ctl *c, int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "import") == 0)
		return (import(c, argv[2]));
	if (argc == 3 && strcmp(argv[1], "get") == 0)
		return (get_customer(c, argv[2]));
	if ((argc == 3 || (argc == 5 && strcmp(argv[3], "-o") == 0)) &&
	    strcmp(argv[1], "export") == 0)
		return (export_customer(c, argv[2], argc == 5 ? argv[4] : NULL));
	if ((argc == 3 || (argc == 5 && strcmp(argv[3], "--reason") == 0)) &&
	    strcmp(argv[1], "erase") == 0)
		return (erase_customer(c, argv[2], argc == 5 ? argv[4] : NULL));
	ctl_usage(stderr, "customers");
	return (2);
}
