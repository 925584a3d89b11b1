# Updating pg_scribe: for each earlier version kept in src/sql/versions/, a
# node installs it (under this build's library), makes state with it (a
# clients queue with jobs, one of them claimed; an sql job in a workers queue;
# a document; a purge policy; the cache invalidation triggers on a table of
# the user's; a rate-limited key) and runs ALTER EXTENSION pg_scribe UPDATE.
# Its pg_scribe is then the same as a fresh install's, fact by fact
# (test/perl/describe_scribe.sql: functions with their bodies, tables, views,
# types, grants, comments, the extension's members, the built-in rows), and
# the state survives and runs.  An object an update script forgot to drop
# shows up as a difference.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";
use IPC::Run;
use PostgreSQL::Test::Utils;
use ScribeTest;
use Test::More;

my $source = $ENV{SCRIBE_SOURCE_DIR} // "$FindBin::Bin/../..";
my $fixtures = "$source/test/fixtures";
my @versions = sort map { m{/pg_scribe--([^-/]+)\.sql$} ? $1 : () }
  glob("$source/src/sql/versions/pg_scribe--*.sql");
ok(scalar @versions, 'earlier versions to update from: ' . join(', ', @versions));

# The names of the functions the setup calls, where a version spelled them
# otherwise (0.2.0 renamed them; later versions use today's names)
my %old_names = (
	'0.1.0' => {
		queue_create => 'create_queue',
		document_submit => 'submit_document',
		policy_create => 'create_policy',
		rate_limit_take => 'rate_limit',
	});

# no workers until the update: what the old version queued waits for it
my $quiet = <<'CONF';
scribe.min_workers = 0
scribe.max_workers = 0
scribe.heartbeat_interval = 0
CONF

# A fresh install of this version, described
my $fresh = scribe_node('fresh', conf => $quiet);
$fresh->start;
$fresh->safe_psql('postgres', 'CREATE EXTENSION pg_scribe');
my $current = $fresh->safe_psql('postgres', q{SELECT extversion FROM pg_extension WHERE extname = 'pg_scribe'});
is($current, $fresh->safe_psql('postgres', 'SELECT scribe.version()'),
	'a fresh install is at the version of the library');
my $fresh_description = describe_scribe($fresh);
$fresh->stop;

# Whether two descriptions are the same; the diff (fresh -> updated) if not
sub same_description
{
	my ($updated, $name) = @_;
	return pass($name) if $updated eq $fresh_description;
	my $dir = PostgreSQL::Test::Utils::tempdir();
	append_to_file("$dir/fresh", "$fresh_description\n");
	append_to_file("$dir/updated", "$updated\n");
	IPC::Run::run([ 'diff', '-u', "$dir/fresh", "$dir/updated" ], '>', \my $diff);
	fail($name);
	diag("differences, fresh install (-) against updated (+):\n$diff");
	return 0;
}

for my $version (@versions)
{
	my $node = scribe_node('from_' . ($version =~ s/\W/_/gr), conf => $quiet);
	$node->start;
	my $sql = sub { return $node->safe_psql('postgres', $_[0]) };

	# --- the old version, under this build's library, called by its own names
	my %n = %{ $old_names{$version} // {} };
	$n{$_} //= $_ for qw(queue_create document_submit policy_create rate_limit_take);
	$sql->(qq{
		CREATE EXTENSION pg_scribe VERSION '$version';
		SELECT scribe.$n{queue_create}('emails', consumer => 'clients', max_attempts => 2);
		SELECT scribe.send('emails', jsonb_build_object('n', n)) FROM generate_series(1, 3) n;
		SELECT job_id FROM scribe.claim('emails', 1, lease_for => '1 hour');

		SELECT scribe.$n{queue_create}('tasks');
		CREATE TABLE task_runs (args jsonb);
		CREATE FUNCTION public.record_task(args jsonb) RETURNS void LANGUAGE sql
		    AS \$\$ INSERT INTO public.task_runs VALUES (args) \$\$;
		SELECT scribe.send('tasks', '{"function": "public.record_task", "args": {"from": "$version"}}', kind => 'sql');

		SELECT scribe.$n{document_submit}(pg_read_binary_file('$fixtures/word.tif'), owner => 'family-1');

		CREATE TABLE logs (at timestamptz NOT NULL);
		INSERT INTO logs SELECT now() - i * interval '1 day' FROM generate_series(0, 59) i;
		SELECT scribe.$n{policy_create}('logs', 'purge', 'logs', '{"column": "at", "older_than": "30 days"}');

		CREATE TABLE users (id integer PRIMARY KEY, name text);
		INSERT INTO users VALUES (1, 'Ann');
		SELECT scribe.cache_invalidate_on('users', 'user:{id}:name');

		SELECT scribe.$n{rate_limit_take}('login:ann', 1, '1 day');

		-- a DBA's grant on a function (0.2.0 renamed it)
		CREATE ROLE queue_admin;
		GRANT EXECUTE ON FUNCTION scribe.$n{queue_create}(text, text, interval, integer, interval, interval, interval) TO queue_admin;
		-- and on one whose signature 0.4.0 changed (claim gained wait)
		GRANT EXECUTE ON FUNCTION scribe.claim(text, integer, interval) TO queue_admin;
	});
	is($sql->(q{SELECT extversion FROM pg_extension WHERE extname = 'pg_scribe'}), $version,
		"$version: installed");
	# what a DBA sees between the new library and the update
	is($sql->(q{SELECT h->>'library_version' || ' ' || (h->>'extension_version') FROM scribe.health() h}),
		"$current $version", "$version: health() shows the library's version and the older extension's");

	# --- the update
	$sql->('ALTER EXTENSION pg_scribe UPDATE');
	is($sql->(q{SELECT extversion FROM pg_extension WHERE extname = 'pg_scribe'}), $current,
		"$version: updated to $current");
	# the DBA's grant made before the update is the one difference a fresh install cannot have
	same_description(describe_scribe($node) =~ s{,queue_admin=EXECUTE/postgres}{}gr,
		"$version: updated, pg_scribe is the same as a fresh install's");

	# --- the state survives and runs
	is($sql->(q{
		SELECT string_agg(q.name || ':' || j.n, ',' ORDER BY q.name)
		FROM scribe.queues q, LATERAL (SELECT count(*) AS n FROM scribe.jobs WHERE queue_id = q.queue_id) j
		WHERE q.name IN ('emails', 'tasks', 'ocr')}),
		'emails:3,ocr:1,tasks:1', "$version: the queues and their jobs are there");
	is($sql->(q{
		SELECT count(*) FILTER (WHERE scribe.ack(job_id, lease, '{"sent": true}')) FROM scribe.claim('emails', 10)}),
		2, "$version: the ready jobs of the clients queue are claimed and acked");
	is($sql->(q{SELECT count(*) FROM scribe.jobs j JOIN scribe.queues q USING (queue_id) WHERE q.name = 'emails'}),
		1, "$version: the job claimed before the update is still leased");

	is($sql->(q{SELECT has_function_privilege('queue_admin',
		'scribe.queue_create(text, text, interval, integer, interval, interval, interval)', 'EXECUTE')}), 't',
		"$version: a DBA's grant on a function (renamed or not) is still there");
	# (PUBLIC may execute it too: the grant itself must be in the new function's ACL)
	is($sql->(q{SELECT 'queue_admin' IN (SELECT grantee::regrole::text FROM pg_proc, aclexplode(proacl)
		WHERE oid = 'scribe.claim(text, integer, interval, interval)'::regprocedure)}), 't',
		"$version: a DBA's grant on claim passes to its new signature");
	is($sql->(q{SELECT payload ? 'lang' AND payload ? 'tier' FROM scribe.jobs WHERE kind = 'ocr'}), 't',
		"$version: a queued ocr job carries what a worker node needs");
	is($sql->(q{SELECT (scribe.rate_limit_take('login:ann', 1, '1 day')).allowed}), 'f',
		"$version: the rate-limited key is still limited");

	# the cache triggers attached before the update still delete the keys
	$sql->(q{SELECT scribe.cache_set('user:1:name', 'Ann')});
	is($sql->(q{SELECT scribe.cache_get('user:1:name')}), 'Ann', "$version: a key is cached");
	$sql->(q{UPDATE users SET name = 'Anna' WHERE id = 1});
	is($sql->(q{SELECT scribe.cache_get('user:1:name') IS NULL}), 't',
		"$version: the invalidation trigger attached before the update deletes it");

	# the pool runs the sql job, recognises the document and runs the policy
	reload_settings($node, min_workers => 1, max_workers => 2);
	ok(wait_until_drained($node, 'tasks'), "$version: the sql job ran");
	is($sql->('SELECT args FROM task_runs'), qq({"from": "$version"}), "$version: with its arguments");
	ok($node->poll_query_until('postgres', q{SELECT status = 'done' FROM scribe.documents}),
		"$version: the document submitted before the update is recognised");
	is($sql->('SELECT text FROM scribe.documents'), "Hello archive\n", "$version: its text");
	ok($node->poll_query_until('postgres', q{
		SELECT count(*) = 0 FROM logs WHERE at < now() - interval '31 days'}),
		"$version: the policy created before the update purges");
	my $run = $sql->(q{SELECT scribe.policy_run('logs')->>'run_id'});
	ok($node->poll_query_until('postgres', qq{SELECT status = 'succeeded' FROM scribe.policy_runs WHERE run_id = $run}),
		"$version: and runs again on demand");

	# the comparison sees what a forgotten DROP would leave: an old member function
	$sql->(q{
		CREATE FUNCTION scribe.left_over() RETURNS void LANGUAGE sql AS 'SELECT';
		ALTER EXTENSION pg_scribe ADD FUNCTION scribe.left_over();
	});
	like(describe_scribe($node), qr/^extension pg_scribe: member function scribe\.left_over\(\)$/m,
		"$version: a function an update forgot to drop shows in the description");

	$node->stop;
}

done_testing();
