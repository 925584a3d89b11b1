/*
 * The launcher's side of the worker pool: start workers as the queues
 * fill, reap the ones that exit and release the jobs they held, wake a
 * worker when a delayed job falls due.
 */
#include "base/pg_scribe.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/spin.h"
#include "utils/array.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "pool/pool.h"
#include "queue/queue.h"
#include "queue/queue_stats.h"
#include "replication/replica.h"
#include "base/spi_plans.h"

/* The launcher looks at the pool's size at most this often when asked */
#define SCALE_CHECK_MS 100
/* After the server refused a new worker, do not try again before this */
#define START_RETRY_MS 1000
/* A WARNING about missing worker slots at most this often */
#define SLOTS_WARNING_MS (60 * 1000)
/* Look at the slots this often even without notices (handles are per launcher) */
#define POOL_CHECK_MS (10 * 1000)

/* Handles of the workers this launcher started, by slot */
static BackgroundWorkerHandle **handles = NULL;
static bool orphans_released = false;
static TimestampTz start_retry_at = 0;
static TimestampTz scale_looked_at = 0;
static TimestampTz slots_warned_at = 0;


/* Start a worker in a free slot; false if there is none or the server refused */
static bool
pool_start_worker(void)
{
	BackgroundWorker worker;
	int			slotno = -1;

	for (int i = 0; i < scribe_pool_slot_count(); i++)
	{
		ScribeWorkerSlot *slot = scribe_pool_slot(i);

		if (slot->state == WORKER_FREE && slot->n_claimed == 0 && handles[i] == NULL)
		{
			slotno = i;
			break;
		}
	}
	if (slotno < 0)
		return false;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	strlcpy(worker.bgw_library_name, "pg_scribe", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "scribe_worker_main", BGW_MAXLEN);
	snprintf(worker.bgw_name, BGW_MAXLEN, "pg_scribe worker %d", slotno);
	strlcpy(worker.bgw_type, "pg_scribe worker", BGW_MAXLEN);
	worker.bgw_main_arg = Int32GetDatum(slotno);
	worker.bgw_notify_pid = MyProcPid;

	{
		ScribeWorkerSlot *slot = scribe_pool_slot(slotno);
		MemoryContext old;
		bool		registered;

		SpinLockAcquire(&slot->mutex);
		slot->state = WORKER_STARTING;
		slot->stop = false;
		slot->woken = false;
		slot->pid = 0;
		slot->state_since = GetCurrentTimestamp();
		SpinLockRelease(&slot->mutex);

		/* the handle outlives this transaction: it lives in TopMemoryContext */
		old = MemoryContextSwitchTo(TopMemoryContext);
		registered = RegisterDynamicBackgroundWorker(&worker, &handles[slotno]);
		MemoryContextSwitchTo(old);
		if (!registered)
		{
			SpinLockAcquire(&slot->mutex);
			slot->state = WORKER_FREE;
			SpinLockRelease(&slot->mutex);
			handles[slotno] = NULL;
			return false;
		}
	}
	return true;
}

/*
 * Reap workers that exited: release the jobs they still held (inside SPI).
 * A worker that exits on its own releases them first; one that failed could
 * not, and its jobs become claimable now rather than when their lease ends.
 */
static void
pool_reap(void)
{
	for (int i = 0; i < scribe_pool_slot_count(); i++)
	{
		ScribeWorkerSlot *slot = scribe_pool_slot(i);
		pid_t		pid;
		int			n;
		int64		ids[SCRIBE_WORKER_MAX_BATCH];
		pg_uuid_t	leases[SCRIBE_WORKER_MAX_BATCH];
		int			dead_pid;

		if (handles[i] != NULL)
		{
			if (GetBackgroundWorkerPid(handles[i], &pid) != BGWH_STOPPED)
				continue;
			pfree(handles[i]);
			handles[i] = NULL;
		}

		SpinLockAcquire(&slot->mutex);
		if (slot->state == WORKER_STARTING && slot->pid == 0)
			slot->state = WORKER_FREE;	/* the server never started it */
		n = (slot->state == WORKER_FREE) ? slot->n_claimed : 0;
		memcpy(ids, slot->claimed_ids, sizeof(int64) * n);
		memcpy(leases, slot->claimed_leases, sizeof(pg_uuid_t) * n);
		dead_pid = slot->pid;
		SpinLockRelease(&slot->mutex);

		if (n > 0)
		{
			char	   *reason = psprintf("worker %d exited while running the job", dead_pid);

			scribe_queue_release_jobs(n, ids, leases, reason);
			ereport(LOG,
					(errmsg("pg_scribe released %d job(s) held by worker %d, which exited", n, dead_pid)));
			SpinLockAcquire(&slot->mutex);
			slot->n_claimed = 0;
			SpinLockRelease(&slot->mutex);
		}
	}
}

/* Ask every worker to stop (the extension is gone) */
void
scribe_pool_stop_all(void)
{
	for (int i = 0; i < scribe_pool_slot_count(); i++)
	{
		ScribeWorkerSlot *slot = scribe_pool_slot(i);
		PGPROC	   *proc = NULL;

		SpinLockAcquire(&slot->mutex);
		if (slot->state != WORKER_FREE)
		{
			slot->stop = true;
			proc = slot->proc;
		}
		SpinLockRelease(&slot->mutex);
		if (proc != NULL)
			SetLatch(&proc->procLatch);
	}
}

/* The launcher connected to scribe.database: the workers will connect there too */
TimestampTz
scribe_pool_at_connect(TimestampTz now)
{
	scribe_pool_set_database(MyDatabaseId);
	return 0;
}

/* The extension is not installed: workers have nothing to do */
TimestampTz
scribe_pool_uninstalled(TimestampTz now)
{
	scribe_pool_stop_all();
	return 0;
}

/*
 * The pool's launcher task (inside a transaction and SPI): reap, release
 * orphans after a restart, wake a worker for jobs that fell due, scale.
 * Returns when it wants to run again.
 */
TimestampTz
scribe_pool_task(TimestampTz now)
{
	TimestampTz next = TimestampTzPlusMilliseconds(now, POOL_CHECK_MS);
	TimestampTz due;
	TimestampTz until;
	int			alive;
	int			desired;
	int64		ready;
	int32	   *pids;

	if (handles == NULL)
		handles = MemoryContextAllocZero(TopMemoryContext,
										 sizeof(BackgroundWorkerHandle *) * scribe_pool_slot_count());
	pool_reap();

	/* jobs the pool held when the server (or this launcher) went down */
	if (!orphans_released)
	{
		int64		released;

		pids = palloc(sizeof(int32) * scribe_pool_slot_count());
		alive = scribe_pool_alive(pids);
		released = scribe_queue_release_orphans(alive, pids);
		if (released > 0)
			ereport(LOG,
					(errmsg("pg_scribe released " INT64_FORMAT " job(s) that workers held before a restart",
							released)));
		orphans_released = true;
		scribe_queue_next_due_set(scribe_queue_lookup_next_due());
	}

	/* a replica runs no jobs: the primary's workers do, and replication brings their results */
	if (scribe_replica_active)
	{
		scribe_pool_note_start(now, 0, 0);
		scribe_pool_stop_all();
		return next;
	}

	/* a delayed job fell due: a worker should look */
	due = scribe_queue_next_due();
	if (due != 0 && due <= now)
	{
		(void) scribe_pool_wake_idle_worker();
		due = scribe_queue_lookup_next_due();
		scribe_queue_next_due_set(due);
	}
	if (due != 0 && due < next)
		next = due;

	/* asked again too soon: look when SCALE_CHECK_MS has passed */
	if (scribe_pool_scale_wanted(false) &&
		!TimestampDifferenceExceeds(scale_looked_at, now, SCALE_CHECK_MS))
	{
		until = TimestampTzPlusMilliseconds(scale_looked_at, SCALE_CHECK_MS);
		return Min(next, until);
	}
	(void) scribe_pool_scale_wanted(true);
	scale_looked_at = now;

	/* scale: ceil(ready / jobs_per_worker), between min and max */
	alive = scribe_pool_alive(NULL);
	ready = scribe_queue_ready_jobs((int64) scribe_jobs_per_worker * Max(scribe_max_workers, 1));
	/*
	 * A worker node counts the primary's waiting ocr jobs too, as its
	 * workers last saw them, and keeps one worker to poll the primary.
	 */
	if (scribe_pool_remote_enabled())
		ready += scribe_pool_remote_backlog();
	desired = (int) Min((ready + scribe_jobs_per_worker - 1) / scribe_jobs_per_worker,
						(int64) scribe_max_workers);
	desired = Max(desired, Min(scribe_pool_remote_enabled() ? Max(scribe_min_workers, 1) : scribe_min_workers,
							   scribe_max_workers));
	elog(DEBUG2, "pg_scribe pool: %d alive, %d desired for " INT64_FORMAT " ready jobs", alive, desired, ready);

	if (alive < desired && now >= start_retry_at)
	{
		int			started = 0;

		while (alive + started < desired && pool_start_worker())
			started++;
		scribe_pool_note_start(now, desired, alive + started);
		if (alive + started < desired)
		{
			start_retry_at = TimestampTzPlusMilliseconds(now, START_RETRY_MS);
			if (next > start_retry_at)
				next = start_retry_at;
			if (TimestampDifferenceExceeds(slots_warned_at, now, SLOTS_WARNING_MS))
			{
				ereport(WARNING,
						(errmsg("pg_scribe could start only %d of the %d workers it needs",
								alive + started, desired),
						 errdetail("The server has no free background worker slots."),
						 errhint("Raise max_worker_processes (a restart is needed), or lower scribe.max_workers.")));
				slots_warned_at = now;
			}
		}
	}
	else if (alive >= desired)
		scribe_pool_note_start(now, desired, alive);

	if (alive > scribe_max_workers)
	{
		/* scribe.max_workers was lowered: the extra workers stop */
		int			extra = alive - scribe_max_workers;

		for (int i = scribe_pool_slot_count() - 1; i >= 0 && extra > 0; i--)
		{
			ScribeWorkerSlot *slot = scribe_pool_slot(i);
			PGPROC	   *proc = NULL;

			SpinLockAcquire(&slot->mutex);
			if ((slot->state == WORKER_IDLE || slot->state == WORKER_BUSY) && !slot->stop)
			{
				slot->stop = true;
				proc = slot->proc;
				extra--;
			}
			SpinLockRelease(&slot->mutex);
			if (proc != NULL)
				SetLatch(&proc->procLatch);
		}
	}

	return next;
}
