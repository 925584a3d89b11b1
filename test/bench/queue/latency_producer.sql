-- (e) Send :jobs jobs one per transaction, :pause_ms apart; each carries its
-- number and clock_timestamp() taken just before its COMMIT.
-- psql -v system=pg_scribe|textbook -v jobs=N -v pause_ms=N
SET bench.system = :'system';
SET bench.jobs = :jobs;
SET bench.pause_ms = :pause_ms;
DO $$
DECLARE
    system text := current_setting('bench.system');
    jobs integer := current_setting('bench.jobs')::integer;
    pause float8 := current_setting('bench.pause_ms')::float8 / 1000;
BEGIN
    FOR i IN 1..jobs LOOP
        IF system = 'pg_scribe' THEN
            PERFORM scribe.send('bench_e',
                jsonb_build_object('function', 'bench.record_start',
                                   'args', jsonb_build_object('i', i, 't', clock_timestamp()::text)),
                kind => 'sql');
        ELSE
            INSERT INTO textbook.jobs (payload)
            VALUES (jsonb_build_object('i', i, 't', clock_timestamp()::text));
        END IF;
        COMMIT;
        PERFORM pg_sleep(pause);
    END LOOP;
END
$$;
