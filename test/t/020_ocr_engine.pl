# The OCR engine process: the same text as the tesseract CLI, skewed and
# shadowed pages recovered by preprocessing, crashes and kills of the engine
# that end as an ERROR without restarting the server, cancellation of OCR
# under way, and no memory growth over a thousand calls.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";
use IPC::Run;
use PostgreSQL::Test::Utils;
use ScribeTest;
use Test::More;

my $fixtures = "$ENV{SCRIBE_SOURCE_DIR}/test/fixtures";
my $scans = "$fixtures/scans";

my $node = scribe_node('ocr', conf => <<"CONF");
scribe.min_workers = 0
scribe.max_workers = 0
scribe.heartbeat_interval = 0
CONF
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_scribe');
my $started = $node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()');

# OCR text of a fixture through SQL
sub sql_ocr
{
	my ($file, $options) = @_;
	$options = $options ? ", $options" : '';
	return $node->safe_psql('postgres',
		"SELECT scribe.ocr(pg_read_binary_file('$file')$options)");
}

# The tesseract CLI's text for a file, as a user would script it
sub cli_ocr
{
	my ($file) = @_;
	my ($out, $err);
	local $ENV{OMP_THREAD_LIMIT} = 1;
	IPC::Run::run([ 'tesseract', $file, '-' ], '>', \$out, '2>', \$err)
	  or die "tesseract $file failed: $err";
	return $out;
}

# --- the same text as the CLI, preprocessing off
for my $file ('letter-clean.png', 'note-clean.jpg', 'list-two-pages.tif')
{
	my $cli = cli_ocr("$scans/$file");
	my $sql = sql_ocr("$scans/$file", 'preprocess => false');
	# psql drops the final newline; the CLI ends each page with a form feed
	s/[\n\f]+\z// for $cli, $sql;
	is($sql, $cli, "scribe.ocr($file, preprocess => false) equals the tesseract CLI's text");
}

# --- preprocessing recovers skewed and shadowed pages
for my $file ('letter-skewed-3deg.png', 'recipe-shadow.png', 'diary-small-text.png')
{
	(my $truth = "$scans/$file") =~ s/\.\w+$/.txt/;
	my $raw = ocr_cer(slurp_file($truth), sql_ocr("$scans/$file", 'preprocess => false'));
	my $fixed = ocr_cer(slurp_file($truth), sql_ocr("$scans/$file"));
	cmp_ok($fixed, '<=', 0.02, sprintf('%s: CER %.2f%% with preprocessing (%.1f%% without)',
		$file, 100 * $fixed, 100 * $raw));
}
my ($lost, $kept, $skew) = split /\|/, $node->safe_psql('postgres', qq{
	SELECT (scribe.ocr_detail(img, psm => 3, preprocess => false)->'pages'->0->>'text_probably_lost'),
	       (d->'pages'->0->>'text_probably_lost'), round((d->'pages'->0->>'skew')::numeric)
	FROM (SELECT pg_read_binary_file('$scans/letter-skewed-3deg.png') img) i,
	     LATERAL scribe.ocr_detail(img) d});
is($lost, 'true', 'the completeness signal flags the skewed page read as a page of text (psm 3) without preprocessing');
is($kept, 'false', 'and clears it once preprocessing deskewed the page');
is(abs($skew), 3, 'the skew found is reported: 3 degrees');

# --- detailed output: words with boxes, hOCR, TSV
my ($words, $first_word, $hocr, $tsv) = split /\|/, $node->safe_psql('postgres', qq{
	SELECT count(*), min(word) FILTER (WHERE line = 1 AND "left" = (SELECT min("left") FROM scribe.ocr_words(pg_read_binary_file('$fixtures/word.tif')))),
	       scribe.ocr_hocr(pg_read_binary_file('$fixtures/word.tif')) LIKE '%<span class=''ocrx_word''%Hello%',
	       split_part(scribe.ocr_tsv(pg_read_binary_file('$fixtures/word.tif')), E'\\n', 1)
	FROM scribe.ocr_words(pg_read_binary_file('$fixtures/word.tif'))});
is($words, 2, 'ocr_words returns a row per word');
is($first_word, 'Hello', 'the first word of the first line');
is($hocr, 't', 'ocr_hocr returns hOCR with word spans');
like($tsv, qr/^level\tpage_num\tblock_num/, 'ocr_tsv starts with tesseract\'s TSV header');

# --- crash isolation: the engine killed mid-recognition is an ERROR
#
# A session's engine is stopped (SIGSTOP) before it gets the image, so the
# request is under way for as long as the test needs: a signal sent then
# lands mid-recognition, and an interrupt meets the backend still waiting,
# however fast or slow the machine is.

# Start a session with an engine (it recognises a first image); returns the
# session, its backend and its engine
sub session_with_engine
{
	my $session = scribe_session($node, on_error_stop => 0);
	my $backend = $session->query_safe('SELECT pg_backend_pid()');
	$session->query_safe("SELECT length(scribe.ocr(pg_read_binary_file('$fixtures/word.tif')))");
	# a signal to pid 0 would stop this test instead
	my $engine = ocr_engine_of($backend) or die "session $backend has no engine";
	return ($session, $backend, $engine);
}

# Send $sql to the session without waiting for it; wait until its backend
# waits for the engine (wait event Extension)
sub start_waiting_for_engine
{
	my ($session, $backend, $sql) = @_;
	$session->query_until(qr/sent\n/, "\\echo sent\n$sql;\n");
	return $node->poll_query_until('postgres', qq{
		SELECT state = 'active' AND wait_event_type = 'Extension' FROM pg_stat_activity WHERE pid = $backend});
}

for my $signal ('SEGV', 'KILL')
{
	my ($session, $backend, $engine) = session_with_engine();
	ok($engine, "the session started an engine (pid " . ($engine // 'none') . ")");
	kill 'STOP', $engine;
	ok(start_waiting_for_engine($session, $backend,
			"SELECT length(scribe.ocr(pg_read_binary_file('$scans/letter-clean.png')))"),
		"the session waits for its stopped engine ($signal)");
	# a stopped process takes SIGKILL at once, other signals when it continues
	kill $signal, $engine;
	kill 'CONT', $engine;
	my $next = $session->query("SELECT scribe.ocr(pg_read_binary_file('$fixtures/word.tif'))");
	like($session->{stderr}, qr/ERROR:  the OCR engine \(pid \d+\) was terminated by signal \d+/,
		"SIG$signal of the engine mid-recognition is an ERROR of the statement");
	like($next, qr/Hello archive/, 'the same session recognises the next image with a new engine');
	$session->quit;
	is($node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()'), $started,
		'the server did not restart');
}

# --- cancellation: statement_timeout and pg_cancel_backend stop OCR under way
# (with the engine stopped: the statement can only end by stopping it; how
# fast a cancel lands is for benchmarks)
{
	my ($session, $backend, $engine) = session_with_engine();
	kill 'STOP', $engine;
	$session->query(q{SET statement_timeout = '300ms'});
	$session->query("SELECT scribe.ocr(pg_read_binary_file('$scans/letter-clean.png'))");
	like($session->{stderr}, qr/canceling statement due to statement timeout/, 'statement_timeout cancels OCR');
	$session->quit;
}
{
	my ($session, $backend, $engine) = session_with_engine();
	kill 'STOP', $engine;
	ok(start_waiting_for_engine($session, $backend,
			"SELECT scribe.ocr(pg_read_binary_file('$scans/letter-clean.png'))"),
		'a session waits for its stopped engine');
	$node->safe_psql('postgres', "SELECT pg_cancel_backend($backend)");
	$session->query('SELECT 1');
	like($session->{stderr}, qr/canceling statement due to user request/, 'pg_cancel_backend cancels OCR');
	ok(!-e "/proc/$engine", 'and the engine, stopped mid-request, is gone');
	$session->quit;
}

# --- memory: a thousand OCR calls in one session grow neither the backend nor its engine
{
	my ($stdout, $stderr) = ('', '');
	my $in = '';
	my $psql = IPC::Run::start(
		[ 'psql', '-X', '-q', '-At', '-d', $node->connstr('postgres') ],
		'<', \$in, '>', \$stdout, '2>', \$stderr);
	# Run SQL in the session and wait for its marker
	my $run = sub {
		my ($sql) = @_;
		$stdout = '';
		$in .= "$sql\nSELECT 'done';\n";
		$psql->pump until $stdout =~ /done\n/;
		return $stdout;
	};
	# RssAnon of a process, in kB
	my $rss = sub {
		my ($pid) = @_;
		my ($kb) = slurp_file("/proc/$pid/status") =~ /RssAnon:\s+(\d+)/;
		return $kb;
	};
	my ($backend) = $run->('SELECT pg_backend_pid();') =~ /(\d+)/;
	my $loop = "SELECT count(scribe.ocr(img)) FROM (SELECT pg_read_binary_file('$fixtures/word.tif') img) i, generate_series(1, %d);";
	$run->(sprintf($loop, 100));
	my $engine = ocr_engine_of($backend);
	my ($b0, $e0) = ($rss->($backend), $rss->($engine));
	my $out = $run->(sprintf($loop, 1000));
	like($out, qr/^1000$/m, 'a thousand OCR calls in one statement');
	my ($b1, $e1) = ($rss->($backend), $rss->($engine));
	is(ocr_engine_of($backend), $engine, 'one engine served them all');
	like(slurp_file("/proc/$engine/environ"), qr/(^|\0)OMP_THREAD_LIMIT=1\0/,
		'the engine runs with OMP_THREAD_LIMIT=1 in its environment');
	my ($threads) = slurp_file("/proc/$engine/status") =~ /Threads:\s+(\d+)/;
	is($threads, 1, 'and tesseract started no OpenMP threads');
	cmp_ok($b1 - $b0, '<', 2048, "backend RssAnon grew by less than 2 MB ($b0 -> $b1 kB)");
	cmp_ok($e1 - $e0, '<', 4096, "engine RssAnon grew by less than 4 MB ($e0 -> $e1 kB)");
	$in .= "\\q\n";
	$psql->finish;
}

# scribe.ocr_threads gives an engine started after it more OpenMP threads
{
	my ($stdout, $stderr) = ('', '');
	my $in = "SET scribe.ocr_threads = 2;\n"
	  . "SELECT pg_backend_pid(), length(scribe.ocr(pg_read_binary_file('$fixtures/word.tif'))) > 0;\n";
	my $psql = IPC::Run::start(
		[ 'psql', '-X', '-q', '-At', '-d', $node->connstr('postgres') ],
		'<', \$in, '>', \$stdout, '2>', \$stderr);
	$psql->pump until $stdout =~ /^(\d+)\|t$/m;
	my $engine = ocr_engine_of($1);
	my ($threads) = slurp_file("/proc/$engine/status") =~ /Threads:\s+(\d+)/;
	like(slurp_file("/proc/$engine/environ"), qr/(^|\0)OMP_THREAD_LIMIT=2\0/, 'SET scribe.ocr_threads = 2 reaches a new engine');
	cmp_ok($threads, '>=', 2, "which runs $threads threads");
	$in .= "\\q\n";
	$psql->finish;
}

is($node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()'), $started,
	'the server never restarted');
$node->stop;
done_testing();
