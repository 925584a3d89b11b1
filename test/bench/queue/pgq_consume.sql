-- (d) PgQ: one consumer takes batches until none is left (next_batch,
-- get_batch_events, finish_batch, a transaction per batch); prints the
-- number of events it saw.
SELECT set_config('bench.events', '0', false);
DO $$
DECLARE
    batch bigint;
    events bigint := 0;
BEGIN
    LOOP
        batch := pgq.next_batch('bench_d', 'bench');
        EXIT WHEN batch IS NULL;
        events := events + (SELECT count(*) FROM pgq.get_batch_events(batch));
        PERFORM pgq.finish_batch(batch);
        COMMIT;
    END LOOP;
    PERFORM set_config('bench.events', events::text, false);
END
$$;
SELECT current_setting('bench.events');
