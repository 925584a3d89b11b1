# Workers and signals: DROP DATABASE of another database completes while
# workers run jobs; a SIGTERM (pg_terminate_backend, a fast shutdown)
# cancels the running job and gives it back without using up an attempt.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Utils;
use ScribeTest;
use Test::More;

my $node = scribe_node('signals', conf => <<'CONF');
scribe.min_workers = 1
scribe.max_workers = 2
scribe.heartbeat_interval = 0
CONF
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION pg_scribe;
	CREATE TABLE done (n int);
	-- a gated nap waits for advisory lock 42 first: the test holds it
	CREATE FUNCTION public.nap(args jsonb) RETURNS void LANGUAGE sql
	    AS $$ SELECT pg_advisory_xact_lock_shared(42) WHERE (args->>'gate')::boolean;
	          SELECT pg_sleep((args->>'seconds')::float); INSERT INTO done VALUES ((args->>'n')::int) $$;
	SELECT scribe.queue_create('naps', lease => '10 minutes');
	CREATE DATABASE scratch;
});

# workers busy in jobs that cannot end (they wait for a lock this test
# holds) while another database is dropped
my $gate = scribe_session($node);
$gate->query_safe('SELECT pg_advisory_lock(42)');
$node->safe_psql('postgres', q{
	SELECT count(*) FROM scribe.send_batch('naps',
	    ARRAY['{"function": "public.nap", "args": {"n": 1, "seconds": 0, "gate": true}}',
	          '{"function": "public.nap", "args": {"n": 2, "seconds": 0, "gate": true}}']::jsonb[], kind => 'sql')});
my $busy_jobs = q{SELECT count(*) FROM scribe.worker_status() w JOIN pg_locks l ON l.pid = w.pid
	WHERE w.job_id IS NOT NULL AND l.locktype = 'advisory' AND NOT l.granted};
ok($node->poll_query_until('postgres', "SELECT ($busy_jobs) >= 1"), 'a worker runs a job that waits');
my ($stdout, $stderr, $timed_out);
# a hung DROP is cut off after the test timeout
my $ret = $node->psql('postgres', 'DROP DATABASE scratch',
	stdout => \$stdout, stderr => \$stderr, timeout => $PostgreSQL::Test::Utils::timeout_default,
	timed_out => \$timed_out);
ok(!$timed_out && $ret == 0, 'DROP DATABASE of another database completes while workers run jobs')
  or diag($stderr);
cmp_ok($node->safe_psql('postgres', $busy_jobs), '>=', 1, 'the jobs were still running when it did');
$gate->query_safe('SELECT pg_advisory_unlock(42)');
$gate->quit;
ok(wait_until_drained($node, 'naps'), 'and the jobs finish');

# pg_terminate_backend on a busy worker: the job, an hour long, is cancelled
# and given back; the worker exiting at all shows it did not wait for it
$node->safe_psql('postgres',
	q{SELECT scribe.send('naps', '{"function": "public.nap", "args": {"n": 3, "seconds": 3600}}', kind => 'sql')});
ok($node->poll_query_until('postgres',
		q{SELECT count(*) = 1 FROM scribe.worker_status() WHERE job_id IS NOT NULL}),
	'a worker runs the hour-long job');
my $busy = $node->safe_psql('postgres',
	q{SELECT pid FROM scribe.worker_status() WHERE job_id IS NOT NULL});
$node->safe_psql('postgres', "SELECT pg_terminate_backend($busy)");
ok($node->poll_query_until('postgres',
		"SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $busy"),
	'a terminated worker exits without waiting for its hour-long job');
# another worker takes the job: still its first attempt, with no error
ok($node->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM scribe.worker_status() WHERE job_id IS NOT NULL AND pid <> $busy"),
	'another worker runs the job');
is($node->safe_psql('postgres', q{
	SELECT attempts, errors IS NULL FROM scribe.jobs WHERE payload @> '{"args": {"n": 3}}'}),
	'1|t', 'the job was given back without using up an attempt');

# a fast shutdown in the middle of the hour-long job does the same: the stop
# returning at all (pg_ctl gives up after a minute) shows it did not wait
$node->stop('fast');
$node->start;
ok($node->poll_query_until('postgres',
		q{SELECT count(*) = 1 FROM scribe.worker_status() WHERE job_id IS NOT NULL}),
	'after a fast shutdown and a restart a worker runs the job again');
is($node->safe_psql('postgres', q{
	SELECT attempts, errors IS NULL FROM scribe.jobs WHERE payload @> '{"args": {"n": 3}}'}),
	'1|t', 'the fast shutdown gave it back unharmed too');
is($node->safe_psql('postgres', 'SELECT count(*) FROM done WHERE n = 3'), '0', 'the job never finished');

$node->stop;
done_testing();
