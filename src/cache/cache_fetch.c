/*
 * scribe.cache_fetch: cache-aside in one call.  A miss runs the loader
 * query, once per key across all sessions (single-flight): the first
 * session to miss claims the key's load; the others wait for it (at most
 * scribe.cache_fetch_wait) and read what it stored.  A loader that fails
 * releases the claim, so the next caller loads.  A hit near its expiry may
 * be refreshed early by one caller (XFetch), the others served meanwhile.
 * The loader, its parameters and what it may be: cache_loader.c.  The
 * parameters are not part of the key: the caller names the value.
 */
#include "base/pg_scribe.h"

#include <math.h>

#include "common/pg_prng.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "cache/cache.h"

PG_FUNCTION_INFO_V1(scribe_cache_fetch);
PG_FUNCTION_INFO_V1(scribe_cache_fetch_jsonb);

/* The arguments before the loader's parameters: key, loader, ttl */
#define CACHE_FETCH_FIXED_ARGS 3

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

/*
 * The loader's parameters: the arguments after the ttl (VARIADIC "any"),
 * or the elements of the array passed as VARIADIC ARRAY[...] (none for a
 * NULL array)
 */
static void
cache_fetch_params(FunctionCallInfo fcinfo, ScribeCacheParams *params)
{
	int			first = CACHE_FETCH_FIXED_ARGS;
	int			n = PG_NARGS() - first;

	params->n = 0;
	if (n <= 0)
		return;
	if (get_fn_expr_variadic(fcinfo->flinfo))
	{
		Oid			elem_type = get_base_element_type(get_fn_expr_argtype(fcinfo->flinfo, first));
		int16		typlen;
		bool		typbyval;
		char		typalign;

		if (PG_ARGISNULL(first))
			return;
		if (!OidIsValid(elem_type))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the VARIADIC parameters of scribe.cache_fetch must be an array"),
					 errhint("Pass the values one by one after the ttl, or as VARIADIC ARRAY[...].")));
		get_typlenbyvalalign(elem_type, &typlen, &typbyval, &typalign);
		deconstruct_array(PG_GETARG_ARRAYTYPE_P(first), elem_type, typlen, typbyval, typalign,
						  &params->values, &params->nulls, &params->n);
		params->types = palloc(Max(params->n, 1) * sizeof(Oid));
		for (int i = 0; i < params->n; i++)
			params->types[i] = elem_type;
		return;
	}
	params->n = n;
	params->types = palloc(n * sizeof(Oid));
	params->values = palloc(n * sizeof(Datum));
	params->nulls = palloc(n * sizeof(bool));
	for (int i = 0; i < n; i++)
	{
		params->types[i] = get_fn_expr_argtype(fcinfo->flinfo, first + i);
		if (!OidIsValid(params->types[i]))
			ereport(ERROR,
					(errcode(ERRCODE_INDETERMINATE_DATATYPE),
					 errmsg("could not determine the type of parameter $%d of scribe.cache_fetch", i + 1),
					 errhint("Cast the value in the call, for example $%d::text.", i + 1)));
		params->nulls[i] = PG_ARGISNULL(first + i);
		params->values[i] = PG_GETARG_DATUM(first + i);
	}
}

/* A found value as the function returns it: text (a jsonb as its text) or jsonb */
static Datum
cache_fetch_result(const char *key, StringInfo value, ScribeCacheType type, ScribeCacheType want)
{
	scribe_cache_check_type(key, type, want);
	if (want == CACHE_TYPE_JSONB)
		return scribe_cache_value_varlena(value);
	return PointerGetDatum(scribe_cache_value_text(value, type));
}

/* scribe.cache_fetch(key, loader, ttl, params...) as want → the cached value, loading it on a miss */
static Datum
cache_fetch(FunctionCallInfo fcinfo, ScribeCacheType want)
{
	text	   *key_t;
	char	   *key;
	int			key_len;
	char	   *loader;
	ScribeCacheParams params;
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
	cache_fetch_params(fcinfo, &params);
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
			return cache_fetch_result(key, &value, item.type, want);

		flight = scribe_cache_flight_claim(key, key_len, &slot);
		/* an early refresh is one caller's job; the others keep the value they have */
		if (early && flight != CACHE_FLIGHT_MINE)
			return cache_fetch_result(key, &value, item.type, want);
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
				found = scribe_cache_load(key, loader, &params, want, &value, &item.type);
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
		return cache_fetch_result(key, &value, item.type, want);
	}
}

/* scribe.cache_fetch(key, loader, ttl [, params...]) → text */
Datum
scribe_cache_fetch(PG_FUNCTION_ARGS)
{
	return cache_fetch(fcinfo, CACHE_TYPE_TEXT);
}

/* scribe.cache_fetch_jsonb(key, loader, ttl [, params...]) → jsonb */
Datum
scribe_cache_fetch_jsonb(PG_FUNCTION_ARGS)
{
	return cache_fetch(fcinfo, CACHE_TYPE_JSONB);
}
