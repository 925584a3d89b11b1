# Worker nodes: a second server whose pool workers claim the primary's ocr
# jobs over libpq with the queue's verbs (claim, ack, nack, release),
# recognise the documents at home and write them back.
# (a) with the primary's own pool off, the node recognises every document,
#     each page once in the ledger, and the jobs' results name the node;
# (b) a node killed mid-job holds the job only until the ocr queue's lease
#     runs out; then the primary's workers finish it, nothing twice;
# (c) a node that cannot reach the primary (bad conninfo, primary down) logs
#     it and keeps running, and the jobs wait for it on the primary;
# and a node stopped cleanly mid-job gives its job back at once.
#
# The node has one worker, whose OCR engine lives as long as it does: the
# test stops that engine (SIGSTOP) before a job comes, so the job is under
# way, not done, for as long as the test looks at it.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Utils;
use ScribeTest;
use Test::More;

my $scans = "$ENV{SCRIBE_SOURCE_DIR}/test/fixtures/scans";

my $primary = scribe_node('primary', conf => <<'CONF');
scribe.node_name = 'primary'
scribe.min_workers = 0
scribe.max_workers = 0
scribe.heartbeat_interval = 0
CONF
$primary->start;
$primary->safe_psql('postgres', q{
	CREATE EXTENSION pg_scribe;
	SELECT scribe.queue_alter('ocr', backoff_base => '0', backoff_cap => '0');
	-- the node's role: an application's and a monitor's functions, as the docs say
	CREATE ROLE scribe_node LOGIN;
	GRANT scribe_app, scribe_monitor TO scribe_node;
	-- and the right to claim from the ocr queue: what lets it take other users' scans
	SELECT scribe.queue_grant('ocr', 'scribe_node', '{claim}');
});
my $conninfo = 'host=' . $primary->host . ' port=' . $primary->port . ' dbname=postgres user=scribe_node';

my $node = scribe_node('node1', conf => <<"CONF");
scribe.node_name = 'node1'
scribe.min_workers = 1
scribe.max_workers = 1
scribe.heartbeat_interval = 0
scribe.queue_poll_interval = 100
scribe.queue_conninfo = '$conninfo'
CONF
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_scribe');
ok(wait_for_workers($node, 1), 'the worker node runs its pool');
is(workers_alive($primary), 0, 'the primary runs no worker of its own');

# Submit scans on the primary; returns their ids
sub submit
{
	my (@files) = @_;
	my $values = join ",\n", map { "(pg_read_binary_file('$scans/$_'), '$_')" } @files;
	return split /\n/, $primary->safe_psql('postgres', qq{
		SELECT scribe.document_submit(image, owner => 'family', metadata => jsonb_build_object('file', file))
		FROM (VALUES $values) v(image, file)});
}

# Wait until the documents are done or failed; true when all are done
sub wait_done
{
	my (@ids) = @_;
	my $list = join ',', @ids;
	return $primary->poll_query_until('postgres', qq{
		SELECT count(*) FILTER (WHERE status = 'done') = @{[ scalar @ids ]}
		FROM scribe.documents WHERE document_id IN ($list)});
}

# Pages that the ledger holds more than once
sub ledger_duplicates
{
	return $primary->safe_psql('postgres', q{
		SELECT count(*) FROM (SELECT document_id, page FROM scribe.ocr_ledger
		                      GROUP BY 1, 2 HAVING count(*) > 1) d});
}

# The node's worker and its engine: (worker pid, engine pid); dies if the
# worker has no engine (a signal to pid 0 would stop this test instead)
sub node_worker_engine
{
	my $worker = $node->safe_psql('postgres', 'SELECT pid FROM scribe.worker_status()');
	my $engine = ocr_engine_of($worker) or die "the node's worker ($worker) has no engine";
	return ($worker, $engine);
}

# Wait until the node's worker runs a job of the primary's; its job id
sub node_running_job
{
	my $job = '';
	wait_until(sub {
		$job = $node->safe_psql('postgres', q{
			SELECT job_id FROM scribe.worker_status() WHERE kind = 'ocr' AND job_id IS NOT NULL AND queue IS NULL});
		return $job ne '';
	});
	return $job;
}

# the node's worker starts its engine on a document of the node's own
$node->safe_psql('postgres',
	"SELECT scribe.document_submit(pg_read_binary_file('$ENV{SCRIBE_SOURCE_DIR}/test/fixtures/word.tif'), owner => 'node')");
ok($node->poll_query_until('postgres', q{SELECT status = 'done' FROM scribe.documents}),
	'the node recognises a document of its own');
my ($worker, $engine) = node_worker_engine();
ok($engine, "its worker ($worker) keeps an engine ($engine)");

# --- (a) the node recognises the primary's documents
kill 'STOP', $engine;
my @files = ('letter-clean.png', 'note-clean.jpg', 'list-two-pages.tif', 'diary-small-text.png');
my @ids = submit(@files);
isnt(node_running_job(), '', 'the node\'s worker_status shows the primary\'s job while it runs');
kill 'CONT', $engine;
ok(wait_done(@ids), 'every document submitted on the primary is done');
like($primary->safe_psql('postgres', q{
	SELECT text FROM scribe.documents WHERE metadata->>'file' = 'letter-clean.png'}),
	qr/Dear Margaret.*kind letter/s, 'the text of the letter is right');
is($primary->safe_psql('postgres', q{
	SELECT sum(pages) = (SELECT count(*) FROM scribe.ocr_ledger) FROM scribe.documents}),
	't', 'the ledger has a row per page');
is(ledger_duplicates(), 0, 'and no page twice');
is($primary->safe_psql('postgres', q{
	SELECT string_agg(DISTINCT result->>'node', ',') || ':' || count(*)
	FROM scribe.jobs_archive WHERE kind = 'ocr'}),
	'node1:' . scalar @ids, 'every job\'s result names the node');
cmp_ok($node->safe_psql('postgres', 'SELECT sum(jobs_done) FROM scribe.worker_status()'),
	'>=', scalar @ids, 'the node\'s workers count the jobs as done');
is($primary->safe_psql('postgres', q{
	SELECT count(*) FROM scribe.documents d JOIN scribe.document_pages p USING (document_id)}),
	$primary->safe_psql('postgres', 'SELECT sum(pages) FROM scribe.documents'),
	'the pages are written on the primary');

# a role without the grants cannot take jobs
my ($rc, $out, $err) = $primary->psql('postgres', q{SET ROLE scribe_node; SELECT scribe.claim('ocr', 1)});
is($rc, 0, 'the node\'s role may claim');
$primary->safe_psql('postgres', 'CREATE ROLE stranger LOGIN');
($rc, $out, $err) = $primary->psql('postgres', q{SET ROLE stranger; SELECT scribe.claim('ocr', 1)});
like($err, qr/permission denied for function claim/, 'another role may not');
# nor a consumer granted claim for its own queues (an application): an ocr job
# is another user's scan, and the ocr queue's claim right is not its
$primary->safe_psql('postgres', q{
	CREATE ROLE consumer LOGIN;
	GRANT scribe_app TO consumer;
	SELECT scribe.queue_create('own');
	SELECT scribe.queue_grant('own', 'consumer', '{claim}')});
# (the document is submitted in the consumer's transaction, so that the node cannot take it first)
($rc, $out, $err) = $primary->psql('postgres', qq{
	BEGIN;
	SELECT scribe.document_submit(pg_read_binary_file('$scans/note-clean.jpg'), owner => 'family');
	SET ROLE consumer;
	SELECT scribe.claim('ocr', 1);
	ROLLBACK;});
like($err, qr/permission denied for queue "ocr"/, 'a consumer of other queues may not claim ocr jobs');

# --- (b) the node dies mid-job; the lease runs out; another consumer finishes
$primary->safe_psql('postgres', q{SELECT scribe.queue_alter('ocr', lease => '15 seconds')});
($worker, $engine) = node_worker_engine();
kill 'STOP', $engine;
my @more = submit('letter-skewed-3deg.png', 'recipe-shadow.png', 'letter-clean.png');
my $running = node_running_job();
isnt($running, '', "the node runs job $running");
# the worker stopped too, so that not even its lease timer acts before it dies
kill 'STOP', $worker;
$node->stop('immediate');
is($primary->safe_psql('postgres', "SELECT lease_until IS NOT NULL FROM scribe.jobs WHERE job_id = $running"),
	't', 'the job stays leased on the primary after the node died');

reload_settings($primary, min_workers => 1, max_workers => 2);
ok(wait_done(@ids, @more), 'after the lease, the primary\'s workers finish every document');
is($primary->safe_psql('postgres', qq{
	SELECT attempts >= 2 AND errors->0->>'error' = 'lease expired' AND result->>'node' = 'primary'
	FROM scribe.jobs_archive WHERE job_id = $running}),
	't', 'the dead node\'s job ran again after its lease expired, on the primary');
is(ledger_duplicates(), 0, 'no page is in the ledger twice');
is($primary->safe_psql('postgres', q{
	SELECT sum(pages) = (SELECT count(*) FROM scribe.ocr_ledger) FROM scribe.documents}),
	't', 'and every page is there once');
is($primary->safe_psql('postgres', 'SELECT count(*) FROM scribe.jobs_dead'), 0, 'no job died');

# --- (c) a node that cannot reach the primary keeps running; the jobs wait
reload_settings($primary, min_workers => 0, max_workers => 0);
ok(wait_for_workers($primary, 0), 'the primary\'s workers stop again');
$primary->safe_psql('postgres', q{SELECT scribe.queue_alter('ocr', lease => '10 minutes')});

my $bad = 'host=' . $primary->host . ' port=1 dbname=postgres user=scribe_node';
$node->append_conf('postgresql.conf', "scribe.queue_conninfo = '$bad'\n");
my $log_offset = -s $node->logfile;
$node->start;
my @late = submit('note-clean.jpg');
ok($node->wait_for_log(qr/pg_scribe worker node: connecting to the primary failed/, $log_offset),
	'a bad conninfo is logged');
my ($failed_pid) = slurp_file($node->logfile, $log_offset)
  =~ /\[(\d+)\] .*pg_scribe worker node: connecting to the primary failed/;
is($primary->safe_psql('postgres', "SELECT status FROM scribe.documents WHERE document_id = $late[0]"),
	'queued', 'the document waits on the primary');

$node->safe_psql('postgres', "ALTER SYSTEM SET scribe.queue_conninfo = '$conninfo'");
$node->safe_psql('postgres', 'SELECT pg_reload_conf()');
ok(wait_done(@late), 'with the conninfo fixed, the node recognises it');
is($node->safe_psql('postgres', 'SELECT pid FROM scribe.worker_status() WHERE jobs_done > 0'), $failed_pid,
	'by the worker that failed to connect: it kept running');

# the primary goes down and comes back: the node logs it and carries on
$log_offset = -s $node->logfile;
$primary->stop('fast');
ok($node->wait_for_log(qr/pg_scribe worker node: (connecting to the primary|claiming an ocr job) failed/, $log_offset),
	'the primary going down is logged');
$primary->start;
my @after = submit('letter-clean.png');
ok(wait_done(@after), 'after the primary is back, the node recognises new documents');
ok($node->log_contains(qr/connected to the primary again/, $log_offset), 'and says it reconnected');
is(ledger_duplicates(), 0, 'still no page twice in the ledger');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_scribe launcher'}), 1,
	'the node\'s launcher lives on');
unlike(slurp_file($node->logfile), qr/pg_scribe worker \d+" \(PID \d+\) was terminated by signal/,
	'no worker of the node crashed');

# --- a node stopped cleanly mid-job gives the job back at once, uncounted
($worker, $engine) = node_worker_engine();
kill 'STOP', $engine;
my @given = submit('list-two-pages.tif');
my $held = node_running_job();
isnt($held, '', "the node runs job $held");
$node->stop('fast');
is($primary->safe_psql('postgres', "SELECT attempts, lease_until IS NULL FROM scribe.jobs WHERE job_id = $held"),
	'0|t', 'a node stopped mid-job gives the job back, the attempt not counted');

$primary->stop;
done_testing();
