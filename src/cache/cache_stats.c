/*
 * The cache's counters per namespace and of its Redis tier, in shared
 * memory.  A namespace gets a slot of its own the first time one of its
 * keys is used, while slots last (SCRIBE_CACHE_NAMESPACE_STATS, kept until
 * the server stops); later namespaces, and names longer than a slot holds,
 * are counted together in one more slot.  Counting is an atomic add: no
 * lock on the read path.
 */
#include "base/pg_scribe.h"

#include "common/hashfn.h"
#include "port/atomics.h"
#include "storage/shmem.h"
#include "storage/spin.h"

#include "cache/cache.h"

#define SLOT_FREE 0
#define SLOT_NAMING 1
#define SLOT_NAMED 2
#define OTHERS SCRIBE_CACHE_NAMESPACE_STATS

typedef struct NamespaceSlot
{
	pg_atomic_uint32 state;
	uint32		hash;
	char		name[sizeof(((ScribeCacheNamespaceStats *) NULL)->name)];
	/* the gauges (entries, bytes) go down too: read as int64 */
	pg_atomic_uint64 counts[CACHE_EVENT_COUNT];
} NamespaceSlot;

typedef struct CacheStatsShared
{
	pg_atomic_uint64 l2_hits;
	pg_atomic_uint64 l2_misses;
	pg_atomic_uint64 l2_sets;
	pg_atomic_uint64 l2_errors;
	NamespaceSlot slots[SCRIBE_CACHE_NAMESPACE_STATS + 1];	/* the last one: the others */
} CacheStatsShared;

static CacheStatsShared *stats = NULL;

/* Shared memory the counters need */
Size
scribe_cache_stats_shmem_size(void)
{
	return MAXALIGN(sizeof(CacheStatsShared));
}

/* Create or attach to the counters (shmem_startup_hook, AddinShmemInitLock held) */
void
scribe_cache_stats_shmem_init(void)
{
	bool		found;

	stats = ShmemInitStruct("pg_scribe cache stats", scribe_cache_stats_shmem_size(), &found);
	if (found)
		return;
	memset(stats, 0, sizeof(CacheStatsShared));
	pg_atomic_init_u64(&stats->l2_hits, 0);
	pg_atomic_init_u64(&stats->l2_misses, 0);
	pg_atomic_init_u64(&stats->l2_sets, 0);
	pg_atomic_init_u64(&stats->l2_errors, 0);
	for (int i = 0; i <= SCRIBE_CACHE_NAMESPACE_STATS; i++)
	{
		pg_atomic_init_u32(&stats->slots[i].state, SLOT_FREE);
		for (int e = 0; e < CACHE_EVENT_COUNT; e++)
			pg_atomic_init_u64(&stats->slots[i].counts[e], 0);
	}
}

/* The slot counting key's namespace (claimed on first use), or -1 without shared memory */
int
scribe_cache_stats_slot(const char *key, int key_len)
{
	int			ns_len = scribe_cache_namespace_len(key, key_len);
	uint32		hash;
	int			start;

	if (stats == NULL)
		return -1;
	if (ns_len >= (int) sizeof(stats->slots[0].name))
		return OTHERS;
	hash = hash_bytes((const unsigned char *) key, ns_len);
	start = hash % SCRIBE_CACHE_NAMESPACE_STATS;
	for (int i = 0; i < SCRIBE_CACHE_NAMESPACE_STATS;)
	{
		int			n = (start + i) % SCRIBE_CACHE_NAMESPACE_STATS;
		NamespaceSlot *s = &stats->slots[n];
		uint32		state = pg_atomic_read_u32(&s->state);

		if (state == SLOT_NAMED)
		{
			pg_read_barrier();
			if (s->hash == hash && strncmp(s->name, key, ns_len) == 0 && s->name[ns_len] == '\0')
				return n;
			i++;
		}
		else if (state == SLOT_NAMING)
			pg_spin_delay();	/* another backend writes the name: a few instructions */
		else
		{
			uint32		expected = SLOT_FREE;

			if (pg_atomic_compare_exchange_u32(&s->state, &expected, SLOT_NAMING))
			{
				s->hash = hash;
				memcpy(s->name, key, ns_len);
				s->name[ns_len] = '\0';
				pg_write_barrier();
				pg_atomic_write_u32(&s->state, SLOT_NAMED);
				return n;
			}
			/* lost the race for this slot: look at it again */
		}
	}
	return OTHERS;
}

/* Add n to a namespace's counter (slot from scribe_cache_stats_slot) */
void
scribe_cache_count(int slot, ScribeCacheEvent event, int64 n)
{
	if (stats == NULL || slot < 0 || n == 0)
		return;
	pg_atomic_fetch_add_u64(&stats->slots[slot].counts[event], (uint64) n);
}

/* Add to the Redis tier's counters */
void
scribe_cache_count_l2(int64 hits, int64 misses, int64 sets, int64 errors)
{
	if (stats == NULL)
		return;
	if (hits)
		pg_atomic_fetch_add_u64(&stats->l2_hits, hits);
	if (misses)
		pg_atomic_fetch_add_u64(&stats->l2_misses, misses);
	if (sets)
		pg_atomic_fetch_add_u64(&stats->l2_sets, sets);
	if (errors)
		pg_atomic_fetch_add_u64(&stats->l2_errors, errors);
}

/* The Redis tier's counters */
void
scribe_cache_l2_stats(ScribeCacheL2Stats *out)
{
	memset(out, 0, sizeof(*out));
	if (stats == NULL)
		return;
	out->hits = pg_atomic_read_u64(&stats->l2_hits);
	out->misses = pg_atomic_read_u64(&stats->l2_misses);
	out->sets = pg_atomic_read_u64(&stats->l2_sets);
	out->errors = pg_atomic_read_u64(&stats->l2_errors);
}

/* Copy the counters of every namespace seen (the others last, named ""); how many */
int
scribe_cache_namespace_stats(ScribeCacheNamespaceStats *out, int max)
{
	int			n = 0;

	if (stats == NULL)
		return 0;
	for (int i = 0; i <= SCRIBE_CACHE_NAMESPACE_STATS && n < max; i++)
	{
		NamespaceSlot *s = &stats->slots[i];
		bool		used = false;

		if (i < OTHERS && pg_atomic_read_u32(&s->state) != SLOT_NAMED)
			continue;
		pg_read_barrier();
		for (int e = 0; e < CACHE_EVENT_COUNT; e++)
		{
			out[n].counts[e] = (int64) pg_atomic_read_u64(&s->counts[e]);
			used |= out[n].counts[e] != 0;
		}
		if (i == OTHERS && !used)
			continue;
		strlcpy(out[n].name, i < OTHERS ? s->name : "", sizeof(out[n].name));
		n++;
	}
	return n;
}
