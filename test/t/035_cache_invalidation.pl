# Cache invalidation on data change, where logical replication applies the
# rows: the triggers scribe.cache_invalidate_on() attaches are enabled
# ALWAYS, so on a subscriber they delete the keys of the rows the apply
# worker (and the initial copy) writes, and a cache_fetch there reads the
# new row, not a value cached from the old one.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Utils;
use ScribeTest;
use Test::More;

my $conf = "scribe.min_workers = 0\nscribe.max_workers = 0\nscribe.heartbeat_interval = 0\n";
my $primary = scribe_node('primary', allows_streaming => 'logical', conf => $conf);
my $replica = scribe_node('replica', conf => $conf);
$primary->start;
$replica->start;

my $table = 'CREATE TABLE users (id int PRIMARY KEY, name text, team text)';
$primary->safe_psql('postgres', qq{
	$table;
	INSERT INTO users VALUES (1, 'Ann', 'red'), (2, 'Bo', 'red'), (3, 'Cy', 'blue');
	CREATE PUBLICATION users FOR TABLE users;
});
$replica->safe_psql('postgres', qq{
	CREATE EXTENSION pg_scribe;
	$table;
	SELECT scribe.cache_invalidate_on('users', 'user:{id}:name', 'team:{team}', 'userlist');
});

# Run SQL on the replica and return its output
sub on_replica { return $replica->safe_psql('postgres', $_[0]) }

# values cached on the replica before its copy of the table arrives
on_replica(q{SELECT scribe.cache_set('user:3:name', 'nobody yet'), scribe.cache_set('userlist:all', 'empty')});

my $conninfo = $primary->connstr . ' dbname=postgres';
on_replica("CREATE SUBSCRIPTION users CONNECTION '$conninfo' PUBLICATION users");
$replica->wait_for_subscription_sync($primary, 'users');
is(on_replica(q{SELECT count(*) FROM users}), 3, 'the initial copy arrived');
is(on_replica(q{SELECT count(*) FROM scribe.cache_get_many(ARRAY['user:3:name', 'userlist:all'])}), 0,
	'the initial copy fired the triggers: the values cached before it are gone');

# the replica caches reads of its rows
my $fetch_name = q{SELECT scribe.cache_fetch('user:1:name', 'SELECT name FROM users WHERE id = 1', '1 hour')};
is(on_replica($fetch_name), 'Ann', 'cache_fetch on the replica loads the row');
on_replica(q{SELECT scribe.cache_set('user:2:name', 'Bo'), scribe.cache_set('team:red', 'Ann,Bo'),
	scribe.cache_set('team:blue', 'Cy'), scribe.cache_set('userlist:all', 'Ann,Bo,Cy')});

# the primary changes one row
$primary->safe_psql('postgres', q{UPDATE users SET name = 'Anna' WHERE id = 1});
$primary->wait_for_catchup('users');
is(on_replica(q{SELECT string_agg(key, ',') FROM scribe.cache_get_many(
		ARRAY['user:1:name', 'user:2:name', 'team:red', 'team:blue', 'userlist:all'])}),
	'user:2:name,team:blue',
	'the apply worker fired the triggers: the keys of the changed row and the namespace are gone, the others kept');
is(on_replica($fetch_name), 'Anna', 'cache_fetch on the replica reads the new row');

# a row moving from one team to another invalidates both teams' keys
on_replica(q{SELECT scribe.cache_set('team:red', 'Anna,Bo'), scribe.cache_set('team:blue', 'Cy')});
$primary->safe_psql('postgres', q{UPDATE users SET team = 'blue' WHERE id = 2});
$primary->wait_for_catchup('users');
is(on_replica(q{SELECT count(*) FROM scribe.cache_get_many(ARRAY['team:red', 'team:blue'])}), 0,
	'an update invalidates the keys of the old row and of the new one');

# deletes and TRUNCATE replicate too
on_replica(q{SELECT scribe.cache_set('user:3:name', 'Cy')});
$primary->safe_psql('postgres', q{DELETE FROM users WHERE id = 3});
$primary->wait_for_catchup('users');
is(on_replica(q{SELECT scribe.cache_get('user:3:name') IS NULL}), 't', 'a replicated delete invalidates');
on_replica(q{SELECT scribe.cache_set('user:1:name', 'Anna'), scribe.cache_set('user:2:name', 'Bo')});
$primary->safe_psql('postgres', q{TRUNCATE users});
$primary->wait_for_catchup('users');
is(on_replica(q{SELECT count(*) FROM scribe.cache_get_many(ARRAY['user:1:name', 'user:2:name'])}), 0,
	'a replicated TRUNCATE invalidates the namespace of the templates');

is(on_replica(q{SELECT count(*) FROM pg_subscription WHERE subenabled}), 1,
	'the subscription is still enabled: the triggers never failed on the replica');

$replica->stop;
$primary->stop;
done_testing();
