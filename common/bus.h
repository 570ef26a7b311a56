/*
 * bus.h - wake-ups between processes over nng (only bus.c includes nng).
 *
 * A producer publishes "queue X has work" after committing the rows; the
 * consumers of that queue wake and claim from PostgreSQL. A lost message
 * (a process died, a peer was slow) costs only the consumer's poll
 * interval, never work. Producers listen (PUB); consumers dial every
 * producer (SUB) and subscribe to their queue. Addresses are nng URLs:
 * ipc:///path by default, tcp://host:port across machines.
 */
#ifndef RK_BUS_H
#define RK_BUS_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

typedef struct bus bus;

/* The largest message a bus socket accepts (NNG_OPT_RECVMAXSZ). */
#define BUS_MAX_MSG 4096

/*
 * Opens a publisher listening on url. On RK_OK *out owns it (bus_close).
 * Errors: RK_EINVAL (bad url), RK_ESYS (cannot listen); errmsg says why.
 */
rk_err bus_open_pub(const char *url, bus **out, char *errmsg, size_t errlen);

/*
 * Opens a subscriber to queue, dialing each url in the comma-separated
 * list. Dials retry in the background, so producers may start later.
 */
rk_err bus_open_sub(const char *urls, const char *queue, bus **out,
    char *errmsg, size_t errlen);

/* Publishes a wake-up for queue on behalf of request_id (the request
 * that made the work; NULL: none); never blocks. Errors: RK_ESYS. */
rk_err bus_publish(bus *b, const char *queue, int64_t jobs,
    const char *request_id);

/*
 * Waits up to timeout_ms for a wake-up. RK_OK: one came (*jobs, may be
 * NULL, gets its count; rid, if not NULL, its request id, cut to
 * ridcap - 1 bytes, "" if none). RK_ETIMEDOUT: none. RK_EPROTO: garbage
 * dropped. RK_ECANCELED: the socket was closed.
 */
rk_err bus_recv(bus *b, int timeout_ms, int64_t *jobs, char *rid,
    size_t ridcap);

/* bus_close(NULL) is a no-op. */
void bus_close(bus *b);

#endif
