/*
 * Ready work: the queue announces, when a transaction commits, that jobs
 * of a workers queue became ready (or that a delayed one falls due sooner
 * than the launcher knows); whoever runs jobs (the pool) listens through
 * scribe_queue_on_ready().  And the counts a listener scales by.
 */
#include "base/pg_scribe.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/memutils.h"

#include "base/spi_plans.h"
#include "base/wakeup.h"
#include "base/xact.h"
#include "queue/queue.h"
#include "queue/queue_stats.h"

static ScribeQueueReadyHook ready_hook = NULL;
static bool ready_registered = false;
static int64 ready_jobs = 0;
static TimestampTz ready_due = 0;

static SPIPlanPtr plan_next_due = NULL;
static SPIPlanPtr plan_delayed = NULL;

/* Listen to the queue's announcements (server start: the pool) */
void
scribe_queue_on_ready(ScribeQueueReadyHook hook)
{
	ready_hook = hook;
}

/* Announce what became ready once the transaction commits (phase ANNOUNCE) */
static void
queue_ready_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			if (ready_jobs > 0 && ready_hook != NULL)
				ready_hook(ready_jobs);
			/* the launcher sleeps until the earliest delayed job falls due */
			if (ready_due != 0 && scribe_queue_next_due_lower(ready_due))
				scribe_launcher_wake();
			ready_jobs = 0;
			ready_due = 0;
			break;

		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			/* a prepared transaction: the launcher's periodic recheck covers it */
			ready_jobs = 0;
			ready_due = 0;
			break;

		default:
			break;
	}
}

/*
 * Announce when the current transaction commits: ready_jobs became ready in
 * a workers queue, or a delayed job falls due at due (0: none).
 */
void
scribe_queue_ready_at_commit(int64 ready, TimestampTz due)
{
	if (!ready_registered)
	{
		scribe_xact_register(SCRIBE_XACT_PHASE_ANNOUNCE, queue_ready_xact_callback, NULL);
		ready_registered = true;
	}
	ready_jobs += ready;
	if (due != 0 && (ready_due == 0 || due < ready_due))
		ready_due = due;
}

/*
 * Ready jobs of the workers queues, counted up to about cap: the counters,
 * less the delayed jobs (inside SPI)
 */
int64
scribe_queue_ready_jobs(int64 cap)
{
	List	   *queues = scribe_queue_worker_queues();
	ListCell   *lc;
	int64		queued = 0;
	int32	   *ids;
	int			n = 0;
	Oid			argtypes[2] = {INT4ARRAYOID, INT8OID};
	Datum		values[2];
	bool		isnull;
	int64		delayed;

	if (queues == NIL)
		return 0;
	ids = palloc(sizeof(int32) * list_length(queues));
	foreach(lc, queues)
	{
		ScribeQueue *q = lfirst(lc);
		int64		jobs,
					in_flight;

		/* a count waiting for its recount still tells the order of magnitude */
		(void) scribe_queue_stats_counters(q->queue_id, &jobs, &in_flight);
		queued += Max(jobs - in_flight, 0);
		ids[n++] = q->queue_id;
	}
	if (queued == 0)
		return 0;

	/* delayed jobs are not ready: count them, but never more than matters */
	values[0] = scribe_int4_array(ids, n);
	values[1] = Int64GetDatum(Min(queued, cap));
	scribe_plan_execute(&plan_delayed,
						"SELECT count(*) FROM (SELECT FROM scribe.jobs "
						"  WHERE queue_id = ANY ($1) AND run_at > now() AND lease_until IS NULL LIMIT $2) d",
						2, argtypes, values, NULL, true, 1);
	delayed = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	return Max(queued - delayed, 0);
}

/* Look up when the next delayed job of a workers queue falls due (inside SPI) */
TimestampTz
scribe_queue_lookup_next_due(void)
{
	bool		isnull;
	Datum		d;

	scribe_plan_execute(&plan_next_due,
						"SELECT min(x.run_at) FROM scribe.queues q CROSS JOIN LATERAL "
						"  (SELECT run_at FROM scribe.jobs j WHERE j.queue_id = q.queue_id AND j.run_at > now() "
						"   AND j.lease_until IS NULL ORDER BY j.run_at LIMIT 1) x "
						"WHERE q.consumer = 'workers'",
						0, NULL, NULL, NULL, true, 1);
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? 0 : DatumGetTimestampTz(d);
}
