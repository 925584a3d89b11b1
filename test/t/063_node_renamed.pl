# A node renamed (scribe.node_name) leaves its old heartbeat row behind: on
# the primary and, through replication, on its replica.  health() and
# metrics() name the stale node instead of letting its age grow silently;
# scribe.node_forget() removes the row, refusing this node's own name, a node
# that looks alive and, on a replica, a row that is the primary's to delete;
# the primary's delete replicates.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Utils;
use ScribeTest;
use Test::More;

my $primary = scribe_node('primary', allows_streaming => 'logical',
	conf => "scribe.node_name = 'archive-1'\nscribe.heartbeat_interval = 1\nscribe.max_workers = 0\n");
my $replica = scribe_node('replica',
	conf => "scribe.node_name = 'reader-1'\nscribe.heartbeat_interval = 1\nscribe.max_workers = 0\n");
$primary->start;
$replica->start;

# The roles issue 17 creates with the extension, where this branch does not
# yet: forgetting a node is scribe_admin's
for my $node ($primary, $replica)
{
	$node->safe_psql('postgres', q{
		DO $$ BEGIN
			IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'scribe_admin') THEN
				CREATE ROLE scribe_admin NOLOGIN;
			END IF;
		END $$;
		CREATE EXTENSION pg_scribe;
		CREATE ROLE dba LOGIN IN ROLE scribe_admin;
		CREATE ROLE app LOGIN;
	});
}
$primary->safe_psql('postgres', 'SELECT scribe.replication_publish()');
my $conninfo = $primary->connstr . ' dbname=postgres';
# the primary restarts to be renamed: its replica must resume, not stop at
# the broken connection
$replica->safe_psql('postgres', "SELECT scribe.replication_subscribe('$conninfo', disable_on_error => false)");
$replica->wait_for_subscription_sync($primary, 'scribe');
ok($replica->poll_query_until('postgres', q{SELECT count(*) = 1 FROM scribe.heartbeat WHERE node_name = 'archive-1'}),
	'the primary\'s heartbeat arrives on the replica');

# Run SQL on a node as a role; its error as "SQLSTATE: message / hint", or '' on success
sub error_of
{
	my ($node, $sql, $role) = @_;
	my ($ret, $out, $err) = $node->psql('postgres', "\\set VERBOSITY verbose\n$sql",
		on_error_stop => 1, extra_params => [ '-U', $role // 'postgres' ]);
	return '' if $ret == 0;
	my ($state, $msg) = $err =~ /ERROR:\s+(\w{5}):\s+(.*)/;
	my ($hint) = $err =~ /HINT:\s+(.*)/;
	return "$state: $msg" . ($hint ? " / $hint" : '');
}

# The codes of health()'s reasons on a node, and the node it names: "code:node,..."
sub reasons
{
	my ($node) = @_;
	return $node->safe_psql('postgres', q{
		SELECT COALESCE(string_agg((r->>'code') || COALESCE(':' || (r->'evidence'->>'node_name'), ''), ','
		                           ORDER BY r->>'code'), '')
		FROM scribe.health() h, jsonb_array_elements(h->'reasons') r});
}

# A sample of scribe.metrics() on a node, or undef without one
sub metric
{
	my ($node, $family, $node_label) = @_;
	my ($value) = $node->safe_psql('postgres', 'SELECT scribe.metrics()')
	  =~ /^\Q$family\E\{node="\Q$node_label\E"\} (\S+)$/m;
	return $value;
}

# --- the primary is renamed: its old row stays behind, on both nodes ---
$primary->stop;
$primary->append_conf('postgresql.conf', "scribe.node_name = 'archive'\n");
$primary->start;
ok($primary->poll_query_until('postgres', q{SELECT count(*) = 1 FROM scribe.heartbeat WHERE node_name = 'archive'}),
	'the renamed primary beats under its new name');
ok($primary->poll_query_until('postgres', q{
		SELECT count(*) = 1 FROM scribe.health() h, jsonb_array_elements(h->'reasons') r
		WHERE r->>'code' = 'node_stale' AND r->'evidence'->>'node_name' = 'archive-1'}),
	'once its heartbeat is 3 intervals + 10 s old, health() on the primary names the old name as a stale node');
my $reason = $primary->safe_psql('postgres', q{
	SELECT (h->>'status') || ' / ' || (r->>'severity') || ' / ' || (r->>'message') || ' / ' || (r->>'hint')
	FROM scribe.health() h, jsonb_array_elements(h->'reasons') r WHERE r->>'code' = 'node_stale'});
like($reason, qr{^degraded / degraded / node archive-1 has not beaten for \d\d:\d\d:\d\d / If archive-1 was renamed \(scribe.node_name\) or retired, forget it on the primary: SELECT scribe.node_forget\('archive-1'\)\.},
	'degraded, with a hint naming node_forget()');
is($primary->safe_psql('postgres', q{
	SELECT string_agg((e->>'node_name') || ':' || (e->>'stale'), ',' ORDER BY e->>'node_name')
	FROM scribe.health() h, jsonb_array_elements(h->'heartbeats') e}),
	'archive:false,archive-1:true', 'health()\'s heartbeats say which is stale');
is(metric($primary, 'scribe_heartbeat_stale', 'archive-1'), 1, 'metrics(): the old name is stale');
is(metric($primary, 'scribe_heartbeat_stale', 'archive'), 0, 'the new one is not');
ok($replica->poll_query_until('postgres', q{
		SELECT count(*) = 1 FROM scribe.health() h, jsonb_array_elements(h->'reasons') r
		WHERE r->>'code' = 'node_stale' AND r->'evidence'->>'node_name' = 'archive-1'}),
	'the replica, which received the old row, names it too');

# --- what node_forget() refuses ---
like(error_of($primary, q{SELECT scribe.node_forget('archive')}),
	qr/^55000: node "archive" is this node \/ Its launcher writes this row every scribe.heartbeat_interval/,
	'this node\'s own name');
like(error_of($primary, q{SELECT scribe.node_forget('nosuch')}),
	qr/^42704: node "nosuch" has no heartbeat here \/ SELECT node_name, beat_at FROM scribe.heartbeat lists the nodes/,
	'a node it does not know');
like(error_of($primary, q{SELECT scribe.node_forget(NULL)}), qr/^22004: node_name and force must not be NULL/,
	'NULL');
$primary->safe_psql('postgres',
	q{INSERT INTO scribe.heartbeat VALUES ('archive-2', clock_timestamp(), scribe.version())});
like(error_of($primary, q{SELECT scribe.node_forget('archive-2')}),
	qr/^55006: node "archive-2" beat 00:00:\d\d ago: it looks alive \/ Stop that node or change its scribe.node_name first; force => true forgets it anyway/,
	'a node whose heartbeat is fresh');
$primary->safe_psql('postgres', q{ALTER SYSTEM SET scribe.heartbeat_interval = 0});
$primary->reload;
ok($primary->poll_query_until('postgres', q{SELECT current_setting('scribe.heartbeat_interval') = '0'}),
	'heartbeats off on the primary');
like(error_of($primary, q{SELECT scribe.node_forget('archive-1')}),
	qr/^55000: heartbeats are off on this node: it cannot tell whether node "archive-1" is alive \/ .*force => true/,
	'any node while heartbeats are off here: the node cannot judge');
$primary->safe_psql('postgres', q{ALTER SYSTEM RESET scribe.heartbeat_interval});
$primary->reload;
ok($primary->poll_query_until('postgres', q{SELECT current_setting('scribe.heartbeat_interval') = '1s'}),
	'heartbeats back on');
$primary->safe_psql('postgres', q{SELECT scribe.node_forget('archive-2', force => true)});
is($primary->safe_psql('postgres', q{SELECT count(*) FROM scribe.heartbeat WHERE node_name = 'archive-2'}), '0',
	'force => true forgets a live-looking node');
like(error_of($replica, q{SELECT scribe.node_forget('archive-1')}),
	qr/^55000: this node is a read replica: forget node "archive-1" on the primary \/ The primary's delete replicates here/,
	'on a replica, a row that may be the primary\'s');
like(error_of($primary, q{SELECT scribe.node_forget('archive-1')}, 'app'),
	qr/^42501: permission denied for function node_forget/, 'a role without scribe_admin');

# --- forgotten on the primary, by an administrator: gone on both nodes ---
is(error_of($primary, q{SELECT scribe.node_forget('archive-1')}, 'dba'), '',
	'a member of scribe_admin forgets the old name on the primary');
is($primary->safe_psql('postgres', q{SELECT string_agg(node_name, ',') FROM scribe.heartbeat}), 'archive',
	'its row is gone');
ok($replica->poll_query_until('postgres', q{SELECT count(*) = 0 FROM scribe.heartbeat WHERE node_name = 'archive-1'}),
	'the delete replicates to the replica');
unlike(reasons($primary), qr/node_stale/, 'health() on the primary has no stale node left');
unlike(reasons($replica), qr/node_stale/, 'nor on the replica');
is(metric($primary, 'scribe_heartbeat_stale', 'archive-1'), undef, 'metrics() no longer mention it');

# --- the replica renamed: its old row is its own, forgotten with force ---
$replica->stop;
$replica->append_conf('postgresql.conf', "scribe.node_name = 'reader'\n");
$replica->start;
ok($replica->poll_query_until('postgres', q{
		SELECT count(*) = 1 FROM scribe.health() h, jsonb_array_elements(h->'reasons') r
		WHERE r->>'code' = 'node_stale' AND r->'evidence'->>'node_name' = 'reader-1'}),
	'the renamed replica names its old name as stale');
is(error_of($replica, q{SELECT scribe.node_forget('reader-1', force => true)}, 'dba'), '',
	'force => true forgets a row on the replica (its own old name, which the primary never had)');
is($replica->safe_psql('postgres', q{SELECT string_agg(node_name, ',' ORDER BY node_name) FROM scribe.heartbeat}),
	'archive,reader', 'the replica keeps the primary\'s row and its own');
unlike(reasons($replica), qr/node_stale/, 'and health() has no stale node left');

$replica->stop;
$primary->stop;
done_testing();
