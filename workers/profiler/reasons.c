/*
 * reasons.c - churn reasons in words (reasons.h).
 *
 * English takes a plural ("1 day", "2 days"); Vietnamese does not mark
 * number on the noun ("1 ngày", "2 ngày"), so its texts need no variants.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>

#include "reasons.h"

/* Contributions below this (log-odds) are not told, unless nothing is. */
#define TELL_MIN 0.05f

enum group { G_QUIET, G_FEW_90, G_FEW_365, G_TREND, G_NEWCOMER, G_WEEKEND,
	G_PROMO, G_FEW_EVER, G_N };

/* The group feature j is told in for this customer, or -1 (never told). */
static int
group_of(int j, const struct churn_row *r)
{
	switch (j) {
	case 0: case 4: case 5: case 14:
		return (G_QUIET);
	case 11: case 13:
		return (G_FEW_EVER);
	case 1:
		return (r->count90 == 0 ? G_QUIET : G_FEW_90);
	case 2: case 3:
		return (r->count365 == 0 ? G_QUIET : G_FEW_365);
	case 6:
		return (G_TREND);
	case 7:
		return (G_NEWCOMER);
	case 8:
		return (G_WEEKEND);
	case 9:
		return (G_PROMO);
	default:
		return (-1);	/* a small ticket or spend is no reason to leave */
	}
}

/* Whether the group reads as a cause of leaving for this customer. */
static bool
plausible(int g, const struct churn_row *r)
{
	switch (g) {
	case G_QUIET:
		return (r->days_since > 0);
	case G_FEW_90:
		return (r->count90 <= 2);
	case G_FEW_365:
		return (r->count365 <= 6);
	case G_TREND:
		return (r->trend < -0.2);
	case G_NEWCOMER:
		return (expm1(r->x[7]) < 180);
	case G_WEEKEND:
		return (r->x[8] > 0.6f);
	case G_FEW_EVER:
		return (r->purchase_days <= 2);
	default:
		return (r->x[9] > 0.5f);
	}
}

static const char *
s(long long n)
{
	return (n == 1 ? "" : "s");
}

static void
text(int g, const struct churn_row *r, enum reason_lang lang, char *out,
    size_t cap)
{
	int d = r->days_since, gap = (int)lround(r->median_gap);
	bool vi = lang == REASON_VI;
	long long n;

	switch (g) {
	case G_QUIET:
		if (vi && gap > 0 && r->overdue >= 1.5)
			snprintf(out, cap, "không giao dịch %d ngày, gấp %.0f lần "
			    "khoảng cách thường lệ %d ngày", d, r->overdue, gap);
		else if (gap > 0 && r->overdue >= 1.5)
			snprintf(out, cap, "no purchase for %d day%s, %.0f times the "
			    "usual gap of %d day%s", d, s(d), r->overdue, gap, s(gap));
		else if (vi && gap > 0)
			snprintf(out, cap, "không giao dịch %d ngày; thường %d ngày "
			    "một lần", d, gap);
		else if (gap > 0)
			snprintf(out, cap, "no purchase for %d day%s; usual gap %d "
			    "day%s", d, s(d), gap, s(gap));
		else if (vi)
			snprintf(out, cap, "không giao dịch %d ngày", d);
		else
			snprintf(out, cap, "no purchase for %d day%s", d, s(d));
		break;
	case G_FEW_90:
		n = r->count90;
		if (vi)
			snprintf(out, cap, "chỉ %lld lần mua trong 90 ngày qua", n);
		else
			snprintf(out, cap, "only %lld purchase%s in the last 90 days",
			    n, s(n));
		break;
	case G_FEW_365:
		n = r->count365;
		if (vi)
			snprintf(out, cap, "chỉ %lld lần mua trong năm qua", n);
		else
			snprintf(out, cap, "only %lld purchase%s in the last year", n,
			    s(n));
		break;
	case G_TREND:
		if (vi)
			snprintf(out, cap, "chi tiêu giảm %.0f%% so với 90 ngày trước "
			    "đó", -100 * r->trend);
		else
			snprintf(out, cap, "spend down %.0f%% on the 90 days before",
			    -100 * r->trend);
		break;
	case G_NEWCOMER:
		n = (long long)lround(expm1(r->x[7]));
		if (vi)
			snprintf(out, cap, "lần mua đầu tiên mới %lld ngày trước", n);
		else
			snprintf(out, cap, "first purchase only %lld day%s ago", n,
			    s(n));
		break;
	case G_FEW_EVER:
		n = r->purchase_days;
		if (vi)
			snprintf(out, cap, "mới mua vào %lld ngày từ trước đến nay", n);
		else
			snprintf(out, cap, "bought on only %lld day%s so far", n,
			    s(n));
		break;
	case G_WEEKEND:
		snprintf(out, cap, "%s", vi ? "chủ yếu chi tiêu vào cuối tuần" :
		    "spends mostly at weekends");
		break;
	case G_PROMO:
		snprintf(out, cap, "%s", vi ? "chủ yếu mua khi có khuyến mãi" :
		    "buys mostly on promotions");
		break;
	default:
		snprintf(out, cap, "%s", vi ? "phần lớn khách hàng có lịch sử mua "
		    "tương tự không mua lại trong 90 ngày" : "most customers with "
		    "a purchase history like this did not buy again within 90 "
		    "days");
		break;
	}
}

int
reasons_tell(const float *contrib, const struct churn_row *row,
    enum reason_lang lang, char out[][REASON_LEN])
{
	float sum[G_N] = {0};
	bool used[G_N] = {false};
	int n = 0;

	for (int j = 0; j < CHURN_NFEAT; j++) {
		int g = group_of(j, row);

		if (g >= 0)
			sum[g] += contrib[j];
	}
	while (n < CHURN_MAX_REASONS) {
		int best = -1;

		for (int g = 0; g < G_N; g++)
			if (!used[g] && plausible(g, row) && sum[g] > (n ? TELL_MIN :
			    0) && (best < 0 || sum[g] > sum[best]))
				best = g;
		if (best < 0)
			break;
		used[best] = true;
		text(best, row, lang, out[n++], REASON_LEN);
	}
	if (n == 0)
		text(G_N, row, lang, out[n++], REASON_LEN);
	return (n);
}
