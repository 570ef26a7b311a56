/*
 * log.c - JSON-lines logger.
 *
 * SECURITY
 *	The message is masked (sanitize_mask) and JSON-escaped, so a hostile
 *	value cannot forge fields or lines, and contact data that reaches a
 *	message by mistake is not written.
 *
 * CONCURRENCY
 *	Each line is formatted into a local buffer and written with one
 *	write(2), so lines from threads and processes do not interleave.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "sanitize.h"

static const char *progname = "rekindle";
static enum log_level min_level = LOG_INFO;
static _Thread_local char request_id[64];

static const char *const level_names[] = {"debug", "info", "warn", "error",
    "fatal"};

void
log_init(const char *program)
{
	const char *lvl = getenv("REKINDLE_LOG_LEVEL");

	progname = program;
	if (lvl != NULL) {
		for (int i = 0; i <= LOG_FATAL; i++)
			if (strcmp(lvl, level_names[i]) == 0)
				min_level = (enum log_level)i;
	}
}

void
log_set_level(enum log_level level)
{
	min_level = level;
}

bool
log_enabled(enum log_level level)
{
	return (level >= min_level);
}

void
log_set_request_id(const char *id)
{
	if (id == NULL) {
		request_id[0] = '\0';
		return;
	}
	snprintf(request_id, sizeof(request_id), "%s", id);
}

const char *
log_request_id(void)
{
	return (request_id);
}

/* Appends s to buf as JSON string content; returns the new length. */
static size_t
json_escape(char *buf, size_t len, size_t cap, const char *s)
{
	for (; *s != '\0' && len + 7 < cap; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			buf[len++] = '\\';
			buf[len++] = (char)c;
		} else if (c < 0x20) {
			len += (size_t)snprintf(buf + len, cap - len,
			    "\\u%04x", c);
		} else {
			buf[len++] = (char)c;
		}
	}
	return (len);
}

/* The fields every line starts with, up to the open event string
 * value; returns the length. */
static size_t
head(char *line, size_t cap, enum log_level level, const char *event,
    const char *rid)
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = (size_t)snprintf(line, cap,
	    "{\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\",\"prog\":\"%s\","
	    "\"pid\":%d,\"level\":\"%s\",\"event\":\"",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, progname,
	    (int)getpid(), level_names[level]);
	n = json_escape(line, n, cap, event);
	if (rid[0] != '\0') {
		n += (size_t)snprintf(line + n, cap - n, "\",\"req\":\"");
		n = json_escape(line, n, cap, rid);
	}
	return (n);
}

static void
emit(const char *line, size_t n)
{
	if (write(STDERR_FILENO, line, n) < 0) {
		/* Nowhere left to report it. */
	}
}

static void vlog(enum log_level level, const char *event, const char *fmt,
    va_list ap) __attribute__((format(printf, 3, 0)));

static void
vlog(enum log_level level, const char *event, const char *fmt, va_list ap)
{
	char msg[2048], masked[2048], line[4608];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	sanitize_mask(masked, sizeof(masked), msg);
	n = head(line, sizeof(line), level, event, request_id);
	n += (size_t)snprintf(line + n, sizeof(line) - n, "\",\"msg\":\"");
	n = json_escape(line, n, sizeof(line) - 3, masked);
	line[n++] = '"';
	line[n++] = '}';
	line[n++] = '\n';
	emit(line, n);
}

void
log_access(const char *rid, const char *method, const char *code,
    double seconds, long long token_id, const char *role)
{
	char line[1024];
	size_t n;

	if (!log_enabled(LOG_INFO))
		return;
	n = head(line, sizeof(line), LOG_INFO, "ACCESS", rid);
	n += (size_t)snprintf(line + n, sizeof(line) - n, "\",\"method\":\"");
	n = json_escape(line, n, sizeof(line), method);
	n += (size_t)snprintf(line + n, sizeof(line) - n, "\",\"code\":\"");
	n = json_escape(line, n, sizeof(line), code);
	n += (size_t)snprintf(line + n, sizeof(line) - n,
	    "\",\"duration_ms\":%.3f,\"token_id\":%lld,\"role\":\"",
	    seconds * 1e3, token_id);
	n = json_escape(line, n, sizeof(line) - 3, role);
	line[n++] = '"';
	line[n++] = '}';
	line[n++] = '\n';
	emit(line, n);
}

void
log_msg(enum log_level level, const char *event, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	if (level < min_level)
		return;
	va_start(ap, fmt);
	errno = saved;
	vlog(level, event, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_fatal(const char *event, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_FATAL, event, fmt, ap);
	va_end(ap);
	exit(1);
}

void
log_panic(const char *event, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_FATAL, event, fmt, ap);
	va_end(ap);
	abort();
}
