/*
 * Shared memory of pg_scribe: one request at server start, sized by the sum
 * of what each capability needs, and one initialisation callback each.
 */
#ifndef SCRIBE_SHMEM_H
#define SCRIBE_SHMEM_H

#include "storage/lwlock.h"

#include "rate_limit/rate_limit.h"

/* The LWLocks of pg_scribe, one named tranche */
typedef enum ScribeLWLockId
{
	SCRIBE_LWLOCK_QUEUES,		/* allocation of queue statistics entries */
	SCRIBE_LWLOCK_POOL,			/* worker slots */
	SCRIBE_LWLOCK_RATE_LIMIT,	/* the first of the rate limiter's partitions */
	SCRIBE_LWLOCK_COUNT = SCRIBE_LWLOCK_RATE_LIMIT + SCRIBE_RATE_LIMIT_PARTITIONS
} ScribeLWLockId;

extern void scribe_shmem_install_hooks(void);
extern LWLock *scribe_lwlock(ScribeLWLockId which);

#endif							/* SCRIBE_SHMEM_H */
