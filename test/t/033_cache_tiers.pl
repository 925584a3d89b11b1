# The cache's two tiers with a real redis-server: a value evicted from
# shared memory comes back from Redis; values too large for shared memory
# live in Redis; an invalidation hides Redis's values too; with Redis killed
# the cache serves from shared memory and never errors; writes lost while
# Redis was down never come back as stale values.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use ScribeTest;
use Test::More;

my $dir = PostgreSQL::Test::Utils::tempdir();
my $port = PostgreSQL::Test::Cluster::get_free_port();
my $redis = start_redis($dir, $port);

# Calls that Redis answers get a minute (the default 50 ms is for
# production, not for a loaded test machine); the outage below shortens the
# timeouts while Redis cannot answer anyway
my $node = scribe_node('tiers', conf => <<"CONF");
scribe.cache_memory = 1MB
scribe.redis_url = 'redis://127.0.0.1:$port'
scribe.redis_command_timeout = '1min'
scribe.redis_connect_timeout = '1min'
scribe.redis_breaker_failures = 2
scribe.redis_breaker_cooldown = 500
scribe.min_workers = 0
scribe.max_workers = 0
scribe.heartbeat_interval = 0
CONF
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_scribe');

# Run SQL and return its output
sub sql { return $node->safe_psql('postgres', $_[0]) }

# L2 behind L1
sql(q{SELECT count(*) FROM generate_series(1, 3000) i WHERE scribe.cache_set('page:' || i, repeat(md5(i::text), 20))});
cmp_ok(sql(q{SELECT evictions FROM scribe.cache_stats() WHERE tier = 'l1'}), '>', 0, 'the 1 MB shared-memory tier evicted');
is(sql(q{SELECT count(*) FROM generate_series(1, 3000) i WHERE scribe.cache_get('page:' || i) = repeat(md5(i::text), 20)}),
	3000, 'every value comes back, the evicted ones from Redis');
is(sql(q{SELECT scribe.cache_set('big:1', repeat('x', 2000000)), length(scribe.cache_get('big:1'))}), 't|2000000',
	'a value too large for shared memory lives in Redis');
is(sql(q{SELECT scribe.cache_set_jsonb('doc:1', '{"a": 1}'::jsonb), scribe.cache_clear(), scribe.cache_get_jsonb('doc:1')}),
	't||{"a": 1}', 'the type comes back from Redis too');

# invalidation reaches Redis
sql(q{SELECT scribe.cache_clear(); SELECT scribe.cache_invalidate('page')});
is(sql(q{SELECT count(scribe.cache_get('page:' || i)) FROM generate_series(1, 3000) i}), 0,
	'after cache_invalidate(\'page\') no page value comes back from either tier');
is(sql(q{SELECT scribe.cache_get_jsonb('doc:1')}), '{"a": 1}', 'other namespaces are untouched');
is(sql(q{SELECT scribe.cache_set('page:1', 'new'), scribe.cache_clear(), scribe.cache_get('page:1')}), 't||new',
	'a value set after the invalidation is found again');
is(sql(q{SELECT scribe.cache_delete('page:1'), scribe.cache_get('page:1') IS NULL}), 't|t',
	'delete removes it from both tiers');

# many keys at once: warming writes Redis in batches, a multi-get reads the
# misses of shared memory from Redis in batches, not a round trip per key
sub redis_calls { return sql(q{SELECT successes FROM scribe.redis_stats()}) }
my $calls = redis_calls();
is(sql(q{SELECT scribe.cache_warm($$SELECT 'warm:' || i, 'v' || i FROM generate_series(1, 2000) i$$, '1 hour')}),
	2000, 'cache_warm stores 2000 rows');
cmp_ok(redis_calls() - $calls, '<=', 12, 'in a few Redis calls (batches of 512), not 2000');
sql(q{SELECT scribe.cache_clear()});
my $l2_hits = sql(q{SELECT hits FROM scribe.cache_stats() WHERE tier = 'l2'});
$calls = redis_calls();
is(sql(q{SELECT count(*) FILTER (WHERE value = 'v' || substr(key, 6))
         FROM scribe.cache_get_many(ARRAY(SELECT 'warm:' || i FROM generate_series(1, 1000) i))}),
	1000, 'cache_get_many finds the 1000 warmed keys in Redis after shared memory was emptied');
cmp_ok(redis_calls() - $calls, '<=', 6, 'in a few Redis calls, not 1000');
is(sql(q{SELECT hits FROM scribe.cache_stats() WHERE tier = 'l2'}) - $l2_hits, 1000, 'the l2 row counts 1000 hits');
is(sql(q{SELECT hits, l2_hits FROM scribe.cache_namespace_stats() WHERE namespace = 'warm'}), '1000|1000',
	'and so does the namespace');
is(sql(q{SELECT count(*) FROM scribe.cache_get_many(ARRAY(SELECT 'warm:' || i FROM generate_series(1, 1000) i))}),
	1000, 'the second multi-get is served from shared memory');

# a value in our key space that pg_scribe did not write is a miss, not garbage
sql(q{SELECT scribe._redis_set('scribe:c:junk:1', 'written by someone else')});
is(sql(q{SELECT scribe.cache_get('junk:1') IS NULL}), 't', 'a foreign value without our header is a miss');

# no memory grows with the number of calls: a backend that goes through
# every cache function (both tiers, the triggers, the commit-time pass)
# 20,000 times in one CALL, committing each time, keeps its private memory
# within a small bound (the commit-time pass once allocated in the CALL's
# context: 768 kB more here, and 5 MB after the next 20,000)
sql(q{
	CREATE TABLE churn_rows (id int PRIMARY KEY, v int);
	INSERT INTO churn_rows VALUES (1, 0);
	SELECT scribe.cache_invalidate_on('churn_rows', 'churn:{id}', 'churnlist');
	CREATE PROCEDURE churn(n int) LANGUAGE plpgsql AS $$
	BEGIN
	    FOR i IN 1..n LOOP
	        PERFORM scribe.cache_set('churn:' || (i % 100), repeat('x', 200), '1 hour');
	        PERFORM scribe.cache_get('churn:' || (i % 100));
	        PERFORM count(*) FROM scribe.cache_get_many(ARRAY['churn:1', 'churn:2', 'churn:x' || i]);
	        PERFORM scribe.cache_fetch('fetch:' || (i % 50), 'SELECT 42', '1 hour');
	        PERFORM scribe.cache_delete('churn:' || (i % 7));
	        UPDATE churn_rows SET v = i WHERE id = 1;
	        IF i % 100 = 0 THEN
	            PERFORM scribe.cache_warm($w$SELECT 'warm:' || g, 'v' FROM generate_series(1, 10) g$w$);
	            PERFORM scribe.cache_invalidate('fetch');
	            PERFORM count(*) FROM scribe.cache_stats();
	            PERFORM count(*) FROM scribe.cache_namespace_stats();
	        END IF;
	        COMMIT;
	    END LOOP;
	END $$;
});

my ($before, $after) = backend_memory_growth($node, 'CALL churn(2000)', 'CALL churn(20000)');
cmp_ok($after - $before, '<', 512,
	"a backend's private memory after 20,000 rounds of every cache function: $before kB -> $after kB");

# Redis paused (it keeps its data but answers nothing): calls keep working
# from shared memory, never an error
sql(q{SELECT scribe.cache_set('user:1', 'before the outage'), scribe.cache_set('user:2', 'two')});
reload_settings($node, redis_command_timeout => '200ms', redis_connect_timeout => '200ms');
kill 'STOP', $redis;
is(sql(q{SELECT scribe.cache_get('user:1')}), 'before the outage', 'with Redis unresponsive, shared memory still serves');
is(sql(q{SELECT scribe.cache_set('user:1', 'during the outage'), scribe.cache_get('user:1')}), 't|during the outage',
	'and takes new values');
is(sql(q{SELECT count(*) FROM generate_series(1, 200) i WHERE scribe.cache_get('absent:' || i) IS NULL}), 200,
	'misses are misses, not errors');
is(sql(q{SELECT state FROM scribe.redis_stats()}), 'open', 'the breaker is open');

# Redis answers again, still holding 'before the outage' for user:1: the
# write it missed must not let that stale value come back.  Once the
# breaker's cool-down has passed (by the server's clock), the first call
# probes Redis, and Redis answering it closes the breaker.
kill 'CONT', $redis;
reload_settings($node, redis_command_timeout => '1min', redis_connect_timeout => '1min');
ok($node->poll_query_until('postgres', q{
	SELECT clock_timestamp() > state_since + interval '500 ms' FROM scribe.redis_stats()}),
	'the cool-down is over');
sql(q{SELECT scribe.cache_clear()});
is(sql(q{SELECT scribe.cache_get('user:1') IS NULL}), 't',
	'the value Redis kept from before the outage is not served: the lost write bumped the epoch');
is(sql(q{SELECT state FROM scribe.redis_stats()}), 'closed', 'while Redis answered again: the breaker closed');
is(sql(q{SELECT scribe.cache_set('user:1', 'after'), scribe.cache_clear(), scribe.cache_get('user:1')}), 't||after',
	'and Redis serves again once the breaker closed');
is(sql(q{SELECT state FROM scribe.redis_stats()}), 'closed', 'the breaker closed');

kill 'KILL', $redis;
waitpid($redis, 0);
$node->stop;
done_testing();
