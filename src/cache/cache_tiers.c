/*
 * The two tiers together: L1 in shared memory first, then Redis (L2) when
 * scribe.redis_url is set and its breaker lets calls through.
 *
 * In Redis a key k of namespace n lives at "scribe:c:k", its value prefixed
 * by a header: a format mark, the version of n it was stored under, the
 * global epoch, its expiry, its type and how long its loader ran.  The
 * version of n lives at "scribe:ns:n" (absent: 0) and only grows (INCR on
 * invalidation).  A get reads both in one pipelined round trip and takes
 * the value only if its version is the current one, so an invalidation
 * hides every older value at once, whatever node or restart stored it, and
 * a set racing an invalidation stores a value that is already stale.  A
 * value without the header (written by something else) is a miss.  Redis
 * unavailable means L1 alone: never an ERROR.
 *
 * A write that could not reach Redis (a set, a delete, an invalidation)
 * leaves Redis with a value it should no longer serve.  So it marks L2
 * the loss in shared memory, and L2 is not read again until a backend has
 * bumped the global epoch at "scribe:epoch": every value stored under an
 * older epoch is then a miss.
 *
 * Many keys at once (multi-get, warming) cost one pipelined round trip
 * per SCRIBE_REDIS_PIPELINE_BATCH keys, not one per key.
 */
#include "base/pg_scribe.h"

#include "utils/timestamp.h"

#include "cache/cache.h"
#include "client/redis.h"

#define L2_KEY_PREFIX "scribe:c:"
#define L2_NAMESPACE_PREFIX "scribe:ns:"
#define L2_EPOCH_KEY "scribe:epoch"

/*
 * The header of a value in Redis, at these offsets: the mark, type, load
 * time, epoch, namespace version, expiry (0: never)
 */
#define L2_MARK "scb2"
#define L2_OFF_TYPE 4
#define L2_OFF_LOAD 8
#define L2_OFF_EPOCH 12
#define L2_OFF_VERSION 20
#define L2_OFF_EXPIRES 28
#define L2_HEADER_SIZE 36

/* A prefix then bytes, palloc'd */
static char *
l2_prefixed(const char *prefix, const char *s, int len, int *out_len)
{
	int			plen = strlen(prefix);
	char	   *k = palloc(plen + len);

	memcpy(k, prefix, plen);
	memcpy(k + plen, s, len);
	*out_len = plen + len;
	return k;
}

/* A namespace version as Redis returns it (a decimal integer), 0 if absent or not one */
static int64
l2_parse_version(const ScribeRedisFetched *f)
{
	char		buf[32];

	if (f->result != SCRIBE_REDIS_HIT || f->value_len <= 0 || f->value_len >= (int) sizeof(buf))
		return 0;
	memcpy(buf, f->value, f->value_len);
	buf[f->value_len] = '\0';
	return strtoll(buf, NULL, 10);
}

/*
 * Whether L2 may be used: not dirty, or made clean now by bumping the epoch
 * (one backend wins; the others see the flag cleared)
 */
static bool
l2_usable(void)
{
	int64		epoch;
	uint64		lost;

	if (!scribe_redis_configured())
		return false;
	lost = scribe_cache_l2_uncovered();
	if (lost == 0)
		return true;
	if (scribe_redis_incr(L2_EPOCH_KEY, strlen(L2_EPOCH_KEY), &epoch) != SCRIBE_REDIS_OK)
		return false;
	scribe_cache_l2_covered(lost);
	return true;
}

/*
 * Look n keys up in Redis in one pipelined call (the epoch, then each key's
 * namespace version and value); sets found[i] and fills values[i] and
 * items[i] of the hits.  False if Redis is unavailable.
 */
static bool
l2_get_many(int n, const char *const *keys, const int *key_lens,
			StringInfo *values, ScribeCacheItem *items, bool *found)
{
	ScribeRedisKey *rk = palloc((1 + 2 * n) * sizeof(ScribeRedisKey));
	ScribeRedisFetched *f = palloc((1 + 2 * n) * sizeof(ScribeRedisFetched));
	TimestampTz now = GetCurrentTimestamp();
	int64		epoch;
	int64		hits = 0;

	rk[0].data = L2_EPOCH_KEY;
	rk[0].len = strlen(L2_EPOCH_KEY);
	for (int i = 0; i < n; i++)
	{
		rk[1 + 2 * i].data = l2_prefixed(L2_NAMESPACE_PREFIX, keys[i],
										 scribe_cache_namespace_len(keys[i], key_lens[i]),
										 &rk[1 + 2 * i].len);
		rk[2 + 2 * i].data = l2_prefixed(L2_KEY_PREFIX, keys[i], key_lens[i], &rk[2 + 2 * i].len);
	}
	if (scribe_redis_multi_get(1 + 2 * n, rk, f) != SCRIBE_REDIS_OK)
	{
		scribe_cache_count_l2(0, 0, 0, n);
		return false;
	}
	epoch = l2_parse_version(&f[0]);
	for (int i = 0; i < n; i++)
	{
		const ScribeRedisFetched *v = &f[2 + 2 * i];
		int64		h_epoch;
		int64		h_version;
		int32		h_load;
		TimestampTz h_expires;
		uint8		h_type;

		found[i] = false;
		if (v->result != SCRIBE_REDIS_HIT || v->value_len < L2_HEADER_SIZE ||
			memcmp(v->value, L2_MARK, 4) != 0)
			continue;
		h_type = (uint8) v->value[L2_OFF_TYPE];
		memcpy(&h_load, v->value + L2_OFF_LOAD, sizeof(int32));
		memcpy(&h_epoch, v->value + L2_OFF_EPOCH, sizeof(int64));
		memcpy(&h_version, v->value + L2_OFF_VERSION, sizeof(int64));
		memcpy(&h_expires, v->value + L2_OFF_EXPIRES, sizeof(TimestampTz));
		/* stored before an invalidation or a lost write, or expired: a miss */
		if (h_epoch != epoch || h_version != l2_parse_version(&f[1 + 2 * i]) ||
			h_type > CACHE_TYPE_JSONB || (h_expires != 0 && h_expires <= now))
			continue;
		resetStringInfo(values[i]);
		appendBinaryStringInfo(values[i], v->value + L2_HEADER_SIZE, v->value_len - L2_HEADER_SIZE);
		items[i].type = (ScribeCacheType) h_type;
		items[i].expires_at = h_expires;
		items[i].load_us = h_load;
		found[i] = true;
		hits++;
	}
	scribe_cache_count_l2(hits, n - hits, 0, 0);
	return true;
}

/*
 * Store n values in Redis under the current epoch and namespace versions:
 * one pipelined read of those, one pipelined write.  stored[i] tells which
 * got there; a value that did not is recorded as a lost write.
 */
static void
l2_set_many(int n, const char *const *keys, const int *key_lens,
			const StringInfo values, const ScribeCacheItem *items, bool *stored)
{
	ScribeRedisKey *rk = palloc((1 + n) * sizeof(ScribeRedisKey));
	ScribeRedisFetched *f = palloc((1 + n) * sizeof(ScribeRedisFetched));
	ScribeRedisEntry *entries = palloc(n * sizeof(ScribeRedisEntry));
	ScribeRedisResult *results = palloc(n * sizeof(ScribeRedisResult));
	TimestampTz now = GetCurrentTimestamp();
	int64		epoch;
	int64		sets = 0;

	for (int i = 0; i < n; i++)
		stored[i] = false;
	rk[0].data = L2_EPOCH_KEY;
	rk[0].len = strlen(L2_EPOCH_KEY);
	for (int i = 0; i < n; i++)
		rk[1 + i].data = l2_prefixed(L2_NAMESPACE_PREFIX, keys[i],
									 scribe_cache_namespace_len(keys[i], key_lens[i]), &rk[1 + i].len);
	if (!l2_usable() || scribe_redis_multi_get(1 + n, rk, f) != SCRIBE_REDIS_OK)
	{
		scribe_cache_l2_mark_lost();
		scribe_cache_count_l2(0, 0, 0, n);
		return;
	}
	epoch = l2_parse_version(&f[0]);
	for (int i = 0; i < n; i++)
	{
		int64		version = l2_parse_version(&f[1 + i]);
		int			len = L2_HEADER_SIZE + values[i].len;
		char	   *buf = palloc(len);
		uint8		type = (uint8) items[i].type;

		memset(buf, 0, L2_HEADER_SIZE);
		memcpy(buf, L2_MARK, 4);
		buf[L2_OFF_TYPE] = (char) type;
		memcpy(buf + L2_OFF_LOAD, &items[i].load_us, sizeof(int32));
		memcpy(buf + L2_OFF_EPOCH, &epoch, sizeof(int64));
		memcpy(buf + L2_OFF_VERSION, &version, sizeof(int64));
		memcpy(buf + L2_OFF_EXPIRES, &items[i].expires_at, sizeof(TimestampTz));
		memcpy(buf + L2_HEADER_SIZE, values[i].data, values[i].len);
		entries[i].key = l2_prefixed(L2_KEY_PREFIX, keys[i], key_lens[i], &entries[i].key_len);
		entries[i].value = buf;
		entries[i].value_len = len;
		entries[i].ttl_ms = items[i].expires_at == 0 ? 0 : Max((items[i].expires_at - now) / 1000, 1);
	}
	if (scribe_redis_set_many(n, entries, results) == SCRIBE_REDIS_OK)
	{
		for (int i = 0; i < n; i++)
		{
			stored[i] = results[i] == SCRIBE_REDIS_OK;
			sets += stored[i];
		}
	}
	if (sets < n)
		scribe_cache_l2_mark_lost();
	scribe_cache_count_l2(0, 0, sets, n - sets);
}

/* Read key from L1, else from Redis (then kept in L1); false on a miss */
bool
scribe_cache_get(const char *key, int key_len, StringInfo value, ScribeCacheItem *item)
{
	bool		found;

	scribe_cache_get_many(1, &key, &key_len, value, item, &found, true);
	return found;
}

/*
 * Read n keys: L1 first, then the keys it missed from Redis in one
 * pipelined call (those found are kept in L1).  values[i] must be
 * initialized; it holds key i's value where found[i].  count: add the
 * outcomes to the namespaces' hits and misses (not for a second look).
 */
void
scribe_cache_get_many(int n, const char *const *keys, const int *key_lens,
					  StringInfo values, ScribeCacheItem *items, bool *found, bool count)
{
	const char **miss_keys = NULL;
	int		   *miss_lens = NULL;
	StringInfo *miss_values = NULL;
	ScribeCacheItem *miss_items = NULL;
	bool	   *miss_found = NULL;
	int		   *miss_index = NULL;
	ScribeCacheToken *miss_tokens = NULL;
	int			misses = 0;

	for (int i = 0; i < n; i++)
	{
		resetStringInfo(&values[i]);
		found[i] = scribe_cache_l1_get(keys[i], key_lens[i], &values[i], &items[i]);
		if (found[i] || !scribe_redis_configured())
		{
			if (count)
				scribe_cache_count(scribe_cache_stats_slot(keys[i], key_lens[i]),
								   found[i] ? CACHE_EVENT_L1_HIT : CACHE_EVENT_MISS, 1);
			continue;
		}
		if (miss_keys == NULL)
		{
			miss_keys = palloc(n * sizeof(char *));
			miss_lens = palloc(n * sizeof(int));
			miss_values = palloc(n * sizeof(StringInfo));
			miss_items = palloc(n * sizeof(ScribeCacheItem));
			miss_found = palloc0(n * sizeof(bool));
			miss_index = palloc(n * sizeof(int));
			miss_tokens = palloc(n * sizeof(ScribeCacheToken));
		}
		/* a delete while Redis is read must not be undone by copying its answer to L1 */
		scribe_cache_token(keys[i], key_lens[i], &miss_tokens[misses]);
		miss_keys[misses] = keys[i];
		miss_lens[misses] = key_lens[i];
		miss_values[misses] = &values[i];
		miss_index[misses++] = i;
	}
	if (misses == 0)
		return;

	if (!l2_usable() || !l2_get_many(misses, miss_keys, miss_lens, miss_values, miss_items, miss_found))
	{
		for (int m = 0; m < misses; m++)
			miss_found[m] = false;
	}
	for (int m = 0; m < misses; m++)
	{
		int			i = miss_index[m];

		found[i] = miss_found[m];
		if (count)
			scribe_cache_count(scribe_cache_stats_slot(keys[i], key_lens[i]),
							   found[i] ? CACHE_EVENT_L2_HIT : CACHE_EVENT_MISS, 1);
		if (!found[i])
			continue;
		items[i] = miss_items[m];
		(void) scribe_cache_l1_set(keys[i], key_lens[i], values[i].data, values[i].len, &items[i],
								   &miss_tokens[m]);
	}
}

/*
 * Store key in L1 (if it fits) and in Redis (if configured); whether a tier
 * kept it.  With a token (a loaded value): only if the key was not deleted
 * nor its namespace invalidated since the token was taken; on this node,
 * that check and the store are atomic in L1, and a value that reached Redis
 * too late is deleted from it again.
 */
bool
scribe_cache_set(const char *key, int key_len, const char *value, int value_len,
				 const ScribeCacheItem *item, const ScribeCacheToken *token)
{
	StringInfoData v;
	bool		kept;

	/* a StringInfo over the caller's bytes: read only */
	v.data = (char *) value;
	v.len = value_len;
	v.maxlen = value_len + 1;
	v.cursor = 0;
	if (token == NULL)
		return scribe_cache_set_many(1, &key, &key_len, &v, item) == 1;

	kept = scribe_cache_l1_set(key, key_len, value, value_len, item, token);
	if (!scribe_cache_token_current(key, key_len, token))
		return false;
	if (!kept)
		(void) scribe_cache_l1_drop(key, key_len);
	scribe_cache_count(scribe_cache_stats_slot(key, key_len), CACHE_EVENT_SET, 1);
	if (scribe_redis_configured())
	{
		bool		stored;

		l2_set_many(1, &key, &key_len, &v, item, &stored);
		/* a delete that ran while Redis was written may have missed it */
		if (stored && !scribe_cache_token_current(key, key_len, token))
		{
			(void) scribe_cache_delete(key, key_len);
			return false;
		}
		kept |= stored;
	}
	return kept;
}

/*
 * Store n values in L1 (where they fit) and in Redis (if configured, in one
 * pipelined call); how many a tier kept
 */
int
scribe_cache_set_many(int n, const char *const *keys, const int *key_lens,
					  const StringInfo values, const ScribeCacheItem *items)
{
	bool	   *kept = palloc(n * sizeof(bool));
	int			count = 0;

	for (int i = 0; i < n; i++)
	{
		kept[i] = scribe_cache_l1_set(keys[i], key_lens[i], values[i].data, values[i].len, &items[i], NULL);
		/* an older value must not outlive a set that could not replace it */
		if (!kept[i])
			(void) scribe_cache_l1_drop(keys[i], key_lens[i]);
		scribe_cache_count(scribe_cache_stats_slot(keys[i], key_lens[i]), CACHE_EVENT_SET, 1);
	}
	if (scribe_redis_configured())
	{
		bool	   *stored = palloc(n * sizeof(bool));

		l2_set_many(n, keys, key_lens, values, items, stored);
		for (int i = 0; i < n; i++)
			kept[i] |= stored[i];
		pfree(stored);
	}
	for (int i = 0; i < n; i++)
		count += kept[i];
	pfree(kept);
	return count;
}

/* Remove key from both tiers; whether a tier held it */
bool
scribe_cache_delete(const char *key, int key_len)
{
	return scribe_cache_delete_many(1, &key, &key_len) > 0;
}

/* Remove n keys from both tiers (one Redis call); how many a tier held */
int
scribe_cache_delete_many(int n, const char *const *keys, const int *key_lens)
{
	int			found = 0;

	for (int i = 0; i < n; i++)
		found += scribe_cache_l1_delete(keys[i], key_lens[i]);
	if (scribe_redis_configured() && n > 0)
	{
		ScribeRedisKey *rk = palloc(n * sizeof(ScribeRedisKey));
		int64		deleted = 0;

		for (int i = 0; i < n; i++)
			rk[i].data = l2_prefixed(L2_KEY_PREFIX, keys[i], key_lens[i], &rk[i].len);
		if (!l2_usable() || scribe_redis_delete(n, rk, &deleted) != SCRIBE_REDIS_OK)
			scribe_cache_l2_mark_lost();
		/* a key may be in both tiers: count it once */
		found = Max(found, (int) deleted);
	}
	return found;
}

/* Invalidate a namespace in both tiers */
void
scribe_cache_invalidate(const char *ns, int ns_len)
{
	scribe_cache_invalidate_namespace(ns, ns_len);
	scribe_cache_count(scribe_cache_stats_slot(ns, ns_len), CACHE_EVENT_INVALIDATION, 1);
	if (scribe_redis_configured())
	{
		int			len;
		char	   *k = l2_prefixed(L2_NAMESPACE_PREFIX, ns, ns_len, &len);
		int64		version;

		if (!l2_usable() || scribe_redis_incr(k, len, &version) != SCRIBE_REDIS_OK)
			scribe_cache_l2_mark_lost();
	}
}
