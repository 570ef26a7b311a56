/*
 * tracker.h - what the tracker's request handlers share (main.c).
 */
#ifndef RK_TRACKER_H
#define RK_TRACKER_H

#include <microhttpd.h>
#include <stddef.h>

#include "db.h"

/* A request body is a few bytes (a form, a webhook's JSON); more is
 * refused (413). */
#define MAX_BODY 4096

/* Queues a response (body copied), with no-store headers. */
enum MHD_Result respond(struct MHD_Connection *c, unsigned code,
    const char *type, const void *body, size_t len, const char *location);

/* The serving thread's database connection; NULL if it cannot be had. */
db_conn *conn(void);

/* GET /mo/sms, POST /mo/zalo (path: after "/mo/"), body as read. */
enum MHD_Result inbound_serve(struct MHD_Connection *c, const char *method,
    const char *path, const char *body, size_t len);

#endif
