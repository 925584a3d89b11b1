/*
 * scribe.cache_warm: fill the cache from a query's (key, value) rows, a
 * batch at a time through a cursor, each batch stored in Redis with one
 * pipelined call, so warming a million keys neither holds them all in
 * memory nor pays a round trip per key.
 */
#include "base/pg_scribe.h"

#include "catalog/pg_type_d.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "cache/cache.h"
#include "client/redis.h"

PG_FUNCTION_INFO_V1(scribe_cache_warm);

/* Store one fetched batch of (key, value) rows; how many a tier kept */
static int64
cache_warm_batch(SPITupleTable *tuptable, uint64 nrows, int64 ttl)
{
	TupleDesc	desc = tuptable->tupdesc;
	Oid			value_type = SPI_gettypeid(desc, 2);
	const char **keys = palloc(nrows * sizeof(char *));
	int		   *lens = palloc(nrows * sizeof(int));
	StringInfoData *values = palloc(nrows * sizeof(StringInfoData));
	ScribeCacheItem *items = palloc(nrows * sizeof(ScribeCacheItem));
	TimestampTz expires = ttl ? GetCurrentTimestamp() + ttl : 0;
	int			n = 0;

	for (uint64 r = 0; r < nrows; r++)
	{
		HeapTuple	row = tuptable->vals[r];
		char	   *key = SPI_getvalue(row, desc, 1);
		bool		isnull;
		Datum		d = SPI_getbinval(row, desc, 2, &isnull);
		text	   *key_t;

		if (key == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("the query of scribe.cache_warm returned a NULL key"),
					 errhint("Filter the rows without a key out, for example WHERE key IS NOT NULL.")));
		key_t = cstring_to_text(key);
		scribe_cache_check_key(key_t);
		/* a NULL value is not cached, as scribe.cache_fetch does not cache one */
		if (isnull)
			continue;
		keys[n] = key;
		lens[n] = strlen(key);
		initStringInfo(&values[n]);
		items[n].expires_at = expires;
		items[n].load_us = 0;
		if (value_type == BYTEAOID || value_type == JSONBOID)
		{
			struct varlena *v = PG_DETOAST_DATUM_PACKED(d);

			appendBinaryStringInfo(&values[n], VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v));
			items[n].type = value_type == BYTEAOID ? CACHE_TYPE_BYTEA : CACHE_TYPE_JSONB;
		}
		else
		{
			appendStringInfoString(&values[n], SPI_getvalue(row, desc, 2));
			items[n].type = CACHE_TYPE_TEXT;
		}
		n++;
	}
	return n ? scribe_cache_set_many(n, keys, lens, values, items) : 0;
}

/* scribe.cache_warm(query, ttl) → how many keys were stored */
Datum
scribe_cache_warm(PG_FUNCTION_ARGS)
{
	char	   *query;
	int64		ttl;
	SPIPlanPtr	plan;
	Portal		portal;
	MemoryContext batch_cxt;
	MemoryContext old;
	int64		stored = 0;

	scribe_require_preload("the cache");
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the query of scribe.cache_warm must not be NULL")));
	query = text_to_cstring(PG_GETARG_TEXT_PP(0));
	ttl = scribe_cache_ttl_arg(fcinfo, 1);

	SPI_connect();
	plan = SPI_prepare(query, 0, NULL);
	if (plan == NULL)
		elog(ERROR, "could not prepare the query of scribe.cache_warm: %s",
			 SPI_result_code_string(SPI_result));
	if (!SPI_is_cursor_plan(plan))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the query of scribe.cache_warm must return rows"),
				 errhint("Pass a SELECT of two columns: the key and the value.")));
	portal = SPI_cursor_open(NULL, plan, NULL, NULL, false);
	if (portal->tupDesc->natts != 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the query of scribe.cache_warm must return two columns, not %d",
						portal->tupDesc->natts),
				 errhint("Pass a SELECT of two columns: the key and the value.")));

	batch_cxt = AllocSetContextCreate(CurrentMemoryContext, "scribe.cache_warm batch",
									  ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		SPI_cursor_fetch(portal, true, SCRIBE_REDIS_PIPELINE_BATCH);
		if (SPI_processed == 0)
			break;
		old = MemoryContextSwitchTo(batch_cxt);
		stored += cache_warm_batch(SPI_tuptable, SPI_processed, ttl);
		MemoryContextSwitchTo(old);
		MemoryContextReset(batch_cxt);
		SPI_freetuptable(SPI_tuptable);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);
	SPI_finish();
	PG_RETURN_INT64(stored);
}
