/*
 * scribe.cache_fetch: cache-aside in one call.  A miss runs the loader
 * query, once per key across all sessions (single-flight): the first
 * session to miss claims the key's load; the others wait for it (at most
 * scribe.cache_fetch_wait) and read what it stored.  A loader that fails
 * releases the claim, so the next caller loads.  A hit near its expiry may
 * be refreshed early by one caller (XFetch), the others served meanwhile.
 */
#include "base/pg_scribe.h"

#include <math.h>

#include "catalog/pg_type_d.h"
#include "common/pg_prng.h"
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

/*
 * Whether a hit should be refreshed now, before it expires: the XFetch rule
 * of Vattani, Chierichetti and Lowenstein (VLDB 2015), refresh when
 * now - load * beta * ln(random()) >= expiry.  The longer the value took to
 * load and the nearer its expiry, the likelier one caller refreshes it
 * while the others keep reading it, so a hot key never expires under load.
 */
static bool
cache_refresh_early(const ScribeCacheItem *item)
{
	double		r;

	if (item->expires_at == 0 || item->load_us <= 0 || scribe_cache_fetch_beta <= 0)
		return false;
	r = 1.0 - pg_prng_double(&pg_global_prng_state);	/* in (0, 1]: ln is finite */
	return GetCurrentTimestamp() - item->load_us * scribe_cache_fetch_beta * log(r) >= item->expires_at;
}

/* scribe.cache_fetch(key, loader, ttl) → the cached value, loading it on a miss */
Datum
scribe_cache_fetch(PG_FUNCTION_ARGS)
{
	text	   *key_t;
	char	   *key;
	int			key_len;
	char	   *loader;
	int64		ttl;
	TimestampTz wait_until;
	StringInfoData value;
	ScribeCacheItem item;
	int			stats_slot;
	bool		first_look = true;

	scribe_require_preload("the cache");
	key_t = PG_ARGISNULL(0) ? NULL : PG_GETARG_TEXT_PP(0);
	scribe_cache_check_key(key_t);
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the loader of scribe.cache_fetch must not be NULL")));
	key = text_to_cstring(key_t);
	key_len = strlen(key);
	loader = text_to_cstring(PG_GETARG_TEXT_PP(1));
	ttl = scribe_cache_ttl_arg(fcinfo, 2);
	stats_slot = scribe_cache_stats_slot(key, key_len);

	initStringInfo(&value);
	wait_until = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), scribe_cache_fetch_wait);
	for (;;)
	{
		int			slot;
		volatile ScribeCacheFlight flight;
		volatile bool found = false;
		bool		hit;
		bool		early = false;

		/* the first look counts as this call's hit or miss; a look after a wait does not */
		scribe_cache_get_many(1, (const char *const *) &key, &key_len, &value, &item, &hit, first_look);
		first_look = false;
		if (hit && !(early = cache_refresh_early(&item)))
			PG_RETURN_TEXT_P(scribe_cache_value_text(&value, item.type));

		flight = scribe_cache_flight_claim(key, key_len, &slot);
		/* an early refresh is one caller's job; the others keep the value they have */
		if (early && flight != CACHE_FLIGHT_MINE)
			PG_RETURN_TEXT_P(scribe_cache_value_text(&value, item.type));
		if (flight == CACHE_FLIGHT_BUSY && GetCurrentTimestamp() < wait_until)
		{
			/* another session loads it: wait for a load to end, then read again */
			scribe_cache_flight_wait(key, key_len, 100);
			CHECK_FOR_INTERRUPTS();
			continue;
		}

		PG_TRY();
		{
			/* it may have been stored between our miss and our claim */
			bool		again = false;

			if (!early)
				scribe_cache_get_many(1, (const char *const *) &key, &key_len, &value, &item, &again, false);
			found = again;
			if (!found)
			{
				TimestampTz start = GetCurrentTimestamp();
				ScribeCacheToken token;

				/* a delete or invalidation while the loader runs voids its value */
				scribe_cache_token(key, key_len, &token);
				resetStringInfo(&value);
				found = cache_run_loader(key, loader, &value, &item.type);
				scribe_cache_count(stats_slot, CACHE_EVENT_LOAD, 1);
				if (early)
					scribe_cache_count(stats_slot, CACHE_EVENT_EARLY_REFRESH, 1);
				if (found)
				{
					TimestampTz now = GetCurrentTimestamp();

					item.load_us = (int32) Min(now - start, PG_INT32_MAX);
					item.expires_at = ttl ? now + ttl : 0;
					(void) scribe_cache_set(key, key_len, value.data, value.len, &item, &token);
				}
				else if (early)
					(void) scribe_cache_delete(key, key_len);
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
		PG_RETURN_TEXT_P(scribe_cache_value_text(&value, item.type));
	}
}
