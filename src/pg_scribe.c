/*
 * pg_scribe: a document-processing backend inside PostgreSQL.
 *
 * This file only wires the capabilities into the server at load time; see
 * pg_scribe.h for the glossary and docs/architecture.md for the processes.
 */
#include "pg_scribe.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

#include "cache/cache.h"
#include "cache/cache_redis.h"
#include "cache/rate_limit.h"
#include "documents/documents.h"
#include "lifecycle/lifecycle.h"
#include "jobs/job_kind.h"
#include "launcher/launcher.h"
#include "lifecycle/s3.h"
#include "ocr/ocr.h"
#include "pool/pool.h"
#include "queue/queue.h"
#include "queue/queue_stats.h"
#include "replication/heartbeat.h"
#include "shmem.h"

PG_MODULE_MAGIC;

bool		scribe_preloaded = false;

void		_PG_init(void);

/* At server start: define the GUCs, request shared memory, register the launcher */
void
_PG_init(void)
{
	/* pg_upgrade's server must not start workers or touch our tables */
	if (IsBinaryUpgrade)
		return;

	/*
	 * Loaded on demand by a backend, the library only serves the functions
	 * that work without it (version, health); the others ERROR through
	 * scribe_require_preload().  PostgreSQL forbids defining PGC_POSTMASTER
	 * settings after startup, so there are no settings either.
	 */
	if (!process_shared_preload_libraries_in_progress)
		return;

	scribe_preloaded = true;
	scribe_privilege_define_gucs();
	scribe_launcher_define_gucs();
	scribe_heartbeat_define_gucs();
	scribe_queue_define_gucs();
	scribe_queue_stats_define_gucs();
	scribe_pool_define_gucs();
	scribe_http_define_gucs();
	scribe_ocr_define_gucs();
	scribe_cache_define_gucs();
	scribe_redis_define_gucs();
	scribe_rate_limit_define_gucs();
	scribe_policy_define_gucs();
	scribe_s3_define_gucs();
	MarkGUCPrefixReserved("scribe");

	/* the pipelines register with the queue and the pool */
	scribe_documents_init();

	scribe_shmem_install_hooks();
	scribe_launcher_register();
	scribe_launcher_watch_drops();
}
