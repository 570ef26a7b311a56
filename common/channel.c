/*
 * channel.c - channel names and queues.
 */
#include <stddef.h>
#include <string.h>

#include "channel.h"

static const char *const names[] = {NULL, "email", "sms", "zns", "push",
    "call"};
static const char *const queues[] = {NULL, "deliver-email", "deliver-sms",
    "deliver-zns", "deliver-push", "deliver-call"};

const char *
channel_name(int channel)
{
	return (channel >= CHANNEL_EMAIL && channel <= CHANNEL_CALL ?
	    names[channel] : NULL);
}

int
channel_of_name(const char *name)
{
	for (int c = CHANNEL_EMAIL; c <= CHANNEL_CALL; c++)
		if (name != NULL && strcmp(name, names[c]) == 0)
			return (c);
	return (0);
}

const char *
channel_queue(int channel)
{
	return (channel >= CHANNEL_EMAIL && channel <= CHANNEL_CALL ?
	    queues[channel] : NULL);
}
