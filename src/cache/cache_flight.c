/*
 * Loads under way: scribe.cache_fetch's single flight.  A session that
 * misses a key claims its load in a small shared table; a session that
 * misses the same key meanwhile finds the claim and waits on a condition
 * variable until a load ends, then reads the cache again.  A claim of a
 * backend that died mid-load is taken over by the next one to ask.
 */
#include "base/pg_scribe.h"

#include <signal.h>

#include "common/hashfn.h"
#include "storage/condition_variable.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/wait_event.h"

#include "cache/cache.h"

typedef struct CacheFlights
{
	slock_t		mutex;
	uint64		hash[SCRIBE_CACHE_FLIGHTS];	/* of the key; 0 when free */
	int			pid[SCRIBE_CACHE_FLIGHTS];	/* who loads it */
	ConditionVariable done;
} CacheFlights;

static CacheFlights *flights = NULL;

/* Shared memory the table needs */
Size
scribe_cache_flight_shmem_size(void)
{
	return MAXALIGN(sizeof(CacheFlights));
}

/* Create or attach to the table (shmem_startup_hook, AddinShmemInitLock held) */
void
scribe_cache_flight_shmem_init(void)
{
	bool		found;

	flights = ShmemInitStruct("pg_scribe cache flights", scribe_cache_flight_shmem_size(), &found);
	if (found)
		return;
	memset(flights, 0, sizeof(CacheFlights));
	SpinLockInit(&flights->mutex);
	ConditionVariableInit(&flights->done);
}

/* The hash a flight of key is known by; never 0 (a free slot) */
static uint64
flight_hash(const char *key, int key_len)
{
	return hash_bytes_extended((const unsigned char *) key, key_len, 1) | 1;
}

/*
 * Claim the load of key for this backend: CACHE_FLIGHT_MINE, or
 * CACHE_FLIGHT_BUSY when a live backend loads it now, or CACHE_FLIGHT_NONE
 * when the table is full or there is no shared memory (load without
 * coordination).
 */
ScribeCacheFlight
scribe_cache_flight_claim(const char *key, int key_len, int *slot)
{
	uint64		hash = flight_hash(key, key_len);
	int			free_slot = -1;
	ScribeCacheFlight result = CACHE_FLIGHT_NONE;

	*slot = -1;
	if (flights == NULL)
		return CACHE_FLIGHT_NONE;
	SpinLockAcquire(&flights->mutex);
	for (int i = 0; i < SCRIBE_CACHE_FLIGHTS; i++)
	{
		if (flights->hash[i] == hash)
		{
			/* a backend that died mid-load leaves its flight: take it over */
			if (kill(flights->pid[i], 0) != 0 && errno == ESRCH)
			{
				flights->pid[i] = MyProcPid;
				*slot = i;
				result = CACHE_FLIGHT_MINE;
			}
			else
				result = CACHE_FLIGHT_BUSY;
			SpinLockRelease(&flights->mutex);
			return result;
		}
		if (flights->hash[i] == 0 && free_slot < 0)
			free_slot = i;
	}
	if (free_slot >= 0)
	{
		flights->hash[free_slot] = hash;
		flights->pid[free_slot] = MyProcPid;
		*slot = free_slot;
		result = CACHE_FLIGHT_MINE;
	}
	SpinLockRelease(&flights->mutex);
	return result;
}

/* End this backend's load (slot from scribe_cache_flight_claim) and wake the waiters */
void
scribe_cache_flight_release(int slot)
{
	if (flights == NULL || slot < 0)
		return;
	SpinLockAcquire(&flights->mutex);
	if (flights->pid[slot] == MyProcPid)
	{
		flights->hash[slot] = 0;
		flights->pid[slot] = 0;
	}
	SpinLockRelease(&flights->mutex);
	ConditionVariableBroadcast(&flights->done);
}

/* Wait until the load of key ends (or some load ends, or timeout_ms passed) */
void
scribe_cache_flight_wait(const char *key, int key_len, long timeout_ms)
{
	uint64		hash = flight_hash(key, key_len);
	bool		loading = false;

	if (flights == NULL)
		return;
	/* on the wait list first, then look: a load ending in between still wakes us */
	ConditionVariablePrepareToSleep(&flights->done);
	SpinLockAcquire(&flights->mutex);
	for (int i = 0; i < SCRIBE_CACHE_FLIGHTS && !loading; i++)
		loading = flights->hash[i] == hash;
	SpinLockRelease(&flights->mutex);
	if (loading)
		(void) ConditionVariableTimedSleep(&flights->done, timeout_ms, PG_WAIT_EXTENSION);
	ConditionVariableCancelSleep();
}
