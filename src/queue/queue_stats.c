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
 * job counters with an exact count every few minutes, after a restart, and
 * after a bulk change (purge, requeue, drop) asks for it.
 */
#include "pg_scribe.h"

#include <math.h>

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "launcher/launcher.h"
#include "queue/queue.h"
#include "queue/queue_stats.h"
#include "shmem.h"
#include "spi_plans.h"

/* How often the launcher recounts every queue */
#define RECONCILE_INTERVAL_MS (5 * 60 * 1000)

typedef struct StatsSlot
{
	int64		minute;			/* minutes since 2000-01-01; which minute this is */
	uint32		completed;
	uint32		failed;
	uint32		wait[SCRIBE_HIST_BUCKETS];
	uint32		run[SCRIBE_HIST_BUCKETS];
} StatsSlot;

typedef struct QueueStatsEntry
{
	slock_t		mutex;
	int32		queue_id;		/* 0: free */
	bool		needs_recount;
	int64		jobs;			/* rows in scribe.jobs */
	int64		in_flight;		/* claimed, not yet acked, nacked or released */
	uint64		completed;
	uint64		failed;
	uint64		dead;
	double		wait_sum;		/* seconds */
	double		run_sum;
	uint64		wait_total[SCRIBE_HIST_BUCKETS];
	uint64		run_total[SCRIBE_HIST_BUCKETS];
	StatsSlot	slots[SCRIBE_STATS_MINUTES];
} QueueStatsEntry;

typedef struct QueueShared
{
	pg_atomic_uint64 version;
	slock_t		mutex;			/* next_due, last_reconcile */
	TimestampTz next_due;
	TimestampTz last_reconcile;
	int			max_queues;
	QueueStatsEntry entries[FLEXIBLE_ARRAY_MEMBER];
} QueueShared;

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
} PendingStats;

int			scribe_max_queues = 64;

static QueueShared *queue_shared = NULL;
static List *pending_stats = NIL;
static bool pending_version_bump = false;
static bool stats_callbacks_registered = false;

static SPIPlanPtr plan_count_all = NULL;
static SPIPlanPtr plan_count_one = NULL;
static SPIPlanPtr plan_delayed = NULL;
static SPIPlanPtr plan_dead = NULL;
static SPIPlanPtr plan_oldest = NULL;
static SPIPlanPtr plan_list = NULL;

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

	queue_shared = ShmemInitStruct("pg_scribe queues", scribe_queue_stats_shmem_size(), &found);
	if (!found)
	{
		memset(queue_shared, 0, scribe_queue_stats_shmem_size());
		pg_atomic_init_u64(&queue_shared->version, 1);
		SpinLockInit(&queue_shared->mutex);
		queue_shared->max_queues = scribe_max_queues;
		for (int i = 0; i < scribe_max_queues; i++)
		{
			SpinLockInit(&queue_shared->entries[i].mutex);
			queue_shared->entries[i].needs_recount = true;
		}
	}
}

/* Version of scribe.queues as committed */
uint64
scribe_queue_version(void)
{
	return queue_shared ? pg_atomic_read_u64(&queue_shared->version) : 0;
}

/* Tell every backend that scribe.queues changed */
void
scribe_queue_version_bump(void)
{
	if (queue_shared)
		pg_atomic_fetch_add_u64(&queue_shared->version, 1);
}

/* Minutes since the PostgreSQL epoch */
static int64
minute_of(TimestampTz t)
{
	return t / USECS_PER_MINUTE;
}

/* Histogram bucket of a duration in microseconds */
static int
hist_bucket(int64 us)
{
	int			i;

	if (us <= 100)
		return 0;
	i = (int) ceil(2.0 * log2((double) us / 100.0));
	return Min(i, SCRIBE_HIST_BUCKETS - 1);
}

/* Upper bound of a histogram bucket, in microseconds */
static double
hist_bound(int i)
{
	return 100.0 * pow(2.0, i / 2.0);
}

/* The entry of a queue; NULL when there is none and create is false or no room */
static QueueStatsEntry *
entry_find(int32 queue_id, bool create)
{
	QueueStatsEntry *free_entry = NULL;

	if (queue_shared == NULL || queue_id <= 0)
		return NULL;

	for (int i = 0; i < queue_shared->max_queues; i++)
	{
		if (queue_shared->entries[i].queue_id == queue_id)
			return &queue_shared->entries[i];
	}
	if (!create)
		return NULL;

	/* allocate under the lock, so that two backends do not take two entries */
	LWLockAcquire(scribe_lwlock(SCRIBE_LWLOCK_QUEUES), LW_EXCLUSIVE);
	for (int i = 0; i < queue_shared->max_queues; i++)
	{
		QueueStatsEntry *e = &queue_shared->entries[i];

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
	QueueStatsEntry *e = entry_find(queue_id, false);

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
	QueueStatsEntry *e = entry_find(p->queue_id, true);
	StatsSlot  *slot;

	if (e == NULL)
		return;

	SpinLockAcquire(&e->mutex);
	if (e->queue_id != p->queue_id)
	{
		SpinLockRelease(&e->mutex);
		return;
	}
	e->jobs += p->jobs;
	e->in_flight += p->in_flight;
	e->completed += p->completed;
	e->failed += p->failed;
	e->dead += p->dead;
	e->wait_sum += p->wait_sum;
	e->run_sum += p->run_sum;
	if (p->recount)
		e->needs_recount = true;
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

/* Apply or drop the pending changes as the transaction ends */
static void
stats_xact_callback(XactEvent event, void *arg)
{
	ListCell   *lc;
	bool		recount = false;

	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			{
				int64		minute = minute_of(GetCurrentTimestamp());

				foreach(lc, pending_stats)
				{
					PendingStats *p = lfirst(lc);

					entry_apply(p, minute);
					recount |= p->recount;
				}
				if (pending_version_bump)
					scribe_queue_version_bump();
				if (recount || pending_version_bump)
					scribe_launcher_wake();
			}
			break;

		case XACT_EVENT_PREPARE:
			/* applied by COMMIT PREPARED in another session: recount instead */
			foreach(lc, pending_stats)
			{
				QueueStatsEntry *e = entry_find(((PendingStats *) lfirst(lc))->queue_id, false);

				if (e != NULL)
					e->needs_recount = true;
			}
			break;

		default:
			return;
	}
	pending_stats = NIL;
	pending_version_bump = false;
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
		RegisterXactCallback(stats_xact_callback, NULL);
		RegisterSubXactCallback(stats_subxact_callback, NULL);
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
scribe_queue_stats_finished(int32 queue_id, TimestampTz run_at, TimestampTz claimed_at,
							TimestampTz finished_at)
{
	PendingStats *p = pending_for(queue_id);
	int64		wait_us = Max(claimed_at - run_at, 0);
	int64		run_us = Max(finished_at - claimed_at, 0);

	p->completed++;
	p->wait[hist_bucket(wait_us)]++;
	p->run[hist_bucket(run_us)]++;
	p->wait_sum += wait_us / 1e6;
	p->run_sum += run_us / 1e6;
}

/* Record a failed attempt (nack), and whether the job went to the dead letters */
void
scribe_queue_stats_failed(int32 queue_id, bool dead)
{
	PendingStats *p = pending_for(queue_id);

	p->failed++;
	if (dead)
		p->dead++;
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

/* The job counters of a queue; false when it has no entry or needs a recount */
bool
scribe_queue_stats_counters(int32 queue_id, int64 *jobs, int64 *in_flight)
{
	QueueStatsEntry *e = entry_find(queue_id, false);
	bool		valid;

	if (e == NULL)
		return false;
	SpinLockAcquire(&e->mutex);
	valid = e->queue_id == queue_id && !e->needs_recount;
	*jobs = e->jobs;
	*in_flight = e->in_flight;
	SpinLockRelease(&e->mutex);
	return valid;
}

/* Set a queue's job counters from an exact count */
static void
entry_set_counts(int32 queue_id, int64 jobs, int64 in_flight)
{
	QueueStatsEntry *e = entry_find(queue_id, true);

	if (e == NULL)
		return;
	SpinLockAcquire(&e->mutex);
	if (e->queue_id == queue_id)
	{
		e->jobs = jobs;
		e->in_flight = in_flight;
		e->needs_recount = false;
	}
	SpinLockRelease(&e->mutex);
}

/* Count one queue's jobs exactly and store the counts (inside SPI) */
static void
recount_queue(int32 queue_id, int64 *jobs, int64 *in_flight)
{
	Oid			argtypes[1] = {INT4OID};
	Datum		values[1] = {Int32GetDatum(queue_id)};
	bool		isnull;

	scribe_plan_execute(&plan_count_one,
						"SELECT count(*), count(lease_until) FROM scribe.jobs WHERE queue_id = $1",
						1, argtypes, values, NULL, true, 1);
	*jobs = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	*in_flight = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	entry_set_counts(queue_id, *jobs, *in_flight);
}

/*
 * Recount the queues that need it, or all of them when all is set or the
 * interval has passed (inside SPI).  Returns when the next full recount is due.
 */
TimestampTz
scribe_queue_stats_reconcile(TimestampTz now, bool all)
{
	TimestampTz last;

	SpinLockAcquire(&queue_shared->mutex);
	last = queue_shared->last_reconcile;
	SpinLockRelease(&queue_shared->mutex);

	if (all || TimestampDifferenceExceeds(last, now, RECONCILE_INTERVAL_MS))
	{
		/* one pass over the hot table; queues without jobs count zero */
		scribe_plan_execute(&plan_count_all,
							"SELECT q.queue_id, count(j.queue_id), count(j.lease_until) "
							"FROM scribe.queues q LEFT JOIN scribe.jobs j USING (queue_id) "
							"GROUP BY q.queue_id",
							0, NULL, NULL, NULL, true, 0);
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			HeapTuple	tuple = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		isnull;

			entry_set_counts(DatumGetInt32(SPI_getbinval(tuple, desc, 1, &isnull)),
							 DatumGetInt64(SPI_getbinval(tuple, desc, 2, &isnull)),
							 DatumGetInt64(SPI_getbinval(tuple, desc, 3, &isnull)));
		}
		/* entries of dropped queues */
		for (int e = 0; e < queue_shared->max_queues; e++)
		{
			int32		queue_id = queue_shared->entries[e].queue_id;
			bool		exists = false;

			for (uint64 i = 0; i < SPI_processed && queue_id != 0 && !exists; i++)
			{
				bool		isnull;

				exists = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull)) == queue_id;
			}
			if (queue_id != 0 && !exists)
				scribe_queue_stats_forget(queue_id);
		}
		SpinLockAcquire(&queue_shared->mutex);
		queue_shared->last_reconcile = now;
		SpinLockRelease(&queue_shared->mutex);
		last = now;
	}
	else
	{
		for (int i = 0; i < queue_shared->max_queues; i++)
		{
			QueueStatsEntry *e = &queue_shared->entries[i];
			int64		jobs,
						in_flight;

			if (e->queue_id != 0 && e->needs_recount)
				recount_queue(e->queue_id, &jobs, &in_flight);
		}
	}
	return TimestampTzPlusMilliseconds(last, RECONCILE_INTERVAL_MS);
}

/* Earliest run_at of a delayed job in a workers queue (0 if none known) */
TimestampTz
scribe_queue_next_due(void)
{
	TimestampTz when;

	SpinLockAcquire(&queue_shared->mutex);
	when = queue_shared->next_due;
	SpinLockRelease(&queue_shared->mutex);
	return when;
}

/* Lower the next due time to when; true if it moved (the launcher must know) */
bool
scribe_queue_next_due_lower(TimestampTz when)
{
	bool		lowered = false;

	if (queue_shared == NULL)
		return false;
	SpinLockAcquire(&queue_shared->mutex);
	if (queue_shared->next_due == 0 || when < queue_shared->next_due)
	{
		queue_shared->next_due = when;
		lowered = true;
	}
	SpinLockRelease(&queue_shared->mutex);
	return lowered;
}

/* Set the next due time (the launcher, after looking it up) */
void
scribe_queue_next_due_set(TimestampTz when)
{
	SpinLockAcquire(&queue_shared->mutex);
	queue_shared->next_due = when;
	SpinLockRelease(&queue_shared->mutex);
}

/* A percentile of a histogram, interpolated inside its bucket; NULL if empty */
static Datum
hist_percentile(const uint64 *hist, uint64 total, double fraction, bool *isnull)
{
	double		rank = fraction * total;
	uint64		seen = 0;
	Interval   *result;

	*isnull = (total == 0);
	if (total == 0)
		return (Datum) 0;

	for (int i = 0; i < SCRIBE_HIST_BUCKETS; i++)
	{
		if (hist[i] > 0 && seen + hist[i] >= rank)
		{
			double		lower = (i == 0) ? 0 : hist_bound(i - 1);
			double		upper = hist_bound(i);
			double		within = (rank - seen) / hist[i];

			result = palloc0(sizeof(Interval));
			result->time = (int64) (lower + (upper - lower) * Max(within, 0.0));
			return IntervalPGetDatum(result);
		}
		seen += hist[i];
	}
	result = palloc0(sizeof(Interval));
	result->time = (int64) hist_bound(SCRIBE_HIST_BUCKETS - 1);
	return IntervalPGetDatum(result);
}

/* Run a saved one-row count query for a queue; returns the count */
static int64
count_for_queue(SPIPlanPtr *plan, const char *sql, int32 queue_id)
{
	Oid			argtypes[1] = {INT4OID};
	Datum		values[1] = {Int32GetDatum(queue_id)};
	bool		isnull;

	scribe_plan_execute(plan, sql, 1, argtypes, values, NULL, true, 1);
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

PG_FUNCTION_INFO_V1(scribe_queue_stats);

/* scribe.queue_stats(queue, window): one row per queue */
Datum
scribe_queue_stats(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	text	   *queue_name = PG_ARGISNULL(0) ? NULL : PG_GETARG_TEXT_PP(0);
	Interval   *window = PG_ARGISNULL(1) ? NULL : PG_GETARG_INTERVAL_P(1);
	int64		window_us;
	int			minutes;
	int64		now_minute;
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	char		nulls[1] = {' '};
	uint64		nqueues;
	SPITupleTable *queues;
	ScribeSavedUser saved;

	scribe_require_preload("scribe.queue_stats()");

	window_us = window ? window->time + (int64) window->day * USECS_PER_DAY +
		(int64) window->month * 30 * USECS_PER_DAY : 5 * USECS_PER_MINUTE;
	if (window_us <= 0 || window_us > SCRIBE_STATS_MINUTES * USECS_PER_MINUTE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("window must be between 1 second and %d minutes", SCRIBE_STATS_MINUTES),
				 errhint("Percentiles and throughput come from one-minute slots kept for the last %d minutes.",
						 SCRIBE_STATS_MINUTES)));
	minutes = (int) ((window_us + USECS_PER_MINUTE - 1) / USECS_PER_MINUTE);
	now_minute = minute_of(GetCurrentTimestamp());

	InitMaterializedSRF(fcinfo, 0);

	SPI_connect();
	scribe_run_as_owner(&saved);
	args[0] = queue_name ? PointerGetDatum(queue_name) : (Datum) 0;
	nulls[0] = queue_name ? ' ' : 'n';
	scribe_plan_execute(&plan_list,
						"SELECT queue_id, name, consumer FROM scribe.queues "
						"WHERE $1 IS NULL OR name = $1 ORDER BY name",
						1, argtypes, args, nulls, true, 0);
	nqueues = SPI_processed;
	queues = SPI_tuptable;
	if (nqueues == 0 && queue_name != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("queue \"%s\" does not exist", text_to_cstring(queue_name)),
				 errhint("Create it with scribe.create_queue(), or list the queues with scribe.list_queues().")));

	for (uint64 q = 0; q < nqueues; q++)
	{
		HeapTuple	qt = queues->vals[q];
		bool		isnull;
		int32		queue_id = DatumGetInt32(SPI_getbinval(qt, queues->tupdesc, 1, &isnull));
		Datum		values[15];
		bool		rnulls[15];
		int64		jobs = 0,
					in_flight = 0,
					delayed,
					dead;
		uint64		completed = 0,
					failed = 0;
		uint64		wait[SCRIBE_HIST_BUCKETS] = {0};
		uint64		run[SCRIBE_HIST_BUCKETS] = {0};
		QueueStatsEntry *e;
		Datum		oldest;
		bool		oldest_null;

		memset(rnulls, 0, sizeof(rnulls));
		values[0] = SPI_getbinval(qt, queues->tupdesc, 2, &isnull);
		values[1] = SPI_getbinval(qt, queues->tupdesc, 3, &isnull);

		if (!scribe_queue_stats_counters(queue_id, &jobs, &in_flight))
			recount_queue(queue_id, &jobs, &in_flight);

		e = entry_find(queue_id, false);
		if (e != NULL)
		{
			SpinLockAcquire(&e->mutex);
			for (int s = 0; s < SCRIBE_STATS_MINUTES; s++)
			{
				StatsSlot  *slot = &e->slots[s];

				if (slot->minute > now_minute - minutes && slot->minute <= now_minute)
				{
					completed += slot->completed;
					failed += slot->failed;
					for (int i = 0; i < SCRIBE_HIST_BUCKETS; i++)
					{
						wait[i] += slot->wait[i];
						run[i] += slot->run[i];
					}
				}
			}
			SpinLockRelease(&e->mutex);
		}

		delayed = count_for_queue(&plan_delayed,
								  "SELECT count(*) FROM scribe.jobs "
								  "WHERE queue_id = $1 AND run_at > now() AND lease_until IS NULL",
								  queue_id);
		dead = count_for_queue(&plan_dead,
							   "SELECT count(*) FROM scribe.jobs_dead WHERE queue_id = $1", queue_id);
		{
			Oid			oldest_types[1] = {INT4OID};
			Datum		oldest_args[1] = {Int32GetDatum(queue_id)};

			scribe_plan_execute(&plan_oldest,
								"SELECT now() - run_at FROM scribe.jobs "
								"WHERE queue_id = $1 AND run_at <= now() AND lease_until IS NULL "
								"ORDER BY run_at LIMIT 1",
								1, oldest_types, oldest_args, NULL, true, 1);
			oldest_null = SPI_processed == 0;
			oldest = oldest_null ? (Datum) 0 :
				SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &oldest_null);
			if (!oldest_null)
				oldest = SPI_datumTransfer(oldest, false, 16);
		}

		values[2] = Int64GetDatum(Max(jobs - in_flight - delayed, 0));
		values[3] = Int64GetDatum(delayed);
		values[4] = Int64GetDatum(Max(in_flight, 0));
		values[5] = Int64GetDatum(dead);
		values[6] = oldest;
		rnulls[6] = oldest_null;
		values[7] = Float8GetDatum((double) completed / minutes);
		values[8] = Float8GetDatum((double) failed / minutes);
		values[9] = hist_percentile(wait, completed, 0.50, &rnulls[9]);
		values[10] = hist_percentile(wait, completed, 0.95, &rnulls[10]);
		values[11] = hist_percentile(wait, completed, 0.99, &rnulls[11]);
		values[12] = hist_percentile(run, completed, 0.50, &rnulls[12]);
		values[13] = hist_percentile(run, completed, 0.95, &rnulls[13]);
		values[14] = hist_percentile(run, completed, 0.99, &rnulls[14]);

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, rnulls);
	}
	scribe_run_as_caller(&saved);
	SPI_finish();
	return (Datum) 0;
}

static SPIPlanPtr plan_job_status = NULL;

PG_FUNCTION_INFO_V1(scribe_job_status);

/* scribe.job_status(id): a job wherever it is, for the role that enqueued it */
Datum
scribe_job_status(PG_FUNCTION_ARGS)
{
	int64		job_id = PG_GETARG_INT64(0);
	Oid			caller;
	ScribeSavedUser saved;
	Oid			argtypes[1] = {INT8OID};
	Datum		args[1] = {Int64GetDatum(job_id)};
	TupleDesc	tupdesc;
	HeapTuple	row;
	Oid			owner;
	bool		isnull;
	Datum		result;

	scribe_require_preload("scribe.job_status()");
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	SPI_connect();
	caller = scribe_run_as_owner(&saved);
	/* unfinished, finished or dead: a job is in exactly one of the three */
	scribe_plan_execute(&plan_job_status,
						"SELECT j.job_id, q.name, CASE WHEN j.lease_until IS NOT NULL THEN 'running' "
						"         WHEN j.run_at > now() THEN 'delayed' ELSE 'ready' END, "
						"       j.kind, j.attempts, j.max_attempts, j.priority::integer, j.enqueued_by, j.enqueued_at, "
						"       j.run_at, j.claimed_at, j.lease_until, NULL::timestamptz, j.payload, NULL::jsonb, j.errors "
						"FROM scribe.jobs j JOIN scribe.queues q USING (queue_id) WHERE j.job_id = $1 "
						"UNION ALL "
						"SELECT a.job_id, q.name, 'done', a.kind, a.attempts, NULL, a.priority, a.enqueued_by, "
						"       a.enqueued_at, a.run_at, a.claimed_at, NULL, a.finished_at, a.payload, a.result, a.errors "
						"FROM scribe.jobs_archive a JOIN scribe.queues q USING (queue_id) WHERE a.job_id = $1 "
						"UNION ALL "
						"SELECT d.job_id, q.name, 'dead', d.kind, d.attempts, d.max_attempts, d.priority, d.enqueued_by, "
						"       d.enqueued_at, d.run_at, d.claimed_at, NULL, d.died_at, d.payload, NULL, d.errors "
						"FROM scribe.jobs_dead d JOIN scribe.queues q USING (queue_id) WHERE d.job_id = $1 "
						"LIMIT 1",
						1, argtypes, args, NULL, false, 1);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("job " INT64_FORMAT " not found", job_id),
				 errhint("It never existed, or it finished longer ago than its queue's retention.")));
	row = SPI_copytuple(SPI_tuptable->vals[0]);
	owner = DatumGetObjectId(SPI_getbinval(row, SPI_tuptable->tupdesc, 8, &isnull));
	scribe_run_as_caller(&saved);

	/* a job's payload and result belong to the role that enqueued it */
	if (!has_privs_of_role(caller, owner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for job " INT64_FORMAT, job_id),
				 errhint("Only the role that enqueued it (%s) and its members can read it.",
						 GetUserNameFromId(owner, true) ? GetUserNameFromId(owner, true) : "dropped")));

	{
		Datum		values[16];
		bool		nulls[16];

		heap_deform_tuple(row, SPI_tuptable->tupdesc, values, nulls);
		result = HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls));
		result = SPI_datumTransfer(result, false, -1);
	}
	SPI_finish();
	PG_RETURN_DATUM(result);
}
