/*
 * The worker pool's shared state: one slot per possible worker (as many as
 * max_worker_processes), and the wake-ups that committers send to it.
 */
#include "base/pg_scribe.h"

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "postmaster/postmaster.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "base/wakeup.h"
#include "jobs/job_kind.h"
#include "pool/pool.h"

typedef struct PoolShared
{
	slock_t		mutex;
	Oid			database;		/* where the launcher runs; workers connect there */
	bool		scale_wanted;	/* someone wants more workers since the launcher's last look */
	int64		remote_backlog; /* worker node: remote jobs waiting on the primary, at the last claim */
	/* the pool could not start the workers it wanted (health, scaling advice) */
	TimestampTz short_since;	/* since when, without a look that had enough; 0: not short now */
	TimestampTz short_last;		/* the last look that fell short; 0: never */
	int			short_wanted;	/* workers wanted at that look */
	int			short_running;	/* workers running or started at that look */
	int64		short_count;	/* looks that fell short since the server started */
	int			n_slots;
	ScribeWorkerSlot slots[FLEXIBLE_ARRAY_MEMBER];
} PoolShared;

int			scribe_min_workers = 1;
int			scribe_max_workers = 4;
int			scribe_jobs_per_worker = 10;
int			scribe_worker_idle_timeout = 60;
char	   *scribe_queue_conninfo = NULL;
int			scribe_queue_poll_interval = 1000;

static PoolShared *pool = NULL;

/* Define the worker pool's GUCs */
void
scribe_pool_define_gucs(void)
{
	DefineCustomIntVariable("scribe.min_workers",
							"Workers kept running even when the queues are empty.",
							"One idle worker starts a job within milliseconds of its commit; with 0 the launcher starts one first.",
							&scribe_min_workers,
							1, 0, MAX_BACKENDS,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("scribe.max_workers",
							"Most workers the pool runs at once.",
							"Each worker is a background worker: max_worker_processes must leave room for them.",
							&scribe_max_workers,
							4, 0, MAX_BACKENDS,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("scribe.jobs_per_worker",
							"Ready jobs per running worker before the pool starts another.",
							"The pool runs ceil(ready jobs / jobs_per_worker) workers, between min_workers and max_workers.",
							&scribe_jobs_per_worker,
							10, 1, INT_MAX,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("scribe.worker_idle_timeout",
							"Idle time after which a worker beyond min_workers exits.",
							NULL,
							&scribe_worker_idle_timeout,
							60, 1, 24 * 3600,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	/* superuser only: the connection string may hold a password */
	DefineCustomStringVariable("scribe.queue_conninfo",
							   "Connection string of the primary whose ocr jobs this worker node runs; empty: not a worker node.",
							   "The pool's workers serve this node's own queues first, then claim ocr jobs from the primary.",
							   &scribe_queue_conninfo,
							   "",
							   PGC_SIGHUP, GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);
	DefineCustomIntVariable("scribe.queue_poll_interval",
							"How often an idle worker of a worker node asks the primary for ocr jobs.",
							"The primary's commits cannot wake a worker node's workers: they poll.",
							&scribe_queue_poll_interval,
							1000, 10, 60 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
}

/* Slots: as many as the server can have background workers */
static int
pool_slots_wanted(void)
{
	return Max(max_worker_processes, 1);
}

/* Shared memory of the pool */
Size
scribe_pool_shmem_size(void)
{
	return add_size(offsetof(PoolShared, slots),
					mul_size(pool_slots_wanted(), sizeof(ScribeWorkerSlot)));
}

/* Create or attach to the pool's shared state */
void
scribe_pool_shmem_init(void)
{
	bool		found;

	pool = ShmemInitStruct("pg_scribe pool", scribe_pool_shmem_size(), &found);
	if (!found)
	{
		memset(pool, 0, scribe_pool_shmem_size());
		SpinLockInit(&pool->mutex);
		pool->n_slots = pool_slots_wanted();
		for (int i = 0; i < pool->n_slots; i++)
			SpinLockInit(&pool->slots[i].mutex);
	}
}

/* How many slots there are */
int
scribe_pool_slot_count(void)
{
	return pool ? pool->n_slots : 0;
}

/* A slot by number */
ScribeWorkerSlot *
scribe_pool_slot(int slotno)
{
	Assert(slotno >= 0 && slotno < pool->n_slots);
	return &pool->slots[slotno];
}

/* Set the latch of one idle worker that nobody woke yet; false if there is none */
bool
scribe_pool_wake_idle_worker(void)
{
	if (pool == NULL)
		return false;

	for (int i = 0; i < pool->n_slots; i++)
	{
		ScribeWorkerSlot *slot = &pool->slots[i];
		PGPROC	   *proc = NULL;

		/* unlocked peek first: most slots are free or busy */
		if (slot->state != WORKER_IDLE || slot->woken)
			continue;
		SpinLockAcquire(&slot->mutex);
		if (slot->state == WORKER_IDLE && !slot->woken)
		{
			slot->woken = true;
			proc = slot->proc;
		}
		SpinLockRelease(&slot->mutex);
		if (proc != NULL)
		{
			SetLatch(&proc->procLatch);
			return true;
		}
	}
	return false;
}

/*
 * Ask the launcher to look at the pool (jobs are ready and no worker is
 * idle), unless the pool cannot grow.  Only the first request after each
 * look wakes the launcher: under load it is woken at its own pace, not at
 * every commit.
 */
void
scribe_pool_want_launcher(void)
{
	bool		wake;

	if (pool == NULL || scribe_pool_alive(NULL) >= scribe_max_workers)
		return;
	SpinLockAcquire(&pool->mutex);
	wake = !pool->scale_wanted;
	pool->scale_wanted = true;
	SpinLockRelease(&pool->mutex);
	if (wake)
		scribe_launcher_wake();
}

/* Whether this node is a worker node: scribe.queue_conninfo is set and remote work registered */
bool
scribe_pool_remote_enabled(void)
{
	return scribe_queue_conninfo != NULL && scribe_queue_conninfo[0] != '\0' &&
		scribe_job_remote_work() != NULL;
}

/* Remember how many remote jobs wait on the primary (worker node), for the launcher's scaling */
void
scribe_pool_set_remote_backlog(int64 backlog)
{
	if (pool == NULL)
		return;
	SpinLockAcquire(&pool->mutex);
	pool->remote_backlog = backlog;
	SpinLockRelease(&pool->mutex);
}

/* How many remote jobs waited on the primary at a worker's last claim (worker node) */
int64
scribe_pool_remote_backlog(void)
{
	int64		backlog;

	SpinLockAcquire(&pool->mutex);
	backlog = pool->remote_backlog;
	SpinLockRelease(&pool->mutex);
	return backlog;
}

/* Whether someone asked the launcher to look at the pool; clear asks it */
bool
scribe_pool_scale_wanted(bool clear)
{
	bool		wanted;

	SpinLockAcquire(&pool->mutex);
	wanted = pool->scale_wanted;
	if (clear)
		pool->scale_wanted = false;
	SpinLockRelease(&pool->mutex);
	return wanted;
}

/* Count the workers alive (starting, idle or busy); their pids into pids if given */
int
scribe_pool_alive(int32 *pids)
{
	int			n = 0;

	if (pool == NULL)
		return 0;
	for (int i = 0; i < pool->n_slots; i++)
	{
		ScribeWorkerSlot *slot = &pool->slots[i];

		SpinLockAcquire(&slot->mutex);
		if (slot->state == WORKER_STARTING || slot->state == WORKER_IDLE || slot->state == WORKER_BUSY)
		{
			if (pids != NULL)
				pids[n] = slot->pid;
			n++;
		}
		SpinLockRelease(&slot->mutex);
	}
	return n;
}

/*
 * Record the launcher's look at the pool: it wanted workers and could run
 * only running of them (short), or it had what it wanted.
 */
void
scribe_pool_note_start(TimestampTz now, int wanted, int running)
{
	SpinLockAcquire(&pool->mutex);
	if (running < wanted)
	{
		if (pool->short_since == 0)
			pool->short_since = now;
		pool->short_last = now;
		pool->short_wanted = wanted;
		pool->short_running = running;
		pool->short_count++;
	}
	else
		pool->short_since = 0;
	SpinLockRelease(&pool->mutex);
}

/*
 * The queue's announcement (queue/queue.h): jobs became ready at a commit.
 * An idle worker takes them; with none, or more jobs than one worker's
 * share, the launcher may add workers.
 */
void
scribe_pool_jobs_ready(int64 ready_jobs)
{
	if (!scribe_pool_wake_idle_worker() || ready_jobs > scribe_jobs_per_worker)
		scribe_pool_want_launcher();
}

/* Record the database the workers connect to (the launcher's) */
void
scribe_pool_set_database(Oid dboid)
{
	SpinLockAcquire(&pool->mutex);
	pool->database = dboid;
	SpinLockRelease(&pool->mutex);
}

/* The database the workers connect to */
Oid
scribe_pool_database(void)
{
	Oid			dboid;

	SpinLockAcquire(&pool->mutex);
	dboid = pool->database;
	SpinLockRelease(&pool->mutex);
	return dboid;
}

/* Name of a worker state, as worker_status() shows it */
static const char *
worker_state_name(ScribeWorkerState state)
{
	switch (state)
	{
		case WORKER_FREE:
			return "stopped";
		case WORKER_STARTING:
			return "starting";
		case WORKER_IDLE:
			return "idle";
		case WORKER_BUSY:
			return "busy";
		case WORKER_STOPPING:
			return "stopping";
	}
	return "unknown";
}

PG_FUNCTION_INFO_V1(scribe_worker_slots);

/* scribe._worker_slots(): the slots in use, from shared memory */
Datum
scribe_worker_slots(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < scribe_pool_slot_count(); i++)
	{
		ScribeWorkerSlot copy;
		Datum		values[12];
		bool		nulls[12];

		SpinLockAcquire(&pool->slots[i].mutex);
		copy = pool->slots[i];
		SpinLockRelease(&pool->slots[i].mutex);
		if (copy.state == WORKER_FREE && copy.n_claimed == 0)
			continue;

		memset(nulls, 0, sizeof(nulls));
		values[0] = Int32GetDatum(i);
		values[1] = Int32GetDatum(copy.pid);
		values[2] = CStringGetTextDatum(worker_state_name(copy.state));
		values[3] = TimestampTzGetDatum(copy.state_since);
		values[4] = TimestampTzGetDatum(copy.started_at);
		nulls[4] = copy.started_at == 0;
		values[5] = Int64GetDatum(copy.jobs_done);
		values[6] = Int64GetDatum(copy.jobs_failed);
		values[7] = Int64GetDatum(copy.job_id);
		values[8] = Int32GetDatum(copy.queue_id);
		values[9] = CStringGetTextDatum(copy.kind);
		values[10] = TimestampTzGetDatum(copy.job_started);
		values[11] = Int32GetDatum(copy.progress);
		/* the job columns describe the running job only */
		for (int c = 7; c <= 11; c++)
			nulls[c] = copy.job_id == 0;
		if (copy.progress < 0)
			nulls[11] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(scribe_pool_start_status);

/* scribe._pool_start_status(): whether the pool could start the workers it wanted */
Datum
scribe_pool_start_status(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[6];
	bool		nulls[6];
	TimestampTz since = 0,
				last = 0;
	int			wanted = 0,
				running = 0;
	int64		count = 0;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	if (pool != NULL)
	{
		SpinLockAcquire(&pool->mutex);
		since = pool->short_since;
		last = pool->short_last;
		wanted = pool->short_wanted;
		running = pool->short_running;
		count = pool->short_count;
		SpinLockRelease(&pool->mutex);
	}
	memset(nulls, 0, sizeof(nulls));
	values[0] = TimestampTzGetDatum(since);
	nulls[0] = since == 0;
	values[1] = TimestampTzGetDatum(last);
	nulls[1] = last == 0;
	values[2] = Int32GetDatum(wanted);
	nulls[2] = last == 0;
	values[3] = Int32GetDatum(running);
	nulls[3] = last == 0;
	values[4] = Int64GetDatum(count);
	values[5] = Int32GetDatum(max_worker_processes);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}
