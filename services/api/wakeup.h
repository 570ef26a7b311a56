/*
 * wakeup.h - the API's publisher of bus wake-ups, set once at start.
 */
#ifndef RK_WAKEUP_H
#define RK_WAKEUP_H

#include <stdint.h>

#include "bus.h"

/* Sets the publisher (borrowed; NULL disables wake-ups). */
void wakeup_set_bus(bus *b);
/* Tells queue's consumers that jobs were committed; never blocks. */
void wakeup(const char *queue, int64_t jobs);

#endif
