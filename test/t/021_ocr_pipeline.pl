# The document pipeline end to end with two workers: submit the sample scans,
# watch live progress, read text, pages, search and costs back; a document
# the engine cannot decode fails with its reason; an engine killed mid-job
# loses no document.  Where the test must see something under way (both
# workers busy, a percentage, a job mid-recognition), it holds it there:
# a lock on the documents, engines stopped with SIGSTOP.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Utils;
use ScribeTest;
use Test::More;
use Time::HiRes qw(usleep);

my $scans = "$ENV{SCRIBE_SOURCE_DIR}/test/fixtures/scans";
my @files = sort grep { /\.(png|jpg|tif)$/ } map { s{.*/}{}r } glob("$scans/*");
cmp_ok(scalar @files, '>=', 5, 'the sample scans are there');

my $node = scribe_node('pipeline', conf => <<"CONF");
scribe.min_workers = 2
scribe.max_workers = 2
scribe.heartbeat_interval = 0
scribe.ocr_cost_local = 0.0002
CONF
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION pg_scribe;
	SELECT scribe.queue_alter('ocr', backoff_base => '0', backoff_cap => '0');
});
ok(wait_for_workers($node, 2), 'two workers run');

# Engines of the pool's workers (children of the workers), by worker pid
sub worker_engines
{
	my %engines;
	for my $pid (split /\n/, $node->safe_psql('postgres', 'SELECT pid FROM scribe.worker_status()'))
	{
		my $engine = ocr_engine_of($pid);
		$engines{$pid} = $engine if $engine;
	}
	return %engines;
}

# submit every scan twice, in one transaction, while no worker runs; then a
# session locks the documents table, so that each worker, back, takes a
# batch and waits on its first document: both have work, whoever is first
reload_settings($node, max_workers => 0);
ok(wait_for_workers($node, 0), 'the workers stop for the submission');
my $values = join ",\n", map {
	my $f = $_;
	map { "(pg_read_binary_file('$scans/$f'), '$f', $_)" } (1, 2)
} @files;
$node->safe_psql('postgres', qq{
	CREATE TABLE submitted AS
	SELECT scribe.document_submit(image, owner => 'family-' || copy, metadata => jsonb_build_object('file', file)) AS id, file
	FROM (VALUES $values) v(image, file, copy);
});
my $total = 2 * @files;
my $lock = scribe_session($node);
$lock->query_safe('BEGIN; LOCK TABLE scribe.documents IN EXCLUSIVE MODE');
reload_settings($node, max_workers => 2);
ok($node->poll_query_until('postgres',
		q{SELECT count(*) = 2 FROM scribe.worker_status() WHERE job_id IS NOT NULL}),
	'both workers take documents');
cmp_ok($node->safe_psql('postgres', q{
	SELECT count(*) FILTER (WHERE s.status = 'processing') FROM submitted, scribe.document_get(id) s}), '>=', 2,
	'document_get shows their documents processing');

# live progress: the workers' engines run in slices of 20 ms, each followed
# by a look at document_get with the engines stopped; a page takes many
# slices, so some look sees a percentage between 1 and 99
$lock->query_safe('COMMIT');
$lock->quit;
my $seen_progress = 0;
wait_until(sub {
	my @engines = values %{ { worker_engines() } };
	kill 'CONT', @engines;
	usleep(20_000);
	kill 'STOP', @engines;
	my ($partial, $done) = split /\|/, $node->safe_psql('postgres', q{
		SELECT count(*) FILTER (WHERE s.status = 'processing' AND s.progress BETWEEN 1 AND 99),
		       count(*) FILTER (WHERE s.status IN ('done', 'failed'))
		FROM submitted, scribe.document_get(id) s});
	$seen_progress ||= $partial > 0;
	return $seen_progress || $done == $total;
});
kill 'CONT', values %{ { worker_engines() } };
ok($seen_progress, 'document_get shows a live progress percentage between 1 and 99');
ok(wait_for_count($node, q{
	SELECT count(*) FROM submitted, scribe.document_get(id) s WHERE s.status NOT IN ('done', 'failed')}),
	'every document is finished');
is($node->safe_psql('postgres', q{
	SELECT string_agg(DISTINCT status, ',') FROM scribe.documents}), 'done', "all $total documents are done");
is($node->safe_psql('postgres', q{
	SELECT count(DISTINCT w.pid) FROM scribe.worker_status() w WHERE w.jobs_done > 0}), 2,
	'both workers recognised documents');

# text, pages, search, ledger
like($node->safe_psql('postgres', q{
	SELECT d.text FROM scribe.documents d JOIN submitted s ON s.id = d.document_id
	WHERE s.file = 'letter-clean.png' LIMIT 1}), qr/\w+ \w+ \w+/, 'the text of a letter');
is($node->safe_psql('postgres', q{
	SELECT d.pages || ' ' || count(p.*) FROM scribe.documents d JOIN submitted s ON s.id = d.document_id
	JOIN scribe.document_pages p USING (document_id)
	WHERE s.file = 'list-two-pages.tif' GROUP BY d.document_id, d.pages LIMIT 1}), '2 2',
	'a two-page TIFF is one document with two pages');
my $word = $node->safe_psql('postgres', q{
	SELECT (regexp_match(d.text, '([A-Za-z]{6,})'))[1] FROM scribe.documents d
	JOIN submitted s ON s.id = d.document_id WHERE s.file = 'recipe-shadow.png' LIMIT 1});
is($node->safe_psql('postgres', qq{
	SET scribe.owner = 'family-1';
	SELECT count(*) FROM scribe.document_search('$word') r
	JOIN submitted s ON s.id = r.document_id WHERE s.file = 'recipe-shadow.png'}), 1,
	"document_search finds the recipe by '$word' for its owner");
like($node->safe_psql('postgres', qq{
	SET scribe.owner = 'family-1'; SELECT headline FROM scribe.document_search('$word') LIMIT 1}),
	qr/«/, 'with the match highlighted in the headline');
my $pages = $node->safe_psql('postgres', 'SELECT sum(pages) FROM scribe.documents');
is($node->safe_psql('postgres', 'SELECT count(*) FROM scribe.ocr_ledger'), $pages,
	'the ledger has one row per page');
is($node->safe_psql('postgres', q{
	SELECT string_agg(owner || ':' || method || ':' || pages || ':' || cost, ' ' ORDER BY owner)
	FROM scribe.ocr_costs(now() - interval '1 hour', now() + interval '1 hour')}),
	join(' ', map { "family-$_:local:" . ($pages / 2) . ':' . sprintf('%.6f', 0.0002 * $pages / 2) } (1, 2)),
	'ocr_costs reports pages and cost by owner at scribe.ocr_cost_local');

# an upload cut short is refused at submit: its end is missing, which the
# header check sees without decoding (issue 16)
my ($rc, $out, $err) = $node->psql('postgres', qq{
	\\set VERBOSITY verbose
	SELECT scribe.document_submit(substr(img, 1, length(img) / 2), owner => 'family-1')
	FROM pg_read_binary_file('$scans/letter-clean.png') img});
like($err, qr/ERROR:  22P03: the png image is truncated\nDETAIL:  PNG is truncated: the file ends at byte \d+, inside its image data/,
	'a truncated upload is refused at submit, with SQLSTATE 22P03 and why');
like($err, qr/HINT:  Upload the whole file again/, 'and a hint');
is($node->safe_psql('postgres', q{SELECT count(*) FROM scribe.documents WHERE status = 'queued'}), '0',
	'and no document is queued for it');

# a document whose file is whole but whose data cannot be decoded (bytes of
# its compressed data overwritten) fails in the worker: the document ends
# failed with the reason, its job is done (no dead letter), health() stays ok
my $broken = $node->safe_psql('postgres', qq{
	SELECT scribe.document_submit(overlay(img PLACING decode(repeat('00', 2000), 'hex') FROM length(img) / 2),
	                              owner => 'family-1')
	FROM pg_read_binary_file('$scans/letter-clean.png') img});
ok($node->poll_query_until('postgres', "SELECT status <> 'queued' FROM scribe.documents WHERE document_id = $broken"),
	'the damaged scan is finished');
my ($status, $attempts, $error) = split /\|/, $node->safe_psql('postgres',
	"SELECT status, attempts, error FROM scribe.document_get($broken)");
is($status, 'failed', 'a damaged scan fails');
is($attempts, 1, 'without retries: retrying cannot fix the image');
like($error, qr/could not be decoded/, "and says why: $error");
is($node->safe_psql('postgres', qq{
	SELECT j.state || ' ' || (j.result->>'failed' IS NOT NULL)
	FROM scribe.documents d, scribe.job_get(d.job_id) j WHERE d.document_id = $broken}),
	'done true', 'its job is done, with the reason in its result: not a dead letter');
is($node->safe_psql('postgres', q{SELECT coalesce(sum(dead), 0) FROM scribe.queue_stats('ocr')}), '0',
	'the ocr queue has no dead letters');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM jsonb_array_elements(scribe.health()->'reasons') r
	WHERE r->>'code' = 'dead_letters_rising'}), '0',
	'and health() finds no dead letters rising');

# an engine killed mid-job: the job is retried, the document is not lost.
# Both workers' engines are stopped before the document comes: whichever
# worker takes it waits on an engine that cannot answer, and the kill lands
# mid-job.
my %engines = worker_engines();
is(scalar(keys %engines), 2, 'both workers have their engine');
kill 'STOP', values %engines;
my $victim = $node->safe_psql('postgres', qq{
	SELECT scribe.document_submit(pg_read_binary_file('$scans/letter-clean.png'), owner => 'family-3')});
my $worker;
wait_until(sub {
	$worker = $node->safe_psql('postgres', qq{
		SELECT w.pid FROM scribe.worker_status() w JOIN scribe.documents d ON d.job_id = w.job_id
		WHERE d.document_id = $victim});
	return $worker ne '';
});
my $killed = $worker ne '' && $engines{$worker} && kill 'KILL', $engines{$worker};
ok($killed, 'killed the engine of the worker running the document');
kill 'CONT', values %engines;
ok($node->poll_query_until('postgres', "SELECT status = 'done' FROM scribe.documents WHERE document_id = $victim"),
	'the document is recognised');
is($node->safe_psql('postgres', "SELECT status || ' after ' || attempts FROM scribe.document_get($victim)"),
	'done after 2', 'the document is done on its second attempt');

$node->stop;
done_testing();
