/*
 * gate.h - a provider that answers nothing is not sent to: the circuit
 * breaker of a delivery process, shared by its lanes.
 *
 * A batch whose every call (three or more) went unanswered - no
 * connection, no reply in time, a 5xx or an SMTP 4xx: the provider did
 * not act on any of it - says the provider is down. Sending on would spend every queued
 * message's attempts on it (eight within about two minutes: a longer
 * outage would fail the whole campaign) and, where a call was written
 * and timed out, make each message uncertain, held for good where the
 * provider does not de-duplicate. So the gate shuts: nothing is claimed
 * for 1 s, doubling to a minute; then one lane sends one message (the
 * probe) while the others wait; a probe unanswered keeps it shut. An
 * answer of any kind - sent, refused, rate-limited - opens the gate
 * again.
 *
 * Pure: the clock is the caller's (monotonic), so the rules are tested
 * without waiting.
 */
#ifndef RK_GATE_H
#define RK_GATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

enum gate_state {
	GATE_OPEN,	/* claim and send as usual */
	GATE_PROBE,	/* this lane sends one message to try the provider */
	GATE_SHUT	/* claim nothing */
};

struct gate {
	pthread_mutex_t mu;
	bool shut;
	bool probing;		/* a lane has the probe out */
	int64_t retry_us;	/* shut: no probe before (monotonic) */
	int fails;		/* batches unanswered in a row */
};

#define GATE_INITIALIZER {.mu = PTHREAD_MUTEX_INITIALIZER}

/* Before a claim. GATE_PROBE goes to one lane at a time. */
enum gate_state gate_state(struct gate *g, int64_t mono_us);

/*
 * After a batch: answered and unanswered calls (withheld ones are
 * neither); probe says whether it was the probe. True if the gate has
 * just shut or opened (for the caller's log line).
 */
bool gate_result(struct gate *g, int64_t mono_us, int answered,
    int unanswered, bool probe);

/* Whether the gate is shut now (the process's metrics). */
bool gate_shut(struct gate *g);

#endif
