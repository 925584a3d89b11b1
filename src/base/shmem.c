/*
 * Shared memory of pg_scribe.
 *
 * Each capability that keeps state in shared memory registers its size and
 * its initialisation (from _PG_init); the server reserves the total once,
 * at start, and initialises them in the order registered.
 */
#include "base/pg_scribe.h"

#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"

#include "base/shmem.h"

#define SCRIBE_LWLOCK_TRANCHE "pg_scribe"

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
static LWLockPadded *scribe_lwlocks = NULL;

/* Users of shared memory: a fixed few */
#define SHMEM_MAX_USERS 16

static ScribeShmemSizeFn shmem_sizes[SHMEM_MAX_USERS];
static ScribeShmemInitFn shmem_inits[SHMEM_MAX_USERS];
static int	shmem_nusers = 0;

/* Add a user of shared memory (server start only) */
void
scribe_shmem_register(ScribeShmemSizeFn size, ScribeShmemInitFn init)
{
	if (shmem_nusers == SHMEM_MAX_USERS)
		elog(ERROR, "pg_scribe: too many users of shared memory");
	shmem_sizes[shmem_nusers] = size;
	shmem_inits[shmem_nusers] = init;
	shmem_nusers++;
}

/* Add up what every user registered needs */
static Size
scribe_shmem_size(void)
{
	Size		size = 0;

	for (int i = 0; i < shmem_nusers; i++)
		size = add_size(size, shmem_sizes[i]());
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
	for (int i = 0; i < shmem_nusers; i++)
		shmem_inits[i]();
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
