# A read replica made with scribe.replication_publish() on the primary and
# scribe.replication_subscribe() on the replica: documents recognised on the primary are
# searchable there, cached values of changed rows are dropped, the replica's
# workers stand still, and a subscription that breaks, then is repaired,
# shows in health() on both sides.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Utils;
use ScribeTest;
use Test::More;

my $scans = "$ENV{SCRIBE_SOURCE_DIR}/test/fixtures/scans";
my $primary = scribe_node('primary', allows_streaming => 'logical',
	conf => "scribe.node_name = 'primary'\nscribe.heartbeat_interval = 1\nscribe.min_workers = 1\n");
my $replica = scribe_node('replica',
	conf => "scribe.node_name = 'replica'\nscribe.heartbeat_interval = 1\nscribe.min_workers = 1\n");
$primary->start;
$replica->start;

my $notes = 'CREATE TABLE notes (id int PRIMARY KEY, body text)';
$primary->safe_psql('postgres', "CREATE EXTENSION pg_scribe; $notes; CREATE TABLE scratch (n int)");
$replica->safe_psql('postgres', "CREATE EXTENSION pg_scribe; $notes");
my $conninfo = $primary->connstr . ' dbname=postgres';

# Run SQL on a node; its error as "SQLSTATE: message / hint", or '' on success
sub error_of
{
	my ($node, $sql) = @_;
	my ($ret, $out, $err) = $node->psql('postgres',
		"\\set VERBOSITY verbose\n$sql", on_error_stop => 1);
	return '' if $ret == 0;
	my ($state, $msg) = $err =~ /ERROR:\s+(\w{5}):\s+(.*)/;
	my ($hint) = $err =~ /HINT:\s+(.*)/;
	return "$state: $msg" . ($hint ? " / $hint" : '');
}

# --- set-up errors ---
like(error_of($replica, "SELECT scribe.replication_subscribe('$conninfo')"),
	qr/^42704: the primary has no publication "scribe" \/ Run SELECT scribe.replication_publish\(\) on the primary first/,
	'subscribing before the primary publishes names the missing publication');
like(error_of($replica, "SELECT scribe.replication_subscribe('host=127.0.0.1 port=1 dbname=postgres connect_timeout=2')"),
	qr/^08006: could not connect to the primary: .* \/ The conninfo must reach the primary as a role with the REPLICATION attribute/,
	'an unreachable primary is a connection failure with a hint');
like(error_of($primary, "SELECT scribe.replication_publish(ARRAY['scribe.jobs'])"),
	qr/^22023: scribe.jobs is not published: it stays on the primary \/ .*worker nodes claim them/,
	'the queue tables stay on the primary');
like(error_of($primary, "SELECT scribe.replication_publish(ARRAY['scratch'])"),
	qr/^55000: table public.scratch has no replica identity \/ Add a primary key, or ALTER TABLE public.scratch REPLICA IDENTITY FULL/,
	'a table without a replica identity is refused: published, it would refuse UPDATE and DELETE');
is($replica->safe_psql('postgres', 'SELECT count(*) FROM pg_subscription'), 0,
	'a failed subscribe leaves no subscription');
is($primary->safe_psql('postgres', 'SELECT count(*) FROM pg_replication_slots'), 0,
	'nor a slot on the primary');

# --- publish and subscribe ---
is($primary->safe_psql('postgres', "SELECT string_agg(t::text, ',' ORDER BY t::text) FROM scribe.replication_publish(ARRAY['notes']) t"),
	join(',', sort qw(notes scribe.cache_events scribe.documents scribe.document_pages scribe.heartbeat scribe.ocr_ledger)),
	'replication_publish() returns what the publication now holds: pg_scribe\'s tables and the ones given');
$primary->safe_psql('postgres', q{
	INSERT INTO notes VALUES (1, 'first'), (2, 'second');
	SELECT scribe.document_submit(pg_read_binary_file('} . "$scans/letter-clean.png" . q{'), owner => 'family-1');
});
ok($primary->poll_query_until('postgres', q{SELECT status = 'done' FROM scribe.documents}),
	'the primary\'s workers recognise the document');

$replica->safe_psql('postgres', q{SELECT scribe.cache_invalidate_on('notes', 'note:{id}')});
my $slot = $replica->safe_psql('postgres', "SELECT scribe.replication_subscribe('$conninfo')");
like($slot, qr/^scribe_\d+$/, 'replication_subscribe() returns the slot it made on the primary, named for this node');
is($primary->safe_psql('postgres', "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '$slot'"), 1,
	'the slot exists on the primary');
$replica->wait_for_subscription_sync($primary, 'scribe');

is($replica->safe_psql('postgres', q{SELECT scribe.health()->>'role'}), 'replica',
	'health() names the replica role');
ok(wait_for_workers($replica, 0), 'the replica runs no workers, though scribe.min_workers is 1');
like(error_of($replica, q{SELECT scribe.document_submit('\x00'::bytea)}),
	qr/^25006: this node is a read replica: submit documents on the primary/,
	'documents are submitted on the primary, not on a replica');

# --- what a replica serves ---
is($replica->safe_psql('postgres', q{SET scribe.owner = 'family-1'; SELECT count(*) FROM scribe.document_search('dear')}), 1,
	'the document recognised on the primary is searchable on the replica (search vector computed there)');
is($replica->safe_psql('postgres', q{SELECT count(*) FROM scribe.document_pages}),
	$primary->safe_psql('postgres', q{SELECT count(*) FROM scribe.document_pages}),
	'its pages arrived too');
my $primary_now = $primary->safe_psql('postgres', 'SELECT now()');
ok($replica->poll_query_until('postgres',
		qq{SELECT beat_at > '$primary_now' FROM scribe.heartbeat WHERE node_name = 'primary'}),
	'the primary\'s heartbeat arrives, and keeps arriving');

my $fetch = q{SELECT scribe.cache_fetch('note:1', 'SELECT body FROM notes WHERE id = 1', '1 hour')};
is($replica->safe_psql('postgres', $fetch), 'first', 'the replica caches a read of a replicated row');
$primary->safe_psql('postgres', q{UPDATE notes SET body = 'changed' WHERE id = 1});
$primary->wait_for_catchup('scribe');
is($replica->safe_psql('postgres', q{SELECT scribe.cache_get('note:1') IS NULL}), 't',
	'the primary\'s UPDATE drops the cached value on the replica');
is($replica->safe_psql('postgres', $fetch), 'changed', 'and the next fetch reads the new row');
$replica->safe_psql('postgres', q{SELECT scribe.cache_set('album:7', 'cached on the replica')});
$primary->safe_psql('postgres', q{SELECT scribe.cache_delete('album:7')});
$primary->wait_for_catchup('scribe');
is($replica->safe_psql('postgres', q{SELECT scribe.cache_get('album:7') IS NULL}), 't',
	'a cache_delete() on the primary reaches the replica\'s cache (scribe.cache_events)');

# --- status on both sides ---
# the primary's heartbeats stream in all the time: wait for a moment with
# nothing received and not applied yet
ok($replica->poll_query_until('postgres', q{SELECT side, name, state, lag_bytes, errors, problem IS NULL
		FROM scribe.replication_status()}, 'subscriber|scribe|streaming|0|0|t'),
	'the replica sees its subscription streaming, nothing behind');
ok($primary->poll_query_until('postgres', qq{SELECT state = 'streaming' AND lag_bytes = 0 AND problem IS NULL
		FROM scribe.replication_status() WHERE side = 'publisher' AND name = '$slot'}),
	'the primary sees the replica\'s slot streaming and caught up');
is($primary->safe_psql('postgres', q{SELECT scribe.health()->'replication'->0->>'side'}),
	'publisher', 'health() on the primary includes it');

# --- a subscription that breaks, and its repair ---
$replica->safe_psql('postgres', q{INSERT INTO notes VALUES (99, 'written on the replica')});
$primary->safe_psql('postgres', q{INSERT INTO notes VALUES (99, 'written on the primary')});
ok($replica->poll_query_until('postgres', q{SELECT state = 'disabled' FROM scribe.replication_status()}),
	'a conflicting row disables the subscription (disable_on_error)');
my $problem = $replica->safe_psql('postgres', q{
	SELECT r->>'problem' FROM scribe.health() h, jsonb_array_elements(h->'replication') r});
like($problem, qr/^disabled after 1 error\(s\): fix the cause the server log names, then ALTER SUBSCRIPTION scribe ENABLE$/,
	'health() on the replica says it is broken and how to repair it');
ok($replica->wait_for_log(qr/WARNING:  pg_scribe: subscription "scribe" is disabled/),
	'the replica\'s launcher logs that the subscription stopped');
ok($primary->poll_query_until('postgres', qq{SELECT state = 'inactive' AND problem LIKE 'no subscriber streams from this slot%'
		FROM scribe.replication_status() WHERE name = '$slot'}),
	'the primary sees no subscriber on the slot');

$replica->safe_psql('postgres', q{DELETE FROM notes WHERE id = 99; ALTER SUBSCRIPTION scribe ENABLE});
ok($replica->poll_query_until('postgres', q{SELECT body = 'written on the primary' FROM notes WHERE id = 99}),
	'repaired and enabled, the subscription applies the row');
ok($replica->poll_query_until('postgres', q{SELECT state = 'streaming' AND problem IS NULL FROM scribe.replication_status()}),
	'and health() is clean again');
ok($replica->wait_for_log(qr/LOG:  pg_scribe: subscription "scribe" is enabled again/),
	'the launcher logs that it resumed');

# --- a replica restarted keeps its role ---
$replica->restart;
ok(wait_for_workers($replica, 0), 'after a restart the replica still runs no workers');
$primary->safe_psql('postgres', q{INSERT INTO notes VALUES (3, 'after the restart')});
$primary->wait_for_catchup('scribe');
is($replica->safe_psql('postgres', q{SELECT body FROM notes WHERE id = 3}), 'after the restart',
	'and still receives the primary\'s changes');

# --- unsubscribe: a primary again ---
$replica->safe_psql('postgres', q{SELECT scribe.replication_unsubscribe()});
is($replica->safe_psql('postgres', q{SELECT count(*) FROM pg_subscription}), 0, 'replication_unsubscribe() drops the subscription');
is($primary->safe_psql('postgres', "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '$slot'"), 0,
	'and the slot on the primary');
is($replica->safe_psql('postgres', q{SELECT scribe.health()->>'role'}), 'primary',
	'the node is a primary again');
ok(wait_for_workers($replica, 1), 'its workers run again');
is($replica->safe_psql('postgres', q{SELECT count(*) FROM scribe.documents}), 1, 'with the data it had');
cmp_ok($replica->safe_psql('postgres', qq{SELECT scribe.document_submit(pg_read_binary_file('$scans/letter-clean.png'))}),
	'>', $primary->safe_psql('postgres', 'SELECT max(document_id) FROM scribe.documents'),
	'a document submitted after replication_unsubscribe() gets an id past the ones received');
like(error_of($replica, "SELECT scribe.replication_subscribe('$conninfo')"),
	qr/^55000: scribe.documents has rows of its own on this node \/ A replica receives its copy/,
	'a node with documents of its own cannot subscribe');
like(error_of($replica, 'SELECT scribe.replication_unsubscribe()'), qr/^55000: this node is not a replica/,
	'replication_unsubscribe() on a primary is an error');

$replica->stop;
$primary->stop;
done_testing();
