# scribe.cache_fetch under concurrency: eight sessions missing the same key
# at once run its loader once (single-flight) and all get its value; a loader
# that fails releases the key for the next caller; a key is refreshed
# before it expires (XFetch), by one session while the others keep reading
# the value they have; with scribe.cache_fetch_beta = 0 it never is, and
# expires; a value loaded from rows that a transaction replaced while the
# loader ran is not stored after that transaction's commit.
#
# Where a loader must still be running when something happens, it waits
# for an advisory lock the test holds; how often a hot key is refreshed
# under load is for benchmarks (make bench-cache), not for this test.
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

# Loads, early refreshes and hits of a namespace
sub fetch_stats
{
	my ($name) = @_;
	return split /\|/, $node->safe_psql('postgres',
		qq{SELECT loads, early_refreshes, hits FROM scribe.cache_namespace_stats() WHERE namespace = '$name'});
}

# Sessions waiting for advisory lock $key
sub lock_waiters
{
	my ($key) = @_;
	return qq{SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = $key AND NOT granted};
}

# XFetch: a value that took 0.6 s to load, with beta 100, is refreshed
# early by a read of it with a probability of at least exp(-ttl / (0.6 s x
# 100)), over a third with a one-minute ttl; one session reads it until its
# read refreshes (the refresh then waits at the gate) while another reads
# the old value.
my $gate = scribe_session($node);
my $loader = q{SELECT nextval(''loads'')::text FROM pg_sleep(0.6), (SELECT pg_advisory_xact_lock_shared(17)) g};
my $fetch_hot = "SELECT scribe.cache_fetch('xfetch:1', '$loader', '1 minute')";
$node->safe_psql('postgres', "SELECT setval('loads', 1, false)");
is($node->safe_psql('postgres', "SET scribe.cache_fetch_beta = 100; $fetch_hot"), '1', 'a miss loads the hot key');
$gate->query_safe('SELECT pg_advisory_lock(17)');
# reads until one of them has refreshed the key (at most 200: the chance
# that none refreshes is below 1e-39)
my $read_hot = $fetch_hot =~ s/^SELECT //r;
my $refresher = scribe_session($node);
$refresher->query_until(qr/reading\n/, qq{\\echo reading
SET scribe.cache_fetch_beta = 100;
DO \$\$ BEGIN
	FOR i IN 1..200 LOOP
		PERFORM $read_hot;
		EXIT WHEN (SELECT early_refreshes FROM scribe.cache_namespace_stats() WHERE namespace = 'xfetch') > 0;
	END LOOP;
END \$\$;
});
ok($node->poll_query_until('postgres', 'SELECT (' . lock_waiters(17) . ') = 1'),
	'a read of the unexpired key refreshes it early: its loader runs');
my (undef, $old) = $node->psql('postgres', "SET scribe.cache_fetch_beta = 100; $fetch_hot",
	timeout => $PostgreSQL::Test::Utils::timeout_default);
is($old, '1', 'meanwhile another session reads the value there is, without waiting for the refresh');
$gate->query_safe('SELECT pg_advisory_unlock(17)');
is($refresher->query_safe('SELECT 1'), '1', 'the refresh ends');
$refresher->quit;
my ($loads, $early, $hits) = fetch_stats('xfetch');
is($early, 1, 'one early refresh');
is($loads - $early, 1, 'no load but the first was a miss: the key never expired');
cmp_ok($hits, '>=', 1, "the other reads were hits ($hits)");
is($node->safe_psql('postgres', "SET scribe.cache_fetch_beta = 0; $fetch_hot"),
	'2', 'the refreshed value is read next');

# scribe.cache_fetch_beta = 0: no early refresh; a key with a 1 s ttl read
# until it was loaded three times expired twice
$node->safe_psql('postgres', "SELECT setval('loads', 1, false)");
my $fetch_plain = q{SET scribe.cache_fetch_beta = 0;
	SELECT scribe.cache_fetch('plain:1', 'SELECT nextval(''loads'')::text FROM pg_sleep(0.05)', '1 second')};
ok(wait_until(sub { $node->safe_psql('postgres', $fetch_plain) >= 3 }),
	'the key expired and was loaded again, and again');
($loads, $early, $hits) = fetch_stats('plain');
is($early, 0, 'scribe.cache_fetch_beta = 0: no early refresh');
cmp_ok($loads, '>=', 3, "every load a miss ($loads loads)");

# a loader reads a row (its snapshot: the old balance) while another session
# updates the row and commits; the invalidation trigger deletes the key at
# commit; the loader finishes after that and must not store the old balance
$node->safe_psql('postgres', q{
	CREATE TABLE accounts (id int PRIMARY KEY, balance int);
	INSERT INTO accounts VALUES (1, 100);
	SELECT scribe.cache_invalidate_on('accounts', 'acct:{id}');
});
my ($loader_out, $loader_err) = ('', '');
$gate->query_safe('SELECT pg_advisory_lock(18)');
my $slow_loader = IPC::Run::start(
	[ 'psql', '-X', '-A', '-t', '-d', $node->connstr('postgres'), '-c',
		q{SELECT scribe.cache_fetch('acct:1', 'SELECT balance::text FROM accounts, (SELECT pg_advisory_xact_lock_shared(18)) g WHERE id = 1', '1 hour')} ],
	'>', \$loader_out, '2>', \$loader_err);
# the loader has its snapshot once it waits at the gate
ok($node->poll_query_until('postgres', 'SELECT (' . lock_waiters(18) . ') = 1'), 'the loader runs');
$node->safe_psql('postgres', q{UPDATE accounts SET balance = 200 WHERE id = 1});
$gate->query_safe('SELECT pg_advisory_unlock(18)');
$slow_loader->finish;
is($loader_out =~ s/\s+$//r, '100', 'the slow loader returns what its snapshot saw');
is($node->safe_psql('postgres', q{SELECT scribe.cache_get('acct:1') IS NULL}), 't',
	'but did not store it: the key was deleted while it ran');
is($node->safe_psql('postgres',
	q{SELECT scribe.cache_fetch('acct:1', 'SELECT balance::text FROM accounts WHERE id = 1', '1 hour')}),
	'200', 'the next fetch loads the new balance');
$gate->quit;

$node->stop;
done_testing();
