# One backup: pg_dump and pg_restore of scribe.database keep the queues with
# their owners and rights (the built-in ones' rights too), the unfinished and
# dead jobs, the documents and the ledger, the lifecycle policies; job ids
# keep growing; the restored jobs run.  (The archive's daily partitions are
# not dumped yet: see src/sql/schema/queue.sql.)
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Utils;
use ScribeTest;
use Test::More;

my $fixtures = "$ENV{SCRIBE_SOURCE_DIR}/test/fixtures";
my $node = scribe_node('dump', conf => <<"CONF");
scribe.min_workers = 0
scribe.max_workers = 0
scribe.heartbeat_interval = 0
CONF
$node->start;
$node->safe_psql('postgres', qq{
	CREATE EXTENSION pg_scribe;
	SELECT scribe.queue_create('emails', consumer => 'clients', max_attempts => 1);
	SELECT scribe.send('emails', jsonb_build_object('n', n)) FROM generate_series(1, 4) n;
	SELECT job_id FROM scribe.claim('emails', 1);          -- in flight
	SELECT scribe.ack(job_id, lease, '{"sent": true}') FROM scribe.claim('emails', 1);   -- archived
	SELECT scribe.nack(job_id, lease, 'mailbox full') FROM scribe.claim('emails', 1);    -- dead
	SELECT scribe.document_submit(pg_read_binary_file('$fixtures/word.tif'), owner => 'family-1');
	INSERT INTO scribe.ocr_ledger (owner, page, method, cost) VALUES ('family-1', 1, 'local', 0.0001);
	CREATE TABLE logs (at timestamptz);
	SELECT scribe.policy_create('logs', 'purge', 'logs', '{"column": "at", "older_than": "30 days"}',
	                            enabled => false);
	CREATE ROLE mailer;
	CREATE ROLE web;
	SELECT scribe.queue_alter('emails', owner => 'mailer');
	SELECT scribe.queue_grant('emails', 'web', '{send}');
	SELECT scribe.queue_grant('ocr', 'mailer', '{claim}');
});
my $rights = q{SELECT string_agg(q.name || ':' || q.owner || ':' || COALESCE(r.grantee::text || ':' || r.may_send || ':' || r.may_claim, '-'),
	',' ORDER BY q.name) FROM scribe.queues q LEFT JOIN scribe.queue_rights r USING (queue_id)};
is($node->safe_psql('postgres', $rights),
	'emails:mailer:web:true:false,lifecycle:postgres:-,ocr:postgres:mailer:false:true', 'the queues\' owners and rights');
my $before = $node->safe_psql('postgres', q{
	SELECT (SELECT string_agg(name || ':' || consumer, ',' ORDER BY name) FROM scribe.queues),
	       (SELECT count(*) FROM scribe.jobs), (SELECT count(*) FROM scribe.jobs WHERE lease_until IS NOT NULL),
	       (SELECT count(*) FROM scribe.jobs_dead),
	       (SELECT count(*) FROM scribe.documents), (SELECT count(*) FROM scribe.ocr_ledger),
	       (SELECT max(job_id) FROM scribe.jobs),
	       (SELECT string_agg(name || ':' || kind || ':' || target || ':' || owner || ':' || enabled, ',' ORDER BY name)
	        FROM scribe.policies)});
is($before, 'emails:clients,lifecycle:workers,ocr:workers|3|1|1|1|1|5|logs:purge:public.logs:postgres:false,scribe.cache_events:purge:scribe.cache_events:postgres:true,scribe.history:sql:scribe.policy_prune_runs(jsonb):postgres:true',
	'the data before the dump');

my $dump = PostgreSQL::Test::Utils::tempdir() . '/scribe.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-f', $dump, '-d', $node->connstr('postgres') ], 'pg_dump');
$node->safe_psql('template1', 'DROP DATABASE postgres WITH (FORCE)');
$node->safe_psql('template1', 'CREATE DATABASE postgres');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('postgres'), $dump ], 'pg_restore');

is($node->safe_psql('postgres', q{
	SELECT (SELECT string_agg(name || ':' || consumer, ',' ORDER BY name) FROM scribe.queues),
	       (SELECT count(*) FROM scribe.jobs), (SELECT count(*) FROM scribe.jobs WHERE lease_until IS NOT NULL),
	       (SELECT count(*) FROM scribe.jobs_dead),
	       (SELECT count(*) FROM scribe.documents), (SELECT count(*) FROM scribe.ocr_ledger),
	       (SELECT max(job_id) FROM scribe.jobs),
	       (SELECT string_agg(name || ':' || kind || ':' || target || ':' || owner || ':' || enabled, ',' ORDER BY name)
	        FROM scribe.policies)}), $before,
	'queues, jobs (one in flight), dead letters, documents, ledger and policies are back');
is($node->safe_psql('postgres', $rights),
	'emails:mailer:web:true:false,lifecycle:postgres:-,ocr:postgres:mailer:false:true',
	'so are the owners and rights, the built-in queues\' too');
cmp_ok($node->safe_psql('postgres', "SELECT scribe.send('emails', '{}')"), '>', 5,
	'a new job gets a new id');
is($node->safe_psql('postgres', "SELECT count(*) FROM scribe.claim('emails', 10)"), 2,
	'the restored ready job and the new one are claimed');

# the restored document's job runs once there are workers
$node->safe_psql('postgres', q{
	ALTER SYSTEM SET scribe.max_workers = 1;
	ALTER SYSTEM SET scribe.min_workers = 1;
	SELECT pg_reload_conf();});
ok($node->poll_query_until('postgres', "SELECT status = 'done' FROM scribe.documents"),
	'the restored document is recognised');
is($node->safe_psql('postgres', 'SELECT text FROM scribe.documents'), "Hello archive\n", 'its text');

$node->stop;
done_testing();
