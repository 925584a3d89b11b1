# scribe.cache_fetch under concurrency: eight sessions missing the same key
# at once run its loader once (single-flight) and all get its value; a loader
# that fails releases the key for the next caller; a hot key is refreshed
# before it expires (XFetch), by one session while the others read it, so
# it never expires under load; with scribe.cache_fetch_beta = 0 it does.
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

# a hot key with a 1 s ttl and a 50 ms loader, read by four clients for 4 s
sub hot_key_run
{
	my ($name, $beta) = @_;
	$node->safe_psql('postgres', "SELECT setval('loads', 1, false)");
	$node->pgbench(
		'--no-vacuum --client=4 --jobs=2 --time=4',
		0,
		[qr{processed: \d+}],
		[qr{^$}],
		"four clients read hot key $name for 4 s (beta $beta)",
		{
			"hot_$name" => qq{
SET scribe.cache_fetch_beta = $beta;
SELECT scribe.cache_fetch('$name:1', 'SELECT nextval(''loads'')::text FROM pg_sleep(0.05)', '1 second');
}
		});
	return split /\|/, $node->safe_psql('postgres',
		qq{SELECT loads, early_refreshes, hits FROM scribe.cache_namespace_stats() WHERE namespace = '$name'});
}

my ($loads, $early, $hits) = hot_key_run('xfetch', 1);
cmp_ok($early, '>=', 2, "the key was refreshed early ($early times in 4 s with a 1 s ttl)");
is($loads - $early, 1, 'no load but the first was a miss: the key never expired under load');
cmp_ok($hits, '>', 100, "the others kept reading it ($hits hits)");

($loads, $early, $hits) = hot_key_run('plain', 0);
is($early, 0, 'scribe.cache_fetch_beta = 0: no early refresh');
cmp_ok($loads, '>=', 3, "the key expired and was loaded again ($loads loads)");

$node->stop;
done_testing();
