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
use Time::HiRes qw(time);

my $node = scribe_node('signals', conf => <<'CONF');
scribe.min_workers = 1
scribe.max_workers = 2
scribe.heartbeat_interval = 0
CONF
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION pg_scribe;
	CREATE TABLE done (n int);
	CREATE FUNCTION public.nap(args jsonb) RETURNS void LANGUAGE sql
	    AS $$ SELECT pg_sleep((args->>'seconds')::float); INSERT INTO done VALUES ((args->>'n')::int) $$;
	SELECT scribe.create_queue('naps', lease => '10 minutes');
	CREATE DATABASE scratch;
});

# workers busy in long jobs; another database is dropped meanwhile
$node->safe_psql('postgres', q{
	SELECT count(*) FROM scribe.send_batch('naps',
	    ARRAY['{"function": "public.nap", "args": {"n": 1, "seconds": 3}}',
	          '{"function": "public.nap", "args": {"n": 2, "seconds": 3}}']::jsonb[], kind => 'sql')});
$node->poll_query_until('postgres',
	q{SELECT count(*) >= 1 FROM scribe.worker_status() WHERE job_id IS NOT NULL});
my ($stdout, $stderr, $timed_out);
my $ret = $node->psql('postgres', 'DROP DATABASE scratch',
	stdout => \$stdout, stderr => \$stderr, timeout => 60, timed_out => \$timed_out);
ok(!$timed_out && $ret == 0, 'DROP DATABASE of another database completes while workers run jobs')
  or diag($stderr);
ok(wait_until_drained($node, 'naps'), 'and the jobs finish');

# pg_terminate_backend on a busy worker: the job is cancelled and given back
$node->safe_psql('postgres',
	q{SELECT scribe.send('naps', '{"function": "public.nap", "args": {"n": 3, "seconds": 30}}', kind => 'sql')});
$node->poll_query_until('postgres',
	q{SELECT count(*) = 1 FROM scribe.worker_status() WHERE job_id IS NOT NULL});
my $busy = $node->safe_psql('postgres',
	q{SELECT pid FROM scribe.worker_status() WHERE job_id IS NOT NULL});
my $start = time;
$node->safe_psql('postgres', "SELECT pg_terminate_backend($busy)");
ok($node->poll_query_until('postgres',
		"SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $busy"),
	'a terminated worker exits');
cmp_ok(time - $start, '<', 20, 'without waiting for its 30-second job');
# another worker takes the job: still its first attempt, with no error
ok($node->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM scribe.worker_status() WHERE job_id IS NOT NULL AND pid <> $busy"),
	'another worker runs the job');
is($node->safe_psql('postgres', q{
	SELECT attempts, errors IS NULL FROM scribe.jobs WHERE payload @> '{"args": {"n": 3}}'}),
	'1|t', 'the job was given back without using up an attempt');

# a fast shutdown in the middle of a job does the same
$start = time;
$node->stop('fast');
cmp_ok(time - $start, '<', 20, 'a fast shutdown does not wait for the running job');
$node->start;
ok($node->poll_query_until('postgres',
		q{SELECT count(*) = 1 FROM scribe.worker_status() WHERE job_id IS NOT NULL}),
	'after the restart a worker runs the job again');
is($node->safe_psql('postgres', q{
	SELECT attempts, errors IS NULL FROM scribe.jobs WHERE payload @> '{"args": {"n": 3}}'}),
	'1|t', 'the fast shutdown gave it back unharmed too');

$node->stop;
done_testing();
