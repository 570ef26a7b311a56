/*
 * channel.h - delivery channels by number (as rekindle.v1.Channel) and by
 * name, and the job queue of each channel's delivery pool.
 */
#ifndef RK_CHANNEL_H
#define RK_CHANNEL_H

enum { CHANNEL_EMAIL = 1, CHANNEL_SMS, CHANNEL_ZNS, CHANNEL_PUSH,
	CHANNEL_CALL };

/* Room for an array indexed by channel number. */
#define CHANNEL_N (CHANNEL_CALL + 1)

/* "email", "sms", "zns", "push", "call"; NULL for anything else. */
const char *channel_name(int channel);
/* The number of a name, 0 if none. */
int channel_of_name(const char *name);
/* The queue of the channel's delivery pool ("deliver-sms"), static. */
const char *channel_queue(int channel);

#endif
