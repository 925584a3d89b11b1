/*
 * The ocr job kind: recognise a document of scribe.documents and write its
 * text, pages and ledger entries back.  scribe.document_submit enqueues
 * these jobs; the payload is {"document_id": n, "lang": ..., "tier": ...}
 * (the document's own, which worker nodes need before they recognise it).
 *
 * A document's tier picks the cloud service or the local engine.  A cloud
 * failure is retried with the queue's backoff; on the job's last attempt the
 * local engine recognises the document instead.  A document the engine
 * cannot read (bad image, unknown language) fails at once, with the reason
 * in the document's error column, and its job is done (acked with the
 * reason): a bad upload is the document's failure, not a dead letter that
 * would turn health() degraded and could only fail again.
 *
 * The writers and the recognition are shared with the worker nodes: their
 * loop (worker_node.c) recognises with scribe_ocr_recognize_document(), and
 * the ocr kind's queue hooks (node_verbs.c) write what they send back with
 * the same writers: a document is written the same way whichever node
 * recognised it.
 */
#include "base/pg_scribe.h"

#include "catalog/pg_type_d.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "documents/documents.h"
#include "jobs/job_kind.h"
#include "ocr/ocr.h"
#include "replication/heartbeat.h"
#include "base/spi_plans.h"

/* force_ocr: only when true (worker nodes read it here; the local worker from the document) */
static const char *const ocr_fields[] = {"document_id", "lang", "tier", "force_ocr", NULL};

/* The document_id of an ocr job's payload, or ERROR */
static int64
ocr_document_id(Jsonb *payload)
{
	return scribe_jsonb_get_int64(payload, "document_id", "ocr", "Submit documents with scribe.document_submit().");
}

/* Validate an ocr job at enqueue: only scribe.document_submit makes them */
static void
ocr_validate(Jsonb *payload, Oid role)
{
	scribe_jsonb_check_keys(payload, ocr_fields, "ocr");
	(void) ocr_document_id(payload);
	if (!superuser_arg(role))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("ocr jobs are enqueued by scribe.document_submit()"),
				 errhint("Call scribe.document_submit(image, ...) instead.")));
}

/* Whether an OCR error is the document's fault, so that retrying cannot help */
static bool
ocr_error_is_permanent(int sqlerrcode)
{
	int			class = ERRCODE_TO_CATEGORY(sqlerrcode);

	return class == ERRCODE_DATA_EXCEPTION ||
		class == ERRCODE_PROGRAM_LIMIT_EXCEEDED ||
		class == ERRCODE_FEATURE_NOT_SUPPORTED;
}

/* Record a failed attempt on the document (its error cut as a job's); final: the document failed */
void
scribe_ocr_record_failure(int64 document_id, const char *message, bool final)
{
	static SPIPlanPtr plan = NULL;
	Oid			types[3] = {INT8OID, TEXTOID, BOOLOID};
	Datum		values[3] = {Int64GetDatum(document_id), CStringGetTextDatum(scribe_queue_error_text(message)),
	BoolGetDatum(final)};

	scribe_plan_execute(&plan,
						"UPDATE scribe.documents SET error = $2, "
						"  status = CASE WHEN $3 THEN 'failed' ELSE status END, "
						"  finished_at = CASE WHEN $3 THEN clock_timestamp() END "
						"WHERE document_id = $1",
						3, types, values, NULL, false, 0);
}

/* Write a recognised document: its text, pages and ledger entries */
void
scribe_ocr_record_result(int64 document_id, Jsonb *result, const char *method, bool fallback)
{
	static SPIPlanPtr delete_plan = NULL;
	static SPIPlanPtr write_plan = NULL;
	Oid			types[5] = {INT8OID, JSONBOID, TEXTOID, FLOAT8OID, BOOLOID};
	Datum		values[5];
	double		price = strcmp(method, "cloud") == 0 ? scribe_ocr_cost_cloud : scribe_ocr_cost_local;

	values[0] = Int64GetDatum(document_id);
	values[1] = JsonbPGetDatum(result);
	values[2] = CStringGetTextDatum(method);
	values[3] = Float8GetDatum(price);
	values[4] = BoolGetDatum(fallback);

	scribe_plan_execute(&delete_plan, "DELETE FROM scribe.document_pages WHERE document_id = $1",
						1, types, values, NULL, false, 0);
	/*
	 * The rows returned are the ledger's new rows: the seconds of each
	 * recognised page, for the counters.  A PDF's pages that kept their own
	 * text were not recognised: they cost nothing and are not counted.
	 */
	scribe_plan_execute(&write_plan,
						"WITH doc AS ("
						"  UPDATE scribe.documents d SET status = 'done', text = $2->>'text',"
						"    confidence = ($2->>'confidence')::real, method = $3, fallback = $5, engine = $2->>'engine',"
						"    pages = jsonb_array_length($2->'pages'),"
						"    cost = v.ocr_pages * $4::numeric,"
						"    seconds = ($2->>'seconds')::real, error = NULL, finished_at = clock_timestamp(),"
						"    needs_review = v.needs_review,"
						"    review_reasons = CASE WHEN v.needs_review IS NOT NULL THEN coalesce(v.reasons, '{}') END"
						"  FROM (SELECT bool_or((p->>'needs_review')::boolean) AS needs_review,"
						"          count(*) FILTER (WHERE coalesce(p->>'text_source', 'ocr') = 'ocr') AS ocr_pages,"
						"          (SELECT array_agg(DISTINCT r ORDER BY r)"
						"           FROM jsonb_array_elements($2->'pages') q,"
						"                jsonb_array_elements_text(coalesce(q->'review_reasons', '[]')) r) AS reasons"
						"        FROM jsonb_array_elements($2->'pages') p) v"
						"  WHERE d.document_id = $1 RETURNING d.owner),"
						" pages AS ("
						"  INSERT INTO scribe.document_pages (document_id, page, text, confidence, skew,"
						"    completeness, text_probably_lost, seconds, words, width, height, rotation,"
						"    rotation_confidence, needs_review, review_reasons, text_source)"
						"  SELECT $1, (p->>'page')::int, p->>'text', (p->>'confidence')::real,"
						"    (p->>'skew')::real, (p->>'completeness')::real, (p->>'text_probably_lost')::boolean,"
						"    (p->>'preprocess_seconds')::real + (p->>'recognize_seconds')::real, p->'words',"
						"    (p->>'width')::int, (p->>'height')::int, (p->>'rotation')::int,"
						"    (p->>'rotation_confidence')::real, (p->>'needs_review')::boolean,"
						"    CASE WHEN p ? 'review_reasons' THEN coalesce("
						"      (SELECT array_agg(r) FROM jsonb_array_elements_text(p->'review_reasons') r), '{}') END,"
						"    coalesce(p->>'text_source', 'ocr')"
						"  FROM jsonb_array_elements($2->'pages') p),"
						" ledger AS ("
						"  INSERT INTO scribe.ocr_ledger (owner, document_id, page, method, cost, fallback)"
						"  SELECT doc.owner, $1, (p->>'page')::int, $3, $4::numeric, $5"
						"  FROM doc, jsonb_array_elements($2->'pages') p"
						"  WHERE coalesce(p->>'text_source', 'ocr') = 'ocr')"
						" SELECT COALESCE((p->>'preprocess_seconds')::float8 + (p->>'recognize_seconds')::float8,"
						"   ($2->>'seconds')::float8 / jsonb_array_length($2->'pages'), 0)"
						" FROM doc, jsonb_array_elements($2->'pages') p"
						" WHERE coalesce(p->>'text_source', 'ocr') = 'ocr'",
						5, types, values, NULL, false, 0);
	if (SPI_processed > 0)
	{
		double	   *seconds = palloc(sizeof(double) * SPI_processed);

		for (uint64 i = 0; i < SPI_processed; i++)
		{
			bool		isnull;

			seconds[i] = DatumGetFloat8(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		}
		scribe_ocr_stats_record(method, price, (int) SPI_processed, seconds);
	}
}

/* Recognise the document with its tier; NULL with *error on a failure worth retrying */
static Jsonb *
ocr_recognize(const ScribeJob *job, bytea *image, const char *lang, bool cloud, bool force_ocr,
			  const char **method, bool *fallback, char **error)
{
	ScribeImageInfo info;
	ScribeOcrOptions options = {.lang = lang, .psm = OCR_PSM_AUTO,
	.flags = OCR_PREPROCESS | OCR_WANT_WORDS | (force_ocr ? OCR_FORCE_OCR : 0)};

	*method = "local";
	*fallback = false;
	scribe_ocr_check_image(VARDATA_ANY(image), VARSIZE_ANY_EXHDR(image), &info);
	if (cloud)
	{
		Jsonb	   *result = scribe_ocr_cloud_run(VARDATA_ANY(image), VARSIZE_ANY_EXHDR(image),
												  &info, lang, error);

		if (result != NULL)
		{
			*method = "cloud";
			return result;
		}
		if (job->attempt < job->max_attempts)
			return NULL;
		/* the last attempt: the local engine rather than a dead letter */
		ereport(LOG,
				(errmsg("document of ocr job " INT64_FORMAT " falls back to local OCR after %d attempts: %s",
						job->job_id, job->attempt, *error)));
		*fallback = true;
	}
	return scribe_ocr_run(VARDATA_ANY(image), VARSIZE_ANY_EXHDR(image), &options,
						  scribe_job_report_progress);
}

/* One recognition of a document, for scribe_subxact_try */
typedef struct OcrAttempt
{
	const ScribeJob *job;
	bytea	   *image;
	const char *lang;
	bool		cloud;
	bool		force_ocr;
	Jsonb	   *ocr;			/* the result, or NULL with error */
	const char *method;
	bool		fallback;
	char	   *error;
} OcrAttempt;

/* Recognise the attempt's document */
static void
ocr_attempt(void *arg)
{
	OcrAttempt *a = arg;

	a->ocr = ocr_recognize(a->job, a->image, a->lang, a->cloud, a->force_ocr, &a->method, &a->fallback, &a->error);
}

/*
 * Recognise a document's image for a job with the document's tier, in a
 * subtransaction: the engine's result, or NULL with *error and *outcome
 * (JOB_RETRY or JOB_FAILED) saying what to do with the job.  *unreadable
 * says the error is the document's own (a bad image, an unknown language):
 * the document fails, and its job is done, not a dead letter, since no
 * retry can help and nothing is wrong with the system.  Cancels and
 * shutdowns are rethrown.
 */
Jsonb *
scribe_ocr_recognize_document(const ScribeJob *job, bytea *image, const char *lang, const char *tier,
							  bool force_ocr, const char **method, bool *fallback, char **error,
							  ScribeJobOutcome *outcome, bool *unreadable)
{
	OcrAttempt	attempt = {.method = "local"};
	char	   *failure;
	int			sqlerrcode;

	attempt.job = job;
	attempt.image = image;
	attempt.lang = lang;
	attempt.cloud = strcmp(tier, "cloud") == 0;
	attempt.force_ocr = force_ocr;
	*outcome = JOB_DONE;
	*unreadable = false;
	failure = scribe_subxact_try(ocr_attempt, &attempt, &sqlerrcode);
	if (failure != NULL)
	{
		attempt.ocr = NULL;
		attempt.error = failure;
		*unreadable = ocr_error_is_permanent(sqlerrcode);
		*outcome = *unreadable || job->attempt >= job->max_attempts ? JOB_FAILED : JOB_RETRY;
	}
	else if (attempt.ocr == NULL)
		*outcome = JOB_RETRY;	/* the cloud failed and attempts remain */
	*method = attempt.method;
	*fallback = attempt.fallback;
	*error = attempt.error;
	return attempt.ocr;
}

/*
 * Load and lock a document to recognise (inside SPI): true with its image,
 * language, tier and force_ocr, or false with *skipped saying why there is nothing to
 * do (deleted, or done already).
 */
bool
scribe_ocr_load_document(int64 document_id, bytea **image, char **lang, char **tier,
						 bool *force_ocr, const char **skipped)
{
	static SPIPlanPtr load_plan = NULL;
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(document_id)};
	bool		isnull;

	scribe_plan_execute(&load_plan,
						"SELECT image, lang, tier, status, force_ocr FROM scribe.documents "
						"WHERE document_id = $1 FOR UPDATE",
						1, types, values, NULL, false, 1);
	if (SPI_processed == 0)
	{
		*skipped = "the document was deleted";
		return false;
	}
	if (strcmp(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4), "done") == 0)
	{
		*skipped = "the document is done";
		return false;
	}
	*image = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	*lang = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	*tier = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3);
	*force_ocr = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 5, &isnull)) && !isnull;
	return true;
}

/* The result an ocr job is acked with: the document, how, and which node recognised it */
Jsonb *
scribe_ocr_job_result(int64 document_id, const char *method, bool fallback, const char *node)
{
	StringInfoData json;

	initStringInfo(&json);
	appendStringInfo(&json, "{\"document_id\": " INT64_FORMAT ", \"method\": \"%s\", \"fallback\": %s, \"node\": ",
					 document_id, method, fallback ? "true" : "false");
	escape_json(&json, node);
	appendStringInfoChar(&json, '}');
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(json.data)));
}

/* The result an ocr job is acked with when its document could not be read (the reason cut as a job's error) */
Jsonb *
scribe_ocr_job_failed(int64 document_id, const char *why, const char *node)
{
	StringInfoData json;

	initStringInfo(&json);
	appendStringInfo(&json, "{\"document_id\": " INT64_FORMAT ", \"failed\": ", document_id);
	escape_json(&json, scribe_queue_error_text(why));
	appendStringInfoString(&json, ", \"node\": ");
	escape_json(&json, node);
	appendStringInfoChar(&json, '}');
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(json.data)));
}

/* The result an ocr job is acked with when there was nothing to recognise */
Jsonb *
scribe_ocr_job_skipped(const char *why)
{
	StringInfoData json;

	initStringInfo(&json);
	appendStringInfoString(&json, "{\"skipped\": ");
	escape_json(&json, why);
	appendStringInfoChar(&json, '}');
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(json.data)));
}

/* Run an ocr job */
static ScribeJobOutcome
ocr_execute(const ScribeJob *job, int64 timeout_ms, Jsonb **result, char **error)
{
	int64		document_id = ocr_document_id(job->payload);
	bytea	   *image;
	char	   *lang;
	char	   *tier;
	bool		force_ocr;
	const char *skipped;
	Jsonb	   *ocr;
	const char *method;
	bool		fallback;
	char	   *failure;
	bool		unreadable;
	MemoryContext callercxt = CurrentMemoryContext;
	ScribeJobOutcome outcome;

	/* SPI's memory goes at SPI_finish: *result and *error are the caller's */
	SPI_connect();
	if (!scribe_ocr_load_document(document_id, &image, &lang, &tier, &force_ocr, &skipped))
	{
		SPI_finish();
		MemoryContextSwitchTo(callercxt);
		*result = scribe_ocr_job_skipped(skipped);
		return JOB_DONE;
	}

	/* an OCR failure must not lose the failure's record: it runs in a subtransaction */
	ocr = scribe_ocr_recognize_document(job, image, lang, tier, force_ocr, &method, &fallback, &failure,
										&outcome, &unreadable);
	if (ocr != NULL)
		scribe_ocr_record_result(document_id, ocr, method, fallback);
	else
	{
		scribe_ocr_record_failure(document_id, failure, outcome == JOB_FAILED);
		/* out of SPI's memory, which goes at SPI_finish */
		failure = MemoryContextStrdup(callercxt, failure);
	}
	SPI_finish();

	MemoryContextSwitchTo(callercxt);
	if (ocr != NULL)
		*result = scribe_ocr_job_result(document_id, method, fallback, scribe_heartbeat_node_name());
	else if (unreadable)
	{
		/* the document failed with its reason; the job did its work */
		*result = scribe_ocr_job_failed(document_id, failure, scribe_heartbeat_node_name());
		return JOB_DONE;
	}
	else
		*error = failure;
	return outcome;
}

const ScribeJobKind scribe_kind_ocr = {
	.name = "ocr",
	.validate = ocr_validate,
	.execute = ocr_execute,
};
