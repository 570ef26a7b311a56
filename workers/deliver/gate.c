/*
 * gate.c - the provider circuit breaker (gate.h).
 */
#include "gate.h"

#define RETRY_FIRST_US INT64_C(1000000)
/* Unanswered calls that shut an open gate: one or two failing at a
 * campaign's tail are faults, not an outage. */
#define SHUT_MIN 3
#define RETRY_MAX_US INT64_C(60000000)

enum gate_state
gate_state(struct gate *g, int64_t mono_us)
{
	enum gate_state s = GATE_OPEN;

	pthread_mutex_lock(&g->mu);
	if (g->shut) {
		if (!g->probing && mono_us >= g->retry_us) {
			g->probing = true;
			s = GATE_PROBE;
		} else
			s = GATE_SHUT;
	}
	pthread_mutex_unlock(&g->mu);
	return (s);
}

bool
gate_result(struct gate *g, int64_t mono_us, int answered, int unanswered,
    bool probe)
{
	bool changed = false;

	pthread_mutex_lock(&g->mu);
	if (probe)
		g->probing = false;
	if (answered > 0) {
		changed = g->shut;
		g->shut = false;
		g->fails = 0;
	} else if (probe ? unanswered > 0 : !g->shut && unanswered >= SHUT_MIN) {
		/* a batch sent before the gate shut, ending after, says
		 * nothing new: only the probe moves the wait on */
		changed = !g->shut;
		g->shut = true;
		g->retry_us = mono_us + (g->fails < 6 ? RETRY_FIRST_US <<
		    g->fails : RETRY_MAX_US);
		g->fails++;
	}
	pthread_mutex_unlock(&g->mu);
	return (changed);
}

bool
gate_shut(struct gate *g)
{
	bool s;

	pthread_mutex_lock(&g->mu);
	s = g->shut;
	pthread_mutex_unlock(&g->mu);
	return (s);
}
