-- pg_scribe schema: replication's tables (run once, by CREATE EXTENSION; the
-- functions are in src/sql/replication.sql).

-- One row per node, kept fresh by that node's launcher.  Published to
-- replicas, it tells them how fresh their copy of each node's data is.
CREATE TABLE scribe.heartbeat (
    node_name       text PRIMARY KEY,
    beat_at         timestamptz NOT NULL,
    library_version text NOT NULL
);

-- The subscription that makes this node a read replica (at most one row;
-- scribe.replication_subscribe() adds it, scribe.replication_unsubscribe() removes it).  Not
-- published: each node has its own.
CREATE TABLE scribe.subscriptions (
    subscription  name PRIMARY KEY,
    publication   name NOT NULL,
    slot_name     text NOT NULL,
    subscribed_at timestamptz NOT NULL DEFAULT now(),
    one_row       boolean NOT NULL DEFAULT true UNIQUE CHECK (one_row)
);
SELECT pg_catalog.pg_extension_config_dump('scribe.subscriptions', '');
