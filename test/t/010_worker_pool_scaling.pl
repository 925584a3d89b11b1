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

# the idle timeout is an hour at first: a job that an idle worker runs
# within the test's timeout was not found by that worker's timer
my $node = scribe_node('scaling', conf => <<'CONF');
scribe.min_workers = 1
scribe.max_workers = 3
scribe.jobs_per_worker = 2
scribe.worker_idle_timeout = 1h
max_worker_processes = 10
CONF
$node->start;
# slow() records the job, then waits until it may go on: advisory lock 7,
# which the test holds while it looks at the pool
$node->safe_psql('postgres', q{
	CREATE EXTENSION pg_scribe;
	CREATE TABLE ran (n int, pid int);
	CREATE FUNCTION public.slow(args jsonb) RETURNS void LANGUAGE sql
	    AS $$ INSERT INTO ran VALUES ((args->>'n')::int, pg_backend_pid());
	          SELECT pg_advisory_xact_lock_shared(7); SELECT pg_sleep(0.1) $$;
	SELECT scribe.queue_create('scaling');
});
my $gate = scribe_session($node);

# Workers that run a job waiting at the gate
my $waiting = q{SELECT count(DISTINCT w.pid) FROM scribe.worker_status() w JOIN pg_locks l ON l.pid = w.pid
	WHERE w.job_id IS NOT NULL AND l.locktype = 'advisory' AND NOT l.granted};

ok(wait_for_workers($node, 1), 'an idle pool keeps scribe.min_workers worker');
ok($node->poll_query_until('postgres', q{SELECT count(*) = 1 FROM scribe.worker_status() WHERE state = 'idle'}),
	'which is idle');

# a commit wakes the idle worker at once: its own timer would take an hour
$node->safe_psql('postgres',
	q{SELECT scribe.send('scaling', '{"function": "public.slow", "args": {"n": 0}}', kind => 'sql')});
ok($node->poll_query_until('postgres', 'SELECT count(*) = 1 FROM ran'), 'the job ran: the commit woke the worker');
ok(wait_until_drained($node, 'scaling'), 'and finished');
reload_settings($node, worker_idle_timeout => '2s');

# 12 ready jobs, 2 per worker: as many workers as allowed, each running one
$gate->query_safe('SELECT pg_advisory_lock(7)');
$node->safe_psql('postgres', q{
	SELECT count(*) FROM scribe.send_batch('scaling',
	    ARRAY(SELECT jsonb_build_object('function', 'public.slow', 'args', jsonb_build_object('n', g))
	          FROM generate_series(1, 12) g), kind => 'sql')});
ok(wait_for_workers($node, 3), 'a deep queue scales the pool up to scribe.max_workers');
ok($node->poll_query_until('postgres', "SELECT ($waiting) = 3"), 'and all three run jobs');
$gate->query_safe('SELECT pg_advisory_unlock(7)');
ok(wait_until_drained($node, 'scaling'), 'the pool drains the queue');
is($node->safe_psql('postgres', 'SELECT count(*), count(DISTINCT n) FROM ran WHERE n > 0'),
	'12|12', 'every job ran once');
is($node->safe_psql('postgres', 'SELECT count(DISTINCT pid) FROM ran WHERE n > 0'), '3',
	'on the three workers');

ok(wait_for_workers($node, 1), 'idle workers beyond scribe.min_workers exit after the idle timeout');
is($node->safe_psql('postgres', q{SELECT string_agg(state, ',') FROM scribe.worker_status()}),
	'idle', 'worker_status shows the one idle worker');

# idle workers share a burst: the worker that takes a full batch wakes the next
reload_settings($node, min_workers => 3, worker_idle_timeout => '1min');
ok(wait_for_workers($node, 3), 'scribe.min_workers = 3 on reload: three workers');
ok($node->poll_query_until('postgres',
		q{SELECT count(*) = 3 FROM scribe.worker_status() WHERE state = 'idle'}),
	'all three idle');
$gate->query_safe('SELECT pg_advisory_lock(7)');
$node->safe_psql('postgres', q{
	TRUNCATE ran;
	SELECT count(*) FROM scribe.send_batch('scaling',
	    ARRAY(SELECT jsonb_build_object('function', 'public.slow', 'args', jsonb_build_object('n', g))
	          FROM generate_series(1, 9) g), kind => 'sql')});
ok($node->poll_query_until('postgres', "SELECT ($waiting) = 3"), 'the burst wakes all three idle workers');
$gate->query_safe('SELECT pg_advisory_unlock(7)');
ok(wait_until_drained($node, 'scaling'), 'the burst is drained');
is($node->safe_psql('postgres', 'SELECT count(DISTINCT pid) FROM ran'), '3',
	'by all three idle workers');
$gate->quit;

# scribe.max_workers lowered to 0 on reload: the pool stops
reload_settings($node, max_workers => 0);
ok(wait_for_workers($node, 0), 'scribe.max_workers = 0 stops the pool');

$node->stop;
done_testing();
