\echo Use "CREATE EXTENSION pg_scribe" to load this file. \quit
-- pg_scribe: the first statements of the install script and of every update
-- script (the Makefile puts the psql guard before them).

-- Refuse to install or update without the preloaded library or outside
-- scribe.database; wake the launcher at commit, to see the new objects.
CREATE OR REPLACE FUNCTION scribe._check_install() RETURNS void
    LANGUAGE c AS 'MODULE_PATHNAME', 'scribe_check_install';
SELECT scribe._check_install();
DROP FUNCTION scribe._check_install();
-- pg_scribe: the functions the schema itself uses (the generated search
-- column of scribe.documents).  Replayed like every function file, but before
-- the schema at install, and after the delta in an update (a delta that needs
-- a new one creates it first itself).

-- Fold the typographic quotes and dashes of LSTM output, for search and comparison
CREATE OR REPLACE FUNCTION scribe.text_normalize(t text)
    RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    RETURN pg_catalog.translate(t, '‘’‚‛′“”„‟″–—‐‑', '''''''''''"""""----');
COMMENT ON FUNCTION scribe.text_normalize(text) IS 'Text with typographic quotes and dashes folded to ASCII, as search indexes it';
-- pg_scribe schema: replication's tables (run once, by CREATE EXTENSION; the
-- functions are in src/sql/replication.sql).

-- One row per node, kept fresh by that node's launcher.  Published to
-- replicas, it tells them how fresh their copy of each node's data is.
CREATE TABLE scribe.heartbeat (
    node_name       text PRIMARY KEY,
    beat_at         timestamptz NOT NULL,
    library_version text NOT NULL
);

-- The subscription that makes this node a read replica (at most one row;
-- scribe.replication_subscribe() adds it, scribe.replication_unsubscribe() removes it).  Not
-- published: each node has its own.
CREATE TABLE scribe.subscriptions (
    subscription  name PRIMARY KEY,
    publication   name NOT NULL,
    slot_name     text NOT NULL,
    subscribed_at timestamptz NOT NULL DEFAULT now(),
    one_row       boolean NOT NULL DEFAULT true UNIQUE CHECK (one_row)
);
SELECT pg_catalog.pg_extension_config_dump('scribe.subscriptions', '');
-- pg_scribe schema: the queue's tables and the type scribe.claim() returns (run
-- once, by CREATE EXTENSION; the functions are in src/sql/queue.sql).

CREATE TABLE scribe.queues (
    queue_id     integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text NOT NULL UNIQUE
                 CHECK (octet_length(name) BETWEEN 1 AND 63 AND name !~ '[[:cntrl:]]'),
    consumer     text NOT NULL DEFAULT 'workers' CHECK (consumer IN ('workers', 'clients')),
    lease        interval NOT NULL DEFAULT '5 minutes' CHECK (lease > '0'),
    max_attempts integer NOT NULL DEFAULT 5 CHECK (max_attempts BETWEEN 1 AND 1000),
    backoff_base interval NOT NULL DEFAULT '10 seconds' CHECK (backoff_base >= '0'),
    backoff_cap  interval NOT NULL DEFAULT '1 hour' CHECK (backoff_cap >= backoff_base),
    retention    interval NOT NULL DEFAULT '7 days' CHECK (retention >= '0'),
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- Unfinished jobs: ready, delayed (run_at in the future, including retries
-- after a nack) and in flight (leased).  Claiming only sets columns that no
-- index covers, so a claim is a HOT update.  lease is the unguessable token
-- of the current (or last) claim: ack, nack and extend_lease need it.  The
-- times are finite: ages and waits are differences of them.
CREATE TABLE scribe.jobs (
    job_id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_at          timestamptz NOT NULL,
    enqueued_at     timestamptz NOT NULL,
    lease_until     timestamptz,
    claimed_at      timestamptz,
    queue_id        integer NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    max_attempts    integer NOT NULL,
    claimed_by      integer,
    enqueued_by     regrole NOT NULL,
    priority        smallint NOT NULL DEFAULT 0,
    lease           uuid,
    kind            text,
    idempotency_key text,
    payload         jsonb NOT NULL,
    errors          jsonb,
    CONSTRAINT jobs_times_finite CHECK (run_at > '-infinity' AND run_at < 'infinity'
                                        AND enqueued_at > '-infinity' AND enqueued_at < 'infinity')
) WITH (fillfactor = 80,
        autovacuum_vacuum_scale_factor = 0.01,
        autovacuum_vacuum_threshold = 1000,
        autovacuum_vacuum_insert_scale_factor = 0.05,
        autovacuum_vacuum_cost_delay = 0);

-- claim: highest priority first, then oldest
CREATE INDEX jobs_claim ON scribe.jobs (queue_id, priority DESC, run_at, job_id);
-- next due time, delayed counts, oldest ready job
CREATE INDEX jobs_due ON scribe.jobs (queue_id, run_at);
-- an idempotency key is unique per queue and sending role
CREATE UNIQUE INDEX jobs_idempotency ON scribe.jobs (queue_id, enqueued_by, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

-- Finished jobs, one partition per day (UTC); retention drops partitions.
CREATE TABLE scribe.jobs_archive (
    job_id          bigint NOT NULL,
    finished_at     timestamptz NOT NULL,
    run_at          timestamptz NOT NULL,
    enqueued_at     timestamptz NOT NULL,
    claimed_at      timestamptz,
    queue_id        integer NOT NULL,
    attempts        integer NOT NULL,
    enqueued_by     regrole NOT NULL,
    priority        smallint NOT NULL,
    kind            text,
    idempotency_key text,
    payload         jsonb NOT NULL,
    result          jsonb,
    errors          jsonb
) PARTITION BY RANGE (finished_at);
CREATE INDEX jobs_archive_job_id ON scribe.jobs_archive (job_id);
-- catches rows outside the partitions the launcher keeps ahead (clock jumps)
CREATE TABLE scribe.jobs_archive_default PARTITION OF scribe.jobs_archive DEFAULT;

-- Dead letters: jobs out of attempts (or failed for good), with every error.
CREATE TABLE scribe.jobs_dead (
    job_id          bigint PRIMARY KEY,
    died_at         timestamptz NOT NULL,
    run_at          timestamptz NOT NULL,
    enqueued_at     timestamptz NOT NULL,
    claimed_at      timestamptz,
    queue_id        integer NOT NULL,
    attempts        integer NOT NULL,
    max_attempts    integer NOT NULL,
    enqueued_by     regrole NOT NULL,
    priority        smallint NOT NULL,
    kind            text,
    idempotency_key text,
    payload         jsonb NOT NULL,
    errors          jsonb
);
CREATE INDEX jobs_dead_queue ON scribe.jobs_dead (queue_id, died_at);

-- pg_dump keeps the unfinished jobs and the dead letters (extension tables
-- are skipped otherwise), and the sequence, so that job ids keep growing
-- after a restore.  A job in flight when the dump ran is restored with its
-- lease, and is claimed again once the lease has passed.  The archive's
-- default partition is kept; its daily partitions are not yet (the ones
-- created with the extension are members of it, those the launcher makes
-- later are dumped as plain tables and race the launcher on restore): the
-- lifecycle work on partitions settles that.
SELECT pg_catalog.pg_extension_config_dump('scribe.jobs', '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('scribe.jobs', 'job_id'), '');
SELECT pg_catalog.pg_extension_config_dump('scribe.jobs_archive_default', '');
SELECT pg_catalog.pg_extension_config_dump('scribe.jobs_dead', '');

-- A job as scribe.claim() hands it to a consumer
CREATE TYPE scribe.claimed_job AS (
    job_id       bigint,
    lease        uuid,
    attempt      integer,
    max_attempts integer,
    kind         text,
    payload      jsonb,
    priority     integer,
    enqueued_at  timestamptz,
    lease_until  timestamptz
);

-- pg_dump keeps the users' queues; the built-in ones (ocr, lifecycle: made by
-- schema/post_install.sql) come back with the extension
SELECT pg_catalog.pg_extension_config_dump('scribe.queues', 'WHERE name NOT IN (''ocr'', ''lifecycle'')');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('scribe.queues', 'queue_id'), '');
-- pg_scribe schema: the document pipeline's tables (run
-- once, by CREATE EXTENSION; the functions are in src/sql/documents.sql).

CREATE TABLE scribe.documents (
    document_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner         text NOT NULL,
    submitted_by  name NOT NULL DEFAULT current_user,
    metadata      jsonb NOT NULL DEFAULT '{}',
    tier          text NOT NULL DEFAULT 'local' CHECK (tier IN ('local', 'cloud')),
    lang          text NOT NULL DEFAULT 'eng',
    status        text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'done', 'failed')),
    image         bytea,
    image_format  text NOT NULL,
    image_bytes   integer NOT NULL,
    -- an archive policy may recompress the image, and move it to S3-compatible storage
    image_location text NOT NULL DEFAULT 'inline' CHECK (image_location IN ('inline', 's3')),
    image_key     text,
    archived_at   timestamptz,
    bytes_saved   bigint,
    pages         integer NOT NULL,
    job_id        bigint,
    text          text,
    confidence    real,
    method        text CHECK (method IN ('local', 'cloud')),
    engine        text,
    fallback      boolean NOT NULL DEFAULT false,
    cost          numeric(14, 6),
    seconds       real,
    error         text,
    submitted_at  timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    search_config regconfig NOT NULL DEFAULT 'english',
    search        tsvector GENERATED ALWAYS AS
                  (to_tsvector(search_config, scribe.text_normalize(coalesce(text, '')))) STORED,
    -- a PDF's pages that carry text keep it unless this asks for OCR of every page
    force_ocr     boolean NOT NULL DEFAULT false,
    -- the verdict: whether a person should check the text, and why (any page's reasons)
    needs_review  boolean,
    review_reasons text[],
    CHECK ((image IS NOT NULL AND image_location = 'inline') OR (image_key IS NOT NULL AND image_location = 's3'))
);
-- scans are compressed already: keep them out of line without recompressing
ALTER TABLE scribe.documents ALTER COLUMN image SET STORAGE EXTERNAL;
CREATE INDEX documents_search_idx ON scribe.documents USING gin (search);
CREATE INDEX documents_owner_idx ON scribe.documents (owner, submitted_at);
CREATE INDEX documents_unfinished_idx ON scribe.documents (submitted_at) WHERE status = 'queued';

CREATE TABLE scribe.document_pages (
    document_id        bigint NOT NULL REFERENCES scribe.documents ON DELETE CASCADE,
    page               integer NOT NULL,
    text               text NOT NULL,
    confidence         real,
    skew               real,
    completeness       real,
    text_probably_lost boolean,
    seconds            real,
    words              jsonb,
    -- the page as submitted (pixels; a PDF's page as rendered), whatever OCR turned or scaled
    width              integer,
    height             integer,
    -- quarter turns clockwise that made the page upright, and the detection's confidence
    rotation           integer,
    rotation_confidence real,
    needs_review       boolean,
    review_reasons     text[],
    -- ocr: recognised; text_layer: a PDF page's own text, kept without OCR
    text_source        text NOT NULL DEFAULT 'ocr' CHECK (text_source IN ('ocr', 'text_layer')),
    PRIMARY KEY (document_id, page)
);

-- The ledger outlives its documents: deleting a document does not undo its cost.
CREATE TABLE scribe.ocr_ledger (
    entry_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    owner       text NOT NULL,
    document_id bigint,
    page        integer NOT NULL,
    method      text NOT NULL CHECK (method IN ('local', 'cloud')),
    cost        numeric(14, 6) NOT NULL,
    fallback    boolean NOT NULL DEFAULT false
);
CREATE INDEX ocr_ledger_recorded_idx ON scribe.ocr_ledger (recorded_at);

-- pg_dump keeps the documents and the ledger (extension tables are skipped otherwise)
SELECT pg_catalog.pg_extension_config_dump('scribe.documents', '');
SELECT pg_catalog.pg_extension_config_dump('scribe.document_pages', '');
SELECT pg_catalog.pg_extension_config_dump('scribe.ocr_ledger', '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('scribe.documents', 'document_id'), '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('scribe.ocr_ledger', 'entry_id'), '');
-- pg_scribe schema: the type the rate limiter returns (run once, by CREATE
-- EXTENSION; the functions are in src/sql/rate_limit.sql).

-- A named row type rather than OUT parameters: the executor reads its
-- columns from the type cache, not from pg_proc's argument arrays, on every
-- execution of SELECT ... FROM scribe.rate_limit_take(...)
CREATE TYPE scribe.rate_limit_result AS (
    allowed boolean,            -- the request was let through (and used its cost)
    remaining integer,          -- requests of cost 1 still allowed right now
    retry_after interval,       -- when a rejected request may be allowed; 0 if allowed
    reset_after interval        -- when the key's bucket is full again
);
-- pg_scribe schema: lifecycle policies' tables and their built-in policy
-- (run once, by CREATE EXTENSION; the functions are in
-- src/sql/lifecycle*.sql; the lifecycle queue is made in schema/post_install.sql).

CREATE TABLE scribe.policies (
    policy_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL UNIQUE
                CHECK (octet_length(name) BETWEEN 1 AND 63 AND name !~ '[[:cntrl:]]'),
    kind        text NOT NULL
                CHECK (kind IN ('partitions', 'purge', 'archive', 'orphans', 'refresh', 'sql')),
    target      text NOT NULL,
    settings    jsonb NOT NULL DEFAULT '{}',
    schedule    text NOT NULL,
    enabled     boolean NOT NULL DEFAULT true,
    owner       regrole NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    next_run_at timestamptz
);

CREATE TABLE scribe.policy_runs (
    run_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    policy_id   bigint NOT NULL REFERENCES scribe.policies ON DELETE CASCADE,
    status      text NOT NULL DEFAULT 'queued'
                CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    queued_at   timestamptz NOT NULL DEFAULT now(),
    started_at  timestamptz,
    finished_at timestamptz,
    clock       timestamptz NOT NULL,
    job_id      bigint,
    plan        jsonb,
    actions     integer NOT NULL DEFAULT 0,
    rows        bigint NOT NULL DEFAULT 0,
    partitions  integer NOT NULL DEFAULT 0,
    bytes       bigint NOT NULL DEFAULT 0,
    done        jsonb NOT NULL DEFAULT '[]',
    attempts    integer NOT NULL DEFAULT 0,
    error       text
);
CREATE INDEX policy_runs_policy ON scribe.policy_runs (policy_id, run_id DESC);

-- pg_dump keeps the users' policies and their history; the built-in ones
-- (scribe.history, and scribe.cache_events of post_install.sql) come back with the extension
SELECT pg_catalog.pg_extension_config_dump('scribe.policies',
    'WHERE name NOT IN (''scribe.history'', ''scribe.cache_events'')');
SELECT pg_catalog.pg_extension_config_dump('scribe.policy_runs', '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('scribe.policies', 'policy_id'), '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('scribe.policy_runs', 'run_id'), '');

-- The built-in policy scribe.history (its procedure, scribe.policy_prune_runs,
-- is in lifecycle_api.sql), first run an hour after CREATE EXTENSION: a
-- pg_restore, which creates the extension then loads the tables, must not
-- meet a run's rows on its way
INSERT INTO scribe.policies (name, kind, target, settings, schedule, owner, next_run_at)
VALUES ('scribe.history', 'sql', 'scribe.policy_prune_runs(jsonb)',
        '{"procedure": "scribe.policy_prune_runs(jsonb)", "args": {"max_age": "30 days", "keep": 1000}}',
        '1 hour', (SELECT extowner FROM pg_extension WHERE extname = 'pg_scribe')::regrole, now() + interval '1 hour');
-- pg_scribe schema: the table of cache events (run once, by CREATE EXTENSION;
-- the trigger and its function are in src/sql/cache_events.sql, the built-in
-- policy that purges it in post_install.sql).

CREATE TABLE scribe.cache_events (
    event_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    operation   text NOT NULL CHECK (operation IN ('delete', 'invalidate', 'clear')),
    argument    text CHECK ((argument IS NULL) = (operation = 'clear'))
);
-- pg_scribe: core (the version, the library's and the launcher's status).

GRANT USAGE ON SCHEMA scribe TO PUBLIC;

CREATE OR REPLACE FUNCTION scribe.version() RETURNS text
    LANGUAGE c IMMUTABLE PARALLEL SAFE STRICT
    AS 'MODULE_PATHNAME', 'scribe_version';
COMMENT ON FUNCTION scribe.version() IS 'Version of the loaded pg_scribe library';

CREATE OR REPLACE FUNCTION scribe._library_status(OUT preloaded boolean, OUT node_name text)
    LANGUAGE c VOLATILE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'scribe_library_status';
COMMENT ON FUNCTION scribe._library_status() IS 'Internal: preload status and node name, for health()';

CREATE OR REPLACE FUNCTION scribe._launcher_status(OUT pid integer, OUT state text,
                                        OUT started_at timestamptz, OUT state_since timestamptz,
                                        OUT restarts integer)
    LANGUAGE c VOLATILE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'scribe_launcher_status';
COMMENT ON FUNCTION scribe._launcher_status() IS 'Internal: the launcher''s pid and state, for health()';

REVOKE ALL ON FUNCTION scribe._library_status() FROM PUBLIC;
REVOKE ALL ON FUNCTION scribe._launcher_status() FROM PUBLIC;
-- pg_scribe functions: replication: heartbeats, the publication replicas
-- read, the replica role, and the state of replication on either side.

-- Comments and grants of the tables in schema/replication.sql
COMMENT ON TABLE scribe.heartbeat IS 'Last heartbeat of each pg_scribe node (written by its launcher every scribe.heartbeat_interval)';
GRANT SELECT ON scribe.heartbeat TO pg_monitor;
COMMENT ON TABLE scribe.subscriptions IS 'The subscription through which this node is a read replica (scribe.replication_subscribe); empty on a primary';
GRANT SELECT ON scribe.subscriptions TO pg_monitor;

-- This node's role, for health() and metrics(): one definition of it
CREATE OR REPLACE FUNCTION scribe._node_role() RETURNS text
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT CASE WHEN EXISTS (SELECT FROM scribe.subscriptions) THEN 'replica'
                WHEN coalesce(current_setting('scribe.queue_conninfo', true), '') <> '' THEN 'worker node'
                ELSE 'primary' END
$$;
COMMENT ON FUNCTION scribe._node_role() IS 'Internal: primary, replica (scribe.replication_subscribe) or worker node (scribe.queue_conninfo)';

CREATE OR REPLACE FUNCTION scribe._replica_tables() RETURNS regclass[]
    LANGUAGE sql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
    AS $$ SELECT ARRAY['scribe.heartbeat', 'scribe.documents', 'scribe.document_pages',
                       'scribe.ocr_ledger', 'scribe.cache_events']::regclass[] $$;
COMMENT ON FUNCTION scribe._replica_tables() IS 'Internal: the tables of pg_scribe that scribe.replication_publish() publishes';

CREATE OR REPLACE FUNCTION scribe.replication_publish(tables regclass[] DEFAULT '{}', publication name DEFAULT 'scribe')
    RETURNS SETOF regclass
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    own regclass[] := scribe._replica_tables();
    t regclass;
    rel record;
    published regclass[];
BEGIN
    IF tables IS NULL OR publication IS NULL THEN
        RAISE EXCEPTION 'tables and publication must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF current_setting('wal_level') <> 'logical' THEN
        RAISE EXCEPTION 'wal_level is %, not logical', current_setting('wal_level')
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'ALTER SYSTEM SET wal_level = logical, then restart the server.';
    END IF;
    IF EXISTS (SELECT FROM scribe.subscriptions) THEN
        RAISE EXCEPTION 'this node is a read replica'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Publish on the primary; scribe.replication_unsubscribe() makes this node a primary again.';
    END IF;
    FOREACH t IN ARRAY tables LOOP
        SELECT c.relkind, c.relreplident, c.relnamespace = 'scribe'::regnamespace AS ours,
               EXISTS (SELECT FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary) AS has_pkey
        INTO rel FROM pg_class c WHERE c.oid = t;
        IF rel.ours AND t <> ALL (own) THEN
            RAISE EXCEPTION '% is not published: it stays on the primary', t
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Replicas receive pg_scribe''s documents, pages, ledger, heartbeats and cache events; queues and jobs stay on the primary, where worker nodes claim them.';
        END IF;
        IF rel.relkind NOT IN ('r', 'p') THEN
            RAISE EXCEPTION '% is not a table', t
                USING ERRCODE = 'wrong_object_type',
                      HINT = 'Publish the tables a view or materialized view reads, and create it on the replica.';
        END IF;
        -- without a replica identity, UPDATE and DELETE on the table would fail on this node
        IF rel.relreplident = 'n' OR (rel.relreplident = 'd' AND NOT rel.has_pkey) THEN
            RAISE EXCEPTION 'table % has no replica identity', t
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = format('Add a primary key, or ALTER TABLE %s REPLICA IDENTITY FULL (UPDATE and DELETE then log whole old rows): once published, a table without one refuses UPDATE and DELETE.', t);
        END IF;
    END LOOP;

    SELECT array_agg(DISTINCT x ORDER BY x) INTO published FROM unnest(own || tables) AS x;
    IF EXISTS (SELECT FROM pg_publication WHERE pubname = publication) THEN
        EXECUTE format('ALTER PUBLICATION %I SET TABLE %s', publication, array_to_string(published, ', '));
        EXECUTE format('ALTER PUBLICATION %I SET (publish_via_partition_root = true)', publication);
    ELSE
        EXECUTE format('CREATE PUBLICATION %I FOR TABLE %s WITH (publish_via_partition_root = true)',
                       publication, array_to_string(published, ', '));
    END IF;
    RETURN QUERY SELECT unnest(published);
END
$$;
COMMENT ON FUNCTION scribe.replication_publish(regclass[], name) IS 'Create or update the publication replicas subscribe to: pg_scribe''s documents, pages, ledger, heartbeats and cache events, plus the tables given';

CREATE OR REPLACE FUNCTION scribe.replication_subscribe(conninfo text, publication name DEFAULT 'scribe',
                                 subscription name DEFAULT 'scribe',
                                 disable_on_error boolean DEFAULT true)
    RETURNS text
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_subscribe';
COMMENT ON FUNCTION scribe.replication_subscribe(text, name, name, boolean) IS 'Make this node a read replica: subscribe to the primary''s publication (the slot is made on the primary); returns the slot''s name';

CREATE OR REPLACE FUNCTION scribe.replication_unsubscribe() RETURNS void
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_unsubscribe';
COMMENT ON FUNCTION scribe.replication_unsubscribe() IS 'Drop the replica''s subscription and its slot on the primary: this node is a primary again, with the data it had';

CREATE OR REPLACE FUNCTION scribe.replication_status(
    OUT side text, OUT name text, OUT state text, OUT pid integer, OUT tables_syncing integer,
    OUT lag_bytes numeric, OUT lag interval, OUT last_message_at timestamptz,
    OUT errors bigint, OUT problem text)
    RETURNS SETOF record
    LANGUAGE sql STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
    WITH sub AS (
        SELECT s.oid, s.subname, s.subenabled, w.pid, w.received_lsn, w.last_msg_send_time,
               w.last_msg_receipt_time,
               greatest(o.remote_lsn, w.latest_end_lsn) AS applied,
               coalesce(st.apply_error_count + st.sync_error_count, 0) AS errors,
               (SELECT count(*)::integer FROM pg_subscription_rel r
                WHERE r.srsubid = s.oid AND r.srsubstate <> 'r') AS syncing
        FROM pg_subscription s
        LEFT JOIN pg_stat_subscription w ON w.subid = s.oid AND w.relid IS NULL
        LEFT JOIN pg_stat_subscription_stats st ON st.subid = s.oid
        LEFT JOIN pg_replication_origin_status o ON o.external_id = 'pg_' || s.oid
        WHERE s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())
    ), slot AS (
        SELECT sl.slot_name, sl.active, sl.active_pid, sl.wal_status, r.state, r.replay_lag, r.reply_time,
               CASE WHEN NOT pg_is_in_recovery()
                    THEN greatest(pg_current_wal_lsn() - sl.confirmed_flush_lsn, 0) END AS behind,
               CASE WHEN NOT pg_is_in_recovery()
                    THEN pg_current_wal_lsn() - sl.restart_lsn END AS kept
        FROM pg_replication_slots sl
        LEFT JOIN pg_stat_replication r ON r.pid = sl.active_pid
        WHERE sl.slot_type = 'logical' AND sl.database = current_database() AND NOT sl.temporary
    )
    SELECT 'subscriber', subname::text,
           CASE WHEN NOT subenabled THEN 'disabled' WHEN pid IS NULL THEN 'stopped'
                WHEN syncing > 0 THEN 'syncing' ELSE 'streaming' END,
           pid, syncing,
           -- received from the primary and not applied yet
           greatest(received_lsn - applied, 0),
           CASE WHEN received_lsn > applied THEN clock_timestamp() - last_msg_send_time
                WHEN pid IS NOT NULL THEN interval '0' END,
           last_msg_receipt_time, errors,
           CASE WHEN NOT subenabled AND errors > 0
                THEN format('disabled after %s error(s): fix the cause the server log names, then ALTER SUBSCRIPTION %I ENABLE', errors, subname)
                WHEN NOT subenabled THEN format('disabled: ALTER SUBSCRIPTION %I ENABLE resumes it', subname)
                WHEN pid IS NULL THEN 'no apply worker runs: is the primary reachable? (the server log says)'
           END
    FROM sub
    UNION ALL
    SELECT 'publisher', slot_name::text,
           CASE WHEN wal_status = 'lost' THEN 'lost' WHEN active THEN coalesce(state, 'streaming') ELSE 'inactive' END,
           active_pid, NULL,
           behind,
           coalesce(replay_lag, CASE WHEN behind = 0 THEN interval '0' END),
           reply_time, NULL,
           CASE WHEN wal_status = 'lost' THEN 'the slot lost WAL its subscriber needs: subscribe that replica again'
                WHEN NOT active THEN format('no subscriber streams from this slot, so this server keeps WAL for it (%s so far)', pg_size_pretty(kept))
           END
    FROM slot
    ORDER BY 1 DESC, 2
$$;
COMMENT ON FUNCTION scribe.replication_status() IS 'Logical replication as this node sees it: each subscription (on a replica) and each slot (on a primary), with state, lag in bytes and time, errors and the problem, if any';

REVOKE ALL ON FUNCTION scribe._replica_tables() FROM PUBLIC;
REVOKE ALL ON FUNCTION scribe._node_role() FROM PUBLIC;
REVOKE ALL ON FUNCTION scribe.replication_publish(regclass[], name) FROM PUBLIC;
REVOKE ALL ON FUNCTION scribe.replication_subscribe(text, name, name, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION scribe.replication_unsubscribe() FROM PUBLIC;
REVOKE ALL ON FUNCTION scribe.replication_status() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION scribe.replication_status() TO pg_monitor;
-- pg_scribe functions: read-your-writes across logical replication.
--
-- The primary hands a session the end of its last commit; a replica waits
-- until its subscription has made everything up to there visible.  Both
-- reveal no more than PUBLIC already reads (pg_current_wal_insert_lsn(),
-- pg_stat_subscription) and every application role needs them, so they are
-- granted to PUBLIC in privileges.sql.

CREATE OR REPLACE FUNCTION scribe.replication_commit_lsn() RETURNS pg_lsn
    LANGUAGE c VOLATILE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'scribe_commit_lsn';
COMMENT ON FUNCTION scribe.replication_commit_lsn() IS
    'On the primary: the end LSN of this session''s last commit (NULL before its first write), for scribe.replication_wait_lsn() on a replica';

CREATE OR REPLACE FUNCTION scribe.replication_wait_lsn(lsn pg_lsn,
                                    timeout interval DEFAULT '10 seconds',
                                    subscription name DEFAULT 'scribe',
                                    throw boolean DEFAULT true)
    RETURNS boolean
    LANGUAGE c VOLATILE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'scribe_wait_for_lsn';
COMMENT ON FUNCTION scribe.replication_wait_lsn(pg_lsn, interval, name, boolean) IS
    'On a replica: wait until the primary''s writes up to lsn (from scribe.replication_commit_lsn()) are visible here; true, or on timeout an error (false when throw is false)';
-- pg_scribe functions: the queue (the broker) and its jobs.
--
-- A queue is a named policy; a job is one unit of work in a queue.  Unfinished
-- jobs live in scribe.jobs (the hot table); a job leaves it when it is acked
-- (to scribe.jobs_archive, partitioned by day) or dead-lettered (to
-- scribe.jobs_dead).  The hot paths (send, claim, ack, nack) are C with saved
-- plans; the administrative functions are SQL.

-- Comments of the tables in schema/queue.sql
COMMENT ON TABLE scribe.queues IS 'Named queues and their policies (change them with scribe.queue_create / queue_alter / queue_drop)';
COMMENT ON TABLE scribe.jobs IS 'Unfinished jobs: ready, delayed and in flight';
COMMENT ON TABLE scribe.jobs_archive IS 'Acked jobs with their results, partitioned by day of finished_at';
COMMENT ON TABLE scribe.jobs_dead IS 'Dead letters: jobs that ran out of attempts, with every attempt''s error';

-- Create the archive partitions for the days from today to today + ahead
CREATE OR REPLACE FUNCTION scribe._archive_partitions_ensure(ahead integer DEFAULT 3) RETURNS integer
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    day date;
    part text;
    created integer := 0;
BEGIN
    FOR i IN 0..ahead LOOP
        day := (now() AT TIME ZONE 'UTC')::date + i;
        part := 'jobs_archive_p' || to_char(day, 'YYYYMMDD');
        IF to_regclass(format('scribe.%I', part)) IS NULL THEN
            EXECUTE format('CREATE TABLE scribe.%I PARTITION OF scribe.jobs_archive '
                           'FOR VALUES FROM (%L) TO (%L)',
                           part, day::timestamp AT TIME ZONE 'UTC',
                           (day + 1)::timestamp AT TIME ZONE 'UTC');
            created := created + 1;
        END IF;
    END LOOP;
    RETURN created;
END
$$;
COMMENT ON FUNCTION scribe._archive_partitions_ensure(integer) IS 'Internal: create the archive partitions of the coming days (run by the launcher)';

-- Drop the archive partitions that every queue's retention has passed
CREATE OR REPLACE FUNCTION scribe._archive_partitions_expire() RETURNS integer
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    SET lock_timeout = '1s'
    AS $$
DECLARE
    keep interval := COALESCE((SELECT max(retention) FROM scribe.queues), '0');
    cutoff date := ((now() - keep) AT TIME ZONE 'UTC')::date;
    part record;
    dropped integer := 0;
BEGIN
    FOR part IN
        SELECT c.relname
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'scribe.jobs_archive'::regclass
          AND c.relname ~ '^jobs_archive_p[0-9]{8}$'
          AND to_date(substr(c.relname, 15), 'YYYYMMDD') < cutoff
        ORDER BY c.relname
    LOOP
        EXECUTE format('DROP TABLE scribe.%I', part.relname);
        dropped := dropped + 1;
    END LOOP;
    RETURN dropped;
END
$$;
COMMENT ON FUNCTION scribe._archive_partitions_expire() IS 'Internal: drop the archive partitions older than every queue''s retention (run by the launcher)';

-- Raise the usual error for an unknown queue
CREATE OR REPLACE FUNCTION scribe._queue_not_found(queue text) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    RAISE EXCEPTION 'queue "%" does not exist', queue
        USING ERRCODE = 'undefined_object',
              HINT = 'Create it with scribe.queue_create(), or list the queues with scribe.queue_list().';
END
$$;
COMMENT ON FUNCTION scribe._queue_not_found(text) IS 'Internal: raise the error for an unknown queue';

-- Check the policy values of queue_create and queue_alter
CREATE OR REPLACE FUNCTION scribe._queue_check_policy(q scribe.queues) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF q.name IS NULL OR octet_length(q.name) NOT BETWEEN 1 AND 63 OR q.name ~ '[[:cntrl:]]' THEN
        RAISE EXCEPTION 'invalid queue name %', COALESCE(quote_literal(q.name), 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'A queue name has 1 to 63 bytes and no control characters.';
    END IF;
    IF q.consumer IS NULL OR q.consumer NOT IN ('workers', 'clients') THEN
        RAISE EXCEPTION 'invalid consumer %', COALESCE(quote_literal(q.consumer), 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use ''workers'' (pg_scribe''s worker pool runs the jobs) or ''clients'' (applications claim them).';
    END IF;
    IF q.lease IS NULL OR q.lease <= '0' THEN
        RAISE EXCEPTION 'lease must be a positive interval, not %', COALESCE(q.lease::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'The lease is how long a claimed job stays invisible to other consumers, for example ''5 minutes''.';
    END IF;
    IF q.max_attempts IS NULL OR q.max_attempts NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION 'max_attempts must be between 1 and 1000, not %', COALESCE(q.max_attempts::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'After max_attempts failed attempts a job moves to the dead letters.';
    END IF;
    IF q.backoff_base IS NULL OR q.backoff_base < '0' OR q.backoff_cap IS NULL OR q.backoff_cap < q.backoff_base THEN
        RAISE EXCEPTION 'invalid backoff: base %, cap %', COALESCE(q.backoff_base::text, 'NULL'), COALESCE(q.backoff_cap::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Retries wait backoff_base * 2^(attempt - 1), at most backoff_cap; both are intervals, base >= 0 and cap >= base.';
    END IF;
    IF q.retention IS NULL OR q.retention < '0' THEN
        RAISE EXCEPTION 'retention must be an interval >= 0, not %', COALESCE(q.retention::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use ''0'' to delete finished jobs at once, or how long to keep them in scribe.jobs_archive.';
    END IF;
END
$$;
COMMENT ON FUNCTION scribe._queue_check_policy(scribe.queues) IS 'Internal: validate a queue''s policy';

-- The queues are the queue's: readable by superusers only (scribe.queue_list()
-- lists them).  Explicit, so that an installation updated from 0.1.0, which
-- granted SELECT to pg_monitor, and a fresh one hold the same ACL.
REVOKE ALL ON scribe.queues FROM PUBLIC;

-- The queue's answers to the other capabilities, which never read its tables

-- One job wherever it is, for SECURITY DEFINER callers (scribe.job_get()
-- is the one for applications: it checks the caller's right to the job)
CREATE OR REPLACE FUNCTION scribe._job_state(
    job_id bigint,
    OUT queue text, OUT state text, OUT unfinished boolean, OUT attempts integer,
    OUT lease_until timestamptz, OUT payload jsonb)
    RETURNS record
    LANGUAGE sql STABLE STRICT
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT s.queue, s.state, s.state IN ('ready', 'delayed', 'running'), s.attempts, s.lease_until, s.payload
    FROM (SELECT q.name AS queue,
                 CASE WHEN j.lease_until IS NOT NULL THEN 'running'
                      WHEN j.run_at > now() THEN 'delayed' ELSE 'ready' END AS state,
                 j.attempts, j.lease_until, j.payload
          FROM scribe.jobs j JOIN scribe.queues q USING (queue_id) WHERE j.job_id = _job_state.job_id
          UNION ALL
          SELECT q.name, 'done', a.attempts, NULL, a.payload
          FROM scribe.jobs_archive a JOIN scribe.queues q USING (queue_id) WHERE a.job_id = _job_state.job_id
          UNION ALL
          SELECT q.name, 'dead', d.attempts, NULL, d.payload
          FROM scribe.jobs_dead d JOIN scribe.queues q USING (queue_id) WHERE d.job_id = _job_state.job_id
          LIMIT 1) s
$$;
COMMENT ON FUNCTION scribe._job_state(bigint) IS 'Internal: a job''s queue, state (ready, delayed, running, done, dead), attempts, lease and payload wherever it is; NULL when it is gone';

-- A queue's name by its id (NULL: no such queue here)
CREATE OR REPLACE FUNCTION scribe._queue_name(queue_id integer) RETURNS text
    LANGUAGE sql STABLE STRICT
    SET search_path = pg_catalog, pg_temp
    AS $$ SELECT q.name FROM scribe.queues q WHERE q.queue_id = _queue_name.queue_id $$;
COMMENT ON FUNCTION scribe._queue_name(integer) IS 'Internal: a queue''s name by its id, NULL when there is none';

-- The dead letters of each queue since a while ago, and their commonest error
CREATE OR REPLACE FUNCTION scribe._queue_dead_letters(
    since interval,
    OUT queue text, OUT dead bigint, OUT last_died_at timestamptz,
    OUT commonest_error text, OUT commonest_error_count bigint)
    RETURNS SETOF record
    LANGUAGE sql STABLE STRICT
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT q.name, d.n, d.last_died, e.error, e.n
    FROM scribe.queues q
    CROSS JOIN LATERAL (SELECT count(*) AS n, max(j.died_at) AS last_died FROM scribe.jobs_dead j
                        WHERE j.queue_id = q.queue_id AND j.died_at > now() - since) d
    LEFT JOIN LATERAL (SELECT left(j.errors->-1->>'error', 200) AS error, count(*) AS n
                       FROM scribe.jobs_dead j
                       WHERE j.queue_id = q.queue_id AND j.died_at > now() - since
                       GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1) e ON true
    WHERE d.n > 0
    ORDER BY q.name
$$;
COMMENT ON FUNCTION scribe._queue_dead_letters(interval) IS 'Internal: per queue with dead letters since the interval ago, how many, the last death, and the commonest last error (first 200 characters) with its count';

CREATE OR REPLACE FUNCTION scribe.queue_create(
    name         text,
    consumer     text DEFAULT 'workers',
    lease        interval DEFAULT '5 minutes',
    max_attempts integer DEFAULT 5,
    backoff_base interval DEFAULT '10 seconds',
    backoff_cap  interval DEFAULT '1 hour',
    retention    interval DEFAULT '7 days')
    RETURNS scribe.queues
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    q scribe.queues;
BEGIN
    q.name := name; q.consumer := consumer; q.lease := lease; q.max_attempts := max_attempts;
    q.backoff_base := backoff_base; q.backoff_cap := backoff_cap; q.retention := retention;
    PERFORM scribe._queue_check_policy(q);
    IF EXISTS (SELECT FROM scribe.queues WHERE queues.name = q.name) THEN
        RAISE EXCEPTION 'queue "%" already exists', q.name
            USING ERRCODE = 'duplicate_object',
                  HINT = 'Change its policy with scribe.queue_alter().';
    END IF;
    INSERT INTO scribe.queues (name, consumer, lease, max_attempts, backoff_base, backoff_cap, retention)
    VALUES (q.name, q.consumer, q.lease, q.max_attempts, q.backoff_base, q.backoff_cap, q.retention)
    RETURNING * INTO q;
    PERFORM scribe._queues_changed();
    RETURN q;
END
$$;
COMMENT ON FUNCTION scribe.queue_create(text, text, interval, integer, interval, interval, interval) IS 'Create a queue with its policy: consumer (workers or clients), lease, max attempts, backoff, retention';

CREATE OR REPLACE FUNCTION scribe.queue_alter(
    name         text,
    consumer     text DEFAULT NULL,
    lease        interval DEFAULT NULL,
    max_attempts integer DEFAULT NULL,
    backoff_base interval DEFAULT NULL,
    backoff_cap  interval DEFAULT NULL,
    retention    interval DEFAULT NULL)
    RETURNS scribe.queues
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    q scribe.queues;
BEGIN
    SELECT * INTO q FROM scribe.queues WHERE queues.name = queue_alter.name FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM scribe._queue_not_found(queue_alter.name);
    END IF;
    q.consumer := COALESCE(consumer, q.consumer);
    q.lease := COALESCE(lease, q.lease);
    q.max_attempts := COALESCE(max_attempts, q.max_attempts);
    q.backoff_base := COALESCE(backoff_base, q.backoff_base);
    q.backoff_cap := COALESCE(backoff_cap, q.backoff_cap);
    q.retention := COALESCE(retention, q.retention);
    PERFORM scribe._queue_check_policy(q);
    UPDATE scribe.queues SET consumer = q.consumer, lease = q.lease, max_attempts = q.max_attempts,
           backoff_base = q.backoff_base, backoff_cap = q.backoff_cap, retention = q.retention
    WHERE queue_id = q.queue_id
    RETURNING * INTO q;
    PERFORM scribe._queues_changed();
    RETURN q;
END
$$;
COMMENT ON FUNCTION scribe.queue_alter(text, text, interval, integer, interval, interval, interval) IS 'Change a queue''s policy; NULL leaves a setting as it is (jobs already queued keep their max_attempts)';

CREATE OR REPLACE FUNCTION scribe.queue_drop(name text, force boolean DEFAULT false) RETURNS void
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    q scribe.queues;
    unfinished bigint;
BEGIN
    SELECT * INTO q FROM scribe.queues WHERE queues.name = queue_drop.name FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM scribe._queue_not_found(queue_drop.name);
    END IF;
    -- wait for transactions enqueueing to this queue, and keep new ones out
    LOCK TABLE scribe.jobs IN SHARE MODE;
    SELECT count(*) INTO unfinished FROM scribe.jobs WHERE queue_id = q.queue_id;
    IF unfinished > 0 AND NOT force THEN
        RAISE EXCEPTION 'queue "%" has % unfinished jobs', q.name, unfinished
            USING ERRCODE = 'dependent_objects_still_exist',
                  HINT = 'Wait for them to finish, or call scribe.queue_drop(name, force => true) to delete them.';
    END IF;
    DELETE FROM scribe.jobs WHERE queue_id = q.queue_id;
    DELETE FROM scribe.jobs_dead WHERE queue_id = q.queue_id;
    DELETE FROM scribe.jobs_archive WHERE queue_id = q.queue_id;
    DELETE FROM scribe.queues WHERE queue_id = q.queue_id;
    PERFORM scribe._queues_changed();
END
$$;
COMMENT ON FUNCTION scribe.queue_drop(text, boolean) IS 'Drop a queue; refused while it has unfinished jobs unless force => true, which deletes them with its dead letters and archive';

CREATE OR REPLACE FUNCTION scribe.queue_list() RETURNS SETOF scribe.queues
    LANGUAGE sql STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$ SELECT * FROM scribe.queues ORDER BY name $$;
COMMENT ON FUNCTION scribe.queue_list() IS 'Every queue with its policy';

CREATE OR REPLACE FUNCTION scribe._queues_changed() RETURNS void
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_queues_changed';
COMMENT ON FUNCTION scribe._queues_changed() IS 'Internal: tell the workers and the statistics that queues changed, when the transaction commits';

CREATE OR REPLACE FUNCTION scribe.send(
    queue           text,
    payload         jsonb DEFAULT '{}',
    kind            text DEFAULT NULL,
    delay           interval DEFAULT NULL,
    run_at          timestamptz DEFAULT NULL,
    priority        integer DEFAULT 0,
    idempotency_key text DEFAULT NULL,
    max_attempts    integer DEFAULT NULL)
    RETURNS bigint
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_send';
COMMENT ON FUNCTION scribe.send(text, jsonb, text, interval, timestamptz, integer, text, integer) IS 'Enqueue a job in the caller''s transaction; returns its id (the existing job''s id for a repeated idempotency key)';

CREATE OR REPLACE FUNCTION scribe.send_batch(
    queue            text,
    payloads         jsonb[],
    kind             text DEFAULT NULL,
    delay            interval DEFAULT NULL,
    run_at           timestamptz DEFAULT NULL,
    priority         integer DEFAULT 0,
    idempotency_keys text[] DEFAULT NULL,
    max_attempts     integer DEFAULT NULL)
    RETURNS SETOF bigint
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_send_batch';
COMMENT ON FUNCTION scribe.send_batch(text, jsonb[], text, interval, timestamptz, integer, text[], integer) IS 'Enqueue many jobs in one statement; returns their ids in the order of payloads';

CREATE OR REPLACE FUNCTION scribe.claim(queue text, n integer DEFAULT 1, lease_for interval DEFAULT NULL)
    RETURNS SETOF scribe.claimed_job
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_claim';
COMMENT ON FUNCTION scribe.claim(text, integer, interval) IS 'Claim up to n ready jobs (highest priority, then oldest) for lease_for (the queue''s lease by default); ack, nack or extend each with its job_id and the lease token returned with it';

CREATE OR REPLACE FUNCTION scribe.ack(job_id bigint, lease uuid, result jsonb DEFAULT NULL) RETURNS boolean
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_ack';
COMMENT ON FUNCTION scribe.ack(bigint, uuid, jsonb) IS 'Finish a claimed job (true), keeping result in the archive; false when it was already acked; lease is the token scribe.claim() returned';

CREATE OR REPLACE FUNCTION scribe.nack(job_id bigint, lease uuid, error text,
                            retry_in interval DEFAULT NULL, retry boolean DEFAULT true)
    RETURNS text
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_nack';
COMMENT ON FUNCTION scribe.nack(bigint, uuid, text, interval, boolean) IS 'Fail a claimed job''s attempt: retry after backoff (''retry''), or move it to the dead letters (''dead'') when out of attempts or retry => false; the error is kept, cut at 8 kB';

CREATE OR REPLACE FUNCTION scribe.release(job_id bigint, lease uuid) RETURNS boolean
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_release';
COMMENT ON FUNCTION scribe.release(bigint, uuid) IS 'Give a claimed job back unrun (the consumer is stopping): ready again at once, the attempt not counted, the lease token void; false when it was already acked';

CREATE OR REPLACE FUNCTION scribe.extend_lease(job_id bigint, lease uuid, lease_for interval DEFAULT NULL)
    RETURNS timestamptz
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_extend_lease';
COMMENT ON FUNCTION scribe.extend_lease(bigint, uuid, interval) IS 'Extend the lease of a claimed job to lease_for from now (the queue''s lease by default); returns the new lease end';

CREATE OR REPLACE FUNCTION scribe.requeue(queue text, job_ids bigint[] DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    qid integer;
    moved bigint;
BEGIN
    SELECT queue_id INTO qid FROM scribe.queues WHERE name = queue;
    IF NOT FOUND THEN
        PERFORM scribe._queue_not_found(queue);
    END IF;
    WITH d AS (
        DELETE FROM scribe.jobs_dead
        WHERE queue_id = qid AND (job_ids IS NULL OR job_id = ANY (job_ids))
        RETURNING *)
    INSERT INTO scribe.jobs (job_id, run_at, enqueued_at, queue_id, attempts, max_attempts,
                             enqueued_by, priority, kind, idempotency_key, payload, errors)
    OVERRIDING SYSTEM VALUE
    SELECT d.job_id, now(), d.enqueued_at, d.queue_id, d.attempts,
           d.attempts + q.max_attempts, d.enqueued_by, d.priority, d.kind,
           -- the role's unfinished job with the same key may exist by now, and
           -- several dead letters may share a key: the newest keeps it
           CASE WHEN EXISTS (SELECT FROM scribe.jobs j
                             WHERE j.queue_id = d.queue_id AND j.enqueued_by = d.enqueued_by
                               AND j.idempotency_key = d.idempotency_key)
                  OR d.key_rank > 1
                THEN NULL ELSE d.idempotency_key END,
           d.payload, d.errors
    FROM (SELECT d.*, row_number() OVER (PARTITION BY d.enqueued_by, d.idempotency_key
                                          ORDER BY d.job_id DESC) AS key_rank
          FROM d) d
    JOIN scribe.queues q ON q.queue_id = d.queue_id;
    GET DIAGNOSTICS moved = ROW_COUNT;
    PERFORM scribe._queue_jobs_changed(qid, moved > 0);
    RETURN moved;
END
$$;
COMMENT ON FUNCTION scribe.requeue(text, bigint[]) IS 'Move dead letters (all of the queue''s, or those listed) back to ready, with a fresh allowance of attempts; returns how many';

CREATE OR REPLACE FUNCTION scribe.queue_purge(queue text, what text DEFAULT 'dead') RETURNS bigint
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    qid integer;
    n bigint := 0;
    m bigint;
BEGIN
    IF what IS NULL OR what NOT IN ('ready', 'dead', 'archive', 'all') THEN
        RAISE EXCEPTION 'cannot purge %', COALESCE(quote_literal(what), 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Purge ''ready'' (jobs not claimed, delayed included), ''dead'', ''archive'' or ''all'' (all three and the jobs in flight).';
    END IF;
    SELECT queue_id INTO qid FROM scribe.queues WHERE name = queue;
    IF NOT FOUND THEN
        PERFORM scribe._queue_not_found(queue);
    END IF;
    IF what = 'ready' THEN
        DELETE FROM scribe.jobs WHERE queue_id = qid AND lease_until IS NULL;
        GET DIAGNOSTICS n = ROW_COUNT;
    ELSIF what = 'all' THEN
        DELETE FROM scribe.jobs WHERE queue_id = qid;
        GET DIAGNOSTICS n = ROW_COUNT;
    END IF;
    IF what IN ('dead', 'all') THEN
        DELETE FROM scribe.jobs_dead WHERE queue_id = qid;
        GET DIAGNOSTICS m = ROW_COUNT;
        n := n + m;
    END IF;
    IF what IN ('archive', 'all') THEN
        DELETE FROM scribe.jobs_archive WHERE queue_id = qid;
        GET DIAGNOSTICS m = ROW_COUNT;
        n := n + m;
    END IF;
    PERFORM scribe._queue_jobs_changed(qid, false);
    RETURN n;
END
$$;
COMMENT ON FUNCTION scribe.queue_purge(text, text) IS 'Delete a queue''s ready jobs, dead letters, archive, or all of them; returns how many rows';

CREATE OR REPLACE FUNCTION scribe._queue_jobs_changed(queue_id integer, ready boolean) RETURNS void
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_queue_jobs_changed';
COMMENT ON FUNCTION scribe._queue_jobs_changed(integer, boolean) IS 'Internal: at commit, recount a queue whose jobs changed in bulk, and wake a worker when jobs became ready';

CREATE OR REPLACE FUNCTION scribe.queue_stats(
    queue              text DEFAULT NULL,
    "window"           interval DEFAULT '5 minutes',
    OUT queue          text,
    OUT consumer       text,
    OUT ready          bigint,
    OUT delayed        bigint,
    OUT in_flight      bigint,
    OUT dead           bigint,
    OUT oldest_ready_age interval,
    OUT completed_per_minute double precision,
    OUT failed_per_minute double precision,
    OUT wait_p50       interval,
    OUT wait_p95       interval,
    OUT wait_p99       interval,
    OUT run_p50        interval,
    OUT run_p95        interval,
    OUT run_p99        interval)
    RETURNS SETOF record
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_queue_stats';
COMMENT ON FUNCTION scribe.queue_stats(text, interval) IS 'Per queue: ready, delayed, in flight and dead jobs, oldest ready age, throughput and p50/p95/p99 wait and run times over the window (at most 30 minutes)';

CREATE OR REPLACE FUNCTION scribe.job_get(
    id                bigint,
    OUT job_id        bigint,
    OUT queue         text,
    OUT state         text,
    OUT kind          text,
    OUT attempts      integer,
    OUT max_attempts  integer,
    OUT priority      integer,
    OUT enqueued_by   regrole,
    OUT enqueued_at   timestamptz,
    OUT run_at        timestamptz,
    OUT claimed_at    timestamptz,
    OUT lease_until   timestamptz,
    OUT finished_at   timestamptz,
    OUT payload       jsonb,
    OUT result        jsonb,
    OUT errors        jsonb)
    RETURNS record
    LANGUAGE c VOLATILE STRICT
    AS 'MODULE_PATHNAME', 'scribe_job_status';
COMMENT ON FUNCTION scribe.job_get(bigint) IS 'A job''s state (ready, delayed, running, done, dead), attempts, payload, result and errors; only for the role that enqueued it';
-- pg_scribe functions: the worker pool.

CREATE OR REPLACE FUNCTION scribe._worker_slots(
    OUT slot integer, OUT pid integer, OUT state text, OUT state_since timestamptz,
    OUT started_at timestamptz, OUT jobs_done bigint, OUT jobs_failed bigint,
    OUT job_id bigint, OUT queue_id integer, OUT kind text, OUT job_started timestamptz,
    OUT progress integer)
    RETURNS SETOF record
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_worker_slots';
COMMENT ON FUNCTION scribe._worker_slots() IS 'Internal: the worker pool''s slots in shared memory';

CREATE OR REPLACE FUNCTION scribe.worker_status()
    RETURNS TABLE(pid integer, state text, state_since timestamptz, started_at timestamptz,
                  queue text, kind text, job_id bigint, document_id bigint,
                  job_started timestamptz, running_for interval, progress integer,
                  jobs_done bigint, jobs_failed bigint)
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT s.pid, s.state, s.state_since, s.started_at, q.name, s.kind, s.job_id,
           CASE WHEN s.kind = 'ocr' THEN (j.payload->>'document_id')::bigint END,
           s.job_started, clock_timestamp() - s.job_started, s.progress,
           s.jobs_done, s.jobs_failed
    FROM scribe._worker_slots() s
    CROSS JOIN LATERAL (SELECT scribe._queue_name(s.queue_id) AS name) q
    -- a worker node's job is the primary's: its id means nothing here
    LEFT JOIN LATERAL (SELECT x.payload FROM scribe._job_state(s.job_id) x
                       WHERE x.queue = q.name) j ON true
    ORDER BY s.slot
$$;
COMMENT ON FUNCTION scribe.worker_status() IS 'The workers of this node''s pool: state, jobs done and failed, and the job each runs now (queue, kind, the document of an ocr job, progress percent, time running)';

CREATE OR REPLACE FUNCTION scribe._pool_start_status(
    OUT short_since timestamptz, OUT last_short_at timestamptz, OUT wanted integer,
    OUT running integer, OUT shortfalls bigint, OUT max_worker_processes integer)
    RETURNS record
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_pool_start_status';
COMMENT ON FUNCTION scribe._pool_start_status() IS 'Internal: whether the pool could start the workers it wanted: since when it falls short (NULL: not now), its last shortfall with the workers wanted and running then, how many of the launcher''s looks fell short since the server started, and max_worker_processes';
-- pg_scribe functions: OCR of an image, synchronously.

CREATE OR REPLACE FUNCTION scribe.ocr(
    image      bytea,
    lang       text DEFAULT 'eng',
    psm        integer DEFAULT NULL,
    preprocess boolean DEFAULT true,
    force_ocr  boolean DEFAULT false)
    RETURNS text
    LANGUAGE c VOLATILE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'scribe_ocr_text';
COMMENT ON FUNCTION scribe.ocr(bytea, text, integer, boolean, boolean) IS 'The text of an image or PDF, recognised by this session''s OCR engine (a PDF page''s own text layer is kept unless force_ocr)';

CREATE OR REPLACE FUNCTION scribe.ocr_detail(
    image      bytea,
    lang       text DEFAULT 'eng',
    psm        integer DEFAULT NULL,
    preprocess boolean DEFAULT true,
    words      boolean DEFAULT true,
    hocr       boolean DEFAULT false,
    tsv        boolean DEFAULT false,
    force_ocr  boolean DEFAULT false)
    RETURNS jsonb
    LANGUAGE c VOLATILE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'scribe_ocr_detail';
COMMENT ON FUNCTION scribe.ocr_detail(bytea, text, integer, boolean, boolean, boolean, boolean, boolean) IS 'The full OCR result of an image: text, confidence, rotation, skew, completeness, and per page its words with boxes on the image as submitted (and hOCR, TSV on request)';

CREATE OR REPLACE FUNCTION scribe.ocr_words(
    image      bytea,
    lang       text DEFAULT 'eng',
    psm        integer DEFAULT NULL,
    preprocess boolean DEFAULT true,
    force_ocr  boolean DEFAULT false)
    RETURNS TABLE (page integer, block integer, paragraph integer, line integer, word text,
                   confidence real, "left" integer, top integer, width integer, height integer)
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT (p->>'page')::integer, (w->>'block')::integer, (w->>'paragraph')::integer,
           (w->>'line')::integer, w->>'text', (w->>'confidence')::real,
           (w->>'left')::integer, (w->>'top')::integer, (w->>'width')::integer, (w->>'height')::integer
    FROM jsonb_array_elements(scribe.ocr_detail(image, lang, psm, preprocess, force_ocr => force_ocr)->'pages') p,
         jsonb_array_elements(p->'words') w
$$;
COMMENT ON FUNCTION scribe.ocr_words(bytea, text, integer, boolean, boolean) IS 'The words of an image, one row each, with confidence and bounding box (pixels of the image as submitted)';

CREATE OR REPLACE FUNCTION scribe.ocr_hocr(
    image      bytea,
    lang       text DEFAULT 'eng',
    psm        integer DEFAULT NULL,
    preprocess boolean DEFAULT true,
    force_ocr  boolean DEFAULT false)
    RETURNS text
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT '<?xml version="1.0" encoding="UTF-8"?>' || E'\n'
        || '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">' || E'\n'
        || '<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">' || E'\n <head>\n  <title></title>\n'
        || '  <meta http-equiv="Content-Type" content="text/html;charset=utf-8"/>' || E'\n'
        || '  <meta name="ocr-system" content="' || (r->>'engine') || ' via pg_scribe"/>' || E'\n'
        || '  <meta name="ocr-capabilities" content="ocr_page ocr_carea ocr_par ocr_line ocrx_word ocrp_wconf"/>' || E'\n'
        || E' </head>\n <body>\n'
        || (SELECT string_agg(p->>'hocr', '' ORDER BY (p->>'page')::integer) FROM jsonb_array_elements(r->'pages') p)
        || E' </body>\n</html>\n'
    FROM scribe.ocr_detail(image, lang, psm, preprocess, words => false, hocr => true, force_ocr => force_ocr) r
$$;
COMMENT ON FUNCTION scribe.ocr_hocr(bytea, text, integer, boolean, boolean) IS 'The OCR result of an image as an hOCR (XHTML) document';

CREATE OR REPLACE FUNCTION scribe.ocr_tsv(
    image      bytea,
    lang       text DEFAULT 'eng',
    psm        integer DEFAULT NULL,
    preprocess boolean DEFAULT true,
    force_ocr  boolean DEFAULT false)
    RETURNS text
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT E'level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n'
        || (SELECT string_agg(p->>'tsv', '' ORDER BY (p->>'page')::integer) FROM jsonb_array_elements(r->'pages') p)
    FROM scribe.ocr_detail(image, lang, psm, preprocess, words => false, tsv => true, force_ocr => force_ocr) r
$$;
COMMENT ON FUNCTION scribe.ocr_tsv(bytea, text, integer, boolean, boolean) IS 'The OCR result of an image as tesseract''s TSV';

CREATE OR REPLACE FUNCTION scribe.ocr_pdf(
    image      bytea,
    lang       text DEFAULT 'eng',
    psm        integer DEFAULT NULL,
    preprocess boolean DEFAULT true,
    force_ocr  boolean DEFAULT false)
    RETURNS bytea
    LANGUAGE c VOLATILE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'scribe_ocr_pdf';
COMMENT ON FUNCTION scribe.ocr_pdf(bytea, text, integer, boolean, boolean) IS 'A searchable PDF of an image or PDF: each page''s image (a PDF''s own page) with its recognised words as an invisible text layer where they are on the page; a PDF''s pages that carry text keep it';

CREATE OR REPLACE FUNCTION scribe._ocr_make_pdf(image bytea, pages jsonb)
    RETURNS bytea
    LANGUAGE c VOLATILE STRICT PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'scribe_ocr_make_pdf_sql';
COMMENT ON FUNCTION scribe._ocr_make_pdf(bytea, jsonb) IS 'Internal: the searchable PDF of an image and its pages'' words (an OCR result''s pages, or a document''s)';

CREATE OR REPLACE FUNCTION scribe.image_info(
    image bytea,
    OUT format text, OUT width integer, OUT height integer, OUT pages integer,
    OUT bits_per_pixel integer, OUT dpi integer, OUT bytes bigint, OUT pages_with_text integer[])
    RETURNS record
    LANGUAGE c STABLE STRICT PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'scribe_image_info';
COMMENT ON FUNCTION scribe.image_info(bytea) IS 'Format, size, pages and resolution of an image, read from its header (a PDF: opened by the OCR engine, page 1 as it would be rendered, and the pages that carry a text layer); ERROR if OCR would refuse it';

CREATE OR REPLACE FUNCTION scribe.ocr_languages()
    RETURNS SETOF text
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_ocr_languages';
COMMENT ON FUNCTION scribe.ocr_languages() IS 'The OCR languages installed (models in scribe.ocr_tessdata_dir)';

CREATE OR REPLACE FUNCTION scribe._ocr_engine_pid()
    RETURNS integer
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_ocr_engine_pid_sql';
COMMENT ON FUNCTION scribe._ocr_engine_pid() IS 'Internal: the pid of this session''s OCR engine, NULL if none runs';
-- pg_scribe functions: the document pipeline.
--
-- scribe.document_submit stores a scan and enqueues an ocr job on the
-- 'ocr' queue in the caller's transaction; a worker of the pool, or a worker
-- node's (with scribe.claim, ack, nack and release on the ocr queue: the
-- ocr kind's queue hooks write the document), recognises it and writes the
-- text, the pages and the ledger back.

-- Comments of the tables in schema/documents.sql
COMMENT ON TABLE scribe.documents IS 'Scanned documents, their recognised text and status (add with scribe.document_submit)';
COMMENT ON TABLE scribe.document_pages IS 'Each page of a recognised document: text, confidence, skew found, completeness, words with boxes';
COMMENT ON TABLE scribe.ocr_ledger IS 'One row per page the pipeline recognised: method (local or cloud) and cost';

-- The text search configuration for a tesseract language
CREATE OR REPLACE FUNCTION scribe._search_config(lang text)
    RETURNS regconfig
    LANGUAGE sql IMMUTABLE STRICT
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT CASE split_part(lang, '+', 1)
        WHEN 'eng' THEN 'english' WHEN 'deu' THEN 'german' WHEN 'fra' THEN 'french'
        WHEN 'spa' THEN 'spanish' WHEN 'ita' THEN 'italian' WHEN 'nld' THEN 'dutch'
        WHEN 'por' THEN 'portuguese' WHEN 'swe' THEN 'swedish' WHEN 'dan' THEN 'danish'
        WHEN 'nor' THEN 'norwegian' WHEN 'fin' THEN 'finnish' WHEN 'rus' THEN 'russian'
        ELSE 'simple' END::regconfig
$$;
COMMENT ON FUNCTION scribe._search_config(text) IS 'Internal: the text search configuration for an OCR language';

CREATE OR REPLACE FUNCTION scribe._ocr_cloud_configured()
    RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$ SELECT coalesce(current_setting('scribe.ocr_cloud_url', true), '') <> '' $$;
COMMENT ON FUNCTION scribe._ocr_cloud_configured() IS 'Internal: whether a superuser set scribe.ocr_cloud_url';

CREATE OR REPLACE FUNCTION scribe.document_submit(
    image    bytea,
    owner    text DEFAULT current_user,
    metadata jsonb DEFAULT '{}',
    tier     text DEFAULT 'local',
    lang     text DEFAULT 'eng',
    priority integer DEFAULT 0,
    force_ocr boolean DEFAULT false)
    RETURNS bigint
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    info record;
    doc bigint;
BEGIN
    IF image IS NULL OR owner IS NULL OR tier IS NULL OR lang IS NULL OR metadata IS NULL OR force_ocr IS NULL THEN
        RAISE EXCEPTION 'image, owner, metadata, tier, lang and force_ocr must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF EXISTS (SELECT FROM scribe.subscriptions) THEN
        RAISE EXCEPTION 'this node is a read replica: submit documents on the primary'
            USING ERRCODE = 'read_only_sql_transaction',
                  HINT = 'The replica receives each document, and its text once recognised, through replication.';
    END IF;
    IF tier NOT IN ('local', 'cloud') THEN
        RAISE EXCEPTION 'unknown OCR tier "%"', tier
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'The tiers are local (this server''s engine) and cloud.';
    END IF;
    IF tier = 'cloud' AND NOT scribe._ocr_cloud_configured() THEN
        RAISE EXCEPTION 'the cloud OCR tier is not configured'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'A superuser sets scribe.ocr_cloud_url (and scribe.ocr_cloud_key), or submit with tier => ''local''.';
    END IF;
    IF jsonb_typeof(metadata) <> 'object' THEN
        RAISE EXCEPTION 'metadata must be a jsonb object'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM scribe._ocr_check_options(lang, 3);
    -- a PDF is opened by the engine here: an encrypted or broken one fails now, with its reason
    info := scribe.image_info(image);

    -- the id first, so that the row is written once, with its job
    doc := nextval(pg_get_serial_sequence('scribe.documents', 'document_id'));
    INSERT INTO scribe.documents (document_id, job_id, owner, metadata, tier, lang, image, image_format,
                                  image_bytes, pages, search_config, force_ocr)
    OVERRIDING SYSTEM VALUE
    VALUES (doc, scribe.send('ocr', jsonb_build_object('document_id', doc, 'lang', lang, 'tier', tier)
                                    -- worker nodes read it from here; only when set, as before 0.3.0 otherwise
                                    || CASE WHEN force_ocr THEN '{"force_ocr": true}'::jsonb ELSE '{}' END,
                        kind => 'ocr', priority => priority),
            owner, metadata, tier, lang, image, info.format, info.bytes, info.pages, scribe._search_config(lang),
            force_ocr);
    RETURN doc;
END
$$;
COMMENT ON FUNCTION scribe.document_submit(bytea, text, jsonb, text, text, integer, boolean) IS 'Store a scan (an image or a PDF) and enqueue its OCR in the caller''s transaction; returns the document id. A PDF page''s own text layer is kept unless force_ocr';

CREATE OR REPLACE FUNCTION scribe._ocr_check_options(lang text, psm integer)
    RETURNS void
    LANGUAGE c STABLE
    AS 'MODULE_PATHNAME', 'scribe_ocr_check_options_sql';
COMMENT ON FUNCTION scribe._ocr_check_options(text, integer) IS 'Internal: ERROR unless lang is installed and psm recognises text';

CREATE OR REPLACE FUNCTION scribe.document_get(
    document_id bigint,
    OUT status text, OUT progress integer, OUT owner text, OUT pages integer,
    OUT confidence real, OUT method text, OUT fallback boolean, OUT cost numeric,
    OUT seconds real, OUT attempts integer, OUT error text,
    OUT submitted_at timestamptz, OUT finished_at timestamptz,
    OUT needs_review boolean, OUT review_reasons text[])
    RETURNS record
    LANGUAGE sql STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
    -- processing: a worker here runs it, or a worker node (or an application) holds its lease
    SELECT CASE WHEN d.status = 'queued' AND (w.pid IS NOT NULL OR j.lease_until IS NOT NULL) THEN 'processing' ELSE d.status END,
           CASE WHEN d.status = 'done' THEN 100 WHEN d.status = 'queued' THEN coalesce(w.progress, 0) END,
           d.owner, d.pages, d.confidence, d.method, d.fallback, d.cost, d.seconds,
           j.attempts,
           d.error, d.submitted_at, d.finished_at, d.needs_review, d.review_reasons
    FROM scribe.documents d
    LEFT JOIN scribe.worker_status() w ON w.job_id = d.job_id
    LEFT JOIN LATERAL scribe._job_state(d.job_id) j ON true
    WHERE d.document_id = document_get.document_id
$$;
COMMENT ON FUNCTION scribe.document_get(bigint) IS 'A document''s status (queued, processing, done, failed), live progress percent, attempts and results, and whether a person should check its text (needs_review, with the reasons)';

CREATE OR REPLACE FUNCTION scribe.document_get_image(document_id bigint)
    RETURNS bytea
    LANGUAGE plpgsql STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    d record;
BEGIN
    SELECT image, image_location, image_key INTO d FROM scribe.documents
    WHERE documents.document_id = document_get_image.document_id;
    IF d.image_location = 's3' THEN
        -- an archive policy moved it to S3-compatible storage
        RETURN scribe._s3_get(d.image_key);
    END IF;
    RETURN d.image;
END
$$;
COMMENT ON FUNCTION scribe.document_get_image(bigint) IS 'A document''s image, as stored now: inline, or read back from S3 after an archive policy moved it there; NULL if there is no such document';

CREATE OR REPLACE FUNCTION scribe.document_get_pdf(document_id bigint)
    RETURNS bytea
    LANGUAGE plpgsql VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    d record;
    pages jsonb;
BEGIN
    SELECT status, error INTO d FROM scribe.documents
    WHERE documents.document_id = document_get_pdf.document_id;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF d.status = 'queued' THEN
        RAISE EXCEPTION 'document % is not recognised yet', document_id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = format('Wait until scribe.document_get(%s) says status done.', document_id);
    END IF;
    IF d.status = 'failed' THEN
        RAISE EXCEPTION 'document % failed: %', document_id, d.error
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'A failed document has no text to put in a PDF; submit the image again once it is fixed.';
    END IF;
    -- a PDF's pages that kept their own text (text_source text_layer) get no second layer
    SELECT jsonb_agg(jsonb_build_object('page', p.page, 'width', p.width, 'height', p.height,
                                        'rotation', p.rotation, 'words', p.words,
                                        'text_source', p.text_source) ORDER BY p.page)
    INTO pages
    FROM scribe.document_pages p
    WHERE p.document_id = document_get_pdf.document_id AND p.words IS NOT NULL;
    IF pages IS NULL THEN
        RAISE EXCEPTION 'document % has no word boxes to place in a PDF', document_id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Documents read by the cloud tier keep no word boxes; submit with tier => ''local'' for a searchable PDF.';
    END IF;
    RETURN scribe._ocr_make_pdf(scribe.document_get_image(document_id), pages);
END
$$;
COMMENT ON FUNCTION scribe.document_get_pdf(bigint) IS 'A searchable PDF of a recognised document: each page''s image with its words as an invisible text layer, made by this session''s OCR engine; NULL if there is no such document';

CREATE OR REPLACE FUNCTION scribe.document_search(
    query       text,
    owner       text DEFAULT NULL,
    max_results integer DEFAULT 20,
    config      regconfig DEFAULT 'english')
    RETURNS TABLE (document_id bigint, owner text, rank real, headline text, metadata jsonb)
    LANGUAGE sql STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
    WITH q AS (SELECT websearch_to_tsquery(config, scribe.text_normalize(query)) AS tsq)
    SELECT d.document_id, d.owner, ts_rank_cd(d.search, q.tsq) AS rank,
           regexp_replace(ts_headline(config, scribe.text_normalize(d.text), q.tsq,
                                      'MaxFragments=2, MaxWords=12, MinWords=4, StartSel=«, StopSel=»'),
                          '\s+', ' ', 'g'),
           d.metadata
    FROM scribe.documents d, q
    WHERE d.search @@ q.tsq AND d.search_config = config
      AND (document_search.owner IS NULL OR d.owner = document_search.owner)
    ORDER BY rank DESC, d.document_id
    LIMIT max_results
$$;
COMMENT ON FUNCTION scribe.document_search(text, text, integer, regconfig) IS 'Documents whose text matches a web-search style query, best first, with a highlighted excerpt';

CREATE OR REPLACE FUNCTION scribe.ocr_costs(
    since   timestamptz DEFAULT date_trunc('month', now()),
    until   timestamptz DEFAULT now(),
    per     text DEFAULT 'month')
    RETURNS TABLE (owner text, period timestamptz, method text, pages bigint, fallback_pages bigint, cost numeric)
    LANGUAGE sql STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT l.owner, date_trunc(per, l.recorded_at), l.method, count(*),
           count(*) FILTER (WHERE l.fallback), sum(l.cost)
    FROM scribe.ocr_ledger l
    WHERE l.recorded_at >= since AND l.recorded_at < until
    GROUP BY 1, 2, 3
    ORDER BY 2, 1, 3
$$;
COMMENT ON FUNCTION scribe.ocr_costs(timestamptz, timestamptz, text) IS 'OCR pages and cost from the ledger by owner, period (day, week, month, ...) and method';
-- pg_scribe functions: recompression of an image by the OCR engine
-- (the archive's smaller copy of a processed scan).

CREATE OR REPLACE FUNCTION scribe.image_recompress(
    image   bytea,
    format  text DEFAULT 'png',
    mode    text DEFAULT 'gray',
    quality integer DEFAULT 75)
    RETURNS bytea
    LANGUAGE c VOLATILE STRICT PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'scribe_recompress_image';
COMMENT ON FUNCTION scribe.image_recompress(bytea, text, text, integer) IS 'An image converted (mode gray, bw or keep) and encoded anew (format png, tiff_g4 or jpeg) by this session''s OCR engine';
-- pg_scribe functions: the cache (shared-memory tier).

CREATE OR REPLACE FUNCTION scribe.cache_set(key text, value text, ttl interval DEFAULT NULL)
    RETURNS boolean
    LANGUAGE c VOLATILE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'scribe_cache_set_text';
COMMENT ON FUNCTION scribe.cache_set(text, text, interval) IS 'Cache a text value under key, for ttl (NULL: until evicted); false if the cache cannot keep it';

CREATE OR REPLACE FUNCTION scribe.cache_set_bytea(key text, value bytea, ttl interval DEFAULT NULL)
    RETURNS boolean
    LANGUAGE c VOLATILE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'scribe_cache_set_bytea';
COMMENT ON FUNCTION scribe.cache_set_bytea(text, bytea, interval) IS 'Cache a bytea value under key, for ttl (NULL: until evicted); false if the cache cannot keep it';

CREATE OR REPLACE FUNCTION scribe.cache_set_jsonb(key text, value jsonb, ttl interval DEFAULT NULL)
    RETURNS boolean
    LANGUAGE c VOLATILE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'scribe_cache_set_jsonb';
COMMENT ON FUNCTION scribe.cache_set_jsonb(text, jsonb, interval) IS 'Cache a jsonb value under key, for ttl (NULL: until evicted); false if the cache cannot keep it';

CREATE OR REPLACE FUNCTION scribe.cache_get(key text)
    RETURNS text
    LANGUAGE c VOLATILE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'scribe_cache_get_text';
COMMENT ON FUNCTION scribe.cache_get(text) IS 'The cached text (or jsonb, as text) of key; NULL on a miss';

CREATE OR REPLACE FUNCTION scribe.cache_get_bytea(key text)
    RETURNS bytea
    LANGUAGE c VOLATILE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'scribe_cache_get_bytea';
COMMENT ON FUNCTION scribe.cache_get_bytea(text) IS 'The cached bytea of key; NULL on a miss';

CREATE OR REPLACE FUNCTION scribe.cache_get_jsonb(key text)
    RETURNS jsonb
    LANGUAGE c VOLATILE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'scribe_cache_get_jsonb';
COMMENT ON FUNCTION scribe.cache_get_jsonb(text) IS 'The cached jsonb of key; NULL on a miss';

CREATE OR REPLACE FUNCTION scribe.cache_delete(key text)
    RETURNS boolean
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'scribe_cache_delete_sql';
COMMENT ON FUNCTION scribe.cache_delete(text) IS 'Remove key from the cache; whether it was there';

CREATE OR REPLACE FUNCTION scribe.cache_invalidate(namespace text)
    RETURNS void
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'scribe_cache_invalidate_sql';
COMMENT ON FUNCTION scribe.cache_invalidate(text) IS 'Make every key of a namespace (the part before the first '':'') a miss, in O(1)';

CREATE OR REPLACE FUNCTION scribe.cache_stats(
    OUT tier text, OUT capacity_bytes bigint, OUT used_bytes bigint, OUT entries bigint,
    OUT max_entries bigint, OUT hits bigint, OUT misses bigint, OUT hit_rate double precision,
    OUT sets bigint, OUT evictions bigint, OUT expirations bigint, OUT too_large bigint,
    OUT errors bigint)
    RETURNS SETOF record
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_cache_stats';
COMMENT ON FUNCTION scribe.cache_stats() IS 'One row per tier (l1: shared memory, l2: Redis): memory, entries, hits, misses, sets, evictions, expirations, values too large, Redis calls skipped or failed';

CREATE OR REPLACE FUNCTION scribe.cache_namespace_stats(
    OUT namespace text, OUT entries bigint, OUT bytes bigint, OUT hits bigint, OUT l2_hits bigint,
    OUT misses bigint, OUT hit_rate double precision, OUT sets bigint, OUT loads bigint,
    OUT early_refreshes bigint, OUT evictions bigint, OUT expirations bigint, OUT invalidations bigint)
    RETURNS SETOF record
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_cache_namespace_stats_sql';
COMMENT ON FUNCTION scribe.cache_namespace_stats() IS 'One row per namespace since the server started (NULL: the namespaces past the first 256): entries and bytes in shared memory, hits (of which from Redis), misses, sets, loader runs, early refreshes, evictions, expirations, invalidations';

CREATE OR REPLACE FUNCTION scribe.cache_get_many(keys text[], OUT key text, OUT value text)
    RETURNS SETOF record
    LANGUAGE c VOLATILE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'scribe_cache_get_many_sql';
COMMENT ON FUNCTION scribe.cache_get_many(text[]) IS 'The cached text (or jsonb, as text) of each key found, in the order given; the misses of the shared-memory tier read from Redis in one round trip';

CREATE OR REPLACE FUNCTION scribe.cache_warm(query text, ttl interval DEFAULT NULL)
    RETURNS bigint
    LANGUAGE c VOLATILE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'scribe_cache_warm';
COMMENT ON FUNCTION scribe.cache_warm(text, interval) IS 'Cache the (key, value) rows of a query for ttl, in batches (one Redis round trip per batch); how many were stored';

CREATE OR REPLACE FUNCTION scribe.cache_invalidate_trigger()
    RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'scribe_cache_invalidate_trigger';
COMMENT ON FUNCTION scribe.cache_invalidate_trigger() IS 'The trigger scribe.cache_invalidate_on() attaches: deletes the keys its arguments (key templates) make of changed rows';

CREATE OR REPLACE FUNCTION scribe.cache_invalidate_on(tbl regclass, VARIADIC keys text[])
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    k text;
    placeholder text[];
    kind "char";
BEGIN
    IF tbl IS NULL OR keys IS NULL OR cardinality(keys) = 0 THEN
        RAISE EXCEPTION 'scribe.cache_invalidate_on needs a table and at least one key template'
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'For example: SELECT scribe.cache_invalidate_on(''users'', ''user:{id}:profile'');';
    END IF;
    SELECT relkind INTO kind FROM pg_class WHERE oid = tbl;
    IF kind NOT IN ('r', 'p') THEN
        RAISE EXCEPTION '"%" is not a table', tbl
            USING ERRCODE = 'wrong_object_type',
                  HINT = 'Attach cache invalidation to the table whose rows the cached values come from.';
    END IF;
    FOREACH k IN ARRAY keys LOOP
        IF k IS NULL OR k = '' OR octet_length(k) > 1024 THEN
            RAISE EXCEPTION 'a cache key template is 1 to 1024 bytes, not %', coalesce(octet_length(k)::text, 'NULL')
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF k ~ '\{[^}]*(\{|$)' OR k ~ '(^|\})[^{]*\}' THEN
            RAISE EXCEPTION 'cache key template "%" has unbalanced braces', k
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Name a column between braces: ''user:{id}:profile''.';
        END IF;
        FOR placeholder IN SELECT regexp_matches(k, '\{([^}]*)\}', 'g') LOOP
            IF NOT EXISTS (SELECT FROM pg_attribute
                           WHERE attrelid = tbl AND attname = placeholder[1]
                             AND attnum > 0 AND NOT attisdropped) THEN
                RAISE EXCEPTION 'column "%" of cache key template "%" does not exist in table %',
                        placeholder[1], k, tbl
                    USING ERRCODE = 'undefined_column',
                          HINT = 'Name a column of the table between braces, spelled as it is stored (no quotes).';
            END IF;
        END LOOP;
    END LOOP;

    -- a row trigger for the templates with columns (and, where logical
    -- replication applies rows, for all: it fires no statement trigger
    -- there), a statement trigger for the rest and TRUNCATE
    EXECUTE format('CREATE OR REPLACE TRIGGER scribe_cache_invalidate_rows'
                   ' AFTER INSERT OR UPDATE OR DELETE ON %s'
                   ' FOR EACH ROW EXECUTE FUNCTION scribe.cache_invalidate_trigger(%s)',
                   tbl, (SELECT string_agg(quote_literal(t), ', ') FROM unnest(keys) t));
    EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER scribe_cache_invalidate_rows', tbl);
    EXECUTE format('CREATE OR REPLACE TRIGGER scribe_cache_invalidate'
                   ' AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %s'
                   ' FOR EACH STATEMENT EXECUTE FUNCTION scribe.cache_invalidate_trigger(%s)',
                   tbl, (SELECT string_agg(quote_literal(t), ', ') FROM unnest(keys) t));
    EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER scribe_cache_invalidate', tbl);
END
$$;
COMMENT ON FUNCTION scribe.cache_invalidate_on(regclass, text[]) IS 'Attach to a table triggers (enabled ALWAYS, so they fire on logical replicas too) that delete the cache keys made from changed rows by templates like ''user:{id}:profile'', or invalidate a namespace (''user'') on any change';

CREATE OR REPLACE FUNCTION scribe.cache_clear()
    RETURNS void
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_cache_clear';
COMMENT ON FUNCTION scribe.cache_clear() IS 'Empty the shared-memory cache';

CREATE OR REPLACE FUNCTION scribe.cache_fetch(key text, loader text, ttl interval DEFAULT NULL)
    RETURNS text
    LANGUAGE c VOLATILE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'scribe_cache_fetch';
COMMENT ON FUNCTION scribe.cache_fetch(text, text, interval) IS 'The cached value of key; on a miss, run the loader query (one row, one column) once across all sessions and cache its result for ttl';
-- pg_scribe functions: the cache's Redis tier (L2) and its circuit breaker.

CREATE OR REPLACE FUNCTION scribe.redis_stats(
    OUT configured boolean, OUT state text, OUT failures bigint, OUT successes bigint,
    OUT opened bigint, OUT short_circuited bigint, OUT last_error text, OUT state_since timestamptz)
    RETURNS record
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_redis_status_sql';
COMMENT ON FUNCTION scribe.redis_stats() IS
    'The Redis tier: whether scribe.redis_url is set, the circuit breaker''s state (closed, open, half-open) and since when, calls failed and answered, times opened, calls skipped while open, and the last error, since the server started';

CREATE OR REPLACE FUNCTION scribe._redis_get(key text)
    RETURNS bytea
    LANGUAGE c VOLATILE STRICT
    AS 'MODULE_PATHNAME', 'scribe_redis_get_sql';
COMMENT ON FUNCTION scribe._redis_get(text) IS
    'Internal: GET key from Redis; NULL on a miss, a refused call or no Redis (see scribe.redis_stats())';

CREATE OR REPLACE FUNCTION scribe._redis_set(key text, value bytea, ttl_ms bigint DEFAULT 0)
    RETURNS boolean
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_redis_set_sql';
COMMENT ON FUNCTION scribe._redis_set(text, bytea, bigint) IS
    'Internal: SET key value in Redis, expiring after ttl_ms milliseconds (0: never); false when Redis refused it or is unavailable';

CREATE OR REPLACE FUNCTION scribe._redis_del(key text)
    RETURNS boolean
    LANGUAGE c VOLATILE STRICT
    AS 'MODULE_PATHNAME', 'scribe_redis_del_sql';
COMMENT ON FUNCTION scribe._redis_del(text) IS
    'Internal: DEL key in Redis; true if it was there, false if not, NULL when Redis is unavailable';

CREATE OR REPLACE FUNCTION scribe._redis_incr(key text)
    RETURNS bigint
    LANGUAGE c VOLATILE STRICT
    AS 'MODULE_PATHNAME', 'scribe_redis_incr_sql';
COMMENT ON FUNCTION scribe._redis_incr(text) IS
    'Internal: INCR key in Redis (namespace versions); the new value, NULL when Redis refused it or is unavailable';

CREATE OR REPLACE FUNCTION scribe._redis_mget(keys text[])
    RETURNS bytea[]
    LANGUAGE c VOLATILE STRICT
    AS 'MODULE_PATHNAME', 'scribe_redis_mget_sql';
COMMENT ON FUNCTION scribe._redis_mget(text[]) IS
    'Internal: GET of many keys, pipelined; values in order with NULL for misses, NULL altogether when Redis is unavailable';

CREATE OR REPLACE FUNCTION scribe._redis_set_many(keys text[], "values" bytea[], ttl_ms bigint DEFAULT 0)
    RETURNS integer
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_redis_set_many_sql';
COMMENT ON FUNCTION scribe._redis_set_many(text[], bytea[], bigint) IS
    'Internal: SET of many keys, pipelined (warming); how many were stored, NULL when Redis is unavailable';
-- pg_scribe functions: the rate limiter (GCRA in shared memory).

-- Comment of the type in schema/rate_limit.sql
COMMENT ON TYPE scribe.rate_limit_result IS 'What scribe.rate_limit_take() decided';

CREATE OR REPLACE FUNCTION scribe.rate_limit_take(
    key text, "limit" integer, period interval, burst integer DEFAULT NULL, cost integer DEFAULT 1)
    RETURNS scribe.rate_limit_result
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_rate_limit';
COMMENT ON FUNCTION scribe.rate_limit_take(text, integer, interval, integer, integer) IS
    'Allow or reject a request of cost tokens against key: limit per period, burst at once (GCRA, shared memory, not transactional)';

CREATE OR REPLACE FUNCTION scribe.rate_limit_reset(key text)
    RETURNS boolean
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_rate_limit_reset';
COMMENT ON FUNCTION scribe.rate_limit_reset(text) IS
    'Forget a rate limit key (its bucket is full again); false if it was not kept';

CREATE OR REPLACE FUNCTION scribe.rate_limit_stats(
    OUT keys bigint, OUT capacity bigint, OUT evictions bigint, OUT evictions_limiting bigint,
    OUT allowed bigint, OUT rejected bigint)
    RETURNS record
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_rate_limit_status';
COMMENT ON FUNCTION scribe.rate_limit_stats() IS
    'The rate limiter''s table: keys kept, capacity, evictions (of which still limiting), requests allowed and rejected since the server started';
-- pg_scribe functions: cron schedules (of lifecycle policies).

-- IMMUTABLE: the answer depends on the arguments only; the expression is
-- read in UTC, never in the session's time zone
CREATE OR REPLACE FUNCTION scribe.cron_next(schedule text, after timestamptz DEFAULT now())
    RETURNS timestamptz
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'scribe_cron_next';
COMMENT ON FUNCTION scribe.cron_next(text, timestamptz) IS
    'The first run of a cron expression (5 fields or a macro such as @daily, read in UTC) strictly after a time, now by default';
-- pg_scribe functions: lifecycle policies.
--
-- A policy keeps a table (or a materialized view, or a procedure's work) in
-- shape on a schedule: partitions made ahead and retired, old rows purged or
-- archived, orphans deleted, a view refreshed, a procedure called.  The
-- launcher turns due policies into runs: a run is a chain of jobs on the
-- built-in 'lifecycle' queue, one action per job (one partition, one batch
-- of rows), so each action is its own short transaction with the queue's
-- retries, backoff and dead letters, and at most one run of a policy is
-- under way at a time.  Everything a policy does to its target runs as the
-- role that created it.

-- Comments of the tables in schema/lifecycle.sql
COMMENT ON TABLE scribe.policies IS 'Lifecycle policies (change them with scribe.policy_create / policy_alter / policy_drop)';
COMMENT ON TABLE scribe.policy_runs IS 'Every run of a policy: times, status, rows, partitions and bytes affected, what was done, the error';

-- The time a policy sees: now(), moved by scribe.policy_clock_offset (tests, rehearsals)
CREATE OR REPLACE FUNCTION scribe._policy_clock()
    RETURNS timestamptz
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
    -- pg_settings shows the raw seconds; without the library preloaded there is no setting
    SELECT now() + make_interval(secs => COALESCE(
        (SELECT setting::double precision FROM pg_settings WHERE name = 'scribe.policy_clock_offset'), 0))
$$;
COMMENT ON FUNCTION scribe._policy_clock() IS 'Internal: the time a policy sees: now(), moved by scribe.policy_clock_offset (tests, rehearsals)';

-- Whether a schedule is a cron expression (else an interval)
CREATE OR REPLACE FUNCTION scribe._schedule_is_cron(schedule text)
    RETURNS boolean
    LANGUAGE sql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
    AS $$ SELECT btrim(schedule) LIKE '@%' OR cardinality(regexp_split_to_array(btrim(schedule), '\s+')) = 5 $$;
COMMENT ON FUNCTION scribe._schedule_is_cron(text) IS 'Internal: whether a schedule is a cron expression (else an interval)';

-- When a schedule next fires after a time; ERROR if it is neither a positive interval nor a cron expression
CREATE OR REPLACE FUNCTION scribe._schedule_next(schedule text, after timestamptz)
    RETURNS timestamptz
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    every interval;
BEGIN
    IF scribe._schedule_is_cron(schedule) THEN
        RETURN scribe.cron_next(schedule, after);
    END IF;
    BEGIN
        every := schedule::interval;
    EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow OR interval_field_overflow THEN
        RAISE EXCEPTION 'schedule "%" is neither an interval nor a cron expression', schedule
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Write an interval (''15 minutes'', ''1 day'') or five cron fields (''30 3 * * *'': 03:30 UTC every day).';
    END;
    IF every < '1 second' THEN
        RAISE EXCEPTION 'schedule "%" is shorter than a second', schedule
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Run a policy at most once a second; its actions are jobs of the lifecycle queue.';
    END IF;
    RETURN after + every;
END
$$;
COMMENT ON FUNCTION scribe._schedule_next(text, timestamptz) IS 'Internal: when a schedule next fires after a time; ERROR if it is neither a positive interval nor a cron expression';
-- pg_scribe functions: lifecycle policies, the checks a policy's
-- target and settings pass when it is created or changed.

-- ERROR 22023 with a message and a hint: a setting a policy cannot take
CREATE OR REPLACE FUNCTION scribe._policy_invalid(message text, hint text)
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF hint IS NULL THEN
        RAISE EXCEPTION '%', message USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RAISE EXCEPTION '%', message USING ERRCODE = 'invalid_parameter_value', HINT = hint;
END
$$;
COMMENT ON FUNCTION scribe._policy_invalid(text, text) IS 'Internal: eRROR 22023 with a message and a hint: a setting a policy cannot take';

-- The settings keys a kind takes: ERROR on any other
CREATE OR REPLACE FUNCTION scribe._policy_check_keys(kind text, settings jsonb, allowed text[])
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    k text;
BEGIN
    IF jsonb_typeof(settings) <> 'object' THEN
        PERFORM scribe._policy_invalid('the settings of a policy are a JSON object',
            'For example ''{"older_than": "90 days"}''.');
    END IF;
    FOR k IN SELECT jsonb_object_keys(settings) LOOP
        IF NOT k = ANY (allowed) THEN
            PERFORM scribe._policy_invalid(format('a %s policy has no setting "%s"', kind, k),
                format('Its settings are: %s.', array_to_string(allowed, ', ')));
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION scribe._policy_check_keys(text, jsonb, text[]) IS 'Internal: the settings keys a kind takes: ERROR on any other';

-- A setting as an interval (or the default); ERROR if it is not one or not positive
CREATE OR REPLACE FUNCTION scribe._policy_interval(settings jsonb, key text, fallback interval)
    RETURNS interval
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v interval;
BEGIN
    IF settings->>key IS NULL THEN
        RETURN fallback;
    END IF;
    BEGIN
        v := (settings->>key)::interval;
    EXCEPTION WHEN OTHERS THEN
        PERFORM scribe._policy_invalid(format('setting "%s" is not an interval: %s', key, settings->>key),
            'Write it as ''90 days'', ''1 month'', ''500 milliseconds''.');
    END;
    IF v < '0' THEN
        PERFORM scribe._policy_invalid(format('setting "%s" must not be negative', key), NULL);
    END IF;
    RETURN v;
END
$$;
COMMENT ON FUNCTION scribe._policy_interval(jsonb, text, interval) IS 'Internal: a setting as an interval (or the default); ERROR if it is not one or not positive';

-- A setting as a positive integer (or the default)
CREATE OR REPLACE FUNCTION scribe._policy_integer(settings jsonb, key text, fallback integer, lo integer, hi integer)
    RETURNS integer
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v integer;
BEGIN
    IF settings->key IS NULL THEN
        RETURN fallback;
    END IF;
    IF jsonb_typeof(settings->key) <> 'number' OR (settings->>key) !~ '^\d+$' THEN
        PERFORM scribe._policy_invalid(format('setting "%s" is not a whole number: %s', key, settings->key), NULL);
    END IF;
    v := (settings->>key)::integer;
    IF v NOT BETWEEN lo AND hi THEN
        PERFORM scribe._policy_invalid(format('setting "%s" is %s, not between %s and %s', key, v, lo, hi), NULL);
    END IF;
    RETURN v;
END
$$;
COMMENT ON FUNCTION scribe._policy_integer(jsonb, text, integer, integer, integer) IS 'Internal: a setting as a positive integer (or the default)';

-- A column of a table that holds time (date, timestamp, timestamptz); ERROR otherwise
CREATE OR REPLACE FUNCTION scribe._policy_time_column(tbl regclass, col text)
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    typ regtype;
BEGIN
    IF col IS NULL THEN
        PERFORM scribe._policy_invalid('this policy needs a "column" setting: the column that holds each row''s time',
            'For example ''{"column": "created_at", "older_than": "90 days"}''.');
    END IF;
    SELECT atttypid INTO typ FROM pg_attribute
    WHERE attrelid = tbl AND attname = col AND attnum > 0 AND NOT attisdropped;
    IF typ IS NULL THEN
        RAISE EXCEPTION 'column "%" of % does not exist', col, tbl
            USING ERRCODE = 'undefined_column';
    END IF;
    IF typ NOT IN ('date'::regtype, 'timestamp'::regtype, 'timestamptz'::regtype) THEN
        RAISE EXCEPTION 'column "%" of % is of type %, not a time', col, tbl, typ
            USING ERRCODE = 'datatype_mismatch',
                  HINT = 'The column must be date, timestamp or timestamp with time zone.';
    END IF;
END
$$;
COMMENT ON FUNCTION scribe._policy_time_column(regclass, text) IS 'Internal: a column of a table that holds time (date, timestamp, timestamptz); ERROR otherwise';

-- The width of a partitions policy's interval setting (day, week, month)
CREATE OR REPLACE FUNCTION scribe._partition_width(unit text)
    RETURNS interval
    LANGUAGE sql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
    AS $$ SELECT CASE unit WHEN 'day' THEN interval '1 day' WHEN 'week' THEN interval '7 days'
                           WHEN 'month' THEN interval '1 month' END $$;
COMMENT ON FUNCTION scribe._partition_width(text) IS 'Internal: the width of a partitions policy''s interval setting (day, week, month); NULL for any other';

-- ERROR unless a relation a policy names is permanent: a temporary one lives
-- only as long as its session, and no other session may read it
CREATE OR REPLACE FUNCTION scribe._policy_permanent(rel regclass)
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF (SELECT c.relpersistence FROM pg_class c WHERE c.oid = rel) = 't' THEN
        RAISE EXCEPTION 'a policy cannot name temporary relation %', rel
            USING ERRCODE = 'wrong_object_type',
                  HINT = 'A temporary relation lives only as long as its session, and the worker pool cannot read it: name a permanent one.';
    END IF;
END
$$;
COMMENT ON FUNCTION scribe._policy_permanent(regclass) IS 'Internal: ERROR unless a relation a policy names is permanent: a temporary one lives only as long as its session, and no other session may read it';

-- Check a policy's target and settings for its kind; returns the settings
-- with their defaults and schema-qualified names.  The names come looked up
-- already, as OIDs: the C side looked them up as the caller (target is the
-- name the caller gave, for messages), so nothing here resolves a name on a
-- search_path or runs the caller's code; what reads a user relation (the
-- EXPLAIN of an orphans policy) runs as owner.  caller must be a member of
-- the target's owner; owner is the role the policy runs as (for a relation,
-- the target's owner; for a procedure, its creator).
CREATE OR REPLACE FUNCTION scribe._policy_check(kind text, target text, target_rel regclass, target_proc regprocedure,
                                     settings jsonb, caller regrole, owner regrole,
                                     parent regclass, archive_table regclass, archive_schema regnamespace)
    RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    SET intervalstyle = postgres
    AS $$
DECLARE
    tbl regclass := target_rel;
    proc regprocedure := target_proc;
    rel record;
    keytype regtype;
    width interval;
    retention interval;
    s jsonb := COALESCE(settings, '{}');
BEGIN
    IF kind IS NULL OR kind NOT IN ('partitions', 'purge', 'archive', 'orphans', 'refresh', 'sql') THEN
        PERFORM scribe._policy_invalid(format('unknown policy kind "%s"', kind),
            'The kinds are partitions, purge, archive, orphans, refresh and sql.');
    END IF;
    IF target IS NULL THEN
        PERFORM scribe._policy_invalid('a policy needs a target', NULL);
    END IF;

    IF kind = 'sql' THEN
        IF proc IS NULL OR (SELECT prokind FROM pg_proc WHERE oid = proc) <> 'p' THEN
            RAISE EXCEPTION 'procedure % does not exist', target
                USING ERRCODE = 'undefined_function',
                      HINT = 'The target of a sql policy is a procedure: CREATE PROCEDURE name() or name(args jsonb).';
        END IF;
        IF (SELECT pronargs FROM pg_proc WHERE oid = proc) > 1
           OR ((SELECT pronargs FROM pg_proc WHERE oid = proc) = 1
               AND (SELECT proargtypes[0] FROM pg_proc WHERE oid = proc) <> 'jsonb'::regtype) THEN
            PERFORM scribe._policy_invalid(format('procedure %s must take no argument or one jsonb', proc),
                'The policy calls it with its "args" setting.');
        END IF;
        IF NOT has_function_privilege(owner, proc, 'EXECUTE') THEN
            RAISE EXCEPTION 'permission denied for procedure %', proc
                USING ERRCODE = 'insufficient_privilege',
                      HINT = format('The policy calls it as its owner, %s: GRANT EXECUTE on it to that role.', owner);
        END IF;
        PERFORM scribe._policy_check_keys(kind, s, ARRAY['args']);
        RETURN jsonb_build_object('procedure', proc::text, 'args', s->'args');
    END IF;

    IF tbl IS NULL THEN
        RAISE EXCEPTION 'relation "%" does not exist', target
            USING ERRCODE = 'undefined_table',
                  HINT = 'Name the table with its schema if it is not on the search_path.';
    END IF;
    SELECT c.relkind, c.relowner INTO rel FROM pg_class c WHERE c.oid = tbl;
    IF NOT pg_has_role(caller, rel.relowner, 'USAGE') THEN
        RAISE EXCEPTION 'must be the owner of % to create a policy on it', tbl
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'A role can only create policies on tables it owns.';
    END IF;
    IF rel.relowner <> owner THEN
        RAISE EXCEPTION '% belongs to %, not to the policy''s owner %', tbl, rel.relowner::regrole, owner
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'A policy runs as its target''s owner: drop it and create it again for the new owner.';
    END IF;
    PERFORM scribe._policy_permanent(tbl);

    CASE kind
    WHEN 'partitions' THEN
        PERFORM scribe._policy_check_keys(kind, s,
            ARRAY['interval', 'premake', 'retention', 'retention_mode', 'archive_schema', 'lock_timeout']);
        IF rel.relkind <> 'p' OR (SELECT partstrat FROM pg_partitioned_table WHERE partrelid = tbl) <> 'r'
           OR (SELECT partnatts FROM pg_partitioned_table WHERE partrelid = tbl) <> 1 THEN
            RAISE EXCEPTION '% is not partitioned by range on one column', tbl
                USING ERRCODE = 'wrong_object_type',
                      HINT = 'Create it with PARTITION BY RANGE (a date or timestamp column); partitioning an existing table is up to you.';
        END IF;
        SELECT a.atttypid INTO keytype
        FROM pg_partitioned_table pt JOIN pg_attribute a ON a.attrelid = pt.partrelid AND a.attnum = pt.partattrs[0]
        WHERE pt.partrelid = tbl;
        IF keytype IS NULL OR keytype NOT IN ('date'::regtype, 'timestamp'::regtype, 'timestamptz'::regtype) THEN
            RAISE EXCEPTION 'the partition key of % is not a date or timestamp column', tbl
                USING ERRCODE = 'datatype_mismatch',
                      HINT = 'A partitions policy makes time ranges: partition by a date, timestamp or timestamptz column.';
        END IF;
        s := jsonb_build_object('interval', COALESCE(s->>'interval', 'month'),
                                'premake', scribe._policy_integer(s, 'premake', 3, 1, 1000),
                                'retention', s->>'retention',
                                'retention_mode', COALESCE(s->>'retention_mode', 'detach'),
                                'archive_schema', s->>'archive_schema',
                                'lock_timeout', scribe._policy_interval(s, 'lock_timeout', '5 seconds')::text);
        width := scribe._partition_width(s->>'interval');
        IF width IS NULL THEN
            PERFORM scribe._policy_invalid(format('partition interval "%s" is not day, week or month', s->>'interval'), NULL);
        END IF;
        retention := scribe._policy_interval(s, 'retention', NULL);
        IF retention IS NOT NULL AND now() - retention > now() - width THEN
            PERFORM scribe._policy_invalid(
                format('a retention of %s is shorter than a partition (%s)', retention, s->>'interval'),
                'Keep at least one partition''s width: a partition is retired once all of it is older than the retention.');
        END IF;
        IF s->>'retention_mode' NOT IN ('detach', 'drop', 'archive') THEN
            PERFORM scribe._policy_invalid(format('retention_mode "%s" is not detach, drop or archive', s->>'retention_mode'),
                'detach (the default) keeps retired partitions as tables; drop deletes them; archive moves them to archive_schema.');
        END IF;
        IF s->>'retention_mode' = 'archive' OR s->>'archive_schema' IS NOT NULL THEN
            IF archive_schema IS NULL THEN
                RAISE EXCEPTION 'archive schema "%" does not exist', s->>'archive_schema'
                    USING ERRCODE = 'invalid_schema_name',
                          HINT = 'Create the schema first; retention_mode archive moves retired partitions into it.';
            END IF;
            IF (SELECT n.nspname FROM pg_namespace n WHERE n.oid = archive_schema) ~ '^pg_(toast_)?temp_' THEN
                RAISE EXCEPTION 'a policy cannot move partitions into temporary schema %', archive_schema
                    USING ERRCODE = 'wrong_object_type',
                          HINT = 'A temporary schema lives only as long as its session: name a permanent one.';
            END IF;
            IF NOT has_schema_privilege(owner, archive_schema, 'CREATE') THEN
                RAISE EXCEPTION 'permission denied for schema %', archive_schema
                    USING ERRCODE = 'insufficient_privilege',
                          HINT = format('The policy moves retired partitions there as its owner, %s: GRANT CREATE on the schema to that role.', owner);
            END IF;
            -- the schema's own name, which a run quotes (%I)
            s := jsonb_set(s, '{archive_schema}',
                           to_jsonb((SELECT n.nspname::text FROM pg_namespace n WHERE n.oid = archive_schema)));
        END IF;
        RETURN s;
    WHEN 'purge' THEN
        PERFORM scribe._policy_check_keys(kind, s, ARRAY['column', 'older_than', 'batch_size', 'pause']);
        IF rel.relkind NOT IN ('r', 'p') THEN
            RAISE EXCEPTION '% is not a table', tbl
                USING ERRCODE = 'wrong_object_type',
                      HINT = 'A purge policy deletes rows of a table or a partitioned table.';
        END IF;
        PERFORM scribe._policy_time_column(tbl, s->>'column');
        IF s->>'older_than' IS NULL THEN
            PERFORM scribe._policy_invalid('a purge policy needs "older_than": how old a row must be to go',
                'For example ''{"column": "created_at", "older_than": "90 days"}''.');
        END IF;
        RETURN jsonb_build_object('column', s->>'column',
                                  'older_than', scribe._policy_interval(s, 'older_than', NULL)::text,
                                  'batch_size', scribe._policy_integer(s, 'batch_size', 10000, 1, 1000000),
                                  'pause', scribe._policy_interval(s, 'pause', '100 milliseconds')::text);
    WHEN 'archive' THEN
        IF tbl = 'scribe.documents'::regclass THEN
            RETURN scribe._policy_check_documents(s);
        END IF;
        PERFORM scribe._policy_check_keys(kind, s,
            ARRAY['column', 'older_than', 'batch_size', 'pause', 'archive_table', 'mark']);
        IF rel.relkind NOT IN ('r', 'p') THEN
            RAISE EXCEPTION '% is not a table', tbl
                USING ERRCODE = 'wrong_object_type',
                      HINT = 'An archive policy moves or marks rows of a table or a partitioned table.';
        END IF;
        PERFORM scribe._policy_time_column(tbl, s->>'column');
        IF s->>'older_than' IS NULL THEN
            PERFORM scribe._policy_invalid('an archive policy needs "older_than": how long since a row was last accessed',
                'For example ''{"column": "last_accessed_at", "older_than": "90 days", "archive_table": "audio_archive"}''.');
        END IF;
        IF (s->'archive_table' IS NULL) = (s->'mark' IS NULL) THEN
            PERFORM scribe._policy_invalid('an archive policy either moves rows ("archive_table") or marks them ("mark")',
                'Give "archive_table": a table with the same columns, or "mark": {"column": "storage_class", "value": "cold"}.');
        END IF;
        IF s->'archive_table' IS NOT NULL THEN
            PERFORM scribe._policy_check_archive_table(tbl, archive_table, s->>'archive_table', owner);
        ELSE
            PERFORM scribe._policy_check_mark(tbl, s->'mark');
        END IF;
        RETURN jsonb_strip_nulls(jsonb_build_object('column', s->>'column',
                                  'older_than', scribe._policy_interval(s, 'older_than', NULL)::text,
                                  'archive_table', CASE WHEN s->'archive_table' IS NOT NULL THEN archive_table::text END,
                                  'mark', s->'mark',
                                  'batch_size', scribe._policy_integer(s, 'batch_size', 1000, 1, 1000000),
                                  'pause', scribe._policy_interval(s, 'pause', '100 milliseconds')::text));
    WHEN 'orphans' THEN
        PERFORM scribe._policy_check_keys(kind, s, ARRAY['column', 'parent', 'parent_column', 'batch_size', 'pause']);
        IF rel.relkind NOT IN ('r', 'p') THEN
            RAISE EXCEPTION '% is not a table', tbl
                USING ERRCODE = 'wrong_object_type',
                      HINT = 'An orphans policy deletes rows of a table or a partitioned table.';
        END IF;
        IF s->>'column' IS NULL OR s->>'parent' IS NULL THEN
            PERFORM scribe._policy_invalid('an orphans policy needs "column" and "parent" (and "parent_column", default the same name)',
                'For example ''{"column": "user_id", "parent": "users", "parent_column": "id"}''.');
        END IF;
        IF parent IS NULL THEN
            RAISE EXCEPTION 'relation "%" does not exist', s->>'parent'
                USING ERRCODE = 'undefined_table',
                      HINT = 'Name the parent with its schema if it is not on the search_path.';
        END IF;
        PERFORM scribe._policy_permanent(parent);
        IF NOT has_table_privilege(owner, parent, 'SELECT') THEN
            RAISE EXCEPTION 'permission denied for table %', parent
                USING ERRCODE = 'insufficient_privilege',
                      HINT = format('The policy reads it as its owner, %s: GRANT SELECT on it to that role.', owner);
        END IF;
        -- the comparison must plan (columns exist, types compare), planned as
        -- the owner: planning may run the code of the owner's views
        BEGIN
            PERFORM scribe._run_as(owner,
                format('EXPLAIN SELECT 1 FROM %s x WHERE NOT EXISTS (SELECT 1 FROM %s r WHERE r.%I = x.%I)',
                       tbl, parent, COALESCE(s->>'parent_column', s->>'column'), s->>'column'));
        EXCEPTION WHEN undefined_function THEN
            RAISE EXCEPTION 'column "%" of % cannot be compared with column "%" of %', s->>'column', tbl,
                    COALESCE(s->>'parent_column', s->>'column'), parent
                USING ERRCODE = 'datatype_mismatch',
                      HINT = 'An orphans policy deletes the rows whose column matches no row of the parent: give columns of the same type.';
        END;
        RETURN jsonb_build_object('column', s->>'column', 'parent', parent::text,
                                  'parent_column', COALESCE(s->>'parent_column', s->>'column'),
                                  'batch_size', scribe._policy_integer(s, 'batch_size', 10000, 1, 1000000),
                                  'pause', scribe._policy_interval(s, 'pause', '100 milliseconds')::text);
    WHEN 'refresh' THEN
        PERFORM scribe._policy_check_keys(kind, s, ARRAY['concurrently', 'lock_timeout']);
        IF rel.relkind <> 'm' THEN
            RAISE EXCEPTION '% is not a materialized view', tbl
                USING ERRCODE = 'wrong_object_type',
                      HINT = 'A refresh policy refreshes a materialized view.';
        END IF;
        IF s ? 'concurrently' AND jsonb_typeof(s->'concurrently') <> 'boolean' THEN
            PERFORM scribe._policy_invalid('setting "concurrently" is true or false', NULL);
        END IF;
        IF (s->>'concurrently')::boolean AND NOT scribe._matview_refreshable_concurrently(tbl) THEN
            RAISE EXCEPTION 'materialized view % has no unique index a concurrent refresh can use', tbl
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = 'Create a UNIQUE index on plain columns of the view, with no WHERE clause, or leave "concurrently" out.';
        END IF;
        RETURN jsonb_build_object('concurrently',
                                  COALESCE((s->>'concurrently')::boolean, scribe._matview_refreshable_concurrently(tbl)),
                                  'lock_timeout', scribe._policy_interval(s, 'lock_timeout', '5 seconds')::text);
    END CASE;
END
$$;
COMMENT ON FUNCTION scribe._policy_check(text, text, regclass, regprocedure, jsonb, regrole, regrole, regclass, regclass, regnamespace) IS 'Internal: check a policy''s target and settings for its kind, the names looked up already (as OIDs, by the C side, as the caller); returns the settings with their defaults and qualified names';

-- Whether REFRESH ... CONCURRENTLY can use an index of the view: unique, on columns only, without WHERE
CREATE OR REPLACE FUNCTION scribe._matview_refreshable_concurrently(mv regclass)
    RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT EXISTS (SELECT FROM pg_index i
                   WHERE i.indrelid = mv AND i.indisunique AND i.indisvalid
                     AND i.indpred IS NULL AND i.indexprs IS NULL)
$$;
COMMENT ON FUNCTION scribe._matview_refreshable_concurrently(regclass) IS 'Internal: whether REFRESH ... CONCURRENTLY can use an index of the view: unique, on columns only, without WHERE';

-- An archive table (arc, named name by the caller) must take the owner's
-- inserts and have the columns of the table it receives, in order
CREATE OR REPLACE FUNCTION scribe._policy_check_archive_table(tbl regclass, arc regclass, name text, owner regrole)
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF arc IS NULL THEN
        RAISE EXCEPTION 'archive table "%" does not exist', name
            USING ERRCODE = 'undefined_table',
                  HINT = 'Create it with the same columns, for example CREATE TABLE x_archive (LIKE x).';
    END IF;
    PERFORM scribe._policy_permanent(arc);
    IF NOT has_table_privilege(owner, arc, 'INSERT') THEN
        RAISE EXCEPTION 'permission denied for table %', arc
            USING ERRCODE = 'insufficient_privilege',
                  HINT = format('The policy moves rows into it as its owner, %s: GRANT INSERT on it to that role.', owner);
    END IF;
    IF ARRAY(SELECT (attname, atttypid)::text FROM pg_attribute
             WHERE attrelid = tbl AND attnum > 0 AND NOT attisdropped ORDER BY attnum)
       <> ARRAY(SELECT (attname, atttypid)::text FROM pg_attribute
                WHERE attrelid = arc AND attnum > 0 AND NOT attisdropped ORDER BY attnum) THEN
        RAISE EXCEPTION 'archive table % does not have the columns of %', arc, tbl
            USING ERRCODE = 'datatype_mismatch',
                  HINT = 'Give it the same columns with the same types in the same order: CREATE TABLE ... (LIKE ...).';
    END IF;
END
$$;
COMMENT ON FUNCTION scribe._policy_check_archive_table(regclass, regclass, text, regrole) IS 'Internal: an archive table (arc, named name by the caller) must take the owner''s inserts and have the columns of the table it receives, in order';

-- A mark setting: {"column": c, "value": v} with c a column of the table
CREATE OR REPLACE FUNCTION scribe._policy_check_mark(tbl regclass, mark jsonb)
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF jsonb_typeof(mark) <> 'object' OR mark->>'column' IS NULL OR NOT mark ? 'value' THEN
        PERFORM scribe._policy_invalid('"mark" is {"column": ..., "value": ...}',
            'For example {"column": "storage_class", "value": "cold"}.');
    END IF;
    IF NOT EXISTS (SELECT FROM pg_attribute WHERE attrelid = tbl AND attname = mark->>'column'
                   AND attnum > 0 AND NOT attisdropped) THEN
        RAISE EXCEPTION 'column "%" of % does not exist', mark->>'column', tbl USING ERRCODE = 'undefined_column';
    END IF;
END
$$;
COMMENT ON FUNCTION scribe._policy_check_mark(regclass, jsonb) IS 'Internal: a mark setting: {"column": c, "value": v} with c a column of the table';

-- The settings of an archive policy on scribe.documents: age of the processed
-- documents, recompression ({"format", "mode", "quality"}), offload to S3
CREATE OR REPLACE FUNCTION scribe._policy_check_documents(s jsonb)
    RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    r jsonb := s->'recompress';
BEGIN
    PERFORM scribe._policy_check_keys('archive', s, ARRAY['older_than', 'recompress', 'offload', 'batch_size', 'pause']);
    IF s->>'older_than' IS NULL THEN
        PERFORM scribe._policy_invalid('an archive policy of scribe.documents needs "older_than": how long after its OCR finished',
            'For example ''{"older_than": "90 days", "recompress": {"format": "tiff_g4", "mode": "bw"}}''.');
    END IF;
    IF r IS NULL AND NOT COALESCE((s->>'offload')::boolean, false) THEN
        PERFORM scribe._policy_invalid('an archive policy of scribe.documents recompresses the images, offloads them, or both',
            'Give "recompress": {"format": "png", "mode": "gray"} and/or "offload": true.');
    END IF;
    IF r IS NOT NULL THEN
        IF jsonb_typeof(r) <> 'object' OR NOT COALESCE(r->>'format', 'png') IN ('png', 'tiff_g4', 'jpeg')
           OR NOT COALESCE(r->>'mode', 'gray') IN ('gray', 'bw', 'keep') THEN
            PERFORM scribe._policy_invalid('"recompress" is {"format": png, tiff_g4 or jpeg, "mode": gray, bw or keep, "quality": 1-100}',
                'tiff_g4 holds 1-bit images (mode bw); jpeg holds gray or color ones.');
        END IF;
        IF (r->>'format' = 'tiff_g4' AND COALESCE(r->>'mode', 'gray') <> 'bw')
           OR (r->>'format' = 'jpeg' AND r->>'mode' = 'bw') THEN
            PERFORM scribe._policy_invalid(format('format %s cannot hold mode %s', r->>'format', COALESCE(r->>'mode', 'gray')),
                'tiff_g4 holds 1-bit images (mode bw); jpeg holds gray or color ones.');
        END IF;
        r := jsonb_build_object('format', COALESCE(r->>'format', 'png'), 'mode', COALESCE(r->>'mode', 'gray'),
                                'quality', scribe._policy_integer(r, 'quality', 75, 1, 100));
    END IF;
    IF s ? 'offload' AND jsonb_typeof(s->'offload') <> 'boolean' THEN
        PERFORM scribe._policy_invalid('setting "offload" is true or false', NULL);
    END IF;
    IF COALESCE((s->>'offload')::boolean, false) AND COALESCE(current_setting('scribe.s3_endpoint', true), '') = '' THEN
        RAISE EXCEPTION 'offload needs S3-compatible storage, and scribe.s3_endpoint is not set'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Set scribe.s3_endpoint, scribe.s3_bucket and the credentials (superuser settings), then reload.';
    END IF;
    RETURN jsonb_strip_nulls(jsonb_build_object('column', 'finished_at',
        'older_than', scribe._policy_interval(s, 'older_than', NULL)::text,
        'recompress', r, 'offload', COALESCE((s->>'offload')::boolean, false),
        'batch_size', scribe._policy_integer(s, 'batch_size', 10, 1, 10000),
        'pause', scribe._policy_interval(s, 'pause', '100 milliseconds')::text));
END
$$;
COMMENT ON FUNCTION scribe._policy_check_documents(jsonb) IS 'Internal: the settings of an archive policy on scribe.documents: age of the processed documents, recompression ({"format", "mode", "quality"}), offload to S3';
-- pg_scribe functions: lifecycle policies, what the partitions kind
-- knows of a range-partitioned table: its partitions' bounds, new names.

-- The partitions of a range-partitioned table and their bounds, as UTC wall-clock timestamps
CREATE OR REPLACE FUNCTION scribe._partition_bounds(parent regclass,
    OUT partition regclass, OUT is_default boolean, OUT lo timestamp, OUT hi timestamp)
    RETURNS SETOF record
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    r record;
    m text[];
    keytype regtype;
BEGIN
    SELECT a.atttypid INTO keytype
    FROM pg_partitioned_table pt JOIN pg_attribute a ON a.attrelid = pt.partrelid AND a.attnum = pt.partattrs[0]
    WHERE pt.partrelid = parent;
    FOR r IN
        SELECT c.oid::regclass AS part, pg_get_expr(c.relpartbound, c.oid) AS bound
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = parent
    LOOP
        partition := r.part;
        is_default := r.bound = 'DEFAULT';
        lo := NULL; hi := NULL;
        IF NOT is_default THEN
            m := regexp_match(r.bound, '^FOR VALUES FROM \((.*)\) TO \((.*)\)$');
            IF m IS NOT NULL THEN
                lo := scribe._partition_bound_value(m[1], keytype, '-infinity');
                hi := scribe._partition_bound_value(m[2], keytype, 'infinity');
            END IF;
        END IF;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION scribe._partition_bounds(regclass) IS 'Internal: the partitions of a range-partitioned table and their bounds, as UTC wall-clock timestamps';

-- One bound of FOR VALUES as a UTC wall-clock timestamp (MINVALUE/MAXVALUE: unbounded)
CREATE OR REPLACE FUNCTION scribe._partition_bound_value(bound text, keytype regtype, unbounded timestamp)
    RETURNS timestamp
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    literal text := substring(bound FROM '^''(.*)''$');
BEGIN
    IF bound IN ('MINVALUE', 'MAXVALUE') OR literal IS NULL THEN
        RETURN unbounded;
    ELSIF keytype = 'timestamptz'::regtype THEN
        RETURN literal::timestamptz AT TIME ZONE 'UTC';
    ELSE
        RETURN literal::timestamp;
    END IF;
END
$$;
COMMENT ON FUNCTION scribe._partition_bound_value(text, regtype, timestamp) IS 'Internal: one bound of FOR VALUES as a UTC wall-clock timestamp (MINVALUE/MAXVALUE: unbounded)';

-- A UTC wall-clock timestamp as a literal of a partition key's type
CREATE OR REPLACE FUNCTION scribe._partition_literal(t timestamp, keytype regtype)
    RETURNS text
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT quote_literal(CASE keytype
        WHEN 'timestamptz'::regtype THEN to_char(t, 'YYYY-MM-DD HH24:MI:SS') || '+00'
        WHEN 'date'::regtype THEN to_char(t, 'YYYY-MM-DD')
        ELSE to_char(t, 'YYYY-MM-DD HH24:MI:SS') END)
$$;
COMMENT ON FUNCTION scribe._partition_literal(timestamp, regtype) IS 'Internal: a UTC wall-clock timestamp as a literal of a partition key''s type';

-- The name of a new partition of parent starting at lo: parent_pYYYYMMDD in
-- parent's schema, or with _2, _3... when a table (a detached partition, say)
-- has that name
CREATE OR REPLACE FUNCTION scribe._partition_name(parent regclass, lo timestamp)
    RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    schema name;
    base text;
    candidate text;
BEGIN
    SELECT n.nspname, left(c.relname, 63 - 14) || '_p' || to_char(lo, 'YYYYMMDD') INTO schema, base
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = parent;
    candidate := base;
    FOR i IN 2 .. 1000 LOOP
        EXIT WHEN to_regclass(format('%I.%I', schema, candidate)) IS NULL;
        candidate := base || '_' || i;
    END LOOP;
    RETURN format('%I.%I', schema, candidate);
END
$$;
COMMENT ON FUNCTION scribe._partition_name(regclass, timestamp) IS 'Internal: the name of a new partition of parent starting at lo: parent_pYYYYMMDD in parent''s schema, or with _2, _3... when a table (a detached partition, say) has that name';

-- The periods (UTC wall-clock starts) of the rows in parent's default
-- partition, read as owner (as epoch seconds: numbers, whatever the
-- owner's DateStyle)
CREATE OR REPLACE FUNCTION scribe._partition_default_periods(parent regclass, unit text, owner regrole)
    RETURNS SETOF timestamp
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    part regclass := (SELECT x.partition FROM scribe._partition_bounds(parent) x WHERE x.is_default);
    keycol text;
    keytype regtype;
    starts text;
BEGIN
    IF part IS NULL THEN
        RETURN;
    END IF;
    SELECT a.attname, a.atttypid INTO keycol, keytype
    FROM pg_partitioned_table pt JOIN pg_attribute a ON a.attrelid = pt.partrelid AND a.attnum = pt.partattrs[0]
    WHERE pt.partrelid = parent;
    starts := (scribe._run_as(owner, format(
        'SELECT pg_catalog.array_agg(DISTINCT EXTRACT(epoch FROM pg_catalog.date_trunc(%L, %s))) FROM %s WHERE %I IS NOT NULL',
        unit, CASE WHEN keytype = 'timestamptz'::regtype THEN format('%I AT TIME ZONE ''UTC''', keycol)
                   ELSE format('%I::pg_catalog.timestamp', keycol) END, part, keycol))).value;
    RETURN QUERY SELECT to_timestamp(e::double precision) AT TIME ZONE 'UTC' FROM unnest(starts::numeric[]) e;
END
$$;
COMMENT ON FUNCTION scribe._partition_default_periods(regclass, text, regrole) IS 'Internal: the periods (UTC wall-clock starts) of the rows in parent''s default partition, read as owner';
-- pg_scribe functions: lifecycle policies, runs: the plan of a run,
-- its actions one job at a time, and the launcher's scheduling.

-- The target of a relation's policy as it is now, checked before anything
-- touches it: it still exists, is still the kind of relation the policy acts
-- on (a table made a view with CREATE RULE "_RETURN" is not read), and still
-- belongs to the policy's owner; else ERROR, which fails the run at once
CREATE OR REPLACE FUNCTION scribe._policy_target(p scribe.policies)
    RETURNS regclass
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    tbl regclass := to_regclass(p.target);
    rel record;
    wanted "char"[] := CASE p.kind WHEN 'partitions' THEN '{p}' WHEN 'refresh' THEN '{m}' ELSE '{r,p}' END;
    wanted_name text := CASE p.kind WHEN 'partitions' THEN 'a partitioned table'
                                    WHEN 'refresh' THEN 'a materialized view' ELSE 'a table' END;
BEGIN
    IF tbl IS NULL THEN
        RAISE EXCEPTION 'the target % of policy "%" no longer exists', p.target, p.name
            USING ERRCODE = 'undefined_table',
                  HINT = 'Drop the policy, or recreate the target under that name.';
    END IF;
    SELECT c.relkind, c.relowner INTO rel FROM pg_class c WHERE c.oid = tbl;
    IF NOT rel.relkind = ANY (wanted) THEN
        RAISE EXCEPTION 'the target % of policy "%" is %, not %', tbl, p.name,
                CASE rel.relkind WHEN 'r' THEN 'a table' WHEN 'p' THEN 'a partitioned table' WHEN 'v' THEN 'a view'
                                 WHEN 'm' THEN 'a materialized view' WHEN 'f' THEN 'a foreign table'
                                 ELSE format('a relation of kind "%s"', rel.relkind) END,
                wanted_name
            USING ERRCODE = 'wrong_object_type',
                  HINT = format('A policy acts only on the kind of relation it was made for: drop it (scribe.policy_drop(%L)), or make %s %s again.',
                                p.name, tbl, wanted_name);
    END IF;
    IF rel.relowner <> p.owner THEN
        RAISE EXCEPTION 'the target % of policy "%" belongs to %, not to the policy''s owner %', tbl, p.name,
                rel.relowner::regrole, p.owner
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'A policy runs as its target''s owner: drop it and create it again for the new owner.';
    END IF;
    RETURN tbl;
END
$$;
COMMENT ON FUNCTION scribe._policy_target(scribe.policies) IS 'Internal: the target of a relation''s policy as it is now: ERROR (before anything touches it) unless it still exists, is still the kind of relation the policy acts on, and still belongs to the policy''s owner';

-- The condition (on alias x) of the rows of a purge, archive or orphans
-- policy's target that a run with this cutoff reaches; the parent of an
-- orphans policy must still exist
CREATE OR REPLACE FUNCTION scribe._policy_condition(p scribe.policies, cutoff text)
    RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    s jsonb := p.settings;
    parent regclass;
BEGIN
    IF p.kind = 'orphans' THEN
        parent := to_regclass(s->>'parent');
        IF parent IS NULL THEN
            RAISE EXCEPTION 'the parent % of policy "%" no longer exists', s->>'parent', p.name
                USING ERRCODE = 'undefined_table',
                      HINT = format('Recreate it, or name another: scribe.policy_alter(%L, settings => ''{"parent": ...}'').', p.name);
        END IF;
        RETURN format('x.%I IS NOT NULL AND NOT EXISTS (SELECT 1 FROM %s r WHERE r.%I = x.%I)',
                      s->>'column', parent, s->>'parent_column', s->>'column');
    END IF;
    -- the built-in comparison (the column was a date or timestamp at creation)
    RETURN format('x.%I OPERATOR(pg_catalog.<) %L', s->>'column', cutoff)
        || CASE WHEN s->'mark' IS NOT NULL
                THEN format(' AND x.%I IS DISTINCT FROM %L', s->'mark'->>'column', s->'mark'->>'value') ELSE '' END;
END
$$;
COMMENT ON FUNCTION scribe._policy_condition(scribe.policies, text) IS 'Internal: the condition (on alias x) of the rows of a purge, archive or orphans policy''s target that a run with this cutoff reaches';

-- What a run of a policy does, in order, at its clock: a jsonb array of actions
CREATE OR REPLACE FUNCTION scribe._policy_plan(p scribe.policies, clock timestamptz)
    RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    s jsonb := p.settings;
    tbl regclass;
    width interval;
    first timestamp;
    period_start timestamp;
    b record;
    actions jsonb := '[]';
BEGIN
    IF p.kind = 'sql' THEN
        RETURN jsonb_build_array(jsonb_build_object('action', 'call'));
    END IF;
    tbl := scribe._policy_target(p);
    CASE p.kind
    WHEN 'partitions' THEN
        width := scribe._partition_width(s->>'interval');
        first := date_trunc(s->>'interval', clock AT TIME ZONE 'UTC');
        -- the periods of rows that fell into the default partition, the
        -- current one and the premade ones, where nothing covers them yet
        FOR period_start IN
            SELECT t FROM scribe._partition_default_periods(tbl, s->>'interval', p.owner) t WHERE t < first
            UNION ALL
            SELECT first + k * width FROM generate_series(0, (s->>'premake')::integer) k
            ORDER BY 1
        LOOP
            IF NOT EXISTS (SELECT FROM scribe._partition_bounds(tbl) x
                           WHERE NOT x.is_default AND x.lo < period_start + width AND x.hi > period_start) THEN
                actions := actions || jsonb_build_object('action', 'create_partition',
                    'partition', scribe._partition_name(tbl, period_start),
                    'from', period_start, 'to', period_start + width);
            END IF;
        END LOOP;
        -- then, one at a time, the partitions wholly older than the retention,
        -- those this run makes included
        IF s->>'retention' IS NOT NULL THEN
            FOR b IN SELECT name FROM (
                         SELECT x.partition::text AS name, x.lo, x.hi FROM scribe._partition_bounds(tbl) x
                         WHERE NOT x.is_default
                         UNION ALL
                         SELECT a->>'partition', (a->>'from')::timestamp, (a->>'to')::timestamp
                         FROM jsonb_array_elements(actions) a) c
                     WHERE c.hi <= (clock - (s->>'retention')::interval) AT TIME ZONE 'UTC'
                     ORDER BY c.lo LOOP
                actions := actions || jsonb_build_object('action', (s->>'retention_mode') || '_partition',
                    'partition', b.name);
            END LOOP;
        END IF;
        RETURN actions;
    WHEN 'refresh' THEN
        RETURN jsonb_build_array(jsonb_build_object('action', 'refresh'));
    ELSE
        -- purge, archive, orphans: batches until none is left
        RETURN jsonb_build_array(jsonb_strip_nulls(jsonb_build_object('action', p.kind,
            'cutoff', clock - (s->>'older_than')::interval)));
    END CASE;
END
$$;
COMMENT ON FUNCTION scribe._policy_plan(scribe.policies, timestamptz) IS 'Internal: what a run of a policy does, in order, at its clock: a jsonb array of actions';

-- The condition picking one batch of rows of tbl (a leaf table) that match cond, locking them
CREATE OR REPLACE FUNCTION scribe._policy_batch(tbl regclass, cond text, batch integer)
    RETURNS text
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT format('ctid = ANY (ARRAY(SELECT x.ctid FROM ONLY %s x WHERE %s LIMIT %s FOR UPDATE OF x SKIP LOCKED))',
                  tbl, cond, batch)
$$;
COMMENT ON FUNCTION scribe._policy_batch(regclass, text, integer) IS 'Internal: the condition picking one batch of rows of tbl (a leaf table) that match cond, locking them';

-- The leaf table of tbl holding a row that matches cond (tbl itself if it
-- is not partitioned), or NULL; the rows read as owner
CREATE OR REPLACE FUNCTION scribe._policy_leaf(tbl regclass, cond text, owner regrole)
    RETURNS regclass
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF (SELECT relkind FROM pg_class WHERE oid = tbl) <> 'p' THEN
        RETURN tbl;
    END IF;
    RETURN (scribe._run_as(owner, format('SELECT x.tableoid FROM %s x WHERE %s LIMIT 1', tbl, cond))).value::oid::regclass;
END
$$;
COMMENT ON FUNCTION scribe._policy_leaf(regclass, text, regrole) IS 'Internal: the leaf table of tbl holding a row that matches cond (tbl itself if it is not partitioned), or NULL; the rows read as owner';

-- Do one action of a run as the policy's owner; again: the same action has more to do
CREATE OR REPLACE FUNCTION scribe._policy_act(p scribe.policies, action jsonb,
    OUT rows bigint, OUT partitions integer, OUT bytes bigint, OUT again boolean)
    RETURNS record
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    s jsonb := p.settings;
    -- the target as it is now, checked before each action
    tbl regclass := CASE WHEN p.kind <> 'sql' THEN scribe._policy_target(p) END;
    part regclass;
    leaf regclass;
    arc regclass;
    proc regprocedure;
    keycol text;
    keytype regtype;
    cond text;
    cols text;
    sql text;
    lock_ms integer := COALESCE(extract(epoch FROM (s->>'lock_timeout')::interval) * 1000, 0)::integer;
    batch integer := (s->>'batch_size')::integer;
BEGIN
    rows := 0; partitions := 0; bytes := 0; again := false;
    -- deferred constraints and triggers fire at the end of each statement, as
    -- the owner: at the worker's commit they would fire as someone else (and a
    -- security-restricted operation refuses to leave them pending); the
    -- action's job has its transaction to itself, so this setting ends with it
    PERFORM scribe._run_as(p.owner, 'SET CONSTRAINTS ALL IMMEDIATE');
    CASE action->>'action'
    WHEN 'create_partition' THEN
        SELECT a.attname, a.atttypid INTO keycol, keytype
        FROM pg_partitioned_table pt JOIN pg_attribute a ON a.attrelid = pt.partrelid AND a.attnum = pt.partattrs[0]
        WHERE pt.partrelid = tbl;
        cols := (SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute
                 WHERE attrelid = tbl AND attnum > 0 AND NOT attisdropped);
        -- made apart, then attached: ATTACH locks the parent against writers of
        -- its partitioning only, never against readers
        PERFORM scribe._run_as(p.owner,
            format('CREATE TABLE %s (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMMENTS)',
                   action->>'partition', tbl), lock_ms);
        part := (SELECT x.partition FROM scribe._partition_bounds(tbl) x WHERE x.is_default);
        IF part IS NOT NULL THEN
            -- the default partition is kept empty: its rows of the new range move into it
            rows := (scribe._run_as(p.owner, format(
                'WITH moved AS (DELETE FROM %s WHERE %I >= %s AND %I < %s RETURNING %s) INSERT INTO %s (%s) SELECT %s FROM moved',
                part, keycol, scribe._partition_literal((action->>'from')::timestamp, keytype),
                keycol, scribe._partition_literal((action->>'to')::timestamp, keytype), cols,
                action->>'partition', cols, cols), lock_ms)).rows;
        END IF;
        PERFORM scribe._run_as(p.owner, format('ALTER TABLE %s ATTACH PARTITION %s FOR VALUES FROM (%s) TO (%s)', tbl,
            action->>'partition', scribe._partition_literal((action->>'from')::timestamp, keytype),
            scribe._partition_literal((action->>'to')::timestamp, keytype)), lock_ms);
        partitions := 1;
    WHEN 'detach_partition', 'drop_partition', 'archive_partition' THEN
        part := to_regclass(action->>'partition');
        IF part IS NOT NULL THEN
            bytes := pg_total_relation_size(part);
            sql := format('ALTER TABLE %s DETACH PARTITION %s', tbl, part);
            IF action->>'action' = 'drop_partition' THEN
                sql := sql || format('; DROP TABLE %s', part);
            ELSIF action->>'action' = 'archive_partition' THEN
                sql := sql || format('; ALTER TABLE %s SET SCHEMA %I', part, s->>'archive_schema');
            END IF;
            PERFORM scribe._run_as(p.owner, sql, lock_ms);
            partitions := 1;
        END IF;
    WHEN 'archive' THEN
        IF tbl = 'scribe.documents'::regclass THEN
            SELECT a.rows, a.bytes INTO rows, bytes FROM scribe._archive_documents(s, (action->>'cutoff')::timestamptz) a;
            again := rows > 0;
            RETURN;
        END IF;
        cond := scribe._policy_condition(p, action->>'cutoff');
        leaf := scribe._policy_leaf(tbl, cond, p.owner);
        IF leaf IS NOT NULL THEN
            IF s->'mark' IS NOT NULL THEN
                sql := format('UPDATE %s SET %I = %L WHERE %s', leaf, s->'mark'->>'column', s->'mark'->>'value',
                              scribe._policy_batch(leaf, cond, batch));
            ELSE
                arc := to_regclass(s->>'archive_table');
                IF arc IS NULL THEN
                    RAISE EXCEPTION 'the archive table % of policy "%" no longer exists', s->>'archive_table', p.name
                        USING ERRCODE = 'undefined_table',
                              HINT = format('Recreate it, or name another: scribe.policy_alter(%L, settings => ''{"archive_table": ...}'').', p.name);
                END IF;
                cols := (SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute
                         WHERE attrelid = tbl AND attnum > 0 AND NOT attisdropped);
                sql := format('WITH moved AS (DELETE FROM %s WHERE %s RETURNING %s) INSERT INTO %s (%s) SELECT %s FROM moved',
                              leaf, scribe._policy_batch(leaf, cond, batch), cols, arc, cols, cols);
            END IF;
            rows := (scribe._run_as(p.owner, sql, 0)).rows;
            again := rows > 0;
        END IF;
    WHEN 'purge', 'orphans' THEN
        -- a batch of the rows too old, or of those whose parent is gone
        cond := scribe._policy_condition(p, action->>'cutoff');
        leaf := scribe._policy_leaf(tbl, cond, p.owner);
        IF leaf IS NOT NULL THEN
            rows := (scribe._run_as(p.owner,
                format('DELETE FROM %s WHERE %s', leaf, scribe._policy_batch(leaf, cond, batch)), 0)).rows;
            again := rows > 0;
        END IF;
    WHEN 'refresh' THEN
        PERFORM scribe._run_as(p.owner, format('REFRESH MATERIALIZED VIEW %s%s',
            CASE WHEN (s->>'concurrently')::boolean AND (SELECT relispopulated FROM pg_class WHERE oid = tbl)
                 THEN 'CONCURRENTLY ' ELSE '' END, tbl), lock_ms);
        bytes := pg_total_relation_size(tbl);
    WHEN 'call' THEN
        proc := to_regprocedure(s->>'procedure');
        IF proc IS NULL THEN
            RAISE EXCEPTION 'the procedure % of policy "%" no longer exists', s->>'procedure', p.name
                USING ERRCODE = 'undefined_function',
                      HINT = 'Drop the policy, or recreate the procedure under that name.';
        END IF;
        SELECT format('CALL %I.%I(%s)', n.nspname, f.proname,
                      CASE WHEN f.pronargs = 1
                           THEN quote_literal(COALESCE(s->'args', '{}'::jsonb)::text) || '::pg_catalog.jsonb' ELSE '' END)
        INTO sql FROM pg_proc f JOIN pg_namespace n ON n.oid = f.pronamespace WHERE f.oid = proc;
        PERFORM scribe._run_as(p.owner, sql, 0);
    ELSE
        RAISE EXCEPTION 'unknown policy action %', action->>'action';
    END CASE;
END
$$;
COMMENT ON FUNCTION scribe._policy_act(scribe.policies, jsonb) IS 'Internal: do one action of a run as the policy''s owner; again: the same action has more to do';

-- Archive a batch of processed documents: recompress each image (keeping
-- the smaller), move it to S3 when asked; how many and the bytes saved
CREATE OR REPLACE FUNCTION scribe._archive_documents(s jsonb, cutoff timestamptz, OUT rows bigint, OUT bytes bigint)
    RETURNS record
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    d record;
    img bytea;
    fmt text;
    key text;
    r jsonb := s->'recompress';
BEGIN
    rows := 0; bytes := 0;
    FOR d IN SELECT document_id, image, image_format FROM scribe.documents
             WHERE status = 'done' AND archived_at IS NULL AND image_location = 'inline' AND finished_at < cutoff
             ORDER BY document_id LIMIT (s->>'batch_size')::integer
             FOR UPDATE SKIP LOCKED LOOP
        img := d.image;
        fmt := d.image_format;
        -- a PDF is kept as it is: its pages are not images to re-encode
        IF r IS NOT NULL AND d.image_format <> 'pdf' THEN
            img := scribe.image_recompress(d.image, r->>'format', r->>'mode', (r->>'quality')::integer);
            fmt := CASE r->>'format' WHEN 'tiff_g4' THEN 'tiff' ELSE r->>'format' END;
            IF octet_length(img) >= octet_length(d.image) THEN
                img := d.image;
                fmt := d.image_format;
            END IF;
        END IF;
        IF (s->>'offload')::boolean THEN
            key := format('documents/%s.%s', d.document_id, fmt);
            PERFORM scribe._s3_put(key, img, CASE fmt WHEN 'pdf' THEN 'application/pdf' ELSE 'image/' || fmt END);
            UPDATE scribe.documents SET image = NULL, image_location = 's3', image_key = key, image_format = fmt,
                   image_bytes = octet_length(img), archived_at = clock_timestamp(),
                   bytes_saved = octet_length(d.image)
            WHERE document_id = d.document_id;
            bytes := bytes + octet_length(d.image);
        ELSE
            UPDATE scribe.documents SET image = img, image_format = fmt, image_bytes = octet_length(img),
                   archived_at = clock_timestamp(), bytes_saved = octet_length(d.image) - octet_length(img)
            WHERE document_id = d.document_id;
            bytes := bytes + octet_length(d.image) - octet_length(img);
        END IF;
        rows := rows + 1;
    END LOOP;
END
$$;
COMMENT ON FUNCTION scribe._archive_documents(jsonb, timestamptz) IS 'Internal: archive a batch of processed documents: recompress each image (keeping the smaller), move it to S3 when asked; how many and the bytes saved';

-- Run the next action of a run (a job of kind policy); queues the one after, or finishes the run
CREATE OR REPLACE FUNCTION scribe._policy_step(run_id bigint)
    RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    r scribe.policy_runs;
    p scribe.policies;
    action jsonb;
    res record;
    last jsonb;
    pause interval := '0';
BEGIN
    SELECT * INTO r FROM scribe.policy_runs WHERE policy_runs.run_id = _policy_step.run_id FOR UPDATE;
    IF NOT FOUND OR r.status IN ('succeeded', 'failed') THEN
        RETURN jsonb_build_object('run_id', _policy_step.run_id, 'skipped', 'the run is over or its policy was dropped');
    END IF;
    SELECT * INTO p FROM scribe.policies WHERE policy_id = r.policy_id;
    IF r.plan IS NULL THEN
        r.plan := scribe._policy_plan(p, r.clock);
        r.status := 'running';
        r.started_at := clock_timestamp();
    END IF;

    IF jsonb_array_length(r.plan) > 0 THEN
        action := r.plan->0;
        res := scribe._policy_act(p, action);
        r.actions := r.actions + 1;
        r.rows := r.rows + res.rows;
        r.partitions := r.partitions + res.partitions;
        r.bytes := r.bytes + res.bytes;
        -- what changed: an entry per action, the batches of one action added up
        last := r.done->-1;
        IF last->>'action' = action->>'action' AND NOT action ? 'partition' THEN
            r.done := (r.done - (-1)) || jsonb_set(last, '{rows}',
                to_jsonb(COALESCE((last->>'rows')::bigint, 0) + res.rows));
        ELSE
            r.done := r.done || (action || jsonb_strip_nulls(jsonb_build_object(
                'rows', NULLIF(res.rows, 0), 'bytes', NULLIF(res.bytes, 0))));
        END IF;
        IF res.again THEN
            pause := COALESCE((p.settings->>'pause')::interval, '0');
        ELSE
            r.plan := r.plan - 0;
        END IF;
    END IF;

    r.error := NULL;
    IF jsonb_array_length(r.plan) = 0 THEN
        r.status := 'succeeded';
        r.finished_at := clock_timestamp();
    ELSE
        -- the pause runs from the end of this batch's work, not from its transaction's start
        r.job_id := scribe.send('lifecycle', jsonb_build_object('run_id', r.run_id), kind => 'policy',
                                run_at => CASE WHEN pause > '0' THEN clock_timestamp() + pause END);
    END IF;
    UPDATE scribe.policy_runs SET status = r.status, started_at = r.started_at, finished_at = r.finished_at,
           job_id = r.job_id, plan = r.plan, actions = r.actions, rows = r.rows, partitions = r.partitions,
           bytes = r.bytes, done = r.done, error = r.error
    WHERE policy_runs.run_id = r.run_id;
    RETURN jsonb_build_object('run_id', r.run_id, 'action', action->>'action', 'rows', res.rows,
                              'remaining', jsonb_array_length(r.plan));
END
$$;
COMMENT ON FUNCTION scribe._policy_step(bigint) IS 'Internal: run the next action of a run (a job of kind policy); queues the one after, or finishes the run';

-- Record a failed attempt at a run's action; final: the run failed
CREATE OR REPLACE FUNCTION scribe._policy_failed(run_id bigint, error text, final boolean)
    RETURNS void
    LANGUAGE sql
    SET search_path = pg_catalog, pg_temp
    AS $$
    UPDATE scribe.policy_runs SET attempts = attempts + 1, error = _policy_failed.error,
           status = CASE WHEN final THEN 'failed' ELSE status END,
           finished_at = CASE WHEN final THEN clock_timestamp() END
    WHERE policy_runs.run_id = _policy_failed.run_id
$$;
COMMENT ON FUNCTION scribe._policy_failed(bigint, text, boolean) IS 'Internal: record a failed attempt at a run''s action; final: the run failed';

-- Start a run of a (locked) policy unless one is under way; its run id, or NULL
CREATE OR REPLACE FUNCTION scribe._policy_enqueue(p scribe.policies)
    RETURNS bigint
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    rid bigint;
BEGIN
    IF EXISTS (SELECT FROM scribe.policy_runs r WHERE r.policy_id = p.policy_id AND r.status IN ('queued', 'running')) THEN
        RETURN NULL;
    END IF;
    INSERT INTO scribe.policy_runs (policy_id, clock) VALUES (p.policy_id, scribe._policy_clock())
    RETURNING run_id INTO rid;
    UPDATE scribe.policy_runs SET job_id = scribe.send('lifecycle', jsonb_build_object('run_id', rid), kind => 'policy')
    WHERE run_id = rid;
    RETURN rid;
END
$$;
COMMENT ON FUNCTION scribe._policy_enqueue(scribe.policies) IS 'Internal: start a run of a (locked) policy unless one is under way; its run id, or NULL';

-- The launcher's task: start the runs of the due policies; when the next one is due
CREATE OR REPLACE FUNCTION scribe._schedule_policies()
    RETURNS timestamptz
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    p scribe.policies;
BEGIN
    -- a run whose job ended without finishing it (dead-lettered after crashes, purged) failed
    UPDATE scribe.policy_runs r SET status = 'failed', finished_at = clock_timestamp(),
           error = COALESCE(r.error, 'its job ended without finishing the run')
    WHERE r.status IN ('queued', 'running') AND NOT coalesce((scribe._job_state(r.job_id)).unfinished, false);

    FOR p IN SELECT * FROM scribe.policies
             WHERE enabled AND (next_run_at IS NULL OR next_run_at <= now())
             ORDER BY next_run_at NULLS FIRST
             FOR UPDATE SKIP LOCKED LOOP
        BEGIN
            PERFORM scribe._policy_enqueue(p);
            UPDATE scribe.policies SET next_run_at = scribe._schedule_next(p.schedule, now())
            WHERE policy_id = p.policy_id;
        EXCEPTION WHEN OTHERS THEN
            -- a bad policy never stops the others, nor the launcher
            RAISE WARNING 'pg_scribe: policy "%" skipped: %', p.name, SQLERRM
                USING HINT = 'Fix it with scribe.policy_alter() or disable it; the launcher tries again in 5 minutes.';
            UPDATE scribe.policies SET next_run_at = now() + interval '5 minutes' WHERE policy_id = p.policy_id;
        END;
    END LOOP;
    RETURN (SELECT min(next_run_at) FROM scribe.policies WHERE enabled);
END
$$;
COMMENT ON FUNCTION scribe._schedule_policies() IS 'Internal: the launcher''s task: start the runs of the due policies; when the next one is due';
-- pg_scribe functions: lifecycle policies, the API, the status view
-- and the built-in policy that prunes the history.

-- The policy named name, locked, if caller may manage it (alter, drop, run,
-- dry-run): a member of its owner, or a superuser; else ERROR.  The owner of
-- a relation's policy is the relation's owner, whoever made the policy: the
-- policy can do nothing to it that its owner could not, so its owner's
-- members manage it.  The owner of a sql policy is the role that made it.
CREATE OR REPLACE FUNCTION scribe._policy_managed(caller regrole, name text)
    RETURNS scribe.policies
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    p scribe.policies;
BEGIN
    SELECT * INTO p FROM scribe.policies WHERE policies.name = _policy_managed.name FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'policy "%" does not exist', name
            USING ERRCODE = 'undefined_object',
                  HINT = 'See the policies in scribe.policy_status().';
    END IF;
    IF NOT pg_has_role(caller, p.owner, 'USAGE') THEN
        RAISE EXCEPTION 'must be a member of % to change policy "%"', p.owner, name
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'A policy is managed by its owner (the owner of its target) and the owner''s members.';
    END IF;
    RETURN p;
END
$$;
COMMENT ON FUNCTION scribe._policy_managed(regrole, text) IS 'Internal: the policy named name, locked, if caller may manage it (a member of its owner, which is its target''s owner, or a superuser); else ERROR';

-- scribe.policy_create for caller (called by the C function, as the
-- bootstrap superuser): target is the name the caller gave, target_rel (or
-- for kind sql target_proc), parent, archive_table and archive_schema what
-- the C function found for the names, looking them up as the caller.  The
-- owner is the target's owner (the caller must be its member), for sql the
-- caller.
CREATE OR REPLACE FUNCTION scribe._create_policy(caller regrole, name text, kind text, target text, settings jsonb,
                                      schedule text, enabled boolean, target_rel regclass, target_proc regprocedure,
                                      parent regclass, archive_table regclass, archive_schema regnamespace)
    RETURNS scribe.policies
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    p scribe.policies;
    policy_owner regrole := CASE WHEN kind = 'sql' THEN caller
                                 ELSE (SELECT c.relowner FROM pg_class c WHERE c.oid = target_rel)::regrole END;
BEGIN
    IF name IS NULL OR schedule IS NULL OR enabled IS NULL THEN
        RAISE EXCEPTION 'a policy needs a name, a schedule and whether it is enabled'
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Give each of them, or leave them out for their defaults.';
    END IF;
    IF EXISTS (SELECT FROM scribe.policies WHERE policies.name = _create_policy.name) THEN
        RAISE EXCEPTION 'policy "%" already exists', name
            USING ERRCODE = 'duplicate_object',
                  HINT = 'Change it with scribe.policy_alter().';
    END IF;
    p.settings := scribe._policy_check(kind, target, target_rel, target_proc, settings, caller, policy_owner,
                                       parent, archive_table, archive_schema);
    p.target := CASE WHEN kind = 'sql' THEN p.settings->>'procedure' ELSE target_rel::text END;
    -- the schedule is checked here; an interval starts at once, cron at its next time
    p.next_run_at := scribe._schedule_next(schedule, now());
    IF NOT scribe._schedule_is_cron(schedule) THEN
        p.next_run_at := now();
    END IF;
    INSERT INTO scribe.policies (name, kind, target, settings, schedule, enabled, owner, next_run_at)
    VALUES (name, kind, p.target, p.settings, btrim(schedule), enabled, policy_owner, p.next_run_at)
    RETURNING * INTO p;
    PERFORM scribe._policies_changed();
    RETURN p;
END
$$;
COMMENT ON FUNCTION scribe._create_policy(regrole, text, text, text, jsonb, text, boolean, regclass, regprocedure, regclass, regclass, regnamespace) IS 'Internal: scribe.policy_create for caller (called by the C function, as the bootstrap superuser), with the OIDs the C function found for the names the caller gave; the owner is the target''s owner, for sql the caller';

-- scribe.policy_alter for caller; NULL leaves a setting as it is.  parent,
-- archive_table and archive_schema: what the C function found for the names
-- the new settings give, looking them up as the caller; the names they do
-- not give are the ones stored, schema-qualified.
CREATE OR REPLACE FUNCTION scribe._alter_policy(caller regrole, name text, settings jsonb, schedule text, enabled boolean,
                                     parent regclass, archive_table regclass, archive_schema regnamespace)
    RETURNS scribe.policies
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    p scribe.policies := scribe._policy_managed(caller, name);
BEGIN
    IF settings IS NOT NULL THEN
        IF NOT settings ? 'parent' THEN
            parent := to_regclass(p.settings->>'parent');
        END IF;
        IF NOT settings ? 'archive_table' THEN
            archive_table := to_regclass(p.settings->>'archive_table');
        END IF;
        IF NOT settings ? 'archive_schema' THEN
            archive_schema := (SELECT n.oid FROM pg_namespace n WHERE n.nspname = p.settings->>'archive_schema');
        END IF;
        -- the settings given replace those of the same name (null removes one), and
        -- all are checked again, against the target as it is now
        p.settings := scribe._policy_check(p.kind, p.target,
            CASE WHEN p.kind <> 'sql' THEN to_regclass(p.target) END,
            CASE WHEN p.kind = 'sql' THEN to_regprocedure(p.settings->>'procedure') END,
            jsonb_strip_nulls((p.settings - 'procedure') || settings), caller, p.owner,
            parent, archive_table, archive_schema);
    END IF;
    IF schedule IS NOT NULL THEN
        p.next_run_at := scribe._schedule_next(schedule, now());
        p.schedule := btrim(schedule);
    END IF;
    p.enabled := COALESCE(enabled, p.enabled);
    UPDATE scribe.policies SET settings = p.settings, schedule = p.schedule, enabled = p.enabled,
           next_run_at = p.next_run_at
    WHERE policy_id = p.policy_id
    RETURNING * INTO p;
    PERFORM scribe._policies_changed();
    RETURN p;
END
$$;
COMMENT ON FUNCTION scribe._alter_policy(regrole, text, jsonb, text, boolean, regclass, regclass, regnamespace) IS 'Internal: scribe.policy_alter for caller; NULL leaves a setting as it is; the OIDs the C function found for the names the new settings give';

-- scribe.policy_drop for caller: the policy and its history
CREATE OR REPLACE FUNCTION scribe._drop_policy(caller regrole, name text)
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    p scribe.policies := scribe._policy_managed(caller, name);
BEGIN
    IF p.name IN ('scribe.history', 'scribe.cache_events') THEN
        RAISE EXCEPTION 'policy "%" is built in', p.name USING ERRCODE = 'feature_not_supported',
            HINT = format('Change it with scribe.policy_alter(%L, ...), or disable it.', p.name);
    END IF;
    DELETE FROM scribe.policies WHERE policy_id = p.policy_id;
END
$$;
COMMENT ON FUNCTION scribe._drop_policy(regrole, text) IS 'Internal: scribe.policy_drop for caller: the policy and its history';

-- scribe.policy_run for caller: start a run now, or (dry run) report what it would do
CREATE OR REPLACE FUNCTION scribe._run_policy_now(caller regrole, name text, dry_run boolean)
    RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    p scribe.policies := scribe._policy_managed(caller, name);
    clock timestamptz := scribe._policy_clock();
    actions jsonb;
    tbl regclass;
    n bigint;
    rid bigint;
BEGIN
    IF NOT COALESCE(dry_run, false) THEN
        rid := scribe._policy_enqueue(p);
        IF rid IS NULL THEN
            RETURN jsonb_build_object('policy', p.name, 'already_running', true,
                'run_id', (SELECT max(run_id) FROM scribe.policy_runs r
                           WHERE r.policy_id = p.policy_id AND r.status IN ('queued', 'running')));
        END IF;
        RETURN jsonb_build_object('policy', p.name, 'run_id', rid);
    END IF;

    -- the plan checks the target as it is now (its kind, its owner)
    actions := scribe._policy_plan(p, clock);
    tbl := CASE WHEN p.kind <> 'sql' THEN scribe._policy_target(p) END;
    -- batch kinds: how many rows the run would reach now
    IF p.kind = 'archive' AND tbl = 'scribe.documents'::regclass THEN
        SELECT count(*) INTO n FROM scribe.documents d
        WHERE d.status = 'done' AND d.archived_at IS NULL AND d.image_location = 'inline'
          AND d.finished_at < (actions->0->>'cutoff')::timestamptz;
        actions := jsonb_set(actions, '{0,rows}', to_jsonb(n));
    ELSIF p.kind IN ('purge', 'archive', 'orphans') THEN
        -- counted as the owner: the owner's views (an orphans policy's
        -- parent) run their code as the owner, whoever asks
        n := (scribe._run_as(p.owner, format('SELECT pg_catalog.count(*) FROM %s x WHERE %s', tbl,
                                             scribe._policy_condition(p, actions->0->>'cutoff')))).value::bigint;
        actions := jsonb_set(actions, '{0,rows}', to_jsonb(n));
    END IF;
    RETURN jsonb_build_object('policy', p.name, 'dry_run', true, 'clock', clock, 'actions', actions);
END
$$;
COMMENT ON FUNCTION scribe._run_policy_now(regrole, text, boolean) IS 'Internal: scribe.policy_run for caller: start a run now, or (dry run) report what it would do';

-- What needs a DBA's eye about a policy, or NULL: too few partitions ahead, a
-- default partition holding rows, failures in a row, no success for too long
CREATE OR REPLACE FUNCTION scribe._policy_alert(policy_id bigint, last_success timestamptz, failures bigint)
    RETURNS text
    LANGUAGE plpgsql STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    -- the policy as stored (its target schema-qualified), never a row of the caller's
    p scribe.policies;
    reasons text[] := '{}';
    tbl regclass;
    ahead integer;
    stray bigint;
    period interval;
BEGIN
    SELECT * INTO p FROM scribe.policies WHERE policies.policy_id = _policy_alert.policy_id;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF p.kind = 'partitions' AND to_regclass(p.target) IS NOT NULL THEN
        tbl := to_regclass(p.target);
        SELECT count(*) INTO ahead FROM scribe._partition_bounds(tbl) x
        WHERE NOT x.is_default AND x.lo >= date_trunc(p.settings->>'interval', scribe._policy_clock() AT TIME ZONE 'UTC')
                                            + scribe._partition_width(p.settings->>'interval');
        IF ahead < (p.settings->>'premake')::integer THEN
            reasons := reasons || format('%s future partitions of the %s asked', ahead, p.settings->>'premake');
        END IF;
        SELECT c.reltuples::bigint INTO stray FROM scribe._partition_bounds(tbl) x JOIN pg_class c ON c.oid = x.partition
        WHERE x.is_default;
        IF stray > 0 THEN
            reasons := reasons || format('the default partition holds about %s rows', stray);
        END IF;
    END IF;
    IF failures >= 3 THEN
        reasons := reasons || format('%s failed runs in a row', failures);
    END IF;
    IF p.enabled THEN
        period := scribe._schedule_next(p.schedule, now()) - now();
        period := greatest(period, scribe._schedule_next(p.schedule, now() + period) - (now() + period));
        IF COALESCE(last_success, p.created_at) < now() - 2 * period - interval '1 minute' THEN
            reasons := reasons || format('no success since %s', COALESCE(last_success::text, 'it was created'));
        END IF;
    END IF;
    RETURN NULLIF(array_to_string(reasons, '; '), '');
END
$$;
COMMENT ON FUNCTION scribe._policy_alert(bigint, timestamptz, bigint) IS 'Internal: what needs a DBA''s eye about a policy, or NULL: too few partitions ahead, a default partition holding rows, failures in a row, no success for too long';

CREATE OR REPLACE FUNCTION scribe.policy_status()
    RETURNS TABLE(policy_id bigint, name text, kind text, target text, schedule text,
                  enabled boolean, owner regrole, next_run_at timestamptz, last_status text,
                  last_finished_at timestamptz, last_error text, last_success_at timestamptz,
                  consecutive_failures bigint, running_run_id bigint, alert text)
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT p.policy_id, p.name, p.kind, p.target, p.schedule, p.enabled, p.owner, p.next_run_at,
           last.status AS last_status, last.finished_at AS last_finished_at, last.error AS last_error,
           ok.finished_at AS last_success_at, fails.n AS consecutive_failures, current.run_id AS running_run_id,
           scribe._policy_alert(p.policy_id, ok.finished_at, fails.n) AS alert
    FROM scribe.policies p
    LEFT JOIN LATERAL (SELECT r.status, r.finished_at, r.error FROM scribe.policy_runs r
                       WHERE r.policy_id = p.policy_id AND r.status IN ('succeeded', 'failed')
                       ORDER BY r.run_id DESC LIMIT 1) last ON true
    LEFT JOIN LATERAL (SELECT r.run_id, r.finished_at FROM scribe.policy_runs r
                       WHERE r.policy_id = p.policy_id AND r.status = 'succeeded'
                       ORDER BY r.run_id DESC LIMIT 1) ok ON true
    LEFT JOIN LATERAL (SELECT count(*) AS n FROM scribe.policy_runs r
                       WHERE r.policy_id = p.policy_id AND r.status = 'failed'
                         AND r.run_id > COALESCE(ok.run_id, 0)) fails ON true
    LEFT JOIN LATERAL (SELECT r.run_id FROM scribe.policy_runs r
                       WHERE r.policy_id = p.policy_id AND r.status IN ('queued', 'running')
                       ORDER BY r.run_id DESC LIMIT 1) current ON true
$$;
COMMENT ON FUNCTION scribe.policy_status() IS 'Each policy: next run, last run and its error, last success, failed runs in a row, the run under way, and what needs attention (alert)';

-- The built-in policy's work: forget finished runs older than max_age, and beyond the last keep of each policy
CREATE OR REPLACE PROCEDURE scribe.policy_prune_runs(args jsonb)
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    max_age interval := COALESCE((args->>'max_age')::interval, '30 days');
    keep integer := COALESCE((args->>'keep')::integer, 1000);
BEGIN
    DELETE FROM scribe.policy_runs r
    USING (SELECT run_id, row_number() OVER (PARTITION BY policy_id ORDER BY run_id DESC) AS n
           FROM scribe.policy_runs WHERE status IN ('succeeded', 'failed')) o
    WHERE r.run_id = o.run_id AND (o.n > keep OR r.finished_at < now() - max_age);
END
$$;
COMMENT ON PROCEDURE scribe.policy_prune_runs(jsonb) IS 'The built-in policy''s work: forget finished runs older than max_age, and beyond the last keep of each policy';

-- The policy API: C functions that record the calling role, then run the
-- functions above as the bootstrap superuser (callers need EXECUTE on these
-- only, never rights on the tables)
CREATE OR REPLACE FUNCTION scribe.policy_create(
    name     text,
    kind     text,
    target   text,
    settings jsonb DEFAULT '{}',
    schedule text DEFAULT '1 day',
    enabled  boolean DEFAULT true)
    RETURNS scribe.policies
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_create_policy';
COMMENT ON FUNCTION scribe.policy_create(text, text, text, jsonb, text, boolean) IS 'Create a lifecycle policy (kind: partitions, purge, archive, orphans, refresh, sql) on a target the caller owns, with its settings and schedule (an interval or a cron expression)';

CREATE OR REPLACE FUNCTION scribe.policy_alter(
    name     text,
    settings jsonb DEFAULT NULL,
    schedule text DEFAULT NULL,
    enabled  boolean DEFAULT NULL)
    RETURNS scribe.policies
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_alter_policy';
COMMENT ON FUNCTION scribe.policy_alter(text, jsonb, text, boolean) IS 'Change a policy: settings given replace those of the same name (null removes one); NULL leaves the rest as it is';

CREATE OR REPLACE FUNCTION scribe.policy_drop(name text)
    RETURNS void
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_drop_policy';
COMMENT ON FUNCTION scribe.policy_drop(text) IS 'Drop a policy and its run history';

CREATE OR REPLACE FUNCTION scribe.policy_run(name text, dry_run boolean DEFAULT false)
    RETURNS jsonb
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_run_policy_now';
COMMENT ON FUNCTION scribe.policy_run(text, boolean) IS 'Start a run of a policy now (unless one is under way): its run_id; with dry_run, the actions a run would take now, and the rows it would reach';

CREATE OR REPLACE FUNCTION scribe._run_as(role regrole, sql text, lock_timeout_ms integer DEFAULT 0,
                               OUT rows bigint, OUT value text)
    RETURNS record
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_run_as';
COMMENT ON FUNCTION scribe._run_as(regrole, text, integer) IS 'Internal: run a policy''s SQL as a role, in a security-restricted operation with scribe.job_search_path and a lock_timeout (0: none), every setting undone after; the rows the last statement processed and the first column of its first row as text';

CREATE OR REPLACE FUNCTION scribe._policies_changed()
    RETURNS void
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_policies_changed';
COMMENT ON FUNCTION scribe._policies_changed() IS 'Internal: policies changed; wake the launcher when the transaction commits';
-- pg_scribe functions: the S3 client of the archive policy's offload.
-- Internal and revoked from PUBLIC (privileges.sql): they reach the store
-- with the server's key pair (scribe.s3_access_key, scribe.s3_secret_key).

CREATE OR REPLACE FUNCTION scribe._s3_put(key text, data bytea, content_type text DEFAULT 'application/octet-stream')
    RETURNS void
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_s3_put_sql';
COMMENT ON FUNCTION scribe._s3_put(text, bytea, text) IS
    'Internal: PUT data as object key of scribe.s3_bucket, signed with AWS Signature V4; ERROR if the store did not keep it';

CREATE OR REPLACE FUNCTION scribe._s3_get(key text)
    RETURNS bytea
    LANGUAGE c VOLATILE STRICT
    AS 'MODULE_PATHNAME', 'scribe_s3_get_sql';
COMMENT ON FUNCTION scribe._s3_get(text) IS
    'Internal: GET object key of scribe.s3_bucket; ERROR 58P01 if there is none';

CREATE OR REPLACE FUNCTION scribe._s3_delete(key text)
    RETURNS boolean
    LANGUAGE c VOLATILE STRICT
    AS 'MODULE_PATHNAME', 'scribe_s3_delete_sql';
COMMENT ON FUNCTION scribe._s3_delete(text) IS
    'Internal: DELETE object key of scribe.s3_bucket; whether it was there just before';

CREATE OR REPLACE FUNCTION scribe._s3_exists(key text)
    RETURNS bigint
    LANGUAGE c VOLATILE STRICT
    AS 'MODULE_PATHNAME', 'scribe_s3_exists_sql';
COMMENT ON FUNCTION scribe._s3_exists(text) IS
    'Internal: HEAD object key of scribe.s3_bucket; its size in bytes, NULL if there is none';
-- pg_scribe functions: cache events, the explicit deletes,
-- invalidations and clears that reach the replicas' caches.
--
-- Where this table is published, scribe.cache_delete, cache_invalidate and
-- cache_clear insert a row in the caller's transaction (not in a read-only
-- transaction, nor on a standby); on a node that subscribes to it, the
-- trigger below does the same operation on the local cache as the apply
-- worker writes the row.  Rows older than a day are useless: the built-in
-- policy scribe.cache_events purges them.

-- Comment of the table in schema/cache_events.sql
COMMENT ON TABLE scribe.cache_events IS 'Cache deletes (argument: the key), invalidations (the namespace) and clears called where this table is published, done again by the nodes that subscribe to it; purged after a day by the policy scribe.cache_events';

CREATE OR REPLACE FUNCTION scribe._cache_event_trigger()
    RETURNS trigger
    LANGUAGE c
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'scribe_cache_event_trigger';
COMMENT ON FUNCTION scribe._cache_event_trigger() IS 'Internal: the trigger of scribe.cache_events on a subscriber: does each replicated event on the local cache; a failure is a WARNING, never a failed apply';

-- REPLICA: fires for the rows the apply worker writes (the initial copy
-- too, which replays the last day's events: harmless, the cache only loses
-- values), never for the inserts of the node's own calls
CREATE OR REPLACE TRIGGER cache_events_apply AFTER INSERT ON scribe.cache_events
    FOR EACH ROW EXECUTE FUNCTION scribe._cache_event_trigger();
ALTER TABLE scribe.cache_events ENABLE REPLICA TRIGGER cache_events_apply;
-- pg_scribe functions: health(), the one report of how this node is,
-- with its verdict (ok, degraded, failing) and the reasons for it.

-- How far ahead each partitions policy's table has partitions, on the clock policies see
CREATE OR REPLACE FUNCTION scribe._partition_runway(
    OUT policy text, OUT target text, OUT premake integer, OUT newest_end timestamp,
    OUT runway interval, OUT alert text)
    RETURNS SETOF record
    LANGUAGE sql STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT p.name, p.target, (p.settings->>'premake')::integer, b.newest_end,
           b.newest_end - (scribe._policy_clock() AT TIME ZONE 'UTC'), s.alert
    FROM scribe.policies p
    JOIN scribe.policy_status() s USING (policy_id)
    CROSS JOIN LATERAL (SELECT max(x.hi) AS newest_end
                        FROM scribe._partition_bounds(to_regclass(p.target)) x
                        WHERE NOT x.is_default) b
    WHERE p.kind = 'partitions' AND p.enabled AND to_regclass(p.target) IS NOT NULL
    ORDER BY p.name
$$;
COMMENT ON FUNCTION scribe._partition_runway() IS 'Internal: for each enabled partitions policy, the end of its table''s newest partition and how long until the policy clock reaches it (runway), with the policy''s alert';

-- Why this node is not ok: one row per reason, worst first (empty: ok).
-- Thresholds are fixed (see docs/reference.md, health): a DBA tunes the
-- scaling advice with its arguments; health answers one question, "act now?".
CREATE OR REPLACE FUNCTION scribe._health_reasons(
    OUT code text, OUT severity text, OUT message text, OUT evidence jsonb, OUT hint text)
    RETURNS SETOF record
    LANGUAGE plpgsql VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    lib record;
    l record;
    r record;
    pool record;
    beat timestamptz;
    -- pg_settings shows the raw seconds (current_setting says '10s')
    beat_every integer := COALESCE((SELECT setting::integer FROM pg_settings WHERE name = 'scribe.heartbeat_interval'), 0);
    -- new dead letters within this window make the node degraded
    dead_window constant text := '15 minutes';
    -- a partitions policy with less runway than this is degraded (none left: failing)
    runway_min constant interval := '1 day';
BEGIN
    SELECT * INTO lib FROM scribe._library_status();
    SELECT * INTO l FROM scribe._launcher_status();

    IF NOT lib.preloaded THEN
        RETURN QUERY SELECT 'not_preloaded', 'failing',
            'pg_scribe is not in shared_preload_libraries: no launcher, no workers, no cache',
            jsonb_build_object('shared_preload_libraries', current_setting('shared_preload_libraries')),
            'Add pg_scribe to shared_preload_libraries and restart the server.';
        RETURN;
    END IF;

    IF l.state <> 'running' THEN
        RETURN QUERY SELECT 'launcher_down', 'failing',
            format('the launcher is %s: no jobs are started, no policies run', l.state),
            jsonb_build_object('state', l.state, 'state_since', l.state_since, 'restarts', l.restarts,
                               'database', current_setting('scribe.database', true)),
            'The server log says why; the postmaster restarts a launcher that exited. '
            'Check that scribe.database names this database.';
    END IF;

    SELECT * INTO pool FROM scribe._pool_start_status();
    IF pool.short_since IS NOT NULL THEN
        RETURN QUERY SELECT 'workers_cannot_start',
            CASE WHEN pool.running = 0 THEN 'failing' ELSE 'degraded' END,
            format('the pool runs %s of the %s workers it needs: the server has no free background worker slots',
                   pool.running, pool.wanted),
            jsonb_build_object('wanted', pool.wanted, 'running', pool.running,
                               'short_since', pool.short_since,
                               'max_worker_processes', pool.max_worker_processes,
                               'scribe.max_workers', current_setting('scribe.max_workers')::integer),
            'Raise max_worker_processes (a restart is needed), or lower scribe.max_workers.';
    END IF;

    FOR r IN
        SELECT d.queue AS name, d.dead AS n, d.last_died_at AS last_died
        FROM scribe._queue_dead_letters(dead_window::interval) d
        ORDER BY d.queue
    LOOP
        RETURN QUERY SELECT 'dead_letters_rising', 'degraded',
            format('%s job(s) of queue %s died in the last %s', r.n, r.name, dead_window),
            jsonb_build_object('queue', r.name, 'dead', r.n, 'window', dead_window, 'last_died_at', r.last_died),
            format('Read their errors (scribe.capacity_advice() names the commonest), fix the cause, then scribe.requeue(%L).', r.name);
    END LOOP;

    SELECT * INTO r FROM scribe.redis_stats();
    IF r.configured AND r.state <> 'closed' THEN
        RETURN QUERY SELECT 'redis_breaker_open', 'degraded',
            format('the Redis circuit breaker is %s: the cache serves from shared memory (L1) only', r.state),
            jsonb_build_object('state', r.state, 'state_since', r.state_since, 'failures', r.failures,
                               'opened', r.opened, 'last_error', r.last_error),
            'Check that Redis runs and scribe.redis_url reaches it; the breaker closes at the first cache call after '
            'scribe.redis_breaker_cooldown that finds Redis answering.';
    END IF;

    FOR r IN SELECT * FROM scribe.replication_status() s WHERE s.problem IS NOT NULL LOOP
        RETURN QUERY SELECT 'replication_broken',
            CASE WHEN r.side = 'subscriber' AND r.state = 'disabled' THEN 'failing' ELSE 'degraded' END,
            format('%s %s is %s', CASE r.side WHEN 'subscriber' THEN 'subscription' ELSE 'replication slot' END,
                   r.name, r.state),
            jsonb_build_object('side', r.side, 'name', r.name, 'state', r.state, 'lag_bytes', r.lag_bytes,
                               'errors', r.errors),
            r.problem;
    END LOOP;

    FOR r IN SELECT * FROM scribe._partition_runway() p WHERE p.runway < runway_min LOOP
        RETURN QUERY SELECT 'partitions_running_out',
            CASE WHEN r.runway IS NULL OR r.runway <= interval '0' THEN 'failing' ELSE 'degraded' END,
            CASE WHEN r.newest_end IS NULL THEN format('%s has no partitions', r.target)
                 WHEN r.runway <= interval '0' THEN format('the newest partition of %s ended at %s UTC: new rows have no partition', r.target, r.newest_end)
                 ELSE format('the newest partition of %s ends in %s', r.target, justify_interval(date_trunc('minute', r.runway))) END,
            jsonb_build_object('policy', r.policy, 'target', r.target, 'newest_partition_ends', r.newest_end,
                               'runway', r.runway, 'premake', r.premake),
            format('Run it now (SELECT scribe.policy_run(%L)) and look at its runs in scribe.policy_status(); '
                   'raise its premake to keep more partitions ahead.', r.policy);
    END LOOP;

    FOR r IN SELECT s.name, s.alert, s.last_error, s.consecutive_failures, s.last_success_at
             FROM scribe.policy_status() s WHERE s.alert IS NOT NULL ORDER BY s.name LOOP
        RETURN QUERY SELECT 'policy_failing', 'degraded',
            format('policy %s: %s', r.name, r.alert),
            jsonb_build_object('policy', r.name, 'alert', r.alert, 'consecutive_failures', r.consecutive_failures,
                               'last_success_at', r.last_success_at, 'last_error', r.last_error),
            'SELECT * FROM scribe.policy_status() shows its last error; fix it, then scribe.policy_run().';
    END LOOP;

    -- the launcher writes this node's row every scribe.heartbeat_interval (0: never)
    IF beat_every > 0 AND l.state = 'running'
       AND l.state_since < now() - make_interval(secs => 3 * beat_every + 10) THEN
        SELECT h.beat_at INTO beat FROM scribe.heartbeat h WHERE h.node_name = lib.node_name;
        IF beat IS NULL OR beat < now() - make_interval(secs => 3 * beat_every + 10) THEN
            RETURN QUERY SELECT 'heartbeat_stale', 'degraded',
                CASE WHEN beat IS NULL THEN 'this node has no heartbeat'
                     ELSE format('this node''s heartbeat is %s old', date_trunc('second', now() - beat)) END,
                jsonb_build_object('node_name', lib.node_name, 'beat_at', beat,
                                   'heartbeat_interval', beat_every),
                'The launcher is busy or stuck: pg_stat_activity shows what it waits for; the server log why.';
        END IF;
    END IF;
END
$$;
COMMENT ON FUNCTION scribe._health_reasons() IS 'Internal: why this node is not ok, one row per reason (code, severity degraded or failing, message, evidence, hint), for health()';

CREATE OR REPLACE FUNCTION scribe.health() RETURNS jsonb
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
    WITH reasons AS (
        SELECT COALESCE(jsonb_agg(jsonb_build_object('code', r.code, 'severity', r.severity,
                                                     'message', r.message, 'evidence', r.evidence,
                                                     'hint', r.hint)
                                  ORDER BY r.severity = 'failing' DESC, r.code), '[]'::jsonb) AS list,
               CASE WHEN bool_or(r.severity = 'failing') THEN 'failing'
                    WHEN count(*) > 0 THEN 'degraded' ELSE 'ok' END AS status
        FROM scribe._health_reasons() r
    )
    SELECT jsonb_build_object(
        'status', reasons.status,
        'reasons', reasons.list,
        'library_version', scribe.version(),
        'extension_version', (SELECT extversion FROM pg_extension WHERE extname = 'pg_scribe'),
        'preloaded', lib.preloaded,
        'database', current_setting('scribe.database', true),
        'node_name', lib.node_name,
        'role', scribe._node_role(),
        'launcher', jsonb_build_object(
            'pid', l.pid,
            'state', l.state,
            'started_at', l.started_at,
            'state_since', l.state_since,
            'restarts', l.restarts),
        'heartbeats', COALESCE((
            SELECT jsonb_agg(jsonb_build_object(
                       'node_name', h.node_name,
                       'local', h.node_name = lib.node_name,
                       'beat_at', h.beat_at,
                       'age_seconds', round(extract(epoch FROM clock_timestamp() - h.beat_at), 3),
                       'library_version', h.library_version)
                   ORDER BY h.node_name)
            FROM scribe.heartbeat h), '[]'::jsonb),
        'replication', COALESCE((
            SELECT jsonb_agg(to_jsonb(r)) FROM scribe.replication_status() r), '[]'::jsonb))
    FROM reasons, scribe._library_status() AS lib, scribe._launcher_status() AS l
$$;
COMMENT ON FUNCTION scribe.health() IS 'This node''s verdict (status: ok, degraded or failing) and the reasons for it, with versions, preload status, role, launcher state, node heartbeats and replication, as jsonb';

REVOKE ALL ON FUNCTION scribe.health() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION scribe.health() TO pg_monitor;
REVOKE ALL ON FUNCTION scribe._health_reasons() FROM PUBLIC;
REVOKE ALL ON FUNCTION scribe._partition_runway() FROM PUBLIC;
-- pg_scribe functions: capacity planning.
--
-- scribe.capacity_plan projects users, documents, storage, peak requests,
-- connections, workers and cost month by month.  Its formulas and defaults
-- are those of the capacity planner pg_scribe replaces (FamilyTales'
-- CapacityPlanner), so that a plan made before the move reads the same
-- after it; scribe.capacity_inputs measures what this installation does
-- instead, and capacity_plan(measured => true) starts from that.

-- ERROR unless a planning argument is given and within [low, high]
CREATE OR REPLACE FUNCTION scribe._capacity_check(name text, value numeric, low numeric, high numeric, hint text)
    RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF value IS NULL OR value < low OR value > high THEN
        RAISE EXCEPTION '% must be between % and %, not %', name, low, high, coalesce(value::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value', HINT = hint;
    END IF;
END
$$;
COMMENT ON FUNCTION scribe._capacity_check(text, numeric, numeric, numeric, text) IS 'Internal: ERROR (22023) unless a planning argument is not NULL and within its bounds';

-- Round to cents as Python's round(x, 2) does: half to even on the exact
-- binary value, so 4045 * 0.001 (a double just under 4.045) gives 4.04
CREATE OR REPLACE FUNCTION scribe._capacity_round(x float8)
    RETURNS numeric
    LANGUAGE plpgsql IMMUTABLE STRICT
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    rest float8 := abs(x) - trunc(abs(x));
    piece float8;
    -- abs(x) * 2^104 as an integer: the whole part (exact below 10^15) and
    -- the fraction 26 bits at a time, each step exact in binary
    n numeric := trunc(abs(x))::numeric;
    unit numeric := 20282409603651670423947251286016;  -- 2^104
    q numeric;
    r numeric;
BEGIN
    IF x = 'NaN' OR abs(x) >= 1e15 THEN
        RETURN round(x::numeric, 2);
    END IF;
    FOR i IN 1..4 LOOP
        rest := rest * 67108864;
        piece := trunc(rest);
        rest := rest - piece;
        n := n * 67108864 + piece::numeric;
    END LOOP;
    q := div(n * 100, unit);
    r := mod(n * 100, unit);
    IF 2 * r > unit OR (2 * r = unit AND mod(q, 2) = 1) THEN
        q := q + 1;
    END IF;
    RETURN round(sign(x)::numeric * q / 100, 2);
END
$$;
COMMENT ON FUNCTION scribe._capacity_round(float8) IS 'Internal: round a double to cents as Python''s round(x, 2) does (half to even on the exact binary value)';

-- Measured over the last 30 days (growth: against the 30 days before).  The
-- defaults shown for what was not measured are capacity_plan's.
CREATE OR REPLACE FUNCTION scribe.capacity_inputs()
    RETURNS TABLE (input text, value numeric, source text, evidence text)
    LANGUAGE sql STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
    WITH span AS (
        -- how much of the 30-day window the installation has lived through,
        -- and whether it goes back far enough to compare two windows
        SELECT least(30, extract(epoch FROM now() - min(submitted_at)) / 86400)::numeric AS days,
               coalesce(min(submitted_at) <= now() - interval '60 days', false) AS two_windows
        FROM scribe.documents
    ), recent AS (
        SELECT count(*) AS documents,
               count(DISTINCT d.owner) AS owners,
               avg(d.image_bytes) AS image_bytes
        FROM scribe.documents d
        WHERE d.submitted_at >= now() - interval '30 days' AND d.submitted_at < now()
    ), previous AS (
        SELECT count(DISTINCT d.owner) AS owners
        FROM scribe.documents d
        WHERE d.submitted_at >= now() - interval '60 days' AND d.submitted_at < now() - interval '30 days'
    ), done AS (
        -- the recognised documents: OCR time, and what recognition adds to a scan
        SELECT count(*) AS documents,
               avg(coalesce(d.seconds, p.seconds)::numeric) FILTER (WHERE coalesce(d.seconds, p.seconds) > 0) AS seconds,
               sum(d.image_bytes) AS image_bytes,
               sum(coalesce(octet_length(d.text), 0) + coalesce(p.bytes, 0)) AS derived_bytes
        FROM scribe.documents d
        LEFT JOIN LATERAL (
            SELECT sum(dp.seconds) AS seconds, sum(pg_column_size(dp.*)) AS bytes
            FROM scribe.document_pages dp WHERE dp.document_id = d.document_id) p ON true
        WHERE d.status = 'done'
          AND d.submitted_at >= now() - interval '30 days' AND d.submitted_at < now()
    ), ledger AS (
        SELECT count(DISTINCT l.document_id) AS documents, sum(l.cost) AS cost
        FROM scribe.ocr_ledger l
        WHERE l.recorded_at >= now() - interval '30 days' AND l.recorded_at < now()
          AND l.document_id IS NOT NULL
    ), inputs (ord, input, measured, fallback, evidence) AS (
        SELECT 1, 'start_users',
               CASE WHEN r.owners > 0 THEN r.owners::numeric END, 1000::numeric,
               format('%s owners with documents in the last 30 days', r.owners)
        FROM recent r
        UNION ALL
        SELECT 2, 'user_growth',
               CASE WHEN s.two_windows AND pv.owners > 0 AND r.owners > 0
                    THEN round(r.owners::numeric / pv.owners - 1, 4) END, 0.15,
               CASE WHEN s.two_windows
                    THEN format('%s owners in the last 30 days, %s in the 30 days before', r.owners, pv.owners)
                    ELSE 'needs documents older than 60 days' END
        FROM recent r, previous pv, span s
        UNION ALL
        -- under a week of history says little about a month
        SELECT 3, 'docs_per_user',
               CASE WHEN r.owners > 0 AND s.days >= 7
                    THEN round(r.documents::numeric / r.owners * 30 / s.days, 2) END, 10,
               CASE WHEN s.days >= 7
                    THEN format('%s documents by %s owners in %s days', r.documents, r.owners, round(s.days))
                    ELSE format('needs 7 days of history, has %s', coalesce(round(s.days, 1), 0)) END
        FROM recent r, span s
        UNION ALL
        SELECT 4, 'mb_per_document',
               round(r.image_bytes / 1048576, 3), 2.5,
               format('average image_bytes of %s documents in the last 30 days', r.documents)
        FROM recent r
        UNION ALL
        SELECT 5, 'derived_ratio',
               CASE WHEN d.image_bytes > 0 THEN round(d.derived_bytes / d.image_bytes, 4) END, 0.1,
               format('text and pages relative to the scan, %s recognised documents in the last 30 days', d.documents)
        FROM done d
        UNION ALL
        SELECT 6, 'docs_per_minute_per_worker',
               round(60 / d.seconds, 2), 10,
               CASE WHEN d.seconds IS NOT NULL
                    THEN format('%s s of OCR per document on average', round(d.seconds, 2))
                    ELSE 'no recognised document with its OCR time in the last 30 days' END
        FROM done d
        UNION ALL
        SELECT 7, 'ocr_usd_per_document',
               round(l.cost / nullif(l.documents, 0), 6), 0,
               format('ledger: %s documents, %s USD in the last 30 days', l.documents, coalesce(l.cost, 0)::numeric(14, 6))
        FROM ledger l
    )
    SELECT input, coalesce(measured, fallback),
           CASE WHEN measured IS NULL THEN 'default' ELSE 'measured' END, evidence
    FROM inputs ORDER BY ord
$$;
COMMENT ON FUNCTION scribe.capacity_inputs() IS 'The planning inputs this installation measures (users, growth, documents per user, size, OCR speed and cost over the last 30 days), each with its value, source (measured or default) and evidence';

CREATE OR REPLACE FUNCTION scribe.capacity_plan(
    months                     integer DEFAULT 12,
    start_users                numeric DEFAULT 1000,
    user_growth                numeric DEFAULT 0.15,
    docs_per_user              numeric DEFAULT 10,
    mb_per_document            numeric DEFAULT 2.5,
    derived_ratio              numeric DEFAULT 0.1,
    active_fraction            numeric DEFAULT 0.001,
    connection_fraction        numeric DEFAULT 0.01,
    max_connections            integer DEFAULT 1000,
    docs_per_minute_per_worker numeric DEFAULT 10,
    usd_per_gb                 numeric DEFAULT 0.023,
    usd_per_100_rps            numeric DEFAULT 50,
    usd_per_worker             numeric DEFAULT 100,
    ocr_usd_per_document       numeric DEFAULT 0,
    measured                   boolean DEFAULT false)
    RETURNS TABLE (month integer, users bigint, documents bigint, documents_total bigint,
                   storage_gb numeric, storage_gb_total numeric, peak_rps numeric,
                   connections bigint, workers bigint, cost_usd numeric, basis text)
    LANGUAGE plpgsql STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    i record;
    used text[] := '{}';
BEGIN
    IF measured IS NULL THEN
        RAISE EXCEPTION 'measured must be true or false, not NULL'
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Leave it out to plan from the parameters.';
    END IF;
    -- the arguments; measured values replace some of them after
    PERFORM scribe._capacity_check('months', months, 1, 1200, 'Plan between 1 month and 100 years.');
    PERFORM scribe._capacity_check('start_users', start_users, 0, 1e9, 'Pass the users at the start, such as 1000.');
    PERFORM scribe._capacity_check('user_growth', user_growth, -0.99, 10,
        'Growth is a fraction per month: 0.15 is 15 %.');
    PERFORM scribe._capacity_check('docs_per_user', docs_per_user, 0, 1e6, 'Pass documents per user per month, such as 10.');
    PERFORM scribe._capacity_check('mb_per_document', mb_per_document, 0, 1e5, 'Pass megabytes per scanned document, such as 2.5.');
    PERFORM scribe._capacity_check('derived_ratio', derived_ratio, 0, 1000,
        'Bytes derived from a document (text, pages) per byte of scan: 0.1 is 10 %.');
    PERFORM scribe._capacity_check('active_fraction', active_fraction, 0, 1,
        'The share of users sending a request in the peak second: 0.001 is 0.1 %.');
    PERFORM scribe._capacity_check('connection_fraction', connection_fraction, 0, 1,
        'Database connections per user: 0.01 is one per hundred users.');
    PERFORM scribe._capacity_check('max_connections', max_connections, 1, 1e6,
        'Pass the most database connections the plan may use, such as 1000.');
    PERFORM scribe._capacity_check('docs_per_minute_per_worker', docs_per_minute_per_worker, 0.001, 1e6,
        'Pass the documents one worker recognises per minute, such as 10.');
    PERFORM scribe._capacity_check('usd_per_gb', usd_per_gb, 0, 1e6, 'Pass a price in USD, 0 or more.');
    PERFORM scribe._capacity_check('usd_per_100_rps', usd_per_100_rps, 0, 1e6, 'Pass a price in USD, 0 or more.');
    PERFORM scribe._capacity_check('usd_per_worker', usd_per_worker, 0, 1e6, 'Pass a price in USD, 0 or more.');
    PERFORM scribe._capacity_check('ocr_usd_per_document', ocr_usd_per_document, 0, 1e3, 'Pass a price in USD, 0 or more.');
    IF measured THEN
        -- a measured input replaces the parameter; the others keep it
        FOR i IN SELECT * FROM scribe.capacity_inputs() c WHERE c.source = 'measured' LOOP
            CASE i.input
                WHEN 'start_users' THEN start_users := i.value;
                WHEN 'user_growth' THEN user_growth := i.value;
                WHEN 'docs_per_user' THEN docs_per_user := i.value;
                WHEN 'mb_per_document' THEN mb_per_document := i.value;
                WHEN 'derived_ratio' THEN derived_ratio := i.value;
                WHEN 'docs_per_minute_per_worker' THEN docs_per_minute_per_worker := i.value;
                WHEN 'ocr_usd_per_document' THEN ocr_usd_per_document := i.value;
            END CASE;
            used := used || i.input;
        END LOOP;
    END IF;

    IF start_users * power(1 + user_growth, months - 1) > 1e12 THEN
        RAISE EXCEPTION 'the plan grows past 10^12 users'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Plan fewer months, or from a lower user_growth (with measured => true, scribe.capacity_inputs() shows the growth measured).';
    END IF;

    -- the seed's arithmetic, in the seed's binary floating point and order of
    -- operations: int() truncates users, documents, connections and workers;
    -- storage, requests and cost are rounded as Python's round() does
    RETURN QUERY
    WITH m AS (
        SELECT g.m, trunc(start_users::float8 * power(1 + user_growth::float8, g.m)) AS users
        FROM generate_series(0, months - 1) AS g(m)
    ), d AS (
        SELECT m.m, m.users, trunc(m.users * docs_per_user::float8) AS documents
        FROM m
    ), r AS (
        SELECT d.m, d.users, d.documents,
               d.documents * mb_per_document::float8 * (1 + derived_ratio::float8) / 1024 AS storage,
               d.users * active_fraction::float8 AS rps,
               least(trunc(d.users * connection_fraction::float8), max_connections) AS connections,
               greatest(1, trunc(d.documents / (30 * 24 * 60 * docs_per_minute_per_worker::float8))) AS workers
        FROM d
    )
    SELECT r.m, r.users::bigint, r.documents::bigint,
           (sum(r.documents) OVER w)::bigint,
           scribe._capacity_round(r.storage), scribe._capacity_round(sum(r.storage) OVER w),
           scribe._capacity_round(r.rps), r.connections::bigint, r.workers::bigint,
           scribe._capacity_round(r.storage * usd_per_gb::float8 + r.rps / 100 * usd_per_100_rps::float8
                                  + r.workers * usd_per_worker::float8
                                  + r.documents * ocr_usd_per_document::float8),
           CASE WHEN cardinality(used) = 0 THEN 'parameters'
                ELSE 'measured: ' || array_to_string(used, ', ') END
    FROM r
    WINDOW w AS (ORDER BY r.m)
    ORDER BY r.m;
END
$$;
COMMENT ON FUNCTION scribe.capacity_plan(integer, numeric, numeric, numeric, numeric, numeric, numeric, numeric, integer, numeric, numeric, numeric, numeric, numeric, boolean) IS 'Project users, documents, storage, peak requests per second, connections, workers and cost month by month, from parameters (defaults: the FamilyTales planner) or, with measured => true, from this installation''s measured rates';

GRANT EXECUTE ON FUNCTION scribe.capacity_inputs() TO pg_monitor;
GRANT EXECUTE ON FUNCTION scribe.capacity_plan(integer, numeric, numeric, numeric, numeric, numeric, numeric, numeric, integer, numeric, numeric, numeric, numeric, numeric, boolean) TO pg_monitor;
-- pg_scribe functions: monitoring.  scribe.metrics() for Prometheus,
-- and a status function per area for people.

CREATE OR REPLACE FUNCTION scribe.metrics() RETURNS text
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_metrics';
COMMENT ON FUNCTION scribe.metrics() IS 'Every metric family in the Prometheus text exposition format 0.0.4 (counters since server start, gauges, histograms of job wait and run time and OCR seconds per page); cheap enough to scrape every 15 s';

CREATE OR REPLACE FUNCTION scribe._queue_totals(
    OUT queue text, OUT kind text, OUT completed bigint, OUT failed bigint, OUT dead_lettered bigint)
    RETURNS SETOF record
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_queue_totals';
COMMENT ON FUNCTION scribe._queue_totals() IS 'Internal: per queue and job kind, jobs acked, failed attempts and jobs dead-lettered since server start (shared memory)';

CREATE OR REPLACE FUNCTION scribe.queue_status()
    RETURNS TABLE(queue text, consumer text, ready bigint, delayed bigint, in_flight bigint,
                  dead bigint, oldest_ready_age interval, completed_per_minute double precision,
                  failed_per_minute double precision, wait_p95 interval, run_p95 interval,
                  completed_since_start bigint, failed_since_start bigint,
                  dead_lettered_since_start bigint)
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT s.queue, s.consumer, s.ready, s.delayed, s.in_flight, s.dead, s.oldest_ready_age,
           s.completed_per_minute, s.failed_per_minute, s.wait_p95, s.run_p95,
           COALESCE(t.completed, 0), COALESCE(t.failed, 0), COALESCE(t.dead_lettered, 0)
    FROM scribe.queue_stats() s
    LEFT JOIN (SELECT q.queue, sum(q.completed)::bigint AS completed, sum(q.failed)::bigint AS failed,
                      sum(q.dead_lettered)::bigint AS dead_lettered
               FROM scribe._queue_totals() q GROUP BY q.queue) t ON t.queue = s.queue
$$;
COMMENT ON FUNCTION scribe.queue_status() IS 'Per queue: jobs ready, delayed, in flight and dead, oldest ready age, rates and p95 wait and run times of the last 5 minutes, and totals since server start';

CREATE OR REPLACE FUNCTION scribe.cache_status()
    RETURNS TABLE(tier text, hits bigint, misses bigint, hit_rate double precision,
                  evictions bigint, expirations bigint, entries bigint, used_bytes bigint,
                  capacity_bytes bigint, used_percent numeric, errors bigint, breaker text)
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT c.tier, c.hits, c.misses, c.hit_rate, c.evictions, c.expirations, c.entries,
           c.used_bytes, c.capacity_bytes,
           round(100.0 * c.used_bytes / NULLIF(c.capacity_bytes, 0), 1),
           c.errors,
           CASE c.tier WHEN 'l2' THEN CASE WHEN r.configured THEN r.state ELSE 'not configured' END END
    FROM scribe.cache_stats() c, scribe.redis_stats() r
$$;
COMMENT ON FUNCTION scribe.cache_status() IS 'Per cache tier (l1 shared memory, l2 Redis): hits, misses, hit rate, evictions, memory used, and the Redis breaker''s state';

-- monitoring roles scrape and watch; the internal functions behind these are
-- granted to nobody (SECURITY DEFINER reaches them)
REVOKE ALL ON FUNCTION scribe.metrics() FROM PUBLIC;
REVOKE ALL ON FUNCTION scribe._queue_totals() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION scribe.metrics() TO pg_monitor;
GRANT EXECUTE ON FUNCTION scribe.queue_status() TO pg_monitor;
GRANT EXECUTE ON FUNCTION scribe.cache_status() TO pg_monitor;
-- pg_scribe functions: capacity_advice(), findings from the live
-- statistics and the history, each with its evidence and what to do.

-- Refuse a threshold of capacity_advice() that is NULL or out of range
CREATE OR REPLACE FUNCTION scribe._advice_check(ok boolean, argument text, must text)
    RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF ok IS NOT TRUE THEN
        RAISE EXCEPTION 'capacity_advice argument % must be %', argument, must
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Leave it out to use its default; docs/reference.md lists the defaults.';
    END IF;
END
$$;
COMMENT ON FUNCTION scribe._advice_check(boolean, text, text) IS 'Internal: refuse a threshold of capacity_advice() that is NULL or out of range';

CREATE OR REPLACE FUNCTION scribe.capacity_advice(
    ocr_p95               interval DEFAULT '30 seconds',
    ocr_backlog_age       interval DEFAULT '5 minutes',
    cache_hit_rate_target real DEFAULT 0.8,
    cache_min_lookups     bigint DEFAULT 1000,
    dead_letters          bigint DEFAULT 1,
    dead_letter_window    interval DEFAULT '1 hour',
    replica_lag           interval DEFAULT '1 minute',
    replica_lag_bytes     bigint DEFAULT 1073741824,
    partition_runway      interval DEFAULT '1 day',
    cloud_cost_share      real DEFAULT 0.5,
    cost_window           interval DEFAULT '30 days',
    OUT finding text, OUT severity text, OUT evidence jsonb, OUT recommendation text)
    RETURNS SETOF record
    LANGUAGE plpgsql VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    r record;
    pool record;
    ocr record;
    p95 interval;
    p95_source text;
    alive integer;
    max_workers integer := current_setting('scribe.max_workers')::integer;
BEGIN
    PERFORM scribe._advice_check(ocr_p95 > interval '0', 'ocr_p95', 'a positive interval');
    PERFORM scribe._advice_check(ocr_backlog_age > interval '0', 'ocr_backlog_age', 'a positive interval');
    PERFORM scribe._advice_check(cache_hit_rate_target BETWEEN 0 AND 1, 'cache_hit_rate_target', 'between 0 and 1');
    PERFORM scribe._advice_check(cache_min_lookups >= 1, 'cache_min_lookups', 'at least 1');
    PERFORM scribe._advice_check(dead_letters >= 1, 'dead_letters', 'at least 1');
    PERFORM scribe._advice_check(dead_letter_window > interval '0', 'dead_letter_window', 'a positive interval');
    PERFORM scribe._advice_check(replica_lag > interval '0', 'replica_lag', 'a positive interval');
    PERFORM scribe._advice_check(replica_lag_bytes >= 0, 'replica_lag_bytes', 'zero or more');
    PERFORM scribe._advice_check(partition_runway > interval '0', 'partition_runway', 'a positive interval');
    PERFORM scribe._advice_check(cloud_cost_share BETWEEN 0 AND 1, 'cloud_cost_share', 'between 0 and 1');
    PERFORM scribe._advice_check(cost_window > interval '0', 'cost_window', 'a positive interval');
    IF NOT (SELECT preloaded FROM scribe._library_status()) THEN
        RAISE EXCEPTION 'capacity_advice needs pg_scribe loaded through shared_preload_libraries'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Add pg_scribe to shared_preload_libraries and restart the server.';
    END IF;

    SELECT count(*)::integer INTO alive FROM scribe._worker_slots() s
    WHERE s.state IN ('starting', 'idle', 'busy');
    SELECT * INTO ocr FROM scribe.queue_stats('ocr', '30 minutes');

    -- OCR time per document: the queue's last 30 minutes, else the last 1000 documents
    p95 := ocr.run_p95;
    p95_source := 'queue_stats(''ocr''), last 30 minutes';
    IF p95 IS NULL THEN
        SELECT make_interval(secs => percentile_cont(0.95) WITHIN GROUP (ORDER BY d.seconds)) INTO p95
        FROM (SELECT x.seconds FROM scribe.documents x WHERE x.status = 'done' AND x.seconds IS NOT NULL
              ORDER BY x.document_id DESC LIMIT 1000) d;
        p95_source := 'scribe.documents, last 1000 recognised';
    END IF;
    IF p95 > ocr_p95 THEN
        RETURN QUERY SELECT 'ocr_p95_high', 'warning',
            jsonb_build_object('run_p95', p95, 'threshold', ocr_p95, 'source', p95_source,
                               'run_p50', ocr.run_p50, 'wait_p95', ocr.wait_p95,
                               'completed_per_minute', round(ocr.completed_per_minute::numeric, 2),
                               'workers', alive, 'scribe.max_workers', max_workers),
            format('OCR takes %s per document at p95 (target %s). A document runs on one core: '
                   'split long documents, and give OCR more cores: raise scribe.max_workers (now %s) while this '
                   'server has idle cores, else add worker nodes (docs/operations.md, "Adding a worker node").',
                   date_trunc('second', p95), ocr_p95, max_workers);
    END IF;

    SELECT * INTO pool FROM scribe._pool_start_status();
    IF pool.short_since IS NOT NULL OR pool.last_short_at > now() - interval '1 hour' THEN
        RETURN QUERY SELECT 'max_worker_processes_exhausted',
            CASE WHEN pool.short_since IS NOT NULL THEN 'critical' ELSE 'warning' END,
            jsonb_build_object('wanted', pool.wanted, 'running', pool.running,
                               'short_since', pool.short_since, 'last_short_at', pool.last_short_at,
                               'shortfalls', pool.shortfalls,
                               'max_worker_processes', pool.max_worker_processes,
                               'scribe.max_workers', max_workers),
            format('The pool wanted %s workers and could run %s: the server''s background worker slots are used up. '
                   'Raise max_worker_processes to at least %s (a restart is needed), or lower scribe.max_workers.',
                   pool.wanted, pool.running, pool.max_worker_processes + pool.wanted - pool.running);
    END IF;

    IF ocr.ready > 0 AND ocr.oldest_ready_age > ocr_backlog_age THEN
        RETURN QUERY SELECT 'ocr_backlog_growing',
            CASE WHEN alive >= max_workers THEN 'critical' ELSE 'warning' END,
            jsonb_build_object('ready', ocr.ready, 'in_flight', ocr.in_flight,
                               'oldest_ready_age', ocr.oldest_ready_age, 'threshold', ocr_backlog_age,
                               'completed_per_minute', round(ocr.completed_per_minute::numeric, 2),
                               'minutes_to_drain', CASE WHEN ocr.completed_per_minute > 0
                                   THEN round((ocr.ready / ocr.completed_per_minute)::numeric, 1) END,
                               'workers', alive, 'scribe.max_workers', max_workers),
            format('%s OCR jobs wait, the oldest for %s: the workers do not keep up. %s',
                   ocr.ready, date_trunc('second', ocr.oldest_ready_age),
                   CASE WHEN alive < max_workers
                        THEN format('The pool runs %s of scribe.max_workers = %s: check health() for workers that cannot start, '
                                    'and lower scribe.jobs_per_worker to start more sooner.', alive, max_workers)
                        ELSE format('All %s workers run: raise scribe.max_workers if this server has idle cores, '
                                    'else add worker nodes (docs/operations.md, "Adding a worker node").', alive) END);
    END IF;

    FOR r IN
        SELECT 'tier' AS scope, s.tier AS name, s.hits, s.misses, s.hit_rate, s.evictions, s.expirations, s.sets,
               s.capacity_bytes, s.used_bytes
        FROM scribe.cache_stats() s
        UNION ALL
        SELECT 'namespace', n.namespace, n.hits, n.misses, n.hit_rate, n.evictions, n.expirations, n.sets,
               NULL, n.bytes
        FROM scribe.cache_namespace_stats() n WHERE n.namespace IS NOT NULL
    LOOP
        CONTINUE WHEN r.hits + r.misses < cache_min_lookups OR r.hit_rate >= cache_hit_rate_target;
        RETURN QUERY SELECT 'cache_hit_rate_low', 'warning',
            jsonb_build_object(r.scope, r.name, 'hits', r.hits, 'misses', r.misses,
                               'hit_rate', round(r.hit_rate::numeric, 3), 'target', cache_hit_rate_target,
                               'sets', r.sets, 'evictions', r.evictions, 'expirations', r.expirations,
                               'capacity_bytes', r.capacity_bytes, 'used_bytes', r.used_bytes),
            format('The cache %s %s answers %s%% of lookups (target %s%%). %s', r.scope, r.name,
                   round(100 * r.hit_rate::numeric, 1), round(100 * cache_hit_rate_target::numeric, 1),
                   CASE WHEN r.evictions > r.sets / 10
                        THEN 'It evicts values to make room: raise scribe.cache_memory (a restart is needed).'
                        WHEN r.expirations > r.sets / 10
                        THEN 'Values expire before they are read again: give them longer TTLs.'
                        ELSE 'Most lookups find nothing stored: cache what is read (scribe.cache_fetch loads on a miss), '
                             'warm it (scribe.cache_warm), and keep the keys stable.' END);
    END LOOP;

    FOR r IN
        SELECT d.queue AS name, d.dead AS n, d.commonest_error AS error, d.commonest_error_count AS error_count
        FROM scribe._queue_dead_letters(dead_letter_window) d
        WHERE d.dead >= dead_letters
        ORDER BY d.queue
    LOOP
        RETURN QUERY SELECT 'dead_letters_growing', 'warning',
            jsonb_build_object('queue', r.name, 'dead', r.n, 'window', dead_letter_window,
                               'commonest_error', r.error, 'commonest_error_count', r.error_count),
            format('%s job(s) of queue %s died in the last %s, %s of them with: %s. '
                   'Fix the cause, then scribe.requeue(%L); more workers would not help.',
                   r.n, r.name, dead_letter_window, r.error_count, COALESCE(r.error, '(no error recorded)'), r.name);
    END LOOP;

    FOR r IN
        SELECT * FROM scribe.replication_status() s
        WHERE s.lag > replica_lag OR s.lag_bytes > replica_lag_bytes
    LOOP
        RETURN QUERY SELECT 'replica_lag_high',
            CASE WHEN r.problem IS NOT NULL THEN 'critical' ELSE 'warning' END,
            jsonb_build_object('side', r.side, 'name', r.name, 'state', r.state, 'lag', r.lag,
                               'lag_bytes', r.lag_bytes, 'lag_target', replica_lag,
                               'lag_bytes_target', replica_lag_bytes, 'problem', r.problem),
            CASE WHEN r.problem IS NOT NULL
                 THEN format('%s %s is %s behind and not catching up: %s', r.side, r.name,
                             pg_size_pretty(r.lag_bytes), r.problem)
                 WHEN r.side = 'subscriber'
                 THEN format('This replica applies changes %s late: it needs more I/O or CPU than it has; read from it '
                             'with scribe.replication_wait_lsn() meanwhile, and keep heavy queries off it.', r.lag)
                 ELSE format('Replica %s confirms changes %s (%s) late: look at its load and at the network; '
                             'its slot keeps WAL on this server until it catches up.',
                             r.name, r.lag, pg_size_pretty(r.lag_bytes)) END;
    END LOOP;

    FOR r IN SELECT * FROM scribe._partition_runway() p
             WHERE p.runway IS NULL OR p.runway < partition_runway OR p.alert LIKE '%future partitions of the%' LOOP
        RETURN QUERY SELECT 'partitions_running_out',
            CASE WHEN r.runway IS NULL OR r.runway <= interval '0' THEN 'critical' ELSE 'warning' END,
            jsonb_build_object('policy', r.policy, 'target', r.target, 'newest_partition_ends', r.newest_end,
                               'runway', r.runway, 'threshold', partition_runway, 'premake', r.premake,
                               'alert', r.alert),
            format('The partitions of %s run out %s. Raise the policy''s premake '
                   '(scribe.policy_alter(%L, settings => ''{"premake": %s}'')), and check in scribe.policy_status() '
                   'that its runs succeed.',
                   r.target, CASE WHEN r.runway IS NULL THEN 'now (there are none)'
                                  WHEN r.runway <= interval '0' THEN 'already'
                                  ELSE 'in ' || justify_interval(date_trunc('minute', r.runway)) END,
                   r.policy, COALESCE(r.premake, 0) + 2);
    END LOOP;

    SELECT sum(l.cost) FILTER (WHERE l.method = 'cloud') AS cloud_cost,
           sum(l.cost) AS total_cost,
           count(*) FILTER (WHERE l.method = 'cloud') AS cloud_pages,
           count(*) FILTER (WHERE l.method = 'local') AS local_pages
    INTO r
    FROM scribe.ocr_ledger l WHERE l.recorded_at > now() - cost_window;
    IF r.total_cost > 0 AND r.cloud_cost / r.total_cost > cloud_cost_share THEN
        RETURN QUERY SELECT 'cloud_cost_share_high', 'info',
            jsonb_build_object('cloud_cost', r.cloud_cost, 'total_cost', r.total_cost,
                               'cloud_share', round(r.cloud_cost / r.total_cost, 3), 'threshold', cloud_cost_share,
                               'cloud_pages', r.cloud_pages, 'local_pages', r.local_pages, 'window', cost_window,
                               'local_cost_of_cloud_pages',
                               round(r.cloud_pages * current_setting('scribe.ocr_cost_local')::numeric, 6)),
            format('The cloud tier is %s%% of the OCR cost of the last %s (%s of %s USD). The local tier costs '
                   'scribe.ocr_cost_local: submit documents with tier => ''local'', and add worker nodes '
                   'for the OCR capacity (docs/operations.md, "Adding a worker node").',
                   round(100 * r.cloud_cost / r.total_cost, 1), cost_window, r.cloud_cost, r.total_cost);
    END IF;
END
$$;
COMMENT ON FUNCTION scribe.capacity_advice(interval, interval, real, bigint, bigint, interval, interval, bigint, interval, real, interval) IS 'Findings from the live statistics and the history (OCR time and backlog, worker slots, cache hit rate, dead letters, replica lag, partitions ahead, cloud OCR cost), each with its evidence and a recommendation; none on a healthy installation';

REVOKE ALL ON FUNCTION scribe.capacity_advice(interval, interval, real, bigint, bigint, interval, interval, bigint, interval, real, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION scribe.capacity_advice(interval, interval, real, bigint, bigint, interval, interval, bigint, interval, real, interval) TO pg_monitor;
-- pg_scribe functions, last part: privileges.
--
-- Functions reach other roles' jobs, the network (http jobs) or shared
-- state: none is for PUBLIC but scribe.version() and read-your-writes (at
-- the end).  Grant what each role
-- needs, for example:
--   GRANT EXECUTE ON FUNCTION scribe.send(text, jsonb, text, interval, timestamptz, integer, text, integer) TO app;
DO $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN
        SELECT p.oid::regprocedure FROM pg_proc p
        WHERE p.pronamespace = 'scribe'::regnamespace AND p.proname <> 'version'
    LOOP
        EXECUTE format('REVOKE ALL ON ROUTINE %s FROM PUBLIC', f);
    END LOOP;
END
$$;

-- monitoring roles may watch
GRANT EXECUTE ON FUNCTION scribe.queue_stats(text, interval) TO pg_monitor;
GRANT EXECUTE ON FUNCTION scribe.worker_status() TO pg_monitor;
GRANT EXECUTE ON FUNCTION scribe.queue_list() TO pg_monitor;
GRANT EXECUTE ON FUNCTION scribe.rate_limit_stats() TO pg_monitor;
GRANT EXECUTE ON FUNCTION scribe.redis_stats() TO pg_monitor;
GRANT EXECUTE ON FUNCTION scribe.cache_stats() TO pg_monitor;
GRANT EXECUTE ON FUNCTION scribe.cache_namespace_stats() TO pg_monitor;
GRANT EXECUTE ON FUNCTION scribe.policy_status() TO pg_monitor;

-- read-your-writes: every application role needs them, and they reveal no
-- more than PUBLIC reads already (pg_current_wal_insert_lsn(),
-- pg_stat_subscription); a wait holds only the caller's own session
GRANT EXECUTE ON FUNCTION scribe.replication_commit_lsn() TO PUBLIC;
GRANT EXECUTE ON FUNCTION scribe.replication_wait_lsn(pg_lsn, interval, name, boolean) TO PUBLIC;
-- pg_scribe schema, last part: the state that needs the functions (run once,
-- by CREATE EXTENSION, after the function files).

-- The built-in queues, through the queue's own checks: ocr for the document
-- pipeline, lifecycle for the policies' runs
SELECT scribe.queue_create('ocr', consumer => 'workers', lease => '10 minutes', max_attempts => 3,
                           backoff_base => '5 seconds', backoff_cap => '1 minute', retention => '1 day');
SELECT scribe.queue_create('lifecycle', consumer => 'workers', lease => '1 hour', max_attempts => 5,
                           backoff_base => '10 seconds', backoff_cap => '10 minutes', retention => '1 day');

-- The archive partitions of the coming days (the launcher keeps making them)
SELECT scribe._archive_partitions_ensure();

-- The built-in policy scribe.cache_events: purge the cache events older than a
-- day (lifecycle_check.sql's _policy_check fills in its settings), first run an
-- hour after CREATE EXTENSION like scribe.history
INSERT INTO scribe.policies (name, kind, target, settings, schedule, owner, next_run_at)
SELECT 'scribe.cache_events', 'purge', 'scribe.cache_events',
       scribe._policy_check('purge', 'scribe.cache_events', 'scribe.cache_events'::regclass, NULL,
                            '{"column": "recorded_at", "older_than": "1 day"}', o.owner, o.owner, NULL, NULL, NULL),
       '1 hour', o.owner, now() + interval '1 hour'
FROM (SELECT extowner::regrole AS owner FROM pg_extension WHERE extname = 'pg_scribe') o;
