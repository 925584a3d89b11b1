/*
 * The shared memory of the queue statistics, for the two files that keep it:
 * queue_stats.c (the counters, applied at commit) and queue_recount.c (the
 * exact recounts that correct them).  Nothing outside src/queue/ includes it.
 */
#ifndef SCRIBE_QUEUE_STATS_INTERNAL_H
#define SCRIBE_QUEUE_STATS_INTERNAL_H

#include "port/atomics.h"
#include "storage/spin.h"
#include "utils/timestamp.h"

#include "queue/queue_stats.h"

typedef struct StatsSlot
{
	int64		minute;			/* minutes since 2000-01-01; which minute this is */
	uint32		completed;
	uint32		failed;
	uint32		wait[SCRIBE_HIST_BUCKETS];
	uint32		run[SCRIBE_HIST_BUCKETS];
} StatsSlot;

typedef struct QueueStatsEntry
{
	slock_t		mutex;
	int32		queue_id;		/* 0: free */
	bool		needs_recount;
	uint64		applied;		/* commits applied: a recount that saw one change is void */
	int64		jobs;			/* rows in scribe.jobs */
	int64		in_flight;		/* claimed, not yet acked, nacked or released */
	uint64		completed;
	uint64		failed;
	uint64		dead;
	double		wait_sum;		/* seconds */
	double		run_sum;
	uint64		wait_total[SCRIBE_HIST_BUCKETS];
	uint64		run_total[SCRIBE_HIST_BUCKETS];
	int			nkinds;
	ScribeKindCounts kinds[SCRIBE_STATS_KINDS];
	StatsSlot	slots[SCRIBE_STATS_MINUTES];
} QueueStatsEntry;

typedef struct QueueShared
{
	pg_atomic_uint64 version;
	pg_atomic_uint64 churn;		/* rows of scribe.jobs acked, nacked or dead-lettered since the last vacuum */
	slock_t		mutex;			/* next_due, last_reconcile */
	TimestampTz next_due;
	TimestampTz last_reconcile;
	int			max_queues;
	QueueStatsEntry entries[FLEXIBLE_ARRAY_MEMBER];
} QueueShared;

extern QueueShared *scribe_queue_shared;

/* queue_stats.c */
extern QueueStatsEntry *scribe_queue_stats_entry(int32 queue_id, bool create);

#endif							/* SCRIBE_QUEUE_STATS_INTERNAL_H */
