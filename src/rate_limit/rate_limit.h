/*
 * The rate limiter: GCRA (the generic cell rate algorithm) over a bounded
 * table of keys in shared memory.
 *
 * Glossary:
 *   emission interval  period / limit: the time one request of cost 1 uses up
 *   tolerance          emission interval * burst: how far ahead of now a key
 *                      may run before requests are rejected
 *   TAT                theoretical arrival time: when the key's bucket is full
 *                      again; the only state a key has.  A TAT in the past
 *                      means a full bucket, the same as no entry at all.
 *
 * The table is split into partitions, each with its own LWLock, hash chains
 * and least-recently-used list.  A new key in a full partition takes the
 * place of the least recently used entry whose TAT has passed (it carries no
 * state); only when every entry is still limiting does the least recently
 * used one go.
 */
#ifndef SCRIBE_RATE_LIMIT_H
#define SCRIBE_RATE_LIMIT_H

#include "datatype/timestamp.h"

#include "base/shmem.h"

/* Longest key, in bytes: keys are stored inline */
#define SCRIBE_RATE_LIMIT_MAX_KEY 200
/* Partitions of the table, one LWLock each */
#define SCRIBE_RATE_LIMIT_PARTITIONS SCRIBE_LWLOCK_RATE_LIMIT_PARTITIONS

/* GUCs */
extern int	scribe_rate_limit_keys;

extern void scribe_rate_limit_define_gucs(void);
extern Size scribe_rate_limit_shmem_size(void);
extern void scribe_rate_limit_shmem_init(void);

/* One request against a key, times in nanoseconds */
typedef struct RateLimitRequest
{
	const char *key;
	int			keylen;
	int64		interval_ns;	/* emission interval, >= 1 */
	int64		tolerance_ns;	/* interval_ns * burst */
	int64		cost_ns;		/* interval_ns * cost; 0 peeks */
} RateLimitRequest;

/* What the limiter decided */
typedef struct RateLimitDecision
{
	bool		allowed;
	int64		remaining;		/* requests of cost 1 still allowed now */
	int64		retry_after_ns; /* 0 when allowed */
	int64		reset_after_ns; /* until the bucket is full again */
} RateLimitDecision;

/* Counters for scribe.rate_limit_stats() */
typedef struct RateLimitCounters
{
	int64		keys;
	int64		capacity;
	int64		evictions;		/* keys dropped to make room */
	int64		evictions_limiting; /* of which still limiting: their limit loosened */
	int64		allowed;
	int64		rejected;
} RateLimitCounters;

extern bool scribe_rate_limit_enabled(void);
extern void scribe_rate_limit_apply(const RateLimitRequest *request, TimestampTz now,
									RateLimitDecision *decision);
extern bool scribe_rate_limit_forget(const char *key, int keylen);
extern void scribe_rate_limit_counters(RateLimitCounters *counters);

#endif							/* SCRIBE_RATE_LIMIT_H */
