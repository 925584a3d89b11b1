# Per-queue rights: a queue belongs to the role that created it, and another
# role sends to it or claims from it (and so reads its payloads, acks, nacks,
# releases and extends its jobs) only with its owner's grant.  A hostile role
# holding EXECUTE on every verb tries another role's queue before a grant,
# with one, after a revoke (a lease held, a claim waiting), through a group,
# with a leaked lease token, and after owners and grantees are dropped.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use ScribeTest;
use Test::More;

my $db = 'postgres';
my $node = scribe_node('queue_rights', conf => <<'CONF');
scribe.min_workers = 0
scribe.max_workers = 0
CONF
$node->start;

# the verbs and the administrative functions, granted to every role here:
# EXECUTE alone must not reach another role's queue
my $functions = join ", ", split " ", q{
  scribe.send(text,jsonb,text,interval,timestamptz,integer,text,integer)
  scribe.send_batch(text,jsonb[],text,interval,timestamptz,integer,text[],integer)
  scribe.claim(text,integer,interval,interval) scribe.ack(bigint,uuid,jsonb)
  scribe.nack(bigint,uuid,text,interval,boolean) scribe.release(bigint,uuid)
  scribe.extend_lease(bigint,uuid,interval) scribe.job_get(bigint)
  scribe.queue_create(text,text,interval,integer,interval,interval,interval)
  scribe.queue_alter(text,text,interval,integer,interval,interval,interval,regrole)
  scribe.queue_drop(text,boolean) scribe.queue_purge(text,text) scribe.requeue(text,bigint[])
  scribe.queue_grant(text,regrole,text[]) scribe.queue_revoke(text,regrole,text[])};
my @users = qw(olive mallory tim ann temp_owner temp_grantee);
$node->safe_psql($db, join ";\n",
	'CREATE EXTENSION pg_scribe',
	# the role of issue 17 that manages every queue (CREATE EXTENSION makes it once merged)
	q{DO $$ BEGIN CREATE ROLE scribe_admin NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$},
	'CREATE ROLE team NOLOGIN',
	(map { "CREATE ROLE $_ LOGIN" } @users),
	'GRANT team TO tim',
	'GRANT scribe_admin TO ann',
	'GRANT EXECUTE ON FUNCTION ' . $functions . ' TO ' . join(', ', @users));

# Run $sql as $role, stopping at the first error; returns (stdout, stderr)
sub as_role
{
	my ($role, $sql) = @_;
	my ($rc, $out, $err) = $node->psql($db, $sql,
		extra_params => [ '-U', $role, '-v', 'VERBOSITY=verbose' ], on_error_stop => 1);
	return ($out, $err);
}

# $sql as $role must fail with $sqlstate and a message matching $message
sub refused
{
	my ($role, $sql, $sqlstate, $message, $what) = @_;
	my ($out, $err) = as_role($role, $sql);
	like($err, qr/ERROR:  $sqlstate: $message/, $what);
	return $err;
}

# $sql as $role must succeed; returns its output
sub allowed
{
	my ($role, $sql, $what) = @_;
	my ($out, $err) = as_role($role, $sql);
	is($err, '', $what);
	return $out;
}

my $denied = sub { my ($queue) = @_; qr/permission denied for queue "$queue"/ };
my $not_owner = sub { my ($queue) = @_; qr/must be owner of queue "$queue"/ };

# --- the creator owns the queue; nobody else may use it
allowed('olive', q{SELECT scribe.queue_create('olive_q', consumer => 'clients')}, 'olive creates a queue');
is($node->safe_psql($db, q{SELECT owner FROM scribe.queue_list() WHERE name = 'olive_q'}), 'olive',
	'the creator owns the queue');
is($node->safe_psql($db, q{SELECT string_agg(name || ':' || (owner::oid = 10), ',' ORDER BY name)
	FROM scribe.queue_list()}), 'lifecycle:true,ocr:true,olive_q:false',
	'the built-in queues belong to the bootstrap superuser');
my $olive_job = allowed('olive', q{SELECT scribe.send('olive_q', '{"secret": "olive''s"}')}, 'the owner sends');

my $err = refused('mallory', q{SELECT scribe.send('olive_q', '{"x": 1}')}, '42501', $denied->('olive_q'),
	'another role may not send to the queue (42501)');
like($err, qr/HINT:  The queue's owner grants it: SELECT scribe\.queue_grant\('olive_q', 'mallory', '\{send\}'\)\./,
	'the hint says how the owner grants it');
refused('mallory', q{SELECT scribe.send_batch('olive_q', ARRAY['{}'::jsonb])}, '42501', $denied->('olive_q'),
	'nor send a batch');
$err = refused('mallory', q{SELECT * FROM scribe.claim('olive_q')}, '42501', $denied->('olive_q'),
	'nor claim from it');
like($err, qr/queue_grant\('olive_q', 'mallory', '\{claim\}'\)/, 'the hint names the claim right');
refused('mallory', q{SELECT * FROM scribe.claim('olive_q', wait => '1 hour')}, '42501', $denied->('olive_q'),
	'nor wait for its jobs');
refused('mallory', "SELECT payload FROM scribe.job_get($olive_job)", '42501', qr/permission denied for job $olive_job/,
	"nor read its jobs' payloads");
refused('mallory', q{SELECT scribe.queue_grant('olive_q', 'mallory')}, '42501', $not_owner->('olive_q'),
	'nor grant itself a right');
refused('mallory', q{SELECT scribe.queue_alter('olive_q', owner => 'mallory')}, '42501', $not_owner->('olive_q'),
	'nor take the queue');
refused('mallory', q{SELECT scribe.queue_alter('olive_q', lease => '1 second')}, '42501', $not_owner->('olive_q'),
	'nor alter it');
refused('mallory', q{SELECT scribe.queue_purge('olive_q', 'all')}, '42501', $not_owner->('olive_q'),
	'nor purge it');
refused('mallory', q{SELECT scribe.requeue('olive_q')}, '42501', $not_owner->('olive_q'), 'nor requeue its dead letters');
refused('mallory', q{SELECT scribe.queue_drop('olive_q', force => true)}, '42501', $not_owner->('olive_q'),
	'nor drop it');
refused('mallory', q{SELECT scribe.queue_revoke('olive_q', 'olive')}, '42501', $not_owner->('olive_q'),
	'nor revoke the owner\'s rights');
refused('mallory', q{SELECT scribe._queue_check_right('olive_q', 'mallory', 'send')}, '42501',
	qr/permission denied for function _queue_check_right/, 'the internal check is granted to nobody');
refused('mallory', q{SELECT scribe._queue_grant('mallory', 'olive_q', 'mallory', '{send}')}, '42501',
	qr/permission denied for function _queue_grant/, 'nor are the internal functions behind the API');
refused('mallory', q{SELECT scribe.send('ocr', '{}')}, '42501', $denied->('ocr'),
	'nor may it send to the built-in queues');

# --- a leaked lease token is not enough: the verbs check the right too
my ($job, $lease) = split /\|/, allowed('olive', q{SELECT job_id, lease FROM scribe.claim('olive_q')},
	'the owner claims');
is($job, $olive_job, 'the owner holds its job');
for my $verb ("scribe.ack($job, '$lease')", "scribe.nack($job, '$lease', 'mine')",
	"scribe.extend_lease($job, '$lease')", "scribe.release($job, '$lease')")
{
	refused('mallory', "SELECT $verb", '42501', $denied->('olive_q'), "with olive's token, mallory may not call $verb");
}
is($node->safe_psql($db, "SELECT lease = '$lease' AND lease_until IS NOT NULL AND attempts = 1 FROM scribe.jobs WHERE job_id = $job"),
	't', "olive's lease is untouched");
allowed('olive', "SELECT scribe.ack($job, '$lease')", 'olive acks her job');

# --- send granted: mallory sends, reads her own jobs, claims nothing
allowed('olive', q{SELECT scribe.queue_grant('olive_q', 'mallory', '{send}')}, 'the owner grants send');
is($node->safe_psql($db, q{SELECT grantee || ':' || may_send || ':' || may_claim FROM scribe.queue_rights}),
	'mallory:true:false', 'the grant is recorded');
my $mallory_job = allowed('mallory', q{SELECT scribe.send('olive_q', '{"from": "mallory"}')}, 'mallory sends');
allowed('mallory', q{SELECT count(*) FROM scribe.send_batch('olive_q', ARRAY['{}'::jsonb, '{}'])}, 'and sends a batch');
is(allowed('mallory', "SELECT payload->>'from' FROM scribe.job_get($mallory_job)", 'the sender reads its job'),
	'mallory', 'its payload');
my $olive_job2 = allowed('olive', q{SELECT scribe.send('olive_q', '{"secret": "olive''s"}', priority => 10)}, 'olive sends');
refused('mallory', "SELECT payload FROM scribe.job_get($olive_job2)", '42501', qr/permission denied for job/,
	'a sender may not read the jobs of other senders');
refused('mallory', q{SELECT * FROM scribe.claim('olive_q')}, '42501', $denied->('olive_q'), 'nor claim');
is($node->safe_psql($db, q{SELECT scribe._queue_check_right('olive_q', 'mallory', 'send')}), '',
	'_queue_check_right passes for a granted right');
$err = ($node->psql($db, q{SELECT scribe._queue_check_right('olive_q', 'mallory', 'claim')}))[2];
like($err, qr/permission denied for queue "olive_q"/, '_queue_check_right refuses a right not granted');
$err = ($node->psql($db, q{SELECT scribe._queue_check_right('olive_q', 'mallory', 'read')}))[2];
like($err, qr/invalid queue right "read"/, '_queue_check_right knows two rights');
$err = ($node->psql($db, q{SELECT scribe._queue_check_right('no_such_queue', 'mallory', 'send')}))[2];
like($err, qr/queue "no_such_queue" does not exist/, '_queue_check_right refuses a missing queue');

# --- claim granted: mallory claims, reads and finishes any job of the queue
allowed('olive', q{SELECT scribe.queue_grant('olive_q', 'mallory', '{claim}')}, 'the owner grants claim');
is($node->safe_psql($db, q{SELECT grantee || ':' || may_send || ':' || may_claim FROM scribe.queue_rights}),
	'mallory:true:true', 'the grants add up');
is(allowed('mallory', "SELECT payload->>'secret' FROM scribe.job_get($olive_job2)", 'a consumer reads any job'),
	"olive's", 'of the queue');
($job, $lease) = split /\|/, allowed('mallory', q{SELECT job_id, lease FROM scribe.claim('olive_q')}, 'mallory claims');
is($job, $olive_job2, 'the job of highest priority');
allowed('mallory', "SELECT scribe.extend_lease($job, '$lease'); SELECT scribe.ack($job, '$lease')",
	'mallory extends and acks it');

# --- revoked mid-lease: the consumer may not go on with the jobs it holds
my @held = map { [ split /\|/ ] } split /\n/,
  allowed('mallory', q{SELECT job_id, lease FROM scribe.claim('olive_q', 3, lease_for => '1 second')},
	'mallory claims three jobs');
is(scalar @held, 3, 'and holds three');
allowed('olive', q{SELECT scribe.queue_revoke('olive_q', 'mallory', '{claim}')}, 'the owner revokes claim');
is($node->safe_psql($db, q{SELECT grantee || ':' || may_send || ':' || may_claim FROM scribe.queue_rights}),
	'mallory:true:false', 'send stays');
my ($j, $l) = @{ $held[0] };
refused('mallory', "SELECT scribe.extend_lease($j, '$l')", '42501', $denied->('olive_q'), 'no extending a held lease');
refused('mallory', "SELECT scribe.ack($j, '$l')", '42501', $denied->('olive_q'), 'no acking a held job');
refused('mallory', "SELECT scribe.nack($j, '$l', 'x', retry => false)", '42501', $denied->('olive_q'),
	'no nacking it to the dead letters');
refused('mallory', "SELECT scribe.release($j, '$l')", '42501', $denied->('olive_q'), 'no releasing it');
is($node->safe_psql($db, "SELECT count(*) FROM scribe.jobs WHERE lease_until IS NOT NULL AND lease = '$l'"), '1',
	'the job stays leased until its lease runs out');
my $held_ids = join ',', map { $_->[0] } @held;
ok($node->poll_query_until($db,
	"SELECT bool_and(lease_until <= clock_timestamp()) FROM scribe.jobs WHERE job_id IN ($held_ids)"),
	'the leases run out');
is(allowed('olive', q{SELECT string_agg(job_id::text, ',' ORDER BY job_id) FROM scribe.claim('olive_q', 3)},
	'the owner claims'), $held_ids, 'the three jobs, claimed again');
allowed('mallory', q{SELECT scribe.send('olive_q', '{}')}, 'mallory still sends');

# --- a claim waiting when its right is revoked takes nothing
$node->safe_psql($db, q{SELECT scribe.queue_purge('olive_q', 'all')});
allowed('olive', q{SELECT scribe.queue_grant('olive_q', 'mallory', '{claim}')}, 'claim granted again');
my $waiter = scribe_session($node, on_error_stop => 0, extra_params => [ '-U', 'mallory' ]);
$waiter->query_safe('\set VERBOSITY verbose');
$waiter->query_until(qr/waiting\r?\n/,
	"\\echo waiting\nSELECT count(*) FROM scribe.claim('olive_q', wait => '1 hour');\n");
ok($node->poll_query_until($db, q{SELECT count(*) = 1 FROM pg_stat_activity
	WHERE usename = 'mallory' AND wait_event_type = 'Extension' AND query LIKE '%scribe.claim(%'}),
	'mallory waits for a job');
allowed('olive', q{SELECT scribe.queue_revoke('olive_q', 'mallory')}, 'olive revokes every right meanwhile');
my $after = allowed('olive', q{SELECT scribe.send('olive_q', '{"n": "after revoke"}')}, 'and sends a job');
$waiter->query('\echo finished');
like($waiter->{stderr}, qr/ERROR:  42501: permission denied for queue "olive_q"/,
	'the waiting claim woke and failed: the right was gone');
$waiter->quit;
is(allowed('olive', q{SELECT string_agg(job_id::text, ',') FROM scribe.claim('olive_q', 10)}, 'olive claims'),
	$after, 'the job it would have taken stayed ready');
is($node->safe_psql($db, q{SELECT count(*) FROM scribe.queue_rights}), '0', 'no right is left');

# --- through a group: members of a grantee have its rights
allowed('olive', q{SELECT scribe.queue_grant('olive_q', 'team', '{send,claim}')}, 'olive grants the team');
allowed('tim', q{SELECT scribe.send('olive_q', '{"from": "tim"}'); SELECT count(*) FROM scribe.claim('olive_q')},
	"a member of the team sends and claims");
refused('mallory', q{SELECT scribe.send('olive_q', '{}')}, '42501', $denied->('olive_q'), 'a non-member may not');
allowed('olive', q{SELECT scribe.queue_revoke('olive_q', 'team', '{send}')}, 'olive revokes the team\'s send');
refused('tim', q{SELECT scribe.send('olive_q', '{}')}, '42501', $denied->('olive_q'), 'the member may not send');
allowed('tim', q{SELECT count(*) FROM scribe.claim('olive_q')}, 'and still claims');

# --- no PUBLIC: a role is named
refused('olive', q{SELECT scribe.queue_grant('olive_q', 'public')}, '42704', qr/role "public" does not exist/,
	'PUBLIC is no role to grant to');
$err = refused('olive', q{SELECT scribe.queue_grant('olive_q', '-')}, '22004', qr/role must not be NULL/,
	'nor is "-"');
like($err, qr/HINT:  .*grant it to scribe_app\./, 'the hint names scribe_app');
refused('olive', q{SELECT scribe.queue_grant('olive_q', 'mallory', '{read}')}, '22023',
	qr/invalid queue rights '\{read\}'/, 'only send and claim');
refused('olive', q{SELECT scribe.queue_grant('olive_q', 'mallory', '{}')}, '22023', qr/invalid queue rights/,
	'at least one');
refused('olive', q{SELECT scribe.queue_grant('olive_q', '987654321')}, '42704',
	qr/role with OID 987654321 does not exist/, 'a role that exists');

# --- scribe_admin's members manage and use every queue
allowed('ann', q{SELECT scribe.send('olive_q', '{}'); SELECT count(*) FROM scribe.claim('olive_q');
	SELECT scribe.queue_grant('olive_q', 'mallory', '{send}'); SELECT scribe.queue_alter('olive_q', lease => '1 minute')},
	"scribe_admin's member sends, claims, grants and alters another role's queue");
allowed('ann', q{SELECT count(*) FROM scribe.claim('ocr')}, 'and claims from the built-in ones');

# --- the owner gives the queue away: only to a role it is a member of
refused('olive', q{SELECT scribe.queue_alter('olive_q', owner => 'mallory')}, '42501',
	qr/must be a member of role mallory to give it queue "olive_q"/, 'the owner may not give it to a stranger');
allowed('ann', q{SELECT scribe.queue_alter('olive_q', owner => 'tim')}, 'scribe_admin may');
is($node->safe_psql($db, q{SELECT owner FROM scribe.queue_list() WHERE name = 'olive_q'}), 'tim', 'tim owns it');
refused('olive', q{SELECT scribe.queue_grant('olive_q', 'olive')}, '42501', $not_owner->('olive_q'),
	'the former owner manages it no more');
refused('olive', q{SELECT scribe.send('olive_q', '{}')}, '42501', $denied->('olive_q'), 'nor sends to it');

# --- an owner dropped: grants hold, admins manage, the launcher gives it to the bootstrap superuser
allowed('temp_owner', q{SELECT scribe.queue_create('orphan', consumer => 'clients');
	SELECT scribe.queue_grant('orphan', 'mallory', '{send}'); SELECT scribe.queue_grant('orphan', 'temp_grantee')},
	'a role creates a queue and grants it');
$node->safe_psql($db, 'DROP OWNED BY temp_owner, temp_grantee; DROP ROLE temp_owner, temp_grantee');
like($node->safe_psql($db, q{SELECT owner FROM scribe.queue_list() WHERE name = 'orphan'}), qr/^\d+$/,
	'a dropped owner shows as its OID');
allowed('mallory', q{SELECT scribe.send('orphan', '{}')}, 'its grants still hold');
refused('olive', q{SELECT scribe.queue_grant('orphan', 'olive')}, '42501', $not_owner->('orphan'),
	'nobody owns it');
allowed('ann', q{SELECT scribe.queue_alter('orphan', lease => '1 minute')}, 'scribe_admin manages it');
is($node->safe_psql($db, q{SELECT count(*) FROM scribe.queue_rights r JOIN scribe.queues q USING (queue_id)
	WHERE q.name = 'orphan'}), '2', "the dropped grantee's row stays until the launcher's pass");
is($node->safe_psql($db, q{SELECT scribe._queue_roles_forget()}), '2',
	"the launcher's pass forgets the dropped grantee and the dropped owner");
is($node->safe_psql($db, q{SELECT owner::oid FROM scribe.queues WHERE name = 'orphan'}), '10',
	'the queue belongs to the bootstrap superuser');
is($node->safe_psql($db, q{SELECT string_agg(grantee::text, ',') FROM scribe.queue_rights r
	JOIN scribe.queues q USING (queue_id) WHERE q.name = 'orphan'}), 'mallory', 'the living grantee keeps its right');
allowed('mallory', q{SELECT scribe.send('orphan', '{}')}, 'and sends');

# --- the owner drops its queue, rights and all
allowed('tim', q{SELECT scribe.queue_drop('olive_q', force => true)}, 'the owner drops its queue');
is($node->safe_psql($db, q{SELECT count(*) FROM scribe.queue_rights r
	WHERE NOT EXISTS (SELECT FROM scribe.queues q WHERE q.queue_id = r.queue_id)}), '0', 'its rights went with it');

done_testing();
