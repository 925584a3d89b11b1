/*
 * Shared memory of pg_scribe.
 *
 * Each capability that keeps state in shared memory adds its size and its
 * initialisation here; the server reserves the total once, at start.
 */
#include "pg_scribe.h"

#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"

#include "cache/cache.h"
#include "cache/cache_redis.h"
#include "cache/rate_limit.h"
#include "documents/documents.h"
#include "lifecycle/lifecycle.h"
#include "launcher/launcher.h"
#include "pool/pool.h"
#include "queue/queue_stats.h"
#include "shmem.h"

#define SCRIBE_LWLOCK_TRANCHE "pg_scribe"

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
static LWLockPadded *scribe_lwlocks = NULL;

/* Add up what every capability needs */
static Size
scribe_shmem_size(void)
{
	Size		size = 0;

	size = add_size(size, scribe_launcher_shmem_size());
	size = add_size(size, scribe_queue_stats_shmem_size());
	size = add_size(size, scribe_pool_shmem_size());
	size = add_size(size, scribe_cache_shmem_size());
	size = add_size(size, scribe_cache_flight_shmem_size());
	size = add_size(size, scribe_cache_stats_shmem_size());
	size = add_size(size, scribe_redis_shmem_size());
	size = add_size(size, scribe_rate_limit_shmem_size());
	size = add_size(size, scribe_policy_shmem_size());
	size = add_size(size, scribe_ocr_stats_shmem_size());
	return size;
}

/* Reserve our shared memory (shmem_request_hook) */
static void
scribe_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();

	RequestAddinShmemSpace(scribe_shmem_size());
	RequestNamedLWLockTranche(SCRIBE_LWLOCK_TRANCHE, SCRIBE_LWLOCK_COUNT);
}

/* Create or attach to every capability's shared state (shmem_startup_hook) */
static void
scribe_shmem_startup(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	scribe_lwlocks = GetNamedLWLockTranche(SCRIBE_LWLOCK_TRANCHE);
	scribe_launcher_shmem_init();
	scribe_queue_stats_shmem_init();
	scribe_pool_shmem_init();
	scribe_cache_shmem_init();
	scribe_cache_flight_shmem_init();
	scribe_cache_stats_shmem_init();
	scribe_redis_shmem_init();
	scribe_rate_limit_shmem_init();
	scribe_policy_shmem_init();
	scribe_ocr_stats_shmem_init();
	LWLockRelease(AddinShmemInitLock);
}

/* One of pg_scribe's LWLocks */
LWLock *
scribe_lwlock(ScribeLWLockId which)
{
	return &scribe_lwlocks[which].lock;
}

/* Chain our hooks in front of those already installed */
void
scribe_shmem_install_hooks(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = scribe_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = scribe_shmem_startup;
}
