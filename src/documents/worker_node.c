/*
 * A worker node's side: a pool worker that found no local job claims an ocr
 * job from the primary (scribe.queue_conninfo) over libpq with the queue's
 * verbs, recognises the document here, with this node's engine and cloud
 * settings, and gives the result back with scribe.ack(), whose hook for the
 * ocr kind writes it on the primary in the ack's transaction (node_verbs.c
 * is the primary's side).  The pool reaches this loop through the remote
 * work registered in jobs/job_kind.h, and this loop the pool through the
 * job runner declared there.
 *
 * A claim is one round trip: scribe.claim('ocr', 1) with, in the same
 * statement, the document's image (scribe.document_get_image_for_job()) and how many
 * jobs wait behind it (scribe.queue_stats()); the payload carries the
 * document's language and tier.  The outcome is a second one: ack, nack, or
 * release.
 *
 * One connection per worker, made on first use and kept.  Every wait for
 * the primary is a WaitLatchOrSocket, so that SIGTERM, a reload and the
 * postmaster's death are seen while the primary is slow; a primary that
 * cannot be reached costs a LOG line and a pause (REMOTE_RETRY_MS), never
 * the worker.  A node that disappears keeps its jobs leased on the primary
 * until the ocr queue's lease runs out; then any consumer claims them again.
 * A worker stopped mid-job (SIGTERM) gives the job back with
 * scribe.release(): the attempt does not count.
 */
#include "base/pg_scribe.h"

#include "access/xact.h"
#include "libpq-fe.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"

#include "documents/documents.h"
#include "jobs/job_kind.h"
#include "replication/heartbeat.h"

/* After the primary could not be reached, do not try again before this */
#define REMOTE_RETRY_MS 5000
/* Connecting to the primary gives up after this long */
#define REMOTE_CONNECT_TIMEOUT_MS 10000
/* A call to the primary gives up after this long (they are short) */
#define REMOTE_CALL_TIMEOUT_MS 30000
/* While the primary stays unreachable, say so in the log at most this often */
#define REMOTE_LOG_MS (60 * 1000)

/* The queue whose jobs worker nodes run */
#define REMOTE_QUEUE "ocr"
/* The SQLSTATE of a lease that is not the job's current one (any more) */
#define LEASE_REFUSED_SQLSTATE "55000"

static const char *remote_conninfo = NULL;	/* scribe.queue_conninfo, as the pool passed it */
static PGconn *remote_conn = NULL;
static char *remote_conn_info = NULL;	/* the conninfo remote_conn was made with */
static TimestampTz remote_retry_at = 0;
static TimestampTz remote_logged_at = 0;
static bool remote_down = false;	/* the last attempt to reach the primary failed */
static bool remote_woken = false;	/* our latch was set while we waited for the primary */

/* A job claimed from the primary's ocr queue */
typedef struct RemoteJob
{
	int64		job_id;
	char	   *lease;			/* the claim's token, as text */
	int32		attempt;
	int32		max_attempts;
	char	   *kind;			/* NULL: a plain message */
	int64		document_id;
	bytea	   *image;			/* NULL: the document is gone */
	char	   *lang;
	char	   *tier;
	bool		force_ocr;		/* a PDF: recognise the pages that carry text too */
	int64		lease_ms;
} RemoteJob;

/* Close the connection to the primary, if there is one */
static void
remote_disconnect(void)
{
	if (remote_conn != NULL)
		PQfinish(remote_conn);
	remote_conn = NULL;
	if (remote_conn_info != NULL)
		pfree(remote_conn_info);
	remote_conn_info = NULL;
}

/* Note that the primary could not be reached: log (not too often), disconnect, pause */
static void
remote_failed(const char *what, const char *why)
{
	TimestampTz now = GetCurrentTimestamp();

	if (!remote_down || TimestampDifferenceExceeds(remote_logged_at, now, REMOTE_LOG_MS))
	{
		ereport(LOG,
				(errmsg("pg_scribe worker node: %s failed: %s", what, why),
				 errdetail("The worker retries in %d ms and serves this node's own queues meanwhile.",
						   REMOTE_RETRY_MS),
				 errhint("Check scribe.queue_conninfo, the primary, and its pg_hba.conf.")));
		remote_logged_at = now;
	}
	remote_down = true;
	remote_disconnect();
	remote_retry_at = TimestampTzPlusMilliseconds(now, REMOTE_RETRY_MS);
}

/*
 * Wait until the connection's socket is ready for io, the latch is set, or
 * the deadline passes; false when the deadline passed.  Interrupts are
 * served; a set latch is remembered for the worker's loop.
 */
static bool
remote_wait(int io, TimestampTz deadline)
{
	long		ms = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);
	int			rc;

	if (ms <= 0)
		return false;
	rc = WaitLatchOrSocket(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH | io,
						   PQsocket(remote_conn), ms, PG_WAIT_EXTENSION);
	if (rc & WL_LATCH_SET)
	{
		ResetLatch(MyLatch);
		remote_woken = true;
	}
	CHECK_FOR_INTERRUPTS();
	return true;
}

/* Connect to the primary unless connected already; false (logged) on failure */
static bool
remote_connect(void)
{
	const char *keys[] = {"dbname", "fallback_application_name", NULL};
	const char *values[] = {remote_conninfo, "pg_scribe worker node", NULL};
	TimestampTz deadline;
	PostgresPollingStatusType status = PGRES_POLLING_WRITING;

	/* a reload changed scribe.queue_conninfo: connect anew */
	if (remote_conn != NULL && strcmp(remote_conn_info, remote_conninfo) != 0)
		remote_disconnect();
	if (remote_conn != NULL && PQstatus(remote_conn) == CONNECTION_OK)
		return true;
	remote_disconnect();

	remote_conn = PQconnectStartParams(keys, values, true);
	if (remote_conn == NULL)
	{
		remote_failed("connecting to the primary", "out of memory");
		return false;
	}
	remote_conn_info = MemoryContextStrdup(TopMemoryContext, remote_conninfo);
	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), REMOTE_CONNECT_TIMEOUT_MS);
	while (PQstatus(remote_conn) != CONNECTION_BAD &&
		   status != PGRES_POLLING_OK && status != PGRES_POLLING_FAILED)
	{
		int			io = status == PGRES_POLLING_READING ? WL_SOCKET_READABLE : WL_SOCKET_WRITEABLE;

		if (!remote_wait(io, deadline))
		{
			remote_failed("connecting to the primary", "timed out");
			return false;
		}
		status = PQconnectPoll(remote_conn);
	}
	if (PQstatus(remote_conn) != CONNECTION_OK)
	{
		remote_failed("connecting to the primary", pchomp(PQerrorMessage(remote_conn)));
		return false;
	}
	/* sends wait on the latch too, instead of blocking in libpq */
	if (PQsetnonblocking(remote_conn, 1) != 0)
	{
		remote_failed("connecting to the primary", pchomp(PQerrorMessage(remote_conn)));
		return false;
	}
	if (remote_down)
		ereport(LOG, (errmsg("pg_scribe worker node: connected to the primary again")));
	remote_down = false;
	return true;
}

/* Send a query and collect its last result; NULL (logged, disconnected) on a connection failure */
static PGresult *
remote_call_unguarded(const char *what, const char *sql, int nparams, const char *const *params,
					  PGresult **last)
{
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), REMOTE_CALL_TIMEOUT_MS);
	int			flushed;

	if (!PQsendQueryParams(remote_conn, sql, nparams, NULL, params, NULL, NULL, 0))
	{
		remote_failed(what, pchomp(PQerrorMessage(remote_conn)));
		return NULL;
	}
	while ((flushed = PQflush(remote_conn)) == 1)
	{
		if (!remote_wait(WL_SOCKET_WRITEABLE | WL_SOCKET_READABLE, deadline))
		{
			remote_failed(what, "timed out");
			return NULL;
		}
		/* the server may answer (an error) before taking all of our data */
		if (!PQconsumeInput(remote_conn))
			break;
	}
	if (flushed < 0)
	{
		remote_failed(what, pchomp(PQerrorMessage(remote_conn)));
		return NULL;
	}
	for (;;)
	{
		PGresult   *res;

		while (PQisBusy(remote_conn))
		{
			if (!remote_wait(WL_SOCKET_READABLE, deadline))
			{
				remote_failed(what, "timed out");
				return NULL;
			}
			if (!PQconsumeInput(remote_conn))
			{
				remote_failed(what, pchomp(PQerrorMessage(remote_conn)));
				return NULL;
			}
		}
		res = PQgetResult(remote_conn);
		if (res == NULL)
			break;
		PQclear(*last);
		*last = res;
	}
	if (*last == NULL || PQstatus(remote_conn) != CONNECTION_OK)
	{
		remote_failed(what, pchomp(PQerrorMessage(remote_conn)));
		return NULL;
	}
	return *last;
}

/*
 * Run a statement on the primary: its result (the caller PQclears it), or
 * NULL when the primary could not be reached or the statement failed
 * (logged).  With lease_refused, a refusal of the job's lease (it passed to
 * another consumer) is not a failure: NULL, and *lease_refused is set.  An
 * interrupt while waiting closes the connection and is rethrown.
 */
static PGresult *
remote_call(const char *what, const char *sql, int nparams, const char *const *params,
			bool *lease_refused)
{
	PGresult   *volatile last = NULL;
	PGresult   *res = NULL;

	if (!remote_connect())
		return NULL;
	PG_TRY();
	{
		res = remote_call_unguarded(what, sql, nparams, params, (PGresult **) &last);
	}
	PG_CATCH();
	{
		/* the connection is mid-statement: start afresh next time */
		PQclear(last);
		remote_disconnect();
		PG_RE_THROW();
	}
	PG_END_TRY();
	if (res == NULL)
	{
		PQclear(last);
		return NULL;
	}
	if (lease_refused != NULL && PQresultStatus(res) == PGRES_FATAL_ERROR &&
		PQresultErrorField(res, PG_DIAG_SQLSTATE) != NULL &&
		strcmp(PQresultErrorField(res, PG_DIAG_SQLSTATE), LEASE_REFUSED_SQLSTATE) == 0)
	{
		*lease_refused = true;
		PQclear(res);
		return NULL;
	}
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		/* the primary is there but refused: say why, and pause as for a failure */
		ereport(LOG,
				(errmsg("pg_scribe worker node: %s failed on the primary: %s", what,
						pchomp(PQresultErrorMessage(res))),
				 errhint("The role of scribe.queue_conninfo needs scribe_app and scribe_monitor, and the claim right on the ocr queue (scribe.queue_grant), with pg_scribe installed on the primary.")));
		PQclear(res);
		remote_retry_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), REMOTE_RETRY_MS);
		return NULL;
	}
	return res;
}

/* A text column of a row, or NULL */
static char *
remote_text(PGresult *res, int col)
{
	return PQgetisnull(res, 0, col) ? NULL : pstrdup(PQgetvalue(res, 0, col));
}

/*
 * Claim one job of the primary's ocr queue into job (in the current memory
 * context), with its document's image, in one statement; false if none.
 * The jobs waiting behind it go to the runner, which scales the pool.
 */
static bool
remote_claim(RemoteJob *job)
{
	PGresult   *res;
	size_t		len;
	unsigned char *image;
	int64		backlog;

	/* the counters learn of this claim at commit: ready counts our job still */
	res = remote_call("claiming an ocr job",
					  "SELECT c.job_id, c.lease, c.attempt, c.max_attempts, c.kind, "
					  "  c.payload->>'document_id', c.payload->>'lang', c.payload->>'tier', "
					  "  CASE WHEN c.kind = 'ocr' THEN scribe.document_get_image_for_job(c.job_id, c.lease) END, "
					  "  (extract(epoch FROM c.lease_until - clock_timestamp()) * 1000)::bigint, "
					  "  greatest((SELECT s.ready FROM scribe.queue_stats('" REMOTE_QUEUE "') s) - 1, 0), "
					  "  c.payload->>'force_ocr' = 'true' "
					  "FROM scribe.claim('" REMOTE_QUEUE "', 1) c", 0, NULL, NULL);
	if (res == NULL)
		return false;
	if (PQntuples(res) == 0)
	{
		PQclear(res);
		scribe_job_remote_backlog(0);
		return false;
	}
	memset(job, 0, sizeof(*job));
	job->job_id = pg_strtoint64(PQgetvalue(res, 0, 0));
	job->lease = pstrdup(PQgetvalue(res, 0, 1));
	job->attempt = pg_strtoint32(PQgetvalue(res, 0, 2));
	job->max_attempts = pg_strtoint32(PQgetvalue(res, 0, 3));
	job->kind = remote_text(res, 4);
	job->document_id = PQgetisnull(res, 0, 5) ? 0 : pg_strtoint64(PQgetvalue(res, 0, 5));
	job->lang = remote_text(res, 6);
	job->tier = remote_text(res, 7);
	job->force_ocr = !PQgetisnull(res, 0, 11) && strcmp(PQgetvalue(res, 0, 11), "t") == 0;
	job->lease_ms = Max(pg_strtoint64(PQgetvalue(res, 0, 9)), 1);
	backlog = PQgetisnull(res, 0, 10) ? 0 : pg_strtoint64(PQgetvalue(res, 0, 10));
	if (!PQgetisnull(res, 0, 8))
	{
		image = PQunescapeBytea((const unsigned char *) PQgetvalue(res, 0, 8), &len);
		if (image == NULL)
		{
			PQclear(res);
			elog(ERROR, "out of memory decoding the image of ocr job " INT64_FORMAT, job->job_id);
		}
		job->image = palloc(VARHDRSZ + len);
		SET_VARSIZE(job->image, VARHDRSZ + len);
		memcpy(VARDATA(job->image), image, len);
		PQfreemem(image);
	}
	PQclear(res);

	/* more wait on the primary: another idle worker, or a new one, should look */
	scribe_job_remote_backlog(backlog);
	return true;
}

/*
 * Run a statement about a job on the primary and say what came back (NULL:
 * nothing); *lease_refused when the job's lease had passed on.
 */
static char *
remote_job_call(const RemoteJob *job, const char *what, const char *sql, int nparams, const char *const *params,
				bool *lease_refused)
{
	PGresult   *res;
	char	   *answer = NULL;

	*lease_refused = false;
	res = remote_call(what, sql, nparams, params, lease_refused);
	if (res == NULL)
	{
		if (!*lease_refused)
			ereport(LOG,
					(errmsg("pg_scribe worker node: ocr job " INT64_FORMAT " (attempt %d) is left to its lease on the primary",
							job->job_id, job->attempt),
					 errdetail("The node could not tell the primary the job's outcome; another consumer runs it again once the lease ends.")));
		return NULL;
	}
	if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
		answer = pstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return answer;
}

/*
 * Recognise a claimed job's document here, in a transaction of our own (the
 * subtransaction that keeps an engine failure an outcome needs one) without
 * a snapshot, and the queue's lease as the time limit.  Returns the result
 * as text, or NULL with *error and *outcome; *released when a shutdown
 * cancelled it.
 */
static char *
remote_recognize(const RemoteJob *job, const char **method, bool *fallback, char **error,
				 ScribeJobOutcome *outcome, bool *unreadable, bool *released)
{
	MemoryContext jobcxt = CurrentMemoryContext;
	ScribeJob	claimed = {0};
	char	   *volatile text = NULL;

	claimed.job_id = job->job_id;
	claimed.attempt = job->attempt;
	claimed.max_attempts = job->max_attempts;
	claimed.kind = "ocr";
	*released = false;
	*unreadable = false;

	StartTransactionCommand();
	MemoryContextSwitchTo(jobcxt);
	PG_TRY();
	{
		Jsonb	   *ocr;

		scribe_job_timer_start(job->lease_ms);
		ocr = scribe_ocr_recognize_document(&claimed, job->image, job->lang, job->tier, job->force_ocr,
											method, fallback, error, outcome, unreadable);
		scribe_job_timer_stop();
		MemoryContextSwitchTo(jobcxt);
		if (ocr != NULL)
			text = JsonbToCString(NULL, &ocr->root, VARSIZE(ocr));
		else
			*error = pstrdup(*error);
		CommitTransactionCommand();
		MemoryContextSwitchTo(jobcxt);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		scribe_job_timer_stop();
		MemoryContextSwitchTo(jobcxt);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		MemoryContextSwitchTo(jobcxt);
		*error = edata->detail ? psprintf("%s (%s)", edata->message, edata->detail) : pstrdup(edata->message);
		*outcome = JOB_RETRY;
		*released = scribe_job_stopping();
		FreeErrorData(edata);
		text = NULL;
	}
	PG_END_TRY();
	return text;
}

/*
 * Run an ocr job claimed from the primary, and tell the primary how it went:
 * ack with the result, nack with the error, or release when stopping.
 */
static void
remote_run_job(const RemoteJob *job)
{
	const char *method = "local";
	bool		fallback = false;
	char	   *error = NULL;
	ScribeJobOutcome outcome = JOB_DONE;
	bool		released = false;
	bool		unreadable = false;
	char	   *result = NULL;
	char		id[32];
	const char *node = scribe_heartbeat_node_name();
	bool		refused;

	snprintf(id, sizeof(id), INT64_FORMAT, job->job_id);
	if (job->kind == NULL || strcmp(job->kind, "ocr") != 0)
	{
		/* what a pool worker does with a job it has no kind for */
		const char *params[3] = {id, job->lease,
		psprintf("job kind %s cannot run in the worker pool", job->kind ? job->kind : "NULL")};

		(void) remote_job_call(job, "failing a job", "SELECT scribe.nack($1, $2, $3, retry => false)",
							   3, params, &refused);
		return;
	}
	if (job->image == NULL)
	{
		/* the document was deleted: the ack records that there was nothing to do */
		const char *params[2] = {id, job->lease};

		(void) remote_job_call(job, "acking an ocr job", "SELECT scribe.ack($1, $2)", 2, params, &refused);
		return;
	}

	scribe_job_begin(job->job_id, job->attempt, "ocr",
					 psprintf("running ocr job %s of the primary", id));
	if (job->lang == NULL || job->tier == NULL)
	{
		error = pstrdup("the payload of the ocr job has no lang and tier: submitted before pg_scribe 0.2.0?");
		outcome = JOB_RETRY;
	}
	else
	{
		result = remote_recognize(job, &method, &fallback, &error, &outcome, &unreadable, &released);
	}

	if (result != NULL)
	{
		/* the engine's result, and how and where it was recognised */
		const char *params[6] = {id, job->lease, result, method, fallback ? "true" : "false", node};
		char	   *acked = remote_job_call(job, "finishing an ocr job",
											"SELECT scribe.ack($1, $2, $3::jsonb || jsonb_build_object("
											"'method', $4::text, 'fallback', $5::boolean, 'node', $6::text))",
											6, params, &refused);

		if (refused || (acked != NULL && strcmp(acked, "f") == 0))
			ereport(LOG,
					(errmsg("pg_scribe worker node: the result of ocr job " INT64_FORMAT " was dropped: its lease had passed to another consumer",
							job->job_id),
					 errhint("Raise the lease of the ocr queue (scribe.queue_alter) above the longest recognition.")));
		scribe_job_end(acked != NULL && strcmp(acked, "t") == 0, false);
	}
	else if (unreadable)
	{
		/* the document cannot be read: the ack fails it with the reason (no dead letter) */
		const char *params[4] = {id, job->lease, error, node};

		(void) remote_job_call(job, "failing an unreadable document",
							   "SELECT scribe.ack($1, $2, jsonb_build_object('failed', $3::text, 'node', $4::text))",
							   4, params, &refused);
		scribe_job_end(false, false);
	}
	else if (released)
	{
		const char *params[2] = {id, job->lease};

		(void) remote_job_call(job, "giving an ocr job back",
							   "SELECT scribe.release($1, $2)", 2, params, &refused);
		scribe_job_end(false, true);
	}
	else
	{
		const char *params[4] = {id, job->lease, error, outcome == JOB_FAILED ? "false" : "true"};

		(void) remote_job_call(job, "failing an ocr job",
							   "SELECT scribe.nack($1, $2, $3, retry => $4::boolean)", 4, params, &refused);
		scribe_job_end(false, false);
	}
}

/*
 * A worker node's turn, when the node's own queues had nothing: claim one
 * ocr job from the primary (conninfo) and run it.  Returns how many jobs ran
 * (0 or 1).
 */
static int
remote_turn(const char *conninfo)
{
	RemoteJob	job;

	/* no longer a worker node (a reload emptied scribe.queue_conninfo) */
	if (conninfo == NULL || conninfo[0] == '\0')
	{
		remote_disconnect();
		return 0;
	}
	remote_conninfo = conninfo;
	if (GetCurrentTimestamp() < remote_retry_at)
		return 0;

	remote_woken = false;
	if (!remote_claim(&job))
	{
		if (remote_woken)
			SetLatch(MyLatch);
		return 0;
	}
	remote_run_job(&job);
	/* a committer woke us while we talked to the primary: look again at once */
	if (remote_woken)
		SetLatch(MyLatch);
	return 1;
}

/* Close the connection to the primary as the worker exits */
static void
remote_close(void)
{
	remote_disconnect();
}

/* What a pool worker runs when its node's queues are empty, on a worker node */
const ScribeJobRemoteWork scribe_worker_node_work = {
	.turn = remote_turn,
	.close = remote_close,
};
