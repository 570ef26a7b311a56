/*
 * rkclient.c - blocking unary and client-streaming calls.
 *
 * Each call gets a pluck completion queue; every batch is waited for
 * before the next, which is all a CLI and tests need.
 */
#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "google/rpc/error_details.pb-c.h"
#include "google/rpc/status.pb-c.h"
#include "mem.h"
#include "rkclient.h"

struct rkc {
	grpc_channel *ch;
	char *auth;		/* "Bearer ..." or NULL */
};

struct rkc_stream {
	rkc *c;
	grpc_call *call;
	grpc_completion_queue *cq;
	grpc_metadata md;
	bool failed;
};

static const char *const code_names[] = {"OK", "CANCELLED", "UNKNOWN",
    "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
    "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE",
    "DATA_LOSS", "UNAUTHENTICATED"};

const char *
rkc_code_name(int code)
{
	return (code >= 0 && code <= 16 ? code_names[code] : "?");
}

rk_err
rkc_err_from_code(int code)
{
	static const rk_err map[] = {RK_OK, RK_ECANCELED, RK_EINTERNAL,
	    RK_EINVAL, RK_ETIMEDOUT, RK_ENOTFOUND, RK_ECONFLICT, RK_EPERM,
	    RK_ETOOBIG, RK_EPRECOND, RK_ERETRY, RK_EINVAL, RK_EUNIMPL,
	    RK_EINTERNAL, RK_EUNAVAIL, RK_EINTERNAL, RK_EAUTH};

	return (code >= 0 && code <= 16 ? map[code] : RK_EINTERNAL);
}

rk_err
rkc_open(const char *target, const char *token, const char *ca_file,
    rkc **out)
{
	grpc_channel_credentials *creds;
	grpc_arg args[2];
	grpc_channel_args cargs = {2, args};
	rkc *c = xcalloc(1, sizeof(*c));

	grpc_init();
	if (ca_file != NULL && *ca_file != '\0') {
		FILE *fp = fopen(ca_file, "rb");
		char *pem;
		long len;

		if (fp == NULL) {
			free(c);
			return (RK_EINVAL);
		}
		fseek(fp, 0, SEEK_END);
		len = ftell(fp);
		rewind(fp);
		pem = xcalloc(1, (size_t)len + 1);
		if (fread(pem, 1, (size_t)len, fp) != (size_t)len)
			len = 0;
		fclose(fp);
		creds = grpc_ssl_credentials_create(pem, NULL, NULL, NULL);
		free(pem);
	} else {
		creds = grpc_insecure_credentials_create();
	}
	args[0] = (grpc_arg){GRPC_ARG_INTEGER,
	    GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, {.integer = 64 << 20}};
	args[1] = (grpc_arg){GRPC_ARG_INTEGER,
	    GRPC_ARG_MAX_SEND_MESSAGE_LENGTH, {.integer = 64 << 20}};
	c->ch = grpc_channel_create(target, creds, &cargs);
	grpc_channel_credentials_release(creds);
	if (token != NULL && *token != '\0')
		c->auth = xasprintf("Bearer %s", token);
	*out = c;
	return (RK_OK);
}

void
rkc_close(rkc *c)
{
	if (c == NULL)
		return;
	grpc_channel_destroy(c->ch);
	free(c->auth);
	free(c);
	grpc_shutdown();
}

static gpr_timespec
deadline(int timeout_ms)
{
	if (timeout_ms <= 0)
		return (gpr_inf_future(GPR_CLOCK_REALTIME));
	return (gpr_time_add(gpr_now(GPR_CLOCK_REALTIME),
	    gpr_time_from_millis(timeout_ms, GPR_TIMESPAN)));
}

static bool
wait_tag(grpc_completion_queue *cq, void *tag)
{
	grpc_event ev = grpc_completion_queue_pluck(cq, tag,
	    gpr_inf_future(GPR_CLOCK_REALTIME), NULL);

	return (ev.type == GRPC_OP_COMPLETE && ev.success);
}

static grpc_byte_buffer *
pack(const ProtobufCMessage *msg)
{
	size_t len = protobuf_c_message_get_packed_size(msg);
	grpc_slice s = grpc_slice_malloc(len);
	grpc_byte_buffer *bb;

	protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(s));
	bb = grpc_raw_byte_buffer_create(&s, 1);
	grpc_slice_unref(s);
	return (bb);
}

static ProtobufCMessage *
unpack(const ProtobufCMessageDescriptor *d, grpc_byte_buffer *bb)
{
	grpc_byte_buffer_reader r;
	ProtobufCMessage *m;
	grpc_slice s;

	if (bb == NULL || !grpc_byte_buffer_reader_init(&r, bb))
		return (NULL);
	s = grpc_byte_buffer_reader_readall(&r);
	m = protobuf_c_message_unpack(d, NULL, GRPC_SLICE_LENGTH(s),
	    GRPC_SLICE_START_PTR(s));
	grpc_slice_unref(s);
	grpc_byte_buffer_reader_destroy(&r);
	return (m);
}

/* Fills st from the status, its details and the trailing metadata. */
static void
fill_status(struct rkc_status *st, grpc_status_code code, grpc_slice details,
    grpc_metadata_array *trailers)
{
	if (st == NULL)
		return;
	memset(st, 0, sizeof(*st));
	st->code = (int)code;
	snprintf(st->message, sizeof(st->message), "%.*s",
	    (int)GRPC_SLICE_LENGTH(details),
	    (const char *)GRPC_SLICE_START_PTR(details));
	for (size_t i = 0; i < trailers->count; i++) {
		grpc_metadata *m = &trailers->metadata[i];
		Google__Rpc__Status *s;

		if (grpc_slice_str_cmp(m->key, "grpc-status-details-bin") != 0)
			continue;
		s = google__rpc__status__unpack(NULL, GRPC_SLICE_LENGTH(m->value),
		    GRPC_SLICE_START_PTR(m->value));
		if (s == NULL)
			continue;
		for (size_t d = 0; d < s->n_details; d++) {
			Google__Rpc__BadRequest *br;

			if (strcmp(s->details[d]->type_url,
			    "type.googleapis.com/google.rpc.BadRequest") != 0)
				continue;
			br = google__rpc__bad_request__unpack(NULL,
			    s->details[d]->value.len, s->details[d]->value.data);
			for (size_t v = 0; br && v < br->n_field_violations &&
			    st->nviolations < RKC_MAX_VIOLATIONS; v++) {
				snprintf(st->field[st->nviolations], 128, "%s",
				    br->field_violations[v]->field);
				snprintf(st->description[st->nviolations], 160,
				    "%s", br->field_violations[v]->description);
				st->nviolations++;
			}
			if (br)
				google__rpc__bad_request__free_unpacked(br, NULL);
		}
		google__rpc__status__free_unpacked(s, NULL);
	}
}

/* Shuts cq down, drains it and destroys it. */
static void
cq_destroy(grpc_completion_queue *cq)
{
	grpc_completion_queue_shutdown(cq);
	while (grpc_completion_queue_pluck(cq, NULL,
	    gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type != GRPC_QUEUE_SHUTDOWN)
		;
	grpc_completion_queue_destroy(cq);
}

static grpc_call *
new_call(rkc *c, grpc_completion_queue *cq, const char *method, int timeout_ms)
{
	grpc_slice m = grpc_slice_from_copied_string(method);
	grpc_call *call = grpc_channel_create_call(c->ch, NULL,
	    GRPC_PROPAGATE_DEFAULTS, cq, m, NULL, deadline(timeout_ms), NULL);

	grpc_slice_unref(m);
	return (call);
}

static void
set_md(rkc *c, grpc_metadata *md, grpc_op *op)
{
	op->op = GRPC_OP_SEND_INITIAL_METADATA;
	if (c->auth != NULL) {
		md->key = grpc_slice_from_static_string("authorization");
		md->value = grpc_slice_from_copied_string(c->auth);
		op->data.send_initial_metadata.count = 1;
		op->data.send_initial_metadata.metadata = md;
	}
}

/* Runs the closing batch and unpacks the reply. */
static rk_err
finish_call(rkc *c, grpc_call *call, grpc_completion_queue *cq, grpc_op *ops,
    size_t n, const ProtobufCMessageDescriptor *resp_desc,
    ProtobufCMessage **resp, struct rkc_status *st)
{
	grpc_metadata_array initial, trailers;
	grpc_byte_buffer *rbuf = NULL;
	grpc_status_code code = GRPC_STATUS_UNKNOWN;
	grpc_slice details = grpc_empty_slice();
	rk_err rc;
	int tag;

	(void)c;
	grpc_metadata_array_init(&initial);
	grpc_metadata_array_init(&trailers);
	ops[n].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[n].data.recv_initial_metadata.recv_initial_metadata = &initial;
	n++;
	ops[n].op = GRPC_OP_RECV_MESSAGE;
	ops[n].data.recv_message.recv_message = &rbuf;
	n++;
	ops[n].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[n].data.recv_status_on_client.trailing_metadata = &trailers;
	ops[n].data.recv_status_on_client.status = &code;
	ops[n].data.recv_status_on_client.status_details = &details;
	n++;
	if (grpc_call_start_batch(call, ops, n, &tag, NULL) != GRPC_CALL_OK ||
	    !wait_tag(cq, &tag))
		code = GRPC_STATUS_INTERNAL;
	fill_status(st, code, details, &trailers);
	*resp = NULL;
	if (code == GRPC_STATUS_OK) {
		*resp = unpack(resp_desc, rbuf);
		rc = *resp ? RK_OK : RK_EPROTO;
	} else {
		rc = rkc_err_from_code((int)code);
	}
	if (rbuf != NULL)
		grpc_byte_buffer_destroy(rbuf);
	grpc_slice_unref(details);
	grpc_metadata_array_destroy(&initial);
	grpc_metadata_array_destroy(&trailers);
	return (rc);
}

rk_err
rkc_unary(rkc *c, const char *method, const ProtobufCMessage *req,
    const ProtobufCMessageDescriptor *resp_desc, int timeout_ms,
    ProtobufCMessage **resp, struct rkc_status *st)
{
	grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
	grpc_call *call = new_call(c, cq, method, timeout_ms);
	grpc_byte_buffer *bb = pack(req);
	grpc_metadata md;
	grpc_op ops[6];
	rk_err rc;

	memset(ops, 0, sizeof(ops));
	memset(&md, 0, sizeof(md));
	set_md(c, &md, &ops[0]);
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = bb;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	rc = finish_call(c, call, cq, ops, 3, resp_desc, resp, st);
	grpc_byte_buffer_destroy(bb);
	if (c->auth != NULL)
		grpc_slice_unref(md.value);
	grpc_call_unref(call);
	cq_destroy(cq);
	return (rc);
}

rk_err
rkc_stream_open(rkc *c, const char *method, int timeout_ms, rkc_stream **out)
{
	rkc_stream *s = xcalloc(1, sizeof(*s));
	grpc_op op;
	int tag;

	s->c = c;
	s->cq = grpc_completion_queue_create_for_pluck(NULL);
	s->call = new_call(c, s->cq, method, timeout_ms);
	memset(&op, 0, sizeof(op));
	set_md(c, &s->md, &op);
	if (grpc_call_start_batch(s->call, &op, 1, &tag, NULL) != GRPC_CALL_OK ||
	    !wait_tag(s->cq, &tag))
		s->failed = true;
	*out = s;
	return (RK_OK);
}

rk_err
rkc_stream_send(rkc_stream *s, const ProtobufCMessage *msg)
{
	grpc_byte_buffer *bb;
	grpc_op op;
	int tag;

	if (s->failed)
		return (RK_ECANCELED);
	bb = pack(msg);
	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_SEND_MESSAGE;
	op.data.send_message.send_message = bb;
	if (grpc_call_start_batch(s->call, &op, 1, &tag, NULL) != GRPC_CALL_OK ||
	    !wait_tag(s->cq, &tag))
		s->failed = true;
	grpc_byte_buffer_destroy(bb);
	return (s->failed ? RK_ECANCELED : RK_OK);
}

rk_err
rkc_stream_close(rkc_stream *s, const ProtobufCMessageDescriptor *resp_desc,
    ProtobufCMessage **resp, struct rkc_status *st)
{
	grpc_op ops[4];
	rk_err rc;

	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	rc = finish_call(s->c, s->call, s->cq, ops, 1, resp_desc, resp, st);
	if (s->c->auth != NULL)
		grpc_slice_unref(s->md.value);
	grpc_call_unref(s->call);
	grpc_completion_queue_shutdown(s->cq);
	while (grpc_completion_queue_pluck(s->cq, NULL,
	    gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type != GRPC_QUEUE_SHUTDOWN)
		;
	grpc_completion_queue_destroy(s->cq);
	free(s);
	return (rc);
}

rk_err
rkc_server_stream(rkc *c, const char *method, const ProtobufCMessage *req,
    const ProtobufCMessageDescriptor *resp_desc, int timeout_ms,
    rkc_each_fn each, void *arg, struct rkc_status *st)
{
	grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
	grpc_call *call = new_call(c, cq, method, timeout_ms);
	grpc_byte_buffer *bb = pack(req), *rbuf = NULL;
	grpc_metadata_array initial, trailers;
	grpc_status_code code = GRPC_STATUS_UNKNOWN;
	grpc_slice details = grpc_empty_slice();
	grpc_metadata md;
	grpc_op ops[4];
	rk_err rc = RK_OK;
	int tag, stag;

	grpc_metadata_array_init(&initial);
	grpc_metadata_array_init(&trailers);
	memset(ops, 0, sizeof(ops));
	memset(&md, 0, sizeof(md));
	set_md(c, &md, &ops[0]);
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = bb;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[3].data.recv_initial_metadata.recv_initial_metadata = &initial;
	if (grpc_call_start_batch(call, ops, 4, &tag, NULL) != GRPC_CALL_OK ||
	    !wait_tag(cq, &tag))
		rc = RK_EUNAVAIL;
	/* messages until the server ends the stream (a NULL buffer) */
	while (rc == RK_OK) {
		ProtobufCMessage *m;

		memset(ops, 0, sizeof(ops));
		ops[0].op = GRPC_OP_RECV_MESSAGE;
		ops[0].data.recv_message.recv_message = &rbuf;
		if (grpc_call_start_batch(call, ops, 1, &tag, NULL) !=
		    GRPC_CALL_OK || !wait_tag(cq, &tag) || rbuf == NULL)
			break;
		m = unpack(resp_desc, rbuf);
		grpc_byte_buffer_destroy(rbuf);
		rbuf = NULL;
		if (m == NULL) {
			rc = RK_EPROTO;
			break;
		}
		rc = each(m, arg);
		protobuf_c_message_free_unpacked(m, NULL);
		if (rc != RK_OK)
			grpc_call_cancel(call, NULL);
	}
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[0].data.recv_status_on_client.trailing_metadata = &trailers;
	ops[0].data.recv_status_on_client.status = &code;
	ops[0].data.recv_status_on_client.status_details = &details;
	if (grpc_call_start_batch(call, ops, 1, &stag, NULL) != GRPC_CALL_OK ||
	    !wait_tag(cq, &stag))
		code = GRPC_STATUS_INTERNAL;
	fill_status(st, code, details, &trailers);
	if (rc == RK_OK && code != GRPC_STATUS_OK)
		rc = rkc_err_from_code((int)code);
	grpc_byte_buffer_destroy(bb);
	grpc_slice_unref(details);
	grpc_metadata_array_destroy(&initial);
	grpc_metadata_array_destroy(&trailers);
	if (c->auth != NULL)
		grpc_slice_unref(md.value);
	grpc_call_unref(call);
	cq_destroy(cq);
	return (rc);
}
