/*
 * metrics.h - counters, gauges and histograms, rendered in the Prometheus
 * text exposition format (version 0.0.4) by the daemon's /metrics
 * endpoint (daemon.h).
 *
 * A family is a static struct the module that measures owns, defined with
 * METRIC_COUNTER/METRIC_GAUGE/METRIC_HISTOGRAM; it enters the registry on
 * first use (or metric_register), so nothing runs at start-up and a
 * module's metrics exist exactly in the processes that link it. Label
 * values are passed in the order of the family's label names; they must
 * come from small fixed sets (a method, a channel, an outcome) - never a
 * customer id, a phone number or any other unbounded or personal value.
 *
 * Names follow Prometheus conventions: "rekindle_" prefix, base units
 * (seconds, bytes), "_total" for counters.
 *
 * CONCURRENCY
 *	Every function is thread-safe: a family's series are guarded by its
 *	mutex (one short critical section per update).
 */
#ifndef RK_METRICS_H
#define RK_METRICS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#define METRIC_MAX_LABELS 4

enum metric_type { METRIC_T_COUNTER, METRIC_T_GAUGE, METRIC_T_HISTOGRAM };

struct metric_series;

struct metric {
	const char *name;
	const char *help;
	enum metric_type type;
	const char *labels[METRIC_MAX_LABELS + 1];	/* NULL-terminated */
	const double *buckets;	/* histogram upper bounds, ascending */
	int nbuckets;
	/* runtime state, zero-initialised */
	pthread_mutex_t mu;
	bool registered;
	struct metric *next;
	struct metric_series *series, **tail;	/* in creation order */
	struct metric_series **hash;		/* METRIC_HASH chains */
};

#define METRIC_INIT_(n, h, t, b, nb, ...) {.name = (n), .help = (h),       \
	.type = (t), .labels = {__VA_ARGS__}, .buckets = (b), .nbuckets = (nb), \
	.mu = PTHREAD_MUTEX_INITIALIZER}
/* METRIC_COUNTER("rekindle_x_total", "help", "label", ...) */
#define METRIC_COUNTER(n, h, ...) \
	METRIC_INIT_(n, h, METRIC_T_COUNTER, NULL, 0, __VA_ARGS__)
#define METRIC_GAUGE(n, h, ...) \
	METRIC_INIT_(n, h, METRIC_T_GAUGE, NULL, 0, __VA_ARGS__)
/* b: a static array of upper bounds (+Inf is implied) */
#define METRIC_HISTOGRAM(n, h, b, ...) \
	METRIC_INIT_(n, h, METRIC_T_HISTOGRAM, b,                        \
	    (int)(sizeof(b) / sizeof((b)[0])), __VA_ARGS__)

/* Latency buckets, seconds: 1 ms .. 10 s. */
extern const double metric_latency_buckets[13];
/* Lateness and duration buckets, seconds: 10 ms .. 1 h. */
extern const double metric_long_buckets[14];

/* Enters m into the registry, so it is rendered (with no series yet, or
 * its one unlabelled series at 0) before its first update. */
void metric_register(struct metric *m);

/* Adds v (>= 0 for a counter) to the series of the label values given. */
void metric_add(struct metric *m, double v, ...);
/* Sets a gauge's series. */
void metric_set(struct metric *m, double v, ...);
/* Records one observation in a histogram's series. */
void metric_observe(struct metric *m, double v, ...);

/* Drops every series of m (a gauge whose label set is recomputed at each
 * scrape, such as queue depth per queue). */
void metric_clear(struct metric *m);

/*
 * A function run before each rendering (to read gauges that are cheaper
 * to compute on demand: queue depth from the database, resident memory).
 * At most 8; fn runs on the metrics thread.
 */
void metrics_on_scrape(void (*fn)(void *), void *arg);

/*
 * The exposition text of every registered family (malloc'ed, NUL-
 * terminated; the caller frees). Runs the scrape functions first.
 */
char *metrics_render(size_t *len);

#endif
