/*
 * OCR as a capability: the synchronous functions (ocr_sql.c) over the
 * client (client/ocr_client.h, whose glossary applies), and the counters of
 * the ledger's writer.
 *
 * TODO(lead): ocr_stats.c moves to src/documents/; its declarations below
 * go with it into a header there (shmem registration in src/pg_scribe.c and
 * src/ops/metrics_shared.c then include that header).
 */
#ifndef SCRIBE_OCR_H
#define SCRIBE_OCR_H

#include "client/ocr_client.h"

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

#endif							/* SCRIBE_OCR_H */
