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
