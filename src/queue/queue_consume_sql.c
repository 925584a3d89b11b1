/*
 * The SQL functions of consumers: scribe.claim(), ack(), nack(), release()
 * and extend_lease(), over the C API of queue_claim.c, queue_wait.c and
 * queue_consume.c.  A consumer names a lease by the job's id and the token
 * that claim() returned with it, and
 * needs the claim right on the queue for each (queue_rights.c).
 */
#include "base/pg_scribe.h"

#include "access/xact.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "queue/queue.h"

/* Most jobs one claim may take */
#define MAX_CLAIM 10000

/* Check a lease token passed to ack, nack, release or extend_lease */
static pg_uuid_t *
arg_lease(FunctionCallInfo fcinfo, int argno)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("lease must not be NULL"),
				 errhint("Pass the lease token that scribe.claim() returned with the job.")));
	return PG_GETARG_UUID_P(argno);
}

/* Check a job id passed to ack, nack, release or extend_lease */
static int64
arg_job_id(FunctionCallInfo fcinfo)
{
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("job_id must not be NULL"),
				 errhint("Pass the job_id that scribe.claim() returned.")));
	return PG_GETARG_INT64(0);
}

/* Microseconds of an interval (a month is 30 days) */
static int64
arg_interval_us(const Interval *iv)
{
	return iv->time + iv->day * USECS_PER_DAY + (int64) iv->month * 30 * USECS_PER_DAY;
}

/* Microseconds of an interval argument, which must be positive when given */
static int64
arg_positive_interval(FunctionCallInfo fcinfo, int argno, const char *name, int64 dflt)
{
	int64		us;

	if (PG_ARGISNULL(argno))
		return dflt;
	us = arg_interval_us(PG_GETARG_INTERVAL_P(argno));
	if (us <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a positive interval", name),
				 errhint("Leave it NULL to use the queue's lease.")));
	return us;
}

PG_FUNCTION_INFO_V1(scribe_claim);

/* scribe.claim(queue, n, lease, wait) */
Datum
scribe_claim(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int32		n = PG_ARGISNULL(1) ? 1 : PG_GETARG_INT32(1);
	ScribeSpiScope scope;
	const ScribeQueue *queue;
	ScribeJob  *jobs;
	int			count;
	Oid			caller;
	char	   *name;
	int64		wait_us = 0;

	scribe_require_preload("scribe.claim()");
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("queue must not be NULL")));
	if (n < 1 || n > MAX_CLAIM)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("n must be between 1 and %d, not %d", MAX_CLAIM, n),
				 errhint("n is how many jobs to claim at most.")));

	if (!PG_ARGISNULL(3))
	{
		wait_us = arg_interval_us(PG_GETARG_INTERVAL_P(3));
		if (wait_us < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("wait must not be negative"),
					 errhint("Pass how long to wait for a job, or leave it NULL not to wait.")));
	}
	/* a wait needs a new snapshot for each look: only READ COMMITTED takes one per statement */
	if (wait_us > 0 && IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("scribe.claim() cannot wait in a REPEATABLE READ or SERIALIZABLE transaction"),
				 errhint("Claim with wait in a READ COMMITTED transaction (the default), or claim without wait.")));

	InitMaterializedSRF(fcinfo, 0);

	caller = scribe_spi_begin_as_owner(&scope);
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	queue = scribe_queue_lookup(name);
	scribe_queue_require(queue, caller, SCRIBE_QUEUE_CLAIM);
	if (wait_us > 0)
	{
		count = scribe_queue_claim_wait(queue, n,
										arg_positive_interval(fcinfo, 2, "lease_for", queue->lease_us),
										MyProcPid, wait_us, &jobs);
		/* a right revoked while the claim waited rolls back what it took */
		if (count > 0)
			scribe_queue_require(scribe_queue_lookup(name), caller, SCRIBE_QUEUE_CLAIM);
	}
	else
		count = scribe_queue_claim_jobs(queue, n,
										arg_positive_interval(fcinfo, 2, "lease_for", queue->lease_us),
										MyProcPid, &jobs, NULL);
	scribe_spi_as_caller(&scope);

	for (int i = 0; i < count; i++)
	{
		Datum		values[9];
		bool		nulls[9] = {false, false, false, false, false, false, false, false, false};

		values[0] = Int64GetDatum(jobs[i].job_id);
		values[1] = UUIDPGetDatum(&jobs[i].lease);
		values[2] = Int32GetDatum(jobs[i].attempt);
		values[3] = Int32GetDatum(jobs[i].max_attempts);
		values[4] = jobs[i].kind ? CStringGetTextDatum(jobs[i].kind) : (Datum) 0;
		nulls[4] = jobs[i].kind == NULL;
		values[5] = JsonbPGetDatum(jobs[i].payload);
		values[6] = Int32GetDatum(jobs[i].priority);
		values[7] = TimestampTzGetDatum(jobs[i].enqueued_at);
		values[8] = TimestampTzGetDatum(jobs[i].lease_until);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	scribe_spi_end(&scope);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(scribe_ack);

/* scribe.ack(job_id, lease, result) */
Datum
scribe_ack(PG_FUNCTION_ARGS)
{
	int64		job_id = arg_job_id(fcinfo);
	pg_uuid_t  *lease = arg_lease(fcinfo, 1);
	Jsonb	   *result = PG_ARGISNULL(2) ? NULL : PG_GETARG_JSONB_P(2);
	ScribeSpiScope scope;
	Oid			caller;
	bool		acked;

	scribe_require_preload("scribe.ack()");
	caller = scribe_spi_begin_as_owner(&scope);
	acked = scribe_queue_ack_job(job_id, lease, result, caller);
	scribe_spi_end(&scope);
	PG_RETURN_BOOL(acked);
}

PG_FUNCTION_INFO_V1(scribe_nack);

/* scribe.nack(job_id, lease, error, retry_in, retry) */
Datum
scribe_nack(PG_FUNCTION_ARGS)
{
	int64		job_id = arg_job_id(fcinfo);
	pg_uuid_t  *lease = arg_lease(fcinfo, 1);
	char	   *error = PG_ARGISNULL(2) ? pstrdup("(no error given)") : text_to_cstring(PG_GETARG_TEXT_PP(2));
	Interval   *retry_in = PG_ARGISNULL(3) ? NULL : PG_GETARG_INTERVAL_P(3);
	bool		retry = PG_ARGISNULL(4) ? true : PG_GETARG_BOOL(4);
	ScribeSpiScope scope;
	Oid			caller;
	const char *state;

	scribe_require_preload("scribe.nack()");
	if (retry_in != NULL && (retry_in->time < 0 || retry_in->day < 0 || retry_in->month < 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("retry_in must not be negative"),
				 errhint("Leave it NULL for the queue's exponential backoff, or pass interval '0' to retry at once.")));

	caller = scribe_spi_begin_as_owner(&scope);
	state = scribe_queue_consumer_nack(job_id, lease, error, retry_in, retry, caller);
	scribe_spi_end(&scope);
	PG_RETURN_TEXT_P(cstring_to_text(state));
}

PG_FUNCTION_INFO_V1(scribe_release);

/* scribe.release(job_id, lease): give a claimed job back unrun, the attempt not counted */
Datum
scribe_release(PG_FUNCTION_ARGS)
{
	int64		job_id = arg_job_id(fcinfo);
	pg_uuid_t  *lease = arg_lease(fcinfo, 1);
	ScribeSpiScope scope;
	Oid			caller;
	bool		released;

	scribe_require_preload("scribe.release()");
	caller = scribe_spi_begin_as_owner(&scope);
	released = scribe_queue_release_job(job_id, lease, caller);
	scribe_spi_end(&scope);
	PG_RETURN_BOOL(released);
}

PG_FUNCTION_INFO_V1(scribe_extend_lease);

/* scribe.extend_lease(job_id, lease, lease_for) */
Datum
scribe_extend_lease(PG_FUNCTION_ARGS)
{
	int64		job_id = arg_job_id(fcinfo);
	pg_uuid_t  *lease = arg_lease(fcinfo, 1);
	int64		lease_us = arg_positive_interval(fcinfo, 2, "lease_for", 0);
	ScribeSpiScope scope;
	Oid			caller;
	TimestampTz lease_until;

	scribe_require_preload("scribe.extend_lease()");
	caller = scribe_spi_begin_as_owner(&scope);
	lease_until = scribe_queue_extend_lease(job_id, lease, lease_us, caller);
	scribe_spi_end(&scope);
	PG_RETURN_TIMESTAMPTZ(lease_until);
}
