/*
 * Queue statistics in shared memory.
 *
 * Each queue has an entry with its counters (jobs in scribe.jobs, jobs in
 * flight, completed, failed, dead) and histograms of wait time (ready to
 * claimed) and run time (claimed to acked): totals since server start for
 * monitoring, and one-minute slots for the percentiles of recent windows.
 *
 * Backends record changes in a pending list that follows subtransactions;
 * the commit applies it, a rollback drops it.  The launcher reconciles the
 * job counters with an exact count (queue_recount.c).
 */
#include "base/pg_scribe.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "queue/queue.h"
#include "queue/queue_stats.h"
#include "queue/queue_stats_internal.h"
#include "base/shmem.h"
#include "base/wakeup.h"
#include "base/xact.h"
#include "base/spi_plans.h"

/* What a transaction changed in one queue, at one subtransaction level */
typedef struct PendingStats
{
	int32		queue_id;
	int			level;
	int64		jobs;
	int64		in_flight;
	uint32		completed;
	uint32		failed;
	uint32		dead;
	bool		recount;
	double		wait_sum;
	double		run_sum;
	uint32		wait[SCRIBE_HIST_BUCKETS];
	uint32		run[SCRIBE_HIST_BUCKETS];
	int			nkinds;
	ScribeKindCounts kinds[SCRIBE_STATS_KINDS];
} PendingStats;

int			scribe_max_queues = 64;

QueueShared *scribe_queue_shared = NULL;
static List *pending_stats = NIL;
static bool pending_version_bump = false;
static bool stats_callbacks_registered = false;

/* Define the statistics GUCs */
void
scribe_queue_stats_define_gucs(void)
{
	DefineCustomIntVariable("scribe.max_queues",
							"Queues whose statistics are kept in shared memory.",
							"Queues beyond this number still work; scribe.queue_stats() counts their jobs the slow way.",
							&scribe_max_queues,
							64, 1, 10000,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);
}

/* Shared memory for the statistics of scribe.max_queues queues */
Size
scribe_queue_stats_shmem_size(void)
{
	return add_size(offsetof(QueueShared, entries),
					mul_size(scribe_max_queues, sizeof(QueueStatsEntry)));
}

/* Create or attach to the statistics */
void
scribe_queue_stats_shmem_init(void)
{
	bool		found;

	scribe_queue_shared = ShmemInitStruct("pg_scribe queues", scribe_queue_stats_shmem_size(), &found);
	if (!found)
	{
		memset(scribe_queue_shared, 0, scribe_queue_stats_shmem_size());
		pg_atomic_init_u64(&scribe_queue_shared->version, 1);
		pg_atomic_init_u64(&scribe_queue_shared->churn, 0);
		SpinLockInit(&scribe_queue_shared->mutex);
		scribe_queue_shared->max_queues = scribe_max_queues;
		for (int i = 0; i < scribe_max_queues; i++)
		{
			SpinLockInit(&scribe_queue_shared->entries[i].mutex);
			scribe_queue_shared->entries[i].needs_recount = true;
		}
	}
}

/* Version of scribe.queues as committed */
uint64
scribe_queue_version(void)
{
	return scribe_queue_shared ? pg_atomic_read_u64(&scribe_queue_shared->version) : 0;
}

/* Tell every backend that scribe.queues changed */
void
scribe_queue_version_bump(void)
{
	if (scribe_queue_shared)
		pg_atomic_fetch_add_u64(&scribe_queue_shared->version, 1);
}

/* Minutes since the PostgreSQL epoch */
static int64
minute_of(TimestampTz t)
{
	return t / USECS_PER_MINUTE;
}

/* The counters of a kind in an array of them, added if new (the last one counts the others) */
static ScribeKindCounts *
kind_counts(ScribeKindCounts *kinds, int *nkinds, const char *kind)
{
	ScribeKindCounts *k;

	if (kind == NULL)
		kind = "";
	for (int i = 0; i < *nkinds; i++)
	{
		if (strcmp(kinds[i].kind, kind) == 0)
			return &kinds[i];
	}
	if (*nkinds < SCRIBE_STATS_KINDS - 1 && strlen(kind) < NAMEDATALEN)
		k = &kinds[(*nkinds)++];
	else
	{
		k = &kinds[SCRIBE_STATS_KINDS - 1];
		if (*nkinds == SCRIBE_STATS_KINDS)
			return k;
		*nkinds = SCRIBE_STATS_KINDS;
		kind = "other";
	}
	memset(k, 0, sizeof(*k));
	strlcpy(k->kind, kind, NAMEDATALEN);
	return k;
}

/* The entry of a queue; NULL when there is none and create is false or no room */
QueueStatsEntry *
scribe_queue_stats_entry(int32 queue_id, bool create)
{
	QueueStatsEntry *free_entry = NULL;

	if (scribe_queue_shared == NULL || queue_id <= 0)
		return NULL;

	for (int i = 0; i < scribe_queue_shared->max_queues; i++)
	{
		if (scribe_queue_shared->entries[i].queue_id == queue_id)
			return &scribe_queue_shared->entries[i];
	}
	if (!create)
		return NULL;

	/* allocate under the lock, so that two backends do not take two entries */
	LWLockAcquire(scribe_lwlock(SCRIBE_LWLOCK_QUEUES), LW_EXCLUSIVE);
	for (int i = 0; i < scribe_queue_shared->max_queues; i++)
	{
		QueueStatsEntry *e = &scribe_queue_shared->entries[i];

		if (e->queue_id == queue_id)
		{
			free_entry = e;
			break;
		}
		if (e->queue_id == 0 && free_entry == NULL)
			free_entry = e;
	}
	if (free_entry != NULL && free_entry->queue_id != queue_id)
	{
		SpinLockAcquire(&free_entry->mutex);
		memset(((char *) free_entry) + offsetof(QueueStatsEntry, queue_id), 0,
			   sizeof(QueueStatsEntry) - offsetof(QueueStatsEntry, queue_id));
		free_entry->needs_recount = true;
		free_entry->queue_id = queue_id;
		SpinLockRelease(&free_entry->mutex);
	}
	LWLockRelease(scribe_lwlock(SCRIBE_LWLOCK_QUEUES));
	return free_entry;
}

/* Forget a dropped queue's entry */
void
scribe_queue_stats_forget(int32 queue_id)
{
	QueueStatsEntry *e = scribe_queue_stats_entry(queue_id, false);

	if (e == NULL)
		return;
	LWLockAcquire(scribe_lwlock(SCRIBE_LWLOCK_QUEUES), LW_EXCLUSIVE);
	SpinLockAcquire(&e->mutex);
	if (e->queue_id == queue_id)
		e->queue_id = 0;
	SpinLockRelease(&e->mutex);
	LWLockRelease(scribe_lwlock(SCRIBE_LWLOCK_QUEUES));
}

/* The slot of the current minute in an entry, cleared if it held an older one */
static StatsSlot *
entry_slot(QueueStatsEntry *e, int64 minute)
{
	StatsSlot  *slot = &e->slots[minute % SCRIBE_STATS_MINUTES];

	if (slot->minute != minute)
	{
		memset(slot, 0, sizeof(*slot));
		slot->minute = minute;
	}
	return slot;
}

/* Add a committed transaction's changes to the shared entry */
static void
entry_apply(PendingStats *p, int64 minute)
{
	QueueStatsEntry *e = scribe_queue_stats_entry(p->queue_id, true);
	StatsSlot  *slot;

	if (e == NULL)
		return;

	SpinLockAcquire(&e->mutex);
	if (e->queue_id != p->queue_id)
	{
		SpinLockRelease(&e->mutex);
		return;
	}
	e->applied++;
	e->jobs += p->jobs;
	e->in_flight += p->in_flight;
	e->completed += p->completed;
	e->failed += p->failed;
	e->dead += p->dead;
	e->wait_sum += p->wait_sum;
	e->run_sum += p->run_sum;
	if (p->recount)
		e->needs_recount = true;
	for (int k = 0; k < p->nkinds; k++)
	{
		ScribeKindCounts *counts = kind_counts(e->kinds, &e->nkinds, p->kinds[k].kind);

		counts->completed += p->kinds[k].completed;
		counts->failed += p->kinds[k].failed;
		counts->dead += p->kinds[k].dead;
	}
	slot = entry_slot(e, minute);
	slot->completed += p->completed;
	slot->failed += p->failed;
	if (p->completed > 0)
	{
		for (int i = 0; i < SCRIBE_HIST_BUCKETS; i++)
		{
			e->wait_total[i] += p->wait[i];
			e->run_total[i] += p->run[i];
			slot->wait[i] += p->wait[i];
			slot->run[i] += p->run[i];
		}
	}
	SpinLockRelease(&e->mutex);
}

/*
 * Apply a committed transaction's pending changes to shared memory.  It runs
 * in the dispatcher's STATS phase, before the ANNOUNCE and WAKE phases, so
 * that a woken launcher or worker sees the counts of the jobs it was woken
 * for.
 */
static void
queue_stats_at_commit(void)
{
	ListCell   *lc;
	bool		recount = false;
	int64		minute;
	uint64		churn = 0;

	if (pending_stats == NIL && !pending_version_bump)
		return;

	minute = minute_of(GetCurrentTimestamp());
	foreach(lc, pending_stats)
	{
		PendingStats *p = lfirst(lc);

		entry_apply(p, minute);
		recount |= p->recount;
		churn += p->completed + p->failed;
	}
	if (pending_version_bump)
		scribe_queue_version_bump();

	/* crossing the vacuum threshold: the launcher should look */
	if (churn > 0)
	{
		uint64		before = pg_atomic_fetch_add_u64(&scribe_queue_shared->churn, churn);

		if (before < SCRIBE_VACUUM_MIN_CHURN && before + churn >= SCRIBE_VACUUM_MIN_CHURN)
			recount = true;
	}
	if (recount || pending_version_bump)
		scribe_launcher_wake();
	pending_stats = NIL;
	pending_version_bump = false;
}

/* Apply or drop the pending changes as the transaction ends */
static void
stats_xact_callback(XactEvent event, void *arg)
{
	ListCell   *lc;

	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			queue_stats_at_commit();
			break;

		case XACT_EVENT_PREPARE:
			/* applied by COMMIT PREPARED in another session: recount instead */
			foreach(lc, pending_stats)
			{
				QueueStatsEntry *e = scribe_queue_stats_entry(((PendingStats *) lfirst(lc))->queue_id, false);

				if (e != NULL)
					e->needs_recount = true;
			}
			pending_stats = NIL;
			pending_version_bump = false;
			break;

		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			pending_stats = NIL;
			pending_version_bump = false;
			break;

		default:
			break;
	}
}

/* Merge a subtransaction's changes into its parent's, or drop them */
static void
stats_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					   SubTransactionId parentSubid, void *arg)
{
	int			level = GetCurrentTransactionNestLevel();
	ListCell   *lc;

	if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		foreach(lc, pending_stats)
		{
			if (((PendingStats *) lfirst(lc))->level >= level)
				pending_stats = foreach_delete_current(pending_stats, lc);
		}
	}
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
	{
		foreach(lc, pending_stats)
		{
			PendingStats *p = lfirst(lc);

			if (p->level >= level)
				p->level = level - 1;
		}
	}
}

/* The pending changes of a queue at the current level, created on first use */
static PendingStats *
pending_for(int32 queue_id)
{
	int			level = GetCurrentTransactionNestLevel();
	ListCell   *lc;
	PendingStats *p;
	MemoryContext old;

	if (!stats_callbacks_registered)
	{
		scribe_xact_register(SCRIBE_XACT_PHASE_STATS, stats_xact_callback, stats_subxact_callback);
		stats_callbacks_registered = true;
	}

	foreach(lc, pending_stats)
	{
		p = lfirst(lc);
		if (p->queue_id == queue_id && p->level == level)
			return p;
	}

	old = MemoryContextSwitchTo(TopTransactionContext);
	p = palloc0(sizeof(PendingStats));
	p->queue_id = queue_id;
	p->level = level;
	pending_stats = lappend(pending_stats, p);
	MemoryContextSwitchTo(old);
	return p;
}

/* Count jobs added to (or removed from) a queue and in flight, at commit */
void
scribe_queue_stats_count(int32 queue_id, int64 jobs, int64 in_flight)
{
	PendingStats *p = pending_for(queue_id);

	p->jobs += jobs;
	p->in_flight += in_flight;
}

/* Record an acked job's wait and run times, at commit */
void
scribe_queue_stats_finished(int32 queue_id, const char *kind, TimestampTz run_at,
							TimestampTz claimed_at, TimestampTz finished_at)
{
	PendingStats *p = pending_for(queue_id);
	int64		wait_us = scribe_queue_elapsed_us(run_at, claimed_at);
	int64		run_us = scribe_queue_elapsed_us(claimed_at, finished_at);

	p->completed++;
	kind_counts(p->kinds, &p->nkinds, kind)->completed++;
	p->wait[scribe_queue_hist_bucket(wait_us)]++;
	p->run[scribe_queue_hist_bucket(run_us)]++;
	p->wait_sum += wait_us / 1e6;
	p->run_sum += run_us / 1e6;
}

/* Record a failed attempt (nack), and whether the job went to the dead letters */
void
scribe_queue_stats_failed(int32 queue_id, const char *kind, bool dead)
{
	PendingStats *p = pending_for(queue_id);
	ScribeKindCounts *counts = kind_counts(p->kinds, &p->nkinds, kind);

	p->failed++;
	counts->failed++;
	if (dead)
	{
		p->dead++;
		counts->dead++;
	}
}

/* Ask for an exact recount of a queue once the transaction commits */
void
scribe_queue_stats_recount_at_commit(int32 queue_id)
{
	pending_for(queue_id)->recount = true;
}

/* Note that scribe.queues changed: bump the version at commit */
void
scribe_queue_changed_at_commit(void)
{
	(void) pending_for(0);
	pending_version_bump = true;
}

/* The job counters of a queue; false when it has no entry (zeros) or needs a recount */
bool
scribe_queue_stats_counters(int32 queue_id, int64 *jobs, int64 *in_flight)
{
	QueueStatsEntry *e = scribe_queue_stats_entry(queue_id, false);
	bool		valid;

	*jobs = *in_flight = 0;
	if (e == NULL)
		return false;
	SpinLockAcquire(&e->mutex);
	valid = e->queue_id == queue_id && !e->needs_recount;
	*jobs = e->jobs;
	*in_flight = e->in_flight;
	SpinLockRelease(&e->mutex);
	return valid;
}

/* Rows of scribe.jobs finished or failed since the last vacuum (minus `done`) */
uint64
scribe_queue_churn(uint64 done)
{
	if (done > 0)
		return pg_atomic_sub_fetch_u64(&scribe_queue_shared->churn, done);
	return pg_atomic_read_u64(&scribe_queue_shared->churn);
}

/* Jobs in scribe.jobs, all queues with statistics together */
int64
scribe_queue_stats_total_jobs(void)
{
	int64		total = 0;

	for (int i = 0; i < scribe_queue_shared->max_queues; i++)
	{
		QueueStatsEntry *e = &scribe_queue_shared->entries[i];

		SpinLockAcquire(&e->mutex);
		if (e->queue_id != 0)
			total += Max(e->jobs, 0);
		SpinLockRelease(&e->mutex);
	}
	return total;
}

/* Earliest run_at of a delayed job in a workers queue (0 if none known) */
TimestampTz
scribe_queue_next_due(void)
{
	TimestampTz when;

	SpinLockAcquire(&scribe_queue_shared->mutex);
	when = scribe_queue_shared->next_due;
	SpinLockRelease(&scribe_queue_shared->mutex);
	return when;
}

/* Lower the next due time to when; true if it moved (the launcher must know) */
bool
scribe_queue_next_due_lower(TimestampTz when)
{
	bool		lowered = false;

	if (scribe_queue_shared == NULL)
		return false;
	SpinLockAcquire(&scribe_queue_shared->mutex);
	if (scribe_queue_shared->next_due == 0 || when < scribe_queue_shared->next_due)
	{
		scribe_queue_shared->next_due = when;
		lowered = true;
	}
	SpinLockRelease(&scribe_queue_shared->mutex);
	return lowered;
}

/* Set the next due time (the launcher, after looking it up) */
void
scribe_queue_next_due_set(TimestampTz when)
{
	SpinLockAcquire(&scribe_queue_shared->mutex);
	scribe_queue_shared->next_due = when;
	SpinLockRelease(&scribe_queue_shared->mutex);
}

/* A queue's totals since server start (or since its entry was made); false if it has none */
bool
scribe_queue_stats_totals(int32 queue_id, ScribeQueueTotals *totals)
{
	QueueStatsEntry *e = scribe_queue_stats_entry(queue_id, false);
	bool		found = false;

	memset(totals, 0, sizeof(*totals));
	if (e == NULL)
		return false;
	SpinLockAcquire(&e->mutex);
	if (e->queue_id == queue_id)
	{
		found = true;
		totals->completed = e->completed;
		totals->wait_sum = e->wait_sum;
		totals->run_sum = e->run_sum;
		memcpy(totals->wait, e->wait_total, sizeof(totals->wait));
		memcpy(totals->run, e->run_total, sizeof(totals->run));
		totals->nkinds = e->nkinds;
		memcpy(totals->kinds, e->kinds, sizeof(ScribeKindCounts) * e->nkinds);
	}
	SpinLockRelease(&e->mutex);
	return found;
}

/*
 * Sum a queue's one-minute slots of the last `minutes` minutes: completed and
 * failed attempts, and the wait and run histograms.  False if it has no entry.
 */
bool
scribe_queue_stats_window(int32 queue_id, int minutes, uint64 *completed, uint64 *failed,
						  uint64 *wait, uint64 *run)
{
	QueueStatsEntry *e = scribe_queue_stats_entry(queue_id, false);
	int64		now_minute = minute_of(GetCurrentTimestamp());

	*completed = *failed = 0;
	memset(wait, 0, sizeof(uint64) * SCRIBE_HIST_BUCKETS);
	memset(run, 0, sizeof(uint64) * SCRIBE_HIST_BUCKETS);
	if (e == NULL)
		return false;

	SpinLockAcquire(&e->mutex);
	for (int s = 0; s < SCRIBE_STATS_MINUTES; s++)
	{
		StatsSlot  *slot = &e->slots[s];

		if (e->queue_id == queue_id && slot->minute > now_minute - minutes && slot->minute <= now_minute)
		{
			*completed += slot->completed;
			*failed += slot->failed;
			for (int i = 0; i < SCRIBE_HIST_BUCKETS; i++)
			{
				wait[i] += slot->wait[i];
				run[i] += slot->run[i];
			}
		}
	}
	SpinLockRelease(&e->mutex);
	return true;
}
