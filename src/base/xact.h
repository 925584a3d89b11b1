/*
 * One transaction-callback dispatcher for all of pg_scribe.
 *
 * PostgreSQL calls its transaction callbacks newest first, so the order of
 * callbacks registered one by one depends on which capability a backend
 * happened to use first.  pg_scribe registers one callback (and one for
 * subtransactions) and calls the modules' callbacks in the order of their
 * phase, the same for every event (commit, abort, prepare, pre-commit...):
 *
 *   SCRIBE_XACT_PHASE_LOCAL     backend-local state (the queue cache forgets
 *                               scribe.queues changed by a transaction that
 *                               rolls back)
 *   SCRIBE_XACT_PHASE_STATS     shared counters applied or dropped (queue
 *                               statistics, OCR statistics): applied before
 *                               anyone is woken, so whoever wakes sees the
 *                               counts of the jobs it is woken for
 *   SCRIBE_XACT_PHASE_CACHE     the cache's second pass of deletes and
 *                               invalidations: before the wake-ups, so that
 *                               a worker woken for new work never reads a
 *                               value the commit replaced
 *   SCRIBE_XACT_PHASE_ANNOUNCE  the queue announces the jobs that became
 *                               ready (the pool wakes an idle worker or asks
 *                               the launcher for more)
 *   SCRIBE_XACT_PHASE_WAKE      the launcher's flags, then its latch: last
 *
 * Within a phase, callbacks run in the order they were registered.
 * Registering the same pair twice is a no-op, so a module may register on
 * first use (the callbacks then cost nothing to backends that never use it).
 */
#ifndef SCRIBE_XACT_H
#define SCRIBE_XACT_H

#include "access/xact.h"

typedef enum ScribeXactPhase
{
	SCRIBE_XACT_PHASE_LOCAL = 0,
	SCRIBE_XACT_PHASE_STATS,
	SCRIBE_XACT_PHASE_CACHE,
	SCRIBE_XACT_PHASE_ANNOUNCE,
	SCRIBE_XACT_PHASE_WAKE,
	SCRIBE_XACT_PHASES
} ScribeXactPhase;

/* Call xact (and subxact, if not NULL) in phase's turn at every transaction event */
extern void scribe_xact_register(ScribeXactPhase phase, XactCallback xact,
								 SubXactCallback subxact);

/*
 * Run fn(arg) in a subtransaction; returns NULL, or the ERROR's message
 * (in the caller's memory context) with its SQLSTATE in *sqlerrcode.
 */
extern char *scribe_subxact_try(void (*fn) (void *arg), void *arg, int *sqlerrcode);

#endif							/* SCRIBE_XACT_H */
