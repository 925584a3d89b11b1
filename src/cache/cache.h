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
 *   event      a row of scribe.cache_events: a delete, invalidation or clear
 *              called from SQL on a node that publishes the table, done
 *              again on each replica that subscribes to it
 */
#ifndef SCRIBE_CACHE_H
#define SCRIBE_CACHE_H

#include "datatype/timestamp.h"
#include "fmgr.h"
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

/* What is kept with a value besides its bytes */
typedef struct ScribeCacheItem
{
	ScribeCacheType type;
	TimestampTz expires_at;		/* 0: never */
	int32		load_us;		/* how long its loader ran (cache_fetch); 0: unknown */
} ScribeCacheItem;

/*
 * The parameters of a cache_fetch loader, as the caller gave them: $1 is
 * values[0].  A quoted literal's type is unknown, its value a C string.
 */
typedef struct ScribeCacheParams
{
	int			n;
	Oid		   *types;
	Datum	   *values;
	bool	   *nulls;
} ScribeCacheParams;

/*
 * Taken before a value is loaded (cache_fetch), checked when it is stored:
 * the generation of the key's slot, bumped by every delete of a key hashing
 * there, and its namespace's version.  If either moved, the key was deleted
 * or invalidated while the loader ran, maybe by a transaction whose rows it
 * read before they changed, and the value is not stored.
 */
typedef struct ScribeCacheToken
{
	uint64		generation;
	uint64		ns_version;
} ScribeCacheToken;

/* What happened to a namespace's keys, counted in shared memory */
typedef enum ScribeCacheEvent
{
	CACHE_EVENT_L1_HIT = 0,
	CACHE_EVENT_L2_HIT,
	CACHE_EVENT_MISS,
	CACHE_EVENT_SET,
	CACHE_EVENT_LOAD,			/* a cache_fetch loader ran */
	CACHE_EVENT_EARLY_REFRESH,	/* ... before expiry, by the XFetch rule */
	CACHE_EVENT_EVICTION,
	CACHE_EVENT_EXPIRATION,
	CACHE_EVENT_INVALIDATION,
	CACHE_EVENT_ENTRIES,		/* gauges: L1 entries and bytes now */
	CACHE_EVENT_BYTES,
	CACHE_EVENT_COUNT
} ScribeCacheEvent;

/* The Redis tier's counters */
typedef struct ScribeCacheL2Stats
{
	int64		hits;
	int64		misses;			/* looked up in Redis and not found (or stale) */
	int64		sets;
	int64		errors;			/* reads skipped or failed and writes lost: Redis unavailable */
} ScribeCacheL2Stats;

/* One namespace's counters, for scribe.cache_namespace_stats() */
typedef struct ScribeCacheNamespaceStats
{
	char		name[64];		/* "" for the namespaces the table had no room for */
	int64		counts[CACHE_EVENT_COUNT];
} ScribeCacheNamespaceStats;

/* Namespaces counted separately; the others are counted together */
#define SCRIBE_CACHE_NAMESPACE_STATS 256

/* What scribe.cache_delete, cache_invalidate and cache_clear do; an event names one */
typedef enum ScribeCacheOp
{
	CACHE_OP_DELETE = 0,		/* a key, from both tiers */
	CACHE_OP_INVALIDATE,		/* a namespace, in both tiers */
	CACHE_OP_CLEAR				/* every key of L1 */
} ScribeCacheOp;

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
extern double scribe_cache_fetch_beta;

/* cache_l1.c */
extern void scribe_cache_define_gucs(void);
extern Size scribe_cache_shmem_size(void);
extern void scribe_cache_shmem_init(void);
extern bool scribe_cache_l1_get(const char *key, int key_len, StringInfo value, ScribeCacheItem *item);
extern bool scribe_cache_l1_set(const char *key, int key_len, const char *value, int value_len,
								const ScribeCacheItem *item, const ScribeCacheToken *token);
extern bool scribe_cache_l1_delete(const char *key, int key_len);
extern bool scribe_cache_l1_drop(const char *key, int key_len);
extern void scribe_cache_invalidate_namespace(const char *ns, int ns_len);
extern void scribe_cache_l1_stats(ScribeCacheStats *stats);
extern void scribe_cache_l1_clear(void);
extern uint64 scribe_cache_l2_uncovered(void);
extern void scribe_cache_l2_mark_lost(void);
extern void scribe_cache_l2_covered(uint64 lost);
extern void scribe_cache_token(const char *key, int key_len, ScribeCacheToken *token);
extern bool scribe_cache_token_current(const char *key, int key_len, const ScribeCacheToken *token);

/* cache_flight.c: loads under way, for cache_fetch's single flight */
extern Size scribe_cache_flight_shmem_size(void);
extern void scribe_cache_flight_shmem_init(void);
extern ScribeCacheFlight scribe_cache_flight_claim(const char *key, int key_len, int *slot);
extern void scribe_cache_flight_release(int slot);
extern void scribe_cache_flight_wait(const char *key, int key_len, long timeout_ms);

/* cache_stats.c: counters per namespace and of the Redis tier */
extern Size scribe_cache_stats_shmem_size(void);
extern void scribe_cache_stats_shmem_init(void);
extern int	scribe_cache_stats_slot(const char *key, int key_len);
extern void scribe_cache_count(int slot, ScribeCacheEvent event, int64 n);
extern void scribe_cache_count_l2(int64 hits, int64 misses, int64 sets, int64 errors);
extern void scribe_cache_l2_stats(ScribeCacheL2Stats *stats);
extern int	scribe_cache_namespace_stats(ScribeCacheNamespaceStats *out, int max);

/* cache_tiers.c: L1 then Redis */
extern bool scribe_cache_get(const char *key, int key_len, StringInfo value, ScribeCacheItem *item);
extern void scribe_cache_get_many(int n, const char *const *keys, const int *key_lens,
								  StringInfo values, ScribeCacheItem *items, bool *found, bool count);
extern bool scribe_cache_set(const char *key, int key_len, const char *value, int value_len,
							 const ScribeCacheItem *item, const ScribeCacheToken *token);
extern int	scribe_cache_set_many(int n, const char *const *keys, const int *key_lens,
								  const StringInfo values, const ScribeCacheItem *items);
extern bool scribe_cache_delete(const char *key, int key_len);
extern int	scribe_cache_delete_many(int n, const char *const *keys, const int *key_lens);
extern void scribe_cache_invalidate(const char *ns, int ns_len);

/* cache_key.c: the shape of a key, its namespace */
extern void scribe_cache_check_key(const text *key);
extern int	scribe_cache_namespace_len(const char *key, int key_len);

/* cache_sql.c: arguments and values of the SQL functions */
extern int64 scribe_cache_ttl_arg(FunctionCallInfo fcinfo, int argno);
extern void scribe_cache_check_type(const char *key, ScribeCacheType type, ScribeCacheType want);
extern Datum scribe_cache_value_varlena(StringInfo value);
extern text *scribe_cache_value_text(StringInfo value, ScribeCacheType type);

/* cache_loader.c: a cache_fetch loader, checked, its parameters bound */
extern bool scribe_cache_load(const char *key, const char *loader, const ScribeCacheParams *params,
							  ScribeCacheType want, StringInfo value, ScribeCacheType *type);

/* cache_commit.c: deletes and invalidations done again when the transaction commits */
extern void scribe_cache_delete_at_commit(const char *key, int key_len);
extern void scribe_cache_invalidate_at_commit(const char *ns, int ns_len);
extern void scribe_cache_fixed_at_commit(const char *template, int len);
extern bool scribe_cache_apply(ScribeCacheOp op, const char *arg, int len);

/* cache_events.c: operations recorded for replicas, and done where they arrive */
extern void scribe_cache_event_record(ScribeCacheOp op, const char *arg, int len);

#endif							/* SCRIBE_CACHE_H */
