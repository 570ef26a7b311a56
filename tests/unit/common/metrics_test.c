/* metrics_test.c - the Prometheus text format: HELP and TYPE, label
 * escaping, cumulative histogram buckets, series per label set. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

static const double buckets[3] = {0.1, 1, 10};
static struct metric calls = METRIC_COUNTER("rekindle_test_calls_total",
    "Calls, by method\nand code.", "method", "code");
static struct metric depth = METRIC_GAUGE("rekindle_test_depth",
    "Depth.", NULL);
static struct metric latency = METRIC_HISTOGRAM("rekindle_test_seconds",
    "Latency.", buckets, "method");
static struct metric unused = METRIC_GAUGE("rekindle_test_unused",
    "Never updated.", "queue");

static int scraped;

static void
on_scrape(void *arg)
{
	(void)arg;
	scraped++;
	metric_set(&depth, 42);
}

static char *
render(void)
{
	size_t len;
	char *t = metrics_render(&len);

	assert_non_null(t);
	assert_int_equal(strlen(t), len);
	return (t);
}

static void
test_counter_series_per_label_set_with_escaped_values(void **state)
{
	char *t;

	(void)state;
	metric_add(&calls, 1, "Get", "OK");
	metric_add(&calls, 2, "Get", "OK");
	metric_add(&calls, 1, "a\"b\\c\nd", "NOT_FOUND");
	t = render();
	assert_non_null(strstr(t, "# HELP rekindle_test_calls_total Calls, by "
	    "method\\nand code.\n# TYPE rekindle_test_calls_total counter\n"));
	assert_non_null(strstr(t, "rekindle_test_calls_total{method=\"Get\","
	    "code=\"OK\"} 3\n"));
	assert_non_null(strstr(t, "rekindle_test_calls_total{method="
	    "\"a\\\"b\\\\c\\nd\",code=\"NOT_FOUND\"} 1\n"));
	free(t);
}

static void
test_histogram_buckets_are_cumulative_with_inf_sum_count(void **state)
{
	char *t;

	(void)state;
	metric_observe(&latency, 0.05, "Get");
	metric_observe(&latency, 0.5, "Get");
	metric_observe(&latency, 0.5, "Get");
	metric_observe(&latency, 100, "Get");
	metric_observe(&latency, 1, "Get");	/* le is inclusive */
	t = render();
	assert_non_null(strstr(t, "# TYPE rekindle_test_seconds histogram\n"));
	assert_non_null(strstr(t,
	    "rekindle_test_seconds_bucket{method=\"Get\",le=\"0.1\"} 1\n"
	    "rekindle_test_seconds_bucket{method=\"Get\",le=\"1\"} 4\n"
	    "rekindle_test_seconds_bucket{method=\"Get\",le=\"10\"} 4\n"
	    "rekindle_test_seconds_bucket{method=\"Get\",le=\"+Inf\"} 5\n"
	    "rekindle_test_seconds_sum{method=\"Get\"} 102.05\n"
	    "rekindle_test_seconds_count{method=\"Get\"} 5\n"));
	free(t);
}

static void
test_scrape_functions_run_first_and_registered_families_show(void **state)
{
	char *t;

	(void)state;
	metrics_on_scrape(on_scrape, NULL);
	metric_register(&unused);
	t = render();
	assert_true(scraped > 0);
	assert_non_null(strstr(t, "rekindle_test_depth 42\n"));
	/* a labelled family with no series yet: its HELP and TYPE only */
	assert_non_null(strstr(t, "# TYPE rekindle_test_unused gauge\n"));
	assert_null(strstr(t, "rekindle_test_unused{"));
	free(t);
	metric_set(&unused, 3, "a");
	metric_clear(&unused);
	metric_set(&unused, 4, "b");
	t = render();
	assert_null(strstr(t, "rekindle_test_unused{queue=\"a\"}"));
	assert_non_null(strstr(t, "rekindle_test_unused{queue=\"b\"} 4\n"));
	free(t);
}

static void
test_families_are_sorted_and_an_empty_label_is_left_out(void **state)
{
	char *t, *a, *b;

	(void)state;
	metric_add(&calls, 1, "", "OK");
	t = render();
	a = strstr(t, "# HELP rekindle_test_calls_total");
	b = strstr(t, "# HELP rekindle_test_depth");
	assert_true(a != NULL && b != NULL && a < b);
	assert_non_null(strstr(t, "rekindle_test_calls_total{code=\"OK\"} 1\n"));
	free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counter_series_per_label_set_with_escaped_values),
		cmocka_unit_test(test_histogram_buckets_are_cumulative_with_inf_sum_count),
		cmocka_unit_test(test_scrape_functions_run_first_and_registered_families_show),
		cmocka_unit_test(test_families_are_sorted_and_an_empty_label_is_left_out),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
