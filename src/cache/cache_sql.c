/*
 * The cache's SQL functions: set, get (by type, one or many keys), delete,
 * invalidate a namespace (through both tiers), statistics per tier and per
 * namespace, clear (of L1).  Deletes, invalidations and clears are recorded
 * for the replicas (cache_events.c).
 */
#include "base/pg_scribe.h"

#include "access/htup_details.h"
#include "catalog/pg_type_d.h"
#include "funcapi.h"
#include "utils/array.h"
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
PG_FUNCTION_INFO_V1(scribe_cache_get_many_sql);
PG_FUNCTION_INFO_V1(scribe_cache_delete_sql);
PG_FUNCTION_INFO_V1(scribe_cache_invalidate_sql);
PG_FUNCTION_INFO_V1(scribe_cache_stats);
PG_FUNCTION_INFO_V1(scribe_cache_namespace_stats_sql);
PG_FUNCTION_INFO_V1(scribe_cache_clear);

static const char *const type_names[] = {"bytea", "text", "jsonb"};

/* The key argument, checked: not NULL, not empty, not too long */
static text *
cache_key_arg(FunctionCallInfo fcinfo)
{
	text	   *key;

	scribe_require_preload("the cache");
	key = PG_ARGISNULL(0) ? NULL : PG_GETARG_TEXT_PP(0);
	scribe_cache_check_key(key);
	return key;
}

/* A ttl argument in microseconds: 0 for NULL (never), or ERROR unless positive */
int64
scribe_cache_ttl_arg(FunctionCallInfo fcinfo, int argno)
{
	Interval   *ttl;
	int64		us;

	if (PG_ARGISNULL(argno))
		return 0;
	ttl = PG_GETARG_INTERVAL_P(argno);
	us = ttl->time + ((int64) ttl->day + (int64) ttl->month * DAYS_PER_MONTH) * USECS_PER_DAY;
	if (us <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a cache ttl must be positive"),
				 errhint("Leave ttl NULL for a value that stays until it is evicted, deleted or invalidated.")));
	return us;
}

/* Store the value of argument 1 as type */
static Datum
cache_set(FunctionCallInfo fcinfo, ScribeCacheType type)
{
	text	   *key = cache_key_arg(fcinfo);
	int64		ttl = scribe_cache_ttl_arg(fcinfo, 2);
	ScribeCacheItem item = {type, ttl ? GetCurrentTimestamp() + ttl : 0, 0};
	bytea	   *value;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a cache value must not be NULL"),
				 errhint("Delete the key with scribe.cache_delete(), or store a value that means nothing.")));
	/* text, bytea and jsonb are all varlena: their bytes are the value */
	value = PG_GETARG_BYTEA_PP(1);
	PG_RETURN_BOOL(scribe_cache_set(VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key),
									VARDATA_ANY(value), VARSIZE_ANY_EXHDR(value), &item, NULL));
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

/* ERROR if a value of type cannot be read as want (jsonb reads as text too: its text form) */
void
scribe_cache_check_type(const char *key, ScribeCacheType type, ScribeCacheType want)
{
	if (type != want && !(want == CACHE_TYPE_TEXT && type == CACHE_TYPE_JSONB))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("cache key \"%s\" holds a %s value, not %s", key,
						type_names[type], type_names[want]),
				 errhint("Read it with scribe.cache_get%s().",
						 type == CACHE_TYPE_TEXT ? "" : type == CACHE_TYPE_BYTEA ? "_bytea" : "_jsonb")));
}

/* Look key up; NULL datum on a miss; ERROR if it holds another type than want */
static bool
cache_get(FunctionCallInfo fcinfo, ScribeCacheType want, StringInfo value, ScribeCacheType *type)
{
	text	   *key = cache_key_arg(fcinfo);
	ScribeCacheItem item;

	initStringInfo(value);
	if (!scribe_cache_get(VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key), value, &item))
		return false;
	*type = item.type;
	scribe_cache_check_type(text_to_cstring(key), item.type, want);
	return true;
}

/* A varlena datum with the bytes of value */
Datum
scribe_cache_value_varlena(StringInfo value)
{
	bytea	   *result = palloc(VARHDRSZ + value->len);

	SET_VARSIZE(result, VARHDRSZ + value->len);
	memcpy(VARDATA(result), value->data, value->len);
	return PointerGetDatum(result);
}

/* The text a cached text or jsonb value reads as */
text *
scribe_cache_value_text(StringInfo value, ScribeCacheType type)
{
	if (type == CACHE_TYPE_JSONB)
		return cstring_to_text(DatumGetCString(DirectFunctionCall1(jsonb_out, scribe_cache_value_varlena(value))));
	return (text *) DatumGetPointer(scribe_cache_value_varlena(value));
}

/* scribe.cache_get(key) → text (a jsonb value as its text) */
Datum
scribe_cache_get_text(PG_FUNCTION_ARGS)
{
	StringInfoData value;
	ScribeCacheType type;

	if (!cache_get(fcinfo, CACHE_TYPE_TEXT, &value, &type))
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(scribe_cache_value_text(&value, type));
}

/* scribe.cache_get_many(keys) → (key, value) of each key found, in the array's order */
Datum
scribe_cache_get_many_sql(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum	   *elems;
	bool	   *elem_nulls;
	int			n;
	const char **keys;
	int		   *lens;
	StringInfoData *values;
	ScribeCacheItem *items;
	bool	   *found;

	scribe_require_preload("the cache");
	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the keys of scribe.cache_get_many must not be NULL")));
	deconstruct_array(PG_GETARG_ARRAYTYPE_P(0), TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &elem_nulls, &n);
	keys = palloc(Max(n, 1) * sizeof(char *));
	lens = palloc(Max(n, 1) * sizeof(int));
	values = palloc(Max(n, 1) * sizeof(StringInfoData));
	items = palloc(Max(n, 1) * sizeof(ScribeCacheItem));
	found = palloc(Max(n, 1) * sizeof(bool));
	for (int i = 0; i < n; i++)
	{
		text	   *key = elem_nulls[i] ? NULL : DatumGetTextPP(elems[i]);

		scribe_cache_check_key(key);
		keys[i] = VARDATA_ANY(key);
		lens[i] = VARSIZE_ANY_EXHDR(key);
		initStringInfo(&values[i]);
	}
	scribe_cache_get_many(n, keys, lens, values, items, found, true);
	for (int i = 0; i < n; i++)
	{
		Datum		row[2];
		bool		nulls[2] = {false, false};

		if (!found[i])
			continue;
		scribe_cache_check_type(TextDatumGetCString(elems[i]), items[i].type, CACHE_TYPE_TEXT);
		row[0] = elems[i];
		row[1] = PointerGetDatum(scribe_cache_value_text(&values[i], items[i].type));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, row, nulls);
	}
	return (Datum) 0;
}

/* scribe.cache_get_bytea(key) */
Datum
scribe_cache_get_bytea(PG_FUNCTION_ARGS)
{
	StringInfoData value;
	ScribeCacheType type;

	if (!cache_get(fcinfo, CACHE_TYPE_BYTEA, &value, &type))
		PG_RETURN_NULL();
	PG_RETURN_DATUM(scribe_cache_value_varlena(&value));
}

/* scribe.cache_get_jsonb(key) */
Datum
scribe_cache_get_jsonb(PG_FUNCTION_ARGS)
{
	StringInfoData value;
	ScribeCacheType type;

	if (!cache_get(fcinfo, CACHE_TYPE_JSONB, &value, &type))
		PG_RETURN_NULL();
	PG_RETURN_DATUM(scribe_cache_value_varlena(&value));
}

/*
 * Do a delete, invalidation or clear called from SQL: recorded in
 * scribe.cache_events for the replicas (when the table is published), then
 * done here, now and again at commit
 */
static bool
cache_sql_apply(ScribeCacheOp op, const char *arg, int len)
{
	scribe_cache_event_record(op, arg, len);
	return scribe_cache_apply(op, arg, len);
}

/* scribe.cache_delete(key) → whether it was there */
Datum
scribe_cache_delete_sql(PG_FUNCTION_ARGS)
{
	text	   *key = cache_key_arg(fcinfo);

	PG_RETURN_BOOL(cache_sql_apply(CACHE_OP_DELETE, VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key)));
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
	(void) cache_sql_apply(CACHE_OP_INVALIDATE, VARDATA_ANY(ns), VARSIZE_ANY_EXHDR(ns));
	PG_RETURN_VOID();
}

/* A hit rate, or NULL (isnull) before any lookup */
static Datum
cache_hit_rate(int64 hits, int64 lookups, bool *isnull)
{
	*isnull = lookups == 0;
	return Float8GetDatum(lookups ? (double) hits / lookups : 0);
}

/* scribe.cache_stats(): one row per tier, L1's memory and entries, each tier's counters */
Datum
scribe_cache_stats(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ScribeCacheStats s;
	ScribeCacheL2Stats l2;
	Datum		values[13];
	bool		nulls[13];

	scribe_require_preload("the cache");
	InitMaterializedSRF(fcinfo, 0);
	scribe_cache_l1_stats(&s);
	scribe_cache_l2_stats(&l2);

	memset(nulls, false, sizeof(nulls));
	values[0] = CStringGetTextDatum("l1");
	values[1] = Int64GetDatum(s.capacity_bytes);
	values[2] = Int64GetDatum(s.used_bytes);
	values[3] = Int64GetDatum(s.entries);
	values[4] = Int64GetDatum(s.max_entries);
	values[5] = Int64GetDatum(s.hits);
	values[6] = Int64GetDatum(s.misses);
	values[7] = cache_hit_rate(s.hits, s.hits + s.misses, &nulls[7]);
	values[8] = Int64GetDatum(s.sets);
	values[9] = Int64GetDatum(s.evictions);
	values[10] = Int64GetDatum(s.expirations);
	values[11] = Int64GetDatum(s.too_large);
	values[12] = Int64GetDatum(0);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);

	/* Redis keeps its own memory and evicts by its own policy: not known here */
	memset(nulls, false, sizeof(nulls));
	values[0] = CStringGetTextDatum("l2");
	nulls[1] = nulls[2] = nulls[3] = nulls[4] = true;
	values[5] = Int64GetDatum(l2.hits);
	values[6] = Int64GetDatum(l2.misses);
	values[7] = cache_hit_rate(l2.hits, l2.hits + l2.misses, &nulls[7]);
	values[8] = Int64GetDatum(l2.sets);
	nulls[9] = nulls[10] = nulls[11] = true;
	values[12] = Int64GetDatum(l2.errors);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}

/* scribe.cache_namespace_stats(): one row per namespace seen since the server started */
Datum
scribe_cache_namespace_stats_sql(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ScribeCacheNamespaceStats *ns;
	int			n;

	scribe_require_preload("the cache");
	InitMaterializedSRF(fcinfo, 0);
	ns = palloc((SCRIBE_CACHE_NAMESPACE_STATS + 1) * sizeof(ScribeCacheNamespaceStats));
	n = scribe_cache_namespace_stats(ns, SCRIBE_CACHE_NAMESPACE_STATS + 1);
	for (int i = 0; i < n; i++)
	{
		int64	   *c = ns[i].counts;
		int64		hits = c[CACHE_EVENT_L1_HIT] + c[CACHE_EVENT_L2_HIT];
		Datum		values[13];
		bool		nulls[13] = {false};

		values[0] = CStringGetTextDatum(ns[i].name);
		nulls[0] = ns[i].name[0] == '\0';
		values[1] = Int64GetDatum(c[CACHE_EVENT_ENTRIES]);
		values[2] = Int64GetDatum(c[CACHE_EVENT_BYTES]);
		values[3] = Int64GetDatum(hits);
		values[4] = Int64GetDatum(c[CACHE_EVENT_L2_HIT]);
		values[5] = Int64GetDatum(c[CACHE_EVENT_MISS]);
		values[6] = cache_hit_rate(hits, hits + c[CACHE_EVENT_MISS], &nulls[6]);
		values[7] = Int64GetDatum(c[CACHE_EVENT_SET]);
		values[8] = Int64GetDatum(c[CACHE_EVENT_LOAD]);
		values[9] = Int64GetDatum(c[CACHE_EVENT_EARLY_REFRESH]);
		values[10] = Int64GetDatum(c[CACHE_EVENT_EVICTION]);
		values[11] = Int64GetDatum(c[CACHE_EVENT_EXPIRATION]);
		values[12] = Int64GetDatum(c[CACHE_EVENT_INVALIDATION]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* scribe.cache_clear(): empty L1 */
Datum
scribe_cache_clear(PG_FUNCTION_ARGS)
{
	scribe_require_preload("the cache");
	(void) cache_sql_apply(CACHE_OP_CLEAR, NULL, 0);
	PG_RETURN_VOID();
}
