/*
 * scribe.cache_fetch: cache-aside in one call.  A miss runs the loader
 * query, once per key across all sessions (single-flight): the first
 * session to miss claims the key's load; the others wait for it (at most
 * scribe.cache_fetch_wait) and read what it stored.  A loader that fails
 * releases the claim, so the next caller loads.
 */
#include "pg_scribe.h"

#include "catalog/pg_type_d.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "cache/cache.h"

PG_FUNCTION_INFO_V1(scribe_cache_fetch);

/* Run the loader: its one value as text in *value (false if NULL); ERROR unless one row, one column */
static bool
cache_run_loader(const char *key, const char *loader, StringInfo value, ScribeCacheType *type)
{
	bool		isnull;
	Oid			typid;
	Datum		d;
	int			rc;

	SPI_connect();
	rc = SPI_execute(loader, false, 2);
	if (rc < 0)
		elog(ERROR, "could not run the loader of cache key \"%s\": %s", key, SPI_result_code_string(rc));
	if (SPI_tuptable == NULL || SPI_tuptable->tupdesc->natts != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the loader of cache key \"%s\" must return one column", key),
				 errhint("Write the loader as SELECT <one expression> ...")));
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_CARDINALITY_VIOLATION),
				 errmsg("the loader of cache key \"%s\" returned %llu rows, not one", key,
						(unsigned long long) SPI_processed),
				 SPI_processed == 0 ?
				 errhint("A loader returns one row; wrap it in an aggregate or a scalar subquery to return NULL for nothing.") :
				 errhint("Add a WHERE, an aggregate or LIMIT 1 to the loader.")));
	typid = SPI_gettypeid(SPI_tuptable->tupdesc, 1);
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (!isnull)
	{
		if (typid == JSONBOID)
		{
			Jsonb	   *j = DatumGetJsonbP(d);

			appendBinaryStringInfo(value, VARDATA_ANY(j), VARSIZE_ANY_EXHDR(j));
			*type = CACHE_TYPE_JSONB;
		}
		else
		{
			appendStringInfoString(value, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
			*type = CACHE_TYPE_TEXT;
		}
	}
	SPI_finish();
	return !isnull;
}

/* The text a cached value of type reads as */
static text *
cache_value_text(StringInfo value, ScribeCacheType type)
{
	if (type == CACHE_TYPE_JSONB)
	{
		Jsonb	   *j = palloc(VARHDRSZ + value->len);

		SET_VARSIZE(j, VARHDRSZ + value->len);
		memcpy(VARDATA(j), value->data, value->len);
		return cstring_to_text(DatumGetCString(DirectFunctionCall1(jsonb_out, JsonbPGetDatum(j))));
	}
	return cstring_to_text_with_len(value->data, value->len);
}

/* scribe.cache_fetch(key, loader, ttl) → the cached value, loading it on a miss */
Datum
scribe_cache_fetch(PG_FUNCTION_ARGS)
{
	text	   *key_t;
	char	   *key;
	int			key_len;
	char	   *loader;
	volatile TimestampTz expires = 0;
	TimestampTz wait_until;
	StringInfoData value;
	ScribeCacheType type = CACHE_TYPE_TEXT;

	scribe_require_preload("the cache");
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the key and the loader of scribe.cache_fetch must not be NULL")));
	key_t = PG_GETARG_TEXT_PP(0);
	key = text_to_cstring(key_t);
	key_len = strlen(key);
	if (key_len == 0 || key_len > SCRIBE_CACHE_KEY_MAX)
		ereport(ERROR,
				(errcode(key_len == 0 ? ERRCODE_INVALID_PARAMETER_VALUE : ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a cache key is 1 to %d bytes, not %d", SCRIBE_CACHE_KEY_MAX, key_len)));
	loader = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (!PG_ARGISNULL(2))
	{
		Interval   *ttl = PG_GETARG_INTERVAL_P(2);
		int64		us = ttl->time + ((int64) ttl->day + (int64) ttl->month * DAYS_PER_MONTH) * USECS_PER_DAY;

		if (us <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("a cache ttl must be positive")));
		expires = us;			/* added to the time of the load */
	}

	initStringInfo(&value);
	wait_until = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), scribe_cache_fetch_wait);
	for (;;)
	{
		int			slot;
		ScribeCacheFlight flight;
		volatile bool found = false;

		resetStringInfo(&value);
		if (scribe_cache_get(key, key_len, &value, &type))
			PG_RETURN_TEXT_P(cache_value_text(&value, type));

		flight = scribe_cache_flight_claim(key, key_len, &slot);
		if (flight == CACHE_FLIGHT_BUSY && GetCurrentTimestamp() < wait_until)
		{
			/* another session loads it: wait for a load to end, then read again */
			scribe_cache_flight_wait(100);
			CHECK_FOR_INTERRUPTS();
			continue;
		}

		PG_TRY();
		{
			/* it may have been stored between our miss and our claim */
			resetStringInfo(&value);
			found = scribe_cache_get(key, key_len, &value, &type);
			if (!found)
			{
				resetStringInfo(&value);
				found = cache_run_loader(key, loader, &value, &type);
				if (found)
					(void) scribe_cache_set(key, key_len, value.data, value.len, type,
											expires ? GetCurrentTimestamp() + expires : 0);
			}
		}
		PG_FINALLY();
		{
			if (flight == CACHE_FLIGHT_MINE)
				scribe_cache_flight_release(slot);
		}
		PG_END_TRY();

		if (!found)
			PG_RETURN_NULL();
		PG_RETURN_TEXT_P(cache_value_text(&value, type));
	}
}
