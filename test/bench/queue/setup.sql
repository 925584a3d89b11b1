-- Queue benchmark (test/bench/queue.sh): the objects every case uses.
-- Runs once, as superuser, in the database of scribe.database.

CREATE EXTENSION pg_scribe;
CREATE EXTENSION pgq;

CREATE SCHEMA bench;

-- The physical ceiling of an enqueue: an INSERT into a table without any index
CREATE TABLE bench.bare (payload jsonb NOT NULL);

-- (d): the no-op job the worker pool runs
CREATE FUNCTION bench.noop(args jsonb) RETURNS void LANGUAGE sql AS $$ $$;

-- (e): commit-to-start latency; sent_at is clock_timestamp() just before the
-- producer's COMMIT, started_at the consumer's clock when the job starts
CREATE TABLE bench.latency (
    system     text NOT NULL,
    i          integer NOT NULL,
    sent_at    timestamptz NOT NULL,
    started_at timestamptz NOT NULL
);
CREATE FUNCTION bench.record_start(args jsonb) RETURNS void LANGUAGE sql AS $$
    INSERT INTO bench.latency (system, i, sent_at, started_at)
    VALUES ('pg_scribe', (args->>'i')::integer, (args->>'t')::timestamptz, clock_timestamp())
$$;

-- (f): shared buffers (hit + read) one statement touches, from
-- EXPLAIN (ANALYZE, BUFFERS); the statement's effects (row locks) are rolled back
CREATE FUNCTION bench.buffers(stmt text) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    plan json;
BEGIN
    BEGIN
        EXECUTE 'EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ' || stmt INTO plan;
        RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'roll back';
    EXCEPTION WHEN raise_exception THEN
        NULL;
    END;
    RETURN (plan->0->'Plan'->>'Shared Hit Blocks')::integer
         + (plan->0->'Plan'->>'Shared Read Blocks')::integer;
END
$$;

-- The textbook queue, as blog posts and tutorials write it: a table, a
-- status with a lease, FOR UPDATE SKIP LOCKED to claim, DELETE to ack.
--   enqueue: INSERT INTO textbook.jobs (payload) VALUES (...)
--   claim:   UPDATE textbook.jobs SET status = 'running', locked_until = now() + interval '5 minutes',
--                   attempts = attempts + 1
--            WHERE id = (SELECT id FROM textbook.jobs WHERE status = 'ready'
--                        ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
--            RETURNING id, payload
--   ack:     DELETE FROM textbook.jobs WHERE id = $1
--   (a reaper, not run here, sets status = 'ready' where locked_until < now())
CREATE SCHEMA textbook;
CREATE TABLE textbook.jobs (
    id           bigserial PRIMARY KEY,
    payload      jsonb NOT NULL,
    status       text NOT NULL DEFAULT 'ready',
    locked_until timestamptz,
    attempts     integer NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX jobs_status_id ON textbook.jobs (status, id);
