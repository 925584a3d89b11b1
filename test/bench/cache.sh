#!/bin/bash
# The cache and rate limiter benchmark (issue 5): what the cache's tiers,
# scribe.cache_fetch() and scribe.rate_limit_take() cost, beside SELECT 1, a
# table lookup and the query a cache saves, on one throwaway server with a
# real Redis behind it, in one run.
#
# Throughput (calls/s and server CPU per call):
#   (a) SELECT 1                                                calls/s
#   (b) SELECT pg_backend_pid(): any function call, for scale   calls/s, ratio to (a)
#   (c) SELECT allowed FROM scribe.rate_limit_take(...), 1000 keys   calls/s, ratio to (a)
#   (d) the same on one hot key                                 calls/s, ratio to (a)
#   (e) SELECT (scribe.rate_limit_take(...)).allowed, 1000 keys      calls/s, ratio to (a)
#   (f) the same on one hot key                                 calls/s, ratio to (a)
#   (g) SELECT scribe.cache_get(...): an L1 hit of 1000 keys    calls/s, ratio to (a)
#   (h) SELECT scribe.cache_get(...): an L2 hit, 100 keys that
#       the session's scribe.cache_max_value_size (64) keeps out
#       of L1, so every call misses L1 and reads Redis          calls/s, ratio to (a)
#   (i) SELECT v FROM bench_kv WHERE k = :k: primary-key lookup
#       in an UNLOGGED table of 1000 rows of 100 bytes          calls/s, ratio to (a)
#   (j) an aggregate over 10 keys, its table sized at setup so
#       that one takes about 10 ms here                         calls/s
#   (k) scribe.cache_fetch() of (j), 5 % of calls deleting the
#       key first (about 95 % hits, counted by a sequence the
#       loader increments)                                      calls/s, ratio to (j)
# Latency of a cache call (scribe.cache_get: 90 % L1 hits, 10 % L2 hits),
# from pgbench's per-transaction log:
#   (l) Redis up                                                p50, p99
#   (m) Redis killed (SIGKILL before the round, restarted after) p50, p99, p99 ratio to (l)
#   (n) Redis stopped (SIGSTOP before the round, SIGCONT after;
#       calls time out after scribe.redis_command_timeout)      p50, p99, p99 ratio to (l)
#
# Targets: (c) to (g) at least 0.9x (a); (k) at least 20x (j); (m) and (n)
# a p99 at most 2x (l)'s.
#
# Every rate_limit call is allowed (1,000,000 per second), so each one writes
# its key's state.  (c)/(d) call the function in FROM: the executor sets up a
# function scan and a tuplestore for every execution; (e)/(f) call it in the
# select list, as SELECT 1 evaluates its constant.
#
# Redis: redis-server on a free loopback port, started by this script as
# SCRIBE_TEST_USER without persistence, stopped on exit; the server's
# scribe.redis_url points at it for every case.  Each round checks what the
# Redis cases claim from scribe.redis_stats()'s counters: no Redis call
# during (g), one Redis call per call of (h) (and its values read back from
# Redis), the breaker open during (m) and (n).
#
# pgbench runs with -M prepared, 4 clients and 2 threads; every case runs
# BENCH_ROUNDS rounds of BENCH_SECONDS, the cases in turn (rotating who goes
# first), and reports the median round.
#
# It prints two tables and writes them, with the machine and the settings,
# between the markers <!-- cache-bench:begin --> and <!-- cache-bench:end -->
# of docs/benchmarks.md (appended when absent).  Run it with
# `make bench-cache`, as root or as a user with sudo (the servers run as
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
# shellcheck source-path=SCRIPTDIR source=../bin/lib.sh
. "$BENCH_SRC/../bin/lib.sh"

BENCH_SECONDS=${BENCH_SECONDS:-10}
BENCH_ROUNDS=${BENCH_ROUNDS:-3}
BENCH_CLIENTS=4
BENCH_TARGET=0.9
FETCH_TARGET=20
P99_TARGET=2
BENCH_DOCS=${BENCH_DOCS-$SCRIBE_ROOT/docs/benchmarks.md}
BEGIN_MARK='<!-- cache-bench:begin -->'
END_MARK='<!-- cache-bench:end -->'

# The aggregate of (j): how long one should take alone, in ms
AGG_TARGET_MS=10
# (k): the share of calls, in percent, that delete their key before fetching it
FETCH_MISS_PCT=5
# The session settings of the cases that must not keep Redis's values in L1
L2_ONLY="-c scribe.cache_max_value_size=64"

# The Redis tier's settings, all at their defaults, written out to be printed
REDIS_CONF=(
    "scribe.redis_connect_timeout = '50ms'"
    "scribe.redis_command_timeout = '50ms'"
    "scribe.redis_breaker_failures = 5"
    "scribe.redis_breaker_cooldown = '5s'"
)

# The cases: name, then the pgbench script
CASES=(select1 function from_many from_hot select_many select_hot l1_hit l2_hit
       table_lookup agg_raw agg_fetch redis_up redis_killed redis_stopped)
MANY_KEY="'user:' || (random() * 1000)::int"
AGG_SQL="SELECT sum(v) FROM bench_agg WHERE g = "
MIXED_GET="SELECT scribe.cache_get(CASE WHEN :n < 100 THEN 'r:' || :n ELSE 'k:' || :n END);"
declare -A STATEMENT=(
    [select1]="SELECT 1;"
    [function]="SELECT pg_backend_pid();"
    [from_many]="SELECT allowed FROM scribe.rate_limit_take($MANY_KEY, 1000000, '1 second');"
    [from_hot]="SELECT allowed FROM scribe.rate_limit_take('hot', 1000000, '1 second');"
    [select_many]="SELECT (scribe.rate_limit_take($MANY_KEY, 1000000, '1 second')).allowed;"
    [select_hot]="SELECT (scribe.rate_limit_take('hot', 1000000, '1 second')).allowed;"
    [l1_hit]="SELECT scribe.cache_get('k:' || (random() * 999)::int);"
    [l2_hit]="SELECT scribe.cache_get('r:' || (random() * 99)::int);"
    [table_lookup]="\\set k random(0, 999)
SELECT v FROM bench_kv WHERE k = :k;"
    [agg_raw]="\\set k random(0, 9)
${AGG_SQL}:k;"
    [agg_fetch]="\\set k random(0, 9)
\\set d random(1, 100)
\\if :d <= $FETCH_MISS_PCT
SELECT scribe.cache_delete('agg:' || :k);
\\endif
SELECT scribe.cache_fetch('agg:' || :k,
    'SELECT sum(v) + 0 * nextval(''bench_loads'') FROM bench_agg WHERE g = ' || CAST(:k AS int),
    '1 hour');"
    [redis_up]="\\set n random(0, 999)
$MIXED_GET"
    [redis_killed]="\\set n random(0, 999)
$MIXED_GET"
    [redis_stopped]="\\set n random(0, 999)
$MIXED_GET"
)
# PGOPTIONS of a case's sessions
declare -A CASE_OPTIONS=(
    [l2_hit]=$L2_ONLY
    [redis_up]=$L2_ONLY
    [redis_killed]=$L2_ONLY
    [redis_stopped]=$L2_ONLY
)
# The cases of the latency table, run with pgbench -l
LATENCY_CASES=(redis_up redis_killed redis_stopped)
# The cases held to BENCH_TARGET against (a)
TARGET_CASES=(from_many from_hot select_many select_hot l1_hit)

BENCH_START=$SECONDS
REDIS_PID=""
trap 'redis_shutdown; scribe_cleanup' EXIT
trap 'exit 130' INT TERM

die() { echo "cache.sh: $*" >&2; exit 1; }

# psql on the benchmark server: unaligned, tuples only, stop on error
q() { scribe_psql "$@"; }

# q in a session that keeps no value of more than 64 bytes in L1
q_l2() {
    as_user env PGOPTIONS="$L2_ONLY" "$PG_BINDIR/psql" -X -q -At -h 127.0.0.1 -p "$CLUSTER_PORT" \
        -U postgres -d postgres -v ON_ERROR_STOP=1 "$@"
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

# met RATIO TARGET [max]: whether RATIO reaches TARGET (with max: stays at or under it)
met() {
    awk -v r="$1" -v t="$2" -v m="${3:-}" 'BEGIN {
        if (r == "n/a") { print "**no**"; exit }
        print ((m == "max") ? (r + 0 <= t + 0) : (r + 0 >= t + 0)) ? "yes" : "**no**" }'
}

# Run pgbench on script $2 and print its tps; $1 names the log, further
# arguments go to pgbench; PGB_OPTIONS is the sessions' PGOPTIONS.  Fails on
# any failed or aborted client.
pgbench_tps() {
    name=$1; script=$2; shift 2
    log="$LOGS/$name.log"
    if ! as_user env PGOPTIONS="${PGB_OPTIONS:-}" "$PG_BINDIR/pgbench" -n -M prepared \
            -h 127.0.0.1 -p "$CLUSTER_PORT" -U postgres \
            -c "$BENCH_CLIENTS" -j 2 -T "$BENCH_SECONDS" -f "$script" "$@" postgres >"$log" 2>&1 \
        || grep -qi 'abort' "$log" \
        || ! grep -q '^number of failed transactions: 0 ' "$log"; then
        echo "pgbench $name failed:" >&2
        tail -n 20 "$log" >&2
        return 1
    fi
    sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$log"
}

# p50, p99 and the maximum, in µs, of the transactions logged by pgbench -l
# under prefix $1 (one file per thread); then their number
latency_percentiles() {
    cat "$1".* | awk '{ print $3 }' | sort -n | awk '
        function at(p,   i) { i = int(p * NR); if (i < p * NR) i++; if (i < 1) i = 1; return v[i] }
        { v[NR] = $1 }
        END { if (NR == 0) exit 1; print at(0.50), at(0.99), v[NR], NR }'
}

# --- Redis ------------------------------------------------------------------------
# Start redis-server on REDIS_PORT as the servers' user, without persistence,
# and wait until it answers; sets REDIS_PID
redis_start() {
    as_user "$REDIS_SERVER" --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
        --dir "$REDIS_DIR" --daemonize yes --pidfile "$REDIS_DIR/redis.pid" \
        --logfile "$REDIS_DIR/redis.log" >/dev/null || return 1
    for _ in $(seq 1 100); do
        if [ "$("$REDIS_CLI" -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ] \
                && [ -s "$REDIS_DIR/redis.pid" ]; then
            REDIS_PID=$(cat "$REDIS_DIR/redis.pid")
            # the pid file must name the server that answers
            if [[ "$(cat "/proc/$REDIS_PID/comm" 2>/dev/null)" == redis-server* ]]; then
                return 0
            fi
        fi
        sleep 0.05
    done
    echo "redis-server did not start on port $REDIS_PORT:" >&2
    tail -n 5 "$REDIS_DIR/redis.log" >&2 || true
    return 1
}

# Whether our redis-server still runs (not a zombie, not another process)
redis_alive() {
    [ -n "$REDIS_PID" ] && [[ "$(cat "/proc/$REDIS_PID/comm" 2>/dev/null)" == redis-server* ]] \
        && [ "$(awk '{ print $3 }' "/proc/$REDIS_PID/stat" 2>/dev/null)" != Z ]
}

# Send signal $1 to our redis-server
redis_signal() {
    redis_alive || die "redis-server (pid ${REDIS_PID:-none}) is not running"
    kill "-$1" "$REDIS_PID"
}

# SIGKILL our redis-server and wait until it is gone
redis_kill() {
    redis_signal KILL
    for _ in $(seq 1 100); do
        redis_alive || { REDIS_PID=""; return 0; }
        sleep 0.05
    done
    die "redis-server (pid $REDIS_PID) survived SIGKILL"
}

# Stop our redis-server, whatever its state (on exit)
redis_shutdown() {
    redis_alive || return 0
    kill -TERM "$REDIS_PID" 2>/dev/null || true
    kill -CONT "$REDIS_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do
        redis_alive || return 0
        sleep 0.1
    done
    kill -KILL "$REDIS_PID" 2>/dev/null || true
}

# scribe.redis_stats()'s counters: successes failures short_circuited opened
redis_counters() {
    q -F ' ' -c "SELECT successes, failures, short_circuited, opened FROM scribe.redis_stats()"
}

# Wait until the breaker has closed again after Redis came back: calls on a
# key absent from both tiers (nothing is kept in L1) probe it after the cooldown
redis_wait_closed() {
    for _ in $(seq 1 60); do
        state=$(q -c "SELECT scribe.cache_get('probe:absent') IS NULL" \
                  -c "SELECT state FROM scribe.redis_stats()" | tail -n 1)
        [ "$state" = closed ] && return 0
        sleep 0.5
    done
    die "the Redis breaker did not close again: $(q -c "SELECT state, last_error FROM scribe.redis_stats()")"
}

# Store the 100 values of (h) in Redis only (L1 refuses them), then check
# that every one reads back, 100 bytes, from Redis
l2_populate() {
    kept=$(q_l2 -c "SELECT count(*) FILTER (WHERE scribe.cache_set('r:' || i, repeat('y', 100)))
                     FROM generate_series(0, 99) i")
    [ "$kept" = 100 ] || die "Redis kept $kept of the 100 values of (h)"
    l2_check
}

# Every value of (h) is an L1 miss and a Redis hit
l2_check() {
    read -r s0 _ <<<"$(redis_counters)"
    hits=$(q_l2 -c "SELECT count(*) FILTER (WHERE length(scribe.cache_get('r:' || i)) = 100)
                     FROM generate_series(0, 99) i")
    read -r s1 _ <<<"$(redis_counters)"
    [ "$hits" = 100 ] || die "only $hits of the 100 values of (h) read back"
    [ $((s1 - s0)) -ge 100 ] || die "the values of (h) were read from L1, not Redis ($((s1 - s0)) Redis calls)"
}

# Bring Redis back after a case stopped or killed it: the breaker closed and
# the values of (h) in place
redis_restore() {
    redis_wait_closed
    l2_populate
}

# What a case does to Redis before and after its round
case_before() {
    case $1 in
        redis_killed) redis_kill ;;
        redis_stopped) redis_signal STOP ;;
    esac
}
case_after() {
    case $1 in
        redis_killed) redis_start; redis_restore ;;
        redis_stopped) redis_signal CONT; redis_restore ;;
    esac
}

# --- the aggregate of (j) ----------------------------------------------------------
# (Re)create bench_agg with $1 rows in 10 groups; no parallel scan, so that
# one call is one backend's CPU however many clients run
agg_table() {
    q <<SQL >/dev/null
DROP TABLE IF EXISTS bench_agg;
CREATE TABLE bench_agg (g int NOT NULL, v int NOT NULL) WITH (parallel_workers = 0);
INSERT INTO bench_agg SELECT i % 10, (i::bigint * 7919) % 1000 FROM generate_series(1, $1) i;
VACUUM ANALYZE bench_agg;
SQL
}

scribe_bench_prepare
REDIS_SERVER=$(command -v redis-server) || die "redis-server is missing: run make deps"
REDIS_CLI=$(command -v redis-cli) || die "redis-cli is missing: run make deps"
echo "in $PG_PRIVATE"

scribe_step "start redis-server"
REDIS_DIR="$SCRIBE_WORK/redis"
as_user mkdir -p "$REDIS_DIR"
for attempt in 1 2 3; do
    REDIS_PORT=$(scribe_free_port)
    # the port may have been taken between the check and the start
    redis_start && break
    [ "$attempt" -lt 3 ] || die "redis-server did not start"
done
REDIS_VERSION=$("$REDIS_CLI" -h 127.0.0.1 -p "$REDIS_PORT" info server | sed -n 's/^redis_version:\([^[:space:]]*\).*/\1/p')
echo "redis-server $REDIS_VERSION on 127.0.0.1:$REDIS_PORT, pid $REDIS_PID"

scribe_step "start the benchmark server"
# The benchmark server's settings beyond initdb's defaults: no worker pool,
# nothing but the clients on the CPUs; Redis behind the cache
SERVER_CONF=(
    "shared_preload_libraries = 'pg_scribe'"
    "scribe.max_workers = 0"
    "scribe.heartbeat_interval = 0"
    "scribe.redis_url = 'redis://127.0.0.1:$REDIS_PORT'"
    "${REDIS_CONF[@]}"
)
scribe_cluster_start bench "${SERVER_CONF[@]}"
LOGS="$SCRIBE_WORK/logs"
BENCH_SQL="$SCRIBE_WORK/sql"
LATENCY="$SCRIBE_WORK/latency"
mkdir -p "$LOGS" "$BENCH_SQL"
as_user mkdir -p "$LATENCY"
for c in "${CASES[@]}"; do
    echo "${STATEMENT[$c]}" >"$BENCH_SQL/$c.pgbench"
done
chmod -R a+rX "$BENCH_SQL"
q -c "CREATE EXTENSION pg_scribe"
[ "$(q -c "SELECT configured FROM scribe.redis_stats()")" = t ] || die "scribe.redis_url is not set"
q -c "SELECT count(*) FILTER (WHERE scribe.cache_set('k:' || i, repeat('x', 100))) FROM generate_series(0, 999) i" >/dev/null
l2_populate
q <<'SQL' >/dev/null
CREATE UNLOGGED TABLE bench_kv (k int PRIMARY KEY, v text NOT NULL);
INSERT INTO bench_kv SELECT i, repeat('x', 100) FROM generate_series(0, 999) i;
VACUUM ANALYZE bench_kv;
CREATE SEQUENCE bench_loads;
-- one call of (j)'s aggregate, in ms: of 5 batches of 10 calls over the 10
-- keys, the fastest batch's mean (the least disturbed by other load)
CREATE FUNCTION bench_agg_ms() RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz;
    s bigint;
    best float8;
BEGIN
    SELECT sum(v) INTO s FROM bench_agg WHERE g = 0;
    FOR b IN 1..5 LOOP
        t0 := clock_timestamp();
        FOR i IN 0..9 LOOP
            SELECT sum(v) INTO s FROM bench_agg WHERE g = i;
        END LOOP;
        best := least(best, extract(epoch FROM clock_timestamp() - t0) * 1000 / 10);
    END LOOP;
    RETURN best;
END
$$;
SQL
PG_VERSION=$(q -c "SELECT version()")
SCRIBE_VERSION=$(q -c "SELECT scribe.version()")
GIT_VERSION=$(git -C "$SCRIBE_ROOT" describe --always --dirty 2>/dev/null || echo unknown)
echo "127.0.0.1:$CLUSTER_PORT, $PG_VERSION"
echo "pg_scribe $SCRIBE_VERSION ($GIT_VERSION), $BENCH_CLIENTS clients, $BENCH_ROUNDS rounds of ${BENCH_SECONDS}s per case"
printf '%s\n' "${REDIS_CONF[@]}"

scribe_step "size the aggregate of (j) to about $AGG_TARGET_MS ms"
AGG_ROWS=100000
for attempt in 1 2 3 4; do
    agg_table "$AGG_ROWS"
    AGG_MS=$(q -c "SELECT bench_agg_ms()")
    scribe_note "$AGG_ROWS rows: $(fmt "$AGG_MS" 2) ms"
    # within 10 %: done
    if awk -v m="$AGG_MS" -v t="$AGG_TARGET_MS" 'BEGIN { exit !(m > 0.9 * t && m < 1.1 * t) }'; then
        break
    fi
    [ "$attempt" -lt 4 ] || break
    AGG_ROWS=$(awk -v r="$AGG_ROWS" -v m="$AGG_MS" -v t="$AGG_TARGET_MS" 'BEGIN {
        n = r * t / (m > 0 ? m : 0.01); n = int(n / 1000 + 0.5) * 1000
        if (n < 10000) n = 10000; if (n > 50000000) n = 50000000; print n }')
done
scribe_note "bench_agg: $AGG_ROWS rows, $(fmt "$AGG_MS" 2) ms per aggregate"
LOAD_START=$(cut -d ' ' -f 1-3 /proc/loadavg)

# CPU time (clock ticks) of the server's backends that have exited: the
# postmaster reaps every backend, so its children's times count them all
POSTMASTER_PID=$(head -n 1 "$CLUSTER_DIR/data/postmaster.pid")
CLOCK_TICKS=$(getconf CLK_TCK)
backend_ticks() { awk '{ print $16 + $17 }' "/proc/$POSTMASTER_PID/stat"; }
# CPU time of redis-server (0 once it is gone)
redis_ticks() { awk '{ print $14 + $15 }' "/proc/$REDIS_PID/stat" 2>/dev/null || echo 0; }
# loads of (k) so far
loads() { q -c "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM bench_loads"; }

scribe_step "pgbench -M prepared -c $BENCH_CLIENTS -j 2 -T $BENCH_SECONDS"
declare -A RUNS=() CPU_RUNS=() P50_RUNS=() P99_RUNS=() RES=() CPU=() P50=() P99=()
declare -A CALLS_SUM=() LOADS_SUM=() R_OK=() R_FAIL=() R_SKIP=() R_OPEN=() RCPU_RUNS=() MAX_LAT=()
for ((r = 0; r < BENCH_ROUNDS; r++)); do
    for ((k = 0; k < ${#CASES[@]}; k++)); do
        # rotate the order: no case always runs first
        c=${CASES[$(( (k + r) % ${#CASES[@]} ))]}
        pgb_args=()
        if [[ " ${LATENCY_CASES[*]} " == *" $c "* ]]; then
            pgb_args=(-l "--log-prefix=$LATENCY/${c}_r$r")
        fi
        read -r rs0 rf0 rc0 ro0 <<<"$(redis_counters)"
        loads0=$(loads)
        case_before "$c"
        ticks0=$(backend_ticks)
        rticks0=$(redis_ticks)
        tps=$(PGB_OPTIONS="${CASE_OPTIONS[$c]:-}" pgbench_tps "${c}_r$r" "$BENCH_SQL/$c.pgbench" "${pgb_args[@]}")
        rticks1=$(redis_ticks)
        # the backends exit with pgbench's connections; wait until they are reaped
        sleep 0.5
        calls=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$LOGS/${c}_r$r.log")
        us=$(awk -v t="$(( $(backend_ticks) - ticks0 ))" -v hz="$CLOCK_TICKS" -v n="$calls" \
            'BEGIN { printf "%.3f", t / hz * 1e6 / n }')
        read -r rs1 rf1 rc1 ro1 <<<"$(redis_counters)"
        loads1=$(loads)
        case_after "$c"
        RUNS[$c]="${RUNS[$c]:-} $tps"
        CPU_RUNS[$c]="${CPU_RUNS[$c]:-} $us"
        CALLS_SUM[$c]=$(( ${CALLS_SUM[$c]:-0} + calls ))
        R_OK[$c]=$(( ${R_OK[$c]:-0} + rs1 - rs0 ))
        R_FAIL[$c]=$(( ${R_FAIL[$c]:-0} + rf1 - rf0 ))
        R_SKIP[$c]=$(( ${R_SKIP[$c]:-0} + rc1 - rc0 ))
        R_OPEN[$c]=$(( ${R_OPEN[$c]:-0} + ro1 - ro0 ))
        line="round $((r + 1)) $c: $(fmt "$tps") calls/s, $(fmt "$us" 1) µs of server CPU per call"
        redis_line="Redis answered $((rs1 - rs0)), failed $((rf1 - rf0)), skipped $((rc1 - rc0)) calls, breaker opened $((ro1 - ro0))x"
        # what each case claims, checked
        case $c in
            l1_hit)
                [ $((rs1 - rs0 + rf1 - rf0 + rc1 - rc0)) -eq 0 ] || die "(g) called Redis: $redis_line" ;;
            l2_hit)
                # every call went to Redis (a slow answer may fail one: said, not fatal)
                if [ $((rs1 - rs0 + rf1 - rf0 + rc1 - rc0)) -lt "$calls" ]; then
                    die "(h) served calls from L1 ($calls calls): $redis_line"
                fi
                if [ $((rf1 - rf0 + rc1 - rc0)) -ne 0 ]; then
                    scribe_note "warning: not every call of (h) was a Redis hit: $redis_line"
                fi
                l2_check
                rus=$(awk -v t="$((rticks1 - rticks0))" -v hz="$CLOCK_TICKS" -v n="$calls" \
                    'BEGIN { printf "%.3f", t / hz * 1e6 / n }')
                RCPU_RUNS[$c]="${RCPU_RUNS[$c]:-} $rus"
                line="$line + $(fmt "$rus" 1) µs of Redis; $redis_line" ;;
            agg_fetch)
                [ $((loads1 - loads0)) -gt 0 ] || die "(k) never ran its loader"
                LOADS_SUM[$c]=$(( ${LOADS_SUM[$c]:-0} + loads1 - loads0 ))
                line="$line, $((loads1 - loads0)) loads: hit rate $(awk -v l=$((loads1 - loads0)) -v n="$calls" \
                    'BEGIN { printf "%.1f", 100 * (1 - l / n) }') %" ;;
            redis_up)
                if [ $((rs1 - rs0)) -eq 0 ]; then
                    die "(l) never reached Redis: $redis_line"
                fi
                if [ $((rf1 - rf0 + rc1 - rc0)) -ne 0 ]; then
                    scribe_note "warning: Redis failed or was skipped during (l): $redis_line"
                fi ;;
            redis_killed|redis_stopped)
                if [ $((ro1 - ro0)) -eq 0 ] || [ $((rc1 - rc0)) -eq 0 ]; then
                    die "the breaker did not open during $c: $redis_line"
                fi ;;
        esac
        if [[ " ${LATENCY_CASES[*]} " == *" $c "* ]]; then
            read -r p50 p99 pmax n <<<"$(latency_percentiles "$LATENCY/${c}_r$r")"
            [ -n "${n:-}" ] || die "no transaction log of $c in round $((r + 1))"
            [ -n "${SCRIBE_KEEP:-}" ] || rm -f "$LATENCY/${c}_r$r".*
            P50_RUNS[$c]="${P50_RUNS[$c]:-} $p50"
            P99_RUNS[$c]="${P99_RUNS[$c]:-} $p99"
            if [ "$pmax" -gt "${MAX_LAT[$c]:-0}" ]; then MAX_LAT[$c]=$pmax; fi
            line="$line; latency p50 $p50 µs, p99 $p99 µs, max $pmax µs of $n; $redis_line"
        fi
        scribe_note "$line"
    done
done
for c in "${CASES[@]}"; do
    # shellcheck disable=SC2086
    RES[$c]=$(median ${RUNS[$c]})
    # shellcheck disable=SC2086
    CPU[$c]=$(median ${CPU_RUNS[$c]})
done
for c in "${LATENCY_CASES[@]}"; do
    # shellcheck disable=SC2086
    P50[$c]=$(median ${P50_RUNS[$c]})
    # shellcheck disable=SC2086
    P99[$c]=$(median ${P99_RUNS[$c]})
done
# shellcheck disable=SC2086
REDIS_CPU_L2=$(median ${RCPU_RUNS[l2_hit]})
HIT_RATE=$(awk -v l="${LOADS_SUM[agg_fetch]}" -v n="${CALLS_SUM[agg_fetch]}" 'BEGIN { printf "%.1f", 100 * (1 - l / n) }')
# the most (k) can gain over (j) at this hit rate, were a hit free
# (k) against (j) by server CPU per call: what (k) saves, waits aside
FETCH_CPU_RATIO=$(ratio "${CPU[agg_raw]}" "${CPU[agg_fetch]}")
FETCH_CEILING=$(awk -v l="${LOADS_SUM[agg_fetch]}" -v n="${CALLS_SUM[agg_fetch]}" 'BEGIN { printf "%.1f", n / l }')
read -r RL_KEYS RL_EVICTIONS RL_ALLOWED RL_REJECTED <<<"$(q -F ' ' -c \
    "SELECT keys, evictions, allowed, rejected FROM scribe.rate_limit_stats()")"
scribe_note "rate limiter: $RL_KEYS keys kept, $RL_EVICTIONS evictions, $RL_ALLOWED allowed, $RL_REJECTED rejected"
scribe_note "(k): ${LOADS_SUM[agg_fetch]} loads in ${CALLS_SUM[agg_fetch]} calls, hit rate $HIT_RATE %, so at most ${FETCH_CEILING}x (j)"

TOTAL_S=$((SECONDS - BENCH_START))

# --- the tables ---------------------------------------------------------------------
# a cell of a Markdown table: its pipes escaped
cell() { printf '%s' "${1//|/\\|}"; }

MS=$(fmt "$AGG_MS" 1)
declare -A LABEL=(
    [select1]="(a) \`SELECT 1\`"
    [function]="(b) \`SELECT pg_backend_pid()\`: a function call, for scale"
    [from_many]="(c) \`SELECT allowed FROM scribe.rate_limit_take($MANY_KEY, 1000000, '1 second')\`"
    [from_hot]="(d) \`SELECT allowed FROM scribe.rate_limit_take('hot', 1000000, '1 second')\`: one key for every client"
    [select_many]="(e) \`SELECT (scribe.rate_limit_take($MANY_KEY, 1000000, '1 second')).allowed\`"
    [select_hot]="(f) \`SELECT (scribe.rate_limit_take('hot', 1000000, '1 second')).allowed\`: one key for every client"
    [l1_hit]="(g) \`SELECT scribe.cache_get('k:' || (random() * 999)::int)\`: an L1 hit (1000 keys of 100 bytes)"
    [l2_hit]="(h) \`SELECT scribe.cache_get('r:' || (random() * 99)::int)\`: an L2 hit (L1 miss, then Redis; 100 keys of 100 bytes)"
    [table_lookup]="(i) \`SELECT v FROM bench_kv WHERE k = :k\`: primary-key lookup, UNLOGGED table of 1000 rows of 100 bytes"
    [agg_raw]="(j) \`${AGG_SQL}:k\`: an aggregate of $MS ms ($AGG_ROWS rows, 10 keys)"
    [agg_fetch]="(k) \`scribe.cache_fetch('agg:' || :k, <(j)>, '1 hour')\`, $FETCH_MISS_PCT % of calls deleting the key first: $HIT_RATE % hits"
    [redis_up]="(l) Redis up"
    [redis_killed]="(m) Redis killed (SIGKILL)"
    [redis_stopped]="(n) Redis stopped (SIGSTOP): calls time out"
)

TABLE="| case | calls/s (median of $BENCH_ROUNDS) | ratio to \`SELECT 1\` | target | ratio held to it | met? | server CPU per call (µs) | more than \`SELECT 1\` (µs) |
|---|---|---|---|---|---|---|---|"
SUMMARY=""
for c in "${CASES[@]}"; do
    [[ " ${LATENCY_CASES[*]} " == *" $c "* ]] && continue
    r=$(ratio "${RES[$c]}" "${RES[select1]}")
    extra=$(awk -v a="${CPU[$c]}" -v b="${CPU[select1]}" 'BEGIN { printf "%+.1f", a - b }')
    target="" held="" verdict=""
    if [[ " ${TARGET_CASES[*]} " == *" $c "* ]]; then
        target="≥ ${BENCH_TARGET}× (a)"; held="${r}×"; verdict=$(met "$r" "$BENCH_TARGET")
        SUMMARY="$SUMMARY $c ${r}×,"
    elif [ "$c" = agg_fetch ]; then
        held=$(ratio "${RES[agg_fetch]}" "${RES[agg_raw]}")
        target="≥ ${FETCH_TARGET}× (j)"; verdict=$(met "$held" "$FETCH_TARGET")
        FETCH_RATIO=$held
        held="${held}×"
    fi
    TABLE="$TABLE
| $(cell "${LABEL[$c]}") | $(fmt "${RES[$c]}") | ${r}× | $target | $held | $verdict | $(fmt "${CPU[$c]}" 1) | $extra |"
done

LATENCY_TABLE="| \`$(cell "${MIXED_GET%;}")\`, 90 % L1 hits, 10 % L2 hits | calls/s (median of $BENCH_ROUNDS) | p50 (µs) | p99 (µs) | p99 ratio to (l) | target | met? | slowest call (µs) | Redis calls over the rounds: answered / failed / skipped, breaker opened |
|---|---|---|---|---|---|---|---|---|"
for c in "${LATENCY_CASES[@]}"; do
    target="" verdict=""
    pr=$(ratio "${P99[$c]}" "${P99[redis_up]}")
    if [ "$c" != redis_up ]; then
        target="≤ ${P99_TARGET}×"; verdict=$(met "$pr" "$P99_TARGET" max)
        SUMMARY="$SUMMARY p99 $c / redis_up ${pr}×,"
    fi
    LATENCY_TABLE="$LATENCY_TABLE
| ${LABEL[$c]} | $(fmt "${RES[$c]}") | $(fmt "${P50[$c]}") | $(fmt "${P99[$c]}") | ${pr}× | $target | $verdict | ${MAX_LAT[$c]} | ${R_OK[$c]} / ${R_FAIL[$c]} / ${R_SKIP[$c]}, ${R_OPEN[$c]}× |"
done

scribe_step "results ($(date -u '+%Y-%m-%d %H:%M UTC'), $((TOTAL_S / 60)) min $((TOTAL_S % 60)) s)"
echo
echo "$TABLE"
echo
echo "$LATENCY_TABLE"
echo
echo "ratios:${SUMMARY%,}; (k) / (j) ${FETCH_RATIO}× at $HIT_RATE % hits (at most ${FETCH_CEILING}× at that rate; ${FETCH_CPU_RATIO}× by server CPU per call)"
echo "targets: rate_limit and L1 hit ≥ ${BENCH_TARGET}× SELECT 1, cache_fetch ≥ ${FETCH_TARGET}× the raw query, p99 with Redis dead ≤ ${P99_TARGET}× normal"

# --- docs/benchmarks.md ---------------------------------------------------------
if [ -n "$BENCH_DOCS" ]; then
    # shellcheck disable=SC2016
    SETTINGS_MD=$(printf '`%s`, ' "${SERVER_CONF[@]}")
    SECTION="$SCRIBE_WORK/section.md"
    cat >"$SECTION" <<EOF
$BEGIN_MARK
## Cache and rate limiter (issue 5)

Reproduce with \`make bench-cache\` (runs \`test/bench/cache.sh\`, about $((TOTAL_S / 60 + 1)) minutes).

$(scribe_bench_facts)
- PostgreSQL: $PG_VERSION; pg_scribe $SCRIBE_VERSION (git $GIT_VERSION);
  redis-server $REDIS_VERSION on loopback, started by the script with \`--save '' --appendonly no\`.
- Settings beyond initdb's: ${SETTINGS_MD%, } (the Redis ones at their defaults); \`scribe.rate_limit_keys\` and \`scribe.cache_memory\` at their defaults.
- \`pgbench -n -M prepared -c $BENCH_CLIENTS -j 2 -T $BENCH_SECONDS\` on the same machine; $BENCH_ROUNDS rounds, the cases in
  turn; the median round. One statement per transaction except (k). At 1,000,000 requests per
  second every rate-limiter call is allowed, so each one writes its key's state.
- Server CPU per call: the CPU time of the backends (user and system, from the postmaster's
  reaped children) over the calls of the round; the machine's other load does not inflate
  it as it does calls/s. The median round. Redis's own CPU is not in it: $(fmt "$REDIS_CPU_L2" 1) µs per call of (h).
- Redis is configured for every case. It does not change (g): an L1 hit returns before Redis
  is consulted (checked each round: Redis answered no call during (g)).
- (h) runs with \`PGOPTIONS='$L2_ONLY'\`: its 100-byte values, stored in Redis
  only, are too large for L1, so every call misses L1 and reads Redis (epoch, namespace version
  and value in one pipelined round trip). Checked each round: no call was served by L1 (Redis
  calls answered, failed or skipped at least the calls) and all 100 keys read back 100 bytes from
  Redis. Over the rounds Redis answered ${R_OK[l2_hit]}, failed ${R_FAIL[l2_hit]} and skipped ${R_SKIP[l2_hit]} of (h)'s ${CALLS_SUM[l2_hit]} calls.
- (i) takes its key from pgbench's \`\\set k random(0, 999)\`: a volatile \`random()\` in the
  WHERE clause would rule out the index.
- (j): \`bench_agg\` of $AGG_ROWS rows (\`g\` one of 10, \`parallel_workers = 0\`), sized at setup so that one
  aggregate alone took $MS ms (the mean of the fastest of 5 batches of 10). (k) runs this script, so 5 % of its calls delete the key and load it again:

  \`\`\`
$(sed 's/^/  /' "$BENCH_SQL/agg_fetch.pgbench")
  \`\`\`

  The loader bumps a sequence: ${LOADS_SUM[agg_fetch]} loads in ${CALLS_SUM[agg_fetch]} calls over the rounds, $HIT_RATE % hits. At that
  hit rate (k) cannot beat (j) by more than ${FETCH_CEILING}× even if a hit cost nothing (the loads alone
  take 1/${FETCH_CEILING} of the raw query's time). A client that asks for a key while another session
  loads it waits for that load (single-flight) instead of running the query, and with 10 keys
  the other clients soon all ask for the key being loaded: calls/s counts those waits, server CPU
  per call does not. By server CPU per call (k) costs 1/${FETCH_CPU_RATIO} of (j).
- (l)–(n) run with \`PGOPTIONS='$L2_ONLY'\` and \`pgbench -l\`; the percentiles are of every
  transaction of the round, the median round. Keys \`r:0\`–\`r:99\` (10 % of calls) are (h)'s
  Redis-only values, the others L1 hits. (m) SIGKILLs redis-server before its round and (n)
  SIGSTOPs it (SIGCONT after); either way the script waits for the breaker to close again and
  stores (h)'s values anew before the next case.
- Afterwards the limiter had $RL_KEYS keys, $RL_EVICTIONS evictions, $RL_ALLOWED requests allowed and $RL_REJECTED rejected.

$TABLE

$LATENCY_TABLE
$END_MARK
EOF
    scribe_docs_section "$BENCH_DOCS" "$SECTION" "$BEGIN_MARK" "$END_MARK"
    echo
    echo "written to $BENCH_DOCS"
fi
