-- pg_scribe schema: the queue's tables and the type scribe.claim() returns (run
-- once, by CREATE EXTENSION; the functions are in src/sql/queue.sql).

CREATE TABLE scribe.queues (
    queue_id     integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text NOT NULL UNIQUE
                 CHECK (octet_length(name) BETWEEN 1 AND 63 AND name !~ '[[:cntrl:]]'),
    consumer     text NOT NULL DEFAULT 'workers' CHECK (consumer IN ('workers', 'clients')),
    lease        interval NOT NULL DEFAULT '5 minutes' CHECK (lease > '0'),
    max_attempts integer NOT NULL DEFAULT 5 CHECK (max_attempts BETWEEN 1 AND 1000),
    backoff_base interval NOT NULL DEFAULT '10 seconds' CHECK (backoff_base >= '0'),
    backoff_cap  interval NOT NULL DEFAULT '1 hour' CHECK (backoff_cap >= backoff_base),
    retention    interval NOT NULL DEFAULT '7 days' CHECK (retention >= '0'),
    created_at   timestamptz NOT NULL DEFAULT now(),
    -- who created it (the built-in ones: the bootstrap superuser); its
    -- members manage the queue and grant its rights (scribe.queue_grant)
    owner        regrole NOT NULL
);

-- The rights on a queue that its owner gave other roles (scribe.queue_grant):
-- send (send, send_batch) and claim (claim, ack, nack, release,
-- extend_lease, job_get of its jobs).  No row: no right.  A role dropped
-- leaves its rows, which no role matches any more, until the launcher
-- deletes them (scribe._queue_roles_forget).
CREATE TABLE scribe.queue_rights (
    queue_id  integer NOT NULL REFERENCES scribe.queues ON DELETE CASCADE,
    grantee   regrole NOT NULL,
    may_send  boolean NOT NULL,
    may_claim boolean NOT NULL,
    PRIMARY KEY (queue_id, grantee),
    CHECK (may_send OR may_claim)
);

-- Unfinished jobs: ready, delayed (run_at in the future, including retries
-- after a nack) and in flight (leased).  Claiming only sets columns that no
-- index covers, so a claim is a HOT update.  lease is the unguessable token
-- of the current (or last) claim: ack, nack and extend_lease need it.  The
-- times are finite: ages and waits are differences of them.
CREATE TABLE scribe.jobs (
    job_id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_at          timestamptz NOT NULL,
    enqueued_at     timestamptz NOT NULL,
    lease_until     timestamptz,
    claimed_at      timestamptz,
    queue_id        integer NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    max_attempts    integer NOT NULL,
    claimed_by      integer,
    enqueued_by     regrole NOT NULL,
    priority        smallint NOT NULL DEFAULT 0,
    lease           uuid,
    kind            text,
    idempotency_key text,
    payload         jsonb NOT NULL,
    errors          jsonb,
    CONSTRAINT jobs_times_finite CHECK (run_at > '-infinity' AND run_at < 'infinity'
                                        AND enqueued_at > '-infinity' AND enqueued_at < 'infinity')
) WITH (fillfactor = 80,
        autovacuum_vacuum_scale_factor = 0.01,
        autovacuum_vacuum_threshold = 1000,
        autovacuum_vacuum_insert_scale_factor = 0.05,
        autovacuum_vacuum_cost_delay = 0);

-- claim: highest priority first, then oldest
CREATE INDEX jobs_claim ON scribe.jobs (queue_id, priority DESC, run_at, job_id);
-- next due time, delayed counts, oldest ready job
CREATE INDEX jobs_due ON scribe.jobs (queue_id, run_at);
-- an idempotency key is unique per queue and sending role
CREATE UNIQUE INDEX jobs_idempotency ON scribe.jobs (queue_id, enqueued_by, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

-- Finished jobs, one partition per day (UTC); retention drops partitions.
CREATE TABLE scribe.jobs_archive (
    job_id          bigint NOT NULL,
    finished_at     timestamptz NOT NULL,
    run_at          timestamptz NOT NULL,
    enqueued_at     timestamptz NOT NULL,
    claimed_at      timestamptz,
    queue_id        integer NOT NULL,
    attempts        integer NOT NULL,
    enqueued_by     regrole NOT NULL,
    priority        smallint NOT NULL,
    kind            text,
    idempotency_key text,
    payload         jsonb NOT NULL,
    result          jsonb,
    errors          jsonb
) PARTITION BY RANGE (finished_at);
CREATE INDEX jobs_archive_job_id ON scribe.jobs_archive (job_id);
-- catches rows outside the partitions the launcher keeps ahead (clock jumps)
CREATE TABLE scribe.jobs_archive_default PARTITION OF scribe.jobs_archive DEFAULT;

-- Dead letters: jobs out of attempts (or failed for good), with every error.
CREATE TABLE scribe.jobs_dead (
    job_id          bigint PRIMARY KEY,
    died_at         timestamptz NOT NULL,
    run_at          timestamptz NOT NULL,
    enqueued_at     timestamptz NOT NULL,
    claimed_at      timestamptz,
    queue_id        integer NOT NULL,
    attempts        integer NOT NULL,
    max_attempts    integer NOT NULL,
    enqueued_by     regrole NOT NULL,
    priority        smallint NOT NULL,
    kind            text,
    idempotency_key text,
    payload         jsonb NOT NULL,
    errors          jsonb
);
CREATE INDEX jobs_dead_queue ON scribe.jobs_dead (queue_id, died_at);

-- pg_dump keeps the unfinished jobs and the dead letters (extension tables
-- are skipped otherwise), and the sequence, so that job ids keep growing
-- after a restore.  A job in flight when the dump ran is restored with its
-- lease, and is claimed again once the lease has passed.  The archive's
-- default partition is kept; its daily partitions are not yet (the ones
-- created with the extension are members of it, those the launcher makes
-- later are dumped as plain tables and race the launcher on restore): the
-- lifecycle work on partitions settles that.
SELECT pg_catalog.pg_extension_config_dump('scribe.jobs', '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('scribe.jobs', 'job_id'), '');
SELECT pg_catalog.pg_extension_config_dump('scribe.jobs_archive_default', '');
SELECT pg_catalog.pg_extension_config_dump('scribe.jobs_dead', '');

-- A job as scribe.claim() hands it to a consumer
CREATE TYPE scribe.claimed_job AS (
    job_id       bigint,
    lease        uuid,
    attempt      integer,
    max_attempts integer,
    kind         text,
    payload      jsonb,
    priority     integer,
    enqueued_at  timestamptz,
    lease_until  timestamptz
);

-- pg_dump keeps the users' queues; the built-in ones (ocr, lifecycle: made by
-- schema/post_install.sql) come back with the extension
SELECT pg_catalog.pg_extension_config_dump('scribe.queues', 'WHERE name NOT IN (''ocr'', ''lifecycle'')');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('scribe.queues', 'queue_id'), '');
-- and every queue's rights, the built-in ones' too (a worker node's claim on ocr)
SELECT pg_catalog.pg_extension_config_dump('scribe.queue_rights', '');
