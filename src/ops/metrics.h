/*
 * scribe.metrics(): the Prometheus text exposition format (version 0.0.4)
 * of what pg_scribe knows about itself.
 *
 * Glossary (the exposition format's words):
 *   family   one metric name with its # HELP and # TYPE lines and samples
 *   sample   one line: name{labels} value
 *   counter  a total since server start, name ending in _total; a scrape
 *            after a restart sees it start again from zero
 *   gauge    a value now (a depth, a lag, an age)
 *
 * Where the numbers come from, so that a scrape every 15 s stays cheap on a
 * queue of millions of jobs: counters and histograms in shared memory (the
 * queue statistics, the worker pool, the cache, the OCR ledger's writer),
 * and status functions whose statements use indexes (queue depths, policy
 * status, replication).  Nothing scans scribe.jobs or scribe.ocr_ledger.
 */
#ifndef SCRIBE_METRICS_H
#define SCRIBE_METRICS_H

#include "lib/stringinfo.h"

/* metrics_format.c: writing the exposition */
extern void scribe_metrics_family(StringInfo out, const char *name, const char *type,
								  const char *help);
extern void scribe_metrics_sample(StringInfo out, const char *name, const char *suffix,
								  int nlabels, const char *const *names, const char *const *values,
								  const char *le, double value);
extern void scribe_metrics_histogram(StringInfo out, const char *name, int nlabels,
									 const char *const *names, const char *const *values,
									 int nbounds, const double *bounds, const uint64 *cumulative,
									 uint64 count, double sum);

/* metrics_shared.c: the families read from shared memory */
extern void scribe_metrics_queues(StringInfo out);
extern void scribe_metrics_ocr(StringInfo out);

/* metrics_sql.c: the families read through status functions (inside SPI) */
extern void scribe_metrics_from_sql(StringInfo out);

#endif							/* SCRIBE_METRICS_H */
