-- pg_scribe schema: lifecycle policies' tables and their built-in policy
-- (run once, by CREATE EXTENSION; the functions are in
-- src/sql/lifecycle*.sql; the lifecycle queue is made in schema/post_install.sql).

CREATE TABLE scribe.policies (
    policy_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL UNIQUE
                CHECK (octet_length(name) BETWEEN 1 AND 63 AND name !~ '[[:cntrl:]]'),
    kind        text NOT NULL
                CHECK (kind IN ('partitions', 'purge', 'archive', 'orphans', 'refresh', 'sql')),
    target      text NOT NULL,
    settings    jsonb NOT NULL DEFAULT '{}',
    schedule    text NOT NULL,
    enabled     boolean NOT NULL DEFAULT true,
    owner       regrole NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    next_run_at timestamptz
);

CREATE TABLE scribe.policy_runs (
    run_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    policy_id   bigint NOT NULL REFERENCES scribe.policies ON DELETE CASCADE,
    status      text NOT NULL DEFAULT 'queued'
                CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    queued_at   timestamptz NOT NULL DEFAULT now(),
    started_at  timestamptz,
    finished_at timestamptz,
    clock       timestamptz NOT NULL,
    job_id      bigint,
    plan        jsonb,
    actions     integer NOT NULL DEFAULT 0,
    rows        bigint NOT NULL DEFAULT 0,
    partitions  integer NOT NULL DEFAULT 0,
    bytes       bigint NOT NULL DEFAULT 0,
    done        jsonb NOT NULL DEFAULT '[]',
    attempts    integer NOT NULL DEFAULT 0,
    error       text
);
CREATE INDEX policy_runs_policy ON scribe.policy_runs (policy_id, run_id DESC);

-- pg_dump keeps the users' policies and their history; the built-in ones
-- (scribe.history, and scribe.cache_events of post_install.sql) come back with the extension
SELECT pg_catalog.pg_extension_config_dump('scribe.policies',
    'WHERE name NOT IN (''scribe.history'', ''scribe.cache_events'')');
SELECT pg_catalog.pg_extension_config_dump('scribe.policy_runs', '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('scribe.policies', 'policy_id'), '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('scribe.policy_runs', 'run_id'), '');

-- The built-in policy scribe.history (its procedure, scribe.policy_prune_runs,
-- is in lifecycle_api.sql), first run an hour after CREATE EXTENSION: a
-- pg_restore, which creates the extension then loads the tables, must not
-- meet a run's rows on its way
INSERT INTO scribe.policies (name, kind, target, settings, schedule, owner, next_run_at)
VALUES ('scribe.history', 'sql', 'scribe.policy_prune_runs(jsonb)',
        '{"procedure": "scribe.policy_prune_runs(jsonb)", "args": {"max_age": "30 days", "keep": 1000}}',
        '1 hour', (SELECT extowner FROM pg_extension WHERE extname = 'pg_scribe')::regrole, now() + interval '1 hour');
