# The shared-memory cache under load: values set by one session are read by
# the others; eight clients setting and reading through heavy eviction never
# read a wrong value; memory stays within scribe.cache_memory; a value read
# often survives eviction longer than values read once.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Utils;
use ScribeTest;
use Test::More;

my $node = scribe_node('cache', conf => <<"CONF");
scribe.cache_memory = 1MB
scribe.min_workers = 0
scribe.max_workers = 0
scribe.heartbeat_interval = 0
CONF
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_scribe');

# one session sets, another reads
$node->safe_psql('postgres', q{SELECT scribe.cache_set('shared:1', 'from session one')});
is($node->safe_psql('postgres', q{SELECT scribe.cache_get('shared:1')}), 'from session one',
	'a value set in one session is read in another');

# eight clients, set and check through constant eviction: never a wrong value
my $capacity = $node->safe_psql('postgres', q{SELECT capacity_bytes FROM scribe.cache_stats() WHERE tier = 'l1'});
$node->pgbench(
	'--no-vacuum --client=8 --jobs=2 --transactions=3000',
	0,
	[qr{processed: 24000/24000}],
	[qr{^$}],
	'8 clients set and get 20,000 keys through a 1 MB cache: every value read is the one set',
	{
		'cache_check' => q{
\set i random(1, 20000)
SELECT scribe.cache_set('c:' || :i, repeat(md5(:i::text), 1 + :i % 40));
SELECT CASE WHEN v IS NULL OR v = repeat(md5(:i::text), 1 + :i % 40) THEN 1 ELSE 1 / (length(v) * 0) END
FROM scribe.cache_get('c:' || :i) v;
\set j random(1, 20000)
SELECT CASE WHEN v IS NULL OR v = repeat(md5(:j::text), 1 + :j % 40) THEN 1 ELSE 1 / (length(v) * 0) END
FROM scribe.cache_get('c:' || :j) v;
SELECT scribe.cache_delete('c:' || :j) WHERE :j % 10 = 0;
}
	});
my ($used, $cap, $evictions, $entries) = split /\|/, $node->safe_psql('postgres',
	q{SELECT used_bytes, capacity_bytes, evictions, entries FROM scribe.cache_stats() WHERE tier = 'l1'});
cmp_ok($evictions, '>', 1000, "the run evicted ($evictions evictions)");
cmp_ok($used, '<=', $cap, "memory stayed within the budget ($used of $cap bytes)");
cmp_ok($cap, '<=', 1024 * 1024, 'and the budget is scribe.cache_memory');

# CLOCK: a key read between sets survives a stream of keys read once
$node->safe_psql('postgres', q{
	SELECT scribe.cache_clear();
	SELECT scribe.cache_set('hot:1', 'keep me');
	DO $$
	BEGIN
		FOR i IN 1..5000 LOOP
			PERFORM scribe.cache_set('cold:' || i, repeat('x', 400));
			PERFORM scribe.cache_get('hot:1');
		END LOOP;
	END $$;});
is($node->safe_psql('postgres', q{SELECT scribe.cache_get('hot:1')}), 'keep me',
	'a key read often outlives 5,000 keys set once through a full cache');
is($node->safe_psql('postgres', q{SELECT scribe.cache_get('cold:1') IS NULL}), 't',
	'while the first cold keys were evicted');

# the cache is shared memory: a restart empties it
$node->restart;
is($node->safe_psql('postgres', q{SELECT scribe.cache_get('hot:1') IS NULL}), 't',
	'a restart empties the cache');

$node->stop;
done_testing();
