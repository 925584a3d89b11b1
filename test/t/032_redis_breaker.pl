# The cache's Redis tier against a real redis-server on loopback: round
# trips (binary, 1 MB, pipelined), TTL expiry, a key of the wrong type, a
# wrong password, malformed URLs, Redis killed (the breaker opens, calls
# return at once, one probe per cool-down), Redis restarted (the breaker
# closes), Redis stopped with SIGSTOP (each call bounded by the command
# timeout), and no Redis configured.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use ScribeTest;
use Test::More;
use Time::HiRes qw(usleep);

# The path of a program on PATH (or in /usr/bin, /usr/sbin), or undef
sub find_program
{
	my ($name) = @_;
	for my $d (split(/:/, $ENV{PATH} // ''), '/usr/bin', '/usr/sbin')
	{
		return "$d/$name" if -x "$d/$name";
	}
	return undef;
}

my $redis_server = find_program('redis-server');
my $redis_cli = find_program('redis-cli');
die "redis-server and redis-cli are needed: run make deps" unless $redis_server && $redis_cli;

my $dir = PostgreSQL::Test::Utils::tempdir();
my $redis_port = PostgreSQL::Test::Cluster::get_free_port();
my $password = 'p@ss:w/rd%';    # every character the URL must percent-encode
my $url = "redis://:p%40ss%3Aw%2Frd%25\@127.0.0.1:$redis_port/2";
my $redis_pid;

# Stop Redis however the test ends (SIGKILL works on a stopped process too)
END
{
	# waitpid sets $?, which would become the test's exit status
	local $?;
	if ($redis_pid)
	{
		kill 'KILL', $redis_pid;
		waitpid($redis_pid, 0);
	}
}

# Run redis-cli against our Redis (database 2); its output, trimmed
sub redis_cli
{
	my @args = @_;
	local $ENV{REDISCLI_AUTH} = $password;
	my $out = `"$redis_cli" -h 127.0.0.1 -p $redis_port -n 2 @args 2>&1`;
	return $out =~ s/\s+$//r;
}

# SIGKILL Redis and reap it
sub kill_redis
{
	kill 'KILL', $redis_pid;
	waitpid($redis_pid, 0);
	$redis_pid = undef;
}

my $node = scribe_node('redis', conf => <<"CONF");
scribe.max_workers = 0
scribe.heartbeat_interval = 0
CONF
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION pg_scribe;
	-- n gets of key in this session: total milliseconds and hits
	CREATE FUNCTION timed_gets(n integer, key text, OUT ms float8, OUT hits integer)
	LANGUAGE plpgsql AS $$
	DECLARE t0 timestamptz := clock_timestamp();
	BEGIN
		hits := 0;
		FOR i IN 1..n LOOP
			IF scribe._redis_get(key) IS NOT NULL THEN hits := hits + 1; END IF;
		END LOOP;
		ms := extract(epoch FROM clock_timestamp() - t0) * 1000;
	END $$;
	-- n gets of key in this session: the milliseconds of each
	CREATE FUNCTION timed_each(n integer, key text) RETURNS float8[]
	LANGUAGE plpgsql AS $$
	DECLARE t0 timestamptz; result float8[] := '{}';
	BEGIN
		FOR i IN 1..n LOOP
			t0 := clock_timestamp();
			PERFORM scribe._redis_get(key);
			result := result || extract(epoch FROM clock_timestamp() - t0) * 1000;
		END LOOP;
		RETURN result;
	END $$;
});

# One column of scribe.redis_status()
sub status
{
	my ($column) = @_;
	return $node->safe_psql('postgres', "SELECT $column FROM scribe.redis_status()");
}

# --- no Redis configured: L2 is unavailable at once, nothing counted
is(status('configured'), 'f', 'without scribe.redis_url the tier is not configured');
my ($ms, $hits) = split /\|/, $node->safe_psql('postgres', "SELECT * FROM timed_gets(100, 'k')");
ok($ms < 50, "100 gets without Redis take ${ms} ms (< 50)");
is($node->safe_psql('postgres', q{
	SELECT scribe._redis_set('k', 'v', 0)::text || ' ' || (scribe._redis_mget(ARRAY['k']) IS NULL)::text
	       || ' ' || coalesce(scribe._redis_del('k')::text, 'null')}),
	'false true null', 'set, mget and del without Redis return unavailable');
is(status('failures + short_circuited'), '0', 'calls without Redis are neither failures nor short-circuited');

# --- malformed URLs: a clear ERROR at SET time that never repeats the URL
for my $case (
	[ 'redis://:topsecret@127.0.0.1:99999', qr/port must be a number from 1 to 65535/ ],
	[ 'http://127.0.0.1:6379', qr/must start with redis:\/\/ or unix:\/\// ],
	[ 'rediss://127.0.0.1:6379', qr/TLS \(rediss:\/\/\) is not supported/ ],
	[ 'redis://:topsecret@', qr/has no host/ ],
	[ 'redis://topsecret@127.0.0.1', qr/has no password/ ],
	[ 'redis://127.0.0.1:6379/x', qr/database must be a non-negative number/ ],
	[ 'unix://relative.sock', qr/needs an absolute path/ ],
	[ 'redis://:%zz@127.0.0.1', qr/password is malformed/ ])
{
	my ($bad, $expected) = @$case;
	my ($ret, $out, $err) = $node->psql('postgres', "ALTER SYSTEM SET scribe.redis_url = '$bad'");
	like($err, $expected, "'$bad' is refused");
	like($err, qr/HINT:/, "'$bad' comes with a hint");
	unlike($err, qr/topsecret/, "the error for '$bad' does not repeat the password");
}
my (undef, undef, $set_err) = $node->psql('postgres', "SET scribe.redis_url = '$url'");
like($set_err, qr/cannot be changed now/, 'scribe.redis_url cannot be set in a session');

# --- Redis up: round trips, with the password percent-decoded and database 2 selected
$redis_pid = start_redis($dir, $redis_port, password => $password);
reload_settings($node, redis_url => $url, redis_command_timeout => '200ms', redis_connect_timeout => '200ms',
	redis_breaker_failures => 3, redis_breaker_cooldown => '2s');
is(status('configured'), 't', 'scribe.redis_url is set');

is($node->safe_psql('postgres', q{
	SELECT scribe._redis_set('greeting', 'hello', 0), convert_from(scribe._redis_get('greeting'), 'UTF8')}),
	't|hello', 'a value set is read back');
is(redis_cli('GET', 'greeting'), 'hello', 'it is in database 2 of Redis');
is($node->safe_psql('postgres', q{
	SELECT scribe._redis_set('clé avec espaces', '\x00ff0000deadbeef00'::bytea, 0),
	       scribe._redis_get('clé avec espaces') = '\x00ff0000deadbeef00'::bytea}),
	't|t', 'keys with spaces and values with NUL bytes round-trip');
is($node->safe_psql('postgres', q{
	SELECT scribe._redis_set('big', decode(repeat('ab00', 524288), 'hex'), 0),
	       length(scribe._redis_get('big')),
	       md5(scribe._redis_get('big')) = md5(decode(repeat('ab00', 524288), 'hex'))}),
	't|1048576|t', 'a 1 MB value round-trips intact');
is($node->safe_psql('postgres', q{
	SELECT array_length(r, 1), convert_from(r[1], 'UTF8'), r[2] IS NULL, r[3] = '\x00ff0000deadbeef00'::bytea
	FROM scribe._redis_mget(ARRAY['greeting', 'no such key', 'clé avec espaces']) r}),
	'3|hello|t|t', 'mget returns values in order, NULL for a miss');
is($node->safe_psql('postgres', q{
	SELECT scribe._redis_del('greeting'), scribe._redis_del('greeting'), scribe._redis_get('greeting') IS NULL}),
	't|f|t', 'del removes a key once; it is a miss afterwards');
is($node->safe_psql('postgres', q{SELECT scribe._redis_incr('ns:version'), scribe._redis_incr('ns:version')}),
	'1|2', 'incr counts up');

# pipelining: 2000 keys set and read back in one call each
is($node->safe_psql('postgres', q{
	SELECT scribe._redis_set_many(array_agg('warm:' || g), array_agg(convert_to('v' || g, 'UTF8')), 0)
	FROM generate_series(1, 2000) g}), '2000', 'set_many stores 2000 keys');
is($node->safe_psql('postgres', q{
	SELECT count(*) FILTER (WHERE convert_from(v, 'UTF8') = 'v' || i), count(*)
	FROM unnest(scribe._redis_mget(ARRAY(SELECT 'warm:' || g FROM generate_series(1, 2000) g)))
	     WITH ORDINALITY AS t(v, i)}), '2000|2000', 'mget of 2000 keys returns each value in its place');

# timings, for the record: one round trip, and 2000 keys sequential vs pipelined
my $timing = $node->safe_psql('postgres', q{
	SELECT (SELECT ms FROM timed_gets(2000, 'warm:1')) AS sequential_ms,
	       (SELECT extract(epoch FROM clock_timestamp() - t0) * 1000
	        FROM (SELECT clock_timestamp() t0) s,
	             LATERAL (SELECT scribe._redis_mget(ARRAY(SELECT 'warm:' || g FROM generate_series(1, 2000) g))) m)});
my ($sequential, $pipelined) = split /\|/, $timing;
note(sprintf('one GET round trip: %.1f us; 2000 GETs sequential %.1f ms, pipelined %.1f ms',
	$sequential * 1000 / 2000, $sequential, $pipelined));

# --- TTL: PX in milliseconds; 0 keeps the value for ever; negative is refused
is($node->safe_psql('postgres', q{
	SELECT scribe._redis_set('short', 'x', 300), scribe._redis_get('short') IS NOT NULL}),
	't|t', 'a value with a 300 ms TTL is there at once');
my $pttl = redis_cli('PTTL', 'short');
ok($pttl > 0 && $pttl <= 300, "Redis holds it with PTTL $pttl (<= 300)");
usleep(600_000);
is($node->safe_psql('postgres', q{SELECT scribe._redis_get('short') IS NULL}), 't', 'it is a miss after its TTL');
$node->safe_psql('postgres', q{SELECT scribe._redis_set('forever', 'x', 0)});
is(redis_cli('PTTL', 'forever'), '-1', 'TTL 0 sets no expiry');
my (undef, undef, $ttl_err) = $node->psql('postgres', q{SELECT scribe._redis_set('k', 'x', -1)});
like($ttl_err, qr/cache TTL must not be negative/, 'a negative TTL is an ERROR');

# --- a key of the wrong type: that call fails cleanly, Redis and the breaker stay fine
redis_cli('RPUSH', 'alist', 'a', 'b');
my $failures = status('failures');
is($node->safe_psql('postgres', q{
	SELECT scribe._redis_get('alist') IS NULL, scribe._redis_incr('alist') IS NULL,
	       (SELECT array_length(r, 1)::text || ' ' || (r[1] IS NULL)::text || ' ' || (r[2] IS NULL)::text
	        FROM scribe._redis_mget(ARRAY['alist', 'forever']) r)}),
	't|t|2 true false', 'get, incr and mget of a list key return no value');
like(status('last_error'), qr/refused (GET|INCR): WRONGTYPE/, 'last_error says WRONGTYPE');
is(status('failures'), $failures, 'a wrong type is not a failure of Redis');
is(status('state'), 'closed', 'the breaker stays closed');
is($node->safe_psql('postgres', q{
	SELECT scribe._redis_set('alist', 'now a string', 0), convert_from(scribe._redis_get('alist'), 'UTF8')}),
	't|now a string', 'SET replaces the list');

# --- a wrong password: a clear failure, without the password in it
reload_settings($node, redis_url => "redis://:wrong-password\@127.0.0.1:$redis_port/2");
is($node->safe_psql('postgres', q{SELECT scribe._redis_get('forever') IS NULL}), 't',
	'with a wrong password a get returns no value');
like(status('last_error'), qr/^Redis at 127\.0\.0\.1:$redis_port refused AUTH: WRONGPASS/,
	'last_error says the password was refused');
unlike(status('last_error'), qr/wrong-password/, 'last_error does not show the password');
is(status('failures'), $failures + 1, 'a refused password is a failure of Redis');
reload_settings($node, redis_url => $url);
is($node->safe_psql('postgres', q{SELECT scribe._redis_get('forever') IS NOT NULL}), 't',
	'with the right password again, values are read');

# --- Redis killed: calls keep succeeding, the breaker opens, then costs nothing
my $session = $node->background_psql('postgres');
is($session->query_safe(q{SELECT convert_from(scribe._redis_get('forever'), 'UTF8')}), 'x',
	'a session reads through its connection');
kill_redis();
$failures = status('failures');
my $opened = status('opened');
my $short = status('short_circuited');
is($session->query_safe(q{SELECT hits FROM timed_gets(10, 'forever')}), '0',
	'with Redis killed, 10 gets in the same session return no value, without an ERROR');
is(status('failures'), $failures + 3, 'the first 3 calls failed (scribe.redis_breaker_failures)');
is(status('state'), 'open', 'the breaker is open');
is(status('opened'), $opened + 1, 'it opened once');
is(status('short_circuited'), $short + 7, 'the other 7 calls were short-circuited');
like(status('last_error'), qr/(closed the connection|failed during GET|could not connect)/,
	'last_error says why');

($ms) = split /\|/, $session->query_safe(q{SELECT ms FROM timed_gets(100, 'forever')});
ok($ms < 50, "100 calls while the breaker is open take ${ms} ms (< 50)");
is(status('failures'), $failures + 3, 'calls while open do not touch Redis');

# after the cool-down, the next call probes, once; the calls after it are refused again
usleep(2_200_000);
$failures = status('failures');
$opened = status('opened');
$short = status('short_circuited');
is($session->query_safe(q{SELECT hits FROM timed_gets(5, 'forever')}), '0', 'after the cool-down, 5 more gets');
is(status('failures'), $failures + 1, 'exactly one of them probed Redis');
is(status('short_circuited'), $short + 4, 'the other 4 were short-circuited');
is(status('opened'), $opened + 1, 'the failed probe opened the breaker again');

# --- Redis restarted on the same port: the probe closes the breaker
$redis_pid = start_redis($dir, $redis_port, password => $password);
usleep(2_200_000);
is($session->query_safe(q{SELECT scribe._redis_set('after', 'restart', 0)}), 't',
	'after a cool-down the same session stores a value again (the probe)');
is(status('state'), 'closed', 'the successful probe closed the breaker');
is($session->query_safe(q{SELECT convert_from(scribe._redis_get('after'), 'UTF8')}), 'restart',
	'and reads it back');
is($node->safe_psql('postgres', q{SELECT scribe._redis_get('forever') IS NULL}), 't',
	'what the killed Redis held is gone (no persistence): a miss, not a stale value');

# --- Redis stopped (accepts, never answers): each call bounded by the command timeout
kill 'STOP', $redis_pid;
$failures = status('failures');
my $each = $session->query_safe(q{SELECT array_to_string(timed_each(20, 'never-set'), ',')});
my @each = split /,/, $each;
my @slow = grep { $_ >= 100 } @each;
my ($max) = sort { $b <=> $a } @each;
is(scalar(@slow), 3, 'with Redis stopped, 3 calls waited (then the breaker opened): ' . join(' ', map { int } @each));
ok($max <= 600, "no call waited more than 3 x the 200 ms command timeout (max $max ms)");
is(status('failures'), $failures + 3, 'each of them is a failure');
like(status('last_error'), qr/did not answer (GET|AUTH) within scribe.redis_command_timeout \(200 ms\)/,
	'last_error says Redis did not answer in time');
is(status('state'), 'open', 'the breaker is open');
($ms) = split /\|/, $session->query_safe(q{SELECT ms FROM timed_gets(100, 'never-set')});
ok($ms < 50, "100 calls while open take ${ms} ms (< 50): no network timeouts");

# after the cool-down, exactly one of many concurrent calls probes: four
# sessions wake together just after it ends; the probe waits for its
# timeout (Redis is stopped) while the others call 800 times
$failures = status('failures');
$opened = status('opened');
my @sessions = map { $node->background_psql('postgres') } 1 .. 4;
for my $s (@sessions)
{
	$s->query_until(qr/started/, q{
		\\echo started
		SELECT pg_sleep_until((SELECT state_since FROM scribe.redis_status()) + interval '2100 ms');
		SELECT timed_gets(200, 'never-set');
	});
}
$_->quit for @sessions;
is(status('failures'), $failures + 1, 'after the cool-down, one of 800 concurrent calls probed Redis; the others were refused while it waited');
is(status('opened'), $opened + 1, 'the failed probe opened the breaker again');
is(status('state'), 'open', 'the breaker is open again');

kill 'CONT', $redis_pid;
usleep(2_200_000);
is($session->query_safe(q{SELECT convert_from(scribe._redis_get('after'), 'UTF8')}), 'restart',
	'Redis answering again, the probe reads the value');
is(status('state'), 'closed', 'and the breaker is closed');

# --- an interrupt during a call (statement_timeout 50 ms, Redis stopped):
# the ERROR comes once the blocking read returns, within the command timeout,
# and the session's next call reads its own reply, not the late one
my $cancelled = $node->background_psql('postgres', on_error_stop => 0);
$cancelled->query_safe(q{SELECT scribe._redis_get('after')});
kill 'STOP', $redis_pid;
$failures = status('failures');
my $t0 = Time::HiRes::time();
$cancelled->query(q{SET statement_timeout = '50ms'; SELECT scribe._redis_get('never-set')});
my $elapsed_ms = (Time::HiRes::time() - $t0) * 1000;
like($cancelled->{stderr}, qr/canceling statement due to statement timeout/,
	'statement_timeout cancels a call blocked on a stopped Redis');
ok($elapsed_ms < 3 * 200, sprintf('the cancel came after %.0f ms (< 3 x the command timeout)', $elapsed_ms));
note('failures counted for the interrupted call: ' . (status('failures') - $failures)
	  . '; last_error: ' . status('last_error'));
$cancelled->{stderr} = '';
kill 'CONT', $redis_pid;
usleep(2_200_000);    # in case the interrupted call opened the breaker
is($cancelled->query_safe(q{RESET statement_timeout; SELECT convert_from(scribe._redis_get('after'), 'UTF8')}),
	'restart', 'the same session then reads the right value, not the late reply');
$cancelled->quit;

# --- back to no Redis: unavailable at once, even with a dead one just configured
reload_settings($node, redis_url => '');
is(status('configured'), 'f', 'scribe.redis_url emptied');
($ms, $hits) = split /\|/, $node->safe_psql('postgres', "SELECT * FROM timed_gets(100, 'after')");
is($hits, '0', 'no Redis: no values');
ok($ms < 50, "no Redis: 100 gets take ${ms} ms (< 50)");

$session->quit;
is($node->safe_psql('postgres', 'SELECT 1'), '1', 'the server is alive');
$node->stop;
done_testing();
