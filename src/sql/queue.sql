-- pg_scribe functions: the queue (the broker) and its jobs.
--
-- A queue is a named policy; a job is one unit of work in a queue.  Unfinished
-- jobs live in scribe.jobs (the hot table); a job leaves it when it is acked
-- (to scribe.jobs_archive, partitioned by day) or dead-lettered (to
-- scribe.jobs_dead).  The hot paths (send, claim, ack, nack) are C with saved
-- plans; the administrative functions are SQL behind C entry points that
-- pass their caller on.  Who may use a queue: queue_rights.sql.

-- Comments of the tables in schema/queue.sql
COMMENT ON TABLE scribe.queues IS 'Named queues, their policies and owners (change them with scribe.queue_create / queue_alter / queue_drop)';
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

-- A job's kind and payload while (job_id, lease) names its live lease: the
-- proof, for another capability, that the caller holds that job
CREATE OR REPLACE FUNCTION scribe._job_leased(job_id bigint, lease uuid, OUT kind text, OUT payload jsonb)
    RETURNS SETOF record
    LANGUAGE sql VOLATILE STRICT
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT j.kind, j.payload FROM scribe.jobs j
    WHERE j.job_id = _job_leased.job_id AND j.lease = _job_leased.lease AND j.lease_until > clock_timestamp()
$$;
COMMENT ON FUNCTION scribe._job_leased(bigint, uuid) IS 'Internal: a job''s kind and payload while (job_id, lease) names its live lease; no row otherwise';

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

-- The administrative functions are C functions (src/queue/queue_admin_sql.c)
-- for one reason: to know their caller, which they pass to the internal
-- function that does the work as the bootstrap superuser.  The creator of a
-- queue owns it; its owner's members, scribe_admin's and superusers manage
-- it (scribe._queue_managed, in queue_rights.sql).

-- scribe.queue_create for caller, who owns the new queue
CREATE OR REPLACE FUNCTION scribe._queue_create(
    caller       regrole,
    name         text,
    consumer     text,
    lease        interval,
    max_attempts integer,
    backoff_base interval,
    backoff_cap  interval,
    retention    interval)
    RETURNS scribe.queues
    LANGUAGE plpgsql
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
    INSERT INTO scribe.queues (name, consumer, lease, max_attempts, backoff_base, backoff_cap, retention, owner)
    VALUES (q.name, q.consumer, q.lease, q.max_attempts, q.backoff_base, q.backoff_cap, q.retention, caller)
    RETURNING * INTO q;
    PERFORM scribe._queues_changed();
    RETURN q;
END
$$;
COMMENT ON FUNCTION scribe._queue_create(regrole, text, text, interval, integer, interval, interval, interval) IS 'Internal: scribe.queue_create for caller (called by the C function, as the bootstrap superuser); caller owns the queue';

CREATE OR REPLACE FUNCTION scribe.queue_create(
    name         text,
    consumer     text DEFAULT 'workers',
    lease        interval DEFAULT '5 minutes',
    max_attempts integer DEFAULT 5,
    backoff_base interval DEFAULT '10 seconds',
    backoff_cap  interval DEFAULT '1 hour',
    retention    interval DEFAULT '7 days')
    RETURNS scribe.queues
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_queue_admin_call';
COMMENT ON FUNCTION scribe.queue_create(text, text, interval, integer, interval, interval, interval) IS 'Create a queue with its policy: consumer (workers or clients), lease, max attempts, backoff, retention; the caller owns it';

-- scribe.queue_alter for caller; NULL leaves a setting as it is
CREATE OR REPLACE FUNCTION scribe._queue_alter(
    caller       regrole,
    name         text,
    consumer     text,
    lease        interval,
    max_attempts integer,
    backoff_base interval,
    backoff_cap  interval,
    retention    interval,
    owner        regrole)
    RETURNS scribe.queues
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    q scribe.queues := scribe._queue_managed(caller, _queue_alter.name);
BEGIN
    q.consumer := COALESCE(consumer, q.consumer);
    q.lease := COALESCE(lease, q.lease);
    q.max_attempts := COALESCE(max_attempts, q.max_attempts);
    q.backoff_base := COALESCE(backoff_base, q.backoff_base);
    q.backoff_cap := COALESCE(backoff_cap, q.backoff_cap);
    q.retention := COALESCE(retention, q.retention);
    PERFORM scribe._queue_check_policy(q);
    IF _queue_alter.owner IS NOT NULL AND _queue_alter.owner <> q.owner THEN
        q.owner := scribe._queue_new_owner(caller, q.name, _queue_alter.owner);
    END IF;
    UPDATE scribe.queues SET consumer = q.consumer, lease = q.lease, max_attempts = q.max_attempts,
           backoff_base = q.backoff_base, backoff_cap = q.backoff_cap, retention = q.retention,
           owner = q.owner
    WHERE queue_id = q.queue_id
    RETURNING * INTO q;
    PERFORM scribe._queues_changed();
    RETURN q;
END
$$;
COMMENT ON FUNCTION scribe._queue_alter(regrole, text, text, interval, integer, interval, interval, interval, regrole) IS 'Internal: scribe.queue_alter for caller (called by the C function, as the bootstrap superuser)';

CREATE OR REPLACE FUNCTION scribe.queue_alter(
    name         text,
    consumer     text DEFAULT NULL,
    lease        interval DEFAULT NULL,
    max_attempts integer DEFAULT NULL,
    backoff_base interval DEFAULT NULL,
    backoff_cap  interval DEFAULT NULL,
    retention    interval DEFAULT NULL,
    owner        regrole DEFAULT NULL)
    RETURNS scribe.queues
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_queue_admin_call';
COMMENT ON FUNCTION scribe.queue_alter(text, text, interval, integer, interval, interval, interval, regrole) IS 'Change a queue''s policy or give it to another owner; NULL leaves a setting as it is (jobs already queued keep their max_attempts); for the queue''s owner, scribe_admin and superusers';

-- scribe.queue_drop for caller
CREATE OR REPLACE FUNCTION scribe._queue_drop(caller regrole, name text, force boolean) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    q scribe.queues := scribe._queue_managed(caller, _queue_drop.name);
    unfinished bigint;
BEGIN
    -- wait for transactions enqueueing to this queue, and keep new ones out
    LOCK TABLE scribe.jobs IN SHARE MODE;
    SELECT count(*) INTO unfinished FROM scribe.jobs WHERE queue_id = q.queue_id;
    IF unfinished > 0 AND NOT COALESCE(force, false) THEN
        RAISE EXCEPTION 'queue "%" has % unfinished jobs', q.name, unfinished
            USING ERRCODE = 'dependent_objects_still_exist',
                  HINT = 'Wait for them to finish, or call scribe.queue_drop(name, force => true) to delete them.';
    END IF;
    DELETE FROM scribe.jobs WHERE queue_id = q.queue_id;
    DELETE FROM scribe.jobs_dead WHERE queue_id = q.queue_id;
    DELETE FROM scribe.jobs_archive WHERE queue_id = q.queue_id;
    -- its rights go with it (ON DELETE CASCADE)
    DELETE FROM scribe.queues WHERE queue_id = q.queue_id;
    PERFORM scribe._queues_changed();
END
$$;
COMMENT ON FUNCTION scribe._queue_drop(regrole, text, boolean) IS 'Internal: scribe.queue_drop for caller (called by the C function, as the bootstrap superuser)';

CREATE OR REPLACE FUNCTION scribe.queue_drop(name text, force boolean DEFAULT false) RETURNS void
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_queue_admin_call';
COMMENT ON FUNCTION scribe.queue_drop(text, boolean) IS 'Drop a queue and its rights; refused while it has unfinished jobs unless force => true, which deletes them with its dead letters and archive; for the queue''s owner, scribe_admin and superusers';

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

CREATE OR REPLACE FUNCTION scribe.claim(queue text, n integer DEFAULT 1, lease_for interval DEFAULT NULL,
    wait interval DEFAULT NULL)
    RETURNS SETOF scribe.claimed_job
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_claim';
COMMENT ON FUNCTION scribe.claim(text, integer, interval, interval) IS 'Claim up to n ready jobs (highest priority, then oldest) for lease_for (the queue''s lease by default), waiting up to wait for the first to commit (READ COMMITTED only); ack, nack or extend each with its job_id and the lease token returned with it';

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

-- scribe.requeue for caller
CREATE OR REPLACE FUNCTION scribe._requeue(caller regrole, queue text, job_ids bigint[]) RETURNS bigint
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    qid integer := (scribe._queue_managed(caller, queue)).queue_id;
    moved bigint;
BEGIN
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
COMMENT ON FUNCTION scribe._requeue(regrole, text, bigint[]) IS 'Internal: scribe.requeue for caller (called by the C function, as the bootstrap superuser)';

CREATE OR REPLACE FUNCTION scribe.requeue(queue text, job_ids bigint[] DEFAULT NULL) RETURNS bigint
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_queue_admin_call';
COMMENT ON FUNCTION scribe.requeue(text, bigint[]) IS 'Move dead letters (all of the queue''s, or those listed) back to ready, with a fresh allowance of attempts; returns how many; for the queue''s owner, scribe_admin and superusers';

-- scribe.queue_purge for caller
CREATE OR REPLACE FUNCTION scribe._queue_purge(caller regrole, queue text, what text) RETURNS bigint
    LANGUAGE plpgsql
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
    qid := (scribe._queue_managed(caller, queue)).queue_id;
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
COMMENT ON FUNCTION scribe._queue_purge(regrole, text, text) IS 'Internal: scribe.queue_purge for caller (called by the C function, as the bootstrap superuser)';

CREATE OR REPLACE FUNCTION scribe.queue_purge(queue text, what text DEFAULT 'dead') RETURNS bigint
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_queue_admin_call';
COMMENT ON FUNCTION scribe.queue_purge(text, text) IS 'Delete a queue''s ready jobs, dead letters, archive, or all of them; returns how many rows; for the queue''s owner, scribe_admin and superusers';

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
COMMENT ON FUNCTION scribe.job_get(bigint) IS 'A job''s state (ready, delayed, running, done, dead), attempts, payload, result and errors; for the role that enqueued it and the roles that may claim from its queue';
