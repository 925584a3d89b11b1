#!/bin/sh
# Draw the charts of docs/benchmarks.md (SVG, into docs/charts/) from the
# tables the bench scripts wrote into it: that file stays the one source of
# the figures, and a rerun of a benchmark followed by `make charts` redraws.
# Runs no benchmark.  Needs gnuplot (installed by `test/bin/install-deps charts`).
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DOC="$ROOT/docs/benchmarks.md"
OUT="$ROOT/docs/charts"
"$ROOT/test/bin/install-deps" charts >/dev/null
mkdir -p "$OUT"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# The lines of a "## heading" section, up to the next heading of that level
section() {
    awk -v h="## $1" '$0 == h { on = 1; next } on && /^## / { exit } on' "$DOC"
}

# The cells of the table row of a section whose first cell starts with a
# label, one per line, trimmed; escaped pipes (\|) stay inside their cell
row() {
    section "$1" | awk -v label="$2" '
        index($0, "| " label) == 1 {
            gsub(/\\\|/, "\001")
            n = split($0, cell, "|")
            for (i = 2; i < n; i++) {
                c = cell[i]; gsub(/^ +| +$/, "", c); gsub("\001", "|", c); print c
            }
            exit
        }'
}

# The n-th cell (1-based) of a row; missing figures ("", "n/a ¹") become "-"
cell() {
    v=$(row "$1" "$2" | sed -n "${3}p" | sed 's/ *[¹²³].*//')
    case "$v" in ''|n/a*) echo - ;; *) echo "$v" ;; esac
}

# Fail loudly if a table changed shape rather than draw a wrong chart
need() {
    case "$1" in
        -|*[!0-9.]*) echo "charts.sh: expected a number for $2, found '$1'" >&2; exit 1 ;;
    esac
}

COMMON='set terminal svg size 800,420 dynamic font "DejaVu Sans,12" background "white"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics lc rgb "#dddddd"
set termoption noenhanced
set key above
set bmargin 4
set datafile missing "-"
set xtics nomirror scale 0
set ytics nomirror'

# Queue: jobs/s of pg_scribe, the textbook SKIP LOCKED queue and PgQ
Q="Queue (issue 3)"
{
    for c in "(a) enqueue" "(b) enqueue" "(c) claim + ack" "(d) drain"; do
        s=$(cell "$Q" "$c" 2); t=$(cell "$Q" "$c" 3); p=$(cell "$Q" "$c" 4)
        need "$s" "$c pg_scribe"; need "$t" "$c textbook"
        echo "\"$c\" $s $t $p"
    done
} | sed 's/"(a) enqueue"/"(a) enqueue\\n1 job per transaction"/;
         s/"(b) enqueue"/"(b) enqueue\\nbatches of 100"/;
         s/"(c) claim + ack"/"(c) claim + ack\\n4 clients"/;
         s/"(d) drain"/"(d) drain of 100000\\nno-op jobs"/' > "$WORK/queue.dat"
gnuplot <<EOF
$COMMON
set output "$OUT/queue.svg"
set title "Queue throughput (jobs/s, log scale; higher is better)"
set logscale y
set yrange [1000:*]
plot "$WORK/queue.dat" using 2:xtic(1) title "pg_scribe" lc rgb "#1f77b4", \
     "" using 3 title "textbook SKIP LOCKED" lc rgb "#aaaaaa", \
     "" using 4 title "PgQ" lc rgb "#ff7f0e"
EOF

# OCR: per page, the error rate and seconds of the tesseract CLI and scribe.ocr()
O="OCR"
section "$O" | awk -F'|' '/^\| [0-9][0-9]-/ {
        for (i = 2; i <= 10; i++) { gsub(/^ +| +$| %/, "", $i) }
        print $2, $3, $6, $7, $8, $10 }' > "$WORK/ocr.dat"
[ "$(wc -l < "$WORK/ocr.dat")" -gt 0 ] || { echo "charts.sh: no per-page OCR table" >&2; exit 1; }
gnuplot <<EOF
$COMMON
set terminal svg size 900,680 dynamic font "DejaVu Sans,12" background "white"
# a new terminal line resets the options: OMP_THREAD_LIMIT is not a subscript
set termoption noenhanced
set output "$OUT/ocr.svg"
set multiplot layout 2,1
set xtics rotate by -30
set bmargin 6
set title "OCR character error rate per page (%; lower is better)"
plot "$WORK/ocr.dat" using 2:xtic(1) title "tesseract CLI" lc rgb "#aaaaaa", \
     "" using 3 title "scribe.ocr() (preprocessing on)" lc rgb "#1f77b4"
set title "OCR seconds per page (lower is better)"
plot "$WORK/ocr.dat" using 4:xtic(1) title "tesseract CLI (OpenMP as shipped)" lc rgb "#aaaaaa", \
     "" using 5 title "tesseract CLI, OMP_THREAD_LIMIT=1" lc rgb "#666666", \
     "" using 6 title "scribe.ocr() (preprocessing on)" lc rgb "#1f77b4"
unset multiplot
EOF

# Cache: calls/s and server CPU per call beside SELECT 1
C="Cache and rate limiter (issue 5)"
{
    for c in "(a)" "(b)" "(c)" "(d)" "(g)" "(h)" "(i)"; do
        r=$(cell "$C" "$c" 2); u=$(cell "$C" "$c" 7)
        need "$r" "cache $c calls/s"; need "$u" "cache $c CPU"
        echo "$c $r $u"
    done
} | sed 's/^(a)/"SELECT 1"/; s/^(b)/"function call"/; s/^(c)/"rate_limit\\n1000 keys"/;
         s/^(d)/"rate_limit\\none hot key"/; s/^(g)/"cache_get\\nL1 hit"/;
         s/^(h)/"cache_get\\nRedis hit"/; s/^(i)/"primary-key\\nlookup"/' > "$WORK/cache.dat"
gnuplot <<EOF
$COMMON
set output "$OUT/cache.svg"
set title "Cache and rate limiter: calls/s, 4 clients (higher is better)"
set yrange [0:*]
plot "$WORK/cache.dat" using 2:xtic(1) title "calls/s" lc rgb "#1f77b4"
EOF

# Worker nodes: pages/minute on the primary and on the node
W="Worker nodes (issue 7)"
{
    for c in "(a)" "(b)" "(c)"; do
        p=$(cell "$W" "$c" 3); n=$(cell "$W" "$c" 4)
        need "$p" "worker node $c primary"; need "$n" "worker node $c node"
        echo "$c $p $n"
    done
} | sed 's/^(a)/"primary alone\\n1 worker"/; s/^(b)/"primary alone\\n2 workers"/;
         s/^(c)/"primary 1 worker\\n+ node 1 worker"/' > "$WORK/nodes.dat"
gnuplot <<EOF
$COMMON
set output "$OUT/worker_nodes.svg"
set style histogram rowstacked
set key above
set boxwidth 0.6
set title "OCR pipeline with a worker node (pages/minute; higher is better)"
set yrange [0:*]
plot "$WORK/nodes.dat" using 2:xtic(1) title "on the primary" lc rgb "#1f77b4", \
     "" using 3 title "on the worker node" lc rgb "#ff7f0e"
EOF

# Replication: apply lag percentiles
R="Replication (issue 7)"
for c in "(a) apply lag at 200" "(a) apply lag at 1000"; do
    row "$R" "$c" | sed -n 2p | sed 's/p50 \([0-9.]*\) ms, p99 \([0-9.]*\) ms, longest \([0-9.]*\) ms/\1 \2 \3/' |
        { read -r p50 p99 top; need "$p50" "$c p50"; need "$top" "$c longest"
          echo "\"$(echo "$c" | sed 's/(a) apply lag at //') writes/s\" $p50 $p99 $top"; }
done > "$WORK/lag.dat"
gnuplot <<EOF
$COMMON
set output "$OUT/replication_lag.svg"
set title "Replica apply lag (ms; lower is better)"
set yrange [0:*]
plot "$WORK/lag.dat" using 2:xtic(1) title "p50" lc rgb "#9ecae1", \
     "" using 3 title "p99" lc rgb "#1f77b4", \
     "" using 4 title "longest" lc rgb "#08306b"
EOF

echo "charts.sh: wrote $(ls "$OUT"/*.svg | wc -l) charts into docs/charts/"
