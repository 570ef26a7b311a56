/*
 * log.h - structured logging: one JSON object per line on stderr.
 *
 * Each line carries the program, pid, level, a stable event id
 * ("DB-CONNECT-FAIL"), the current request or job id of the calling thread
 * and the message. Phone numbers and e-mail addresses that slip into a
 * message are masked before the line is written; still, never pass them:
 * log ids. The functions keep errno, so "%m" works.
 */
#ifndef RK_LOG_H
#define RK_LOG_H

#include <stdbool.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_FATAL };

/* Sets the program name shown in every line; borrowed, must stay valid. */
void log_init(const char *program);

/* Lines below level are dropped. */
void log_set_level(enum log_level level);
bool log_enabled(enum log_level level);

/*
 * Sets the request or job id of the calling thread (NULL clears it). The
 * string is copied, cut to 63 bytes.
 */
void log_set_request_id(const char *id);
/* Borrowed; valid until the next log_set_request_id on this thread. */
const char *log_request_id(void);

void log_msg(enum log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(ev, ...) log_msg(LOG_DEBUG, ev, __VA_ARGS__)
#define log_info(ev, ...) log_msg(LOG_INFO, ev, __VA_ARGS__)
#define log_warn(ev, ...) log_msg(LOG_WARN, ev, __VA_ARGS__)
#define log_error(ev, ...) log_msg(LOG_ERROR, ev, __VA_ARGS__)

/*
 * The access log: one line per call ("event":"ACCESS") with the method,
 * the status code's name, the duration, the caller's token id (0: none)
 * and role ("" if not authenticated), under request id rid. Never a
 * request or response body.
 */
void log_access(const char *rid, const char *method, const char *code,
    double seconds, long long token_id, const char *role);

/* An environment problem (bad config, cannot bind): logs and exits 1. */
void log_fatal(const char *event, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

/* A broken invariant: logs and aborts for a core, in every build. */
void log_panic(const char *event, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

#define RK_ASSERT(cond)                                                     \
	do {                                                                \
		if (!(cond))                                                \
			log_panic("ASSERT", "%s:%d: assertion failed: %s", \
			    __FILE__, __LINE__, #cond);                     \
	} while (0)

#endif
