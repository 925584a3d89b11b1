/*
 * The cache's SQL functions: set, get (by type), delete, invalidate a
 * namespace (through both tiers), statistics, clear (of L1).
 */
#include "pg_scribe.h"

#include "access/htup_details.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "cache/cache.h"

PG_FUNCTION_INFO_V1(scribe_cache_set_text);
PG_FUNCTION_INFO_V1(scribe_cache_set_bytea);
PG_FUNCTION_INFO_V1(scribe_cache_set_jsonb);
PG_FUNCTION_INFO_V1(scribe_cache_get_text);
PG_FUNCTION_INFO_V1(scribe_cache_get_bytea);
PG_FUNCTION_INFO_V1(scribe_cache_get_jsonb);
PG_FUNCTION_INFO_V1(scribe_cache_delete_sql);
PG_FUNCTION_INFO_V1(scribe_cache_invalidate_sql);
PG_FUNCTION_INFO_V1(scribe_cache_stats);
PG_FUNCTION_INFO_V1(scribe_cache_clear);

static const char *const type_names[] = {"bytea", "text", "jsonb"};

/* The key argument, checked: not NULL, not empty, not too long */
static text *
cache_key_arg(FunctionCallInfo fcinfo)
{
	text	   *key;

	scribe_require_preload("the cache");
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a cache key must not be NULL")));
	key = PG_GETARG_TEXT_PP(0);
	if (VARSIZE_ANY_EXHDR(key) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a cache key must not be empty")));
	if (VARSIZE_ANY_EXHDR(key) > SCRIBE_CACHE_KEY_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a cache key is at most %d bytes, not %zu", SCRIBE_CACHE_KEY_MAX,
						(size_t) VARSIZE_ANY_EXHDR(key)),
				 errhint("Hash long keys, for example with md5(), and keep a readable prefix for the namespace.")));
	return key;
}

/* The expiry of a ttl argument (argument 2): 0 for NULL (never), or ERROR */
static TimestampTz
cache_expiry_arg(FunctionCallInfo fcinfo)
{
	Interval   *ttl;
	int64		us;

	if (PG_ARGISNULL(2))
		return 0;
	ttl = PG_GETARG_INTERVAL_P(2);
	us = ttl->time + ((int64) ttl->day + (int64) ttl->month * DAYS_PER_MONTH) * USECS_PER_DAY;
	if (us <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a cache ttl must be positive"),
				 errhint("Leave ttl NULL for a value that stays until it is evicted, deleted or invalidated.")));
	return GetCurrentTimestamp() + us;
}

/* Store the value of argument 1 as type */
static Datum
cache_set(FunctionCallInfo fcinfo, ScribeCacheType type)
{
	text	   *key = cache_key_arg(fcinfo);
	TimestampTz expires = cache_expiry_arg(fcinfo);
	bytea	   *value;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a cache value must not be NULL"),
				 errhint("Delete the key with scribe.cache_delete(), or store a value that means nothing.")));
	/* text, bytea and jsonb are all varlena: their bytes are the value */
	value = PG_GETARG_BYTEA_PP(1);
	PG_RETURN_BOOL(scribe_cache_set(VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key),
									VARDATA_ANY(value), VARSIZE_ANY_EXHDR(value),
									type, expires));
}

/* scribe.cache_set(key, text, ttl) */
Datum
scribe_cache_set_text(PG_FUNCTION_ARGS)
{
	return cache_set(fcinfo, CACHE_TYPE_TEXT);
}

/* scribe.cache_set(key, bytea, ttl) */
Datum
scribe_cache_set_bytea(PG_FUNCTION_ARGS)
{
	return cache_set(fcinfo, CACHE_TYPE_BYTEA);
}

/* scribe.cache_set(key, jsonb, ttl) */
Datum
scribe_cache_set_jsonb(PG_FUNCTION_ARGS)
{
	return cache_set(fcinfo, CACHE_TYPE_JSONB);
}

/* Look key up; NULL datum on a miss; ERROR if it holds another type than want */
static bool
cache_get(FunctionCallInfo fcinfo, ScribeCacheType want, StringInfo value, ScribeCacheType *type)
{
	text	   *key = cache_key_arg(fcinfo);

	initStringInfo(value);
	if (!scribe_cache_get(VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key), value, type))
		return false;
	/* jsonb reads as text too: its text form */
	if (*type != want && !(want == CACHE_TYPE_TEXT && *type == CACHE_TYPE_JSONB))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("cache key \"%s\" holds a %s value, not %s", text_to_cstring(key),
						type_names[*type], type_names[want]),
				 errhint("Read it with scribe.cache_get%s().",
						 *type == CACHE_TYPE_TEXT ? "" : *type == CACHE_TYPE_BYTEA ? "_bytea" : "_jsonb")));
	return true;
}

/* A varlena datum with the bytes of value */
static Datum
cache_varlena(StringInfo value)
{
	bytea	   *result = palloc(VARHDRSZ + value->len);

	SET_VARSIZE(result, VARHDRSZ + value->len);
	memcpy(VARDATA(result), value->data, value->len);
	return PointerGetDatum(result);
}

/* scribe.cache_get(key) → text (a jsonb value as its text) */
Datum
scribe_cache_get_text(PG_FUNCTION_ARGS)
{
	StringInfoData value;
	ScribeCacheType type;

	if (!cache_get(fcinfo, CACHE_TYPE_TEXT, &value, &type))
		PG_RETURN_NULL();
	if (type == CACHE_TYPE_JSONB)
		PG_RETURN_TEXT_P(cstring_to_text(DatumGetCString(DirectFunctionCall1(jsonb_out, cache_varlena(&value)))));
	PG_RETURN_DATUM(cache_varlena(&value));
}

/* scribe.cache_get_bytea(key) */
Datum
scribe_cache_get_bytea(PG_FUNCTION_ARGS)
{
	StringInfoData value;
	ScribeCacheType type;

	if (!cache_get(fcinfo, CACHE_TYPE_BYTEA, &value, &type))
		PG_RETURN_NULL();
	PG_RETURN_DATUM(cache_varlena(&value));
}

/* scribe.cache_get_jsonb(key) */
Datum
scribe_cache_get_jsonb(PG_FUNCTION_ARGS)
{
	StringInfoData value;
	ScribeCacheType type;

	if (!cache_get(fcinfo, CACHE_TYPE_JSONB, &value, &type))
		PG_RETURN_NULL();
	PG_RETURN_DATUM(cache_varlena(&value));
}

/* scribe.cache_delete(key) → whether it was there */
Datum
scribe_cache_delete_sql(PG_FUNCTION_ARGS)
{
	text	   *key = cache_key_arg(fcinfo);

	PG_RETURN_BOOL(scribe_cache_delete(VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key)));
}

/* scribe.cache_invalidate(namespace): every key of the namespace, at once */
Datum
scribe_cache_invalidate_sql(PG_FUNCTION_ARGS)
{
	text	   *ns;

	scribe_require_preload("the cache");
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a cache namespace must not be NULL")));
	ns = PG_GETARG_TEXT_PP(0);
	if (memchr(VARDATA_ANY(ns), ':', VARSIZE_ANY_EXHDR(ns)) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a cache namespace has no ':'"),
				 errhint("The namespace of \"user:42:name\" is \"user\"; delete a single key with scribe.cache_delete().")));
	scribe_cache_invalidate(VARDATA_ANY(ns), VARSIZE_ANY_EXHDR(ns));
	PG_RETURN_VOID();
}

/* scribe.cache_stats(): L1's memory, entries and counters */
Datum
scribe_cache_stats(PG_FUNCTION_ARGS)
{
	ScribeCacheStats s;
	TupleDesc	tupdesc;
	Datum		values[11];
	bool		nulls[11] = {false};
	int64		lookups;

	scribe_require_preload("the cache");
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	scribe_cache_l1_stats(&s);
	lookups = s.hits + s.misses;
	values[0] = Int64GetDatum(s.capacity_bytes);
	values[1] = Int64GetDatum(s.used_bytes);
	values[2] = Int64GetDatum(s.entries);
	values[3] = Int64GetDatum(s.max_entries);
	values[4] = Int64GetDatum(s.hits);
	values[5] = Int64GetDatum(s.misses);
	values[6] = Float8GetDatum(lookups ? (double) s.hits / lookups : 0);
	nulls[6] = lookups == 0;
	values[7] = Int64GetDatum(s.sets);
	values[8] = Int64GetDatum(s.evictions);
	values[9] = Int64GetDatum(s.expirations);
	values[10] = Int64GetDatum(s.too_large);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/* scribe.cache_clear(): empty L1 */
Datum
scribe_cache_clear(PG_FUNCTION_ARGS)
{
	scribe_require_preload("the cache");
	scribe_cache_l1_clear();
	PG_RETURN_VOID();
}
