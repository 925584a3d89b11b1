# health()'s verdict and scribe.capacity_advice()'s findings on one node, each
# brought about by a scenario and gone (or absent) when healthy: Redis killed
# and back (degraded, then ok), an OCR backlog and a slow OCR p95 on a real
# document, cache misses, dead letters, a replication slot left behind, a
# partitions policy out of partitions on a moved clock, cloud OCR cost, and
# a pool that cannot start the workers it wants (max_worker_processes).
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use ScribeTest;
use Test::More;

my $scans = "$ENV{SCRIBE_SOURCE_DIR}/test/fixtures/scans";
my $dir = PostgreSQL::Test::Utils::tempdir();
my $redis_port = PostgreSQL::Test::Cluster::get_free_port();
my $redis_pid;

# Stop Redis however the test ends
END
{
	local $?;
	if ($redis_pid)
	{
		kill 'KILL', $redis_pid;
		waitpid($redis_pid, 0);
	}
}

# Four background worker slots: the logical replication launcher, ours, and
# two for the pool's workers.  Calls Redis answers get a minute; a killed
# Redis refuses connections at once, whatever the timeouts.
my $node = scribe_node('health', conf => <<"CONF");
max_worker_processes = 4
max_parallel_workers_per_gather = 0
wal_level = logical
scribe.min_workers = 1
scribe.max_workers = 2
scribe.redis_command_timeout = 1min
scribe.redis_connect_timeout = 1min
scribe.redis_breaker_failures = 2
scribe.redis_breaker_cooldown = 1s
scribe.heartbeat_interval = 1s
CONF
$node->start;

# Run SQL on the node; its output
sub sql
{
	return $node->safe_psql('postgres', $_[0]);
}

# health()'s verdict and its reasons' codes: "degraded: a,b", or "ok"
sub verdict
{
	return sql(q{SELECT h->>'status' || COALESCE(': ' || (SELECT string_agg(r->>'code', ',' ORDER BY r->>'code')
	                                                      FROM jsonb_array_elements(h->'reasons') r), '')
	             FROM scribe.health() h});
}

# The findings of capacity_advice() with these arguments: "a,b"
sub findings
{
	my ($args) = @_;
	return sql(qq{SELECT COALESCE(string_agg(finding, ',' ORDER BY finding), '')
	              FROM scribe.capacity_advice($args)});
}

# Move the clock the policies see
sub move_clock
{
	my ($offset) = @_;
	sql(qq{ALTER SYSTEM SET scribe.policy_clock_offset = '$offset'});
	$node->reload;
	$node->poll_query_until('postgres', qq{SELECT current_setting('scribe.policy_clock_offset') = '$offset'})
	  or die "scribe.policy_clock_offset = '$offset' not applied";
}

$redis_pid = start_redis($dir, $redis_port);
sql(q{CREATE EXTENSION pg_scribe});
reload_settings($node, redis_url => "redis://127.0.0.1:$redis_port");
ok(wait_for_workers($node, 1), 'the pool runs its one worker');
ok($node->poll_query_until('postgres', q{SELECT scribe.health()->>'status' = 'ok'}), 'a fresh node is ok');
is(sql(q{SELECT jsonb_array_length(scribe.health()->'reasons')}), '0', 'with no reasons');
is(findings(''), '', 'and no scaling advice');

# --- Redis killed: degraded, with the reason; back, and after the breaker closes: ok
is(sql(q{SELECT scribe.cache_set('greeting', 'hello')}), 't', 'a value goes to both tiers');
kill 'KILL', $redis_pid;
waitpid($redis_pid, 0);
$redis_pid = undef;
# misses in shared memory ask Redis, which fails: the breaker opens
sql(q{SELECT count(scribe.cache_get('absent:' || g)) FROM generate_series(1, 5) g});
is(sql(q{SELECT state FROM scribe.redis_stats()}), 'open', 'Redis killed: the breaker opened');
is(verdict(), 'degraded: redis_breaker_open', 'health() is degraded for the open breaker');
like(sql(q{SELECT (r->>'message') || ' / ' || (r->>'hint') FROM scribe.health() h, jsonb_array_elements(h->'reasons') r}),
	qr{breaker is open: the cache serves from shared memory \(L1\) only / Check that Redis runs},
	'the reason says what it means and what to do');
is(sql(q{SELECT r->'evidence'->>'state' FROM scribe.health() h, jsonb_array_elements(h->'reasons') r}),
	'open', 'with the breaker\'s state as evidence');

$redis_pid = start_redis($dir, $redis_port);
ok($node->poll_query_until('postgres', q{
	SELECT clock_timestamp() > state_since + interval '1 second' FROM scribe.redis_stats()}),
	'the cool-down is over');
sql(q{SELECT scribe.cache_get('absent:probe')});
is(sql(q{SELECT state FROM scribe.redis_stats()}), 'closed', 'Redis back: the first call after the cool-down closed the breaker');
is(verdict(), 'ok', 'health() is ok again');

# --- an OCR backlog: no worker may run, a document waits
reload_settings($node, max_workers => '0');
ok(wait_for_workers($node, 0), 'scribe.max_workers = 0: no worker runs');
my $doc = sql(qq{SELECT scribe.document_submit(pg_read_binary_file('$scans/note-clean.jpg'), owner => 'health')});
ok($node->poll_query_until('postgres',
		qq{SELECT clock_timestamp() > submitted_at + interval '1.1 seconds' FROM scribe.documents WHERE document_id = $doc}),
	'the document has waited over a second');
is(findings(q{ocr_backlog_age => '1 second'}), 'ocr_backlog_growing', 'a document waiting over the threshold is a backlog');
is(sql(q{SELECT severity || ' ' || (evidence->>'ready') || ' ' || (evidence->>'workers')
         FROM scribe.capacity_advice(ocr_backlog_age => '1 second')}),
	'critical 1 0', 'critical while every allowed worker runs, with the ready jobs and workers as evidence');
like(sql(q{SELECT recommendation FROM scribe.capacity_advice(ocr_backlog_age => '1 second')}),
	qr/raise scribe\.max_workers .* worker nodes/, 'it recommends more workers or worker nodes');
# (5 minutes bounds the few statements since the submission, not a speed)
is(findings(''), '', 'under the default threshold (5 minutes) it is no finding yet');

# --- OCR p95: the real document's time against a tiny threshold
reload_settings($node, max_workers => '2');
ok($node->poll_query_until('postgres', qq{SELECT status = 'done' FROM scribe.documents WHERE document_id = $doc}),
	'workers again: the document is recognised');
is(findings(q{ocr_p95 => '1 millisecond'}), 'ocr_p95_high', 'its OCR time is above a 1 ms p95 target');
my $p95_high = sql(q{SELECT (evidence->>'run_p95')::interval > '30 seconds'
                     FROM scribe.capacity_advice(ocr_p95 => '1 millisecond')});
is(sql(q{SELECT (evidence->>'run_p95')::interval > '1 millisecond' FROM scribe.capacity_advice(ocr_p95 => '1 millisecond')}),
	't', 'with the measured p95 as evidence');
# how long OCR took is this machine's business: the default target applies to it
is(findings(''), $p95_high eq 't' ? 'ocr_p95_high' : '',
	'the default target is 30 s: a finding exactly when the measured p95 is above it');

# --- cache hit rate: many misses
sql(q{SELECT count(scribe.cache_get('cold:' || g)) FROM generate_series(1, 1200) g});
is(findings(''), 'cache_hit_rate_low,cache_hit_rate_low,cache_hit_rate_low',
	'misses: both tiers and the namespace are under target');
is(sql(q{SELECT string_agg(COALESCE(evidence->>'tier', 'namespace ' || (evidence->>'namespace')), ',' ORDER BY 1)
         FROM scribe.capacity_advice() WHERE finding = 'cache_hit_rate_low'}),
	'l1,l2,namespace cold', 'naming the tiers and the namespace');
is(findings(q{cache_min_lookups => 1000000}), '', 'too few lookups to judge: no finding');
is(findings(q{cache_hit_rate_target => 0}), '', 'a target of 0 is always met');

# --- dead letters: jobs failed for good
sql(q{
	SELECT scribe.queue_create('mail', consumer => 'clients', max_attempts => 3);
	SELECT scribe.send('mail', jsonb_build_object('n', g)) FROM generate_series(1, 3) g;
	SELECT scribe.nack(j.job_id, j.lease, CASE WHEN j.payload->>'n' = '1' THEN 'bad address' ELSE 'smtp refused' END,
	                   retry => false)
	FROM scribe.claim('mail', 3) j;
});
is(findings(q{cache_min_lookups => 1000000}), 'dead_letters_growing', 'three dead letters: dead letters grow');
is(sql(q{SELECT evidence->>'queue', evidence->>'dead', evidence->>'commonest_error', evidence->>'commonest_error_count'
         FROM scribe.capacity_advice() WHERE finding = 'dead_letters_growing'}),
	'mail|3|smtp refused|2', 'naming the queue and the commonest error');
is(verdict(), 'degraded: dead_letters_rising', 'health() is degraded for them');
is(findings(q{cache_min_lookups => 1000000, dead_letters => 4}), '', 'fewer than the threshold: no finding');
sql(q{SELECT scribe.queue_purge('mail', 'dead')});
is(verdict(), 'ok', 'purged: health() is ok');

# --- replication: a slot nobody streams from keeps WAL
sql(q{SELECT pg_create_logical_replication_slot('forgotten', 'pgoutput')});
sql(q{CREATE TABLE filler AS SELECT g FROM generate_series(1, 1000) g});
is(findings(q{cache_min_lookups => 1000000, replica_lag_bytes => 1}), 'replica_lag_high',
	'a slot behind by more than 1 byte lags');
is(sql(q{SELECT severity || ' ' || (evidence->>'name') || ' ' || (evidence->>'state')
         FROM scribe.capacity_advice(cache_min_lookups => 1000000, replica_lag_bytes => 1)}),
	'critical forgotten inactive', 'critically: no subscriber streams from it');
is(findings(q{cache_min_lookups => 1000000}), '', 'within the default 1 GB it is no finding');
is(verdict(), 'degraded: replication_broken', 'health() is degraded for the inactive slot');
sql(q{SELECT pg_drop_replication_slot('forgotten')});
is(verdict(), 'ok', 'slot dropped: ok');

# --- partitions: a day ahead, then a moved clock runs past them
sql(q{
	CREATE TABLE events (at timestamptz NOT NULL) PARTITION BY RANGE (at);
	SELECT scribe.policy_create('events', 'partitions', 'events', '{"interval": "day", "premake": 1}', '1 day');
});
ok($node->poll_query_until('postgres', q{SELECT last_status = 'succeeded' FROM scribe.policy_status() WHERE name = 'events'}),
	'the policy made its partitions');
is(findings(q{cache_min_lookups => 1000000}), '', 'a day ahead: no finding');
move_clock('3d');
is(findings(q{cache_min_lookups => 1000000}), 'partitions_running_out', 'three days later the partitions ran out');
is(sql(q{SELECT severity || ' ' || (evidence->>'policy') || ' ' || ((evidence->>'runway')::interval < '0')::text
         FROM scribe.capacity_advice(cache_min_lookups => 1000000)}),
	'critical events true', 'critically, with the runway as evidence');
is(verdict(), 'failing: partitions_running_out,policy_failing', 'health() is failing: new rows have no partition');
move_clock('0');
is(verdict(), 'ok', 'the clock back: ok');

# --- cloud OCR cost
sql(q{INSERT INTO scribe.ocr_ledger (owner, page, method, cost)
      SELECT 'health', 1, 'cloud', 0.0015 FROM generate_series(1, 10)});
is(findings(q{cache_min_lookups => 1000000}), 'cloud_cost_share_high', 'cloud pages are most of the cost');
is(sql(q{SELECT evidence->>'cloud_pages', evidence->>'local_pages', (evidence->>'cloud_share')::numeric > 0.9
         FROM scribe.capacity_advice(cache_min_lookups => 1000000)}),
	'10|1|t', 'with the pages of each tier and the cloud share as evidence');
is(findings(q{cache_min_lookups => 1000000, cloud_cost_share => 1}), '', 'under a share of 1: no finding');

# --- workers that cannot start: more wanted than max_worker_processes allows
sql(q{DELETE FROM scribe.ocr_ledger WHERE method = 'cloud'});
reload_settings($node, max_workers => '6', jobs_per_worker => '1');
# a worker claims about 20 ms of work at once (4 jobs it knows nothing of);
# the jobs wait for an advisory lock the test holds, so that 20 of them keep
# more ready than two workers take for as long as the test looks
my $gate = scribe_session($node);
$gate->query_safe('SELECT pg_advisory_lock(9)');
sql(q{
	CREATE FUNCTION public.slow(args jsonb) RETURNS void LANGUAGE sql
	    AS $$ SELECT pg_advisory_xact_lock_shared(9); SELECT pg_sleep(0.01) $$;
	SELECT scribe.queue_create('slow');
	SELECT scribe.send_batch('slow', array_fill('{"function": "public.slow", "args": {}}'::jsonb, ARRAY[20]), kind => 'sql');
});
ok($node->poll_query_until('postgres', q{SELECT short_since IS NOT NULL FROM scribe._pool_start_status()}),
	'the pool notices it cannot start the workers it wants');
# health and advice in one statement
my ($verdict, $running, $wanted, $severity, $slots, $advice_wanted, $advice) = split /\|/, sql(q{
	SELECT h->>'status' || ': ' || (r->>'code'), r->'evidence'->>'running', r->'evidence'->>'wanted',
	       a.severity, a.evidence->>'max_worker_processes', a.evidence->>'wanted', a.recommendation
	FROM scribe.health() h, jsonb_array_elements(h->'reasons') r,
	     scribe.capacity_advice(cache_min_lookups => 1000000) a
	WHERE a.finding = 'max_worker_processes_exhausted'});
is($verdict, 'degraded: workers_cannot_start', 'health() is degraded: some workers run, not all');
ok($running == 2 && $wanted > 2, "the two that fit run of the $wanted it wants");
is("$severity $slots", 'critical 4', 'scaling advice: max_worker_processes (4) exhausted, critically');
my ($least) = $advice =~ /Raise max_worker_processes to at least (\d+)/;
is($least, 4 + $advice_wanted - 2, 'raise it by the workers missing');
$gate->query_safe('SELECT pg_advisory_unlock(9)');
$gate->quit;
ok(wait_until_drained($node, 'slow'), 'the two workers drain the queue');
ok($node->poll_query_until('postgres', q{SELECT scribe.health()->>'status' = 'ok'}),
	'no more wanted than run: health() is ok again');
is(sql(q{SELECT severity FROM scribe.capacity_advice(cache_min_lookups => 1000000)
         WHERE finding = 'max_worker_processes_exhausted'}),
	'warning', 'the advice remembers the shortfall of the last hour, as a warning');

# --- a stale heartbeat: older than 3 intervals + 10 s, once the launcher has run that long
sql(q{
	CREATE FUNCTION age_heartbeat() RETURNS text LANGUAGE sql AS $$
	    UPDATE scribe.heartbeat SET beat_at = now() - interval '1 hour'
	    WHERE node_name = (SELECT node_name FROM scribe._library_status());
	    SELECT h->>'status' || COALESCE(': ' || (r->>'code') || ' ' || (r->>'message'), '')
	    FROM scribe.health() h LEFT JOIN LATERAL jsonb_array_elements(h->'reasons') r ON true
	$$});
ok($node->poll_query_until('postgres', q{SELECT age_heartbeat()},
		q{degraded: heartbeat_stale this node's heartbeat is 01:00:00 old}),
	'an hour-old heartbeat is stale');
ok($node->poll_query_until('postgres', q{SELECT scribe.health()->>'status' = 'ok'}),
	'the launcher beats again: ok');

$node->stop;
done_testing();
