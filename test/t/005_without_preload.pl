# A server that once preloaded pg_scribe and no longer does: the installed
# extension still reports its state, nothing pretends to run, and a new
# install says what to add.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Utils;
use ScribeTest;
use Test::More;

my $node = scribe_node('nopreload');
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_scribe');
$node->stop;

$node->append_conf('postgresql.conf', "shared_preload_libraries = ''\n");
$node->start;

is($node->safe_psql('postgres',
		q{SELECT scribe.version() = extversion FROM pg_extension WHERE extname = 'pg_scribe'}),
	't', 'version() works without the preload');
is($node->safe_psql('postgres', q{SELECT scribe.health()->>'preloaded'}), 'false',
	'health() reports the missing preload');
is($node->safe_psql('postgres', q{SELECT scribe.health()->'launcher'->>'state'}), 'stopped',
	'health() reports no launcher');
is($node->safe_psql('postgres', q{SELECT (h->>'status') || ' ' || (h->'reasons'->0->>'code') FROM scribe.health() h}),
	'failing not_preloaded', 'health() is failing, for the missing preload');
is($node->safe_psql('postgres',
		q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_scribe launcher'}),
	'0', 'no launcher runs');

$node->safe_psql('postgres', 'CREATE DATABASE other');
my ($ret, $stdout, $stderr) = $node->psql('other', 'CREATE EXTENSION pg_scribe');
like($stderr, qr/pg_scribe is not loaded through shared_preload_libraries/,
	'CREATE EXTENSION is refused');
like($stderr, qr/HINT:  Add pg_scribe to shared_preload_libraries/,
	'with a hint naming shared_preload_libraries');

$node->stop;
done_testing();
