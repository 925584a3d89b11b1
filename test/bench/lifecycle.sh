#!/bin/bash
# The lifecycle benchmark (issue 6): a purge policy against a single DELETE,
# on one throwaway server with the worker pool running, in one run.
#
# Every case deletes the same 1,000,000 rows older than the cutoff from a
# fresh copy of the same table (100,000 newer rows stay; an index on the
# time column; VACUUM ANALYZE, then a CHECKPOINT, before each):
#   (a) DELETE FROM logs WHERE at < now() - interval '90 days', one statement
#   (b) a purge policy run, batch_size 10000, pause at its default (100 ms)
#   (c) the same, pause 0
#   (d) batch_size 50000, pause at its default
#   (e) batch_size 50000, pause 0
# and for each it measures:
#   total time      (a) the statement to its commit; (b)-(e) from
#                   scribe.policy_run() to the run's success (the run's
#                   queued_at and finished_at in scribe.policy_runs)
#   longest lock    from outside: a probe session that, every PROBE_MS,
#                   updates the oldest old row no probe has touched yet (the
#                   next row the purge takes) and times it; a row lock of
#                   the DELETE keeps it waiting until the DELETE commits, a
#                   batch's until that batch commits.  Its longest wait, p99
#                   and number of probes over the purge; for a policy also
#                   its longest batch from inside (claim to finish, from the
#                   queue's archive of the run's jobs)
#   WAL             pg_current_wal_lsn() before and after, and how much of it
#                   is row-lock records (pg_waldump); the peak rate from
#                   samples every WAL_SAMPLE_MS
# Then a second pass of the same cases while pgbench inserts new rows into
# the table (INSERT_CLIENTS clients): the purge's total time under that
# load and the insert rate during the purge against the BASELINE_SECONDS
# before it (counted from the rows' timestamps).
#
# Durability stays on (fsync, synchronous_commit, full_page_writes), as in
# test/bench/queue.sh: a purge is only as fast as the WAL it must write.
# Autovacuum is off on the purged table so that its WAL and time are the
# purge's (the vacuum that follows is the same work either way).  Every
# case runs BENCH_ROUNDS rounds (BENCH_INSERT_ROUNDS with inserts), the
# cases in turn (rotating who goes first); the tables show the median round,
# and the longest probe wait of all rounds.
#
# It prints two tables and writes them, with the machine and the settings,
# between the markers <!-- lifecycle-bench:begin --> and
# <!-- lifecycle-bench:end --> of docs/benchmarks.md (appended when absent).
# Run it with `make bench-lifecycle`, as root or as a user with sudo (the
# server runs as SCRIBE_TEST_USER, see test/bin/lib.sh).
#
# The server runs from a private copy of the PostgreSQL installation with
# this build of pg_scribe installed into it, as in test/bench/queue.sh.
#
# Environment: BENCH_ROUNDS (3), BENCH_INSERT_ROUNDS (3), BENCH_ROWS (rows
# to purge, 1000000), BENCH_DOCS (file to write the results to; empty:
# none), SCRIBE_KEEP=1 keeps the scratch directory with every log.
set -euo pipefail
BENCH_SRC=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../bin/lib.sh
. "$BENCH_SRC/../bin/lib.sh"

BENCH_ROUNDS=${BENCH_ROUNDS:-3}
BENCH_INSERT_ROUNDS=${BENCH_INSERT_ROUNDS:-3}
BENCH_ROWS=${BENCH_ROWS:-1000000}
BENCH_NEW_ROWS=$((BENCH_ROWS / 10))
BENCH_DOCS=${BENCH_DOCS-$SCRIBE_ROOT/docs/benchmarks.md}
BEGIN_MARK='<!-- lifecycle-bench:begin -->'
END_MARK='<!-- lifecycle-bench:end -->'

# The probe's period, and the wait that counts as one (the probe alone takes a few ms)
PROBE_MS=20
PROBE_S=0.020
PROBE_WAIT_MS=50
# How often the WAL position is sampled
WAL_SAMPLE_MS=250
WAL_SAMPLE_S=0.25
# The inserting clients of the second pass, and the time they run alone first
INSERT_CLIENTS=2
BASELINE_SECONDS=5
# How long the probe and the sampler run before a purge starts
LEAD_SECONDS=1
# The longest a purge may take
PURGE_TIMEOUT=600

# The purge: rows older than this go
OLDER_THAN='90 days'
CUTOFF="now() - interval '$OLDER_THAN'"

# The cases: name, then the policy's batch_size and pause ("" for the
# default); delete is the single DELETE
CASES=(delete b10k b10k_nopause b50k b50k_nopause)
declare -A BATCH=([b10k]=10000 [b10k_nopause]=10000 [b50k]=50000 [b50k_nopause]=50000)
declare -A PAUSE=([b10k]="" [b10k_nopause]=0 [b50k]="" [b50k_nopause]=0)

# The benchmark server's settings beyond initdb's defaults.  lib.sh turns
# fsync off for the test servers; a benchmark keeps durability on.
SERVER_CONF=(
    "shared_preload_libraries = 'pg_scribe'"
    "fsync = on"
    "synchronous_commit = on"
    "full_page_writes = on"
    "scribe.min_workers = 1"
    "scribe.max_workers = 2"
    "scribe.heartbeat_interval = 0"
    "shared_buffers = 512MB"
    "max_wal_size = 8GB"
    "checkpoint_timeout = 30min"
)

BENCH_START=$SECONDS
BG_PIDS=()
STOP_FILE=""
trap 'stop_background; scribe_cleanup' EXIT
trap 'exit 130' INT TERM

die() { echo "lifecycle.sh: $*" >&2; exit 1; }

# psql on the benchmark server: unaligned, tuples only, stop on error
q() { scribe_psql -F ' ' "$@"; }

# Round a number: fmt VALUE [DECIMALS]
fmt() { awk -v v="$1" -v d="${2:-0}" 'BEGIN { printf "%.*f", d, v }'; }

# Median of the arguments
median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
        END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.6f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Largest of the arguments
largest() { printf '%s\n' "$@" | sort -g | tail -n 1; }

# ratio A B: A / B to two decimals, as 1.23×
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f×", a / b; else print "n/a" }'; }

# --- the background sessions ----------------------------------------------------
# Sleep $1 seconds without starting a process: a read that times out on a
# FIFO that nobody writes to (opened read-write, it never ends)
nap() {
    read -r -t "$1" -u "$NAP_FD" _ || true
}

# The probe: every PROBE_MS, in one session, update the oldest row older than
# the cutoff that no probe has touched yet, and append "start_epoch ms" to
# $2, until $1 exists.  Marking the rows it touched keeps it on the purge's
# front: a row it held at the instant a batch passed is skipped by that batch
# (SKIP LOCKED) and left for the end of the run, and must not hold the probe.
probe_loop() {
    stop=$1 log=$2
    sql="UPDATE logs SET msg = 'probed' WHERE id = (SELECT id FROM logs WHERE at < $CUTOFF AND msg <> 'probed' ORDER BY at LIMIT 1);"
    coproc PROBE { as_user "$PG_BINDIR/psql" -X -q -h 127.0.0.1 -p "$CLUSTER_PORT" -U postgres -d postgres \
                       -v ON_ERROR_STOP=1 2>&1; }
    printf '%s\n' '\timing on' >&"${PROBE[1]}"
    while [ ! -e "$stop" ]; do
        t0=$EPOCHREALTIME
        echo "$sql" >&"${PROBE[1]}"
        # "Time: 1.234 ms" (or "Time: 1304.180 ms (00:01.304)"), or an error
        read -r line <&"${PROBE[0]}" || { echo "$t0 error: the probe's session ended" >>"$log"; break; }
        case $line in
            Time:*) ms=${line#Time: }; echo "$t0 ${ms%% *}" >>"$log" ;;
            *) echo "$t0 error: $line" >>"$log"; break ;;
        esac
        nap "$PROBE_S"
    done
    fd=${PROBE[1]}
    exec {fd}>&-
    wait
}

# The WAL sampler: every WAL_SAMPLE_MS, append "epoch bytes" (WAL written
# since 0/0) to $2, until $1 exists
wal_loop() {
    stop=$1 log=$2
    coproc WAL { as_user "$PG_BINDIR/psql" -X -q -At -F ' ' -h 127.0.0.1 -p "$CLUSTER_PORT" -U postgres \
                     -d postgres -v ON_ERROR_STOP=1 2>&1; }
    while [ ! -e "$stop" ]; do
        echo "SELECT extract(epoch FROM clock_timestamp()), pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0');" \
            >&"${WAL[1]}"
        read -r line <&"${WAL[0]}" || break
        echo "$line" >>"$log"
        nap "$WAL_SAMPLE_S"
    done
    fd=${WAL[1]}
    exec {fd}>&-
    wait
}

# Wait until policy run $1 has ended, asking every 0.1 s in one session (a
# psql for each question would take more CPU than the inserting clients can
# spare); print its status
wait_run() {
    coproc POLL { as_user "$PG_BINDIR/psql" -X -q -At -h 127.0.0.1 -p "$CLUSTER_PORT" -U postgres \
                      -d postgres -v ON_ERROR_STOP=1 2>&1; }
    status=""
    for _ in $(seq 1 $((PURGE_TIMEOUT * 10))); do
        echo "SELECT status FROM scribe.policy_runs WHERE run_id = $1;" >&"${POLL[1]}"
        read -r status <&"${POLL[0]}" || break
        if [ "$status" = succeeded ] || [ "$status" = failed ]; then
            break
        fi
        nap 0.1
    done
    fd=${POLL[1]}
    exec {fd}>&-
    wait
    echo "$status"
}

# Start the probe, the sampler and (with $2 = 1) the inserting pgbench of
# run $1; their logs go under $LOGS/$1.*
start_background() {
    name=$1 inserts=$2
    STOP_FILE="$LOGS/$name.stop"
    rm -f "$STOP_FILE"
    probe_loop "$STOP_FILE" "$LOGS/$name.probe" &
    BG_PIDS+=($!)
    wal_loop "$STOP_FILE" "$LOGS/$name.wal" &
    BG_PIDS+=($!)
    INSERT_PID=""
    if [ "$inserts" = 1 ]; then
        # a client as any other: it stops when we terminate it (a job started
        # in the background ignores SIGINT)
        "$PG_BINDIR/pgbench" -n -M prepared -h 127.0.0.1 -p "$CLUSTER_PORT" -U postgres \
            -c "$INSERT_CLIENTS" -j "$INSERT_CLIENTS" -T "$((PURGE_TIMEOUT * 2))" -f "$BENCH_SQL/insert.pgbench" \
            postgres >"$LOGS/$name.insert" 2>&1 &
        INSERT_PID=$!
        BG_PIDS+=("$INSERT_PID")
    fi
}

# Stop what start_background started
stop_background() {
    if [ -n "$STOP_FILE" ]; then
        touch "$STOP_FILE" 2>/dev/null || true
    fi
    if [ -n "${INSERT_PID:-}" ]; then
        kill -TERM "$INSERT_PID" 2>/dev/null || true
    fi
    for pid in "${BG_PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    BG_PIDS=()
    INSERT_PID=""
}

# The MB of Heap/LOCK records (a row lock each; full-page images aside)
# between WAL positions $1 and $2 (bytes since 0/0)
wal_lock_mb() {
    read -r from to <<<"$(q -c "SELECT '0/0'::pg_lsn + $1, '0/0'::pg_lsn + $2")"
    # the statistics of every record kind; the last record may be cut at $2
    "$PG_BINDIR/pg_waldump" -p "$CLUSTER_DIR/data/pg_wal" -s "$from" -e "$to" --stats=record 2>/dev/null \
        | awk '{ gsub(/\([^)]*\)/, "") } $1 == "Heap/LOCK" { b = $3 } END { printf "%.1f", b / 1048576 }'
}

# --- one run --------------------------------------------------------------------
# A fresh logs table, copied from logs_template in the same order; a checkpoint
fresh_table() {
    q <<'SQL' >/dev/null
DROP TABLE IF EXISTS logs;
CREATE TABLE logs (id bigint NOT NULL, at timestamptz NOT NULL, msg text NOT NULL) WITH (autovacuum_enabled = off);
INSERT INTO logs SELECT * FROM logs_template ORDER BY id;
ALTER TABLE logs ADD PRIMARY KEY (id);
CREATE INDEX logs_at ON logs (at);
VACUUM ANALYZE logs;
CHECKPOINT;
SQL
}

# Run case $1 in round $2, with inserts going on when $3 = 1; sets
# R_TOTAL R_WAL R_WAL_LOCK R_PEAK R_PROBES R_WAITS R_P99 R_MAX R_IDLE_P50 R_BATCHES
# R_INSIDE R_ROWS R_LEFT R_INS_BEFORE R_INS_DURING
run_case() {
    c=$1 r=$2 inserts=$3
    name="${c}_r${r}_i$inserts"
    fresh_table
    start_background "$name" "$inserts"
    if [ "$inserts" = 1 ]; then
        sleep 1
        ins0=$(q -c "SELECT extract(epoch FROM clock_timestamp())")
        sleep "$BASELINE_SECONDS"
    else
        sleep "$LEAD_SECONDS"
    fi
    if [ "$c" = delete ]; then
        out=$(q <<SQL
SELECT extract(epoch FROM clock_timestamp()), pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0');
DELETE FROM logs WHERE at < $CUTOFF;
SELECT extract(epoch FROM clock_timestamp()), pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0');
SQL
)
        read -r t_start wal0 t_end wal1 <<<"$(echo "$out" | tr '\n' ' ')"
        R_BATCHES=1 R_INSIDE="" R_ROWS=$BENCH_ROWS
    else
        read -r wal0 rid <<<"$(q -c "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0'),
                                            scribe.policy_run('$c')->>'run_id'")"
        status=$(wait_run "$rid")
        wal1=$(q -c "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')")
        [ "$status" = succeeded ] \
            || die "run $rid of $c ended $status: $(q -c "SELECT error FROM scribe.policy_runs WHERE run_id = $rid")"
        read -r t_start t_end R_BATCHES R_ROWS <<<"$(q -c "SELECT extract(epoch FROM queued_at),
            extract(epoch FROM finished_at), actions, rows FROM scribe.policy_runs WHERE run_id = $rid")"
        # each action is a job: from its claim to its end, the longest, in ms
        R_INSIDE=$(q -c "SELECT round(max(extract(epoch FROM finished_at - claimed_at)) * 1000, 1)
                         FROM scribe.jobs_archive WHERE kind = 'policy' AND payload->>'run_id' = '$rid'")
    fi
    if [ "$inserts" = 1 ]; then
        read -r n_before n_during <<<"$(q -c "SELECT count(*) FILTER (WHERE at < to_timestamp($t_start)),
                count(*) FILTER (WHERE at >= to_timestamp($t_start))
            FROM logs WHERE id > $((BENCH_ROWS + BENCH_NEW_ROWS))
              AND at >= to_timestamp($ins0) AND at <= to_timestamp($t_end)")"
    fi
    stop_background
    R_LEFT=$(q -c "SELECT count(*) FROM logs WHERE at < $CUTOFF")
    R_TOTAL=$(awk -v a="$t_start" -v b="$t_end" 'BEGIN { printf "%.3f", b - a }')
    R_WAL=$(awk -v a="$wal0" -v b="$wal1" 'BEGIN { printf "%.1f", (b - a) / 1048576 }')
    # of which row-lock records (without their full-page images), by pg_waldump
    R_WAL_LOCK=$(wal_lock_mb "$wal0" "$wal1")
    # the fastest WAL between two samples, MB/s
    R_PEAK=$(awk 'NR > 1 && $1 > t { r = ($2 - b) / ($1 - t) / 1048576; if (r > m) m = r }
                  { t = $1; b = $2 } END { printf "%.1f", m }' "$LOGS/$name.wal")
    grep -q error "$LOGS/$name.probe" && die "the probe failed: $(grep error "$LOGS/$name.probe" | head -n 1)"
    # the probes that waited during the purge (started before its end, ended
    # after its start): how many, how many waited, p99, longest (ms)
    read -r R_PROBES R_WAITS R_P99 R_MAX <<<"$(awk -v a="$t_start" -v b="$t_end" \
        '$1 <= b && $1 + $2 / 1000 >= a { print $2 }' "$LOGS/$name.probe" | sort -g | awk -v w="$PROBE_WAIT_MS" '
        function at(p,   i) { i = int(p * NR); if (i < p * NR) i++; if (i < 1) i = 1; return v[i] }
        { v[NR] = $1; if ($1 > w) n++ }
        END { if (NR == 0) print 0, 0, 0, 0; else printf "%d %d %.1f %.1f\n", NR, n + 0, at(0.99), v[NR] }')"
    # the probe alone, before the purge: p50 (ms)
    R_IDLE_P50=$(awk -v a="$t_start" '$1 + $2 / 1000 < a { print $2 }' "$LOGS/$name.probe" | sort -g \
        | awk '{ v[NR] = $1 } END { if (NR) printf "%.1f", v[int((NR + 1) / 2)]; else print "n/a" }')
    R_INS_BEFORE="" R_INS_DURING=""
    if [ "$inserts" = 1 ]; then
        R_INS_BEFORE=$(awk -v n="$n_before" -v a="$ins0" -v b="$t_start" 'BEGIN { printf "%.0f", n / (b - a) }')
        R_INS_DURING=$(awk -v n="$n_during" -v a="$t_start" -v b="$t_end" 'BEGIN { printf "%.0f", n / (b - a) }')
    fi
    [ -n "${SCRIBE_KEEP:-}" ] || rm -f "$LOGS/$name".*
}

scribe_bench_prepare
echo "in $PG_PRIVATE"

scribe_step "start the benchmark server"
scribe_cluster_start bench "${SERVER_CONF[@]}"
LOGS="$SCRIBE_WORK/logs"
BENCH_SQL="$SCRIBE_WORK/sql"
mkdir -p "$LOGS" "$BENCH_SQL"
chmod 777 "$LOGS"
mkfifo "$LOGS/nap"
exec {NAP_FD}<>"$LOGS/nap"
echo "INSERT INTO logs (id, at, msg) VALUES (nextval('logs_new_id'), clock_timestamp(), 'new');" \
    >"$BENCH_SQL/insert.pgbench"
chmod -R a+rX "$BENCH_SQL"
# the rows: BENCH_ROWS older than the cutoff (one a second, from 100 days
# back), then BENCH_NEW_ROWS of the last hours; about 90 bytes each
q <<SQL >/dev/null
CREATE EXTENSION pg_scribe;
CREATE TABLE logs_template (id bigint NOT NULL, at timestamptz NOT NULL, msg text NOT NULL)
    WITH (autovacuum_enabled = off);
INSERT INTO logs_template
SELECT i, CASE WHEN i <= $BENCH_ROWS
               THEN now() - interval '100 days' - ($BENCH_ROWS - i) * interval '1 second'
               ELSE now() - ($BENCH_ROWS + $BENCH_NEW_ROWS - i) * interval '1 second' END,
       'log line ' || md5(i::text)
FROM generate_series(1, $BENCH_ROWS + $BENCH_NEW_ROWS) i;
VACUUM ANALYZE logs_template;
CREATE SEQUENCE logs_new_id START $((BENCH_ROWS + BENCH_NEW_ROWS + 1));
CREATE TABLE logs (LIKE logs_template);
SQL
# a policy per case, on the logs table each run makes afresh; disabled: it
# runs when asked, never on its schedule
for c in "${CASES[@]}"; do
    [ "$c" = delete ] && continue
    settings="{\"column\": \"at\", \"older_than\": \"$OLDER_THAN\", \"batch_size\": ${BATCH[$c]}"
    [ -n "${PAUSE[$c]}" ] && settings="$settings, \"pause\": \"${PAUSE[$c]}\""
    q -c "SELECT scribe.policy_create('$c', 'purge', 'logs', '$settings}', '1 day', false)" >/dev/null
done
PG_VERSION=$(q -c "SELECT version()")
SCRIBE_VERSION=$(q -c "SELECT scribe.version()")
GIT_VERSION=$(git -C "$SCRIBE_ROOT" describe --always --dirty 2>/dev/null || echo unknown)
TABLE_MB=$(q -c "SELECT round(pg_table_size('logs_template') / 1048576.0)")
DEFAULT_PAUSE=$(q -c "SELECT round(extract(epoch FROM (scribe._policy_check('purge', 'logs_template',
                           '{\"column\": \"at\", \"older_than\": \"1 day\"}', 'postgres', 'public')->>'pause')::interval) * 1000)
                       || ' ms'")
echo "127.0.0.1:$CLUSTER_PORT, $PG_VERSION"
echo "pg_scribe $SCRIBE_VERSION ($GIT_VERSION); $BENCH_ROWS rows to purge of $((BENCH_ROWS + BENCH_NEW_ROWS)), $TABLE_MB MB"
echo "fsync $(q -c 'SHOW fsync'), synchronous_commit $(q -c 'SHOW synchronous_commit'), default pause $DEFAULT_PAUSE"
LOAD_START=$(cut -d ' ' -f 1-3 /proc/loadavg)

# the results of every run: KEY[case] = the rounds' values
declare -A TOTAL=() WAL=() WAL_LOCK=() PEAK=() PROBES=() WAITS=() P99=() MAXW=() BATCHES=() INSIDE=() IDLE=()
declare -A I_TOTAL=() I_BEFORE=() I_DURING=() I_RATE=() I_MAXW=()
LEFT_OVER=0

scribe_step "the purges alone: $BENCH_ROUNDS rounds"
for ((r = 0; r < BENCH_ROUNDS; r++)); do
    for ((k = 0; k < ${#CASES[@]}; k++)); do
        # rotate the order: no case always runs first
        c=${CASES[$(( (k + r) % ${#CASES[@]} ))]}
        run_case "$c" "$r" 0
        [ "$R_ROWS" = "$BENCH_ROWS" ] || scribe_note "warning: $c deleted $R_ROWS rows, not $BENCH_ROWS"
        LEFT_OVER=$((LEFT_OVER + R_LEFT))
        TOTAL[$c]="${TOTAL[$c]:-} $R_TOTAL"
        WAL[$c]="${WAL[$c]:-} $R_WAL"
        WAL_LOCK[$c]="${WAL_LOCK[$c]:-} $R_WAL_LOCK"
        PEAK[$c]="${PEAK[$c]:-} $R_PEAK"
        PROBES[$c]="${PROBES[$c]:-} $R_PROBES"
        WAITS[$c]="${WAITS[$c]:-} $R_WAITS"
        P99[$c]="${P99[$c]:-} $R_P99"
        MAXW[$c]="${MAXW[$c]:-} $R_MAX"
        BATCHES[$c]="${BATCHES[$c]:-} $R_BATCHES"
        IDLE[$c]="${IDLE[$c]:-} $R_IDLE_P50"
        [ -n "$R_INSIDE" ] && INSIDE[$c]="${INSIDE[$c]:-} $R_INSIDE"
        scribe_note "round $((r + 1)) $c: $(fmt "$R_TOTAL" 2) s, $R_BATCHES transaction(s), $R_ROWS rows ($R_LEFT left);" \
             "probe: $R_PROBES probes, $R_WAITS over ${PROBE_WAIT_MS} ms, p99 $R_P99 ms, longest $R_MAX ms" \
             "(alone p50 $R_IDLE_P50 ms)${R_INSIDE:+; longest batch inside $R_INSIDE ms};" \
             "WAL $R_WAL MB ($R_WAL_LOCK MB of row-lock records), peak $R_PEAK MB/s"
    done
done

scribe_step "the purges while $INSERT_CLIENTS clients insert: $BENCH_INSERT_ROUNDS round(s)"
for ((r = 0; r < BENCH_INSERT_ROUNDS; r++)); do
    for ((k = 0; k < ${#CASES[@]}; k++)); do
        c=${CASES[$(( (k + r) % ${#CASES[@]} ))]}
        run_case "$c" "$r" 1
        LEFT_OVER=$((LEFT_OVER + R_LEFT))
        I_TOTAL[$c]="${I_TOTAL[$c]:-} $R_TOTAL"
        I_BEFORE[$c]="${I_BEFORE[$c]:-} $R_INS_BEFORE"
        I_DURING[$c]="${I_DURING[$c]:-} $R_INS_DURING"
        I_RATE[$c]="${I_RATE[$c]:-} $(awk -v a="$R_INS_DURING" -v b="$R_INS_BEFORE" 'BEGIN { printf "%.3f", a / b }')"
        I_MAXW[$c]="${I_MAXW[$c]:-} $R_MAX"
        scribe_note "round $((r + 1)) $c: $(fmt "$R_TOTAL" 2) s, $R_ROWS rows ($R_LEFT left); inserts/s $R_INS_BEFORE before," \
             "$R_INS_DURING during; probe longest $R_MAX ms"
    done
done

TOTAL_S=$((SECONDS - BENCH_START))

# --- the tables ---------------------------------------------------------------------
declare -A LABEL=(
    [delete]="(a) one \`DELETE FROM logs WHERE at < now() - interval '$OLDER_THAN'\`"
    [b10k]="(b) purge policy, \`batch_size\` 10000, \`pause\` default ($DEFAULT_PAUSE)"
    [b10k_nopause]="(c) purge policy, \`batch_size\` 10000, \`pause\` 0"
    [b50k]="(d) purge policy, \`batch_size\` 50000, \`pause\` default ($DEFAULT_PAUSE)"
    [b50k_nopause]="(e) purge policy, \`batch_size\` 50000, \`pause\` 0"
)
# medians (and the longest probe wait of all rounds) per case
declare -A M_TOTAL=() M_WAL=() M_PEAK=() M_MAXW=() M_I_TOTAL=() M_I_MAXW=()
for c in "${CASES[@]}"; do
    # shellcheck disable=SC2086
    {
        M_TOTAL[$c]=$(median ${TOTAL[$c]})
        M_WAL[$c]=$(median ${WAL[$c]})
        M_PEAK[$c]=$(median ${PEAK[$c]})
        M_MAXW[$c]=$(largest ${MAXW[$c]})
        M_I_TOTAL[$c]=$(median ${I_TOTAL[$c]})
        M_I_MAXW[$c]=$(largest ${I_MAXW[$c]})
    }
done

TABLE="| case | total (s) | ratio to (a) | transactions | longest probe wait (ms) | ratio to (a) | probe p99 (ms) | probes (waits over ${PROBE_WAIT_MS} ms) | longest batch, inside (ms) | WAL (MB) | ratio to (a) | of which row locks (MB) | peak WAL rate (MB/s) | ratio to (a) |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
SUMMARY=""
for c in "${CASES[@]}"; do
    # shellcheck disable=SC2086
    inside=$([ -n "${INSIDE[$c]:-}" ] && fmt "$(largest ${INSIDE[$c]})" || echo "")
    # shellcheck disable=SC2086
    TABLE="$TABLE
| ${LABEL[$c]} | $(fmt "${M_TOTAL[$c]}" 2) | $(ratio "${M_TOTAL[$c]}" "${M_TOTAL[delete]}") | $(fmt "$(median ${BATCHES[$c]})") | $(fmt "${M_MAXW[$c]}") | $(ratio "${M_MAXW[$c]}" "${M_MAXW[delete]}") | $(fmt "$(median ${P99[$c]})") | $(fmt "$(median ${PROBES[$c]})") ($(fmt "$(median ${WAITS[$c]})")) | $inside | $(fmt "${M_WAL[$c]}") | $(ratio "${M_WAL[$c]}" "${M_WAL[delete]}") | $(fmt "$(median ${WAL_LOCK[$c]})") | $(fmt "${M_PEAK[$c]}") | $(ratio "${M_PEAK[$c]}" "${M_PEAK[delete]}") |"
    [ "$c" = delete ] && continue
    SUMMARY="$SUMMARY
  $c / delete: total $(ratio "${M_TOTAL[$c]}" "${M_TOTAL[delete]}"), longest lock $(ratio "${M_MAXW[$c]}" "${M_MAXW[delete]}"), WAL $(ratio "${M_WAL[$c]}" "${M_WAL[delete]}"), peak WAL rate $(ratio "${M_PEAK[$c]}" "${M_PEAK[delete]}")"
done

INSERT_TABLE="| case, while $INSERT_CLIENTS clients insert | total (s) | ratio to (a) | inserts/s in the ${BASELINE_SECONDS} s before | inserts/s during the purge | during / before (each round) | longest probe wait (ms) |
|---|---|---|---|---|---|---|"
for c in "${CASES[@]}"; do
    # shellcheck disable=SC2086
    INSERT_TABLE="$INSERT_TABLE
| ${LABEL[$c]} | $(fmt "${M_I_TOTAL[$c]}" 2) | $(ratio "${M_I_TOTAL[$c]}" "${M_I_TOTAL[delete]}") | $(fmt "$(median ${I_BEFORE[$c]})") | $(fmt "$(median ${I_DURING[$c]})") | $(fmt "$(median ${I_RATE[$c]})" 2)× ($(printf '%.2f×, ' ${I_RATE[$c]} | sed 's/, $//')) | $(fmt "${M_I_MAXW[$c]}") |"
done

# shellcheck disable=SC2086
IDLE_P50=$(median ${IDLE[delete]} ${IDLE[b10k]} ${IDLE[b10k_nopause]} ${IDLE[b50k]} ${IDLE[b50k_nopause]})

scribe_step "results ($(date -u '+%Y-%m-%d %H:%M UTC'), $((TOTAL_S / 60)) min $((TOTAL_S % 60)) s)"
echo
echo "$TABLE"
echo
echo "$INSERT_TABLE"
echo
echo "ratios (policy / single DELETE):$SUMMARY"
echo "the probe alone: p50 $IDLE_P50 ms; old rows left after the purges: $LEFT_OVER"

# --- docs/benchmarks.md ---------------------------------------------------------
if [ -n "$BENCH_DOCS" ]; then
    # shellcheck disable=SC2016
    SETTINGS_MD=$(printf '`%s`, ' "${SERVER_CONF[@]:4}")
    SECTION="$SCRIBE_WORK/section.md"
    cat >"$SECTION" <<EOF
$BEGIN_MARK
## Lifecycle: purge (issue 6)

Reproduce with \`make bench-lifecycle\` (runs \`test/bench/lifecycle.sh\`, about $((TOTAL_S / 60 + 1)) minutes).

$(scribe_bench_facts)
- PostgreSQL: $PG_VERSION; pg_scribe $SCRIBE_VERSION (git $GIT_VERSION).
- Durability on: \`fsync = on\`, \`synchronous_commit = on\`, \`full_page_writes = on\`. Other
  settings: ${SETTINGS_MD%, }; the \`lifecycle\` queue as installed.
- The table: \`logs (id bigint PRIMARY KEY, at timestamptz NOT NULL, msg text NOT NULL)\` with an
  index on \`at\`, $BENCH_ROWS rows older than the cutoff (one a second, from 100 days back) and
  $BENCH_NEW_ROWS of the last day, $TABLE_MB MB without its indexes, copied afresh in \`id\` order for every
  run, autovacuum off on it, \`VACUUM ANALYZE\`, then a \`CHECKPOINT\` (so every page the purge
  touches first writes a full-page image, for each case alike). Each case deletes the
  $BENCH_ROWS old rows: (a) in one statement, (b)–(e) as a run of a \`purge\` policy
  (\`{"column": "at", "older_than": "$OLDER_THAN", "batch_size": ..., "pause": ...}\`) started with
  \`scribe.policy_run()\`, each batch a job of the \`lifecycle\` queue run by the worker pool.
- Total: (a) the statement to its commit; (b)–(e) the run's \`queued_at\` to its \`finished_at\`.
  Transactions: the run's actions (its last batch finds nothing left).
- The probe: one session that every $PROBE_MS ms runs
  \`UPDATE logs SET msg = 'probed' WHERE id = (SELECT id FROM logs WHERE at < now() - interval '$OLDER_THAN' AND msg <> 'probed' ORDER BY at LIMIT 1)\`:
  the oldest row left, which the purge takes next, skipping those a probe has touched (a row the
  probe held at the instant a batch passed is skipped by it, \`SKIP LOCKED\`, and left for the
  end of the run). A row lock of the purge keeps it waiting until the purge's transaction
  commits, so its longest wait is the longest a writer of the rows being purged waits. Its
  time is psql's \`\\timing\`; alone it takes $IDLE_P50 ms (p50). Figures are of the probes
  that ran during the purge (started before its end, ended after its start); the longest wait
  is the largest of all rounds, the rest medians.
  "Longest batch, inside": the longest of the run's jobs from its claim to its end
  (\`scribe.jobs_archive\`), the largest of all rounds.
- WAL: \`pg_current_wal_lsn()\` before and after (for (b)–(e) within 0.1 s of the run's end); "of
  which row locks": the \`Heap/LOCK\` records in between (\`pg_waldump --stats=record\`), their
  full-page images aside; the peak rate is the fastest between two samples taken every $WAL_SAMPLE_MS ms.
- $BENCH_ROUNDS rounds, the cases in turn; the median round. Old rows left after all runs: $LEFT_OVER.
- The second table: the same cases while \`pgbench -M prepared -c $INSERT_CLIENTS -j $INSERT_CLIENTS\` inserts
  one row per transaction into \`logs\` (\`at = clock_timestamp()\`, newer than the cutoff), from
  $((BASELINE_SECONDS + 1)) s before the purge to its end; inserts/s counted from the rows' \`at\`, in the
  $BASELINE_SECONDS s before the purge and during it. $BENCH_INSERT_ROUNDS round(s).

$TABLE

$INSERT_TABLE
$END_MARK
EOF
    scribe_docs_section "$BENCH_DOCS" "$SECTION" "$BEGIN_MARK" "$END_MARK"
    echo
    echo "written to $BENCH_DOCS"
fi
