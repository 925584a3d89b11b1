#!/bin/bash
# The OCR benchmark: tesseract's command line against pg_scribe's OCR, on a
# rendered page set with ground truth (test/bench/ocr/make-pages: 4 clean
# pages, 4 skewed clockwise by 2-4 degrees, 3 under a shadow, 1 of small
# text at 75 dpi), in one run.
#
#   (a) tesseract page.png -                      (defaults; OpenMP as Debian ships it)
#   (b) OMP_THREAD_LIMIT=1 tesseract page.png -
#   (c) SELECT scribe.ocr(image, preprocess => false)
#   (d) SELECT scribe.ocr(image)                  (preprocess => true, the default)
#       character error rate (test/bench/ocr/cer) mean and worst, seconds per page
#   (e) the document pipeline: every page BENCH_OCR_COPIES times through
#       scribe.document_submit(), with 1 worker, then 2        pages per minute
#       beside (b) run 1, then 2 pages at a time: what 2 processes get out of
#       this machine's cores (a VM's may not scale), the ceiling of (e)
#
# (c) and (d) run one page per statement in one session (whose OCR engine
# stays up), after a warm-up call, timed server-side around scribe.ocr() by
# clock_timestamp(); (a) and (b) are timed around the whole command, as a
# user of the command line pays it.  (e) submits all pages in one
# transaction and runs from its commit to the last document's finished_at.
#
# It prints one table and writes it, with the machine, the settings and the
# per-page figures, between the markers <!-- ocr-bench:begin --> and
# <!-- ocr-bench:end --> of docs/benchmarks.md (appended when absent).  Run it
# with `make bench-ocr`, as root or as a user with sudo (the server runs as
# SCRIBE_TEST_USER, see test/bin/lib.sh).  What pg_scribe does not provide
# yet (scribe.ocr, scribe.document_submit) shows as n/a.
#
# The server runs from a private copy of the PostgreSQL installation with
# this build of pg_scribe installed into it, as in test/bench/queue.sh.
#
# Environment: BENCH_OCR_COPIES (copies of the page set per pipeline run,
# default 3), BENCH_OCR_ROUNDS (runs of every page in (a)-(d), default 3: a
# page's time is the median of its runs, against a noisy neighbour), BENCH_OCR_TIMEOUT (seconds a pipeline run may take, 900),
# BENCH_OCR_CLI_ONLY=1 (only (a) and (b), no server), BENCH_DOCS (file to
# write the results to; empty: none), SCRIBE_KEEP=1 keeps the scratch
# directory with every page, output and log.
set -euo pipefail
BENCH_SRC=$(cd "$(dirname "$0")" && pwd)
. "$BENCH_SRC/../bin/lib.sh"

OCR_SRC="$BENCH_SRC/ocr"
CER="$OCR_SRC/cer"
BENCH_OCR_COPIES=${BENCH_OCR_COPIES:-3}
BENCH_OCR_ROUNDS=${BENCH_OCR_ROUNDS:-3}
BENCH_OCR_TIMEOUT=${BENCH_OCR_TIMEOUT:-900}
BENCH_OCR_CLI_ONLY=${BENCH_OCR_CLI_ONLY:-}
BENCH_DOCS=${BENCH_DOCS-$SCRIBE_ROOT/docs/benchmarks.md}
BEGIN_MARK='<!-- ocr-bench:begin -->'
END_MARK='<!-- ocr-bench:end -->'

# The benchmark server's settings beyond initdb's defaults (the pipeline
# runs change the worker counts with ALTER SYSTEM)
SERVER_CONF=(
    "shared_preload_libraries = 'pg_scribe'"
    "scribe.min_workers = 1"
    "scribe.max_workers = 1"
    "max_worker_processes = 16"
    "shared_buffers = 256MB"
)

BENCH_START=$SECONDS
LOAD_START=$(cut -d ' ' -f 1-3 /proc/loadavg)
trap 'scribe_cleanup' EXIT
trap 'exit 130' INT TERM

step() { printf '\n== %s\n' "$*"; }
note() { printf '   %s\n' "$*"; }

# psql on the benchmark server: unaligned, tuples only
q() {
    as_user "$PG_BINDIR/psql" -X -q -At -h 127.0.0.1 -p "$CLUSTER_PORT" -U postgres -d postgres "$@"
}

now() { date +%s.%N; }

# Arithmetic on decimals: calc 'expression' (awk syntax)
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }

# Round a number: fmt VALUE [DECIMALS]; n/a stays n/a
fmt() {
    case "$1" in n/a|'') echo n/a ;; *) awk -v v="$1" -v d="${2:-0}" 'BEGIN { printf "%.*f", d, v }' ;; esac
}

# A fraction as a percentage with 2 decimals
pct() {
    case "$1" in n/a|'') echo n/a ;; *) awk -v v="$1" 'BEGIN { printf "%.2f %%", v * 100 }' ;; esac
}

# ratio A B: A / B as 0.42×, n/a when either is missing
ratio() {
    case "$1$2" in *n/a*) echo n/a; return ;; esac
    awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f×", a / b; else print "n/a" }'
}

# met VALUE OP TARGET: yes, **no** or n/a
met() {
    case "$1" in n/a|'') echo n/a; return ;; esac
    awk -v v="$1" -v t="$3" -v op="$2" 'BEGIN {
        ok = (op == ">=") ? v >= t : (op == "<") ? v < t : v <= t; print ok ? "yes" : "**no**" }'
}

# Mean and maximum of the numbers on stdin ("n/a n/a" if none)
mean_max() {
    awk 'NF { s += $1; n++; if (n == 1 || $1 > m) m = $1 }
         END { if (n) printf "%.6f %.6f\n", s / n, m; else print "n/a n/a" }'
}

declare -A CER_OF=() SEC_OF=() RES=()
PAGES=()

# Record the figures of case $1 for page $2: ground truth $3, output $4,
# seconds $5 (one more run: a page's seconds are the median of its runs)
record() {
    CER_OF[$1,$2]=$("$CER" "$3" "$4")
    SEC_OF[$1,$2]="${SEC_OF[$1,$2]:-}$5 "
}

# The median of the numbers in $1 (space separated)
median() {
    printf '%s\n' $1 | sort -g | awk 'NF { v[n++] = $1 }
        END { if (n) printf "%.6f\n", n % 2 ? v[int(n / 2)] : (v[n / 2 - 1] + v[n / 2]) / 2 }'
}

# Summarise case $1 over the pages: RES[$1_cer], RES[$1_worst], RES[$1_sec]
summarise() {
    local c=$1 p cers="" secs=""
    for p in "${PAGES[@]}"; do
        [ -n "${CER_OF[$c,$p]:-}" ] && cers+="${CER_OF[$c,$p]}"$'\n'
        if [ -n "${SEC_OF[$c,$p]:-}" ]; then
            SEC_OF[$c,$p]=$(median "${SEC_OF[$c,$p]}")
            secs+="${SEC_OF[$c,$p]}"$'\n'
        fi
    done
    read -r 'RES['"$c"'_cer]' 'RES['"$c"'_worst]' <<<"$(printf '%s' "$cers" | mean_max)"
    read -r 'RES['"$c"'_sec]' _ <<<"$(printf '%s' "$secs" | mean_max)"
    note "($c) CER mean $(pct "${RES[${c}_cer]}"), worst $(pct "${RES[${c}_worst]}"), $(fmt "${RES[${c}_sec]}" 2) s/page"
}

# --- the pages -------------------------------------------------------------------
step "dependencies"
scribe_deps

step "render the page set"
scribe_workdir
PAGE_DIR="$SCRIBE_WORK/pages"
OUT_DIR="$SCRIBE_WORK/out"
LOGS="$SCRIBE_WORK/logs"
t0=$(now)
"$OCR_SRC/make-pages" "$PAGE_DIR" >/dev/null
mkdir -p "$OUT_DIR/a" "$OUT_DIR/b" "$LOGS"
chmod -R a+rX "$PAGE_DIR"
for png in "$PAGE_DIR"/*.png; do
    PAGES+=("$(basename "$png" .png)")
done
note "${#PAGES[@]} pages in $(fmt "$(calc "$(now) - $t0")" 1) s: ${PAGES[*]}"

# --- (a), (b): the command line ------------------------------------------------------
TESSERACT_VERSION=$(tesseract --version 2>&1 | head -n 1)
# a first run loads the model into the page cache for both cases
tesseract "$PAGE_DIR/${PAGES[0]}.png" - >/dev/null 2>&1

# Run the command line on every page: cli CASE [env assignments...]
cli() {
    local c=$1 p t1 r; shift
    for ((r = 0; r < BENCH_OCR_ROUNDS; r++)); do
        for p in "${PAGES[@]}"; do
            t1=$(now)
            env -u OMP_THREAD_LIMIT -u OMP_NUM_THREADS "$@" tesseract "$PAGE_DIR/$p.png" - \
                >"$OUT_DIR/$c/$p.txt" 2>>"$LOGS/$c.log"
            record "$c" "$p" "$PAGE_DIR/$p.txt" "$OUT_DIR/$c/$p.txt" "$(calc "$(now) - $t1")"
        done
    done
    summarise "$c"
}

step "(a) tesseract page.png - (OpenMP threads as shipped)"
cli a
step "(b) OMP_THREAD_LIMIT=1 tesseract page.png -"
cli b OMP_THREAD_LIMIT=1

# What two processes at once get out of this machine, the ceiling of (e)'s
# ratio: (b) two pages at a time against (b) one at a time
step "(b) two at a time: OMP_THREAD_LIMIT=1 tesseract, 2 processes"
mkdir -p "$OUT_DIR/b2"
t0=$(now)
# shellcheck disable=SC2016  # the inner shell expands them
printf '%s\n' "${PAGES[@]}" | env -u OMP_NUM_THREADS OMP_THREAD_LIMIT=1 xargs -P 2 -I '{}' \
    sh -c 'tesseract "$1/$2.png" - >"$3/$2.txt" 2>/dev/null' sh "$PAGE_DIR" '{}' "$OUT_DIR/b2"
b2_s=$(calc "$(now) - $t0")
b_total=0
for p in "${PAGES[@]}"; do b_total=$(calc "$b_total + ${SEC_OF[b,$p]}"); done
RES[b_ppm]=$(calc "${#PAGES[@]} * 60 / $b_total")
RES[b2_ppm]=$(calc "${#PAGES[@]} * 60 / $b2_s")
note "one at a time $(fmt "${RES[b_ppm]}" 1) pages/minute, two at a time $(fmt "${RES[b2_ppm]}" 1): $(ratio "${RES[b2_ppm]}" "${RES[b_ppm]}")"

# --- the server --------------------------------------------------------------------
SERVER=""
SERVER_NOTE=""
PG_VERSION=n/a
SCRIBE_VERSION=n/a
GIT_VERSION=$(git -C "$SCRIBE_ROOT" describe --always --dirty 2>/dev/null || echo unknown)

# Build pg_scribe into a private PostgreSQL installation and start a server
start_server() {
    make -C "$SCRIBE_ROOT" -s PG_CONFIG="$PG_CONFIG" || return 1
    scribe_private_install || return 1
    scribe_cluster_start bench "${SERVER_CONF[@]}" || return 1
    q -v ON_ERROR_STOP=1 -c "CREATE EXTENSION pg_scribe" || return 1
    PG_VERSION=$(q -c "SELECT version()")
    SCRIBE_VERSION=$(q -c "SELECT scribe.version()")
}

if [ -n "$BENCH_OCR_CLI_ONLY" ]; then
    SERVER_NOTE="BENCH_OCR_CLI_ONLY: no server"
else
    step "build pg_scribe into a private PostgreSQL installation, start the server"
    if start_server; then
        SERVER=yes
        echo "127.0.0.1:$CLUSTER_PORT, $PG_VERSION"
        echo "pg_scribe $SCRIBE_VERSION ($GIT_VERSION)"
    else
        SERVER_NOTE="the server did not start with this build (see above)"
        echo "$SERVER_NOTE: (c) to (e) are n/a" >&2
    fi
fi

# Does the server have function $1 (a regprocedure signature)?
has_function() {
    [ -n "$SERVER" ] && [ "$(q -c "SELECT to_regprocedure('$1') IS NOT NULL")" = t ]
}

# --- (c), (d): scribe.ocr() ------------------------------------------------------------
# Run scribe.ocr() on every page in one session: sql_ocr CASE PREPROCESS
sql_ocr() {
    local c=$1 pre=$2 p script="$SCRIBE_WORK/$1.sql" raw r
    # psql writes the outputs as the server's user
    mkdir -p "$OUT_DIR/$c"
    [ "$(id -u)" -ne 0 ] || chown "$SCRIBE_TEST_USER" "$OUT_DIR/$c"
    {
        echo "SELECT bench.ocr_timed('$PAGE_DIR/${PAGES[0]}.png', $pre) IS NOT NULL AS warm_up;"
        for ((r = 0; r < BENCH_OCR_ROUNDS; r++)); do
            for p in "${PAGES[@]}"; do
                echo "\\o $OUT_DIR/$c/$p.raw.$r"
                echo "SELECT bench.ocr_timed('$PAGE_DIR/$p.png', $pre);"
            done
        done
        echo "\\o"
    } >"$script"
    chmod a+r "$script"
    q -f "$script" >"$LOGS/$c.log" 2>&1 || true
    for ((r = 0; r < BENCH_OCR_ROUNDS; r++)); do
        for p in "${PAGES[@]}"; do
            raw="$OUT_DIR/$c/$p.raw.$r"
            if [ ! -s "$raw" ] || [ "$(head -n 1 "$raw")" = error ]; then
                note "($c) $p: $(sed -n 2p "$raw" 2>/dev/null || echo 'no output')"
                CER_OF[$c,$p]=1
                continue
            fi
            tail -n +2 "$raw" >"$OUT_DIR/$c/$p.txt"
            record "$c" "$p" "$PAGE_DIR/$p.txt" "$OUT_DIR/$c/$p.txt" "$(head -n 1 "$raw")"
        done
    done
    summarise "$c"
}

if has_function 'scribe.ocr(bytea,text,integer,boolean)' || has_function 'scribe.ocr(bytea,text,integer,boolean,boolean)'; then
    # seconds on the first line, the text after; an error as "error" and its message
    q -v ON_ERROR_STOP=1 >/dev/null <<'EOF'
CREATE SCHEMA bench;
CREATE FUNCTION bench.ocr_timed(path text, pre boolean) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    image bytea := pg_read_binary_file(path);
    t0    timestamptz;
    txt   text;
BEGIN
    t0 := clock_timestamp();
    txt := scribe.ocr(image, preprocess => pre);
    RETURN extract(epoch FROM clock_timestamp() - t0)::text || E'\n' || coalesce(txt, '');
EXCEPTION WHEN others THEN
    RETURN 'error' || E'\n' || SQLERRM;
END
$$;
EOF
    step "(c) SELECT scribe.ocr(image, preprocess => false)"
    sql_ocr c false
    step "(d) SELECT scribe.ocr(image) (preprocess => true)"
    sql_ocr d true
else
    step "(c), (d): n/a (no scribe.ocr(bytea, text, integer, boolean)${SERVER_NOTE:+; $SERVER_NOTE})"
    for c in c d; do RES[${c}_cer]=n/a; RES[${c}_worst]=n/a; RES[${c}_sec]=n/a; done
fi

# --- (e): the document pipeline ----------------------------------------------------------
# Submit every page BENCH_OCR_COPIES times with WORKERS workers and wait for
# them all: pipeline WORKERS; sets RES[e_WORKERS] (pages/minute) and
# RES[e_WORKERS_failed]
pipeline() {
    local w=$1 total=$(( ${#PAGES[@]} * BENCH_OCR_COPIES )) script="$SCRIBE_WORK/e$1.sql"
    local ids lo hi start polled done_n failed_n end
    q -v ON_ERROR_STOP=1 -c "ALTER SYSTEM SET scribe.min_workers = $w" -c "ALTER SYSTEM SET scribe.max_workers = $w" \
        -c "SELECT pg_reload_conf()" >/dev/null
    sleep 3     # the pool settles at its new size
    {
        echo "BEGIN;"
        for ((k = 0; k < BENCH_OCR_COPIES; k++)); do
            for p in "${PAGES[@]}"; do
                echo "SELECT scribe.document_submit(pg_read_binary_file('$PAGE_DIR/$p.png'), owner => 'bench');"
            done
        done
        echo "COMMIT;"
        echo "SELECT 'start ' || extract(epoch FROM clock_timestamp());"
    } >"$script"
    chmod a+r "$script"
    if ! q -v ON_ERROR_STOP=1 -f "$script" >"$LOGS/e$w.out" 2>&1; then
        note "$w worker(s): the submission failed:"
        tail -n 5 "$LOGS/e$w.out" | sed 's/^/   /'
        RES[e_$w]=n/a; RES[e_${w}_failed]=n/a
        return
    fi
    ids=$(grep -E '^[0-9]+$' "$LOGS/e$w.out" | sort -n)
    lo=$(echo "$ids" | head -n 1); hi=$(echo "$ids" | tail -n 1)
    start=$(sed -n 's/^start //p' "$LOGS/e$w.out")
    while :; do
        read -r done_n failed_n polled <<<"$(q -F ' ' -c "
            SELECT count(*) FILTER (WHERE status IN ('done', 'failed')), count(*) FILTER (WHERE status = 'failed'),
                   extract(epoch FROM clock_timestamp())
            FROM scribe.documents WHERE document_id BETWEEN $lo AND $hi" || true)"
        if [ -z "${polled:-}" ]; then
            note "$w worker(s): cannot read scribe.documents"
            RES[e_$w]=n/a; RES[e_${w}_failed]=n/a
            return
        fi
        [ "$done_n" -ge "$total" ] && break
        if awk -v p="$polled" -v s="$start" -v t="$BENCH_OCR_TIMEOUT" 'BEGIN { exit !(p - s > t) }'; then
            note "$w worker(s): only $done_n of $total documents finished in $BENCH_OCR_TIMEOUT s"
            RES[e_$w]=n/a; RES[e_${w}_failed]=$failed_n
            return
        fi
        sleep 0.2
    done
    # the last document's own finish time when the table has it, else the poll's
    end=$(q -c "SELECT coalesce(extract(epoch FROM max(finished_at)), $polled)
                FROM scribe.documents WHERE document_id BETWEEN $lo AND $hi" 2>/dev/null || echo "$polled")
    RES[e_$w]=$(calc "$total * 60 / ($end - $start)")
    RES[e_${w}_failed]=$failed_n
    note "$w worker(s): $total pages in $(fmt "$(calc "$end - $start")" 1) s: $(fmt "${RES[e_$w]}" 1) pages/minute, $failed_n failed"
}

if has_function 'scribe.document_submit(bytea,text,jsonb,text,text)' \
   || has_function 'scribe.document_submit(bytea,text,jsonb,text,text,integer)' \
   || has_function 'scribe.document_submit(bytea,text,jsonb,text,text,integer,boolean)'; then
    step "(e) the document pipeline: $BENCH_OCR_COPIES × ${#PAGES[@]} pages through scribe.document_submit()"
    pipeline 1
    pipeline 2
else
    step "(e): n/a (no scribe.document_submit()${SERVER_NOTE:+; $SERVER_NOTE})"
    RES[e_1]=n/a; RES[e_2]=n/a; RES[e_1_failed]=n/a; RES[e_2_failed]=n/a
fi

# --- the tables ----------------------------------------------------------------------------
TOTAL_S=$((SECONDS - BENCH_START))
LOAD_END=$(cut -d ' ' -f 1-3 /proc/loadavg)
c_over_b=$(ratio "${RES[c_sec]}" "${RES[b_sec]}")
c_over_a=$(ratio "${RES[c_sec]}" "${RES[a_sec]}")
e_ratio=$(ratio "${RES[e_2]}" "${RES[e_1]}")
num() { case "$1" in *n/a*) echo n/a ;; *) echo "${1%×}" ;; esac; }
# (c)'s time target holds when both ratios do
c_time_met=$(awk -v b="$(num "$c_over_b")" -v a="$(num "$c_over_a")" 'BEGIN {
    if (b == "n/a" || a == "n/a") print "n/a"; else print (b <= 0.95 && a <= 0.3) ? "yes" : "**no**" }')
d_cer_met=$(awk -v m="$(met "${RES[d_cer]}" "<=" 0.005)" -v w="$(met "${RES[d_worst]}" "<=" 0.015)" 'BEGIN {
    if (m == "n/a" || w == "n/a") print "n/a"; else print (m == "yes" && w == "yes") ? "yes" : "**no**" }')

TABLE=$(cat <<EOF
| case | CER mean | CER worst | s/page | target | met? |
|---|---|---|---|---|---|
| (a) \`tesseract page.png -\` (OpenMP threads as shipped) | $(pct "${RES[a_cer]}") | $(pct "${RES[a_worst]}") | $(fmt "${RES[a_sec]}" 2) | the baseline | |
| (b) \`OMP_THREAD_LIMIT=1 tesseract page.png -\` | $(pct "${RES[b_cer]}") | $(pct "${RES[b_worst]}") | $(fmt "${RES[b_sec]}" 2) | | |
| (c) \`scribe.ocr(image, preprocess => false)\` | $(pct "${RES[c_cer]}") | $(pct "${RES[c_worst]}") | $(fmt "${RES[c_sec]}" 2) | s/page ≤ 0.95× (b) and ≤ 0.3× (a): $c_over_b (b), $c_over_a (a) | $c_time_met |
| (d) \`scribe.ocr(image)\` (preprocess => true) | $(pct "${RES[d_cer]}") | $(pct "${RES[d_worst]}") | $(fmt "${RES[d_sec]}" 2) | CER mean ≤ 0.50 %, worst ≤ 1.50 % | $d_cer_met |
| (e) pipeline, 1 worker (pages/minute) | | | $(fmt "${RES[e_1]}" 1) | | |
| (e) pipeline, 2 workers (pages/minute) | | | $(fmt "${RES[e_2]}" 1) | ≥ 1.7× 1 worker: $e_ratio | $(met "$(num "$e_ratio")" ">=" 1.7) |
| the machine's ceiling: (b) 1, then 2 processes at once (pages/minute) | | | $(fmt "${RES[b_ppm]}" 1), $(fmt "${RES[b2_ppm]}" 1) | 2 / 1: $(ratio "${RES[b2_ppm]}" "${RES[b_ppm]}") | |
EOF
)

# per page: CER of each case, seconds of each
PER_PAGE="| page | (a) CER | (b) CER | (c) CER | (d) CER | (a) s | (b) s | (c) s | (d) s |
|---|---|---|---|---|---|---|---|---|"
for p in "${PAGES[@]}"; do
    row="| $p"
    for c in a b c d; do row+=" | $(pct "${CER_OF[$c,$p]:-n/a}")"; done
    for c in a b c d; do row+=" | $(fmt "${SEC_OF[$c,$p]:-n/a}" 2)"; done
    PER_PAGE+=$'\n'"$row |"
done

step "results ($(date -u '+%Y-%m-%d %H:%M UTC'), $((TOTAL_S / 60)) min $((TOTAL_S % 60)) s)"
echo
echo "$TABLE"
echo
echo "$PER_PAGE"
[ -z "$SERVER_NOTE" ] || { echo; echo "n/a: $SERVER_NOTE"; }

# --- docs/benchmarks.md ---------------------------------------------------------------------
if [ -n "$BENCH_DOCS" ]; then
    CPU_MODEL=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
    MEM_GB=$(awk '/^MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)
    SECTION="$SCRIBE_WORK/section.md"
    cat >"$SECTION" <<EOF
$BEGIN_MARK
## OCR

Reproduce with \`make bench-ocr\` (runs \`test/bench/ocr.sh\`, about $((TOTAL_S / 60 + 1)) min).

- Run: $(date -u '+%Y-%m-%d %H:%M UTC'), $((TOTAL_S / 60)) min $((TOTAL_S % 60)) s; load average at the start $LOAD_START, at the end $LOAD_END.
- Machine: $(nproc) CPUs ($CPU_MODEL), $MEM_GB GB RAM, Linux $(uname -r).
- Software: $TESSERACT_VERSION (Debian); $PG_VERSION; pg_scribe $SCRIBE_VERSION (git $GIT_VERSION).
- Pages (\`test/bench/ocr/make-pages\`): ${#PAGES[@]} short English texts (letters, recipes, diary entries,
  lists; 700–900 characters) rendered by \`text2image\` in DejaVu fonts at 300 dpi, 8-bit grey
  PNG, then \`degrade.c\`: grey paper, slight blur and noise; 01–04 clean, 05–08 turned clockwise
  by 2, 2.5, 3 and 4°, 09–11 under a shadow (left edge, top left corner, bottom edge with 3°
  of skew), 12 small text (8 pt) at 75 dpi. Deterministic: the same tools render the same pixels.
- CER: Levenshtein distance in code points over the length of the ground truth, after folding
  typographic quotes and dashes and collapsing whitespace (\`test/bench/ocr/cer\`).
- (a), (b): the command's wall time, model loading included, after one run to warm the page
  cache. (c), (d): one session, one page per statement after a warm-up call, timed around
  \`scribe.ocr()\` by \`clock_timestamp()\`, language \`eng\`, \`psm\` 3. A page's seconds in (a)-(d)
  are the median of $BENCH_OCR_ROUNDS runs. (e): $BENCH_OCR_COPIES copies of the page
  set ($(( ${#PAGES[@]} * BENCH_OCR_COPIES )) documents) submitted in one transaction with \`scribe.document_submit(image, owner => 'bench')\`,
  timed from its commit to the last \`finished_at\`, with \`scribe.min_workers = scribe.max_workers\` = 1, then 2;
  failed documents: ${RES[e_1_failed]} (1 worker), ${RES[e_2_failed]} (2 workers). The last row runs (b)
  on the page set with \`xargs -P 2\`, against (b) one page at a time: the most 2 workers could gain here.

$TABLE

Per page (CER; seconds per page):

$PER_PAGE
$END_MARK
EOF
    scribe_docs_section "$BENCH_DOCS" "$SECTION" "$BEGIN_MARK" "$END_MARK"
    echo
    echo "written to $BENCH_DOCS"
fi
