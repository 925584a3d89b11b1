/*
 * Read-your-writes across logical replication.
 *
 * On the primary, scribe.replication_commit_lsn() hands a session the end of its last
 * commit record.  On a replica, scribe.replication_wait_lsn() waits until every
 * transaction the primary committed up to that position is visible to the
 * replica's next snapshot.
 *
 * Progress of a subscription comes from two places, and neither is enough
 * alone:
 *
 *   origin progress  the remote commit end of the last transaction the apply
 *                    worker applied (replication origin pg_<subid>).  The
 *                    worker advances it inside its commit, just before its
 *                    transaction becomes visible, so a reader that sees the
 *                    progress must still wait for the worker's transaction
 *                    in flight (measured: ~4 % of reads missed the row
 *                    without that wait).  It never reaches the LSN of a
 *                    transaction that touched no published table: pgoutput
 *                    sends nothing for it.
 *   reply LSN        the WAL position of the last keepalive the apply worker
 *                    processed (pg_stat_subscription.latest_end_lsn): the
 *                    walsender had decoded everything before it, and the
 *                    worker processes messages in order, so every
 *                    transaction that committed before it is applied and
 *                    visible.  Keepalives follow skipped transactions, so
 *                    this is what moves past them on an idle primary.
 *
 * The wait is reached when the reply LSN passes the target, or when the
 * origin progress does and the apply worker's transaction of that moment
 * has ended.
 */
#include "base/pg_scribe.h"

#include <math.h>

#include "access/transam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_subscription.h"
#include "fmgr.h"
#include "pgstat.h"
#include "replication/origin.h"
#include "replication/worker_internal.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "utils/builtins.h"
#include "utils/pg_lsn.h"
#include "utils/timestamp.h"

/* Sleeps between two looks at the subscription's progress, in microseconds */
#define RYW_FIRST_SLEEP_US	100
#define RYW_MAX_SLEEP_US	5000

/* What the replica has applied of a subscription, read at one moment */
typedef struct ApplyProgress
{
	XLogRecPtr	origin_lsn;		/* replication origin's remote LSN */
	XLogRecPtr	reply_lsn;		/* apply worker's last keepalive position */
	TransactionId xid;			/* apply worker's transaction in flight */
	bool		worker_running; /* an apply worker runs */
} ApplyProgress;

PG_FUNCTION_INFO_V1(scribe_commit_lsn);
PG_FUNCTION_INFO_V1(scribe_wait_for_lsn);

/* The end of this session's last commit record, or NULL */
Datum
scribe_commit_lsn(PG_FUNCTION_ARGS)
{
	/*
	 * A transaction that wrote and has not committed yet would get the LSN
	 * of the previous commit: a replica waiting for it would miss this one.
	 */
	if (TransactionIdIsValid(GetTopTransactionIdIfAny()))
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("the current transaction has written but not committed"),
				 errdetail("scribe.replication_commit_lsn() returns the position of a commit that has happened."),
				 errhint("Call scribe.replication_commit_lsn() after COMMIT, in the next statement of the same session (a multi-statement query string runs as one transaction).")));

	if (XactLastCommitEnd == InvalidXLogRecPtr)
		PG_RETURN_NULL();
	PG_RETURN_LSN(XactLastCommitEnd);
}

/* Microseconds of an interval argument; -1 for NULL (no limit) */
static int64
timeout_usecs(FunctionCallInfo fcinfo, int argno)
{
	Interval   *span;
	double		usecs;

	if (PG_ARGISNULL(argno))
		return -1;
	span = PG_GETARG_INTERVAL_P(argno);
	usecs = (double) span->month * DAYS_PER_MONTH * USECS_PER_DAY
		+ (double) span->day * USECS_PER_DAY + (double) span->time;
	if (usecs < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("timeout must not be negative"),
				 errhint("Pass an interval such as '10 seconds', '0' to check without waiting, or NULL to wait until statement_timeout.")));
	if (usecs >= (double) PG_INT64_MAX / 2)
		return -1;
	return (int64) usecs;
}

/* Read the progress of subscription subid (its origin is originid) */
static void
read_apply_progress(Oid subid, RepOriginId originid, ApplyProgress *progress)
{
	LogicalRepWorker *worker;

	/* the origin first: a transaction in flight seen after it is the one to wait for */
	progress->origin_lsn = originid == InvalidRepOriginId ? InvalidXLogRecPtr
		: replorigin_get_progress(originid, false);

	progress->reply_lsn = InvalidXLogRecPtr;
	progress->xid = InvalidTransactionId;
	progress->worker_running = false;

	LWLockAcquire(LogicalRepWorkerLock, LW_SHARED);
	worker = logicalrep_worker_find(subid, InvalidOid, true);
	if (worker != NULL)
	{
		progress->worker_running = true;
		progress->reply_lsn = worker->reply_lsn;
		progress->xid = worker->proc->xid;
	}
	LWLockRelease(LogicalRepWorkerLock);
}

/* Sleep for a while, waking early for interrupts and postmaster death */
static void
ryw_sleep(long usecs)
{
	if (usecs < 1000)
		pg_usleep(usecs);
	else
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 usecs / 1000, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/* Report a wait that timed out: ERROR, with how far the replica got */
static void
report_timeout(const char *subname, Oid subid, XLogRecPtr target,
			   const ApplyProgress *progress, TransactionId pending_xid,
			   int64 waited_us)
{
	Subscription *sub = GetSubscription(subid, true);
	XLogRecPtr	reached = Max(progress->origin_lsn, progress->reply_lsn);
	const char *hint;

	if (sub == NULL)
		hint = psprintf("Subscription \"%s\" was dropped while waiting.", subname);
	else if (!sub->enabled)
		hint = psprintf("Subscription \"%s\" is disabled: ALTER SUBSCRIPTION %s ENABLE, or read from the primary.",
						subname, quote_identifier(subname));
	else if (!progress->worker_running)
		hint = psprintf("No apply worker runs for subscription \"%s\": see the server log, scribe.replication_status() and pg_stat_subscription, or read from the primary.",
						subname);
	else
		hint = psprintf("The replica lags behind the primary: see scribe.replication_status() and pg_stat_subscription, wait longer, or read from the primary.");

	ereport(ERROR,
			(errcode(ERRCODE_QUERY_CANCELED),
			 errmsg("timed out after %.3f s waiting for subscription \"%s\" to apply the primary's writes up to %X/%X",
					waited_us / 1000000.0, subname, LSN_FORMAT_ARGS(target)),
			 TransactionIdIsValid(pending_xid)
			 ? errdetail("The replica has received the writes up to %X/%X; the apply worker's transaction %u that carries them has not finished.",
						 LSN_FORMAT_ARGS(reached), pending_xid)
			 : errdetail("The replica has applied the primary's writes up to %X/%X.",
						 LSN_FORMAT_ARGS(reached)),
			 errhint("%s", hint)));
}

/* Refuse a NULL argument with a clear ERROR */
static void
require_argument(FunctionCallInfo fcinfo, int argno, const char *name, const char *hint)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", name),
				 errhint("%s", hint)));
}

/*
 * Wait until the primary's writes up to lsn are visible here; false (or an
 * ERROR when throw) after timeout
 */
Datum
scribe_wait_for_lsn(PG_FUNCTION_ARGS)
{
	XLogRecPtr	target;
	int64		timeout_us;
	const char *subname;
	bool		throw;
	Oid			subid;
	Subscription *sub;
	char		originname[NAMEDATALEN];
	RepOriginId originid;
	ApplyProgress progress;
	TransactionId pending_xid = InvalidTransactionId;
	TimestampTz start;
	long		sleep_us = RYW_FIRST_SLEEP_US;

	require_argument(fcinfo, 0, "lsn",
					 "Pass the result of scribe.replication_commit_lsn() on the primary; it is NULL when the session there has committed no write yet, and then there is nothing to wait for.");
	require_argument(fcinfo, 2, "subscription",
					 "Pass the name of the subscription to the primary (default 'scribe').");
	require_argument(fcinfo, 3, "throw",
					 "Pass true to raise an error on timeout, false to return false.");
	target = PG_GETARG_LSN(0);
	timeout_us = timeout_usecs(fcinfo, 1);
	subname = NameStr(*PG_GETARG_NAME(2));
	throw = PG_GETARG_BOOL(3);

	/* a snapshot taken before the wait would not see what the wait waited for */
	if (IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("scribe.replication_wait_lsn() cannot work in a REPEATABLE READ or SERIALIZABLE transaction"),
				 errdetail("The transaction's snapshot was taken before the wait; it cannot see the writes waited for."),
				 errhint("Call scribe.replication_wait_lsn() in its own statement before BEGIN ISOLATION LEVEL REPEATABLE READ, or read in READ COMMITTED.")));

	subid = get_subscription_oid(subname, true);
	if (!OidIsValid(subid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("subscription \"%s\" does not exist in this database", subname),
				 errhint("Call scribe.replication_wait_lsn() on a replica, in the database that subscribes to the primary (scribe.replication_subscribe() or CREATE SUBSCRIPTION); pg_stat_subscription lists the subscriptions.")));
	sub = GetSubscription(subid, false);

	/* the apply worker's origin (worker.c names it so) */
	snprintf(originname, sizeof(originname), "pg_%u", sub->oid);
	originid = replorigin_by_name(originname, true);

	start = GetCurrentTimestamp();
	for (;;)
	{
		int64		waited_us;

		CHECK_FOR_INTERRUPTS();

		if (!TransactionIdIsValid(pending_xid))
		{
			read_apply_progress(subid, originid, &progress);
			if (target <= progress.reply_lsn)
				PG_RETURN_BOOL(true);
			if (target <= progress.origin_lsn)
			{
				if (!TransactionIdIsValid(progress.xid) ||
					!TransactionIdIsInProgress(progress.xid))
					PG_RETURN_BOOL(true);
				pending_xid = progress.xid;
				sleep_us = RYW_FIRST_SLEEP_US;
			}
		}
		else if (!TransactionIdIsInProgress(pending_xid))
			PG_RETURN_BOOL(true);

		waited_us = GetCurrentTimestamp() - start;
		if (timeout_us >= 0 && waited_us >= timeout_us)
		{
			if (!throw)
				PG_RETURN_BOOL(false);
			report_timeout(subname, subid, target, &progress, pending_xid, waited_us);
		}

		if (timeout_us >= 0)
			sleep_us = Min(sleep_us, timeout_us - waited_us);
		ryw_sleep(Max(sleep_us, 1));
		sleep_us = Min(sleep_us * 2, RYW_MAX_SLEEP_US);
	}
}
