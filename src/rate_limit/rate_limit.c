/*
 * The rate limiter's table in shared memory, and GCRA on it.
 *
 * Layout: a header with SCRIBE_RATE_LIMIT_PARTITIONS partitions (each on
 * its own cache line), then the hash buckets of every partition, then the
 * entries.  A partition owns a slice of the buckets and of the entries;
 * links between entries are indexes into the entry array, -1 for none.
 * Everything a partition holds is read and written under its LWLock only.
 */
#include "base/pg_scribe.h"

#include "common/hashfn.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/guc.h"

#include "rate_limit/rate_limit.h"
#include "base/shmem.h"

#define NO_ENTRY (-1)

typedef struct RateLimitEntry
{
	int64		tat_ns;			/* theoretical arrival time, ns since 2000-01-01 */
	uint32		hash;			/* upper half of the key's 64-bit hash */
	int32		chain_next;		/* next entry of the bucket, or of the free list */
	int32		lru_prev;		/* the entry used just after this one */
	int32		lru_next;		/* the entry used just before this one */
	uint16		keylen;
	char		key[SCRIBE_RATE_LIMIT_MAX_KEY];
} RateLimitEntry;

typedef struct RateLimitPartition
{
	int32		first_bucket;
	uint32		bucket_mask;	/* buckets - 1; a power of two */
	int32		capacity;
	int32		keys;
	int32		free_list;
	int32		lru_head;		/* most recently used */
	int32		lru_tail;		/* least recently used */
	uint64		evictions;
	uint64		evictions_limiting;
	uint64		allowed;
	uint64		rejected;
} RateLimitPartition;

/* A partition on a cache line of its own: backends on two partitions do not share one */
typedef union RateLimitPartitionPadded
{
	RateLimitPartition part;
	char		pad[PG_CACHE_LINE_SIZE];
} RateLimitPartitionPadded;

StaticAssertDecl(sizeof(RateLimitPartition) <= PG_CACHE_LINE_SIZE,
				 "a rate limit partition fits its padding");

typedef struct RateLimitShared
{
	int			partitions;		/* in use: fewer than the maximum for tiny tables */
	RateLimitPartitionPadded parts[SCRIBE_RATE_LIMIT_PARTITIONS];
} RateLimitShared;

int			scribe_rate_limit_keys = 10000;

static RateLimitShared *rl_shared = NULL;
static int32 *rl_buckets = NULL;
static RateLimitEntry *rl_entries = NULL;

/* Define scribe.rate_limit_keys */
void
scribe_rate_limit_define_gucs(void)
{
	DefineCustomIntVariable("scribe.rate_limit_keys",
							"Keys the rate limiter keeps in shared memory (0 disables scribe.rate_limit_take()).",
							"About 240 bytes each.  A new key in a full table replaces the least recently used key "
							"whose limit has run out, else the least recently used key.",
							&scribe_rate_limit_keys,
							10000, 0, 10000000,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);
}

/* How many partitions a table of scribe.rate_limit_keys keys uses */
static int
partitions_in_use(void)
{
	return Min(scribe_rate_limit_keys, SCRIBE_RATE_LIMIT_PARTITIONS);
}

/* How many entries partition i holds: the keys shared out evenly */
static int32
partition_capacity(int i, int partitions)
{
	return scribe_rate_limit_keys / partitions + (i < scribe_rate_limit_keys % partitions ? 1 : 0);
}

/* Buckets of a partition of capacity entries: the power of two at or above it */
static uint32
partition_buckets(int32 capacity)
{
	uint32		buckets = 1;

	while (buckets < (uint32) capacity)
		buckets <<= 1;
	return buckets;
}

/* Total buckets over all partitions */
static Size
total_buckets(void)
{
	int			partitions = partitions_in_use();
	Size		total = 0;

	for (int i = 0; i < partitions; i++)
		total += partition_buckets(partition_capacity(i, partitions));
	return total;
}

/* Shared memory for scribe.rate_limit_keys keys (nothing when 0) */
Size
scribe_rate_limit_shmem_size(void)
{
	Size		size;

	if (scribe_rate_limit_keys <= 0)
		return 0;
	size = MAXALIGN(sizeof(RateLimitShared));
	size = add_size(size, MAXALIGN(mul_size(total_buckets(), sizeof(int32))));
	size = add_size(size, mul_size(scribe_rate_limit_keys, sizeof(RateLimitEntry)));
	return size;
}

/* Create or attach to the table */
void
scribe_rate_limit_shmem_init(void)
{
	bool		found;
	char	   *base;
	Size		buckets = total_buckets();

	if (scribe_rate_limit_keys <= 0)
		return;
	base = ShmemInitStruct("pg_scribe rate limiter", scribe_rate_limit_shmem_size(), &found);
	rl_shared = (RateLimitShared *) base;
	rl_buckets = (int32 *) (base + MAXALIGN(sizeof(RateLimitShared)));
	rl_entries = (RateLimitEntry *) (base + MAXALIGN(sizeof(RateLimitShared))
									 + MAXALIGN(buckets * sizeof(int32)));
	if (found)
		return;

	memset(rl_shared, 0, sizeof(RateLimitShared));
	rl_shared->partitions = partitions_in_use();
	for (Size b = 0; b < buckets; b++)
		rl_buckets[b] = NO_ENTRY;

	{
		int32		first_bucket = 0;
		int32		first_entry = 0;

		for (int i = 0; i < rl_shared->partitions; i++)
		{
			RateLimitPartition *part = &rl_shared->parts[i].part;
			int32		capacity = partition_capacity(i, rl_shared->partitions);

			part->first_bucket = first_bucket;
			part->bucket_mask = partition_buckets(capacity) - 1;
			part->capacity = capacity;
			part->lru_head = part->lru_tail = NO_ENTRY;
			/* every entry of the partition starts on its free list */
			part->free_list = capacity > 0 ? first_entry : NO_ENTRY;
			for (int32 e = first_entry; e < first_entry + capacity; e++)
				rl_entries[e].chain_next = (e + 1 < first_entry + capacity) ? e + 1 : NO_ENTRY;
			first_bucket += part->bucket_mask + 1;
			first_entry += capacity;
		}
	}
}

/* True when the server has a table (scribe.rate_limit_keys > 0) */
bool
scribe_rate_limit_enabled(void)
{
	return rl_shared != NULL;
}

/* The partition and bucket of a key; sets *hash to the part of the hash kept */
static RateLimitPartition *
locate(const char *key, int keylen, int *partition, int32 **bucket, uint32 *hash)
{
	uint64		h = hash_bytes_extended((const unsigned char *) key, keylen, 0);
	RateLimitPartition *part;

	*partition = (int) ((uint32) h % (uint32) rl_shared->partitions);
	part = &rl_shared->parts[*partition].part;
	*hash = (uint32) (h >> 32);
	*bucket = &rl_buckets[part->first_bucket + (*hash & part->bucket_mask)];
	return part;
}

/* The entry of a key in its bucket, or NO_ENTRY */
static int32
find_entry(const int32 *bucket, uint32 hash, const char *key, int keylen)
{
	for (int32 e = *bucket; e != NO_ENTRY; e = rl_entries[e].chain_next)
	{
		RateLimitEntry *entry = &rl_entries[e];

		if (entry->hash == hash && entry->keylen == keylen && memcmp(entry->key, key, keylen) == 0)
			return e;
	}
	return NO_ENTRY;
}

/* Take an entry out of the least-recently-used list */
static void
lru_unlink(RateLimitPartition *part, int32 e)
{
	RateLimitEntry *entry = &rl_entries[e];

	if (entry->lru_prev != NO_ENTRY)
		rl_entries[entry->lru_prev].lru_next = entry->lru_next;
	else
		part->lru_head = entry->lru_next;
	if (entry->lru_next != NO_ENTRY)
		rl_entries[entry->lru_next].lru_prev = entry->lru_prev;
	else
		part->lru_tail = entry->lru_prev;
}

/* Put an entry at the most recently used end of the list */
static void
lru_push_front(RateLimitPartition *part, int32 e)
{
	RateLimitEntry *entry = &rl_entries[e];

	entry->lru_prev = NO_ENTRY;
	entry->lru_next = part->lru_head;
	if (part->lru_head != NO_ENTRY)
		rl_entries[part->lru_head].lru_prev = e;
	part->lru_head = e;
	if (part->lru_tail == NO_ENTRY)
		part->lru_tail = e;
}

/* Mark an entry as just used */
static void
lru_touch(RateLimitPartition *part, int32 e)
{
	if (part->lru_head == e)
		return;
	lru_unlink(part, e);
	lru_push_front(part, e);
}

/* Remove an entry from its bucket chain and the list; it is then the caller's */
static void
entry_remove(RateLimitPartition *part, int32 e)
{
	RateLimitEntry *entry = &rl_entries[e];
	int32	   *link = &rl_buckets[part->first_bucket + (entry->hash & part->bucket_mask)];

	while (*link != e)
		link = &rl_entries[*link].chain_next;
	*link = entry->chain_next;
	lru_unlink(part, e);
	part->keys--;
}

/*
 * A free entry of the partition: from the free list, else the least recently
 * used entry whose TAT has passed (forgetting it changes no answer), else the
 * least recently used entry.
 */
static int32
entry_take(RateLimitPartition *part, int64 now_ns)
{
	int32		victim;

	if (part->free_list != NO_ENTRY)
	{
		victim = part->free_list;
		part->free_list = rl_entries[victim].chain_next;
		return victim;
	}

	victim = part->lru_tail;
	for (int32 e = part->lru_tail; e != NO_ENTRY; e = rl_entries[e].lru_prev)
	{
		if (rl_entries[e].tat_ns <= now_ns)
		{
			victim = e;
			break;
		}
	}
	Assert(victim != NO_ENTRY);
	if (rl_entries[victim].tat_ns > now_ns)
		part->evictions_limiting++;
	part->evictions++;
	entry_remove(part, victim);
	return victim;
}

/* Store a new key with its TAT at the most recently used end */
static void
entry_insert(RateLimitPartition *part, int32 *bucket, uint32 hash,
			 const char *key, int keylen, int64 tat_ns, int64 now_ns)
{
	int32		e = entry_take(part, now_ns);
	RateLimitEntry *entry = &rl_entries[e];

	entry->tat_ns = tat_ns;
	entry->hash = hash;
	entry->keylen = (uint16) keylen;
	memcpy(entry->key, key, keylen);
	/* the bucket may have lost the victim just now: link in after that */
	entry->chain_next = *bucket;
	*bucket = e;
	lru_push_front(part, e);
	part->keys++;
}

/*
 * Decide one request with GCRA, and record it if allowed.
 *
 * The key's TAT (now, if it has none or it has passed) moves ahead by
 * cost * emission interval; the request is allowed when the new TAT is at
 * most tolerance ahead of now.  A rejected request changes nothing.
 */
void
scribe_rate_limit_apply(const RateLimitRequest *request, TimestampTz now, RateLimitDecision *decision)
{
	int64		now_ns = (int64) now * 1000;
	int			partition;
	int32	   *bucket;
	uint32		hash;
	RateLimitPartition *part;
	LWLock	   *lock;
	int32		e;
	int64		tat_ns;
	int64		new_tat_ns;
	int64		allow_at_ns;

	part = locate(request->key, request->keylen, &partition, &bucket, &hash);
	lock = scribe_lwlock(SCRIBE_LWLOCK_RATE_LIMIT + partition);

	LWLockAcquire(lock, LW_EXCLUSIVE);
	e = find_entry(bucket, hash, request->key, request->keylen);
	tat_ns = (e != NO_ENTRY) ? Max(rl_entries[e].tat_ns, now_ns) : now_ns;
	new_tat_ns = tat_ns + request->cost_ns;
	allow_at_ns = new_tat_ns - request->tolerance_ns;

	decision->allowed = (allow_at_ns <= now_ns);
	if (decision->allowed)
	{
		if (e != NO_ENTRY)
		{
			rl_entries[e].tat_ns = new_tat_ns;
			lru_touch(part, e);
		}
		else if (new_tat_ns > now_ns)
			entry_insert(part, bucket, hash, request->key, request->keylen, new_tat_ns, now_ns);
		/* a peek (cost 0) asks for nothing: it is no request to count */
		if (request->cost_ns > 0)
			part->allowed++;
	}
	else
	{
		if (e != NO_ENTRY)
			lru_touch(part, e);
		new_tat_ns = tat_ns;
		part->rejected++;
	}
	LWLockRelease(lock);

	decision->retry_after_ns = decision->allowed ? 0 : allow_at_ns - now_ns;
	decision->reset_after_ns = new_tat_ns - now_ns;
	decision->remaining = Max(request->tolerance_ns - decision->reset_after_ns, 0) / request->interval_ns;
}

/* Forget a key; false if the table did not hold it */
bool
scribe_rate_limit_forget(const char *key, int keylen)
{
	int			partition;
	int32	   *bucket;
	uint32		hash;
	RateLimitPartition *part = locate(key, keylen, &partition, &bucket, &hash);
	LWLock	   *lock = scribe_lwlock(SCRIBE_LWLOCK_RATE_LIMIT + partition);
	int32		e;

	LWLockAcquire(lock, LW_EXCLUSIVE);
	e = find_entry(bucket, hash, key, keylen);
	if (e != NO_ENTRY)
	{
		entry_remove(part, e);
		rl_entries[e].chain_next = part->free_list;
		part->free_list = e;
	}
	LWLockRelease(lock);
	return e != NO_ENTRY;
}

/* Add up the counters of every partition */
void
scribe_rate_limit_counters(RateLimitCounters *counters)
{
	memset(counters, 0, sizeof(RateLimitCounters));
	if (rl_shared == NULL)
		return;
	for (int i = 0; i < rl_shared->partitions; i++)
	{
		RateLimitPartition *part = &rl_shared->parts[i].part;
		LWLock	   *lock = scribe_lwlock(SCRIBE_LWLOCK_RATE_LIMIT + i);

		LWLockAcquire(lock, LW_SHARED);
		counters->keys += part->keys;
		counters->capacity += part->capacity;
		counters->evictions += part->evictions;
		counters->evictions_limiting += part->evictions_limiting;
		counters->allowed += part->allowed;
		counters->rejected += part->rejected;
		LWLockRelease(lock);
	}
}
