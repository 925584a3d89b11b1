# A lease is named by its job and an unguessable token that only the
# consumer that claimed the job learns.  Bob, a consumer with the grants the
# reference recommends, tries to ack, nack and extend the lease of a job
# Alice claimed, with every guess open to him: attempt-like numbers, the nil
# uuid, a random one, his own token of another job.  Each is refused with
# 55000, and Alice's job is untouched; her token still works, and it shows
# nowhere but in her claim.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use ScribeTest;
use Test::More;

my $node = scribe_node('leases', conf => <<'CONF');
scribe.min_workers = 0
scribe.max_workers = 0
CONF
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION pg_scribe;
	SELECT scribe.queue_create('shared', consumer => 'clients');
	CREATE ROLE alice LOGIN;
	CREATE ROLE bob LOGIN;
	-- docs/reference.md, Privileges: a producer's and a consumer's grants
	GRANT EXECUTE ON FUNCTION scribe.send(text, jsonb, text, interval, timestamptz, integer, text, integer),
	                          scribe.job_get(bigint) TO alice, bob;
	GRANT EXECUTE ON FUNCTION scribe.claim(text, integer, interval, interval), scribe.ack(bigint, uuid, jsonb),
	                          scribe.nack(bigint, uuid, text, interval, boolean),
	                          scribe.extend_lease(bigint, uuid, interval) TO alice, bob;
	-- and the queue's owner's grant on its queue
	SELECT scribe.queue_grant('shared', 'alice');
	SELECT scribe.queue_grant('shared', 'bob');
});

# Run SQL as a role; returns (stdout, stderr) with SQLSTATEs shown
sub as_role
{
	my ($role, $sql) = @_;
	my ($rc, $out, $err) = $node->psql('postgres', "\\set VERBOSITY verbose\n$sql",
		extra_params => [ '-U', $role ]);
	return ($out, $err);
}

# Alice's job is claimed first (higher priority), by her; Bob claims his own
my ($alice_job) = as_role('alice', q{SELECT scribe.send('shared', '{"owner": "alice"}', priority => 1)});
my ($bob_job) = as_role('bob', q{SELECT scribe.send('shared', '{"owner": "bob"}')});
my ($claim) = as_role('alice', q{SELECT job_id || ' ' || lease || ' ' || attempt FROM scribe.claim('shared')});
my ($claimed_id, $alice_lease, $attempt) = split / /, $claim;
is($claimed_id, $alice_job, 'alice claims her job');
is($attempt, 1, 'on its first attempt');
like($alice_lease, qr/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
	'with a random (version 4) uuid as her lease token');
($claim) = as_role('bob', q{SELECT job_id || ' ' || lease FROM scribe.claim('shared')});
my ($bob_claimed, $bob_lease) = split / /, $claim;
is($bob_claimed, $bob_job, 'bob claims his own job');
isnt($bob_lease, $alice_lease, 'with another token');

# Alice's job as the table holds it
sub alice_row
{
	return $node->safe_psql('postgres', qq{
		SELECT attempts, lease, lease_until, claimed_by, claimed_at, errors IS NULL, run_at
		FROM scribe.jobs WHERE job_id = $alice_job});
}
my $before = alice_row();

my @guesses = (
	[ 'attempt 1 as a uuid', q{'00000000-0000-0000-0000-000000000001'} ],
	[ 'attempt 2 as a uuid', q{'00000000-0000-0000-0000-000000000002'} ],
	[ 'the nil uuid', q{'00000000-0000-0000-0000-000000000000'} ],
	[ 'a random uuid', q{gen_random_uuid()} ],
	[ 'his own token of another job', qq{'$bob_lease'} ]);
my %calls = (
	ack => [ 'ack', "scribe.ack($alice_job, %s, '{\"by\": \"bob\"}')" ],
	nack => [ 'nack', "scribe.nack($alice_job, %s, 'taken by bob', retry => false)" ],
	extend => [ 'extend the lease of', "scribe.extend_lease($alice_job, %s, lease_for => '1 day')" ]);
for my $call (sort keys %calls)
{
	my ($verb, $template) = @{ $calls{$call} };
	for my $guess (@guesses)
	{
		my ($what, $token) = @$guess;
		my ($out, $err) = as_role('bob', 'SELECT ' . sprintf($template, $token));
		like($err,
			qr/ERROR:  55000: cannot \Q$verb\E job $alice_job: the lease is not the job's current one\n(?:.*\n)*HINT:  Pass the lease token that scribe\.claim\(\) returned with the job\./,
			"bob cannot $call alice's job with $what");
		is($out, '', "and gets no answer for $what");
	}
	my ($out, $err) = as_role('bob', 'SELECT ' . sprintf($template, 'NULL'));
	like($err, qr/ERROR:  22004: lease must not be NULL/, "bob cannot $call alice's job without a token");
}

# the attempt number is no lease any more: no function takes one
for my $sql ("scribe.ack($alice_job, 1)", "scribe.nack($alice_job, 1, 'x')",
	"scribe.extend_lease($alice_job, 1)")
{
	my ($out, $err) = as_role('bob', "SELECT $sql");
	like($err, qr/ERROR:  42883: function scribe\.\w+\([a-z, ]+\) does not exist/,
		"$sql names no function");
}

is(alice_row(), $before, 'alice\'s job is untouched: attempts, token, lease, claim, errors, run_at');
my ($status) = as_role('alice', qq{SELECT state || ' ' || attempts FROM scribe.job_get($alice_job)});
is($status, 'running 1', 'alice still holds it on its first attempt');

# the token shows nowhere but in the claim
my ($shown) = as_role('alice', qq{SELECT to_jsonb(s)::text FROM scribe.job_get($alice_job) s});
unlike($shown, qr/\Q$alice_lease\E/, 'job_get() does not show the token');
$shown = $node->safe_psql('postgres', q{
	SELECT coalesce(string_agg(to_jsonb(w)::text, ' '), '') FROM scribe.worker_status() w});
unlike($shown, qr/\Q$alice_lease\E/, 'worker_status() does not either');
my ($out, $err) = as_role('bob', 'SELECT lease FROM scribe.jobs');
like($err, qr/ERROR:  42501: permission denied for table jobs/, 'nor can bob read the table');

# the right tokens work, each for its own job only
($out) = as_role('alice', qq{SELECT scribe.extend_lease($alice_job, '$alice_lease', '1 hour') > now()});
is($out, 't', 'alice extends her lease with her token');
($out) = as_role('alice', qq{SELECT scribe.ack($alice_job, '$alice_lease', '{"by": "alice"}')});
is($out, 't', 'and acks her job');
($out) = as_role('alice', qq{SELECT result->>'by' FROM scribe.job_get($alice_job)});
is($out, 'alice', 'with her result');
($out) = as_role('bob', qq{SELECT scribe.ack($bob_job, '$bob_lease')});
is($out, 't', 'bob acks his own job with his token');

$node->stop;
done_testing();
