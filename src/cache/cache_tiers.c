/*
 * The two tiers together: L1 in shared memory first, then Redis (L2) when
 * scribe.redis_url is set and its breaker lets calls through.
 *
 * In Redis a key k of namespace n lives at "scribe:c:k", its value prefixed
 * by a header: the version of n it was stored under, its expiry and its
 * type.  The version of n lives at "scribe:ns:n" (absent: 0) and only grows
 * (INCR on invalidation).  A get reads both in one pipelined round trip and
 * takes the value only if its version is the current one, so an
 * invalidation hides every older value at once, whatever node or restart
 * stored it, and a set racing an invalidation stores a value that is
 * already stale.  Redis unavailable means L1 alone: never an ERROR.
 *
 * A write that could not reach Redis (a set, a delete, an invalidation)
 * leaves Redis with a value it should no longer serve.  So it marks L2
 * the loss in shared memory, and L2 is not read again until a backend has
 * bumped the global epoch at "scribe:epoch": every value stored under an
 * older epoch is then a miss.  Header and reads carry the epoch too.
 */
#include "pg_scribe.h"

#include "utils/timestamp.h"

#include "cache/cache.h"
#include "cache/cache_redis.h"

#define L2_KEY_PREFIX "scribe:c:"
#define L2_NAMESPACE_PREFIX "scribe:ns:"
#define L2_EPOCH_KEY "scribe:epoch"

/* The header of a value in Redis */
typedef struct L2Header
{
	int64		epoch;
	int64		ns_version;
	TimestampTz expires_at;		/* 0: never */
	uint8		type;
} L2Header;

#define L2_HEADER_SIZE (2 * sizeof(int64) + sizeof(TimestampTz) + 1)

/* "scribe:c:" || key */
static char *
l2_value_key(const char *key, int key_len, int *len)
{
	int			plen = strlen(L2_KEY_PREFIX);
	char	   *k = palloc(plen + key_len);

	memcpy(k, L2_KEY_PREFIX, plen);
	memcpy(k + plen, key, key_len);
	*len = plen + key_len;
	return k;
}

/* "scribe:ns:" || the key's namespace */
static char *
l2_namespace_key(const char *key, int key_len, int *len)
{
	const char *colon = memchr(key, ':', key_len);
	int			ns_len = colon ? (int) (colon - key) : key_len;
	int			plen = strlen(L2_NAMESPACE_PREFIX);
	char	   *k = palloc(plen + ns_len);

	memcpy(k, L2_NAMESPACE_PREFIX, plen);
	memcpy(k + plen, key, ns_len);
	*len = plen + ns_len;
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

/* The current epoch and version of key's namespace in Redis; false if Redis is unavailable */
static bool
l2_current_version(const char *key, int key_len, int64 *epoch, int64 *version)
{
	ScribeRedisKey k[2];
	ScribeRedisFetched f[2];

	k[0].data = L2_EPOCH_KEY;
	k[0].len = strlen(L2_EPOCH_KEY);
	k[1].data = l2_namespace_key(key, key_len, &k[1].len);
	if (scribe_redis_multi_get(2, k, f) != SCRIBE_REDIS_OK)
		return false;
	*epoch = l2_parse_version(&f[0]);
	*version = l2_parse_version(&f[1]);
	return true;
}

/* Store a value in Redis under the current epoch and namespace version; false if it did not get there */
static bool
l2_set(const char *key, int key_len, const char *value, int value_len,
	   ScribeCacheType type, TimestampTz expires_at)
{
	int64		epoch;
	int64		version;
	int64		ttl_ms = 0;
	char	   *buf;
	char	   *vkey;
	int			vkey_len;

	if (!l2_usable() || !l2_current_version(key, key_len, &epoch, &version))
		return false;
	if (expires_at != 0)
		ttl_ms = Max((expires_at - GetCurrentTimestamp()) / 1000, 1);
	buf = palloc(L2_HEADER_SIZE + value_len);
	memcpy(buf, &epoch, sizeof(int64));
	memcpy(buf + sizeof(int64), &version, sizeof(int64));
	memcpy(buf + 2 * sizeof(int64), &expires_at, sizeof(TimestampTz));
	buf[2 * sizeof(int64) + sizeof(TimestampTz)] = (char) type;
	memcpy(buf + L2_HEADER_SIZE, value, value_len);
	vkey = l2_value_key(key, key_len, &vkey_len);
	return scribe_redis_set(vkey, vkey_len, buf, L2_HEADER_SIZE + value_len, ttl_ms) == SCRIBE_REDIS_OK;
}

/* Look key up in Redis: epoch, namespace version and value in one round trip */
static bool
l2_get(const char *key, int key_len, StringInfo value, ScribeCacheType *type, TimestampTz *expires_at)
{
	ScribeRedisKey keys[3];
	ScribeRedisFetched f[3];
	L2Header h;

	if (!l2_usable())
		return false;
	keys[0].data = L2_EPOCH_KEY;
	keys[0].len = strlen(L2_EPOCH_KEY);
	keys[1].data = l2_namespace_key(key, key_len, &keys[1].len);
	keys[2].data = l2_value_key(key, key_len, &keys[2].len);
	if (scribe_redis_multi_get(3, keys, f) != SCRIBE_REDIS_OK ||
		f[2].result != SCRIBE_REDIS_HIT || f[2].value_len < (int) L2_HEADER_SIZE)
		return false;
	memcpy(&h.epoch, f[2].value, sizeof(int64));
	memcpy(&h.ns_version, f[2].value + sizeof(int64), sizeof(int64));
	memcpy(&h.expires_at, f[2].value + 2 * sizeof(int64), sizeof(TimestampTz));
	h.type = (uint8) f[2].value[2 * sizeof(int64) + sizeof(TimestampTz)];
	/* stored before an invalidation or a lost write, or expired: a miss */
	if (h.epoch != l2_parse_version(&f[0]) || h.ns_version != l2_parse_version(&f[1]) ||
		h.type > CACHE_TYPE_JSONB || (h.expires_at != 0 && h.expires_at <= GetCurrentTimestamp()))
		return false;
	appendBinaryStringInfo(value, f[2].value + L2_HEADER_SIZE, f[2].value_len - L2_HEADER_SIZE);
	*type = (ScribeCacheType) h.type;
	*expires_at = h.expires_at;
	return true;
}

/* Read key from L1, else from Redis (then kept in L1); false on a miss */
bool
scribe_cache_get(const char *key, int key_len, StringInfo value, ScribeCacheType *type)
{
	TimestampTz expires_at;

	if (scribe_cache_l1_get(key, key_len, value, type, &expires_at))
		return true;
	resetStringInfo(value);
	if (!l2_get(key, key_len, value, type, &expires_at))
		return false;
	(void) scribe_cache_l1_set(key, key_len, value->data, value->len, *type, expires_at);
	return true;
}

/* Store key in L1 (if it fits) and in Redis (if configured); whether a tier kept it */
bool
scribe_cache_set(const char *key, int key_len, const char *value, int value_len,
				 ScribeCacheType type, TimestampTz expires_at)
{
	bool		kept = scribe_cache_l1_set(key, key_len, value, value_len, type, expires_at);

	/* an older value must not outlive a set that could not replace it */
	if (!kept)
		(void) scribe_cache_l1_delete(key, key_len);
	if (scribe_redis_configured())
	{
		if (l2_set(key, key_len, value, value_len, type, expires_at))
			kept = true;
		else
			scribe_cache_l2_mark_lost();
	}
	return kept;
}

/* Remove key from both tiers; whether a tier held it */
bool
scribe_cache_delete(const char *key, int key_len)
{
	bool		found = scribe_cache_l1_delete(key, key_len);

	if (scribe_redis_configured())
	{
		ScribeRedisKey k;
		int64		deleted = 0;

		k.data = l2_value_key(key, key_len, &k.len);
		if (!l2_usable() || scribe_redis_delete(1, &k, &deleted) != SCRIBE_REDIS_OK)
			scribe_cache_l2_mark_lost();
		else if (deleted > 0)
			found = true;
	}
	return found;
}

/* Invalidate a namespace in both tiers */
void
scribe_cache_invalidate(const char *ns, int ns_len)
{
	scribe_cache_invalidate_namespace(ns, ns_len);
	if (scribe_redis_configured())
	{
		int			len;
		char	   *k = l2_namespace_key(ns, ns_len, &len);
		int64		version;

		if (!l2_usable() || scribe_redis_incr(k, len, &version) != SCRIBE_REDIS_OK)
			scribe_cache_l2_mark_lost();
	}
}
