-- pg_scribe functions: capacity_advice(), findings from the live
-- statistics and the history, each with its evidence and what to do.

-- Refuse a threshold of capacity_advice() that is NULL or out of range
CREATE OR REPLACE FUNCTION scribe._advice_check(ok boolean, argument text, must text)
    RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF ok IS NOT TRUE THEN
        RAISE EXCEPTION 'capacity_advice argument % must be %', argument, must
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Leave it out to use its default; docs/reference.md lists the defaults.';
    END IF;
END
$$;
COMMENT ON FUNCTION scribe._advice_check(boolean, text, text) IS 'Internal: refuse a threshold of capacity_advice() that is NULL or out of range';

CREATE OR REPLACE FUNCTION scribe.capacity_advice(
    ocr_p95               interval DEFAULT '30 seconds',
    ocr_backlog_age       interval DEFAULT '5 minutes',
    cache_hit_rate_target real DEFAULT 0.8,
    cache_min_lookups     bigint DEFAULT 1000,
    dead_letters          bigint DEFAULT 1,
    dead_letter_window    interval DEFAULT '1 hour',
    replica_lag           interval DEFAULT '1 minute',
    replica_lag_bytes     bigint DEFAULT 1073741824,
    partition_runway      interval DEFAULT '1 day',
    cloud_cost_share      real DEFAULT 0.5,
    cost_window           interval DEFAULT '30 days',
    OUT finding text, OUT severity text, OUT evidence jsonb, OUT recommendation text)
    RETURNS SETOF record
    LANGUAGE plpgsql VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    r record;
    pool record;
    ocr record;
    p95 interval;
    p95_source text;
    alive integer;
    max_workers integer := current_setting('scribe.max_workers')::integer;
BEGIN
    PERFORM scribe._advice_check(ocr_p95 > interval '0', 'ocr_p95', 'a positive interval');
    PERFORM scribe._advice_check(ocr_backlog_age > interval '0', 'ocr_backlog_age', 'a positive interval');
    PERFORM scribe._advice_check(cache_hit_rate_target BETWEEN 0 AND 1, 'cache_hit_rate_target', 'between 0 and 1');
    PERFORM scribe._advice_check(cache_min_lookups >= 1, 'cache_min_lookups', 'at least 1');
    PERFORM scribe._advice_check(dead_letters >= 1, 'dead_letters', 'at least 1');
    PERFORM scribe._advice_check(dead_letter_window > interval '0', 'dead_letter_window', 'a positive interval');
    PERFORM scribe._advice_check(replica_lag > interval '0', 'replica_lag', 'a positive interval');
    PERFORM scribe._advice_check(replica_lag_bytes >= 0, 'replica_lag_bytes', 'zero or more');
    PERFORM scribe._advice_check(partition_runway > interval '0', 'partition_runway', 'a positive interval');
    PERFORM scribe._advice_check(cloud_cost_share BETWEEN 0 AND 1, 'cloud_cost_share', 'between 0 and 1');
    PERFORM scribe._advice_check(cost_window > interval '0', 'cost_window', 'a positive interval');
    IF NOT (SELECT preloaded FROM scribe._library_status()) THEN
        RAISE EXCEPTION 'capacity_advice needs pg_scribe loaded through shared_preload_libraries'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Add pg_scribe to shared_preload_libraries and restart the server.';
    END IF;

    SELECT count(*)::integer INTO alive FROM scribe._worker_slots() s
    WHERE s.state IN ('starting', 'idle', 'busy');
    SELECT * INTO ocr FROM scribe.queue_stats('ocr', '30 minutes');

    -- OCR time per document: the queue's last 30 minutes, else the last 1000 documents
    p95 := ocr.run_p95;
    p95_source := 'queue_stats(''ocr''), last 30 minutes';
    IF p95 IS NULL THEN
        SELECT make_interval(secs => percentile_cont(0.95) WITHIN GROUP (ORDER BY d.seconds)) INTO p95
        FROM (SELECT x.seconds FROM scribe.documents x WHERE x.status = 'done' AND x.seconds IS NOT NULL
              ORDER BY x.document_id DESC LIMIT 1000) d;
        p95_source := 'scribe.documents, last 1000 recognised';
    END IF;
    IF p95 > ocr_p95 THEN
        RETURN QUERY SELECT 'ocr_p95_high', 'warning',
            jsonb_build_object('run_p95', p95, 'threshold', ocr_p95, 'source', p95_source,
                               'run_p50', ocr.run_p50, 'wait_p95', ocr.wait_p95,
                               'completed_per_minute', round(ocr.completed_per_minute::numeric, 2),
                               'workers', alive, 'scribe.max_workers', max_workers),
            format('OCR takes %s per document at p95 (target %s). A document runs on one core: '
                   'split long documents, and give OCR more cores: raise scribe.max_workers (now %s) while this '
                   'server has idle cores, else add worker nodes (docs/operations.md, "Adding a worker node").',
                   date_trunc('second', p95), ocr_p95, max_workers);
    END IF;

    SELECT * INTO pool FROM scribe._pool_start_status();
    IF pool.short_since IS NOT NULL OR pool.last_short_at > now() - interval '1 hour' THEN
        RETURN QUERY SELECT 'max_worker_processes_exhausted',
            CASE WHEN pool.short_since IS NOT NULL THEN 'critical' ELSE 'warning' END,
            jsonb_build_object('wanted', pool.wanted, 'running', pool.running,
                               'short_since', pool.short_since, 'last_short_at', pool.last_short_at,
                               'shortfalls', pool.shortfalls,
                               'max_worker_processes', pool.max_worker_processes,
                               'scribe.max_workers', max_workers),
            format('The pool wanted %s workers and could run %s: the server''s background worker slots are used up. '
                   'Raise max_worker_processes to at least %s (a restart is needed), or lower scribe.max_workers.',
                   pool.wanted, pool.running, pool.max_worker_processes + pool.wanted - pool.running);
    END IF;

    IF ocr.ready > 0 AND ocr.oldest_ready_age > ocr_backlog_age THEN
        RETURN QUERY SELECT 'ocr_backlog_growing',
            CASE WHEN alive >= max_workers THEN 'critical' ELSE 'warning' END,
            jsonb_build_object('ready', ocr.ready, 'in_flight', ocr.in_flight,
                               'oldest_ready_age', ocr.oldest_ready_age, 'threshold', ocr_backlog_age,
                               'completed_per_minute', round(ocr.completed_per_minute::numeric, 2),
                               'minutes_to_drain', CASE WHEN ocr.completed_per_minute > 0
                                   THEN round((ocr.ready / ocr.completed_per_minute)::numeric, 1) END,
                               'workers', alive, 'scribe.max_workers', max_workers),
            format('%s OCR jobs wait, the oldest for %s: the workers do not keep up. %s',
                   ocr.ready, date_trunc('second', ocr.oldest_ready_age),
                   CASE WHEN alive < max_workers
                        THEN format('The pool runs %s of scribe.max_workers = %s: check health() for workers that cannot start, '
                                    'and lower scribe.jobs_per_worker to start more sooner.', alive, max_workers)
                        ELSE format('All %s workers run: raise scribe.max_workers if this server has idle cores, '
                                    'else add worker nodes (docs/operations.md, "Adding a worker node").', alive) END);
    END IF;

    FOR r IN
        SELECT 'tier' AS scope, s.tier AS name, s.hits, s.misses, s.hit_rate, s.evictions, s.expirations, s.sets,
               s.capacity_bytes, s.used_bytes
        FROM scribe.cache_stats() s
        UNION ALL
        SELECT 'namespace', n.namespace, n.hits, n.misses, n.hit_rate, n.evictions, n.expirations, n.sets,
               NULL, n.bytes
        FROM scribe.cache_namespace_stats() n WHERE n.namespace IS NOT NULL
    LOOP
        CONTINUE WHEN r.hits + r.misses < cache_min_lookups OR r.hit_rate >= cache_hit_rate_target;
        RETURN QUERY SELECT 'cache_hit_rate_low', 'warning',
            jsonb_build_object(r.scope, r.name, 'hits', r.hits, 'misses', r.misses,
                               'hit_rate', round(r.hit_rate::numeric, 3), 'target', cache_hit_rate_target,
                               'sets', r.sets, 'evictions', r.evictions, 'expirations', r.expirations,
                               'capacity_bytes', r.capacity_bytes, 'used_bytes', r.used_bytes),
            format('The cache %s %s answers %s%% of lookups (target %s%%). %s', r.scope, r.name,
                   round(100 * r.hit_rate::numeric, 1), round(100 * cache_hit_rate_target::numeric, 1),
                   CASE WHEN r.evictions > r.sets / 10
                        THEN 'It evicts values to make room: raise scribe.cache_memory (a restart is needed).'
                        WHEN r.expirations > r.sets / 10
                        THEN 'Values expire before they are read again: give them longer TTLs.'
                        ELSE 'Most lookups find nothing stored: cache what is read (scribe.cache_fetch loads on a miss), '
                             'warm it (scribe.cache_warm), and keep the keys stable.' END);
    END LOOP;

    FOR r IN
        SELECT d.queue AS name, d.dead AS n, d.commonest_error AS error, d.commonest_error_count AS error_count
        FROM scribe._queue_dead_letters(dead_letter_window) d
        WHERE d.dead >= dead_letters
        ORDER BY d.queue
    LOOP
        RETURN QUERY SELECT 'dead_letters_growing', 'warning',
            jsonb_build_object('queue', r.name, 'dead', r.n, 'window', dead_letter_window,
                               'commonest_error', r.error, 'commonest_error_count', r.error_count),
            format('%s job(s) of queue %s died in the last %s, %s of them with: %s. '
                   'Fix the cause, then scribe.requeue(%L); more workers would not help.',
                   r.n, r.name, dead_letter_window, r.error_count, COALESCE(r.error, '(no error recorded)'), r.name);
    END LOOP;

    FOR r IN
        SELECT * FROM scribe.replication_status() s
        WHERE s.lag > replica_lag OR s.lag_bytes > replica_lag_bytes
    LOOP
        RETURN QUERY SELECT 'replica_lag_high',
            CASE WHEN r.problem IS NOT NULL THEN 'critical' ELSE 'warning' END,
            jsonb_build_object('side', r.side, 'name', r.name, 'state', r.state, 'lag', r.lag,
                               'lag_bytes', r.lag_bytes, 'lag_target', replica_lag,
                               'lag_bytes_target', replica_lag_bytes, 'problem', r.problem),
            CASE WHEN r.problem IS NOT NULL
                 THEN format('%s %s is %s behind and not catching up: %s', r.side, r.name,
                             pg_size_pretty(r.lag_bytes), r.problem)
                 WHEN r.side = 'subscriber'
                 THEN format('This replica applies changes %s late: it needs more I/O or CPU than it has; read from it '
                             'with scribe.replication_wait_lsn() meanwhile, and keep heavy queries off it.', r.lag)
                 ELSE format('Replica %s confirms changes %s (%s) late: look at its load and at the network; '
                             'its slot keeps WAL on this server until it catches up.',
                             r.name, r.lag, pg_size_pretty(r.lag_bytes)) END;
    END LOOP;

    FOR r IN SELECT * FROM scribe._partition_runway() p
             WHERE p.runway IS NULL OR p.runway < partition_runway OR p.alert LIKE '%future partitions of the%' LOOP
        RETURN QUERY SELECT 'partitions_running_out',
            CASE WHEN r.runway IS NULL OR r.runway <= interval '0' THEN 'critical' ELSE 'warning' END,
            jsonb_build_object('policy', r.policy, 'target', r.target, 'newest_partition_ends', r.newest_end,
                               'runway', r.runway, 'threshold', partition_runway, 'premake', r.premake,
                               'alert', r.alert),
            format('The partitions of %s run out %s. Raise the policy''s premake '
                   '(scribe.policy_alter(%L, settings => ''{"premake": %s}'')), and check in scribe.policy_status() '
                   'that its runs succeed.',
                   r.target, CASE WHEN r.runway IS NULL THEN 'now (there are none)'
                                  WHEN r.runway <= interval '0' THEN 'already'
                                  ELSE 'in ' || justify_interval(date_trunc('minute', r.runway)) END,
                   r.policy, COALESCE(r.premake, 0) + 2);
    END LOOP;

    SELECT sum(l.cost) FILTER (WHERE l.method = 'cloud') AS cloud_cost,
           sum(l.cost) AS total_cost,
           count(*) FILTER (WHERE l.method = 'cloud') AS cloud_pages,
           count(*) FILTER (WHERE l.method = 'local') AS local_pages
    INTO r
    FROM scribe.ocr_ledger l WHERE l.recorded_at > now() - cost_window;
    IF r.total_cost > 0 AND r.cloud_cost / r.total_cost > cloud_cost_share THEN
        RETURN QUERY SELECT 'cloud_cost_share_high', 'info',
            jsonb_build_object('cloud_cost', r.cloud_cost, 'total_cost', r.total_cost,
                               'cloud_share', round(r.cloud_cost / r.total_cost, 3), 'threshold', cloud_cost_share,
                               'cloud_pages', r.cloud_pages, 'local_pages', r.local_pages, 'window', cost_window,
                               'local_cost_of_cloud_pages',
                               round(r.cloud_pages * current_setting('scribe.ocr_cost_local')::numeric, 6)),
            format('The cloud tier is %s%% of the OCR cost of the last %s (%s of %s USD). The local tier costs '
                   'scribe.ocr_cost_local: submit documents with tier => ''local'', and add worker nodes '
                   'for the OCR capacity (docs/operations.md, "Adding a worker node").',
                   round(100 * r.cloud_cost / r.total_cost, 1), cost_window, r.cloud_cost, r.total_cost);
    END IF;
END
$$;
COMMENT ON FUNCTION scribe.capacity_advice(interval, interval, real, bigint, bigint, interval, interval, bigint, interval, real, interval) IS 'Findings from the live statistics and the history (OCR time and backlog, worker slots, cache hit rate, dead letters, replica lag, partitions ahead, cloud OCR cost), each with its evidence and a recommendation; none on a healthy installation';

REVOKE ALL ON FUNCTION scribe.capacity_advice(interval, interval, real, bigint, bigint, interval, interval, bigint, interval, real, interval) FROM PUBLIC;
