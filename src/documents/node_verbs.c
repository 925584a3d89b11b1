/*
 * The primary's side of worker nodes: the functions that a worker node's
 * pool workers call over libpq to take ocr jobs, and to give them back
 * recognised, failed, or untouched (worker_node.c is the node's side).
 *
 * A node claims jobs of the 'ocr' queue with the document's image, runs the
 * engine at home, then calls scribe.finish_ocr(), which writes the text,
 * pages and ledger with the same writers as the local ocr kind and acks the
 * job in one transaction, or scribe.fail_ocr().  (job_id, lease token) names
 * the lease, as for scribe.ack(): a node whose lease ran out and passed to
 * another consumer, or a role that guesses, writes nothing.  A node that disappears holds its jobs
 * until their lease runs out; then any consumer claims them again.
 */
#include "pg_scribe.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "documents/documents.h"
#include "jobs/job_kind.h"
#include "queue/queue.h"
#include "queue/queue_stats.h"
#include "spi_plans.h"

/* The queue whose jobs worker nodes run */
#define REMOTE_OCR_QUEUE "ocr"
/* Most jobs one scribe.claim_ocr() takes: each carries a whole image */
#define MAX_REMOTE_CLAIM 32

static SPIPlanPtr plan_lock_job = NULL;

/* ERROR unless a job id or lease argument is given */
static void
require_arg(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", name),
				 errhint("Pass the %s that scribe.claim_ocr() returned with the job.", name)));
}

/*
 * Lock an ocr job whose lease (job_id, token) is still held (inside SPI):
 * true with its document, false when the lease passed to another consumer,
 * the token is not the job's, or the job is gone.
 */
static bool
lock_leased_job(int64 job_id, const pg_uuid_t *lease, int64 *document_id)
{
	Oid			types[2] = {INT8OID, UUIDOID};
	Datum		values[2] = {Int64GetDatum(job_id), UUIDPGetDatum(lease)};
	bool		isnull;
	Datum		kind;

	scribe_plan_execute(&plan_lock_job,
						"SELECT payload, kind FROM scribe.jobs "
						"WHERE job_id = $1 AND lease = $2 AND lease_until IS NOT NULL FOR UPDATE",
						2, types, values, NULL, false, 1);
	if (SPI_processed == 0)
		return false;
	kind = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	if (isnull || strcmp(TextDatumGetCString(kind), "ocr") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("job " INT64_FORMAT " is not an ocr job", job_id),
				 errhint("Worker nodes finish only the jobs that scribe.claim_ocr() gave them.")));
	*document_id = scribe_jsonb_get_int64(DatumGetJsonbP(SPI_getbinval(SPI_tuptable->vals[0],
																	   SPI_tuptable->tupdesc, 1, &isnull)),
										  "document_id", "ocr",
										  "Submit documents with scribe.submit_document().");
	return true;
}

PG_FUNCTION_INFO_V1(scribe_claim_ocr);

/*
 * scribe.claim_ocr(n): claim up to n ocr jobs with the queue's lease, each
 * with its document's image, language and tier.  Jobs with nothing to do
 * (document deleted or done) are acked on the way; a job of another kind
 * on the ocr queue goes to the dead letters, as a pool worker would send it.
 */
Datum
scribe_claim_ocr(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int32		n = PG_ARGISNULL(0) ? 1 : PG_GETARG_INT32(0);
	ScribeSavedUser saved;
	const ScribeQueue *queue;
	ScribeJob  *jobs;
	int			count;
	int64		queued;
	int64		in_flight;
	Interval	lease;

	scribe_require_preload("scribe.claim_ocr()");
	if (n < 1 || n > MAX_REMOTE_CLAIM)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("n must be between 1 and %d, not %d", MAX_REMOTE_CLAIM, n),
				 errhint("n is how many ocr jobs to claim at most; each comes with its image.")));

	InitMaterializedSRF(fcinfo, 0);

	SPI_connect();
	scribe_run_as_owner(&saved);
	queue = scribe_queue_lookup(REMOTE_OCR_QUEUE);
	count = scribe_queue_claim_jobs(queue, n, queue->lease_us, MyProcPid, &jobs);
	memset(&lease, 0, sizeof(lease));
	lease.time = queue->lease_us;
	(void) scribe_queue_stats_counters(queue->queue_id, &queued, &in_flight);

	for (int i = 0; i < count; i++)
	{
		Datum		values[10];
		bool		nulls[10] = {0};
		int64		document_id;
		bytea	   *image;
		char	   *lang;
		char	   *tier;
		const char *skipped;

		if (jobs[i].kind == NULL || strcmp(jobs[i].kind, "ocr") != 0)
		{
			(void) scribe_queue_nack_job(jobs[i].job_id, &jobs[i].lease,
										 psprintf("job kind %s cannot run in the worker pool",
												  jobs[i].kind ? jobs[i].kind : "NULL"),
										 NULL, false);
			continue;
		}
		document_id = scribe_jsonb_get_int64(jobs[i].payload, "document_id", "ocr",
											 "Submit documents with scribe.submit_document().");
		if (!scribe_ocr_load_document(document_id, &image, &lang, &tier, &skipped))
		{
			(void) scribe_queue_ack_job(jobs[i].job_id, &jobs[i].lease, scribe_ocr_job_skipped(skipped));
			continue;
		}

		values[0] = Int64GetDatum(jobs[i].job_id);
		values[1] = UUIDPGetDatum(&jobs[i].lease);
		values[2] = Int32GetDatum(jobs[i].attempt);
		values[3] = Int32GetDatum(jobs[i].max_attempts);
		values[4] = Int64GetDatum(document_id);
		values[5] = PointerGetDatum(image);
		values[6] = CStringGetTextDatum(lang);
		values[7] = CStringGetTextDatum(tier);
		values[8] = IntervalPGetDatum(&lease);
		/* the counters learn of this claim at commit */
		values[9] = Int64GetDatum(Max(queued - in_flight - count, 0));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	scribe_run_as_caller(&saved);
	SPI_finish();
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(scribe_finish_ocr);

/*
 * scribe.finish_ocr(job_id, lease, result, method, fallback, node): write
 * the document a node recognised (text, pages, ledger) and ack its job, in
 * this one transaction.  False, with nothing written, when the lease passed
 * to another consumer or the job is gone.
 */
Datum
scribe_finish_ocr(PG_FUNCTION_ARGS)
{
	int64		job_id;
	pg_uuid_t  *lease;
	Jsonb	   *result;
	char	   *method;
	bool		fallback = PG_ARGISNULL(4) ? false : PG_GETARG_BOOL(4);
	char	   *node = PG_ARGISNULL(5) ? pstrdup("unnamed node") : text_to_cstring(PG_GETARG_TEXT_PP(5));
	Jsonb	   *pages;
	ScribeSavedUser saved;
	int64		document_id;
	bytea	   *image;
	char	   *lang;
	char	   *tier;
	const char *skipped;
	bool		finished = false;

	scribe_require_preload("scribe.finish_ocr()");
	require_arg(fcinfo, 0, "job_id");
	require_arg(fcinfo, 1, "lease");
	job_id = PG_GETARG_INT64(0);
	lease = PG_GETARG_UUID_P(1);
	if (PG_ARGISNULL(2) || !JB_ROOT_IS_OBJECT(PG_GETARG_JSONB_P(2)) ||
		(pages = scribe_jsonb_get(PG_GETARG_JSONB_P(2), "pages")) == NULL ||
		!JB_ROOT_IS_ARRAY(pages) || JB_ROOT_IS_SCALAR(pages))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("result must be the engine's result: a jsonb object with a \"pages\" array"),
				 errhint("Pass what the OCR engine returned for the document, as scribe.ocr_detail() shows it.")));
	result = PG_GETARG_JSONB_P(2);
	method = PG_ARGISNULL(3) ? "" : text_to_cstring(PG_GETARG_TEXT_PP(3));
	if (strcmp(method, "local") != 0 && strcmp(method, "cloud") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("method must be 'local' or 'cloud', not \"%s\"", method),
				 errhint("method says whether the node's engine or the cloud service recognised the document.")));

	SPI_connect();
	scribe_run_as_owner(&saved);
	if (lock_leased_job(job_id, lease, &document_id))
	{
		if (scribe_ocr_load_document(document_id, &image, &lang, &tier, &skipped))
		{
			scribe_ocr_record_result(document_id, result, method, fallback);
			(void) scribe_queue_ack_job(job_id, lease,
										scribe_ocr_job_result(document_id, method, fallback, node));
		}
		else
			(void) scribe_queue_ack_job(job_id, lease, scribe_ocr_job_skipped(skipped));
		finished = true;
	}
	scribe_run_as_caller(&saved);
	SPI_finish();
	PG_RETURN_BOOL(finished);
}

PG_FUNCTION_INFO_V1(scribe_fail_ocr);

/*
 * scribe.fail_ocr(job_id, lease, error, retry): nack a job a node could
 * not recognise and record the error (cut as every attempt's error is) on
 * its document (failed, once the job goes to the dead letters).  'retry' or
 * 'dead' as scribe.nack() says, or NULL, with nothing written, when the
 * lease passed on or the job is gone.
 */
Datum
scribe_fail_ocr(PG_FUNCTION_ARGS)
{
	int64		job_id;
	pg_uuid_t  *lease;
	const char *error = PG_ARGISNULL(2) ? "(no error given)" :
		scribe_queue_error_text(text_to_cstring(PG_GETARG_TEXT_PP(2)));
	bool		retry = PG_ARGISNULL(3) ? true : PG_GETARG_BOOL(3);
	ScribeSavedUser saved;
	int64		document_id;
	const char *state = NULL;

	scribe_require_preload("scribe.fail_ocr()");
	require_arg(fcinfo, 0, "job_id");
	require_arg(fcinfo, 1, "lease");
	job_id = PG_GETARG_INT64(0);
	lease = PG_GETARG_UUID_P(1);

	SPI_connect();
	scribe_run_as_owner(&saved);
	if (lock_leased_job(job_id, lease, &document_id))
	{
		state = scribe_queue_nack_job(job_id, lease, error, NULL, retry);
		scribe_ocr_record_failure(document_id, error, strcmp(state, "dead") == 0);
	}
	scribe_run_as_caller(&saved);
	SPI_finish();
	if (state == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(state));
}

PG_FUNCTION_INFO_V1(scribe_release_ocr);

/*
 * scribe.release_ocr(job_id, lease): give back a job a node claimed and
 * did not run (it is shutting down); the attempt does not count.  False
 * when the lease passed on or the job is gone.
 */
Datum
scribe_release_ocr(PG_FUNCTION_ARGS)
{
	int64		job_id;
	pg_uuid_t  *lease;
	ScribeSavedUser saved;
	int64		document_id;
	bool		released = false;

	scribe_require_preload("scribe.release_ocr()");
	require_arg(fcinfo, 0, "job_id");
	require_arg(fcinfo, 1, "lease");
	job_id = PG_GETARG_INT64(0);
	lease = PG_GETARG_UUID_P(1);

	SPI_connect();
	scribe_run_as_owner(&saved);
	if (lock_leased_job(job_id, lease, &document_id))
	{
		scribe_queue_release_jobs(1, &job_id, lease, NULL);
		released = true;
	}
	scribe_run_as_caller(&saved);
	SPI_finish();
	PG_RETURN_BOOL(released);
}
