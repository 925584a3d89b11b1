/*
 * The queue's administrative functions: scribe.queue_create, queue_alter,
 * queue_drop, queue_purge, requeue, queue_grant and queue_revoke.  Each is
 * a C function for one reason: to know its caller.  A SECURITY DEFINER
 * function sees its owner as current_user, so it cannot tell who called it;
 * here GetUserId() is the caller, passed as the first argument of one call
 * of the internal function (scribe._queue_create(caller, ...), granted to
 * nobody) that does the work as the bootstrap superuser, on our own tables
 * only, and decides by the caller: the creator owns the queue; its owner's
 * members, scribe_admin's and superusers manage it (src/sql/queue.sql,
 * src/sql/queue_rights.sql).  Queue names are data, never identifiers: the
 * internal functions resolve nothing the caller controls.
 */
#include "base/pg_scribe.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/lsyscache.h"

#include "queue/queue.h"
#include "base/spi_plans.h"

/* Most arguments of an internal function: the caller and the API's own */
#define QUEUE_ADMIN_MAX_ARGS 9

/*
 * Run sql, one call of an internal function whose first parameter is the
 * caller's role and the others this function's arguments, as the bootstrap
 * superuser; its one value (NULL for void)
 */
static Datum
queue_admin_call(FunctionCallInfo fcinfo, SPIPlanPtr *plan, const char *sql, int nargs, Oid *argtypes)
{
	ScribeSpiScope scope;
	Datum		values[QUEUE_ADMIN_MAX_ARGS];
	char		nulls[QUEUE_ADMIN_MAX_ARGS];
	bool		isnull;
	Datum		result;
	Oid			type;

	Assert(nargs <= QUEUE_ADMIN_MAX_ARGS && nargs == PG_NARGS() + 1);
	for (int i = 1; i < nargs; i++)
	{
		values[i] = PG_ARGISNULL(i - 1) ? (Datum) 0 : PG_GETARG_DATUM(i - 1);
		nulls[i] = PG_ARGISNULL(i - 1) ? 'n' : ' ';
	}
	values[0] = ObjectIdGetDatum(scribe_spi_begin_as_owner(&scope));
	nulls[0] = ' ';
	scribe_plan_execute(plan, sql, nargs, argtypes, values, nulls, false, 1);
	if (SPI_processed != 1)
		elog(ERROR, "%s returned " UINT64_FORMAT " rows", sql, SPI_processed);
	result = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	type = SPI_gettypeid(SPI_tuptable->tupdesc, 1);
	if (type == VOIDOID)
		isnull = true;
	else if (!isnull)
	{
		int16		len;
		bool		byval;

		/* out of SPI's memory: a row of scribe.queues, or a count */
		get_typlenbyval(type, &len, &byval);
		result = SPI_datumTransfer(result, byval, len);
	}
	scribe_spi_end(&scope);
	if (isnull)
		PG_RETURN_NULL();
	return result;
}

PG_FUNCTION_INFO_V1(scribe_queue_create);

/* scribe.queue_create(name, consumer, lease, max_attempts, backoff_base, backoff_cap, retention) */
Datum
scribe_queue_create(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[8] = {REGROLEOID, TEXTOID, TEXTOID, INTERVALOID, INT4OID,
	INTERVALOID, INTERVALOID, INTERVALOID};

	return queue_admin_call(fcinfo, &plan, "SELECT scribe._queue_create($1, $2, $3, $4, $5, $6, $7, $8)",
							8, argtypes);
}

PG_FUNCTION_INFO_V1(scribe_queue_alter);

/* scribe.queue_alter(name, consumer, lease, max_attempts, backoff_base, backoff_cap, retention, owner) */
Datum
scribe_queue_alter(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[9] = {REGROLEOID, TEXTOID, TEXTOID, INTERVALOID, INT4OID,
	INTERVALOID, INTERVALOID, INTERVALOID, REGROLEOID};

	return queue_admin_call(fcinfo, &plan, "SELECT scribe._queue_alter($1, $2, $3, $4, $5, $6, $7, $8, $9)",
							9, argtypes);
}

PG_FUNCTION_INFO_V1(scribe_queue_drop);

/* scribe.queue_drop(name, force) */
Datum
scribe_queue_drop(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[3] = {REGROLEOID, TEXTOID, BOOLOID};

	(void) queue_admin_call(fcinfo, &plan, "SELECT scribe._queue_drop($1, $2, $3)", 3, argtypes);
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(scribe_queue_purge);

/* scribe.queue_purge(queue, what) */
Datum
scribe_queue_purge(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[3] = {REGROLEOID, TEXTOID, TEXTOID};

	return queue_admin_call(fcinfo, &plan, "SELECT scribe._queue_purge($1, $2, $3)", 3, argtypes);
}

PG_FUNCTION_INFO_V1(scribe_requeue);

/* scribe.requeue(queue, job_ids) */
Datum
scribe_requeue(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[3] = {REGROLEOID, TEXTOID, INT8ARRAYOID};

	return queue_admin_call(fcinfo, &plan, "SELECT scribe._requeue($1, $2, $3)", 3, argtypes);
}

PG_FUNCTION_INFO_V1(scribe_queue_grant);

/* scribe.queue_grant(queue, role, rights) */
Datum
scribe_queue_grant(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[4] = {REGROLEOID, TEXTOID, REGROLEOID, TEXTARRAYOID};

	(void) queue_admin_call(fcinfo, &plan, "SELECT scribe._queue_grant($1, $2, $3, $4)", 4, argtypes);
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(scribe_queue_revoke);

/* scribe.queue_revoke(queue, role, rights) */
Datum
scribe_queue_revoke(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[4] = {REGROLEOID, TEXTOID, REGROLEOID, TEXTARRAYOID};

	(void) queue_admin_call(fcinfo, &plan, "SELECT scribe._queue_revoke($1, $2, $3, $4)", 4, argtypes);
	PG_RETURN_VOID();
}
