/*
 * The inside of L1, shared by cache_l1.c (lookups, eviction, SQL-facing
 * operations) and cache_l1_memory.c (free lists and chunk chains).
 */
#ifndef SCRIBE_CACHE_L1_INTERNAL_H
#define SCRIBE_CACHE_L1_INTERNAL_H

#include "port/atomics.h"
#include "storage/lwlock.h"
#include "storage/spin.h"

#define CACHE_CHUNK_BYTES 512
#define CACHE_CHUNK_DATA (CACHE_CHUNK_BYTES - (int) sizeof(uint32))
#define CACHE_PARTITIONS 64
#define CACHE_NAMESPACE_SLOTS 4096
#define CACHE_GENERATION_SLOTS 4096
/* internal keys start with the namespace's version */
#define CACHE_KEY_PREFIX ((int) sizeof(uint64))

/* A block of cache memory; chains are linked by index + 1 (0 ends them) */
typedef struct CacheChunk
{
	uint32		next;
	char		data[CACHE_CHUNK_DATA];
} CacheChunk;

/* One key's value */
typedef struct CacheEntry
{
	uint64		hash;			/* of the internal key */
	uint32		next;			/* next entry of the bucket, index + 1 */
	uint32		first_chunk;	/* index + 1 */
	int32		key_len;		/* internal key bytes at the start of the chain */
	int32		value_len;
	TimestampTz expires_at;		/* 0: never */
	int32		load_us;		/* see ScribeCacheItem */
	int16		stats_slot;		/* its namespace's counters */
	uint8		type;
	bool		in_use;			/* linked in a bucket */
	bool		referenced;		/* read since the clock hand passed */
} CacheEntry;

typedef struct CacheShared
{
	int			tranche_id;
	LWLockPadded locks[CACHE_PARTITIONS];
	slock_t		alloc_mutex;
	uint32		free_chunk;		/* free lists, index + 1 */
	uint32		free_entry;
	uint32		free_chunks;
	uint32		free_entries;
	uint32		n_chunks;
	uint32		n_entries;
	uint32		n_buckets;		/* a power of 2 */
	pg_atomic_uint32 clock_hand;
	pg_atomic_uint64 hits;
	pg_atomic_uint64 misses;
	pg_atomic_uint64 sets;
	pg_atomic_uint64 evictions;
	pg_atomic_uint64 expirations;
	pg_atomic_uint64 too_large;
	/* writes to Redis lost, and how many of them an epoch bump has covered */
	pg_atomic_uint64 l2_lost;
	pg_atomic_uint64 l2_covered;
	pg_atomic_uint64 ns_versions[CACHE_NAMESPACE_SLOTS];
	/* bumped by every delete of a key hashing there: see ScribeCacheToken */
	pg_atomic_uint64 generations[CACHE_GENERATION_SLOTS];
} CacheShared;

/* In the shared segment, attached by each backend */
extern CacheShared *cache;
extern uint32 *cache_buckets;
extern CacheEntry *cache_entries;
extern CacheChunk *cache_chunks;

/* cache_l1_memory.c */
extern bool cache_chain_equals(uint32 chunk, const char *buf, int len);
extern void cache_chain_read(uint32 chunk, int offset, int len, StringInfo out);
extern void cache_chain_write(uint32 chunk, const char *a, int a_len, const char *b, int b_len);
extern uint32 cache_alloc_chunks(uint32 n);
extern void cache_free_chunks(uint32 first);
extern uint32 cache_alloc_entry(void);
extern void cache_free_entry(uint32 slot);
extern bool cache_has_room(uint32 chunks);

#endif							/* SCRIBE_CACHE_L1_INTERNAL_H */
