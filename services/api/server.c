/*
 * server.c - gRPC C-core server: completion queues, call state machines,
 * the handler pool, authentication and status replies.
 *
 * Every call is a small state machine driven by completion-queue events
 * (tags). Its life: REQUEST (armed, then matched) -> an early RECV_CLOSE
 * batch (learns about cancellation) -> the handler (inline or on the
 * pool) -> RECV/SEND batches for streams -> one FINAL batch with the
 * status. A reference count keeps the call until its last batch is done.
 *
 * SECURITY
 *	Receive sizes are capped by channel arguments. Tokens are checked on
 *	a handler thread before any handler runs; public methods are only the
 *	inline ones (health, reflection). Clients get generic messages; the
 *	detail is logged with the request id.
 *
 * CONCURRENCY
 *	A call's mutable state is guarded by its mutex; gRPC batches on one
 *	call are started under it. The handler pool is a mutex+condvar FIFO.
 *
 * DIAGNOSTICS
 *	RPC-ERROR (a call failed with a server-side cause), RPC-DENIED,
 *	RPC-OVERLOAD, SERVER-SHUTDOWN.
 */
#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/time.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "clock.h"
#include "log.h"
#include "mem.h"
#include "metrics.h"
#include "pbcheck.h"
#include "replica.h"
#include "server.h"
#include "status.h"

#define ARM_PER_METHOD 4
#define MAX_VIOLATIONS 64

enum tag_kind { T_REQUEST, T_RECV, T_SEND, T_FINAL, T_CLOSE, T_SHUTDOWN };
enum work_kind { W_START, W_MESSAGE, W_FINISH };

struct tag {
	struct rpc_call *c;
	enum tag_kind kind;
};

struct cq_thread {
	server *s;
	grpc_completion_queue *cq;
	pthread_t th;
};

struct rpc_call {
	server *s;
	struct cq_thread *t;
	struct server_method *m;	/* NULL: generic (unknown method) */
	grpc_call *call;
	gpr_timespec deadline;
	grpc_metadata_array md;
	grpc_call_details details;
	grpc_byte_buffer *payload;	/* initial or last received message */
	grpc_byte_buffer *send_buf;
	grpc_byte_buffer *pending_buf;
	int close_cancelled;
	grpc_status_code final_code;
	grpc_slice final_msg;
	grpc_metadata trailer;
	bool has_trailer;
	bool md_sent, send_busy, final_requested, final_started, closed;
	rk_err final_err;
	char *final_text;
	struct tag t_request, t_recv, t_send, t_final, t_close;
	pthread_mutex_t mu;
	pthread_cond_t sent_cv;	/* a send finished (rpc_stream_send_all) */
	int refs;
	arena *a, *ma;
	void *state;
	char rid[48];
	grpc_metadata rid_md;	/* x-request-id, echoed */
	int64_t start_us;	/* monotonic, when the call matched */
	unsigned role;
	int64_t token_id;
	struct field_violation viol[MAX_VIOLATIONS];
	int nviol;
	char *errmsg;
	enum work_kind work;
	bool busy;		/* a handler thread runs this call's work */
	bool has_pending;	/* ... and this arrived meanwhile */
	enum work_kind pending;
	struct rpc_call *next;
};

/* What a handler thread is running, for the deadline watchdog. */
struct slot {
	struct server *s;
	pthread_mutex_t mu;
	db_conn *db;
	db_conn *rdb;		/* the replica's, once opened */
	int64_t deadline_ms;	/* monotonic; 0 = none or idle */
	char rid[48];
};

struct server {
	const struct server_config *cfg;
	grpc_server *server;
	struct server_method *methods;
	int nmethods;
	struct cq_thread *cqs;
	int ncq;
	/* handler pool */
	pthread_mutex_t mu;
	pthread_cond_t cv, done_cv;
	struct rpc_call *head, *tail;
	int qlen;
	bool stopping, shutdown_done;
	pthread_t *handlers;
	int nhandlers;
	struct slot *slots;
	int nslots;
	pthread_t watchdog;
	struct tag shutdown_tag;
};

/*
 * The handler thread's connection. Per thread, not per call: the next
 * event of a stream may already run on another handler thread while this
 * one unwinds.
 */
static _Thread_local db_conn *thread_db, *thread_read_db;
static _Thread_local struct slot *thread_slot;

/* Named after go-grpc-prometheus's grpc_server_handled_total and
 * grpc_server_handling_seconds, with the rekindle_ prefix. */
static struct metric handled = METRIC_COUNTER(
    "rekindle_grpc_server_handled_total", "RPCs completed, by method and "
    "status code.", "grpc_service", "grpc_method", "grpc_code");
static struct metric handling = METRIC_HISTOGRAM(
    "rekindle_grpc_server_handling_seconds", "Time from a call's arrival to "
    "its status, by method.", metric_latency_buckets, "grpc_service",
    "grpc_method");
static struct metric reads = METRIC_COUNTER("rekindle_reads_total",
    "Queries of heavy reads (reports, List calls, exports), by the server "
    "that answered them: replica or primary.", "server");
static struct metric queued = METRIC_GAUGE("rekindle_grpc_server_queue",
    "Calls waiting for a handler thread.", NULL);

static void arm(struct cq_thread *t, struct server_method *m);
static void run_work(struct rpc_call *c);

/* ---- call lifetime ---- */

void
rpc_call_ref(rpc_call *c)
{
	pthread_mutex_lock(&c->mu);
	c->refs++;
	pthread_mutex_unlock(&c->mu);
}

static void
call_destroy(rpc_call *c)
{
	if (c->call != NULL)
		grpc_call_unref(c->call);
	grpc_metadata_array_destroy(&c->md);
	grpc_call_details_destroy(&c->details);
	if (c->payload != NULL)
		grpc_byte_buffer_destroy(c->payload);
	if (c->send_buf != NULL)
		grpc_byte_buffer_destroy(c->send_buf);
	if (c->pending_buf != NULL)
		grpc_byte_buffer_destroy(c->pending_buf);
	if (c->final_started) {
		grpc_slice_unref(c->final_msg);
		if (c->has_trailer)
			grpc_slice_unref(c->trailer.value);
	}
	free(c->final_text);
	arena_destroy(c->a);
	arena_destroy(c->ma);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->sent_cv);
	free(c);
}

/* Drops a reference taken with c->mu held; unlocks. */
static void
unref_locked(rpc_call *c)
{
	int left = --c->refs;

	pthread_mutex_unlock(&c->mu);
	if (left == 0)
		call_destroy(c);
}

void
rpc_call_unref(rpc_call *c)
{
	pthread_mutex_lock(&c->mu);
	unref_locked(c);
}

static rpc_call *
call_new(struct cq_thread *t, struct server_method *m)
{
	rpc_call *c = xcalloc(1, sizeof(*c));

	c->s = t->s;
	c->t = t;
	c->m = m;
	c->refs = 1;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->sent_cv, NULL);
	grpc_metadata_array_init(&c->md);
	grpc_call_details_init(&c->details);
	c->t_request = (struct tag){c, T_REQUEST};
	c->t_recv = (struct tag){c, T_RECV};
	c->t_send = (struct tag){c, T_SEND};
	c->t_final = (struct tag){c, T_FINAL};
	c->t_close = (struct tag){c, T_CLOSE};
	return (c);
}

/* ---- accessors for handlers ---- */

const char *
rpc_path(rpc_call *c)
{
	return (c->m->path);
}

arena *
rpc_arena(rpc_call *c)
{
	if (c->a == NULL)
		c->a = arena_create(16 * 1024);
	return (c->a);
}

arena *
rpc_msg_arena(rpc_call *c)
{
	if (c->ma == NULL)
		c->ma = arena_create(64 * 1024);
	return (c->ma);
}

db_conn *
rpc_db(rpc_call *c)
{
	(void)c;
	return (thread_db);
}

db_conn *
rpc_read_db(rpc_call *c)
{
	char err[256];

	if (!replica_fresh() || thread_db == NULL) {
		metric_add(&reads, 1, "primary");
		return (rpc_db(c));
	}
	if (thread_read_db == NULL) {
		if (db_open(replica_url(), "rekindle-api/read", &thread_read_db,
		    err, sizeof(err)) != RK_OK) {
			thread_read_db = NULL;
			log_warn("REPLICA-UNAVAILABLE", "reading from the primary: "
			    "%s", err);
			metric_add(&reads, 1, "primary");
			return (rpc_db(c));
		}
		pthread_mutex_lock(&thread_slot->mu);
		thread_slot->rdb = thread_read_db;
		pthread_mutex_unlock(&thread_slot->mu);
	}
	metric_add(&reads, 1, "replica");
	return (thread_read_db);
}

void **
rpc_state(rpc_call *c)
{
	return (&c->state);
}

const char *
rpc_request_id(rpc_call *c)
{
	return (c->rid);
}

unsigned
rpc_role(rpc_call *c)
{
	return (c->role);
}

int64_t
rpc_token_id(rpc_call *c)
{
	return (c->token_id);
}

int64_t
rpc_remaining_ms(rpc_call *c)
{
	gpr_timespec now, left;

	if (gpr_time_cmp(c->deadline, gpr_inf_future(c->deadline.clock_type)) ==
	    0 || c->deadline.tv_sec == 0)
		return (-1);
	now = gpr_now(c->deadline.clock_type);
	left = gpr_time_sub(c->deadline, now);
	if (left.tv_sec < 0)
		return (0);
	return ((int64_t)left.tv_sec * 1000 + left.tv_nsec / 1000000);
}

static const char *
role_name(unsigned role)
{
	return (role == ROLE_ADMIN ? "admin" : role == ROLE_SERVICE ?
	    "service" : role == ROLE_AGENT ? "agent" : "");
}

rk_err
rpc_begin(rpc_call *c)
{
	const char *who;
	rk_err rc;

	if (rpc_remaining_ms(c) == 0)
		return (RK_ETIMEDOUT);
	/* The watchdog cancels statements still running at the deadline. */
	if ((rc = db_begin(thread_db)) != RK_OK)
		return (rc);
	/*
	 * Who is changing things, for the audit trail the database writes in
	 * this transaction (migration 020): "token|role|method|request".
	 */
	who = arena_printf(rpc_arena(c), "%s|%s|%s|%s", c->token_id > 0 ?
	    arena_printf(rpc_arena(c), "%lld", (long long)c->token_id) : "",
	    *role_name(c->role) ? role_name(c->role) : "public",
	    c->m ? c->m->path : "?", c->rid);
	if ((rc = db_execp(thread_db, "audit_actor", "SELECT set_config("
	    "'rekindle.actor', $1, true)", 1, &who, NULL)) != RK_OK)
		db_rollback(thread_db);
	return (rc);
}

rk_err
rpc_end(rpc_call *c, rk_err rc)
{
	(void)c;
	if (rc == RK_OK)
		return (db_commit(thread_db));
	db_rollback(thread_db);
	return (rc);
}

rk_err
rpc_bad_field(rpc_call *c, const char *field, const char *fmt, ...)
{
	va_list ap;
	char buf[256];

	if (c->nviol < MAX_VIOLATIONS) {
		va_start(ap, fmt);
		vsnprintf(buf, sizeof(buf), fmt, ap);
		va_end(ap);
		c->viol[c->nviol].field = arena_strdup(rpc_arena(c), field);
		c->viol[c->nviol].description = arena_strdup(rpc_arena(c), buf);
		c->nviol++;
	}
	return (RK_EINVAL);
}

int
rpc_nviolations(rpc_call *c)
{
	return (c->nviol);
}

rk_err
rpc_fields_ok(rpc_call *c)
{
	if (c->nviol == 0)
		return (RK_OK);
	return (rpc_error(c, RK_EINVAL, "%d invalid field(s); nothing was "
	    "written", c->nviol));
}

rk_err
rpc_error(rpc_call *c, rk_err err, const char *fmt, ...)
{
	va_list ap;
	char buf[512];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	c->errmsg = arena_strdup(rpc_arena(c), buf);
	return (err);
}

/* ---- batches ---- */

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
unpack(const ProtobufCMessageDescriptor *d, grpc_byte_buffer *bb, arena *a)
{
	grpc_byte_buffer_reader r;
	ProtobufCMessage *msg;
	grpc_slice s;

	if (!grpc_byte_buffer_reader_init(&r, bb))
		return (NULL);
	s = grpc_byte_buffer_reader_readall(&r);
	msg = protobuf_c_message_unpack(d, arena_pb_allocator(a),
	    GRPC_SLICE_LENGTH(s), GRPC_SLICE_START_PTR(s));
	grpc_slice_unref(s);
	grpc_byte_buffer_reader_destroy(&r);
	return (msg);
}

static void
start_batch(rpc_call *c, grpc_op *ops, size_t n, struct tag *tag)
{
	grpc_call_error e;

	c->refs++;
	e = grpc_call_start_batch(c->call, ops, n, tag, NULL);
	if (e != GRPC_CALL_OK) {
		c->refs--;
		log_error("RPC-BATCH-FAIL", "grpc_call_start_batch failed: %d",
		    (int)e);
	}
}

static const char *const code_names[] = {"OK", "CANCELLED", "UNKNOWN",
    "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
    "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE",
    "DATA_LOSS", "UNAUTHENTICATED"};

/* The call's access log line and metrics, as its status is sent. */
static void
account(rpc_call *c)
{
	const char *path = c->m ? c->m->path : "unknown", *slash;
	const char *code = (unsigned)c->final_code < 17 ?
	    code_names[c->final_code] : "UNKNOWN";
	double seconds = (double)(clock_mono_us() - c->start_us) / 1e6;
	char service[128];

	/* "/rekindle.v1.CustomerService/GetCustomer"; an unknown method is
	 * one label value, never the path a client made up */
	slash = c->m ? strrchr(path, '/') : NULL;
	snprintf(service, sizeof(service), "%.*s", slash ? (int)(slash - path -
	    1) : 7, slash ? path + 1 : "unknown");
	metric_add(&handled, 1, service, slash ? slash + 1 : "unknown", code);
	metric_observe(&handling, seconds, service, slash ? slash + 1 :
	    "unknown");
	log_access(c->rid, path, code, seconds, (long long)c->token_id,
	    role_name(c->role));
}

/* Starts the final status batch, with c->mu held. */
static void
start_final_locked(rpc_call *c, grpc_byte_buffer *resp)
{
	grpc_op ops[4];
	size_t n = 0;
	arena *a = rpc_arena(c);

	if (c->final_started) {
		if (resp != NULL)
			grpc_byte_buffer_destroy(resp);
		return;
	}
	c->final_started = true;
	memset(ops, 0, sizeof(ops));
	if (!c->md_sent) {
		ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
		ops[n].data.send_initial_metadata.count = 1;
		ops[n].data.send_initial_metadata.metadata = &c->rid_md;
		n++;
		c->md_sent = true;
	}
	if (resp != NULL) {
		c->send_buf = resp;
		ops[n].op = GRPC_OP_SEND_MESSAGE;
		ops[n].data.send_message.send_message = resp;
		n++;
	}
	c->final_code = status_from_err(c->final_err);
	account(c);
	c->final_msg = grpc_slice_from_copied_string(c->final_text ?
	    c->final_text : "");
	ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
	ops[n].data.send_status_from_server.status = c->final_code;
	ops[n].data.send_status_from_server.status_details = &c->final_msg;
	if (c->final_code != GRPC_STATUS_OK) {
		size_t len;
		unsigned char *bin = status_details_pack(a, c->final_code,
		    c->final_text ? c->final_text : "", c->viol, c->nviol, &len);

		c->trailer.key = grpc_slice_from_static_string(
		    "grpc-status-details-bin");
		c->trailer.value = grpc_slice_from_copied_buffer((char *)bin, len);
		c->has_trailer = true;
		ops[n].data.send_status_from_server.trailing_metadata = &c->trailer;
		ops[n].data.send_status_from_server.trailing_metadata_count = 1;
	}
	n++;
	if (c->m == NULL) {
		ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
		ops[n].data.recv_close_on_server.cancelled = &c->close_cancelled;
		n++;
	}
	start_batch(c, ops, n, &c->t_final);
}

static const char *
generic_text(rk_err err)
{
	switch (err) {
	case RK_EINVAL:
		return ("invalid argument");
	case RK_EAUTH:
		return ("missing or invalid bearer token");
	case RK_EPERM:
		return ("the token's role may not call this method");
	case RK_EUNAVAIL:
		return ("service temporarily unavailable, retry");
	case RK_EINTERNAL:
	case RK_ESYS:
		return ("internal error");
	default:
		return (rk_strerror(err));
	}
}

/*
 * Ends the call with err (and resp on success). Server-side causes are
 * logged with the request id; the client gets the handler's message or a
 * generic one.
 */
static void
finish(rpc_call *c, rk_err err, const ProtobufCMessage *resp)
{
	grpc_byte_buffer *bb = NULL;

	if (err == RK_OK && resp != NULL)
		bb = pack(resp);
	if (err != RK_OK && err != RK_EINVAL && err != RK_ENOTFOUND &&
	    err != RK_EAUTH && err != RK_EPERM && err != RK_EPRECOND &&
	    err != RK_ECONFLICT && err != RK_EUNIMPL && err != RK_ECANCELED)
		log_warn("RPC-ERROR", "%s failed: %s%s%s",
		    c->m ? c->m->path : "?", rk_strerror(err),
		    thread_db && (err == RK_EUNAVAIL || err == RK_EINTERNAL ||
		    err == RK_ETIMEDOUT) ? ": " : "",
		    thread_db && (err == RK_EUNAVAIL || err == RK_EINTERNAL ||
		    err == RK_ETIMEDOUT) ? db_errmsg(thread_db) : "");
	pthread_mutex_lock(&c->mu);
	if (c->final_started || c->final_requested) {
		pthread_mutex_unlock(&c->mu);
		if (bb != NULL)
			grpc_byte_buffer_destroy(bb);
		return;
	}
	c->final_err = err;
	c->final_text = xstrdup(c->errmsg ? c->errmsg :
	    err == RK_OK ? "" : generic_text(err));
	if (c->send_busy) {
		/* Server stream: finish after the message in flight. */
		c->final_requested = true;
		if (bb != NULL)
			grpc_byte_buffer_destroy(bb);
	} else {
		start_final_locked(c, bb);
	}
	pthread_mutex_unlock(&c->mu);
}

/* Starts a RECV_MESSAGE batch, with c->mu held. */
static void
start_recv_locked(rpc_call *c)
{
	grpc_op op;

	if (c->final_started)
		return;
	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_RECV_MESSAGE;
	op.data.recv_message.recv_message = &c->payload;
	start_batch(c, &op, 1, &c->t_recv);
}

/* Sends bb now, with c->mu held and no send in flight. */
static void
start_send_locked(rpc_call *c, grpc_byte_buffer *bb)
{
	grpc_op ops[2];
	size_t n = 0;

	if (c->final_started) {
		grpc_byte_buffer_destroy(bb);
		return;
	}
	memset(ops, 0, sizeof(ops));
	if (!c->md_sent) {
		ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
		ops[n].data.send_initial_metadata.count = 1;
		ops[n].data.send_initial_metadata.metadata = &c->rid_md;
		n++;
		c->md_sent = true;
	}
	ops[n].op = GRPC_OP_SEND_MESSAGE;
	ops[n].data.send_message.send_message = bb;
	n++;
	c->send_buf = bb;
	c->send_busy = true;
	start_batch(c, ops, n, &c->t_send);
}

void
rpc_stream_send(rpc_call *c, const ProtobufCMessage *msg)
{
	grpc_byte_buffer *bb = pack(msg);

	pthread_mutex_lock(&c->mu);
	if (c->final_started || c->final_requested || c->closed) {
		grpc_byte_buffer_destroy(bb);
	} else if (c->send_busy) {
		if (c->pending_buf != NULL)
			grpc_byte_buffer_destroy(c->pending_buf);
		c->pending_buf = bb;
	} else {
		start_send_locked(c, bb);
	}
	pthread_mutex_unlock(&c->mu);
}

rk_err
rpc_stream_send_all(rpc_call *c, const ProtobufCMessage *msg)
{
	grpc_byte_buffer *bb = pack(msg);
	rk_err rc = RK_OK;

	pthread_mutex_lock(&c->mu);
	while (c->send_busy && !c->final_started && !c->closed) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&c->sent_cv, &c->mu, &ts);
		if (c->send_busy && rpc_remaining_ms(c) == 0)
			break;
	}
	if (c->final_started || c->final_requested || c->closed) {
		rc = RK_ECANCELED;
	} else if (c->send_busy) {
		rc = RK_ETIMEDOUT;
	} else {
		start_send_locked(c, bb);
		bb = NULL;
	}
	pthread_mutex_unlock(&c->mu);
	if (bb != NULL)
		grpc_byte_buffer_destroy(bb);
	return (rc);
}

void
rpc_stream_finish(rpc_call *c, rk_err err, const char *message)
{
	if (message != NULL)
		c->errmsg = arena_strdup(rpc_arena(c), message);
	finish(c, err, NULL);
}

/* ---- the handler pool ---- */

static void
pool_push(rpc_call *c, enum work_kind w)
{
	server *s = c->s;
	bool overload;

	c->work = w;
	rpc_call_ref(c);	/* the handler thread's */
	pthread_mutex_lock(&s->mu);
	overload = s->qlen >= s->cfg->max_queue;
	if (!overload) {
		c->next = NULL;
		if (s->tail)
			s->tail->next = c;
		else
			s->head = c;
		s->tail = c;
		s->qlen++;
		pthread_cond_signal(&s->cv);
	}
	metric_set(&queued, s->qlen);
	pthread_mutex_unlock(&s->mu);
	if (overload) {
		log_warn("RPC-OVERLOAD", "handler queue full (%d calls)",
		    s->cfg->max_queue);
		c->errmsg = arena_strdup(rpc_arena(c), "server overloaded, retry");
		finish(c, RK_ETOOBIG, NULL);
		rpc_call_unref(c);
	}
}

static void *
handler_main(void *arg)
{
	struct slot *slot = arg;
	server *s = slot->s;
	db_conn *db = NULL;
	char err[512];

	thread_slot = slot;

	while (!s->stopping && db_open(s->cfg->database_url, "rekindle-api",
	    &db, err, sizeof(err)) != RK_OK) {
		log_warn("DB-UNAVAILABLE", "handler could not connect: %s", err);
		sleep(1);
	}
	thread_db = db;
	pthread_mutex_lock(&slot->mu);
	slot->db = db;
	pthread_mutex_unlock(&slot->mu);
	for (;;) {
		rpc_call *c;

		pthread_mutex_lock(&s->mu);
		while (s->head == NULL && !s->stopping)
			pthread_cond_wait(&s->cv, &s->mu);
		if (s->head == NULL) {
			pthread_mutex_unlock(&s->mu);
			break;
		}
		c = s->head;
		s->head = c->next;
		if (s->head == NULL)
			s->tail = NULL;
		s->qlen--;
		metric_set(&queued, s->qlen);
		pthread_mutex_unlock(&s->mu);
		for (;;) {
			run_work(c);
			pthread_mutex_lock(&c->mu);
			if (!c->has_pending) {
				c->busy = false;
				pthread_mutex_unlock(&c->mu);
				break;
			}
			c->work = c->pending;
			c->has_pending = false;
			pthread_mutex_unlock(&c->mu);
		}
		rpc_call_unref(c);
	}
	pthread_mutex_lock(&slot->mu);
	slot->db = NULL;
	slot->rdb = NULL;
	pthread_mutex_unlock(&slot->mu);
	db_close(db);
	db_close(thread_read_db);
	thread_read_db = NULL;
	return (NULL);
}

/*
 * Cancels the statement of any handler thread whose call is past its
 * deadline, so a client's deadline frees the server's thread too.
 */
static void *
watchdog_main(void *arg)
{
	server *s = arg;

	while (!s->stopping) {
		int64_t now = clock_mono_ms();

		for (int i = 0; i < s->nslots; i++) {
			struct slot *sl = &s->slots[i];

			pthread_mutex_lock(&sl->mu);
			if (sl->deadline_ms != 0 && now > sl->deadline_ms &&
			    sl->db != NULL) {
				log_warn("RPC-DEADLINE", "call %s passed its deadline; "
				    "cancelling its statement", sl->rid);
				(void)db_cancel(sl->db);
				if (sl->rdb != NULL)
					(void)db_cancel(sl->rdb);
				sl->deadline_ms = 0;
			}
			pthread_mutex_unlock(&sl->mu);
		}
		usleep(20000);
	}
	return (NULL);
}

/* ---- running handlers ---- */

static rk_err
authenticate(rpc_call *c)
{
	rk_err rc = RK_EAUTH;

	for (size_t i = 0; i < c->md.count; i++) {
		grpc_metadata *md = &c->md.metadata[i];
		size_t len = GRPC_SLICE_LENGTH(md->value);
		char *v;

		if (grpc_slice_str_cmp(md->key, "authorization") != 0)
			continue;
		v = arena_strndup(rpc_arena(c),
		    (const char *)GRPC_SLICE_START_PTR(md->value), len);
		if (strlen(v) != len)
			break;
		rc = auth_check(thread_db, v, &c->role, &c->token_id);
		break;
	}
	if (rc == RK_OK && (c->role & c->m->roles) == 0)
		rc = RK_EPERM;
	if (rc == RK_EAUTH || rc == RK_EPERM)
		log_info("RPC-DENIED", "%s: %s (token %lld)", c->m->path,
		    rk_strerror(rc), (long long)c->token_id);
	return (rc);
}

static void
do_start(rpc_call *c)
{
	const struct rpc_handler *h = c->m->h;
	ProtobufCMessage *req, *resp = NULL;
	rk_err rc;

	if (c->m->roles != 0 && (rc = authenticate(c)) != RK_OK) {
		finish(c, rc, NULL);
		return;
	}
	if (rpc_remaining_ms(c) == 0) {
		finish(c, RK_ETIMEDOUT, NULL);
		return;
	}
	switch (c->m->kind) {
	case RPC_UNARY:
	case RPC_SERVER_STREAM:
		req = c->payload ? unpack(c->m->in, c->payload, rpc_arena(c)) :
		    NULL;
		if (req == NULL) {
			finish(c, rpc_error(c, RK_EINVAL, "malformed %s message",
			    c->m->in->name), NULL);
			return;
		}
		if ((rc = pbcheck_request(c, req)) != RK_OK) {
			finish(c, rc, NULL);
			return;
		}
		rc = h->unary(c, req, c->m->kind == RPC_UNARY ? &resp : NULL);
		if (rc == RK_OK && resp != NULL)
			pbcheck_response(c, resp);
		if (c->m->kind == RPC_UNARY || rc != RK_OK)
			finish(c, rc, rc == RK_OK ? resp : NULL);
		return;
	case RPC_CLIENT_STREAM:
	case RPC_BIDI:
		pthread_mutex_lock(&c->mu);
		start_recv_locked(c);
		pthread_mutex_unlock(&c->mu);
		return;
	}
}

static void
do_message(rpc_call *c)
{
	ProtobufCMessage *req, *resp = NULL;
	grpc_byte_buffer *bb = NULL;
	rk_err rc;

	req = unpack(c->m->in, c->payload, rpc_msg_arena(c));
	grpc_byte_buffer_destroy(c->payload);
	c->payload = NULL;
	if (req != NULL && c->m->kind == RPC_CLIENT_STREAM) {
		/* Receive the next message while this one is handled; its work
		 * waits for this one (dispatch). */
		pthread_mutex_lock(&c->mu);
		start_recv_locked(c);
		pthread_mutex_unlock(&c->mu);
	}
	if (req == NULL) {
		arena_reset(rpc_msg_arena(c));
		finish(c, rpc_error(c, RK_EINVAL, "malformed %s message",
		    c->m->in->name), NULL);
		return;
	}
	if ((rc = pbcheck_request(c, req)) != RK_OK) {
		arena_reset(rpc_msg_arena(c));
		finish(c, rc, NULL);
		return;
	}
	rc = c->m->h->message(c, req, &resp);
	if (rc == RK_OK && resp != NULL)
		bb = pack(resp);
	arena_reset(rpc_msg_arena(c));
	if (rc != RK_OK) {
		finish(c, rc, NULL);
		return;
	}
	if (c->m->kind == RPC_CLIENT_STREAM)
		return;		/* the next recv is under way */
	pthread_mutex_lock(&c->mu);
	if (bb != NULL)
		start_send_locked(c, bb);	/* next recv after the send */
	else
		start_recv_locked(c);
	pthread_mutex_unlock(&c->mu);
}

static void
do_finish(rpc_call *c)
{
	ProtobufCMessage *resp = NULL;
	rk_err rc = c->m->h->finish(c, &resp);

	finish(c, rc, rc == RK_OK ? resp : NULL);
}

static void
run_work(rpc_call *c)
{
	int64_t left = rpc_remaining_ms(c);

	if (thread_slot != NULL) {
		pthread_mutex_lock(&thread_slot->mu);
		thread_slot->deadline_ms = left < 0 ? 0 :
		    clock_mono_ms() + left + 1;
		snprintf(thread_slot->rid, sizeof(thread_slot->rid), "%s", c->rid);
		pthread_mutex_unlock(&thread_slot->mu);
	}
	log_set_request_id(c->rid);
	switch (c->work) {
	case W_START:
		do_start(c);
		break;
	case W_MESSAGE:
		do_message(c);
		break;
	case W_FINISH:
		do_finish(c);
		break;
	}
	log_set_request_id(NULL);
	if (thread_slot != NULL) {
		pthread_mutex_lock(&thread_slot->mu);
		thread_slot->deadline_ms = 0;
		pthread_mutex_unlock(&thread_slot->mu);
	}
}

static void
dispatch(rpc_call *c, enum work_kind w)
{
	if (c->m->h->inline_) {
		c->work = w;
		run_work(c);
		return;
	}
	pthread_mutex_lock(&c->mu);
	if (c->busy) {
		/* One handler thread at a time per call, in arrival order. */
		c->pending = w;
		c->has_pending = true;
		pthread_mutex_unlock(&c->mu);
		return;
	}
	c->busy = true;
	pthread_mutex_unlock(&c->mu);
	{
		pool_push(c, w);
	}
}

/* ---- completion-queue events ---- */

static void
set_request_id(rpc_call *c)
{
	static _Atomic unsigned long seq;
	size_t n = 0;

	for (size_t i = 0; i < c->md.count; i++) {
		grpc_metadata *md = &c->md.metadata[i];
		const char *v = (const char *)GRPC_SLICE_START_PTR(md->value);
		size_t len = GRPC_SLICE_LENGTH(md->value);

		if (grpc_slice_str_cmp(md->key, "x-request-id") != 0)
			continue;
		for (size_t j = 0; j < len && n < 40; j++)
			if ((v[j] >= 'a' && v[j] <= 'z') || (v[j] >= 'A' &&
			    v[j] <= 'Z') || (v[j] >= '0' && v[j] <= '9') ||
			    v[j] == '-' || v[j] == '_' || v[j] == '.')
				c->rid[n++] = v[j];
		c->rid[n] = '\0';
	}
	if (n == 0)
		snprintf(c->rid, sizeof(c->rid), "r%x-%lx", (unsigned)getpid(),
		    ++seq);
}

static void
on_request(rpc_call *c, bool ok)
{
	if (!ok) {		/* server shutting down */
		rpc_call_unref(c);
		return;
	}
	arm(c->t, c->m);
	c->start_us = clock_mono_us();
	set_request_id(c);
	c->rid_md.key = grpc_slice_from_static_string("x-request-id");
	c->rid_md.value = grpc_slice_from_static_string(c->rid);
	pthread_mutex_lock(&c->mu);
	if (c->m == NULL) {
		c->deadline = c->details.deadline;
		c->errmsg = arena_strdup(rpc_arena(c), "unknown method");
		c->final_err = RK_EUNIMPL;
		c->final_text = xstrdup("method not implemented");
		start_final_locked(c, NULL);
		pthread_mutex_unlock(&c->mu);
		return;
	}
	{
		grpc_op op;

		memset(&op, 0, sizeof(op));
		op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
		op.data.recv_close_on_server.cancelled = &c->close_cancelled;
		start_batch(c, &op, 1, &c->t_close);
	}
	pthread_mutex_unlock(&c->mu);
	dispatch(c, W_START);
}

static void
on_recv(rpc_call *c, bool ok)
{
	bool ended;

	pthread_mutex_lock(&c->mu);
	ended = c->final_started || c->final_requested;
	pthread_mutex_unlock(&c->mu);
	if (ended) {
		/* The call failed while this message was on its way. */
		if (c->payload != NULL) {
			grpc_byte_buffer_destroy(c->payload);
			c->payload = NULL;
		}
		rpc_call_unref(c);
		return;
	}
	if (!ok) {
		finish(c, RK_ECANCELED, NULL);
	} else if (c->payload == NULL) {
		dispatch(c, W_FINISH);
	} else {
		dispatch(c, W_MESSAGE);
	}
	rpc_call_unref(c);
}

static void
on_send(rpc_call *c, bool ok)
{
	pthread_mutex_lock(&c->mu);
	grpc_byte_buffer_destroy(c->send_buf);
	c->send_buf = NULL;
	c->send_busy = false;
	pthread_cond_broadcast(&c->sent_cv);
	if (!ok) {
		if (c->pending_buf != NULL) {
			grpc_byte_buffer_destroy(c->pending_buf);
			c->pending_buf = NULL;
		}
		if (c->final_requested)
			start_final_locked(c, NULL);
	} else if (c->pending_buf != NULL) {
		grpc_byte_buffer *bb = c->pending_buf;

		c->pending_buf = NULL;
		start_send_locked(c, bb);
	} else if (c->final_requested) {
		start_final_locked(c, NULL);
	} else if (c->m->kind == RPC_BIDI) {
		start_recv_locked(c);
	}
	unref_locked(c);
}

static void
on_final(rpc_call *c)
{
	pthread_mutex_lock(&c->mu);
	if (c->send_buf != NULL) {
		grpc_byte_buffer_destroy(c->send_buf);
		c->send_buf = NULL;
	}
	c->refs--;		/* the batch */
	unref_locked(c);	/* the owner */
}

static void
on_close(rpc_call *c)
{
	pthread_mutex_lock(&c->mu);
	c->closed = true;
	pthread_cond_broadcast(&c->sent_cv);
	pthread_mutex_unlock(&c->mu);
	if (c->m->h->closed != NULL)
		c->m->h->closed(c);
	/* A stream the client abandoned still needs its final batch. */
	if (c->close_cancelled)
		finish(c, RK_ECANCELED, NULL);
	rpc_call_unref(c);
}

static void *
cq_main(void *arg)
{
	struct cq_thread *t = arg;

	for (;;) {
		grpc_event ev = grpc_completion_queue_next(t->cq,
		    gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
		struct tag *tag;

		if (ev.type == GRPC_QUEUE_SHUTDOWN)
			break;
		if (ev.type != GRPC_OP_COMPLETE)
			continue;
		tag = ev.tag;
		switch (tag->kind) {
		case T_REQUEST:
			on_request(tag->c, ev.success != 0);
			break;
		case T_RECV:
			on_recv(tag->c, ev.success != 0);
			break;
		case T_SEND:
			on_send(tag->c, ev.success != 0);
			break;
		case T_FINAL:
			on_final(tag->c);
			break;
		case T_CLOSE:
			on_close(tag->c);
			break;
		case T_SHUTDOWN:
			pthread_mutex_lock(&t->s->mu);
			t->s->shutdown_done = true;
			pthread_cond_broadcast(&t->s->done_cv);
			pthread_mutex_unlock(&t->s->mu);
			break;
		}
	}
	return (NULL);
}

/* Arms one request for m (NULL: the generic catch-all) on t's queue. */
static void
arm(struct cq_thread *t, struct server_method *m)
{
	rpc_call *c = call_new(t, m);
	grpc_call_error e;

	if (m == NULL) {
		e = grpc_server_request_call(t->s->server, &c->call, &c->details,
		    &c->md, t->cq, t->cq, &c->t_request);
	} else {
		bool payload = m->kind == RPC_UNARY ||
		    m->kind == RPC_SERVER_STREAM;

		e = grpc_server_request_registered_call(t->s->server,
		    m->registration, &c->call, &c->deadline, &c->md,
		    payload ? &c->payload : NULL, t->cq, t->cq, &c->t_request);
	}
	if (e != GRPC_CALL_OK) {
		/* Only during shutdown. */
		call_destroy(c);
	}
}

/* ---- start and stop ---- */

static char *
read_file(const char *path, char *errmsg, size_t errlen)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	long len;

	if (fp == NULL) {
		snprintf(errmsg, errlen, "could not open \"%.200s\": %m", path);
		return (NULL);
	}
	fseek(fp, 0, SEEK_END);
	len = ftell(fp);
	rewind(fp);
	buf = xmalloc((size_t)len + 1);
	if (fread(buf, 1, (size_t)len, fp) != (size_t)len) {
		snprintf(errmsg, errlen, "could not read \"%.200s\"", path);
		free(buf);
		fclose(fp);
		return (NULL);
	}
	buf[len] = '\0';
	fclose(fp);
	return (buf);
}

static grpc_server_credentials *
make_creds(const struct server_config *cfg, char *errmsg, size_t errlen)
{
	grpc_ssl_pem_key_cert_pair pair;
	grpc_server_credentials *creds;
	char *cert, *key, *ca = NULL;

	if (cfg->tls_cert_file == NULL || *cfg->tls_cert_file == '\0')
		return (grpc_insecure_server_credentials_create());
	if ((cert = read_file(cfg->tls_cert_file, errmsg, errlen)) == NULL)
		return (NULL);
	if ((key = read_file(cfg->tls_key_file, errmsg, errlen)) == NULL) {
		free(cert);
		return (NULL);
	}
	if (cfg->tls_client_ca_file && *cfg->tls_client_ca_file &&
	    (ca = read_file(cfg->tls_client_ca_file, errmsg, errlen)) == NULL) {
		free(cert);
		free(key);
		return (NULL);
	}
	pair.private_key = key;
	pair.cert_chain = cert;
	creds = grpc_ssl_server_credentials_create_ex(ca, &pair, 1, ca ?
	    GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY :
	    GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE, NULL);
	free(cert);
	free(key);
	free(ca);
	return (creds);
}

rk_err
server_start(const struct server_config *cfg, struct server_method *methods,
    int n, server **out, int *port, char *errmsg, size_t errlen)
{
	grpc_arg args[4];
	grpc_channel_args cargs = {4, args};
	grpc_server_credentials *creds;
	server *s;

	*out = NULL;
	s = xcalloc(1, sizeof(*s));
	s->cfg = cfg;
	s->methods = methods;
	s->nmethods = n;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	pthread_cond_init(&s->done_cv, NULL);
	args[0] = (grpc_arg){GRPC_ARG_INTEGER,
	    GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, {.integer = cfg->max_recv_bytes}};
	args[1] = (grpc_arg){GRPC_ARG_INTEGER,
	    GRPC_ARG_MAX_SEND_MESSAGE_LENGTH, {.integer = cfg->max_send_bytes}};
	args[2] = (grpc_arg){GRPC_ARG_INTEGER,
	    GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, {.integer = 1}};
	args[3] = (grpc_arg){GRPC_ARG_INTEGER,
	    GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
	    {.integer = 10000}};
	grpc_init();
	s->server = grpc_server_create(&cargs, NULL);
	s->ncq = cfg->cq_threads;
	s->cqs = xcalloc((size_t)s->ncq, sizeof(*s->cqs));
	for (int i = 0; i < s->ncq; i++) {
		s->cqs[i].s = s;
		s->cqs[i].cq = grpc_completion_queue_create_for_next(NULL);
		grpc_server_register_completion_queue(s->server, s->cqs[i].cq,
		    NULL);
	}
	for (int i = 0; i < n; i++) {
		bool payload = methods[i].kind == RPC_UNARY ||
		    methods[i].kind == RPC_SERVER_STREAM;

		methods[i].registration = grpc_server_register_method(s->server,
		    methods[i].path, NULL, payload ?
		    GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER :
		    GRPC_SRM_PAYLOAD_NONE, 0);
		RK_ASSERT(methods[i].registration != NULL);
	}
	if ((creds = make_creds(cfg, errmsg, errlen)) == NULL)
		goto fail;
	*port = grpc_server_add_http2_port(s->server, cfg->listen, creds);
	grpc_server_credentials_release(creds);
	if (*port == 0) {
		snprintf(errmsg, errlen, "could not listen on \"%.100s\"",
		    cfg->listen);
		goto fail;
	}
	grpc_server_start(s->server);
	for (int i = 0; i < s->ncq; i++) {
		for (int k = 0; k < ARM_PER_METHOD; k++) {
			arm(&s->cqs[i], NULL);
			for (int j = 0; j < n; j++)
				arm(&s->cqs[i], &methods[j]);
		}
	}
	s->nhandlers = s->nslots = cfg->handler_threads;
	s->handlers = xcalloc((size_t)s->nhandlers, sizeof(pthread_t));
	s->slots = xcalloc((size_t)s->nslots, sizeof(*s->slots));
	for (int i = 0; i < s->nhandlers; i++) {
		pthread_mutex_init(&s->slots[i].mu, NULL);
		s->slots[i].s = s;
		if (pthread_create(&s->handlers[i], NULL, handler_main,
		    &s->slots[i]) != 0)
			log_fatal("THREAD-FAIL", "could not start handler: %m");
	}
	if (pthread_create(&s->watchdog, NULL, watchdog_main, s) != 0)
		log_fatal("THREAD-FAIL", "could not start watchdog: %m");
	for (int i = 0; i < s->ncq; i++)
		if (pthread_create(&s->cqs[i].th, NULL, cq_main, &s->cqs[i]) != 0)
			log_fatal("THREAD-FAIL", "could not start cq thread: %m");
	*out = s;
	return (RK_OK);
fail:
	grpc_server_destroy(s->server);
	for (int i = 0; i < s->ncq; i++) {
		grpc_completion_queue_shutdown(s->cqs[i].cq);
		while (grpc_completion_queue_next(s->cqs[i].cq,
		    gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
		    GRPC_QUEUE_SHUTDOWN)
			;
		grpc_completion_queue_destroy(s->cqs[i].cq);
	}
	free(s->cqs);
	free(s);
	grpc_shutdown();
	return (RK_EINVAL);
}

void
server_stop(server *s, int grace_ms)
{
	struct timespec until;

	if (s == NULL)
		return;
	log_info("SERVER-SHUTDOWN", "stopping: no new calls, %d ms for calls "
	    "in flight", grace_ms);
	s->shutdown_tag = (struct tag){NULL, T_SHUTDOWN};
	grpc_server_shutdown_and_notify(s->server, s->cqs[0].cq, &s->shutdown_tag);
	clock_deadline(CLOCK_REALTIME, grace_ms, &until);
	pthread_mutex_lock(&s->mu);
	while (!s->shutdown_done &&
	    pthread_cond_timedwait(&s->done_cv, &s->mu, &until) == 0)
		;
	if (!s->shutdown_done) {
		pthread_mutex_unlock(&s->mu);
		log_warn("SERVER-SHUTDOWN", "cancelling calls still in flight");
		grpc_server_cancel_all_calls(s->server);
		pthread_mutex_lock(&s->mu);
		while (!s->shutdown_done)
			pthread_cond_wait(&s->done_cv, &s->mu);
	}
	s->stopping = true;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	for (int i = 0; i < s->nhandlers; i++)
		pthread_join(s->handlers[i], NULL);
	pthread_join(s->watchdog, NULL);
	for (int i = 0; i < s->nslots; i++)
		pthread_mutex_destroy(&s->slots[i].mu);
	free(s->slots);
	for (int i = 0; i < s->ncq; i++)
		grpc_completion_queue_shutdown(s->cqs[i].cq);
	for (int i = 0; i < s->ncq; i++)
		pthread_join(s->cqs[i].th, NULL);
	grpc_server_destroy(s->server);
	for (int i = 0; i < s->ncq; i++)
		grpc_completion_queue_destroy(s->cqs[i].cq);
	free(s->cqs);
	free(s->handlers);
	pthread_cond_destroy(&s->cv);
	pthread_cond_destroy(&s->done_cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
	grpc_shutdown();
}
