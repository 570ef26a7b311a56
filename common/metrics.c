/*
 * metrics.c - the metric registry and the Prometheus text format
 * (https://prometheus.io/docs/instrumenting/exposition_formats/: HELP and
 * TYPE lines, label values escaped for backslash, double quote and line
 * feed; a histogram is cumulative _bucket{le=...} series ending in
 * le="+Inf", then _sum and _count).
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "metrics.h"

#define METRIC_HASH 64

struct metric_series {
	struct metric_series *next, *chain;
	uint32_t hash;
	char *values[METRIC_MAX_LABELS];
	double value;		/* counter, gauge */
	double sum;		/* histogram */
	uint64_t count;
	uint64_t *counts;	/* per bucket (not cumulative), +Inf last */
};

const double metric_latency_buckets[13] = {0.001, 0.0025, 0.005, 0.01,
    0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
const double metric_long_buckets[14] = {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
    5, 10, 30, 60, 300, 900, 3600};

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static struct metric *families;

static struct {
	void (*fn)(void *);
	void *arg;
} scrapers[8];
static int nscrapers;

static int
nlabels(const struct metric *m)
{
	int n = 0;

	while (n < METRIC_MAX_LABELS && m->labels[n] != NULL)
		n++;
	return (n);
}

void
metric_register(struct metric *m)
{
	pthread_mutex_lock(&reg_mu);
	if (!m->registered) {
		struct metric **p = &families;

		/* sorted by name, so the page reads the same every time */
		while (*p != NULL && strcmp((*p)->name, m->name) < 0)
			p = &(*p)->next;
		m->next = *p;
		*p = m;
		m->registered = true;
	}
	pthread_mutex_unlock(&reg_mu);
}

static uint32_t
hash_values(const char *const *v, int n)
{
	uint32_t h = 2166136261u;

	for (int i = 0; i < n; i++) {
		for (const char *s = v[i]; *s; s++)
			h = (h ^ (unsigned char)*s) * 16777619u;
		h = (h ^ 0x1f) * 16777619u;
	}
	return (h);
}

/* The series of the label values in ap, made if new; m->mu held. */
static struct metric_series *
series_of(struct metric *m, va_list ap)
{
	const char *v[METRIC_MAX_LABELS];
	int n = nlabels(m);
	struct metric_series *s;
	uint32_t h;

	for (int i = 0; i < n; i++) {
		v[i] = va_arg(ap, const char *);
		if (v[i] == NULL)
			v[i] = "";
	}
	h = hash_values(v, n);
	if (m->hash == NULL) {
		m->hash = xcalloc(METRIC_HASH, sizeof(*m->hash));
		m->tail = &m->series;
	}
	for (s = m->hash[h % METRIC_HASH]; s != NULL; s = s->chain) {
		int i = 0;

		if (s->hash != h)
			continue;
		while (i < n && strcmp(s->values[i], v[i]) == 0)
			i++;
		if (i == n)
			return (s);
	}
	s = xcalloc(1, sizeof(*s));
	s->hash = h;
	for (int i = 0; i < n; i++)
		s->values[i] = xstrdup(v[i]);
	if (m->type == METRIC_T_HISTOGRAM)
		s->counts = xcalloc((size_t)m->nbuckets + 1, sizeof(*s->counts));
	s->chain = m->hash[h % METRIC_HASH];
	m->hash[h % METRIC_HASH] = s;
	*m->tail = s;
	m->tail = &s->next;
	return (s);
}

static void
update(struct metric *m, int how, double v, va_list ap)
{
	struct metric_series *s;

	if (!m->registered)
		metric_register(m);
	pthread_mutex_lock(&m->mu);
	s = series_of(m, ap);
	if (how == 0) {
		s->value += v;
	} else if (how == 1) {
		s->value = v;
	} else {
		int b = 0;

		while (b < m->nbuckets && v > m->buckets[b])
			b++;
		s->counts[b]++;
		s->count++;
		s->sum += v;
	}
	pthread_mutex_unlock(&m->mu);
}

/* The three public updates differ only in how (0 add, 1 set, 2 observe). */
#define METRIC_UPDATE(fn, how)						\
	void								\
	fn(struct metric *m, double v, ...)				\
	{								\
		va_list ap;						\
									\
		va_start(ap, v);					\
		update(m, how, v, ap);					\
		va_end(ap);						\
	}
METRIC_UPDATE(metric_add, 0)
METRIC_UPDATE(metric_set, 1)
METRIC_UPDATE(metric_observe, 2)

static void
series_free(struct metric_series *s)
{
	for (int i = 0; i < METRIC_MAX_LABELS; i++)
		free(s->values[i]);
	free(s->counts);
	free(s);
}

void
metric_clear(struct metric *m)
{
	struct metric_series *s, *next;

	pthread_mutex_lock(&m->mu);
	for (s = m->series; s != NULL; s = next) {
		next = s->next;
		series_free(s);
	}
	m->series = NULL;
	m->tail = &m->series;
	if (m->hash != NULL)
		memset(m->hash, 0, METRIC_HASH * sizeof(*m->hash));
	pthread_mutex_unlock(&m->mu);
}

void
metrics_on_scrape(void (*fn)(void *), void *arg)
{
	pthread_mutex_lock(&reg_mu);
	if (nscrapers < (int)(sizeof(scrapers) / sizeof(scrapers[0]))) {
		scrapers[nscrapers].fn = fn;
		scrapers[nscrapers].arg = arg;
		nscrapers++;
	}
	pthread_mutex_unlock(&reg_mu);
}

/* ---- rendering ---- */

struct buf {
	char *p;
	size_t len, cap;
};

static void
put(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* The shortest of %.15g and %.17g that reads back as v. */
static void
fmt_double(char *t, size_t cap, double v)
{
	snprintf(t, cap, "%.15g", v);
	if (strtod(t, NULL) != v)
		snprintf(t, cap, "%.17g", v);
}

static void
put_number(struct buf *b, double v)
{
	char t[40];

	if (isnan(v))
		puts_(b, "NaN");
	else if (isinf(v))
		puts_(b, v > 0 ? "+Inf" : "-Inf");
	else {
		fmt_double(t, sizeof(t), v);
		puts_(b, t);
	}
}

/* A label value, escaped as the format asks. */
static void
put_escaped(struct buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			puts_(b, "\\\\");
		else if (*s == '"')
			puts_(b, "\\\"");
		else if (*s == '\n')
			puts_(b, "\\n");
		else
			put(b, s, 1);
	}
}

/* name{labels,le="x"} value\n; extra_le NULL: no le label. */
static void
put_line(struct buf *b, const struct metric *m, const char *suffix,
    const struct metric_series *s, const char *le, double v)
{
	int n = nlabels(m);
	bool any = false;

	puts_(b, m->name);
	puts_(b, suffix);
	for (int i = 0; i < n; i++) {
		if (*s->values[i] == '\0')
			continue;	/* an empty value is an absent label */
		puts_(b, any ? "," : "{");
		puts_(b, m->labels[i]);
		puts_(b, "=\"");
		put_escaped(b, s->values[i]);
		puts_(b, "\"");
		any = true;
	}
	if (le != NULL) {
		puts_(b, any ? ",le=\"" : "{le=\"");
		puts_(b, le);
		puts_(b, "\"");
		any = true;
	}
	puts_(b, any ? "} " : " ");
	put_number(b, v);
	puts_(b, "\n");
}

static void
render_family(struct buf *b, struct metric *m)
{
	static const char *const types[] = {"counter", "gauge", "histogram"};
	static const struct metric_series zero;
	const struct metric_series *s;

	puts_(b, "# HELP ");
	puts_(b, m->name);
	puts_(b, " ");
	for (const char *h = m->help; *h; h++)	/* escape \ and \n */
		puts_(b, *h == '\\' ? "\\\\" : *h == '\n' ? "\\n" :
		    (char[2]){*h, '\0'});
	puts_(b, "\n# TYPE ");
	puts_(b, m->name);
	puts_(b, " ");
	puts_(b, types[m->type]);
	puts_(b, "\n");
	pthread_mutex_lock(&m->mu);
	/* an unlabelled counter or gauge is 0 until its first update */
	if (m->series == NULL && nlabels(m) == 0 && m->type != METRIC_T_HISTOGRAM)
		put_line(b, m, "", &zero, NULL, 0);
	for (s = m->series; s != NULL; s = s->next) {
		uint64_t cum = 0;
		char le[40];

		if (m->type != METRIC_T_HISTOGRAM) {
			put_line(b, m, "", s, NULL, s->value);
			continue;
		}
		for (int i = 0; i < m->nbuckets; i++) {
			cum += s->counts[i];
			fmt_double(le, sizeof(le), m->buckets[i]);
			put_line(b, m, "_bucket", s, le, (double)cum);
		}
		put_line(b, m, "_bucket", s, "+Inf", (double)s->count);
		put_line(b, m, "_sum", s, NULL, s->sum);
		put_line(b, m, "_count", s, NULL, (double)s->count);
	}
	pthread_mutex_unlock(&m->mu);
}

char *
metrics_render(size_t *len)
{
	struct buf b = {NULL, 0, 0};
	int n;

	pthread_mutex_lock(&reg_mu);
	n = nscrapers;
	pthread_mutex_unlock(&reg_mu);
	for (int i = 0; i < n; i++)
		scrapers[i].fn(scrapers[i].arg);
	put(&b, "", 0);
	pthread_mutex_lock(&reg_mu);
	for (struct metric *m = families; m != NULL; m = m->next)
		render_family(&b, m);
	pthread_mutex_unlock(&reg_mu);
	if (len != NULL)
		*len = b.len;
	return (b.p);
}
