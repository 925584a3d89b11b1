/*
 * Job kinds: what a worker of the pool does with a job.
 *
 * A kind validates a payload when the job is enqueued (so that a bad job is
 * an ERROR for its producer, not a dead letter later) and executes it in a
 * worker, inside a subtransaction of the transaction that acks it.
 */
#ifndef SCRIBE_JOB_KIND_H
#define SCRIBE_JOB_KIND_H

#include "lib/stringinfo.h"
#include "queue/queue.h"

typedef enum ScribeJobOutcome
{
	JOB_DONE,					/* ack, keeping *result */
	JOB_RETRY,					/* nack: retry after backoff while attempts remain */
	JOB_FAILED					/* nack without retry: straight to the dead letters */
} ScribeJobOutcome;

typedef struct ScribeJobKind
{
	const char *name;
	/* ERROR on a payload this kind cannot run, or that role may not run */
	void		(*validate) (Jsonb *payload, Oid role);
	/* run the job; an ERROR counts as JOB_RETRY with its message */
	ScribeJobOutcome (*execute) (const ScribeJob *job, int64 timeout_ms,
								 Jsonb **result, char **error);
	/* its job runs in a transaction of its own (it changes transaction state) */
	bool		own_transaction;
} ScribeJobKind;

extern const ScribeJobKind *scribe_job_kind_find(const char *name);
extern void scribe_job_kind_validate(const char *kind, Jsonb *payload, Oid role);

/* kind_http.c (the HTTP client itself: http_client.h) */
extern void scribe_http_define_gucs(void);

/* the kinds */
extern const ScribeJobKind scribe_kind_sql;
extern const ScribeJobKind scribe_kind_http;
extern const ScribeJobKind scribe_kind_ocr;
extern const ScribeJobKind scribe_kind_policy;

/* helpers for kinds: a string member of a jsonb object, or NULL */
extern char *scribe_jsonb_get_string(Jsonb *object, const char *key, bool required, const char *kind);
extern Jsonb *scribe_jsonb_get(Jsonb *object, const char *key);
extern int64 scribe_jsonb_get_int64(Jsonb *object, const char *key, const char *kind, const char *hint);
extern void scribe_jsonb_check_keys(Jsonb *object, const char *const *allowed, const char *kind);

/* job_kind.c: run part of a job in a subtransaction; the ERROR as text, or NULL */
extern char *scribe_job_try(void (*fn) (void *arg), void *arg, int *sqlerrcode);

#endif							/* SCRIBE_JOB_KIND_H */
