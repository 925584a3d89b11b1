# Owners of documents, enforced inside pg_scribe: a role with scribe_app acts
# for the owner its session names (scribe.owner) and sees, searches, reads,
# deletes and is billed for that owner's documents only; without an owner
# it sees nothing and may not submit.  Hostile callers try another owner's
# ids and search terms, owner names that look like patterns or SQL, the
# internal functions behind the doors, a SECURITY DEFINER function of
# their own called by an administrator, SET LOCAL that should not outlive
# its transaction, and a pool worker's session left with an owner by the
# job before.  Completion hooks: a job on the submitter's queue in the
# transaction that records the document.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Utils;
use ScribeTest;
use Test::More;

my $scans = "$ENV{SCRIBE_SOURCE_DIR}/test/fixtures/scans";
my $db = 'postgres';
my $node = scribe_node('owners', conf => <<'CONF');
scribe.min_workers = 1
scribe.max_workers = 1
scribe.heartbeat_interval = 0
scribe.ocr_cost_local = 0.001
CONF
$node->start;
$node->safe_psql($db, q{
	CREATE EXTENSION pg_scribe;
	CREATE ROLE famapp LOGIN;
	GRANT scribe_app TO famapp;
	CREATE ROLE mallory LOGIN;
	GRANT scribe_app TO mallory;
	CREATE SCHEMA mallory AUTHORIZATION mallory;
	CREATE ROLE direct LOGIN;
	GRANT EXECUTE ON FUNCTION scribe.document_list(bigint, integer, text) TO direct;
	CREATE ROLE boss LOGIN;
	GRANT scribe_admin TO boss;
});

# Run $sql as $role; returns (stdout, stderr), never dies
sub as
{
	my ($role, $sql) = @_;
	my ($rc, $out, $err) = $node->psql($db, $sql,
		extra_params => [ '-U', $role, '-v', 'VERBOSITY=verbose' ], on_error_stop => 0);
	return ($out, $err);
}

# Run $sql as $role; its output, or die with its error
sub as_ok
{
	my ($role, $sql) = @_;
	my ($out, $err) = as($role, "\\set ON_ERROR_STOP 1\n$sql");
	die "$role: $err" if $err =~ /ERROR/;
	return $out;
}

# --- the roles CREATE EXTENSION made
is($node->safe_psql($db, q{
	SELECT string_agg(rolname || ':' || rolcanlogin, ',' ORDER BY rolname) FROM pg_roles
	WHERE rolname IN ('scribe_app', 'scribe_monitor', 'scribe_admin')}),
	'scribe_admin:false,scribe_app:false,scribe_monitor:false', 'CREATE EXTENSION made the three NOLOGIN roles');
is($node->safe_psql($db, q{
	SELECT pg_has_role('scribe_admin', 'scribe_app', 'MEMBER'), pg_has_role('scribe_admin', 'scribe_monitor', 'MEMBER'),
	       pg_has_role('pg_monitor', 'scribe_monitor', 'MEMBER'), pg_has_role('scribe_app', 'scribe_monitor', 'MEMBER')}),
	't|t|t|f', 'scribe_admin has scribe_app and scribe_monitor; pg_monitor has scribe_monitor; scribe_app does not');

# --- without an owner: nothing to see, no submit
my $letter = "pg_read_binary_file('$scans/letter-clean.png')";
my $diary = "pg_read_binary_file('$scans/diary-small-text.png')";
my $letter_hex = unpack 'H*', slurp_file("$scans/letter-clean.png");
my $diary_hex = unpack 'H*', slurp_file("$scans/diary-small-text.png");
my ($out, $err) = as('famapp', "SELECT scribe.document_submit(decode('$letter_hex', 'hex'))");
like($err, qr/ERROR:  42501: no owner to submit the document for/, 'no owner set: submit is refused with 42501');
like($err, qr/HINT:  SET scribe.owner/, 'and the hint says to set scribe.owner');

# --- two owners submit through one application role
my ($l1, $l2) = split /\n/, as_ok('famapp', qq{
	SET scribe.owner = 'family-1';
	SELECT scribe.document_submit(decode('$letter_hex', 'hex'), metadata => '{"title": "letter"}');
	SELECT scribe.document_submit(decode('$letter_hex', 'hex'));});
my $d2 = as_ok('famapp', qq{
	BEGIN;
	SET LOCAL scribe.owner = 'family-2';
	SELECT scribe.document_submit(decode('$diary_hex', 'hex'));
	COMMIT;});
ok($l1 && $l2 && $d2, "family-1 submitted $l1 and $l2, family-2 $d2, through the same role");
is($node->safe_psql($db, "SELECT string_agg(owner || '/' || submitted_by, ',' ORDER BY document_id) FROM scribe.documents"),
	'family-1/famapp,family-1/famapp,family-2/famapp', 'each document belongs to the owner its session acted for');
is(as_ok('famapp', 'SELECT count(*) FROM scribe.document_list()'), '0',
	'SET LOCAL ended with its transaction: the next one sees nothing');
ok(wait_for_count($node, q{SELECT count(*) FROM scribe.documents WHERE status = 'queued'}), 'the three are recognised');

# --- family-1 sees its own, and nothing of family-2's
my $f1 = "SET scribe.owner = 'family-1';\n";
is(as_ok('famapp', $f1 . 'SELECT string_agg(document_id::text, \',\') FROM scribe.document_list()'), "$l2,$l1",
	'document_list: its own documents, newest first');
is(as_ok('famapp', $f1 . "SELECT string_agg(document_id::text, ',') FROM scribe.document_list(before => $l2)"), "$l1",
	'document_list pages with before');
is(as_ok('famapp', $f1 . "SELECT string_agg(document_id::text, ',') FROM scribe.document_get_many(ARRAY[$l1, $d2, $l2, 999999])"),
	"$l1,$l2", 'document_get_many: a row for each of its own ids, none for another owner\'s or a missing one');
is(as_ok('famapp', $f1 . "SELECT count(*) FROM scribe.document_get($d2)"), '0', "document_get of family-2's id: no row");
is(as_ok('famapp', $f1 . "SELECT count(*) FROM scribe.document_get(999999)"), '0', 'document_get of a missing id: no row');
is(as_ok('famapp', $f1 . "SELECT status, owner FROM scribe.document_get($l1)"), 'done|family-1', 'document_get of its own');
is(as_ok('famapp', $f1 . "SELECT scribe.document_get_text($d2) IS NULL, scribe.document_get_image($d2) IS NULL,
	scribe.document_get_pdf($d2) IS NULL, (SELECT count(*) FROM scribe.document_get_pages($d2))"),
	't|t|t|0', "text, image, searchable PDF and pages of family-2's document: nothing");
like(as_ok('famapp', $f1 . "SELECT scribe.document_get_text($l1)"), qr/Dear Margaret/, 'its own text');
like(as_ok('famapp', $f1 . "SELECT page, rotation, needs_review IS NOT NULL, text_source FROM scribe.document_get_pages($l1)"),
	qr/^1\|0\|t\|ocr$/, 'its own pages, with the verdict and the turn');
like(as_ok('famapp', $f1 . "SELECT substr(scribe.document_get_pdf($l1), 1, 5)"), qr/^\\x2550444[46]2d$/,
	'its own searchable PDF');
is(as_ok('famapp', $f1 . q{SELECT count(*) FROM scribe.document_search('Hendersons')}), '0',
	"searching family-2's words finds nothing");
is(as_ok('famapp', $f1 . q{SELECT count(*) FROM scribe.document_search('Margaret')}), '2', 'its own words are found');
is(as_ok('famapp', $f1 . q{SELECT string_agg(DISTINCT owner, ',') FROM scribe.ocr_costs()}), 'family-1',
	'ocr_costs: billed for its own documents only');
is(as_ok('famapp', $f1 . "SELECT scribe.document_delete($d2)"), 'f', "document_delete of family-2's document: false");
is($node->safe_psql($db, "SELECT count(*) FROM scribe.documents WHERE document_id = $d2"), '1', 'and it is still there');
($out, $err) = as('famapp', $f1 . "SELECT scribe.document_submit(decode('$letter_hex', 'hex'), owner => 'family-2')");
like($err, qr/ERROR:  42501: this session acts for owner "family-1", not "family-2"/,
	'submitting for another owner than the session acts for is refused');

# --- owner names that look like patterns or SQL match nothing
for my $trick ('%', '_amily-1', 'family-1\' OR \'1\'=\'1', 'FAMILY-1', 'family-1 ')
{
	(my $quoted = $trick) =~ s/'/''/g;
	is(as_ok('mallory', "SET scribe.owner = '$quoted'; SELECT count(*) FROM scribe.document_list()"), '0',
		"scribe.owner = '$trick' sees nothing");
}
($out, $err) = as('mallory', "SET scribe.owner = E'family-1\\n'");
like($err, qr/ERROR:  22023: invalid value for parameter "scribe.owner"/, 'an owner with a control character is refused');

# --- the internal bodies are not doors
($out, $err) = as('mallory', "SELECT * FROM scribe._document_list('mallory', NULL, true, NULL, 50, NULL)");
like($err, qr/ERROR:  42501: permission denied for function _document_list/, 'the internal functions are granted to nobody');
($out, $err) = as('mallory', "SELECT * FROM scribe._document_get_text('boss', 'family-1', true, $l1)");
like($err, qr/ERROR:  42501: permission denied for function _document_get_text/, 'so the caller cannot name itself');

# --- a role granted a document function directly, without scribe_app
is(as_ok('direct', 'SELECT count(*) FROM scribe.document_list()'), '0', 'a role granted document_list sees nothing without an owner');
is(as_ok('direct', "SET scribe.owner = 'family-2'; SELECT count(*) FROM scribe.document_list()"), '1', 'and the owner it names');

# --- scribe_admin and superusers see all, unless they name an owner
is(as_ok('boss', 'SELECT count(*) FROM scribe.document_list()'), '3', 'scribe_admin without an owner sees every owner\'s');
is(as_ok('boss', "SET scribe.owner = 'family-2'; SELECT count(*) FROM scribe.document_list()"), '1', 'and only the owner it names');
is($node->safe_psql($db, 'SELECT count(*) FROM scribe.document_search(\'Hendersons OR Margaret\')'), '3',
	'a superuser without an owner searches everyone\'s');

# --- a trojan: mallory's SECURITY DEFINER function, called by the administrator
as_ok('mallory', q{
	CREATE TABLE mallory.loot (documents bigint, texts text);
	CREATE FUNCTION mallory.harmless() RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER AS $$
	BEGIN
		INSERT INTO mallory.loot SELECT count(*), string_agg(scribe.document_get_text(l.document_id), ' ')
		FROM scribe.document_list() l;
		RETURN 0;
	END $$;
	GRANT EXECUTE ON FUNCTION mallory.harmless() TO PUBLIC;
	GRANT USAGE ON SCHEMA mallory TO PUBLIC;});
as_ok('boss', 'SELECT mallory.harmless()');
$node->safe_psql($db, 'SELECT mallory.harmless()');
is($node->safe_psql($db, q{SELECT string_agg(documents || ':' || (texts IS NULL), ',') FROM mallory.loot}), '0:true,0:true',
	'called by scribe_admin or a superuser, mallory\'s function still sees only what mallory sees: nothing');

# --- a pool worker's session keeps no owner from one job to the next
as_ok('mallory', q{
	CREATE FUNCTION mallory.claim_owner(args jsonb) RETURNS void LANGUAGE sql AS
		$$ SELECT set_config('scribe.owner', 'family-1', false) $$;
	CREATE FUNCTION mallory.count_documents(args jsonb) RETURNS bigint LANGUAGE sql AS
		$$ SELECT count(*) FROM scribe.document_list() $$;});
my $job = as_ok('mallory', q{
	SELECT scribe.queue_create('chores');
	SELECT scribe.send('chores', '{"function": "mallory.claim_owner"}', kind => 'sql');
	SELECT scribe.send('chores', '{"function": "mallory.count_documents"}', kind => 'sql');});
my (undef, $first_job, $second_job) = split /\n/, $job;
ok(wait_for_count($node, q{SELECT count(*) FROM scribe.jobs j JOIN scribe.queues q USING (queue_id) WHERE q.name = 'chores'}),
	'the worker ran both jobs');
is($node->safe_psql($db, "SELECT result FROM scribe.job_get($second_job)"), '0',
	'the job after one that set scribe.owner in the worker\'s session sees nothing');

# --- delete: the document, its pages and search entries go; the ledger stays
is(as_ok('famapp', $f1 . "SELECT scribe.document_delete($l2)"), 't', 'family-1 deletes its own document');
is($node->safe_psql($db, "SELECT (SELECT count(*) FROM scribe.documents WHERE document_id = $l2),
	(SELECT count(*) FROM scribe.document_pages WHERE document_id = $l2),
	(SELECT count(*) FROM scribe.ocr_ledger WHERE document_id = $l2)"), '0|0|1',
	'its row and pages are gone, its ledger entry stays');
is(as_ok('famapp', $f1 . q{SELECT count(*) FROM scribe.document_search('Margaret')}), '1', 'search no longer finds it');

# --- completion hooks: a job on the submitter's queue, with the document
$node->safe_psql($db, q{SELECT scribe.queue_create('mail', consumer => 'clients')});
($out, $err) = as('famapp', $f1 . "SELECT scribe.document_submit(decode('$letter_hex', 'hex'), notify_queue => 'mail')");
like($err, qr/ERROR:  42501: permission denied for queue "mail"/, 'a notify queue the submitter may not send to is refused');
$node->safe_psql($db, q{SELECT scribe.queue_grant('mail', 'famapp', '{send,claim}')});
my $hooked = as_ok('famapp', $f1 . "SELECT scribe.document_submit(decode('$letter_hex', 'hex'), notify_queue => 'mail')");
# the job and the status commit together: whenever the document is done, its job is there
ok(wait_until(sub {
	$node->safe_psql($db, "SELECT status <> 'queued' FROM scribe.documents WHERE document_id = $hooked") eq 't' }),
	'the document with a notify queue is recognised');
is(as_ok('famapp', "SELECT payload->>'document_id', payload->>'status', payload->>'owner' FROM scribe.claim('mail')"),
	"$hooked|done|family-1", 'its completion job waits on the queue the submitter named');

done_testing();
