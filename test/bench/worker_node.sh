#!/bin/bash
# The worker node benchmark (issue 7): OCR throughput of the document
# pipeline on the primary alone, then with a worker node, both servers on
# this machine.
#
#   (a) the primary alone, 1 worker
#   (b) the primary alone, 2 workers
#   (c) the primary with 1 worker + a worker node with 1 worker
#       (scribe.queue_conninfo, scribe.queue_poll_interval = 100ms)
#
# Each run submits the sample scans (test/fixtures/scans: 6 scans, 7 pages)
# BENCH_NODE_COPIES times in one transaction with scribe.document_submit()
# and is timed from its commit to the last document's finished_at; pages per
# minute in all, and per node from the jobs' results (result->>'node').
#
# It prints one table and writes it, with the machine and the settings,
# between the markers <!-- worker-node-bench:begin --> and
# <!-- worker-node-bench:end --> of docs/benchmarks.md (appended when
# absent).  Run it with `make bench-worker-node`, as root or as a user with
# sudo (the servers run as SCRIBE_TEST_USER, see test/bin/lib.sh), from a
# private copy of PostgreSQL with this build installed, as test/bench/ocr.sh.
#
# Environment: BENCH_NODE_COPIES (copies of the scans per run, default 4),
# BENCH_NODE_TIMEOUT (seconds a run may take, 600), BENCH_DOCS (file to write
# the results to; empty: none), SCRIBE_KEEP=1 keeps the scratch directory.
set -euo pipefail
BENCH_SRC=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../bin/lib.sh
. "$BENCH_SRC/../bin/lib.sh"

SCANS="$SCRIBE_ROOT/test/fixtures/scans"
BENCH_NODE_COPIES=${BENCH_NODE_COPIES:-4}
BENCH_NODE_TIMEOUT=${BENCH_NODE_TIMEOUT:-600}
BENCH_DOCS=${BENCH_DOCS-$SCRIBE_ROOT/docs/benchmarks.md}
BEGIN_MARK='<!-- worker-node-bench:begin -->'
END_MARK='<!-- worker-node-bench:end -->'

COMMON_CONF=(
    "shared_preload_libraries = 'pg_scribe'"
    "scribe.heartbeat_interval = 0"
    "max_worker_processes = 16"
)

scribe_bench_begin

# awk arithmetic, and a number with $2 decimals
calc() { awk "BEGIN { print $1 }"; }
fmt() { awk -v v="$1" -v d="$2" 'BEGIN { printf "%.*f", d, v }'; }

scribe_bench_prepare
echo "in $PG_PRIVATE"
as_user mkdir -p "$SCRIBE_WORK/scans"
cp "$SCANS"/*.png "$SCANS"/*.jpg "$SCANS"/*.tif "$SCRIBE_WORK/scans/"
chmod a+r "$SCRIBE_WORK/scans"/*
mapfile -t FILES < <(cd "$SCRIBE_WORK/scans" && ls)

scribe_step "servers: the primary, then the worker node (its pool off until run (c))"
scribe_cluster_start primary "${COMMON_CONF[@]}" "scribe.node_name = 'primary'" \
    "scribe.min_workers = 1" "scribe.max_workers = 1"
PRIMARY_PORT=$CLUSTER_PORT
scribe_cluster_start node "${COMMON_CONF[@]}" "scribe.node_name = 'node'" \
    "scribe.min_workers = 0" "scribe.max_workers = 0" "scribe.queue_poll_interval = 100"
NODE_PORT=$CLUSTER_PORT
qp() { CLUSTER_PORT=$PRIMARY_PORT scribe_psql "$@"; }
qn() { CLUSTER_PORT=$NODE_PORT scribe_psql "$@"; }
qp -c "CREATE EXTENSION pg_scribe" -c "SELECT count(*) FROM scribe.queue_alter('ocr', lease => '5 minutes')" >/dev/null
qn -c "CREATE EXTENSION pg_scribe" >/dev/null

# Wait until server q (qp or qn) runs n workers
wait_workers() {
    for _ in $(seq 1 300); do
        [ "$($1 -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_scribe worker'")" = "$2" ] && return 0
        sleep 0.1
    done
    echo "the pool did not reach $2 workers" >&2
    return 1
}

# Set a server's pool size with ALTER SYSTEM and a reload
pool_size() {
    $1 -c "ALTER SYSTEM SET scribe.min_workers = $2" -c "ALTER SYSTEM SET scribe.max_workers = $2" \
        -c "SELECT pg_reload_conf()" >/dev/null
    wait_workers "$1" "$2"
}

declare -A RES
# One run: run NAME; sets RES[NAME], RES[NAME_primary], RES[NAME_node] (pages/minute)
run() {
    local name=$1 script="$SCRIBE_WORK/$1.sql" out="$SCRIBE_WORK/$1.out" start end pages polled
    {
        echo "BEGIN;"
        for ((k = 0; k < BENCH_NODE_COPIES; k++)); do
            for f in "${FILES[@]}"; do
                echo "SELECT scribe.document_submit(pg_read_binary_file('$SCRIBE_WORK/scans/$f'), owner => 'bench-$name');"
            done
        done
        echo "COMMIT;"
        echo "SELECT 'start ' || extract(epoch FROM clock_timestamp());"
    } >"$script"
    chmod a+r "$script"
    qp -f "$script" >"$out"
    start=$(sed -n 's/^start //p' "$out")
    while :; do
        read -r left polled <<<"$(qp -F ' ' -c "SELECT count(*) FILTER (WHERE status = 'queued'), extract(epoch FROM clock_timestamp())
                                               FROM scribe.documents WHERE owner = 'bench-$name'")"
        [ "$left" = 0 ] && break
        if awk -v p="$polled" -v s="$start" -v t="$BENCH_NODE_TIMEOUT" 'BEGIN { exit !(p - s > t) }'; then
            echo "run $name: $left documents left after $BENCH_NODE_TIMEOUT s" >&2
            exit 1
        fi
        sleep 0.2
    done
    read -r end pages failed <<<"$(qp -F ' ' -c "SELECT extract(epoch FROM max(finished_at)), sum(pages), count(*) FILTER (WHERE status = 'failed')
                                          FROM scribe.documents WHERE owner = 'bench-$name'")"
    RES[$name]=$(calc "$pages * 60 / ($end - $start)")
    RES[${name}_failed]=$failed
    for n in primary node; do
        RES[${name}_$n]=$(calc "$(qp -c "SELECT coalesce(sum(d.pages), 0) FROM scribe.documents d
                                     JOIN scribe.jobs_archive a ON a.job_id = d.job_id
                                     WHERE d.owner = 'bench-$name' AND a.result->>'node' = '$n'") * 60 / ($end - $start)")
    done
    RES[${name}_pages]=$pages
    RES[${name}_seconds]=$(calc "$end - $start")
    scribe_note "$pages pages in $(fmt "${RES[${name}_seconds]}" 1) s: $(fmt "${RES[$name]}" 1) pages/minute" \
        "(primary $(fmt "${RES[${name}_primary]}" 1), node $(fmt "${RES[${name}_node]}" 1)), $failed failed"
}

scribe_step "(a) the primary alone, 1 worker"
pool_size qp 1
run a
scribe_step "(b) the primary alone, 2 workers"
pool_size qp 2
run b
scribe_step "(c) the primary with 1 worker + a worker node with 1 worker"
pool_size qp 1
qn -c "ALTER SYSTEM SET scribe.queue_conninfo = 'host=127.0.0.1 port=$PRIMARY_PORT dbname=postgres user=postgres'" >/dev/null
pool_size qn 1
run c
LOAD_END=$(cut -d ' ' -f 1-3 /proc/loadavg)

row() {
    echo "| $1 | $(fmt "${RES[$2]}" 1) | $(fmt "${RES[${2}_primary]}" 1) | $(fmt "${RES[${2}_node]}" 1) | ${RES[${2}_pages]} in $(fmt "${RES[${2}_seconds]}" 1) s, ${RES[${2}_failed]} failed |"
}
TABLE=$(
    echo "| run | pages/minute | on the primary | on the node | pages |"
    echo "|---|---|---|---|---|"
    row "(a) primary alone, 1 worker" a
    row "(b) primary alone, 2 workers" b
    row "(c) primary 1 worker + worker node 1 worker" c
)
scribe_step "results"
echo
echo "$TABLE"
echo "(c) / (a): $(fmt "$(calc "${RES[c]} / ${RES[a]}")" 2)×, (c) / (b): $(fmt "$(calc "${RES[c]} / ${RES[b]}")" 2)×"

if [ -n "$BENCH_DOCS" ]; then
    SECTION="$SCRIBE_WORK/section.md"
    cat >"$SECTION" <<EOF
$BEGIN_MARK
## Worker nodes (issue 7)

Reproduce with \`make bench-worker-node\` (runs \`test/bench/worker_node.sh\`, about $(( (SECONDS - BENCH_START) / 60 + 1 )) min).

$(scribe_bench_facts)
- Load: the sample scans (\`test/fixtures/scans\`: 6 scans, 7 pages) $BENCH_NODE_COPIES times, submitted in one
  transaction on the primary with \`scribe.document_submit()\`, timed from its commit to the last
  \`finished_at\`; per node from the jobs' results (\`result->>'node'\`). Both servers on this machine,
  over loopback TCP, \`fsync = off\`; the node polls every 100 ms (\`scribe.queue_poll_interval\`).

$TABLE

(c) / (a): $(fmt "$(calc "${RES[c]} / ${RES[a]}")" 2)×; (c) / (b): $(fmt "$(calc "${RES[c]} / ${RES[b]}")" 2)×.
$END_MARK
EOF
    scribe_docs_section "$BENCH_DOCS" "$SECTION" "$BEGIN_MARK" "$END_MARK"
    echo "written to $BENCH_DOCS"
fi
