/*
 * Exact recounts of the queues' job counters.
 *
 * The counters that commits apply (queue_stats.c) start empty after a
 * restart and do not follow a bulk change (purge, requeue, drop) row by row.
 * The launcher reconciles them with an exact count every few minutes, after
 * a restart, and when a bulk change asks for it; a count that raced a commit
 * is void and retried.
 */
#include "base/pg_scribe.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"

#include "base/spi_plans.h"
#include "queue/queue_stats.h"
#include "queue/queue_stats_internal.h"

/* How often the launcher recounts every queue */
#define RECONCILE_INTERVAL_MS (5 * 60 * 1000)
/* How often it retries the queues whose recount is due (a commit can void one) */
#define RECOUNT_RETRY_MS 1000

static TimestampTz last_partial_recount = 0;
static SPIPlanPtr plan_count_all = NULL;
static SPIPlanPtr plan_count_one = NULL;

/* How many commits an entry has applied (0 without an entry) */
static uint64
entry_applied(int32 queue_id)
{
	QueueStatsEntry *e = scribe_queue_stats_entry(queue_id, true);
	uint64		applied = 0;

	if (e == NULL)
		return 0;
	SpinLockAcquire(&e->mutex);
	applied = e->applied;
	SpinLockRelease(&e->mutex);
	return applied;
}

/*
 * Set a queue's job counters from an exact count, unless a commit was applied
 * since `applied` was read (before the count's snapshot): then the count may
 * miss or double that commit, and the recount waits for the next cycle.
 */
static void
entry_set_counts(int32 queue_id, int64 jobs, int64 in_flight, uint64 applied)
{
	QueueStatsEntry *e = scribe_queue_stats_entry(queue_id, true);

	if (e == NULL)
		return;
	SpinLockAcquire(&e->mutex);
	if (e->queue_id == queue_id)
	{
		if (e->applied == applied)
		{
			e->jobs = jobs;
			e->in_flight = in_flight;
			e->needs_recount = false;
		}
		else
			e->needs_recount = true;
	}
	SpinLockRelease(&e->mutex);
}

/* Count one queue's jobs exactly and store the counts (inside SPI) */
void
scribe_queue_stats_recount(int32 queue_id, int64 *jobs, int64 *in_flight)
{
	Oid			argtypes[1] = {INT4OID};
	Datum		values[1] = {Int32GetDatum(queue_id)};
	bool		isnull;
	uint64		applied = entry_applied(queue_id);

	/* read_only false: a snapshot taken after `applied` was read */
	scribe_plan_execute(&plan_count_one,
						"SELECT count(*), count(lease_until) FROM scribe.jobs WHERE queue_id = $1",
						1, argtypes, values, NULL, false, 1);
	*jobs = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	*in_flight = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	entry_set_counts(queue_id, *jobs, *in_flight, applied);
}

/*
 * Recount the queues that need it, or all of them when all is set or the
 * interval has passed (inside SPI).  Returns when the next full recount is due.
 */
TimestampTz
scribe_queue_stats_reconcile(TimestampTz now, bool all)
{
	TimestampTz last;

	SpinLockAcquire(&scribe_queue_shared->mutex);
	last = scribe_queue_shared->last_reconcile;
	SpinLockRelease(&scribe_queue_shared->mutex);

	if (all || TimestampDifferenceExceeds(last, now, RECONCILE_INTERVAL_MS))
	{
		uint64	   *applied = palloc(sizeof(uint64) * scribe_queue_shared->max_queues);
		int32	   *ids = palloc(sizeof(int32) * scribe_queue_shared->max_queues);

		for (int e = 0; e < scribe_queue_shared->max_queues; e++)
		{
			ids[e] = scribe_queue_shared->entries[e].queue_id;
			applied[e] = ids[e] ? entry_applied(ids[e]) : 0;
		}

		/* one pass over the hot table, in a fresh snapshot; queues without jobs count zero */
		scribe_plan_execute(&plan_count_all,
							"SELECT q.queue_id, count(j.queue_id), count(j.lease_until) "
							"FROM scribe.queues q LEFT JOIN scribe.jobs j USING (queue_id) "
							"GROUP BY q.queue_id",
							0, NULL, NULL, NULL, false, 0);
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			HeapTuple	tuple = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		isnull;
			int32		queue_id = DatumGetInt32(SPI_getbinval(tuple, desc, 1, &isnull));
			uint64		before = 0;

			for (int e = 0; e < scribe_queue_shared->max_queues; e++)
			{
				if (ids[e] == queue_id)
					before = applied[e];
			}
			entry_set_counts(queue_id,
							 DatumGetInt64(SPI_getbinval(tuple, desc, 2, &isnull)),
							 DatumGetInt64(SPI_getbinval(tuple, desc, 3, &isnull)),
							 before);
		}
		/* entries of dropped queues */
		for (int e = 0; e < scribe_queue_shared->max_queues; e++)
		{
			int32		queue_id = scribe_queue_shared->entries[e].queue_id;
			bool		exists = false;

			for (uint64 i = 0; i < SPI_processed && queue_id != 0 && !exists; i++)
			{
				bool		isnull;

				exists = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull)) == queue_id;
			}
			if (queue_id != 0 && !exists)
				scribe_queue_stats_forget(queue_id);
		}
		SpinLockAcquire(&scribe_queue_shared->mutex);
		scribe_queue_shared->last_reconcile = now;
		SpinLockRelease(&scribe_queue_shared->mutex);
		last = now;
	}
	else if (TimestampDifferenceExceeds(last_partial_recount, now, RECOUNT_RETRY_MS))
	{
		last_partial_recount = now;
		for (int i = 0; i < scribe_queue_shared->max_queues; i++)
		{
			QueueStatsEntry *e = &scribe_queue_shared->entries[i];
			int64		jobs,
						in_flight;

			if (e->queue_id != 0 && e->needs_recount)
				scribe_queue_stats_recount(e->queue_id, &jobs, &in_flight);
		}
	}
	return TimestampTzPlusMilliseconds(last, RECONCILE_INTERVAL_MS);
}
