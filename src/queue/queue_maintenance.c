/*
 * Upkeep of the queue by the launcher: exact recounts of the statistics,
 * archive partitions created ahead and dropped after retention, the rights
 * and queues of dropped roles forgotten; and the notices that SQL functions
 * send it when they change queues in bulk.
 */
#include "base/pg_scribe.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "commands/vacuum.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "nodes/makefuncs.h"
#include "pgstat.h"
#include "queue/queue_stats.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "queue/queue.h"
#include "queue/queue_stats.h"
#include "base/spi_plans.h"

/* How often the launcher looks at the archive partitions */
#define PARTITIONS_INTERVAL_MS (60 * 60 * 1000)

/*
 * The launcher vacuums scribe.jobs itself once acks, nacks and dead letters
 * have left SCRIBE_VACUUM_MIN_CHURN dead rows, and that many are this share
 * of its live rows: the dead index entries of finished jobs sit at the head
 * of the claim index, where every claim must step over them, and autovacuum
 * looks only once per autovacuum_naptime.
 */
#define VACUUM_DEAD_SHARE 0.2
#define VACUUM_MIN_INTERVAL_MS 2000

static TimestampTz partitions_due = 0;
static bool recounted_since_start = false;

static SPIPlanPtr plan_partitions_ensure = NULL;
static SPIPlanPtr plan_partitions_expire = NULL;
static SPIPlanPtr plan_roles_forget = NULL;

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
		/* queues have owners since 0.4.0's SQL: not before ALTER EXTENSION UPDATE */
		if (OidIsValid(get_relname_relid("queue_rights", get_namespace_oid(SCRIBE_SCHEMA_NAME, true))))
			scribe_plan_execute(&plan_roles_forget, "SELECT scribe._queue_roles_forget()",
								0, NULL, NULL, NULL, false, 0);
		partitions_due = TimestampTzPlusMilliseconds(now, PARTITIONS_INTERVAL_MS);
	}
	return Min(next, partitions_due);
}

/*
 * Vacuum scribe.jobs if it has enough dead rows (the launcher, outside any
 * transaction).  A lock someone holds makes it skip, never wait; it never
 * truncates the table, which would lock out the queue.  Returns when it
 * wants to look again (0: when woken).
 */
TimestampTz
scribe_queue_vacuum_if_needed(TimestampTz now)
{
	static TimestampTz last_vacuum = 0;
	Oid			relid;
	uint64		churn = scribe_queue_churn(0);

	/* our own count of dead rows: pgstat's lags until backends report */
	if (churn < SCRIBE_VACUUM_MIN_CHURN ||
		churn < VACUUM_DEAD_SHARE * scribe_queue_stats_total_jobs())
		return 0;
	if (!TimestampDifferenceExceeds(last_vacuum, now, VACUUM_MIN_INTERVAL_MS))
		return TimestampTzPlusMilliseconds(last_vacuum, VACUUM_MIN_INTERVAL_MS);

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	relid = get_relname_relid("jobs", get_namespace_oid(SCRIBE_SCHEMA_NAME, true));
	if (OidIsValid(relid))
	{
		VacuumParams params;

		memset(&params, 0, sizeof(params));
		params.options = VACOPT_VACUUM | VACOPT_SKIP_LOCKED | VACOPT_PROCESS_TOAST;
		params.freeze_min_age = -1;
		params.freeze_table_age = -1;
		params.multixact_freeze_min_age = -1;
		params.multixact_freeze_table_age = -1;
		params.log_min_duration = -1;
		params.index_cleanup = VACOPTVALUE_AUTO;
		params.truncate = VACOPTVALUE_DISABLED;
		params.nworkers = -1;
		last_vacuum = now;
		pgstat_report_activity(STATE_RUNNING, "vacuuming scribe.jobs");
		vacuum(list_make1(makeVacuumRelation(NULL, relid, NIL)), &params, NULL, true);
		pgstat_report_activity(STATE_IDLE, "running");
		(void) scribe_queue_churn(churn);
	}
	CommitTransactionCommand();
	return 0;
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
	scribe_queue_wake_at_commit(queue_id);
	if (PG_GETARG_BOOL(1))
		scribe_queue_ready_at_commit(1, 0);
	PG_RETURN_VOID();
}
