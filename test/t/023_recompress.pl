# Recompression of the sample scans by the OCR engine, the archive's smaller
# copy of a processed scan: every scan to every mode and format that can
# hold it (the others refused), each result in the announced format, depth
# and pages, its size against the original's, OCR of it reading the text of
# the original; a corrupt image an ERROR after which the same engine takes
# the next request.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Utils;
use ScribeTest;
use Test::More;

my $scans = "$ENV{SCRIBE_SOURCE_DIR}/test/fixtures/scans";
# OCR of a lossy or binarized copy may differ from the original's by this
# share of characters (measured: at most 0.5 %, one or two characters a page)
my $max_cer = 0.02;

my $node = scribe_node('recompress', conf => <<"CONF");
scribe.min_workers = 0
scribe.max_workers = 0
scribe.heartbeat_interval = 0
CONF
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_scribe');

# one session throughout, so that one engine serves every call
my $session = scribe_session($node, on_error_stop => 0);
$session->query_safe(qq{
	\\set VERBOSITY verbose
	CREATE TEMP TABLE scan AS
		SELECT f AS file, pg_read_binary_file('$scans/' || f) AS image
		FROM pg_ls_dir('$scans') f WHERE f !~ '\\.txt\$';
	CREATE TEMP TABLE result (file text, format text, mode text, image bytea)});

# Run $sql in the session; its stderr ('' if it succeeded), cleared for the next
sub session_error
{
	my ($sql) = @_;
	$session->query($sql);
	my $stderr = $session->{stderr};
	$session->{stderr} = '';
	return $stderr;
}

# What the header check says of an image: format, bits per pixel, pages, bytes
sub image_facts
{
	my ($from) = @_;
	return split /\|/, $session->query_safe(
		"SELECT (i).format, (i).bits_per_pixel, (i).pages, (i).bytes FROM (SELECT scribe.image_info(image) i FROM $from) x");
}

# Whether format can hold the scan as mode makes it, by the rules of the reference
sub fits
{
	my ($format, $mode, $bits, $pages) = @_;
	return 0 if $format eq 'jpeg' && $mode eq 'bw';
	return 0 if $format eq 'tiff_g4' && $mode eq 'gray';
	return 0 if $pages > 1 && $format ne 'tiff_g4';
	return 0 if $mode eq 'keep' && $format eq 'tiff_g4' && $bits != 1;
	return 0 if $mode eq 'keep' && $format eq 'jpeg' && $bits == 1;
	return 1;
}

my %file_format = (png => 'png', tiff_g4 => 'tiff', jpeg => 'jpeg');
my @files = split /\n/, $session->query_safe('SELECT file FROM scan ORDER BY 1');
ok(@files >= 6, 'the sample scans: ' . join(', ', @files));
my $engine;

for my $file (@files)
{
	my $scan = "scan WHERE file = '$file'";
	my ($orig_format, $orig_bits, $orig_pages, $orig_bytes) = image_facts($scan);
	my $orig_text = $session->query_safe("SELECT scribe.ocr(image) FROM $scan");
	$engine //= $session->query_safe('SELECT scribe._ocr_engine_pid()');

	for my $format ('png', 'tiff_g4', 'jpeg')
	{
		for my $mode ('keep', 'gray', 'bw')
		{
			my $what = "$file to $format, mode $mode";
			my $recompress = "scribe.image_recompress(image, '$format', '$mode')";
			if (!fits($format, $mode, $orig_bits, $orig_pages))
			{
				like(session_error("SELECT length($recompress) FROM $scan"),
					qr/ERROR:  22023: .*(cannot|holds only)/, "$what: refused (22023)");
				next;
			}
			$session->query_safe(
				"INSERT INTO result SELECT file, '$format', '$mode', $recompress FROM $scan");
			my $from = "result WHERE file = '$file' AND format = '$format' AND mode = '$mode'";
			my ($new_format, $new_bits, $new_pages, $new_bytes) = image_facts($from);
			my $bits = $mode eq 'bw' ? 1 : $mode eq 'gray' ? 8 : $orig_bits;
			is("$new_format $new_bits-bit $new_pages page(s)", "$file_format{$format} $bits-bit $orig_pages page(s)",
				sprintf('%s: %d bytes to %d (%+.0f %%)', $what, $orig_bytes, $new_bytes,
					100 * ($new_bytes - $orig_bytes) / $orig_bytes));

			# what is true of the sizes on these scans (docs/benchmarks.md has them all)
			if ($format eq 'tiff_g4' && $mode eq 'bw')
			{
				cmp_ok($new_bytes, $orig_bits == 1 ? '<=' : '<', $orig_bytes,
					"$what: no larger than the original (smaller unless it was 1-bit already)");
			}
			elsif ($format eq 'png' && $mode eq 'gray' && $orig_format eq 'png')
			{
				cmp_ok($new_bytes, '<', $orig_bytes, "$what: smaller (zlib's best compression)");
			}
			elsif ($format eq 'png' && $mode eq 'gray' && $orig_format eq 'jpeg')
			{
				cmp_ok($new_bytes, '>', $orig_bytes, "$what: larger: PNG keeps a JPEG's artifacts exactly");
			}
			elsif ($format eq 'jpeg' && $orig_format eq 'jpeg')
			{
				cmp_ok($new_bytes, '<', $orig_bytes, "$what: smaller at quality 75");
			}

			# OCR of the copy reads what OCR of the original read: exactly when no pixel changed
			my $text = $session->query_safe("SELECT scribe.ocr(image) FROM $from");
			my $lossless = $format ne 'jpeg'
			  && ($mode eq 'keep' || ($mode eq 'gray' && $orig_bits == 8) || ($mode eq 'bw' && $orig_bits == 1));
			if ($lossless)
			{
				is($text, $orig_text, "$what: OCR reads the same text (the same pixels)");
			}
			else
			{
				my $cer = ocr_cer($orig_text, $text);
				cmp_ok($cer, '<=', $max_cer,
					sprintf('%s: OCR reads the same text but for %.2f %% of characters', $what, 100 * $cer));
			}
		}
	}
}

is($session->query_safe('SELECT scribe._ocr_engine_pid()'), $engine,
	'one engine served every OCR and recompression of the session');

# --- what the engine reports, as the archive policy gets it (DEBUG1 here)
like(session_error(q{SET client_min_messages = debug1;
	SELECT length(scribe.image_recompress(image, 'tiff_g4', 'bw')) FROM scan WHERE file = 'list-two-pages.tif';
	RESET client_min_messages}),
	qr/recompressed to tiff_g4, mode bw: 2 pages of up to 1506 x 726 pixels, 1 bits per pixel, (\d+) bytes to \1 in/,
	'the engine reports pages, the largest page, depth and bytes before and after');

# --- corrupt images: an ERROR from the engine, which stays for the next request
# (a file cut short is the header check's: sql/recompress.sql)
for my $corrupt (
	[ 'a JPEG with a garbled scan', q{overlay(image placing decode(repeat('ff', 64), 'hex') from 1000)}, 'note-clean.jpg' ],
	[ 'a PNG with a garbled body', q{overlay(image placing decode(repeat('ff', 2000), 'hex') from 5000)},
	  'letter-clean.png' ])
{
	my ($what, $expr, $file) = @$corrupt;
	like(session_error("SELECT length(scribe.image_recompress($expr, 'tiff_g4', 'bw')) FROM scan WHERE file = '$file'"),
		qr/ERROR:  22P03: the image could not be decoded/, "$what: a clean ERROR (22P03)");
	is($session->query_safe('SELECT scribe._ocr_engine_pid()'), $engine, "$what: the engine is still the same");
	is($session->query_safe(
		"SELECT (scribe.image_info(scribe.image_recompress(image, 'png', 'bw'))).bits_per_pixel FROM scan WHERE file = '$file'"),
		1, "$what: and recompresses the next image");
}

$session->quit;
$node->stop;
done_testing();
