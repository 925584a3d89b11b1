/*
 * A worker of the pool.
 *
 * It claims a batch from the workers queues in turn (one transaction), then
 * runs the batch: it locks the rows of the jobs whose lease is still its
 * own, runs each job in a subtransaction and acks the ones that succeeded in
 * the same transaction as their effects (so a job's effect is applied once),
 * committing every few jobs or milliseconds, and before a job of another
 * sender (a batch runs grouped by sender).  After each job the session is
 * cleaned (scribe_session_reset), so that no job meets what an earlier one
 * left.  A failed job is nacked; a SIGTERM cancels the running job and
 * gives the unfinished ones back.
 */
#include "base/pg_scribe.h"

#include "access/xact.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/spin.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"

#include "jobs/job_kind.h"
#include "pool/pool.h"
#include "queue/queue.h"
#include "base/shmem.h"

/* A transaction of a batch commits after this many jobs or milliseconds */
#define BATCH_COMMIT_JOBS 32
#define BATCH_COMMIT_MS 50
/* Claim as many jobs as run in about this long */
#define BATCH_TARGET_US 20000.0
/* Queues whose run time a worker remembers */
#define RUN_ESTIMATES 64
/*
 * A worker's own statements wait at most this long for a lock, and less
 * than deadlock_timeout, so that a worker, not the DROP EXTENSION it
 * collides with, gives way.  Jobs run with the server's lock_timeout.
 */
#define WORKER_LOCK_TIMEOUT_MS 200
/* Pause after an error outside a job */
#define WORKER_ERROR_PAUSE_MS 1000

/* What to do with a job after it ran */
typedef enum WorkerVerdict
{
	VERDICT_ACK,
	VERDICT_RETRY,
	VERDICT_FAIL,
	VERDICT_RELEASE				/* shutting down: give it back */
} WorkerVerdict;

typedef struct RunEstimate
{
	int32		queue_id;
	double		avg_us;
} RunEstimate;

static volatile sig_atomic_t worker_shutdown = false;
static volatile sig_atomic_t worker_in_job = false;
static ScribeWorkerSlot *my_slot = NULL;
static int	queue_turn = 0;
static RunEstimate run_estimates[RUN_ESTIMATES];
static MemoryContext batch_context = NULL;

/* SIGTERM: stop after giving back the jobs not finished; cancel the running one */
static void
worker_sigterm(SIGNAL_ARGS)
{
	int			save_errno = errno;

	worker_shutdown = true;
	if (worker_in_job)
	{
		QueryCancelPending = true;
		InterruptPending = true;
	}
	SetLatch(MyLatch);
	errno = save_errno;
}

/* Publish our state in the slot and pg_stat_activity */
static void
worker_set_state(ScribeWorkerState state)
{
	SpinLockAcquire(&my_slot->mutex);
	if (my_slot->state != state)
		my_slot->state_since = GetCurrentTimestamp();
	my_slot->state = state;
	if (state == WORKER_IDLE)
		my_slot->woken = false;
	SpinLockRelease(&my_slot->mutex);
	if (state == WORKER_IDLE)
		pgstat_report_activity(STATE_IDLE, "idle");
}

/* Record in the slot the jobs we hold, so that the launcher can release them */
static void
worker_set_claimed(int n, const ScribeJob *jobs)
{
	SpinLockAcquire(&my_slot->mutex);
	my_slot->n_claimed = scribe_queue_job_leases(n, jobs, NULL,
												 my_slot->claimed_ids, my_slot->claimed_leases);
	SpinLockRelease(&my_slot->mutex);
}

/* Leave the slot as we exit; jobs still claimed stay for the launcher */
static void
worker_detach(int code, Datum arg)
{
	SpinLockAcquire(&my_slot->mutex);
	my_slot->state = WORKER_FREE;
	my_slot->proc = NULL;
	my_slot->job_id = 0;
	my_slot->state_since = GetCurrentTimestamp();
	SpinLockRelease(&my_slot->mutex);
}

/* Take our slot */
static void
worker_attach(int slotno)
{
	my_slot = scribe_pool_slot(slotno);
	SpinLockAcquire(&my_slot->mutex);
	my_slot->pid = MyProcPid;
	my_slot->proc = MyProc;
	my_slot->started_at = GetCurrentTimestamp();
	my_slot->jobs_done = 0;
	my_slot->jobs_failed = 0;
	my_slot->n_claimed = 0;
	my_slot->job_id = 0;
	SpinLockRelease(&my_slot->mutex);
	before_shmem_exit(worker_detach, (Datum) 0);
}

/* Average run time of a queue's jobs, as this worker saw them */
static RunEstimate *
run_estimate(int32 queue_id)
{
	RunEstimate *empty = NULL;

	for (int i = 0; i < RUN_ESTIMATES; i++)
	{
		if (run_estimates[i].queue_id == queue_id)
			return &run_estimates[i];
		if (run_estimates[i].queue_id == 0 && empty == NULL)
			empty = &run_estimates[i];
	}
	if (empty == NULL)
		empty = &run_estimates[queue_id % RUN_ESTIMATES];
	empty->queue_id = queue_id;
	empty->avg_us = 5000.0;
	return empty;
}

/* How many jobs of a queue to claim at once: about BATCH_TARGET_US of work */
static int
batch_size(int32 queue_id)
{
	double		n = BATCH_TARGET_US / Max(run_estimate(queue_id)->avg_us, 1.0);

	return (int) Max(1.0, Min(n, (double) SCRIBE_WORKER_MAX_BATCH));
}

/* Start a transaction of our own, with a snapshot and SPI */
static void
worker_begin(void)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	SPI_connect();
}

/* Commit the transaction worker_begin() started */
static void
worker_commit(void)
{
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_stat(false);
}

/*
 * Claim a batch from the next workers queue that has ready jobs.  Returns
 * how many (0: none anywhere; -1: the extension is gone) and the queue.
 */
static int
worker_claim(ScribeJob **jobs, ScribeQueue *queue)
{
	List	   *queues;
	int			n = 0;

	worker_begin();
	if (!OidIsValid(get_extension_oid(SCRIBE_EXTENSION_NAME, true)))
	{
		worker_commit();
		return -1;
	}
	queues = scribe_queue_worker_queues();
	for (int k = 0; k < list_length(queues) && n == 0; k++)
	{
		int			turn = (queue_turn + k) % list_length(queues);
		ScribeQueue *q = list_nth(queues, turn);
		MemoryContext spi = MemoryContextSwitchTo(batch_context);

		n = scribe_queue_claim_jobs(q, batch_size(q->queue_id), q->lease_us, -MyProcPid, jobs, NULL);
		MemoryContextSwitchTo(spi);
		if (n > 0)
		{
			*queue = *q;
			queue_turn = turn + 1;
			worker_set_claimed(n, *jobs);
			/* busy first, so that the wake-up below goes to another worker */
			worker_set_state(WORKER_BUSY);
			/* a full batch: there may be more, for another worker, or a new one */
			if (n == batch_size(q->queue_id) && !scribe_pool_wake_idle_worker())
				scribe_pool_want_launcher();
		}
	}
	worker_commit();
	return n;
}

/* Publish in the slot and pg_stat_activity the job we start running */
static void
worker_job_begin(int64 job_id, int32 attempt, int32 queue_id, const char *kind, const char *activity)
{
	SpinLockAcquire(&my_slot->mutex);
	my_slot->job_id = job_id;
	my_slot->job_attempt = attempt;
	my_slot->queue_id = queue_id;
	strlcpy(my_slot->kind, kind, NAMEDATALEN);
	my_slot->job_started = GetCurrentTimestamp();
	my_slot->progress = -1;
	SpinLockRelease(&my_slot->mutex);
	pgstat_report_activity(STATE_RUNNING, activity);
}

/* Publish a job of the primary that a worker node runs (its queue shows as NULL) */
void
scribe_pool_job_begin(int64 job_id, int32 attempt, const char *kind, const char *activity)
{
	worker_job_begin(job_id, attempt, 0, kind, activity);
}

/* Clear the running job from the slot and count it: done, failed, or given back */
void
scribe_pool_job_end(bool done, bool released)
{
	SpinLockAcquire(&my_slot->mutex);
	my_slot->job_id = 0;
	if (done)
		my_slot->jobs_done++;
	else if (!released)
		my_slot->jobs_failed++;
	SpinLockRelease(&my_slot->mutex);
}

/*
 * Start the time limit of a running job (its queue's lease); from now on a
 * SIGTERM cancels the job, and one that came already cancels it at once.
 */
void
scribe_pool_job_timer_start(int64 timeout_ms)
{
	worker_in_job = true;
	if (worker_shutdown)
	{
		QueryCancelPending = true;
		InterruptPending = true;
	}
	enable_timeout_after(STATEMENT_TIMEOUT, (int) Min(timeout_ms, INT_MAX));
}

/* Stop the time limit of the running job */
void
scribe_pool_job_timer_stop(void)
{
	disable_timeout(STATEMENT_TIMEOUT, false);
	worker_in_job = false;
}

/* Whether the worker was asked to stop (SIGTERM, or the launcher) */
bool
scribe_pool_worker_stopping(void)
{
	return worker_shutdown || (my_slot != NULL && my_slot->stop);
}

/* Remote work found jobs waiting behind its own: the launcher sizes the pool by them, and one should start now */
static void
worker_remote_backlog(int64 backlog)
{
	scribe_pool_set_remote_backlog(backlog);
	if (backlog > 0 && !scribe_pool_wake_idle_worker())
		scribe_pool_want_launcher();
}

/* This worker, as kinds and remote work see the process that runs them */
static const ScribeJobRunner pool_runner = {
	.report_progress = scribe_pool_report_progress,
	.job_begin = scribe_pool_job_begin,
	.job_end = scribe_pool_job_end,
	.timer_start = scribe_pool_job_timer_start,
	.timer_stop = scribe_pool_job_timer_stop,
	.stopping = scribe_pool_worker_stopping,
	.remote_backlog = worker_remote_backlog,
};

/* Run one job in a subtransaction; its effects stay only if it succeeded */
static WorkerVerdict
worker_run_job(const ScribeQueue *queue, const ScribeJob *job, Jsonb **result, char **error)
{
	const ScribeJobKind *kind = job->kind ? scribe_job_kind_find(job->kind) : NULL;
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	int64		timeout_ms = Max(queue->lease_us / 1000, 1);
	volatile WorkerVerdict verdict = VERDICT_RETRY;

	*result = NULL;
	*error = NULL;
	if (kind == NULL)
	{
		*error = psprintf("job kind %s cannot run in the worker pool",
						  job->kind ? job->kind : "NULL");
		return VERDICT_FAIL;
	}

	worker_job_begin(job->job_id, job->attempt, job->queue_id, kind->name,
					 psprintf("running %s job " INT64_FORMAT, kind->name, job->job_id));

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		ScribeJobOutcome outcome;
		int			guc_level = NewGUCNestLevel();

		/* the job's own lock waits follow the server's settings, for the job only */
		(void) set_config_option("lock_timeout", GetConfigOptionResetString("lock_timeout"),
								 PGC_SUSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
		scribe_pool_job_timer_start(timeout_ms);
		outcome = kind->execute(job, timeout_ms, result, error);
		scribe_pool_job_timer_stop();
		CHECK_FOR_INTERRUPTS();
		/* nothing the job set, set_config(..., false) included, outlives it */
		AtEOXact_GUC(false, guc_level);

		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		verdict = outcome == JOB_DONE ? VERDICT_ACK :
			outcome == JOB_FAILED ? VERDICT_FAIL : VERDICT_RETRY;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		scribe_pool_job_timer_stop();
		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;

		*result = NULL;
		*error = edata->detail ? psprintf("%s (%s)", edata->message, edata->detail) : pstrdup(edata->message);
		verdict = worker_shutdown ? VERDICT_RELEASE : VERDICT_RETRY;
		FreeErrorData(edata);
	}
	PG_END_TRY();

	/* the next job, maybe another role's, starts from a clean session */
	scribe_session_reset();
	scribe_pool_job_end(verdict == VERDICT_ACK, verdict == VERDICT_RELEASE);
	return verdict;
}

/*
 * Put the jobs of each sender together, each sender's in claim order and the
 * senders in the order of their first job: a transaction runs one sender's
 * jobs, and interleaved senders would otherwise cost a commit per job.  The
 * reordering stays within the batch, about BATCH_TARGET_US of work.
 */
static void
batch_group_by_sender(ScribeJob *jobs, int n)
{
	ScribeJob  *grouped = MemoryContextAlloc(batch_context, sizeof(ScribeJob) * n);
	bool	   *taken = MemoryContextAllocZero(batch_context, sizeof(bool) * n);
	int			k = 0;

	for (int i = 0; i < n; i++)
	{
		if (taken[i])
			continue;
		for (int j = i; j < n; j++)
		{
			if (!taken[j] && jobs[j].enqueued_by == jobs[i].enqueued_by)
			{
				grouped[k++] = jobs[j];
				taken[j] = true;
			}
		}
	}
	memcpy(jobs, grouped, sizeof(ScribeJob) * n);
}

/*
 * Run a claimed batch: transactions that lock the jobs still ours, run them,
 * and ack or nack them, until the batch is done or we must stop.
 */
static void
worker_run_batch(const ScribeQueue *queue, ScribeJob *jobs, int n)
{
	int			next = 0;
	RunEstimate *estimate = run_estimate(queue->queue_id);

	worker_set_state(WORKER_BUSY);
	batch_group_by_sender(jobs, n);
	while (next < n)
	{
		int			base = next;
		bool	   *locked = MemoryContextAlloc(batch_context, sizeof(bool) * (n - base));
		ScribeJob  *done = MemoryContextAlloc(batch_context, sizeof(ScribeJob) * (n - base));
		Jsonb	  **results = MemoryContextAlloc(batch_context, sizeof(Jsonb *) * (n - base));
		TimestampTz *finished = MemoryContextAlloc(batch_context, sizeof(TimestampTz) * (n - base));
		int			ndone = 0;
		TimestampTz txn_start;
		bool		releasing = false;
		Oid			sender = InvalidOid;	/* whose jobs this transaction runs */
		const ScribeJobKind *kind;
		bool		alone = false;

		worker_begin();
		txn_start = GetCurrentTimestamp();
		(void) scribe_queue_lock_jobs(n - base, &jobs[base], locked);

		for (; next < n; next++)
		{
			ScribeJob  *job = &jobs[next];
			Jsonb	   *result;
			char	   *error;
			WorkerVerdict verdict;
			TimestampTz started;
			MemoryContext spi;

			if (!locked[next - base])
				continue;		/* the lease ran out and another consumer has it */
			if (worker_shutdown || my_slot->stop)
			{
				releasing = true;
				break;
			}

			/*
			 * One sender's jobs per transaction: what a job leaves until
			 * commit (cursors, large objects, SET CONSTRAINTS) is never met
			 * by another role's job; and a kind that changes transaction
			 * state alone.
			 */
			kind = job->kind ? scribe_job_kind_find(job->kind) : NULL;
			alone = kind != NULL && kind->own_transaction;
			if (OidIsValid(sender) && (job->enqueued_by != sender || alone))
				break;
			sender = job->enqueued_by;

			spi = MemoryContextSwitchTo(batch_context);
			started = GetCurrentTimestamp();
			verdict = worker_run_job(queue, job, &result, &error);
			MemoryContextSwitchTo(spi);
			estimate->avg_us = 0.8 * estimate->avg_us +
				0.2 * (double) (GetCurrentTimestamp() - started);

			switch (verdict)
			{
				case VERDICT_ACK:
					done[ndone] = *job;
					results[ndone] = result;
					finished[ndone] = GetCurrentTimestamp();
					ndone++;
					break;
				case VERDICT_RETRY:
				case VERDICT_FAIL:
					(void) scribe_queue_nack_job(job->job_id, &job->lease, error, NULL,
												 verdict == VERDICT_RETRY);
					break;
				case VERDICT_RELEASE:
					releasing = true;
					break;
			}
			if (releasing)
				break;
			if (alone || ndone >= BATCH_COMMIT_JOBS ||
				TimestampDifferenceExceeds(txn_start, GetCurrentTimestamp(), BATCH_COMMIT_MS))
			{
				next++;
				break;
			}
		}
		scribe_queue_ack_jobs(ndone, done, results, finished);

		if (releasing)
		{
			/* give back, attempt and all, the jobs not finished (those still locked) */
			int64	   *ids = palloc(sizeof(int64) * (n - next));
			pg_uuid_t  *leases = palloc(sizeof(pg_uuid_t) * (n - next));
			int			nrel = scribe_queue_job_leases(n - next, &jobs[next], &locked[next - base],
													   ids, leases);

			scribe_queue_release_jobs(nrel, ids, leases, NULL);
			next = n;
		}
		worker_commit();
		worker_set_claimed(n - next, &jobs[next]);
	}
}

/* Exit when idle too long, unless the pool would fall below scribe.min_workers */
static bool
worker_retire(void)
{
	bool		retire = false;

	LWLockAcquire(scribe_lwlock(SCRIBE_LWLOCK_POOL), LW_EXCLUSIVE);
	if (scribe_pool_alive(NULL) > scribe_min_workers)
	{
		worker_set_state(WORKER_STOPPING);
		retire = true;
	}
	LWLockRelease(scribe_lwlock(SCRIBE_LWLOCK_POOL));
	return retire;
}

/* Keep our own lock waits below deadlock_timeout (at start and after a reload) */
static void
worker_set_lock_timeout(void)
{
	int			ms = Min(WORKER_LOCK_TIMEOUT_MS, Max(DeadlockTimeout / 2, 1));

	SetConfigOption("lock_timeout", psprintf("%d", ms), PGC_SUSET, PGC_S_SESSION);
}

/* Give back the jobs we hold, attempt and all; if that fails too, exit */
static void
worker_give_back(void)
{
	int			n;
	int64		ids[SCRIBE_WORKER_MAX_BATCH];
	pg_uuid_t	leases[SCRIBE_WORKER_MAX_BATCH];

	SpinLockAcquire(&my_slot->mutex);
	n = my_slot->n_claimed;
	memcpy(ids, my_slot->claimed_ids, sizeof(int64) * n);
	memcpy(leases, my_slot->claimed_leases, sizeof(pg_uuid_t) * n);
	SpinLockRelease(&my_slot->mutex);
	if (n == 0)
		return;

	PG_TRY();
	{
		worker_begin();
		scribe_queue_release_jobs(n, ids, leases, NULL);
		worker_commit();
		worker_set_claimed(0, NULL);
	}
	PG_CATCH();
	{
		/* the launcher releases them once we are gone */
		EmitErrorReport();
		FlushErrorState();
		AbortCurrentTransaction();
		proc_exit(1);
	}
	PG_END_TRY();
}

/* One turn: claim a batch and run it; how many jobs (-1: the extension is gone) */
static int
worker_turn(void)
{
	ScribeJob  *jobs = NULL;
	ScribeQueue queue;
	int			n;

	MemoryContextReset(batch_context);
	n = worker_claim(&jobs, &queue);
	if (n > 0)
		worker_run_batch(&queue, jobs, n);
	else if (n == 0 && scribe_job_remote_work() != NULL)
	{
		/* nothing here: on a worker node, a job of the primary's (NULL: not one, or no longer) */
		MemoryContext old = MemoryContextSwitchTo(batch_context);

		n = scribe_job_remote_work()->turn(scribe_pool_remote_enabled() ? scribe_queue_conninfo : NULL);
		MemoryContextSwitchTo(old);
	}
	return n;
}

/*
 * A turn, where an ERROR outside a job (a lock wait that timed out during
 * DROP EXTENSION, say) is logged, gives the jobs back and pauses the worker,
 * instead of ending it.  Returns what worker_turn() does, or 0 after an error.
 */
static int
worker_turn_guarded(void)
{
	MemoryContext turn_context = CurrentMemoryContext;
	volatile int n = 0;

	PG_TRY();
	{
		n = worker_turn();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(turn_context);
		worker_in_job = false;
		EmitErrorReport();
		FlushErrorState();
		AbortCurrentTransaction();
		worker_give_back();
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 WORKER_ERROR_PAUSE_MS, PG_WAIT_EXTENSION);
		n = 0;
	}
	PG_END_TRY();
	return n;
}

/* Entry point of a worker; main_arg is its slot number */
void
scribe_worker_main(Datum main_arg)
{
	TimestampTz idle_since;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, worker_sigterm);
	BackgroundWorkerUnblockSignals();

	worker_attach(DatumGetInt32(main_arg));
	scribe_job_set_runner(&pool_runner);
	BackgroundWorkerInitializeConnectionByOid(scribe_pool_database(), InvalidOid, 0);
	batch_context = AllocSetContextCreate(TopMemoryContext, "pg_scribe batch", ALLOCSET_DEFAULT_SIZES);
	worker_set_lock_timeout();
	idle_since = 0;

	for (;;)
	{
		int			n;
		int			rc;
		long		wait_ms;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			worker_set_lock_timeout();
		}
		if (worker_shutdown || my_slot->stop)
			break;

		/* idle before looking: a commit from now on sets our latch */
		worker_set_state(WORKER_IDLE);
		ResetLatch(MyLatch);
		n = worker_turn_guarded();
		if (n < 0)
			break;
		if (n > 0)
		{
			idle_since = 0;
			continue;
		}
		if (idle_since == 0)
			idle_since = GetCurrentTimestamp();

		/*
		 * Commits here set our latch; the primary's cannot, so a worker node
		 * polls it every scribe.queue_poll_interval.
		 */
		wait_ms = scribe_worker_idle_timeout * 1000L;
		if (scribe_pool_remote_enabled())
			wait_ms = Min(wait_ms, scribe_queue_poll_interval);
		rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					   wait_ms, PG_WAIT_EXTENSION);
		if ((rc & WL_TIMEOUT) && !(rc & WL_LATCH_SET) &&
			TimestampDifferenceExceeds(idle_since, GetCurrentTimestamp(), scribe_worker_idle_timeout * 1000) &&
			worker_retire())
			break;
	}
	if (scribe_job_remote_work() != NULL)
		scribe_job_remote_work()->close();
	proc_exit(0);
}

/* Publish the running job's progress, in percent, in scribe.worker_status() */
void
scribe_pool_report_progress(int percent)
{
	if (my_slot == NULL)
		return;
	SpinLockAcquire(&my_slot->mutex);
	my_slot->progress = percent;
	SpinLockRelease(&my_slot->mutex);
}
