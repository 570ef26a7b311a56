/*
 * msgstate.c - message state names.
 */
#include <stddef.h>
#include <string.h>

#include "msgstate.h"

static const char *const names[] = {NULL, "queued", "sending", "sent",
    "failed", "denied", "cancelled", "uncertain"};

const char *
msg_state_name(int state)
{
	return (state >= MSG_QUEUED && state <= MSG_UNCERTAIN ? names[state] :
	    NULL);
}

int
msg_state_of(const char *name)
{
	for (int s = MSG_QUEUED; s <= MSG_UNCERTAIN; s++)
		if (name != NULL && strcmp(name, names[s]) == 0)
			return (s);
	return (0);
}
