# The rate limiter: exactly limit requests allowed per key however many
# clients race for them; a bounded table that drops keys whose limit has run
# out before keys that still limit; state that lives in shared memory only;
# and clear errors when the table is disabled or the library not preloaded.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Utils;
use ScribeTest;
use Test::More;

my $node = scribe_node('rate_limit', conf => <<'CONF');
scribe.rate_limit_keys = 100
scribe.max_workers = 0
CONF
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION pg_scribe;
	CREATE TABLE hits (k int);
});

# --- exactness: 8 clients, 2 keys of 2500 per day, 40000 requests ----------
# 100 requests per transaction, so that the clients spend their time in the
# limiter and race for the same key as often as they can
$node->pgbench(
	'--no-vacuum --client=8 --jobs=2 --transactions=50',
	0,
	[qr{processed: 400/400}],
	[qr{^$}],
	'8 clients race for 2 keys',
	{
		'030_rate_limit_race' => q{
\set k random(0, 1)
INSERT INTO hits
SELECT :k FROM (SELECT (scribe.rate_limit_take('race:' || :k, 2500, '1 day')).allowed
                FROM generate_series(1, 100)) calls
WHERE allowed;
}
	});
is($node->safe_psql('postgres', 'SELECT count(*) FROM hits'), '5000',
	'exactly 2 x 2500 requests were allowed');
is($node->safe_psql('postgres',
		'SELECT count(*) FROM (SELECT k FROM hits GROUP BY k HAVING count(*) = 2500) full_keys'),
	'2', 'exactly 2500 for each key');
is($node->safe_psql('postgres', q{
	SELECT remaining FROM scribe.rate_limit_take('race:0', 2500, '1 day', cost => 0)}),
	'0', 'the keys have nothing left');
is($node->safe_psql('postgres', 'SELECT allowed, rejected FROM scribe.rate_limit_stats()'),
	'5000|35000', 'rate_limit_stats() counted every request');

# --- a bounded table: keys whose limit has run out go first -----------------
$node->safe_psql('postgres', q{
	SELECT scribe.rate_limit_take('hot', 5, '1 hour') FROM generate_series(1, 5)});
is($node->safe_psql('postgres', q{SELECT allowed FROM scribe.rate_limit_take('hot', 5, '1 hour')}),
	'f', 'the hot key is limited');

# 1000 idle keys of one request per millisecond, used 5 at a time, 5 ms apart:
# each has run out (its TAT has passed) by the time the next ones come
$node->safe_psql('postgres', q{
	DO $$
	BEGIN
	    FOR i IN 1..1000 LOOP
	        PERFORM scribe.rate_limit_take('idle:' || i, 1, '1 millisecond');
	        IF i % 5 = 0 THEN
	            PERFORM pg_sleep(0.005);
	        END IF;
	    END LOOP;
	END
	$$});
my ($keys, $capacity, $evictions, $limiting) = split /\|/, $node->safe_psql('postgres',
	'SELECT keys, capacity, evictions, evictions_limiting FROM scribe.rate_limit_stats()');
is($capacity, 100, 'the table holds scribe.rate_limit_keys keys');
cmp_ok($keys, '<=', 100, "1000 more keys leave it bounded ($keys keys)");
cmp_ok($evictions, '>', 0, "by evicting keys ($evictions)");
is($limiting, 0, 'none of them still limiting');
is($node->safe_psql('postgres', q{SELECT allowed, remaining FROM scribe.rate_limit_take('hot', 5, '1 hour')}),
	'f|0', 'the hot key, least recently used, kept its state');

# 1000 keys that all still limit: the least recently used go, and count
$node->safe_psql('postgres', q{
	SELECT scribe.rate_limit_take('live:' || i, 1, '1 hour') FROM generate_series(1, 1000) i});
($keys, $evictions, $limiting) = split /\|/, $node->safe_psql('postgres',
	'SELECT keys, evictions, evictions_limiting FROM scribe.rate_limit_stats()');
cmp_ok($keys, '<=', 100, "a full table of limiting keys stays bounded ($keys keys)");
cmp_ok($limiting, '>', 0, "evictions of keys still limiting are counted ($limiting)");
is($node->safe_psql('postgres', q{SELECT allowed FROM scribe.rate_limit_take('live:1000', 1, '1 hour')}),
	'f', 'the most recently used key is still limited');
is($node->safe_psql('postgres', q{SELECT allowed FROM scribe.rate_limit_take('live:1', 1, '1 hour')}),
	't', 'the least recently used one was forgotten');

# --- shared memory only: a restart forgets everything ------------------------
$node->restart;
is($node->safe_psql('postgres',
		'SELECT keys, evictions, allowed, rejected FROM scribe.rate_limit_stats()'),
	'0|0|0|0', 'after a restart the table is empty');
is($node->safe_psql('postgres', q{SELECT allowed FROM scribe.rate_limit_take('live:1000', 1, '1 hour')}),
	't', 'and a key limited before the restart is allowed again');

# --- scribe.rate_limit_keys = 0 disables the limiter -------------------------
$node->append_conf('postgresql.conf', "scribe.rate_limit_keys = 0\n");
$node->restart;
my ($ret, $stdout, $stderr) = $node->psql('postgres', q{
	\set VERBOSITY verbose
	SELECT allowed FROM scribe.rate_limit_take('k', 1, '1 hour')});
like($stderr, qr/ERROR:  55000: the rate limiter is disabled/, 'disabled: a clear ERROR (55000)');
like($stderr, qr/HINT:  Set scribe.rate_limit_keys/, 'with a hint naming the setting');
is($node->safe_psql('postgres', 'SELECT keys, capacity FROM scribe.rate_limit_stats()'),
	'0|0', 'rate_limit_stats() reports no capacity');

# --- without the preloaded library ----------------------------------------------
$node->append_conf('postgresql.conf', "shared_preload_libraries = ''\n");
$node->restart;
($ret, $stdout, $stderr) = $node->psql('postgres', q{
	\set VERBOSITY verbose
	SELECT allowed FROM scribe.rate_limit_take('k', 1, '1 hour')});
like($stderr, qr/ERROR:  55000: pg_scribe is not loaded through shared_preload_libraries/,
	'not preloaded: the ERROR names shared_preload_libraries');

$node->stop;
done_testing();
