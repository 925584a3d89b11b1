/*
 * The launcher's latch, and commit-time wake-ups of the launcher.
 *
 * A change that the launcher must act on (CREATE or DROP EXTENSION, a
 * policy changed, a replica's setting) asks for a wake-up; the latch is set
 * when the transaction commits, never before, so the launcher never looks
 * for work that it cannot see yet, and a transaction that asks many times
 * wakes it once.  The latch lives here, below every capability, so that
 * any of them can wake the launcher without knowing its code.
 */
#include "base/pg_scribe.h"

#include "catalog/objectaccess.h"
#include "catalog/pg_database.h"
#include "catalog/pg_extension.h"
#include "commands/extension.h"
#include "storage/latch.h"
#include "storage/shmem.h"
#include "storage/spin.h"

#include "base/wakeup.h"
#include "base/xact.h"

/* Whose latch to set: the running launcher's, NULL when none runs */
typedef struct LauncherLatch
{
	slock_t		mutex;
	PGPROC	   *proc;
} LauncherLatch;

static LauncherLatch *launcher_latch = NULL;
static bool wake_registered = false;
static bool wake_pending = false;
static pg_atomic_uint32 *wake_flag = NULL;
static object_access_hook_type prev_object_access_hook = NULL;

/* Shared memory of the latch pointer */
Size
scribe_launcher_latch_shmem_size(void)
{
	return MAXALIGN(sizeof(LauncherLatch));
}

/* Create or attach to the latch pointer */
void
scribe_launcher_latch_shmem_init(void)
{
	bool		found;

	launcher_latch = ShmemInitStruct("pg_scribe launcher latch", sizeof(LauncherLatch), &found);
	if (!found)
	{
		SpinLockInit(&launcher_latch->mutex);
		launcher_latch->proc = NULL;
	}
}

/* The launcher publishes its process (NULL as it exits) */
void
scribe_launcher_latch_attach(PGPROC *proc)
{
	SpinLockAcquire(&launcher_latch->mutex);
	launcher_latch->proc = proc;
	SpinLockRelease(&launcher_latch->mutex);
}

/* Set the latch of the running launcher, if any */
void
scribe_launcher_wake(void)
{
	PGPROC	   *proc;

	if (launcher_latch == NULL)
		return;

	SpinLockAcquire(&launcher_latch->mutex);
	proc = launcher_latch->proc;
	SpinLockRelease(&launcher_latch->mutex);

	/* a stale PGPROC only costs its new owner a spurious wake-up */
	if (proc != NULL)
		SetLatch(&proc->procLatch);
}

/* Set the launcher's latch once the transaction that asked has committed */
static void
launcher_wakeup_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			/* the flag first: a launcher woken must find it set */
			if (wake_flag != NULL)
				pg_atomic_write_u32(wake_flag, 1);
			if (wake_pending)
				scribe_launcher_wake();
			wake_pending = false;
			wake_flag = NULL;
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
		scribe_xact_register(SCRIBE_XACT_PHASE_WAKE, launcher_wakeup_xact_callback, NULL);
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
 * Wake the launcher when a DROP EXTENSION pg_scribe commits, and when a
 * database is created or altered (renamed, opened to connections): a
 * launcher waiting for scribe.database looks at once.
 */
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
	else if ((access == OAT_POST_CREATE || access == OAT_POST_ALTER) && classId == DatabaseRelationId)
		scribe_launcher_wake_at_commit();
}

/*
 * Watch for DROP EXTENSION pg_scribe and for new databases in every backend
 * (server start only)
 */
void
scribe_launcher_watch_objects(void)
{
	prev_object_access_hook = object_access_hook;
	object_access_hook = launcher_wakeup_object_access;
}
