# DROP EXTENSION while the launcher and workers are busy succeeds every time
# (they give way on locks rather than deadlock with it), the workers stop,
# and CREATE EXTENSION starts afresh.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Utils;
use ScribeTest;
use Test::More;

my $rounds = 15;
my $node = scribe_node('dropext', conf => <<'CONF');
scribe.min_workers = 2
scribe.max_workers = 2
scribe.heartbeat_interval = 1
CONF
$node->start;
$node->safe_psql('postgres',
	q{CREATE FUNCTION public.busy(args jsonb) RETURNS void LANGUAGE sql AS $$ SELECT pg_sleep(0.01) $$});

my ($dropped, $busy) = (0, 0);
for my $round (1 .. $rounds)
{
	# more jobs than the round can run (5000 x 10 ms, two workers): the DROP
	# comes while they work, however slowly this machine gets to it
	$node->safe_psql('postgres', q{
		CREATE EXTENSION pg_scribe;
		SELECT scribe.queue_create('drop_me');
		SELECT count(*) FROM scribe.send_batch('drop_me',
		    array_fill('{"function": "public.busy"}'::jsonb, ARRAY[5000]), kind => 'sql');
	});
	# workers started and at work
	$busy++ if $node->poll_query_until('postgres',
		q{SELECT count(*) > 0 FROM scribe.worker_status() WHERE job_id IS NOT NULL});
	my ($ret, $stdout, $stderr) = $node->psql('postgres', 'DROP EXTENSION pg_scribe');
	if ($ret == 0)
	{
		$dropped++;
	}
	else
	{
		diag("round $round: $stderr");
		last;
	}
}
is($busy, $rounds, "workers ran jobs when each of the $rounds DROPs came");
is($dropped, $rounds, "DROP EXTENSION succeeded $rounds times in a row while jobs ran");
ok(wait_for_workers($node, 0), 'the workers stop without the extension');
unlike(slurp_file($node->logfile), qr/deadlock detected/, 'no deadlock anywhere');

$node->stop;
done_testing();
