-- (f) Churn :jobs jobs through a queue that keeps about :chunk ready jobs:
-- enqueue :chunk in a transaction, then claim and ack them 1000 at a time, a
-- transaction each.  (send_batch takes 100 jobs a call: see fill.sql.)
-- psql -v system=pg_scribe|textbook -v queue=NAME -v jobs=N -v chunk=N
SET bench.system = :'system';
SET bench.queue = :'queue';
SET bench.jobs = :jobs;
SET bench.chunk = :chunk;
DO $$
DECLARE
    system text := current_setting('bench.system');
    queue text := current_setting('bench.queue');
    jobs integer := current_setting('bench.jobs')::integer;
    chunk integer := current_setting('bench.chunk')::integer;
    per_call constant integer := 100;
    ids bigint[];
BEGIN
    FOR lo IN 1..jobs BY chunk LOOP
        IF system = 'pg_scribe' THEN
            FOR p IN lo..lo + chunk - 1 BY per_call LOOP
                PERFORM count(*) FROM scribe.send_batch(queue,
                    ARRAY(SELECT jsonb_build_object('doc', g) FROM generate_series(p, p + per_call - 1) g));
            END LOOP;
        ELSE
            INSERT INTO textbook.jobs (payload)
            SELECT jsonb_build_object('doc', g) FROM generate_series(lo, lo + chunk - 1) g;
        END IF;
        COMMIT;
        FOR k IN 1..chunk / 1000 LOOP
            IF system = 'pg_scribe' THEN
                PERFORM count(scribe.ack(c.job_id, c.lease)) FROM scribe.claim(queue, 1000) c;
            ELSE
                WITH c AS (
                    UPDATE textbook.jobs SET status = 'running', locked_until = now() + interval '5 minutes',
                           attempts = attempts + 1
                    WHERE id IN (SELECT id FROM textbook.jobs WHERE status = 'ready'
                                 ORDER BY id LIMIT 1000 FOR UPDATE SKIP LOCKED)
                    RETURNING id)
                SELECT array_agg(id) INTO ids FROM c;
                DELETE FROM textbook.jobs WHERE id = ANY (ids);
            END IF;
            COMMIT;
        END LOOP;
    END LOOP;
END
$$;
