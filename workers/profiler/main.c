/*
 * main.c - rekindle-profiler: the worker that keeps profiles current.
 */
#include "profiler.h"

static const struct worker_spec spec = {
	.name = "rekindle-profiler",
	.queue = "profile",
	.cfg = profiler_cfg,
	.post_init = profiler_init,
	.handle = profiler_handle,
};

int
main(int argc, char **argv)
{
	return (worker_main(argc, argv, &spec));
}
