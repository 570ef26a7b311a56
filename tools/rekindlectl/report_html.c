/*
 * report_html.c - a campaign's report as one self-contained HTML page for
 * the people who run campaigns: inline CSS and SVG, no script, nothing
 * fetched. Labels come from one table in Vietnamese and English; numbers
 * carry thousands separators.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "report_html.h"

/* Every label of the page, in both languages. */
static const struct label {
	const char *key, *vi, *en;
} labels[] = {
	{"title", "Báo cáo chiến dịch", "Campaign report"},
	{"state", "Trạng thái", "State"},
	{"kind", "Loại", "Kind"},
	{"one_shot", "Một lần", "One-shot"},
	{"always_on", "Luôn bật", "Always-on"},
	{"start", "Bắt đầu", "Start"},
	{"end", "Kết thúc", "End"},
	{"created", "Tạo lúc", "Created"},
	{"window", "Cửa sổ ghi nhận", "Attribution window"},
	{"days", "ngày", "days"},
	{"audience", "Khách hàng tham gia", "Entries"},
	{"treatment", "Nhóm nhận ưu đãi", "Treatment"},
	{"control", "Nhóm đối chứng", "Control"},
	{"sent", "Đã gửi", "Sent"},
	{"delivered", "Đã nhận", "Delivered"},
	{"opened", "Đã mở (bằng chứng mạnh)", "Opened (strong evidence)"},
	{"clicked", "Đã bấm", "Clicked"},
	{"registered", "Đã đăng ký", "Registered"},
	{"reminded", "Đã nhắc", "Reminded"},
	{"ticketed", "Chuyển tổng đài", "Ticketed"},
	{"contacted", "Tổng đài đã liên hệ", "Contacted by an agent"},
	{"reactivated", "Quay lại chi tiêu", "Reactivated"},
	{"uncertain", "Chưa chắc đã gửi", "Uncertain"},
	{"undelivered", "Lỗi hoặc bị từ chối", "Failed or refused"},
	{"funnel", "Phễu chuyển đổi", "Funnel"},
	{"of_previous", "so với bước trước", "of the step before"},
	{"lift", "Hiệu quả so với đối chứng", "Lift over control"},
	{"rate", "Tỷ lệ quay lại", "Reactivation rate"},
	{"ci", "khoảng tin cậy 95%", "95% interval"},
	{"significant", "có ý nghĩa thống kê", "significant"},
	{"not_significant", "chưa có ý nghĩa thống kê", "not significant"},
	{"cumulative", "Tỷ lệ quay lại cộng dồn theo ngày",
	    "Cumulative reactivation by day"},
	{"day", "Ngày sau tin nhắn đầu", "Days since the first message"},
	{"money", "Chi phí và hiệu quả", "Costs and return"},
	{"incremental", "Chi tiêu tăng thêm", "Incremental spend"},
	{"offer_cost", "Chi phí ưu đãi", "Offer cost"},
	{"message_cost", "Chi phí tin nhắn", "Message cost"},
	{"total_cost", "Tổng chi phí", "Total cost"},
	{"cpr", "Chi phí mỗi khách quay lại", "Cost per reactivation"},
	{"margin", "Biên lợi nhuận", "Margin"},
	{"roi", "ROI", "ROI"},
	{"redeemed", "Đã dùng ưu đãi", "Redeemed"},
	{"redemption", "Tỷ lệ dùng ưu đãi", "Redemption rate"},
	{"channels", "Theo kênh", "By channel"},
	{"channel", "Kênh", "Channel"},
	{"messages", "Tin nhắn", "Messages"},
	{"cost", "Chi phí", "Cost"},
	{"offers", "Theo ưu đãi", "By offer"},
	{"offer", "Ưu đãi", "Offer"},
	{"variants", "Theo phương án", "By variant"},
	{"variant", "Phương án", "Variant"},
	{"share", "Tỷ trọng", "Share"},
	{"best", "Phương án tốt nhất", "Best variant"},
	{"test", "Kiểm định", "Test"},
	{"steps", "Theo bước nhắc", "By reminder step"},
	{"step", "Bước", "Step"},
	{"first", "Tin đầu", "First message"},
	{"reminder", "Nhắc lần", "Reminder"},
	{"registered_after", "Đăng ký sau bước này",
	    "Registered after this step"},
	{"weeks", "Khách vào theo tuần", "Entries by week"},
	{"week", "Tuần", "Week"},
	{"settings", "Thiết lập chiến dịch", "Campaign settings"},
	{"rule", "Điều kiện tập khách", "Audience rule"},
	{"holdout", "Tỷ lệ đối chứng", "Held out"},
	{"plan", "Thứ tự kênh", "Channel plan"},
	{"send_window", "Khung giờ gửi", "Send window"},
	{"reminders", "Nhắc lại", "Reminders"},
	{"fallback", "Ưu đãi dự phòng", "Fallback offer"},
	{"generated", "Tạo báo cáo lúc", "Generated"},
	{"none", "không có", "none"},
	{NULL, NULL, NULL},
};

static const struct label *
label(const char *key)
{
	for (const struct label *l = labels; l->key != NULL; l++)
		if (strcmp(l->key, key) == 0)
			return (l);
	return (&labels[0]);
}

/* Writes text HTML-escaped. */
static void
esc(FILE *fp, const char *s)
{
	for (; s != NULL && *s; s++)
		switch (*s) {
		case '&':
			fputs("&amp;", fp);
			break;
		case '<':
			fputs("&lt;", fp);
			break;
		case '>':
			fputs("&gt;", fp);
			break;
		case '"':
			fputs("&quot;", fp);
			break;
		default:
			fputc(*s, fp);
		}
}

/* A label in both languages. */
static void
L(FILE *fp, const char *key)
{
	const struct label *l = label(key);

	fprintf(fp, "<span lang=\"vi\">%s</span> <span class=\"en\" "
	    "lang=\"en\">%s</span>", l->vi, l->en);
}

/* "1,234,567" */
static const char *
num(long long n, char *buf)
{
	char raw[32];
	size_t len, k = 0;

	snprintf(raw, sizeof(raw), "%lld", n < 0 ? -n : n);
	len = strlen(raw);
	if (n < 0)
		buf[k++] = '-';
	for (size_t i = 0; i < len; i++) {
		if (i > 0 && (len - i) % 3 == 0)
			buf[k++] = ',';
		buf[k++] = raw[i];
	}
	buf[k] = '\0';
	return (buf);
}

static const char *
pct(double x, char *buf)
{
	snprintf(buf, 32, "%.1f%%", 100 * x);
	return (buf);
}

static const char *
when(const Google__Protobuf__Timestamp *t, char *buf)
{
	time_t s;
	struct tm tm;

	if (t == NULL || t->seconds == 0)
		return ("—");
	s = (time_t)t->seconds + 7 * 3600;	/* Vietnam time */
	gmtime_r(&s, &tm);
	strftime(buf, 32, "%d/%m/%Y %H:%M", &tm);
	return (buf);
}

static const char *const channel_names[] = {"—", "E-mail", "SMS", "Zalo ZNS",
	"Push", "Call"};

static const char *
chname(int ch)
{
	return (ch >= 1 && ch <= 5 ? channel_names[ch] : "—");
}

/* A table cell with a small bar: v of top. */
static void
bar_cell(FILE *fp, long long v, long long top)
{
	char b[32];
	double w = top > 0 ? 100.0 * (double)v / (double)top : 0;

	fprintf(fp, "<td class=\"n\">%s<div class=\"bar\"><i style=\"width:"
	    "%.1f%%\"></i></div></td>", num(v, b), w);
}

static const char STYLE[] =
    "body{font-family:'DejaVu Sans',Arial,sans-serif;margin:0;color:#1d2733;"
    "background:#f4f6f9}"
    "header{background:#0b4f6c;color:#fff;padding:20px 32px}"
    "header h1{margin:0 0 6px;font-size:24px}"
    "header .meta{opacity:.9;font-size:13px}"
    "main{padding:16px 32px;max-width:1180px}"
    "section{background:#fff;border-radius:8px;padding:16px 20px;margin:14px 0;"
    "box-shadow:0 1px 3px rgba(0,0,0,.08)}"
    "h2{font-size:17px;margin:0 0 12px;color:#0b4f6c}"
    ".en{color:#6b7785;font-weight:normal;font-size:.85em}"
    ".kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));"
    "gap:10px}"
    ".kpi{background:#fff;border-radius:8px;padding:12px 14px;"
    "box-shadow:0 1px 3px rgba(0,0,0,.08)}"
    ".kpi .v{font-size:22px;font-weight:bold;margin-top:4px}"
    ".kpi .l{font-size:12px}"
    ".good{color:#1b7f3b}.bad{color:#b3261e}"
    "table{border-collapse:collapse;width:100%;font-size:13px}"
    "th,td{padding:6px 8px;border-bottom:1px solid #e3e7ec;text-align:left;"
    "vertical-align:top}"
    "th{background:#f0f3f6;font-weight:600}"
    "td.n,th.n{text-align:right;white-space:nowrap}"
    ".bar{background:#e6edf3;height:5px;border-radius:3px;margin-top:3px}"
    ".bar i{display:block;height:5px;border-radius:3px;background:#2a7ab0}"
    "svg text{font-family:'DejaVu Sans',Arial,sans-serif;font-size:12px;"
    "fill:#1d2733}"
    "footer{color:#6b7785;font-size:12px;padding:0 32px 24px}";

static void
kpi(FILE *fp, const char *key, const char *value, const char *cls)
{
	fprintf(fp, "<div class=\"kpi\"><div class=\"l\">");
	L(fp, key);
	fprintf(fp, "</div><div class=\"v %s\">%s</div></div>", cls ? cls : "",
	    value);
}

/* The funnel: a bar a stage, with the conversion from the stage before. */
static void
funnel(FILE *fp, const Rekindle__V1__CampaignStats *s)
{
	const struct {
		const char *key;
		long long n;
	} st[] = {{"treatment", (long long)(s->audience - s->control)},
	    {"sent", (long long)s->sent}, {"delivered", (long long)s->delivered},
	    {"opened", (long long)s->opened_strong},
	    {"clicked", (long long)s->clicked},
	    {"registered", (long long)s->registered},
	    {"reactivated", (long long)s->reactivated}};
	int n = (int)(sizeof(st) / sizeof(st[0]));
	double top = st[0].n > 0 ? (double)st[0].n : 1;
	char b[32], c[32];

	fprintf(fp, "<section><h2>");
	L(fp, "funnel");
	fprintf(fp, "</h2><svg role=\"img\" width=\"1080\" height=\"%d\" "
	    "viewBox=\"0 0 1080 %d\">", n * 34 + 8, n * 34 + 8);
	for (int i = 0; i < n; i++) {
		const struct label *l = label(st[i].key);
		double w = 440.0 * (double)st[i].n / top;
		int y = i * 34 + 4;

		fprintf(fp, "<text x=\"0\" y=\"%d\">%s</text><text x=\"0\" "
		    "y=\"%d\" style=\"fill:#6b7785;font-size:10px\">%s</text>",
		    y + 12, l->vi, y + 25, l->en);
		fprintf(fp, "<rect x=\"230\" y=\"%d\" width=\"%.1f\" height=\"22\" "
		    "rx=\"3\" fill=\"#2a7ab0\"/>", y + 2, w < 1 && st[i].n > 0 ?
		    1 : w);
		fprintf(fp, "<text x=\"%.1f\" y=\"%d\">%s", 238 + w, y + 18,
		    num(st[i].n, b));
		if (i > 0)
			fprintf(fp, " · %s %s / %s", st[i - 1].n > 0 ? pct(
			    (double)st[i].n / (double)st[i - 1].n, c) : "—",
			    label("of_previous")->vi, label("of_previous")->en);
		fprintf(fp, "</text>");
	}
	fprintf(fp, "</svg></section>\n");
}

/* Treatment against control, with the lift's interval. */
static void
lift(FILE *fp, const Rekindle__V1__CampaignReport *r)
{
	double top = fmax(fmax(r->treatment_rate, r->control_rate),
	    fmax(r->lift_ci_high, 0.01)) * 1.15, x0 = 250, w = 600;
	char b[32], c[32], d[32];
	bool sig = r->lift_ci_low > 0;

#define X(v) (x0 + w * ((v) < 0 ? 0 : (v)) / top)
	fprintf(fp, "<section><h2>");
	L(fp, "lift");
	fprintf(fp, "</h2><svg role=\"img\" width=\"1080\" height=\"130\" "
	    "viewBox=\"0 0 1080 130\">");
	fprintf(fp, "<text x=\"0\" y=\"22\">%s</text><rect x=\"%.0f\" y=\"8\" "
	    "width=\"%.1f\" height=\"22\" rx=\"3\" fill=\"#2a7ab0\"/><text "
	    "x=\"%.1f\" y=\"24\">%s</text>", label("treatment")->vi, x0,
	    X(r->treatment_rate) - x0, X(r->treatment_rate) + 8,
	    pct(r->treatment_rate, b));
	fprintf(fp, "<text x=\"0\" y=\"56\">%s</text><rect x=\"%.0f\" y=\"42\" "
	    "width=\"%.1f\" height=\"22\" rx=\"3\" fill=\"#9aa7b4\"/><text "
	    "x=\"%.1f\" y=\"58\">%s</text>", label("control")->vi, x0,
	    X(r->control_rate) - x0, X(r->control_rate) + 8,
	    pct(r->control_rate, b));
	/* the lift and its interval, on the same scale from 0 */
	fprintf(fp, "<text x=\"0\" y=\"98\">%s (%s)</text>", label("lift")->en,
	    label("ci")->vi);
	fprintf(fp, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"92\" y2=\"92\" "
	    "stroke=\"%s\" stroke-width=\"3\"/><circle cx=\"%.1f\" cy=\"92\" "
	    "r=\"6\" fill=\"%s\"/><text x=\"%.1f\" y=\"116\">%+.1f điểm / "
	    "points [%s, %s] - %s / %s</text>", X(r->lift_ci_low),
	    X(r->lift_ci_high), sig ? "#1b7f3b" : "#b3261e", X(r->lift),
	    sig ? "#1b7f3b" : "#b3261e", x0, 100 * r->lift,
	    pct(r->lift_ci_low, c), pct(r->lift_ci_high, d),
	    label(sig ? "significant" : "not_significant")->vi,
	    label(sig ? "significant" : "not_significant")->en);
	fprintf(fp, "</svg></section>\n");
#undef X
}

/* Cumulative reactivation by day: treatment and control as two curves. */
static void
curves(FILE *fp, const Rekindle__V1__CampaignReport *r)
{
	size_t n = r->n_reactivation_by_day;
	double top = 0.01, x0 = 60, y0 = 250, w = 900, h = 220;
	char b[32];

	if (n < 2)
		return;
	for (size_t i = 0; i < n; i++)
		top = fmax(top, fmax(r->reactivation_by_day[i]->treatment,
		    r->reactivation_by_day[i]->control));
	top *= 1.1;
	fprintf(fp, "<section><h2>");
	L(fp, "cumulative");
	fprintf(fp, "</h2><svg role=\"img\" width=\"1080\" height=\"300\" "
	    "viewBox=\"0 0 1080 300\">");
	for (int k = 0; k <= 4; k++) {
		double v = top * k / 4, y = y0 - h * k / 4;

		fprintf(fp, "<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.1f\" y2=\"%.1f\" "
		    "stroke=\"#e3e7ec\"/><text x=\"0\" y=\"%.1f\">%s</text>", x0,
		    x0 + w, y, y, y + 4, pct(v, b));
	}
	for (size_t i = 0; i < n; i += n > 16 ? (n + 7) / 8 : 1)
		fprintf(fp, "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">"
		    "%zu</text>", x0 + w * (double)i / (double)(n - 1), y0 + 18, i);
	fprintf(fp, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">%s / "
	    "%s</text>", x0 + w / 2, y0 + 40, label("day")->vi,
	    label("day")->en);
	for (int g = 0; g < 2; g++) {
		fprintf(fp, "<polyline fill=\"none\" stroke=\"%s\" stroke-width="
		    "\"2.5\" points=\"", g == 0 ? "#2a7ab0" : "#9aa7b4");
		for (size_t i = 0; i < n; i++) {
			double v = g == 0 ? r->reactivation_by_day[i]->treatment :
			    r->reactivation_by_day[i]->control;

			fprintf(fp, "%.1f,%.1f ", x0 + w * (double)i /
			    (double)(n - 1), y0 - h * v / top);
		}
		fprintf(fp, "\"/><rect x=\"%.0f\" y=\"%d\" width=\"14\" height="
		    "\"4\" fill=\"%s\"/><text x=\"%.0f\" y=\"%d\">%s / %s</text>",
		    x0 + 20, 12 + g * 18, g == 0 ? "#2a7ab0" : "#9aa7b4", x0 + 40,
		    18 + g * 18, label(g == 0 ? "treatment" : "control")->vi,
		    label(g == 0 ? "treatment" : "control")->en);
	}
	fprintf(fp, "</svg></section>\n");
}

static void
th(FILE *fp, const char *key, bool numeric)
{
	fprintf(fp, "<th%s>", numeric ? " class=\"n\"" : "");
	L(fp, key);
	fprintf(fp, "</th>");
}

static void
section(FILE *fp, const char *key)
{
	fprintf(fp, "<section><h2>");
	L(fp, key);
	fprintf(fp, "</h2>");
}

static void
money_section(FILE *fp, const Rekindle__V1__CampaignReport *r)
{
	char b[32];

	section(fp, "money");
	fprintf(fp, "<table><tbody>");
#define ROW(key, val)                                                     \
	do {                                                              \
		fprintf(fp, "<tr><td>");                                  \
		L(fp, key);                                               \
		fprintf(fp, "</td><td class=\"n\">%s</td></tr>", val);    \
	} while (0)
	ROW("incremental", r->incremental_spend ? num((long long)
	    r->incremental_spend->amount_minor, b) : "—");
	ROW("redeemed", num((long long)r->redeemed, b));
	ROW("redemption", pct(r->redemption_rate, b));
	ROW("offer_cost", r->offer_cost ? num((long long)
	    r->offer_cost->amount_minor, b) : "0");
	ROW("message_cost", r->message_cost ? num((long long)
	    r->message_cost->amount_minor, b) : "0");
	ROW("total_cost", r->total_cost ? num((long long)
	    r->total_cost->amount_minor, b) : "0");
	ROW("cpr", r->cost_per_reactivation &&
	    r->cost_per_reactivation->amount_minor > 0 ? num((long long)
	    r->cost_per_reactivation->amount_minor, b) : "—");
	snprintf(b, sizeof(b), "%.2f%%", r->margin_percent);
	ROW("margin", b);
	snprintf(b, sizeof(b), "%+.0f%%", 100 * r->roi);
	ROW("roi", b);
#undef ROW
	fprintf(fp, "</tbody></table><p class=\"en\">VND. ROI = (chi tiêu tăng "
	    "thêm × biên − chi phí) / chi phí · (incremental spend × margin − "
	    "cost) / cost</p></section>\n");
}

static void
channel_table(FILE *fp, const Rekindle__V1__CampaignReport *r)
{
	long long top = 1;
	char b[32];

	if (r->n_channels == 0)
		return;
	for (size_t i = 0; i < r->n_channels; i++)
		top = top > r->channels[i]->messages ? top :
		    (long long)r->channels[i]->messages;
	section(fp, "channels");
	fprintf(fp, "<table><thead><tr>");
	th(fp, "channel", false);
	th(fp, "messages", true);
	th(fp, "delivered", true);
	th(fp, "clicked", true);
	th(fp, "cost", true);
	fprintf(fp, "</tr></thead><tbody>");
	for (size_t i = 0; i < r->n_channels; i++) {
		const Rekindle__V1__ChannelResult *x = r->channels[i];

		fprintf(fp, "<tr><td>%s</td>", chname((int)x->channel));
		bar_cell(fp, (long long)x->messages, top);
		bar_cell(fp, (long long)x->delivered, top);
		bar_cell(fp, (long long)x->clicked, top);
		fprintf(fp, "<td class=\"n\">%s</td></tr>", x->cost ? num(
		    (long long)x->cost->amount_minor, b) : "0");
	}
	fprintf(fp, "</tbody></table></section>\n");
}

static void
offer_table(FILE *fp, const Rekindle__V1__CampaignReport *r)
{
	long long top = 1;
	char b[32];

	if (r->n_offers == 0)
		return;
	for (size_t i = 0; i < r->n_offers; i++)
		top = top > r->offers[i]->entries ? top :
		    (long long)r->offers[i]->entries;
	section(fp, "offers");
	fprintf(fp, "<table><thead><tr>");
	th(fp, "offer", false);
	th(fp, "treatment", true);
	th(fp, "redeemed", true);
	th(fp, "reactivated", true);
	th(fp, "cost", true);
	fprintf(fp, "</tr></thead><tbody>");
	for (size_t i = 0; i < r->n_offers; i++) {
		const Rekindle__V1__OfferResult *x = r->offers[i];

		fprintf(fp, "<tr><td>");
		esc(fp, x->title);
		fprintf(fp, " <span class=\"en\">");
		esc(fp, x->offer_id);
		fprintf(fp, "</span></td>");
		bar_cell(fp, (long long)x->entries, top);
		bar_cell(fp, (long long)x->redeemed, top);
		bar_cell(fp, (long long)x->reactivated, top);
		fprintf(fp, "<td class=\"n\">%s</td></tr>", x->cost ? num(
		    (long long)x->cost->amount_minor, b) : "0");
	}
	fprintf(fp, "</tbody></table></section>\n");
}

static void
variant_table(FILE *fp, const Rekindle__V1__CampaignReport *r)
{
	long long top = 1;
	char b[32], c[32], d[32], e[32];

	if (r->n_variants == 0)
		return;
	for (size_t i = 0; i < r->n_variants; i++)
		top = top > r->variants[i]->entries ? top :
		    (long long)r->variants[i]->entries;
	section(fp, "variants");
	fprintf(fp, "<table><thead><tr>");
	th(fp, "variant", false);
	th(fp, "treatment", true);
	th(fp, "sent", true);
	th(fp, "clicked", true);
	th(fp, "registered", true);
	th(fp, "reactivated", true);
	th(fp, "rate", true);
	th(fp, "lift", true);
	th(fp, "share", true);
	fprintf(fp, "</tr></thead><tbody>");
	for (size_t i = 0; i < r->n_variants; i++) {
		const Rekindle__V1__VariantResult *x = r->variants[i];

		fprintf(fp, "<tr><td><b>");
		esc(fp, x->variant_id);
		fprintf(fp, "</b> <span class=\"en\">");
		esc(fp, *x->offer_id ? x->offer_id : "");
		fprintf(fp, "</span></td>");
		bar_cell(fp, (long long)x->entries, top);
		bar_cell(fp, (long long)x->sent, top);
		bar_cell(fp, (long long)x->clicked, top);
		bar_cell(fp, (long long)x->registered, top);
		bar_cell(fp, (long long)x->reactivated, top);
		fprintf(fp, "<td class=\"n\">%s</td><td class=\"n\">%+.1f "
		    "[%s, %s]</td><td class=\"n\">%s</td></tr>", pct(x->rate, b),
		    100 * x->lift, pct(x->lift_ci_low, c), pct(x->lift_ci_high, d),
		    pct(x->share, e));
	}
	fprintf(fp, "</tbody></table>");
	if (*r->best_variant) {
		fprintf(fp, "<p>");
		L(fp, "best");
		fprintf(fp, ": <b>");
		esc(fp, r->best_variant);
		fprintf(fp, "</b> - %s / %s (p = %.4f). ", label(r->best_significant ?
		    "significant" : "not_significant")->vi,
		    label(r->best_significant ? "significant" :
		    "not_significant")->en, r->best_p_value);
		L(fp, "test");
		fprintf(fp, ": ");
		esc(fp, r->variant_test);
		fprintf(fp, "</p>");
	}
	fprintf(fp, "</section>\n");
}

static void
step_table(FILE *fp, const Rekindle__V1__CampaignReport *r)
{
	long long top = 1;

	if (r->n_steps == 0)
		return;
	for (size_t i = 0; i < r->n_steps; i++)
		top = top > r->steps[i]->sent ? top : (long long)r->steps[i]->sent;
	section(fp, "steps");
	fprintf(fp, "<table><thead><tr>");
	th(fp, "step", false);
	th(fp, "sent", true);
	th(fp, "clicked", true);
	th(fp, "registered_after", true);
	fprintf(fp, "</tr></thead><tbody>");
	for (size_t i = 0; i < r->n_steps; i++) {
		const Rekindle__V1__StepResult *x = r->steps[i];

		fprintf(fp, "<tr><td>");
		if (x->step == 0)
			L(fp, "first");
		else {
			L(fp, "reminder");
			fprintf(fp, " %d", x->step);
		}
		fprintf(fp, "</td>");
		bar_cell(fp, (long long)x->sent, top);
		bar_cell(fp, (long long)x->clicked, top);
		bar_cell(fp, (long long)x->registered_after, top);
		fprintf(fp, "</tr>");
	}
	fprintf(fp, "</tbody></table></section>\n");
}

static void
week_table(FILE *fp, const Rekindle__V1__CampaignReport *r)
{
	long long top = 1;

	if (r->n_entries_by_week == 0)
		return;
	for (size_t i = 0; i < r->n_entries_by_week; i++)
		top = top > r->entries_by_week[i]->treatment ? top :
		    (long long)r->entries_by_week[i]->treatment;
	section(fp, "weeks");
	fprintf(fp, "<table><thead><tr>");
	th(fp, "week", false);
	th(fp, "treatment", true);
	th(fp, "control", true);
	th(fp, "reactivated", true);
	fprintf(fp, "</tr></thead><tbody>");
	for (size_t i = 0; i < r->n_entries_by_week; i++) {
		const Rekindle__V1__EntryWeek *x = r->entries_by_week[i];

		fprintf(fp, "<tr><td>");
		esc(fp, x->week);
		fprintf(fp, "</td>");
		bar_cell(fp, (long long)x->treatment, top);
		bar_cell(fp, (long long)x->control, top);
		bar_cell(fp, (long long)x->treatment_reactivated, top);
		fprintf(fp, "</tr>");
	}
	fprintf(fp, "</tbody></table></section>\n");
}

static void
settings(FILE *fp, const Rekindle__V1__Campaign *cp)
{
	const Rekindle__V1__AudienceRule *au = cp->audience;
	const Rekindle__V1__ReminderPolicy *rp = cp->reminders;
	char b[32];

	section(fp, "settings");
	fprintf(fp, "<table><tbody>");
	fprintf(fp, "<tr><td>");
	L(fp, "rule");
	fprintf(fp, "</td><td>");
	if (au != NULL) {
		static const char *const st[] = {"", "new", "active", "at_risk",
		    "dormant", "lost"};

		for (size_t i = 0; i < au->n_states; i++)
			fprintf(fp, "%s%s", i ? ", " : "", (int)au->states[i] >= 1 &&
			    (int)au->states[i] <= 5 ? st[au->states[i]] : "?");
		if (au->min_dormant_days > 0)
			fprintf(fp, "; ≥ %d %s", au->min_dormant_days,
			    label("days")->vi);
		if (au->min_churn_risk > 0)
			fprintf(fp, "; churn ≥ %.2f", au->min_churn_risk);
		if (au->max_churn_risk > 0)
			fprintf(fp, "; churn ≤ %.2f", au->max_churn_risk);
		if (au->min_p_alive > 0)
			fprintf(fp, "; P(alive) ≥ %.2f", au->min_p_alive);
		if (au->max_p_alive > 0)
			fprintf(fp, "; P(alive) ≤ %.2f", au->max_p_alive);
		if (au->include_unscored && (au->min_churn_risk > 0 ||
		    au->max_churn_risk > 0 || au->min_p_alive > 0 ||
		    au->max_p_alive > 0))
			fprintf(fp, " (+ not scored)");
		for (size_t i = 0; i < au->n_categories; i++) {
			fprintf(fp, "%s", i ? ", " : "; ");
			esc(fp, au->categories[i]);
		}
	}
	fprintf(fp, "</td></tr><tr><td>");
	L(fp, "holdout");
	fprintf(fp, "</td><td>%.1f%%</td></tr><tr><td>", cp->holdout_percent);
	L(fp, "plan");
	fprintf(fp, "</td><td>");
	for (size_t i = 0; i < cp->n_channel_order; i++)
		fprintf(fp, "%s%s", i ? " → " : "", chname((int)cp->channel_order[i]));
	fprintf(fp, "</td></tr><tr><td>");
	L(fp, "send_window");
	fprintf(fp, "</td><td>");
	if (*cp->send_window_start)
		fprintf(fp, "%s - %s", cp->send_window_start, cp->send_window_end);
	else
		L(fp, "none");
	fprintf(fp, "</td></tr><tr><td>");
	L(fp, "reminders");
	fprintf(fp, "</td><td>");
	if (rp != NULL && rp->max_reminders > 0)
		fprintf(fp, "%d × / %d h", rp->max_reminders, rp->interval_hours ?
		    rp->interval_hours : rp->delay_hours);
	else
		L(fp, "none");
	if (rp != NULL && rp->escalate_to_ticket)
		fprintf(fp, " → ticket");
	fprintf(fp, "</td></tr><tr><td>");
	L(fp, "fallback");
	fprintf(fp, "</td><td>");
	esc(fp, *cp->fallback_offer_id ? cp->fallback_offer_id : "—");
	fprintf(fp, "</td></tr><tr><td>");
	L(fp, "window");
	fprintf(fp, "</td><td>%s %s</td></tr>", num(cp->attribution_days, b),
	    label("days")->vi);
	for (size_t i = 0; i < cp->n_variants; i++) {
		fprintf(fp, "<tr><td>");
		L(fp, "variant");
		fprintf(fp, " ");
		esc(fp, cp->variants[i]->variant_id);
		fprintf(fp, "</td><td>");
		esc(fp, *cp->variants[i]->offer_id ? cp->variants[i]->offer_id :
		    "—");
		fprintf(fp, "%s</td></tr>", cp->variants[i]->n_templates ?
		    " + templates" : "");
	}
	fprintf(fp, "</tbody></table></section>\n");
}

int
report_html(FILE *fp, const Rekindle__V1__Campaign *cp,
    const Rekindle__V1__CampaignReport *r)
{
	static const char *const states[] = {"—", "DRAFT", "SCHEDULED",
	    "RUNNING", "PAUSED", "COMPLETED", "CANCELLED"};
	const Rekindle__V1__CampaignStats *s = r->stats;
	char b[32], c[32], v[96];
	time_t now = time(NULL);
	struct tm tm;

	fprintf(fp, "<!DOCTYPE html>\n<html lang=\"vi\"><head><meta charset="
	    "\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">"
	    "<title>%s · ", label("title")->vi);
	esc(fp, cp->name);
	fprintf(fp, "</title><style>%s</style></head><body>\n", STYLE);
	fprintf(fp, "<header><h1>");
	L(fp, "title");
	fprintf(fp, ": ");
	esc(fp, cp->name);
	fprintf(fp, "</h1><div class=\"meta\">");
	esc(fp, cp->campaign_id);
	fprintf(fp, " · %s · %s · %s %s → %s %s · %s %d %s</div></header>"
	    "<main>\n", (int)cp->state >= 0 && (int)cp->state <= 6 ?
	    states[cp->state] : "—", label(cp->kind ==
	    REKINDLE__V1__CAMPAIGN_KIND__CAMPAIGN_KIND_ALWAYS_ON ? "always_on" :
	    "one_shot")->vi, label("start")->vi, when(cp->start_time ?
	    cp->start_time : cp->create_time, b), label("end")->vi,
	    when(cp->end_time, c), label("window")->vi, cp->attribution_days,
	    label("days")->vi);
	fprintf(fp, "<div class=\"kpis\">");
	kpi(fp, "audience", num((long long)s->audience, b), NULL);
	kpi(fp, "treatment", num((long long)(s->audience - s->control), b), NULL);
	kpi(fp, "control", num((long long)s->control, b), NULL);
	snprintf(v, sizeof(v), "%s / %s", pct(r->treatment_rate, b),
	    pct(r->control_rate, c));
	kpi(fp, "rate", v, NULL);
	snprintf(v, sizeof(v), "%+.1f", 100 * r->lift);
	kpi(fp, "lift", v, r->lift_ci_low > 0 ? "good" : "bad");
	kpi(fp, "incremental", r->incremental_spend ? num((long long)
	    r->incremental_spend->amount_minor, b) : "—", NULL);
	kpi(fp, "total_cost", r->total_cost ? num((long long)
	    r->total_cost->amount_minor, b) : "0", NULL);
	snprintf(v, sizeof(v), "%+.0f%%", 100 * r->roi);
	kpi(fp, "roi", v, r->roi > 0 ? "good" : "bad");
	fprintf(fp, "</div>\n");
	funnel(fp, s);
	lift(fp, r);
	curves(fp, r);
	money_section(fp, r);
	channel_table(fp, r);
	offer_table(fp, r);
	variant_table(fp, r);
	step_table(fp, r);
	week_table(fp, r);
	settings(fp, cp);
	localtime_r(&now, &tm);
	strftime(v, sizeof(v), "%Y-%m-%d %H:%M %Z", &tm);
	fprintf(fp, "</main><footer>");
	L(fp, "generated");
	fprintf(fp, ": %s · rekindle · %s %s, %s %s</footer></body></html>\n", v,
	    num((long long)s->uncertain, b), label("uncertain")->vi,
	    num((long long)s->undelivered, c), label("undelivered")->vi);
	return (ferror(fp) ? -1 : 0);
}
