# Hostile roles, each with exactly the grants docs/reference.md recommends,
# attack every elevated path of pg_scribe (SECURITY DEFINER functions, C
# functions that switch to the superuser, the pool workers that run jobs as
# their senders) with the arsenal of test/perl/Hostile.pm: shadows of every
# catalog function and operator on their search_path, temporary views and
# domains named like every catalog relation, table of scribe and type, state
# left in the worker's session by their jobs, SECURITY DEFINER functions of
# their own.  After each attack: nobody became superuser, the attackers'
# code never ran with rights they lack, no object of another role changed.
# Last, every elevated path of this build (read from the catalog and from
# the C sources) must be listed in docs/architecture.md and attacked here.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Utils;
use ScribeTest;
use Hostile;
use Test::More;

my $source = $ENV{SCRIBE_SOURCE_DIR} // "$FindBin::Bin/../..";
my $db = 'postgres';
my $node = scribe_node('hostile', conf => <<'CONF');
wal_level = logical
scribe.min_workers = 1
scribe.max_workers = 1
scribe.worker_idle_timeout = 3600
CONF
$node->start;

# --- the installation a DBA would have: queues, a publication (so that cache
# deletes are recorded), a partitions policy, the victims' data
$node->safe_psql($db, q{
	CREATE EXTENSION pg_scribe;
	SELECT scribe.replication_publish();
	SELECT scribe.queue_create('tasks');
	SELECT scribe.queue_create('inbox', consumer => 'clients');
	-- worker nodes take the ocr jobs here, not this server's pool
	SELECT scribe.queue_alter('ocr', consumer => 'clients');
	CREATE TABLE public.vault (secret text);
	INSERT INTO public.vault VALUES ('the superuser''s secret');
	CREATE TABLE public.orders (id integer);
	INSERT INTO public.orders VALUES (1);
	CREATE ROLE bob LOGIN;
	CREATE SCHEMA bob AUTHORIZATION bob;
	CREATE TABLE bob.ledger (amount integer);
	ALTER TABLE bob.ledger OWNER TO bob;
	INSERT INTO bob.ledger VALUES (100);
	CREATE TABLE public.parted (at timestamptz NOT NULL) PARTITION BY RANGE (at);
	SELECT scribe.policy_create('parted', 'partitions', 'public.parted', '{"interval": "day", "premake": 2}');
});
wait_for_workers($node, 1) or die 'the pool did not start';
arsenal_setup($node, $db);

# --- the attackers: the roles of the reference's recommended grants, and a
# member of pg_monitor
my $reference = slurp_file("$source/docs/reference.md");
my ($grants) = $reference =~ /^### Privileges\n.*?The roles the hostile tests use.*?```sql\n(.*?)```/ms
  or die 'docs/reference.md: no sql block of the hostile tests\' roles under "### Privileges"';
my %granted_to;
while ($grants =~ /GRANT\s+EXECUTE\s+ON\s+FUNCTION\s+(.*?)\s+TO\s+(\w+)\s*;/gs)
{
	my ($functions, $role) = ($1, $2);
	push @{ $granted_to{$role} }, $1 while $functions =~ /scribe\.(\w+)\(/g;
}
while ($grants =~ /GRANT\s+(scribe_\w+)\s+TO\s+([\w\s,]+?)\s*;/gs)
{
	my ($group, $roles) = ($1, $2);
	push @{ $granted_to{$_} }, $group for split /\s*,\s*/, $roles;
}
my @roles = sort keys %granted_to;
ok(@roles >= 6, 'the reference recommends grants for ' . join(', ', @roles));
attacker_create($node, $db, $_) for @roles;
attacker_create($node, $db, 'mon', 'GRANT pg_monitor TO mon');
$node->safe_psql($db, $grants);
$node->safe_psql($db, q{
	-- bob, a victim, consumes the inbox and submits documents too
	GRANT EXECUTE ON FUNCTION scribe.claim(text, integer, interval, interval), scribe.ack(bigint, uuid, jsonb) TO bob;
	-- the queues' owner (the superuser) grants the producer, the consumers and the worker node their queues
	SELECT scribe.queue_grant('tasks', 'app_producer', '{send}');
	SELECT scribe.queue_grant('inbox', 'app_producer', '{send}');
	SELECT scribe.queue_grant('inbox', 'app_consumer', '{claim}');
	SELECT scribe.queue_grant('inbox', 'bob', '{claim}');
	SELECT scribe.queue_grant('ocr', 'worker_node', '{claim}');
	-- a clean slate for the evidence: setting up ran nothing of the attackers
	SELECT setval('arsenal.evidence', 1, false);
});
my @victim_tables = ('public.vault', 'bob.ledger', 'public.orders');
my $world;    # the world as it was before each attack

my %attacked;    # function name -> the attack that called it

# Run $sql as $role in a session armed with the arsenal; note every scribe
# function it calls; returns (stdout, stderr)
sub attack
{
	my ($role, $what, $sql) = @_;
	$attacked{$_} //= $what for ($sql =~ /scribe\.(\w+)\s*\(/g);
	my ($rc, $out, $err) = $node->psql($db, attack_session_sql($role) . $sql,
		extra_params => [ '-U', $role, '-v', 'VERBOSITY=verbose' ], on_error_stop => 0);
	note("$what: $err") if $err =~ /arsenal/;
	return ($out, $err);
}

# --- pg_monitor: every function it may call (with its defaults) and every
# view it may read
my @monitor_calls = split /\n/, $node->safe_psql($db, q{
	SELECT format('SELECT count(*) FROM (SELECT %s) x;', p.oid::regproc || '()')
	FROM pg_proc p
	WHERE p.pronamespace = 'scribe'::regnamespace AND p.prokind = 'f' AND p.pronargs = p.pronargdefaults
	  AND has_function_privilege('mon', p.oid, 'EXECUTE') AND p.prorettype <> 'trigger'::regtype
	ORDER BY 1});
my @monitor_views = split /\n/, $node->safe_psql($db, q{
	SELECT format('SELECT count(*) FROM scribe.%I;', c.relname) FROM pg_class c
	WHERE c.relnamespace = 'scribe'::regnamespace AND c.relkind IN ('v', 'r')
	  AND has_table_privilege('mon', c.oid, 'SELECT')
	ORDER BY 1});
cmp_ok(scalar @monitor_calls, '>=', 15, scalar(@monitor_calls) . ' functions pg_monitor may call');
$world = world_snapshot($node, $db, @victim_tables);
my ($out, $err) = attack('mon', 'pg_monitor',
	join("\n", @monitor_calls, @monitor_views,
		# the internal functions behind health() and the status functions,
		# one with a policy the attacker builds: granted to nobody
		q{SELECT scribe._policy_alert(policy_id, NULL, 5) FROM scribe.policy_status();},
		q{SELECT count(*) FROM scribe._health_reasons();},
		q{SELECT count(*) FROM scribe._partition_runway();},
		q{SELECT count(*) FROM scribe._queue_totals();},
		q{SELECT scribe._queue_check_right('ocr', 'mon', 'claim');},
		q{SELECT scribe.health()->>'status' AS health_status;}));
like($out, qr/^(ok|degraded|failing)$/m, 'pg_monitor: health() answered through the arsenal');
is(scalar(() = $err =~ /permission denied for function _(policy_alert|health_reasons|partition_runway|queue_totals|queue_check_right)\b/g), 5,
	'pg_monitor may not call the internal functions the status answers use');
assert_harmless($node, $db, 'pg_monitor', $world, @victim_tables);

# --- the producer: jobs that try to leave state in the worker for the
# superuser's next job, and a SECURITY DEFINER function of its own
$node->safe_psql($db, q{
	SET ROLE app_producer;
	CREATE TABLE app_producer.t (x integer);
	CREATE SEQUENCE app_producer.s;
	CREATE FUNCTION app_producer.shadowed() RETURNS trigger LANGUAGE plpgsql AS
	    $$BEGIN PERFORM arsenal.pwn(); RETURN NULL; END$$;
	CREATE CONSTRAINT TRIGGER late AFTER INSERT ON app_producer.t DEFERRABLE INITIALLY DEFERRED
	    FOR EACH ROW EXECUTE FUNCTION app_producer.shadowed();
	-- what a job of the attacker leaves in the worker's session
	CREATE FUNCTION app_producer.plant(args jsonb) RETURNS text LANGUAGE plpgsql AS $$
	BEGIN
	    PERFORM set_config('search_path', 'arsenal, pg_catalog, public', false);
	    PERFORM set_config('work_mem', '77MB', false);
	    CREATE TEMP VIEW orders AS SELECT 666 AS id WHERE arsenal.pwn();
	    GRANT SELECT ON orders TO PUBLIC;
	    CREATE TEMP TABLE leftover (x integer);
	    PREPARE leftover_statement AS SELECT 1;
	    EXECUTE 'DECLARE leftover_cursor CURSOR WITH HOLD FOR SELECT 1';
	    PERFORM pg_advisory_lock(4242);
	    PERFORM pg_advisory_xact_lock(4343);
	    PERFORM nextval('app_producer.s');
	    INSERT INTO app_producer.t VALUES (1);
	    BEGIN
	        PERFORM set_config('role', 'postgres', false);
	    EXCEPTION WHEN OTHERS THEN NULL;
	    END;
	    RETURN current_user;
	END
	$$;
	CREATE PROCEDURE app_producer.plant_procedure(args jsonb) LANGUAGE plpgsql AS $$
	BEGIN
	    PERFORM app_producer.plant(args);
	END
	$$;
	-- a superuser tricked into calling it enqueues as app_producer
	CREATE FUNCTION app_producer.enqueue_for_me() RETURNS bigint LANGUAGE sql SECURITY DEFINER
	    SET search_path = pg_catalog, pg_temp AS
	    $$ SELECT scribe.send('tasks', '{"function": "app_producer.plant"}', kind => 'sql') $$;
	RESET ROLE;
	-- the superuser's job: what does its session look like?
	CREATE FUNCTION public.victim(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
	DECLARE
	    sequence_state text;
	BEGIN
	    BEGIN
	        sequence_state := lastval()::text;
	    EXCEPTION WHEN OTHERS THEN
	        sequence_state := 'none';
	    END;
	    RETURN jsonb_build_object(
	        'user', current_user,
	        'search_path', current_setting('search_path'),
	        'work_mem', current_setting('work_mem'),
	        'orders', (SELECT string_agg(id::text, ',') FROM orders),
	        'lower', lower('X'),
	        'temp_objects', (SELECT count(*) FROM pg_class WHERE relnamespace = pg_my_temp_schema()),
	        'prepared', (SELECT count(*) FROM pg_prepared_statements),
	        'cursors', (SELECT count(*) FROM pg_cursors),
	        'advisory_locks', (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()),
	        'lastval', sequence_state);
	END
	$$;
});
$world = world_snapshot($node, $db, @victim_tables);
($out, $err) = attack('app_producer', 'producer', q{
	SELECT scribe.send('tasks', '{"function": "app_producer.plant"}', kind => 'sql');
	SELECT scribe.send_batch('tasks', ARRAY['{"function": "app_producer.plant_procedure"}'::pg_catalog.jsonb], kind => 'sql');
	SELECT scribe.send('inbox', '{"x": 1}', idempotency_key => 'shared-key');
	SELECT * FROM scribe.job_get(1);
});
my $victim = $node->safe_psql($db,
	q{SELECT scribe.send('tasks', '{"function": "public.victim"}', kind => 'sql')});
my $tricked = $node->safe_psql($db, 'SELECT app_producer.enqueue_for_me()');
ok(wait_until_drained($node, 'tasks'), "the attacker's jobs and the superuser's job ran");
is($node->safe_psql($db, q{
	SELECT string_agg(result #>> '{}', ',' ORDER BY job_id) FROM scribe.jobs_archive
	WHERE enqueued_by = 'app_producer'::regrole AND kind = 'sql' AND payload->>'function' = 'app_producer.plant'}),
	'app_producer,app_producer', "the attacker's plant ran, as the attacker");
is($node->safe_psql($db, q{
	SELECT count(*) FROM scribe.jobs_archive WHERE payload->>'function' = 'app_producer.plant_procedure'}),
	'1', 'an sql job calls a procedure');
is($node->safe_psql($db, "SELECT enqueued_by FROM scribe.jobs_archive WHERE job_id = $tricked"),
	'app_producer', 'a job sent from the attacker\'s SECURITY DEFINER function is the attacker\'s, whoever called it');
my $seen = $node->safe_psql($db, qq{
	SELECT concat_ws(' | ', r->>'user', r->>'search_path', r->>'work_mem', r->>'orders', r->>'lower',
	                 r->>'temp_objects', r->>'prepared', r->>'cursors', r->>'advisory_locks', r->>'lastval')
	FROM (SELECT result AS r FROM scribe.jobs_archive WHERE job_id = $victim) x});
is($seen, 'postgres | "$user", public | 4MB | 1 | x | 0 | 0 | 0 | 0 | none',
	"the superuser's next job met nothing of the attacker's: its search_path, settings, temp objects, "
	  . 'prepared statements, cursors, advisory locks, sequence state');
assert_harmless($node, $db, 'producer', $world, @victim_tables);

# --- the consumer: another consumer's leases cannot be guessed
$node->safe_psql($db, q{SELECT scribe.send('inbox', jsonb_build_object('n', n)) FROM generate_series(1, 5) n});
my ($bob_job, $bob_lease) = split /\|/, $node->safe_psql($db,
	q{SET ROLE bob; SELECT job_id, lease FROM scribe.claim('inbox', 1)});
ok($bob_lease =~ /^[0-9a-f-]{36}$/, 'bob holds a lease');
$world = world_snapshot($node, $db, @victim_tables);
($out, $err) = attack('app_consumer', 'consumer', qq{
	SELECT scribe.ack($bob_job, '00000000-0000-0000-0000-000000000000');
	SELECT scribe.nack($bob_job, gen_random_uuid(), 'mine now');
	SELECT scribe.extend_lease($bob_job, gen_random_uuid());
	SELECT scribe.ack(c.job_id, c.lease) FROM scribe.claim('inbox', 1) c;
	SELECT scribe.nack(c.job_id, c.lease, 'x') FROM scribe.claim('inbox', 1) c;
	SELECT scribe.extend_lease(c.job_id, c.lease) FROM scribe.claim('inbox', 1) c;
	SELECT scribe.ack($bob_job, c.lease) FROM scribe.claim('inbox', 1) c;
	SELECT scribe.release($bob_job, gen_random_uuid());
	SELECT scribe.release(c.job_id, c.lease) FROM scribe.claim('inbox', 1) c;
});
my @refused = ($err =~ /ERROR:  55000: /g);
is(scalar @refused, 5, "the consumer's guesses at bob's lease were refused with 55000 (and its own lease does not fit bob's job)");
is($node->safe_psql($db, "SET ROLE bob; SELECT scribe.ack($bob_job, '$bob_lease')"), 't',
	'bob acks his job: nobody touched his lease');
assert_harmless($node, $db, 'consumer', $world, @victim_tables);

# --- the documents application
my $scan = "$source/test/fixtures/scans/letter-clean.png";
$node->safe_psql($db, "SELECT scribe.document_submit(pg_read_binary_file('$scan'), owner => 'the superuser') FROM generate_series(1, 4)");
$world = world_snapshot($node, $db, @victim_tables);
($out, $err) = attack('archive_app', 'documents', qq{
	SET scribe.owner = 'archive';
	SELECT scribe.document_submit(decode('@{[ unpack 'H*', slurp_file($scan) ]}', 'hex'));
	SELECT * FROM scribe.document_get(1);
	SELECT * FROM scribe.document_get_many('{1, 2, 3, 4, 5}');
	SELECT scribe.document_get_text(1);
	SELECT count(*) FROM scribe.document_get_pages(1);
	SELECT count(*) FROM scribe.document_list();
	SELECT * FROM scribe.document_search('letter');
	SELECT length(scribe.document_get_image(1));
	SELECT length(scribe.document_get_pdf(1));
	SELECT scribe.document_delete(1);
	SELECT * FROM scribe.ocr_costs();
});
is($node->safe_psql($db, q{SELECT count(*) FROM scribe.documents WHERE owner = 'archive'}), '1',
	'the documents application submitted through the arsenal');
is($node->safe_psql($db, q{SELECT count(*) FROM scribe.documents WHERE owner = 'the superuser'}), '4',
	'and deleted none of another owner\'s documents');
assert_harmless($node, $db, 'documents', $world, @victim_tables);

# --- the worker node's role: the queue's verbs on the ocr queue; nobody else's lease
my ($node_job, $node_lease) = split /\|/, $node->safe_psql($db,
	q{SET ROLE worker_node; SELECT job_id, lease FROM scribe.claim('ocr', 1)});
ok($node_job, 'a worker node holds an ocr job');
$world = world_snapshot($node, $db, @victim_tables);
($out, $err) = attack('worker_node', 'worker node', qq{
	SELECT scribe.ack($node_job, gen_random_uuid(), '{"pages": [], "method": "local"}');
	SELECT scribe.nack($node_job, gen_random_uuid(), 'x');
	SELECT scribe.release($node_job, gen_random_uuid());
	SELECT length(scribe.document_get_image(1)), (SELECT ready FROM scribe.queue_stats('ocr'));
	SELECT length(scribe.document_get_image_for_job($node_job, gen_random_uuid()));
	SELECT scribe.release(c.job_id, c.lease) FROM scribe.claim('ocr', 1) c;
	SELECT scribe.nack(c.job_id, c.lease, 'failed on the node') FROM scribe.claim('ocr', 1) c;
	SELECT scribe.ack(c.job_id, c.lease,
	    '{"text": "hello node", "confidence": 91.5, "engine": "tesseract test", "seconds": 0.5,
	      "pages": [{"page": 1, "text": "hello node", "confidence": 91.5}], "method": "local", "node": "n1"}')
	FROM scribe.claim('ocr', 1) c;
});
my @refused_node = ($err =~ /ERROR:  55000: /g);
is(scalar @refused_node, 4, "the worker node's guesses at the held job's lease (and at its image) were refused with 55000");
is($node->safe_psql($db, "SELECT lease = '$node_lease' FROM scribe.jobs WHERE job_id = $node_job"), 't',
	'the lease of the job in flight is untouched');
is($node->safe_psql($db, q{SELECT count(*) FROM scribe.documents WHERE text = 'hello node'}), '1',
	'the worker node finished a document through the arsenal');
assert_harmless($node, $db, 'worker node', $world, @victim_tables);

# --- a consumer of its own queues may not take other users' scans: it claims no
# ocr job without the claim right on the ocr queue, which belongs to the superuser
my $ocr_claimed = q{SELECT count(*) FROM scribe.jobs j JOIN scribe.queues q USING (queue_id)
	WHERE q.name = 'ocr' AND j.lease_until IS NOT NULL};
my $held_before = $node->safe_psql($db, $ocr_claimed);
cmp_ok($node->safe_psql($db, q{SELECT ready FROM scribe.queue_stats('ocr')}), '>', 0, 'ocr jobs are ready');
$world = world_snapshot($node, $db, @victim_tables);
($out, $err) = attack('app_consumer', 'consumer on the ocr queue', q{
	SELECT c.job_id, c.payload FROM scribe.claim('ocr', 1) c;
	SELECT scribe.release(c.job_id, c.lease) FROM scribe.claim('ocr', 10) c;
	SELECT scribe.nack(c.job_id, c.lease, 'x', retry => false) FROM scribe.claim('ocr', 10) c;
});
my @denied = ($err =~ /ERROR:  42501: permission denied for queue "ocr"/g);
is(scalar @denied, 3, 'the consumer may not claim ocr jobs (42501)');
is($node->safe_psql($db, $ocr_claimed), $held_before, 'and it holds none');
is($node->safe_psql($db, q{SELECT count(*) FROM scribe.documents WHERE status = 'failed'}), '0',
	'no document failed');
assert_harmless($node, $db, 'consumer on the ocr queue', $world, @victim_tables);

# --- the cache's users: deletes are recorded elevated (the table is published)
$world = world_snapshot($node, $db, @victim_tables);
($out, $err) = attack('cache_user', 'cache', q{
	SELECT scribe.cache_set('user:1', 'v');
	SELECT scribe.cache_get('user:1');
	SELECT scribe.cache_delete('user:1');
	SELECT scribe.cache_invalidate('user');
	SELECT scribe.cache_clear();
	SELECT scribe.cache_fetch('steal:1', 'SELECT secret FROM public.vault WHERE $1', NULL, true);
	SELECT scribe.cache_fetch_jsonb('steal:2', 'SELECT to_jsonb(amount) FROM bob.ledger WHERE amount > $1', NULL, 0);
});
is($node->safe_psql($db, q{SELECT count(*) FROM scribe.cache_events}), '2',
	'the cache user\'s delete and invalidate were recorded');
like($err, qr/permission denied for function cache_clear/, 'emptying the whole cache is scribe_admin\'s, not an application\'s');
like($err, qr/permission denied for table vault.*permission denied for schema bob/s,
	'a loader runs as the cache user: it reads nothing the cache user may not read');
is($node->safe_psql($db, q{SELECT scribe.cache_get('steal:1') IS NULL AND scribe.cache_get('steal:2') IS NULL}), 't',
	'and caches nothing');
assert_harmless($node, $db, 'cache', $world, @victim_tables);

# --- the policy owner: its own table, through the arsenal (test/t/081 attacks policies in depth)
$node->safe_psql($db, q{
	SET ROLE policy_owner;
	CREATE TABLE policy_owner.events (at timestamptz);
	INSERT INTO policy_owner.events VALUES (now() - interval '1 year'), (now());
});
$world = world_snapshot($node, $db, @victim_tables);
($out, $err) = attack('policy_owner', 'policy owner', q{
	SELECT scribe.policy_create('old-events', 'purge', 'events', '{"column": "at", "older_than": "30 days"}');
	SELECT scribe.policy_run('old-events', dry_run => true);
	SELECT scribe.policy_alter('old-events', schedule => '2 days');
	SELECT scribe.policy_run('old-events');
	SELECT scribe._run_as('postgres', 'ALTER ROLE policy_owner SUPERUSER');
});
like($err, qr/permission denied for function _run_as/, 'the policy owner may not call _run_as');
ok($node->poll_query_until($db, q{SELECT count(*) = 1 FROM policy_owner.events}),
	'the purge ran, as the owner, through the arsenal');
($out, $err) = attack('policy_owner', 'policy owner', q{SELECT scribe.policy_drop('old-events');});
is($node->safe_psql($db, q{SELECT count(*) FROM scribe.policies WHERE name = 'old-events'}), '0',
	'the policy owner dropped its policy');
assert_harmless($node, $db, 'policy owner', $world, @victim_tables);

# --- an application managing its own queue (scribe_app): queue names are
# data, never identifiers
$world = world_snapshot($node, $db, @victim_tables);
($out, $err) = attack('queue_admin', 'queue admin', q{
	SELECT scribe.queue_create('pg_class; DROP TABLE public.vault');
	SELECT scribe.queue_alter('pg_class; DROP TABLE public.vault', lease => '1 minute');
	SELECT scribe.requeue('pg_class; DROP TABLE public.vault');
	SELECT scribe.queue_purge('pg_class; DROP TABLE public.vault', 'all');
	SELECT scribe.queue_grant('pg_class; DROP TABLE public.vault', 'bob', '{send}');
	SELECT scribe.queue_revoke('pg_class; DROP TABLE public.vault', 'bob');
	SELECT scribe.queue_alter('pg_class; DROP TABLE public.vault', owner => 'queue_admin');
	SELECT scribe.queue_drop('pg_class; DROP TABLE public.vault');
});
unlike($err, qr/ERROR/, 'an application created, changed, requeued, purged, granted, revoked and dropped its own queue');
($out, $err) = attack('queue_admin', 'queue admin', q{SELECT scribe.queue_grant('inbox', 'queue_admin');});
like($err, qr/ERROR:  42501: must be owner of queue "inbox"/, 'but may not grant itself a queue of another role');
assert_harmless($node, $db, 'queue admin', $world, @victim_tables);

# --- forgetting a node: its name is data, compared, never resolved
$node->safe_psql($db, q{
	GRANT EXECUTE ON FUNCTION scribe.node_forget(text, boolean) TO queue_admin;
	INSERT INTO scribe.heartbeat VALUES ('retired''); DROP TABLE public.vault; --', now() - interval '1 day', '0.3.0');
});
$world = world_snapshot($node, $db, @victim_tables);
($out, $err) = attack('queue_admin', 'node admin', q{
	SELECT scribe.node_forget('retired''); DROP TABLE public.vault; --');
});
unlike($err, qr/ERROR/, 'an administrator forgot a retired node');
is($node->safe_psql($db, q{SELECT count(*) FROM scribe.heartbeat WHERE node_name LIKE 'retired%'}), '0',
	'its row, and only its row, is gone');
assert_harmless($node, $db, 'node admin', $world, @victim_tables);

# --- every elevated path is in the privilege model and attacked here
my @c_symbols = split /\n/, `$source/test/bin/elevated-entry-points $source/src`;
ok(@c_symbols >= 10, scalar(@c_symbols) . ' C entry points change rights');
my $symbols = join ',', map { "'$_'" } @c_symbols;
my @elevated = split /\n/, $node->safe_psql($db, qq{
	SELECT DISTINCT p.proname FROM pg_proc p
	WHERE p.pronamespace = 'scribe'::regnamespace AND (p.prosecdef OR p.prosrc IN ($symbols))
	ORDER BY 1});
my $model = slurp_file("$source/docs/architecture.md");
my ($table) = $model =~ /^## The privilege model\n(.*?)^## /ms
  or die 'docs/architecture.md: no section "## The privilege model"';
my %documented;
for my $row ($table =~ /^\|([^|\n]*)\|/mg)
{
	$documented{$_} = 1 for ($row =~ /`scribe\.(\w+)`/g);
}
for my $f (@elevated)
{
	ok($documented{$f}, "elevated path scribe.$f is in docs/architecture.md's privilege model");
	ok($attacked{$f}, "elevated path scribe.$f is attacked here" . ($attacked{$f} ? " ($attacked{$f})" : ''));
}
is(`$source/test/bin/elevated-entry-points --lint $source/src`, '',
	'no C function runs a statement as the superuser other than through scribe_plan_execute() or scribe_plan_call()');
my %is_elevated = map { $_ => 1 } @elevated;
ok($is_elevated{$_}, "scribe.$_, listed as elevated in the privilege model, is") for sort keys %documented;

done_testing();
