#!/bin/bash
# What job isolation and lease tokens cost (issue 14): this build side by
# side with the last build without them (BENCH_BASELINE), each on a server
# of its own from a private copy of PostgreSQL, durability on, in one run:
#   (a) the pool (one worker) drains BENCH_JOBS no-op sql jobs of one sender   jobs/s
#   (b) the same, the jobs of two senders interleaved (every other job)        jobs/s
#   (c) claim + ack one job at a time, 4 SQL clients                           jobs/s
# What this build adds per job: the settings a job changed are rolled back,
# its session cleaned (DISCARD ALL's work), its call run with
# scribe.job_search_path; a transaction of the pool holds one sender's jobs,
# so (b) commits after every job where (a) commits every 32; a claim draws a
# random lease token.  Each case runs BENCH_ROUNDS rounds, the builds in turn
# (rotating which goes first); the median round.
#
# It prints a table and writes it between <!-- isolation-bench:begin --> and
# <!-- isolation-bench:end --> of docs/benchmarks.md.  Run it with
# `make bench-isolation`.  Environment: BENCH_BASELINE (a commit, default
# c91ad2c: the last before issue 14), BENCH_JOBS (default 20000),
# BENCH_SECONDS (per round of (c), default 10), BENCH_ROUNDS (3), BENCH_DOCS
# (file to write to; empty: none), SCRIBE_KEEP=1.
set -euo pipefail
BENCH_SRC=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../bin/lib.sh
. "$BENCH_SRC/../bin/lib.sh"

BENCH_BASELINE=${BENCH_BASELINE:-c91ad2c}
BENCH_JOBS=${BENCH_JOBS:-20000}
BENCH_SECONDS=${BENCH_SECONDS:-10}
BENCH_ROUNDS=${BENCH_ROUNDS:-3}
BENCH_CLIENTS=4
BENCH_PREFILL=200000
BENCH_DOCS=${BENCH_DOCS-$SCRIBE_ROOT/docs/benchmarks.md}
BEGIN_MARK='<!-- isolation-bench:begin -->'
END_MARK='<!-- isolation-bench:end -->'

# lib.sh turns fsync off for test servers; a benchmark keeps durability on
SERVER_CONF=(
    "shared_preload_libraries = 'pg_scribe'"
    "fsync = on"
    "synchronous_commit = on"
    "full_page_writes = on"
    "scribe.min_workers = 1"
    "scribe.max_workers = 1"
    "scribe.heartbeat_interval = 0"
    "shared_buffers = 256MB"
    "max_wal_size = 4GB"
)
BUILDS=(baseline now)
declare -A BIN PORT LABEL

scribe_bench_begin
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# psql on the server of build $1
q() {
    b=$1; shift
    as_user "${BIN[$b]}/psql" -X -q -At -h 127.0.0.1 -p "${PORT[$b]}" -U postgres -d postgres -v ON_ERROR_STOP=1 "$@"
}

scribe_bench_prepare
BIN[now]=$PG_BINDIR
LABEL[now]="this build ($(git -C "$SCRIBE_ROOT" describe --always --dirty 2>/dev/null || echo unknown))"
scribe_step "the baseline, $BENCH_BASELINE, built into a private copy of its own"
BASE_SRC="$SCRIBE_WORK/baseline-src"
mkdir -p "$BASE_SRC"
git -C "$SCRIBE_ROOT" archive "$BENCH_BASELINE" | tar xf - -C "$BASE_SRC"
make -C "$BASE_SRC" -s PG_CONFIG="$PG_CONFIG"
scribe_private_install "$BASE_SRC" "$SCRIBE_WORK/pg-baseline" || exit 1
BIN[baseline]=$PG_BINDIR
LABEL[baseline]="baseline ($(git -C "$SCRIBE_ROOT" rev-parse --short "$BENCH_BASELINE"))"

LOGS="$SCRIBE_WORK/logs"
as_user mkdir -p "$LOGS"
for b in "${BUILDS[@]}"; do
    scribe_step "start the server of the $b build"
    PG_BINDIR=${BIN[$b]}
    scribe_cluster_start "$b" "${SERVER_CONF[@]}"
    PORT[$b]=$CLUSTER_PORT
    q "$b" >/dev/null <<'SQL'
CREATE EXTENSION pg_scribe;
CREATE SCHEMA bench;
CREATE FUNCTION bench.noop(args jsonb) RETURNS void LANGUAGE sql AS $$ $$;
CREATE ROLE bench_a;
CREATE ROLE bench_b;
GRANT USAGE ON SCHEMA bench TO bench_a, bench_b;
GRANT EXECUTE ON FUNCTION scribe.send(text, jsonb, text, interval, timestamptz, integer, text, integer)
    TO bench_a, bench_b;
SELECT scribe.queue_create('drain', retention => '0');
SELECT scribe.queue_create('clients', consumer => 'clients', retention => '0');
-- queues have owners since 0.4.0: the senders need the drain queue's grant (the baseline has none)
DO $$
BEGIN
    IF to_regproc('scribe.queue_grant') IS NOT NULL THEN
        PERFORM scribe.queue_grant('drain', 'bench_a', '{send}');
        PERFORM scribe.queue_grant('drain', 'bench_b', '{send}');
    END IF;
END
$$;
SQL
done
# (c): the baseline names a lease (job_id, attempt), this build (job_id, lease token)
echo 'SELECT job_id, attempt FROM scribe.claim('"'clients'"') \gset
SELECT scribe.ack(:job_id, :attempt);' | as_user tee "$LOGS/c_baseline.pgbench" >/dev/null
echo 'SELECT job_id, lease FROM scribe.claim('"'clients'"') \gset
SELECT scribe.ack(:job_id, :lease);' | as_user tee "$LOGS/c_now.pgbench" >/dev/null

# Queue BENCH_JOBS no-op jobs on build $1, of one sender ($2 = one) or of
# two interleaved (two), in one transaction; time from its commit until the
# pool drained them; prints jobs/s
drain() {
    b=$1; senders=$2
    q "$b" -c 'VACUUM ANALYZE scribe.jobs' -c 'CHECKPOINT'
    # one statement per job for both, so that only the senders differ
    t0=$(q "$b" -c "DO \$\$
        BEGIN
            FOR i IN 1..$BENCH_JOBS LOOP
                EXECUTE CASE WHEN '$senders' = 'one' OR i % 2 = 0 THEN 'SET ROLE bench_a' ELSE 'SET ROLE bench_b' END;
                PERFORM scribe.send('drain', '{\"function\": \"bench.noop\"}', kind => 'sql');
            END LOOP;
            RESET ROLE;
        END
        \$\$" -c 'SELECT extract(epoch FROM clock_timestamp())' | tail -n 1)
    t1=$(q "$b" -c "DO \$\$
        BEGIN
            LOOP
                EXIT WHEN NOT EXISTS (SELECT FROM scribe.jobs);
                COMMIT;
                PERFORM pg_sleep(0.01);
            END LOOP;
        END
        \$\$" -c 'SELECT extract(epoch FROM clock_timestamp())' | tail -n 1)
    awk -v n="$BENCH_JOBS" -v s="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" 'BEGIN { printf "%.0f", n / s }'
}

# One round of (c) on build $1; prints jobs/s
claim_ack() {
    b=$1
    q "$b" -c 'CHECKPOINT'
    as_user "${BIN[$b]}/pgbench" -n -M prepared -h 127.0.0.1 -p "${PORT[$b]}" -U postgres \
        -c "$BENCH_CLIENTS" -j 2 -T "$BENCH_SECONDS" -f "$LOGS/c_$b.pgbench" postgres \
        >"$LOGS/c_$b.log" 2>&1 || { tail -n 20 "$LOGS/c_$b.log" >&2; exit 1; }
    sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$LOGS/c_$b.log" | awk '{ printf "%.0f", $1 }'
}

declare -A RES
for r in $(seq 1 "$BENCH_ROUNDS"); do
    scribe_step "round $r of $BENCH_ROUNDS"
    for k in 0 1; do
        b=${BUILDS[$(( (k + r) % 2 ))]}
        for senders in one two; do
            v=$(drain "$b" "$senders")
            RES[$b,$senders]="${RES[$b,$senders]:-} $v"
            scribe_note "$b, (a/b) drain of $BENCH_JOBS jobs, $senders sender(s): $v jobs/s"
        done
        q "$b" -c "SELECT count(*) FROM scribe.send_batch('clients',
                       array_fill('{}'::jsonb, ARRAY[$BENCH_PREFILL]))" -c 'VACUUM ANALYZE scribe.jobs' >/dev/null
        v=$(claim_ack "$b")
        RES[$b,claim]="${RES[$b,claim]:-} $v"
        scribe_note "$b, (c) claim + ack: $v jobs/s"
        q "$b" -c "SELECT scribe.queue_purge('clients', 'all')" >/dev/null
    done
done

SECTION="$LOGS/section.md"
{
    echo "$BEGIN_MARK"
    echo "## Job isolation and lease tokens (issue 14)"
    echo
    echo "Reproduce with \`make bench-isolation\` (runs \`test/bench/isolation.sh\`, about 2 minutes)."
    echo
    scribe_bench_facts
    echo "- PostgreSQL: $(q now -c 'SELECT version()'); ${LABEL[now]} against the ${LABEL[baseline]}," \
         "each on a server of its own, both running throughout."
    echo "- Settings beyond initdb's: $(printf '`%s`, ' "${SERVER_CONF[@]}" | sed 's/, $//')."
    echo "- (a), (b): $BENCH_JOBS jobs \`{\"function\": \"bench.noop\"}\` of kind \`sql\` (a no-op SQL function)," \
         "sent one statement each in one transaction; from its commit until none is left. (c):" \
         "\`pgbench -n -M prepared -c $BENCH_CLIENTS -j 2 -T $BENCH_SECONDS\`, claim then ack (two transactions" \
         "per job) from $BENCH_PREFILL jobs queued. $BENCH_ROUNDS rounds, the builds in turn; the median round."
    echo
    echo "| case | ${LABEL[baseline]} | ${LABEL[now]} | now / baseline |"
    echo "|---|---|---|---|"
    for c in "one:(a) the pool drains no-op \`sql\` jobs of one sender (jobs/s)" \
             "two:(b) the same, two senders' jobs interleaved (jobs/s)" \
             "claim:(c) claim + ack, $BENCH_CLIENTS SQL clients (jobs/s)"; do
        key=${c%%:*}
        # shellcheck disable=SC2086
        base=$(median ${RES[baseline,$key]}); now=$(median ${RES[now,$key]})
        echo "| ${c#*:} | $base | $now | $(awk -v a="$now" -v b="$base" 'BEGIN { printf "%.2f", a / b }') |"
    done
    echo "$END_MARK"
} >"$SECTION"
scribe_step "results"
cat "$SECTION"
if [ -n "$BENCH_DOCS" ]; then
    scribe_docs_section "$BENCH_DOCS" "$SECTION" "$BEGIN_MARK" "$END_MARK"
    echo "written to $BENCH_DOCS"
fi
