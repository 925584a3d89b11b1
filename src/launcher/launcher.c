/*
 * The launcher: one static background worker per server, connected to the
 * database named by scribe.database.
 *
 * It sleeps on its latch and wakes for work that is due, a commit that needs
 * it (CREATE EXTENSION, later an enqueue), a config reload or a signal.  Its
 * life is the state machine in launcher.h; each wake-up runs one cycle in
 * its own transaction, and an ERROR in a cycle is logged, not fatal, so one
 * bad row cannot crash-loop it.
 */
#include "pg_scribe.h"

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

#include "launcher/launcher.h"
#include "replication/heartbeat.h"

/* Seconds before the postmaster restarts a launcher that exited with an error */
#define LAUNCHER_RESTART_SECONDS 5

/* How often to look for a missing scribe.database (a SIGHUP looks at once) */
#define LAUNCHER_DATABASE_RECHECK_MS (10 * 1000)

/* Pause after a failed cycle, so that a persistent error never spins */
#define LAUNCHER_RETRY_MS (10 * 1000)

/*
 * Longest sleep with nothing due: a safety net for changes that do not wake
 * us, such as DROP EXTENSION.
 */
#define LAUNCHER_IDLE_RECHECK_MS (60 * 1000)

typedef struct LauncherShared
{
	slock_t		mutex;
	int			pid;
	PGPROC	   *proc;			/* whose latch to set; NULL when none runs */
	ScribeLauncherState state;
	TimestampTz started_at;
	TimestampTz state_since;
	int			starts;
	/* the last attempt to connect to scribe.database did not come back */
	bool		database_missing;
} LauncherShared;

char	   *scribe_database = NULL;

static LauncherShared *launcher_shared = NULL;

/* Whether the last cycle failed: the first failure is a WARNING, repeats DEBUG1 */
static bool launcher_cycle_failing = false;

/* Define the GUCs the launcher reads */
void
scribe_launcher_define_gucs(void)
{
	DefineCustomStringVariable("scribe.database",
							   "Database in which the pg_scribe launcher runs and the extension is installed.",
							   NULL,
							   &scribe_database,
							   "postgres",
							   PGC_POSTMASTER,
							   GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);
}

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

/* Set the latch of the running launcher, if any */
void
scribe_launcher_wake(void)
{
	PGPROC	   *proc;

	if (launcher_shared == NULL)
		return;

	SpinLockAcquire(&launcher_shared->mutex);
	proc = launcher_shared->proc;
	SpinLockRelease(&launcher_shared->mutex);

	/* a stale PGPROC only costs its new owner a spurious wake-up */
	if (proc != NULL)
		SetLatch(&proc->procLatch);
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
	launcher_shared->proc = NULL;
	launcher_shared->state = LAUNCHER_STOPPED;
	launcher_shared->state_since = GetCurrentTimestamp();
	SpinLockRelease(&launcher_shared->mutex);
}

/* Record our process in shared memory; return whether the database went missing */
static bool
launcher_attach(void)
{
	bool		database_missing;
	TimestampTz now = GetCurrentTimestamp();

	SpinLockAcquire(&launcher_shared->mutex);
	launcher_shared->pid = MyProcPid;
	launcher_shared->proc = MyProc;
	launcher_shared->state = LAUNCHER_STARTING;
	launcher_shared->started_at = now;
	launcher_shared->state_since = now;
	launcher_shared->starts++;
	database_missing = launcher_shared->database_missing;
	SpinLockRelease(&launcher_shared->mutex);

	before_shmem_exit(launcher_detach, (Datum) 0);
	return database_missing;
}

/* Note whether the next start should wait for the database instead of connecting */
static void
launcher_set_database_missing(bool missing)
{
	SpinLockAcquire(&launcher_shared->mutex);
	launcher_shared->database_missing = missing;
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
			launcher_set_database_missing(false);
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

/* Milliseconds from now until a timestamp, clamped to [0, cap] */
static long
launcher_ms_until(TimestampTz when, long cap)
{
	long		ms = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), when);

	return Min(ms, cap);
}

/*
 * One cycle of work in one transaction: find out whether the extension is
 * installed, then run what is due.  Returns how long we may sleep, in ms.
 */
static long
launcher_cycle(TimestampTz *next_beat)
{
	long		sleep_ms = LAUNCHER_IDLE_RECHECK_MS;
	ScribeLauncherState state;

	/* now() is the transaction start, which a worker must set itself */
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());

	state = OidIsValid(get_extension_oid(SCRIBE_EXTENSION_NAME, true)) ?
		LAUNCHER_RUNNING : LAUNCHER_WAITING_FOR_EXTENSION;
	launcher_set_state(state);

	switch (state)
	{
		case LAUNCHER_WAITING_FOR_EXTENSION:
			/* CREATE EXTENSION wakes us when it commits */
			break;

		case LAUNCHER_RUNNING:
			if (scribe_heartbeat_interval > 0)
			{
				TimestampTz now = GetCurrentTimestamp();

				if (*next_beat <= now)
				{
					scribe_heartbeat_beat();
					*next_beat = TimestampTzPlusMilliseconds(now, scribe_heartbeat_interval * 1000L);
				}
				sleep_ms = launcher_ms_until(*next_beat, sleep_ms);
			}
			break;

		default:
			elog(ERROR, "pg_scribe launcher in unexpected state %d", (int) state);
	}

	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_stat(false);
	return sleep_ms;
}

/*
 * Run a cycle, turning an ERROR into a log entry so that the loop goes on.
 * The first failure in a row is a WARNING, repeats are DEBUG1.
 */
static long
launcher_cycle_guarded(TimestampTz *next_beat)
{
	MemoryContext cycle_context = CurrentMemoryContext;
	volatile long sleep_ms = LAUNCHER_IDLE_RECHECK_MS;

	PG_TRY();
	{
		sleep_ms = launcher_cycle(next_beat);
		if (launcher_cycle_failing)
			ereport(LOG, (errmsg("pg_scribe launcher recovered")));
		launcher_cycle_failing = false;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cycle_context);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();

		ereport(launcher_cycle_failing ? DEBUG1 : WARNING,
				(errcode(edata->sqlerrcode),
				 errmsg("pg_scribe launcher: %s", edata->message),
				 edata->detail ? errdetail_internal("%s", edata->detail) : 0,
				 errhint("The launcher retries in %d seconds; until it recovers, repeats are logged at DEBUG1.",
						 LAUNCHER_RETRY_MS / 1000)));
		FreeErrorData(edata);
		launcher_cycle_failing = true;

		*next_beat = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), LAUNCHER_RETRY_MS);
		sleep_ms = LAUNCHER_RETRY_MS;
	}
	PG_END_TRY();

	return sleep_ms;
}

/* Supervise: run a cycle, sleep on the latch until something is due, repeat */
static void
launcher_supervise(void)
{
	TimestampTz next_beat = 0;

	for (;;)
	{
		long		sleep_ms;

		/* a changed heartbeat interval takes effect now */
		if (launcher_absorb_signals())
			next_beat = 0;

		sleep_ms = launcher_cycle_guarded(&next_beat);

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

	if (launcher_attach())
		launcher_wait_for_database();

	/* if connecting is FATAL, the next start waits for the database instead */
	launcher_set_database_missing(true);
	BackgroundWorkerInitializeConnection(scribe_database, NULL, 0);
	launcher_set_database_missing(false);

	launcher_supervise();
}
