/*
 * msgstate.h - the states of an outbox message, named once. The numbers
 * are rekindle.v1.MessageState's; the names are the text the database
 * keeps (messages.state, checked there).
 *
 *	queued -> sending -> sent | failed | denied | cancelled | uncertain
 *
 * queued: due at not_before. sending: an attempt is in flight (lease,
 * contact-cap slot taken). sent: the provider took it. failed: a
 * permanent refusal, or every channel of the plan tried. denied: the
 * contact governor refused it (consent, Do-Not-Call, no address) on the
 * last channel. cancelled: the campaign ended, the customer unsubscribed
 * or registered first. uncertain: an attempt may have been taken and no
 * one knows (it counts as sent against the caps until evidence settles
 * it).
 */
#ifndef RK_MSGSTATE_H
#define RK_MSGSTATE_H

enum msg_state {
	MSG_QUEUED = 1,
	MSG_SENDING,
	MSG_SENT,
	MSG_FAILED,
	MSG_DENIED,
	MSG_CANCELLED,
	MSG_UNCERTAIN,
};

/* "queued" ... "uncertain"; NULL for anything else. */
const char *msg_state_name(int state);
/* The state of a name, 0 if none. */
int msg_state_of(const char *name);

#endif
