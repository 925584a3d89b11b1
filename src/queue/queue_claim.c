/*
 * The claim: take ready jobs with FOR UPDATE SKIP LOCKED and lease them:
 * attempts + 1, lease (a fresh random token), lease_until, claimed_at,
 * claimed_by.  None of these columns is indexed, so the update stays on its
 * heap page (HOT).  Only the claimer learns the token (queue_consume.c has
 * the verbs that need it).  A lease that ran out makes the job claimable
 * again; the next claim records the expiry as the attempt's error, and
 * moves a job whose last attempt that was to the dead letters.
 */
#include "base/pg_scribe.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "queue/queue.h"
#include "queue/queue_stats.h"
#include "base/spi_plans.h"

static SPIPlanPtr plan_claim = NULL;
static SPIPlanPtr plan_dead_many = NULL;

/*
 * Move jobs that a claim found with their last lease run out to the dead
 * letters (inside SPI): that claim counted one attempt too many, and it
 * recorded the expiry as the last attempt's error already.
 */
static void
dead_letter_expired(int n, const int64 *job_ids)
{
	Oid			argtypes[1] = {INT8ARRAYOID};
	Datum		values[1];

	values[0] = scribe_int8_array(job_ids, n);
	scribe_plan_execute(&plan_dead_many,
						"WITH d AS (DELETE FROM scribe.jobs WHERE job_id = ANY ($1) RETURNING *) "
						"INSERT INTO scribe.jobs_dead (" SCRIBE_JOBS_DEAD_COLUMNS ") "
						"SELECT job_id, clock_timestamp(), run_at, enqueued_at, claimed_at, queue_id, "
						"       attempts - 1, max_attempts, enqueued_by, priority, kind, idempotency_key, payload, errors "
						"FROM d RETURNING queue_id, kind",
						1, argtypes, values, NULL, false, 0);
	scribe_queue_account_dead_rows();
}

/* qsort order of claimed jobs: the claim order, highest priority then oldest */
static int
job_claim_order(const void *a, const void *b)
{
	const ScribeJob *x = a;
	const ScribeJob *y = b;

	if (x->priority != y->priority)
		return x->priority > y->priority ? -1 : 1;
	if (x->run_at != y->run_at)
		return x->run_at < y->run_at ? -1 : 1;
	if (x->job_id != y->job_id)
		return x->job_id < y->job_id ? -1 : 1;
	return 0;
}

/*
 * Claim up to n ready jobs of a queue with a lease of lease_us (inside SPI).
 * claimed_by is the consumer's pid, negated for the worker pool.  Returns
 * how many; *jobs is allocated in the caller's memory context.  *touched
 * (if not NULL): the rows the claim changed, jobs whose last lease ran out
 * (dead-lettered) included.  The update
 * finds its rows by primary key from an array, never by a join, so that no
 * statistics (a queue analyzed while empty) can turn it into a scan.
 */
int
scribe_queue_claim_jobs(const ScribeQueue *queue, int n, int64 lease_us, int32 claimed_by,
						ScribeJob **jobs, int *touched)
{
	Oid			argtypes[5] = {INT4OID, INT4OID, INT8OID, INT4OID, TIMESTAMPTZOID};
	Datum		values[5];
	MemoryContext caller = CurrentMemoryContext;
	int64	   *exhausted;
	int			nexhausted = 0;
	int			count = 0;
	SPITupleTable *rows;
	uint64		nrows;

	values[0] = Int32GetDatum(queue->queue_id);
	values[1] = Int32GetDatum(n);
	values[2] = Int64GetDatum(lease_us);
	values[3] = Int32GetDatum(claimed_by);
	/* the clock, not now(): a claim that waits sees jobs sent after its transaction began */
	values[4] = TimestampTzGetDatum(GetCurrentTimestamp());
	scribe_plan_execute_indexed(&plan_claim,
						"WITH c AS MATERIALIZED ("
						"  SELECT job_id, lease_until FROM scribe.jobs "
						"  WHERE queue_id = $1 AND run_at <= $5 AND (lease_until IS NULL OR lease_until <= $5) "
						"  ORDER BY priority DESC, run_at, job_id "
						"  LIMIT $2 FOR UPDATE SKIP LOCKED), "
						"r AS (SELECT COALESCE(array_agg(job_id) FILTER (WHERE lease_until IS NOT NULL), '{}') AS ids FROM c) "
						"UPDATE scribe.jobs j "
						"SET attempts = j.attempts + 1, lease = gen_random_uuid(), "
						"    lease_until = clock_timestamp() + $3 * interval '1 microsecond', "
						"    claimed_at = clock_timestamp(), claimed_by = $4, "
						"    errors = CASE WHEN j.lease_until IS NULL THEN j.errors "
						"             ELSE COALESCE(j.errors, '[]') || jsonb_build_object('attempt', j.attempts, "
						"                  'at', j.lease_until, 'error', 'lease expired', 'consumer', j.claimed_by) END "
						"WHERE j.job_id = ANY (ARRAY(SELECT job_id FROM c)) "
						"RETURNING j.job_id, j.attempts, j.max_attempts, j.priority, j.kind, j.payload, "
						"          j.enqueued_by, j.enqueued_at, j.run_at, j.lease_until, j.job_id = ANY ((SELECT ids FROM r)::bigint[]), "
						"          j.lease",
						5, argtypes, values, NULL, false, 0);
	rows = SPI_tuptable;
	nrows = SPI_processed;

	*jobs = MemoryContextAllocZero(caller, sizeof(ScribeJob) * Max(nrows, 1));
	exhausted = palloc(sizeof(int64) * Max(nrows, 1));
	for (uint64 i = 0; i < nrows; i++)
	{
		HeapTuple	tuple = rows->vals[i];
		TupleDesc	desc = rows->tupdesc;
		ScribeJob  *job = &(*jobs)[count];
		bool		isnull;
		bool		reclaimed;
		Datum		d;

		job->job_id = DatumGetInt64(SPI_getbinval(tuple, desc, 1, &isnull));
		job->lease = *DatumGetUUIDP(SPI_getbinval(tuple, desc, 12, &isnull));
		job->attempt = DatumGetInt32(SPI_getbinval(tuple, desc, 2, &isnull));
		job->max_attempts = DatumGetInt32(SPI_getbinval(tuple, desc, 3, &isnull));
		reclaimed = DatumGetBool(SPI_getbinval(tuple, desc, 11, &isnull));

		/* in flight since its first claim: only a fresh claim adds one */
		if (!reclaimed)
			scribe_queue_stats_count(queue->queue_id, 0, 1);

		/* a lease ran out on the last allowed attempt: that was the last one */
		if (job->attempt > job->max_attempts)
		{
			exhausted[nexhausted++] = job->job_id;
			continue;
		}

		job->queue_id = queue->queue_id;
		job->priority = DatumGetInt16(SPI_getbinval(tuple, desc, 4, &isnull));
		d = SPI_getbinval(tuple, desc, 5, &isnull);
		job->kind = isnull ? NULL : MemoryContextStrdup(caller, TextDatumGetCString(d));
		d = SPI_getbinval(tuple, desc, 6, &isnull);
		{
			MemoryContext spi = MemoryContextSwitchTo(caller);

			job->payload = DatumGetJsonbPCopy(d);
			MemoryContextSwitchTo(spi);
		}
		job->enqueued_by = DatumGetObjectId(SPI_getbinval(tuple, desc, 7, &isnull));
		job->enqueued_at = DatumGetTimestampTz(SPI_getbinval(tuple, desc, 8, &isnull));
		job->run_at = DatumGetTimestampTz(SPI_getbinval(tuple, desc, 9, &isnull));
		job->lease_until = DatumGetTimestampTz(SPI_getbinval(tuple, desc, 10, &isnull));
		count++;
	}
	if (nexhausted > 0)
		dead_letter_expired(nexhausted, exhausted);
	if (touched != NULL)
		*touched = (int) nrows;
	/* should this transaction roll back, the jobs are claimable again: waiting claims must look */
	if (nrows > 0)
		scribe_queue_wake_at_abort(queue->queue_id);
	/* the update returns rows in key order: give them in the claim order */
	qsort(*jobs, count, sizeof(ScribeJob), job_claim_order);
	return count;
}
