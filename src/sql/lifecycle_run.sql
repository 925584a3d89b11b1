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
