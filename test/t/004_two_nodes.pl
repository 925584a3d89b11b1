# Two nodes: a table of the extension published on the first and subscribed
# on the second; rows the first writes are read on the second.  Later tests
# of replicas and worker nodes build on this set-up.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Utils;
use ScribeTest;
use Test::More;

my $primary = scribe_node('primary', allows_streaming => 'logical',
	conf => "scribe.node_name = 'primary'\nscribe.heartbeat_interval = 1\n");
my $replica = scribe_node('replica',
	conf => "scribe.node_name = 'replica'\nscribe.heartbeat_interval = 1\n");
$primary->start;
$replica->start;

for my $node ($primary, $replica)
{
	$node->safe_psql('postgres', 'CREATE EXTENSION pg_scribe');
}

$primary->safe_psql('postgres', 'CREATE PUBLICATION scribe FOR TABLE scribe.heartbeat');
my $conninfo = $primary->connstr . ' dbname=postgres';
$replica->safe_psql('postgres',
	"CREATE SUBSCRIPTION scribe CONNECTION '$conninfo' PUBLICATION scribe");
$replica->wait_for_subscription_sync($primary, 'scribe');

# the primary's launcher writes its heartbeat; the replica reads it
ok($replica->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM scribe.heartbeat WHERE node_name = 'primary'"),
	'the primary\'s heartbeat row arrives on the replica');

my $first = $replica->safe_psql('postgres',
	"SELECT beat_at FROM scribe.heartbeat WHERE node_name = 'primary'");
ok($replica->poll_query_until('postgres',
		"SELECT beat_at > '$first' FROM scribe.heartbeat WHERE node_name = 'primary'"),
	'and keeps advancing as the primary beats');

is($replica->safe_psql('postgres', q{
	SELECT string_agg(e->>'node_name' || ':' || (e->>'local'), ',' ORDER BY e->>'node_name')
	FROM jsonb_array_elements(scribe.health()->'heartbeats') AS e}),
	'primary:false,replica:true',
	'health() on the replica lists both nodes, its own as local');

# replication is one way: the replica's own row stays on the replica
is($primary->safe_psql('postgres', 'SELECT string_agg(node_name, \',\') FROM scribe.heartbeat'),
	'primary', 'the replica\'s row does not flow back');

$replica->stop;
$primary->stop;
done_testing();
