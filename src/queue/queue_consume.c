/*
 * Consume: ack, nack, extend a lease, release, dead-letter (the claim is in
 * queue_claim.c).
 *
 * (job_id, lease token) names one lease: only the claimer
 * learns the token, so an ack, nack or extension with any other token (a
 * guess, or the token of an earlier claim whose lease passed to another
 * consumer) is refused.  A nack keeps the token until the next claim, so
 * that the same nack repeated is answered 'retry'; a release clears it.  A
 * lease that ran out makes the job claimable again; the next claim records
 * the expiry as the attempt's error.
 */
#include "base/pg_scribe.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "queue/queue.h"
#include "queue/queue_stats.h"
#include "base/spi_plans.h"

/* Bytes kept free at the end of a cut error for the note that says so */
#define ERROR_CUT_NOTE 64

/* What a job's row says of a lease token */
typedef enum LeaseState
{
	LEASE_GONE,					/* no such unfinished job */
	LEASE_OTHER,				/* the token is not the job's current one */
	LEASE_HELD,					/* the token holds the job in flight */
	LEASE_GIVEN_BACK			/* the token's attempt was nacked: it waits for a retry */
} LeaseState;

static SPIPlanPtr plan_ack = NULL;
static SPIPlanPtr plan_ack_many = NULL;
static SPIPlanPtr plan_nack = NULL;
static SPIPlanPtr plan_dead = NULL;
static SPIPlanPtr plan_extend = NULL;
static SPIPlanPtr plan_lookup_job = NULL;
static SPIPlanPtr plan_lock = NULL;
static SPIPlanPtr plan_release = NULL;
static SPIPlanPtr plan_release_failed = NULL;
static SPIPlanPtr plan_orphans = NULL;

/* An error entry of the errors array, for attempt a of row r */
#define ERROR_ENTRY(r, error) "jsonb_build_object('attempt', " r ".attempts, 'at', clock_timestamp(), " \
	"'error', " error ", 'consumer', " r ".claimed_by)"

/*
 * The rows of jobs that a lease token still holds, in a table aliased t
 * (with its dot, or "" unaliased): one job, $1 its id and $2 the token; or
 * many, $1 their ids and $2 their tokens side by side
 */
#define HELD_BY_LEASE(t) t "job_id = $1 AND " t "lease = $2 AND " t "lease_until IS NOT NULL"
#define HELD_BY_LEASES(t) t "job_id = ANY ($1) AND " t "lease = ($2)[array_position($1, " t "job_id)] " \
	"AND " t "lease_until IS NOT NULL"

/*
 * The error text to record for an attempt: the error itself, or, longer than
 * SCRIBE_MAX_ERROR_BYTES, its beginning cut on a character boundary with a
 * note of its length.  A cut text is short enough to come back unchanged.
 */
const char *
scribe_queue_error_text(const char *error)
{
	size_t		len = strlen(error);
	int			keep;

	if (len <= SCRIBE_MAX_ERROR_BYTES)
		return error;
	keep = pg_mbcliplen(error, (int) Min(len, (size_t) MaxAllocSize),
						SCRIBE_MAX_ERROR_BYTES - ERROR_CUT_NOTE);
	return psprintf("%.*s [... truncated: the error had %zu bytes]", keep, error, len);
}

/* The text in column col of row r of the last result, or NULL */
static const char *
result_text(uint64 r, int col)
{
	return SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, col);
}

/* Count the jobs that the last statement moved to the dead letters (columns queue_id, kind) */
void
scribe_queue_account_dead_rows(void)
{
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		int32		queue_id = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));

		scribe_queue_stats_count(queue_id, -1, -1);
		scribe_queue_stats_failed(queue_id, result_text(i, 2), true);
	}
}

/*
 * Count the jobs that the last statement acked: columns queue_id, run_at,
 * claimed_at, finished_at, kind
 */
static void
account_acked_rows(void)
{
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		int32		queue_id = DatumGetInt32(SPI_getbinval(tuple, desc, 1, &isnull));

		scribe_queue_stats_count(queue_id, -1, -1);
		scribe_queue_stats_finished(queue_id, result_text(r, 5),
									DatumGetTimestampTz(SPI_getbinval(tuple, desc, 2, &isnull)),
									DatumGetTimestampTz(SPI_getbinval(tuple, desc, 3, &isnull)),
									DatumGetTimestampTz(SPI_getbinval(tuple, desc, 4, &isnull)));
	}
}

/* The parameters $1 and $2 of a statement on one leased job: its id and its lease token */
static void
lease_params(int64 job_id, const pg_uuid_t *lease, Datum *values)
{
	values[0] = Int64GetDatum(job_id);
	values[1] = UUIDPGetDatum(lease);
}

/* What the row of a job says of a lease token (inside SPI) */
static LeaseState
lease_state(int64 job_id, const pg_uuid_t *lease)
{
	Oid			argtypes[2] = {INT8OID, UUIDOID};
	Datum		values[2];
	bool		isnull;

	lease_params(job_id, lease, values);
	scribe_plan_execute(&plan_lookup_job,
						"SELECT COALESCE(lease = $2, false), lease_until IS NOT NULL "
						"FROM scribe.jobs WHERE job_id = $1",
						2, argtypes, values, NULL, true, 1);
	if (SPI_processed == 0)
		return LEASE_GONE;
	if (!DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)))
		return LEASE_OTHER;
	return DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull)) ?
		LEASE_HELD : LEASE_GIVEN_BACK;
}

/*
 * Raise the error for an ack, nack or lease extension that the job refused.
 * It says whether the job is unfinished, never what its lease is.
 */
static void
refuse(int64 job_id, LeaseState state, const char *action)
{
	if (state == LEASE_GONE)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot %s job " INT64_FORMAT ": it is not in flight", action, job_id),
				 errhint("It was acked, moved to the dead letters or purged; scribe.job_get() tells which.")));
	if (state == LEASE_GIVEN_BACK)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot %s job " INT64_FORMAT ": its lease was given back", action, job_id),
				 errhint("The attempt was nacked already; claim the job again with scribe.claim().")));
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("cannot %s job " INT64_FORMAT ": the lease is not the job's current one", action, job_id),
			 errhint("Pass the lease token that scribe.claim() returned with the job. A lease that ran out passes to the next consumer: call scribe.extend_lease() while a job runs longer than its queue's lease.")));
}

/* After a verb that changed no row: false when the job is gone (done already), else its ERROR */
static bool
gone_or_refuse(int64 job_id, const pg_uuid_t *lease, const char *action)
{
	LeaseState	state = lease_state(job_id, lease);

	if (state != LEASE_GONE)
		refuse(job_id, state, action);
	return false;
}

/*
 * Lock a job whose lease (job_id, token) is held, with what its hooks need
 * (inside SPI); false when the token does not hold it (any more).
 */
static bool
lock_leased_job(int64 job_id, const pg_uuid_t *lease, ScribeJob *job)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[2] = {INT8OID, UUIDOID};
	Datum		values[2] = {Int64GetDatum(job_id), UUIDPGetDatum(lease)};
	HeapTuple	row;
	TupleDesc	desc;
	bool		isnull;
	Datum		kind;

	scribe_plan_execute(&plan,
						"SELECT kind, payload, attempts, max_attempts, queue_id FROM scribe.jobs "
						"WHERE " HELD_BY_LEASE("") " FOR UPDATE",
						2, argtypes, values, NULL, false, 1);
	if (SPI_processed == 0)
		return false;
	row = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	memset(job, 0, sizeof(*job));
	job->job_id = job_id;
	job->lease = *lease;
	kind = SPI_getbinval(row, desc, 1, &isnull);
	job->kind = isnull ? NULL : TextDatumGetCString(kind);
	job->payload = DatumGetJsonbP(SPI_getbinval(row, desc, 2, &isnull));
	job->attempt = DatumGetInt32(SPI_getbinval(row, desc, 3, &isnull));
	job->max_attempts = DatumGetInt32(SPI_getbinval(row, desc, 4, &isnull));
	job->queue_id = DatumGetInt32(SPI_getbinval(row, desc, 5, &isnull));
	return true;
}

/*
 * ERROR unless role (a consumer; InvalidOid for the pool) may claim from
 * the queue of a job it acts on.  Checked once the verb's statement found
 * the job (no statement more on the hot path): the ERROR rolls its work
 * back.  It may run a statement (a miss of the queue cache): read the last
 * result first.
 */
static void
check_claim(int32 queue_id, Oid role)
{
	if (OidIsValid(role))
		scribe_queue_require_id(queue_id, role, SCRIBE_QUEUE_CLAIM);
}

/* ERROR when a result to archive is larger than scribe.max_payload_size */
static void
check_result_size(Jsonb *result)
{
	if (result != NULL && (int64) VARSIZE(result) > scribe_max_payload_size)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("result of %zu bytes is larger than scribe.max_payload_size (%d bytes)",
						(size_t) VARSIZE(result), scribe_max_payload_size),
				 errhint("Store bulky results in a table and return their key.")));
}

/*
 * Ack a claimed job, archiving it with its result when its queue keeps
 * finished jobs (inside SPI).  A job of a kind with hooks is locked first
 * and its kind's on_ack writes what the result says and picks what the
 * archive keeps; the others take one statement, which leaves hooked kinds
 * alone ($4).  True when acked now, false when the job is gone already
 * (acks are idempotent); ERROR when its lease passed on, or when role may
 * not claim from the job's queue.
 */
bool
scribe_queue_ack_job(int64 job_id, const pg_uuid_t *lease, Jsonb *result, Oid role)
{
	Oid			argtypes[4] = {INT8OID, UUIDOID, JSONBOID, TEXTARRAYOID};
	Datum		values[4];
	char		nulls[4] = "    ";
	ScribeJob	job;
	const ScribeQueueKindHooks *hooks = NULL;
	bool		oversized = result != NULL && (int64) VARSIZE(result) > scribe_max_payload_size;

	lease_params(job_id, lease, values);
	values[3] = scribe_queue_hooked_kinds();
	/* a hooked kind's result may be large: its hook says what the archive keeps */
	for (int pass = oversized ? 1 : 0; pass < 2; pass++)
	{
		if (pass == 1)
		{
			if (!lock_leased_job(job_id, lease, &job) || job.kind == NULL ||
				(hooks = scribe_queue_kind_hooks(job.kind)) == NULL)
				break;
			/* before the hook writes anything */
			check_claim(job.queue_id, role);
			result = hooks->on_ack(&job, result);
			values[3] = scribe_queue_no_kinds();
		}
		check_result_size(result);
		values[2] = PointerGetDatum(result);
		nulls[2] = result ? ' ' : 'n';
		scribe_plan_execute(&plan_ack,
							"WITH d AS (DELETE FROM scribe.jobs "
							"           WHERE " HELD_BY_LEASE("") " AND (kind IS NULL OR kind <> ALL ($4)) RETURNING *), "
							"a AS (INSERT INTO scribe.jobs_archive (job_id, finished_at, run_at, enqueued_at, claimed_at, "
							"          queue_id, attempts, enqueued_by, priority, kind, idempotency_key, payload, result, errors) "
							"      SELECT d.job_id, clock_timestamp(), d.run_at, d.enqueued_at, d.claimed_at, d.queue_id, "
							"             d.attempts, d.enqueued_by, d.priority, d.kind, d.idempotency_key, d.payload, $3, d.errors "
							"      FROM d JOIN scribe.queues q ON q.queue_id = d.queue_id WHERE q.retention > '0') "
							"SELECT queue_id, run_at, claimed_at, clock_timestamp(), kind FROM d",
							4, argtypes, values, nulls, false, 0);
		if (SPI_processed > 0)
		{
			bool		isnull;
			int32		queue_id = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

			account_acked_rows();
			check_claim(queue_id, role);
			return true;
		}
	}
	if (hooks == NULL)
		check_result_size(result);
	return gone_or_refuse(job_id, lease, "ack");
}

/*
 * Ack jobs whose rows this transaction locked (inside SPI), in one
 * statement: results[i] and finished[i] belong to jobs[i].
 */
void
scribe_queue_ack_jobs(int n, const ScribeJob *jobs, Jsonb **results, const TimestampTz *finished)
{
	Oid			argtypes[3] = {INT8ARRAYOID, JSONBARRAYOID, TIMESTAMPTZARRAYOID};
	Datum		values[3];
	int64	   *ids = palloc(sizeof(int64) * Max(n, 1));
	Datum	   *res = palloc(sizeof(Datum) * Max(n, 1));
	bool	   *res_nulls = palloc(sizeof(bool) * Max(n, 1));
	Datum	   *fin = palloc(sizeof(Datum) * Max(n, 1));
	int			dims[1] = {n};
	int			lbs[1] = {1};

	if (n == 0)
		return;
	for (int i = 0; i < n; i++)
	{
		ids[i] = jobs[i].job_id;
		res[i] = results[i] ? JsonbPGetDatum(results[i]) : (Datum) 0;
		res_nulls[i] = results[i] == NULL;
		fin[i] = TimestampTzGetDatum(finished[i]);
	}
	values[0] = scribe_int8_array(ids, n);
	values[1] = PointerGetDatum(construct_md_array(res, res_nulls, 1, dims, lbs, JSONBOID, -1, false, TYPALIGN_INT));
	values[2] = PointerGetDatum(construct_array(fin, n, TIMESTAMPTZOID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	scribe_plan_execute_indexed(&plan_ack_many,
						"WITH d AS (DELETE FROM scribe.jobs WHERE job_id = ANY ($1) RETURNING *), "
						"f AS (SELECT d.*, ($2)[array_position($1, d.job_id)] AS result, "
						"             ($3)[array_position($1, d.job_id)] AS finished_at FROM d), "
						"a AS (INSERT INTO scribe.jobs_archive (job_id, finished_at, run_at, enqueued_at, claimed_at, "
						"          queue_id, attempts, enqueued_by, priority, kind, idempotency_key, payload, result, errors) "
						"      SELECT f.job_id, f.finished_at, f.run_at, f.enqueued_at, f.claimed_at, f.queue_id, "
						"             f.attempts, f.enqueued_by, f.priority, f.kind, f.idempotency_key, f.payload, f.result, f.errors "
						"      FROM f JOIN scribe.queues q ON q.queue_id = f.queue_id WHERE q.retention > '0') "
						"SELECT queue_id, run_at, claimed_at, finished_at, kind FROM f",
						3, argtypes, values, NULL, false, 0);
	account_acked_rows();
}

/*
 * Run the on_nack hook of a nacked job's kind, if it has one: row of rows
 * holds kind, payload, attempts, max_attempts from column kindcol on.
 */
static void
nack_hook(int64 job_id, const pg_uuid_t *lease, SPITupleTable *rows, int kindcol, const char *error,
		  bool dead)
{
	HeapTuple	row = rows->vals[0];
	bool		isnull;
	Datum		kind = SPI_getbinval(row, rows->tupdesc, kindcol, &isnull);
	const ScribeQueueKindHooks *hooks;
	ScribeJob	job = {0};

	if (isnull || (hooks = scribe_queue_kind_hooks(TextDatumGetCString(kind))) == NULL)
		return;
	job.job_id = job_id;
	job.lease = *lease;
	job.kind = TextDatumGetCString(kind);
	job.payload = DatumGetJsonbP(SPI_getbinval(row, rows->tupdesc, kindcol + 1, &isnull));
	job.attempt = DatumGetInt32(SPI_getbinval(row, rows->tupdesc, kindcol + 2, &isnull));
	job.max_attempts = DatumGetInt32(SPI_getbinval(row, rows->tupdesc, kindcol + 3, &isnull));
	hooks->on_nack(&job, error, dead);
}

/*
 * Fail a claimed job's attempt (inside SPI): retry it after backoff (or
 * retry_in), or, out of attempts or with retry false, move it to the dead
 * letters.  Returns "retry" or "dead".  role: the consumer, which must
 * still hold the claim right (InvalidOid: the pool).
 */
static const char *
nack_job(int64 job_id, const pg_uuid_t *lease, const char *error,
		 const Interval *retry_in, bool retry, bool hooks, Oid role)
{
	const char *cut = scribe_queue_error_text(error);
	Oid			argtypes[5] = {INT8OID, UUIDOID, TEXTOID, INTERVALOID, BOOLOID};
	Datum		values[5];
	char		nulls[5] = "     ";
	bool		isnull;
	int32		queue_id;
	TimestampTz run_at;
	LeaseState	state;

	lease_params(job_id, lease, values);
	values[2] = CStringGetTextDatum(cut);
	values[3] = PointerGetDatum(retry_in);
	nulls[3] = retry_in ? ' ' : 'n';
	values[4] = BoolGetDatum(retry);

	/* backoff: base * 2^(attempt - 1), capped, with jitter over its upper half */
	scribe_plan_execute(&plan_nack,
						"UPDATE scribe.jobs j "
						"SET lease_until = NULL, claimed_by = NULL, "
						"    run_at = clock_timestamp() + COALESCE($4, least(q.backoff_cap, "
						"             q.backoff_base * power(2, least(j.attempts - 1, 40))) * (0.5 + random() / 2)), "
						"    errors = COALESCE(j.errors, '[]') || " ERROR_ENTRY("j", "$3") " "
						"FROM scribe.queues q "
						"WHERE " HELD_BY_LEASE("j.") " "
						"  AND j.attempts < j.max_attempts AND $5 AND q.queue_id = j.queue_id "
						"RETURNING j.queue_id, j.run_at, q.consumer = 'workers', j.kind, j.payload, j.attempts, j.max_attempts",
						5, argtypes, values, nulls, false, 0);
	if (SPI_processed == 1)
	{
		SPITupleTable *rows = SPI_tuptable;

		queue_id = DatumGetInt32(SPI_getbinval(rows->vals[0], rows->tupdesc, 1, &isnull));
		run_at = DatumGetTimestampTz(SPI_getbinval(rows->vals[0], rows->tupdesc, 2, &isnull));
		scribe_queue_stats_count(queue_id, 0, -1);
		scribe_queue_stats_failed(queue_id, result_text(0, 4), false);
		/* waiting claims learn the retry's due time */
		scribe_queue_wake_at_commit(queue_id);
		if (DatumGetBool(SPI_getbinval(rows->vals[0], rows->tupdesc, 3, &isnull)))
			scribe_queue_ready_at_commit(0, run_at);
		check_claim(queue_id, role);
		if (hooks)
			nack_hook(job_id, lease, rows, 4, cut, false);
		return "retry";
	}

	scribe_plan_execute(&plan_dead,
						"WITH d AS (DELETE FROM scribe.jobs "
						"           WHERE " HELD_BY_LEASE("") " RETURNING *) "
						"INSERT INTO scribe.jobs_dead (" SCRIBE_JOBS_DEAD_COLUMNS ") "
						"SELECT job_id, clock_timestamp(), run_at, enqueued_at, claimed_at, queue_id, attempts, "
						"       max_attempts, enqueued_by, priority, kind, idempotency_key, payload, "
						"       COALESCE(errors, '[]') || " ERROR_ENTRY("d", "$3") " "
						"FROM d RETURNING queue_id, kind, payload, attempts, max_attempts",
						3, argtypes, values, nulls, false, 0);
	if (SPI_processed == 1)
	{
		SPITupleTable *rows = SPI_tuptable;

		queue_id = DatumGetInt32(SPI_getbinval(rows->vals[0], rows->tupdesc, 1, &isnull));
		scribe_queue_account_dead_rows();
		check_claim(queue_id, role);
		if (hooks)
			nack_hook(job_id, lease, rows, 2, cut, true);
		return "dead";
	}

	/* the same nack again: the attempt waits for its retry already */
	state = lease_state(job_id, lease);
	if (state == LEASE_GIVEN_BACK)
		return "retry";
	refuse(job_id, state, "nack");
	return NULL;				/* not reached */
}

/* A worker's nack of the job it ran (the kind recorded what it needed already) */
const char *
scribe_queue_nack_job(int64 job_id, const pg_uuid_t *lease, const char *error,
					  const Interval *retry_in, bool retry)
{
	return nack_job(job_id, lease, error, retry_in, retry, false, InvalidOid);
}

/*
 * A consumer's nack (scribe.nack()): as a worker's, and the hooks of the
 * job's kind run; role must hold the claim right on the job's queue
 */
const char *
scribe_queue_consumer_nack(int64 job_id, const pg_uuid_t *lease, const char *error,
						   const Interval *retry_in, bool retry, Oid role)
{
	return nack_job(job_id, lease, error, retry_in, retry, true, role);
}

/*
 * Copy the ids and lease tokens of the claimed jobs that keep marks (all of
 * them when keep is NULL) into job_ids and leases, side by side, as
 * scribe_queue_release_jobs() takes them; returns how many.  No allocation
 * and no ERROR: a caller may hold a spinlock.
 */
int
scribe_queue_job_leases(int n, const ScribeJob *jobs, const bool *keep,
						int64 *job_ids, pg_uuid_t *leases)
{
	int			count = 0;

	for (int i = 0; i < n; i++)
	{
		if (keep != NULL && !keep[i])
			continue;
		job_ids[count] = jobs[i].job_id;
		leases[count] = jobs[i].lease;
		count++;
	}
	return count;
}

/* The parameters $1 and $2 of a statement on leased jobs: bigint[] of ids, uuid[] of their tokens */
static void
lease_array_params(int n, const int64 *job_ids, const pg_uuid_t *leases, Datum *values)
{
	values[0] = scribe_int8_array(job_ids, n);
	values[1] = scribe_uuid_array(leases, n);
}

/*
 * Lock the rows of claimed jobs whose lease is still theirs (inside SPI), so
 * that nobody else can take them before the transaction that runs and acks
 * them commits.  Sets locked[i]; returns how many.
 */
int
scribe_queue_lock_jobs(int n, const ScribeJob *jobs, bool *locked)
{
	Oid			argtypes[2] = {INT8ARRAYOID, UUIDARRAYOID};
	Datum		values[2];
	int64	   *ids = palloc(sizeof(int64) * Max(n, 1));
	pg_uuid_t  *leases = palloc(sizeof(pg_uuid_t) * Max(n, 1));
	int			count = 0;

	memset(locked, 0, sizeof(bool) * n);
	lease_array_params(scribe_queue_job_leases(n, jobs, NULL, ids, leases), ids, leases, values);
	scribe_plan_execute_indexed(&plan_lock,
						"SELECT job_id FROM scribe.jobs "
						"WHERE " HELD_BY_LEASES("") " FOR UPDATE",
						2, argtypes, values, NULL, false, 0);
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		bool		isnull;
		int64		id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull));

		for (int i = 0; i < n; i++)
		{
			if (jobs[i].job_id == id && !locked[i])
			{
				locked[i] = true;
				count++;
				break;
			}
		}
	}
	return count;
}

/*
 * Release claimed jobs, each named by its lease token (inside SPI).  Without
 * a reason (a graceful stop) the attempt is given back; with one (the
 * consumer died) it counts, the reason is recorded, and a job on its last
 * attempt goes to the dead letters.  The token is void from then on.
 * Returns how many went back to ready; *queue_id (if not NULL) is the queue
 * of one of them.
 */
static int
release_jobs(int n, const int64 *job_ids, const pg_uuid_t *leases, const char *reason, int32 *queue_id_out)
{
	Oid			argtypes[3] = {INT8ARRAYOID, UUIDARRAYOID, TEXTOID};
	Datum		values[3];
	char		nulls[3] = "   ";
	int			released;

	if (n == 0)
		return 0;
	lease_array_params(n, job_ids, leases, values);
	values[2] = reason ? CStringGetTextDatum(scribe_queue_error_text(reason)) : (Datum) 0;
	nulls[2] = reason ? ' ' : 'n';

	scribe_plan_execute_indexed(&plan_release,
						"UPDATE scribe.jobs j "
						"SET lease_until = NULL, claimed_by = NULL, lease = NULL, "
						"    attempts = CASE WHEN $3 IS NULL THEN j.attempts - 1 ELSE j.attempts END, "
						"    errors = CASE WHEN $3 IS NULL THEN j.errors "
						"             ELSE COALESCE(j.errors, '[]') || " ERROR_ENTRY("j", "$3") " END "
						"WHERE " HELD_BY_LEASES("j.") " AND ($3 IS NULL OR j.attempts < j.max_attempts) "
						"RETURNING j.queue_id",
						3, argtypes, values, nulls, false, 0);
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		bool		isnull;
		int32		queue_id = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull));

		scribe_queue_stats_count(queue_id, 0, -1);
		scribe_queue_wake_at_commit(queue_id);
		if (queue_id_out != NULL)
			*queue_id_out = queue_id;
	}
	released = (int) SPI_processed;
	if (released > 0)
		scribe_queue_ready_at_commit(released, 0);
	if (reason == NULL)
		return released;

	/* the jobs on their last attempt go to the dead letters, with the reason */
	scribe_plan_execute_indexed(&plan_release_failed,
						"WITH d AS (DELETE FROM scribe.jobs j "
						"           WHERE " HELD_BY_LEASES("j.") " RETURNING *) "
						"INSERT INTO scribe.jobs_dead (" SCRIBE_JOBS_DEAD_COLUMNS ") "
						"SELECT job_id, clock_timestamp(), run_at, enqueued_at, claimed_at, queue_id, attempts, "
						"       max_attempts, enqueued_by, priority, kind, idempotency_key, payload, "
						"       COALESCE(errors, '[]') || " ERROR_ENTRY("d", "$3") " "
						"FROM d RETURNING queue_id, kind",
						3, argtypes, values, nulls, false, 0);
	scribe_queue_account_dead_rows();
	return released;
}

/* Release claimed jobs (release_jobs): the pool's, and the launcher's for dead workers */
int
scribe_queue_release_jobs(int n, const int64 *job_ids, const pg_uuid_t *leases, const char *reason)
{
	return release_jobs(n, job_ids, leases, reason, NULL);
}

/*
 * Give back a claimed job unrun (scribe.release()), the attempt not counted
 * (inside SPI).  True when released, false when the job is gone; ERROR when
 * the token does not hold it, or when role may not claim from its queue.
 */
bool
scribe_queue_release_job(int64 job_id, const pg_uuid_t *lease, Oid role)
{
	int32		queue_id;

	if (release_jobs(1, &job_id, lease, NULL, &queue_id) == 1)
	{
		check_claim(queue_id, role);
		return true;
	}
	return gone_or_refuse(job_id, lease, "release");
}

/*
 * Release the jobs the worker pool had claimed before the server restarted
 * (inside SPI): pool claims carry a negated pid, and any such pid not among
 * the live workers' is gone.  Returns how many jobs were released.
 */
int64
scribe_queue_release_orphans(int n_alive, const int32 *alive_pids)
{
	Oid			argtypes[1] = {INT4ARRAYOID};
	Datum		values[1];
	int32	   *pids = palloc(sizeof(int32) * Max(n_alive, 1));
	int64	   *ids;
	pg_uuid_t  *leases;
	uint64		n;

	/* the pool's claims carry the worker's pid negated */
	for (int i = 0; i < n_alive; i++)
		pids[i] = -alive_pids[i];
	values[0] = scribe_int4_array(pids, n_alive);
	scribe_plan_execute(&plan_orphans,
						"SELECT job_id, lease FROM scribe.jobs "
						"WHERE claimed_by < 0 AND lease_until IS NOT NULL AND claimed_by <> ALL ($1) "
						"  AND lease IS NOT NULL",
						1, argtypes, values, NULL, false, 0);
	n = SPI_processed;
	if (n == 0)
		return 0;
	ids = palloc(sizeof(int64) * n);
	leases = palloc(sizeof(pg_uuid_t) * n);
	for (uint64 i = 0; i < n; i++)
	{
		bool		isnull;

		ids[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		leases[i] = *DatumGetUUIDP(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
	}
	scribe_queue_release_jobs((int) n, ids, leases,
							  "the worker running the job stopped (server restart or crash)");
	return (int64) n;
}

/*
 * Extend a claimed job's lease to lease_us from now, or the queue's lease
 * when lease_us is 0 (inside SPI); returns the new end.  ERROR unless the
 * token holds the job and role may claim from its queue.
 */
TimestampTz
scribe_queue_extend_lease(int64 job_id, const pg_uuid_t *lease, int64 lease_us, Oid role)
{
	Oid			argtypes[3] = {INT8OID, UUIDOID, INT8OID};
	Datum		values[3];
	char		nulls[3] = "   ";
	bool		isnull;
	TimestampTz lease_until;

	lease_params(job_id, lease, values);
	values[2] = Int64GetDatum(lease_us);
	nulls[2] = lease_us > 0 ? ' ' : 'n';
	scribe_plan_execute(&plan_extend,
						"UPDATE scribe.jobs j "
						"SET lease_until = clock_timestamp() + COALESCE($3 * interval '1 microsecond', q.lease) "
						"FROM scribe.queues q "
						"WHERE " HELD_BY_LEASE("j.") " "
						"  AND q.queue_id = j.queue_id "
						"RETURNING j.lease_until, j.queue_id",
						3, argtypes, values, nulls, false, 0);
	if (SPI_processed == 0)
		refuse(job_id, lease_state(job_id, lease), "extend the lease of");
	lease_until = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	check_claim(DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull)), role);
	return lease_until;
}
