#!/bin/bash
# The cache and rate limiter benchmark (issue 5): what scribe.cache_get()
# and scribe.rate_limit() cost over the cheapest statement there is, on one
# throwaway server, in one run.
#
#   (a) SELECT 1                                                calls/s
#   (b) SELECT pg_backend_pid(): any function call, for scale   calls/s, ratio to (a)
#   (c) SELECT allowed FROM scribe.rate_limit(...), 1000 keys   calls/s, ratio to (a)
#   (d) the same on one hot key                                 calls/s, ratio to (a)
#   (e) SELECT (scribe.rate_limit(...)).allowed, 1000 keys      calls/s, ratio to (a)
#   (f) the same on one hot key                                 calls/s, ratio to (a)
#   (g) SELECT scribe.cache_get(...): an L1 hit of 1000 keys      calls/s, ratio to (a)
#
# Every call is allowed (1,000,000 per second), so each one writes its key's
# state.  (c)/(d) call the function in FROM: the executor sets up a function
# scan and a tuplestore for every execution; (e)/(f) call it in the select
# list, as SELECT 1 evaluates its constant.
#
# pgbench runs with -M prepared, 4 clients and 2 threads; every case runs
# BENCH_ROUNDS rounds of BENCH_SECONDS, the cases in turn (rotating who goes
# first), and reports the median round.  Target: (c) to (g) at least 0.9x (a).
#
# It prints one table and writes it, with the machine and the settings,
# between the markers <!-- cache-bench:begin --> and <!-- cache-bench:end -->
# of docs/benchmarks.md (appended when absent).  Run it with
# `make bench-cache`, as root or as a user with sudo (the server runs as
# SCRIBE_TEST_USER, see test/bin/lib.sh).
#
# The server runs from a private copy of the PostgreSQL installation with
# this build of pg_scribe installed into it, as in test/bench/queue.sh.
#
# Environment: BENCH_SECONDS (per round and case, default 10), BENCH_ROUNDS
# (3), BENCH_DOCS (file to write the results to; empty: none), SCRIBE_KEEP=1
# keeps the scratch directory with every log.
set -euo pipefail
BENCH_SRC=$(cd "$(dirname "$0")" && pwd)
. "$BENCH_SRC/../bin/lib.sh"

BENCH_SECONDS=${BENCH_SECONDS:-10}
BENCH_ROUNDS=${BENCH_ROUNDS:-3}
BENCH_CLIENTS=4
BENCH_TARGET=0.9
BENCH_DOCS=${BENCH_DOCS-$SCRIBE_ROOT/docs/benchmarks.md}
BEGIN_MARK='<!-- cache-bench:begin -->'
END_MARK='<!-- cache-bench:end -->'

# The benchmark server's settings beyond initdb's defaults: no worker pool,
# nothing but the clients on the CPUs
SERVER_CONF=(
    "shared_preload_libraries = 'pg_scribe'"
    "scribe.max_workers = 0"
    "scribe.heartbeat_interval = 0"
)

# The cases: name, then the statement pgbench runs
CASES=(select1 function from_many from_hot select_many select_hot l1_hit)
MANY_KEY="'user:' || (random() * 1000)::int"
declare -A STATEMENT=(
    [select1]="SELECT 1;"
    [function]="SELECT pg_backend_pid();"
    [from_many]="SELECT allowed FROM scribe.rate_limit($MANY_KEY, 1000000, '1 second');"
    [from_hot]="SELECT allowed FROM scribe.rate_limit('hot', 1000000, '1 second');"
    [select_many]="SELECT (scribe.rate_limit($MANY_KEY, 1000000, '1 second')).allowed;"
    [select_hot]="SELECT (scribe.rate_limit('hot', 1000000, '1 second')).allowed;"
    [l1_hit]="SELECT scribe.cache_get('k:' || (random() * 999)::int);"
)
declare -A LABEL=(
    [select1]="(a) \`SELECT 1\`"
    [function]="(b) \`SELECT pg_backend_pid()\`: a function call, for scale"
    [from_many]="(c) \`SELECT allowed FROM scribe.rate_limit($MANY_KEY, 1000000, '1 second')\`"
    [from_hot]="(d) \`SELECT allowed FROM scribe.rate_limit('hot', 1000000, '1 second')\`: one key for every client"
    [select_many]="(e) \`SELECT (scribe.rate_limit($MANY_KEY, 1000000, '1 second')).allowed\`"
    [select_hot]="(f) \`SELECT (scribe.rate_limit('hot', 1000000, '1 second')).allowed\`: one key for every client"
    [l1_hit]="(g) \`SELECT scribe.cache_get('k:' || (random() * 999)::int)\`: an L1 hit (1000 keys of 100 bytes)"
)
# The cases held to the target
TARGET_CASES=(from_many from_hot select_many select_hot l1_hit)

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

# Round a number: fmt VALUE [DECIMALS]
fmt() { awk -v v="$1" -v d="${2:-0}" 'BEGIN { printf "%.*f", d, v }'; }

# Median of the arguments
median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
        END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.6f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# ratio A B: A / B to two decimals
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

# met RATIO: whether it reaches the target
met() { awk -v r="$1" -v t="$BENCH_TARGET" 'BEGIN { print (r >= t) ? "yes" : "**no**" }'; }

# Run pgbench on script $2 and print its tps; $1 names the log.  Fails on
# any failed or aborted client.
pgbench_tps() {
    name=$1; script=$2
    log="$LOGS/$name.log"
    if ! as_user "$PG_BINDIR/pgbench" -n -M prepared -h 127.0.0.1 -p "$CLUSTER_PORT" -U postgres \
            -c "$BENCH_CLIENTS" -j 2 -T "$BENCH_SECONDS" -f "$script" postgres >"$log" 2>&1 \
        || grep -qi 'abort' "$log" \
        || ! grep -q '^number of failed transactions: 0 ' "$log"; then
        echo "pgbench $name failed:" >&2
        tail -n 20 "$log" >&2
        return 1
    fi
    sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$log"
}

step "dependencies"
scribe_deps

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
for c in "${CASES[@]}"; do
    echo "${STATEMENT[$c]}" >"$BENCH_SQL/$c.pgbench"
done
chmod -R a+rX "$BENCH_SQL"
q -c "CREATE EXTENSION pg_scribe"
q -c "SELECT count(*) FILTER (WHERE scribe.cache_set('k:' || i, repeat('x', 100))) FROM generate_series(0, 999) i" >/dev/null
PG_VERSION=$(q -c "SELECT version()")
SCRIBE_VERSION=$(q -c "SELECT scribe.version()")
GIT_VERSION=$(git -C "$SCRIBE_ROOT" describe --always --dirty 2>/dev/null || echo unknown)
echo "127.0.0.1:$CLUSTER_PORT, $PG_VERSION"
echo "pg_scribe $SCRIBE_VERSION ($GIT_VERSION), $BENCH_CLIENTS clients, $BENCH_ROUNDS rounds of ${BENCH_SECONDS}s per case"
LOAD_START=$(cut -d ' ' -f 1-3 /proc/loadavg)

# CPU time (clock ticks) of the server's backends that have exited: the
# postmaster reaps every backend, so its children's times count them all
POSTMASTER_PID=$(head -n 1 "$CLUSTER_DIR/data/postmaster.pid")
CLOCK_TICKS=$(getconf CLK_TCK)
backend_ticks() { awk '{ print $16 + $17 }' "/proc/$POSTMASTER_PID/stat"; }

step "pgbench -M prepared -c $BENCH_CLIENTS -j 2 -T $BENCH_SECONDS"
declare -A RUNS=() CPU_RUNS=() RES=() CPU=()
for ((r = 0; r < BENCH_ROUNDS; r++)); do
    for ((k = 0; k < ${#CASES[@]}; k++)); do
        # rotate the order: no case always runs first
        c=${CASES[$(( (k + r) % ${#CASES[@]} ))]}
        ticks0=$(backend_ticks)
        tps=$(pgbench_tps "${c}_r$r" "$BENCH_SQL/$c.pgbench")
        # the backends exit with pgbench's connections; wait until they are reaped
        sleep 0.5
        calls=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$LOGS/${c}_r$r.log")
        us=$(awk -v t="$(( $(backend_ticks) - ticks0 ))" -v hz="$CLOCK_TICKS" -v n="$calls" \
            'BEGIN { printf "%.3f", t / hz * 1e6 / n }')
        RUNS[$c]="${RUNS[$c]:-} $tps"
        CPU_RUNS[$c]="${CPU_RUNS[$c]:-} $us"
        note "round $((r + 1)) $c: $(fmt "$tps") calls/s, $(fmt "$us" 1) µs of server CPU per call"
    done
done
for c in "${CASES[@]}"; do
    # shellcheck disable=SC2086
    RES[$c]=$(median ${RUNS[$c]})
    # shellcheck disable=SC2086
    CPU[$c]=$(median ${CPU_RUNS[$c]})
done
read -r RL_KEYS RL_EVICTIONS RL_ALLOWED RL_REJECTED <<<"$(q -F ' ' -c \
    "SELECT keys, evictions, allowed, rejected FROM scribe.rate_limit_status()")"
note "rate limiter: $RL_KEYS keys kept, $RL_EVICTIONS evictions, $RL_ALLOWED allowed, $RL_REJECTED rejected"

TOTAL_S=$((SECONDS - BENCH_START))
LOAD_END=$(cut -d ' ' -f 1-3 /proc/loadavg)

# a cell of a Markdown table: its pipes escaped
cell() { printf '%s' "${1//|/\\|}"; }

TABLE="| case | calls/s (median of $BENCH_ROUNDS) | ratio to \`SELECT 1\` | target | met? | server CPU per call (µs) | more than \`SELECT 1\` (µs) |
|---|---|---|---|---|---|---|"
SUMMARY=""
for c in "${CASES[@]}"; do
    r=$(ratio "${RES[$c]}" "${RES[select1]}")
    extra=$(awk -v a="${CPU[$c]}" -v b="${CPU[select1]}" 'BEGIN { printf "%+.1f", a - b }')
    target="" verdict=""
    if [[ " ${TARGET_CASES[*]} " == *" $c "* ]]; then
        target="≥ ${BENCH_TARGET}×"; verdict=$(met "$r")
        SUMMARY="$SUMMARY $c ${r}×,"
    fi
    TABLE="$TABLE
| $(cell "${LABEL[$c]}") | $(fmt "${RES[$c]}") | ${r}× | $target | $verdict | $(fmt "${CPU[$c]}" 1) | $extra |"
done

step "results ($(date -u '+%Y-%m-%d %H:%M UTC'), $((TOTAL_S / 60)) min $((TOTAL_S % 60)) s)"
echo
echo "$TABLE"
echo
echo "rate_limit / SELECT 1:${SUMMARY%,}; target ≥ ${BENCH_TARGET}×"

# --- docs/benchmarks.md ---------------------------------------------------------
if [ -n "$BENCH_DOCS" ]; then
    CPU_MODEL=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
    MEM_GB=$(awk '/^MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)
    # shellcheck disable=SC2016
    SETTINGS_MD=$(printf '`%s`, ' "${SERVER_CONF[@]}")
    SECTION="$SCRIBE_WORK/section.md"
    cat >"$SECTION" <<EOF
$BEGIN_MARK
## Rate limiter (issue 5)

Reproduce with \`make bench-cache\` (runs \`test/bench/cache.sh\`, about $((TOTAL_S / 60 + 1)) minutes).

- Run: $(date -u '+%Y-%m-%d %H:%M UTC'), $((TOTAL_S / 60)) min $((TOTAL_S % 60)) s; load average at the start $LOAD_START, at the end $LOAD_END.
- Machine: $(nproc) CPUs ($CPU_MODEL), $MEM_GB GB RAM, Linux $(uname -r).
- PostgreSQL: $PG_VERSION; pg_scribe $SCRIBE_VERSION (git $GIT_VERSION).
- Settings beyond initdb's: ${SETTINGS_MD%, }; \`scribe.rate_limit_keys\` at its default.
- \`pgbench -n -M prepared -c $BENCH_CLIENTS -j 2 -T $BENCH_SECONDS\` on the same machine, one statement per
  transaction; $BENCH_ROUNDS rounds, the cases in turn; the median round. At 1,000,000 requests per
  second every call is allowed, so each one writes its key's state.
- Server CPU per call: the CPU time of the backends (user and system, from the postmaster's
  reaped children) over the calls of the round; the machine's other load does not inflate
  it as it does calls/s. The median round.
- Afterwards the limiter had $RL_KEYS keys, $RL_EVICTIONS evictions, $RL_ALLOWED requests allowed and $RL_REJECTED rejected.

$TABLE
$END_MARK
EOF
    scribe_docs_section "$BENCH_DOCS" "$SECTION" "$BEGIN_MARK" "$END_MARK"
    echo
    echo "written to $BENCH_DOCS"
fi
