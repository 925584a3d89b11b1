# The cache's Redis tier against a real redis-server on loopback: round
# trips (binary, 1 MB, pipelined), TTL expiry, a key of the wrong type, a
# wrong password, malformed URLs, Redis killed (the breaker opens, calls
# are refused without touching Redis, one probe per cool-down), Redis
# restarted (the breaker closes), Redis stopped with SIGSTOP (calls fail on
# the command timeout, one probe at a time), and no Redis configured.
#
# Verdicts come from the breaker's counters, never from how long calls took.
# Calls that Redis answers get a minute (the settings' maximum); only while
# Redis is stopped is the command timeout short, and it cannot decide
# anything then: Redis never answers.  The cool-down is an hour whenever
# calls must be refused, and a millisecond when the next call must probe, so
# no count depends on how much time the test's own steps take.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use ScribeTest;
use Test::More;

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
});

# One column of scribe.redis_stats()
sub status
{
	my ($column) = @_;
	return $node->safe_psql('postgres', "SELECT $column FROM scribe.redis_stats()");
}

# Every call the breaker counted: failures, successes, short-circuited
sub counted
{
	return status(q{failures || ' ' || successes || ' ' || short_circuited});
}

my %answers = (redis_command_timeout => '1min', redis_connect_timeout => '1min');
my %stopped = (redis_command_timeout => '200ms', redis_connect_timeout => '200ms');

# --- no Redis configured: L2 is unavailable at once, nothing counted
is(status('configured'), 'f', 'without scribe.redis_url the tier is not configured');
my $counted = counted();
my ($ms, $hits) = split /\|/, $node->safe_psql('postgres', "SELECT * FROM timed_gets(100, 'k')");
is($hits, 0, '100 gets without Redis return no value');
is(counted(), $counted, 'without trying Redis: nothing counted');
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
reload_settings($node, redis_url => $url, %answers, redis_breaker_failures => 3, redis_breaker_cooldown => '1h');
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
	SELECT scribe._redis_set('hour', 'x', 3600000), scribe._redis_get('hour') IS NOT NULL}),
	't|t', 'a value with a TTL is there before it expires');
my $pttl = redis_cli('PTTL', 'hour');
ok($pttl > 3000000 && $pttl <= 3600000, "Redis holds it with the TTL in milliseconds (PTTL $pttl)");
$node->safe_psql('postgres', q{SELECT scribe._redis_set('short', 'x', 300)});
ok(wait_until(sub { redis_cli('EXISTS', 'short') eq '0' }), 'Redis expires a value of 300 ms');
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
my $session = scribe_session($node);
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

$short = status('short_circuited');
$session->query_safe(q{SELECT ms FROM timed_gets(100, 'forever')});
is(status('short_circuited'), $short + 100, '100 calls while the breaker is open are refused at once');
is(status('failures'), $failures + 3, 'calls while open do not touch Redis');

# after the cool-down (made to end now), the next call probes, once; the
# calls after it are refused again
reload_settings($node, redis_breaker_cooldown => '1ms');
$failures = status('failures');
$opened = status('opened');
$short = status('short_circuited');
is($session->query_safe(q{SELECT hits FROM timed_gets(1, 'forever')}), '0', 'after the cool-down, a get');
is(status('failures'), $failures + 1, 'probed Redis');
is(status('opened'), $opened + 1, 'the failed probe opened the breaker again');
reload_settings($node, redis_breaker_cooldown => '1h');
is($session->query_safe(q{SELECT hits FROM timed_gets(4, 'forever')}), '0', 'four more gets');
is(status('short_circuited'), $short + 4, 'were short-circuited');
is(status('failures'), $failures + 1, 'without a probe');

# --- Redis restarted on the same port: the probe closes the breaker
$redis_pid = start_redis($dir, $redis_port, password => $password);
reload_settings($node, redis_breaker_cooldown => '1ms');
is($session->query_safe(q{SELECT scribe._redis_set('after', 'restart', 0)}), 't',
	'after a cool-down the same session stores a value again (the probe)');
is(status('state'), 'closed', 'the successful probe closed the breaker');
reload_settings($node, redis_breaker_cooldown => '1h');
is($session->query_safe(q{SELECT convert_from(scribe._redis_get('after'), 'UTF8')}), 'restart',
	'and reads it back');
is($node->safe_psql('postgres', q{SELECT scribe._redis_get('forever') IS NULL}), 't',
	'what the killed Redis held is gone (no persistence): a miss, not a stale value');

# --- Redis stopped (accepts, never answers): calls fail on the command timeout
reload_settings($node, %stopped);
kill 'STOP', $redis_pid;
$failures = status('failures');
$short = status('short_circuited');
is($session->query_safe(q{SELECT hits FROM timed_gets(20, 'never-set')}), '0',
	'with Redis stopped, 20 gets return no value');
is(status('failures'), $failures + 3, 'the first 3 waited for the command timeout and failed');
is(status('short_circuited'), $short + 17, 'then the breaker opened: the other 17 were refused');
like(status('last_error'), qr/did not answer (GET|AUTH) within scribe.redis_command_timeout \(200 ms\)/,
	'last_error says Redis did not answer in time');
is(status('state'), 'open', 'the breaker is open');
$short = status('short_circuited');
$session->query_safe(q{SELECT ms FROM timed_gets(100, 'never-set')});
is(status('short_circuited'), $short + 100, '100 calls while open are refused: no network timeouts');
is(status('failures'), $failures + 3, 'none of them a failure');

# after the cool-down, exactly one of many concurrent calls probes: one
# session's call probes and waits (Redis is stopped, the timeout a minute);
# four other sessions call 800 times meanwhile and are all refused
reload_settings($node, %answers, redis_breaker_cooldown => '1ms');
$failures = status('failures');
$short = status('short_circuited');
my $probe = scribe_session($node);
$probe->query_until(qr/probing\n/, qq{\\echo probing\nSELECT convert_from(scribe._redis_get('after'), 'UTF8');\n});
ok($node->poll_query_until('postgres', q{SELECT state = 'half-open' FROM scribe.redis_stats()}),
	'after the cool-down a call probes Redis: the breaker is half-open');
my @sessions = map { scribe_session($node) } 1 .. 4;
$_->query_safe(q{SELECT timed_gets(200, 'never-set')}) for @sessions;
$_->quit for @sessions;
is(status('short_circuited'), $short + 800, 'the 800 calls of four other sessions were refused while it waited');
is(status('failures'), $failures, 'none of them touched Redis');
is(status('state'), 'half-open', 'the probe still waits');

kill 'CONT', $redis_pid;
is($probe->query_safe('SELECT 1'), "restart\n1", 'Redis answering again, the probe reads the value');
$probe->quit;
is(status('state'), 'closed', 'and the breaker is closed');

# --- an interrupt during a call (statement_timeout 50 ms, Redis stopped):
# the ERROR comes once the blocking read returns at the command timeout,
# and the session's next call reads its own reply, not the late one
reload_settings($node, redis_breaker_cooldown => '1h');
my $cancelled = scribe_session($node, on_error_stop => 0);
$cancelled->query_safe(q{SELECT scribe._redis_get('after')});
reload_settings($node, %stopped);
kill 'STOP', $redis_pid;
$failures = status('failures');
$cancelled->query(q{SET statement_timeout = '50ms'; SELECT scribe._redis_get('never-set')});
like($cancelled->{stderr}, qr/canceling statement due to statement timeout/,
	'statement_timeout cancels a call blocked on a stopped Redis');
note('failures counted for the interrupted call: ' . (status('failures') - $failures)
	  . '; last_error: ' . status('last_error'));
$cancelled->{stderr} = '';
kill 'CONT', $redis_pid;
# whatever the interrupted call did to the breaker, the next call may go to Redis
reload_settings($node, %answers, redis_breaker_cooldown => '1ms');
is($cancelled->query_safe(q{RESET statement_timeout; SELECT convert_from(scribe._redis_get('after'), 'UTF8')}),
	'restart', 'the same session then reads the right value, not the late reply');
$cancelled->quit;

# --- back to no Redis: unavailable at once, even with a dead one just configured
reload_settings($node, redis_url => '');
is(status('configured'), 'f', 'scribe.redis_url emptied');
$counted = counted();
($ms, $hits) = split /\|/, $node->safe_psql('postgres', "SELECT * FROM timed_gets(100, 'after')");
is($hits, '0', 'no Redis: no values');
is(counted(), $counted, 'no Redis: nothing tried, nothing counted');

$session->quit;
is($node->safe_psql('postgres', 'SELECT 1'), '1', 'the server is alive');
$node->stop;
done_testing();
