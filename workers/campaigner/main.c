/*
 * main.c - rekindle-campaigner: the worker that launches campaigns.
 */
#include "campaigner.h"

static const struct worker_spec spec = {
	.name = "rekindle-campaigner",
	.queue = "campaign",
	.handle = campaigner_handle,
};

int
main(int argc, char **argv)
{
	return (worker_main(argc, argv, &spec));
}
