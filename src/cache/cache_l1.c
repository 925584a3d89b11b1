/*
 * L1: the cache in shared memory.
 *
 * scribe.cache_memory is divided at server start into fixed-size chunks,
 * one entry slot per chunk and a bucket array; nothing is allocated later,
 * so the cache never exceeds its budget and never fragments.  A value lives
 * in a chain of chunks, after its key.  Buckets are spread over
 * CACHE_PARTITIONS LWLocks: readers of different keys do not meet, and
 * readers of one key share the lock.  A set that finds no free chunk or
 * slot evicts with CLOCK, expired entries first.
 *
 * Lock order: one partition lock at a time; the allocator's spinlock is
 * taken alone, never while waiting for a partition.
 */
#include "base/pg_scribe.h"

#include "common/hashfn.h"
#include "port/atomics.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "cache/cache.h"
#include "cache/cache_l1_internal.h"

int			scribe_cache_memory = 64;
int			scribe_cache_max_value_size = 1024 * 1024;
int			scribe_cache_fetch_wait = 5000;
double		scribe_cache_fetch_beta = 1.0;

CacheShared *cache = NULL;
uint32	   *cache_buckets;
CacheEntry *cache_entries;
CacheChunk *cache_chunks;
static bool tranche_registered = false;

/* Define the L1 GUCs */
void
scribe_cache_define_gucs(void)
{
	DefineCustomIntVariable("scribe.cache_memory",
							"Shared memory of the cache's first tier; 0 disables it.",
							"Reserved at server start; about 7 % of it goes to entry slots and buckets.",
							&scribe_cache_memory,
							64, 0, INT_MAX / 2,
							PGC_POSTMASTER, GUC_UNIT_MB, NULL, NULL, NULL);
	DefineCustomIntVariable("scribe.cache_max_value_size",
							"Largest value the shared-memory tier keeps; larger ones go to Redis only.",
							NULL,
							&scribe_cache_max_value_size,
							1024 * 1024, 0, MaxAllocSize / 2,
							PGC_SUSET, GUC_UNIT_BYTE, NULL, NULL, NULL);
	DefineCustomIntVariable("scribe.cache_fetch_wait",
							"How long scribe.cache_fetch waits for another session loading the same key before loading it too.",
							NULL,
							&scribe_cache_fetch_wait,
							5000, 0, INT_MAX,
							PGC_USERSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomRealVariable("scribe.cache_fetch_beta",
							 "How eagerly scribe.cache_fetch refreshes a value before it expires (XFetch's beta); 0 never does.",
							 "Above 1 refreshes earlier, below 1 later; a refresh is likelier the longer the loader took.",
							 &scribe_cache_fetch_beta,
							 1.0, 0.0, 100.0,
							 PGC_USERSET, 0, NULL, NULL, NULL);
}

/* How many chunks (and entry slots) scribe.cache_memory holds */
static uint32
cache_chunk_count(void)
{
	Size		budget = (Size) scribe_cache_memory * 1024 * 1024;
	/* a chunk, an entry slot and two bucket words on average */
	Size		unit = CACHE_CHUNK_BYTES + sizeof(CacheEntry) + 2 * sizeof(uint32);

	return (uint32) Min(budget / unit, (Size) PG_UINT32_MAX / 4);
}

/* Buckets for n entries: the next power of 2 */
static uint32
cache_bucket_count(uint32 n)
{
	uint32		b = 1;

	while (b < n)
		b <<= 1;
	return b;
}

/* Shared memory the cache needs */
Size
scribe_cache_shmem_size(void)
{
	uint32		n = cache_chunk_count();
	Size		size;

	/* the header exists even without L1: it tracks writes lost to Redis */
	size = MAXALIGN(sizeof(CacheShared));
	if (n == 0)
		return size;
	size = add_size(size, MAXALIGN(mul_size(cache_bucket_count(n), sizeof(uint32))));
	size = add_size(size, MAXALIGN(mul_size(n, sizeof(CacheEntry))));
	size = add_size(size, mul_size(n, sizeof(CacheChunk)));
	return size;
}

/* Point the backend-local pointers into the shared segment */
static void
cache_attach(char *base)
{
	cache = (CacheShared *) base;
	base += MAXALIGN(sizeof(CacheShared));
	cache_buckets = (uint32 *) base;
	base += MAXALIGN(cache->n_buckets * sizeof(uint32));
	cache_entries = (CacheEntry *) base;
	base += MAXALIGN(cache->n_entries * sizeof(CacheEntry));
	cache_chunks = (CacheChunk *) base;
}

/* Create or attach to the cache (shmem_startup_hook, AddinShmemInitLock held) */
void
scribe_cache_shmem_init(void)
{
	uint32		n = cache_chunk_count();
	bool		found;
	char	   *base;

	base = ShmemInitStruct("pg_scribe cache", scribe_cache_shmem_size(), &found);
	if (found)
	{
		cache_attach(base);
		return;
	}
	memset(base, 0, sizeof(CacheShared));
	cache = (CacheShared *) base;
	cache->n_chunks = n;
	cache->n_entries = n;
	cache->n_buckets = n ? cache_bucket_count(n) : 0;
	cache_attach(base);

	cache->tranche_id = LWLockNewTrancheId();
	for (int i = 0; i < CACHE_PARTITIONS; i++)
		LWLockInitialize(&cache->locks[i].lock, cache->tranche_id);
	SpinLockInit(&cache->alloc_mutex);
	memset(cache_buckets, 0, cache->n_buckets * sizeof(uint32));
	for (uint32 i = 0; i < n; i++)
	{
		cache_entries[i].in_use = false;
		cache_entries[i].next = i + 1 < n ? i + 2 : 0;
		cache_chunks[i].next = i + 1 < n ? i + 2 : 0;
	}
	cache->free_chunk = n ? 1 : 0;
	cache->free_entry = n ? 1 : 0;
	cache->free_chunks = n;
	cache->free_entries = n;
	pg_atomic_init_u32(&cache->clock_hand, 0);
	pg_atomic_init_u64(&cache->hits, 0);
	pg_atomic_init_u64(&cache->misses, 0);
	pg_atomic_init_u64(&cache->sets, 0);
	pg_atomic_init_u64(&cache->evictions, 0);
	pg_atomic_init_u64(&cache->expirations, 0);
	pg_atomic_init_u64(&cache->too_large, 0);
	pg_atomic_init_u64(&cache->l2_lost, 0);
	pg_atomic_init_u64(&cache->l2_covered, 0);
	for (int i = 0; i < CACHE_NAMESPACE_SLOTS; i++)
		pg_atomic_init_u64(&cache->ns_versions[i], 1);
	for (int i = 0; i < CACHE_GENERATION_SLOTS; i++)
		pg_atomic_init_u64(&cache->generations[i], 1);
}

/* True when L1 exists in this server; names its locks in this process */
static bool
cache_available(void)
{
	if (cache == NULL || cache->n_entries == 0)
		return false;
	if (!tranche_registered)
	{
		LWLockRegisterTranche(cache->tranche_id, "pg_scribe cache");
		tranche_registered = true;
	}
	return true;
}

/* The partition lock of a bucket */
static inline LWLock *
cache_bucket_lock(uint32 bucket)
{
	return &cache->locks[bucket % CACHE_PARTITIONS].lock;
}

/* The version slot of a namespace */
static pg_atomic_uint64 *
cache_namespace_version(const char *ns, int ns_len)
{
	uint32		h = hash_bytes((const unsigned char *) ns, ns_len);

	return &cache->ns_versions[h % CACHE_NAMESPACE_SLOTS];
}

/* The delete generation slot of a key */
static pg_atomic_uint64 *
cache_generation(const char *key, int key_len)
{
	uint32		h = hash_bytes((const unsigned char *) key, key_len);

	return &cache->generations[h % CACHE_GENERATION_SLOTS];
}

/* What a value loaded now must still match when it is stored (see ScribeCacheToken) */
void
scribe_cache_token(const char *key, int key_len, ScribeCacheToken *token)
{
	if (cache == NULL)
	{
		token->generation = token->ns_version = 0;
		return;
	}
	token->generation = pg_atomic_read_u64(cache_generation(key, key_len));
	token->ns_version = pg_atomic_read_u64(cache_namespace_version(key, scribe_cache_namespace_len(key, key_len)));
}

/* Whether key was not deleted, nor its namespace invalidated, since token was taken */
bool
scribe_cache_token_current(const char *key, int key_len, const ScribeCacheToken *token)
{
	ScribeCacheToken now;

	scribe_cache_token(key, key_len, &now);
	return now.generation == token->generation && now.ns_version == token->ns_version;
}

/* The internal key: the namespace's version, then the key */
static char *
cache_internal_key(const char *key, int key_len, int *ikey_len)
{
	char	   *ikey = palloc(CACHE_KEY_PREFIX + key_len);
	uint64		version = pg_atomic_read_u64(cache_namespace_version(key, scribe_cache_namespace_len(key, key_len)));

	memcpy(ikey, &version, CACHE_KEY_PREFIX);
	memcpy(ikey + CACHE_KEY_PREFIX, key, key_len);
	*ikey_len = CACHE_KEY_PREFIX + key_len;
	return ikey;
}

/* Chunks an entry of these lengths takes */
static inline uint32
cache_chunks_for(int ikey_len, int value_len)
{
	return (uint32) ((ikey_len + value_len + CACHE_CHUNK_DATA - 1) / CACHE_CHUNK_DATA);
}

/* Count an entry in (sign 1) or out of (-1) its namespace's entries and bytes */
static void
cache_account(const CacheEntry *e, int sign)
{
	scribe_cache_count(e->stats_slot, CACHE_EVENT_ENTRIES, sign);
	scribe_cache_count(e->stats_slot, CACHE_EVENT_BYTES,
					   (int64) sign * cache_chunks_for(e->key_len, e->value_len) * CACHE_CHUNK_BYTES);
}

/* Unlink entry slot from its bucket (its partition lock held exclusively) */
static void
cache_unlink(uint32 slot, uint32 bucket)
{
	uint32	   *link = &cache_buckets[bucket];

	cache_account(&cache_entries[slot - 1], -1);

	while (*link != 0 && *link != slot)
		link = &cache_entries[*link - 1].next;
	if (*link == slot)
		*link = cache_entries[slot - 1].next;
	cache_entries[slot - 1].in_use = false;
}

/*
 * Evict with CLOCK until n chunks and a slot are free; false if a full
 * turn of the clock, twice, did not free them.
 */
static bool
cache_evict(uint32 chunks, TimestampTz now)
{
	uint32		budget = 2 * cache->n_entries + 1;

	while (!cache_has_room(chunks))
	{
		uint32		slot = pg_atomic_fetch_add_u32(&cache->clock_hand, 1) % cache->n_entries + 1;
		CacheEntry *e = &cache_entries[slot - 1];
		uint32		bucket;
		LWLock	   *lock;
		uint32		freed_chunk = 0;

		if (budget-- == 0)
			return false;
		if (!e->in_use)
			continue;
		bucket = (uint32) (e->hash & (cache->n_buckets - 1));
		lock = cache_bucket_lock(bucket);
		LWLockAcquire(lock, LW_EXCLUSIVE);
		pg_read_barrier();
		/* the slot may have been freed, or reused for a key of another partition */
		if (e->in_use && (uint32) (e->hash & (cache->n_buckets - 1)) % CACHE_PARTITIONS == bucket % CACHE_PARTITIONS)
		{
			bucket = (uint32) (e->hash & (cache->n_buckets - 1));
			if (e->expires_at != 0 && e->expires_at <= now)
			{
				pg_atomic_fetch_add_u64(&cache->expirations, 1);
				scribe_cache_count(e->stats_slot, CACHE_EVENT_EXPIRATION, 1);
				freed_chunk = e->first_chunk;
			}
			else if (e->referenced)
				e->referenced = false;
			else
			{
				pg_atomic_fetch_add_u64(&cache->evictions, 1);
				scribe_cache_count(e->stats_slot, CACHE_EVENT_EVICTION, 1);
				freed_chunk = e->first_chunk;
			}
			if (freed_chunk != 0)
				cache_unlink(slot, bucket);
		}
		LWLockRelease(lock);
		if (freed_chunk != 0)
		{
			cache_free_chunks(freed_chunk);
			cache_free_entry(slot);
		}
	}
	return true;
}

/* Where a key lives: its internal key, hash, bucket and the bucket's lock */
typedef struct CacheLookup
{
	char	   *ikey;			/* palloc'd */
	int			ikey_len;
	uint64		hash;
	uint32		bucket;
	LWLock	   *lock;
} CacheLookup;

/* Find where key lives */
static void
cache_locate(const char *key, int key_len, CacheLookup *l)
{
	l->ikey = cache_internal_key(key, key_len, &l->ikey_len);
	l->hash = hash_bytes_extended((const unsigned char *) l->ikey, l->ikey_len, 0);
	l->bucket = (uint32) (l->hash & (cache->n_buckets - 1));
	l->lock = cache_bucket_lock(l->bucket);
}

/* The entry of an internal key in its bucket (partition lock held), or 0 */
static uint32
cache_find(uint32 bucket, uint64 hash, const char *ikey, int ikey_len)
{
	for (uint32 slot = cache_buckets[bucket]; slot != 0; slot = cache_entries[slot - 1].next)
	{
		CacheEntry *e = &cache_entries[slot - 1];

		if (e->hash == hash && e->key_len == ikey_len && cache_chain_equals(e->first_chunk, ikey, ikey_len))
			return slot;
	}
	return 0;
}

/* Read key's value into value; false on a miss (absent or expired) */
bool
scribe_cache_l1_get(const char *key, int key_len, StringInfo value, ScribeCacheItem *item)
{
	CacheLookup l;
	uint32		slot;
	bool		hit = false;

	if (!cache_available())
		return false;
	cache_locate(key, key_len, &l);

	LWLockAcquire(l.lock, LW_SHARED);
	slot = cache_find(l.bucket, l.hash, l.ikey, l.ikey_len);
	if (slot != 0)
	{
		CacheEntry *e = &cache_entries[slot - 1];

		if (e->expires_at == 0 || e->expires_at > GetCurrentTimestamp())
		{
			cache_chain_read(e->first_chunk, l.ikey_len, e->value_len, value);
			item->type = (ScribeCacheType) e->type;
			item->expires_at = e->expires_at;
			item->load_us = e->load_us;
			/* a racy store of true is fine: at worst the clock spares it once more */
			e->referenced = true;
			hit = true;
		}
	}
	LWLockRelease(l.lock);
	pfree(l.ikey);
	pg_atomic_fetch_add_u64(hit ? &cache->hits : &cache->misses, 1);
	return hit;
}

/* Store key's value; false if L1 cannot keep it (disabled, too large, no room) */
bool
scribe_cache_l1_set(const char *key, int key_len, const char *value, int value_len,
					const ScribeCacheItem *item, const ScribeCacheToken *token)
{
	CacheLookup l;
	uint32		nchunks;
	uint32		first;
	uint32		slot;
	uint32		existing;
	uint32		old_chunks = 0;

	if (!cache_available())
		return false;
	nchunks = cache_chunks_for(CACHE_KEY_PREFIX + key_len, value_len);
	if (value_len > scribe_cache_max_value_size || nchunks > cache->n_chunks / 8)
	{
		pg_atomic_fetch_add_u64(&cache->too_large, 1);
		return false;
	}
	cache_locate(key, key_len, &l);

	/* room first, outside any partition lock */
	for (;;)
	{
		first = cache_alloc_chunks(nchunks);
		slot = first ? cache_alloc_entry() : 0;
		if (slot != 0)
			break;
		cache_free_chunks(first);
		if (!cache_evict(nchunks, GetCurrentTimestamp()))
		{
			pfree(l.ikey);
			return false;
		}
	}
	cache_chain_write(first, l.ikey, l.ikey_len, value, value_len);

	LWLockAcquire(l.lock, LW_EXCLUSIVE);
	/* deleted since the value was loaded: a delete bumps first, then takes this lock */
	if (token != NULL && !scribe_cache_token_current(key, key_len, token))
	{
		LWLockRelease(l.lock);
		cache_free_chunks(first);
		cache_free_entry(slot);
		pfree(l.ikey);
		return false;
	}
	existing = cache_find(l.bucket, l.hash, l.ikey, l.ikey_len);
	if (existing != 0)
	{
		CacheEntry *e = &cache_entries[existing - 1];

		cache_account(e, -1);
		old_chunks = e->first_chunk;
		e->first_chunk = first;
		e->value_len = value_len;
		e->type = (uint8) item->type;
		e->expires_at = item->expires_at;
		e->load_us = item->load_us;
		e->referenced = true;
		cache_account(e, 1);
	}
	else
	{
		CacheEntry *e = &cache_entries[slot - 1];

		e->hash = l.hash;
		e->first_chunk = first;
		e->key_len = l.ikey_len;
		e->value_len = value_len;
		e->type = (uint8) item->type;
		e->expires_at = item->expires_at;
		e->load_us = item->load_us;
		e->stats_slot = (int16) scribe_cache_stats_slot(key, key_len);
		cache_account(e, 1);
		/* a new entry survives the hand's first pass, so that a set then a get finds it */
		e->referenced = true;
		e->next = cache_buckets[l.bucket];
		/* an evictor reads hash before in_use: publish in that order */
		pg_write_barrier();
		e->in_use = true;
		cache_buckets[l.bucket] = slot;
	}
	LWLockRelease(l.lock);

	if (existing != 0)
	{
		cache_free_chunks(old_chunks);
		cache_free_entry(slot);
	}
	pfree(l.ikey);
	pg_atomic_fetch_add_u64(&cache->sets, 1);
	return true;
}

/* Remove key; true if it was there.  bump: void the loads under way (a delete) */
static bool
cache_l1_remove(const char *key, int key_len, bool bump)
{
	CacheLookup l;
	uint32		slot;
	uint32		chunks = 0;

	/* before the entry goes: a load that began earlier must not store it again */
	if (cache != NULL && bump)
		pg_atomic_fetch_add_u64(cache_generation(key, key_len), 1);
	if (!cache_available())
		return false;
	cache_locate(key, key_len, &l);

	LWLockAcquire(l.lock, LW_EXCLUSIVE);
	slot = cache_find(l.bucket, l.hash, l.ikey, l.ikey_len);
	if (slot != 0)
	{
		chunks = cache_entries[slot - 1].first_chunk;
		cache_unlink(slot, l.bucket);
	}
	LWLockRelease(l.lock);
	if (slot != 0)
	{
		cache_free_chunks(chunks);
		cache_free_entry(slot);
	}
	pfree(l.ikey);
	return slot != 0;
}

/* Delete key; true if it was there.  A load that began before does not store its value. */
bool
scribe_cache_l1_delete(const char *key, int key_len)
{
	return cache_l1_remove(key, key_len, true);
}

/* Drop key's value, which a newer one too large for L1 replaces; true if it was there */
bool
scribe_cache_l1_drop(const char *key, int key_len)
{
	return cache_l1_remove(key, key_len, false);
}

/* Make every key of a namespace unreachable, at once (they age out) */
void
scribe_cache_invalidate_namespace(const char *ns, int ns_len)
{
	if (cache == NULL)
		return;
	pg_atomic_fetch_add_u64(cache_namespace_version(ns, ns_len), 1);
}

/* Empty L1 */
void
scribe_cache_l1_clear(void)
{
	if (!cache_available())
		return;
	for (uint32 bucket = 0; bucket < cache->n_buckets; bucket++)
	{
		LWLock	   *lock = cache_bucket_lock(bucket);

		LWLockAcquire(lock, LW_EXCLUSIVE);
		while (cache_buckets[bucket] != 0)
		{
			uint32		slot = cache_buckets[bucket];
			uint32		chunks = cache_entries[slot - 1].first_chunk;

			cache_unlink(slot, bucket);
			cache_free_chunks(chunks);
			cache_free_entry(slot);
		}
		LWLockRelease(lock);
	}
}

/* What L1 holds and has done */
void
scribe_cache_l1_stats(ScribeCacheStats *stats)
{
	memset(stats, 0, sizeof(*stats));
	if (!cache_available())
		return;
	SpinLockAcquire(&cache->alloc_mutex);
	stats->used_bytes = (int64) (cache->n_chunks - cache->free_chunks) * CACHE_CHUNK_BYTES;
	stats->entries = cache->n_entries - cache->free_entries;
	SpinLockRelease(&cache->alloc_mutex);
	stats->capacity_bytes = (int64) cache->n_chunks * CACHE_CHUNK_BYTES;
	stats->max_entries = cache->n_entries;
	stats->hits = pg_atomic_read_u64(&cache->hits);
	stats->misses = pg_atomic_read_u64(&cache->misses);
	stats->sets = pg_atomic_read_u64(&cache->sets);
	stats->evictions = pg_atomic_read_u64(&cache->evictions);
	stats->expirations = pg_atomic_read_u64(&cache->expirations);
	stats->too_large = pg_atomic_read_u64(&cache->too_large);
}

/*
 * Writes to Redis lost so far, or 0 when an epoch bump covered them all:
 * the caller bumps the epoch, then passes this number to
 * scribe_cache_l2_covered().  A loss after the read stays uncovered.
 */
uint64
scribe_cache_l2_uncovered(void)
{
	uint64		lost = pg_atomic_read_u64(&cache->l2_lost);

	return lost == pg_atomic_read_u64(&cache->l2_covered) ? 0 : lost;
}

/* Remember that a write to Redis was lost */
void
scribe_cache_l2_mark_lost(void)
{
	pg_atomic_fetch_add_u64(&cache->l2_lost, 1);
}

/* The losses up to lost are covered by an epoch bump */
void
scribe_cache_l2_covered(uint64 lost)
{
	uint64		covered = pg_atomic_read_u64(&cache->l2_covered);

	/* never move backwards past a later bump's number */
	while (covered < lost && !pg_atomic_compare_exchange_u64(&cache->l2_covered, &covered, lost))
		;
}
