/*
 * The Redis tier in SQL: scribe.redis_stats() for monitoring, and the
 * internal scribe._redis_*() functions that tests (and the cache layer's
 * tests) use to drive the tier directly.
 *
 * The internal functions never raise an ERROR because of Redis: a miss, a
 * rejection and an unavailable Redis are NULL (or false), and
 * scribe.redis_stats() says which.
 */
#include "base/pg_scribe.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "client/redis.h"

PG_FUNCTION_INFO_V1(scribe_redis_status_sql);
PG_FUNCTION_INFO_V1(scribe_redis_get_sql);
PG_FUNCTION_INFO_V1(scribe_redis_set_sql);
PG_FUNCTION_INFO_V1(scribe_redis_del_sql);
PG_FUNCTION_INFO_V1(scribe_redis_incr_sql);
PG_FUNCTION_INFO_V1(scribe_redis_mget_sql);
PG_FUNCTION_INFO_V1(scribe_redis_set_many_sql);

/* The name of a breaker state, as scribe.redis_stats() shows it */
static const char *
breaker_state_name(ScribeRedisBreakerState state)
{
	switch (state)
	{
		case SCRIBE_BREAKER_CLOSED:
			return "closed";
		case SCRIBE_BREAKER_OPEN:
			return "open";
		case SCRIBE_BREAKER_HALF_OPEN:
			return "half-open";
	}
	return "unknown";
}

/* scribe.redis_stats(): whether Redis is configured, the breaker and its counters */
Datum
scribe_redis_status_sql(PG_FUNCTION_ARGS)
{
	ScribeRedisStatus status;
	TupleDesc	tupdesc;
	Datum		values[8];
	bool		nulls[8] = {false};

	scribe_require_preload("scribe.redis_stats()");
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	scribe_redis_status(&status);
	values[0] = BoolGetDatum(status.configured);
	values[1] = CStringGetTextDatum(breaker_state_name(status.state));
	values[2] = Int64GetDatum(status.failures);
	values[3] = Int64GetDatum(status.successes);
	values[4] = Int64GetDatum(status.opened);
	values[5] = Int64GetDatum(status.short_circuited);
	if (status.last_error[0] != '\0')
		values[6] = CStringGetTextDatum(status.last_error);
	else
		nulls[6] = true;
	values[7] = TimestampTzGetDatum(status.state_since);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}

/* Argument argno as text, which must not be NULL */
static text *
text_arg(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", name)));
	return PG_GETARG_TEXT_PP(argno);
}

/* Bytes as a new bytea */
static bytea *
bytes_to_bytea(const char *data, int len)
{
	bytea	   *result = palloc(VARHDRSZ + len);

	SET_VARSIZE(result, VARHDRSZ + len);
	memcpy(VARDATA(result), data, len);
	return result;
}

/* scribe._redis_get(key): the value, or NULL on a miss, a rejection or no Redis */
Datum
scribe_redis_get_sql(PG_FUNCTION_ARGS)
{
	text	   *key = text_arg(fcinfo, 0, "key");
	StringInfoData value;

	scribe_require_preload("scribe._redis_get()");
	initStringInfo(&value);
	if (scribe_redis_get(VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key), &value) != SCRIBE_REDIS_HIT)
		PG_RETURN_NULL();
	PG_RETURN_BYTEA_P(bytes_to_bytea(value.data, value.len));
}

/* scribe._redis_set(key, value, ttl_ms): true once stored */
Datum
scribe_redis_set_sql(PG_FUNCTION_ARGS)
{
	text	   *key = text_arg(fcinfo, 0, "key");
	bytea	   *value;
	int64		ttl_ms = PG_ARGISNULL(2) ? 0 : PG_GETARG_INT64(2);

	scribe_require_preload("scribe._redis_set()");
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("value must not be null"),
				 errhint("Use scribe._redis_del() to remove a key.")));
	value = PG_GETARG_BYTEA_PP(1);
	PG_RETURN_BOOL(scribe_redis_set(VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key),
									VARDATA_ANY(value), VARSIZE_ANY_EXHDR(value),
									ttl_ms) == SCRIBE_REDIS_OK);
}

/* scribe._redis_del(key): true if removed, false if absent, NULL on a rejection or no Redis */
Datum
scribe_redis_del_sql(PG_FUNCTION_ARGS)
{
	text	   *key = text_arg(fcinfo, 0, "key");
	ScribeRedisKey redis_key;
	int64		deleted;

	scribe_require_preload("scribe._redis_del()");
	redis_key.data = VARDATA_ANY(key);
	redis_key.len = VARSIZE_ANY_EXHDR(key);
	if (scribe_redis_delete(1, &redis_key, &deleted) != SCRIBE_REDIS_OK)
		PG_RETURN_NULL();
	PG_RETURN_BOOL(deleted > 0);
}

/* scribe._redis_incr(key): the new value, or NULL on a rejection or no Redis */
Datum
scribe_redis_incr_sql(PG_FUNCTION_ARGS)
{
	text	   *key = text_arg(fcinfo, 0, "key");
	int64		value;

	scribe_require_preload("scribe._redis_incr()");
	if (scribe_redis_incr(VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key), &value) != SCRIBE_REDIS_OK)
		PG_RETURN_NULL();
	PG_RETURN_INT64(value);
}

/* The elements of a one-dimensional array argument; NULL elements refused */
static void
deconstruct_arg(FunctionCallInfo fcinfo, int argno, Oid elemtype, const char *name,
				Datum **elems, int *nelems)
{
	ArrayType  *array;
	bool	   *nulls;
	int16		typlen;
	bool		typbyval;
	char		typalign;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", name)));
	array = PG_GETARG_ARRAYTYPE_P(argno);
	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a one-dimensional array", name)));
	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	deconstruct_array(array, elemtype, typlen, typbyval, typalign, elems, &nulls, nelems);
	for (int i = 0; i < *nelems; i++)
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not contain nulls", name)));
}

/* scribe._redis_mget(keys): values in order, NULL for misses; NULL altogether without Redis */
Datum
scribe_redis_mget_sql(PG_FUNCTION_ARGS)
{
	Datum	   *key_datums;
	int			nkeys;
	ScribeRedisKey *keys;
	ScribeRedisFetched *fetched;
	Datum	   *values;
	bool	   *nulls;
	int			dims[1];
	int			lbs[1] = {1};

	scribe_require_preload("scribe._redis_mget()");
	deconstruct_arg(fcinfo, 0, TEXTOID, "keys", &key_datums, &nkeys);
	keys = palloc(sizeof(ScribeRedisKey) * Max(nkeys, 1));
	fetched = palloc(sizeof(ScribeRedisFetched) * Max(nkeys, 1));
	for (int i = 0; i < nkeys; i++)
	{
		text	   *key = DatumGetTextPP(key_datums[i]);

		keys[i].data = VARDATA_ANY(key);
		keys[i].len = VARSIZE_ANY_EXHDR(key);
	}
	if (scribe_redis_multi_get(nkeys, keys, fetched) != SCRIBE_REDIS_OK)
		PG_RETURN_NULL();

	values = palloc(sizeof(Datum) * Max(nkeys, 1));
	nulls = palloc(sizeof(bool) * Max(nkeys, 1));
	for (int i = 0; i < nkeys; i++)
	{
		nulls[i] = fetched[i].result != SCRIBE_REDIS_HIT;
		values[i] = nulls[i] ? (Datum) 0 :
			PointerGetDatum(bytes_to_bytea(fetched[i].value, fetched[i].value_len));
	}
	dims[0] = nkeys;
	if (nkeys == 0)
		PG_RETURN_ARRAYTYPE_P(construct_empty_array(BYTEAOID));
	PG_RETURN_ARRAYTYPE_P(construct_md_array(values, nulls, 1, dims, lbs, BYTEAOID, -1, false, TYPALIGN_INT));
}

/* scribe._redis_set_many(keys, values, ttl_ms): how many were stored, NULL without Redis */
Datum
scribe_redis_set_many_sql(PG_FUNCTION_ARGS)
{
	Datum	   *key_datums;
	Datum	   *value_datums;
	int			nkeys;
	int			nvalues;
	int64		ttl_ms = PG_ARGISNULL(2) ? 0 : PG_GETARG_INT64(2);
	ScribeRedisEntry *entries;
	ScribeRedisResult *results;
	int			stored = 0;

	scribe_require_preload("scribe._redis_set_many()");
	deconstruct_arg(fcinfo, 0, TEXTOID, "keys", &key_datums, &nkeys);
	deconstruct_arg(fcinfo, 1, BYTEAOID, "values", &value_datums, &nvalues);
	if (nkeys != nvalues)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("keys and values differ in length (%d and %d)", nkeys, nvalues),
				 errhint("Give one value per key.")));
	entries = palloc(sizeof(ScribeRedisEntry) * Max(nkeys, 1));
	results = palloc(sizeof(ScribeRedisResult) * Max(nkeys, 1));
	for (int i = 0; i < nkeys; i++)
	{
		text	   *key = DatumGetTextPP(key_datums[i]);
		bytea	   *value = DatumGetByteaPP(value_datums[i]);

		entries[i].key = VARDATA_ANY(key);
		entries[i].key_len = VARSIZE_ANY_EXHDR(key);
		entries[i].value = VARDATA_ANY(value);
		entries[i].value_len = VARSIZE_ANY_EXHDR(value);
		entries[i].ttl_ms = ttl_ms;
	}
	if (scribe_redis_set_many(nkeys, entries, results) != SCRIBE_REDIS_OK)
		PG_RETURN_NULL();
	for (int i = 0; i < nkeys; i++)
		stored += results[i] == SCRIBE_REDIS_OK;
	PG_RETURN_INT32(stored);
}
