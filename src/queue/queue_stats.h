/*
 * Queue statistics in shared memory: per-queue job counters kept at commit,
 * and histograms of wait and run times in one-minute slots, so that
 * scribe.queue_stats() costs the same on a queue of ten jobs or ten million.
 *
 * Counters change only when the transaction that changed the jobs commits;
 * the launcher reconciles them with an exact count every few minutes and
 * after a restart.
 */
#ifndef SCRIBE_QUEUE_STATS_H
#define SCRIBE_QUEUE_STATS_H

#include "datatype/timestamp.h"

/* Histogram buckets: bucket i holds durations up to 100 us * 2^(i/2) */
#define SCRIBE_HIST_BUCKETS 64
/* One-minute slots kept: the longest window queue_stats() can report */
#define SCRIBE_STATS_MINUTES 30
/* Job kinds counted apart per queue; later kinds share the last counter (kind "other") */
#define SCRIBE_STATS_KINDS 8
/* Finished or failed jobs (dead rows) after which the launcher vacuums scribe.jobs */
#define SCRIBE_VACUUM_MIN_CHURN 10000

/* GUCs */
extern int	scribe_max_queues;

extern void scribe_queue_stats_define_gucs(void);
extern Size scribe_queue_stats_shmem_size(void);
extern void scribe_queue_stats_shmem_init(void);

/* Version of scribe.queues: bumped by every committed create/alter/drop */
extern uint64 scribe_queue_version(void);
extern void scribe_queue_version_bump(void);

/* Changes applied when the transaction commits (dropped on rollback) */
extern void scribe_queue_stats_count(int32 queue_id, int64 jobs, int64 in_flight);
extern void scribe_queue_stats_finished(int32 queue_id, const char *kind, TimestampTz run_at,
										TimestampTz claimed_at, TimestampTz finished_at);
extern void scribe_queue_stats_failed(int32 queue_id, const char *kind, bool dead);
extern void scribe_queue_stats_recount_at_commit(int32 queue_id);

/* Reading: counters (false when stale), recounts, windows, percentiles */
extern bool scribe_queue_stats_counters(int32 queue_id, int64 *jobs, int64 *in_flight);
extern void scribe_queue_stats_recount(int32 queue_id, int64 *jobs, int64 *in_flight);
extern bool scribe_queue_stats_window(int32 queue_id, int minutes, uint64 *completed,
									  uint64 *failed, uint64 *wait, uint64 *run);

/* Totals since server start, for monitoring (scribe.metrics()) */
typedef struct ScribeKindCounts
{
	char		kind[NAMEDATALEN];	/* "" for jobs without a kind */
	uint64		completed;
	uint64		failed;
	uint64		dead;
} ScribeKindCounts;

typedef struct ScribeQueueTotals
{
	uint64		completed;
	double		wait_sum;		/* seconds */
	double		run_sum;
	uint64		wait[SCRIBE_HIST_BUCKETS];
	uint64		run[SCRIBE_HIST_BUCKETS];
	int			nkinds;
	ScribeKindCounts kinds[SCRIBE_STATS_KINDS];
} ScribeQueueTotals;

extern bool scribe_queue_stats_totals(int32 queue_id, ScribeQueueTotals *totals);

/* queue_histogram.c: durations (saturated), their buckets, bounds, percentiles */
extern int64 scribe_queue_elapsed_us(TimestampTz from, TimestampTz to);
extern int	scribe_queue_hist_bucket(int64 us);
extern double scribe_queue_hist_bound(int bucket);
extern int64 scribe_queue_hist_percentile(const uint64 *hist, uint64 total, double fraction);

/* Dead rows left in scribe.jobs since the last vacuum; all jobs */
extern uint64 scribe_queue_churn(uint64 done);
extern int64 scribe_queue_stats_total_jobs(void);

/* The launcher's part: recount what needs it (inside SPI); next due time */
extern TimestampTz scribe_queue_stats_reconcile(TimestampTz now, bool all);
extern void scribe_queue_stats_forget(int32 queue_id);

/* Earliest run_at of a delayed job in a workers queue, known to the launcher */
extern TimestampTz scribe_queue_next_due(void);
extern bool scribe_queue_next_due_lower(TimestampTz when);
extern void scribe_queue_next_due_set(TimestampTz when);

#endif							/* SCRIBE_QUEUE_STATS_H */
