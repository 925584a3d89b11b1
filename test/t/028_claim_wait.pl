# Claims that wait: scribe.claim(..., wait => interval) returns as soon as a
# job of its queue commits, or empty when the wait runs out.  Real sessions
# wait while others send; every step waits for an event (the waiter asleep
# in pg_stat_activity, its result), never for a time.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use ScribeTest;
use Test::More;

my $node = scribe_node('claim_wait', conf => <<'CONF');
scribe.min_workers = 0
scribe.max_workers = 0
CONF
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION pg_scribe;
	SELECT scribe.queue_create('inbox', consumer => 'clients');
	SELECT scribe.queue_create('other', consumer => 'clients');
});

# How many claims sleep waiting for a job
my $asleep = q{SELECT count(*) FROM pg_stat_activity
	WHERE wait_event_type = 'Extension' AND query LIKE '%scribe.claim(%'};

# Start a claim that waits in a session of its own; returns the session
sub start_waiter
{
	my ($claim) = @_;
	# an error (the cancel) must leave psql running to tell it
	my $session = scribe_session($node, on_error_stop => 0);
	$session->query_safe('\set VERBOSITY verbose');
	$session->query_until(qr/waiting\r?\n/, "\\echo waiting\n$claim;\n");
	return $session;
}

# The waiting claim's output (and its stderr), once it returned
sub finish_waiter
{
	my ($session) = @_;
	my ($out) = $session->query('\echo finished');
	my $err = $session->{stderr};
	$out =~ s/\r?\n?finished\r?$//;
	$session->quit;
	return ($out, $err);
}

my $claim_one = q{SELECT coalesce(string_agg(payload->>'n', ','), 'none') FROM scribe.claim('inbox', wait => '1 hour')};

# A waiting claim returns the job another session commits; a send not yet
# committed neither wakes it nor is returned
my $sender = scribe_session($node);
$sender->query_safe(q{BEGIN});
$sender->query_safe(q{SELECT scribe.send('inbox', '{"n": "uncommitted"}')});
my $waiter = start_waiter($claim_one);
ok($node->poll_query_until('postgres', "SELECT ($asleep) = 1"),
	'a claim with wait sleeps when the only job is not committed');
$node->safe_psql('postgres', q{SELECT scribe.send('other', '{"n": "elsewhere"}')});
$node->safe_psql('postgres', q{SELECT scribe.send('inbox', '{"n": "committed"}')});
my ($got, $err) = finish_waiter($waiter);
is($got, 'committed', 'it returns the job another session commits (not the uncommitted one, nor another queue\'s)');
is($err, '', 'without an error');
$sender->query_safe(q{COMMIT});
$sender->quit;
is($node->safe_psql('postgres', q{SELECT string_agg(payload->>'n', ',') FROM scribe.claim('inbox')}),
	'uncommitted', 'the job committed later is there for the next claim');

# Empty when the wait runs out, with nothing sent
is($node->safe_psql('postgres', q{SELECT count(*) FROM scribe.claim('inbox', wait => '50 milliseconds')}),
	'0', 'an empty queue: the claim returns no job once its wait runs out');
is($node->safe_psql('postgres', q{SELECT count(*) FROM scribe.claim('inbox', wait => '0')}),
	'0', 'wait 0 does not wait');

# A job there already is returned at once, however long the wait
$node->safe_psql('postgres', q{SELECT scribe.send('inbox', '{"n": "there"}')});
is($node->safe_psql('postgres', q{SELECT payload->>'n' FROM scribe.claim('inbox', wait => '1 hour')}),
	'there', 'a ready job is claimed without waiting');

# A delayed job wakes the claim when it falls due: sent before the claim
# starts, and while it waits
$node->safe_psql('postgres', q{SELECT scribe.send('inbox', '{"n": "due soon"}', delay => '300 milliseconds')});
is($node->safe_psql('postgres', $claim_one), 'due soon', 'a delayed job is returned when it falls due');
$waiter = start_waiter($claim_one);
ok($node->poll_query_until('postgres', "SELECT ($asleep) = 1"), 'a claim waits on an empty queue');
$node->safe_psql('postgres', q{SELECT scribe.send('inbox', '{"n": "due later"}', delay => '300 milliseconds')});
($got, $err) = finish_waiter($waiter);
is($got, 'due later', 'a job delayed while the claim waits is returned when it falls due');

# A nack with a retry wakes it when the retry falls due
$node->safe_psql('postgres', q{SELECT scribe.send('inbox', '{"n": "retried"}')});
$node->safe_psql('postgres', q{SELECT scribe.nack(job_id, lease, 'not yet', retry_in => '200 milliseconds') FROM scribe.claim('inbox')});
is($node->safe_psql('postgres', $claim_one), 'retried', 'a nacked job is returned when its retry falls due');

# Cancellable: pg_cancel_backend and statement_timeout end it with 57014
$waiter = start_waiter($claim_one);
ok($node->poll_query_until('postgres', "SELECT ($asleep) = 1"), 'a claim waits');
is($node->safe_psql('postgres', qq{SELECT pg_cancel_backend(pid) FROM pg_stat_activity
	WHERE wait_event_type = 'Extension' AND query LIKE '%scribe.claim(%'}), 't', 'it is sent a cancel');
($got, $err) = finish_waiter($waiter);
like($err, qr/ERROR:  57014: canceling statement due to user request/, 'pg_cancel_backend ends the wait with 57014');
my ($rc, $out, $stderr) = $node->psql('postgres', qq{\\set VERBOSITY verbose
SET statement_timeout = '200ms';
$claim_one});
like($stderr, qr/ERROR:  57014: canceling statement due to statement timeout/, 'statement_timeout ends it with 57014');
is($node->safe_psql('postgres', "SELECT ($asleep)"), '0', 'no claim waits any more');

# Three waiters, three jobs in one commit: each job to one of them
my @waiters = map { start_waiter(q{SELECT coalesce(string_agg(payload->>'n', ','), 'none') FROM scribe.claim('inbox', 1, wait => '1 hour')}) } 1 .. 3;
ok($node->poll_query_until('postgres', "SELECT ($asleep) = 3"), 'three claims wait');
$node->safe_psql('postgres', q{SELECT scribe.send_batch('inbox', ARRAY['{"n": "1"}', '{"n": "2"}', '{"n": "3"}']::jsonb[])});
my @got = sort map { (finish_waiter($_))[0] } @waiters;
is_deeply(\@got, [ '1', '2', '3' ], 'three jobs in one commit: each waiter claims one, none twice');

# Three waiters, three commits
@waiters = map { start_waiter(q{SELECT coalesce(string_agg(payload->>'n', ','), 'none') FROM scribe.claim('inbox', 1, wait => '1 hour')}) } 1 .. 3;
ok($node->poll_query_until('postgres', "SELECT ($asleep) = 3"), 'three claims wait again');
$node->safe_psql('postgres', qq{SELECT scribe.send('inbox', '{"n": "$_"}')}) for qw(a b c);
@got = sort map { (finish_waiter($_))[0] } @waiters;
is_deeply(\@got, [ 'a', 'b', 'c' ], 'three jobs in three commits: each to one waiter');
is($node->safe_psql('postgres', q{SELECT count(*) FROM scribe.jobs j JOIN scribe.queues q USING (queue_id) WHERE q.name = 'inbox' AND j.lease_until IS NULL}), '0', 'no job of the queue left unclaimed');

# REPEATABLE READ and SERIALIZABLE cannot see a later commit in the statement: refused
for my $level ('REPEATABLE READ', 'SERIALIZABLE')
{
	($rc, $out, $stderr) = $node->psql('postgres', qq{\\set VERBOSITY verbose
BEGIN ISOLATION LEVEL $level;
SELECT * FROM scribe.claim('inbox', wait => '1 second');});
	like($stderr, qr/ERROR:  0A000: scribe.claim\(\) cannot wait in a REPEATABLE READ or SERIALIZABLE transaction/,
		"$level: a claim with wait is refused (0A000)");
	like($stderr, qr/HINT:  Claim with wait in a READ COMMITTED transaction/, 'with a hint');
	is($node->safe_psql('postgres', qq{BEGIN ISOLATION LEVEL $level; SELECT count(*) FROM scribe.claim('inbox'); COMMIT;}),
		'0', "$level: a claim without wait works");
}

# A wait of a thousand years is a long wait, not an overflow
$waiter = start_waiter(q{SELECT coalesce(string_agg(payload->>'n', ','), 'none') FROM scribe.claim('inbox', wait => '1000 years')});
ok($node->poll_query_until('postgres', "SELECT ($asleep) = 1"), 'a claim waits a thousand years');
$node->safe_psql('postgres', q{SELECT scribe.send('inbox', '{"n": "millennium"}')});
($got, $err) = finish_waiter($waiter);
is($got, 'millennium', 'and returns the job sent meanwhile');

# A claim that rolls back gives its job back at once: its abort wakes the
# waiting claims (the wait is an hour: only the wake-up ends it)
$node->safe_psql('postgres', q{SELECT scribe.send('inbox', '{"n": "given back"}')});
my $holder = scribe_session($node);
$holder->query_safe('BEGIN');
is($holder->query_safe(q{SELECT payload->>'n' FROM scribe.claim('inbox')}), 'given back',
	'a transaction claims the only job');
$waiter = start_waiter($claim_one);
ok($node->poll_query_until('postgres', "SELECT ($asleep) = 1"), 'a claim waits while the job is held');
$holder->query_safe('ROLLBACK');
($got, $err) = finish_waiter($waiter);
is($got, 'given back', 'the rollback of the claim woke the waiting claim, which took the job');

# ... and a subtransaction's claim rolled back wakes them at its transaction's commit
$node->safe_psql('postgres', q{SELECT scribe.send('inbox', '{"n": "savepoint"}')});
$holder->query_safe('BEGIN; SAVEPOINT s');
is($holder->query_safe(q{SELECT payload->>'n' FROM scribe.claim('inbox')}), 'savepoint',
	'a subtransaction claims the only job');
$waiter = start_waiter($claim_one);
ok($node->poll_query_until('postgres', "SELECT ($asleep) = 1"), 'a claim waits while the subtransaction holds it');
$holder->query_safe('ROLLBACK TO s; COMMIT');
($got, $err) = finish_waiter($waiter);
is($got, 'savepoint', 'the commit after the subtransaction\'s rollback woke the waiting claim');
$holder->quit;

# Arguments
($rc, $out, $stderr) = $node->psql('postgres', qq{\\set VERBOSITY verbose
SELECT * FROM scribe.claim('inbox', wait => '-1 second');});
like($stderr, qr/ERROR:  22023: wait must not be negative/, 'a negative wait is refused (22023)');

$node->stop;
done_testing();
