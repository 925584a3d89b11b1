/*
 * Upkeep of the queue by the launcher: exact recounts of the statistics,
 * archive partitions created ahead and dropped after retention; and the
 * notices that SQL functions send it when they change queues in bulk.
 */
#include "pg_scribe.h"

#include "executor/spi.h"
#include "fmgr.h"
#include "utils/timestamp.h"

#include "launcher/launcher.h"
#include "queue/queue.h"
#include "queue/queue_stats.h"
#include "spi_plans.h"

/* How often the launcher looks at the archive partitions */
#define PARTITIONS_INTERVAL_MS (60 * 60 * 1000)

static TimestampTz partitions_due = 0;
static bool recounted_since_start = false;

static SPIPlanPtr plan_partitions_ensure = NULL;
static SPIPlanPtr plan_partitions_expire = NULL;

/* The launcher's queue task: recount, keep partitions; returns when next due */
TimestampTz
scribe_queue_maintenance_task(TimestampTz now)
{
	TimestampTz next;

	/* after a restart the counters start from nothing: count everything */
	next = scribe_queue_stats_reconcile(now, !recounted_since_start);
	recounted_since_start = true;

	if (now >= partitions_due)
	{
		scribe_plan_execute(&plan_partitions_ensure, "SELECT scribe._archive_partitions_ensure()",
							0, NULL, NULL, NULL, false, 0);
		scribe_plan_execute(&plan_partitions_expire, "SELECT scribe._archive_partitions_expire()",
							0, NULL, NULL, NULL, false, 0);
		partitions_due = TimestampTzPlusMilliseconds(now, PARTITIONS_INTERVAL_MS);
	}
	return Min(next, partitions_due);
}

PG_FUNCTION_INFO_V1(scribe_queues_changed);

/* scribe._queues_changed(): queues were created, altered or dropped */
Datum
scribe_queues_changed(PG_FUNCTION_ARGS)
{
	scribe_require_preload("changing queues");
	scribe_queue_cache_forget();
	scribe_queue_changed_at_commit();
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(scribe_queue_jobs_changed);

/* scribe._queue_jobs_changed(queue_id, ready): jobs of a queue changed in bulk */
Datum
scribe_queue_jobs_changed(PG_FUNCTION_ARGS)
{
	int32		queue_id = PG_GETARG_INT32(0);

	scribe_require_preload("changing jobs in bulk");
	scribe_queue_stats_recount_at_commit(queue_id);
	if (PG_GETARG_BOOL(1))
		scribe_workers_wake_at_commit(1, 0);
	PG_RETURN_VOID();
}
