/*
 * What the queue reports in SQL: scribe.queue_stats() and scribe.job_get().
 */
#include "base/pg_scribe.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "queue/queue.h"
#include "queue/queue_stats.h"
#include "base/spi_plans.h"

static SPIPlanPtr plan_delayed = NULL;
static SPIPlanPtr plan_dead = NULL;
static SPIPlanPtr plan_oldest = NULL;
static SPIPlanPtr plan_all = NULL;
static SPIPlanPtr plan_list = NULL;
static SPIPlanPtr plan_job_status = NULL;

/*
 * The age of the oldest ready job of a queue (inside SPI): now() - run_at,
 * saturated rather than out of range whatever run_at a row holds
 */
static Datum
oldest_ready_age(int32 queue_id, bool *isnull)
{
	Oid			argtypes[1] = {INT4OID};
	Datum		args[1] = {Int32GetDatum(queue_id)};
	Interval   *age;
	TimestampTz run_at;

	scribe_plan_execute(&plan_oldest,
						"SELECT run_at FROM scribe.jobs "
						"WHERE queue_id = $1 AND run_at <= now() AND lease_until IS NULL "
						"ORDER BY run_at LIMIT 1",
						1, argtypes, args, NULL, true, 1);
	*isnull = SPI_processed == 0;
	if (*isnull)
		return (Datum) 0;
	run_at = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, isnull));
	age = palloc0(sizeof(Interval));
	age->time = scribe_queue_elapsed_us(run_at, GetCurrentTransactionStartTimestamp());
	/* as now() - run_at shows it: whole days apart */
	return DirectFunctionCall1(interval_justify_hours, IntervalPGetDatum(age));
}

/* A percentile of a histogram as an interval; NULL if it is empty */
static Datum
percentile_interval(const uint64 *hist, uint64 total, double fraction, bool *isnull)
{
	Interval   *result;

	*isnull = (total == 0);
	if (total == 0)
		return (Datum) 0;
	result = palloc0(sizeof(Interval));
	result->time = scribe_queue_hist_percentile(hist, total, fraction);
	return IntervalPGetDatum(result);
}

/* Run a saved one-row count query for a queue; returns the count */
static int64
count_for_queue(SPIPlanPtr *plan, const char *sql, int32 queue_id)
{
	Oid			argtypes[1] = {INT4OID};
	Datum		values[1] = {Int32GetDatum(queue_id)};
	bool		isnull;

	scribe_plan_execute(plan, sql, 1, argtypes, values, NULL, true, 1);
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

PG_FUNCTION_INFO_V1(scribe_queue_stats);

/* scribe.queue_stats(queue, window): one row per queue */
Datum
scribe_queue_stats(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	text	   *queue_name = PG_ARGISNULL(0) ? NULL : PG_GETARG_TEXT_PP(0);
	Interval   *window = PG_ARGISNULL(1) ? NULL : PG_GETARG_INTERVAL_P(1);
	int64		window_us;
	int			minutes;
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	char		nulls[1] = {' '};
	uint64		nqueues;
	SPITupleTable *queues;
	ScribeSpiScope scope;

	scribe_require_preload("scribe.queue_stats()");

	window_us = window ? window->time + (int64) window->day * USECS_PER_DAY +
		(int64) window->month * 30 * USECS_PER_DAY : 5 * USECS_PER_MINUTE;
	if (window_us <= 0 || window_us > SCRIBE_STATS_MINUTES * USECS_PER_MINUTE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("window must be between 1 second and %d minutes", SCRIBE_STATS_MINUTES),
				 errhint("Percentiles and throughput come from one-minute slots kept for the last %d minutes.",
						 SCRIBE_STATS_MINUTES)));
	minutes = (int) ((window_us + USECS_PER_MINUTE - 1) / USECS_PER_MINUTE);

	InitMaterializedSRF(fcinfo, 0);

	scribe_spi_begin_as_owner(&scope);
	args[0] = queue_name ? PointerGetDatum(queue_name) : (Datum) 0;
	nulls[0] = queue_name ? ' ' : 'n';
	scribe_plan_execute(&plan_list,
						"SELECT queue_id, name, consumer FROM scribe.queues "
						"WHERE $1 IS NULL OR name = $1 ORDER BY name",
						1, argtypes, args, nulls, true, 0);
	nqueues = SPI_processed;
	queues = SPI_tuptable;
	if (nqueues == 0 && queue_name != NULL)
		scribe_queue_not_found(text_to_cstring(queue_name));

	for (uint64 q = 0; q < nqueues; q++)
	{
		HeapTuple	qt = queues->vals[q];
		bool		isnull;
		int32		queue_id = DatumGetInt32(SPI_getbinval(qt, queues->tupdesc, 1, &isnull));
		Datum		values[15];
		bool		rnulls[15];
		int64		jobs = 0,
					in_flight = 0,
					delayed,
					dead;
		uint64		completed,
					failed;
		uint64		wait[SCRIBE_HIST_BUCKETS];
		uint64		run[SCRIBE_HIST_BUCKETS];
		Datum		oldest;
		bool		oldest_null;

		memset(rnulls, 0, sizeof(rnulls));
		values[0] = SPI_getbinval(qt, queues->tupdesc, 2, &isnull);
		values[1] = SPI_getbinval(qt, queues->tupdesc, 3, &isnull);

		if (!scribe_queue_stats_counters(queue_id, &jobs, &in_flight))
			scribe_queue_stats_recount(queue_id, &jobs, &in_flight);
		(void) scribe_queue_stats_window(queue_id, minutes, &completed, &failed, wait, run);

		delayed = count_for_queue(&plan_delayed,
								  "SELECT count(*) FROM scribe.jobs "
								  "WHERE queue_id = $1 AND run_at > now() AND lease_until IS NULL",
								  queue_id);
		dead = count_for_queue(&plan_dead,
							   "SELECT count(*) FROM scribe.jobs_dead WHERE queue_id = $1", queue_id);
		oldest = oldest_ready_age(queue_id, &oldest_null);

		values[2] = Int64GetDatum(Max(jobs - in_flight - delayed, 0));
		values[3] = Int64GetDatum(delayed);
		values[4] = Int64GetDatum(Max(in_flight, 0));
		values[5] = Int64GetDatum(dead);
		values[6] = oldest;
		rnulls[6] = oldest_null;
		values[7] = Float8GetDatum((double) completed / minutes);
		values[8] = Float8GetDatum((double) failed / minutes);
		values[9] = percentile_interval(wait, completed, 0.50, &rnulls[9]);
		values[10] = percentile_interval(wait, completed, 0.95, &rnulls[10]);
		values[11] = percentile_interval(wait, completed, 0.99, &rnulls[11]);
		values[12] = percentile_interval(run, completed, 0.50, &rnulls[12]);
		values[13] = percentile_interval(run, completed, 0.95, &rnulls[13]);
		values[14] = percentile_interval(run, completed, 0.99, &rnulls[14]);

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, rnulls);
	}
	scribe_spi_end(&scope);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(scribe_job_status);

/*
 * scribe.job_get(id): a job wherever it is, for the role that enqueued it
 * and the roles that may claim from its queue (who read its payload anyway)
 */
Datum
scribe_job_status(PG_FUNCTION_ARGS)
{
	int64		job_id = PG_GETARG_INT64(0);
	Oid			caller;
	ScribeSpiScope scope;
	Oid			argtypes[1] = {INT8OID};
	Datum		args[1] = {Int64GetDatum(job_id)};
	TupleDesc	tupdesc;
	TupleDesc	rowdesc;
	HeapTuple	row;
	Oid			sender;
	char	   *queue;
	bool		may;
	bool		isnull;
	Datum		result;

	scribe_require_preload("scribe.job_get()");
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	caller = scribe_spi_begin_as_owner(&scope);
	/* unfinished, finished or dead: a job is in exactly one of the three */
	scribe_plan_execute(&plan_job_status,
						"SELECT j.job_id, q.name, CASE WHEN j.lease_until IS NOT NULL THEN 'running' "
						"         WHEN j.run_at > now() THEN 'delayed' ELSE 'ready' END, "
						"       j.kind, j.attempts, j.max_attempts, j.priority::integer, j.enqueued_by, j.enqueued_at, "
						"       j.run_at, j.claimed_at, j.lease_until, NULL::timestamptz, j.payload, NULL::jsonb, j.errors "
						"FROM scribe.jobs j JOIN scribe.queues q USING (queue_id) WHERE j.job_id = $1 "
						"UNION ALL "
						"SELECT a.job_id, q.name, 'done', a.kind, a.attempts, NULL, a.priority, a.enqueued_by, "
						"       a.enqueued_at, a.run_at, a.claimed_at, NULL, a.finished_at, a.payload, a.result, a.errors "
						"FROM scribe.jobs_archive a JOIN scribe.queues q USING (queue_id) WHERE a.job_id = $1 "
						"UNION ALL "
						"SELECT d.job_id, q.name, 'dead', d.kind, d.attempts, d.max_attempts, d.priority, d.enqueued_by, "
						"       d.enqueued_at, d.run_at, d.claimed_at, NULL, d.died_at, d.payload, NULL, d.errors "
						"FROM scribe.jobs_dead d JOIN scribe.queues q USING (queue_id) WHERE d.job_id = $1 "
						"LIMIT 1",
						1, argtypes, args, NULL, false, 1);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("job " INT64_FORMAT " not found", job_id),
				 errhint("It never existed, or it finished longer ago than its queue's retention.")));
	row = SPI_copytuple(SPI_tuptable->vals[0]);
	rowdesc = SPI_tuptable->tupdesc;
	sender = DatumGetObjectId(SPI_getbinval(row, rowdesc, 8, &isnull));
	queue = TextDatumGetCString(SPI_getbinval(row, rowdesc, 2, &isnull));

	/*
	 * A job's payload and result belong to the role that enqueued it, and
	 * to those that may claim it (a lookup of the queue may run a statement)
	 */
	may = has_privs_of_role(caller, sender) ||
		scribe_queue_may(scribe_queue_lookup(queue), caller, SCRIBE_QUEUE_CLAIM);
	scribe_spi_as_caller(&scope);
	if (!may)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for job " INT64_FORMAT, job_id),
				 errhint("Only the role that enqueued it and the roles that may claim from its queue can read it.")));

	{
		Datum		values[16];
		bool		nulls[16];

		heap_deform_tuple(row, rowdesc, values, nulls);
		result = HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls));
		result = SPI_datumTransfer(result, false, -1);
	}
	scribe_spi_end(&scope);
	PG_RETURN_DATUM(result);
}

PG_FUNCTION_INFO_V1(scribe_queue_totals);

/* scribe._queue_totals(): per queue and kind, jobs completed, failed and dead-lettered since server start */
Datum
scribe_queue_totals(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ScribeSpiScope scope;
	ScribeQueueTotals totals;

	scribe_require_preload("scribe._queue_totals()");
	InitMaterializedSRF(fcinfo, 0);
	scribe_spi_begin_as_owner(&scope);
	scribe_plan_execute(&plan_list,
						"SELECT queue_id, name, consumer FROM scribe.queues "
						"WHERE $1 IS NULL OR name = $1 ORDER BY name",
						1, (Oid[]) {TEXTOID}, (Datum[]) {(Datum) 0}, "n", true, 0);
	for (uint64 q = 0; q < SPI_processed; q++)
	{
		bool		isnull;
		Datum		name = SPI_getbinval(SPI_tuptable->vals[q], SPI_tuptable->tupdesc, 2, &isnull);

		if (!scribe_queue_stats_totals(DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[q], SPI_tuptable->tupdesc, 1, &isnull)),
									   &totals))
			continue;
		for (int k = 0; k < totals.nkinds; k++)
		{
			Datum		values[5];
			bool		nulls[5] = {false, false, false, false, false};

			values[0] = name;
			values[1] = CStringGetTextDatum(totals.kinds[k].kind);
			nulls[1] = totals.kinds[k].kind[0] == '\0';
			values[2] = Int64GetDatum((int64) totals.kinds[k].completed);
			values[3] = Int64GetDatum((int64) totals.kinds[k].failed);
			values[4] = Int64GetDatum((int64) totals.kinds[k].dead);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	scribe_spi_end(&scope);
	return (Datum) 0;
}

/* Every queue, ordered by name (inside SPI): their ids and names, and how many */
uint64
scribe_queue_list_all(int32 **ids, char ***names)
{
	uint64		n;

	scribe_plan_execute(&plan_all, "SELECT queue_id, name FROM scribe.queues ORDER BY name",
						0, NULL, NULL, NULL, true, 0);
	n = SPI_processed;
	*ids = palloc(sizeof(int32) * Max(n, 1));
	*names = palloc(sizeof(char *) * Max(n, 1));
	for (uint64 i = 0; i < n; i++)
	{
		bool		isnull;

		(*ids)[i] = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		(*names)[i] = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
	}
	return n;
}
