/*
 * The cache: a shared-memory tier (L1) every backend reads without a
 * network hop, in front of Redis (L2) when scribe.redis_url is set.
 *
 * Glossary:
 *   key        what a caller names a value by; its namespace is the part
 *              before the first ':' ("user" in "user:42:profile")
 *   namespace  keys invalidated together, in O(1), by bumping the
 *              namespace's version: entries stored under an older version
 *              are never found again and age out
 *   entry      one key's value in L1: its key and value bytes in a chain of
 *              chunks, its type, its expiry
 *   chunk      a fixed-size block of L1 memory; scribe.cache_memory is
 *              divided into chunks and entry slots once, at server start
 *   eviction   CLOCK over the entry slots: an entry read since the hand
 *              last passed survives one more turn; expired entries go first
 */
#ifndef SCRIBE_CACHE_H
#define SCRIBE_CACHE_H

#include "datatype/timestamp.h"
#include "lib/stringinfo.h"

/* Longest key, in bytes */
#define SCRIBE_CACHE_KEY_MAX 1024

/* Loads under way at once (scribe.cache_fetch's single-flight table) */
#define SCRIBE_CACHE_FLIGHTS 128

/* What claiming a load gave */
typedef enum ScribeCacheFlight
{
	CACHE_FLIGHT_MINE,			/* this backend loads the key; release when done */
	CACHE_FLIGHT_BUSY,			/* another backend loads it now: wait, then read */
	CACHE_FLIGHT_NONE			/* no coordination possible: load */
} ScribeCacheFlight;

/* What a value was stored as; a get asks for one of these */
typedef enum ScribeCacheType
{
	CACHE_TYPE_BYTEA = 0,
	CACHE_TYPE_TEXT,
	CACHE_TYPE_JSONB
} ScribeCacheType;

/* What L1 holds now, for monitoring */
typedef struct ScribeCacheStats
{
	int64		capacity_bytes;
	int64		used_bytes;
	int64		entries;
	int64		max_entries;
	int64		hits;
	int64		misses;
	int64		sets;
	int64		evictions;
	int64		expirations;
	int64		too_large;
} ScribeCacheStats;

/* GUCs */
extern int	scribe_cache_memory;
extern int	scribe_cache_max_value_size;
extern int	scribe_cache_fetch_wait;

/* cache_l1.c */
extern void scribe_cache_define_gucs(void);
extern Size scribe_cache_shmem_size(void);
extern void scribe_cache_shmem_init(void);
extern bool scribe_cache_l1_get(const char *key, int key_len, StringInfo value,
								ScribeCacheType *type, TimestampTz *expires_at);
extern bool scribe_cache_l1_set(const char *key, int key_len, const char *value, int value_len,
								ScribeCacheType type, TimestampTz expires_at);
extern bool scribe_cache_l1_delete(const char *key, int key_len);
extern void scribe_cache_invalidate_namespace(const char *ns, int ns_len);
extern void scribe_cache_l1_stats(ScribeCacheStats *stats);
extern void scribe_cache_l1_clear(void);
extern uint64 scribe_cache_l2_uncovered(void);
extern void scribe_cache_l2_mark_lost(void);
extern void scribe_cache_l2_covered(uint64 lost);

extern ScribeCacheFlight scribe_cache_flight_claim(const char *key, int key_len, int *slot);
extern void scribe_cache_flight_release(int slot);
extern void scribe_cache_flight_wait(long timeout_ms);

/* cache_tiers.c: L1 then Redis */
extern bool scribe_cache_get(const char *key, int key_len, StringInfo value, ScribeCacheType *type);
extern bool scribe_cache_set(const char *key, int key_len, const char *value, int value_len,
							 ScribeCacheType type, TimestampTz expires_at);
extern bool scribe_cache_delete(const char *key, int key_len);
extern void scribe_cache_invalidate(const char *ns, int ns_len);

#endif							/* SCRIBE_CACHE_H */
