# Explicit cache deletes, invalidations and clears reach a logical replica:
# with scribe.cache_events published, scribe.cache_delete, cache_invalidate
# and cache_clear on the primary record an event in the caller's
# transaction, and the replica's trigger does the same on its cache (shared
# memory, and its own Redis) once that transaction commits, never after a
# rollback.  A node that does not publish the table writes nothing; an
# event the replica cannot do is a WARNING, and the subscription stays
# enabled.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use ScribeTest;
use Test::More;

my $dir = PostgreSQL::Test::Utils::tempdir();
my $redis_port = PostgreSQL::Test::Cluster::get_free_port();
my $redis = start_redis($dir, $redis_port);

my $conf = "scribe.min_workers = 0\nscribe.max_workers = 0\nscribe.heartbeat_interval = 0\n";
my $primary = scribe_node('primary', allows_streaming => 'logical', conf => $conf);
# the replica has a Redis of its own: the events must reach it too
my $replica = scribe_node('replica', conf => $conf . "scribe.redis_url = 'redis://127.0.0.1:$redis_port'\n");
$primary->start;
$replica->start;

# Run SQL on a node and return its output
sub on_primary { return $primary->safe_psql('postgres', $_[0]) }
sub on_replica { return $replica->safe_psql('postgres', $_[0]) }

# The keys of @_ the replica's cache holds, comma-separated
sub replica_has
{
	my $keys = join(', ', map { "'$_'" } @_);
	return on_replica("SELECT string_agg(key, ',') FROM scribe.cache_get_many(ARRAY[$keys])");
}

# Whether a transaction calling $sql on $node took a transaction id (wrote)
sub writes
{
	my ($node, $sql) = @_;
	return $node->safe_psql('postgres',
		"BEGIN; $sql; SELECT pg_current_xact_id_if_assigned() IS NOT NULL; COMMIT;") =~ /t$/ ? 1 : 0;
}

my $ticks = 'CREATE TABLE ticks (n int PRIMARY KEY)';
on_primary("CREATE EXTENSION pg_scribe; $ticks");
on_replica("CREATE EXTENSION pg_scribe; $ticks");

is(writes($primary, q{SELECT scribe.cache_delete('user:1:name')}), 0,
	'before the table is published, cache_delete writes nothing');
on_primary(q{CREATE PUBLICATION scribe_cache FOR TABLE scribe.cache_events, ticks});
is(writes($primary, q{SELECT scribe.cache_delete('old:1')}), 1, 'published, cache_delete records an event');
is(on_primary(q{SELECT operation || ' ' || argument FROM scribe.cache_events}), 'delete old:1', 'the event');

# values cached on the replica before it subscribes; the initial copy
# replays the primary's events (the last day's): old:1 goes
on_replica(q{SELECT scribe.cache_set('old:1', 'x'), scribe.cache_set('user:1:name', 'Ann'),
	scribe.cache_set('user:2:name', 'Bo'), scribe.cache_set('team:red', 'Ann,Bo'), scribe.cache_set('team:blue', 'Cy')});
my $conninfo = $primary->connstr . ' dbname=postgres';
on_replica("CREATE SUBSCRIPTION scribe_cache CONNECTION '$conninfo' PUBLICATION scribe_cache
	WITH (disable_on_error = true)");
$replica->wait_for_subscription_sync($primary, 'scribe_cache');
is(replica_has('old:1', 'user:1:name'), 'user:1:name', 'the initial copy replayed the old event, nothing else');

# --- each form, on shared memory and on the replica's own Redis
on_primary(q{SELECT scribe.cache_delete('user:1:name')});
$primary->wait_for_catchup('scribe_cache');
is(replica_has('user:1:name', 'user:2:name'), 'user:2:name',
	'cache_delete on the primary: the key is gone from the replica (both tiers), the others kept');

on_primary(q{SELECT scribe.cache_invalidate('team')});
$primary->wait_for_catchup('scribe_cache');
is(replica_has('team:red', 'team:blue', 'user:2:name'), 'user:2:name',
	'cache_invalidate on the primary: the namespace is gone from the replica');

on_replica(q{SELECT scribe.cache_set('team:red', 'Ann')});
cmp_ok(on_replica(q{SELECT entries FROM scribe.cache_stats() WHERE tier = 'l1'}), '>', 0,
	'the replica caches again');
on_primary(q{SELECT scribe.cache_clear()});
$primary->wait_for_catchup('scribe_cache');
is(on_replica(q{SELECT entries FROM scribe.cache_stats() WHERE tier = 'l1'}), 0,
	'cache_clear on the primary empties the replica\'s shared memory');

# --- not before the primary's transaction commits
on_replica(q{SELECT scribe.cache_set('user:3:name', 'Cy'), scribe.cache_set('user:4:name', 'Di')});
my $session = scribe_session($primary);
$session->query_safe(q{BEGIN});
$session->query_safe(q{SELECT scribe.cache_delete('user:3:name')});
# a transaction committed after the call reaches the replica first
on_primary(q{INSERT INTO ticks VALUES (1)});
$replica->poll_query_until('postgres', q{SELECT count(*) = 1 FROM ticks})
  or die 'the tick did not arrive';
is(replica_has('user:3:name'), 'user:3:name', 'while the primary\'s transaction is open, the replica keeps the value');
$session->query_safe(q{COMMIT});
$primary->wait_for_catchup('scribe_cache');
is(replica_has('user:3:name'), '', 'after its commit, the value is gone');

# --- never after a rollback
$session->query_safe(q{BEGIN});
$session->query_safe(q{SELECT scribe.cache_delete('user:4:name'), scribe.cache_invalidate('user'), scribe.cache_clear()});
$session->query_safe(q{ROLLBACK});
$session->quit;
on_primary(q{INSERT INTO ticks VALUES (2)});
$primary->wait_for_catchup('scribe_cache');
is(replica_has('user:4:name'), 'user:4:name', 'a rolled-back transaction\'s calls never reach the replica');

# --- the replica publishes nothing: its own calls write nothing
is(writes($replica, q{SELECT scribe.cache_delete('user:4:name'), scribe.cache_invalidate('user')}), 0,
	'on the replica, cache_delete and cache_invalidate write nothing');

# --- an event the replica cannot do is a WARNING; the events after it apply
my $log_offset = -s $replica->logfile;
on_replica(q{SELECT scribe.cache_set('user:5:name', 'Ed')});
on_primary(q{INSERT INTO scribe.cache_events (operation, argument) VALUES ('delete', repeat('k', 2000))});
on_primary(q{SELECT scribe.cache_delete('user:5:name')});
$primary->wait_for_catchup('scribe_cache');
is(replica_has('user:5:name'), '', 'the events after a bad one still apply');
like(slurp_file($replica->logfile, $log_offset), qr/WARNING:  cache event not applied: a cache key is at most 1024 bytes/,
	'the bad event was a WARNING on the replica');
is(on_replica(q{SELECT count(*) FROM pg_subscription WHERE subenabled}), 1,
	'the subscription (disable_on_error) is still enabled');
is(on_replica(q{SELECT count(*) FROM scribe.cache_events}), on_primary(q{SELECT count(*) FROM scribe.cache_events}),
	'the replica holds the primary\'s events, none of its own');

$replica->stop;
$primary->stop;
kill 'TERM', $redis;
waitpid($redis, 0);
done_testing();
