-- pg_scribe functions: replication: heartbeats, the publication replicas
-- read, the replica role, and the state of replication on either side.

-- Comments and grants of the tables in schema/replication.sql
COMMENT ON TABLE scribe.heartbeat IS 'Last heartbeat of each pg_scribe node (written by its launcher every scribe.heartbeat_interval)';
GRANT SELECT ON scribe.heartbeat TO pg_monitor;
COMMENT ON TABLE scribe.subscriptions IS 'The subscription through which this node is a read replica (scribe.replication_subscribe); empty on a primary';
GRANT SELECT ON scribe.subscriptions TO pg_monitor;

-- This node's role, for health() and metrics(): one definition of it
CREATE OR REPLACE FUNCTION scribe._node_role() RETURNS text
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT CASE WHEN EXISTS (SELECT FROM scribe.subscriptions) THEN 'replica'
                WHEN coalesce(current_setting('scribe.queue_conninfo', true), '') <> '' THEN 'worker node'
                ELSE 'primary' END
$$;
COMMENT ON FUNCTION scribe._node_role() IS 'Internal: primary, replica (scribe.replication_subscribe) or worker node (scribe.queue_conninfo)';

-- How old a node's heartbeat may grow before the node counts as stale: three
-- of this node's scribe.heartbeat_interval and 10 s (NULL when heartbeats are
-- off here: this node then judges no one).  For health(), metrics() and
-- node_forget(): one definition of it.
CREATE OR REPLACE FUNCTION scribe._heartbeat_stale_after() RETURNS interval
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
    -- pg_settings shows the raw seconds (current_setting says '10s')
    SELECT CASE WHEN s.setting::integer > 0 THEN make_interval(secs => 3 * s.setting::integer + 10) END
    FROM pg_settings s WHERE s.name = 'scribe.heartbeat_interval'
$$;
COMMENT ON FUNCTION scribe._heartbeat_stale_after() IS 'Internal: how old a heartbeat may be before its node is stale (3 x scribe.heartbeat_interval + 10 s; NULL when heartbeats are off here)';

-- Forget a node: delete its row of scribe.heartbeat.  A node renamed
-- (scribe.node_name) or retired leaves its row behind, stale for ever; the
-- delete on the primary replicates to the replicas.
CREATE OR REPLACE FUNCTION scribe.node_forget(node_name text, force boolean DEFAULT false) RETURNS void
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    this_node text := (SELECT l.node_name FROM scribe._library_status() l);
    stale_after interval := scribe._heartbeat_stale_after();
    beat timestamptz;
BEGIN
    IF node_forget.node_name IS NULL OR node_forget.force IS NULL THEN
        RAISE EXCEPTION 'node_name and force must not be NULL'
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'SELECT node_name, beat_at FROM scribe.heartbeat lists the nodes this node knows.';
    END IF;
    IF node_forget.node_name = this_node THEN
        RAISE EXCEPTION 'node "%" is this node', node_forget.node_name
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Its launcher writes this row every scribe.heartbeat_interval. Forget the old name of a node that was renamed or retired, from another node or after the rename.';
    END IF;
    SELECT h.beat_at INTO beat FROM scribe.heartbeat h WHERE h.node_name = node_forget.node_name FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'node "%" has no heartbeat here', node_forget.node_name
            USING ERRCODE = 'undefined_object',
                  HINT = 'SELECT node_name, beat_at FROM scribe.heartbeat lists the nodes this node knows.';
    END IF;
    IF NOT node_forget.force THEN
        IF scribe._node_role() = 'replica' THEN
            RAISE EXCEPTION 'this node is a read replica: forget node "%" on the primary', node_forget.node_name
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = 'The primary''s delete replicates here. force => true deletes this copy only: right for a row the primary does not have (this replica''s own old name); a row the primary still has would then miss its updates here.';
        END IF;
        IF stale_after IS NULL THEN
            RAISE EXCEPTION 'heartbeats are off on this node: it cannot tell whether node "%" is alive', node_forget.node_name
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = 'Check that the node is stopped or renamed, then pass force => true (scribe.heartbeat_interval is 0 here).';
        END IF;
        IF beat >= clock_timestamp() - stale_after THEN
            RAISE EXCEPTION 'node "%" beat % ago: it looks alive', node_forget.node_name,
                    date_trunc('second', clock_timestamp() - beat)
                USING ERRCODE = 'object_in_use',
                      DETAIL = format('A node is stale after %s without a heartbeat (3 x scribe.heartbeat_interval + 10 s).', stale_after),
                      HINT = 'Stop that node or change its scribe.node_name first; force => true forgets it anyway, and a live node''s launcher writes its row again at its next beat.';
        END IF;
    END IF;
    DELETE FROM scribe.heartbeat h WHERE h.node_name = node_forget.node_name;
END
$$;
COMMENT ON FUNCTION scribe.node_forget(text, boolean) IS 'Forget a node renamed or retired: delete its heartbeat row (on the primary, the delete replicates); refused for this node, for a node whose heartbeat is fresh and on a replica unless force => true';

CREATE OR REPLACE FUNCTION scribe._replica_tables() RETURNS regclass[]
    LANGUAGE sql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
    AS $$ SELECT ARRAY['scribe.heartbeat', 'scribe.documents', 'scribe.document_pages',
                       'scribe.ocr_ledger', 'scribe.cache_events']::regclass[] $$;
COMMENT ON FUNCTION scribe._replica_tables() IS 'Internal: the tables of pg_scribe that scribe.replication_publish() publishes';

CREATE OR REPLACE FUNCTION scribe.replication_publish(tables regclass[] DEFAULT '{}', publication name DEFAULT 'scribe')
    RETURNS SETOF regclass
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    own regclass[] := scribe._replica_tables();
    t regclass;
    rel record;
    published regclass[];
BEGIN
    IF tables IS NULL OR publication IS NULL THEN
        RAISE EXCEPTION 'tables and publication must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF current_setting('wal_level') <> 'logical' THEN
        RAISE EXCEPTION 'wal_level is %, not logical', current_setting('wal_level')
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'ALTER SYSTEM SET wal_level = logical, then restart the server.';
    END IF;
    IF EXISTS (SELECT FROM scribe.subscriptions) THEN
        RAISE EXCEPTION 'this node is a read replica'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Publish on the primary; scribe.replication_unsubscribe() makes this node a primary again.';
    END IF;
    FOREACH t IN ARRAY tables LOOP
        SELECT c.relkind, c.relreplident, c.relnamespace = 'scribe'::regnamespace AS ours,
               EXISTS (SELECT FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary) AS has_pkey
        INTO rel FROM pg_class c WHERE c.oid = t;
        IF rel.ours AND t <> ALL (own) THEN
            RAISE EXCEPTION '% is not published: it stays on the primary', t
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Replicas receive pg_scribe''s documents, pages, ledger, heartbeats and cache events; queues and jobs stay on the primary, where worker nodes claim them.';
        END IF;
        IF rel.relkind NOT IN ('r', 'p') THEN
            RAISE EXCEPTION '% is not a table', t
                USING ERRCODE = 'wrong_object_type',
                      HINT = 'Publish the tables a view or materialized view reads, and create it on the replica.';
        END IF;
        -- without a replica identity, UPDATE and DELETE on the table would fail on this node
        IF rel.relreplident = 'n' OR (rel.relreplident = 'd' AND NOT rel.has_pkey) THEN
            RAISE EXCEPTION 'table % has no replica identity', t
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = format('Add a primary key, or ALTER TABLE %s REPLICA IDENTITY FULL (UPDATE and DELETE then log whole old rows): once published, a table without one refuses UPDATE and DELETE.', t);
        END IF;
    END LOOP;

    SELECT array_agg(DISTINCT x ORDER BY x) INTO published FROM unnest(own || tables) AS x;
    IF EXISTS (SELECT FROM pg_publication WHERE pubname = publication) THEN
        EXECUTE format('ALTER PUBLICATION %I SET TABLE %s', publication, array_to_string(published, ', '));
        EXECUTE format('ALTER PUBLICATION %I SET (publish_via_partition_root = true)', publication);
    ELSE
        EXECUTE format('CREATE PUBLICATION %I FOR TABLE %s WITH (publish_via_partition_root = true)',
                       publication, array_to_string(published, ', '));
    END IF;
    RETURN QUERY SELECT unnest(published);
END
$$;
COMMENT ON FUNCTION scribe.replication_publish(regclass[], name) IS 'Create or update the publication replicas subscribe to: pg_scribe''s documents, pages, ledger, heartbeats and cache events, plus the tables given';

CREATE OR REPLACE FUNCTION scribe.replication_subscribe(conninfo text, publication name DEFAULT 'scribe',
                                 subscription name DEFAULT 'scribe',
                                 disable_on_error boolean DEFAULT true)
    RETURNS text
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_subscribe';
COMMENT ON FUNCTION scribe.replication_subscribe(text, name, name, boolean) IS 'Make this node a read replica: subscribe to the primary''s publication (the slot is made on the primary); returns the slot''s name';

CREATE OR REPLACE FUNCTION scribe.replication_unsubscribe() RETURNS void
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_unsubscribe';
COMMENT ON FUNCTION scribe.replication_unsubscribe() IS 'Drop the replica''s subscription and its slot on the primary: this node is a primary again, with the data it had';

CREATE OR REPLACE FUNCTION scribe.replication_status(
    OUT side text, OUT name text, OUT state text, OUT pid integer, OUT tables_syncing integer,
    OUT lag_bytes numeric, OUT lag interval, OUT last_message_at timestamptz,
    OUT errors bigint, OUT problem text)
    RETURNS SETOF record
    LANGUAGE sql STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
    WITH sub AS (
        SELECT s.oid, s.subname, s.subenabled, w.pid, w.received_lsn, w.last_msg_send_time,
               w.last_msg_receipt_time,
               greatest(o.remote_lsn, w.latest_end_lsn) AS applied,
               coalesce(st.apply_error_count + st.sync_error_count, 0) AS errors,
               (SELECT count(*)::integer FROM pg_subscription_rel r
                WHERE r.srsubid = s.oid AND r.srsubstate <> 'r') AS syncing
        FROM pg_subscription s
        LEFT JOIN pg_stat_subscription w ON w.subid = s.oid AND w.relid IS NULL
        LEFT JOIN pg_stat_subscription_stats st ON st.subid = s.oid
        LEFT JOIN pg_replication_origin_status o ON o.external_id = 'pg_' || s.oid
        WHERE s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())
    ), slot AS (
        SELECT sl.slot_name, sl.active, sl.active_pid, sl.wal_status, r.state, r.replay_lag, r.reply_time,
               CASE WHEN NOT pg_is_in_recovery()
                    THEN greatest(pg_current_wal_lsn() - sl.confirmed_flush_lsn, 0) END AS behind,
               CASE WHEN NOT pg_is_in_recovery()
                    THEN pg_current_wal_lsn() - sl.restart_lsn END AS kept
        FROM pg_replication_slots sl
        LEFT JOIN pg_stat_replication r ON r.pid = sl.active_pid
        WHERE sl.slot_type = 'logical' AND sl.database = current_database() AND NOT sl.temporary
    )
    SELECT 'subscriber', subname::text,
           CASE WHEN NOT subenabled THEN 'disabled' WHEN pid IS NULL THEN 'stopped'
                WHEN syncing > 0 THEN 'syncing' ELSE 'streaming' END,
           pid, syncing,
           -- received from the primary and not applied yet
           greatest(received_lsn - applied, 0),
           CASE WHEN received_lsn > applied THEN clock_timestamp() - last_msg_send_time
                WHEN pid IS NOT NULL THEN interval '0' END,
           last_msg_receipt_time, errors,
           CASE WHEN NOT subenabled AND errors > 0
                THEN format('disabled after %s error(s): fix the cause the server log names, then ALTER SUBSCRIPTION %I ENABLE', errors, subname)
                WHEN NOT subenabled THEN format('disabled: ALTER SUBSCRIPTION %I ENABLE resumes it', subname)
                WHEN pid IS NULL THEN 'no apply worker runs: is the primary reachable? (the server log says)'
           END
    FROM sub
    UNION ALL
    SELECT 'publisher', slot_name::text,
           CASE WHEN wal_status = 'lost' THEN 'lost' WHEN active THEN coalesce(state, 'streaming') ELSE 'inactive' END,
           active_pid, NULL,
           behind,
           coalesce(replay_lag, CASE WHEN behind = 0 THEN interval '0' END),
           reply_time, NULL,
           CASE WHEN wal_status = 'lost' THEN 'the slot lost WAL its subscriber needs: subscribe that replica again'
                WHEN NOT active THEN format('no subscriber streams from this slot, so this server keeps WAL for it (%s so far)', pg_size_pretty(kept))
           END
    FROM slot
    ORDER BY 1 DESC, 2
$$;
COMMENT ON FUNCTION scribe.replication_status() IS 'Logical replication as this node sees it: each subscription (on a replica) and each slot (on a primary), with state, lag in bytes and time, errors and the problem, if any';

REVOKE ALL ON FUNCTION scribe._replica_tables() FROM PUBLIC;
REVOKE ALL ON FUNCTION scribe._heartbeat_stale_after() FROM PUBLIC;
REVOKE ALL ON FUNCTION scribe.node_forget(text, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION scribe._node_role() FROM PUBLIC;
REVOKE ALL ON FUNCTION scribe.replication_publish(regclass[], name) FROM PUBLIC;
REVOKE ALL ON FUNCTION scribe.replication_subscribe(text, name, name, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION scribe.replication_unsubscribe() FROM PUBLIC;
REVOKE ALL ON FUNCTION scribe.replication_status() FROM PUBLIC;
