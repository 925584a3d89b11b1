/*
 * The queue: named queues of jobs in scribe.jobs, consumed through leases.
 *
 * Glossary:
 *   queue     a named policy (lease, attempts, backoff, retention, consumer)
 *   job       one unit of work in a queue; unfinished jobs live in
 *             scribe.jobs, finished ones in scribe.jobs_archive, failed ones
 *             in scribe.jobs_dead
 *   claim     take ready jobs with a lease; each claim is a new attempt
 *   lease     a claimed job's invisibility to other consumers, until
 *             lease_until; (job_id, lease token) names it: the token is a
 *             random uuid each claim makes and only its claimer learns, so
 *             that neither a consumer whose lease passed to another nor a
 *             role guessing numbers can ack, nack or extend it
 *   ack       finish a claimed job; nack fails its attempt
 *   consumer  'workers': pg_scribe's worker pool runs the jobs;
 *             'clients': applications claim and ack them
 *   owner     the role that created a queue (the built-in ones: the
 *             bootstrap superuser); its members manage the queue and grant
 *   right     send or claim, which a queue's owner grants other roles
 *             (scribe.queue_grant); claim covers ack, nack, release,
 *             extend_lease and job_get of the queue's jobs
 */
#ifndef SCRIBE_QUEUE_H
#define SCRIBE_QUEUE_H

#include "datatype/timestamp.h"
#include "nodes/pg_list.h"
#include "utils/jsonb.h"
#include "utils/uuid.h"

/* Longest error text kept per attempt, in bytes; longer ones are cut (scribe_queue_error_text) */
#define SCRIBE_MAX_ERROR_BYTES 8192

/* The rights on a queue that its owner grants (scribe.queue_grant) */
typedef enum ScribeQueueRight
{
	SCRIBE_QUEUE_SEND,			/* send, send_batch */
	SCRIBE_QUEUE_CLAIM			/* claim; ack, nack, release, extend_lease, job_get */
} ScribeQueueRight;

/* A queue's policy and rights, as the backend-local cache holds them */
typedef struct ScribeQueue
{
	char		name[NAMEDATALEN];	/* hash key: keep first */
	int32		queue_id;
	bool		workers;		/* consumer = 'workers' */
	bool		archive;		/* retention > 0: acked jobs go to the archive */
	int32		max_attempts;
	int64		lease_us;
	bool		owned;			/* false under the SQL of 0.3.0: no owners, no rights to check */
	Oid			owner;
	int			nsenders;		/* the grantees of send (in the cache's memory) */
	Oid		   *senders;
	int			nclaimers;		/* the grantees of claim */
	Oid		   *claimers;
} ScribeQueue;

/* A claimed job */
typedef struct ScribeJob
{
	int64		job_id;
	pg_uuid_t	lease;			/* the claim's token */
	int32		attempt;
	int32		max_attempts;
	int32		queue_id;
	int32		priority;
	char	   *kind;			/* NULL for a plain message */
	Jsonb	   *payload;
	Oid			enqueued_by;
	TimestampTz enqueued_at;
	TimestampTz run_at;
	TimestampTz lease_until;
} ScribeJob;

/* GUCs */
extern int	scribe_max_payload_size;

extern void scribe_queue_define_gucs(void);

/* queue_cache.c */
extern const ScribeQueue *scribe_queue_lookup(const char *name);
extern const ScribeQueue *scribe_queue_lookup_id(int32 queue_id);
extern void scribe_queue_not_found(const char *name) pg_attribute_noreturn();
extern List *scribe_queue_worker_queues(void);
extern void scribe_queue_changed_at_commit(void);
extern void scribe_queue_cache_forget(void);

/*
 * queue_rights.c: whether a role may send to or claim from a queue: a
 * superuser, a member of its owner or of scribe_admin, or of a role its
 * owner granted the right.  The checks ERROR with 42501.
 * scribe_queue_check_right() is the one for other capabilities (it looks
 * the queue up itself, inside or outside SPI); the others are the queue's
 * (inside SPI, as the owner).
 */
extern bool scribe_queue_may(const ScribeQueue *queue, Oid role, ScribeQueueRight right);
extern void scribe_queue_require(const ScribeQueue *queue, Oid role, ScribeQueueRight right);
extern void scribe_queue_require_id(int32 queue_id, Oid role, ScribeQueueRight right);
extern void scribe_queue_check_right(const char *queue, Oid role, ScribeQueueRight right);

/*
 * queue_ready.c: the queue's announcement, at commit, that jobs became
 * ready in a workers queue (base/xact.h, phase ANNOUNCE); the listener
 * (the pool) wakes a worker or asks the launcher for more
 */
typedef void (*ScribeQueueReadyHook) (int64 ready_jobs);
extern void scribe_queue_on_ready(ScribeQueueReadyHook hook);
extern void scribe_queue_ready_at_commit(int64 ready_jobs, TimestampTz due);
extern int64 scribe_queue_ready_jobs(int64 cap);
extern TimestampTz scribe_queue_lookup_next_due(void);

/*
 * queue_wait.c: claims that wait on a condition variable of their queue,
 * broadcast when a transaction that made its jobs ready commits
 */
extern Size scribe_queue_wait_shmem_size(void);
extern void scribe_queue_wait_shmem_init(void);
extern void scribe_queue_wake_at_commit(int32 queue_id);
extern void scribe_queue_wake_at_abort(int32 queue_id);
extern int	scribe_queue_claim_wait(const ScribeQueue *queue, int n, int64 lease_us,
									int32 claimed_by, int64 wait_us, ScribeJob **jobs);

/*
 * queue_send.c: the check of a job's kind and payload at send, which the
 * job kinds' registry provides (jobs/job_kind.c); ERROR on a bad one
 */
typedef void (*ScribeQueueKindCheck) (const char *kind, Jsonb *payload, Oid role);
extern void scribe_queue_set_kind_check(ScribeQueueKindCheck check);

/* queue_status.c: every queue, ordered by name (inside SPI) */
extern uint64 scribe_queue_list_all(int32 **ids, char ***names);

/* queue_maintenance.c: the launcher's task */
extern TimestampTz scribe_queue_maintenance_task(TimestampTz now);
extern TimestampTz scribe_queue_vacuum_if_needed(TimestampTz now);

/* queue_claim.c: inside SPI, in the caller's transaction */
extern int	scribe_queue_claim_jobs(const ScribeQueue *queue, int n, int64 lease_us,
									int32 claimed_by, ScribeJob **jobs, int *touched);

/* Columns of scribe.jobs_dead filled from a deleted row d of scribe.jobs */
#define SCRIBE_JOBS_DEAD_COLUMNS "job_id, died_at, run_at, enqueued_at, claimed_at, queue_id, attempts, " \
	"max_attempts, enqueued_by, priority, kind, idempotency_key, payload, errors"

/* queue_consume.c: inside SPI, in the caller's transaction */
extern void scribe_queue_account_dead_rows(void);
extern void scribe_queue_ack_jobs(int n, const ScribeJob *jobs, Jsonb **results,
								  const TimestampTz *finished);
extern const char *scribe_queue_nack_job(int64 job_id, const pg_uuid_t *lease, const char *error,
										 const Interval *retry_in, bool retry);
extern int	scribe_queue_lock_jobs(int n, const ScribeJob *jobs, bool *locked);
extern int	scribe_queue_release_jobs(int n, const int64 *job_ids, const pg_uuid_t *leases,
									  const char *reason);
extern const char *scribe_queue_error_text(const char *error);
extern int64 scribe_queue_release_orphans(int n_alive, const int32 *alive_pids);
extern TimestampTz scribe_queue_extend_lease(int64 job_id, const pg_uuid_t *lease, int64 lease_us, Oid role);

/* queue_consume.c: no SPI needed */
extern int	scribe_queue_job_leases(int n, const ScribeJob *jobs, const bool *keep,
									int64 *job_ids, pg_uuid_t *leases);

/*
 * queue_consume.c: a consumer's verbs on one job, named by its lease (inside
 * SPI, as the owner).  They run the hooks of the job's kind; the pool's own
 * acks and nacks (scribe_queue_ack_jobs, scribe_queue_nack_job) do not: the
 * kind's execute did that work in the worker.  role (the consumer) must
 * still hold the claim right on the job's queue: the lease token alone is
 * not enough, so that a revoked right stops a consumer at once.
 */
extern bool scribe_queue_ack_job(int64 job_id, const pg_uuid_t *lease, Jsonb *result, Oid role);
extern const char *scribe_queue_consumer_nack(int64 job_id, const pg_uuid_t *lease, const char *error,
											  const Interval *retry_in, bool retry, Oid role);
extern bool scribe_queue_release_job(int64 job_id, const pg_uuid_t *lease, Oid role);

/*
 * What a pipeline does when a consumer acks or nacks a job of its kind over
 * SQL (a worker node's result, say), in the same transaction.  Registered
 * from _PG_init; the queue names no kind itself.
 */
typedef struct ScribeQueueKindHooks
{
	const char *kind;
	/* the job's row is locked: write what result says; returns the result to archive */
	Jsonb	   *(*on_ack) (const ScribeJob *job, Jsonb *result);
	/* the attempt failed with error (cut); dead: the job went to the dead letters */
	void		(*on_nack) (const ScribeJob *job, const char *error, bool dead);
} ScribeQueueKindHooks;

/* queue_hooks.c */
extern void scribe_queue_register_kind_hooks(const ScribeQueueKindHooks *hooks);
extern const ScribeQueueKindHooks *scribe_queue_kind_hooks(const char *kind);
extern Datum scribe_queue_hooked_kinds(void);
extern Datum scribe_queue_no_kinds(void);

#endif							/* SCRIBE_QUEUE_H */
