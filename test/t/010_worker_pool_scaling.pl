# The pool grows with the queue (ceil(ready / scribe.jobs_per_worker),
# at most scribe.max_workers) and shrinks back to scribe.min_workers after
# scribe.worker_idle_timeout.  Enqueued jobs start without polling.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Utils;
use ScribeTest;
use Test::More;
use Time::HiRes qw(time);

my $node = scribe_node('scaling', conf => <<'CONF');
scribe.min_workers = 1
scribe.max_workers = 3
scribe.jobs_per_worker = 2
scribe.worker_idle_timeout = 2s
max_worker_processes = 10
CONF
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION pg_scribe;
	CREATE TABLE ran (n int, pid int);
	CREATE FUNCTION public.slow(args jsonb) RETURNS void LANGUAGE sql
	    AS $$ INSERT INTO ran VALUES ((args->>'n')::int, pg_backend_pid()); SELECT pg_sleep(0.5) $$;
	SELECT scribe.create_queue('scaling');
});

ok(wait_for_workers($node, 1), 'an idle pool keeps scribe.min_workers worker');

# a commit wakes the idle worker at once: no polling interval to wait for
my $start = time;
$node->safe_psql('postgres',
	q{SELECT scribe.send('scaling', '{"function": "public.slow", "args": {"n": 0}}', kind => 'sql')});
ok($node->poll_query_until('postgres', 'SELECT count(*) = 1 FROM ran'), 'the job ran');
cmp_ok(time - $start, '<', 5, 'within seconds of its commit');
wait_until_drained($node, 'scaling');

# 12 ready jobs, 2 per worker: as many workers as allowed
$node->safe_psql('postgres', q{
	SELECT count(*) FROM scribe.send_batch('scaling',
	    ARRAY(SELECT jsonb_build_object('function', 'public.slow', 'args', jsonb_build_object('n', g))
	          FROM generate_series(1, 12) g), kind => 'sql')});
ok(wait_for_workers($node, 3), 'a deep queue scales the pool up to scribe.max_workers');
ok(wait_until_drained($node, 'scaling'), 'the pool drains the queue');
is($node->safe_psql('postgres', 'SELECT count(*), count(DISTINCT n) FROM ran WHERE n > 0'),
	'12|12', 'every job ran once');
cmp_ok($node->safe_psql('postgres', 'SELECT count(DISTINCT pid) FROM ran WHERE n > 0'), '>', 1,
	'on several workers');

ok(wait_for_workers($node, 1), 'idle workers beyond scribe.min_workers exit after the idle timeout');
is($node->safe_psql('postgres', q{SELECT string_agg(state, ',') FROM scribe.worker_status()}),
	'idle', 'worker_status shows the one idle worker');

# idle workers share a burst: the worker that takes a full batch wakes the next
$node->append_conf('postgresql.conf', "scribe.min_workers = 3\nscribe.worker_idle_timeout = 60s\n");
$node->reload;
ok(wait_for_workers($node, 3), 'scribe.min_workers = 3 on reload: three workers');
$node->poll_query_until('postgres',
	q{SELECT count(*) = 3 FROM scribe.worker_status() WHERE state = 'idle'});
$node->safe_psql('postgres', q{
	TRUNCATE ran;
	SELECT count(*) FROM scribe.send_batch('scaling',
	    ARRAY(SELECT jsonb_build_object('function', 'public.slow', 'args', jsonb_build_object('n', g))
	          FROM generate_series(1, 9) g), kind => 'sql')});
ok(wait_until_drained($node, 'scaling'), 'the burst is drained');
is($node->safe_psql('postgres', 'SELECT count(DISTINCT pid) FROM ran'), '3',
	'by all three idle workers');

# scribe.max_workers lowered to 0 on reload: the pool stops
$node->append_conf('postgresql.conf', "scribe.max_workers = 0\n");
$node->reload;
ok(wait_for_workers($node, 0), 'scribe.max_workers = 0 stops the pool');

$node->stop;
done_testing();
