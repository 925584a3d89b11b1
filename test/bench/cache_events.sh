#!/bin/bash
# What recording cache events costs (issue 7): scribe.cache_delete() on a
# node that does not publish scribe.cache_events against one that does
# (each call then inserts an event and its transaction commits as a
# write), on one throwaway server with durability on, in one run:
#   (a) SELECT 1                                             calls/s
#   (b) cache_delete, scribe.cache_events not published      calls/s, µs/call, WAL/call
#   (c) cache_delete, published                              calls/s, µs/call, WAL/call
#   (d) as (c), with synchronous_commit = off in the session calls/s, µs/call, WAL/call
# µs/call is the mean latency pgbench reports (4 clients); WAL/call the WAL
# bytes written over the round divided by its calls.  The machine's other
# load moves calls/s a lot, so (b) and (c) are also timed inside one
# statement: LOOP_CALLS calls in one SELECT (one transaction, no round
# trips, no commit), the best of 3, in µs per call.  Each case runs
# BENCH_ROUNDS rounds of BENCH_SECONDS, the cases in turn; the median round.
# The publication is created before each published round and dropped after.
#
# It prints a table and writes it between <!-- cache-events-bench:begin -->
# and <!-- cache-events-bench:end --> of docs/benchmarks.md.  Run it with
# `make bench-cache-events`.  Environment: BENCH_SECONDS (default 10),
# BENCH_ROUNDS (3), BENCH_CASES (a subset), BENCH_DOCS (file to write to;
# empty: none), SCRIBE_KEEP=1.
set -euo pipefail
BENCH_SRC=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../bin/lib.sh
. "$BENCH_SRC/../bin/lib.sh"

BENCH_SECONDS=${BENCH_SECONDS:-10}
BENCH_ROUNDS=${BENCH_ROUNDS:-3}
BENCH_CLIENTS=4
LOOP_CALLS=200000
BENCH_DOCS=${BENCH_DOCS-$SCRIBE_ROOT/docs/benchmarks.md}
BEGIN_MARK='<!-- cache-events-bench:begin -->'
END_MARK='<!-- cache-events-bench:end -->'

# lib.sh turns fsync off for test servers; a benchmark keeps durability on
SERVER_CONF=(
    "shared_preload_libraries = 'pg_scribe'"
    "fsync = on"
    "synchronous_commit = on"
    "wal_level = logical"
    "scribe.max_workers = 0"
    "scribe.heartbeat_interval = 0"
)
# BENCH_CASES: a subset, in this order (to run (a) and (b) on an older build, say)
read -r -a CASES <<<"${BENCH_CASES:-select1 unpublished published published_async}"
DELETE_SQL="SELECT scribe.cache_delete('k:' || (random() * 999)::int);"
declare -A STATEMENT=([select1]="SELECT 1;" [unpublished]=$DELETE_SQL [published]=$DELETE_SQL
                      [published_async]=$DELETE_SQL)
declare -A LABEL=(
    [select1]='(a) `SELECT 1`'
    [unpublished]='(b) `SELECT scribe.cache_delete(...)`, `scribe.cache_events` not published'
    [published]='(c) the same, published: an event inserted, a write committed'
    [published_async]='(d) as (c), `synchronous_commit = off` in the session'
)

scribe_bench_begin
q() { scribe_psql "$@"; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

scribe_bench_prepare
scribe_step "start the benchmark server"
scribe_cluster_start bench "${SERVER_CONF[@]}"
q -c 'CREATE EXTENSION pg_scribe' >/dev/null
LOGS="$SCRIBE_WORK/logs"
as_user mkdir -p "$LOGS"
for c in "${CASES[@]}"; do
    echo "${STATEMENT[$c]}" | as_user tee "$LOGS/$c.pgbench" >/dev/null
done

# Run one round of case $1; sets R_TPS, R_LAT (ms) and R_WAL (bytes per call)
run_round() {
    c=$1
    options=""
    case $c in published*) q -c 'CREATE PUBLICATION bench_events FOR TABLE scribe.cache_events' >/dev/null ;; esac
    [ "$c" = published_async ] && options="-c synchronous_commit=off"
    lsn0=$(q -c 'SELECT pg_current_wal_lsn()')
    as_user env PGOPTIONS="$options" "$PG_BINDIR/pgbench" -n -M prepared -h 127.0.0.1 -p "$CLUSTER_PORT" \
        -U postgres -c "$BENCH_CLIENTS" -j 2 -T "$BENCH_SECONDS" -f "$LOGS/$c.pgbench" postgres \
        >"$LOGS/$c.log" 2>&1 || { tail -n 20 "$LOGS/$c.log" >&2; exit 1; }
    R_WAL=$(q -c "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '$lsn0')")
    case $c in published*) q -c 'DROP PUBLICATION bench_events' >/dev/null ;; esac
    R_TPS=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$LOGS/$c.log")
    R_LAT=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' "$LOGS/$c.log")
    calls=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$LOGS/$c.log")
    R_WAL=$(awk -v w="$R_WAL" -v n="$calls" 'BEGIN { printf "%.0f", w / n }')
}

# µs per call of cache_delete in one statement of LOOP_CALLS calls, the best of 3
loop_us() {
    best=""
    for _ in 1 2 3; do
        ms=$(q -c '\timing on' -c "SELECT count(*) FROM generate_series(1, $LOOP_CALLS) i
                                    WHERE scribe.cache_delete('k:' || i % 1000)" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p')
        best=$(awk -v a="$ms" -v b="$best" 'BEGIN { print (b == "" || a + 0 < b + 0) ? a : b }')
    done
    awk -v ms="$best" -v n="$LOOP_CALLS" 'BEGIN { printf "%.2f", ms * 1000 / n }'
}

declare -A TPS LAT WAL LOOP
for r in $(seq 1 "$BENCH_ROUNDS"); do
    scribe_step "round $r of $BENCH_ROUNDS"
    for c in "${CASES[@]}"; do
        run_round "$c"
        scribe_note "$c: $R_TPS calls/s, $R_LAT ms, $R_WAL WAL bytes per call"
        TPS[$c]="${TPS[$c]:-} $R_TPS"; LAT[$c]="${LAT[$c]:-} $R_LAT"; WAL[$c]="${WAL[$c]:-} $R_WAL"
    done
done
scribe_step "$LOOP_CALLS calls in one statement"
for c in "${CASES[@]}"; do
    case $c in
        unpublished) LOOP[$c]=$(loop_us) ;;
        published)
            q -c 'CREATE PUBLICATION bench_events FOR TABLE scribe.cache_events' >/dev/null
            LOOP[$c]=$(loop_us)
            q -c 'DROP PUBLICATION bench_events' >/dev/null ;;
        *) continue ;;
    esac
    scribe_note "$c: ${LOOP[$c]} µs per call"
done
events=$(q -c 'SELECT count(*) FROM scribe.cache_events' 2>/dev/null || echo 0)

SECTION="$LOGS/section.md"
{
    echo "$BEGIN_MARK"
    echo "## Cache events (issue 7)"
    echo
    echo "Reproduce with \`make bench-cache-events\` (runs \`test/bench/cache_events.sh\`, about 3 minutes)."
    echo
    scribe_bench_facts
    echo "- PostgreSQL: $(q -c 'SELECT version()'); pg_scribe $(q -c 'SELECT scribe.version()')" \
         "(git $(git -C "$SCRIBE_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown))."
    echo "- Settings beyond initdb's: $(printf '`%s`, ' "${SERVER_CONF[@]}" | sed 's/, $//'); no Redis."
    echo "- \`pgbench -n -M prepared -c $BENCH_CLIENTS -j 2 -T $BENCH_SECONDS\`, one call per transaction," \
         "keys \`'k:' || (random() * 999)::int\`; $BENCH_ROUNDS rounds, the cases in turn; the median round." \
         "The published rounds recorded $events events."
    echo
    echo "| case | calls/s | latency per call (µs, 4 clients) | WAL bytes per call | µs per call, $LOOP_CALLS in one statement |"
    echo "|---|---|---|---|---|"
    for c in "${CASES[@]}"; do
        # shellcheck disable=SC2086
        echo "| ${LABEL[$c]} | $(median ${TPS[$c]} | awk '{ printf "%.0f", $1 }') |" \
             "$(median ${LAT[$c]} | awk '{ printf "%.0f", $1 * 1000 }') | $(median ${WAL[$c]}) | ${LOOP[$c]:-} |"
    done
    echo "$END_MARK"
} >"$SECTION"
scribe_step "results"
cat "$SECTION"
if [ -n "$BENCH_DOCS" ]; then
    scribe_docs_section "$BENCH_DOCS" "$SECTION" "$BEGIN_MARK" "$END_MARK"
    echo "written to $BENCH_DOCS"
fi
