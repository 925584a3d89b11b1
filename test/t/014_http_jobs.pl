# http jobs against a real HTTP server on loopback: success, a 500 then
# success, a timeout, a 404, redirects in and out of the allow-list, and a
# host that is not allowed.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Utils;
use ScribeTest;
use Test::More;

my $log = PostgreSQL::Test::Utils::tempdir() . '/requests.log';
my $other;    # a second server, reachable only through a redirect
my ($port, $server) = start_http_server({
	'/hook' => sub { my ($n, $body) = @_; (200, "got $body") },
	'/flaky' => sub { my ($n) = @_; $n == 1 ? (500, 'try again') : (200, 'fine now') },
	# the first request is held until the client gives up on it
	'/slow' => sub { my ($n) = @_; $n == 1 ? (200, 'too late', 3600) : (200, 'in time') },
	'/gone' => sub { (404, 'no such thing') },
	'/moved' => sub { (302, '', 0, "Location: /hook\r\n") },
	'/away' => sub { (302, '', 0, "Location: http://localhost:$other/hook\r\n") },
}, $log);
($other) = (1);    # any port: the host is what the allow-list refuses

my $node = scribe_node('http', conf => <<"CONF");
scribe.min_workers = 1
scribe.max_workers = 1
scribe.heartbeat_interval = 0
scribe.http_allowed_hosts = '127.0.0.1'
CONF
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION pg_scribe;
	SELECT scribe.queue_create('hooks', backoff_base => '0', backoff_cap => '0', max_attempts => 3);
});
my $base = "http://127.0.0.1:$port";

# Send an http job and return its id
sub send_http
{
	my ($payload) = @_;
	return $node->safe_psql('postgres',
		"SELECT scribe.send('hooks', '$payload', kind => 'http')");
}

# The state, attempts, result status and errors of a job
sub status_of
{
	my ($id) = @_;
	return $node->safe_psql('postgres', qq{
		SELECT state, attempts, result->>'status', result->>'body',
		       COALESCE(jsonb_path_query_array(errors, '\$[*].error'), '[]')
		FROM scribe.job_get($id)});
}

my $ok = send_http(qq{{"url": "$base/hook", "body": "hello", "headers": {"X-Scribe": "1"}}});
my $flaky = send_http(qq{{"url": "$base/flaky"}});
# a timeout that a loopback reply meets however slow the machine: the first
# attempt times out because the server never answers it, not for want of time
my $slow = send_http(qq{{"url": "$base/slow", "timeout_ms": 5000}});
my $gone = send_http(qq{{"url": "$base/gone"}});
my $moved = send_http(qq{{"url": "$base/moved", "method": "POST", "body": "x"}});
my $away = send_http(qq{{"url": "$base/away"}});
ok(wait_until_drained($node, 'hooks'), 'every http job finished');

is(status_of($ok), 'done|1|200|got hello|[]', 'a POST with a body is delivered and its response kept');
is(status_of($flaky), 'done|2|200|fine now|["HTTP 500 from ' . "$base/flaky" . ': try again"]',
	'a 500 is retried, and the retry succeeds');
like(status_of($slow), qr/^done\|2\|200\|in time\|\["http request to .* failed: .*(timed out|Timeout).*"\]$/,
	'a request past its timeout is retried');
is(status_of($gone), "dead|1|||[\"HTTP 404 from $base/gone: no such thing\"]",
	'a 404 goes to the dead letters at once');
is(status_of($moved), 'done|1|200|got |[]', 'a redirect inside the allow-list is followed (POST becomes GET)');
like(status_of($away), qr/^dead\|1\|\|\|\["host \\"localhost\\" is not in scribe.http_allowed_hosts"\]$/,
	'a redirect to a host outside the allow-list is refused');

my @requests = http_requests($log);
is(scalar(grep { m{^POST /hook hello} } @requests), 1, 'the webhook was called once');
is(scalar(grep { m{ /flaky} } @requests), 2, 'the flaky endpoint was called twice');

# a host outside the allow-list is refused when the job is enqueued
my ($ret, $stdout, $stderr) = $node->psql('postgres',
	q{SELECT scribe.send('hooks', '{"url": "http://10.0.0.1/"}', kind => 'http')});
like($stderr, qr/host "10.0.0.1" is not in scribe.http_allowed_hosts/,
	'an http job to a host not allowed is an error for its producer');

kill 'TERM', $server;
waitpid($server, 0);
$node->stop;
done_testing();
