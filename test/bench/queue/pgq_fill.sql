-- (d) PgQ: :jobs events, :chunk per transaction, a tick after each chunk
-- (what pgqd's ticker does under load), so a consumer gets batches of :chunk.
-- psql -v jobs=N -v chunk=N
SET bench.jobs = :jobs;
SET bench.chunk = :chunk;
SELECT pgq.create_queue('bench_d');
SELECT pgq.register_consumer('bench_d', 'bench');
DO $$
DECLARE
    jobs integer := current_setting('bench.jobs')::integer;
    chunk integer := current_setting('bench.chunk')::integer;
BEGIN
    FOR lo IN 1..jobs BY chunk LOOP
        PERFORM pgq.insert_event('bench_d', 'job', '{"doc": 42}') FROM generate_series(1, chunk);
        COMMIT;
        PERFORM pgq.ticker('bench_d');
        COMMIT;
    END LOOP;
END
$$;
