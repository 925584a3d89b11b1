-- pg_scribe functions, last part: roles and privileges.
--
-- Functions reach other roles' jobs and documents, the network (http jobs)
-- or shared state: none is for PUBLIC but scribe.version() and
-- read-your-writes.  A DBA grants one of three roles, which CREATE
-- EXTENSION makes (docs/reference.md#privileges has the matrix):
--   scribe_app      what an application needs: documents (of the owner it
--                   acts for), OCR, queues as a client (each queue's own
--                   rights are checked inside), cache, rate limiter
--   scribe_monitor  health, metrics, status; pg_monitor's members have it
--   scribe_admin    everything: queues, policies, replication, nodes; it
--                   has scribe_app and scribe_monitor, and sees every owner

-- The roles are the cluster's, made by the first database's CREATE
-- EXTENSION (or update) and kept by the others'.  A role of that name made
-- by someone else must be a NOLOGIN group without superuser: anything else
-- would hand our grants to whoever made it.
DO $roles$
DECLARE
    r text;
    existing record;
BEGIN
    FOREACH r IN ARRAY ARRAY['scribe_app', 'scribe_monitor', 'scribe_admin'] LOOP
        SELECT a.rolcanlogin, a.rolsuper, a.rolbypassrls INTO existing
        FROM pg_catalog.pg_authid a WHERE a.rolname = r;
        IF NOT FOUND THEN
            EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', r);
        ELSIF existing.rolcanlogin OR existing.rolsuper OR existing.rolbypassrls THEN
            RAISE EXCEPTION 'role "%" exists and can log in or is a superuser', r
                USING ERRCODE = 'duplicate_object',
                      HINT = 'pg_scribe grants its functions to the NOLOGIN group roles scribe_app, scribe_monitor and scribe_admin; drop or rename that role first.';
        END IF;
    END LOOP;
    -- memberships, once (GRANT again would only say so)
    IF NOT pg_catalog.pg_has_role('scribe_admin', 'scribe_app', 'MEMBER') THEN
        GRANT scribe_app TO scribe_admin;
    END IF;
    IF NOT pg_catalog.pg_has_role('scribe_admin', 'scribe_monitor', 'MEMBER') THEN
        GRANT scribe_monitor TO scribe_admin;
    END IF;
    IF NOT pg_catalog.pg_has_role('pg_monitor', 'scribe_monitor', 'MEMBER') THEN
        GRANT scribe_monitor TO pg_monitor;
    END IF;
END
$roles$;

-- Nothing for PUBLIC (nor pg_monitor directly: it has scribe_monitor); the
-- grants below are the only ones
DO $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN
        SELECT p.oid::regprocedure FROM pg_proc p
        WHERE p.pronamespace = 'scribe'::regnamespace AND p.proname <> 'version'
    LOOP
        EXECUTE format('REVOKE ALL ON ROUTINE %s FROM PUBLIC, pg_monitor', f);
    END LOOP;
END
$$;

-- EXECUTE on every signature of the named functions: scribe_app what an
-- application calls, scribe_monitor what watches, scribe_admin every
-- function that is not internal
DO $grants$
DECLARE
    app text[] := ARRAY[
    -- documents, each session those of the owner it acts for (scribe.owner)
    'document_submit', 'document_get', 'document_get_many', 'document_get_text', 'document_get_pages',
    'document_get_image', 'document_get_pdf', 'document_list', 'document_search', 'document_delete',
    'document_get_image_for_job',
    'ocr_costs',
    -- OCR of an image in hand
    'ocr', 'ocr_detail', 'ocr_words', 'ocr_hocr', 'ocr_tsv', 'ocr_pdf', 'ocr_languages', 'image_info',
    'image_recompress', 'text_normalize',
    -- queues: a client's verbs, and its own queues (the creator owns a queue
    -- and grants others; each function checks the queue's rights inside)
    'send', 'send_batch', 'claim', 'ack', 'nack', 'release', 'extend_lease', 'job_get',
    'queue_create', 'queue_alter', 'queue_drop', 'queue_purge', 'requeue', 'queue_grant', 'queue_revoke',
    -- cache and rate limiter: one keyspace for every role granted them
    -- (docs/reference.md, "Who shares the keys").  The trigger function,
    -- because CREATE TRIGGER, run by cache_invalidate_on as its caller,
    -- needs EXECUTE on it; whoever later writes the table needs nothing
    'cache_get', 'cache_get_bytea', 'cache_get_jsonb', 'cache_get_many', 'cache_set', 'cache_set_bytea',
    'cache_set_jsonb', 'cache_delete', 'cache_fetch', 'cache_fetch_jsonb', 'cache_warm', 'cache_invalidate',
    'cache_invalidate_on', 'cache_invalidate_trigger',
    'rate_limit_take', 'rate_limit_reset',
    -- read-your-writes
    'replication_commit_lsn', 'replication_wait_lsn',
    -- the schedule syntax
    'cron_next'];
    monitor text[] := ARRAY[
    'health', 'metrics', 'queue_stats', 'queue_list', 'queue_status', 'worker_status',
    'rate_limit_stats', 'redis_stats', 'cache_stats', 'cache_namespace_stats', 'cache_status',
    'policy_status', 'replication_status', 'capacity_inputs', 'capacity_plan', 'capacity_advice'];
    g record;
    missing text;
BEGIN
    SELECT n INTO missing FROM unnest(app || monitor) n
    WHERE NOT EXISTS (SELECT FROM pg_proc p WHERE p.pronamespace = 'scribe'::regnamespace AND p.proname = n);
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'pg_scribe grants scribe.%, but there is no such function', missing;
    END IF;
    FOR g IN
        SELECT p.oid::regprocedure AS f, r.role
        FROM pg_proc p
        CROSS JOIN LATERAL (VALUES ('scribe_app', p.proname = ANY (app)),
                                   ('scribe_monitor', p.proname = ANY (monitor)),
                                   ('scribe_admin', p.proname !~ '^_' AND p.proname <> 'version')) r(role, granted)
        WHERE p.pronamespace = 'scribe'::regnamespace AND r.granted
    LOOP
        EXECUTE format('GRANT EXECUTE ON ROUTINE %s TO %I', g.f, g.role);
    END LOOP;
END
$grants$;

-- read-your-writes: every role may wait for its own writes; they reveal no
-- more than PUBLIC reads already (pg_current_wal_insert_lsn(),
-- pg_stat_subscription), and a wait holds only the caller's own session
GRANT EXECUTE ON FUNCTION scribe.replication_commit_lsn() TO PUBLIC;
GRANT EXECUTE ON FUNCTION scribe.replication_wait_lsn(pg_lsn, interval, name, boolean) TO PUBLIC;
