#!/bin/bash
# What one scrape of scribe.metrics() costs on a million-job queue (issue 8),
# beside what an exporter that counts the queue table would pay: the
# count-by-state query a postgres_exporter custom query would run.
#   (a) 1,000,000 ready jobs in one queue
#   (b) the same jobs delayed (run_at a day ahead): queue_stats() counts
#       delayed jobs over an index range, the one cost that grows
# Each figure is the median of SCRAPES timings in one session (the plan is
# made once, as a scraper's session would), plus the first call of a new
# session.  One throwaway server, durability on.
#
# It prints a table and writes it between <!-- metrics-bench:begin --> and
# <!-- metrics-bench:end --> of docs/benchmarks.md.  Run it with
# `make bench-metrics`.  Environment: SCRAPES (default 20), JOBS (1000000),
# BENCH_DOCS (file to write to; empty: none), SCRIBE_KEEP=1.
set -euo pipefail
BENCH_SRC=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../bin/lib.sh
. "$BENCH_SRC/../bin/lib.sh"

SCRAPES=${SCRAPES:-20}
JOBS=${JOBS:-1000000}
BENCH_DOCS=${BENCH_DOCS-$SCRIBE_ROOT/docs/benchmarks.md}
BEGIN_MARK='<!-- metrics-bench:begin -->'
END_MARK='<!-- metrics-bench:end -->'
SERVER_CONF=(
    "shared_preload_libraries = 'pg_scribe'"
    "fsync = on"
    "synchronous_commit = on"
    "scribe.max_workers = 0"
    "scribe.heartbeat_interval = 0"
)
NAIVE="SELECT q.name,
       count(*) FILTER (WHERE j.lease_until IS NULL AND j.run_at <= now()) AS ready,
       count(*) FILTER (WHERE j.lease_until IS NULL AND j.run_at > now()) AS delayed,
       count(*) FILTER (WHERE j.lease_until IS NOT NULL) AS in_flight
FROM scribe.jobs j JOIN scribe.queues q USING (queue_id) GROUP BY q.name"

scribe_bench_begin
q() { scribe_psql "$@"; }

scribe_bench_prepare
scribe_step "start the benchmark server"
scribe_cluster_start bench "${SERVER_CONF[@]}"
q -c 'CREATE EXTENSION pg_scribe' >/dev/null

# Median and first-call milliseconds of statement $1 run $2 times in one session
time_statement() {
    sql=$1; n=$2
    script=$(printf '\\timing on\n'; for _ in $(seq 1 "$n"); do printf '%s;\n' "$sql"; done)
    times=$(printf '%s\n' "$script" | q -o /dev/null | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p')
    first=$(printf '%s\n' "$times" | head -n 1)
    median=$(printf '%s\n' "$times" | tail -n +2 | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
    echo "$median $first"
}

scribe_step "a queue of $JOBS jobs"
q -c "SELECT scribe.queue_create('big', consumer => 'clients')" >/dev/null
q -c "SELECT count(*) FROM scribe.send_batch('big', (SELECT array_agg('{}'::jsonb) FROM generate_series(1, $JOBS)))" >/dev/null
q -c 'VACUUM ANALYZE scribe.jobs' >/dev/null
EXPOSITION=$(q -c 'SELECT length(scribe.metrics())')
FAMILIES=$(q -c "SELECT count(*) FROM regexp_split_to_table(scribe.metrics(), E'\n') l WHERE l LIKE '# TYPE %'")

declare -A METRICS NAIVE_MS
for state in ready delayed; do
    if [ "$state" = delayed ]; then
        scribe_step "the same jobs delayed a day"
        q -c "UPDATE scribe.jobs SET run_at = now() + interval '1 day'" >/dev/null
        q -c 'VACUUM ANALYZE scribe.jobs' >/dev/null
    fi
    METRICS[$state]=$(time_statement 'SELECT length(scribe.metrics())' "$SCRAPES")
    NAIVE_MS[$state]=$(time_statement "$NAIVE" 5)
    scribe_note "$state: scribe.metrics() median/first ${METRICS[$state]} ms; count by state ${NAIVE_MS[$state]} ms"
done

# "median first" -> one cell, and the share of one core at a 15 s interval
cell() { awk -v m="$1" -v f="$2" 'BEGIN { printf "%.1f ms (first of a session %.1f ms)", m, f }'; }
share() { awk -v m="$1" 'BEGIN { printf "%.2f %%", m / 15000 * 100 }'; }

SECTION="$SCRIBE_WORK/section.md"
{
    echo "$BEGIN_MARK"
    echo "## Metrics (issue 8)"
    echo
    echo "Reproduce with \`make bench-metrics\` (runs \`test/bench/metrics.sh\`, about 2 minutes)."
    echo
    scribe_bench_facts
    echo "- PostgreSQL: $(q -c 'SELECT version()'); pg_scribe $(q -c 'SELECT scribe.version()')" \
         "(git $(git -C "$SCRIBE_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown))."
    echo "- One queue of $JOBS jobs made by one \`send_batch\`, vacuumed; \`scribe.metrics()\` returns" \
         "$FAMILIES metric families, $EXPOSITION bytes. Median of $SCRAPES scrapes in one session."
    echo "- Baseline: the count of the queue table by state that an exporter's custom query would run" \
         "(median of 5)."
    echo
    echo "| queue | \`scribe.metrics()\` | share of one core, a scrape every 15 s | count of \`scribe.jobs\` by state |"
    echo "|---|---|---|---|"
    for state in ready delayed; do
        read -r m f <<<"${METRICS[$state]}"
        read -r nm _ <<<"${NAIVE_MS[$state]}"
        echo "| $JOBS $state jobs | $(cell "$m" "$f") | $(share "$m") | $(awk -v n="$nm" 'BEGIN { printf "%.0f ms", n }') |"
    done
    echo "$END_MARK"
} >"$SECTION"
scribe_step "results"
cat "$SECTION"
if [ -n "$BENCH_DOCS" ]; then
    scribe_docs_section "$BENCH_DOCS" "$SECTION" "$BEGIN_MARK" "$END_MARK"
    echo "written to $BENCH_DOCS"
fi
