#!/bin/bash
# OCR on real documents (issue 16): tesseract's command line, OCRmyPDF and
# pg_scribe side by side on pages nobody on this project made, with their
# ground truth, in one run.
#
# The page set (test/bench/ocr_real/pages.tsv, built by make-pages): pages
# rendered by pdftoppm from PDFs that Debian packages ship (their text layer
# is the ground truth, with word boxes) and tesseract's own test pages
# (../shared/ocr-dev/tesseract-test/, text only), each as it is and degraded
# (turned 90/180/270°, skewed, JPEG at quality 15, noise, uneven light).
#
#   cli      tesseract IMAGE OUT tsv                      (defaults; OpenMP as Debian ships it)
#   cli1     OMP_THREAD_LIMIT=1 tesseract IMAGE OUT tsv
#   ocrmypdf OMP_THREAD_LIMIT=1 ocrmypdf --jobs 1 IN.pdf OUT.pdf
#   ocrmypdf-rd  the same with --rotate-pages --deskew
#            (IN.pdf: img2pdf of the page image; the text from pdftotext -bbox)
#   scribe   scribe.ocr_words(image)                      (defaults)
#   scribe-hocr  scribe.ocr_hocr(image)                   (defaults)
#   scribe-nopre scribe.ocr_words(image, preprocess => false)
#   scribe-pdf   scribe.ocr_pdf(IN.pdf)                  (OCRmyPDF's input: a searchable PDF,
#            its text from pdftotext -bbox, its size beside OCRmyPDF's)
#
# Scores (test/bench/ocr_real/score): order-insensitive word accuracy (F of
# the bags of words) and positional word accuracy (a word counts where the
# ground truth has it, by box), per page and per page class; seconds per
# page: the command's wall time for the command lines, clock_timestamp()
# around the call in the server for pg_scribe (one session, after a warm-up
# call).
#
# It prints the tables and writes them between <!-- ocr-real-bench:begin -->
# and <!-- ocr-real-bench:end --> of docs/benchmarks.md.  Run it with
# `make bench-ocr-real`, as root or as a user with sudo.
#
# Environment: BENCH_PAGES (the first N rows of pages.tsv only: a quick run
# for development), BENCH_OCR_REAL_SYSTEMS (the systems to run, default all,
# e.g. "cli1 scribe"), BENCH_DOCS (file to write the results to; empty:
# none; the default is docs/benchmarks.md, except with BENCH_PAGES or
# BENCH_OCR_REAL_SYSTEMS set), SCRIBE_KEEP=1 keeps the scratch directory
# with every page, output and log.
set -euo pipefail
BENCH_SRC=$(cd "$(dirname "$0")" && pwd)
. "$BENCH_SRC/../bin/lib.sh"

REAL_SRC="$BENCH_SRC/ocr_real"
PY=/usr/bin/python3     # Debian's, with python3-pil
BENCH_PAGES=${BENCH_PAGES:-}
ALL_SYSTEMS="cli cli1 ocrmypdf ocrmypdf-rd scribe scribe-hocr scribe-nopre scribe-pdf"
SYSTEMS=${BENCH_OCR_REAL_SYSTEMS:-$ALL_SYSTEMS}
if [ -n "$BENCH_PAGES" ] || [ -n "${BENCH_OCR_REAL_SYSTEMS:-}" ]; then
    BENCH_DOCS=${BENCH_DOCS-}
else
    BENCH_DOCS=${BENCH_DOCS-$SCRIBE_ROOT/docs/benchmarks.md}
fi
TEST_PAGES=${SCRIBE_OCR_DEV:-$SCRIBE_ROOT/../shared/ocr-dev}/tesseract-test
BEGIN_MARK='<!-- ocr-real-bench:begin -->'
END_MARK='<!-- ocr-real-bench:end -->'

SERVER_CONF=(
    "shared_preload_libraries = 'pg_scribe'"
    "scribe.min_workers = 1"
    "scribe.max_workers = 1"
    "max_worker_processes = 16"
    "shared_buffers = 256MB"
)

scribe_bench_begin
step() { scribe_step "$@"; }
note() { scribe_note "$@"; }
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }
wants() { case " $SYSTEMS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

# The label of each system, in the tables' order
SYSTEM_LABELS=$(cat <<'EOF'
cli	CLI
cli1	CLI, 1 thread
ocrmypdf	OCRmyPDF
ocrmypdf-rd	OCRmyPDF --rotate-pages --deskew
scribe	pg_scribe ocr_words
scribe-hocr	pg_scribe ocr_hocr
scribe-nopre	pg_scribe preprocess => false
scribe-pdf	pg_scribe ocr_pdf of the PDF
EOF
)

# --- the pages -------------------------------------------------------------------
step "dependencies"
"$SCRIBE_ROOT/test/bin/install-deps" ocr-real
scribe_deps
if [ ! -d "$TEST_PAGES" ]; then
    echo "no tesseract test pages in $TEST_PAGES (set SCRIBE_OCR_DEV to the ocr-dev folder)" >&2
    exit 1
fi

step "the page set (test/bench/ocr_real/pages.tsv)"
scribe_workdir
PAGE_DIR="$SCRIBE_WORK/pages"
PDF_DIR="$SCRIBE_WORK/pdf"
OUT="$SCRIBE_WORK/out"
LOGS="$SCRIBE_WORK/logs"
mkdir -p "$PDF_DIR" "$OUT" "$LOGS"
t0=$(now)
"$PY" "$REAL_SRC/make-pages" "$REAL_SRC/pages.tsv" "$TEST_PAGES" "$PAGE_DIR" "$BENCH_PAGES" >/dev/null
INDEX="$PAGE_DIR/index.tsv"
NAMES=()
IMAGES=()
while IFS=$'\t' read -r name _ _ _ _ image _; do
    NAMES+=("$name"); IMAGES+=("$image")
    img2pdf "$image" -o "$PDF_DIR/$name.pdf"
done <"$INDEX"
chmod -R a+rX "$PAGE_DIR" "$PDF_DIR"
N=${#NAMES[@]}
note "$N page images from $(cut -f 2 "$INDEX" | sort -u | wc -l) pages in $(awk -v s="$(calc "$(now) - $t0")" 'BEGIN { printf "%.1f", s }') s"

# --- the command lines ---------------------------------------------------------------
TESSERACT_VERSION=$(tesseract --version 2>&1 | head -n 1)
OCRMYPDF_VERSION=$(ocrmypdf --version 2>/dev/null || echo n/a)
tesseract "${IMAGES[0]}" - >/dev/null 2>&1    # the model into the page cache

# Run tesseract on every page: cli KEY [env assignments...]
cli() {
    local key=$1 i t1; shift
    mkdir -p "$OUT/$key"
    for ((i = 0; i < N; i++)); do
        t1=$(now)
        env -u OMP_THREAD_LIMIT -u OMP_NUM_THREADS "$@" tesseract "${IMAGES[$i]}" "$OUT/$key/${NAMES[$i]}" tsv \
            >>"$LOGS/$key.log" 2>&1 || true
        calc "$(now) - $t1" >"$OUT/$key/${NAMES[$i]}.sec"
    done
}

# Run OCRmyPDF on every page's PDF: ocr_my_pdf KEY [options...]
ocr_my_pdf() {
    local key=$1 i t1; shift
    mkdir -p "$OUT/$key"
    for ((i = 0; i < N; i++)); do
        t1=$(now)
        env OMP_THREAD_LIMIT=1 ocrmypdf --jobs 1 --quiet "$@" "$PDF_DIR/${NAMES[$i]}.pdf" \
            "$OUT/$key/${NAMES[$i]}.pdf" >>"$LOGS/$key.log" 2>&1 || echo "${NAMES[$i]}: exit $?" >>"$LOGS/$key.log"
        calc "$(now) - $t1" >"$OUT/$key/${NAMES[$i]}.sec"
    done
}

timed_step() {
    local t=$SECONDS
    step "$1"; shift
    "$@"
    note "$((SECONDS - t)) s"
}
wants cli && timed_step "cli: tesseract IMAGE OUT tsv (OpenMP threads as shipped)" cli cli
wants cli1 && timed_step "cli1: OMP_THREAD_LIMIT=1 tesseract IMAGE OUT tsv" cli cli1 OMP_THREAD_LIMIT=1
wants ocrmypdf && timed_step "ocrmypdf: ocrmypdf --jobs 1 (one OpenMP thread)" ocr_my_pdf ocrmypdf
wants ocrmypdf-rd && timed_step "ocrmypdf-rd: ocrmypdf --jobs 1 --rotate-pages --deskew" \
    ocr_my_pdf ocrmypdf-rd --rotate-pages --deskew

# --- pg_scribe -----------------------------------------------------------------------
PG_VERSION=n/a
SCRIBE_VERSION=n/a
GIT_VERSION=$(git -C "$SCRIBE_ROOT" describe --always --dirty 2>/dev/null || echo unknown)

# Run a pg_scribe function on every page in one session: sql_run KEY CALL EXT
# (CALL: the SQL of bench.timed()'s kind argument; EXT pdf: on the page's PDF,
# the output a base64 PDF)
sql_run() {
    local key=$1 kind=$2 ext=$3 i script="$SCRIBE_WORK/$1.sql" raw input
    mkdir -p "$OUT/$key"
    [ "$(id -u)" -ne 0 ] || chown "$SCRIBE_TEST_USER" "$OUT/$key"
    input() { if [ "$ext" = pdf ]; then echo "$PDF_DIR/${NAMES[$1]}.pdf"; else echo "${IMAGES[$1]}"; fi; }
    {
        echo "SELECT bench.timed('$(input 0)', '$kind') IS NOT NULL AS warm_up;"
        for ((i = 0; i < N; i++)); do
            echo "\\o $OUT/$key/${NAMES[$i]}.raw"
            echo "SELECT bench.timed('$(input "$i")', '$kind');"
        done
        echo "\\o"
    } >"$script"
    chmod a+r "$script"
    scribe_psql -f "$script" >"$LOGS/$key.log" 2>&1 || true
    for ((i = 0; i < N; i++)); do
        raw="$OUT/$key/${NAMES[$i]}.raw"
        if [ ! -s "$raw" ] || [ "$(head -n 1 "$raw")" = error ]; then
            note "($key) ${NAMES[$i]}: $(sed -n 2p "$raw" 2>/dev/null || echo 'no output')"
            continue
        fi
        head -n 1 "$raw" >"$OUT/$key/${NAMES[$i]}.sec"
        if [ "$ext" = pdf ]; then
            tail -n +2 "$raw" | base64 -d >"$OUT/$key/${NAMES[$i]}.pdf"
        else
            tail -n +2 "$raw" >"$OUT/$key/${NAMES[$i]}.$ext"
        fi
    done
}

if wants scribe || wants scribe-hocr || wants scribe-nopre || wants scribe-pdf; then
    step "build pg_scribe into a private PostgreSQL installation, start the server"
    make -C "$SCRIBE_ROOT" -s PG_CONFIG="$PG_CONFIG"
    scribe_private_install
    scribe_cluster_start bench "${SERVER_CONF[@]}"
    scribe_psql -c "CREATE EXTENSION pg_scribe" >/dev/null
    PG_VERSION=$(scribe_psql -c "SELECT version()")
    SCRIBE_VERSION=$(scribe_psql -c "SELECT scribe.version()")
    echo "127.0.0.1:$CLUSTER_PORT, $PG_VERSION; pg_scribe $SCRIBE_VERSION ($GIT_VERSION)"
    # seconds on the first line, the output after; an error as "error" and its message
    scribe_psql >/dev/null <<'EOF'
CREATE SCHEMA bench;
CREATE FUNCTION bench.timed(path text, kind text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    image bytea := pg_read_binary_file(path);
    t0    timestamptz;
    res   text;
BEGIN
    t0 := clock_timestamp();
    IF kind = 'hocr' THEN
        res := scribe.ocr_hocr(image);
    ELSIF kind = 'pdf' THEN
        res := encode(scribe.ocr_pdf(image), 'base64');
    ELSE
        SELECT string_agg(concat_ws(E'\t', replace(word, E'\t', ' '), "left", top, width, height), E'\n')
          INTO res
          FROM scribe.ocr_words(image, preprocess => kind = 'words');
    END IF;
    RETURN extract(epoch FROM clock_timestamp() - t0)::text || E'\n' || coalesce(res, '');
EXCEPTION WHEN others THEN
    RETURN 'error' || E'\n' || SQLERRM;
END
$$;
EOF
    wants scribe && timed_step "scribe: scribe.ocr_words(image)" sql_run scribe words words
    wants scribe-hocr && timed_step "scribe-hocr: scribe.ocr_hocr(image)" sql_run scribe-hocr hocr hocr
    wants scribe-nopre && timed_step "scribe-nopre: scribe.ocr_words(image, preprocess => false)" \
        sql_run scribe-nopre words-nopre words
    wants scribe-pdf && timed_step "scribe-pdf: scribe.ocr_pdf(IN.pdf)" sql_run scribe-pdf pdf pdf
fi

# --- scores and tables -----------------------------------------------------------------
step "scores"
SCORES="$SCRIBE_WORK/scores.tsv"
: >"$SCORES"
for key in $SYSTEMS; do
    case $key in
        cli|cli1) fmt=tsv ;;
        ocrmypdf|ocrmypdf-rd|scribe-pdf) fmt=pdf ;;
        scribe-hocr) fmt=hocr ;;
        *) fmt=words ;;
    esac
    "$PY" "$REAL_SRC/score" page "$INDEX" "$key" "$fmt" "$OUT/$key" "$PDF_DIR" >>"$SCORES"
done
printf '%s\n' "$SYSTEM_LABELS" >"$SCRIBE_WORK/systems.tsv"
TABLES=$("$PY" "$REAL_SRC/score" report "$SCRIBE_WORK/systems.tsv" "$SCORES")
TOTAL_S=$((SECONDS - BENCH_START))
step "results ($(date -u '+%Y-%m-%d %H:%M UTC'), $((TOTAL_S / 60)) min $((TOTAL_S % 60)) s)"
echo
echo "$TABLES"

# --- docs/benchmarks.md ---------------------------------------------------------------------
if [ -n "$BENCH_DOCS" ]; then
    # the page set: pages and images per class, and the packages' versions
    CLASSES=$(awk -F '\t' '!/^#/ && NF >= 6 { pages[$4]++; n = split($6, v, ","); images[$4] += n }
        END { for (c in pages) printf "%s: %d pages, %d images; ", c, pages[c], images[c] }' "$REAL_SRC/pages.tsv" \
        | sed 's/; $//')
    DEB_SOURCES=$(cut -f 2 "$REAL_SRC/pages.tsv" | sed -n 's/^deb:\([^:]*\):.*/\1/p' | sort -u |
        while read -r pkg; do printf '%s %s, ' "$pkg" "$(dpkg-query -W -f='${Version}' "$pkg")"; done | sed 's/, $//')
    SECTION="$SCRIBE_WORK/section.md"
    cat >"$SECTION" <<EOF
$BEGIN_MARK
## OCR on real documents (issue 16)

Reproduce with \`make bench-ocr-real\` (runs \`test/bench/ocr_real.sh\`, about $((TOTAL_S / 60 + 1)) min;
\`BENCH_PAGES=3\` for a quick run on the first 3 pages, which writes nothing here).

$(scribe_bench_facts)
- Software: $TESSERACT_VERSION (Debian, model \`eng\` of tesseract-ocr-eng); OCRmyPDF $OCRMYPDF_VERSION (Debian);
  $PG_VERSION; pg_scribe $SCRIBE_VERSION (git $GIT_VERSION).
- Pages (\`test/bench/ocr_real/pages.tsv\`, built by \`make-pages\`): $N page images; $CLASSES.
  From PDFs that Debian packages ship ($DEB_SOURCES), rendered by \`pdftoppm -gray\` at 150, 200
  or 300 dpi, ground truth their text layer (\`pdftotext -bbox\`: words with boxes, scaled to the
  image, less watermark words taller than 4× the page's median word); and tesseract's test pages
  (\`../shared/ocr-dev/tesseract-test/\`: phototest upright and turned 180°, left and right,
  eurotext, the two UNLV magazine pages; ground truth their \`.txt\`, without positions). Each
  also degraded as pages.tsv says: turned 90/180/270° clockwise (\`rot90\`...), skewed by 1–2.5°,
  JPEG at quality 15, grey noise (σ 40), uneven light (a shadow to 40 % across the page).
  Deterministic: the same packages give the same pixels.
- Systems, one after the other on every page image: \`tesseract IMAGE OUT tsv\` (defaults: OpenMP
  threads as Debian ships them, on this machine's $(nproc) CPUs), the same with \`OMP_THREAD_LIMIT=1\`;
  \`ocrmypdf --jobs 1\` with \`OMP_THREAD_LIMIT=1\` on a one-page PDF made by \`img2pdf\` from the page
  image (its text and boxes from \`pdftotext -bbox\` of its output), without and with
  \`--rotate-pages --deskew\`; pg_scribe in a throwaway server: \`scribe.ocr_words(image)\`,
  \`scribe.ocr_hocr(image)\` (defaults: \`eng\`, \`psm\` NULL: the automatic layout, \`preprocess => true\`: per page) and
  \`scribe.ocr_words(image, preprocess => false)\`.
- Seconds per page: wall time of the command (model loading included) for the command lines;
  \`clock_timestamp()\` around the call in the server for pg_scribe (one session, after a warm-up call).
  One run per page.
- Scores (\`test/bench/ocr_real/score\`): words split on white space, normalised (NFKC, case folded,
  typographic quotes and dashes as ASCII, non-alphanumeric characters taken off both ends, what is left
  empty dropped). Order-insensitive: F = 2 × |bag(truth) ∩ bag(recognised)| / (|truth| + |recognised|).
  Positional: a recognised word counts when a ground-truth word of the same text, not yet taken, has a
  box that overlaps its box with IoU ≥ 0.5 or holds its centre, in the pixels of the image submitted
  (OCRmyPDF: on its output page, which \`--rotate-pages\` may have turned upright: the best of the
  ground truth turned by 0, 90, 180 and 270°); F as above. Means are over the
  page images of a class. A rotated page is read when its order-insensitive F is at least 50 %.

$TABLES
$END_MARK
EOF
    scribe_docs_section "$BENCH_DOCS" "$SECTION" "$BEGIN_MARK" "$END_MARK"
    echo
    echo "written to $BENCH_DOCS"
fi
