/*
 * main.c - rekindle-tracker: the small HTTP endpoint (libmicrohttpd) that
 * serves the links rekindle's messages carry, each hit recorded as an
 * engagement event (engage.h) with the visitor's user agent and address:
 *
 *	GET  /t/TOKEN			click: 302 to the offer's landing page
 *					(?rk=TOKEN, so the page can report a
 *					registration)
 *	GET  /t/TOKEN/open.gif		open pixel: a 1x1 GIF, never cached
 *	GET  /t/TOKEN/unsubscribe	a page with a button (link scanners
 *					follow GETs: they do not unsubscribe)
 *	POST /t/TOKEN/unsubscribe	unsubscribe; RFC 8058 one-click too
 *	GET  /t/TOKEN/register		the registration page: a page view
 *	POST /t/TOKEN/register		registered (once per message)
 *	GET  /mo/sms			the SMS gateway's inbound (MO) webhook:
 *					an opt-out reply (inbound.c)
 *	POST /mo/zalo			Zalo's OA events: an OA blocked or ZNS
 *					refused (inbound.c)
 *	GET  /healthz			200 while the database answers
 *
 * /metrics, /healthz and /readyz are also on the metrics port (daemon.h),
 * with rekindle_tracker_requests_total and _request_seconds per route.
 *
 * A token that does not verify gets 404 and records nothing. Every page
 * is Vietnamese and carries no customer data.
 *
 *	rekindle-tracker [-c FILE] [-o NAME=VALUE]...
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "clock.h"
#include "daemon.h"
#include "db.h"
#include "engage.h"
#include "log.h"
#include "mem.h"
#include "metrics.h"
#include "msgtoken.h"
#include "tracker.h"
#include "tracker_cfg.h"


/* The smallest transparent GIF. */
static const unsigned char pixel[] = {
	0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00,
	0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00,
	0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00,
	0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
};

#define PAGE(body) "<!DOCTYPE html>\n<html lang=\"vi\"><head><meta " \
	"charset=\"utf-8\"><meta name=\"robots\" content=\"noindex\">" \
	"<title>Ưu đãi thẻ</title></head><body>" body "</body></html>\n"

static const char page_unsub_ask[] = PAGE("<p>Bạn muốn ngừng nhận tin "
    "ưu đãi qua kênh này?</p><form method=\"post\"><button type=\"submit\" "
    "name=\"confirm\" value=\"1\">Ngừng nhận tin</button></form>");
static const char page_unsub_done[] = PAGE("<p>Bạn sẽ không nhận thêm tin "
    "ưu đãi qua kênh này.</p>");
static const char page_register[] = PAGE("<p>Đăng ký nhận ưu đãi</p>"
    "<form method=\"post\"><button type=\"submit\" name=\"confirm\" "
    "value=\"1\">Đăng ký</button></form>");
static const char page_registered[] = PAGE("<p>Cảm ơn bạn đã đăng ký. "
    "Ưu đãi đã được ghi nhận.</p>");
static const char page_gone[] = PAGE("<p>Liên kết không còn hiệu lực.</p>");

/* Each serving thread's own connection; all of them listed, to be
 * closed at the end (MHD has no per-thread exit hook). */
static __thread db_conn *tdb;
static db_conn *all_conns[64];
static int nall;
static pthread_mutex_t conns_mu = PTHREAD_MUTEX_INITIALIZER;
static struct evidence_rules rules;

static struct metric requests = METRIC_COUNTER(
    "rekindle_tracker_requests_total", "Requests the link endpoint answered, "
    "by route and HTTP status.", "route", "code");
static struct metric request_seconds = METRIC_HISTOGRAM(
    "rekindle_tracker_request_seconds", "Time to answer a request, by route.",
    metric_latency_buckets, "route");
/* the status of the answer the calling thread queued last */
static __thread unsigned answered;

struct req {
	bool posted;
	size_t body;		/* bytes of body read so far */
	char buf[MAX_BODY + 1];	/* the body (a webhook's JSON), if it fits */
};

enum MHD_Result
respond(struct MHD_Connection *c, unsigned code, const char *type,
    const void *body, size_t len, const char *location)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len,
	    (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result rc;

	MHD_add_response_header(r, "Content-Type", type);
	MHD_add_response_header(r, "Cache-Control", "no-store, private");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	if (location != NULL)
		MHD_add_response_header(r, "Location", location);
	rc = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	answered = code;
	return (rc);
}

static enum MHD_Result
page(struct MHD_Connection *c, unsigned code, const char *html)
{
	return (respond(c, code, "text/html; charset=utf-8", html, strlen(html),
	    NULL));
}

/* The thread's database connection, opened when first needed and again
 * when it broke. */
db_conn *
conn(void)
{
	char err[256];
	db_conn *fresh;

	if (tdb != NULL && db_ping(tdb) == RK_OK)
		return (tdb);
	if (db_open(var_database_url, "rekindle-tracker", &fresh, err,
	    sizeof(err)) != RK_OK) {
		log_warn("DB-UNAVAILABLE", "tracker: %s", err);
		return (NULL);
	}
	pthread_mutex_lock(&conns_mu);
	if (tdb != NULL) {
		for (int i = 0; i < nall; i++)
			if (all_conns[i] == tdb)
				all_conns[i] = fresh;
		db_close(tdb);
	} else
		all_conns[nall++] = fresh;
	pthread_mutex_unlock(&conns_mu);
	return (tdb = fresh);
}

/* The event e (of message id) and, for a click, the offer's landing page,
 * in the open transaction. */
static rk_err
record(db_conn *db, arena *a, struct engage_event *e, int64_t id,
    const char **landing)
{
	rk_err rc;

	rc = engage_record(db, a, &rules, var_policy_hour_seconds, e, 1);
	if (rc == RK_OK && landing != NULL) {
		const char *p[1] = {arena_printf(a, "%lld", (long long)id)};
		db_res *r;

		rc = db_execp(db, "tracker_landing", "SELECT o.landing_url FROM "
		    "messages m JOIN campaign_members mb ON mb.campaign_id = "
		    "m.campaign_id AND mb.customer_id = m.customer_id JOIN offers o "
		    "ON o.offer_id = mb.offer_id WHERE m.id = $1", 1, p, &r);
		if (rc == RK_OK) {
			*landing = db_res_nrows(r) == 1 ? arena_strdup(a,
			    db_res_str(r, 0, 0)) : NULL;
			db_res_free(r);
		}
	}
	return (rc);
}

/* What a hit came to. */
enum hit_result { HIT_OK, HIT_UNKNOWN, HIT_FAILED };

/*
 * Records one event of type for message id; for a click, *landing gets
 * the offer's landing page (in a). HIT_UNKNOWN: no such message (a link
 * whose message is gone); HIT_FAILED: the database failed.
 */
static enum hit_result
hit(struct MHD_Connection *c, arena *a, enum ev_type type, int64_t id,
    const char *event_id, const char **landing)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c,
	    MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	char ip[64] = "";
	struct engage_event e = {.event_id = event_id, .type = type,
	    .message_id = id, .user_agent = MHD_lookup_connection_value(c,
	    MHD_HEADER_KIND, "User-Agent"), .source_ip = ip};
	db_conn *db = conn();
	rk_err rc;

	if (ci != NULL && ci->client_addr != NULL &&
	    getnameinfo(ci->client_addr, ci->client_addr->sa_family == AF_INET6 ?
	    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in), ip,
	    sizeof(ip), NULL, 0, NI_NUMERICHOST) != 0)
		ip[0] = '\0';
	/* a transient conflict (deadlock, serialization) is tried again */
	for (int attempt = 1;; attempt++) {
		if (db == NULL || db_begin(db) != RK_OK)
			return (HIT_FAILED);
		if ((rc = record(db, a, &e, id, landing)) == RK_OK &&
		    (rc = db_commit(db)) == RK_OK)
			break;
		log_warn("TRACK-FAIL", "message %lld, attempt %d: %s",
		    (long long)id, attempt, db_errmsg(db));
		db_rollback(db);	/* a no-op once a failed commit ended it */
		if (rc != RK_ERETRY || attempt == 3)
			return (HIT_FAILED);
	}
	log_debug("TRACK-HIT", "message %lld: event type %d, %s", (long long)id,
	    (int)type, e.result == ENGAGE_RECORDED ? "recorded" :
	    e.result == ENGAGE_UNKNOWN ? "unknown" : "repeat");
	return (e.result == ENGAGE_UNKNOWN ? HIT_UNKNOWN : HIT_OK);
}


/* A fresh event id for a hit that is its own event (an open, a click). */
static const char *
hit_id(arena *a, const char *kind, int64_t id)
{
	return (arena_printf(a, "%s:%lld:%lld:%ld", kind, (long long)id,
	    (long long)clock_now_us(), lrand48()));
}

static enum MHD_Result
serve(struct MHD_Connection *c, arena *a, const char *method,
    const char *url)
{
	const char *tok = url + 3, *slash = strchr(tok, '/'), *rest = slash ?
	    slash : "", *landing = NULL;
	size_t len = slash ? (size_t)(slash - tok) : strlen(tok);
	bool post = strcmp(method, "POST") == 0;
	int64_t id;

	if (!msgtoken_verify(var_tracking_secret, tok, len, &id))
		return (page(c, MHD_HTTP_NOT_FOUND, page_gone));
	if (*rest == '\0' && !post) {
		enum hit_result h = hit(c, a, EV_CLICKED, id, hit_id(a, "click", id),
		    &landing);

		if (h != HIT_OK)
			return (page(c, h == HIT_UNKNOWN ? MHD_HTTP_NOT_FOUND :
			    MHD_HTTP_SERVICE_UNAVAILABLE, page_gone));
		if (landing == NULL)
			return (page(c, MHD_HTTP_NOT_FOUND, page_gone));
		return (respond(c, MHD_HTTP_FOUND, "text/html; charset=utf-8", "", 0,
		    arena_printf(a, "%s%srk=%.*s", landing, strchr(landing, '?') ?
		    "&" : "?", (int)len, tok)));
	}
	if (strcmp(rest, "/open.gif") == 0 && !post) {
		/* a pixel answers even when the database does not */
		(void)hit(c, a, EV_OPENED, id, hit_id(a, "open", id), NULL);
		return (respond(c, MHD_HTTP_OK, "image/gif", pixel, sizeof(pixel),
		    NULL));
	}
	if (strcmp(rest, "/unsubscribe") == 0) {
		if (!post)
			return (page(c, MHD_HTTP_OK, page_unsub_ask));
		switch (hit(c, a, EV_UNSUBSCRIBED, id, arena_printf(a,
		    "unsub:%lld", (long long)id), NULL)) {
		case HIT_UNKNOWN:
			return (page(c, MHD_HTTP_NOT_FOUND, page_gone));
		case HIT_FAILED:
			return (page(c, MHD_HTTP_SERVICE_UNAVAILABLE, page_gone));
		default:
			return (page(c, MHD_HTTP_OK, page_unsub_done));
		}
	}
	if (strcmp(rest, "/register") == 0) {
		switch (hit(c, a, post ? EV_REGISTERED : EV_PAGE_VIEWED, id, post ?
		    arena_printf(a, "register:%lld", (long long)id) : hit_id(a,
		    "view", id), NULL)) {
		case HIT_UNKNOWN:
			return (page(c, MHD_HTTP_NOT_FOUND, page_gone));
		case HIT_FAILED:
			return (page(c, MHD_HTTP_SERVICE_UNAVAILABLE, page_gone));
		default:
			return (page(c, MHD_HTTP_OK, post ? page_registered :
			    page_register));
		}
	}
	return (page(c, MHD_HTTP_NOT_FOUND, page_gone));
}

static enum MHD_Result
route_request(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_len, void **con_cls)
{
	struct req *rq = *con_cls;
	enum MHD_Result rc;
	arena *a;

	(void)cls;
	(void)version;
	if (rq == NULL) {
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_CONTENT_LENGTH);

		/* a declared length too long is refused before it is read */
		if (cl != NULL && (strlen(cl) > 9 || strtoul(cl, NULL, 10) >
		    MAX_BODY))
			return (page(c, MHD_HTTP_CONTENT_TOO_LARGE, page_gone));
		*con_cls = xcalloc(1, sizeof(*rq));
		return (MHD_YES);
	}
	if (*upload_len > 0) {		/* kept for a webhook, else ignored */
		if (rq->body + *upload_len > MAX_BODY)	/* chunked, too long */
			return (page(c, MHD_HTTP_CONTENT_TOO_LARGE, page_gone));
		memcpy(rq->buf + rq->body, upload, *upload_len);
		rq->body += *upload_len;
		rq->buf[rq->body] = '\0';
		*upload_len = 0;
		return (MHD_YES);
	}
	if (strcmp(url, "/healthz") == 0) {
		db_conn *db = conn();

		return (page(c, db ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
		    db ? PAGE("ok") : page_gone));
	}
	if (strncmp(url, "/mo/", 4) == 0)
		return (inbound_serve(c, method, url + 4, rq->buf, rq->body));
	if (strncmp(url, "/t/", 3) != 0 || (strcmp(method, "GET") != 0 &&
	    strcmp(method, "POST") != 0 && strcmp(method, "HEAD") != 0))
		return (page(c, MHD_HTTP_NOT_FOUND, page_gone));
	a = arena_create(4096);
	rc = serve(c, a, method, url);
	arena_destroy(a);
	return (rc);
}

/* The route of url, from a fixed set (a metric label never carries a
 * token). */
static const char *
route_of(const char *url)
{
	const char *slash;

	if (strncmp(url, "/t/", 3) == 0) {
		slash = strchr(url + 3, '/');
		return (slash == NULL ? "click" : strcmp(slash, "/open.gif") == 0 ?
		    "open" : strcmp(slash, "/unsubscribe") == 0 ? "unsubscribe" :
		    strcmp(slash, "/register") == 0 ? "register" : "other");
	}
	return (strcmp(url, "/mo/sms") == 0 ? "mo_sms" : strcmp(url, "/mo/zalo")
	    == 0 ? "mo_zalo" : strcmp(url, "/healthz") == 0 ? "healthz" :
	    "other");
}

/* Every request, counted and timed once it is answered. */
static enum MHD_Result
handle(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_len, void **con_cls)
{
	int64_t t0 = clock_mono_us();
	enum MHD_Result rc;
	char code[12];

	answered = 0;
	rc = route_request(cls, c, url, method, version, upload, upload_len,
	    con_cls);
	if (answered != 0) {
		snprintf(code, sizeof(code), "%u", answered);
		metric_add(&requests, 1, route_of(url), code);
		metric_observe(&request_seconds, (double)(clock_mono_us() - t0) /
		    1e6, route_of(url));
	}
	return (rc);
}

static void
completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	free(*con_cls);
	*con_cls = NULL;
}

int
main(int argc, char **argv)
{
	static const struct cfg_entry *const tables[] = {tracker_cfg, engage_cfg,
	    msgtoken_cfg, NULL};
	const union MHD_DaemonInfo *info;
	struct MHD_Daemon *d;
	int sig;

	daemon_start(argc, argv, &(struct daemon_spec){
	    .name = "rekindle-tracker", .cfg = tables,
	    .flags = DAEMON_DATABASE});
	if (*var_tracking_secret == '\0')
		log_fatal("CONFIG-INVALID", "tracking_secret is required");
	engage_rules(&rules);
	metric_register(&requests);
	metric_register(&request_seconds);
	{
		struct sockaddr_in sa = {.sin_family = AF_INET,
		    .sin_port = htons((uint16_t)var_listen_port)};

		if (inet_pton(AF_INET, var_listen_address, &sa.sin_addr) != 1)
			log_fatal("CONFIG-INVALID", "tracker_listen_address is not "
			    "an IPv4 address");
		d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL,
		    0, NULL, NULL, handle, NULL, MHD_OPTION_SOCK_ADDR, &sa,
		    MHD_OPTION_THREAD_POOL_SIZE, (unsigned)var_threads,
		    MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
		    MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
	}
	if (d == NULL)
		log_fatal("LISTEN-FAIL", "cannot listen on %s:%d",
		    var_listen_address, var_listen_port);
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	if (*var_tracker_port_file != '\0')
		daemon_write_port_file(var_tracker_port_file, (int)info->port);
	daemon_set_ready("http", true);
	log_info("TRACKER-START", "serving links on %s:%u with %d threads",
	    var_listen_address, (unsigned)info->port, var_threads);
	sig = daemon_wait();
	log_info("TRACKER-STOP", "signal %d: stopping", sig);
	daemon_set_ready("http", false);
	MHD_stop_daemon(d);
	for (int i = 0; i < nall; i++)
		db_close(all_conns[i]);
	daemon_finish();
	return (0);
}
