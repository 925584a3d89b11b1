#!/bin/bash
# The searchable PDF benchmark (issue 16): the size of scribe.ocr_pdf()'s PDF
# against OCRmyPDF's for the same page, and the time each takes.
#
# Per scan (test/fixtures/scans and tesseract/phototest.tif):
#   image bytes        the scan as submitted
#   input PDF          img2pdf's PDF of it (the image embedded as it is):
#                      what OCRmyPDF is given
#   OCRmyPDF           ocrmypdf --jobs 1 (OMP_THREAD_LIMIT=1) of the input PDF,
#                      with its defaults (PDF/A output, --optimize 1), and with
#                      --output-type pdf; its wall time
#   pg_scribe of the PDF   the text layer added to img2pdf's PDF (its pages
#                      kept: what a document submitted as a PDF gets), from
#                      the same words
#   pg_scribe          scribe.ocr_pdf(image): recognition and the PDF, timed
#                      server-side by clock_timestamp() (engine already up);
#                      and the PDF alone from the words (scribe._ocr_make_pdf,
#                      what document_get_pdf pays)
#   words              whether pdftotext of each PDF gives the same words as
#                      scribe.ocr() (pg_scribe) and how many words it has
#
# It prints one table and writes it between the markers
# <!-- searchable-pdf-bench:begin --> and <!-- searchable-pdf-bench:end -->
# of docs/benchmarks.md (appended when absent).  Run it with
# `make bench-searchable-pdf`, as root or as a user with sudo.
#
# Environment: BENCH_DOCS (file to write the results to; empty: none),
# SCRIBE_KEEP=1 keeps the scratch directory with every PDF.
set -euo pipefail
BENCH_SRC=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../bin/lib.sh
. "$BENCH_SRC/../bin/lib.sh"

FIXTURES="$SCRIBE_ROOT/test/fixtures"
BENCH_DOCS=${BENCH_DOCS-$SCRIBE_ROOT/docs/benchmarks.md}
BEGIN_MARK='<!-- searchable-pdf-bench:begin -->'
END_MARK='<!-- searchable-pdf-bench:end -->'
SCANS=(scans/letter-clean.png scans/letter-skewed-3deg.png scans/recipe-shadow.png scans/diary-small-text.png
    scans/note-clean.jpg scans/list-two-pages.tif tesseract/phototest.tif)

SERVER_CONF=(
    "shared_preload_libraries = 'pg_scribe'"
    "scribe.max_workers = 0"
)

scribe_bench_begin
for tool in img2pdf ocrmypdf pdftotext; do
    command -v "$tool" >/dev/null || { echo "$tool is missing: apt-get install $tool" >&2; exit 1; }
done

scribe_bench_prepare
OUT="$SCRIBE_WORK/out"
mkdir -p "$OUT"
for scan in "${SCANS[@]}"; do cp "$FIXTURES/$scan" "$OUT/"; done
chmod -R a+rwX "$OUT"
[ "$(id -u)" -ne 0 ] || chown -R "$SCRIBE_TEST_USER" "$OUT"

scribe_step "start the benchmark server"
scribe_cluster_start bench "${SERVER_CONF[@]}" || exit 1
scribe_psql -c "CREATE EXTENSION pg_scribe"
PG_VERSION=$(scribe_psql -c "SELECT version()")
SCRIBE_VERSION=$(scribe_psql -c "SELECT scribe.version()")
GIT_VERSION=$(git -C "$SCRIBE_ROOT" describe --always --dirty 2>/dev/null || echo unknown)
OCRMYPDF_VERSION=$(ocrmypdf --version 2>/dev/null)
scribe_psql >/dev/null <<'EOF'
CREATE SCHEMA bench;
CREATE TABLE bench.pdf (name text PRIMARY KEY, pdf bytea);
CREATE TABLE bench.words (name text PRIMARY KEY, pages jsonb);
-- The searchable PDF of the file at path, kept as name; its seconds, and
-- those of the PDF alone from the words
CREATE FUNCTION bench.pdf(name text, path text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    image bytea := pg_read_binary_file(path);
    pages jsonb := scribe.ocr_detail(image)->'pages';
    pdf   bytea;
    t0    timestamptz := clock_timestamp();
    t1    float8;
BEGIN
    pdf := scribe.ocr_pdf(image);
    t1 := extract(epoch FROM clock_timestamp() - t0);
    t0 := clock_timestamp();
    PERFORM scribe._ocr_make_pdf(image, pages);
    INSERT INTO bench.pdf VALUES (name, pdf);
    INSERT INTO bench.words VALUES (name, pages);
    RETURN format('%s %s', t1, extract(epoch FROM clock_timestamp() - t0));
END
$$;
EOF
# the engine starts on the first call: not in any timing
scribe_psql -c "SELECT length(scribe.ocr_pdf(pg_read_binary_file('$OUT/letter-clean.png')))" >/dev/null

# The words of a text, one a line
words() { tr -s '[:space:]' '\n' | sed '/^$/d'; }
# Seconds since $1 (date +%s.%N)
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'; }
# a / b with 2 decimals
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

declare -A IMG=() IN=() OCRM=() OCRM_S=() OCRM_PDF=() OCRM_PDF_S=() OURS=() OURS_S=() MAKE_S=() SAME=() NWORDS=() OVER=()
TOT_IN=0 TOT_OCRM=0 TOT_OCRM_PDF=0 TOT_OURS=0 TOT_OVER=0
for scan in "${SCANS[@]}"; do
    file=$(basename "$scan")
    scribe_step "$file"
    IMG[$file]=$(stat -c %s "$OUT/$file")
    img2pdf "$OUT/$file" -o "$OUT/$file.in.pdf"
    IN[$file]=$(stat -c %s "$OUT/$file.in.pdf")

    t=$(date +%s.%N)
    env OMP_THREAD_LIMIT=1 ocrmypdf -q --jobs 1 "$OUT/$file.in.pdf" "$OUT/$file.ocrmypdf.pdf"
    OCRM_S[$file]=$(since "$t")
    OCRM[$file]=$(stat -c %s "$OUT/$file.ocrmypdf.pdf")
    t=$(date +%s.%N)
    env OMP_THREAD_LIMIT=1 ocrmypdf -q --jobs 1 --output-type pdf "$OUT/$file.in.pdf" "$OUT/$file.ocrmypdf-pdf.pdf"
    OCRM_PDF_S[$file]=$(since "$t")
    OCRM_PDF[$file]=$(stat -c %s "$OUT/$file.ocrmypdf-pdf.pdf")

    read -r "OURS_S[$file]" "MAKE_S[$file]" <<<"$(scribe_psql -c "SELECT bench.pdf('$file', '$OUT/$file')")"
    scribe_psql -c "SELECT encode(pdf, 'base64') FROM bench.pdf WHERE name = '$file'" | base64 -d >"$OUT/$file.scribe.pdf"
    OURS[$file]=$(stat -c %s "$OUT/$file.scribe.pdf")
    scribe_psql -c "SELECT encode(scribe._ocr_make_pdf(pg_read_binary_file('$OUT/$file.in.pdf'), pages), 'base64')
                    FROM bench.words WHERE name = '$file'" | base64 -d >"$OUT/$file.scribe-of-pdf.pdf"
    OVER[$file]=$(stat -c %s "$OUT/$file.scribe-of-pdf.pdf")

    scribe_psql -c "SELECT scribe.ocr(pg_read_binary_file('$OUT/$file'))" | words >"$OUT/$file.ocr.words"
    pdftotext "$OUT/$file.scribe.pdf" - | words >"$OUT/$file.scribe.words"
    SAME[$file]=$(cmp -s "$OUT/$file.ocr.words" "$OUT/$file.scribe.words" && echo yes || echo no)
    NWORDS[$file]=$(wc -l <"$OUT/$file.ocr.words")
    TOT_IN=$((TOT_IN + IN[$file])) TOT_OCRM=$((TOT_OCRM + OCRM[$file]))
    TOT_OCRM_PDF=$((TOT_OCRM_PDF + OCRM_PDF[$file])) TOT_OURS=$((TOT_OURS + OURS[$file])) TOT_OVER=$((TOT_OVER + OVER[$file]))
    scribe_note "image ${IMG[$file]}, img2pdf ${IN[$file]}, OCRmyPDF ${OCRM[$file]} (${OCRM_S[$file]} s)," \
        "OCRmyPDF --output-type pdf ${OCRM_PDF[$file]} (${OCRM_PDF_S[$file]} s), pg_scribe ${OURS[$file]}, of the PDF ${OVER[$file]}" \
        "($(printf '%.2f' "${OURS_S[$file]}") s; the PDF alone $(printf '%.3f' "${MAKE_S[$file]}") s), words as OCR: ${SAME[$file]}"
done

TOTAL_S=$((SECONDS - BENCH_START))
TABLE="| scan | image | img2pdf PDF (OCRmyPDF's input) | OCRmyPDF (PDF/A) | s | OCRmyPDF \`--output-type pdf\` | s | pg_scribe \`ocr_pdf\` | s | the PDF alone, s | pg_scribe of the img2pdf PDF | pg_scribe / OCRmyPDF \`pdf\` | pdftotext = OCR words |
|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for scan in "${SCANS[@]}"; do
    file=$(basename "$scan")
    TABLE+=$'\n'"| $file | ${IMG[$file]} | ${IN[$file]} | ${OCRM[$file]} | ${OCRM_S[$file]} | ${OCRM_PDF[$file]} | ${OCRM_PDF_S[$file]} | ${OURS[$file]} | $(printf '%.2f' "${OURS_S[$file]}") | $(printf '%.3f' "${MAKE_S[$file]}") | ${OVER[$file]} | $(ratio "${OURS[$file]}" "${OCRM_PDF[$file]}") | ${SAME[$file]} (${NWORDS[$file]}) |"
done
TABLE+=$'\n'"| **all** | | $TOT_IN | $TOT_OCRM | | $TOT_OCRM_PDF | | $TOT_OURS | | | $TOT_OVER | **$(ratio "$TOT_OURS" "$TOT_OCRM_PDF")** | |"

scribe_step "results ($(date -u '+%Y-%m-%d %H:%M UTC'), $((TOTAL_S / 60)) min $((TOTAL_S % 60)) s)"
echo
echo "$TABLE"

if [ -n "$BENCH_DOCS" ]; then
    SECTION="$SCRIBE_WORK/section.md"
    cat >"$SECTION" <<EOF
$BEGIN_MARK
## Searchable PDFs (issue 16)

Reproduce with \`make bench-searchable-pdf\` (runs \`test/bench/searchable_pdf.sh\`, about $((TOTAL_S / 60 + 1)) min).

$(scribe_bench_facts)
- Software: $PG_VERSION; pg_scribe $SCRIBE_VERSION (git $GIT_VERSION); $OCRMYPDF_VERSION (Debian's OCRmyPDF), img2pdf, poppler-utils.
- Scans: \`test/fixtures/scans\` (8-bit gray PNGs, a gray JPEG, a 2-page 1-bit G4 TIFF) and tesseract's
  \`phototest.tif\` (1-bit, uncompressed).
- OCRmyPDF gets \`img2pdf\`'s PDF of the scan (the image embedded as it is) and runs with \`--jobs 1\`
  and \`OMP_THREAD_LIMIT=1\`: its defaults (PDF/A output through Ghostscript, \`--optimize 1\`), and
  \`--output-type pdf\`; wall time of the command. pg_scribe: \`scribe.ocr_pdf(image)\` (defaults:
  preprocessing and orientation detection on), timed server-side by \`clock_timestamp()\` in a
  session whose engine was up; "the PDF alone" is the same PDF from the words already found
  (\`scribe._ocr_make_pdf\`, what \`scribe.document_get_pdf\` costs).
- "pg_scribe of the img2pdf PDF": the text layer added to OCRmyPDF's input PDF, its pages kept
  (\`scribe._ocr_make_pdf(pdf, pages)\`, what a document submitted as a PDF gets), from the same words.
- OCRmyPDF's default PDF/A output goes through Ghostscript, which re-encodes gray and colour images
  as JPEG when that is smaller (lossy: the shadowed recipe's lossless 107 KB image became a 56 KB
  JPEG); \`--output-type pdf\` keeps the images as they are, as pg_scribe does, and is the
  like-for-like comparison.
- Bytes are the files' sizes. "pdftotext = OCR words": whether \`pdftotext\` of pg_scribe's PDF gives
  exactly the words of \`scribe.ocr()\` of the scan, in order (their number in brackets).

$TABLE
$END_MARK
EOF
    scribe_docs_section "$BENCH_DOCS" "$SECTION" "$BEGIN_MARK" "$END_MARK"
    echo
    echo "written to $BENCH_DOCS"
fi
