# PDFs in: image-only pages are rendered and recognised in order; a page
# that carries a text layer keeps it without OCR unless force_ocr (proved by
# a fixture whose invisible text says something else than its pixels);
# mixed PDFs page by page; the pipeline makes one document of N pages and
# bills only the recognised ones; encrypted and broken PDFs fail at submit
# with their SQLSTATE; the page, pixel and CPU limits hold; image_info
# reads a PDF through the engine.  Fixtures: test/fixtures/pdf (README).
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Utils;
use ScribeTest;
use MIME::Base64;
use Test::More;

my $pdf = "$ENV{SCRIBE_SOURCE_DIR}/test/fixtures/pdf";

my $node = scribe_node('pdf', conf => <<"CONF");
scribe.min_workers = 1
scribe.max_workers = 1
scribe.heartbeat_interval = 0
CONF
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION pg_scribe;
	SELECT scribe.queue_alter('ocr', backoff_base => '0', backoff_cap => '0');
	-- SQLSTATE, message and hint of a statement's error, or 'ok'
	CREATE FUNCTION outcome(statement text) RETURNS text
	LANGUAGE plpgsql AS $$
	DECLARE
	    state text; message text; hint text;
	BEGIN
	    EXECUTE statement;
	    RETURN 'ok';
	EXCEPTION WHEN OTHERS THEN
	    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT;
	    RETURN state || ' ' || message || coalesce(' | ' || nullif(hint, ''), '');
	END $$;
});

sub sql { return $node->safe_psql('postgres', $_[0]); }
sub file { return "pg_read_binary_file('$pdf/$_[0]')"; }
sub outcome
{
	my ($statement, @settings) = @_;
	my $set = join '', map { "SET $_;\n" } @settings;
	$statement =~ s/'/''/g;
	return sql("${set}SELECT outcome('$statement')");
}

# --- image-only: both pages, in order, each at its scan's 200 dpi ---
my $text = sql('SELECT scribe.ocr(' . file('image-only-2pages.pdf') . ')');
like($text, qr/Dear Margaret.*\f.*Gone to the market/s, 'an image-only PDF: both pages\' text, in order');
is(sql(q{SELECT string_agg(format('%s:%sx%s@%s:%s', p->>'page', p->>'width', p->>'height', p->>'dpi',
		coalesce(p->>'text_source', 'ocr')), ' ' ORDER BY (p->>'page')::int)
	FROM jsonb_array_elements(scribe.ocr_detail(} . file('image-only-2pages.pdf') . q{)->'pages') p}),
	'1:1532x807@200:ocr 2:1517x488@200:ocr',
	'each page rendered at its image\'s own resolution (the scans\' pixel sizes)');

# --- a text layer: kept, not recognised; force_ocr recognises it ---
# the page's pixels are the note ("Gone to the market"); its invisible text says otherwise
$text = sql('SELECT scribe.ocr(' . file('text-layer.pdf') . ')');
like($text, qr/zebra quartz.*lantern harbour violin/s, 'a page with a text layer keeps its text');
unlike($text, qr/market/, '... and is not recognised');
is(sql(q{SELECT concat_ws(' ', p->>'text_source', coalesce(p->>'confidence', 'null'), p->>'dpi', p->>'width', p->>'height',
		jsonb_array_length(p->'words'), p->'words'->0->>'text')
	FROM scribe.ocr_detail(} . file('text-layer.pdf') . q{) r, jsonb_array_elements(r->'pages') p}),
	'text_layer null 200 1517 488 11 Invisible', 'ocr_detail: text_source, no confidence, the page\'s size, its words');
is(sql(q{SELECT bool_and("left" >= 0 AND top >= 0 AND "left" + width <= 1517 AND top + height <= 488 AND height BETWEEN 20 AND 40)
		AND bool_and(confidence IS NULL) AND count(*) = 11
	FROM scribe.ocr_words(} . file('text-layer.pdf') . q{)}), 't',
	'ocr_words: the text layer\'s words, boxes on the page as rendered (12 pt at 200 dpi: 33 px), no confidence');
like(sql('SELECT scribe.ocr_hocr(' . file('text-layer.pdf') . ')'),
	qr/<div class='ocr_page' id='page_1' title='image ""; bbox 0 0 1517 488.*class='ocrx_word' id='word_1_7' title='bbox \d+ \d+ \d+ \d+'>zebra</s,
	'ocr_hocr of a text-layer page: its words with boxes');
like(sql('SELECT scribe.ocr_tsv(' . file('text-layer.pdf') . ')'), qr/^5\t1\t1\t1\t1\t7\t\d+\t\d+\t\d+\t\d+\t-1\tzebra$/m,
	'ocr_tsv of a text-layer page: word rows, confidence -1');
$text = sql('SELECT scribe.ocr(' . file('text-layer.pdf') . ', force_ocr => true)');
like($text, qr/Gone to the market/, 'force_ocr: the page is recognised');
unlike($text, qr/zebra/, '... and its text layer ignored');

# --- mixed: page by page; /Rotate honoured ---
is(sql(q{SELECT string_agg(format('%s:%s:%s', p->>'page', coalesce(p->>'text_source', 'ocr'),
		CASE WHEN p->>'text' LIKE '%market%' THEN 'note' WHEN p->>'text' LIKE 'Minutes of the parish council%' THEN 'minutes' END),
		' ' ORDER BY (p->>'page')::int)
	FROM jsonb_array_elements(scribe.ocr_detail(} . file('mixed.pdf') . q{)->'pages') p}),
	'1:ocr:note 2:text_layer:minutes', 'a mixed PDF: the scan recognised, the text page kept');
is(sql(q{SELECT format('%sx%s@%s', p->>'width', p->>'height', p->>'dpi')
	FROM jsonb_array_elements(scribe.ocr_detail(} . file('rotated.pdf') . q{)->'pages') p}),
	'3300x2550@300', 'a letter page with /Rotate 90 is reported landscape, at 300 dpi');

# --- image_info reads a PDF through the engine ---
is(sql(q{SELECT concat_ws(' ', format, width, height, pages, coalesce(bits_per_pixel::text, 'null'), dpi, pages_with_text)
	FROM scribe.image_info(} . file('mixed.pdf') . q{)}), 'pdf 1517 488 2 null 200 {2}',
	'image_info of a PDF: page 1 as rendered, the pages, which carry text');
is(sql(q{SELECT concat_ws(' ', format, pages, pages_with_text) FROM scribe.image_info(} . file('owner-password.pdf') . q{)}),
	'pdf 2 {2}', 'a PDF encrypted with an owner password only opens');
is(sql(q{SELECT pages_with_text IS NULL FROM scribe.image_info(pg_read_binary_file('}
		. "$ENV{SCRIBE_SOURCE_DIR}/test/fixtures/scans/letter-clean.png" . q{'))}), 't',
	'an image has no pages_with_text');

# --- encrypted and broken ---
my $encrypted = '0A000 the PDF is encrypted with a password | Remove the password (for example: qpdf --decrypt --password=... in.pdf out.pdf) and submit the PDF again.';
is(outcome('SELECT scribe.ocr(' . file('encrypted.pdf') . ')'), $encrypted, 'ocr of an encrypted PDF');
is(outcome('SELECT scribe.image_info(' . file('encrypted.pdf') . ')'), $encrypted, 'image_info of an encrypted PDF');
my $hint = 'The file may be truncated or corrupt; check that it opens in a PDF viewer, or upload it again.';
is(outcome('SELECT scribe.ocr(' . file('truncated.pdf') . ')'), "22P03 the PDF could not be read: it has no pages | $hint",
	'ocr of a truncated PDF');
is(outcome('SELECT scribe.ocr(' . file('garbage.pdf') . ')'), "22P03 the PDF could not be read: PDF document is damaged | $hint",
	'ocr of a PDF with a broken body');
is(outcome('SELECT scribe.image_recompress(' . file('mixed.pdf') . ')'),
	'0A000 PDF files cannot be recompressed | An archive policy keeps a PDF document as it is; recompress images only.',
	'a PDF is not recompressed');

# --- limits: pages, pixels, CPU ---
is(outcome('SELECT scribe.ocr(' . file('mixed.pdf') . ')', 'scribe.max_image_pages = 1'),
	'54000 the PDF has 2 pages, more than scribe.max_image_pages (1) | Split the document, or ask a superuser to raise scribe.max_image_pages.',
	'scribe.max_image_pages holds for PDFs');
is(outcome('SELECT scribe.image_info(' . file('mixed.pdf') . ')', 'scribe.max_image_pages = 1'),
	'54000 the PDF has 2 pages, more than scribe.max_image_pages (1) | Split the document, or ask a superuser to raise scribe.max_image_pages.',
	'... and for image_info');
is(sql(q{SET scribe.max_image_pixels = 1000000;
	SELECT format('%s %s', (p->>'dpi')::int < 300, (p->>'width')::bigint * (p->>'height')::int <= 1000000)
	FROM jsonb_array_elements(scribe.ocr_detail(} . file('rotated.pdf') . q{)->'pages') p}), 't t',
	'a page over scribe.max_image_pixels at 300 dpi is rendered at a lower resolution that fits');
is(outcome('SELECT scribe.ocr(' . file('rotated.pdf') . ')', 'scribe.max_image_pixels = 100000'),
	'54000 page 1 of the PDF is 792 x 612 pixels even at 72 dpi, more than scribe.max_image_pixels (100000) allows | Ask a superuser to raise scribe.max_image_pixels, or split the page.',
	'... and refused when it would not fit even at 72 dpi');
is(outcome('SELECT scribe.ocr(' . file('huge-page.pdf') . ')'),
	'54000 page 1 of the PDF is 14400 x 14400 pixels even at 72 dpi, more than scribe.max_image_pixels (100000000) allows | Ask a superuser to raise scribe.max_image_pixels, or split the page.',
	'a 200-inch page is refused');
like(outcome('SELECT scribe.ocr(' . file('costly.pdf') . ')', 'scribe.ocr_cpu_limit = 1'),
	qr/^38000 the OCR engine \(pid \d+\) was terminated by signal 24: CPU time limit exceeded \| The image used more CPU time than scribe.ocr_cpu_limit allows\.$/,
	'a page that costs a billion drawing operations is stopped by scribe.ocr_cpu_limit');

# --- the pipeline: one document of N pages, billed for the recognised ones ---
my ($mixed, $forced) = split /\n/, sql(q{
	SELECT scribe.document_submit(} . file('mixed.pdf') . q{, owner => 'pdf');
	SELECT scribe.document_submit(} . file('mixed.pdf') . q{, owner => 'pdf', force_ocr => true);});
is(sql(qq{SELECT string_agg(format('%s %s %s', image_format, pages, force_ocr), ', ' ORDER BY document_id)
	FROM scribe.documents WHERE document_id IN ($mixed, $forced)}), 'pdf 2 f, pdf 2 t',
	'document_submit of a PDF: its pages known at submit, force_ocr stored');
ok($node->poll_query_until('postgres', qq{SELECT count(*) = 2 FROM scribe.documents
	WHERE document_id IN ($mixed, $forced) AND status <> 'queued'}), 'the PDF documents are recognised');
is(sql(qq{SELECT concat_ws(' ', status, pages, error) FROM scribe.document_get($mixed)}), 'done 2', 'a done document of 2 pages');
is(sql(qq{SELECT string_agg(format('%s:%s:%s', page, text_source, confidence IS NULL), ' ' ORDER BY page)
	FROM scribe.document_pages WHERE document_id = $mixed}), '1:ocr:f 2:text_layer:t',
	'its pages: text_source per page');
is(sql(qq{SELECT string_agg(page::text, ',' ORDER BY page) FROM scribe.ocr_ledger WHERE document_id = $mixed}), '1',
	'the ledger bills the recognised page only');
is(sql(qq{SELECT string_agg(format('%s:%s', page, text_source), ' ' ORDER BY page)
	FROM scribe.document_pages WHERE document_id = $forced}), '1:ocr 2:ocr', 'force_ocr: every page recognised');
is(sql(qq{SELECT count(*) FROM scribe.ocr_ledger WHERE document_id = $forced}), '2', '... and billed');
like(sql(qq{SELECT text FROM scribe.documents WHERE document_id = $mixed}), qr/market.*\f.*parish council/s,
	'the document\'s text: both pages');

# the searchable PDF of a PDF document: its pages kept, the recognised page
# gets the text layer, the page with its own text keeps it, not doubled
sub pdf_text_of
{
	my ($query, $page) = @_;
	my $path = PostgreSQL::Test::Utils::tempdir() . '/out.pdf';
	open my $fh, '>:raw', $path or die "$path: $!";
	print $fh MIME::Base64::decode_base64(sql("SELECT encode(($query), 'base64')"));
	close $fh;
	my $text = `pdftotext -f $page -l $page $path - 2>&1`;
	die "pdftotext: $text" if $?;
	return $text =~ s/\s+/ /gr =~ s/^ | $//gr;
}
my $own_text = pdf_text_of(file('mixed.pdf'), 2);
like($own_text, qr/parish council/, "page 2 of mixed.pdf carries its own text: $own_text");
for my $how ("scribe.document_get_pdf($mixed)", 'scribe.ocr_pdf(' . file('mixed.pdf') . ')')
{
	like(pdf_text_of($how, 1), qr/market/, "$how: page 1, recognised, is searchable");
	is(pdf_text_of($how, 2), $own_text, "$how: page 2 keeps its own text, once");
}

# encrypted and broken PDFs fail at submit: no document, no job, no dead letter
is(outcome('SELECT scribe.document_submit(' . file('encrypted.pdf') . ')'), $encrypted, 'document_submit of an encrypted PDF');
is(outcome('SELECT scribe.document_submit(' . file('truncated.pdf') . ')'), "22P03 the PDF could not be read: it has no pages | $hint",
	'document_submit of a truncated PDF');
is(sql(q{SELECT count(*) FROM scribe.documents}), '2', 'no document was stored for them');

$node->stop;
done_testing();
