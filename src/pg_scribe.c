/*
 * pg_scribe: a document-processing backend inside PostgreSQL.
 *
 * This file only wires the capabilities into the server at load time; see
 * base/pg_scribe.h for the glossary and docs/architecture.md for the processes.
 */
#include "base/pg_scribe.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

#include "base/install.h"
#include "base/shmem.h"
#include "base/wakeup.h"
#include "cache/cache.h"
#include "client/http_client.h"
#include "client/redis.h"
#include "client/s3.h"
#include "documents/documents.h"
#include "jobs/job_kind.h"
#include "launcher/launcher.h"
#include "lifecycle/lifecycle.h"
#include "ocr/ocr.h"
#include "pool/pool.h"
#include "queue/queue.h"
#include "queue/queue_stats.h"
#include "rate_limit/rate_limit.h"
#include "replication/heartbeat.h"
#include "replication/replica.h"

PG_MODULE_MAGIC;

bool		scribe_preloaded = false;

void		_PG_init(void);

/* Define every setting of pg_scribe */
static void
scribe_define_gucs(void)
{
	scribe_privilege_define_gucs();
	scribe_install_define_gucs();
	scribe_heartbeat_define_gucs();
	scribe_queue_define_gucs();
	scribe_queue_stats_define_gucs();
	scribe_pool_define_gucs();
	scribe_http_client_define_gucs();
	scribe_http_define_gucs();
	scribe_ocr_define_gucs();
	scribe_document_define_gucs();
	scribe_cache_define_gucs();
	scribe_redis_define_gucs();
	scribe_rate_limit_define_gucs();
	scribe_policy_define_gucs();
	scribe_s3_define_gucs();
	MarkGUCPrefixReserved("scribe");
}

/* Register every user of shared memory, initialised in this order */
static void
scribe_register_shmem(void)
{
	scribe_shmem_register(scribe_launcher_latch_shmem_size, scribe_launcher_latch_shmem_init);
	scribe_shmem_register(scribe_launcher_shmem_size, scribe_launcher_shmem_init);
	scribe_shmem_register(scribe_queue_stats_shmem_size, scribe_queue_stats_shmem_init);
	scribe_shmem_register(scribe_queue_wait_shmem_size, scribe_queue_wait_shmem_init);
	scribe_shmem_register(scribe_pool_shmem_size, scribe_pool_shmem_init);
	scribe_shmem_register(scribe_cache_shmem_size, scribe_cache_shmem_init);
	scribe_shmem_register(scribe_cache_flight_shmem_size, scribe_cache_flight_shmem_init);
	scribe_shmem_register(scribe_cache_stats_shmem_size, scribe_cache_stats_shmem_init);
	scribe_shmem_register(scribe_redis_shmem_size, scribe_redis_shmem_init);
	scribe_shmem_register(scribe_rate_limit_shmem_size, scribe_rate_limit_shmem_init);
	scribe_shmem_register(scribe_policy_shmem_size, scribe_policy_shmem_init);
	scribe_shmem_register(scribe_ocr_stats_shmem_size, scribe_ocr_stats_shmem_init);
}

/* Register the launcher's tasks; it runs those of a kind in this order */
static void
scribe_register_launcher_tasks(void)
{
	scribe_launcher_task_register("heartbeat", scribe_heartbeat_task, SCRIBE_TASK_WHEN_DUE);
	/* before the pool and the policies: on a replica they stand still */
	scribe_launcher_task_register("replica watch", scribe_replica_watch_task, SCRIBE_TASK_EVERY_WAKEUP);
	scribe_launcher_task_register("worker pool", scribe_pool_task, SCRIBE_TASK_EVERY_WAKEUP);
	scribe_launcher_task_register("queue maintenance", scribe_queue_maintenance_task, SCRIBE_TASK_EVERY_WAKEUP);
	scribe_launcher_task_register("lifecycle policies", scribe_policy_schedule_task, SCRIBE_TASK_EVERY_WAKEUP);
	scribe_launcher_task_register("queue vacuum", scribe_queue_vacuum_if_needed, SCRIBE_TASK_AFTER_OTHERS);
	scribe_launcher_task_register("worker pool database", scribe_pool_at_connect, SCRIBE_TASK_AT_CONNECT);
	scribe_launcher_task_register("worker pool stop", scribe_pool_uninstalled, SCRIBE_TASK_UNINSTALLED);
}

/*
 * At load: wire the layers together; at server start also define the GUCs,
 * request shared memory and register the launcher and its tasks
 */
void
_PG_init(void)
{
	/* pg_upgrade's server must not start workers or touch our tables */
	if (IsBinaryUpgrade)
		return;

	/*
	 * The queue checks a job's kind through the registry of kinds, which
	 * lists them in this order; the document pipeline registers ocr, and
	 * its hooks on the queue and the pool
	 */
	scribe_job_kind_register(&scribe_kind_sql);
	scribe_job_kind_register(&scribe_kind_http);
	scribe_documents_init();
	scribe_job_kind_register(&scribe_kind_policy);
	scribe_queue_set_kind_check(scribe_job_kind_validate);

	/*
	 * Loaded on demand by a backend, the library only serves the functions
	 * that work without it (version, health); the others ERROR through
	 * scribe_require_preload().  PostgreSQL forbids defining PGC_POSTMASTER
	 * settings after startup, so there are no settings either.
	 */
	if (!process_shared_preload_libraries_in_progress)
		return;

	scribe_preloaded = true;
	scribe_define_gucs();
	/* jobs that became ready at a commit: the pool wakes a worker */
	scribe_queue_on_ready(scribe_pool_jobs_ready);
	scribe_register_shmem();
	scribe_register_launcher_tasks();
	scribe_shmem_install_hooks();
	scribe_launcher_register();
	scribe_launcher_watch_objects();
}
