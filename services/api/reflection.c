/*
 * reflection.c - the server reflection protocol (grpc reflection.proto):
 * list_services, file_by_filename, file_containing_symbol; extension
 * queries get NOT_FOUND (proto3 API, no extensions). Errors go in
 * error_response, never as the stream's status.
 */
#include <stdlib.h>
#include <string.h>

#include "descset.h"
#include "grpc/reflection/v1/reflection.pb-c.h"
#include "reflection.h"

#define RQ Grpc__Reflection__V1__ServerReflectionRequest
#define RS Grpc__Reflection__V1__ServerReflectionResponse

static void
set_error(RS *out, arena *a, int code, const char *msg)
{
	Grpc__Reflection__V1__ErrorResponse *e = arena_alloc(a, sizeof(*e));

	grpc__reflection__v1__error_response__init(e);
	e->error_code = code;
	e->error_message = arena_strdup(a, msg);
	out->message_response_case =
	    GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ERROR_RESPONSE;
	out->error_response = e;
}

static void
set_files(RS *out, arena *a, const void **files, size_t *lens, int n)
{
	Grpc__Reflection__V1__FileDescriptorResponse *f =
	    arena_alloc(a, sizeof(*f));

	grpc__reflection__v1__file_descriptor_response__init(f);
	f->n_file_descriptor_proto = (size_t)n;
	f->file_descriptor_proto = arena_alloc(a, sizeof(ProtobufCBinaryData) *
	    (size_t)(n ? n : 1));
	for (int i = 0; i < n; i++) {
		f->file_descriptor_proto[i].data = (uint8_t *)files[i];
		f->file_descriptor_proto[i].len = lens[i];
	}
	out->message_response_case =
	    GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_FILE_DESCRIPTOR_RESPONSE;
	out->file_descriptor_response = f;
}

static void
list_services(RS *out, arena *a)
{
	Grpc__Reflection__V1__ListServiceResponse *l = arena_alloc(a, sizeof(*l));
	int n = descset_nservices();

	grpc__reflection__v1__list_service_response__init(l);
	l->n_service = (size_t)n;
	l->service = arena_alloc(a, sizeof(void *) * (size_t)(n ? n : 1));
	for (int i = 0; i < n; i++) {
		Grpc__Reflection__V1__ServiceResponse *s =
		    arena_alloc(a, sizeof(*s));

		grpc__reflection__v1__service_response__init(s);
		s->name = (char *)descset_service(i);
		l->service[i] = s;
	}
	out->message_response_case =
	    GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_LIST_SERVICES_RESPONSE;
	out->list_services_response = l;
}

static rk_err
on_request(rpc_call *c, const ProtobufCMessage *req, ProtobufCMessage **resp)
{
	const RQ *r = (const void *)req;
	arena *a = rpc_msg_arena(c);
	RS *out = arena_alloc(a, sizeof(*out));
	const void **files = NULL;
	size_t *lens = NULL;
	int n = 0;
	rk_err rc = RK_ENOTFOUND;

	grpc__reflection__v1__server_reflection_response__init(out);
	out->valid_host = r->host ? r->host : "";
	out->original_request = (RQ *)r;
	switch (r->message_request_case) {
	case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_LIST_SERVICES:
		list_services(out, a);
		break;
	case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_BY_FILENAME:
		rc = descset_files_for_name(r->file_by_filename, &files, &lens,
		    &n);
		if (rc == RK_OK)
			set_files(out, a, files, lens, n);
		else
			set_error(out, a, 5, "file not found");
		break;
	case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_SYMBOL:
		rc = descset_files_for_symbol(r->file_containing_symbol, &files,
		    &lens, &n);
		if (rc == RK_OK)
			set_files(out, a, files, lens, n);
		else
			set_error(out, a, 5, "symbol not found");
		break;
	case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_EXTENSION:
	case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_ALL_EXTENSION_NUMBERS_OF_TYPE:
		set_error(out, a, 5, "extensions not supported");
		break;
	default:
		set_error(out, a, 3, "unknown request");
		break;
	}
	*resp = &out->base;
	free(files);
	free(lens);
	return (RK_OK);
}

static rk_err
on_end(rpc_call *c, ProtobufCMessage **resp)
{
	(void)c;
	*resp = NULL;
	return (RK_OK);
}

const struct rpc_handler reflection_handlers[] = {
	{.path = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
	    .inline_ = true, .message = on_request, .finish = on_end},
	{.path = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
	    .inline_ = true, .message = on_request, .finish = on_end,
	    .in = &grpc__reflection__v1__server_reflection_request__descriptor,
	    .out = &grpc__reflection__v1__server_reflection_response__descriptor},
	{.path = NULL},
};
