/*
 * rkgen - a seeded generator of synthetic bank-card customers with known
 * ground truth, for tests, benchmarks and the demo.
 *
 *	rkgen --customers N [--seed S] [--as-of YYYY-MM-DD] [--days D]
 *	      [--out DIR] [--format csv|copy] [--gap-scale F]
 *
 * Writes DIR/customers.csv, DIR/transactions.csv (the formats rekindlectl
 * imports; --format copy writes transactions.copy for COPY FROM, and no
 * customers file), DIR/promotions.csv and DIR/truth.csv. Every customer
 * has an archetype that decides where, when and how much they spend:
 *
 *	tiki, shopee	most spend at that marketplace
 *	traveller	airlines, hotels, Traveloka
 *	weekend		nearly every purchase on Saturday or Sunday
 *	promo		most spend inside the promotion periods
 *	everyday	groceries, dining, fuel
 * and 30% of customers of every archetype go quiet at a known date
 * (truth.csv: dormant_since), 60 to 500 days before --as-of.
 *
 * --gap-scale multiplies every customer's usual gap (3.3: about 20
 * transactions per customer over two years, for the 20 M benchmark).
 *
 * The same seed gives the same files on every machine (own PRNG, no
 * libc rand, UTC arithmetic only).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define DAY 86400LL
#define VN_OFFSET (7 * 3600LL)	/* Asia/Ho_Chi_Minh, no DST */

enum archetype { A_TIKI, A_SHOPEE, A_TRAVEL, A_WEEKEND, A_PROMO, A_EVERYDAY,
    A_COUNT };
static const char *const arch_name[A_COUNT] = {"tiki", "shopee",
    "traveller", "weekend", "promo", "everyday"};

struct merchant {
	const char *id, *name;
	int mcc;
	double ticket;		/* median ticket, VND */
};

static const struct merchant M_TIKI = {"M-TIKI", "TIKI.VN", 5399, 350000};
static const struct merchant M_SHOPEE = {"M-SHOPEE", "SHOPEE VN", 5399,
    250000};
static const struct merchant M_LAZADA = {"M-LAZADA", "LAZADA VIETNAM", 5399,
    300000};
static const struct merchant M_VIETJET = {"M-VJ", "VIETJET AIR", 3000 + 0,
    1800000};
static const struct merchant M_VNA = {"M-VNA", "VIETNAM AIRLINES", 4511,
    2500000};
static const struct merchant M_HOTEL = {"M-HOTEL", "MUONG THANH HOTEL", 7011,
    1500000};
static const struct merchant M_TRAVELOKA = {"M-TVLK", "TRAVELOKA", 4722,
    2000000};
static const struct merchant M_GROCERY = {"M-WIN", "WINMART", 5411, 280000};
static const struct merchant M_DINING = {"M-HLC", "HIGHLANDS COFFEE", 5814,
    90000};
static const struct merchant M_FUEL = {"M-PLX", "PETROLIMEX", 5541, 200000};
static const struct merchant M_CINEMA = {"M-CGV", "CGV CINEMAS", 7832,
    180000};
static const struct merchant M_GRAB = {"M-GRAB", "GRAB", 4121, 80000};

/* xoshiro256** (public domain), seeded by splitmix64. */
static uint64_t s[4];

static uint64_t
rotl(uint64_t x, int k)
{
	return ((x << k) | (x >> (64 - k)));
}

static uint64_t
next(void)
{
	uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return (r);
}

static void
seed(uint64_t x)
{
	for (int i = 0; i < 4; i++) {
		uint64_t z = (x += 0x9e3779b97f4a7c15ULL);

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		s[i] = z ^ (z >> 31);
	}
}

/* Uniform in [0, 1). */
static double
unif(void)
{
	return ((double)(next() >> 11) * 0x1.0p-53);
}

static double
normal(void)
{
	double u = unif() + 1e-12, v = unif();

	return (sqrt(-2 * log(u)) * cos(2 * M_PI * v));
}

/* Exponential waiting time with the given mean. */
static double
expo(double mean)
{
	return (-mean * log(1 - unif()));
}

struct promo {
	const char *name;
	int64_t start, end;	/* UTC seconds */
};

#define NPROMO_MAX 64
static struct promo promos[NPROMO_MAX];
static int npromos;

/* Double-day sales (9.9, 10.10, 11.11, 12.12) of each year in range. */
static void
make_promotions(int64_t from, int64_t to)
{
	struct tm tm;
	time_t t = (time_t)from;

	gmtime_r(&t, &tm);
	for (int y = tm.tm_year + 1900; y <= tm.tm_year + 1900 + 3; y++)
		for (int m = 9; m <= 12; m++) {
			struct tm d = {0};
			int64_t start;

			d.tm_year = y - 1900;
			d.tm_mon = m - 1;
			d.tm_mday = m;
			start = (int64_t)timegm(&d) - VN_OFFSET;
			if (start < from || start + 3 * DAY > to ||
			    npromos == NPROMO_MAX)
				continue;
			promos[npromos].name = m == 9 ? "9.9" : m == 10 ? "10.10" :
			    m == 11 ? "11.11" : "12.12";
			promos[npromos].start = start;
			promos[npromos].end = start + 3 * DAY;
			npromos++;
		}
}

static const struct merchant *
pick(enum archetype a)
{
	double u = unif();

	switch (a) {
	case A_TIKI:
		return (u < 0.7 ? &M_TIKI : u < 0.8 ? &M_GROCERY : u < 0.9 ?
		    &M_DINING : &M_GRAB);
	case A_SHOPEE:
		return (u < 0.7 ? &M_SHOPEE : u < 0.8 ? &M_GROCERY : u < 0.9 ?
		    &M_DINING : &M_FUEL);
	case A_TRAVEL:
		return (u < 0.25 ? &M_VIETJET : u < 0.45 ? &M_VNA : u < 0.65 ?
		    &M_HOTEL : u < 0.8 ? &M_TRAVELOKA : u < 0.9 ? &M_DINING :
		    &M_GRAB);
	case A_WEEKEND:
		return (u < 0.35 ? &M_CINEMA : u < 0.65 ? &M_DINING : u < 0.85 ?
		    &M_GROCERY : &M_LAZADA);
	case A_PROMO:
		return (u < 0.4 ? &M_LAZADA : u < 0.7 ? &M_SHOPEE : u < 0.85 ?
		    &M_TIKI : &M_GROCERY);
	default:
		return (u < 0.4 ? &M_GROCERY : u < 0.7 ? &M_DINING : u < 0.9 ?
		    &M_FUEL : &M_GRAB);
	}
}

static void
write_time(FILE *f, int64_t t)
{
	struct tm tm;
	time_t tt = (time_t)t;

	gmtime_r(&tt, &tm);
	fprintf(f, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static FILE *
open_out(const char *dir, const char *name)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL) {
		fprintf(stderr, "rkgen: cannot write %s: %s\n", path,
		    strerror(errno));
		exit(1);
	}
	return (f);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"customers", required_argument, NULL, 'n'},
		{"seed", required_argument, NULL, 's'},
		{"as-of", required_argument, NULL, 'a'},
		{"days", required_argument, NULL, 'd'},
		{"out", required_argument, NULL, 'o'},
		{"format", required_argument, NULL, 'f'},
		{"gap-scale", required_argument, NULL, 'g'},
		{NULL, 0, NULL, 0},
	};
	long ncust = 1000, days = 730;
	double gap_scale = 1.0;
	uint64_t sd = 1;
	const char *out = ".", *as_of_s = "2025-06-30";
	bool copy = false;
	struct tm tm = {0};
	int64_t as_of, start, txn_seq = 0;
	FILE *fc = NULL, *ft, *fp, *fg;
	int opt;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			ncust = atol(optarg);
			break;
		case 's':
			sd = strtoull(optarg, NULL, 10);
			break;
		case 'a':
			as_of_s = optarg;
			break;
		case 'd':
			days = atol(optarg);
			break;
		case 'o':
			out = optarg;
			break;
		case 'f':
			copy = strcmp(optarg, "copy") == 0;
			break;
		case 'g':
			gap_scale = atof(optarg);
			break;
		default:
			fprintf(stderr, "usage: rkgen --customers N [--seed S] "
			    "[--as-of YYYY-MM-DD] [--days D] [--out DIR] "
			    "[--format csv|copy] [--gap-scale F]\n");
			return (2);
		}
	}
	if (ncust < 1 || days < 30 || gap_scale < 0.1 || strptime(as_of_s, "%Y-%m-%d", &tm) == NULL) {
		fprintf(stderr, "rkgen: bad arguments\n");
		return (2);
	}
	as_of = (int64_t)timegm(&tm);
	start = as_of - days * DAY;
	seed(sd);
	mkdir(out, 0755);
	make_promotions(start, as_of);
	if (!copy) {
		fc = open_out(out, "customers.csv");
		fprintf(fc, "customer_id,full_name,phone,email,push_token,"
		    "zalo_available,time_zone,language,consents,consent_time,"
		    "consent_source\n");
	}
	ft = open_out(out, copy ? "transactions.copy" : "transactions.csv");
	if (!copy)
		fprintf(ft, "transaction_id,customer_id,occurred_at,amount_minor,"
		    "currency,mcc,merchant_id,merchant_name,channel\n");
	fp = open_out(out, "promotions.csv");
	fprintf(fp, "promotion_id,name,starts_at,ends_at\n");
	for (int i = 0; i < npromos; i++) {
		/* Local (UTC+7) year: "11.11-2024" */
		time_t local = (time_t)(promos[i].start + 7 * 3600);
		struct tm ltm;

		gmtime_r(&local, &ltm);
		fprintf(fp, "%s-%d,%s,", promos[i].name, ltm.tm_year + 1900,
		    promos[i].name);
		write_time(fp, promos[i].start);
		fputc(',', fp);
		write_time(fp, promos[i].end);
		fputc('\n', fp);
	}
	fclose(fp);
	fg = open_out(out, "truth.csv");
	fprintf(fg, "customer_id,archetype,first_purchase,dormant_since,"
	    "mean_gap_days\n");

	for (long c = 0; c < ncust; c++) {
		enum archetype a = (enum archetype)(next() % A_COUNT);
		double gap = gap_scale * (a == A_TRAVEL ? 12 + 20 * unif() :
		    a == A_PROMO ? 20 + 20 * unif() : 2 + 8 * unif());
		int64_t first = start + (int64_t)(unif() * 0.4 * (double)days) * DAY;
		int64_t quiet = unif() < 0.3 ? as_of - (60 + (int64_t)(unif() *
		    440)) * DAY : 0;
		int64_t t = first;
		char id[32];

		if (quiet != 0 && quiet < first + 30 * DAY)
			quiet = first + 30 * DAY;
		snprintf(id, sizeof(id), "S%08ld", c);
		if (fc != NULL)
			/* Synthetic contacts: made-up numbers, and e-mail at
			 * example.com, a domain reserved for examples. */
			fprintf(fc, "%s,Khach hang %ld,0900%06ld,kh%ld@example.com,,"
			    "%s,Asia/Ho_Chi_Minh,vi,email/marketing;sms/marketing;"
			    "push/marketing%s%s,2024-01-01T00:00:00Z,rkgen\n", id, c,
			    c % 1000000, c, c % 3 ? "true" : "false",
			    c % 3 ? ";zns/marketing" : "",
			    c % 2 ? "" : ";call/marketing");
		fprintf(fg, "%s,%s,", id, arch_name[a]);
		write_time(fg, first);
		fputc(',', fg);
		if (quiet)
			write_time(fg, quiet);
		fprintf(fg, ",%.2f\n", gap);
		for (;;) {
			const struct merchant *m;
			int64_t local, amount;
			int hour;

			if (a == A_PROMO && npromos > 0 && unif() < 0.75) {
				/* Jump to the next promotion, buy inside it. */
				int k = -1;

				for (int i = 0; i < npromos; i++)
					if (promos[i].end > t) {
						k = i;
						break;
					}
				if (k < 0)
					break;
				if (t < promos[k].start)
					t = promos[k].start;
				t += (int64_t)(unif() * (double)(promos[k].end - t));
			} else {
				t += (int64_t)(expo(gap) * DAY);
			}
			if (a == A_WEEKEND) {
				/* Move to the coming Saturday or Sunday (local). */
				int64_t ld = (t + VN_OFFSET) / DAY;
				int dow = (int)((ld + 3) % 7);	/* 0 = Monday */

				if (dow < 5)
					t += (5 - dow + (int64_t)(next() % 2)) * DAY;
			}
			if (t >= as_of || (quiet && t >= quiet))
				break;
			m = pick(a);
			hour = a == A_WEEKEND ? 10 + (int)(next() % 10) :
			    8 + (int)(next() % 14);
			local = (t + VN_OFFSET) / DAY * DAY + hour * 3600 +
			    (int64_t)(next() % 3600);
			amount = (int64_t)(m->ticket * exp(0.5 * normal()));
			amount = amount / 1000 * 1000 + 1000;
			txn_seq++;
			if (copy) {
				fprintf(ft, "G%012lld\t%s\t", (long long)txn_seq, id);
				write_time(ft, local - VN_OFFSET);
				fprintf(ft, "\t%lld\tVND\t%d\t%s\t%s\t%s\n",
				    (long long)amount, m->mcc, m->id, m->name,
				    m->mcc == 5399 ? "ecom" : "pos");
			} else {
				fprintf(ft, "G%012lld,%s,", (long long)txn_seq, id);
				write_time(ft, local - VN_OFFSET);
				fprintf(ft, ",%lld,VND,%d,%s,%s,%s\n", (long long)amount,
				    m->mcc, m->id, m->name,
				    m->mcc == 5399 ? "ecom" : "pos");
			}
		}
	}
	if (fc != NULL)
		fclose(fc);
	fclose(ft);
	fclose(fg);
	fprintf(stderr, "rkgen: %ld customers, %lld transactions, %d promotions\n",
	    ncust, (long long)txn_seq, npromos);
	return (0);
}
