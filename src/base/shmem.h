/*
 * Shared memory of pg_scribe: one request at server start, sized by the sum
 * of what each capability registered, and one initialisation callback each
 * (registered by _PG_init, src/pg_scribe.c); one tranche of LWLocks.
 */
#ifndef SCRIBE_SHMEM_H
#define SCRIBE_SHMEM_H

#include "storage/lwlock.h"

/* Partitions of the rate limiter, one LWLock each */
#define SCRIBE_LWLOCK_RATE_LIMIT_PARTITIONS 16

/* The LWLocks of pg_scribe, one named tranche */
typedef enum ScribeLWLockId
{
	SCRIBE_LWLOCK_QUEUES,		/* allocation of queue statistics entries */
	SCRIBE_LWLOCK_POOL,			/* worker slots */
	SCRIBE_LWLOCK_RATE_LIMIT,	/* the first of the rate limiter's partitions */
	SCRIBE_LWLOCK_COUNT = SCRIBE_LWLOCK_RATE_LIMIT + SCRIBE_LWLOCK_RATE_LIMIT_PARTITIONS
} ScribeLWLockId;

typedef Size (*ScribeShmemSizeFn) (void);
typedef void (*ScribeShmemInitFn) (void);

extern void scribe_shmem_register(ScribeShmemSizeFn size, ScribeShmemInitFn init);
extern void scribe_shmem_install_hooks(void);
extern LWLock *scribe_lwlock(ScribeLWLockId which);

#endif							/* SCRIBE_SHMEM_H */
