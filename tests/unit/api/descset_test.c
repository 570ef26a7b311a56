/* descset_test.c - the real descriptor set: streaming flags, reflection
 * lookups, and a method table in which every handler finds its method. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "descset.h"
#include "methods.h"

static int
setup(void **state)
{
	FILE *fp = fopen(RK_PROTOSET, "rb");
	static char buf[1 << 20];
	size_t n;

	(void)state;
	if (fp == NULL)
		return (-1);
	n = fread(buf, 1, sizeof(buf), fp);
	fclose(fp);
	return (descset_load(buf, n) == RK_OK ? 0 : -1);
}

static int
teardown(void **state)
{
	(void)state;
	descset_unload();
	return (0);
}

static void
test_streaming_flags(void **state)
{
	bool cs, ss;

	(void)state;
	assert_int_equal(descset_method("/rekindle.v1.CustomerService/"
	    "IngestTransactions", &cs, &ss), RK_OK);
	assert_true(cs);
	assert_false(ss);
	assert_int_equal(descset_method("/grpc.health.v1.Health/Watch", &cs,
	    &ss), RK_OK);
	assert_false(cs);
	assert_true(ss);
	assert_int_equal(descset_method("/no.Such/Method", &cs, &ss),
	    RK_ENOTFOUND);
}

static void
test_services_listed(void **state)
{
	const char *want[] = {"rekindle.v1.CustomerService",
	    "rekindle.v1.ProfileService", "rekindle.v1.OfferService",
	    "rekindle.v1.CampaignService", "rekindle.v1.EngagementService",
	    "rekindle.v1.TicketService", "rekindle.v1.AgentService",
	    "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection",
	    "grpc.reflection.v1alpha.ServerReflection"};

	(void)state;
	for (size_t w = 0; w < sizeof(want) / sizeof(want[0]); w++) {
		bool found = false;

		for (int i = 0; i < descset_nservices(); i++)
			found |= strcmp(descset_service(i), want[w]) == 0;
		assert_true(found);
	}
}

static void
test_symbol_files_include_dependencies(void **state)
{
	const void **files;
	size_t *lens;
	int n;

	(void)state;
	assert_int_equal(descset_files_for_symbol(
	    "rekindle.v1.CustomerService.GetCustomer", &files, &lens, &n), RK_OK);
	/* customer.proto, common, profile, timestamp at least */
	assert_true(n >= 4);
	free(files);
	free(lens);
	assert_int_equal(descset_files_for_symbol(".rekindle.v1.Customer",
	    &files, &lens, &n), RK_OK);
	free(files);
	free(lens);
	assert_int_equal(descset_files_for_name("google/protobuf/timestamp.proto",
	    &files, &lens, &n), RK_OK);
	assert_int_equal(n, 1);
	free(files);
	free(lens);
	assert_int_equal(descset_files_for_symbol("no.Such", &files, &lens, &n),
	    RK_ENOTFOUND);
}

static void
test_method_table_builds(void **state)
{
	struct server_method *m;
	char err[256];
	int n;

	(void)state;
	assert_int_equal(methods_build(&m, &n, err, sizeof(err)), RK_OK);
	assert_true(n >= 10);
	for (int i = 0; i < n; i++)
		if (strcmp(m[i].path, "/rekindle.v1.CustomerService/"
		    "IngestTransactions") == 0)
			assert_int_equal(m[i].kind, RPC_CLIENT_STREAM);
	methods_free(m, n);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_streaming_flags),
		cmocka_unit_test(test_services_listed),
		cmocka_unit_test(test_symbol_files_include_dependencies),
		cmocka_unit_test(test_method_table_builds),
	};

	return (cmocka_run_group_tests(tests, setup, teardown));
}
