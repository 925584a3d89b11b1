/*
 * The families read from shared memory: the queues' job counters by kind
 * and their wait and run histograms (src/queue/queue_stats.c), and the OCR
 * ledger writer's counters (src/documents/ocr_stats.c).
 */
#include "base/pg_scribe.h"

#include "executor/spi.h"

#include "documents/documents.h"
#include "ops/metrics.h"
#include "queue/queue.h"
#include "queue/queue_stats.h"
#include "base/spi_plans.h"

/* Histogram bounds exposed: every other bucket of the queue statistics, 0.1 ms to 2.5 days */
#define QUEUE_BOUNDS (SCRIBE_HIST_BUCKETS / 2)


/* Cumulative counts at every other bucket bound of a queue histogram; returns the total */
static uint64
queue_cumulative(const uint64 *hist, double *bounds, uint64 *cumulative)
{
	uint64		seen = 0;

	for (int i = 0; i < SCRIBE_HIST_BUCKETS; i++)
	{
		seen += hist[i];
		if (i % 2 == 0 && i / 2 < QUEUE_BOUNDS)
		{
			bounds[i / 2] = scribe_queue_hist_bound(i);
			cumulative[i / 2] = seen;
		}
	}
	return seen;
}

/* The queues' totals since server start (inside SPI) */
void
scribe_metrics_queues(StringInfo out)
{
	static const char *const counter_names[] = {"scribe_jobs_completed_total", "scribe_jobs_failed_total",
	"scribe_jobs_dead_lettered_total"};
	static const char *const counter_help[] = {
		"Jobs acked, by queue and kind (empty for jobs without a kind), since server start.",
		"Failed attempts (nacks, including those that dead-lettered the job), by queue and kind, since server start.",
		"Jobs moved to the dead letters, by queue and kind, since server start."};
	static const char *const kind_labels[] = {"queue", "kind"};
	static const char *const queue_label[] = {"queue"};
	uint64		nqueues;
	int32	   *ids;
	ScribeQueueTotals *totals;
	char	  **names;

	nqueues = scribe_queue_list_all(&ids, &names);
	totals = palloc0(sizeof(ScribeQueueTotals) * Max(nqueues, 1));
	for (uint64 q = 0; q < nqueues; q++)
		(void) scribe_queue_stats_totals(ids[q], &totals[q]);

	for (int c = 0; c < 3; c++)
	{
		scribe_metrics_family(out, counter_names[c], "counter", counter_help[c]);
		for (uint64 q = 0; q < nqueues; q++)
		{
			for (int k = 0; k < totals[q].nkinds; k++)
			{
				const ScribeKindCounts *kc = &totals[q].kinds[k];
				const char *values[2] = {names[q], kc->kind};

				scribe_metrics_sample(out, counter_names[c], "", 2, kind_labels, values, NULL,
									  (double) (c == 0 ? kc->completed : c == 1 ? kc->failed : kc->dead));
			}
		}
	}

	for (int h = 0; h < 2; h++)
	{
		const char *name = h == 0 ? "scribe_job_wait_seconds" : "scribe_job_run_seconds";

		scribe_metrics_family(out, name, "histogram",
							  h == 0 ? "Time acked jobs waited from due (run_at) to claimed, by queue, since server start."
							  : "Time acked jobs ran from claimed to acked, by queue, since server start.");
		for (uint64 q = 0; q < nqueues; q++)
		{
			double		bounds[QUEUE_BOUNDS];
			uint64		cumulative[QUEUE_BOUNDS];
			uint64		count = queue_cumulative(h == 0 ? totals[q].wait : totals[q].run, bounds, cumulative);
			const char *values[1] = {names[q]};

			scribe_metrics_histogram(out, name, 1, queue_label, values, QUEUE_BOUNDS, bounds, cumulative,
									 count, h == 0 ? totals[q].wait_sum : totals[q].run_sum);
		}
	}
}

/* The OCR ledger writer's counters since server start */
void
scribe_metrics_ocr(StringInfo out)
{
	static const char *const method_label[] = {"method"};
	ScribeOcrTotals t;
	uint64		cumulative[SCRIBE_OCR_PAGE_BUCKETS];
	uint64		count = 0;

	scribe_ocr_stats_read(&t);
	scribe_metrics_family(out, "scribe_ocr_documents_total", "counter",
						  "Documents the pipeline recognised, by method, since server start (on the node that wrote the ledger).");
	for (int m = 0; m < SCRIBE_OCR_METHODS; m++)
	{
		const char *values[1] = {scribe_ocr_method_name(m)};

		scribe_metrics_sample(out, "scribe_ocr_documents_total", "", 1, method_label, values, NULL,
							  (double) t.documents[m]);
	}
	scribe_metrics_family(out, "scribe_ocr_pages_total", "counter",
						  "Pages written to scribe.ocr_ledger, by method, since server start (on the node that wrote the ledger).");
	for (int m = 0; m < SCRIBE_OCR_METHODS; m++)
	{
		const char *values[1] = {scribe_ocr_method_name(m)};

		scribe_metrics_sample(out, "scribe_ocr_pages_total", "", 1, method_label, values, NULL,
							  (double) t.pages[m]);
	}
	scribe_metrics_family(out, "scribe_ocr_cost_usd_total", "counter",
						  "Cost in USD of the pages written to scribe.ocr_ledger, by method, since server start.");
	for (int m = 0; m < SCRIBE_OCR_METHODS; m++)
	{
		const char *values[1] = {scribe_ocr_method_name(m)};

		scribe_metrics_sample(out, "scribe_ocr_cost_usd_total", "", 1, method_label, values, NULL,
							  t.cost_micro[m] / 1e6);
	}

	for (int b = 0; b <= SCRIBE_OCR_PAGE_BUCKETS; b++)
	{
		count += t.seconds[b];
		if (b < SCRIBE_OCR_PAGE_BUCKETS)
			cumulative[b] = count;
	}
	scribe_metrics_family(out, "scribe_ocr_page_seconds", "histogram",
						  "Seconds of preprocessing and recognition per page the pipeline recognised, since server start.");
	scribe_metrics_histogram(out, "scribe_ocr_page_seconds", 0, NULL, NULL, SCRIBE_OCR_PAGE_BUCKETS,
							 scribe_ocr_page_buckets, cumulative, count, t.seconds_sum);
}
