/*
 * status.c - gRPC status codes and rich error details.
 */
#include "google/protobuf/any.pb-c.h"
#include "google/rpc/error_details.pb-c.h"
#include "google/rpc/status.pb-c.h"
#include "status.h"

grpc_status_code
status_from_err(rk_err err)
{
	switch (err) {
	case RK_OK:
		return (GRPC_STATUS_OK);
	case RK_EINVAL:
	case RK_EPROTO:
		return (GRPC_STATUS_INVALID_ARGUMENT);
	case RK_ENOTFOUND:
		return (GRPC_STATUS_NOT_FOUND);
	case RK_ECONFLICT:
		return (GRPC_STATUS_ALREADY_EXISTS);
	case RK_ERETRY:
		return (GRPC_STATUS_ABORTED);
	case RK_ETIMEDOUT:
		return (GRPC_STATUS_DEADLINE_EXCEEDED);
	case RK_EUNAVAIL:
		return (GRPC_STATUS_UNAVAILABLE);
	case RK_EPRECOND:
		return (GRPC_STATUS_FAILED_PRECONDITION);
	case RK_EPERM:
		return (GRPC_STATUS_PERMISSION_DENIED);
	case RK_EAUTH:
		return (GRPC_STATUS_UNAUTHENTICATED);
	case RK_EUNIMPL:
		return (GRPC_STATUS_UNIMPLEMENTED);
	case RK_ETOOBIG:
	case RK_ENOMEM:
		return (GRPC_STATUS_RESOURCE_EXHAUSTED);
	case RK_ECANCELED:
		return (GRPC_STATUS_CANCELLED);
	case RK_ESYS:
	case RK_EINTERNAL:
	case RK_ERR_COUNT:
		break;
	}
	return (GRPC_STATUS_INTERNAL);
}

unsigned char *
status_details_pack(arena *a, grpc_status_code code, const char *message,
    const struct field_violation *v, int n, size_t *len)
{
	Google__Rpc__Status st = GOOGLE__RPC__STATUS__INIT;
	Google__Rpc__BadRequest br = GOOGLE__RPC__BAD_REQUEST__INIT;
	Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
	Google__Protobuf__Any *anys[1] = {&any};
	unsigned char *out;

	st.code = (int32_t)code;
	st.message = (char *)message;
	if (n > 0) {
		br.n_field_violations = (size_t)n;
		br.field_violations = arena_alloc(a, sizeof(void *) * (size_t)n);
		for (int i = 0; i < n; i++) {
			Google__Rpc__BadRequest__FieldViolation *fv =
			    arena_alloc(a, sizeof(*fv));

			google__rpc__bad_request__field_violation__init(fv);
			fv->field = (char *)v[i].field;
			fv->description = (char *)v[i].description;
			br.field_violations[i] = fv;
		}
		any.type_url = "type.googleapis.com/google.rpc.BadRequest";
		any.value.len = google__rpc__bad_request__get_packed_size(&br);
		any.value.data = arena_alloc(a, any.value.len);
		google__rpc__bad_request__pack(&br, any.value.data);
		st.n_details = 1;
		st.details = anys;
	}
	*len = google__rpc__status__get_packed_size(&st);
	out = arena_alloc(a, *len);
	google__rpc__status__pack(&st, out);
	return (out);
}
