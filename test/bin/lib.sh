# Shell helpers shared by test/bin/run-tests, test/bin/demo and the
# benchmarks in test/bench (sourced).
#
# PostgreSQL refuses to run as root and these machines run everything as
# root: every server these scripts start runs as an unprivileged OS user
# (SCRIBE_TEST_USER, default postgres), in a scratch directory that user owns.

SCRIBE_ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
SCRIBE_TEST_USER=${SCRIBE_TEST_USER:-postgres}

# Run a command as root (directly, or through sudo)
as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Run a command as the unprivileged user that owns the servers, in directory
# $1 (the caller's own may be a clone under a private /root)
as_user_in() {
    dir=$1; shift
    if [ "$(id -u)" -eq 0 ]; then
        (cd "$dir" && runuser -u "$SCRIBE_TEST_USER" -- "$@")
    else
        (cd "$dir" && "$@")
    fi
}

# Run a command as the unprivileged user, from /
as_user() {
    as_user_in / "$@"
}

# Install missing packages, then find PostgreSQL's directories
scribe_deps() {
    "$SCRIBE_ROOT/test/bin/install-deps" || return 1
    PG_BINDIR=$("$PG_CONFIG" --bindir)
    # the src/ directory of PGXS: src/test/regress, src/test/perl
    PGXS_SRC=$(cd "$(dirname "$("$PG_CONFIG" --pgxs)")/.." && pwd)
    export PG_BINDIR PGXS_SRC
}

# Build with -Werror (see Makefile) and install into PostgreSQL's directories
scribe_build_install() {
    make -C "$SCRIBE_ROOT" -s PG_CONFIG="$PG_CONFIG" || return 1
    as_root make -C "$SCRIBE_ROOT" -s install PG_CONFIG="$PG_CONFIG" || return 1
}

# Create the scratch directory SCRIBE_WORK, owned by the server user
scribe_workdir() {
    SCRIBE_WORK=$(mktemp -d "${TMPDIR:-/tmp}/pg_scribe.XXXXXX")
    chmod 755 "$SCRIBE_WORK"
    if [ "$(id -u)" -eq 0 ]; then
        chown "$SCRIBE_TEST_USER" "$SCRIBE_WORK"
    fi
    export SCRIBE_WORK
}

# Print a TCP port on 127.0.0.1 that nothing listens on now
scribe_free_port() {
    perl -MIO::Socket::INET -e '
        my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 0,
                                      Proto => "tcp", Listen => 1) or die "no free port: $!";
        print $s->sockport, "\n";'
}

# Start a throwaway server named $1 with extra postgresql.conf lines $2...;
# sets CLUSTER_DIR and CLUSTER_PORT.
scribe_cluster_start() {
    name=$1; shift
    CLUSTER_DIR="$SCRIBE_WORK/$name"
    as_user mkdir -p "$CLUSTER_DIR"
    as_user "$PG_BINDIR/initdb" -D "$CLUSTER_DIR/data" -U postgres -A trust \
        -E UTF8 --locale=C --no-sync >"$SCRIBE_WORK/$name.initdb.log" 2>&1 || {
        cat "$SCRIBE_WORK/$name.initdb.log"; return 1; }
    for attempt in 1 2 3; do
        CLUSTER_PORT=$(scribe_free_port)
        {
            echo "listen_addresses = '127.0.0.1'"
            echo "port = $CLUSTER_PORT"
            echo "unix_socket_directories = '$CLUSTER_DIR'"
            echo "fsync = off"
            for line in "$@"; do echo "$line"; done
        } | as_user tee "$CLUSTER_DIR/data/scribe.conf" >/dev/null
        echo "include 'scribe.conf'" | as_user tee -a "$CLUSTER_DIR/data/postgresql.conf" >/dev/null
        if as_user "$PG_BINDIR/pg_ctl" -D "$CLUSTER_DIR/data" -l "$CLUSTER_DIR/server.log" \
                -w -t 60 start >/dev/null; then
            return 0
        fi
        # the port may have been taken between the check and the start
        sed -i '$d' "$CLUSTER_DIR/data/postgresql.conf"
        echo "cluster $name did not start on port $CLUSTER_PORT (attempt $attempt):" >&2
        tail -n 5 "$CLUSTER_DIR/server.log" >&2
    done
    return 1
}

# Restart the server whose data directory is $1
scribe_cluster_restart() {
    as_user "$PG_BINDIR/pg_ctl" -D "$1" -l "$(dirname "$1")/server.log" -w -t 60 -m fast restart >/dev/null
}

# Stop every server started under SCRIBE_WORK (TAP tests' too), then remove it
scribe_cleanup() {
    [ -n "${SCRIBE_WORK:-}" ] && [ -d "$SCRIBE_WORK" ] || return 0
    for pidfile in $(find "$SCRIBE_WORK" -name postmaster.pid 2>/dev/null); do
        as_user "$PG_BINDIR/pg_ctl" -D "$(dirname "$pidfile")" -m immediate -w stop >/dev/null 2>&1 || true
    done
    if [ -n "${SCRIBE_KEEP:-}" ]; then
        echo "kept $SCRIBE_WORK"
    else
        rm -rf "$SCRIBE_WORK"
    fi
}

# Copy this PostgreSQL into $SCRIBE_WORK/pg and install this build of
# pg_scribe into the copy, so that a benchmark never replaces the library
# under someone else's server; sets PG_PRIVATE and PG_BINDIR.  Arguments
# (optional): the source tree to install (SCRIBE_ROOT), the copy's directory
# (SCRIBE_WORK/pg).
scribe_private_install() {
    root=${1:-$SCRIBE_ROOT}
    PG_PRIVATE=${2:-$SCRIBE_WORK/pg}
    for dir in "$("$PG_CONFIG" --bindir)" "$("$PG_CONFIG" --pkglibdir)" "$("$PG_CONFIG" --sharedir)"; do
        mkdir -p "$PG_PRIVATE$dir"
        cp -R "$dir/." "$PG_PRIVATE$dir/"
    done
    make -C "$root" -s install PG_CONFIG="$PG_CONFIG" DESTDIR="$PG_PRIVATE" || return 1
    PG_BINDIR="$PG_PRIVATE$("$PG_CONFIG" --bindir)"
    # PostgreSQL finds its libraries and extensions relative to its binaries
    if [ "$("$PG_BINDIR/pg_config" --pkglibdir)" != "$PG_PRIVATE$("$PG_CONFIG" --pkglibdir)" ]; then
        echo "this PostgreSQL is not relocatable: $("$PG_BINDIR/pg_config" --pkglibdir)" >&2
        return 1
    fi
}

# Put the file $2 into the benchmark document $1 between the marker lines
# $3 and $4 (which $2 holds too), replacing what was there, or append it
scribe_docs_section() {
    docs=$1; section=$2; begin=$3; end=$4
    if [ ! -f "$docs" ]; then
        printf '# Benchmarks\n\nEach section is written by its benchmark script; rerun it rather than editing the numbers.\n' \
            >"$docs"
    fi
    if grep -qF "$begin" "$docs" && grep -qF "$end" "$docs"; then
        awk -v section="$section" -v b="$begin" -v e="$end" '
            $0 == b { while ((getline line < section) > 0) print line; skip = 1; next }
            skip && $0 == e { skip = 0; next }
            !skip { print }' "$docs" >"$docs.new"
        cat "$docs.new" >"$docs"
        rm -f "$docs.new"
    else
        { echo; cat "$section"; } >>"$docs"
    fi
}

# --- benchmarks (test/bench/*.sh) ---------------------------------------------

# Start a benchmark's clock and note the load average (BENCH_START,
# LOAD_START); stop every server it starts on exit
scribe_bench_begin() {
    BENCH_START=$SECONDS
    LOAD_START=$(cut -d ' ' -f 1-3 /proc/loadavg)
    trap 'scribe_cleanup' EXIT
    trap 'exit 130' INT TERM
}

# A benchmark's set-up: Debian packages, this build, and a private copy of
# PostgreSQL with it installed (scribe_private_install)
scribe_bench_prepare() {
    scribe_step "dependencies"
    scribe_deps
    scribe_step "build"
    make -C "$SCRIBE_ROOT" -s PG_CONFIG="$PG_CONFIG"
    scribe_step "private PostgreSQL installation with this build of pg_scribe"
    scribe_workdir
    scribe_private_install || exit 1
}

# Print a benchmark's step, and a note under it
scribe_step() { printf '\n== %s\n' "$*"; }
scribe_note() { printf '   %s\n' "$*"; }

# psql on the server at CLUSTER_PORT: unaligned, tuples only, stop on error
scribe_psql() {
    as_user "$PG_BINDIR/psql" -X -q -At -h 127.0.0.1 -p "$CLUSTER_PORT" -U postgres -d postgres \
        -v ON_ERROR_STOP=1 "$@"
}

# The run and machine lines of a benchmark's section of docs/benchmarks.md
scribe_bench_facts() {
    total=$((SECONDS - BENCH_START))
    echo "- Run: $(date -u '+%Y-%m-%d %H:%M UTC'), $((total / 60)) min $((total % 60)) s;" \
         "load average at the start $LOAD_START, at the end $(cut -d ' ' -f 1-3 /proc/loadavg)."
    echo "- Machine: $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1))," \
         "$(awk '/^MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo) GB RAM, Linux $(uname -r)."
}
