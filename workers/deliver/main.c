/*
 * main.c - rekindle-deliver --channel email|sms|zns|push: one channel's
 * delivery pool process. It claims the channel's due outbox messages
 * itself; the bus topic "deliver-<channel>" only wakes it.
 */
#include <stdio.h>
#include <string.h>

#include "channel.h"
#include "channel_ops.h"
#include "deliver.h"
#include "msgtoken.h"

int
main(int argc, char **argv)
{
	static struct worker_spec spec = {
		.name = "rekindle-deliver",
		.cfg = deliver_cfg,
		.cfg_shared = msgtoken_cfg,
		.post_init = deliver_init,
		.poll = deliver_poll,
		.heartbeat = deliver_heartbeat,
		.lanes = &deliver_lanes,
	};
	int out = 1;

	/* --channel NAME is this program's own; the rest are the usual
	 * options. */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--channel") == 0 && i + 1 < argc) {
			deliver_channel = channel_of_name(argv[++i]);
			continue;
		}
		argv[out++] = argv[i];
	}
	argv[out] = NULL;
	if (channel_ops_of(deliver_channel) == NULL) {
		fprintf(stderr, "usage: rekindle-deliver --channel "
		    "email|sms|zns|push [options]\n");
		return (2);
	}
	spec.queue = channel_queue(deliver_channel);
	spec.cfg_more = channel_cfgs();
	return (worker_main(out, argv, &spec));
}
