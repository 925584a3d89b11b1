# scribe.cache_fetch under concurrency: eight sessions missing the same key
# at once run its loader once (single-flight) and all get its value; a loader
# that fails releases the key for the next caller; a hot key is refreshed
# before it expires (XFetch), by one session while the others read it, so
# it never expires under load; with scribe.cache_fetch_beta = 0 it does; a
# value loaded from rows that a transaction replaced while the loader ran
# is not stored after that transaction's commit.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";
use IPC::Run;
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

# a loader reads a row (its snapshot: the old balance) while another session
# updates the row and commits; the invalidation trigger deletes the key at
# commit; the loader finishes after that and must not store the old balance
$node->safe_psql('postgres', q{
	CREATE TABLE accounts (id int PRIMARY KEY, balance int);
	INSERT INTO accounts VALUES (1, 100);
	SELECT scribe.cache_invalidate_on('accounts', 'acct:{id}');
});
my ($loader_out, $loader_err) = ('', '');
my $loader = IPC::Run::start(
	[ 'psql', '-X', '-A', '-t', '-d', $node->connstr('postgres'), '-c',
		q{SELECT scribe.cache_fetch('acct:1', 'SELECT balance::text FROM accounts, pg_sleep(1.5) WHERE id = 1', '1 hour')} ],
	'>', \$loader_out, '2>', \$loader_err);
# the loader has its snapshot once it sleeps
ok($node->poll_query_until('postgres', q{SELECT count(*) > 0 FROM pg_stat_activity WHERE wait_event = 'PgSleep'}),
	'the loader runs');
$node->safe_psql('postgres', q{UPDATE accounts SET balance = 200 WHERE id = 1});
$loader->finish;
is($loader_out =~ s/\s+$//r, '100', 'the slow loader returns what its snapshot saw');
is($node->safe_psql('postgres', q{SELECT scribe.cache_get('acct:1') IS NULL}), 't',
	'but did not store it: the key was deleted while it ran');
is($node->safe_psql('postgres',
	q{SELECT scribe.cache_fetch('acct:1', 'SELECT balance::text FROM accounts WHERE id = 1', '1 hour')}),
	'200', 'the next fetch loads the new balance');

$node->stop;
done_testing();
