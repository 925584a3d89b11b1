-- (e) The textbook queue's consumer: poll every :poll_ms while the queue is
-- empty, otherwise claim, record the start, ack; stop after :jobs jobs.
-- psql -v jobs=N -v poll_ms=N
SET bench.jobs = :jobs;
SET bench.poll_ms = :poll_ms;
DO $$
DECLARE
    jobs integer := current_setting('bench.jobs')::integer;
    poll float8 := current_setting('bench.poll_ms')::float8 / 1000;
    done integer := 0;
    job record;
BEGIN
    WHILE done < jobs LOOP
        UPDATE textbook.jobs SET status = 'running', locked_until = now() + interval '5 minutes',
               attempts = attempts + 1
        WHERE id = (SELECT id FROM textbook.jobs WHERE status = 'ready'
                    ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
        RETURNING id, payload INTO job;
        IF NOT FOUND THEN
            COMMIT;
            PERFORM pg_sleep(poll);
            CONTINUE;
        END IF;
        INSERT INTO bench.latency (system, i, sent_at, started_at)
        VALUES ('textbook', (job.payload->>'i')::integer, (job.payload->>'t')::timestamptz, clock_timestamp());
        DELETE FROM textbook.jobs WHERE id = job.id;
        COMMIT;
        done := done + 1;
    END LOOP;
END
$$;
