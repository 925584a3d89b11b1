-- pg_scribe update 0.1.0 -> 0.2.0: the schema delta.
--
-- Only what CREATE OR REPLACE cannot do goes here; the build puts every
-- function file after it (see docs/development.md, "How the SQL is built and
-- upgraded").  Run once, between the prologue and the function files, by
-- ALTER EXTENSION pg_scribe UPDATE.  test/t/090_extension_update.pl compares
-- the result with a fresh install: an object forgotten here is a diff there.

-- Functions renamed in 0.2.0 (one naming scheme, docs/development.md): renamed
-- in place, so that the grants a DBA made and the triggers and generated
-- columns that call them follow; the function files then replace the bodies.
ALTER FUNCTION scribe.alter_policy(name text, settings jsonb, schedule text, enabled boolean) RENAME TO policy_alter;
ALTER FUNCTION scribe.alter_queue(name text, consumer text, lease interval, max_attempts integer, backoff_base interval, backoff_cap interval, retention interval) RENAME TO queue_alter;
ALTER FUNCTION scribe.commit_lsn() RENAME TO replication_commit_lsn;
ALTER FUNCTION scribe.create_policy(name text, kind text, target text, settings jsonb, schedule text, enabled boolean) RENAME TO policy_create;
ALTER FUNCTION scribe.create_queue(name text, consumer text, lease interval, max_attempts integer, backoff_base interval, backoff_cap interval, retention interval) RENAME TO queue_create;
ALTER FUNCTION scribe.document_image(document_id bigint) RENAME TO document_get_image;
ALTER FUNCTION scribe.document_status(document_id bigint, OUT status text, OUT progress integer, OUT owner text, OUT pages integer, OUT confidence real, OUT method text, OUT fallback boolean, OUT cost numeric, OUT seconds real, OUT attempts integer, OUT error text, OUT submitted_at timestamp with time zone, OUT finished_at timestamp with time zone) RENAME TO document_get;
ALTER FUNCTION scribe.drop_policy(name text) RENAME TO policy_drop;
ALTER FUNCTION scribe.drop_queue(name text, force boolean) RENAME TO queue_drop;
ALTER FUNCTION scribe.job_status(id bigint, OUT job_id bigint, OUT queue text, OUT state text, OUT kind text, OUT attempts integer, OUT max_attempts integer, OUT priority integer, OUT enqueued_by regrole, OUT enqueued_at timestamp with time zone, OUT run_at timestamp with time zone, OUT claimed_at timestamp with time zone, OUT lease_until timestamp with time zone, OUT finished_at timestamp with time zone, OUT payload jsonb, OUT result jsonb, OUT errors jsonb) RENAME TO job_get;
ALTER FUNCTION scribe.list_queues() RENAME TO queue_list;
ALTER FUNCTION scribe.normalize_text(t text) RENAME TO text_normalize;
ALTER FUNCTION scribe.plan_capacity(months integer, start_users numeric, user_growth numeric, docs_per_user numeric, mb_per_document numeric, derived_ratio numeric, active_fraction numeric, connection_fraction numeric, max_connections integer, docs_per_minute_per_worker numeric, usd_per_gb numeric, usd_per_100_rps numeric, usd_per_worker numeric, ocr_usd_per_document numeric, measured boolean) RENAME TO capacity_plan;
ALTER PROCEDURE scribe.prune_policy_runs(IN args jsonb) RENAME TO policy_prune_runs;
ALTER FUNCTION scribe.publish(tables regclass[], publication name) RENAME TO replication_publish;
ALTER FUNCTION scribe.purge(queue text, what text) RENAME TO queue_purge;
ALTER FUNCTION scribe.rate_limit(key text, "limit" integer, period interval, burst integer, cost integer) RENAME TO rate_limit_take;
ALTER FUNCTION scribe.rate_limit_status(OUT keys bigint, OUT capacity bigint, OUT evictions bigint, OUT evictions_limiting bigint, OUT allowed bigint, OUT rejected bigint) RENAME TO rate_limit_stats;
ALTER FUNCTION scribe.recompress_image(image bytea, format text, mode text, quality integer) RENAME TO image_recompress;
ALTER FUNCTION scribe.redis_status(OUT configured boolean, OUT state text, OUT failures bigint, OUT successes bigint, OUT opened bigint, OUT short_circuited bigint, OUT last_error text, OUT state_since timestamp with time zone) RENAME TO redis_stats;
ALTER FUNCTION scribe.run_policy_now(name text, dry_run boolean) RENAME TO policy_run;
ALTER FUNCTION scribe.scaling_advice(ocr_p95 interval, ocr_backlog_age interval, cache_hit_rate_target real, cache_min_lookups bigint, dead_letters bigint, dead_letter_window interval, replica_lag interval, replica_lag_bytes bigint, partition_runway interval, cloud_cost_share real, cost_window interval, OUT finding text, OUT severity text, OUT evidence jsonb, OUT recommendation text) RENAME TO capacity_advice;
ALTER FUNCTION scribe.search_documents(query text, owner text, max_results integer, config regconfig) RENAME TO document_search;
ALTER FUNCTION scribe.submit_document(image bytea, owner text, metadata jsonb, tier text, lang text, priority integer) RENAME TO document_submit;
ALTER FUNCTION scribe.subscribe(conninfo text, publication name, subscription name, disable_on_error boolean) RENAME TO replication_subscribe;
ALTER FUNCTION scribe.unsubscribe() RENAME TO replication_unsubscribe;
ALTER FUNCTION scribe.wait_for_lsn(lsn pg_lsn, timeout interval, subscription name, throw boolean) RENAME TO replication_wait_lsn;
ALTER FUNCTION scribe.cache_set(text, bytea, interval) RENAME TO cache_set_bytea;
ALTER FUNCTION scribe.cache_set(text, jsonb, interval) RENAME TO cache_set_jsonb;

-- Functions and views re-shaped in 0.2.0: dropped here, created by
-- the function files.  A function whose name, argument types, argument names,
-- defaults (removed), result type or OUT parameters change, and a view whose
-- columns change other than by new ones at the end, is dropped here with its
-- old signature, e.g.
--   DROP FUNCTION scribe.old_name(text, integer);
--   DROP VIEW scribe.old_view;
-- Its grants go with it: the function files grant the new one.
-- The status views became functions (an answer's rights are its own):
DROP VIEW scribe.queue_status;
DROP VIEW scribe.cache_status;
DROP VIEW scribe.policy_status;
DROP VIEW scribe.worker_jobs;
-- worker_status() takes the columns of the view worker_jobs
DROP FUNCTION scribe.worker_status();
-- worker nodes use the queue's verbs (claim, ack, nack, release) on the ocr queue
DROP FUNCTION scribe.claim_ocr(integer);
DROP FUNCTION scribe.finish_ocr(bigint, uuid, jsonb, text, boolean, text);
DROP FUNCTION scribe.fail_ocr(bigint, uuid, text, boolean);
DROP FUNCTION scribe.release_ocr(bigint, uuid);

-- Grants of 0.1.0 that 0.2.0 no longer makes (replaying GRANTs never revokes):
--   REVOKE EXECUTE ON FUNCTION scribe.x() FROM pg_monitor;
-- Internal functions are granted to nobody: the public ones that use them are
-- SECURITY DEFINER.
REVOKE EXECUTE ON FUNCTION scribe._library_status() FROM pg_monitor;
REVOKE EXECUTE ON FUNCTION scribe._launcher_status() FROM pg_monitor;
REVOKE EXECUTE ON FUNCTION scribe._health_reasons() FROM pg_monitor;
REVOKE EXECUTE ON FUNCTION scribe._partition_runway() FROM pg_monitor;
REVOKE EXECUTE ON FUNCTION scribe._node_role() FROM pg_monitor;
REVOKE EXECUTE ON FUNCTION scribe._queue_totals() FROM pg_monitor;
REVOKE EXECUTE ON FUNCTION scribe._worker_slots() FROM pg_monitor;
REVOKE EXECUTE ON FUNCTION scribe._policy_alert(bigint, timestamptz, bigint) FROM pg_monitor;
-- pg_monitor read scribe.queues for the old worker_status(); queue_list() and
-- worker_status() answer now
REVOKE SELECT ON scribe.queues FROM pg_monitor;

-- Tables, columns, indexes, types and built-in rows changed in 0.2.0
-- (ALTER TABLE ..., CREATE TABLE ... with its pg_extension_config_dump).

-- The built-in policy scribe.history calls its procedure by name
UPDATE scribe.policies
SET target = 'scribe.policy_prune_runs(jsonb)',
    settings = jsonb_set(settings, '{procedure}', '"scribe.policy_prune_runs(jsonb)"')
WHERE name = 'scribe.history' AND target = 'scribe.prune_policy_runs(jsonb)';

-- A queued ocr job carries its document's language and tier, which a worker
-- node needs along with the image (0.1.0's payload held only the id)
UPDATE scribe.jobs j SET payload = j.payload || jsonb_build_object('lang', d.lang, 'tier', d.tier)
FROM scribe.documents d
WHERE j.kind = 'ocr' AND d.document_id = (j.payload->>'document_id')::bigint;
