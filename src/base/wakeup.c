/*
 * Commit-time wake-ups of the launcher and the workers.
 *
 * A change that the launcher or a worker must act on (CREATE or DROP
 * EXTENSION, an enqueue, a retry scheduled) asks for a wake-up; latches are
 * set when the transaction commits, never before, so nobody looks for work
 * that it cannot see yet, and a transaction that asks many times (a batch of
 * 100,000 jobs) wakes once.
 */
#include "pg_scribe.h"

#include "access/xact.h"
#include "catalog/objectaccess.h"
#include "catalog/pg_extension.h"
#include "commands/extension.h"

#include "launcher/launcher.h"
#include "pool/pool.h"
#include "queue/queue_stats.h"

static bool wake_registered = false;
static bool wake_pending = false;
static pg_atomic_uint32 *wake_flag = NULL;
static int64 wake_ready_jobs = 0;
static TimestampTz wake_due = 0;
static object_access_hook_type prev_object_access_hook = NULL;

/* Set the launcher's latch once the transaction that asked has committed */
static void
launcher_wakeup_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			/* whoever we wake must see the counts of the jobs it is woken for */
			scribe_queue_stats_at_commit();

			/*
			 * An idle worker takes ready jobs; with none, or more jobs than
			 * one worker's share, the launcher may add workers.
			 */
			if (wake_ready_jobs > 0 &&
				(!scribe_pool_wake_idle_worker() || wake_ready_jobs > scribe_jobs_per_worker))
				scribe_pool_want_launcher();
			/* the launcher sleeps until the earliest delayed job falls due */
			if (wake_due != 0 && scribe_queue_next_due_lower(wake_due))
				wake_pending = true;
			/* the flag first: a launcher woken must find it set */
			if (wake_flag != NULL)
				pg_atomic_write_u32(wake_flag, 1);
			if (wake_pending)
				scribe_launcher_wake();
			wake_pending = false;
			wake_flag = NULL;
			wake_ready_jobs = 0;
			wake_due = 0;
			break;

		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:

			/*
			 * COMMIT PREPARED may run in another session: the launcher's
			 * periodic recheck covers a prepared transaction.
			 */
		case XACT_EVENT_PREPARE:
			wake_pending = false;
			wake_flag = NULL;
			wake_ready_jobs = 0;
			wake_due = 0;
			break;

		default:
			break;
	}
}

/* Register the transaction callback once per backend */
static void
wakeup_register(void)
{
	if (!wake_registered)
	{
		RegisterXactCallback(launcher_wakeup_xact_callback, NULL);
		wake_registered = true;
	}
}

/*
 * Ask for a launcher wake-up when the current transaction commits.  A
 * subtransaction that rolls back keeps the request: a spurious wake-up only
 * costs the launcher one look.
 */
void
scribe_launcher_wake_at_commit(void)
{
	wakeup_register();
	wake_pending = true;
}

/*
 * Ask for a launcher wake-up at commit, with *flag set to 1 just before it:
 * set earlier, a launcher cycle running before the commit could clear the
 * flag without seeing the change, and sleep through the wake-up.
 */
void
scribe_launcher_wake_at_commit_flag(pg_atomic_uint32 *flag)
{
	scribe_launcher_wake_at_commit();
	wake_flag = flag;
}

/*
 * Ask for a worker when the current transaction commits: ready_jobs became
 * ready in a workers queue, or a delayed job falls due at due (0: none).
 */
void
scribe_workers_wake_at_commit(int64 ready_jobs, TimestampTz due)
{
	wakeup_register();
	wake_ready_jobs += ready_jobs;
	if (due != 0 && (wake_due == 0 || due < wake_due))
		wake_due = due;
}

/* Wake the launcher when a DROP EXTENSION pg_scribe commits */
static void
launcher_wakeup_object_access(ObjectAccessType access, Oid classId, Oid objectId,
							  int subId, void *arg)
{
	if (prev_object_access_hook)
		prev_object_access_hook(access, classId, objectId, subId, arg);

	if (access == OAT_DROP && classId == ExtensionRelationId)
	{
		char	   *name = get_extension_name(objectId);

		if (name != NULL && strcmp(name, SCRIBE_EXTENSION_NAME) == 0)
			scribe_launcher_wake_at_commit();
	}
}

/* Watch for DROP EXTENSION pg_scribe in every backend (server start only) */
void
scribe_launcher_watch_drops(void)
{
	prev_object_access_hook = object_access_hook;
	object_access_hook = launcher_wakeup_object_access;
}
