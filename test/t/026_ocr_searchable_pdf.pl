# Searchable PDFs: scribe.ocr_pdf() and scribe.document_get_pdf() give a
# PDF whose pdftotext is the recognised text, whose pages are as large as
# the images at their resolution, whose words lie where OCR found them
# (pdftotext -bbox, what a viewer highlights), with a JPEG embedded as
# submitted and a 1-bit page as CCITT G4; and clear errors for documents
# that have no text yet.
use strict;
use warnings;

use File::Temp qw(tempdir);
use FindBin;
use lib "$FindBin::Bin/../perl";
use MIME::Base64;
use PostgreSQL::Test::Utils;
use ScribeTest;
use Test::More;

my $fixtures = "$ENV{SCRIBE_SOURCE_DIR}/test/fixtures";
my $dir = tempdir(CLEANUP => 1);

my $node = scribe_node('searchable_pdf', conf => <<"CONF");
scribe.min_workers = 1
scribe.max_workers = 1
scribe.heartbeat_interval = 0
CONF
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_scribe');

# Write the bytea of a query to a file; its path
my $n_files = 0;
sub query_to_file
{
	my ($query) = @_;
	my $path = sprintf('%s/out-%d.pdf', $dir, ++$n_files);
	my $b64 = $node->safe_psql('postgres', "SELECT encode(($query), 'base64')");
	open my $fh, '>:raw', $path or die "$path: $!";
	print $fh decode_base64($b64);
	close $fh;
	return $path;
}

# The output of a command, or die
sub run_tool
{
	my @command = @_;
	my $out = `@command 2>&1`;
	die "@command: $out" if $?;
	return $out;
}

# The words of a text, in order
sub words_of
{
	my ($text) = @_;
	return [ grep { length } split /\s+/, $text ];
}

# The words of the PDF with their boxes in pixels of a page at $dpi: [word, left, top, right, bottom] of page $page
sub pdf_word_boxes
{
	my ($pdf, $page, $dpi) = @_;
	my $html = run_tool('pdftotext', '-bbox', '-f', $page, '-l', $page, $pdf, '-');
	my @boxes;
	while ($html =~ /<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)<\/word>/g)
	{
		my ($w, @box) = ($5, $1, $2, $3, $4);
		$w =~ s/&amp;/&/g; $w =~ s/&lt;/</g; $w =~ s/&gt;/>/g; $w =~ s/&quot;/"/g; $w =~ s/&apos;/'/g;
		push @boxes, [ $w, map { $_ * $dpi / 72 } @box ];
	}
	return \@boxes;
}

# OCR's word boxes of page $page of a file: [word, left, top, right, bottom]
sub ocr_word_boxes
{
	my ($file, $page) = @_;
	return [ map { [ split /\|/ ] } split /\n/, $node->safe_psql('postgres', qq{
		SELECT word, "left", top, "left" + width, top + height
		FROM scribe.ocr_words(pg_read_binary_file('$file')) WHERE page = $page}) ];
}

# A box [word, left, top, right, bottom] on a width x height page, as on the
# page turned $rotation degrees clockwise (pdftotext's boxes are on the page as shown)
sub turn_box
{
	my ($box, $rotation, $width, $height) = @_;
	my ($w, $l, $t, $r, $b) = @$box;
	return [ $w, $height - $b, $l, $height - $t, $r ] if $rotation == 90;
	return [ $w, $width - $r, $height - $b, $width - $l, $height - $t ] if $rotation == 180;
	return [ $w, $t, $width - $r, $b, $width - $l ] if $rotation == 270;
	return $box;
}

# Whether every OCR word has its PDF word, in order, within $tolerance pixels
# left and right and with the OCR box's middle inside it top to bottom
sub boxes_match
{
	my ($ocr, $pdf, $tolerance, $what) = @_;
	my @pdf = @$pdf;
	is(scalar(@pdf), scalar(@$ocr), "$what: as many words in the PDF as OCR found");
	my $worst = 0;
	my @misplaced;
	for my $i (0 .. $#$ocr)
	{
		my ($w, $l, $t, $r, $b) = @{ $ocr->[$i] };
		my $p = $pdf[$i] or last;
		my $dx = abs($p->[1] - $l) > abs($p->[3] - $r) ? abs($p->[1] - $l) : abs($p->[3] - $r);
		$worst = $dx if $dx > $worst;
		my $middle = ($t + $b) / 2;
		push @misplaced, "$w [$l $t $r $b] vs $p->[0] [@$p[1..4]]"
		  if $p->[0] ne $w || $dx > $tolerance || $middle < $p->[2] - 1 || $middle > $p->[4] + 1;
	}
	is(join("\n", @misplaced), '', "$what: every word is where OCR found it (worst left/right: ${\ sprintf('%.1f', $worst)} px)");
}

# Page size (points) and count from pdfinfo
sub pdf_info
{
	my ($pdf) = @_;
	my $info = run_tool('pdfinfo', $pdf);
	my ($pages) = $info =~ /^Pages:\s+(\d+)/m;
	my ($w, $h) = $info =~ /^Page size:\s+([\d.]+) x ([\d.]+) pts/m;
	my ($rot) = $info =~ /^Page rot:\s+(\d+)/m;
	return ($pages, $w, $h, $rot);
}

# --- scribe.ocr_pdf on the sample scans
for my $case (
	# pdfimages names Flate "image"
	[ 'scans/letter-clean.png', 'image' ],
	[ 'scans/note-clean.jpg', 'jpeg' ],
	[ 'tesseract/phototest.tif', 'ccitt' ],
	[ 'scans/list-two-pages.tif', 'ccitt' ])
{
	my ($name, $encoding) = @$case;
	my $file = "$fixtures/$name";
	my $pdf = query_to_file("SELECT scribe.ocr_pdf(pg_read_binary_file('$file'))");
	my ($width, $height, $n, $dpi) = split /\|/, $node->safe_psql('postgres', qq{
		SELECT width, height, pages, coalesce(dpi, 300) FROM scribe.image_info(pg_read_binary_file('$file'))});
	$dpi = 300 if $dpi < 70 || $dpi > 2400;

	my ($pages, $w, $h) = pdf_info($pdf);
	is($pages, $n, "$name: the PDF has the image's $n page(s)");
	is(sprintf('%.1f x %.1f', $w, $h), sprintf('%.1f x %.1f', $width / $dpi * 72, $height / $dpi * 72),
		"$name: the page is the image's size at its resolution ($dpi dpi)");

	my @ocr_text = split /\f/, $node->safe_psql('postgres', "SELECT scribe.ocr(pg_read_binary_file('$file'))");
	for my $page (1 .. $n)
	{
		my $text = run_tool('pdftotext', '-layout', '-f', $page, '-l', $page, $pdf, '-');
		is_deeply(words_of($text), words_of($ocr_text[ $page - 1 ]), "$name page $page: pdftotext gives the recognised words");
		boxes_match(ocr_word_boxes($file, $page), pdf_word_boxes($pdf, $page, $dpi), 2, "$name page $page");
	}
	my $list = run_tool('pdfimages', '-list', $pdf);
	my @encodings = $list =~ /^\s*\d+\s+\d+\s+image\s+\d+\s+\d+\s+\S+\s+\d+\s+\d+\s+(\S+)/mg;
	is("@encodings", join(' ', ($encoding) x $n), "$name: each page's image is stored as $encoding");
}

# --- a JPEG's bytes are embedded untouched
{
	my $file = "$fixtures/scans/note-clean.jpg";
	my $pdf = query_to_file("SELECT scribe.ocr_pdf(pg_read_binary_file('$file'))");
	run_tool('pdfimages', '-j', $pdf, "$dir/jpeg");
	is(run_tool('md5sum', '<', "$dir/jpeg-000.jpg"), run_tool('md5sum', '<', $file),
		'a JPEG is embedded byte for byte as submitted');
}

# --- a page OCR turned upright is shown upright (/Rotate), its words where OCR found them
for my $name ('tesseract/phototest-rotated-R.png', 'tesseract/phototest-rotated-180.png', 'orientation/exif-6.jpg')
{
	my $file = "$fixtures/$name";
	my $pdf = query_to_file("SELECT scribe.ocr_pdf(pg_read_binary_file('$file'))");
	my ($rotation, $width, $height, $dpi) = split /\|/, $node->safe_psql('postgres', qq{
		SELECT d->'pages'->0->>'rotation', d->'pages'->0->>'width', d->'pages'->0->>'height',
		       coalesce(nullif(d->'pages'->0->>'dpi', '0')::int, 300)
		FROM scribe.ocr_detail(pg_read_binary_file('$file')) d});
	my ($pages, $w, $h, $rot) = pdf_info($pdf);
	is($rot, $rotation, "$name: the PDF shows the page turned as OCR turned it ($rotation degrees)");
	is(sprintf('%.1f x %.1f', $w, $h), sprintf('%.1f x %.1f', $width / $dpi * 72, $height / $dpi * 72),
		"$name: the page is the size of the image as shown (EXIF orientation applied)");
	is_deeply(words_of(run_tool('pdftotext', $pdf, '-')),
		words_of($node->safe_psql('postgres', "SELECT scribe.ocr(pg_read_binary_file('$file'))")),
		"$name: pdftotext reads the turned page's words in order");
	boxes_match([ map { turn_box($_, $rotation, $width, $height) } @{ ocr_word_boxes($file, 1) } ],
		pdf_word_boxes($pdf, 1, $dpi), 2, $name);
}
{
	my $file = "$fixtures/orientation/exif-6.jpg";
	my $pdf = query_to_file("SELECT scribe.ocr_pdf(pg_read_binary_file('$file'))");
	run_tool('pdfimages', '-j', $pdf, "$dir/exif");
	is(run_tool('md5sum', '<', "$dir/exif-000.jpg"), run_tool('md5sum', '<', $file),
		'a JPEG with an EXIF orientation is embedded as submitted too (the page turns it)');
}

# --- a PDF keeps its pages: the text layer is added over them
{
	my $tif = "$fixtures/scans/list-two-pages.tif";
	my $in = "$dir/list-in.pdf";
	run_tool('img2pdf', $tif, '-o', $in);
	chmod 0644, $in;
	chmod 0755, $dir;
	my $pdf = query_to_file(qq{SELECT scribe._ocr_make_pdf(pg_read_binary_file('$in'),
		scribe.ocr_detail(pg_read_binary_file('$tif'))->'pages')});
	my ($pages, $w, $h) = pdf_info($pdf);
	my ($in_pages, $in_w, $in_h) = pdf_info($in);
	is("$pages: $w x $h", "$in_pages: $in_w x $in_h", 'a PDF: the same pages, the same size');
	my $list = run_tool('pdfimages', '-list', $pdf);
	my $in_list = run_tool('pdfimages', '-list', $in);
	my @sizes = map { [ (split ' ', $_)[ 3, 4, 8, 13 ] ] } grep { /^\s+\d+\s+\d+\s+image/ } split /\n/, $list;
	my @in_sizes = map { [ (split ' ', $_)[ 3, 4, 8, 13 ] ] } grep { /^\s+\d+\s+\d+\s+image/ } split /\n/, $in_list;
	is_deeply(\@sizes, \@in_sizes, 'a PDF: its images are kept as they were (size, encoding, bytes)');
	my @ocr_text = split /\f/, $node->safe_psql('postgres', "SELECT scribe.ocr(pg_read_binary_file('$tif'))");
	for my $page (1 .. 2)
	{
		is_deeply(words_of(run_tool('pdftotext', '-f', $page, '-l', $page, $pdf, '-')), words_of($ocr_text[ $page - 1 ]),
			"a PDF page $page: pdftotext gives the recognised words");
		boxes_match(ocr_word_boxes($tif, $page), pdf_word_boxes($pdf, $page, 200), 2, "a PDF page $page");
	}
	my $rotated = "$dir/list-rotated.pdf";
	run_tool('qpdf', '--rotate=+90:1', $in, $rotated);
	chmod 0644, $rotated;
	$pdf = query_to_file(qq{SELECT scribe._ocr_make_pdf(pg_read_binary_file('$rotated'),
		'[{"page": 1, "width": 726, "height": 1506, "rotation": 0,
		   "words": [{"text": "Household", "line": 1, "left": 100, "top": 200, "width": 160, "height": 30}]}]')});
	my $bbox = pdf_word_boxes($pdf, 1, 200);
	is(scalar(@$bbox), 1, 'a PDF page shown turned (/Rotate 90): one word');
	is(join(' ', map { sprintf '%.0f', $_ } @{ $bbox->[0] }[ 1 .. 4 ]), '100 200 260 230',
		'... placed where it is on the page as shown');
}

# --- words of a page recognised at one size on a copy at another (an archive
# policy's 1-bit copy of small text has twice the pixels): scaled onto it
{
	my $file = "$fixtures/scans/diary-small-text.png";
	my ($width, $height, $dpi) = split /\|/, $node->safe_psql('postgres', qq{
		SELECT width, height, coalesce(dpi, 300) FROM scribe.image_info(pg_read_binary_file('$file'))});
	my $pdf = query_to_file(qq{
		SELECT scribe._ocr_make_pdf(scribe.image_recompress(pg_read_binary_file('$file'), 'tiff_g4', 'bw'),
		                            scribe.ocr_detail(pg_read_binary_file('$file'))->'pages')});
	my ($copy_width) = $node->safe_psql('postgres', qq{
		SELECT width FROM scribe.image_info(scribe.image_recompress(pg_read_binary_file('$file'), 'tiff_g4', 'bw'))});
	is($copy_width, 2 * $width, 'the 1-bit copy of small text has twice the pixels');
	my (undef, $w, $h) = pdf_info($pdf);
	is(sprintf('%.1f x %.1f', $w, $h), sprintf('%.1f x %.1f', $width / $dpi * 72, $height / $dpi * 72),
		'... and twice the resolution: the same page size');
	boxes_match(ocr_word_boxes($file, 1), pdf_word_boxes($pdf, 1, $dpi), 2,
		'the copy: the words recognised on the original');
}

# --- scribe.document_get_pdf: a recognised document's PDF
my %docs;
for my $name ('scans/letter-clean.png', 'scans/list-two-pages.tif', 'scans/note-clean.jpg')
{
	$docs{$name} = $node->safe_psql('postgres',
		"SELECT scribe.document_submit(pg_read_binary_file('$fixtures/$name'))");
}
my $ids = join ',', values %docs;
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 0 FROM scribe.documents WHERE document_id IN ($ids) AND status = 'queued'"),
	'the documents are recognised');
for my $name (sort keys %docs)
{
	my $id = $docs{$name};
	my $pdf = query_to_file("SELECT scribe.document_get_pdf($id)");
	my ($n) = $node->safe_psql('postgres', "SELECT pages FROM scribe.documents WHERE document_id = $id");
	my ($pages) = pdf_info($pdf);
	is($pages, $n, "document $name: the PDF has its $n page(s)");
	for my $page (1 .. $n)
	{
		my $text = $node->safe_psql('postgres',
			"SELECT text FROM scribe.document_pages WHERE document_id = $id AND page = $page");
		is_deeply(words_of(run_tool('pdftotext', '-f', $page, '-l', $page, $pdf, '-')), words_of($text),
			"document $name page $page: pdftotext gives the page's text");
	}
	is(run_tool('md5sum', '<', $pdf),
		run_tool('md5sum', '<', query_to_file("SELECT scribe.document_get_pdf($id)")),
		"document $name: the same document makes the same file");
}

# --- errors
{
	my ($ret, $out, $err) = $node->psql('postgres', qq{
		BEGIN;
		SELECT scribe.document_submit(pg_read_binary_file('$fixtures/scans/letter-clean.png')) AS id \\gset
		SELECT scribe.document_get_pdf(:id);}, extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	like($err, qr/ERROR:  55000: document \d+ is not recognised yet/, 'a queued document: 55000, not recognised yet');
	like($err, qr/HINT:  Wait until scribe.document_get\(\d+\) says status done/, '... with a hint to wait');

	my $failed = $node->safe_psql('postgres', qq{
		INSERT INTO scribe.documents (owner, image, image_format, image_bytes, pages, status, error)
		VALUES ('t', '\\x00', 'png', 1, 1, 'failed', 'the image could not be decoded') RETURNING document_id});
	($ret, $out, $err) = $node->psql('postgres', "SELECT scribe.document_get_pdf($failed)",
		extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	like($err, qr/ERROR:  55000: document $failed failed: the image could not be decoded/,
		'a failed document: 55000 with its error');

	my $id = $docs{'scans/letter-clean.png'};
	$node->safe_psql('postgres', "UPDATE scribe.document_pages SET words = NULL WHERE document_id = $id");
	($ret, $out, $err) = $node->psql('postgres', "SELECT scribe.document_get_pdf($id)",
		extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	like($err, qr/ERROR:  55000: document $id has no word boxes to place in a PDF/,
		'a document without word boxes: 55000');

	is($node->safe_psql('postgres', 'SELECT scribe.document_get_pdf(-1) IS NULL'), 't',
		'no such document: NULL, as document_get_image');

	($ret, $out, $err) = $node->psql('postgres', qq{
		SELECT scribe._ocr_make_pdf(pg_read_binary_file('$fixtures/scans/letter-clean.png'),
		                            '[{"page": 2, "words": []}]')}, extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	like($err, qr/ERROR:  22P02: line 1 of the words is not a valid page or word record/,
		'words of a page the image does not have: 22P02 from the engine');
	($ret, $out, $err) = $node->psql('postgres', qq{
		SELECT scribe._ocr_make_pdf(pg_read_binary_file('$fixtures/scans/letter-clean.png'), '{"page": 1}')},
		extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	like($err, qr/ERROR:  22023: the pages are not an OCR result's pages/, 'pages that are not an array: 22023');
}

done_testing();
