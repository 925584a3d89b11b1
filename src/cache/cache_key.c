/*
 * Cache keys: the one place that knows their shape (at most
 * SCRIBE_CACHE_KEY_MAX bytes, not empty; the namespace is what comes before
 * the first colon), used by L1, Redis, the SQL functions and the triggers.
 */
#include "base/pg_scribe.h"

#include "cache/cache.h"

/* ERROR unless key (NULL: a NULL argument) can be a cache key */
void
scribe_cache_check_key(const text *key)
{
	if (key == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a cache key must not be NULL")));
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
}

/* The length of key's namespace: up to its first ':', or all of it */
int
scribe_cache_namespace_len(const char *key, int key_len)
{
	const char *colon = memchr(key, ':', key_len);

	return colon ? (int) (colon - key) : key_len;
}
