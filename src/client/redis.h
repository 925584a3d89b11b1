/*
 * The cache's second tier (L2): Redis through hiredis, behind a circuit
 * breaker in shared memory.
 *
 * Glossary:
 *   target     where Redis is, parsed from scribe.redis_url (host and port
 *              or a unix socket path, password, database number)
 *   connection one hiredis context per backend, opened on first use, reused
 *              by every later call, dropped after any error or timeout (so a
 *              half-read reply is never mistaken for the next call's)
 *   breaker    shared by every backend: closed (calls go to Redis), open
 *              (calls return UNAVAILABLE at once, without touching the
 *              network, for scribe.redis_breaker_cooldown), half-open (one
 *              backend probes Redis; the others still skip it)
 *   failure    Redis could not be reached or did not answer in time, or
 *              answered that it cannot serve anyone (LOADING, BUSY, NOAUTH,
 *              WRONGPASS, MASTERDOWN, READONLY); it counts toward opening
 *              the breaker
 *   rejection  Redis answered with an error about this one call (WRONGTYPE:
 *              the key holds a list, say; OOM; a non-integer for INCR); the
 *              connection and the breaker are fine
 *
 * What the cache layer does with each result:
 *   HIT          use the value (and fill L1 with it)
 *   MISS         the key is not in Redis: run the loader, then set L1 and L2
 *   UNAVAILABLE  Redis is not configured, the breaker is open, or the call
 *                just failed (already recorded in the breaker): behave as
 *                if there were no L2 -- serve from L1, else run the loader,
 *                and do not retry Redis in the same call; the breaker decides
 *                when Redis is tried again
 *   REJECTED     treat as a MISS for this key; a later SET of the key
 *                replaces whatever wrong type it holds
 * None of these functions raises an ERROR because of Redis: only for a
 * caller's mistake (a negative TTL), out of memory, or an interrupt (query
 * cancel, statement_timeout), which is raised right after the blocking call.
 * A blocking call lasts at most scribe.redis_connect_timeout plus
 * scribe.redis_command_timeout per socket read or write.  hiredis 0.14
 * restarts a read that a signal interrupts, so a cancel or statement_timeout
 * takes effect when the read returns: measured 266 ms for a 50 ms
 * statement_timeout against a stopped Redis with a 200 ms command timeout.
 */
#ifndef SCRIBE_CACHE_REDIS_H
#define SCRIBE_CACHE_REDIS_H

#include "datatype/timestamp.h"
#include "lib/stringinfo.h"

/* Longest last-error text kept in shared memory, including the terminator */
#define SCRIBE_REDIS_ERROR_MAX 256
/* Commands sent in one pipelined batch by multi-get and set-many */
#define SCRIBE_REDIS_PIPELINE_BATCH 512

/* GUCs */
extern char *scribe_redis_url;
extern int	scribe_redis_connect_timeout;
extern int	scribe_redis_command_timeout;
extern int	scribe_redis_breaker_failures;
extern int	scribe_redis_breaker_cooldown;

/* What one call (or one key of a pipelined call) came to */
typedef enum ScribeRedisResult
{
	SCRIBE_REDIS_OK,			/* set, delete, incr: done */
	SCRIBE_REDIS_HIT,			/* get: the key holds a string value */
	SCRIBE_REDIS_MISS,			/* get: no such key (or it expired) */
	SCRIBE_REDIS_REJECTED,		/* Redis refused this call; see the glossary */
	SCRIBE_REDIS_UNAVAILABLE	/* no Redis now; see the glossary */
} ScribeRedisResult;

/* The breaker's states, in the order they are encoded in shared memory */
typedef enum ScribeRedisBreakerState
{
	SCRIBE_BREAKER_CLOSED = 0,
	SCRIBE_BREAKER_OPEN = 1,
	SCRIBE_BREAKER_HALF_OPEN = 2
} ScribeRedisBreakerState;

/* A key to read, for multi-get */
typedef struct ScribeRedisKey
{
	const char *data;
	int			len;
} ScribeRedisKey;

/* One key's answer to a multi-get; value is palloc'd, on a HIT only */
typedef struct ScribeRedisFetched
{
	ScribeRedisResult result;	/* HIT, MISS or REJECTED */
	char	   *value;
	int			value_len;
} ScribeRedisFetched;

/* A key and value to store, for set-many (warming) */
typedef struct ScribeRedisEntry
{
	const char *key;
	int			key_len;
	const char *value;
	int			value_len;
	int64		ttl_ms;			/* 0: no expiry */
} ScribeRedisEntry;

/* The breaker and its counters, for scribe.redis_stats() */
typedef struct ScribeRedisStatus
{
	bool		configured;		/* scribe.redis_url is set in this backend */
	ScribeRedisBreakerState state;
	TimestampTz state_since;
	int64		failures;		/* calls that failed (see the glossary) */
	int64		successes;		/* calls Redis answered, rejections included */
	int64		opened;			/* times the breaker opened */
	int64		short_circuited;	/* calls refused at once by an open breaker */
	char		last_error[SCRIBE_REDIS_ERROR_MAX];
} ScribeRedisStatus;

/* redis.c: settings, the connection and the operations */
extern void scribe_redis_define_gucs(void);
extern bool scribe_redis_configured(void);
extern ScribeRedisResult scribe_redis_get(const char *key, int key_len, StringInfo value);
extern ScribeRedisResult scribe_redis_set(const char *key, int key_len,
										  const char *value, int value_len, int64 ttl_ms);
extern ScribeRedisResult scribe_redis_delete(int nkeys, const ScribeRedisKey *keys, int64 *deleted);
extern ScribeRedisResult scribe_redis_incr(const char *key, int key_len, int64 *value);
extern ScribeRedisResult scribe_redis_multi_get(int nkeys, const ScribeRedisKey *keys,
												ScribeRedisFetched *fetched);
extern ScribeRedisResult scribe_redis_set_many(int nentries, const ScribeRedisEntry *entries,
											   ScribeRedisResult *results);
extern void scribe_redis_disconnect(void);

/* cache_redis_breaker.c: the circuit breaker in shared memory */
extern Size scribe_redis_shmem_size(void);
extern void scribe_redis_shmem_init(void);
extern void scribe_redis_status(ScribeRedisStatus *status);

#endif							/* SCRIBE_CACHE_REDIS_H */
