# scribe.cache_fetch under concurrency: eight sessions missing the same key
# at once run its loader once (single-flight) and all get its value; a loader
# that fails releases the key for the next caller.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Utils;
use ScribeTest;
use Test::More;

my $node = scribe_node('fetch', conf => <<"CONF");
scribe.min_workers = 0
scribe.max_workers = 0
scribe.heartbeat_interval = 0
CONF
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION pg_scribe;
	CREATE SEQUENCE loads;
	CREATE TABLE seen (v text);
});

# eight clients at once on one cold key whose loader takes half a second
$node->pgbench(
	'--no-vacuum --client=8 --jobs=4 --transactions=1',
	0,
	[qr{processed: 8/8}],
	[qr{^$}],
	'eight sessions fetch one cold key at once',
	{
		'fetch' => q{
INSERT INTO seen SELECT scribe.cache_fetch('report:1', 'SELECT nextval(''loads'')::text FROM pg_sleep(0.5)', '1 hour');
}
	});
is($node->safe_psql('postgres', 'SELECT last_value FROM loads'), 1, 'the loader ran once');
is($node->safe_psql('postgres', q{SELECT string_agg(DISTINCT v, ',') || ' x' || count(*) FROM seen}), '1 x8',
	'and every session got its value');

# a failing loader releases the key: the next caller loads
my ($ret, $out, $err) = $node->psql('postgres',
	q{SELECT scribe.cache_fetch('report:2', 'SELECT (1 / 0)::text')});
like($err, qr/division by zero/, 'a loader error is the caller\'s error');
is($node->safe_psql('postgres', q{SELECT scribe.cache_fetch('report:2', 'SELECT ''fine''', '1 hour')}), 'fine',
	'the next caller loads the key at once');

$node->stop;
done_testing();
