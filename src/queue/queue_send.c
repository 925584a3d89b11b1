/*
 * Enqueue: scribe.send() and scribe.send_batch().
 *
 * One statement looks the queue up and inserts, so that a queue dropped
 * concurrently (queue_drop locks scribe.jobs) can never get an orphan job.
 * The job becomes visible, and a worker is woken, when the caller commits.
 *
 * run_at is decided here: now() unless a delay or run_at says later, never
 * earlier (a time in the past means ready now, behind the jobs already
 * ready), never infinite and at most MAX_AHEAD_YEARS ahead.  An idempotency
 * key is unique per queue and sending role: one role's key never finds,
 * nor blocks, another role's job.  The sender needs the send right on the
 * queue (queue_rights.c), checked on the backend's cache of the queue.
 */
#include "base/pg_scribe.h"

#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "queue/queue.h"
#include "queue/queue_stats.h"
#include "base/install.h"
#include "base/spi_plans.h"

int			scribe_max_payload_size = 1024 * 1024;

/* Idempotency keys longer than this are refused: they are index keys */
#define MAX_IDEMPOTENCY_KEY 1024

/* Attempts to insert a job whose idempotent twin finishes meanwhile */
#define SEND_RETRIES 3

/* A job may be due at most this many years ahead */
#define MAX_AHEAD_YEARS 100

static SPIPlanPtr plan_send = NULL;
static SPIPlanPtr plan_send_batch = NULL;
static SPIPlanPtr plan_find_key = NULL;

/* What every send shares: the options after validation */
typedef struct SendOptions
{
	text	   *queue;
	text	   *kind;
	TimestampTz run_at;			/* from run_at or delay: now() at the earliest */
	int16		priority;
	int32		max_attempts;	/* 0: the queue's */
	Oid			role;
} SendOptions;

/* Define the queue GUCs */
void
scribe_queue_define_gucs(void)
{
	DefineCustomIntVariable("scribe.max_payload_size",
							"Largest payload of a job, in bytes.",
							"Store bulky data in a table and send its key instead.",
							&scribe_max_payload_size,
							1024 * 1024, 1024, MaxAllocSize / 2,
							PGC_SIGHUP,
							GUC_UNIT_BYTE,
							NULL, NULL, NULL);
}

/* ERROR for a run_at or delay further ahead than MAX_AHEAD_YEARS */
static void
send_too_far(bool delay)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 delay ? errmsg("delay is longer than %d years", MAX_AHEAD_YEARS) :
			 errmsg("run_at is more than %d years ahead", MAX_AHEAD_YEARS),
			 errhint("A job may be due at most %d years from now; a run_at in the past makes it ready at once.",
					 MAX_AHEAD_YEARS)));
}

/*
 * When a job becomes ready: now() (the transaction's start), later by the
 * delay, or run_at (a past time counts as now); ERROR for an infinite time
 * or one more than MAX_AHEAD_YEARS ahead
 */
static TimestampTz
send_run_at(const Interval *delay, bool has_run_at, TimestampTz run_at)
{
	TimestampTz now = GetCurrentTransactionStartTimestamp();
	Interval	ahead = {.time = 0, .day = 0, .month = MAX_AHEAD_YEARS * MONTHS_PER_YEAR};
	TimestampTz latest = DatumGetTimestampTz(DirectFunctionCall2(timestamptz_pl_interval,
																 TimestampTzGetDatum(now),
																 IntervalPGetDatum(&ahead)));

	if (has_run_at)
	{
		if (TIMESTAMP_NOT_FINITE(run_at))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("run_at must be a finite time"),
					 errhint("Pass a time at most %d years ahead, or leave run_at NULL to make the job ready at once.",
							 MAX_AHEAD_YEARS)));
		if (run_at > latest)
			send_too_far(false);
		return Max(run_at, now);
	}
	if (delay == NULL)
		return now;
	/* bounded first, so that adding it to now cannot overflow */
	if (delay->month > MAX_AHEAD_YEARS * MONTHS_PER_YEAR ||
		delay->day > MAX_AHEAD_YEARS * 366 ||
		delay->time > MAX_AHEAD_YEARS * 366 * USECS_PER_DAY)
		send_too_far(true);
	run_at = DatumGetTimestampTz(DirectFunctionCall2(timestamptz_pl_interval,
													 TimestampTzGetDatum(now),
													 IntervalPGetDatum(delay)));
	if (run_at > latest)
		send_too_far(true);
	return run_at;
}

/* Check the options that every send takes; fills opts */
static void
send_options(FunctionCallInfo fcinfo, SendOptions *opts, const char *function)
{
	int32		priority;
	Interval   *delay;
	bool		has_run_at;

	scribe_require_preload(function);

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("queue must not be NULL"),
				 errhint("Name a queue created with scribe.queue_create().")));
	opts->queue = PG_GETARG_TEXT_PP(0);
	opts->kind = PG_ARGISNULL(2) ? NULL : PG_GETARG_TEXT_PP(2);
	delay = PG_ARGISNULL(3) ? NULL : PG_GETARG_INTERVAL_P(3);
	has_run_at = !PG_ARGISNULL(4);
	priority = PG_ARGISNULL(5) ? 0 : PG_GETARG_INT32(5);
	opts->max_attempts = PG_ARGISNULL(7) ? 0 : PG_GETARG_INT32(7);

	if (delay != NULL && has_run_at)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("delay and run_at cannot both be given"),
				 errhint("Pass delay => interval to run after a while, or run_at => timestamptz to run at a time.")));
	if (delay != NULL && (delay->time < 0 || delay->day < 0 || delay->month < 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("delay must not be negative"),
				 errhint("Pass delay => interval '0' (or no delay) to make the job ready at once.")));
	opts->run_at = send_run_at(delay, has_run_at, has_run_at ? PG_GETARG_TIMESTAMPTZ(4) : 0);
	if (priority < PG_INT16_MIN || priority > PG_INT16_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("priority %d is out of range", priority),
				 errhint("Priorities go from %d to %d; higher runs first, the default is 0.",
						 PG_INT16_MIN, PG_INT16_MAX)));
	opts->priority = (int16) priority;
	if (!PG_ARGISNULL(7) && (opts->max_attempts < 1 || opts->max_attempts > 1000))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_attempts must be between 1 and 1000, not %d", opts->max_attempts),
				 errhint("Leave it NULL to use the queue's max_attempts.")));
}

/* The job kinds' check of a payload (jobs/job_kind.c registers it) */
static ScribeQueueKindCheck kind_check_hook = NULL;

/* Set the check of a kind and its payload (at load) */
void
scribe_queue_set_kind_check(ScribeQueueKindCheck check)
{
	kind_check_hook = check;
}

/* ERROR unless kind exists and accepts payload from role */
static void
kind_check(const char *kind, Jsonb *payload, Oid role)
{
	if (kind_check_hook == NULL)
		elog(ERROR, "pg_scribe: no job kinds are registered");
	kind_check_hook(kind, payload, role);
}

/* Check one payload: not NULL, not too large, runnable by its kind */
static void
send_check_payload(Jsonb *payload, const SendOptions *opts)
{
	if (payload == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("payload must not be NULL"),
				 errhint("Send '{}' for a job without data.")));
	if ((int64) VARSIZE(payload) > scribe_max_payload_size)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("payload of %zu bytes is larger than scribe.max_payload_size (%d bytes)",
						(size_t) VARSIZE(payload), scribe_max_payload_size),
				 errhint("Store bulky data in a table and send its key, or raise scribe.max_payload_size.")));
	if (opts->kind != NULL)
		kind_check(text_to_cstring(opts->kind), payload, opts->role);
}

/*
 * ERROR unless the sender may send to the queue (inside SPI, as the owner):
 * superusers (pg_scribe's own sends among them) without looking
 */
static void
send_check_right(const SendOptions *opts)
{
	if (!superuser_arg(opts->role))
		scribe_queue_require(scribe_queue_lookup(text_to_cstring(opts->queue)), opts->role,
							 SCRIBE_QUEUE_SEND);
}

/* Check an idempotency key */
static void
send_check_key(text *key)
{
	if (key != NULL && VARSIZE_ANY_EXHDR(key) > MAX_IDEMPOTENCY_KEY)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("idempotency key of %zu bytes is longer than %d bytes",
						(size_t) VARSIZE_ANY_EXHDR(key), MAX_IDEMPOTENCY_KEY),
				 errhint("Use a hash of what identifies the job as its key.")));
}

/*
 * The parameters of the send statements: $1 queue, $2 payload(s), $3 run_at,
 * $4 kind, $5 priority, $6 key(s), $7 max_attempts, $8 role
 */
#define SEND_NPARAMS 8

/*
 * The parts the two send statements share: the queue by name ($1), the
 * insert's columns, and what a key already taken by an unfinished job of
 * the role does (nothing: the caller finds that job)
 */
#define SEND_QUEUE "WITH q AS (SELECT queue_id, consumer, max_attempts FROM scribe.queues WHERE name = $1), "
#define SEND_INSERT "INSERT INTO scribe.jobs (run_at, enqueued_at, queue_id, max_attempts, enqueued_by, " \
	"priority, kind, idempotency_key, payload) "
#define SEND_ON_CONFLICT "ON CONFLICT (queue_id, enqueued_by, idempotency_key) WHERE idempotency_key IS NOT NULL " \
	"DO NOTHING "

/* Fill the parameters of a send statement */
static void
send_params(const SendOptions *opts, Datum payload, Datum key, bool key_null,
			Datum *values, char *nulls)
{
	memset(nulls, ' ', SEND_NPARAMS);
	values[0] = PointerGetDatum(opts->queue);
	values[1] = payload;
	values[2] = TimestampTzGetDatum(opts->run_at);
	values[3] = PointerGetDatum(opts->kind);
	nulls[3] = opts->kind ? ' ' : 'n';
	values[4] = Int16GetDatum(opts->priority);
	values[5] = key;
	nulls[5] = key_null ? 'n' : ' ';
	values[6] = Int32GetDatum(opts->max_attempts);
	nulls[6] = opts->max_attempts ? ' ' : 'n';
	values[7] = ObjectIdGetDatum(opts->role);
}

/* ERROR for a queue that exists but refused the job: it needs a kind */
static void
send_kind_required(const SendOptions *opts)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("queue \"%s\" is consumed by workers, so a job needs a kind",
					text_to_cstring(opts->queue)),
			 errhint("Pass kind => 'sql' or 'http' (see the reference), or create the queue with consumer => 'clients' for applications to claim its jobs.")));
}

/* The id of the role's unfinished job of a queue with an idempotency key, or 0 */
static int64
send_find_key(int32 queue_id, Oid role, text *key)
{
	Oid			argtypes[3] = {INT4OID, OIDOID, TEXTOID};
	Datum		values[3] = {Int32GetDatum(queue_id), ObjectIdGetDatum(role), PointerGetDatum(key)};
	bool		isnull;

	scribe_plan_execute(&plan_find_key,
						"SELECT job_id FROM scribe.jobs "
						"WHERE queue_id = $1 AND enqueued_by = $2::regrole AND idempotency_key = $3",
						3, argtypes, values, NULL, false, 1);
	if (SPI_processed == 0)
		return 0;
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/* Count new jobs and wake the workers when the transaction commits */
static void
send_account(int32 queue_id, bool workers, int64 n, TimestampTz run_at)
{
	scribe_queue_stats_count(queue_id, n, 0);
	scribe_queue_wake_at_commit(queue_id);
	if (!workers)
		return;
	if (run_at <= GetCurrentTransactionStartTimestamp())
		scribe_queue_ready_at_commit(n, 0);
	else
		scribe_queue_ready_at_commit(0, run_at);
}

PG_FUNCTION_INFO_V1(scribe_send);

/* scribe.send(queue, payload, kind, delay, run_at, priority, idempotency_key, max_attempts) */
Datum
scribe_send(PG_FUNCTION_ARGS)
{
	SendOptions opts;
	Jsonb	   *payload = PG_ARGISNULL(1) ? NULL : PG_GETARG_JSONB_P(1);
	text	   *key = PG_ARGISNULL(6) ? NULL : PG_GETARG_TEXT_PP(6);
	ScribeSpiScope scope;
	int64		job_id = 0;

	send_options(fcinfo, &opts, "scribe.send()");
	opts.role = GetUserId();
	send_check_payload(payload, &opts);
	send_check_key(key);

	scribe_spi_begin_as_owner(&scope);
	send_check_right(&opts);

	for (int attempt = 0; attempt < SEND_RETRIES && job_id == 0; attempt++)
	{
		Oid			argtypes[SEND_NPARAMS] = {TEXTOID, JSONBOID, TIMESTAMPTZOID, TEXTOID,
		INT2OID, TEXTOID, INT4OID, OIDOID};
		Datum		values[SEND_NPARAMS];
		char		nulls[SEND_NPARAMS];
		HeapTuple	tuple;
		TupleDesc	desc;
		bool		isnull;
		bool		workers;
		int32		queue_id;

		send_params(&opts, JsonbPGetDatum(payload), PointerGetDatum(key), key == NULL, values, nulls);

		scribe_plan_execute(&plan_send,
							SEND_QUEUE
							"ins AS (" SEND_INSERT
							"        SELECT $3, now(), q.queue_id, COALESCE($7, q.max_attempts), $8, $5, $4, $6, $2 "
							"        FROM q WHERE q.consumer = 'clients' OR $4 IS NOT NULL "
							"        " SEND_ON_CONFLICT
							"        RETURNING job_id, run_at) "
							"SELECT ins.job_id, ins.run_at, q.queue_id, q.consumer = 'workers' FROM q LEFT JOIN ins ON true",
							SEND_NPARAMS, argtypes, values, nulls, false, 0);
		if (SPI_processed == 0)
			scribe_queue_not_found(text_to_cstring(opts.queue));

		tuple = SPI_tuptable->vals[0];
		desc = SPI_tuptable->tupdesc;
		queue_id = DatumGetInt32(SPI_getbinval(tuple, desc, 3, &isnull));
		workers = DatumGetBool(SPI_getbinval(tuple, desc, 4, &isnull));
		if (workers)
			scribe_require_served_database(text_to_cstring(opts.queue));
		job_id = DatumGetInt64(SPI_getbinval(tuple, desc, 1, &isnull));
		if (!isnull)
		{
			send_account(queue_id, workers,
						 1, DatumGetTimestampTz(SPI_getbinval(tuple, desc, 2, &isnull)));
			break;
		}
		job_id = 0;
		if (workers && opts.kind == NULL)
			send_kind_required(&opts);

		/* an unfinished job of this role has this key: return it, unless it just finished */
		job_id = send_find_key(queue_id, opts.role, key);
	}
	if (job_id == 0)
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not enqueue the job with idempotency key \"%s\"", text_to_cstring(key)),
				 errdetail("Jobs with this key kept finishing while this one was enqueued."),
				 errhint("Retry the transaction.")));

	scribe_spi_end(&scope);
	PG_RETURN_INT64(job_id);
}

PG_FUNCTION_INFO_V1(scribe_send_batch);

/* scribe.send_batch(queue, payloads[], kind, delay, run_at, priority, idempotency_keys[], max_attempts) */
Datum
scribe_send_batch(PG_FUNCTION_ARGS)
{
	SendOptions opts;
	ArrayType  *payload_array;
	ArrayType  *key_array = PG_ARGISNULL(6) ? NULL : PG_GETARG_ARRAYTYPE_P(6);
	Datum	   *payloads;
	bool	   *payload_nulls;
	int			n;
	Datum	   *keys = NULL;
	bool	   *key_nulls = NULL;
	int			nkeys = 0;
	ScribeSpiScope scope;
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			argtypes[SEND_NPARAMS] = {TEXTOID, JSONBARRAYOID, TIMESTAMPTZOID, TEXTOID,
	INT2OID, TEXTARRAYOID, INT4OID, OIDOID};
	Datum		values[SEND_NPARAMS];
	char		nulls[SEND_NPARAMS];
	int64	   *ids;
	int64		inserted;
	bool		workers;
	int32		queue_id;
	TimestampTz run_at;
	bool		isnull;
	uint64		returned;

	send_options(fcinfo, &opts, "scribe.send_batch()");
	opts.role = GetUserId();
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("payloads must not be NULL"),
				 errhint("Pass an array of jsonb payloads, one per job.")));
	payload_array = PG_GETARG_ARRAYTYPE_P(1);
	if (ARR_NDIM(payload_array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("payloads must be a one-dimensional array")));
	deconstruct_array(payload_array, JSONBOID, -1, false, TYPALIGN_INT, &payloads, &payload_nulls, &n);
	if (key_array != NULL)
	{
		if (ARR_NDIM(key_array) > 1)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("idempotency_keys must be a one-dimensional array")));
		deconstruct_array(key_array, TEXTOID, -1, false, TYPALIGN_INT, &keys, &key_nulls, &nkeys);
		if (nkeys != n)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("%d idempotency keys for %d payloads", nkeys, n),
					 errhint("Pass one key per payload (NULL for a job without one), or no keys.")));
	}
	for (int i = 0; i < n; i++)
	{
		send_check_payload(payload_nulls[i] ? NULL : DatumGetJsonbP(payloads[i]), &opts);
		if (keys != NULL && !key_nulls[i])
			send_check_key(DatumGetTextPP(keys[i]));
	}

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	if (n == 0)
		return (Datum) 0;

	/* the ids outlive SPI: allocate them before connecting */
	ids = palloc0(sizeof(int64) * n);
	scribe_spi_begin_as_owner(&scope);
	send_check_right(&opts);

	send_params(&opts, PointerGetDatum(payload_array), PointerGetDatum(key_array), key_array == NULL,
				values, nulls);

	/* RETURNING comes in the order of unnest(): the order of payloads */
	scribe_plan_execute(&plan_send_batch,
						SEND_QUEUE
						"ins AS (" SEND_INSERT
						"        SELECT $3, now(), q.queue_id, COALESCE($7, q.max_attempts), $8, $5, $4, "
						"               p.idempotency_key, p.payload "
						"        FROM q, unnest($2, $6) AS p(payload, idempotency_key) "
						"        WHERE q.consumer = 'clients' OR $4 IS NOT NULL "
						"        " SEND_ON_CONFLICT
						"        RETURNING job_id, idempotency_key, run_at) "
						"SELECT ins.job_id, ins.idempotency_key, ins.run_at, q.queue_id, q.consumer = 'workers' "
						"FROM q LEFT JOIN ins ON true",
						SEND_NPARAMS, argtypes, values, nulls, false, 0);
	if (SPI_processed == 0)
		scribe_queue_not_found(text_to_cstring(opts.queue));

	queue_id = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4, &isnull));
	workers = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 5, &isnull));
	if (workers)
		scribe_require_served_database(text_to_cstring(opts.queue));
	(void) SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull && workers && opts.kind == NULL)
		send_kind_required(&opts);

	/* match the inserted rows to the payloads; the others met an existing key */
	returned = isnull ? 0 : SPI_processed;
	inserted = returned;
	run_at = returned > 0 ?
		DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull)) : 0;
	{
		SPITupleTable *rows = SPI_tuptable;
		uint64		r = 0;

		for (int i = 0; i < n; i++)
		{
			bool		key_null = (keys == NULL || key_nulls[i]);

			if (r < returned)
			{
				HeapTuple	tuple = rows->vals[r];
				bool		row_key_null;
				Datum		row_key = SPI_getbinval(tuple, rows->tupdesc, 2, &row_key_null);

				if (key_null ? row_key_null :
					(!row_key_null && DatumGetBool(DirectFunctionCall2Coll(texteq, C_COLLATION_OID, row_key, keys[i]))))
				{
					ids[i] = DatumGetInt64(SPI_getbinval(tuple, rows->tupdesc, 1, &isnull));
					r++;
					continue;
				}
			}
			ids[i] = send_find_key(queue_id, opts.role, DatumGetTextPP(keys[i]));
			if (ids[i] == 0)
				ereport(ERROR,
						(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
						 errmsg("could not enqueue the job with idempotency key \"%s\"",
								TextDatumGetCString(keys[i])),
						 errdetail("A job with this key finished while this one was enqueued."),
						 errhint("Retry the transaction.")));
		}
	}
	if (inserted > 0)
		send_account(queue_id, workers, inserted, run_at);

	scribe_spi_end(&scope);

	for (int i = 0; i < n; i++)
	{
		Datum		v = Int64GetDatum(ids[i]);
		bool		vnull = false;

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &v, &vnull);
	}
	return (Datum) 0;
}
