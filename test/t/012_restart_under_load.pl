# An immediate-mode restart while producers enqueue and workers run jobs:
# nothing committed is lost, nothing runs twice.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";
use IPC::Run;
use PostgreSQL::Test::Utils;
use ScribeTest;
use Test::More;

my $node = scribe_node('restart', conf => <<'CONF');
scribe.min_workers = 2
scribe.max_workers = 2
scribe.heartbeat_interval = 0
CONF
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION pg_scribe;
	CREATE TABLE effects (n int NOT NULL);
	CREATE FUNCTION public.effect(args jsonb) RETURNS void LANGUAGE sql
	    AS $$ INSERT INTO effects VALUES ((args->>'n')::int) $$;
	SELECT scribe.queue_create('load', lease => '1 hour', max_attempts => 100);
	CREATE TABLE produced (n int PRIMARY KEY);
});

# a producer, about 400 jobs a second: job n and the row "n was produced"
# commit together
my ($out, $err) = ('', '');
my $producer = IPC::Run::start(
	[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('postgres'), '-c', q{
		DO $$
		BEGIN
		    FOR n IN 1..1000000 LOOP
		        PERFORM scribe.send('load', jsonb_build_object('function', 'public.effect',
		                                                       'args', jsonb_build_object('n', n)), kind => 'sql');
		        INSERT INTO produced VALUES (n);
		        COMMIT;
		        PERFORM pg_sleep(0.002);
		    END LOOP;
		END $$} ],
	'>', \$out, '2>', \$err);

ok($node->poll_query_until('postgres', 'SELECT count(*) >= 300 FROM effects'),
	'jobs are produced and run');
$node->stop('immediate');
$producer->finish;
$node->start;

my $produced = $node->safe_psql('postgres', 'SELECT count(*) FROM produced');
cmp_ok($produced, '>=', 300, "the producer committed $produced jobs before the crash");

# after the restart, the queue drains
ok(wait_until_drained($node, 'load'), 'every committed job finished after the restart');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM produced p LEFT JOIN effects e USING (n) WHERE e.n IS NULL}),
	'0', 'no committed job was lost');
is($node->safe_psql('postgres', q{SELECT count(*) FROM (SELECT n FROM effects GROUP BY n HAVING count(*) > 1) d}),
	'0', 'no job ran twice');
is($node->safe_psql('postgres', 'SELECT count(*) FROM effects'), $produced,
	'the effects are exactly the committed jobs');

$node->stop;
done_testing();
