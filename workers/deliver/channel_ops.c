/*
 * channel_ops.c - the table of delivery channels.
 */
#include <string.h>

#include "channel.h"
#include "channel_ops.h"
#include "log.h"

static const struct channel_ops *const all[] = {
	&email_ops, &sms_ops, &zns_ops, &push_ops,
};

#define NCHANNELS (sizeof(all) / sizeof(all[0]))

const struct cfg_entry *const *
channel_cfgs(void)
{
	static const struct cfg_entry *tables[NCHANNELS + 1];

	for (size_t i = 0; i < NCHANNELS; i++)
		tables[i] = all[i]->cfg;
	return (tables);
}

const struct channel_ops *
channel_ops_of(int channel)
{
	for (size_t i = 0; i < NCHANNELS; i++)
		if (all[i]->channel == channel)
			return (all[i]);
	return (NULL);
}

rk_err
channel_policy(const char *name, const char *value, enum on_uncertain *out)
{
	if (strcmp(value, "hold") == 0)
		*out = UNCERTAIN_HOLD;
	else if (strcmp(value, "resend") == 0)
		*out = UNCERTAIN_RESEND;
	else {
		log_error("CONFIG-INVALID", "%s must be hold or resend", name);
		return (RK_EINVAL);
	}
	return (RK_OK);
}
