# scribe.database moved from one database to another, the extension left in
# both: in the one no longer served, jobs for workers (and documents) are
# refused at once instead of waiting for ever, queues of clients still work,
# and health() says the database is not served instead of blaming the
# launcher; the served one runs its jobs.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Utils;
use ScribeTest;
use Test::More;

my $scans = "$ENV{SCRIBE_SOURCE_DIR}/test/fixtures/scans";
my $node = scribe_node('moved', conf => <<'CONF');
scribe.database = 'archive_old'
scribe.heartbeat_interval = 1
scribe.min_workers = 1
scribe.max_workers = 1
CONF
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE archive_old; CREATE DATABASE archive_new');
my $setup = q{
	CREATE EXTENSION pg_scribe;
	SELECT scribe.queue_create('tasks');
	SELECT scribe.queue_create('inbox', consumer => 'clients');
	CREATE TABLE done (n int);
	CREATE FUNCTION public.record(args jsonb) RETURNS void LANGUAGE sql
		AS $$ INSERT INTO public.done VALUES ((args->>'n')::int) $$;
};
$node->safe_psql('archive_old', $setup);
ok(wait_for_launcher($node, 'running'), 'the launcher runs in archive_old');

# the DBA moves pg_scribe to another database and installs it there
$node->stop;
$node->append_conf('postgresql.conf', "scribe.database = 'archive_new'\n");
$node->start;
$node->safe_psql('archive_new', $setup);
ok(wait_for_launcher($node, 'running'), 'the launcher runs in archive_new');

# Run SQL in a database; its error as "SQLSTATE: message / hint", or '' on success
sub error_of
{
	my ($db, $sql) = @_;
	my ($ret, $out, $err) = $node->psql($db, "\\set VERBOSITY verbose\n$sql", on_error_stop => 1);
	return '' if $ret == 0;
	my ($state, $msg) = $err =~ /ERROR:\s+(\w{5}):\s+(.*)/;
	my ($hint) = $err =~ /HINT:\s+(.*)/;
	return "$state: $msg" . ($hint ? " / $hint" : '');
}

# --- the database left behind ---
my $refused = qr/^55000: queue "(\w+)" is consumed by workers, which run in database "archive_new", not in "archive_old" \/ Send it in database "archive_new", or set scribe.database = 'archive_old' in postgresql.conf and restart the server; queues created with consumer => 'clients' work in any database\.$/;
like(error_of('archive_old', q{SELECT scribe.send('tasks', '{"function": "public.record", "args": {"n": 1}}', kind => 'sql')}),
	$refused, 'send() to a queue of workers is refused, naming both databases');
like(error_of('archive_old', q{SELECT scribe.send_batch('tasks', ARRAY['{"function": "public.record"}'::jsonb], kind => 'sql')}),
	$refused, 'send_batch() too');
my $err = error_of('archive_old', qq{SELECT scribe.document_submit(pg_read_binary_file('$scans/letter-clean.png'), owner => 'family-1')});
like($err, $refused, 'and document_submit(), whose ocr queue the workers consume');
like($err, qr/queue "ocr"/, 'naming the ocr queue');
is($node->safe_psql('archive_old', q{SELECT (SELECT count(*) FROM scribe.jobs) + (SELECT count(*) FROM scribe.documents)}),
	'0', 'nothing was left behind');

is($node->safe_psql('archive_old', q{
	SELECT scribe.send('inbox', '{"to": "ann"}') > 0;
	SELECT x.payload->>'to' FROM (SELECT c.payload, scribe.ack(c.job_id, c.lease) FROM scribe.claim('inbox') c) x;}),
	"t\nann",
	'a queue of clients works there: applications consume it');

# health() there: the database is not served, and no reason blames the
# launcher, once it has run long enough in archive_new for a heartbeat to be
# stale in the old database
ok($node->poll_query_until('archive_old',
		q{SELECT state_since < now() - scribe._heartbeat_stale_after() FROM scribe._launcher_status()}),
	'the launcher has run for longer than a heartbeat may age');
is($node->safe_psql('archive_old', q{
	SELECT (h->>'status') || ': ' || string_agg(r->>'code', ',')
	FROM scribe.health() h, jsonb_array_elements(h->'reasons') r GROUP BY h->>'status'}),
	'failing: not_served_database', 'health() in archive_old is failing, for that one reason');
like($node->safe_psql('archive_old', q{
	SELECT (r->>'message') || ' / ' || (r->>'hint')
	FROM scribe.health() h, jsonb_array_elements(h->'reasons') r}),
	qr{^this database is not scribe.database \(archive_new\): no launcher or worker serves it, so jobs for workers, documents, policies and heartbeats never run here / Use pg_scribe in database archive_new .* or set scribe.database = 'archive_old' in postgresql.conf and restart the server; then DROP EXTENSION pg_scribe where it is no longer used\.$},
	'its message and hint');
like($node->safe_psql('archive_old', 'SELECT scribe.metrics()'), qr/^scribe_database_served 0$/m,
	'metrics() there: not served');

# --- the served database ---
is(error_of('archive_new', q{SELECT scribe.send('tasks', '{"function": "public.record", "args": {"n": 7}}', kind => 'sql')}),
	'', 'in archive_new, send() to the workers is accepted');
ok($node->poll_query_until('archive_new', q{SELECT count(*) = 1 FROM done WHERE n = 7}), 'and the job runs');
like($node->safe_psql('archive_new', 'SELECT scribe.metrics()'), qr/^scribe_database_served 1$/m,
	'metrics() there: served');
unlike($node->safe_psql('archive_new', q{SELECT scribe.health()::text}), qr/not_served_database/,
	'health() there does not complain of it');

# after DROP EXTENSION in the old database, nothing of it remains to mislead
$node->safe_psql('archive_old', 'DROP EXTENSION pg_scribe');
is($node->safe_psql('archive_new', q{SELECT scribe.health()->'launcher'->>'state'}), 'running',
	'dropping it in the old database leaves the launcher running in the new one');

$node->stop;
done_testing();
