/*
 * Claims that wait: scribe.claim(..., wait => interval) sleeps on a
 * condition variable in shared memory until a transaction that made jobs of
 * its queue ready commits, or the next delayed job (or lease) of the queue
 * falls due, or the wait runs out.  No polling: a committing sender
 * broadcasts (base/xact.h, phase ANNOUNCE), after its commit is visible, so
 * the woken claim's fresh snapshot sees the jobs.
 *
 * Queues share a small fixed array of condition variables, hashed by queue
 * id: a broadcast for another queue of the same slot costs a waiter one
 * empty claim, never a lost wake-up.
 *
 * A claim's transaction that rolls back gives its jobs back at once: it
 * broadcasts too, at its abort (or at its commit, when only a
 * subtransaction that claimed rolled back).  And a waiting claim keeps no
 * lock of an empty look: FOR UPDATE SKIP LOCKED keeps the lock of a row it
 * locked and then found no longer claimable (another claim took it
 * meanwhile), and a waiting claim's transaction lasts as long as its wait,
 * so each look runs in a subtransaction, rolled back when it took nothing.
 */
#include "base/pg_scribe.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/condition_variable.h"
#include "storage/shmem.h"
#include "utils/resowner.h"
#include "utils/timestamp.h"

#include "base/spi_plans.h"
#include "base/xact.h"
#include "queue/queue.h"

/* Condition variables shared by all queues, hashed by queue id */
#define WAIT_SLOTS 64

/* Longest sleep at a time, and longest wait (about 35 years) */
#define MAX_SLEEP_MS (3600L * 1000L)
#define MAX_WAIT_US (INT64CONST(1) << 50)

typedef struct QueueWaitShared
{
	ConditionVariable slots[WAIT_SLOTS];
	/* broadcasts so far, per slot: a look that a broadcast overtook looks again */
	pg_atomic_uint64 broadcasts[WAIT_SLOTS];
} QueueWaitShared;

static QueueWaitShared *wait_shared = NULL;
static bool wait_registered = false;
static uint64 wake_slots = 0;	/* bit i: broadcast slot i at commit */
static uint64 claim_slots = 0;	/* bit i: broadcast slot i at abort (jobs claimed) */
static SPIPlanPtr plan_queue_next_due = NULL;

static void queue_wait_xact_callback(XactEvent event, void *arg);

/* Size of the waiters' condition variables */
Size
scribe_queue_wait_shmem_size(void)
{
	return sizeof(QueueWaitShared);
}

/* Create or attach to the waiters' condition variables */
void
scribe_queue_wait_shmem_init(void)
{
	bool		found;

	wait_shared = ShmemInitStruct("pg_scribe claim waiters", sizeof(QueueWaitShared), &found);
	if (!found)
		for (int i = 0; i < WAIT_SLOTS; i++)
		{
			ConditionVariableInit(&wait_shared->slots[i]);
			pg_atomic_init_u64(&wait_shared->broadcasts[i], 0);
		}
}

/* The slot of a queue */
static int
wait_slot(int32 queue_id)
{
	return (int) ((uint32) queue_id % WAIT_SLOTS);
}

/* Broadcast the condition variables of the slots set in bits */
static void
queue_wait_broadcast(uint64 bits)
{
	if (bits == 0 || wait_shared == NULL)
		return;
	for (int i = 0; i < WAIT_SLOTS; i++)
		if (bits & (UINT64CONST(1) << i))
		{
			pg_atomic_fetch_add_u64(&wait_shared->broadcasts[i], 1);
			ConditionVariableBroadcast(&wait_shared->slots[i]);
		}
}

/*
 * A subtransaction that claimed rolled back: its jobs are claimable again
 * once the transaction commits (conservatively, the claims of the whole
 * transaction so far)
 */
static void
queue_wait_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
							SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
		wake_slots |= claim_slots;
}

/* Register the transaction callbacks, once per backend */
static void
queue_wait_register(void)
{
	if (!wait_registered)
	{
		scribe_xact_register(SCRIBE_XACT_PHASE_ANNOUNCE, queue_wait_xact_callback, queue_wait_subxact_callback);
		wait_registered = true;
	}
}

/* Wake the waiting claims once the transaction commits (phase ANNOUNCE) */
static void
queue_wait_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			queue_wait_broadcast(wake_slots);
			wake_slots = claim_slots = 0;
			break;

		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			/* the jobs it claimed are claimable again */
			queue_wait_broadcast(claim_slots);
			wake_slots = claim_slots = 0;
			break;

		case XACT_EVENT_PREPARE:
			/* a prepared transaction's jobs: the waiter finds them at its next due time or wait's end */
			wake_slots = claim_slots = 0;
			break;

		default:
			break;
	}
}

/*
 * Wake the claims waiting on queue_id when the current transaction commits:
 * jobs of it became ready, or their due times changed
 */
void
scribe_queue_wake_at_commit(int32 queue_id)
{
	queue_wait_register();
	wake_slots |= UINT64CONST(1) << wait_slot(queue_id);
}

/* Wake the claims waiting on queue_id if the current transaction, which claimed jobs of it, rolls back */
void
scribe_queue_wake_at_abort(int32 queue_id)
{
	queue_wait_register();
	claim_slots |= UINT64CONST(1) << wait_slot(queue_id);
}

/*
 * One look of a waiting claim, in a subtransaction rolled back when it took
 * and dead-lettered nothing, so that an empty look keeps no row lock
 * (inside SPI)
 */
static int
queue_wait_look(const ScribeQueue *queue, int n, int64 lease_us, int32 claimed_by, ScribeJob **jobs)
{
	MemoryContext caller = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	int			count = 0;
	int			touched = 0;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(caller);
	PG_TRY();
	{
		count = scribe_queue_claim_jobs(queue, n, lease_us, claimed_by, jobs, &touched);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(caller);
		RollbackAndReleaseCurrentSubTransaction();
		CurrentResourceOwner = owner;
		PG_RE_THROW();
	}
	PG_END_TRY();
	if (touched > 0)
		ReleaseCurrentSubTransaction();
	else
		RollbackAndReleaseCurrentSubTransaction();
	MemoryContextSwitchTo(caller);
	CurrentResourceOwner = owner;
	return count;
}

/*
 * When the queue's next job becomes claimable after now: the earliest
 * delayed job or running lease (0: none; inside SPI).  Not read-only: SPI
 * then takes a fresh snapshot, which sees the jobs sent since the claim began.
 */
static TimestampTz
queue_next_due(int32 queue_id, TimestampTz now)
{
	Oid			argtypes[2] = {INT4OID, TIMESTAMPTZOID};
	Datum		values[2];
	bool		isnull;
	Datum		d;

	values[0] = Int32GetDatum(queue_id);
	values[1] = TimestampTzGetDatum(now);
	scribe_plan_execute(&plan_queue_next_due,
						"SELECT min(COALESCE(lease_until, run_at)) FROM scribe.jobs "
						"WHERE queue_id = $1 AND (lease_until > $2 OR (lease_until IS NULL AND run_at > $2))",
						2, argtypes, values, NULL, false, 1);
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	SPI_freetuptable(SPI_tuptable);
	return isnull ? 0 : DatumGetTimestampTz(d);
}

/*
 * Claim up to n ready jobs, waiting up to wait_us for the first (inside SPI,
 * as the owner, READ COMMITTED: each try's query takes a fresh snapshot).
 * Returns how many, as scribe_queue_claim_jobs.
 */
int
scribe_queue_claim_wait(const ScribeQueue *queue, int n, int64 lease_us, int32 claimed_by,
						int64 wait_us, ScribeJob **jobs)
{
	ConditionVariable *cv;
	pg_atomic_uint64 *broadcasts;
	TimestampTz deadline;
	int			count;

	if (wait_shared == NULL)
		elog(ERROR, "pg_scribe: the claim waiters' shared memory is missing");
	/* a wait of centuries is forever, without overflowing the clock */
	deadline = GetCurrentTimestamp() + Min(wait_us, MAX_WAIT_US);
	cv = &wait_shared->slots[wait_slot(queue->queue_id)];

	broadcasts = &wait_shared->broadcasts[wait_slot(queue->queue_id)];
	for (;;)
	{
		uint64		seen;
		TimestampTz now;
		TimestampTz due;
		long		timeout_ms;

		/* the broadcasts before the look's snapshot: a later one must not be missed */
		seen = pg_atomic_read_u64(broadcasts);
		pg_memory_barrier();
		count = queue_wait_look(queue, n, lease_us, claimed_by, jobs);
		if (count > 0)
			break;
		/* a wait may wake many times for other queues of its slot: keep nothing of the empty looks */
		pfree(*jobs);
		now = GetCurrentTimestamp();
		if (now >= deadline)
			break;
		due = queue_next_due(queue->queue_id, now);
		if (due == 0 || due > deadline)
			due = deadline;
		/*
		 * round up: waking a millisecond early would only sleep again; at
		 * most an hour at a time, since the latch wait takes an int of ms
		 */
		timeout_ms = (long) Min((due - now + 999) / 1000, MAX_SLEEP_MS);

		/*
		 * On the wait list, then sleep unless a commit broadcast since the
		 * look began (its jobs may be newer than the look's snapshot).  The
		 * look's subtransaction ended any earlier place on the list.
		 */
		ConditionVariablePrepareToSleep(cv);
		pg_memory_barrier();
		if (pg_atomic_read_u64(broadcasts) != seen)
			continue;
		(void) ConditionVariableTimedSleep(cv, Max(timeout_ms, 1), PG_WAIT_EXTENSION);
	}
	ConditionVariableCancelSleep();
	if (count == 0)
		*jobs = palloc0(sizeof(ScribeJob));
	return count;
}
