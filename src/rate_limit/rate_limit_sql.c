/*
 * The rate limiter in SQL: scribe.rate_limit_take(), scribe.rate_limit_reset()
 * and scribe.rate_limit_stats().
 *
 * scribe.rate_limit_take() is on the request path of applications: no SPI, no
 * catalog lookups; the result's tuple descriptor is built once per backend.
 */
#include "base/pg_scribe.h"

#include "access/htup_details.h"
#include "common/int.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/memutils.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "rate_limit/rate_limit.h"

/* The longest period: a year of 366 days */
#define MAX_PERIOD_US (INT64CONST(366) * USECS_PER_DAY)
/* The longest a bucket may take to refill, burst * period / limit: ten such years */
#define MAX_TOLERANCE_NS (INT64CONST(10) * MAX_PERIOD_US * 1000)

PG_FUNCTION_INFO_V1(scribe_rate_limit);
PG_FUNCTION_INFO_V1(scribe_rate_limit_reset);
PG_FUNCTION_INFO_V1(scribe_rate_limit_status);

/* A function's result row type, looked up once per backend */
typedef struct ResultShape
{
	Oid			fn_oid;			/* of the function it was built for */
	TupleDesc	tupdesc;		/* blessed, in TopMemoryContext */
} ResultShape;

static ResultShape rate_limit_shape = {InvalidOid, NULL};
static ResultShape status_shape = {InvalidOid, NULL};

/*
 * The result's tuple descriptor.  The executor sets up a function anew for
 * every execution of a statement, so a cache in fn_extra would be rebuilt
 * (from the catalog) on every call: keep it for the backend instead, for
 * the function's OID (a new one after the extension is created again).
 */
static TupleDesc
result_tupdesc(FunctionCallInfo fcinfo, ResultShape *shape)
{
	TupleDesc	tupdesc;
	MemoryContext old;

	if (shape->fn_oid == fcinfo->flinfo->fn_oid)
		return shape->tupdesc;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	old = MemoryContextSwitchTo(TopMemoryContext);
	tupdesc = BlessTupleDesc(CreateTupleDescCopy(tupdesc));
	MemoryContextSwitchTo(old);
	if (shape->tupdesc != NULL)
		FreeTupleDesc(shape->tupdesc);
	shape->tupdesc = tupdesc;
	shape->fn_oid = fcinfo->flinfo->fn_oid;
	return tupdesc;
}

/* Refuse to run without the preloaded library or with the table disabled */
static void
require_table(const char *what)
{
	scribe_require_preload(what);
	if (!scribe_rate_limit_enabled())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the rate limiter is disabled"),
				 errdetail("scribe.rate_limit_keys is 0, so the server keeps no rate limit keys."),
				 errhint("Set scribe.rate_limit_keys to the number of keys to keep (default 10000) and restart the server.")));
}

/* Argument argno, which must not be NULL */
static void
require_not_null(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", name),
				 errhint("scribe.rate_limit_take(key, limit, period, burst, cost): only burst may be NULL (it then equals limit).")));
}

/* The key's bytes; ERROR if it is too long to store */
static const char *
key_bytes(text *key, int *keylen)
{
	*keylen = VARSIZE_ANY_EXHDR(key);
	if (*keylen > SCRIBE_RATE_LIMIT_MAX_KEY)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("rate limit key is too long (%d bytes)", *keylen),
				 errdetail("Keys have at most %d bytes.", SCRIBE_RATE_LIMIT_MAX_KEY),
				 errhint("Hash a longer key first, for example md5(key).")));
	return VARDATA_ANY(key);
}

/* A period in microseconds (months of 30 days, days of 24 hours); ERROR out of range */
static int64
period_us(Interval *period)
{
	double		approx = (double) period->time
		+ (double) period->day * USECS_PER_DAY
		+ (double) period->month * DAYS_PER_MONTH * USECS_PER_DAY;

	if (!(approx > 0 && approx <= (double) MAX_PERIOD_US))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("period must be positive and at most 366 days, not %s",
						DatumGetCString(DirectFunctionCall1(interval_out, IntervalPGetDatum(period)))),
				 errhint("The period is the time in which limit requests are allowed, for example '1 minute'.")));
	/* in range, so no part can overflow */
	return period->time + (int64) period->day * USECS_PER_DAY
		+ (int64) period->month * DAYS_PER_MONTH * USECS_PER_DAY;
}

/* An interval of ns nanoseconds, rounded up to microseconds */
static Datum
interval_from_ns(int64 ns)
{
	Interval   *result = (Interval *) palloc(sizeof(Interval));

	result->time = (ns + 999) / 1000;
	result->day = 0;
	result->month = 0;
	return IntervalPGetDatum(result);
}

/* Check the arguments of scribe.rate_limit_take() and turn them into a request */
static void
request_from_args(FunctionCallInfo fcinfo, RateLimitRequest *request)
{
	int32		limit;
	int64		period_ns;
	int32		burst;
	int32		cost;

	require_not_null(fcinfo, 0, "key");
	require_not_null(fcinfo, 1, "limit");
	require_not_null(fcinfo, 2, "period");
	require_not_null(fcinfo, 4, "cost");

	request->key = key_bytes(PG_GETARG_TEXT_PP(0), &request->keylen);
	limit = PG_GETARG_INT32(1);
	if (limit <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("limit must be positive, not %d", limit),
				 errhint("The limit is how many requests of cost 1 are allowed per period.")));
	period_ns = period_us(PG_GETARG_INTERVAL_P(2)) * 1000;
	burst = PG_ARGISNULL(3) ? limit : PG_GETARG_INT32(3);
	if (burst <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("burst must be positive, not %d", burst),
				 errhint("The burst is how many requests may come at once; NULL means as many as the limit.")));
	cost = PG_GETARG_INT32(4);
	if (cost < 0 || cost > burst)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cost must be between 0 and the burst (%d), not %d", burst, cost),
				 errhint("A request costing more than the burst could never be allowed; cost 0 reads the state without using any.")));

	/* more than one request per nanosecond is no limit worth keeping apart */
	request->interval_ns = Max(period_ns / limit, 1);
	if (pg_mul_s64_overflow(request->interval_ns, burst, &request->tolerance_ns)
		|| request->tolerance_ns > MAX_TOLERANCE_NS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("burst %d is too large for a limit of %d per period", burst, limit),
				 errdetail("An empty bucket would take more than ten years to fill again."),
				 errhint("Lower the burst, raise the limit or shorten the period.")));
	request->cost_ns = request->interval_ns * cost;
}

/*
 * scribe.rate_limit_take(key, limit, period, burst, cost)
 *   -> (allowed, remaining, retry_after, reset_after)
 */
Datum
scribe_rate_limit(PG_FUNCTION_ARGS)
{
	RateLimitRequest request;
	RateLimitDecision decision;
	TupleDesc	tupdesc;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};

	require_table("scribe.rate_limit_take()");
	request_from_args(fcinfo, &request);
	tupdesc = result_tupdesc(fcinfo, &rate_limit_shape);

	/* the clock, not the transaction's start: time moves inside a transaction */
	scribe_rate_limit_apply(&request, GetCurrentTimestamp(), &decision);

	values[0] = BoolGetDatum(decision.allowed);
	values[1] = Int32GetDatum((int32) Min(decision.remaining, PG_INT32_MAX));
	values[2] = interval_from_ns(decision.retry_after_ns);
	values[3] = interval_from_ns(decision.reset_after_ns);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/* scribe.rate_limit_reset(key) -> whether the key was known */
Datum
scribe_rate_limit_reset(PG_FUNCTION_ARGS)
{
	const char *key;
	int			keylen;

	require_table("scribe.rate_limit_reset()");
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("key must not be null"),
				 errhint("Pass the key given to scribe.rate_limit_take().")));
	key = key_bytes(PG_GETARG_TEXT_PP(0), &keylen);
	PG_RETURN_BOOL(scribe_rate_limit_forget(key, keylen));
}

/* scribe.rate_limit_stats() -> the table's counters since the server started */
Datum
scribe_rate_limit_status(PG_FUNCTION_ARGS)
{
	RateLimitCounters counters;
	Datum		values[6];
	bool		nulls[6] = {false, false, false, false, false, false};

	scribe_require_preload("scribe.rate_limit_stats()");
	scribe_rate_limit_counters(&counters);
	values[0] = Int64GetDatum(counters.keys);
	values[1] = Int64GetDatum(counters.capacity);
	values[2] = Int64GetDatum(counters.evictions);
	values[3] = Int64GetDatum(counters.evictions_limiting);
	values[4] = Int64GetDatum(counters.allowed);
	values[5] = Int64GetDatum(counters.rejected);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(result_tupdesc(fcinfo, &status_shape), values, nulls)));
}
