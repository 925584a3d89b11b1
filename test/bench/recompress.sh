#!/bin/bash
# The archive recompression benchmark (issue 6): the bytes that
# scribe.image_recompress() saves on the sample scans (test/fixtures/scans),
# per scan and per format and mode, its time, and whether OCR of the copy
# still reads the text.
#
# Per scan and case (format, mode):
#   bytes before, bytes after, saved (%)
#   seconds: scribe.image_recompress() timed server-side by clock_timestamp(),
#            the median of BENCH_RECOMPRESS_ROUNDS calls in one session (the
#            engine already up): decoding, conversion, encoding, the pipes
#   OCR CER: scribe.ocr() of the copy against the scan's .txt ground truth
#            (test/bench/ocr/cer), beside the CER of the original
# and per case the totals over the scans it applies to.
#
# The cases are the conversions an archive would choose: gray PNG (lossless
# for a gray scan), 1-bit PNG, 1-bit TIFF G4, gray JPEG at quality 75.  The
# multi-page TIFF is 1-bit already and only TIFF G4 holds several pages, so
# it has the TIFF G4 case only.  'keep' is left out: every sample scan is
# 8-bit gray or 1-bit, where it equals 'gray' or 'bw'.
#
# It prints one table and writes it, with the machine and the settings,
# between the markers <!-- recompress-bench:begin --> and
# <!-- recompress-bench:end --> of docs/benchmarks.md (appended when absent).
# Run it with `make bench-recompress`, as root or as a user with sudo (the
# server runs as SCRIBE_TEST_USER, see test/bin/lib.sh).
#
# The server runs from a private copy of the PostgreSQL installation with
# this build of pg_scribe installed into it, as in test/bench/queue.sh.
#
# Environment: BENCH_RECOMPRESS_ROUNDS (timed calls per case, default 3),
# BENCH_DOCS (file to write the results to; empty: none), SCRIBE_KEEP=1
# keeps the scratch directory with every copy, OCR output and log.
set -euo pipefail
BENCH_SRC=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../bin/lib.sh
. "$BENCH_SRC/../bin/lib.sh"

CER="$BENCH_SRC/ocr/cer"
SCANS="$SCRIBE_ROOT/test/fixtures/scans"
BENCH_RECOMPRESS_ROUNDS=${BENCH_RECOMPRESS_ROUNDS:-3}
BENCH_DOCS=${BENCH_DOCS-$SCRIBE_ROOT/docs/benchmarks.md}
BEGIN_MARK='<!-- recompress-bench:begin -->'
END_MARK='<!-- recompress-bench:end -->'

# The cases: format:mode
CASES=(png:gray png:bw tiff_g4:bw jpeg:gray)
JPEG_QUALITY=75

# The benchmark server's settings beyond initdb's defaults: no worker pool
SERVER_CONF=(
    "shared_preload_libraries = 'pg_scribe'"
    "scribe.max_workers = 0"
)

scribe_bench_begin

# A fraction as a percentage with 2 decimals
pct() { awk -v v="$1" 'BEGIN { printf "%.2f %%", v * 100 }'; }

# The share of bytes saved, 1 - after / before, as a percentage with 1 decimal
saved() { awk -v b="$1" -v a="$2" 'BEGIN { printf "%.1f %%", 100 * (1 - a / b) }'; }

# Whether case $1 (format:mode) applies to scan $2
applies() {
    case "$2" in *.tif) [ "$1" = tiff_g4:bw ] ;; *) true ;; esac
}

scribe_bench_prepare
echo "in $PG_PRIVATE"
OUT="$SCRIBE_WORK/out"
mkdir -p "$OUT"
# the server reads the scans and psql writes the outputs as the server's user
cp "$SCANS"/* "$OUT/"
chmod -R a+rX "$OUT"
[ "$(id -u)" -ne 0 ] || chown -R "$SCRIBE_TEST_USER" "$OUT"

scribe_step "start the benchmark server"
scribe_cluster_start bench "${SERVER_CONF[@]}" || exit 1
scribe_psql -c "CREATE EXTENSION pg_scribe"
PG_VERSION=$(scribe_psql -c "SELECT version()")
SCRIBE_VERSION=$(scribe_psql -c "SELECT scribe.version()")
GIT_VERSION=$(git -C "$SCRIBE_ROOT" describe --always --dirty 2>/dev/null || echo unknown)
echo "127.0.0.1:$CLUSTER_PORT, $PG_VERSION"

scribe_psql >/dev/null <<'EOF'
CREATE SCHEMA bench;
CREATE TABLE bench.copy (name text PRIMARY KEY, image bytea);
-- Recompress the file at path rounds times, keep the copy as name; its
-- bytes before and after and the median seconds of a call
CREATE FUNCTION bench.recompress(name text, path text, fmt text, md text, quality integer, rounds integer)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    image  bytea := pg_read_binary_file(path);
    copy   bytea;
    t0     timestamptz;
    times  float8[] := '{}';
BEGIN
    FOR i IN 1 .. rounds LOOP
        t0 := clock_timestamp();
        copy := scribe.image_recompress(image, fmt, md, quality);
        times := times || extract(epoch FROM clock_timestamp() - t0)::float8;
    END LOOP;
    INSERT INTO bench.copy VALUES (name, copy);
    RETURN format('%s %s %s', length(image), length(copy),
                  (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY t) FROM unnest(times) t));
END
$$;
EOF

scribe_step "recompress and OCR each scan"
# the engine starts on the first call: not in any timing
scribe_psql -c "SELECT length(scribe.image_recompress(pg_read_binary_file('$OUT/letter-clean.png')))" >/dev/null
SCAN_FILES=()
for path in "$OUT"/*; do
    case "$path" in *.txt) continue ;; esac
    SCAN_FILES+=("$(basename "$path")")
done
declare -A BEFORE=() AFTER=() SECS=() CER_OF=() TOTAL_BEFORE=() TOTAL_AFTER=()
for file in "${SCAN_FILES[@]}"; do
    truth="$OUT/${file%.*}.txt"
    scribe_psql -c "SELECT scribe.ocr(pg_read_binary_file('$OUT/$file'))" >"$OUT/$file.ocr.txt"
    CER_OF[$file]=$("$CER" "$truth" "$OUT/$file.ocr.txt")
    for c in "${CASES[@]}"; do
        applies "$c" "$file" || continue
        fmt=${c%%:*} md=${c#*:} name="$file.$fmt.$md"
        read -r "BEFORE[$name]" "AFTER[$name]" "SECS[$name]" <<<"$(scribe_psql -c \
            "SELECT bench.recompress('$name', '$OUT/$file', '$fmt', '$md', $JPEG_QUALITY, $BENCH_RECOMPRESS_ROUNDS)")"
        scribe_psql -c "SELECT scribe.ocr(image) FROM bench.copy WHERE name = '$name'" >"$OUT/$name.ocr.txt"
        CER_OF[$name]=$("$CER" "$truth" "$OUT/$name.ocr.txt")
        TOTAL_BEFORE[$c]=$(( ${TOTAL_BEFORE[$c]:-0} + ${BEFORE[$name]} ))
        TOTAL_AFTER[$c]=$(( ${TOTAL_AFTER[$c]:-0} + ${AFTER[$name]} ))
        scribe_note "$file to $fmt, $md: ${BEFORE[$name]} -> ${AFTER[$name]} bytes ($(saved "${BEFORE[$name]}" "${AFTER[$name]}") saved)," \
             "$(awk -v s="${SECS[$name]}" 'BEGIN { printf "%.3f", s }') s, OCR CER $(pct "${CER_OF[$name]}") (original $(pct "${CER_OF[$file]}"))"
    done
done
if [ -n "${SCRIBE_KEEP:-}" ]; then
    # the copies themselves, to look at
    for name in "${!AFTER[@]}"; do
        scribe_psql -c "SELECT encode(image, 'base64') FROM bench.copy WHERE name = '$name'" | base64 -d >"$OUT/copy.$name"
    done
fi

TOTAL_S=$((SECONDS - BENCH_START))

# --- the table ---------------------------------------------------------------------
TABLE="| scan | format, mode | bytes before | bytes after | saved | seconds (median of $BENCH_RECOMPRESS_ROUNDS) | OCR CER of the copy | OCR CER of the original |
|---|---|---|---|---|---|---|---|"
for file in "${SCAN_FILES[@]}"; do
    for c in "${CASES[@]}"; do
        applies "$c" "$file" || continue
        fmt=${c%%:*} md=${c#*:} name="$file.$fmt.$md"
        TABLE+=$'\n'"| $file | \`$fmt\`, \`$md\` | ${BEFORE[$name]} | ${AFTER[$name]} | $(saved "${BEFORE[$name]}" "${AFTER[$name]}") | $(awk -v s="${SECS[$name]}" 'BEGIN { printf "%.3f", s }') | $(pct "${CER_OF[$name]}") | $(pct "${CER_OF[$file]}") |"
    done
done
for c in "${CASES[@]}"; do
    fmt=${c%%:*} md=${c#*:}
    TABLE+=$'\n'"| **all the scans it applies to** | \`$fmt\`, \`$md\` | ${TOTAL_BEFORE[$c]} | ${TOTAL_AFTER[$c]} | **$(saved "${TOTAL_BEFORE[$c]}" "${TOTAL_AFTER[$c]}")** | | | |"
done

scribe_step "results ($(date -u '+%Y-%m-%d %H:%M UTC'), $((TOTAL_S / 60)) min $((TOTAL_S % 60)) s)"
echo
echo "$TABLE"

# --- docs/benchmarks.md ---------------------------------------------------------
if [ -n "$BENCH_DOCS" ]; then
    SECTION="$SCRIBE_WORK/section.md"
    cat >"$SECTION" <<EOF
$BEGIN_MARK
## Archive recompression (issue 6)

Reproduce with \`make bench-recompress\` (runs \`test/bench/recompress.sh\`, about $((TOTAL_S / 60 + 1)) min).

$(scribe_bench_facts)
- Software: $PG_VERSION; pg_scribe $SCRIBE_VERSION (git $GIT_VERSION); leptonica as Debian 12 ships it.
- Scans: \`test/fixtures/scans\`: 8-bit gray PNGs (clean, skewed by 3°, under a shadow, small text)
  and a gray JPEG, and a 2-page 1-bit G4 TIFF; each with its text as ground truth.
- \`scribe.image_recompress(image, format, mode, $JPEG_QUALITY)\`, timed server-side by \`clock_timestamp()\` in one
  session whose engine was already up; a case's seconds are the median of $BENCH_RECOMPRESS_ROUNDS calls.
- OCR CER: \`scribe.ocr()\` (preprocessing on) of the copy against the scan's ground truth, by
  \`test/bench/ocr/cer\` (Levenshtein distance in code points over the truth's length, quotes, dashes
  and whitespace folded), beside the same for the original.
- \`bw\` binarizes a page of small text (characters under 14 pixels high, here the diary) at
  twice its resolution: its copy has 4× the pixels, and still fewer bytes.
- The TIFF is 1-bit G4 already: \`bw\` leaves its pages as they are and G4 encodes them to the same bytes.
- PNG is written at zlib's best compression (level 9): on the gray pages 2-4 % smaller than
  leptonica's default (level 6, which gives these scans' own bytes back) at 3-5 times its encoding
  time, which is most of the \`png\`, \`gray\` seconds. A JPEG scan to PNG keeps its compression
  artifacts exactly, hence 3.7× its bytes; and these rendered pages, clean gray on white, compress
  better losslessly than as JPEG at quality $JPEG_QUALITY, except the shadowed one.

$TABLE
$END_MARK
EOF
    scribe_docs_section "$BENCH_DOCS" "$SECTION" "$BEGIN_MARK" "$END_MARK"
    echo
    echo "written to $BENCH_DOCS"
fi
