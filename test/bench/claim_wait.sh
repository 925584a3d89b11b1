#!/bin/bash
# Claims that wait (issue 17, item 5): how long after a job's commit a
# consumer waiting in scribe.claim(..., wait => ...) has it, beside pgmq's
# read_with_poll, on one throwaway server with durability on, in one run.
#
# Three systems, in turn, each with the same BENCH_CONSUMERS consumers, the
# same BENCH_JOBS jobs and the same pacing:
#   pg_scribe    scribe.claim(queue, 1, wait => '5 seconds')
#   pgmq 100 ms  pgmq.read_with_poll(queue, 30, 1, 5), its default poll
#                interval (poll_interval_ms = 100)
#   pgmq 10 ms   the same with poll_interval_ms = 10 (BENCH_TIGHT_POLL_MS)
#
# Each consumer is a procedure that loops: take one job (waiting), note
# clock_timestamp(), ack it (scribe.ack, pgmq.delete), COMMIT (one
# transaction per job, as a client would); it stops once a wait finds
# nothing.  A sender sends BENCH_JOBS jobs, one per transaction,
# BENCH_GAP_MS apart (paced, so that consumers are waiting when a job
# commits: the wake-up is measured, not a backlog), and records, in the
# same transaction, the job's id and the transaction's id.  The latency of a
# job is the time its consumer had it minus its transaction's commit
# timestamp (track_commit_timestamp): commit to return, inside the server,
# without the client's round trip.  Printed: p50, p99 and max in ms.
#
# The cost of waiting: BENCH_CONSUMERS backends of each system wait (a claim
# or a read_with_poll of 60 s) on an empty queue; their CPU time
# (utime + stime of /proc/<pid>/stat) over BENCH_IDLE_SECONDS, in % of one
# core, all of them together.
#
# pgmq is not in Debian: its pure-SQL extension (pgmq 1.11.1, Apache-2.0) is
# in the npm package @electric-sql/pglite-pgmq@0.0.6 (dist/pgmq.tar.gz).
# The script fetches it once with `npm pack` into BENCH_CACHE (git-ignored),
# checks its SHA-256 and installs pgmq.control and pgmq--1.11.1.sql into the
# private PostgreSQL installation's extension directory (no C library: the
# SQL uses none).
#
# It prints a table and writes it between <!-- claim-wait-bench:begin -->
# and <!-- claim-wait-bench:end --> of docs/benchmarks.md.  Run it with
# `make bench-claim-wait`.  Environment: BENCH_JOBS (default 2000),
# BENCH_CONSUMERS (4), BENCH_GAP_MS (5), BENCH_TIGHT_POLL_MS (10),
# BENCH_IDLE_SECONDS (10), BENCH_CACHE (test/bench/.cache), BENCH_DOCS (file
# to write to; empty: none), SCRIBE_KEEP=1.
set -euo pipefail
BENCH_SRC=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../bin/lib.sh
. "$BENCH_SRC/../bin/lib.sh"

BENCH_JOBS=${BENCH_JOBS:-2000}
BENCH_CONSUMERS=${BENCH_CONSUMERS:-4}
BENCH_GAP_MS=${BENCH_GAP_MS:-5}
BENCH_TIGHT_POLL_MS=${BENCH_TIGHT_POLL_MS:-10}
BENCH_IDLE_SECONDS=${BENCH_IDLE_SECONDS:-10}
BENCH_CACHE=${BENCH_CACHE:-$SCRIBE_ROOT/test/bench/.cache}
BENCH_DOCS=${BENCH_DOCS-$SCRIBE_ROOT/docs/benchmarks.md}
BEGIN_MARK='<!-- claim-wait-bench:begin -->'
END_MARK='<!-- claim-wait-bench:end -->'

# pgmq's default poll interval (read_with_poll's poll_interval_ms)
PGMQ_DEFAULT_POLL_MS=100
PGMQ_NPM=@electric-sql/pglite-pgmq@0.0.6
PGMQ_NPM_FILE=electric-sql-pglite-pgmq-0.0.6.tgz
PGMQ_NPM_SHA256=f0f15fa7fe83cce940f6fce4b5115da7e68c9118463bf584b5dcc5b95912660b
PGMQ_VERSION=1.11.1

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

# Fetch pgmq's extension files into BENCH_CACHE/pgmq-VERSION (once); sets PGMQ_DIR
pgmq_fetch() {
    PGMQ_DIR="$BENCH_CACHE/pgmq-$PGMQ_VERSION"
    [ -f "$PGMQ_DIR/pgmq--$PGMQ_VERSION.sql" ] && [ -f "$PGMQ_DIR/pgmq.control" ] && return 0
    mkdir -p "$BENCH_CACHE"
    tmp=$(mktemp -d "$BENCH_CACHE/fetch.XXXXXX")
    (cd "$tmp" && npm pack --silent --no-audit --no-fund "$PGMQ_NPM" >/dev/null) || {
        echo "npm pack $PGMQ_NPM failed" >&2; rm -rf "$tmp"; return 1; }
    # the files this script was written against, not whatever the name holds now
    echo "$PGMQ_NPM_SHA256  $tmp/$PGMQ_NPM_FILE" | sha256sum -c --quiet - || {
        echo "$PGMQ_NPM: unexpected SHA-256" >&2; rm -rf "$tmp"; return 1; }
    tar -xzf "$tmp/$PGMQ_NPM_FILE" -C "$tmp" package/dist/pgmq.tar.gz package/LICENSE
    tar -xzf "$tmp/package/dist/pgmq.tar.gz" -C "$tmp" \
        share/postgresql/extension/pgmq.control "share/postgresql/extension/pgmq--$PGMQ_VERSION.sql"
    mkdir -p "$PGMQ_DIR.new"
    cp "$tmp/share/postgresql/extension/pgmq.control" \
       "$tmp/share/postgresql/extension/pgmq--$PGMQ_VERSION.sql" "$tmp/package/LICENSE" "$PGMQ_DIR.new/"
    rm -rf "$tmp" "$PGMQ_DIR"
    mv "$PGMQ_DIR.new" "$PGMQ_DIR"
}

# Wait until $1 backends named $2 (application_name) are asleep: in a claim's
# wait (wait event type Extension) or in read_with_poll's pg_sleep
wait_asleep() {
    for _ in $(seq 1 200); do
        [ "$(q -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = '$2'
                   AND (wait_event_type = 'Extension' OR wait_event = 'PgSleep')")" -ge "$1" ] && return 0
        sleep 0.1
    done
    echo "the $2 backends did not fall asleep" >&2
    return 1
}

# CPU ticks (utime + stime) of the processes $@, summed
cpu_ticks() {
    total=0
    for pid in "$@"; do
        stat=$(cat "/proc/$pid/stat")
        # after the command name (in parentheses): state is field 1, utime 12, stime 13
        read -r -a f <<<"${stat##*) }"
        total=$((total + f[11] + f[12]))
    done
    echo "$total"
}

# Latency case: system $1 (its label in the tables sent and got), consumer
# call $2 (a CALL with :me for the consumer's number), sender call $3
latency_case() {
    system=$1; consume=$2; produce=$3
    scribe_step "$system: $BENCH_CONSUMERS consumers waiting, $BENCH_JOBS jobs sent ${BENCH_GAP_MS} ms apart"
    q -c "CHECKPOINT"
    pids=()
    for c in $(seq 1 "$BENCH_CONSUMERS"); do
        q -c "SET application_name = 'bench-consumer'" -c "${consume//:me/$c}" &
        pids+=($!)
    done
    # the consumers are asleep before the first send
    wait_asleep "$BENCH_CONSUMERS" bench-consumer
    q -c "$produce"
    for p in "${pids[@]}"; do wait "$p"; done
}

# Idle case: system $1; BENCH_CONSUMERS backends run statement $2 (a wait of
# 60 s on an empty queue); their CPU over BENCH_IDLE_SECONDS, then statement
# $3 ends their waits.  Sets IDLE_CPU[$1] (% of one core, all together).
declare -A IDLE_CPU=()
idle_case() {
    system=$1; waiting=$2; ending=$3
    scribe_step "$system: $BENCH_CONSUMERS backends waiting on an empty queue, CPU over ${BENCH_IDLE_SECONDS} s"
    pids=()
    for c in $(seq 1 "$BENCH_CONSUMERS"); do
        q -c "SET application_name = 'bench-idle'" -c "$waiting" >/dev/null &
        pids+=($!)
    done
    wait_asleep "$BENCH_CONSUMERS" bench-idle
    mapfile -t backends < <(q -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'bench-idle'")
    t0=$(date +%s.%N); c0=$(cpu_ticks "${backends[@]}")
    sleep "$BENCH_IDLE_SECONDS"
    c1=$(cpu_ticks "${backends[@]}"); t1=$(date +%s.%N)
    IDLE_CPU[$system]=$(awk -v c="$((c1 - c0))" -v hz="$(getconf CLK_TCK)" -v t0="$t0" -v t1="$t1" \
        'BEGIN { printf "%.1f", 100 * c / hz / (t1 - t0) }')
    scribe_note "${#backends[@]} backends: $((c1 - c0)) ticks of CPU, ${IDLE_CPU[$system]} % of one core"
    q -c "$ending" >/dev/null
    for p in "${pids[@]}"; do wait "$p"; done
}

scribe_bench_prepare
scribe_step "pgmq $PGMQ_VERSION ($PGMQ_NPM, npm), into the private installation"
pgmq_fetch || exit 1
cp "$PGMQ_DIR/pgmq.control" "$PGMQ_DIR/pgmq--$PGMQ_VERSION.sql" "$PG_PRIVATE$("$PG_CONFIG" --sharedir)/extension/"
scribe_note "from $PGMQ_DIR"

scribe_step "start the benchmark server"
scribe_cluster_start bench "${SERVER_CONF[@]}"
q <<'SQL' >/dev/null
CREATE EXTENSION pg_scribe;
CREATE EXTENSION pgmq;
SELECT scribe.queue_create('bench', consumer => 'clients');
SELECT scribe.queue_create('idle', consumer => 'clients');
SELECT pgmq.create('bench_poll');
SELECT pgmq.create('bench_tight');
SELECT pgmq.create('idle');
-- what each system's sender sent (job id, transaction id) and when a consumer had it
CREATE TABLE sent (system text, job_id bigint, xid xid8 NOT NULL, PRIMARY KEY (system, job_id));
CREATE TABLE got (system text, job_id bigint, at timestamptz NOT NULL, consumer integer NOT NULL,
                  PRIMARY KEY (system, job_id));
-- a pg_scribe consumer: claim (waiting), note when, ack, commit; until a wait finds nothing
CREATE PROCEDURE consume_scribe(me integer) LANGUAGE plpgsql AS $$
DECLARE
    j record;
    found_one boolean;
BEGIN
    LOOP
        found_one := false;
        FOR j IN SELECT job_id, lease FROM scribe.claim('bench', 1, wait => '5 seconds') LOOP
            INSERT INTO got VALUES ('pg_scribe', j.job_id, clock_timestamp(), me);
            PERFORM scribe.ack(j.job_id, j.lease);
            found_one := true;
        END LOOP;
        COMMIT;
        EXIT WHEN NOT found_one;
    END LOOP;
END $$;
-- a pgmq consumer: read_with_poll (5 s at most, polling every poll_ms), note
-- when, delete, commit; until a wait finds nothing
CREATE PROCEDURE consume_pgmq(system text, queue text, poll_ms integer, me integer) LANGUAGE plpgsql AS $$
DECLARE
    m record;
    found_one boolean;
BEGIN
    LOOP
        found_one := false;
        FOR m IN SELECT msg_id FROM pgmq.read_with_poll(queue, 30, 1, 5, poll_ms) LOOP
            INSERT INTO got VALUES (system, m.msg_id, clock_timestamp(), me);
            PERFORM pgmq.delete(queue, m.msg_id);
            found_one := true;
        END LOOP;
        COMMIT;
        EXIT WHEN NOT found_one;
    END LOOP;
END $$;
-- the sender: one job per transaction, paced
CREATE PROCEDURE produce(system text, queue text, jobs integer, gap_ms integer) LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1..jobs LOOP
        IF system = 'pg_scribe' THEN
            INSERT INTO sent SELECT system, scribe.send(queue, jsonb_build_object('i', i)), pg_current_xact_id();
        ELSE
            INSERT INTO sent SELECT system, id, pg_current_xact_id()
            FROM pgmq.send(queue, jsonb_build_object('i', i)) id;
        END IF;
        COMMIT;
        PERFORM pg_sleep(gap_ms / 1000.0);
    END LOOP;
END $$;
SQL

SYSTEMS=(pg_scribe pgmq_poll pgmq_tight)
declare -A LABEL=(
    [pg_scribe]="pg_scribe \`scribe.claim(..., wait => '5 seconds')\`"
    [pgmq_poll]="pgmq \`read_with_poll\`, poll every $PGMQ_DEFAULT_POLL_MS ms (its default)"
    [pgmq_tight]="pgmq \`read_with_poll\`, poll every $BENCH_TIGHT_POLL_MS ms"
)

latency_case pg_scribe "CALL consume_scribe(:me)" \
    "CALL produce('pg_scribe', 'bench', $BENCH_JOBS, $BENCH_GAP_MS)"
latency_case pgmq_poll "CALL consume_pgmq('pgmq_poll', 'bench_poll', $PGMQ_DEFAULT_POLL_MS, :me)" \
    "CALL produce('pgmq_poll', 'bench_poll', $BENCH_JOBS, $BENCH_GAP_MS)"
latency_case pgmq_tight "CALL consume_pgmq('pgmq_tight', 'bench_tight', $BENCH_TIGHT_POLL_MS, :me)" \
    "CALL produce('pgmq_tight', 'bench_tight', $BENCH_JOBS, $BENCH_GAP_MS)"

idle_case pg_scribe "SELECT count(*) FROM scribe.claim('idle', 1, wait => '60 seconds')" \
    "SELECT scribe.send('idle', '{}') FROM generate_series(1, $BENCH_CONSUMERS)"
idle_case pgmq_poll "SELECT count(*) FROM pgmq.read_with_poll('idle', 30, 1, 60, $PGMQ_DEFAULT_POLL_MS)" \
    "SELECT pgmq.send('idle', '{}') FROM generate_series(1, $BENCH_CONSUMERS)"
q -c "SELECT pgmq.purge_queue('idle')" >/dev/null
idle_case pgmq_tight "SELECT count(*) FROM pgmq.read_with_poll('idle', 30, 1, 60, $BENCH_TIGHT_POLL_MS)" \
    "SELECT pgmq.send('idle', '{}') FROM generate_series(1, $BENCH_CONSUMERS)"

scribe_step "results"
declare -A RES=()
while read -r system jobs consumers p50 p99 max unclaimed; do
    RES[$system]="$jobs $consumers $p50 $p99 $max $unclaimed"
done < <(q -F ' ' <<'SQL'
SELECT s.system, count(g.job_id), count(DISTINCT g.consumer),
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 2),
       round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 2),
       round(max(ms)::numeric, 2),
       count(*) FILTER (WHERE g.job_id IS NULL)
FROM sent s
LEFT JOIN LATERAL (SELECT g.job_id, g.consumer,
                          extract(epoch FROM g.at - pg_xact_commit_timestamp(xid(s.xid))) * 1000 AS ms
                   FROM got g WHERE g.system = s.system AND g.job_id = s.job_id) g ON true
GROUP BY s.system;
SQL
)
jobs_of() { read -r -a r <<<"${RES[$1]}"; echo "${r[$2]}"; }

# CPU of one empty poll: the tight pollers' idle CPU over their polls (one
# an interval each, the query's own time neglected)
POLL_US=$(awk -v cpu="${IDLE_CPU[pgmq_tight]}" -v n="$BENCH_CONSUMERS" -v ms="$BENCH_TIGHT_POLL_MS" \
    'BEGIN { printf "%.0f", cpu / 100 * 1e6 / (n * 1000 / ms) }')

SECTION="$SCRIBE_WORK/claim_wait.md"
{
    echo "$BEGIN_MARK"
    echo "## Claims that wait (issue 17)"
    echo
    echo "Reproduce with \`make bench-claim-wait\` (runs \`test/bench/claim_wait.sh\`, under 2 minutes;" \
         "it fetches pgmq once with \`npm pack\`)."
    echo
    scribe_bench_facts
    echo "- PostgreSQL: $(q -c 'SELECT version()'); pg_scribe $(q -c 'SELECT scribe.version()')" \
         "(git $(git -C "$SCRIBE_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown));" \
         "pgmq $(q -c "SELECT extversion FROM pg_extension WHERE extname = 'pgmq'")" \
         "(its SQL-only extension, from the npm package \`$PGMQ_NPM\`)."
    echo "- Settings beyond initdb's: $(printf '`%s`, ' "${SERVER_CONF[@]}" | sed 's/, $//')."
    echo "- One server, the systems in turn. Each: $BENCH_CONSUMERS consumers, each a procedure looping on" \
         "taking one job (waiting at most 5 s), then ack (\`scribe.ack\`, \`pgmq.delete\`) and COMMIT;" \
         "$BENCH_JOBS jobs sent one per transaction, ${BENCH_GAP_MS} ms apart." \
         "Latency: the consumer's \`clock_timestamp()\` once the call returned, less the sender's commit" \
         "timestamp (\`track_commit_timestamp\`, taken before the commit's WAL flush, so the flush is included)," \
         "inside the server: no client round trip."
    echo "- Idle CPU: $BENCH_CONSUMERS backends waiting 60 s on an empty queue" \
         "(\`scribe.claim(..., wait => '60 seconds')\`, \`pgmq.read_with_poll(..., 60, interval)\`);" \
         "their utime + stime (\`/proc/<pid>/stat\`, 1/$(getconf CLK_TCK) s ticks) over ${BENCH_IDLE_SECONDS} s," \
         "in % of one core, all $BENCH_CONSUMERS together."
    echo
    echo "| consumers wait in | jobs had (of $BENCH_JOBS) | p50 (ms) | p99 (ms) | max (ms) | idle CPU, $BENCH_CONSUMERS waiting (% of a core) |"
    echo "|---|---|---|---|---|---|"
    for s in "${SYSTEMS[@]}"; do
        echo "| ${LABEL[$s]} | $(jobs_of "$s" 0) | $(jobs_of "$s" 2) | $(jobs_of "$s" 3) | $(jobs_of "$s" 4) | ${IDLE_CPU[$s]} |"
    done
    echo
    cat <<EOF
Reading the numbers: a claim that finds nothing sleeps on a condition variable in
shared memory, and a sender's transaction broadcasts on it once its commit is visible,
so the waiting claims run again at once: the latency is the commit's WAL flush, a
process's wake-up and one claim, whatever the wait's length, and a claim asleep uses no
CPU. \`read_with_poll\` never learns of a commit: it runs its query and, when the queue
is empty, sleeps \`poll_interval_ms\` and runs it again. A job that commits while every
consumer sleeps waits until one wakes, so the interval sets the latency: p50 near half
the interval and p99 near all of it, as for a single poller (a max beyond the interval,
like a pg_scribe max beyond a millisecond or two, most likely comes from the machine,
not the wait: a slow WAL flush, a backend not scheduled on 2 shared cores). The
${BENCH_CONSUMERS} consumers do not share the wait out between them: jobs come faster than one an
interval, so they drain together what came during a sleep and fall asleep together, in step.
A shorter interval shortens the wait in proportion and costs one query per consumer per
interval while the queue is empty: the idle CPU, which grows as the interval shrinks and
with every consumer (here about ${POLL_US} µs of CPU an empty poll, from the ${BENCH_TIGHT_POLL_MS} ms row). (pgmq also offers LISTEN/NOTIFY on insert,
\`pgmq.enable_notify_insert\`, which \`read_with_poll\` does not use; not measured here.)
EOF
    echo "$END_MARK"
} >"$SECTION"
cat "$SECTION"
if [ -n "$BENCH_DOCS" ]; then
    scribe_docs_section "$BENCH_DOCS" "$SECTION" "$BEGIN_MARK" "$END_MARK"
    echo "written to $BENCH_DOCS"
fi
