/* status_test.c - rk_err -> gRPC codes; the google.rpc.Status detail. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "google/rpc/error_details.pb-c.h"
#include "google/rpc/status.pb-c.h"
#include "status.h"

static void
test_error_codes_map_once(void **state)
{
	(void)state;
	assert_int_equal(status_from_err(RK_OK), GRPC_STATUS_OK);
	assert_int_equal(status_from_err(RK_EINVAL), GRPC_STATUS_INVALID_ARGUMENT);
	assert_int_equal(status_from_err(RK_ENOTFOUND), GRPC_STATUS_NOT_FOUND);
	assert_int_equal(status_from_err(RK_ECONFLICT), GRPC_STATUS_ALREADY_EXISTS);
	assert_int_equal(status_from_err(RK_EAUTH), GRPC_STATUS_UNAUTHENTICATED);
	assert_int_equal(status_from_err(RK_EPERM),
	    GRPC_STATUS_PERMISSION_DENIED);
	assert_int_equal(status_from_err(RK_EUNAVAIL), GRPC_STATUS_UNAVAILABLE);
	assert_int_equal(status_from_err(RK_EPRECOND),
	    GRPC_STATUS_FAILED_PRECONDITION);
	assert_int_equal(status_from_err(RK_EUNIMPL), GRPC_STATUS_UNIMPLEMENTED);
	assert_int_equal(status_from_err(RK_EINTERNAL), GRPC_STATUS_INTERNAL);
}

static void
test_details_carry_field_violations(void **state)
{
	struct field_violation v[2] = {{"customers[0].phone", "bad phone"},
	    {"customers[1].email", "bad email"}};
	arena *a = arena_create(4096);
	size_t len;
	unsigned char *bin = status_details_pack(a, GRPC_STATUS_INVALID_ARGUMENT,
	    "2 invalid fields", v, 2, &len);
	Google__Rpc__Status *st = google__rpc__status__unpack(NULL, len, bin);
	Google__Rpc__BadRequest *br;

	(void)state;
	assert_non_null(st);
	assert_int_equal(st->code, 3);
	assert_string_equal(st->message, "2 invalid fields");
	assert_int_equal(st->n_details, 1);
	assert_string_equal(st->details[0]->type_url,
	    "type.googleapis.com/google.rpc.BadRequest");
	br = google__rpc__bad_request__unpack(NULL, st->details[0]->value.len,
	    st->details[0]->value.data);
	assert_int_equal(br->n_field_violations, 2);
	assert_string_equal(br->field_violations[0]->field,
	    "customers[0].phone");
	google__rpc__bad_request__free_unpacked(br, NULL);
	google__rpc__status__free_unpacked(st, NULL);
	arena_destroy(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error_codes_map_once),
		cmocka_unit_test(test_details_carry_field_violations),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
