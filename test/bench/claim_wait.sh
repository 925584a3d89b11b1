#!/bin/bash
# Claims that wait (issue 17, item 5): how long after a job's commit a
# consumer waiting in scribe.claim(..., wait => ...) has it, on one
# throwaway server with durability on.
#
# BENCH_CONSUMERS consumers each run a procedure that loops: claim one job
# with wait => '5 seconds', note clock_timestamp(), ack, COMMIT (one
# transaction per job, as a client would).  A sender sends BENCH_JOBS jobs,
# one per transaction, BENCH_GAP_MS apart (paced, so that consumers are
# waiting when a job commits: the wake-up is measured, not a backlog), and
# records each job's transaction id.  The latency of a job is the time its
# consumer had it minus its transaction's commit timestamp
# (track_commit_timestamp): commit to return, inside the server, without
# the client's round trip.  Printed: p50, p99 and max in milliseconds.
#
# Not yet: pgmq's read_with_poll in the same run (issue 17 asks for it).
# pgmq 1.11.1's pure-SQL extension is in the npm package
# @electric-sql/pglite-pgmq@0.0.6, file dist/pgmq.tar.gz.
#
# It prints a table and writes it between <!-- claim-wait-bench:begin -->
# and <!-- claim-wait-bench:end --> of docs/benchmarks.md.  Run it with
# `make bench-claim-wait`.  Environment: BENCH_JOBS (default 2000),
# BENCH_CONSUMERS (4), BENCH_GAP_MS (5), BENCH_DOCS (file to write to;
# empty: none), SCRIBE_KEEP=1.
set -euo pipefail
BENCH_SRC=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../bin/lib.sh
. "$BENCH_SRC/../bin/lib.sh"

BENCH_JOBS=${BENCH_JOBS:-2000}
BENCH_CONSUMERS=${BENCH_CONSUMERS:-4}
BENCH_GAP_MS=${BENCH_GAP_MS:-5}
BENCH_DOCS=${BENCH_DOCS-$SCRIBE_ROOT/docs/benchmarks.md}
BEGIN_MARK='<!-- claim-wait-bench:begin -->'
END_MARK='<!-- claim-wait-bench:end -->'

SERVER_CONF=(
    "shared_preload_libraries = 'pg_scribe'"
    "fsync = on"
    "synchronous_commit = on"
    "track_commit_timestamp = on"
    "scribe.max_workers = 0"
    "scribe.heartbeat_interval = 0"
)

scribe_bench_begin
q() { scribe_psql "$@"; }

scribe_bench_prepare
scribe_step "start the benchmark server"
scribe_cluster_start bench "${SERVER_CONF[@]}"
q <<'SQL' >/dev/null
CREATE EXTENSION pg_scribe;
SELECT scribe.queue_create('bench', consumer => 'clients');
CREATE TABLE sent (job_id bigint PRIMARY KEY, xid xid8 NOT NULL);
CREATE TABLE got (job_id bigint PRIMARY KEY, at timestamptz NOT NULL, consumer integer NOT NULL);
-- a consumer: claim, note when, ack, commit; until a wait finds nothing
CREATE PROCEDURE consume(me integer) LANGUAGE plpgsql AS $$
DECLARE
    j record;
    found_one boolean;
BEGIN
    LOOP
        found_one := false;
        FOR j IN SELECT job_id, lease FROM scribe.claim('bench', 1, wait => '5 seconds') LOOP
            INSERT INTO got VALUES (j.job_id, clock_timestamp(), me);
            PERFORM scribe.ack(j.job_id, j.lease);
            found_one := true;
        END LOOP;
        COMMIT;
        EXIT WHEN NOT found_one;
    END LOOP;
END $$;
-- the sender: one job per transaction, paced
CREATE PROCEDURE produce(jobs integer, gap_ms integer) LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1..jobs LOOP
        INSERT INTO sent SELECT scribe.send('bench', jsonb_build_object('i', i)), pg_current_xact_id();
        COMMIT;
        PERFORM pg_sleep(gap_ms / 1000.0);
    END LOOP;
END $$;
SQL

scribe_step "$BENCH_CONSUMERS consumers waiting, $BENCH_JOBS jobs sent ${BENCH_GAP_MS} ms apart"
pids=()
for c in $(seq 1 "$BENCH_CONSUMERS"); do
    q -c "CALL consume($c)" &
    pids+=($!)
done
# the consumers are asleep in their claims before the first send
for _ in $(seq 1 100); do
    [ "$(q -c "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Extension' AND query LIKE 'CALL consume%'")" -ge "$BENCH_CONSUMERS" ] && break
    sleep 0.1
done
q -c "CALL produce($BENCH_JOBS, $BENCH_GAP_MS)"
for p in "${pids[@]}"; do wait "$p"; done

scribe_step "results"
read -r jobs consumers p50 p99 max unclaimed < <(q -F ' ' <<'SQL'
SELECT count(*), count(DISTINCT g.consumer),
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 2),
       round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 2),
       round(max(ms)::numeric, 2),
       (SELECT count(*) FROM sent s WHERE NOT EXISTS (SELECT FROM got g WHERE g.job_id = s.job_id))
FROM (SELECT g.consumer, extract(epoch FROM g.at - pg_xact_commit_timestamp(xid(s.xid))) * 1000 AS ms
      FROM sent s JOIN got g USING (job_id)) g;
SQL
)
SECTION="$SCRIBE_WORK/claim_wait.md"
{
    echo "$BEGIN_MARK"
    echo "## Claims that wait (issue 17)"
    echo
    echo "Reproduce with \`make bench-claim-wait\` (runs \`test/bench/claim_wait.sh\`, under a minute)."
    echo
    scribe_bench_facts
    echo "- PostgreSQL: $(q -c 'SELECT version()'); pg_scribe $(q -c 'SELECT scribe.version()')" \
         "(git $(git -C "$SCRIBE_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown))."
    echo "- Settings beyond initdb's: $(printf '`%s`, ' "${SERVER_CONF[@]}" | sed 's/, $//')."
    echo "- $consumers consumers, each a procedure looping on \`scribe.claim('bench', 1, wait => '5 seconds')\`," \
         "then ack and COMMIT; $jobs jobs sent one per transaction, ${BENCH_GAP_MS} ms apart; $unclaimed left unclaimed." \
         "Latency: the consumer's \`clock_timestamp()\` once the claim returned, less the sender's commit" \
         "timestamp (\`track_commit_timestamp\`, taken before the commit's WAL flush, so the flush is included)," \
         "inside the server: no client round trip."
    echo "- Not yet beside pgmq's \`read_with_poll\` (issue 17 asks for it in the same run)."
    echo
    echo "| case | p50 (ms) | p99 (ms) | max (ms) |"
    echo "|---|---|---|---|"
    echo "| commit to a waiting claim's return | $p50 | $p99 | $max |"
    echo "$END_MARK"
} >"$SECTION"
cat "$SECTION"
if [ -n "$BENCH_DOCS" ]; then
    scribe_docs_section "$BENCH_DOCS" "$SECTION" "$BEGIN_MARK" "$END_MARK"
    echo "written to $BENCH_DOCS"
fi
