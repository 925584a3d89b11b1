-- pg_scribe install script: lifecycle policies.
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

INSERT INTO scribe.queues (name, consumer, lease, max_attempts, backoff_base, backoff_cap, retention)
VALUES ('lifecycle', 'workers', '1 hour', 5, '10 seconds', '10 minutes', '1 day');

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
COMMENT ON TABLE scribe.policies IS 'Lifecycle policies (change them with scribe.create_policy / alter_policy / drop_policy)';

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
COMMENT ON TABLE scribe.policy_runs IS 'Every run of a policy: times, status, rows, partitions and bytes affected, what was done, the error';

-- pg_dump keeps the users' policies and their history; the built-in one comes back with the extension
SELECT pg_catalog.pg_extension_config_dump('scribe.policies', 'WHERE name <> ''scribe.history''');
SELECT pg_catalog.pg_extension_config_dump('scribe.policy_runs', '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('scribe.policies', 'policy_id'), '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('scribe.policy_runs', 'run_id'), '');

-- The time a policy sees: now(), moved by scribe.policy_clock_offset (tests, rehearsals)
CREATE FUNCTION scribe._policy_clock()
    RETURNS timestamptz
    LANGUAGE sql STABLE
    SET search_path = pg_catalog
    AS $$
    -- pg_settings shows the raw seconds; without the library preloaded there is no setting
    SELECT now() + make_interval(secs => COALESCE(
        (SELECT setting::double precision FROM pg_settings WHERE name = 'scribe.policy_clock_offset'), 0))
$$;

-- Whether a schedule is a cron expression (else an interval)
CREATE FUNCTION scribe._schedule_is_cron(schedule text)
    RETURNS boolean
    LANGUAGE sql IMMUTABLE
    SET search_path = pg_catalog
    AS $$ SELECT btrim(schedule) LIKE '@%' OR cardinality(regexp_split_to_array(btrim(schedule), '\s+')) = 5 $$;

-- When a schedule next fires after a time; ERROR if it is neither a positive interval nor a cron expression
CREATE FUNCTION scribe._schedule_next(schedule text, after timestamptz)
    RETURNS timestamptz
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog
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

-- ERROR 22023 with a message and a hint: a setting a policy cannot take
CREATE FUNCTION scribe._policy_invalid(message text, hint text)
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog
    AS $$
BEGIN
    IF hint IS NULL THEN
        RAISE EXCEPTION '%', message USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RAISE EXCEPTION '%', message USING ERRCODE = 'invalid_parameter_value', HINT = hint;
END
$$;

-- The settings keys a kind takes: ERROR on any other
CREATE FUNCTION scribe._policy_check_keys(kind text, settings jsonb, allowed text[])
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog
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

-- A setting as an interval (or the default); ERROR if it is not one or not positive
CREATE FUNCTION scribe._policy_interval(settings jsonb, key text, fallback interval)
    RETURNS interval
    LANGUAGE plpgsql
    SET search_path = pg_catalog
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

-- A setting as a positive integer (or the default)
CREATE FUNCTION scribe._policy_integer(settings jsonb, key text, fallback integer, lo integer, hi integer)
    RETURNS integer
    LANGUAGE plpgsql
    SET search_path = pg_catalog
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

-- A column of a table that holds time (date, timestamp, timestamptz); ERROR otherwise
CREATE FUNCTION scribe._policy_time_column(tbl regclass, col text)
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog
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

-- The unit and width of a partitions policy's interval setting
CREATE FUNCTION scribe._partition_width(unit text)
    RETURNS interval
    LANGUAGE sql IMMUTABLE
    SET search_path = pg_catalog
    AS $$ SELECT CASE unit WHEN 'day' THEN interval '1 day' WHEN 'week' THEN interval '7 days'
                           WHEN 'month' THEN interval '1 month' END $$;

-- The partitions of a range-partitioned table and their bounds, as UTC wall-clock timestamps
CREATE FUNCTION scribe._partition_bounds(parent regclass,
    OUT partition regclass, OUT is_default boolean, OUT lo timestamp, OUT hi timestamp)
    RETURNS SETOF record
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog
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

-- One bound of FOR VALUES as a UTC wall-clock timestamp (MINVALUE/MAXVALUE: unbounded)
CREATE FUNCTION scribe._partition_bound_value(bound text, keytype regtype, unbounded timestamp)
    RETURNS timestamp
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog
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

-- A UTC wall-clock timestamp as a literal of a partition key's type
CREATE FUNCTION scribe._partition_literal(t timestamp, keytype regtype)
    RETURNS text
    LANGUAGE sql STABLE
    SET search_path = pg_catalog
    AS $$
    SELECT quote_literal(CASE keytype
        WHEN 'timestamptz'::regtype THEN to_char(t, 'YYYY-MM-DD HH24:MI:SS') || '+00'
        WHEN 'date'::regtype THEN to_char(t, 'YYYY-MM-DD')
        ELSE to_char(t, 'YYYY-MM-DD HH24:MI:SS') END)
$$;

-- A relation (or, what = 'procedure', a procedure) named as the caller would
-- name it, on the caller's search_path: its schema-qualified name, or NULL.
-- Only catalog lookups run under that path, never code.
CREATE FUNCTION scribe._policy_resolve(name text, what text, caller regrole, caller_path text)
    RETURNS text
    LANGUAGE plpgsql
    SET search_path = pg_catalog
    AS $$
DECLARE
    who text := quote_ident(caller::text);
    found oid;
BEGIN
    IF name IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM set_config('search_path',
        replace(replace(COALESCE(caller_path, 'pg_catalog'), '"$user"', who), '$user', who), true);
    IF what = 'procedure' THEN
        found := CASE WHEN name LIKE '%(%' THEN to_regprocedure(name)::oid ELSE to_regproc(name)::oid END;
    ELSE
        found := to_regclass(name)::oid;
    END IF;
    PERFORM set_config('search_path', 'pg_catalog', true);
    RETURN CASE WHEN found IS NULL THEN NULL
                WHEN what = 'procedure' THEN found::regprocedure::text
                ELSE found::regclass::text END;
END
$$;

-- Check a policy's target and settings for its kind, names resolved on
-- caller_path; returns the settings with their defaults and qualified names
CREATE FUNCTION scribe._policy_check(kind text, target text, settings jsonb, caller regrole, caller_path text)
    RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path = pg_catalog
    AS $$
DECLARE
    tbl regclass;
    proc regprocedure;
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
        proc := scribe._policy_resolve(target, 'procedure', caller, caller_path)::regprocedure;
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
        IF NOT has_function_privilege(caller, proc, 'EXECUTE') THEN
            RAISE EXCEPTION 'permission denied for procedure %', proc USING ERRCODE = 'insufficient_privilege';
        END IF;
        PERFORM scribe._policy_check_keys(kind, s, ARRAY['args']);
        RETURN jsonb_build_object('procedure', proc::text, 'args', s->'args');
    END IF;

    tbl := scribe._policy_resolve(target, 'relation', caller, caller_path)::regclass;
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
        IF s->>'retention_mode' = 'archive' THEN
            IF s->>'archive_schema' IS NULL OR to_regnamespace(s->>'archive_schema') IS NULL THEN
                RAISE EXCEPTION 'archive schema "%" does not exist', s->>'archive_schema'
                    USING ERRCODE = 'invalid_schema_name',
                          HINT = 'Create the schema first; retention_mode archive moves retired partitions into it.';
            END IF;
            IF NOT has_schema_privilege(caller, to_regnamespace(s->>'archive_schema'), 'CREATE') THEN
                RAISE EXCEPTION 'permission denied for schema %', s->>'archive_schema'
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
        END IF;
        RETURN s;
    WHEN 'purge' THEN
        PERFORM scribe._policy_check_keys(kind, s, ARRAY['column', 'older_than', 'batch_size', 'pause']);
        IF rel.relkind NOT IN ('r', 'p') THEN
            RAISE EXCEPTION '% is not a table', tbl USING ERRCODE = 'wrong_object_type';
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
        PERFORM scribe._policy_check_keys(kind, s,
            ARRAY['column', 'older_than', 'batch_size', 'pause', 'archive_table', 'mark']);
        IF rel.relkind NOT IN ('r', 'p') THEN
            RAISE EXCEPTION '% is not a table', tbl USING ERRCODE = 'wrong_object_type';
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
            s := jsonb_set(s, '{archive_table}', to_jsonb(COALESCE(
                scribe._policy_resolve(s->>'archive_table', 'relation', caller, caller_path), s->>'archive_table')));
            PERFORM scribe._policy_check_archive_table(tbl, s->>'archive_table', caller);
        ELSE
            PERFORM scribe._policy_check_mark(tbl, s->'mark');
        END IF;
        RETURN jsonb_strip_nulls(jsonb_build_object('column', s->>'column',
                                  'older_than', scribe._policy_interval(s, 'older_than', NULL)::text,
                                  'archive_table', (s->>'archive_table')::regclass::text,
                                  'mark', s->'mark',
                                  'batch_size', scribe._policy_integer(s, 'batch_size', 1000, 1, 1000000),
                                  'pause', scribe._policy_interval(s, 'pause', '100 milliseconds')::text));
    WHEN 'orphans' THEN
        PERFORM scribe._policy_check_keys(kind, s, ARRAY['column', 'parent', 'parent_column', 'batch_size', 'pause']);
        IF rel.relkind NOT IN ('r', 'p') THEN
            RAISE EXCEPTION '% is not a table', tbl USING ERRCODE = 'wrong_object_type';
        END IF;
        IF s->>'column' IS NULL OR s->>'parent' IS NULL THEN
            PERFORM scribe._policy_invalid('an orphans policy needs "column" and "parent" (and "parent_column", default the same name)',
                'For example ''{"column": "user_id", "parent": "users", "parent_column": "id"}''.');
        END IF;
        s := jsonb_set(s, '{parent}', to_jsonb(COALESCE(
            scribe._policy_resolve(s->>'parent', 'relation', caller, caller_path), s->>'parent')));
        IF to_regclass(s->>'parent') IS NULL THEN
            RAISE EXCEPTION 'relation "%" does not exist', s->>'parent' USING ERRCODE = 'undefined_table';
        END IF;
        IF NOT has_table_privilege(caller, to_regclass(s->>'parent'), 'SELECT') THEN
            RAISE EXCEPTION 'permission denied for table %', s->>'parent' USING ERRCODE = 'insufficient_privilege';
        END IF;
        -- the comparison must plan: columns exist, types compare
        EXECUTE format('EXPLAIN SELECT 1 FROM %s x WHERE NOT EXISTS (SELECT 1 FROM %s r WHERE r.%I = x.%I)',
                       tbl, to_regclass(s->>'parent'), COALESCE(s->>'parent_column', s->>'column'), s->>'column');
        RETURN jsonb_build_object('column', s->>'column', 'parent', to_regclass(s->>'parent')::text,
                                  'parent_column', COALESCE(s->>'parent_column', s->>'column'),
                                  'batch_size', scribe._policy_integer(s, 'batch_size', 10000, 1, 1000000),
                                  'pause', scribe._policy_interval(s, 'pause', '100 milliseconds')::text);
    WHEN 'refresh' THEN
        PERFORM scribe._policy_check_keys(kind, s, ARRAY['concurrently', 'lock_timeout']);
        IF rel.relkind <> 'm' THEN
            RAISE EXCEPTION '% is not a materialized view', tbl USING ERRCODE = 'wrong_object_type';
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

-- Whether REFRESH ... CONCURRENTLY can use an index of the view: unique, on columns only, without WHERE
CREATE FUNCTION scribe._matview_refreshable_concurrently(mv regclass)
    RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path = pg_catalog
    AS $$
    SELECT EXISTS (SELECT FROM pg_index i
                   WHERE i.indrelid = mv AND i.indisunique AND i.indisvalid
                     AND i.indpred IS NULL AND i.indexprs IS NULL)
$$;

-- An archive table must have the columns of the table it receives, in order
CREATE FUNCTION scribe._policy_check_archive_table(tbl regclass, archive text, caller regrole)
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog
    AS $$
DECLARE
    arc regclass := to_regclass(archive);
BEGIN
    IF arc IS NULL THEN
        RAISE EXCEPTION 'archive table "%" does not exist', archive
            USING ERRCODE = 'undefined_table',
                  HINT = 'Create it with the same columns, for example CREATE TABLE x_archive (LIKE x).';
    END IF;
    IF NOT has_table_privilege(caller, arc, 'INSERT') THEN
        RAISE EXCEPTION 'permission denied for table %', arc USING ERRCODE = 'insufficient_privilege';
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

-- A mark setting: {"column": c, "value": v} with c a column of the table
CREATE FUNCTION scribe._policy_check_mark(tbl regclass, mark jsonb)
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog
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

-- The name of a new partition of parent starting at lo: parent_pYYYYMMDD in
-- parent's schema, or with _2, _3... when a table (a detached partition, say)
-- has that name
CREATE FUNCTION scribe._partition_name(parent regclass, lo timestamp)
    RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog
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

-- The periods (UTC wall-clock starts) of the rows in parent's default partition
CREATE FUNCTION scribe._partition_default_periods(parent regclass, unit text)
    RETURNS SETOF timestamp
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog
    AS $$
DECLARE
    part regclass := (SELECT x.partition FROM scribe._partition_bounds(parent) x WHERE x.is_default);
    keycol text;
    keytype regtype;
BEGIN
    IF part IS NULL THEN
        RETURN;
    END IF;
    SELECT a.attname, a.atttypid INTO keycol, keytype
    FROM pg_partitioned_table pt JOIN pg_attribute a ON a.attrelid = pt.partrelid AND a.attnum = pt.partattrs[0]
    WHERE pt.partrelid = parent;
    RETURN QUERY EXECUTE format('SELECT DISTINCT date_trunc(%L, %s) FROM %s WHERE %I IS NOT NULL', unit,
        CASE WHEN keytype = 'timestamptz'::regtype THEN format('%I AT TIME ZONE ''UTC''', keycol)
             ELSE format('%I::timestamp', keycol) END, part, keycol);
END
$$;

-- What a run of a policy does, in order, at its clock: a jsonb array of actions
CREATE FUNCTION scribe._policy_plan(p scribe.policies, clock timestamptz)
    RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path = pg_catalog
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
    tbl := to_regclass(p.target);
    IF tbl IS NULL THEN
        RAISE EXCEPTION 'the target % of policy "%" no longer exists', p.target, p.name
            USING ERRCODE = 'undefined_table',
                  HINT = 'Drop the policy, or recreate the target under that name.';
    END IF;
    CASE p.kind
    WHEN 'partitions' THEN
        width := scribe._partition_width(s->>'interval');
        first := date_trunc(s->>'interval', clock AT TIME ZONE 'UTC');
        -- the periods of rows that fell into the default partition, the
        -- current one and the premade ones, where nothing covers them yet
        FOR period_start IN
            SELECT t FROM scribe._partition_default_periods(tbl, s->>'interval') t WHERE t < first
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

-- The condition picking one batch of rows of tbl (a leaf table) that match cond, locking them
CREATE FUNCTION scribe._policy_batch(tbl regclass, cond text, batch integer)
    RETURNS text
    LANGUAGE sql STABLE
    SET search_path = pg_catalog
    AS $$
    SELECT format('ctid = ANY (ARRAY(SELECT x.ctid FROM ONLY %s x WHERE %s LIMIT %s FOR UPDATE OF x SKIP LOCKED))',
                  tbl, cond, batch)
$$;

-- The leaf table of tbl holding a row that matches cond (tbl itself if it is not partitioned), or NULL
CREATE FUNCTION scribe._policy_leaf(tbl regclass, cond text)
    RETURNS regclass
    LANGUAGE plpgsql
    SET search_path = pg_catalog
    AS $$
DECLARE
    leaf regclass;
BEGIN
    IF (SELECT relkind FROM pg_class WHERE oid = tbl) <> 'p' THEN
        RETURN tbl;
    END IF;
    EXECUTE format('SELECT x.tableoid::regclass FROM %s x WHERE %s LIMIT 1', tbl, cond) INTO leaf;
    RETURN leaf;
END
$$;

-- Do one action of a run as the policy's owner; again: the same action has more to do
CREATE FUNCTION scribe._policy_act(p scribe.policies, action jsonb,
    OUT rows bigint, OUT partitions integer, OUT bytes bigint, OUT again boolean)
    RETURNS record
    LANGUAGE plpgsql
    SET search_path = pg_catalog
    AS $$
DECLARE
    s jsonb := p.settings;
    tbl regclass := CASE WHEN p.kind <> 'sql' THEN to_regclass(p.target) END;
    part regclass;
    leaf regclass;
    keycol text;
    keytype regtype;
    cond text;
    cols text;
    sql text;
    lock_ms integer := COALESCE(extract(epoch FROM (s->>'lock_timeout')::interval) * 1000, 0)::integer;
    batch integer := (s->>'batch_size')::integer;
BEGIN
    rows := 0; partitions := 0; bytes := 0; again := false;
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
            rows := scribe._run_as(p.owner, format(
                'WITH moved AS (DELETE FROM %s WHERE %I >= %s AND %I < %s RETURNING %s) INSERT INTO %s (%s) SELECT %s FROM moved',
                part, keycol, scribe._partition_literal((action->>'from')::timestamp, keytype),
                keycol, scribe._partition_literal((action->>'to')::timestamp, keytype), cols,
                action->>'partition', cols, cols), lock_ms);
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
    WHEN 'purge', 'archive' THEN
        cond := format('x.%I < %L', s->>'column', action->>'cutoff');
        IF s->'mark' IS NOT NULL THEN
            cond := cond || format(' AND x.%I IS DISTINCT FROM %L', s->'mark'->>'column', s->'mark'->>'value');
        END IF;
        leaf := scribe._policy_leaf(tbl, cond);
        IF leaf IS NOT NULL THEN
            IF action->>'action' = 'purge' THEN
                sql := format('DELETE FROM %s WHERE %s', leaf, scribe._policy_batch(leaf, cond, batch));
            ELSIF s->'mark' IS NOT NULL THEN
                sql := format('UPDATE %s SET %I = %L WHERE %s', leaf, s->'mark'->>'column', s->'mark'->>'value',
                              scribe._policy_batch(leaf, cond, batch));
            ELSE
                cols := (SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute
                         WHERE attrelid = tbl AND attnum > 0 AND NOT attisdropped);
                sql := format('WITH moved AS (DELETE FROM %s WHERE %s RETURNING %s) INSERT INTO %s (%s) SELECT %s FROM moved',
                              leaf, scribe._policy_batch(leaf, cond, batch), cols, s->>'archive_table', cols, cols);
            END IF;
            rows := scribe._run_as(p.owner, sql, 0);
            again := rows > 0;
        END IF;
    WHEN 'orphans' THEN
        cond := format('x.%I IS NOT NULL AND NOT EXISTS (SELECT 1 FROM %s r WHERE r.%I = x.%I)',
                       s->>'column', s->>'parent', s->>'parent_column', s->>'column');
        leaf := scribe._policy_leaf(tbl, cond);
        IF leaf IS NOT NULL THEN
            rows := scribe._run_as(p.owner,
                format('DELETE FROM %s WHERE %s', leaf, scribe._policy_batch(leaf, cond, batch)), 0);
            again := rows > 0;
        END IF;
    WHEN 'refresh' THEN
        PERFORM scribe._run_as(p.owner, format('REFRESH MATERIALIZED VIEW %s%s',
            CASE WHEN (s->>'concurrently')::boolean AND (SELECT relispopulated FROM pg_class WHERE oid = tbl)
                 THEN 'CONCURRENTLY ' ELSE '' END, tbl), lock_ms);
        bytes := pg_total_relation_size(tbl);
    WHEN 'call' THEN
        PERFORM scribe._run_as(p.owner, format('CALL %s(%s)', (s->>'procedure')::regprocedure::regproc,
            CASE WHEN (SELECT pronargs FROM pg_proc WHERE oid = (s->>'procedure')::regprocedure) = 1
                 THEN quote_literal(COALESCE(s->'args', '{}'::jsonb)::text) || '::jsonb' ELSE '' END), 0);
    ELSE
        RAISE EXCEPTION 'unknown policy action %', action->>'action';
    END CASE;
END
$$;

-- Run the next action of a run (a job of kind policy); queues the one after, or finishes the run
CREATE FUNCTION scribe._policy_step(run_id bigint)
    RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path = pg_catalog
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
        r.job_id := scribe.send('lifecycle', jsonb_build_object('run_id', r.run_id), kind => 'policy',
                                delay => NULLIF(pause, '0'));
    END IF;
    UPDATE scribe.policy_runs SET status = r.status, started_at = r.started_at, finished_at = r.finished_at,
           job_id = r.job_id, plan = r.plan, actions = r.actions, rows = r.rows, partitions = r.partitions,
           bytes = r.bytes, done = r.done, error = r.error
    WHERE policy_runs.run_id = r.run_id;
    RETURN jsonb_build_object('run_id', r.run_id, 'action', action->>'action', 'rows', res.rows,
                              'remaining', jsonb_array_length(r.plan));
END
$$;

-- Record a failed attempt at a run's action; final: the run failed
CREATE FUNCTION scribe._policy_failed(run_id bigint, error text, final boolean)
    RETURNS void
    LANGUAGE sql
    SET search_path = pg_catalog
    AS $$
    UPDATE scribe.policy_runs SET attempts = attempts + 1, error = _policy_failed.error,
           status = CASE WHEN final THEN 'failed' ELSE status END,
           finished_at = CASE WHEN final THEN clock_timestamp() END
    WHERE policy_runs.run_id = _policy_failed.run_id
$$;

-- Start a run of a (locked) policy unless one is under way; its run id, or NULL
CREATE FUNCTION scribe._policy_enqueue(p scribe.policies)
    RETURNS bigint
    LANGUAGE plpgsql
    SET search_path = pg_catalog
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

-- The launcher's task: start the runs of the due policies; when the next one is due
CREATE FUNCTION scribe._schedule_policies()
    RETURNS timestamptz
    LANGUAGE plpgsql
    SET search_path = pg_catalog
    AS $$
DECLARE
    p scribe.policies;
BEGIN
    -- a run whose job ended without finishing it (dead-lettered after crashes, purged) failed
    UPDATE scribe.policy_runs r SET status = 'failed', finished_at = clock_timestamp(),
           error = COALESCE(r.error, 'its job ended without finishing the run')
    WHERE r.status IN ('queued', 'running') AND NOT EXISTS (SELECT FROM scribe.jobs j WHERE j.job_id = r.job_id);

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
                USING HINT = 'Fix it with scribe.alter_policy() or disable it; the launcher tries again in 5 minutes.';
            UPDATE scribe.policies SET next_run_at = now() + interval '5 minutes' WHERE policy_id = p.policy_id;
        END;
    END LOOP;
    RETURN (SELECT min(next_run_at) FROM scribe.policies WHERE enabled);
END
$$;

-- The policy named name, locked, if caller may manage it (its owner's member, or a superuser); else ERROR
CREATE FUNCTION scribe._policy_managed(caller regrole, name text)
    RETURNS scribe.policies
    LANGUAGE plpgsql
    SET search_path = pg_catalog
    AS $$
DECLARE
    p scribe.policies;
BEGIN
    SELECT * INTO p FROM scribe.policies WHERE policies.name = _policy_managed.name FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'policy "%" does not exist', name
            USING ERRCODE = 'undefined_object',
                  HINT = 'See the policies in scribe.policy_status.';
    END IF;
    IF NOT pg_has_role(caller, p.owner, 'USAGE') THEN
        RAISE EXCEPTION 'must be a member of % to change policy "%"', p.owner, name
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN p;
END
$$;

-- scribe.create_policy for caller (called by the C function, as the bootstrap superuser)
CREATE FUNCTION scribe._create_policy(caller regrole, name text, kind text, target text, settings jsonb,
                                      schedule text, enabled boolean, caller_path text)
    RETURNS scribe.policies
    LANGUAGE plpgsql
    SET search_path = pg_catalog
    AS $$
DECLARE
    p scribe.policies;
BEGIN
    IF name IS NULL OR schedule IS NULL OR enabled IS NULL THEN
        RAISE EXCEPTION 'a policy needs a name, a schedule and whether it is enabled'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF EXISTS (SELECT FROM scribe.policies WHERE policies.name = _create_policy.name) THEN
        RAISE EXCEPTION 'policy "%" already exists', name
            USING ERRCODE = 'duplicate_object',
                  HINT = 'Change it with scribe.alter_policy().';
    END IF;
    p.settings := scribe._policy_check(kind, target, settings, caller, caller_path);
    p.target := CASE WHEN kind = 'sql' THEN p.settings->>'procedure'
                     ELSE scribe._policy_resolve(target, 'relation', caller, caller_path) END;
    -- the schedule is checked here; an interval starts at once, cron at its next time
    p.next_run_at := scribe._schedule_next(schedule, now());
    IF NOT scribe._schedule_is_cron(schedule) THEN
        p.next_run_at := now();
    END IF;
    INSERT INTO scribe.policies (name, kind, target, settings, schedule, enabled, owner, next_run_at)
    VALUES (name, kind, p.target, p.settings, btrim(schedule), enabled, caller, p.next_run_at)
    RETURNING * INTO p;
    PERFORM scribe._policies_changed();
    RETURN p;
END
$$;

-- scribe.alter_policy for caller; NULL leaves a setting as it is
CREATE FUNCTION scribe._alter_policy(caller regrole, name text, settings jsonb, schedule text, enabled boolean,
                                     caller_path text)
    RETURNS scribe.policies
    LANGUAGE plpgsql
    SET search_path = pg_catalog
    AS $$
DECLARE
    p scribe.policies := scribe._policy_managed(caller, name);
BEGIN
    IF settings IS NOT NULL THEN
        -- the settings given replace those of the same name (null removes one), and
        -- all are checked again, against the target as it is now
        p.settings := scribe._policy_check(p.kind, p.target,
            jsonb_strip_nulls((p.settings - 'procedure') || settings), p.owner, caller_path);
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

-- scribe.drop_policy for caller: the policy and its history
CREATE FUNCTION scribe._drop_policy(caller regrole, name text)
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog
    AS $$
DECLARE
    p scribe.policies := scribe._policy_managed(caller, name);
BEGIN
    IF p.name = 'scribe.history' THEN
        RAISE EXCEPTION 'policy "scribe.history" is built in' USING ERRCODE = 'feature_not_supported',
            HINT = 'Change it with scribe.alter_policy(''scribe.history'', ...), or disable it.';
    END IF;
    DELETE FROM scribe.policies WHERE policy_id = p.policy_id;
END
$$;

-- scribe.run_policy_now for caller: start a run now, or (dry run) report what it would do
CREATE FUNCTION scribe._run_policy_now(caller regrole, name text, dry_run boolean)
    RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path = pg_catalog
    AS $$
DECLARE
    p scribe.policies := scribe._policy_managed(caller, name);
    clock timestamptz := scribe._policy_clock();
    actions jsonb;
    tbl regclass;
    s jsonb;
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

    actions := scribe._policy_plan(p, clock);
    s := p.settings;
    tbl := CASE WHEN p.kind <> 'sql' THEN to_regclass(p.target) END;
    -- batch kinds: how many rows the run would reach now
    IF p.kind IN ('purge', 'archive') THEN
        EXECUTE format('SELECT count(*) FROM %s x WHERE x.%I < %L%s', tbl, s->>'column', actions->0->>'cutoff',
            CASE WHEN s->'mark' IS NOT NULL
                 THEN format(' AND x.%I IS DISTINCT FROM %L', s->'mark'->>'column', s->'mark'->>'value') ELSE '' END)
            INTO n;
        actions := jsonb_set(actions, '{0,rows}', to_jsonb(n));
    ELSIF p.kind = 'orphans' THEN
        EXECUTE format('SELECT count(*) FROM %s x WHERE x.%I IS NOT NULL AND NOT EXISTS (SELECT 1 FROM %s r WHERE r.%I = x.%I)',
                       tbl, s->>'column', s->>'parent', s->>'parent_column', s->>'column') INTO n;
        actions := jsonb_set(actions, '{0,rows}', to_jsonb(n));
    END IF;
    RETURN jsonb_build_object('policy', p.name, 'dry_run', true, 'clock', clock, 'actions', actions);
END
$$;

-- What needs a DBA's eye about a policy, or NULL: too few partitions ahead, a
-- default partition holding rows, failures in a row, no success for too long
CREATE FUNCTION scribe._policy_alert(p scribe.policies, last_success timestamptz, failures bigint)
    RETURNS text
    LANGUAGE plpgsql STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog
    AS $$
DECLARE
    reasons text[] := '{}';
    tbl regclass;
    ahead integer;
    stray bigint;
    period interval;
BEGIN
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

CREATE VIEW scribe.policy_status AS
SELECT p.policy_id, p.name, p.kind, p.target, p.schedule, p.enabled, p.owner, p.next_run_at,
       last.status AS last_status, last.finished_at AS last_finished_at, last.error AS last_error,
       ok.finished_at AS last_success_at, fails.n AS consecutive_failures, current.run_id AS running_run_id,
       scribe._policy_alert(p, ok.finished_at, fails.n) AS alert
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
                   ORDER BY r.run_id DESC LIMIT 1) current ON true;
COMMENT ON VIEW scribe.policy_status IS 'Each policy: next run, last run and its error, last success, failed runs in a row, the run under way, and what needs attention (alert)';

-- The built-in policy's work: forget finished runs older than max_age, and beyond the last keep of each policy
CREATE PROCEDURE scribe.prune_policy_runs(args jsonb)
    LANGUAGE plpgsql
    SET search_path = pg_catalog
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

-- first run an hour after CREATE EXTENSION: a pg_restore, which creates the
-- extension then loads the tables, must not meet a run's rows on its way
INSERT INTO scribe.policies (name, kind, target, settings, schedule, owner, next_run_at)
VALUES ('scribe.history', 'sql', 'scribe.prune_policy_runs(jsonb)',
        '{"procedure": "scribe.prune_policy_runs(jsonb)", "args": {"max_age": "30 days", "keep": 1000}}',
        '1 hour', (SELECT extowner FROM pg_extension WHERE extname = 'pg_scribe')::regrole, now() + interval '1 hour');

-- The policy API: C functions that record the calling role, then run the
-- functions above as the bootstrap superuser (callers need EXECUTE on these
-- only, never rights on the tables)
CREATE FUNCTION scribe.create_policy(
    name     text,
    kind     text,
    target   text,
    settings jsonb DEFAULT '{}',
    schedule text DEFAULT '1 day',
    enabled  boolean DEFAULT true)
    RETURNS scribe.policies
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_create_policy';
COMMENT ON FUNCTION scribe.create_policy(text, text, text, jsonb, text, boolean) IS 'Create a lifecycle policy (kind: partitions, purge, archive, orphans, refresh, sql) on a target the caller owns, with its settings and schedule (an interval or a cron expression)';

CREATE FUNCTION scribe.alter_policy(
    name     text,
    settings jsonb DEFAULT NULL,
    schedule text DEFAULT NULL,
    enabled  boolean DEFAULT NULL)
    RETURNS scribe.policies
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_alter_policy';
COMMENT ON FUNCTION scribe.alter_policy(text, jsonb, text, boolean) IS 'Change a policy: settings given replace those of the same name (null removes one); NULL leaves the rest as it is';

CREATE FUNCTION scribe.drop_policy(name text)
    RETURNS void
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_drop_policy';
COMMENT ON FUNCTION scribe.drop_policy(text) IS 'Drop a policy and its run history';

CREATE FUNCTION scribe.run_policy_now(name text, dry_run boolean DEFAULT false)
    RETURNS jsonb
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_run_policy_now';
COMMENT ON FUNCTION scribe.run_policy_now(text, boolean) IS 'Start a run of a policy now (unless one is under way): its run_id; with dry_run, the actions a run would take now, and the rows it would reach';

CREATE FUNCTION scribe._run_as(role regrole, sql text, lock_timeout_ms integer DEFAULT 0)
    RETURNS bigint
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_run_as';
COMMENT ON FUNCTION scribe._run_as(regrole, text, integer) IS 'Internal: run SQL as a role, with a lock_timeout (0: none); the rows the last statement processed';

CREATE FUNCTION scribe._policies_changed()
    RETURNS void
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_policies_changed';
COMMENT ON FUNCTION scribe._policies_changed() IS 'Internal: policies changed; wake the launcher when the transaction commits';
