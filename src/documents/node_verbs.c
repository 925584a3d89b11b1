/*
 * The primary's side of worker nodes: what the queue's verbs do with an ocr
 * job that a worker node claimed over libpq (worker_node.c is the node's
 * side).  The node claims with scribe.claim('ocr', ...), then calls
 * scribe.ack() with the engine's result, scribe.nack() with its error, or
 * scribe.release(); the queue runs the hooks below, which the documents
 * pipeline registers for the ocr kind, in the verb's transaction.  (job_id,
 * lease token) names the lease, as for every consumer: a node whose lease
 * ran out and passed to another consumer, or a role that guesses, writes
 * nothing.  A node that disappears holds its jobs until their lease runs
 * out; then any consumer claims them again.
 *
 * An ocr job's document is another user's scan: only a role granted claim
 * on the ocr queue (a worker node's; the queue belongs to the superuser)
 * takes, holds, fails or finishes them, and reads the image through the
 * lease it holds (scribe.document_get_image_for_job).
 */
#include "base/pg_scribe.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "documents/documents.h"
#include "jobs/job_kind.h"
#include "queue/queue.h"

/* The document of an ocr job's payload */
static int64
job_document_id(const ScribeJob *job)
{
	return scribe_jsonb_get_int64(job->payload, "document_id", "ocr",
								  "Submit documents with scribe.document_submit().");
}

/* A string member of the result an ocr job is acked with, or dflt */
static char *
result_string(Jsonb *result, const char *key, const char *dflt)
{
	char	   *value = scribe_jsonb_get_string(result, key, false, "ocr");

	return value != NULL ? value : pstrdup(dflt);
}

/*
 * An ocr job acked over SQL (a worker node's result): write the document
 * it recognised (text, pages, ledger) in the ack's transaction.  result is
 * the engine's result with "method" ('local' or 'cloud'), "fallback" and
 * "node"; or {"failed": reason, "node": ...} when the node's engine could
 * not read the document (a bad image), which then fails.  Returns what the
 * archive keeps: the document, how and where it was recognised (or why it
 * failed), as for the pool's ocr jobs; or why nothing was written (the
 * document was deleted or is done).
 */
static Jsonb *
ocr_on_ack(const ScribeJob *job, Jsonb *result)
{
	int64		document_id = job_document_id(job);
	bytea	   *image;
	char	   *lang;
	char	   *tier;
	bool		force_ocr;
	const char *skipped;
	Jsonb	   *pages;
	Jsonb	   *fallback_value;
	char	   *method;
	bool		fallback = false;

	if (!scribe_ocr_load_document(document_id, &image, &lang, &tier, &force_ocr, &skipped))
		return scribe_ocr_job_skipped(skipped);

	/* {"failed": reason}: the node's engine could not read the document, which fails */
	if (result != NULL && JB_ROOT_IS_OBJECT(result) && scribe_jsonb_get(result, "pages") == NULL &&
		scribe_jsonb_get(result, "failed") != NULL)
	{
		char	   *why = result_string(result, "failed", "");

		scribe_ocr_record_failure(document_id, why, true);
		return scribe_ocr_job_failed(document_id, why,
									 result_string(result, "node", "unnamed node"));
	}

	if (result == NULL || !JB_ROOT_IS_OBJECT(result) ||
		(pages = scribe_jsonb_get(result, "pages")) == NULL ||
		!JB_ROOT_IS_ARRAY(pages) || JB_ROOT_IS_SCALAR(pages))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the result of an ocr job must be the engine's result: a jsonb object with a \"pages\" array"),
				 errhint("Pass what the OCR engine returned for the document, as scribe.ocr_detail() shows it, with \"method\", \"fallback\" and \"node\".")));
	method = result_string(result, "method", "");
	if (strcmp(method, "local") != 0 && strcmp(method, "cloud") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the \"method\" of an ocr job's result must be 'local' or 'cloud', not \"%s\"", method),
				 errhint("method says whether the node's engine or the cloud service recognised the document.")));
	fallback_value = scribe_jsonb_get(result, "fallback");
	if (fallback_value != NULL)
	{
		JsonbValue	v;

		if (!JB_ROOT_IS_SCALAR(fallback_value) || !JsonbExtractScalar(&fallback_value->root, &v) ||
			v.type != jbvBool)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the \"fallback\" of an ocr job's result must be a boolean")));
		fallback = v.val.boolean;
	}

	scribe_ocr_record_result(document_id, result, method, fallback);
	return scribe_ocr_job_result(document_id, method, fallback,
								 result_string(result, "node", "unnamed node"));
}

/*
 * An ocr job nacked over SQL (a worker node could not recognise it): record
 * the error (cut as every attempt's error is) on its document, which fails
 * when the job went to the dead letters.
 */
static void
ocr_on_nack(const ScribeJob *job, const char *error, bool dead)
{
	scribe_ocr_record_failure(job_document_id(job), error, dead);
}

/* What the queue does for the ocr kind when a consumer (a worker node) claims, acks or nacks */
static const ScribeQueueKindHooks ocr_hooks = {
	.kind = "ocr",
	.on_ack = ocr_on_ack,
	.on_nack = ocr_on_nack,
};

/* Register the documents pipeline with the queue and the pool (from _PG_init) */
void
scribe_documents_init(void)
{
	scribe_job_kind_register(&scribe_kind_ocr);
	scribe_queue_register_kind_hooks(&ocr_hooks);
	scribe_job_set_remote_work(&scribe_worker_node_work);
}
