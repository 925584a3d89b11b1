# Hostile policy owners.  alice, a LOGIN role with only the grants
# docs/reference.md recommends for a role that keeps its own tables with
# policies, tries to have her code run as someone else through them: her
# own to_regclass(), set_config() and operators shadowing the built-in ones
# on her search_path; temporary views named like catalogs; a view as an
# orphans policy's parent; a purge target turned into a view after the
# policy was made; triggers, deferred ones included, on a table a superuser
# made a policy for; and sql policies that leave settings and temporary
# objects behind in the worker's session.  Her weapon is alice.pwn(), which
# run as anyone but alice advances a sequence granted to PUBLIC (nextval is
# never rolled back: the evidence outlives an ERROR), makes alice superuser
# and writes into a table she cannot touch.  After each attack: alice is
# not superuser, the evidence was never advanced, nothing of another role
# changed.  The legitimate flows still work.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Utils;
use ScribeTest;
use Test::More;

# one worker: every job runs in the same session, one after the other
my $node = scribe_node('hostile', conf => <<'CONF');
scribe.min_workers = 1
scribe.max_workers = 1
scribe.heartbeat_interval = 0
CONF
$node->start;

# Run SQL as the superuser and return its output
sub sql { return $node->safe_psql('postgres', $_[0]) }

# Run a script in one session as a role, SQLSTATEs in the messages; its
# (stdout, stderr).  With keep_going, an ERROR does not stop the script.
sub as_role
{
	my ($role, $script, %opts) = @_;
	my ($ret, $out, $err) = $node->psql('postgres', $script,
		connstr => $node->connstr('postgres') . " user=$role",
		on_error_stop => $opts{keep_going} ? 0 : 1,
		extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	die "psql as $role failed:\n$err" if $ret != 0 && !$opts{keep_going};
	return ($out, $err);
}

# The stdout of a script run as alice (an ERROR fails the test run)
sub alice { return (as_role('alice', $_[0]))[0] }

# The stderr of one statement as a role (keeps going)
sub error_of { return (as_role($_[0], $_[1], keep_going => 1))[1] }

# Wait until a run is over; its "status|error"
sub run_outcome
{
	my ($run_id) = @_;
	$node->poll_query_until('postgres',
		qq{SELECT status IN ('succeeded', 'failed') FROM scribe.policy_runs WHERE run_id = $run_id})
	  or return 'still running';
	return sql(qq{SELECT status || '|' || COALESCE(error, '') FROM scribe.policy_runs WHERE run_id = $run_id});
}

sql(q{
	CREATE EXTENSION pg_scribe;
	-- a failed action is retried once, quickly
	SELECT scribe.queue_alter('lifecycle', max_attempts => 2, backoff_base => '100 milliseconds',
	                          backoff_cap => '200 milliseconds');
	CREATE SEQUENCE public.evidence;
	GRANT USAGE ON SEQUENCE public.evidence TO PUBLIC;
	CREATE TABLE public.precious (v text);
	INSERT INTO public.precious VALUES ('kept');
	CREATE ROLE alice LOGIN;
	CREATE ROLE bob LOGIN;
	CREATE SCHEMA alice AUTHORIZATION alice;
	CREATE SCHEMA bob AUTHORIZATION bob;
	-- exactly what docs/reference.md (Privileges) recommends for a policy owner
	GRANT EXECUTE ON FUNCTION scribe.policy_create(text, text, text, jsonb, text, boolean),
	                          scribe.policy_alter(text, jsonb, text, boolean),
	                          scribe.policy_drop(text), scribe.policy_run(text, boolean) TO alice, bob;
});

alice(q{
	CREATE FUNCTION alice.pwn() RETURNS boolean LANGUAGE plpgsql SET search_path = pg_catalog AS $$
	BEGIN
		IF current_user <> 'alice' THEN
			PERFORM nextval('public.evidence');
			EXECUTE 'ALTER ROLE alice SUPERUSER';
			INSERT INTO public.precious VALUES ('alice was here');
		END IF;
		RETURN true;
	END $$;
	CREATE TABLE alice.trigger_log (who name);
	CREATE FUNCTION alice.log_and_pwn() RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog AS $$
	BEGIN
		INSERT INTO alice.trigger_log VALUES (current_user);
		PERFORM alice.pwn();
		RETURN NULL;
	END $$;

	CREATE TABLE alice.logs (id int, at timestamptz NOT NULL);
	CREATE TABLE alice.logs_archive (id int, at timestamptz NOT NULL);
	CREATE TABLE alice.kids (id int, parent_id int);
	CREATE TABLE alice.parents_t (id int);
	CREATE VIEW alice.parents AS SELECT id FROM alice.parents_t WHERE alice.pwn();
	CREATE TABLE alice.events (at timestamptz NOT NULL) PARTITION BY RANGE (at);
	CREATE PROCEDURE alice.noop() LANGUAGE sql AS $$ SELECT 1 $$;
});
as_role('bob', q{
	CREATE TABLE bob.seen (work_mem text, mark text, search_path text, temp_relations bigint);
	CREATE PROCEDURE bob.observe() LANGUAGE sql AS $$
		INSERT INTO bob.seen
		SELECT current_setting('work_mem'), current_setting('alice.mark', true), current_setting('search_path'),
		       (SELECT count(*) FROM pg_catalog.pg_class WHERE relnamespace = pg_catalog.pg_my_temp_schema())
	$$;
});

# What alice must never change: the other roles' relations, the superusers,
# the superuser's table
my $fingerprint_sql = q{
	SELECT md5(string_agg(format('%s %s %s %s %s', c.oid, c.relname, c.relkind, c.relowner, c.relacl), ','
	                      ORDER BY c.oid))
	       || ' ' || (SELECT string_agg(v, ',' ORDER BY v) FROM public.precious)
	       || ' ' || (SELECT string_agg(rolname, ',' ORDER BY rolname) FROM pg_roles WHERE rolsuper)
	FROM pg_class c WHERE c.relnamespace IN ('public'::regnamespace, 'bob'::regnamespace)};
my $fingerprint = sql($fingerprint_sql);

# After an attack: alice is no superuser, pwn never ran as someone else,
# nothing else changed; then undo what a successful attack did, so that
# each attack is judged alone
sub unharmed
{
	my ($attack) = @_;
	is(sql(q{SELECT rolsuper FROM pg_roles WHERE rolname = 'alice'}), 'f', "$attack: alice is not superuser");
	is(sql(q{SELECT is_called FROM public.evidence}), 'f', "$attack: pwn() never ran as another role");
	is(sql($fingerprint_sql), $fingerprint, "$attack: no object of another role changed");
	sql(q{ALTER ROLE alice NOSUPERUSER; SELECT setval('public.evidence', 1, false);
	      DELETE FROM public.precious WHERE v <> 'kept'});
}

# The calls of the name attacks: every kind created, altered, dry-run, dropped
sub policy_calls
{
	my ($p) = @_;
	return qq{
		SELECT scribe.policy_create('$p-purge', 'purge', 'logs', '{"column": "at", "older_than": "1 day"}', enabled => false);
		SELECT scribe.policy_create('$p-archive', 'archive', 'logs',
			'{"column": "at", "older_than": "1 day", "archive_table": "logs_archive"}', enabled => false);
		SELECT scribe.policy_create('$p-orphans', 'orphans', 'kids',
			'{"column": "parent_id", "parent": "parents_t", "parent_column": "id"}', enabled => false);
		SELECT scribe.policy_create('$p-parts', 'partitions', 'events',
			'{"interval": "month", "retention": "1 year", "retention_mode": "archive", "archive_schema": "alice"}',
			enabled => false);
		SELECT scribe.policy_create('$p-sql', 'sql', 'noop', enabled => false);
		SELECT scribe.policy_create('$p-sql2', 'sql', 'noop()', enabled => false);
		SELECT scribe.policy_alter('$p-purge', settings => '{"older_than": "2 days"}');
		SELECT scribe.policy_alter('$p-archive', settings => '{"archive_table": "logs_archive"}');
		SELECT scribe.policy_alter('$p-orphans', settings => '{"parent": "parents_t"}');
		SELECT scribe.policy_alter('$p-parts', settings => '{"archive_schema": "alice"}');
		SELECT scribe.policy_run('$p-' || k, dry_run => true) FROM unnest('{purge,archive,orphans,parts,sql}'::text[]) k;
		SELECT scribe.policy_drop('$p-' || k) FROM unnest('{purge,archive,orphans,parts,sql,sql2}'::text[]) k;
	};
}

# --- (a) alice's functions and operators shadow the built-in ones on her search_path
my ($out, $err) = as_role('alice', q{
	CREATE FUNCTION alice.to_regclass(text) RETURNS regclass LANGUAGE sql
		AS $$ SELECT CASE WHEN alice.pwn() THEN pg_catalog.to_regclass($1) END $$;
	CREATE FUNCTION alice.to_regproc(text) RETURNS regproc LANGUAGE sql
		AS $$ SELECT CASE WHEN alice.pwn() THEN pg_catalog.to_regproc($1) END $$;
	CREATE FUNCTION alice.to_regprocedure(text) RETURNS regprocedure LANGUAGE sql
		AS $$ SELECT CASE WHEN alice.pwn() THEN pg_catalog.to_regprocedure($1) END $$;
	CREATE FUNCTION alice.to_regnamespace(text) RETURNS regnamespace LANGUAGE sql
		AS $$ SELECT CASE WHEN alice.pwn() THEN pg_catalog.to_regnamespace($1) END $$;
	CREATE FUNCTION alice.set_config(text, text, boolean) RETURNS text LANGUAGE sql
		AS $$ SELECT CASE WHEN alice.pwn() THEN pg_catalog.set_config($1, $2, $3) END $$;
	CREATE FUNCTION alice.replace(text, text, text) RETURNS text LANGUAGE sql
		AS $$ SELECT CASE WHEN alice.pwn() THEN pg_catalog.replace($1, $2, $3) END $$;
	CREATE FUNCTION alice.quote_ident(text) RETURNS text LANGUAGE sql
		AS $$ SELECT CASE WHEN alice.pwn() THEN pg_catalog.quote_ident($1) END $$;
	CREATE FUNCTION alice.text_eq(text, text) RETURNS boolean LANGUAGE sql
		AS $$ SELECT alice.pwn() AND pg_catalog.texteq($1, $2) $$;
	CREATE OPERATOR alice.= (LEFTARG = text, RIGHTARG = text, FUNCTION = alice.text_eq);
	CREATE FUNCTION alice.text_like(text, text) RETURNS boolean LANGUAGE sql
		AS $$ SELECT alice.pwn() AND pg_catalog.textlike($1, $2) $$;
	CREATE OPERATOR alice.~~ (LEFTARG = text, RIGHTARG = text, FUNCTION = alice.text_like);
	CREATE FUNCTION alice.name_eq(name, name) RETURNS boolean LANGUAGE sql
		AS $$ SELECT alice.pwn() AND pg_catalog.nameeq($1, $2) $$;
	CREATE OPERATOR alice.= (LEFTARG = name, RIGHTARG = name, FUNCTION = alice.name_eq);
	CREATE FUNCTION alice.oid_eq(oid, oid) RETURNS boolean LANGUAGE sql
		AS $$ SELECT alice.pwn() AND pg_catalog.oideq($1, $2) $$;
	CREATE OPERATOR alice.= (LEFTARG = oid, RIGHTARG = oid, FUNCTION = alice.oid_eq);
	SET search_path = alice, pg_catalog;
} . policy_calls('a') . q{
	RESET search_path;
	DROP FUNCTION alice.to_regclass(text), alice.to_regproc(text), alice.to_regprocedure(text),
		alice.to_regnamespace(text), alice.set_config(text, text, boolean), alice.replace(text, text, text),
		alice.quote_ident(text);
	DROP FUNCTION alice.text_eq(text, text), alice.text_like(text, text), alice.name_eq(name, name),
		alice.oid_eq(oid, oid) CASCADE;
}, keep_going => 1);
unlike($err, qr/ERROR/, '(a) under alice\'s shadows every call worked as usual') or diag($err);
unharmed('(a) shadowed functions and operators');

# --- (b) temporary views named like the catalogs the policy functions read
# (every column but those of pseudo-types, which a view cannot have)
($out, $err) = as_role('alice', q{
	DO $$
	DECLARE
		t text;
	BEGIN
		FOREACH t IN ARRAY '{pg_attribute,pg_class,pg_inherits,pg_partitioned_table,pg_index,pg_proc,pg_namespace}'::text[] LOOP
			EXECUTE format('CREATE TEMP VIEW %I AS SELECT %s FROM pg_catalog.%I x WHERE alice.pwn()', t,
				(SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) FROM pg_catalog.pg_attribute a
				 WHERE a.attrelid = ('pg_catalog.' || t)::regclass AND a.attnum > 0
				   AND a.atttypid <> 'anyarray'::regtype), t);
		END LOOP;
	END $$;
} . policy_calls('b'), keep_going => 1);
unlike($err, qr/ERROR/, '(b) with the temporary views every call worked as usual') or diag($err);
unharmed('(b) temporary views named like catalogs');

# --- (c) an orphans policy whose parent is alice's view calling pwn()
alice(q{
	INSERT INTO alice.kids VALUES (1, 1), (2, 2), (3, 3), (4, NULL);
	INSERT INTO alice.parents_t VALUES (1);
	SELECT scribe.policy_create('c', 'orphans', 'alice.kids',
		'{"column": "parent_id", "parent": "alice.parents", "parent_column": "id"}', enabled => false);
});
is(alice(q{SELECT scribe.policy_run('c', dry_run => true)->'actions'->0->>'rows'}), 2,
	'(c) alice\'s dry run counts the two orphans (her view read as alice)');
unharmed('(c) dry run by alice');
is(sql(q{SELECT scribe.policy_run('c', dry_run => true)->'actions'->0->>'rows'}), 2,
	'(c) the superuser\'s dry run counts them too, reading alice\'s view as alice');
unharmed('(c) dry run by the superuser');
is(run_outcome(alice(q{SELECT scribe.policy_run('c')->>'run_id'})), 'succeeded|', '(c) the run succeeded');
is(alice(q{SELECT string_agg(id::text, ',' ORDER BY id) FROM alice.kids}), '1,4',
	'(c) and deleted the orphans, as alice');
unharmed('(c) real run');

# --- (d) a purge target turned into a view after the policy was made
alice(q{
	CREATE TABLE alice.gone (at timestamptz NOT NULL);
	SELECT scribe.policy_create('d', 'purge', 'alice.gone', '{"column": "at", "older_than": "1 day"}', enabled => false);
	CREATE RULE "_RETURN" AS ON SELECT TO alice.gone
		DO INSTEAD SELECT now() - interval '10 days' AS at WHERE alice.pwn();
});
is(alice(q{SELECT relkind FROM pg_class WHERE oid = 'alice.gone'::regclass}), 'v', '(d) alice.gone is a view now');
like(error_of('alice', q{SELECT scribe.policy_run('d', dry_run => true)}),
	qr/ERROR:  42809: the target alice\.gone of policy "d" is a view, not a table.*\nHINT:  /s,
	'(d) alice\'s dry run fails with 42809 and a hint');
unharmed('(d) dry run by alice');
like(error_of('postgres', q{SELECT scribe.policy_run('d', dry_run => true)}),
	qr/ERROR:  42809: the target alice\.gone of policy "d" is a view/, '(d) so does the superuser\'s');
unharmed('(d) dry run by the superuser');
like(run_outcome(alice(q{SELECT scribe.policy_run('d')->>'run_id'})),
	qr/^failed\|the target alice\.gone of policy "d" is a view, not a table \(/,
	'(d) a run started by alice fails at once, the reason recorded in the run');
unharmed('(d) run started by alice');
like(run_outcome(sql(q{SELECT scribe.policy_run('d')->>'run_id'})), qr/^failed\|the target alice\.gone/,
	'(d) a run started by the superuser fails the same way');
unharmed('(d) run started by the superuser');

# --- (e) triggers on alice's tables, the policies made by the superuser
alice(q{
	CREATE TABLE alice.audit (at timestamptz NOT NULL);
	INSERT INTO alice.audit SELECT now() - interval '10 days' FROM generate_series(1, 5);
	INSERT INTO alice.audit SELECT now() FROM generate_series(1, 3);
	CREATE TRIGGER audit_deleted AFTER DELETE ON alice.audit FOR EACH ROW EXECUTE FUNCTION alice.log_and_pwn();
	CREATE TABLE alice.audit_deferred (at timestamptz NOT NULL);
	INSERT INTO alice.audit_deferred SELECT now() - interval '10 days' FROM generate_series(1, 5);
	CREATE CONSTRAINT TRIGGER audit_deferred_deleted AFTER DELETE ON alice.audit_deferred
		DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION alice.log_and_pwn();
});
is(sql(q{SELECT string_agg((scribe.policy_create(n, 'purge', t, '{"column": "at", "older_than": "1 day"}',
                                                  enabled => false)).owner::text, ',')
         FROM (VALUES ('e', 'alice.audit'), ('e-deferred', 'alice.audit_deferred')) v(n, t)}), 'alice,alice',
	'(e) policies the superuser makes on alice\'s tables belong to alice');
is(run_outcome(sql(q{SELECT scribe.policy_run('e')->>'run_id'})), 'succeeded|', '(e) the purge succeeded');
is(alice(q{SELECT count(*) || ' ' || (SELECT string_agg(DISTINCT who::text, ',') FROM alice.trigger_log) FROM alice.audit}),
	'3 alice', '(e) the old rows are gone, and alice\'s trigger ran as alice');
unharmed('(e) ordinary trigger');
alice(q{TRUNCATE alice.trigger_log});
is(run_outcome(sql(q{SELECT scribe.policy_run('e-deferred')->>'run_id'})), 'succeeded|',
	'(e) the purge of a table with a deferred constraint trigger succeeded');
is(alice(q{SELECT count(*) || ' ' || (SELECT string_agg(DISTINCT who::text, ',') FROM alice.trigger_log) FROM alice.audit_deferred}),
	'0 alice', '(e) the deferred trigger fired, as alice, not at the worker\'s commit as the superuser');
unharmed('(e) deferred constraint trigger');

# --- (f) sql policies that leave settings and a temporary view behind
alice(q{
	CREATE PROCEDURE alice.unsettle() LANGUAGE plpgsql AS $$
	BEGIN
		PERFORM pg_catalog.set_config('search_path', 'alice, pg_catalog', false);
		PERFORM pg_catalog.set_config('work_mem', '77MB', false);
		PERFORM pg_catalog.set_config('alice.mark', 'left behind', false);
	END $$;
	CREATE PROCEDURE alice.leave_view() LANGUAGE plpgsql AS $$
	BEGIN
		CREATE TEMP VIEW pg_class AS SELECT c.* FROM pg_catalog.pg_class c WHERE alice.pwn();
	END $$;
	SELECT scribe.policy_create('f-settings', 'sql', 'alice.unsettle', enabled => false);
	SELECT scribe.policy_create('f-view', 'sql', 'alice.leave_view', enabled => false);
});
as_role('bob', q{SELECT scribe.policy_create('f-bob', 'sql', 'bob.observe', enabled => false)});
is(run_outcome(alice(q{SELECT scribe.policy_run('f-settings')->>'run_id'})), 'succeeded|',
	'(f) alice\'s procedure changed its settings');
like(run_outcome(alice(q{SELECT scribe.policy_run('f-view')->>'run_id'})),
	qr/^failed\|cannot create temporary table within security-restricted operation/,
	'(f) a policy\'s procedure cannot create a temporary view');
is(run_outcome((as_role('bob', q{SELECT scribe.policy_run('f-bob')->>'run_id'}))[0]), 'succeeded|',
	'(f) then bob\'s policy ran, in the same worker');
is(sql(q{SELECT work_mem, COALESCE(mark, ''), search_path, temp_relations FROM bob.seen}),
	'4MB||"$user", public|0', '(f) bob\'s procedure saw none of alice\'s settings and no temporary object');
unharmed('(f) sql policies');

# --- the legitimate flows
alice(q{
	INSERT INTO alice.logs SELECT i, now() - interval '10 days' FROM generate_series(1, 40) i;
	INSERT INTO alice.logs SELECT i, now() FROM generate_series(41, 45) i;
	SELECT scribe.policy_create('ok-purge', 'purge', 'alice.logs',
		'{"column": "at", "older_than": "1 day", "batch_size": 15}', enabled => false);
	SELECT scribe.policy_create('ok-parts', 'partitions', 'alice.events', '{"interval": "month", "premake": 2}',
		enabled => false);
	-- a procedure that finds its table through its own SET search_path
	CREATE TABLE alice.tallies (who name);
	CREATE PROCEDURE alice.tally() LANGUAGE plpgsql SET search_path = alice AS $$
	BEGIN
		INSERT INTO tallies VALUES (current_user);
	END $$;
	SELECT scribe.policy_create('ok-sql', 'sql', 'alice.tally', enabled => false);
});
is(alice(q{SELECT scribe.policy_run('ok-purge', dry_run => true)->'actions'->0->>'rows'}), 40,
	'a dry run counts the rows a purge would delete');
is(run_outcome(alice(q{SELECT scribe.policy_run('ok-purge')->>'run_id'})), 'succeeded|', 'the purge ran');
is(alice(q{SELECT count(*) || ' ' || min(id) FROM alice.logs}), '5 41', 'and removed the old rows only');
is(run_outcome(alice(q{SELECT scribe.policy_run('ok-parts')->>'run_id'})), 'succeeded|',
	'a partitions policy ran');
is(alice(q{SELECT count(*) || ' ' || bool_and(c.relowner = 'alice'::regrole) FROM pg_inherits i
           JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'alice.events'::regclass}), '3 true',
	'and made the current month\'s partition and two ahead, owned by alice');
is(run_outcome(alice(q{SELECT scribe.policy_run('ok-sql')->>'run_id'})), 'succeeded|',
	'an sql policy ran');
is(alice(q{SELECT string_agg(who::text, ',') FROM alice.tallies}), 'alice',
	'its procedure ran as alice, with its own search_path');
unharmed('legitimate flows');

$node->stop;
done_testing();
