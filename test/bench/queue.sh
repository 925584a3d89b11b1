#!/bin/bash
# The queue benchmark (issue 3): pg_scribe side by side with the textbook
# SKIP LOCKED queue table and PgQ, on one throwaway server, in one run.
#
#   (a) enqueue one job per transaction, 4 clients        jobs/s
#   (b) enqueue batches of 100, 4 clients                 jobs/s
#   (c) claim + ack one at a time, 4 SQL clients          jobs/s
#   (d) drain 100k no-op jobs (pg_scribe: its worker pool) jobs/s
#   (e) commit-to-start latency                           p50, p99
#   (f) claim cost before and after 1M jobs churned       shared buffers per claim
#
# Durability stays on (fsync, synchronous_commit, full_page_writes): a queue
# is only as fast as the commits it must make durable.  pgbench runs with
# -M prepared and 4 clients; every throughput case runs BENCH_ROUNDS rounds,
# the systems in turn (rotating who goes first), and reports the median.
#
# It prints one table and writes it, with the machine and the settings, to
# docs/benchmarks.md ("Queue (issue 3)").  Run it with `make bench`, as root
# or as a user with sudo (the server runs as SCRIBE_TEST_USER, see
# test/bin/lib.sh); it installs postgresql-15-pgq3 when missing.
#
# The server runs from a private copy of the PostgreSQL installation with
# this build of pg_scribe installed into it (make install DESTDIR=...), so
# that the benchmark never replaces the library under someone else's
# running server, nor theirs under it.
#
# Environment: BENCH_SECONDS (per case and system, default 15), BENCH_ROUNDS
# (3), BENCH_PREFILL (jobs queued before (c), 300000), BENCH_DRAIN_JOBS
# (100000), BENCH_CHURN_JOBS (1000000), BENCH_LATENCY_JOBS (500),
# BENCH_DOCS (file to write the results to; empty: none), SCRIBE_KEEP=1
# keeps the scratch directory with every log.
set -euo pipefail
BENCH_SRC=$(cd "$(dirname "$0")" && pwd)
. "$BENCH_SRC/../bin/lib.sh"

BENCH_SECONDS=${BENCH_SECONDS:-15}
BENCH_ROUNDS=${BENCH_ROUNDS:-3}
BENCH_CLIENTS=4
BENCH_PREFILL=${BENCH_PREFILL:-300000}
BENCH_DRAIN_JOBS=${BENCH_DRAIN_JOBS:-100000}
BENCH_CHURN_JOBS=${BENCH_CHURN_JOBS:-1000000}
BENCH_READY_JOBS=10000
BENCH_LATENCY_JOBS=${BENCH_LATENCY_JOBS:-500}
BENCH_LATENCY_PAUSE_MS=10
BENCH_POLL_MS=100
BENCH_DOCS=${BENCH_DOCS-$SCRIBE_ROOT/docs/benchmarks.md}
ROUND_SECONDS=$(( BENCH_SECONDS / BENCH_ROUNDS > 0 ? BENCH_SECONDS / BENCH_ROUNDS : 1 ))

# The benchmark server's settings beyond initdb's defaults.  lib.sh turns
# fsync off for the test servers; a benchmark keeps durability on.
SERVER_CONF=(
    "shared_preload_libraries = 'pg_scribe'"
    "fsync = on"
    "synchronous_commit = on"
    "full_page_writes = on"
    "scribe.min_workers = 1"
    "scribe.max_workers = 4"
    "scribe.worker_idle_timeout = 10s"
    "max_worker_processes = 16"
    "shared_buffers = 512MB"
    "max_wal_size = 8GB"
    "checkpoint_timeout = 30min"
)

BENCH_START=$SECONDS
trap 'scribe_cleanup' EXIT
trap 'exit 130' INT TERM

step() { printf '\n== %s\n' "$*"; }
note() { printf '   %s\n' "$*"; }

# psql on the benchmark server: unaligned, tuples only, stop on error
q() {
    as_user "$PG_BINDIR/psql" -X -q -At -h 127.0.0.1 -p "$CLUSTER_PORT" -U postgres -d postgres \
        -v ON_ERROR_STOP=1 "$@"
}

# Run a psql script of test/bench/queue/ with variables (-v name=value ...)
q_file() {
    file=$1; shift
    q "$@" -f "$BENCH_SQL/$file"
}

checkpoint() { q -c "CHECKPOINT"; }

now() { date +%s.%N; }

# Arithmetic on decimals: calc 'expression' (awk syntax)
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }

# Round a number: fmt VALUE [DECIMALS]
fmt() { awk -v v="$1" -v d="${2:-0}" 'BEGIN { printf "%.*f", d, v }'; }

# Median of the arguments
median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
        END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.6f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Run pgbench with the prepared protocol and print its tps; $1 names the log,
# the rest are pgbench's arguments.  Fails on any failed or aborted client.
pgbench_tps() {
    name=$1; shift
    log="$LOGS/$name.log"
    if ! as_user "$PG_BINDIR/pgbench" -n -M prepared -h 127.0.0.1 -p "$CLUSTER_PORT" -U postgres \
            "$@" postgres >"$log" 2>&1 \
        || grep -qi 'abort' "$log" \
        || ! grep -q '^number of failed transactions: 0 ' "$log"; then
        echo "pgbench $name failed:" >&2
        tail -n 20 "$log" >&2
        return 1
    fi
    sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$log"
}

# Throughput case $1 (a, b or c): BENCH_ROUNDS rounds of ROUND_SECONDS for
# each system of $2 (space-separated), in turn; $3 jobs per pgbench
# transaction.  Sets RES[$1_system] to the median jobs/s.
throughput_case() {
    case_name=$1; read -r -a systems <<<"$2"; per_txn=$3
    declare -A runs=()
    for ((r = 0; r < BENCH_ROUNDS; r++)); do
        for ((k = 0; k < ${#systems[@]}; k++)); do
            # rotate the order: nobody always runs first after the checkpoint
            sys=${systems[$(( (k + r) % ${#systems[@]} ))]}
            script=${sys%%:*}
            extra=()
            [ "$sys" != "$script" ] && extra=(-D "queue=${sys#*:}")
            checkpoint
            tps=$(pgbench_tps "${case_name}_${sys/:/_}_r$r" -c "$BENCH_CLIENTS" -j 2 -T "$ROUND_SECONDS" \
                "${extra[@]}" -f "$BENCH_SQL/${case_name}_${script%_archive}.pgbench")
            jobs=$(calc "$tps * $per_txn")
            runs[$sys]="${runs[$sys]:-} $jobs"
            note "round $((r + 1)) $sys: $(fmt "$jobs") jobs/s"
        done
    done
    for sys in "${systems[@]}"; do
        # shellcheck disable=SC2086
        RES[${case_name}_${sys%%:*}]=$(median ${runs[$sys]})
    done
}

# Shared buffers (hit + read) of claim statement $1, probed 5 times: prints
# "first median"
claim_buffers() {
    q -c "SELECT bench.buffers(\$q\$$1\$q\$) FROM generate_series(1, 5)" >"$LOGS/probe.out"
    first=$(head -n 1 "$LOGS/probe.out")
    # shellcheck disable=SC2046
    echo "$first $(median $(cat "$LOGS/probe.out"))"
}

# p50, p99 and max of the latencies (ms) of system $1, and how many
latency_stats() {
    q -F ' ' -c "SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 2),
                        round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 2),
                        round(max(ms)::numeric, 2), count(*)
                 FROM (SELECT extract(epoch FROM started_at - sent_at) * 1000 AS ms
                       FROM bench.latency WHERE system = '$1') l"
}

declare -A RES=()

step "dependencies"
scribe_deps
PG_MAJOR=$("$PG_CONFIG" --version | sed 's/^PostgreSQL \([0-9]*\).*/\1/')
PGQ_PACKAGE="postgresql-$PG_MAJOR-pgq3"
if [ "$(dpkg-query -W -f='${db:Status-Status}' "$PGQ_PACKAGE" 2>/dev/null || true)" != installed ]; then
    echo "installing $PGQ_PACKAGE (PgQ, the baseline)"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$PGQ_PACKAGE" \
        || { as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q \
             && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$PGQ_PACKAGE"; }
fi

step "build"
make -C "$SCRIBE_ROOT" -s PG_CONFIG="$PG_CONFIG"

step "private PostgreSQL installation with this build of pg_scribe"
scribe_workdir
scribe_private_install || exit 1
echo "in $PG_PRIVATE"

step "start the benchmark server"
scribe_cluster_start bench "${SERVER_CONF[@]}"
LOGS="$SCRIBE_WORK/logs"
BENCH_SQL="$SCRIBE_WORK/sql"
mkdir -p "$LOGS" "$BENCH_SQL"
cp "$BENCH_SRC"/queue/* "$BENCH_SQL/"
chmod -R a+rX "$BENCH_SQL"
q_file setup.sql >/dev/null
PG_VERSION=$(q -c "SELECT version()")
SCRIBE_VERSION=$(q -c "SELECT scribe.version()")
PGQ_VERSION=$(q -c "SELECT pgq.version()")
GIT_VERSION=$(git -C "$SCRIBE_ROOT" describe --always --dirty 2>/dev/null || echo unknown)
echo "127.0.0.1:$CLUSTER_PORT, $PG_VERSION"
echo "pg_scribe $SCRIBE_VERSION ($GIT_VERSION), PgQ $PGQ_VERSION"
echo "fsync $(q -c 'SHOW fsync'), synchronous_commit $(q -c 'SHOW synchronous_commit'), $BENCH_CLIENTS clients, $BENCH_ROUNDS rounds of ${ROUND_SECONDS}s per case and system"
LOAD_START=$(cut -d ' ' -f 1-3 /proc/loadavg)

# --- (a) and (b): enqueue ----------------------------------------------------
q -c "SELECT scribe.queue_create('bench_a', consumer => 'clients', retention => '0'),
             scribe.queue_create('bench_b', consumer => 'clients', retention => '0'),
             pgq.create_queue('bench_a'), pgq.create_queue('bench_b')" >/dev/null

step "(a) enqueue one job per transaction, $BENCH_CLIENTS clients"
throughput_case a "bare textbook scribe pgq" 1

step "(b) enqueue batches of 100 jobs, $BENCH_CLIENTS clients"
throughput_case b "bare textbook scribe pgq" 100

q -c "SELECT scribe.queue_drop('bench_a', force => true), scribe.queue_drop('bench_b', force => true),
             pgq.drop_queue('bench_a', true), pgq.drop_queue('bench_b', true)" >/dev/null
q -c "TRUNCATE bench.bare, textbook.jobs" -c "VACUUM ANALYZE scribe.jobs" -c "VACUUM ANALYZE textbook.jobs"

# --- (c): claim + ack from SQL clients --------------------------------------
step "(c) claim + ack one job at a time, $BENCH_CLIENTS SQL clients ($BENCH_PREFILL jobs queued first)"
q -c "SELECT scribe.queue_create('bench_c', consumer => 'clients', retention => '0'),
             scribe.queue_create('bench_c_archive', consumer => 'clients')" >/dev/null
for queue in bench_c bench_c_archive; do
    q_file fill.sql -v system=pg_scribe -v queue=$queue -v jobs="$BENCH_PREFILL" -v chunk=10000 -v noop=off -v analyze=off
done
q_file fill.sql -v system=textbook -v queue= -v jobs="$BENCH_PREFILL" -v chunk=10000 -v noop=off -v analyze=off
q -c "VACUUM ANALYZE scribe.jobs" -c "VACUUM ANALYZE textbook.jobs"
throughput_case c "scribe:bench_c scribe_archive:bench_c_archive textbook" 1
q -c "SELECT scribe.queue_drop('bench_c', force => true), scribe.queue_drop('bench_c_archive', force => true)" >/dev/null
q -c "TRUNCATE textbook.jobs" -c "VACUUM ANALYZE scribe.jobs" -c "VACUUM ANALYZE textbook.jobs"

# --- (d): drain ---------------------------------------------------------------
step "(d) drain $BENCH_DRAIN_JOBS no-op jobs"
q -c "SELECT scribe.queue_create('bench_d', retention => '0')" >/dev/null

# Wait until the pool runs $1 workers (at most 60 s)
wait_for_pool() {
    for _ in $(seq 1 600); do
        [ "$(q -c "SELECT count(*) FROM scribe.worker_status()")" -eq "$1" ] && return 0
        sleep 0.1
    done
    echo "the pool did not reach $1 worker(s)" >&2
    return 1
}

# Jobs each worker ran since file $1 was written (pid jobs_done lines)
jobs_per_worker() {
    q -F ' ' -c "SELECT pid, jobs_done FROM scribe.worker_status()" >"$LOGS/d_workers_now.txt"
    awk 'NR == FNR { before[$1] = $2; next } { printf "%s%d", sep, $2 - before[$1]; sep = "/" }' \
        "$1" "$LOGS/d_workers_now.txt"
}

# One drain of system $1 (pg_scribe or textbook) with statistics $2: "stale"
# (ANALYZE ran while the queue was empty, as autovacuum leaves a queue before
# a burst) or "fresh" (ANALYZE in the enqueue's transaction).  The jobs are
# enqueued in one transaction into a vacuumed table.  Sets DRAIN_S and, for
# pg_scribe, DRAIN_WORKERS (the pool at the commit) and DRAIN_SPREAD (jobs
# per worker).
drain() {
    system=$1; stats=$2
    analyze=off
    [ "$stats" = fresh ] && analyze=on
    if [ "$system" = pg_scribe ]; then
        q -c "VACUUM ANALYZE scribe.jobs"
        checkpoint
        DRAIN_WORKERS=$(q -c "SELECT count(*) FROM scribe.worker_status()")
        q -F ' ' -c "SELECT pid, jobs_done FROM scribe.worker_status()" >"$LOGS/d_workers_before.txt"
        t0=$(q -v system=pg_scribe -v queue=bench_d -v jobs="$BENCH_DRAIN_JOBS" -v chunk="$BENCH_DRAIN_JOBS" \
               -v noop=on -v analyze=$analyze -f "$BENCH_SQL/fill.sql" \
               -c "SELECT extract(epoch FROM clock_timestamp())" | tail -n 1)
        t1=$(q_file wait_drained.sql -v queue=bench_d -v timeout_s=600 | tail -n 1)
        DRAIN_S=$(calc "$t1 - $t0")
        DRAIN_SPREAD=$(jobs_per_worker "$LOGS/d_workers_before.txt")
    else
        q -c "TRUNCATE textbook.jobs" -c "VACUUM ANALYZE textbook.jobs"
        q_file fill.sql -v system=textbook -v queue= -v jobs="$BENCH_DRAIN_JOBS" -v chunk="$BENCH_DRAIN_JOBS" \
            -v noop=off -v analyze=$analyze
        checkpoint
        t0=$(now)
        pgbench_tps "d_textbook_$stats" -c "$BENCH_CLIENTS" -j 2 \
            -t $(( (BENCH_DRAIN_JOBS + BENCH_CLIENTS - 1) / BENCH_CLIENTS )) \
            -f "$BENCH_SQL/d_textbook.pgbench" >/dev/null
        # a claim finds nothing when the last jobs are locked by the other
        # clients: the few left, if any, are drained here, on the clock
        left=$(q -c "SELECT count(*) FROM textbook.jobs")
        while [ "$left" -gt 0 ]; do
            q -c "DELETE FROM textbook.jobs WHERE id = (SELECT id FROM textbook.jobs WHERE status = 'ready'
                                                        ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)"
            left=$(q -c "SELECT count(*) FROM textbook.jobs")
        done
        DRAIN_S=$(calc "$(now) - $t0")
    fi
}

# the pool as an idle server has it: scribe.min_workers
wait_for_pool 1
drain pg_scribe stale
RES[d_scribe]=$(calc "$BENCH_DRAIN_JOBS / $DRAIN_S")
D_SPREAD=$DRAIN_SPREAD
note "pg_scribe, statistics from before the burst, pool of $DRAIN_WORKERS worker(s) at the commit: $(fmt "$DRAIN_S" 2) s, $(fmt "${RES[d_scribe]}") jobs/s; jobs per worker: $D_SPREAD"

wait_for_pool 1
drain pg_scribe fresh
RES[d_scribe_fresh]=$(calc "$BENCH_DRAIN_JOBS / $DRAIN_S")
D_SPREAD_FRESH=$DRAIN_SPREAD
note "pg_scribe, fresh statistics, pool of $DRAIN_WORKERS worker(s) at the commit: $(fmt "$DRAIN_S" 2) s, $(fmt "${RES[d_scribe_fresh]}") jobs/s; jobs per worker: $D_SPREAD_FRESH"

# at once, while the workers the last drain started are idle
drain pg_scribe fresh
RES[d_scribe_warm]=$(calc "$BENCH_DRAIN_JOBS / $DRAIN_S")
D_SPREAD_WARM=$DRAIN_SPREAD
WORKERS_WARM=$DRAIN_WORKERS
note "pg_scribe, fresh statistics, pool of $WORKERS_WARM idle worker(s) at the commit: $(fmt "$DRAIN_S" 2) s, $(fmt "${RES[d_scribe_warm]}") jobs/s; jobs per worker: $D_SPREAD_WARM"

drain textbook stale
RES[d_textbook]=$(calc "$BENCH_DRAIN_JOBS / $DRAIN_S")
note "textbook, statistics from before the burst, $BENCH_CLIENTS clients claim + ack: $(fmt "$DRAIN_S" 2) s, $(fmt "${RES[d_textbook]}") jobs/s"
drain textbook fresh
RES[d_textbook_fresh]=$(calc "$BENCH_DRAIN_JOBS / $DRAIN_S")
note "textbook, fresh statistics: $(fmt "$DRAIN_S" 2) s, $(fmt "${RES[d_textbook_fresh]}") jobs/s"

q_file pgq_fill.sql -v jobs="$BENCH_DRAIN_JOBS" -v chunk=1000 >/dev/null
checkpoint
t0=$(now)
events=$(q_file pgq_consume.sql | tail -n 1)
secs=$(calc "$(now) - $t0")
if [ "$events" -ne "$BENCH_DRAIN_JOBS" ]; then
    echo "PgQ's consumer saw $events events, not $BENCH_DRAIN_JOBS" >&2
    exit 1
fi
RES[d_pgq]=$(calc "$BENCH_DRAIN_JOBS / $secs")
note "PgQ, 1 consumer, batches of 1000: $(fmt "$secs" 2) s, $(fmt "${RES[d_pgq]}") events/s"

# --- (e): commit-to-start latency ---------------------------------------------
step "(e) commit-to-start latency, $BENCH_LATENCY_JOBS jobs one per transaction, ${BENCH_LATENCY_PAUSE_MS} ms apart"
q -c "SELECT scribe.queue_create('bench_e', retention => '0')" >/dev/null
# the pool idle: nothing queued, every worker waiting
for _ in $(seq 1 300); do
    [ "$(q -c "SELECT count(*) FILTER (WHERE state <> 'idle') FROM scribe.worker_status()")" = 0 ] && break
    sleep 0.1
done
checkpoint
q_file latency_producer.sql -v system=pg_scribe -v jobs="$BENCH_LATENCY_JOBS" -v pause_ms=$BENCH_LATENCY_PAUSE_MS
for _ in $(seq 1 300); do
    [ "$(q -c "SELECT count(*) FROM bench.latency WHERE system = 'pg_scribe'")" -ge "$BENCH_LATENCY_JOBS" ] && break
    sleep 0.1
done
read -r 'RES[e_scribe_p50]' 'RES[e_scribe_p99]' e_max e_n <<<"$(latency_stats pg_scribe)"
[ "$e_n" -eq "$BENCH_LATENCY_JOBS" ] || { echo "only $e_n of the latency jobs ran" >&2; exit 1; }
note "pg_scribe (worker pool, woken at commit): p50 ${RES[e_scribe_p50]} ms, p99 ${RES[e_scribe_p99]} ms, max $e_max ms"

q -c "TRUNCATE textbook.jobs"
checkpoint
q_file latency_textbook_consumer.sql -v jobs="$BENCH_LATENCY_JOBS" -v poll_ms=$BENCH_POLL_MS \
    >"$LOGS/e_consumer.log" 2>&1 &
CONSUMER=$!
q_file latency_producer.sql -v system=textbook -v jobs="$BENCH_LATENCY_JOBS" -v pause_ms=$BENCH_LATENCY_PAUSE_MS
for _ in $(seq 1 300); do
    kill -0 "$CONSUMER" 2>/dev/null || break
    sleep 0.1
done
if kill -0 "$CONSUMER" 2>/dev/null || ! wait "$CONSUMER"; then
    echo "the textbook consumer did not finish:" >&2
    cat "$LOGS/e_consumer.log" >&2
    exit 1
fi
read -r 'RES[e_textbook_p50]' 'RES[e_textbook_p99]' e_max e_n <<<"$(latency_stats textbook)"
note "textbook (consumer polling every $BENCH_POLL_MS ms): p50 ${RES[e_textbook_p50]} ms, p99 ${RES[e_textbook_p99]} ms, max $e_max ms"

# --- (f): claim cost before and after churn -----------------------------------
step "(f) claim cost with $BENCH_READY_JOBS ready jobs, before and after $BENCH_CHURN_JOBS jobs churned"
q -c "SELECT scribe.queue_create('bench_f', consumer => 'clients', retention => '0')" >/dev/null
QID=$(q -c "SELECT queue_id FROM scribe.queues WHERE name = 'bench_f'")
# the SELECT ... FOR UPDATE SKIP LOCKED of scribe.claim(queue, 1) (src/queue/queue_consume.c)
CLAIM_SCRIBE="SELECT job_id, lease_until AS expired FROM scribe.jobs WHERE queue_id = $QID AND run_at <= now() AND (lease_until IS NULL OR lease_until <= now()) ORDER BY priority DESC, run_at, job_id LIMIT 1 FOR UPDATE SKIP LOCKED"
CLAIM_TEXTBOOK="SELECT id FROM textbook.jobs WHERE status = 'ready' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED"
q -c "TRUNCATE textbook.jobs"
q_file fill.sql -v system=pg_scribe -v queue=bench_f -v jobs=$BENCH_READY_JOBS -v chunk=$BENCH_READY_JOBS -v noop=off -v analyze=off
q_file fill.sql -v system=textbook -v queue= -v jobs=$BENCH_READY_JOBS -v chunk=$BENCH_READY_JOBS -v noop=off -v analyze=off
q -c "VACUUM ANALYZE scribe.jobs" -c "VACUUM ANALYZE textbook.jobs"
read -r F_SCRIBE_BEFORE_FIRST F_SCRIBE_BEFORE <<<"$(claim_buffers "$CLAIM_SCRIBE")"
read -r F_TEXTBOOK_BEFORE_FIRST F_TEXTBOOK_BEFORE <<<"$(claim_buffers "$CLAIM_TEXTBOOK")"
note "before: pg_scribe $F_SCRIBE_BEFORE_FIRST buffers (median of 5: $F_SCRIBE_BEFORE), textbook $F_TEXTBOOK_BEFORE_FIRST (median $F_TEXTBOOK_BEFORE)"

# autovacuum runs of table $1 so far (the statistics lag by up to a second)
autovacuums() {
    sleep 1
    q -c "SELECT autovacuum_count FROM pg_stat_user_tables WHERE relid = '$1'::regclass"
}

# Churn system $1 through queue $2, then probe claim statement $3 (table $4);
# sets F_$5_CHURN_S, F_$5_AFTER_FIRST, F_$5_AFTER and F_$5_AUTOVACUUMS
churn_and_probe() {
    system=$1; queue=$2; claim=$3; table=$4; var=$5
    av0=$(autovacuums "$table")
    # meanwhile, every second, the open transactions of other processes (a
    # snapshot held during the churn keeps every dead index entry alive)
    rm -f "$LOGS/f_stop"
    while [ ! -e "$LOGS/f_stop" ]; do
        q -c "SELECT '$system', to_char(clock_timestamp(), 'HH24:MI:SS'), pid, backend_type,
                            round(extract(epoch FROM clock_timestamp() - xact_start)::numeric, 1) AS xact_s,
                            left(regexp_replace(query, '\s+', ' ', 'g'), 100)
                     FROM pg_stat_activity
                     WHERE backend_xmin IS NOT NULL AND pid <> pg_backend_pid() AND query NOT LIKE 'DO%'" \
            >>"$LOGS/f_snapshots.log" 2>&1 || true
        sleep 1
    done &
    sampler=$!
    t0=$(now)
    q_file churn.sql -v system="$system" -v queue="$queue" -v jobs="$BENCH_CHURN_JOBS" -v chunk=$BENCH_READY_JOBS
    printf -v "F_${var}_CHURN_S" '%s' "$(calc "$(now) - $t0")"
    touch "$LOGS/f_stop"
    wait "$sampler"
    read -r "F_${var}_AFTER_FIRST" "F_${var}_AFTER" <<<"$(claim_buffers "$claim")"
    printf -v "F_${var}_AUTOVACUUMS" '%s' "$(( $(autovacuums "$table") - av0 ))"
    # for the log: what vacuum has to catch up with, and who held a snapshot longest
    q -F ' ' -c "SELECT 'dead rows', n_dead_tup, 'live rows', n_live_tup FROM pg_stat_user_tables
                 WHERE relid = '$table'::regclass" | sed 's/^/   /'
    awk -F '|' -v s="$system" '$1 == s && $5 + 0 > max { max = $5 + 0; line = $0 }
        END { if (line != "") print "   longest transaction seen during the churn: " line;
              else print "   no other transaction seen during the churn" }' "$LOGS/f_snapshots.log"
}
churn_and_probe pg_scribe bench_f "$CLAIM_SCRIBE" scribe.jobs SCRIBE
note "pg_scribe: churned in $(fmt "$F_SCRIBE_CHURN_S" 1) s (autovacuum finished $F_SCRIBE_AUTOVACUUMS time(s) meanwhile); right after: $F_SCRIBE_AFTER buffers (median of 5; first probe $F_SCRIBE_AFTER_FIRST)"
churn_and_probe textbook "" "$CLAIM_TEXTBOOK" textbook.jobs TEXTBOOK
note "textbook: churned in $(fmt "$F_TEXTBOOK_CHURN_S" 1) s (autovacuum finished $F_TEXTBOOK_AUTOVACUUMS time(s) meanwhile); right after: $F_TEXTBOOK_AFTER buffers (median of 5; first probe $F_TEXTBOOK_AFTER_FIRST)"
READY_AFTER=$(q -c "SELECT (SELECT count(*) FROM scribe.jobs WHERE queue_id = $QID) || ' / ' || (SELECT count(*) FROM textbook.jobs)")
note "ready jobs after the churn (pg_scribe / textbook): $READY_AFTER"

# what is left once VACUUM has removed the dead rows: the bloat that stays
q -c "VACUUM scribe.jobs" -c "VACUUM textbook.jobs"
read -r F_SCRIBE_VACUUMED _ <<<"$(claim_buffers "$CLAIM_SCRIBE")"
read -r F_TEXTBOOK_VACUUMED _ <<<"$(claim_buffers "$CLAIM_TEXTBOOK")"
note "after a plain VACUUM: pg_scribe $F_SCRIBE_VACUUMED buffers, textbook $F_TEXTBOOK_VACUUMED"
q -F ' ' -c "SELECT c.oid::regclass, pg_size_pretty(pg_relation_size(c.oid))
             FROM pg_class c
             WHERE c.oid IN ('scribe.jobs'::regclass, 'textbook.jobs'::regclass)
                OR c.oid IN (SELECT indexrelid FROM pg_index
                             WHERE indrelid IN ('scribe.jobs'::regclass, 'textbook.jobs'::regclass))
             ORDER BY 1::text" | sed 's/^/   size: /'

# --- the table ----------------------------------------------------------------
TOTAL_S=$((SECONDS - BENCH_START))
LOAD_END=$(cut -d ' ' -f 1-3 /proc/loadavg)

# ratio A B: A / B, as 1.23x
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f×", a / b; else print "n/a" }'; }
# met VALUE OP TARGET
met() { awk -v v="$1" -v t="$3" -v op="$2" 'BEGIN {
    ok = (op == ">=") ? v >= t : (op == "<") ? v < t : v <= t; print ok ? "yes" : "**no**" }'; }

# the claim cost after the churn: the median of five claims (the first one,
# which also marks the dead index entries it passes, in parentheses)
f_scribe_ratio=$(calc "$F_SCRIBE_AFTER / $F_SCRIBE_BEFORE")
f_textbook_ratio=$(calc "$F_TEXTBOOK_AFTER / $F_TEXTBOOK_BEFORE")
f_scribe_vac_ratio=$(calc "$F_SCRIBE_VACUUMED / $F_SCRIBE_BEFORE")
f_textbook_vac_ratio=$(calc "$F_TEXTBOOK_VACUUMED / $F_TEXTBOOK_BEFORE")
a_ratio=$(calc "${RES[a_scribe]} / ${RES[a_textbook]}")
c_ratio=$(calc "${RES[c_scribe]} / ${RES[c_textbook]}")

TABLE=$(cat <<EOF
| case | pg_scribe | textbook | PgQ | ratio (pg_scribe / textbook) | target | met? |
|---|---|---|---|---|---|---|
| (a) enqueue, 1 job per transaction (jobs/s) | $(fmt "${RES[a_scribe]}") | $(fmt "${RES[a_textbook]}") | $(fmt "${RES[a_pgq]}") | $(ratio "${RES[a_scribe]}" "${RES[a_textbook]}") | ≥ 1.3× | $(met "$a_ratio" ">=" 1.3) |
| (a) ceiling: INSERT into a table without indexes | | $(fmt "${RES[a_bare]}") | | ceiling / textbook $(ratio "${RES[a_bare]}" "${RES[a_textbook]}") | | |
| (b) enqueue, batches of 100 (jobs/s) | $(fmt "${RES[b_scribe]}") | $(fmt "${RES[b_textbook]}") | $(fmt "${RES[b_pgq]}") | $(ratio "${RES[b_scribe]}" "${RES[b_textbook]}") | | |
| (b) ceiling: INSERT into a table without indexes | | $(fmt "${RES[b_bare]}") | | ceiling / textbook $(ratio "${RES[b_bare]}" "${RES[b_textbook]}") | | |
| (c) claim + ack one at a time, 4 SQL clients (jobs/s; retention 0 = delete on ack) | $(fmt "${RES[c_scribe]}") | $(fmt "${RES[c_textbook]}") | n/a ¹ | $(ratio "${RES[c_scribe]}" "${RES[c_textbook]}") | ≥ 2× | $(met "$c_ratio" ">=" 2) |
| (c) the same, pg_scribe keeping acked jobs in the archive (retention 7 days) | $(fmt "${RES[c_scribe_archive]}") | | | $(ratio "${RES[c_scribe_archive]}" "${RES[c_textbook]}") | | |
| (d) drain of $BENCH_DRAIN_JOBS no-op jobs (jobs/s): pg_scribe's pool (1 worker, up to 4) ² / 4 textbook clients / 1 PgQ consumer; statistics from before the burst | $(fmt "${RES[d_scribe]}") | $(fmt "${RES[d_textbook]}") | $(fmt "${RES[d_pgq]}") ¹ | $(ratio "${RES[d_scribe]}" "${RES[d_textbook]}") | ≥ 10000 jobs/s | $(met "${RES[d_scribe]}" ">=" 10000) |
| (d) the same with fresh statistics (ANALYZE in the enqueue's transaction) ² | $(fmt "${RES[d_scribe_fresh]}") | $(fmt "${RES[d_textbook_fresh]}") | | $(ratio "${RES[d_scribe_fresh]}" "${RES[d_textbook_fresh]}") | ≥ 10000 jobs/s | $(met "${RES[d_scribe_fresh]}" ">=" 10000) |
| (d) fresh statistics, the pool's $WORKERS_WARM workers already running (idle) ² | $(fmt "${RES[d_scribe_warm]}") | | | $(ratio "${RES[d_scribe_warm]}" "${RES[d_textbook_fresh]}") | ≥ 10000 jobs/s | $(met "${RES[d_scribe_warm]}" ">=" 10000) |
| (e) commit-to-start latency p50 / p99 (ms; textbook polls every $BENCH_POLL_MS ms) | ${RES[e_scribe_p50]} / ${RES[e_scribe_p99]} | ${RES[e_textbook_p50]} / ${RES[e_textbook_p99]} | | textbook / pg_scribe p50: $(ratio "${RES[e_textbook_p50]}" "${RES[e_scribe_p50]}") | p50 < 5 ms | $(met "${RES[e_scribe_p50]}" "<" 5) |
| (f) claim cost (shared buffers hit + read), before → right after $BENCH_CHURN_JOBS jobs churned ³ | $F_SCRIBE_BEFORE → $F_SCRIBE_AFTER (first: $F_SCRIBE_AFTER_FIRST) | $F_TEXTBOOK_BEFORE → $F_TEXTBOOK_AFTER (first: $F_TEXTBOOK_AFTER_FIRST) | | after / before: $(fmt "$f_scribe_ratio" 2)× (textbook $(fmt "$f_textbook_ratio" 2)×) | ≤ 2× | $(met "$f_scribe_ratio" "<=" 2) |
| (f) the same once a plain VACUUM has run ³ | $F_SCRIBE_BEFORE → $F_SCRIBE_VACUUMED | $F_TEXTBOOK_BEFORE → $F_TEXTBOOK_VACUUMED | | after / before: $(fmt "$f_scribe_vac_ratio" 2)× (textbook $(fmt "$f_textbook_vac_ratio" 2)×) | ≤ 2× | $(met "$f_scribe_vac_ratio" "<=" 2) |
EOF
)

NOTES=$(cat <<EOF
1. PgQ has no per-event claim: a consumer takes a whole batch (the events between two
   ticks) with \`next_batch\`, reads it with \`get_batch_events\` and closes it with
   \`finish_batch\`; four consumers each get every event, they do not share them. So (c)
   does not map to PgQ. Its (d) figure is the batch consume rate of one consumer over
   $BENCH_DRAIN_JOBS events enqueued $((1000)) per transaction with a tick after each (batches of 1000).
2. Each drain enqueues the $BENCH_DRAIN_JOBS jobs in one transaction into a vacuumed table and
   runs until the queue is empty. "Statistics from before the burst": the table was analyzed
   while the queue was empty, as autovacuum leaves a queue before a burst (it analyzes again
   only after its naptime). The pool starts at \`scribe.min_workers = 1\` and grows up to
   \`scribe.max_workers = 4\`; jobs run per worker: $D_SPREAD (statistics from before the burst),
   $D_SPREAD_FRESH (fresh statistics), $D_SPREAD_WARM (the pool already at $WORKERS_WARM idle workers).
3. \`EXPLAIN (ANALYZE, BUFFERS)\` of the claim's \`SELECT ... FOR UPDATE SKIP LOCKED LIMIT 1\`
   (for pg_scribe the one inside \`scribe.claim()\`) with $BENCH_READY_JOBS ready jobs, the median of five
   probes: before, on a freshly filled and vacuumed queue; right after $BENCH_CHURN_JOBS jobs went
   through it (enqueued $BENCH_READY_JOBS per transaction, claimed and acked 1000 per transaction,
   autovacuum on with its default settings and pg_scribe's per-table ones; "first" is the
   first probe, which also marks the dead index entries it passes); and after a plain
   \`VACUUM\`. Churn time: pg_scribe $(fmt "$F_SCRIBE_CHURN_S" 1) s (autovacuum finished $F_SCRIBE_AUTOVACUUMS time(s) on
   \`scribe.jobs\` meanwhile), textbook $(fmt "$F_TEXTBOOK_CHURN_S" 1) s ($F_TEXTBOOK_AUTOVACUUMS time(s) on \`textbook.jobs\`).
EOF
)

step "results ($(date -u '+%Y-%m-%d %H:%M UTC'), $((TOTAL_S / 60)) min $((TOTAL_S % 60)) s)"
echo
echo "$TABLE"
echo
echo "$NOTES"

# --- docs/benchmarks.md ---------------------------------------------------------
if [ -n "$BENCH_DOCS" ]; then
    CPU_MODEL=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
    MEM_GB=$(awk '/^MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)
    # shellcheck disable=SC2016
    SETTINGS_MD=$(printf '`%s`, ' "${SERVER_CONF[@]:4}")
    SECTION="$SCRIBE_WORK/section.md"
    cat >"$SECTION" <<EOF
## Queue (issue 3)

Reproduce with \`make bench\` (runs \`test/bench/queue.sh\`, about $((TOTAL_S / 60 + 1)) minutes).

- Run: $(date -u '+%Y-%m-%d %H:%M UTC'), $((TOTAL_S / 60)) min $((TOTAL_S % 60)) s; load average at the start $LOAD_START, at the end $LOAD_END.
- Machine: $(nproc) CPUs ($CPU_MODEL), $MEM_GB GB RAM, Linux $(uname -r).
- PostgreSQL: $PG_VERSION.
- pg_scribe $SCRIBE_VERSION (git $GIT_VERSION), PgQ $PGQ_VERSION ($PGQ_PACKAGE).
- One server for everything; durability on: \`fsync = on\`, \`synchronous_commit = on\`,
  \`full_page_writes = on\`. Other settings: ${SETTINGS_MD%, }.
- pgbench \`-M prepared -c $BENCH_CLIENTS -j 2\` on the same machine; (a) to (c): $BENCH_ROUNDS rounds of
  ${ROUND_SECONDS} s per system, the systems in turn, a \`CHECKPOINT\` before each run; the median round.
- The textbook queue (\`test/bench/queue/setup.sql\`): \`id bigserial\` primary key, \`payload jsonb\`,
  \`status\`, \`locked_until\`, \`attempts\`, \`created_at\`, an index on \`(status, id)\`; enqueue is an
  \`INSERT\`, claim an \`UPDATE ... SET status = 'running', locked_until = now() + '5 minutes'
  WHERE id = (SELECT id ... WHERE status = 'ready' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
  RETURNING\`, ack a \`DELETE\`. pg_scribe's queues in (a) to (c) are \`consumer => 'clients'\`,
  \`retention => '0'\` (acked jobs deleted, as the textbook does) unless said otherwise.
- (e): $BENCH_LATENCY_JOBS jobs, one per transaction, ${BENCH_LATENCY_PAUSE_MS} ms apart, each carrying
  \`clock_timestamp()\` taken just before its COMMIT; the job records \`clock_timestamp()\` when it
  starts. pg_scribe's job is an \`sql\` job run by the idle worker pool; the textbook consumer is a
  loop that claims, records and deletes, and sleeps $BENCH_POLL_MS ms whenever the queue is empty.

$TABLE

$NOTES
EOF
    if [ -f "$BENCH_DOCS" ] && grep -q '^## Queue (issue 3)' "$BENCH_DOCS"; then
        # replace the section, up to the next heading of its level
        awk -v section="$SECTION" '
            /^## Queue \(issue 3\)/ { while ((getline line < section) > 0) print line; skip = 1; next }
            skip && /^## / { skip = 0; print "" }
            !skip { print }' "$BENCH_DOCS" >"$BENCH_DOCS.new"
        mv "$BENCH_DOCS.new" "$BENCH_DOCS"
    else
        if [ ! -f "$BENCH_DOCS" ]; then
            printf '# Benchmarks\n\nEach section is written by its benchmark script; rerun it rather than editing the numbers.\n' \
                >"$BENCH_DOCS"
        fi
        { echo; cat "$SECTION"; } >>"$BENCH_DOCS"
    fi
    echo
    echo "written to $BENCH_DOCS"
fi
