# Read-your-writes across logical replication: a session writes on the
# primary and takes scribe.replication_commit_lsn(); a session on the replica calls
# scribe.replication_wait_lsn() with it and then reads its own write, every time,
# while pgbench writes to the same published table, with the primary's
# synchronous_commit on and off.  Also: a write no publication carries does
# not hang the wait; a disabled subscription makes it time out (an ERROR, or
# false); every bad argument gets its SQLSTATE.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";
use IPC::Run;
use PostgreSQL::Test::Utils;
use ScribeTest;
use Test::More;
use Time::HiRes qw(time);

my $tries = $ENV{SCRIBE_RYW_TRIES} // 1000;

# the launchers' heartbeats stay off: the idle-primary case needs a primary
# that writes nothing by itself
my $primary = scribe_node('primary', allows_streaming => 'logical',
	conf => "scribe.heartbeat_interval = 0\n");
my $replica = scribe_node('replica', conf => "scribe.heartbeat_interval = 0\n");
$primary->start;
$replica->start;

my $schema = q{
	CREATE TABLE events (id bigserial PRIMARY KEY, kind text NOT NULL, try int);
	CREATE TABLE local_only (id bigserial PRIMARY KEY);
};
for my $node ($primary, $replica)
{
	$node->safe_psql('postgres', "CREATE EXTENSION pg_scribe; $schema");
}
# the read right after the wait, in the same round trip: a volatile
# function's statements each take a new snapshot
$replica->safe_psql('postgres', q{
	CREATE FUNCTION read_after_wait(target pg_lsn, k text, t int) RETURNS text LANGUAGE plpgsql AS $$
	DECLARE
		reached boolean;
		n bigint;
	BEGIN
		reached := scribe.replication_wait_lsn(target);
		SELECT count(*) INTO n FROM events WHERE kind = k AND try = t;
		RETURN CASE WHEN reached THEN 't' ELSE 'f' END || E'\n' || n;
	END $$});
$primary->safe_psql('postgres', q{SELECT scribe.replication_publish(ARRAY['events']::regclass[])});
my $conninfo = $primary->connstr . ' dbname=postgres';
$replica->safe_psql('postgres', "SELECT scribe.replication_subscribe('$conninfo')");
$replica->wait_for_subscription_sync($primary, 'scribe');

# Run $sql on $node; returns (SQLSTATE, message, hint) of its error, or ()
sub error_of
{
	my ($node, $sql) = @_;
	my ($out, $err) = ('', '');
	$node->psql('postgres', $sql, stdout => \$out, stderr => \$err,
		extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	return () unless $err =~ /ERROR:  (\w{5}): (.*)/;
	my ($state, $message) = ($1, $2);
	my ($hint) = $err =~ /HINT:  (.*)/;
	return ($state, $message, $hint // '');
}

# --- the primary side
my $writer = scribe_session($primary);
is($writer->query_safe('SELECT scribe.replication_commit_lsn() IS NULL'), 't',
	'replication_commit_lsn() is NULL in a session that has committed nothing');
my $lsn = $writer->query_safe("INSERT INTO events (kind) VALUES ('first'); SELECT scribe.replication_commit_lsn()");
like($lsn, qr{^[0-9A-F]+/[0-9A-F]+$}, 'and the end of the last commit after a write');
is($writer->query_safe("SELECT '$lsn'::pg_lsn <= pg_current_wal_insert_lsn()"), 't',
	'which the WAL has passed');
my ($state, $message, $hint) = error_of($primary,
	"BEGIN; INSERT INTO events (kind) VALUES ('x'); SELECT scribe.replication_commit_lsn();");
is($state, '25001', 'replication_commit_lsn() inside a transaction that wrote and has not committed: an ERROR');
like($hint, qr/after COMMIT/, 'whose hint says to call it after COMMIT');

# --- read-your-writes under a write load, synchronous_commit on and off
# pgbench writes to the published table all along.  The tries interleave
# with it: before each write, the writer waits until a load row written
# after its previous try has committed, so the replica applies load between
# every two tries however fast or slow this machine is.
$primary->safe_psql('postgres', q{
	CREATE FUNCTION load_after(after bigint, deadline interval) RETURNS bigint LANGUAGE plpgsql AS $$
	DECLARE
		newest bigint;
		give_up timestamptz := clock_timestamp() + deadline;
	BEGIN
		LOOP
			SELECT max(id) INTO newest FROM events WHERE kind = 'load' AND id > after;
			EXIT WHEN newest IS NOT NULL;
			IF clock_timestamp() > give_up THEN
				RAISE EXCEPTION 'no load row committed after id % within %', after, deadline;
			END IF;
			PERFORM pg_sleep(0.001);
		END LOOP;
		RETURN newest;
	END $$});
my $script = PostgreSQL::Test::Utils::tempdir() . '/load.sql';
PostgreSQL::Test::Utils::append_to_file($script,
	"INSERT INTO events (kind) VALUES ('load');\n");
my ($bench_out, $bench_err) = ('', '');
# --time only bounds a run whose test died; the test stops pgbench itself
my $pgbench = IPC::Run::start(
	[ 'pgbench', '--no-vacuum', '--client=2', '--jobs=1', '--rate=400', '--time=36000',
		'--file', $script, '--host', $primary->host, '--port', $primary->port, 'postgres' ],
	'>', \$bench_out, '2>', \$bench_err);
my $wait_for_load = "$PostgreSQL::Test::Utils::timeout_default seconds";

my $reader = scribe_session($replica);
for my $mode ('on', 'off')
{
	$writer->query_safe("SET synchronous_commit = $mode");
	my ($stale, $slowest) = (0, 0);
	my ($first_id, $last_id) = (0, 0);
	my $started = time;
	for my $try (1 .. $tries)
	{
		# a load row newer than the previous try, then this try's write
		my ($load_id, $id, $target) = split /\n/, $writer->query_safe(
			"SELECT load_after($last_id, '$wait_for_load'); "
			  . "INSERT INTO events (kind, try) VALUES ('$mode', $try) RETURNING id; SELECT scribe.replication_commit_lsn()");
		$first_id ||= $id;
		$last_id = $id;
		my $t0 = time;
		# odd tries: the application's two statements; even ones: the read
		# right after the wait, in one call
		my $seen = $try % 2
		  ? $reader->query_safe("SELECT scribe.replication_wait_lsn('$target'); "
			  . "SELECT count(*) FROM events WHERE kind = '$mode' AND try = $try")
		  : $reader->query_safe("SELECT read_after_wait('$target', '$mode', $try)");
		my $took = time - $t0;
		$slowest = $took if $took > $slowest;
		$stale++ unless $seen eq "t\n1";
		diag("try $try: replica answered '" . ($seen =~ s/\n/ /gr) . "' for $target") unless $seen eq "t\n1" || $stale > 5;
	}
	# what the interleaving guarantees, counted on the primary: a load row
	# committed between every two tries
	my $load = $primary->safe_psql('postgres',
		"SELECT count(*) FROM events WHERE kind = 'load' AND id > $first_id AND id < $last_id");
	cmp_ok($load, '>=', $tries - 1,
		"synchronous_commit = $mode: pgbench wrote $load rows between the first and the last try, at least one between every two");
	is($stale, 0, "synchronous_commit = $mode: $tries tries, every write read back on the replica");
	note(sprintf('synchronous_commit = %s: %d tries in %.1f s, slowest wait and read %.1f ms',
		$mode, $tries, time - $started, $slowest * 1000));
}
$pgbench->kill_kill;
unlike($bench_err, qr/ERROR|abort/i, 'no write of the load failed');

# --- a write that no publication carries, on an idle primary
$primary->poll_query_until('postgres',
	"SELECT count(*) = 0 FROM pg_stat_activity WHERE application_name = 'pgbench'")
  or die 'pgbench did not go';
$writer->query_safe('RESET synchronous_commit');
$lsn = $writer->query_safe('INSERT INTO local_only DEFAULT VALUES; SELECT scribe.replication_commit_lsn()');
# the primary is idle and writes no published row: only the keepalive that
# follows the write can move the subscription past it (how promptly is
# measured by make bench-replication, not here)
is($reader->query_safe("SELECT scribe.replication_wait_lsn('$lsn', '$wait_for_load')"), 't',
	'a write to an unpublished table is waited for: the keepalive after it moves the subscription on');
is($reader->query_safe("SELECT scribe.replication_wait_lsn('$lsn', '0')"), 't',
	'timeout 0 checks without waiting');

# --- bad arguments
my @bad = (
	[ "SELECT scribe.replication_wait_lsn(NULL)", '22004', qr/lsn must not be NULL/, 'a NULL lsn' ],
	[ "SELECT scribe.replication_wait_lsn('$lsn', '-1 second')", '22023', qr/timeout must not be negative/,
		'a negative timeout' ],
	[ "SELECT scribe.replication_wait_lsn('$lsn', subscription => 'nosuch')", '42704',
		qr/subscription "nosuch" does not exist/, 'an unknown subscription' ],
	[ "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT scribe.replication_wait_lsn('$lsn')", '25001',
		qr/cannot work in a REPEATABLE READ/, 'a REPEATABLE READ transaction' ]);
for my $case (@bad)
{
	my ($sql, $want_state, $want_message, $what) = @$case;
	($state, $message, $hint) = error_of($replica, $sql);
	is($state, $want_state, "$what: SQLSTATE $want_state");
	like($message, $want_message, "$what: message");
	isnt($hint, '', "$what: a hint");
}

# --- a disabled subscription: the wait times out, with how far it got
$lsn = $writer->query_safe("INSERT INTO events (kind) VALUES ('before'); SELECT scribe.replication_commit_lsn()");
is($reader->query_safe("SELECT scribe.replication_wait_lsn('$lsn')"), 't', 'a published write arrives');
$replica->safe_psql('postgres', 'ALTER SUBSCRIPTION scribe DISABLE');
$replica->poll_query_until('postgres',
	"SELECT pid IS NULL FROM pg_stat_subscription WHERE subname = 'scribe'")
  or die 'the apply worker did not stop';
is($reader->query_safe("SELECT scribe.replication_wait_lsn('$lsn', '$wait_for_load')"), 't',
	'its position is still reached once the subscription is disabled (the origin keeps it)');
$lsn = $writer->query_safe("INSERT INTO events (kind) VALUES ('late'); SELECT scribe.replication_commit_lsn()");
my $t0 = time;
is($reader->query_safe("SELECT scribe.replication_wait_lsn('$lsn', '300 ms', throw => false)"), 'f',
	'a later one is not: throw => false returns false after the timeout');
my $took = time - $t0;
# a lower bound: a slow machine only waits longer
cmp_ok($took, '>=', 0.3, sprintf('after the timeout (%.0f ms)', $took * 1000));
($state, $message, $hint) = error_of($replica, "SELECT scribe.replication_wait_lsn('$lsn', '300 ms')");
is($state, '57014', 'the default throws SQLSTATE 57014 (query_canceled) on timeout');
like($message, qr{timed out after \d+\.\d{3} s waiting for subscription "scribe" to apply the primary's writes up to \Q$lsn\E},
	'the message names the subscription and the position');
my ($waited) = $message =~ /timed out after (\d+\.\d+) s/;
cmp_ok($waited, '>=', 0.3, "and how long it waited ($waited s: at least the timeout)");
like($hint, qr/is disabled: ALTER SUBSCRIPTION scribe ENABLE/, 'and the hint says it is disabled');
($state, $message) = error_of($replica,
	"SET statement_timeout = '200ms'; SELECT scribe.replication_wait_lsn('$lsn', NULL)");
is($state, '57014', 'statement_timeout cancels a wait without a limit of its own');
like($message, qr/statement timeout/, 'with the usual message');

$replica->safe_psql('postgres', 'ALTER SUBSCRIPTION scribe ENABLE');
is($reader->query_safe("SELECT scribe.replication_wait_lsn('$lsn', '$wait_for_load'); SELECT count(*) FROM events WHERE kind = 'late'"),
	"t\n1", 'enabled again, the wait returns and the row is there');

$writer->quit;
$reader->quit;
$replica->stop;
$primary->stop;
done_testing();
