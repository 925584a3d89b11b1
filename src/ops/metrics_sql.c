/*
 * scribe.metrics() and the families read through status functions and
 * views.  Each family is one statement returning its label values as text
 * and its value last; a NULL value leaves the sample out.  The statements
 * run as the bootstrap superuser, so that pg_monitor needs EXECUTE on
 * scribe.metrics() only.
 */
#include "base/pg_scribe.h"

#include "executor/spi.h"
#include "utils/builtins.h"

#include "ops/metrics.h"
#include "base/spi_plans.h"

typedef struct SqlFamily
{
	const char *name;
	const char *type;
	const char *help;
	int			nlabels;
	const char *labels[2];
	const char *sql;
} SqlFamily;

static const SqlFamily sql_families[] = {
	{"scribe_workers", "gauge",
		"Workers of this node's pool by state: starting, idle, busy (running jobs), stopping.",
		1, {"state"},
		"SELECT s.state, count(w.pid)::float8 FROM (VALUES ('starting'), ('idle'), ('busy'), ('stopping')) s(state) "
		"LEFT JOIN scribe._worker_slots() w ON w.state = s.state GROUP BY s.state ORDER BY s.state"},
	{"scribe_workers_max", "gauge",
		"Most workers the pool may run (scribe.max_workers).",
		0, {NULL},
		"SELECT current_setting('scribe.max_workers')::float8"},
	{"scribe_cache_hits_total", "counter",
		"Cache hits by tier (l1: shared memory, l2: Redis), since server start.",
		1, {"tier"}, "SELECT tier, hits::float8 FROM scribe.cache_stats()"},
	{"scribe_cache_misses_total", "counter",
		"Cache misses by tier, since server start.",
		1, {"tier"}, "SELECT tier, misses::float8 FROM scribe.cache_stats()"},
	{"scribe_cache_evictions_total", "counter",
		"Entries evicted to make room, by tier (l1 only: Redis evicts by itself), since server start.",
		1, {"tier"}, "SELECT tier, evictions::float8 FROM scribe.cache_stats()"},
	{"scribe_cache_entries", "gauge",
		"Entries in the cache tier (l1 only).",
		1, {"tier"}, "SELECT tier, entries::float8 FROM scribe.cache_stats()"},
	{"scribe_cache_used_bytes", "gauge",
		"Bytes the cache tier uses (l1 only), of scribe.cache_memory.",
		1, {"tier"}, "SELECT tier, used_bytes::float8 FROM scribe.cache_stats()"},
	{"scribe_redis_breaker_state", "gauge",
		"The Redis circuit breaker: 1 for its current state (closed, open, half-open), 0 for the others; no samples without scribe.redis_url.",
		1, {"state"},
		"SELECT s.state, (r.state = s.state)::int::float8 FROM scribe.redis_stats() r "
		"CROSS JOIN (VALUES ('closed'), ('open'), ('half-open')) s(state) WHERE r.configured"},
	{"scribe_redis_short_circuited_total", "counter",
		"Redis calls the open breaker skipped, since server start.",
		0, {NULL}, "SELECT short_circuited::float8 FROM scribe.redis_stats()"},
	{"scribe_rate_limit_allowed_total", "counter",
		"Calls of scribe.rate_limit_take() that were allowed, since server start.",
		0, {NULL}, "SELECT allowed::float8 FROM scribe.rate_limit_stats()"},
	{"scribe_rate_limit_rejected_total", "counter",
		"Calls of scribe.rate_limit_take() that were rejected, since server start.",
		0, {NULL}, "SELECT rejected::float8 FROM scribe.rate_limit_stats()"},
	{"scribe_rate_limit_keys", "gauge",
		"Keys the rate limiter holds in shared memory now.",
		0, {NULL}, "SELECT keys::float8 FROM scribe.rate_limit_stats()"},
	{"scribe_replication_lag_bytes", "gauge",
		"Replication lag in bytes, by side (publisher: per replica; subscriber: this replica) and name.",
		2, {"side", "name"}, "SELECT side, name, lag_bytes::float8 FROM scribe.replication_status()"},
	{"scribe_replication_lag_seconds", "gauge",
		"Replication lag in seconds, by side and name.",
		2, {"side", "name"}, "SELECT side, name, extract(epoch FROM lag)::float8 FROM scribe.replication_status()"},
	{"scribe_policy_last_success_timestamp_seconds", "gauge",
		"Unix time of each lifecycle policy's last successful run (no sample before its first).",
		2, {"policy", "kind"},
		"SELECT name, kind, extract(epoch FROM last_success_at)::float8 FROM scribe.policy_status()"},
	{"scribe_policy_consecutive_failures", "gauge",
		"Failed runs of each lifecycle policy since its last success.",
		2, {"policy", "kind"},
		"SELECT name, kind, consecutive_failures::float8 FROM scribe.policy_status()"},
	{"scribe_node_info", "gauge",
		"This node: its name (scribe.node_name) and role (primary, replica, worker node); always 1.",
		2, {"node", "role"},
		"SELECT lib.node_name, scribe._node_role(), 1::float8 FROM scribe._library_status() lib"},
	{"scribe_launcher_up", "gauge",
		"1 when this node's launcher is running, else 0.",
		0, {NULL}, "SELECT (state = 'running')::int::float8 FROM scribe._launcher_status()"},
	{"scribe_heartbeat_age_seconds", "gauge",
		"Seconds since each node's last heartbeat as this node sees it (through replication for other nodes).",
		1, {"node"},
		"SELECT node_name, extract(epoch FROM clock_timestamp() - beat_at)::float8 FROM scribe.heartbeat ORDER BY node_name"},
	{"scribe_heartbeat_stale", "gauge",
		"1 for each node whose heartbeat is older than 3 x scribe.heartbeat_interval + 10 s (renamed, retired or down: scribe.node_forget() removes a row left behind), else 0; no samples while heartbeats are off here.",
		1, {"node"},
		"SELECT node_name, (beat_at < clock_timestamp() - scribe._heartbeat_stale_after())::int::float8 "
		"FROM scribe.heartbeat ORDER BY node_name"},
	{"scribe_database_served", "gauge",
		"1 when this database is scribe.database, which the launcher and its workers serve; 0 in another, where jobs for workers never run.",
		0, {NULL},
		"SELECT (current_database() = current_setting('scribe.database'))::int::float8"},
};

#define N_SQL_FAMILIES lengthof(sql_families)

static SPIPlanPtr plans[N_SQL_FAMILIES];
static SPIPlanPtr plan_depths = NULL;

/*
 * The queues' depths by state and the age of their oldest ready job: one
 * call of scribe.queue_stats(), whose counts of delayed and dead jobs are
 * what a scrape costs most on a large queue
 */
static void
queue_depths(StringInfo out)
{
	static const char *const states[] = {"ready", "delayed", "in_flight", "dead"};
	static const char *const labels[] = {"queue", "state"};
	uint64		n;
	SPITupleTable *rows;

	scribe_plan_execute(&plan_depths,
						"SELECT queue, ready, delayed, in_flight, dead, "
						"       COALESCE(extract(epoch FROM oldest_ready_age), 0)::float8 "
						"FROM scribe.queue_stats()",
						0, NULL, NULL, NULL, true, 0);
	n = SPI_processed;
	rows = SPI_tuptable;
	scribe_metrics_family(out, "scribe_queue_jobs", "gauge",
						  "Jobs in each queue by state: ready, delayed (run_at in the future), in_flight (leased), dead (dead letters).");
	for (uint64 r = 0; r < n; r++)
	{
		for (int s = 0; s < 4; s++)
		{
			bool		isnull;
			const char *values[2] = {SPI_getvalue(rows->vals[r], rows->tupdesc, 1), states[s]};

			scribe_metrics_sample(out, "scribe_queue_jobs", "", 2, labels, values, NULL,
								  (double) DatumGetInt64(SPI_getbinval(rows->vals[r], rows->tupdesc, s + 2, &isnull)));
		}
	}
	scribe_metrics_family(out, "scribe_queue_oldest_ready_seconds", "gauge",
						  "Age of the oldest ready job of each queue since it fell due (0 when none is ready).");
	for (uint64 r = 0; r < n; r++)
	{
		bool		isnull;
		const char *values[1] = {SPI_getvalue(rows->vals[r], rows->tupdesc, 1)};

		scribe_metrics_sample(out, "scribe_queue_oldest_ready_seconds", "", 1, labels, values, NULL,
							  DatumGetFloat8(SPI_getbinval(rows->vals[r], rows->tupdesc, 6, &isnull)));
	}
}

/* The families read through status functions (inside SPI, as the owner) */
void
scribe_metrics_from_sql(StringInfo out)
{
	queue_depths(out);
	for (int f = 0; f < (int) N_SQL_FAMILIES; f++)
	{
		const SqlFamily *fam = &sql_families[f];

		scribe_metrics_family(out, fam->name, fam->type, fam->help);
		scribe_plan_execute(&plans[f], fam->sql, 0, NULL, NULL, NULL, true, 0);
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			HeapTuple	row = SPI_tuptable->vals[r];
			const char *values[2];
			bool		isnull;
			Datum		value = SPI_getbinval(row, SPI_tuptable->tupdesc, fam->nlabels + 1, &isnull);

			if (isnull)
				continue;
			for (int l = 0; l < fam->nlabels; l++)
				values[l] = SPI_getvalue(row, SPI_tuptable->tupdesc, l + 1);
			scribe_metrics_sample(out, fam->name, "", fam->nlabels, fam->labels, values, NULL,
								  DatumGetFloat8(value));
		}
	}
}

PG_FUNCTION_INFO_V1(scribe_metrics);

/* scribe.metrics(): every family, in the text exposition format */
Datum
scribe_metrics(PG_FUNCTION_ARGS)
{
	StringInfoData out;
	ScribeSpiScope scope;
	text	   *result;

	scribe_require_preload("scribe.metrics()");
	initStringInfo(&out);
	scribe_spi_begin_as_owner(&scope);
	scribe_metrics_from_sql(&out);
	scribe_metrics_queues(&out);
	scribe_metrics_ocr(&out);
	scribe_spi_end(&scope);
	/* out.data was allocated before SPI was connected: it outlives SPI's memory */
	result = cstring_to_text_with_len(out.data, out.len);
	PG_RETURN_TEXT_P(result);
}
