/*
 * The launcher: one static background worker per server, connected to the
 * database named by scribe.database.
 *
 * It sleeps on its latch and wakes for work that is due, a commit that needs
 * it (CREATE EXTENSION, jobs with no idle worker to take them), a worker
 * that exits, a config reload or a signal.  Its life is the state machine in
 * launcher.h; each wake-up runs the tasks that are due, each in its own
 * transaction, and an ERROR in a task is logged, not fatal, so one bad row
 * cannot crash-loop it.
 */
#include "base/pg_scribe.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/indexing.h"
#include "catalog/pg_database.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "executor/spi.h"
#include "base/install.h"
#include "base/wakeup.h"
#include "launcher/launcher.h"

/* Seconds before the postmaster restarts a launcher that exited with an error */
#define LAUNCHER_RESTART_SECONDS 5

/* How often to look for a missing scribe.database (a SIGHUP looks at once) */
#define LAUNCHER_DATABASE_RECHECK_MS (10 * 1000)

/* Pause after a failed task, so that a persistent error never spins */
#define LAUNCHER_RETRY_MS (10 * 1000)

/*
 * The launcher waits at most this long for a lock, and less than
 * deadlock_timeout, then retries the task a little later: so that the
 * launcher, not the DROP EXTENSION or ALTER it collides with, gives way.
 */
#define LAUNCHER_LOCK_TIMEOUT_MS 100
#define LAUNCHER_LOCK_RETRY_MS 1000

/*
 * Longest sleep with nothing due: a safety net for changes that do not wake
 * us, such as DROP EXTENSION.
 */
#define LAUNCHER_IDLE_RECHECK_MS (60 * 1000)

/* What a starting launcher knows of scribe.database */
typedef enum LauncherDatabaseHint
{
	DATABASE_UNKNOWN = 0,		/* look before connecting */
	DATABASE_MISSING,			/* the last attempt to connect did not come back */
	DATABASE_FOUND				/* the waiting launcher just found it */
} LauncherDatabaseHint;

/* The answer of a database check worker */
typedef enum LauncherDatabaseCheck
{
	CHECK_NO_ANSWER = 0,
	CHECK_ABSENT,				/* no such database, or it refuses connections */
	CHECK_PRESENT
} LauncherDatabaseCheck;

typedef struct LauncherShared
{
	slock_t		mutex;
	int			pid;
	ScribeLauncherState state;
	TimestampTz started_at;
	TimestampTz state_since;
	int			starts;
	LauncherDatabaseHint database_hint;
	LauncherDatabaseCheck database_check;
} LauncherShared;

static LauncherShared *launcher_shared = NULL;

/* Register the launcher with the postmaster (server start only) */
void
scribe_launcher_register(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = LAUNCHER_RESTART_SECONDS;
	strlcpy(worker.bgw_library_name, "pg_scribe", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "scribe_launcher_main", BGW_MAXLEN);
	strlcpy(worker.bgw_name, "pg_scribe launcher", BGW_MAXLEN);
	strlcpy(worker.bgw_type, "pg_scribe launcher", BGW_MAXLEN);
	RegisterBackgroundWorker(&worker);
}

/* Shared memory the launcher needs */
Size
scribe_launcher_shmem_size(void)
{
	return MAXALIGN(sizeof(LauncherShared));
}

/* Create or attach to the launcher's shared state */
void
scribe_launcher_shmem_init(void)
{
	bool		found;

	launcher_shared = ShmemInitStruct("pg_scribe launcher", sizeof(LauncherShared), &found);
	if (!found)
	{
		memset(launcher_shared, 0, sizeof(LauncherShared));
		SpinLockInit(&launcher_shared->mutex);
		launcher_shared->state = LAUNCHER_STOPPED;
	}
}

/* Name of a state, as health() shows it */
const char *
scribe_launcher_state_name(ScribeLauncherState state)
{
	switch (state)
	{
		case LAUNCHER_STOPPED:
			return "stopped";
		case LAUNCHER_STARTING:
			return "starting";
		case LAUNCHER_WAITING_FOR_DATABASE:
			return "waiting_for_database";
		case LAUNCHER_WAITING_FOR_EXTENSION:
			return "waiting_for_extension";
		case LAUNCHER_RUNNING:
			return "running";
	}
	return "unknown";
}

/* Copy the launcher's status; a stopped launcher when shared memory is absent */
void
scribe_launcher_get_status(ScribeLauncherStatus *status)
{
	memset(status, 0, sizeof(*status));
	status->state = LAUNCHER_STOPPED;
	if (launcher_shared == NULL)
		return;

	SpinLockAcquire(&launcher_shared->mutex);
	status->pid = launcher_shared->pid;
	status->state = launcher_shared->state;
	status->started_at = launcher_shared->started_at;
	status->state_since = launcher_shared->state_since;
	status->restarts = Max(launcher_shared->starts - 1, 0);
	SpinLockRelease(&launcher_shared->mutex);
}

/* Publish a new state in shared memory and pg_stat_activity */
static void
launcher_set_state(ScribeLauncherState state)
{
	bool		changed;

	SpinLockAcquire(&launcher_shared->mutex);
	changed = launcher_shared->state != state;
	if (changed)
	{
		launcher_shared->state = state;
		launcher_shared->state_since = GetCurrentTimestamp();
	}
	SpinLockRelease(&launcher_shared->mutex);

	if (!changed)
		return;

	switch (state)
	{
		case LAUNCHER_WAITING_FOR_DATABASE:
			pgstat_report_activity(STATE_IDLE, "waiting for database");
			break;
		case LAUNCHER_WAITING_FOR_EXTENSION:
			pgstat_report_activity(STATE_IDLE, "waiting for CREATE EXTENSION pg_scribe");
			break;
		case LAUNCHER_RUNNING:
			pgstat_report_activity(STATE_IDLE, "running");
			break;
		default:
			break;
	}
}

/* Forget our process in shared memory as we exit */
static void
launcher_detach(int code, Datum arg)
{
	SpinLockAcquire(&launcher_shared->mutex);
	launcher_shared->pid = 0;
	launcher_shared->state = LAUNCHER_STOPPED;
	launcher_shared->state_since = GetCurrentTimestamp();
	SpinLockRelease(&launcher_shared->mutex);
	scribe_launcher_latch_attach(NULL);
}

/* Record our process in shared memory; return what we know of the database */
static LauncherDatabaseHint
launcher_attach(void)
{
	LauncherDatabaseHint hint;
	TimestampTz now = GetCurrentTimestamp();

	SpinLockAcquire(&launcher_shared->mutex);
	launcher_shared->pid = MyProcPid;
	launcher_shared->state = LAUNCHER_STARTING;
	launcher_shared->started_at = now;
	launcher_shared->state_since = now;
	launcher_shared->starts++;
	hint = launcher_shared->database_hint;
	SpinLockRelease(&launcher_shared->mutex);
	scribe_launcher_latch_attach(MyProc);

	before_shmem_exit(launcher_detach, (Datum) 0);
	return hint;
}

/* Tell the next start what we know of the database */
static void
launcher_set_database_hint(LauncherDatabaseHint hint)
{
	SpinLockAcquire(&launcher_shared->mutex);
	launcher_shared->database_hint = hint;
	SpinLockRelease(&launcher_shared->mutex);
}

/* Record the answer of a database check */
static void
launcher_set_database_check(LauncherDatabaseCheck answer)
{
	SpinLockAcquire(&launcher_shared->mutex);
	launcher_shared->database_check = answer;
	SpinLockRelease(&launcher_shared->mutex);
}

/* Whether scribe.database exists and accepts connections (needs a transaction) */
static bool
launcher_database_connectable(void)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	bool		connectable = false;

	ScanKeyInit(&key, Anum_pg_database_datname, BTEqualStrategyNumber, F_NAMEEQ,
				CStringGetDatum(scribe_database));
	/*
	 * A heap scan: without a database, the relcache cannot build the entries
	 * of pg_database's indexes when the relcache init file is missing.
	 */
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = systable_beginscan(rel, DatabaseNameIndexId, false, NULL, 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
	{
		Form_pg_database form = (Form_pg_database) GETSTRUCT(tuple);

		connectable = form->datallowconn;
#ifdef DATCONNLIMIT_INVALID_DB
		if (form->datconnlimit == DATCONNLIMIT_INVALID_DB)
			connectable = false;
#endif
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return connectable;
}

/*
 * Act on interrupts (die, barriers such as DROP DATABASE's) and reload the
 * configuration after a SIGHUP; returns whether it was reloaded.  Every wait
 * loop of the launcher calls this before it sleeps.
 */
static bool
launcher_absorb_signals(void)
{
	CHECK_FOR_INTERRUPTS();
	if (!ConfigReloadPending)
		return false;

	ConfigReloadPending = false;
	ProcessConfigFile(PGC_SIGHUP);
	return true;
}

/*
 * Wait, connected to shared catalogs only, until scribe.database can be
 * connected to, then exit so that the postmaster restarts us connected to it.
 * A backend cannot switch databases, and connecting to a missing one is a
 * FATAL error: this is how we avoid a crash loop while it is missing.
 */
static void
launcher_wait_for_database(void)
{
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	launcher_set_state(LAUNCHER_WAITING_FOR_DATABASE);
	ereport(LOG,
			(errmsg("pg_scribe launcher is waiting for database \"%s\"", scribe_database),
			 errdetail("The database does not exist or does not accept connections."),
			 errhint("Create the database, or set scribe.database in postgresql.conf and restart the server.")));

	for (;;)
	{
		bool		connectable;

		(void) launcher_absorb_signals();

		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		connectable = launcher_database_connectable();
		CommitTransactionCommand();

		if (connectable)
		{
			launcher_set_database_hint(DATABASE_FOUND);
			ereport(LOG,
					(errmsg("pg_scribe launcher found database \"%s\" and restarts to connect to it",
							scribe_database)));
			proc_exit(1);
		}

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 LAUNCHER_DATABASE_RECHECK_MS, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/*
 * Whether scribe.database exists and accepts connections, as a short-lived
 * worker connected to shared catalogs only finds it: the launcher cannot
 * look itself, since a backend connects once (to no database, it could no
 * longer connect to ours), and connecting to a missing database is a FATAL
 * error in the log.  Without a free background worker slot for the check,
 * we say yes, and the launcher tries to connect as it did before.
 */
static bool
launcher_database_exists(void)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	LauncherDatabaseCheck answer;

	launcher_set_database_check(CHECK_NO_ANSWER);

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	strlcpy(worker.bgw_library_name, "pg_scribe", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "scribe_launcher_check_main", BGW_MAXLEN);
	strlcpy(worker.bgw_name, "pg_scribe database check", BGW_MAXLEN);
	strlcpy(worker.bgw_type, "pg_scribe database check", BGW_MAXLEN);
	worker.bgw_notify_pid = MyProcPid;

	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
		return true;
	if (WaitForBackgroundWorkerShutdown(handle) == BGWH_POSTMASTER_DIED)
		proc_exit(1);

	SpinLockAcquire(&launcher_shared->mutex);
	answer = launcher_shared->database_check;
	SpinLockRelease(&launcher_shared->mutex);
	return answer != CHECK_ABSENT;
}

/* Entry point of the database check worker: look in pg_database, answer, exit */
void
scribe_launcher_check_main(Datum main_arg)
{
	bool		connectable;

	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	connectable = launcher_database_connectable();
	CommitTransactionCommand();

	launcher_set_database_check(connectable ? CHECK_PRESENT : CHECK_ABSENT);
	proc_exit(0);
}

/*
 * The launcher's tasks are those the modules registered (base/wakeup.h):
 * a task in a transaction runs with SPI; it returns when it next wants to
 * run (0: no wish).  A task that fails is logged and retried later, and
 * never stops the others.
 */

/* Run one task in its own transaction; an ERROR is logged and retried later */
static void
launcher_run_task(ScribeLauncherTask *task, TimestampTz now)
{
	MemoryContext task_context = CurrentMemoryContext;

	PG_TRY();
	{
		/* now() is the transaction start, which a worker must set itself */
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		SPI_connect();
		task->due = task->run(now);
		SPI_finish();
		PopActiveSnapshot();
		CommitTransactionCommand();
		if (task->failing)
			ereport(LOG, (errmsg("pg_scribe launcher: %s recovered", task->name)));
		task->failing = false;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(task_context);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();

		if (edata->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE)
		{
			/* someone holds a lock we need (DROP EXTENSION, say): try again soon */
			ereport(DEBUG1,
					(errmsg("pg_scribe launcher: %s waits for a lock: %s", task->name, edata->message)));
			task->due = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), LAUNCHER_LOCK_RETRY_MS);
		}
		else
		{
			ereport(task->failing ? DEBUG1 : WARNING,
					(errcode(edata->sqlerrcode),
					 errmsg("pg_scribe launcher: %s failed: %s", task->name, edata->message),
					 edata->detail ? errdetail_internal("%s", edata->detail) : 0,
					 errhint("The launcher retries in %d seconds; until it recovers, repeats are logged at DEBUG1.",
							 LAUNCHER_RETRY_MS / 1000)));
			task->failing = true;
			task->due = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), LAUNCHER_RETRY_MS);
		}
		FreeErrorData(edata);
	}
	PG_END_TRY();
	pgstat_report_stat(false);
}

/*
 * Run a task outside any transaction (a VACUUM, say); an ERROR is logged
 * and the launcher goes on.  Returns when to run it again (0: when woken).
 */
static TimestampTz
launcher_run_guarded(ScribeLauncherTask *task, TimestampTz now)
{
	MemoryContext context = CurrentMemoryContext;
	volatile TimestampTz again = 0;

	PG_TRY();
	{
		again = task->run(now);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(context);
		EmitErrorReport();
		FlushErrorState();
		AbortCurrentTransaction();
		again = TimestampTzPlusMilliseconds(now, LAUNCHER_RETRY_MS);
	}
	PG_END_TRY();
	return again;
}

/*
 * Run the tasks registered for one of the whens in mask (bits 1 << when), in
 * the order registered, those WHEN_DUE only when due; lower *wake to the
 * earliest time one wants to run again.
 */
static void
launcher_run_tasks(int mask, TimestampTz now, TimestampTz *wake)
{
	for (int i = 0; i < scribe_launcher_task_count(); i++)
	{
		ScribeLauncherTask *task = scribe_launcher_task(i);

		if ((mask & (1 << task->when)) == 0)
			continue;
		switch (task->when)
		{
			case SCRIBE_TASK_WHEN_DUE:
				if (task->due <= now)
					launcher_run_task(task, now);
				break;
			case SCRIBE_TASK_EVERY_WAKEUP:
				launcher_run_task(task, now);
				break;
			case SCRIBE_TASK_AFTER_OTHERS:
				task->due = launcher_run_guarded(task, now);
				break;
			case SCRIBE_TASK_AT_CONNECT:
			case SCRIBE_TASK_UNINSTALLED:
				(void) task->run(now);
				break;
		}
		if (wake != NULL && task->due != 0 && task->due < *wake)
			*wake = task->due;
	}
}

/* Forget when each task wanted to run: all run at the next cycle */
static void
launcher_tasks_due_now(void)
{
	for (int i = 0; i < scribe_launcher_task_count(); i++)
		scribe_launcher_task(i)->due = 0;
}

/* Whether the extension is installed, in a transaction of its own */
static bool
launcher_extension_installed(void)
{
	bool		installed;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	installed = OidIsValid(get_extension_oid(SCRIBE_EXTENSION_NAME, true));
	CommitTransactionCommand();
	return installed;
}

/*
 * One cycle: find out whether the extension is installed, then run the
 * tasks that are due.  Returns how long we may sleep, in ms.
 */
static long
launcher_cycle(void)
{
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz wake = TimestampTzPlusMilliseconds(now, LAUNCHER_IDLE_RECHECK_MS);
	ScribeLauncherState state;

	state = launcher_extension_installed() ? LAUNCHER_RUNNING : LAUNCHER_WAITING_FOR_EXTENSION;
	launcher_set_state(state);

	switch (state)
	{
		case LAUNCHER_WAITING_FOR_EXTENSION:
			/* CREATE EXTENSION wakes us when it commits; workers have nothing to do */
			launcher_run_tasks(1 << SCRIBE_TASK_UNINSTALLED, now, NULL);
			launcher_tasks_due_now();
			break;

		case LAUNCHER_RUNNING:
			/* in the order registered: the replica watch before the pool and the policies */
			launcher_run_tasks((1 << SCRIBE_TASK_WHEN_DUE) | (1 << SCRIBE_TASK_EVERY_WAKEUP), now, &wake);
			launcher_run_tasks(1 << SCRIBE_TASK_AFTER_OTHERS, now, &wake);
			break;

		default:
			elog(ERROR, "pg_scribe launcher in unexpected state %d", (int) state);
	}
	return Max(TimestampDifferenceMilliseconds(GetCurrentTimestamp(), wake), 0);
}

/* Keep our lock waits below deadlock_timeout (at start and after a reload) */
static void
launcher_set_lock_timeout(void)
{
	int			ms = Min(LAUNCHER_LOCK_TIMEOUT_MS, Max(DeadlockTimeout / 2, 1));

	SetConfigOption("lock_timeout", psprintf("%d", ms), PGC_SUSET, PGC_S_SESSION);
}

/* Supervise: run a cycle, sleep on the latch until something is due, repeat */
static void
launcher_supervise(void)
{
	launcher_set_lock_timeout();
	for (;;)
	{
		long		sleep_ms;

		/* changed settings (a heartbeat interval, say) take effect now */
		if (launcher_absorb_signals())
		{
			launcher_set_lock_timeout();
			launcher_tasks_due_now();
		}

		sleep_ms = launcher_cycle();

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 sleep_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/* Entry point of the launcher process */
void
scribe_launcher_main(Datum main_arg)
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	/* die exits non-zero, so the postmaster restarts us after a terminate */
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	/*
	 * Look before connecting, unless the last attempt failed (no slot for
	 * the check, say) or the waiting launcher we replace just found it
	 */
	switch (launcher_attach())
	{
		case DATABASE_UNKNOWN:
			if (!launcher_database_exists())
				launcher_wait_for_database();
			break;
		case DATABASE_MISSING:
			launcher_wait_for_database();
			break;
		case DATABASE_FOUND:
			break;
	}

	/* if connecting is FATAL (dropped since we looked), the next start waits */
	launcher_set_database_hint(DATABASE_MISSING);
	BackgroundWorkerInitializeConnection(scribe_database, NULL, 0);
	launcher_set_database_hint(DATABASE_UNKNOWN);
	launcher_run_tasks(1 << SCRIBE_TASK_AT_CONNECT, GetCurrentTimestamp(), NULL);

	launcher_supervise();
}
