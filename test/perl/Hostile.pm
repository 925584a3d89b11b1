# The hostile roles' arsenal, for the tests that attack pg_scribe's elevated
# paths (t/080_hostile_roles.pl and others).
#
# Every attacker is a member of the NOLOGIN role `hostile`, which owns the
# schema `arsenal`:
#   arsenal.pwn()         when it runs as anyone but an attacker (a superuser,
#                         a victim), advances the sequence arsenal.evidence
#                         (nextval is not rolled back: the evidence survives
#                         an ERROR), warns, and makes every attacker superuser
#   arsenal.pwn_stable()  the same evidence from a STABLE function, so that a
#                         view's WHERE arsenal.pwn_stable() runs once, at the
#                         start of a scan, even of an empty relation
#   a shadow of every pg_catalog function (plain arguments and result) and
#   operator, calling arsenal.pwn() and then the original: with
#   search_path = arsenal, pg_catalog, any unqualified call that resolves
#   through the caller's path runs the attacker's code.
# In each attacking session, attack_session_sql() also creates temporary
# views named like every pg_catalog relation and every table of scribe, and
# temporary domains named like the types elevated code casts to, all
# calling arsenal.pwn().
package Hostile;

use strict;
use warnings;

use Exporter 'import';
use Test::More;

our @EXPORT = qw(arsenal_setup attacker_create attack_session_sql evidence
  world_snapshot assert_harmless);

# Create the role hostile, its schema arsenal and the shadows (as superuser)
sub arsenal_setup
{
	my ($node, $db) = @_;
	$node->safe_psql($db, <<'SQL');
CREATE ROLE hostile NOLOGIN;
CREATE SCHEMA arsenal AUTHORIZATION hostile;
GRANT USAGE ON SCHEMA arsenal TO PUBLIC;
CREATE SEQUENCE arsenal.evidence;
GRANT USAGE, SELECT, UPDATE ON SEQUENCE arsenal.evidence TO PUBLIC;
SET ROLE hostile;
CREATE FUNCTION arsenal.pwn() RETURNS boolean LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp AS $f$
DECLARE
    r record;
BEGIN
    IF NOT pg_catalog.pg_has_role(current_user, 'hostile', 'MEMBER')
       OR (SELECT u.rolsuper FROM pg_catalog.pg_roles u WHERE u.rolname = current_user) THEN
        PERFORM pg_catalog.nextval('arsenal.evidence');
        RAISE WARNING 'arsenal.pwn() ran as %', current_user;
        FOR r IN SELECT m.rolname FROM pg_catalog.pg_roles m
                 WHERE pg_catalog.pg_has_role(m.oid, 'hostile', 'MEMBER') AND NOT m.rolsuper LOOP
            BEGIN
                EXECUTE pg_catalog.format('ALTER ROLE %I SUPERUSER', r.rolname);
            EXCEPTION WHEN OTHERS THEN NULL;
            END;
        END LOOP;
    END IF;
    RETURN true;
END
$f$;
CREATE FUNCTION arsenal.pwn_stable() RETURNS boolean LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp AS $f$
BEGIN
    IF NOT pg_catalog.pg_has_role(current_user, 'hostile', 'MEMBER')
       OR (SELECT u.rolsuper FROM pg_catalog.pg_roles u WHERE u.rolname = current_user) THEN
        PERFORM pg_catalog.nextval('arsenal.evidence');
        RAISE WARNING 'arsenal.pwn_stable() ran as %', current_user;
    END IF;
    RETURN true;
END
$f$;
-- a shadow of each catalog function with plain arguments and result
DO $do$
DECLARE
    f record;
BEGIN
    FOR f IN
        SELECT p.proname, p.pronargs, pg_catalog.format_type(p.prorettype, NULL) AS rettype,
               (SELECT pg_catalog.string_agg(pg_catalog.format_type(t, NULL), ', ' ORDER BY i)
                FROM pg_catalog.unnest(p.proargtypes::oid[]) WITH ORDINALITY u(t, i)) AS argtypes,
               (SELECT pg_catalog.string_agg('$' || i, ', ') FROM pg_catalog.generate_series(1, p.pronargs) i) AS args
        FROM pg_catalog.pg_proc p
        WHERE p.pronamespace = 'pg_catalog'::regnamespace AND p.prokind = 'f' AND NOT p.proretset
          AND p.provariadic = 0 AND p.proargmodes IS NULL
          AND NOT EXISTS (SELECT FROM pg_catalog.pg_type t
                          WHERE t.oid = ANY (p.proargtypes::oid[] || p.prorettype) AND t.typtype = 'p')
    LOOP
        BEGIN
            EXECUTE pg_catalog.format('CREATE FUNCTION arsenal.%I(%s) RETURNS %s LANGUAGE plpgsql AS %L',
                f.proname, COALESCE(f.argtypes, ''), f.rettype,
                pg_catalog.format('BEGIN PERFORM arsenal.pwn(); RETURN pg_catalog.%I(%s); END',
                                  f.proname, COALESCE(f.args, '')));
        EXCEPTION WHEN OTHERS THEN NULL;
        END;
    END LOOP;
END
$do$;
-- a shadow of each catalog operator whose function has one
DO $do$
DECLARE
    op record;
BEGIN
    FOR op IN
        SELECT o.oprname, o.oprleft, o.oprright, p.proname
        FROM pg_catalog.pg_operator o JOIN pg_catalog.pg_proc p ON p.oid = o.oprcode
        WHERE o.oprnamespace = 'pg_catalog'::regnamespace
          AND EXISTS (SELECT FROM pg_catalog.pg_proc a
                      WHERE a.pronamespace = 'arsenal'::regnamespace AND a.proname = p.proname
                        AND a.proargtypes = p.proargtypes)
    LOOP
        BEGIN
            EXECUTE pg_catalog.format('CREATE OPERATOR arsenal.%s (%s RIGHTARG = %s, FUNCTION = arsenal.%I)',
                op.oprname,
                CASE WHEN op.oprleft <> 0 THEN 'LEFTARG = ' || pg_catalog.format_type(op.oprleft, NULL) || ',' ELSE '' END,
                pg_catalog.format_type(op.oprright, NULL), op.proname);
        EXCEPTION WHEN OTHERS THEN NULL;
        END;
    END LOOP;
END
$do$;
RESET ROLE;
SQL
	my $counts = $node->safe_psql($db, q{
		SELECT (SELECT count(*) FROM pg_proc WHERE pronamespace = 'arsenal'::regnamespace),
		       (SELECT count(*) FROM pg_operator WHERE oprnamespace = 'arsenal'::regnamespace)});
	my ($functions, $operators) = split /\|/, $counts;
	cmp_ok($functions, '>', 1500, "the arsenal shadows $functions catalog functions");
	cmp_ok($operators, '>', 400, "and $operators catalog operators");
	return;
}

# Create a LOGIN attacker, member of hostile, with a schema of its own
sub attacker_create
{
	my ($node, $db, $name, @grants) = @_;
	$node->safe_psql($db, join ";\n",
		"CREATE ROLE $name LOGIN IN ROLE hostile",
		"CREATE SCHEMA $name AUTHORIZATION $name",
		@grants);
	return;
}

# What an attacking session runs first: the arsenal on its search_path,
# temporary views and domains shadowing catalog and pg_scribe names
sub attack_session_sql
{
	my ($own_schema) = @_;
	return <<"SQL";
SET client_min_messages = warning;
DO \$do\$
DECLARE
    c record;
    t text;
BEGIN
    -- every catalog relation, and every relation of scribe, as a temp view
    FOR c IN SELECT n.nspname, r.relname FROM pg_catalog.pg_class r JOIN pg_catalog.pg_namespace n ON n.oid = r.relnamespace
             WHERE n.nspname IN ('pg_catalog', 'scribe') AND r.relkind IN ('r', 'v', 'm', 'p', 'f') LOOP
        BEGIN
            IF c.nspname = 'pg_catalog' THEN
                EXECUTE pg_catalog.format('CREATE TEMP VIEW %I AS SELECT v.* FROM pg_catalog.%I v WHERE arsenal.pwn_stable() AND arsenal.pwn()',
                                          c.relname, c.relname);
            ELSE
                EXECUTE pg_catalog.format('CREATE TEMP VIEW %I AS SELECT NULL::pg_catalog.int4 AS x WHERE arsenal.pwn_stable() AND arsenal.pwn()',
                                          c.relname);
            END IF;
            EXECUTE pg_catalog.format('GRANT SELECT ON pg_temp.%I TO PUBLIC', c.relname);
        EXCEPTION WHEN OTHERS THEN NULL;
        END;
    END LOOP;
    -- the type names elevated code casts to, as temp domains
    FOREACH t IN ARRAY ARRAY['jsonb', 'text', 'regclass', 'regrole', 'regprocedure', 'regproc', 'regtype',
                             'regnamespace', 'regconfig', 'timestamptz', 'timestamp', 'date', 'bytea', 'name',
                             'oid', 'uuid', 'int2', 'int4', 'int8', 'float8', 'bool', 'pg_lsn', 'tsquery',
                             'tsvector', 'jsonpath', 'inet', 'xid'] LOOP
        BEGIN
            EXECUTE pg_catalog.format('CREATE DOMAIN pg_temp.%I AS pg_catalog.%I CHECK (arsenal.pwn())', t, t);
        EXCEPTION WHEN OTHERS THEN NULL;
        END;
    END LOOP;
END
\$do\$;
SET search_path = arsenal, $own_schema, pg_catalog, public;
RESET client_min_messages;
SQL
}

# How many times arsenal.pwn() ran as someone it should not have
sub evidence
{
	my ($node, $db) = @_;
	return $node->safe_psql($db,
		'SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM arsenal.evidence');
}

# A digest of what no attacker may change: every role's attributes and
# memberships, and the definition and privileges of every object (relation,
# function, schema) that no attacker owns, and the rows of the victims'
# tables named in @tables
sub world_snapshot
{
	my ($node, $db, @tables) = @_;
	my $rows = join '', map { " || (SELECT COALESCE(string_agg(t::text, ',' ORDER BY t::text), '') FROM $_ t)" } @tables;
	return $node->safe_psql($db, qq{
		WITH attackers AS (SELECT oid FROM pg_roles WHERE pg_has_role(oid, 'hostile', 'MEMBER') AND NOT rolsuper)
		SELECT md5(
		  (SELECT string_agg(concat_ws(':', rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb,
		                               rolcanlogin, rolreplication, rolbypassrls, rolconfig), ',' ORDER BY rolname) FROM pg_roles)
		  || (SELECT COALESCE(string_agg(concat_ws(':', roleid, member, admin_option), ',' ORDER BY roleid, member), '')
		      FROM pg_auth_members)
		  || (SELECT string_agg(concat_ws(':', c.oid, c.relname, c.relnamespace, c.relowner, c.relkind, c.relacl,
		                                  c.relrowsecurity, c.relhastriggers, c.relhasrules), ',' ORDER BY c.oid)
		      FROM pg_class c WHERE c.relowner NOT IN (SELECT oid FROM attackers)
		        AND c.relpersistence <> 't' AND c.relname !~ '^jobs_archive_p[0-9]{8}'
		        AND c.relnamespace <> 'pg_toast'::regnamespace)
		  || (SELECT string_agg(concat_ws(':', p.oid, p.proname, p.proowner, p.prosecdef, p.proconfig, p.proacl,
		                                  md5(p.prosrc)), ',' ORDER BY p.oid)
		      FROM pg_proc p WHERE p.proowner NOT IN (SELECT oid FROM attackers))
		  || (SELECT string_agg(concat_ws(':', n.oid, n.nspname, n.nspowner, n.nspacl), ',' ORDER BY n.oid)
		      FROM pg_namespace n WHERE n.nspowner NOT IN (SELECT oid FROM attackers) AND n.nspname !~ '^pg_(toast_)?temp_')
		  || (SELECT COALESCE(string_agg(concat_ws(':', t.oid, t.tgname, t.tgrelid, t.tgenabled), ',' ORDER BY t.oid), '')
		      FROM pg_trigger t JOIN pg_class r ON r.oid = t.tgrelid
		      WHERE r.relowner NOT IN (SELECT oid FROM attackers) AND r.relpersistence <> 't')
		  $rows)});
}

# After an attack: no attacker is superuser, the arsenal ran as nobody it
# should not have, and the world is as it was
sub assert_harmless
{
	my ($node, $db, $what, $world_before, @tables) = @_;
	is($node->safe_psql($db,
		"SELECT string_agg(rolname, ', ') FROM pg_roles WHERE rolsuper AND pg_has_role(oid, 'hostile', 'MEMBER') AND rolname <> current_user"),
		'', "$what: no attacker became superuser");
	is(evidence($node, $db), '0', "$what: the attackers' code never ran with rights they lack");
	is(world_snapshot($node, $db, @tables), $world_before, "$what: no object of another role changed");
	return;
}

1;
