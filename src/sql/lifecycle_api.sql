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
