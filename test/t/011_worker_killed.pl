# A worker killed (kill -9) mid-job, twenty times over: every job still
# completes, and its effect is applied exactly once.  A SIGKILL makes the
# postmaster restart every process; the launcher then releases the jobs that
# workers held, so they run again at once, not when their lease runs out.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Utils;
use ScribeTest;
use Test::More;

my $jobs = 80;
my $kills = 20;

my $node = scribe_node('killed', conf => <<'CONF');
restart_after_crash = on
scribe.min_workers = 2
scribe.max_workers = 2
scribe.heartbeat_interval = 0
CONF
$node->start;
$node->safe_psql('postgres', qq{
	CREATE EXTENSION pg_scribe;
	CREATE TABLE effects (n int NOT NULL);
	CREATE FUNCTION public.effect(args jsonb) RETURNS jsonb LANGUAGE sql
	    AS \$\$ INSERT INTO effects VALUES ((args->>'n')::int);
	           SELECT pg_sleep(0.2);
	           SELECT jsonb_build_object('n', args->'n') \$\$;
	-- a lease far longer than the test: only the launcher's release can help
	SELECT scribe.queue_create('killed', lease => '1 hour', max_attempts => 100);
	SELECT count(*) FROM scribe.send_batch('killed',
	    ARRAY(SELECT jsonb_build_object('function', 'public.effect', 'args', jsonb_build_object('n', g))
	          FROM generate_series(1, $jobs) g), kind => 'sql');
});

my $killed = 0;
for my $i (1 .. $kills)
{
	# a worker in the middle of a job, found in one look (a query that fails
	# while the server restarts just looks again)
	my $busy = '';
	wait_until(sub {
		my ($ret, $out) = $node->psql('postgres',
			q{SELECT pid FROM scribe.worker_status() WHERE job_id IS NOT NULL LIMIT 1});
		$busy = $ret == 0 ? $out : '';
		return $busy ne '';
	}) or last;
	kill('KILL', $busy) or last;
	$killed++;
	# the server restarts every process: wait until the killed worker is gone
	# (its entry goes with the shared memory the restart makes anew)
	$node->poll_query_until('postgres', "SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $busy")
	  or last;
}
is($killed, $kills, "killed a busy worker $kills times");

ok($node->poll_query_until('postgres',
		q{SELECT count(*) = 0 FROM scribe.jobs}, 't'),
	'every job finished after the kills');
is($node->safe_psql('postgres', 'SELECT count(*), count(DISTINCT n), min(n), max(n) FROM effects'),
	"$jobs|$jobs|1|$jobs", 'each job\'s effect was applied exactly once');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM scribe.jobs_archive a JOIN scribe.queues q USING (queue_id)
	WHERE q.name = 'killed'}), $jobs, 'every job is in the archive');
is($node->safe_psql('postgres', 'SELECT count(*) FROM scribe.jobs_dead'), '0', 'none is dead');
cmp_ok($node->safe_psql('postgres', q{
	SELECT count(*) FROM scribe.jobs_archive
	WHERE errors @> '[{"error": "the worker running the job stopped (server restart or crash)"}]'}),
	'>', 0, 'the interrupted attempts are recorded');
like(slurp_file($node->logfile), qr/released \d+ job\(s\) that workers held before a restart/,
	'the launcher logged the release');

$node->stop;
done_testing();
