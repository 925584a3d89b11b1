/*
 * Commit-time wake-ups of the launcher.
 *
 * A change that the launcher must act on (CREATE EXTENSION, later an
 * enqueue) asks for a wake-up; the latch is set when the transaction
 * commits, never before, so the launcher never looks for work that it
 * cannot see yet, and a transaction that asks many times wakes it once.
 */
#include "pg_scribe.h"

#include "access/xact.h"
#include "catalog/objectaccess.h"
#include "catalog/pg_extension.h"
#include "commands/extension.h"

#include "launcher/launcher.h"

static bool wake_registered = false;
static bool wake_pending = false;
static object_access_hook_type prev_object_access_hook = NULL;

/* Set the launcher's latch once the transaction that asked has committed */
static void
launcher_wakeup_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			if (wake_pending)
				scribe_launcher_wake();
			wake_pending = false;
			break;

		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:

			/*
			 * COMMIT PREPARED may run in another session: the launcher's
			 * periodic recheck covers a prepared transaction.
			 */
		case XACT_EVENT_PREPARE:
			wake_pending = false;
			break;

		default:
			break;
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
	if (!wake_registered)
	{
		RegisterXactCallback(launcher_wakeup_xact_callback, NULL);
		wake_registered = true;
	}
	wake_pending = true;
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
