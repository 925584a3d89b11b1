/*
 * The worker pool: dynamic background workers, started and reaped by the
 * launcher, that claim jobs from the queues whose consumer is 'workers' and
 * run them.
 *
 * Glossary:
 *   worker  a dynamic background worker of the pool ("pg_scribe worker")
 *   slot    a worker's entry in shared memory: its state, the jobs it has
 *           claimed and not finished (released by the launcher if it dies),
 *           and the job it runs now
 *   batch   the jobs one claim gave a worker; run and acked in as few
 *           transactions as their run time allows
 */
#ifndef SCRIBE_POOL_H
#define SCRIBE_POOL_H

#include "datatype/timestamp.h"
#include "storage/proc.h"
#include "storage/s_lock.h"
#include "utils/uuid.h"

/* Most jobs a worker claims at once */
#define SCRIBE_WORKER_MAX_BATCH 32

/*
 * A worker's life:
 *   FREE -> STARTING        the launcher registers a worker for the slot
 *   STARTING -> IDLE        the worker attached and connected
 *   IDLE <-> BUSY           it claimed jobs / found none
 *   IDLE -> STOPPING        idle past scribe.worker_idle_timeout while more
 *                           than scribe.min_workers run, or asked to stop
 *   any -> FREE             the process exited; the launcher releases the
 *                           jobs it still held
 */
typedef enum ScribeWorkerState
{
	WORKER_FREE = 0,
	WORKER_STARTING,
	WORKER_IDLE,
	WORKER_BUSY,
	WORKER_STOPPING
} ScribeWorkerState;

typedef struct ScribeWorkerSlot
{
	slock_t		mutex;
	ScribeWorkerState state;
	int			pid;
	PGPROC	   *proc;
	bool		woken;			/* a committer set our latch; cleared when idle again */
	bool		stop;			/* the launcher asks the worker to exit */
	TimestampTz started_at;
	TimestampTz state_since;
	int64		jobs_done;
	int64		jobs_failed;
	/* claimed and not yet acked, nacked or released: job ids and lease tokens */
	int			n_claimed;
	int64		claimed_ids[SCRIBE_WORKER_MAX_BATCH];
	pg_uuid_t	claimed_leases[SCRIBE_WORKER_MAX_BATCH];
	/* the job running now (job_id 0: none) */
	int64		job_id;
	int32		job_attempt;
	int32		queue_id;
	char		kind[NAMEDATALEN];
	TimestampTz job_started;
	int			progress;		/* percent, -1 when unknown */
} ScribeWorkerSlot;

/* GUCs */
extern int	scribe_min_workers;
extern int	scribe_max_workers;
extern int	scribe_jobs_per_worker;
extern int	scribe_worker_idle_timeout;
extern char *scribe_queue_conninfo;
extern int	scribe_queue_poll_interval;

/* pool.c */
extern void scribe_pool_define_gucs(void);
extern Size scribe_pool_shmem_size(void);
extern void scribe_pool_shmem_init(void);
extern int	scribe_pool_slot_count(void);
extern ScribeWorkerSlot *scribe_pool_slot(int slotno);
extern bool scribe_pool_wake_idle_worker(void);
extern void scribe_pool_want_launcher(void);
extern void scribe_pool_jobs_ready(int64 ready_jobs);
extern int	scribe_pool_alive(int32 *pids);
extern void scribe_pool_set_database(Oid dboid);
extern Oid	scribe_pool_database(void);
extern bool scribe_pool_scale_wanted(bool clear);
extern void scribe_pool_set_remote_backlog(int64 backlog);
extern int64 scribe_pool_remote_backlog(void);
extern bool scribe_pool_remote_enabled(void);
extern void scribe_pool_note_start(TimestampTz now, int wanted, int running);

/* pool_launcher.c: the launcher's tasks (base/wakeup.h) */
extern TimestampTz scribe_pool_task(TimestampTz now);
extern TimestampTz scribe_pool_at_connect(TimestampTz now);
extern TimestampTz scribe_pool_uninstalled(TimestampTz now);
extern void scribe_pool_stop_all(void);

/* pool_worker.c */
extern PGDLLEXPORT void scribe_worker_main(Datum main_arg);
extern void scribe_pool_report_progress(int percent);
extern void scribe_pool_job_begin(int64 job_id, int32 attempt, const char *kind, const char *activity);
extern void scribe_pool_job_end(bool done, bool released);
extern void scribe_pool_job_timer_start(int64 timeout_ms);
extern void scribe_pool_job_timer_stop(void);
extern bool scribe_pool_worker_stopping(void);

#endif							/* SCRIBE_POOL_H */
