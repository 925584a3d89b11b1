# The verdict on a page and a document (needs_review and its reasons) and
# the automatic layout: a clean page passes, a page read upside down
# (orientation detection off) is flagged for its garbage words, a blank page
# is not flagged, explicit page segmentation modes are honoured, and the
# pipeline's documents carry the verdict through document_get.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";
use Compress::Zlib;
use PostgreSQL::Test::Utils;
use ScribeTest;
use Test::More;

my $fixtures = "$ENV{SCRIBE_SOURCE_DIR}/test/fixtures";
my $tess = "$fixtures/tesseract";

# The pipeline's worker reads pages as they are: the upside-down page stays upside down
my $node = scribe_node('verdict', conf => <<"CONF");
scribe.min_workers = 1
scribe.max_workers = 1
scribe.heartbeat_interval = 0
scribe.ocr_detect_orientation = off
CONF
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_scribe');

# A white 8-bit grayscale PNG of $w x $h pixels
sub blank_png
{
	my ($w, $h) = @_;
	my $chunk = sub {
		my ($type, $data) = @_;
		return pack('N', length $data) . $type . $data . pack('N', crc32($type . $data));
	};
	my $rows = ("\0" . ("\xff" x $w)) x $h;
	return "\x89PNG\r\n\x1a\n"
	  . $chunk->('IHDR', pack('NNCCCCC', $w, $h, 8, 0, 0, 0, 0))
	  . $chunk->('IDAT', compress($rows))
	  . $chunk->('IEND', '');
}
my $blank = PostgreSQL::Test::Utils::tempdir() . '/blank.png';
{
	open my $fh, '>:raw', $blank or die "$blank: $!";
	print $fh blank_png(800, 600);
	close $fh;
	chmod 0644, $blank;
}

# The verdict of the first page of a file: needs_review, reasons (comma-separated), layout
sub verdict
{
	my ($file, $options) = @_;
	$options = $options ? ", $options" : '';
	return split /\|/, $node->safe_psql('postgres', qq{
		SELECT p->>'needs_review', (SELECT coalesce(string_agg(r, ','), '') FROM jsonb_array_elements_text(p->'review_reasons') r),
		       p->>'layout'
		FROM scribe.ocr_detail(pg_read_binary_file('$file')$options) d, jsonb_array_elements(d->'pages') p
		WHERE (p->>'page')::int = 1});
}

# --- pages
my ($review, $reasons, $layout) = verdict("$tess/phototest.tif");
is("$review [$reasons]", 'false []', 'a clean page passes');
is($layout, 'psm 3', 'running text is read as a page of text (psm 3) by the automatic layout');
is($node->safe_psql('postgres', "SELECT scribe.ocr_detail(pg_read_binary_file('$tess/phototest.tif'))->>'psm'"),
	'', 'the default psm is NULL: automatic');

($review, $reasons) = verdict("$tess/phototest-rotated-180.png");
is($review, 'true', 'a page read upside down (orientation detection off) needs review');
like($reasons, qr/(^|,)garbage_words(,|$)/, "for its garbage words ($reasons)");
like($reasons, qr/(^|,)low_confidence(,|$)/, 'and its low confidence');

($review, $reasons) = verdict($blank);
is("$review [$reasons]", 'false []', 'a blank page has nothing to check: it passes');
is($node->safe_psql('postgres', "SELECT scribe.ocr(pg_read_binary_file('$blank'))"), '', 'and has no text');

(undef, undef, $layout) = verdict("$tess/phototest.tif", 'psm => 11');
is($layout, 'psm 11', 'an explicit psm is honoured (11)');
(undef, undef, $layout) = verdict("$tess/phototest.tif", 'psm => 6');
is($layout, 'psm 6', 'an explicit psm is honoured (6)');
is($node->safe_psql('postgres', "SELECT scribe.ocr_detail(pg_read_binary_file('$tess/phototest.tif'), psm => 6)->>'psm'"),
	'6', 'and reported');
{
	my ($ret, $out, $err) = $node->psql('postgres', "SELECT scribe.ocr(pg_read_binary_file('$tess/phototest.tif'), psm => 0)");
	like($err, qr/page segmentation mode 0 does not recognise text/, 'psm 0 is refused');
}

# every function takes the automatic default, and NULL anywhere else is NULL
is($node->safe_psql('postgres', qq{
	SELECT scribe.ocr(pg_read_binary_file('$tess/phototest.tif')) LIKE '%quick brown dog%',
	       (SELECT count(*) > 50 FROM scribe.ocr_words(pg_read_binary_file('$tess/phototest.tif'))),
	       scribe.ocr_hocr(pg_read_binary_file('$tess/phototest.tif')) LIKE '%ocrx_word%',
	       scribe.ocr_tsv(pg_read_binary_file('$tess/phototest.tif')) LIKE '%quick%',
	       scribe.ocr(NULL) IS NULL, scribe.ocr_detail(NULL) IS NULL,
	       scribe.ocr(pg_read_binary_file('$tess/phototest.tif'), lang => NULL) IS NULL,
	       (SELECT count(*) FROM scribe.ocr_words(NULL)) = 0}),
	't|t|t|t|t|t|t|t', 'ocr, ocr_words, ocr_hocr and ocr_tsv read with the automatic layout; a NULL image or language gives NULL');

# --- documents: the verdict through document_get
my ($clean, $upside) = split /\n/, $node->safe_psql('postgres', qq{
	SELECT scribe.document_submit(pg_read_binary_file('$tess/phototest.tif'), owner => 'verdict');
	SELECT scribe.document_submit(pg_read_binary_file('$tess/phototest-rotated-180.png'), owner => 'verdict');});
ok(wait_for_count($node, qq{
	SELECT count(*) FROM scribe.documents WHERE document_id IN ($clean, $upside) AND status NOT IN ('done', 'failed')}),
	'the documents are recognised');
is($node->safe_psql('postgres', "SELECT status, needs_review, review_reasons FROM scribe.document_get($clean)"),
	'done|f|{}', 'document_get: the clean document needs no review');
my ($status, $needs, $doc_reasons) = split /\|/,
  $node->safe_psql('postgres', "SELECT status, needs_review, review_reasons FROM scribe.document_get($upside)");
is("$status $needs", 'done t', 'document_get: the upside-down document needs review');
like($doc_reasons, qr/garbage_words/, "with the garbage reason ($doc_reasons)");
is($node->safe_psql('postgres', qq{
	SELECT needs_review, 'garbage_words' = ANY (review_reasons) FROM scribe.document_pages WHERE document_id = $upside}),
	't|t', 'and so does its page');

$node->stop;
done_testing();
