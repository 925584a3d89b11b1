-- Wait until pg_scribe's queue :queue has no unfinished job (checking every
-- 10 ms, a transaction each so that no snapshot holds back vacuum), at most
-- :timeout_s seconds; prints the server's clock when it saw the queue empty.
-- psql -v queue=NAME -v timeout_s=N
SET bench.queue = :'queue';
SET bench.timeout_s = :timeout_s;
DO $$
DECLARE
    qid integer := (SELECT queue_id FROM scribe.queues WHERE name = current_setting('bench.queue'));
    deadline timestamptz := clock_timestamp() + current_setting('bench.timeout_s')::float8 * interval '1 second';
BEGIN
    LOOP
        EXIT WHEN NOT EXISTS (SELECT FROM scribe.jobs WHERE queue_id = qid);
        IF clock_timestamp() > deadline THEN
            RAISE EXCEPTION 'queue % not drained after % s', current_setting('bench.queue'),
                current_setting('bench.timeout_s');
        END IF;
        COMMIT;
        PERFORM pg_sleep(0.01);
    END LOOP;
END
$$;
SELECT extract(epoch FROM clock_timestamp());
