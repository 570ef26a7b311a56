/*
 * wakeup.c - publishing wake-ups after commits. A failure only delays the
 * consumers by their poll interval, so it is logged at debug level.
 */
#include "log.h"
#include "wakeup.h"

static bus *pub;

void
wakeup_set_bus(bus *b)
{
	pub = b;
}

void
wakeup(const char *queue, int64_t jobs)
{
	if (pub != NULL && bus_publish(pub, queue, jobs, log_request_id()) != RK_OK)
		log_debug("BUS-SEND-FAIL", "could not publish wake-up for %s",
		    queue);
}
