# Lifecycle policies run by the launcher and the worker pool: partitions
# made ahead and retired on a moved clock; a reader holding a lock on the
# parent while retention runs (the detach waits and retries, the partitions
# made stay); a purge of a million rows in batches while inserts go on; a
# failing policy retried, then dead-lettered, while the others run; a bad
# policy row skipped with a WARNING; the history pruned by the built-in
# policy.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";
use IPC::Run;
use PostgreSQL::Test::Utils;
use ScribeTest;
use Test::More;

# autovacuum off: the partitions policy waits 200 ms for a lock, and only the
# test's own reader may hold one (an autovacuum of a partition, cancelled
# only after deadlock_timeout, could time a successful run out otherwise)
my $node = scribe_node('lifecycle', conf => <<'CONF');
autovacuum = off
scribe.min_workers = 1
scribe.max_workers = 2
scribe.heartbeat_interval = 0
CONF
$node->start;

# Run SQL and return its output
sub sql { return $node->safe_psql('postgres', $_[0]) }

# Wait until the last run of a policy has the status; returns whether it did
sub wait_for_run
{
	my ($policy, $status) = @_;
	return $node->poll_query_until('postgres', qq{
		SELECT status = '$status' FROM scribe.policy_runs r JOIN scribe.policies p USING (policy_id)
		WHERE p.name = '$policy' ORDER BY run_id DESC LIMIT 1});
}

# Start a run now; its run id
sub run_now
{
	my ($policy) = @_;
	return sql(qq{SELECT scribe.policy_run('$policy')->>'run_id'});
}

# Move the clock the policies see, for every session and worker
sub move_clock
{
	my ($offset) = @_;
	sql(qq{ALTER SYSTEM SET scribe.policy_clock_offset = '$offset'});
	$node->reload;
	$node->poll_query_until('postgres', qq{SELECT current_setting('scribe.policy_clock_offset') = '$offset'})
	  or die "scribe.policy_clock_offset = '$offset' not applied";
}

# The partitions of a table, oldest first, and how many there are
sub partitions
{
	my ($parent) = @_;
	return sql(qq{SELECT count(*) || ': ' || string_agg(partition::text, ',' ORDER BY lo)
	              FROM scribe._partition_bounds('$parent') WHERE NOT is_default});
}

sql(q{
	CREATE EXTENSION pg_scribe;
	-- quick retries for the test: a failed action is tried again within a second
	SELECT scribe.queue_alter('lifecycle', max_attempts => 10, backoff_base => '200 milliseconds',
	                          backoff_cap => '1 second');
	CREATE TABLE events (at timestamptz NOT NULL, v int) PARTITION BY RANGE (at);
	CREATE TABLE events_default PARTITION OF events DEFAULT;
	INSERT INTO events SELECT now() - i * interval '1 day', i FROM generate_series(0, 40) i;
});

# --- partitions: made ahead, the default kept empty, retired on a moved clock
sql(q{SELECT scribe.policy_create('events', 'partitions', 'events',
	'{"interval": "month", "premake": 2, "retention": "3 months", "lock_timeout": "200 milliseconds"}', '1 day')});
ok(wait_for_run('events', 'succeeded'), 'the launcher ran the new policy at once');
like(partitions('events'), qr/^[45]: /, 'the current month, two ahead, and the months of the rows already there');
is(sql(q{SELECT count(*) FROM events_default}), 0, 'the default partition was emptied into them');
is(sql(q{SELECT count(*) FROM events}), 41, 'no row lost');
is(sql(q{SELECT alert IS NULL FROM scribe.policy_status() WHERE name = 'events'}), 't', 'nothing to report');

my $before = partitions('events');
move_clock('150d');
is(sql(q{SELECT alert FROM scribe.policy_status() WHERE name = 'events'}), '0 future partitions of the 2 asked',
	'five months later the status view sees the premade partitions ran out');
run_now('events');
ok(wait_for_run('events', 'succeeded'), 'a run on the moved clock');
is(sql(q{SELECT count(*) > 0 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relname LIKE 'events_p%' AND NOT c.relispartition}), 't',
	'partitions older than three months were detached, kept as tables');
is(sql(q{SELECT alert IS NULL FROM scribe.policy_status() WHERE name = 'events'}), 't', 'two months ahead again');
is(sql(q{SELECT done->0->>'action', done->-1->>'action' FROM scribe.policy_runs r
         JOIN scribe.policies p USING (policy_id) WHERE p.name = 'events' ORDER BY run_id DESC LIMIT 1}),
	'create_partition|detach_partition', 'the run made partitions first, then retired the old ones');

# --- a reader holds a lock on the parent while retention runs.  (With a
# default partition, making a partition would wait too: moving its rows out
# and checking it lock the default partition exclusively.)
sql(q{ALTER TABLE events DETACH PARTITION events_default; DROP TABLE events_default});
# retries enough that the run outlives the reader however long the test
# takes to let go (ten 1 s retries ran out on a slow machine)
sql(q{SELECT scribe.queue_alter('lifecycle', max_attempts => 1000)});
my $reader = scribe_session($node);
$reader->query_safe('BEGIN; SELECT count(*) FROM events');
move_clock('250d');
my $run = run_now('events');
ok($node->poll_query_until('postgres',
		qq{SELECT attempts > 0 FROM scribe.policy_runs WHERE run_id = $run}),
	'the detach timed out on the reader\'s lock and will be retried');
like(sql(qq{SELECT error FROM scribe.policy_runs WHERE run_id = $run}), qr/lock timeout/,
	'the run records why');
is(sql(q{SELECT scribe.policy_run('events') - 'policy'}), qq({"run_id": $run, "already_running": true}),
	'one run at a time: asked for another, policy_run names the one under way');
is(sql(qq{SELECT partitions > 0 FROM scribe.policy_runs WHERE run_id = $run}), 't',
	'while the reader held its lock the new partitions were made (attach does not wait for readers)');
$reader->query_safe('COMMIT');
$reader->quit;
ok(wait_for_run('events', 'succeeded'), 'the reader gone, the retried detach went through');
is(sql(qq{SELECT count(*) > 0 FROM jsonb_array_elements((SELECT done FROM scribe.policy_runs WHERE run_id = $run)) a
          WHERE a->>'action' = 'create_partition'}), 't',
	'and the partitions made before the timeouts were not rolled back');
move_clock('0');

# --- a purge of a million rows in batches while inserts go on: the inserts
# are seen going on before the purge starts and after it finished
sql(q{
	SELECT scribe.queue_alter('lifecycle', max_attempts => 10);
	CREATE TABLE logs (id bigserial PRIMARY KEY, at timestamptz NOT NULL, msg text);
	INSERT INTO logs (at, msg) SELECT now() - interval '100 days', 'old' FROM generate_series(1, 1000000);
	CREATE INDEX ON logs (at);
	VACUUM ANALYZE logs;
});
my $script = PostgreSQL::Test::Utils::tempdir() . '/insert.sql';
PostgreSQL::Test::Utils::append_to_file($script, "INSERT INTO logs (at, msg) VALUES (now(), 'new');\n");
my ($bench_out, $bench_err) = ('', '');
# --time only bounds a run whose test died; the test stops pgbench itself
my $pgbench = IPC::Run::start(
	[ 'pgbench', '--no-vacuum', '--client=2', '--jobs=2', '--time=36000', '--file', $script,
		'--host', $node->host, '--port', $node->port, 'postgres' ],
	'>', \$bench_out, '2>', \$bench_err);
ok($node->poll_query_until('postgres', q{SELECT count(*) > 0 FROM logs WHERE msg = 'new'}), 'inserts go on');
sql(q{SELECT scribe.policy_create('logs', 'purge', 'logs',
	'{"column": "at", "older_than": "90 days", "batch_size": 50000, "pause": "10 milliseconds"}', '1 day')});
ok(wait_for_run('logs', 'succeeded'), 'the purge finished while inserts went on');
ok($node->poll_query_until('postgres', q{
	SELECT count(*) > 0 FROM logs
	WHERE msg = 'new' AND at > (SELECT r.finished_at FROM scribe.policy_runs r JOIN scribe.policies p USING (policy_id)
	                            WHERE p.name = 'logs')}),
	'and still go on after it');
$pgbench->kill_kill;
unlike($bench_err, qr/ERROR|abort/i, 'no insert failed or waited out a lock');
is(sql(q{SELECT count(*) FROM logs WHERE msg = 'old'}), 0, 'every old row is gone');
cmp_ok(sql(q{SELECT count(*) FROM logs WHERE msg = 'new'}), '>', 0, 'the new rows stay');
is(sql(q{SELECT rows, actions >= 20 FROM scribe.policy_runs r JOIN scribe.policies p USING (policy_id)
         WHERE p.name = 'logs'}), '1000000|t', 'a million rows in batches of 50,000, each its own transaction');

# --- a failing policy is retried, then dead-lettered; the others go on
sql(q{
	SELECT scribe.queue_alter('lifecycle', max_attempts => 3);
	CREATE TABLE pings (at timestamptz DEFAULT now());
	CREATE PROCEDURE fail_always() LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'the backup disk is full'; END $$;
	CREATE PROCEDURE ping() LANGUAGE sql AS $$ INSERT INTO pings DEFAULT VALUES $$;
	SELECT scribe.policy_create('failing', 'sql', 'fail_always', schedule => '1 hour');
	SELECT scribe.policy_create('pinger', 'sql', 'ping', schedule => '1 hour');
});
ok(wait_for_run('failing', 'failed'), 'the failing policy\'s run failed');
is(sql(q{SELECT attempts, error FROM scribe.policy_runs r JOIN scribe.policies p USING (policy_id)
         WHERE p.name = 'failing'}), '3|the backup disk is full', 'after the queue\'s three attempts');
is(sql(q{SELECT count(*) FROM scribe.jobs_dead d JOIN scribe.queues q USING (queue_id)
         WHERE q.name = 'lifecycle'}), 1, 'its job went to the dead letters');
is(sql(q{SELECT last_status, consecutive_failures FROM scribe.policy_status() WHERE name = 'failing'}), 'failed|1',
	'the status view shows the failure');
ok(wait_for_run('pinger', 'succeeded'), 'the other policies ran');
is(sql(q{SELECT count(*) FROM pings}), 1, 'the procedure was called once');

# --- a bad policy row is skipped with a WARNING; the launcher lives on
my $launcher = (launcher_activity($node))[0];
my $log_offset = -s $node->logfile;
sql(q{UPDATE scribe.policies SET schedule = 'whenever', next_run_at = now() WHERE name = 'pinger';
      UPDATE scribe.policies SET next_run_at = now() WHERE name = 'events';
      SELECT scribe._policies_changed()});
ok($node->wait_for_log(qr/WARNING:  pg_scribe: policy "pinger" skipped: schedule "whenever" is neither/, $log_offset),
	'the bad row is skipped with a WARNING');
ok(wait_for_run('events', 'succeeded'), 'the other due policies still run');
is((launcher_activity($node))[0], $launcher, 'the same launcher');

# --- the built-in policy prunes the history
cmp_ok(sql(q{SELECT count(*) FROM scribe.policy_runs r JOIN scribe.policies p USING (policy_id) WHERE p.name = 'events'}),
	'>=', 3, 'runs of the events policy kept');
sql(q{SELECT scribe.policy_alter('scribe.history', settings => '{"args": {"keep": 1, "max_age": "30 days"}}')});
run_now('scribe.history');
ok($node->poll_query_until('postgres', q{
	SELECT count(*) = 0 FROM (SELECT policy_id FROM scribe.policy_runs r JOIN scribe.policies p USING (policy_id)
	                          WHERE r.status IN ('succeeded', 'failed') AND p.name <> 'scribe.history'
	                          GROUP BY policy_id HAVING count(*) > 1) x}),
	'the built-in policy kept the last run of each other policy (its own finishes after it pruned)');

$node->stop;
done_testing();
