/*
 * Documents: the pipeline from a scanned image to its recognised text.
 *
 * scribe.document_submit() stores a scan and enqueues an ocr job on the
 * 'ocr' queue; a pool worker (kind_ocr.c) or a worker node's pool worker
 * (worker_node.c, over libpq to the primary, whose side is node_verbs.c)
 * recognises it, and the document, its pages and its ledger rows are
 * written in the transaction that acks the job.  ocr_stats.c counts what
 * the ledger's writer recorded, for scribe.metrics().
 *
 * Glossary:
 *   document     a row of scribe.documents: the scan, its status, its text
 *   ledger       scribe.ocr_ledger: one row per recognised page, with its
 *                method (local or cloud) and cost
 *   worker node  a server whose pool workers run the primary's ocr jobs
 *                (scribe.queue_conninfo set)
 */
#ifndef SCRIBE_DOCUMENTS_H
#define SCRIBE_DOCUMENTS_H

#include "jobs/job_kind.h"
#include "utils/jsonb.h"

/* node_verbs.c: the ocr kind's queue hooks and the worker node's loop, registered from _PG_init */
extern void scribe_documents_init(void);

/* document_owner.c: scribe.owner, whose documents a session acts on */
extern char *scribe_document_owner;
extern void scribe_document_define_gucs(void);

/* kind_ocr.c: the ocr job kind, registered by scribe_documents_init() */
extern const ScribeJobKind scribe_kind_ocr;

/* worker_node.c: a worker node's remote work, the primary's ocr jobs */
extern const ScribeJobRemoteWork scribe_worker_node_work;

/* kind_ocr.c: the ocr kind's parts, shared with the worker nodes' side (node_verbs.c, worker_node.c) */
extern bool scribe_ocr_load_document(int64 document_id, bytea **image, char **lang, char **tier,
									 bool *force_ocr, const char **skipped);
extern Jsonb *scribe_ocr_recognize_document(const ScribeJob *job, bytea *image, const char *lang,
											const char *tier, bool force_ocr, const char **method,
											bool *fallback, char **error, ScribeJobOutcome *outcome,
											bool *unreadable);
extern void scribe_ocr_record_result(int64 document_id, Jsonb *result, const char *method, bool fallback);
extern void scribe_ocr_record_failure(int64 document_id, const char *message, bool final);
extern Jsonb *scribe_ocr_job_result(int64 document_id, const char *method, bool fallback, const char *node);
extern Jsonb *scribe_ocr_job_failed(int64 document_id, const char *why, const char *node);
extern Jsonb *scribe_ocr_job_skipped(const char *why);

/* ocr_stats.c: counters of the ledger's writer since server start, by method */
#define SCRIBE_OCR_METHODS 2	/* local, cloud */
#define SCRIBE_OCR_PAGE_BUCKETS 10	/* finite upper bounds of seconds per page */

typedef struct ScribeOcrTotals
{
	uint64		documents[SCRIBE_OCR_METHODS];
	uint64		pages[SCRIBE_OCR_METHODS];
	uint64		cost_micro[SCRIBE_OCR_METHODS];	/* USD * 1e6, as the ledger rounds it */
	double		seconds_sum;
	uint64		seconds[SCRIBE_OCR_PAGE_BUCKETS + 1];	/* not cumulative; the last: beyond */
} ScribeOcrTotals;

extern const double scribe_ocr_page_buckets[SCRIBE_OCR_PAGE_BUCKETS];
extern Size scribe_ocr_stats_shmem_size(void);
extern void scribe_ocr_stats_shmem_init(void);
extern const char *scribe_ocr_method_name(int i);
extern void scribe_ocr_stats_record(const char *method, double price, int npages, const double *seconds);
extern void scribe_ocr_stats_read(ScribeOcrTotals *totals);

#endif							/* SCRIBE_DOCUMENTS_H */
