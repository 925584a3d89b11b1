# The S3 client against a real S3-compatible server on loopback (s3rver,
# with every request's AWS Signature V4 checked by the AWS SDK's signer, see
# test/node/s3-server.js): binary round trips, keys that need encoding
# (checked on the server's disk too), sizes, deletes, a missing object or
# bucket, a wrong secret, access key or region (the secret never shown), an
# endpoint that is down (refused at once) or silent (bounded by
# scribe.s3_timeout, and a cancel honoured), malformed settings, and who may
# use any of it.  Requests the server answers get a minute of timeout.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";
use Encode qw(encode);
use IO::Socket::INET;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use ScribeTest;
use Test::More;
use Time::HiRes qw(time);

my $dir = PostgreSQL::Test::Utils::tempdir();
my $port = PostgreSQL::Test::Cluster::get_free_port();
my $access_key = 'AKIDSCRIBETEST01';
my $secret = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYs3cr3t';
my $s3_pid = start_s3rver($dir, $port, bucket => 'scribe', access_key => $access_key,
	secret_key => $secret, region => 'eu-west-3');

# Stop the S3 server however the test ends
END
{
	# waitpid sets $?, which would become the test's exit status
	local $?;
	if ($s3_pid)
	{
		kill 'TERM', $s3_pid;
		waitpid($s3_pid, 0);
	}
}

my $node = scribe_node('s3', conf => <<"CONF");
scribe.max_workers = 0
scribe.heartbeat_interval = 0
scribe.s3_endpoint = 'http://127.0.0.1:$port'
scribe.s3_bucket = 'scribe'
scribe.s3_region = 'eu-west-3'
scribe.s3_access_key = '$access_key'
scribe.s3_secret_key = '$secret'
scribe.s3_timeout = '1min'
CONF
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_scribe');

# Run sql that must fail; its error with SQLSTATE, detail and hint (psql's
# verbose form).  A statement still running after the test's timeout is cut
# off: that catches a request that hangs.
sub sql_error
{
	my ($sql, @params) = @_;
	my ($out, $err, $timed_out);
	my $ret = $node->psql('postgres', "\\set VERBOSITY verbose\n$sql",
		stdout => \$out, stderr => \$err, extra_params => \@params,
		timeout => $PostgreSQL::Test::Utils::timeout_default, timed_out => \$timed_out);
	return 'timed out' if $timed_out;
	return $ret == 0 ? "no error (returned '$out')" : $err;
}

# The file in which s3rver keeps object key
sub object_file
{
	my ($key) = @_;
	return "$dir/data/scribe/$key._S3rver_object";
}

# --- binary round trip: every byte value, 4 MB
$node->safe_psql('postgres', q{
	CREATE TABLE blobs AS
	SELECT decode(repeat((SELECT string_agg(lpad(to_hex(b), 2, '0'), '' ORDER BY b)
	                      FROM generate_series(0, 255) b), 16384), 'hex') AS data;
	SELECT scribe._s3_put('bin/all-bytes', data) FROM blobs;
});
is(-s object_file('bin/all-bytes'), 4 * 1024 * 1024, 'a 4 MB object of every byte value is on the server');
is($node->safe_psql('postgres',
	q{SELECT scribe._s3_get('bin/all-bytes') = data FROM blobs}), 't', 'and reads back the same bytes');
is($node->safe_psql('postgres', q{SELECT scribe._s3_exists('bin/all-bytes')}), 4 * 1024 * 1024,
	'_s3_exists gives its size');
$node->safe_psql('postgres', q{SELECT scribe._s3_put('bin/empty', ''::bytea)});
is($node->safe_psql('postgres', q{SELECT length(scribe._s3_get('bin/empty')) || ' ' || scribe._s3_exists('bin/empty')}),
	'0 0', 'an empty object round-trips');

# --- keys that need encoding: each object holds its own key
# (as UTF-8 bytes, which psql sends and the server's disk names hold)
for my $key ('with space/file name.png', encode('UTF-8', "unicode/\x{e9}\x{6587}\x{5b57}/\x{fc}.bin"),
	q{specials/a+b=c&d?e#f%g;h,i:j@k$l!m'n(o)p*q~r.txt}, 'deep/a/b/c/d/e.txt')
{
	my $sql_key = $key =~ s/'/''/gr;
	$node->safe_psql('postgres', "SELECT scribe._s3_put('$sql_key', convert_to('$sql_key', 'UTF8'))");
	ok(-e object_file($key), "key '$key': the server stored it under that name");
	is($node->safe_psql('postgres', "SELECT scribe._s3_exists('$sql_key')"), length($key), "key '$key': its size");
	is($node->safe_psql('postgres', "SELECT convert_from(scribe._s3_get('$sql_key'), 'UTF8') = '$sql_key'"),
		't', "key '$key': reads back");
}

# --- content type
$node->safe_psql('postgres', q{SELECT scribe._s3_put('typed.png', '\x89504e47', 'image/png')});
like(slurp_file("$dir/data/scribe/typed.png._S3rver_metadata.json"), qr/"content-type": "image\/png"/,
	'the content type is stored with the object');

# --- delete, then the object is gone
is($node->safe_psql('postgres', q{SELECT scribe._s3_delete('with space/file name.png')}), 't',
	'_s3_delete of an object that is there: true');
is($node->safe_psql('postgres', q{SELECT scribe._s3_delete('with space/file name.png')}), 'f',
	'_s3_delete again: false');
is($node->safe_psql('postgres', q{SELECT scribe._s3_exists('with space/file name.png') IS NULL}), 't',
	'_s3_exists of a deleted object: NULL');
my $err = sql_error(q{SELECT scribe._s3_get('with space/file name.png')});
like($err, qr/ERROR:  58P01: could not read S3 object "with space\/file name.png"/,
	'reading a deleted object: ERROR 58P01');
like($err, qr/DETAIL:  S3 answered HTTP 404 NoSuchKey: /, 'with S3\'s error code in the detail');
like($err, qr/HINT:  .*scribe._s3_exists/, 'and a hint');

# --- the server checks signatures: an unsigned request is refused
{
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port) or die;
	print $s "GET /scribe/bin/empty HTTP/1.0\r\nHost: 127.0.0.1:$port\r\n\r\n";
	my $status = <$s>;
	like($status, qr{^HTTP/1\.[01] 403}, 'the S3 server refuses an unsigned request');
}

# --- a wrong secret, access key or region: ERROR 28000, the secret never shown
reload_settings($node, s3_secret_key => 'not-the-secret-42');
for my $sql (q{SELECT scribe._s3_get('bin/empty')}, q{SELECT scribe._s3_put('x', '\x00')},
	q{SELECT scribe._s3_exists('bin/empty')})
{
	$err = sql_error($sql);
	like($err, qr/ERROR:  28000: could not .* S3 (object|bucket)/, "wrong secret: ERROR 28000 ($sql)");
	unlike($err, qr/not-the-secret-42|\Q$secret\E/, "wrong secret: never in the error ($sql)");
}
like(sql_error(q{SELECT scribe._s3_get('bin/empty')}),
	qr/SignatureDoesNotMatch.*\n.*HINT:  Check scribe.s3_secret_key/, 'the detail says why, the hint what to check');
reload_settings($node, s3_secret_key => $secret, s3_access_key => 'AKIDUNKNOWN');
like(sql_error(q{SELECT scribe._s3_get('bin/empty')}), qr/28000: .*\n.*InvalidAccessKeyId.*\n.*s3_access_key/,
	'an unknown access key: ERROR 28000 naming scribe.s3_access_key');
reload_settings($node, s3_access_key => $access_key, s3_region => 'us-east-1');
like(sql_error(q{SELECT scribe._s3_get('bin/empty')}), qr/28000: .*\n.*AuthorizationHeaderMalformed.*\n.*s3_region/,
	'a wrong region: ERROR 28000 naming scribe.s3_region');
reload_settings($node, s3_region => 'eu-west-3');
is($node->safe_psql('postgres', q{SELECT length(scribe._s3_get('bin/all-bytes'))}), 4 * 1024 * 1024,
	'the right key pair and region work again');

# --- a missing bucket
reload_settings($node, s3_bucket => 'no-such-bucket');
like(sql_error(q{SELECT scribe._s3_put('x', '\x00')}), qr/58P01: could not store S3 object "x".*\n.*NoSuchBucket/,
	'storing into a missing bucket: ERROR 58P01 NoSuchBucket');
like(sql_error(q{SELECT scribe._s3_exists('x')}), qr/58P01: could not look up S3 bucket "no-such-bucket"/,
	'a HEAD into a missing bucket is an ERROR, not "no such object"');
reload_settings($node, s3_bucket => 'scribe');

# --- the endpoint down, or silent: ERROR 08006 within scribe.s3_timeout
# nothing listening: refused at once, not after the timeout (an hour here,
# so an ERROR at all shows it did not wait for it)
my $down = PostgreSQL::Test::Cluster::get_free_port();
reload_settings($node, s3_endpoint => "http://127.0.0.1:$down", s3_timeout => '1h');
like(sql_error(q{SELECT scribe._s3_get('bin/empty')}), qr/08006: could not read S3 object .*\n.*DETAIL: .*127\.0\.0\.1/,
	'nothing listening: ERROR 08006 with the transport error, at once');

# a server that accepts connections and never answers
my $silent = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 16, ReuseAddr => 1)
  or die "listen: $!";
reload_settings($node, s3_endpoint => 'http://127.0.0.1:' . $silent->sockport, s3_timeout => '1s');
my $start = time;
$err = sql_error(q{SELECT scribe._s3_put('k', '\x01')});
my $elapsed = time - $start;
like($err, qr/08006: could not store S3 object "k".*\n.*timed out/i, 'a silent server: ERROR 08006, timed out');
# a lower bound: a slow machine only takes longer
cmp_ok($elapsed, '>=', 0.9, sprintf('after scribe.s3_timeout (1 s): %.2f s', $elapsed));

# a cancel (statement_timeout) stops a request: with an hour of
# scribe.s3_timeout, the cancel's SQLSTATE (not the timeout's 08006) shows it
reload_settings($node, s3_timeout => '1h');
like(sql_error(q{SET statement_timeout = '300ms'; SELECT scribe._s3_get('k')}), qr/57014: canceling statement/,
	'statement_timeout cancels a request to a silent server');
close $silent;

# --- not configured, and bad arguments
reload_settings($node, s3_endpoint => '', s3_timeout => '1min');
like(sql_error(q{SELECT scribe._s3_get('k')}), qr/55000: could not read S3 object "k".*\n.*s3_endpoint/,
	'without an endpoint: ERROR 55000');
reload_settings($node, s3_endpoint => "http://127.0.0.1:$port/");
is($node->safe_psql('postgres', q{SELECT length(scribe._s3_get('bin/all-bytes'))}), 4 * 1024 * 1024,
	'an endpoint with a trailing slash works');
like(sql_error(q{SELECT scribe._s3_get('')}), qr/22023: an S3 key must have 1 to 1024 bytes/, 'an empty key: 22023');
like(sql_error(q{SELECT scribe._s3_get(repeat('k', 1025))}), qr/22023: an S3 key must have 1 to 1024 bytes, not 1025/,
	'a key over 1024 bytes: 22023');
like(sql_error(q{SELECT scribe._s3_get(E'a\nb')}), qr/22023: an S3 key must not contain control characters/,
	'a key with a line break: 22023');
like(sql_error(q{SELECT scribe._s3_put('k', '\x00', E'text/plain\r\nX-Evil: 1')}), qr/22023: .*content type/,
	'a content type with a line break: 22023');
like(sql_error(q{SELECT scribe._s3_put(NULL, '\x00')}), qr/22004: key must not be null/, 'a NULL key: 22004');

# --- malformed settings: refused, the endpoint never repeated
for my $case (
	[ 's3_endpoint', 'http://AKID:topsecret@127.0.0.1:1', qr/must not hold credentials/ ],
	[ 's3_endpoint', 'ftp://127.0.0.1:1', qr/must start with http:\/\/ or https:\/\// ],
	[ 's3_endpoint', 'http://127.0.0.1:1/?x=topsecret', qr/must not have a query/ ],
	[ 's3_endpoint', 'http://127.0.0.1:1/ topsecret', qr/white space/ ],
	[ 's3_bucket', 'a/b', qr/is not a bucket name/ ],
	[ 's3_region', 'us:east', qr/is not a region name/ ])
{
	my ($name, $value, $expected) = @$case;
	$err = sql_error("ALTER SYSTEM SET scribe.$name = '$value'");
	like($err, $expected, "scribe.$name = '$value' is refused");
	unlike($err, qr/topsecret/, "and the message does not repeat it");
}

# --- who may: superusers only
$node->safe_psql('postgres', 'CREATE ROLE clerk LOGIN');
for my $sql (q{SHOW scribe.s3_secret_key}, q{SELECT current_setting('scribe.s3_access_key')},
	q{SELECT current_setting('scribe.s3_endpoint')})
{
	like(sql_error($sql, '-U', 'clerk'), qr/42501: must be superuser or have privileges of pg_read_all_settings/,
		"a plain role cannot read the setting ($sql)");
}
is($node->safe_psql('postgres', q{SELECT string_agg(name, ' ' ORDER BY name) FROM pg_settings WHERE name LIKE 'scribe.s3%'},
	extra_params => [ '-U', 'clerk' ]), 'scribe.s3_region scribe.s3_timeout',
	'pg_settings shows a plain role the region and the timeout only');
like(sql_error(q{SET scribe.s3_secret_key = 'mine'}, '-U', 'clerk'), qr/55P02: parameter "scribe.s3_secret_key" cannot be changed now/,
	'nor set the secret in a session');
like(sql_error(q{ALTER SYSTEM SET scribe.s3_secret_key = 'mine'}, '-U', 'clerk'), qr/42501: permission denied to set parameter/,
	'nor with ALTER SYSTEM');
for my $sql (q{SELECT scribe._s3_get('bin/empty')}, q{SELECT scribe._s3_put('x', '\x00')},
	q{SELECT scribe._s3_delete('bin/empty')}, q{SELECT scribe._s3_exists('bin/empty')})
{
	like(sql_error($sql, '-U', 'clerk'), qr/42501: permission denied for function _s3_/,
		"a plain role cannot call it ($sql)");
}

$node->stop;
done_testing();
