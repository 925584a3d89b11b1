-- Fill a queue with :jobs ready jobs, :chunk per transaction; with -v noop=on
-- (pg_scribe only) they are sql jobs that run bench.noop; with -v analyze=on
-- the table is analyzed in the last transaction, before its COMMIT.
-- psql -v system=pg_scribe|textbook -v queue=NAME -v jobs=N -v chunk=N -v noop=on|off -v analyze=on|off
--
-- scribe.send_batch() is called with 100 jobs at a time: in pg_scribe 0.1.0 it
-- reads the ids it returns from memory freed by SPI_finish(), so that with
-- thousands of jobs per call ids come back wrong and the server can crash.
SET bench.system = :'system';
SET bench.queue = :'queue';
SET bench.jobs = :jobs;
SET bench.chunk = :chunk;
SET bench.noop = :'noop';
SET bench.do_analyze = :'analyze';
DO $$
DECLARE
    system text := current_setting('bench.system');
    queue text := current_setting('bench.queue');
    jobs integer := current_setting('bench.jobs')::integer;
    chunk integer := current_setting('bench.chunk')::integer;
    noop boolean := current_setting('bench.noop')::boolean;
    do_analyze boolean := current_setting('bench.do_analyze')::boolean;
    per_call constant integer := 100;
    hi integer;
BEGIN
    FOR lo IN 1..jobs BY chunk LOOP
        hi := least(lo + chunk, jobs + 1);
        IF system = 'pg_scribe' THEN
            FOR p IN lo..hi - 1 BY per_call LOOP
                PERFORM count(*) FROM scribe.send_batch(queue,
                    ARRAY(SELECT CASE WHEN noop THEN '{"function": "bench.noop", "args": {}}'::jsonb
                                      ELSE jsonb_build_object('doc', g) END
                          FROM generate_series(p, least(p + per_call, hi) - 1) g),
                    kind => CASE WHEN noop THEN 'sql' END);
            END LOOP;
        ELSE
            INSERT INTO textbook.jobs (payload)
            SELECT jsonb_build_object('doc', g) FROM generate_series(lo, hi - 1) g;
        END IF;
        IF do_analyze AND hi > jobs THEN
            EXECUTE CASE WHEN system = 'pg_scribe' THEN 'ANALYZE scribe.jobs' ELSE 'ANALYZE textbook.jobs' END;
        END IF;
        COMMIT;
    END LOOP;
END
$$;
