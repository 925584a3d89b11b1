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
#include "base/xact.h"
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

extern void scribe_job_kind_register(const ScribeJobKind *kind);
extern const ScribeJobKind *scribe_job_kind_find(const char *name);
extern void scribe_job_kind_validate(const char *kind, Jsonb *payload, Oid role);

/* kind_http.c (the HTTP client itself: http_client.h) */
extern void scribe_http_define_gucs(void);

/* the kinds */
extern const ScribeJobKind scribe_kind_sql;
extern const ScribeJobKind scribe_kind_http;
extern const ScribeJobKind scribe_kind_policy;

/* helpers for kinds: a string member of a jsonb object, or NULL */
extern char *scribe_jsonb_get_string(Jsonb *object, const char *key, bool required, const char *kind);
extern Jsonb *scribe_jsonb_get(Jsonb *object, const char *key);
extern int64 scribe_jsonb_get_int64(Jsonb *object, const char *key, const char *kind, const char *hint);
extern void scribe_jsonb_check_keys(Jsonb *object, const char *const *allowed, const char *kind);

/* scribe_subxact_try(): run part of a job in a subtransaction (base/xact.h) */

/*
 * The process that runs jobs, as kinds and remote work see it: the pool's
 * worker registers itself (scribe_job_set_runner) when it starts; elsewhere
 * (a backend) every call below does nothing, and stopping is false.
 */
typedef struct ScribeJobRunner
{
	void		(*report_progress) (int percent);
	void		(*job_begin) (int64 job_id, int32 attempt, const char *kind, const char *activity);
	void		(*job_end) (bool done, bool released);
	void		(*timer_start) (int64 timeout_ms);
	void		(*timer_stop) (void);
	bool		(*stopping) (void);
	/* remote work found jobs waiting behind the one it took (0: none) */
	void		(*remote_backlog) (int64 backlog);
} ScribeJobRunner;

extern void scribe_job_set_runner(const ScribeJobRunner *runner);
extern void scribe_job_report_progress(int percent);
extern void scribe_job_begin(int64 job_id, int32 attempt, const char *kind, const char *activity);
extern void scribe_job_end(bool done, bool released);
extern void scribe_job_timer_start(int64 timeout_ms);
extern void scribe_job_timer_stop(void);
extern bool scribe_job_stopping(void);
extern void scribe_job_remote_backlog(int64 backlog);

/*
 * Work a worker takes from elsewhere when its node's own queues are empty:
 * a worker node's jobs of the primary (documents/worker_node.c registers it
 * from _PG_init).  turn runs at most one job and says how many it ran.
 */
typedef struct ScribeJobRemoteWork
{
	int			(*turn) (const char *conninfo);
	void		(*close) (void);
} ScribeJobRemoteWork;

extern void scribe_job_set_remote_work(const ScribeJobRemoteWork *work);
extern const ScribeJobRemoteWork *scribe_job_remote_work(void);

#endif							/* SCRIBE_JOB_KIND_H */
