# Where OCR puts a page: word boxes, hOCR and TSV on the image as submitted
# whatever preprocessing did (upscaling, deskew, turning), pages turned 90,
# 180 or 270 degrees detected and read upright, a JPEG's EXIF orientation
# honoured, and the document pipeline doing the same.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Utils;
use ScribeTest;
use Test::More;

my $fixtures = "$ENV{SCRIBE_SOURCE_DIR}/test/fixtures";
my $tess = "$fixtures/tesseract";
my $exif = "$fixtures/orientation";

my $node = scribe_node('geometry', conf => <<"CONF");
scribe.min_workers = 1
scribe.max_workers = 1
scribe.heartbeat_interval = 0
CONF
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_scribe');

# Boxes [left, top, right, bottom] of the words of a file (4 letters or
# more) that occur once, by word; $options for scribe.ocr_words, $set a SET
# first.  With $all, every word, as "word#n" for its nth occurrence in
# reading order (for two readings of the same page that read the same).
sub word_boxes
{
	my ($file, $options, $set, $all) = @_;
	$options = $options ? ", $options" : '';
	$set = $set ? "SET $set; " : '';
	my %boxes;
	my %seen;
	for my $row (split /\n/, $node->safe_psql('postgres', qq{$set
		SELECT word, "left", top, "left" + width, top + height
		FROM scribe.ocr_words(pg_read_binary_file('$file')$options)}))
	{
		my ($word, @box) = split /\|/, $row;
		next if length($word) < 4 && !$all;
		$seen{$word}++;
		$boxes{ $all ? "$word#$seen{$word}" : $word } = \@box;
	}
	delete $boxes{$_} for grep { !$all && $seen{$_} > 1 } keys %seen;
	return \%boxes;
}

# The largest distance between the sides of the boxes of words found in both
# (after $map turns a box of the first), and how many words were compared
sub box_distance
{
	my ($expected, $got, $map) = @_;
	my ($worst, $n) = (0, 0);
	for my $word (keys %$expected)
	{
		next unless $got->{$word};
		my @want = $map ? $map->(@{ $expected->{$word} }) : @{ $expected->{$word} };
		for my $i (0 .. 3)
		{
			my $d = abs($want[$i] - $got->{$word}[$i]);
			$worst = $d if $d > $worst;
		}
		$n++;
	}
	return ($worst, $n);
}

# --- boxes on the submitted image when preprocessing upscales or deskews it
for my $case ([ 'diary-small-text.png', 'upscaled' ], [ 'letter-skewed-3deg.png', 'deskewed' ])
{
	my ($file, $what) = @$case;
	my $path = "$fixtures/scans/$file";
	my ($scale, $width, $height) = split /\|/, $node->safe_psql('postgres', qq{
		SELECT d->'pages'->0->>'scale', d->'pages'->0->>'width', d->'pages'->0->>'height'
		FROM scribe.ocr_detail(pg_read_binary_file('$path')) d});
	my ($w, $h) = split /\|/, $node->safe_psql('postgres', qq{
		SELECT width, height FROM scribe.image_info(pg_read_binary_file('$path'))});
	is("$width x $height", "$w x $h", "$file: the page size reported is the submitted image's");
	cmp_ok($scale, '>', 2, "diary-small-text.png is upscaled ($scale)") if $what eq 'upscaled';
	# one layout for both readings: the automatic one may read the skewed page as sparse text without preprocessing
	my ($worst, $n) = box_distance(word_boxes($path, 'psm => 3, preprocess => false'), word_boxes($path, 'psm => 3'));
	cmp_ok($n, '>=', 30, "$file: $n words found with and without preprocessing");
	cmp_ok($worst, '<=', 8, "$file ($what): word boxes within $worst px of those read without preprocessing");
}

# hOCR and TSV of the upscaled page: the page box is the image, the words' boxes are ocr_words'
{
	my $path = "$fixtures/scans/diary-small-text.png";
	my ($w, $h) = split /\|/, $node->safe_psql('postgres', qq{
		SELECT width, height FROM scribe.image_info(pg_read_binary_file('$path'))});
	my $hocr = $node->safe_psql('postgres', "SELECT scribe.ocr_hocr(pg_read_binary_file('$path'))");
	like($hocr, qr/class='ocr_page'[^>]*bbox 0 0 $w $h;/, "hOCR: the page's bbox is the image's, 0 0 $w $h");
	my $words = word_boxes($path);
	my ($hocr_worst, $hocr_n) = (0, 0);
	while ($hocr =~ /class='ocrx_word'[^>]*title='bbox (\d+) (\d+) (\d+) (\d+);[^>]*>([^<]+)</g)
	{
		my ($word, @box) = ($5, $1, $2, $3, $4);
		next unless $words->{$word};
		$hocr_worst = abs($box[$_] - $words->{$word}[$_]) > $hocr_worst ? abs($box[$_] - $words->{$word}[$_]) : $hocr_worst
		  for 0 .. 3;
		$hocr_n++;
	}
	cmp_ok($hocr_n, '>=', 30, "hOCR has the words ($hocr_n)");
	is($hocr_worst, 0, 'with the boxes of ocr_words');
	like($hocr, qr/x_size (\d+(\.\d+)?);/, 'and line heights') or diag($hocr);
	my ($x_size) = $hocr =~ /x_size (\d+(?:\.\d+)?);/;
	cmp_ok($x_size, '<', 20, "of the submitted image's text ($x_size px)");

	my $tsv = $node->safe_psql('postgres', "SELECT scribe.ocr_tsv(pg_read_binary_file('$path'))");
	my ($tsv_worst, $tsv_n, $page_row) = (0, 0, '');
	for my $row (split /\n/, $tsv)
	{
		my @f = split /\t/, $row;
		$page_row = "@f[6..9]" if $f[0] eq '1';
		next unless $f[0] eq '5' && @f >= 12 && $words->{ $f[11] };
		my @box = ($f[6], $f[7], $f[6] + $f[8], $f[7] + $f[9]);
		for my $i (0 .. 3)
		{
			my $d = abs($box[$i] - $words->{ $f[11] }[$i]);
			$tsv_worst = $d if $d > $tsv_worst;
		}
		$tsv_n++;
	}
	is($page_row, "0 0 $w $h", 'TSV: the page row is the image');
	cmp_ok($tsv_n, '>=', 30, "TSV has the words ($tsv_n)");
	is($tsv_worst, 0, 'with the boxes of ocr_words');
}

# --- pages turned 90, 180 and 270 degrees: read upright, boxes on the turned image
my $truth = slurp_file("$tess/phototest.txt");
my $upright = word_boxes("$tess/phototest.tif", undef, undef, 1);
cmp_ok(scalar(keys %$upright), '>=', 20, 'the upright test page has words to compare');
my ($W, $H) = (640, 480);
my %turned = (
	'phototest-rotated-180.png' => [ 180, sub { my ($l, $t, $r, $b) = @_; ($W - $r, $H - $b, $W - $l, $H - $t) } ],
	# turned left: the upright page's (x, y) is at (y, W - x)
	'phototest-rotated-L.png' => [ 90, sub { my ($l, $t, $r, $b) = @_; ($t, $W - $r, $b, $W - $l) } ],
	# turned right: the upright page's (x, y) is at (H - y, x)
	'phototest-rotated-R.png' => [ 270, sub { my ($l, $t, $r, $b) = @_; ($H - $b, $l, $H - $t, $r) } ],
);
for my $file (sort keys %turned)
{
	my ($rotation, $map) = @{ $turned{$file} };
	my $path = "$tess/$file";
	my $off = ocr_cer($truth, $node->safe_psql('postgres',
		"SET scribe.ocr_detect_orientation = off; SELECT scribe.ocr(pg_read_binary_file('$path'))"));
	my $on = ocr_cer($truth, $node->safe_psql('postgres', "SELECT scribe.ocr(pg_read_binary_file('$path'))"));
	cmp_ok($on, '<=', 0.02, sprintf('%s: CER %.1f%% turned upright (%.1f%% as it is)', $file, 100 * $on, 100 * $off));
	my ($got, $confidence, $width) = split /\|/, $node->safe_psql('postgres', qq{
		SELECT d->'pages'->0->>'rotation', d->'pages'->0->>'rotation_confidence', d->'pages'->0->>'width'
		FROM scribe.ocr_detail(pg_read_binary_file('$path')) d});
	is($got, $rotation, "$file: turned $rotation degrees clockwise, reported");
	cmp_ok($confidence, '>=', 5, "with its confidence ($confidence)");
	my $boxes = word_boxes($path, undef, undef, 1);
	my ($worst, $n) = box_distance($upright, $boxes, $map);
	cmp_ok($n, '>=', 20, "$file: $n words compared with the upright page's")
	  or diag(join(' ', sort keys %$boxes), "\n", join(' ', sort keys %$upright));
	cmp_ok($worst, '<=', 2, "$file: the boxes are where the upright page's words land once turned (within $worst px)");
}
cmp_ok(ocr_cer($truth, $node->safe_psql('postgres',
	"SET scribe.ocr_detect_orientation = off; SELECT scribe.ocr(pg_read_binary_file('$tess/phototest-rotated-180.png'))")),
	'>', 0.5, 'with scribe.ocr_detect_orientation off, the upside-down page is garbage');
is($node->safe_psql('postgres', qq{
	SELECT (d->'pages'->0->>'rotation') || ' ' || ((d->'pages'->0->>'rotation_confidence')::float >= 3)
	FROM scribe.ocr_detail(pg_read_binary_file('$tess/phototest.tif')) d}), '0 true',
	'the upright page is not turned, and OSD is sure of it');
is($node->safe_psql('postgres', qq{
	SELECT d->'pages'->0->>'rotation_confidence' IS NULL
	FROM scribe.ocr_detail(pg_read_binary_file('$fixtures/scans/letter-clean.png')) d},
	), 'f', 'a page of text has an orientation confidence');

# --- EXIF orientation: all eight tags give the same page
my $reference = word_boxes("$exif/exif-1.jpg", undef, 'scribe.ocr_detect_orientation = off', 1);
my $reference_text = $node->safe_psql('postgres', "SELECT scribe.ocr(pg_read_binary_file('$exif/exif-1.jpg'))");
like($reference_text, qr/Gone to the market with Lily/, 'exif-1.jpg: the upright page is read');
for my $n (1 .. 8)
{
	my $path = "$exif/exif-$n.jpg";
	my ($text, $tag, $rotation, $size) = split /\|/, $node->safe_psql('postgres', qq{
		SET scribe.ocr_detect_orientation = off;
		SELECT d->>'text', d->'pages'->0->>'exif_orientation', d->'pages'->0->>'rotation',
		       (d->'pages'->0->>'width') || 'x' || (d->'pages'->0->>'height')
		FROM scribe.ocr_detail(pg_read_binary_file('$path')) d});
	is($text, $reference_text, "exif-$n.jpg: the text of the upright page, without orientation detection");
	is("$tag $rotation $size", "$n 0 1517x260", "exif-$n.jpg: EXIF orientation $n reported, page shown 1517x260");
	my ($worst, $count) = box_distance($reference, word_boxes($path, undef, 'scribe.ocr_detect_orientation = off', 1));
	cmp_ok($count, '>=', 20, "exif-$n.jpg: $count words compared");
	cmp_ok($worst, '<=', 3, "exif-$n.jpg: boxes on the page as shown (within $worst px of exif-1.jpg's)");
	is($node->safe_psql('postgres', qq{
		SELECT width || 'x' || height FROM scribe.image_info(pg_read_binary_file('$path'))}),
		'1517x260', "exif-$n.jpg: image_info() gives the size of the page as shown, as the OCR does");
}
# the archive's recompressed copy is the page as shown: no EXIF tag needed to view it upright
is($node->safe_psql('postgres', qq{
	SELECT i.format || ' ' || i.width || 'x' || i.height
	FROM scribe.image_info(scribe.image_recompress(pg_read_binary_file('$exif/exif-6.jpg'), 'png')) i}),
	'png 1517x260', 'exif-6.jpg recompressed: a PNG of the page turned as its EXIF orientation says');
is($node->safe_psql('postgres', qq{
	SELECT scribe.ocr(scribe.image_recompress(pg_read_binary_file('$exif/exif-6.jpg'), 'png'))
	       = scribe.ocr(pg_read_binary_file('$exif/exif-1.jpg'))}),
	't', 'and reads as the upright page does');

# --- the document pipeline: a page upside down and a sideways photo, boxes on the originals
my ($upside, $photo) = split /\n/, $node->safe_psql('postgres', qq{
	SELECT scribe.document_submit(pg_read_binary_file('$tess/phototest-rotated-180.png'), owner => 'geo');
	SELECT scribe.document_submit(pg_read_binary_file('$exif/exif-6.jpg'), owner => 'geo');});
ok(wait_for_count($node, qq{
	SELECT count(*) FROM scribe.documents WHERE document_id IN ($upside, $photo) AND status NOT IN ('done', 'failed')}),
	'the documents are recognised');
cmp_ok(ocr_cer($truth, $node->safe_psql('postgres', "SELECT text FROM scribe.documents WHERE document_id = $upside")),
	'<=', 0.02, 'the upside-down page is read upright by the pipeline');
like($node->safe_psql('postgres', "SELECT text FROM scribe.documents WHERE document_id = $photo"),
	qr/Gone to the market with Lily/, 'and the photo with EXIF orientation 6');
{
	my (%got, %seen);
	for my $row (split /\n/, $node->safe_psql('postgres', qq{
		SELECT w->>'text', w->>'left', w->>'top', (w->>'left')::int + (w->>'width')::int, (w->>'top')::int + (w->>'height')::int
		FROM scribe.document_pages p, jsonb_array_elements(p.words) w WHERE p.document_id = $upside}))
	{
		my ($word, @box) = split /\|/, $row;
		$got{ $word . '#' . ++$seen{$word} } = \@box;
	}
	my ($worst, $n) = box_distance($upright, \%got, $turned{'phototest-rotated-180.png'}[1]);
	cmp_ok($n, '>=', 20, "document_pages: $n words compared");
	cmp_ok($worst, '<=', 2, "document_pages: the words' boxes are on the upside-down image (within $worst px)");
}

$node->stop;
done_testing();
