#!/bin/bash
# The replication benchmark (issue 7): apply lag of a logical replica, and
# what read-your-writes costs, on two throwaway servers on loopback (primary
# and replica, both with pg_scribe), in one run.
#
#   (a) apply lag at 200 and at 1,000 writes/s: pgbench --rate on the primary
#       inserts rows stamped with clock_timestamp(); on the replica a BEFORE
#       INSERT trigger enabled ALWAYS (so the apply worker fires it) stamps
#       each row's arrival with clock_timestamp().  Same machine, same clock:
#       lag = arrival - write, p50 and p99 over the rows of the run (the
#       first WARMUP_SECONDS left out).  The write is stamped before its
#       commit and the arrival before the apply worker's commit, so the lag
#       covers the primary's commit, decoding, sending and applying.
#   (b) read-your-writes under 200 writes/s of that load: RYW_TRIES tries of
#       one session inserting a row on the primary and taking
#       scribe.replication_commit_lsn(), then one session on the replica calling
#       scribe.replication_wait_lsn() (timed by the server's clock around the call)
#       and reading the row: wait p50, p99, longest, and reads that missed
#       their row (stale).  The same call reads the row just before the
#       wait too: the control, how often a read misses without it.
#
# Targets (issue 7): lag p99 < 100 ms at 1,000 writes/s; read-your-writes
# wait p99 < 20 ms with 0 stale reads.
#
# Durability stays on (fsync, synchronous_commit) on both servers, as in the
# other benchmarks; the subscription has its default synchronous_commit
# (off, PostgreSQL's default for apply workers).
#
# It prints a table and writes it, with the machine and the settings,
# between the markers <!-- replication-bench:begin --> and
# <!-- replication-bench:end --> of docs/benchmarks.md (appended when
# absent).  Run it with `make bench-replication`, as root or as a user with
# sudo (the servers run as SCRIBE_TEST_USER, see test/bin/lib.sh).
#
# The servers run from a private copy of the PostgreSQL installation with
# this build of pg_scribe installed into it, as in test/bench/queue.sh.
#
# Environment: BENCH_SECONDS (per rate, default 20), RYW_TRIES (1000),
# BENCH_DOCS (file to write the results to; empty: none), SCRIBE_KEEP=1
# keeps the scratch directory with every log.
set -euo pipefail
BENCH_SRC=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../bin/lib.sh
. "$BENCH_SRC/../bin/lib.sh"

BENCH_SECONDS=${BENCH_SECONDS:-20}
RYW_TRIES=${RYW_TRIES:-1000}
BENCH_DOCS=${BENCH_DOCS-$SCRIBE_ROOT/docs/benchmarks.md}
BEGIN_MARK='<!-- replication-bench:begin -->'
END_MARK='<!-- replication-bench:end -->'
RATES=(200 1000)
RYW_RATE=200
WARMUP_SECONDS=2
CLIENTS=4
LAG_TARGET_MS=100
RYW_TARGET_MS=20

COMMON_CONF=(
    "shared_preload_libraries = 'pg_scribe'"
    "fsync = on"
    "synchronous_commit = on"
    "scribe.heartbeat_interval = 0"
    "scribe.max_workers = 0"
)
PRIMARY_CONF=("${COMMON_CONF[@]}" "wal_level = logical")

BG_PID=""
trap '[ -z "$BG_PID" ] || kill "$BG_PID" 2>/dev/null || true; scribe_cleanup' EXIT
trap 'exit 130' INT TERM
BENCH_START=$SECONDS
LOAD_START=$(cut -d ' ' -f 1-3 /proc/loadavg)

# psql on the primary / the replica: unaligned, tuples only, stop on error
qp() { CLUSTER_PORT=$PRIMARY_PORT scribe_psql "$@"; }
qr() { CLUSTER_PORT=$REPLICA_PORT scribe_psql "$@"; }

# Wait until the replica holds as many rows of run $1 as the primary
wait_caught_up() {
    want=$(qp -c "SELECT count(*) FROM lag_rows WHERE run = $1")
    for _ in $(seq 1 600); do
        [ "$(qr -c "SELECT count(*) FROM lag_rows WHERE run = $1")" = "$want" ] && return 0
        sleep 0.1
    done
    echo "replication.sh: the replica did not catch up with run $1" >&2
    return 1
}

# pgbench inserting lag rows of run $1 at $2 writes/s for $3 seconds
load() {
    as_user "$PG_BINDIR/pgbench" -n -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres \
        -c "$CLIENTS" -j 2 -R "$2" -T "$3" -D run="$1" -f "$BENCH_SQL/lag.pgbench" postgres
}

scribe_bench_prepare
echo "in $PG_PRIVATE"

scribe_step "start the primary and the replica"
scribe_cluster_start primary "${PRIMARY_CONF[@]}"
PRIMARY_PORT=$CLUSTER_PORT
scribe_cluster_start replica "${COMMON_CONF[@]}"
REPLICA_PORT=$CLUSTER_PORT
echo "primary on port $PRIMARY_PORT, replica on port $REPLICA_PORT"
LOGS="$SCRIBE_WORK/logs"
BENCH_SQL="$SCRIBE_WORK/sql"
mkdir -p "$LOGS" "$BENCH_SQL"
echo "INSERT INTO lag_rows (run, written_at) VALUES (:run, clock_timestamp());" >"$BENCH_SQL/lag.pgbench"
cp "$BENCH_SRC/replication_ryw.pl" "$BENCH_SQL/"
chmod -R a+rX "$BENCH_SQL"

SCHEMA="
CREATE EXTENSION pg_scribe;
CREATE TABLE lag_rows (id bigserial PRIMARY KEY, run int NOT NULL, written_at timestamptz NOT NULL,
                       arrived_at timestamptz);
CREATE INDEX ON lag_rows (run);
CREATE TABLE ryw_rows (id bigserial PRIMARY KEY, run bigint NOT NULL, try int NOT NULL);
CREATE INDEX ON ryw_rows (run, try);"
qp -c "$SCHEMA" >/dev/null
qr -c "$SCHEMA" >/dev/null
qr >/dev/null <<'SQL'
CREATE FUNCTION stamp_arrival() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.arrived_at := clock_timestamp();
    RETURN NEW;
END $$;
CREATE TRIGGER stamp_arrival BEFORE INSERT ON lag_rows FOR EACH ROW EXECUTE FUNCTION stamp_arrival();
ALTER TABLE lag_rows ENABLE ALWAYS TRIGGER stamp_arrival;
-- one try of (b), in one round trip: read, wait, read again (a volatile
-- function's statements each take a new snapshot)
CREATE FUNCTION ryw_try(target pg_lsn, r bigint, t int) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    before int;
    after int;
    t0 timestamptz;
    t1 timestamptz;
BEGIN
    SELECT count(*) INTO before FROM ryw_rows WHERE run = r AND try = t;
    t0 := clock_timestamp();
    PERFORM scribe.replication_wait_lsn(target);
    t1 := clock_timestamp();
    SELECT count(*) INTO after FROM ryw_rows WHERE run = r AND try = t;
    RETURN format('%s %s %s', extract(epoch FROM t1 - t0) * 1000, before, after);
END $$;
SQL
qp -c "SELECT scribe.replication_publish(ARRAY['lag_rows', 'ryw_rows']::regclass[])" >/dev/null
qr -c "SELECT scribe.replication_subscribe('host=127.0.0.1 port=$PRIMARY_PORT user=postgres dbname=postgres')" >/dev/null
for _ in $(seq 1 300); do
    [ "$(qr -c "SELECT count(*) = 0 FROM pg_subscription_rel WHERE srsubstate <> 'r'")" = t ] && break
    sleep 0.1
done

declare -A LAG_P50=() LAG_P99=() LAG_MAX=() ACHIEVED=()
run=0
for rate in "${RATES[@]}"; do
    run=$((run + 1))
    scribe_step "(a) apply lag at $rate writes/s for $BENCH_SECONDS s"
    load "$run" "$rate" "$BENCH_SECONDS" >"$LOGS/lag-$rate.log" 2>&1
    wait_caught_up "$run"
    read -r p50 p99 pmax n <<<"$(qr -F ' ' -c "
        WITH r AS (SELECT extract(epoch FROM arrived_at - written_at) * 1000 AS ms FROM lag_rows
                   WHERE run = $run
                     AND written_at >= (SELECT min(written_at) FROM lag_rows WHERE run = $run)
                                       + interval '$WARMUP_SECONDS seconds')
        SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1),
               round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 1),
               round(max(ms)::numeric, 1), count(*) FROM r")"
    ACHIEVED[$rate]=$(qp -c "SELECT round(count(*) / extract(epoch FROM max(written_at) - min(written_at)))
                             FROM lag_rows WHERE run = $run")
    LAG_P50[$rate]=$p50; LAG_P99[$rate]=$p99; LAG_MAX[$rate]=$pmax
    scribe_note "$n rows measured, ${ACHIEVED[$rate]} writes/s achieved: lag p50 $p50 ms, p99 $p99 ms, longest $pmax ms"
done

scribe_step "(b) read-your-writes: $RYW_TRIES tries under $RYW_RATE writes/s"
run=$((run + 1))
load "$run" "$RYW_RATE" 3600 >"$LOGS/ryw-load.log" 2>&1 &
BG_PID=$!
sleep 1
as_user perl "$BENCH_SQL/replication_ryw.pl" "$PG_BINDIR/psql" "$PRIMARY_PORT" "$REPLICA_PORT" \
    1 "$RYW_TRIES" >"$LOGS/ryw.txt"
kill "$BG_PID" 2>/dev/null || true
wait "$BG_PID" 2>/dev/null || true
BG_PID=""
read -r RYW_P50 RYW_P99 RYW_MAX RYW_STALE RYW_N RYW_WAITED <<<"$(sort -n "$LOGS/ryw.txt" | awk '
    { ms[NR] = $1; if ($3 == 0) stale++; if ($1 >= 0.05) waited++ }
    END { i50 = int(NR * 0.50 + 0.5); i99 = int(NR * 0.99 + 0.5); if (i50 < 1) i50 = 1; if (i99 < 1) i99 = 1;
          printf "%.1f %.1f %.1f %d %d %d\n", ms[i50], ms[i99], ms[NR], stale, NR, waited }')"
CONTROL_STALE=$(awk '$2 == 0 { n++ } END { print n + 0 }' "$LOGS/ryw.txt")
scribe_note "$RYW_N tries: wait p50 $RYW_P50 ms, p99 $RYW_P99 ms, longest $RYW_MAX ms; stale $RYW_STALE;" \
    "without waiting: $CONTROL_STALE of $RYW_TRIES reads missed their row"

# --- the table ------------------------------------------------------------------
verdict() { awk -v v="$1" -v t="$2" 'BEGIN { print (v + 0 < t + 0) ? "met" : "**missed**" }'; }
SECTION="$SCRIBE_WORK/section.md"
{
    echo "$BEGIN_MARK"
    echo "## Replication (issue 7)"
    echo
    echo "Reproduce with \`make bench-replication\` (runs \`test/bench/replication.sh\`, about a minute)."
    echo
    scribe_bench_facts
    echo "- PostgreSQL: $(qp -c 'SELECT version()'); pg_scribe $(qp -c 'SELECT scribe.version()')" \
         "(git $(git -C "$SCRIBE_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown))."
    echo "- Two servers on loopback, on the same machine (so one clock): a primary (\`wal_level = logical\`)"
    echo "  publishing two tables with \`scribe.replication_publish()\`, a replica subscribing with \`scribe.replication_subscribe()\`."
    echo "  Durability on for both: \`fsync = on\`, \`synchronous_commit = on\` (the apply worker commits"
    echo "  with \`synchronous_commit = off\`, the subscription's default)."
    echo "- (a) \`pgbench --rate\` with $CLIENTS clients inserts rows stamped \`clock_timestamp()\` for $BENCH_SECONDS s;"
    echo "  a \`BEFORE INSERT\` trigger \`ENABLE ALWAYS\` on the replica stamps their arrival. Lag ="
    echo "  arrival - write, over the rows after the first $WARMUP_SECONDS s."
    echo "- (b) under $RYW_RATE writes/s of that load, $RYW_TRIES tries: insert a row on the primary and"
    echo "  \`SELECT scribe.replication_commit_lsn()\` (one session), then on the replica \`scribe.replication_wait_lsn()\`"
    echo "  (timed by the server's clock around the call) and read the row, in one call of a PL/pgSQL"
    echo "  function (each of its statements takes a new snapshot), which also reads the row just"
    echo "  before the wait: the control, what a read without the wait would have seen. Stale: reads"
    echo "  that missed their row. A wait under 0.05 ms found the position applied at its first look"
    echo "  (\"had to wait\" counts the others): the round trips between the write and the wait"
    echo "  (primary to client to replica) often take longer than the apply itself."
    echo
    echo "| Measure | Result | Target | |"
    echo "|---|---|---|---|"
    for rate in "${RATES[@]}"; do
        target="" ; met=""
        if [ "$rate" = 1000 ]; then target="p99 < $LAG_TARGET_MS ms"; met=$(verdict "${LAG_P99[$rate]}" "$LAG_TARGET_MS"); fi
        echo "| (a) apply lag at $rate writes/s (${ACHIEVED[$rate]} achieved) | p50 ${LAG_P50[$rate]} ms, p99 ${LAG_P99[$rate]} ms, longest ${LAG_MAX[$rate]} ms | $target | $met |"
    done
    echo "| (b) read-your-writes wait, $RYW_N tries at $RYW_RATE writes/s ($RYW_WAITED had to wait) | p50 $RYW_P50 ms, p99 $RYW_P99 ms, longest $RYW_MAX ms | p99 < $RYW_TARGET_MS ms | $(verdict "$RYW_P99" "$RYW_TARGET_MS") |"
    echo "| (b) stale reads after the wait | $RYW_STALE of $RYW_N | 0 | $( [ "$RYW_STALE" = 0 ] && echo met || echo '**missed**') |"
    echo "| (b) control: the same reads just before the wait | $CONTROL_STALE of $RYW_N missed | | |"
    echo "$END_MARK"
} >"$SECTION"
echo
cat "$SECTION"
if [ -n "$BENCH_DOCS" ]; then
    scribe_docs_section "$BENCH_DOCS" "$SECTION" "$BEGIN_MARK" "$END_MARK"
    echo "written to $BENCH_DOCS"
fi
