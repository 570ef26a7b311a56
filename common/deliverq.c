/*
 * deliverq.c - DeliverJob payloads packed with protobuf-c into the arena.
 */
#include <stdint.h>
#include <stdlib.h>

#include "channel.h"
#include "deliverq.h"
#include "jobq.h"
#include "rekindle/bus/v1/bus.pb-c.h"

rk_err
deliverq_enqueue(db_conn *db, arena *a, int channel, const int64_t *ids,
    size_t n, int64_t run_at_us)
{
	rk_err rc = RK_OK;

	for (size_t at = 0; rc == RK_OK && at < n; at += DELIVERQ_BATCH) {
		Rekindle__Bus__V1__DeliverJob job =
		    REKINDLE__BUS__V1__DELIVER_JOB__INIT;
		unsigned char *buf;
		size_t len;

		job.message_ids = (int64_t *)(uintptr_t)(ids + at);
		job.n_message_ids = n - at < DELIVERQ_BATCH ? n - at :
		    DELIVERQ_BATCH;
		len = rekindle__bus__v1__deliver_job__get_packed_size(&job);
		buf = arena_alloc(a, len + 1);
		rekindle__bus__v1__deliver_job__pack(&job, buf);
		rc = jobq_enqueue_at(db, channel_queue(channel), buf, len,
		    run_at_us, NULL);
	}
	return (rc);
}

rk_err
deliverq_enqueue_text(db_conn *db, arena *a, int channel, const char *ids)
{
	size_t n;
	char **v = db_array_split(a, ids, &n);
	int64_t *id = arena_alloc(a, sizeof(int64_t) * (n + 1));

	for (size_t i = 0; i < n; i++)
		id[i] = strtoll(v[i], NULL, 10);
	return (deliverq_enqueue(db, a, channel, id, n, 0));
}
