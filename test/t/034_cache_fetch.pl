# scribe.cache_fetch under concurrency: eight sessions missing the same key
# at once run its loader once (single-flight) and all get its value; a loader
# that fails releases the key for the next caller; a key is refreshed
# before it expires (XFetch), by one session while the others keep reading
# the value they have; with scribe.cache_fetch_beta = 0 it never is, and
# expires; a value loaded from rows that a transaction replaced while the
# loader ran is not stored after that transaction's commit.
#
# Loaders with parameters: values of every type are bound to $1, $2, ...
# (typed where they stand in the loader), never spliced into its text, so
# an injection attempt is just a value; a loader is one statement and only
# reads; cache_fetch_jsonb returns jsonb; eight sessions missing a key with
# a parameterised loader still run it once; odd loader texts are errors,
# never crashes.
#
# Where a loader must still be running when something happens, it waits
# for an advisory lock the test holds; how often a hot key is refreshed
# under load is for benchmarks (make bench-cache), not for this test.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";
use IPC::Run;
use PostgreSQL::Test::Utils;
use ScribeTest;
use Test::More;

my $node = scribe_node('fetch', conf => <<"CONF");
scribe.min_workers = 0
scribe.max_workers = 0
scribe.heartbeat_interval = 0
CONF
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION pg_scribe;
	CREATE SEQUENCE loads;
	CREATE TABLE seen (v text);
});

# eight clients at once on one cold key whose loader takes half a second
$node->pgbench(
	'--no-vacuum --client=8 --jobs=4 --transactions=1',
	0,
	[qr{processed: 8/8}],
	[qr{^$}],
	'eight sessions fetch one cold key at once',
	{
		'fetch' => q{
INSERT INTO seen SELECT scribe.cache_fetch('report:1', 'SELECT nextval(''loads'')::text FROM pg_sleep(0.5)', '1 hour');
}
	});
is($node->safe_psql('postgres', 'SELECT last_value FROM loads'), 1, 'the loader ran once');
is($node->safe_psql('postgres', q{SELECT string_agg(DISTINCT v, ',') || ' x' || count(*) FROM seen}), '1 x8',
	'and every session got its value');

# a failing loader releases the key: the next caller loads
my ($ret, $out, $err) = $node->psql('postgres',
	q{SELECT scribe.cache_fetch('report:2', 'SELECT (1 / 0)::text')});
like($err, qr/division by zero/, 'a loader error is the caller\'s error');
is($node->safe_psql('postgres', q{SELECT scribe.cache_fetch('report:2', 'SELECT ''fine''', '1 hour')}), 'fine',
	'the next caller loads the key at once');

# Loads, early refreshes and hits of a namespace
sub fetch_stats
{
	my ($name) = @_;
	return split /\|/, $node->safe_psql('postgres',
		qq{SELECT loads, early_refreshes, hits FROM scribe.cache_namespace_stats() WHERE namespace = '$name'});
}

# Sessions waiting for advisory lock $key
sub lock_waiters
{
	my ($key) = @_;
	return qq{SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = $key AND NOT granted};
}

# XFetch: a value that took 0.6 s to load, with beta 100, is refreshed
# early by a read of it with a probability of at least exp(-ttl / (0.6 s x
# 100)), over a third with a one-minute ttl; one session reads it until its
# read refreshes (the refresh then waits at the gate) while another reads
# the old value.
my $gate = scribe_session($node);
my $loader = q{SELECT nextval(''loads'')::text FROM pg_sleep(0.6), (SELECT pg_advisory_xact_lock_shared(17)) g};
my $fetch_hot = "SELECT scribe.cache_fetch('xfetch:1', '$loader', '1 minute')";
$node->safe_psql('postgres', "SELECT setval('loads', 1, false)");
is($node->safe_psql('postgres', "SET scribe.cache_fetch_beta = 100; $fetch_hot"), '1', 'a miss loads the hot key');
$gate->query_safe('SELECT pg_advisory_lock(17)');
# reads until one of them has refreshed the key (at most 200: the chance
# that none refreshes is below 1e-39)
my $read_hot = $fetch_hot =~ s/^SELECT //r;
my $refresher = scribe_session($node);
$refresher->query_until(qr/reading\n/, qq{\\echo reading
SET scribe.cache_fetch_beta = 100;
DO \$\$ BEGIN
	FOR i IN 1..200 LOOP
		PERFORM $read_hot;
		EXIT WHEN (SELECT early_refreshes FROM scribe.cache_namespace_stats() WHERE namespace = 'xfetch') > 0;
	END LOOP;
END \$\$;
});
ok($node->poll_query_until('postgres', 'SELECT (' . lock_waiters(17) . ') = 1'),
	'a read of the unexpired key refreshes it early: its loader runs');
my (undef, $old) = $node->psql('postgres', "SET scribe.cache_fetch_beta = 100; $fetch_hot",
	timeout => $PostgreSQL::Test::Utils::timeout_default);
is($old, '1', 'meanwhile another session reads the value there is, without waiting for the refresh');
$gate->query_safe('SELECT pg_advisory_unlock(17)');
is($refresher->query_safe('SELECT 1'), '1', 'the refresh ends');
$refresher->quit;
my ($loads, $early, $hits) = fetch_stats('xfetch');
is($early, 1, 'one early refresh');
is($loads - $early, 1, 'no load but the first was a miss: the key never expired');
cmp_ok($hits, '>=', 1, "the other reads were hits ($hits)");
is($node->safe_psql('postgres', "SET scribe.cache_fetch_beta = 0; $fetch_hot"),
	'2', 'the refreshed value is read next');

# scribe.cache_fetch_beta = 0: no early refresh; a key with a 1 s ttl read
# until it was loaded three times expired twice
$node->safe_psql('postgres', "SELECT setval('loads', 1, false)");
my $fetch_plain = q{SET scribe.cache_fetch_beta = 0;
	SELECT scribe.cache_fetch('plain:1', 'SELECT nextval(''loads'')::text FROM pg_sleep(0.05)', '1 second')};
ok(wait_until(sub { $node->safe_psql('postgres', $fetch_plain) >= 3 }),
	'the key expired and was loaded again, and again');
($loads, $early, $hits) = fetch_stats('plain');
is($early, 0, 'scribe.cache_fetch_beta = 0: no early refresh');
cmp_ok($loads, '>=', 3, "every load a miss ($loads loads)");

# a loader reads a row (its snapshot: the old balance) while another session
# updates the row and commits; the invalidation trigger deletes the key at
# commit; the loader finishes after that and must not store the old balance
$node->safe_psql('postgres', q{
	CREATE TABLE accounts (id int PRIMARY KEY, balance int);
	INSERT INTO accounts VALUES (1, 100);
	SELECT scribe.cache_invalidate_on('accounts', 'acct:{id}');
});
my ($loader_out, $loader_err) = ('', '');
$gate->query_safe('SELECT pg_advisory_lock(18)');
my $slow_loader = IPC::Run::start(
	[ 'psql', '-X', '-A', '-t', '-d', $node->connstr('postgres'), '-c',
		q{SELECT scribe.cache_fetch('acct:1', 'SELECT balance::text FROM accounts, (SELECT pg_advisory_xact_lock_shared(18)) g WHERE id = 1', '1 hour')} ],
	'>', \$loader_out, '2>', \$loader_err);
# the loader has its snapshot once it waits at the gate
ok($node->poll_query_until('postgres', 'SELECT (' . lock_waiters(18) . ') = 1'), 'the loader runs');
$node->safe_psql('postgres', q{UPDATE accounts SET balance = 200 WHERE id = 1});
$gate->query_safe('SELECT pg_advisory_unlock(18)');
$slow_loader->finish;
is($loader_out =~ s/\s+$//r, '100', 'the slow loader returns what its snapshot saw');
is($node->safe_psql('postgres', q{SELECT scribe.cache_get('acct:1') IS NULL}), 't',
	'but did not store it: the key was deleted while it ran');
is($node->safe_psql('postgres',
	q{SELECT scribe.cache_fetch('acct:1', 'SELECT balance::text FROM accounts WHERE id = 1', '1 hour')}),
	'200', 'the next fetch loads the new balance');
$gate->quit;

# --- loaders with parameters
$node->safe_psql('postgres', q{
	CREATE TABLE docs (id bigint PRIMARY KEY, family text, n integer, meta jsonb);
	INSERT INTO docs VALUES (1, 'f-42', 7, '{"tag": "red"}'), (2, 'f-42', 8, '{"tag": "blue"}'),
	    (3, 'f-43', 9, NULL);
	-- a statement's SQLSTATE, message and hint, or 'ok'
	CREATE FUNCTION outcome(statement text) RETURNS text LANGUAGE plpgsql AS $$
	DECLARE state text; message text; hint text;
	BEGIN
	    EXECUTE statement;
	    RETURN 'ok';
	EXCEPTION WHEN OTHERS THEN
	    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT;
	    RETURN state || ' ' || message || coalesce(' | ' || nullif(hint, ''), '');
	END $$;
});

# Run $sql, a statement, through outcome()
sub outcome
{
	my ($sql) = @_;
	return $node->safe_psql('postgres', qq{SELECT outcome(\$stmt\$$sql\$stmt\$)});
}

is($node->safe_psql('postgres',
	q{SELECT scribe.cache_fetch('p:int', 'SELECT family FROM docs WHERE n = $1', NULL, 8)}),
	'f-42', 'an integer parameter');
is($node->safe_psql('postgres',
	q{SELECT scribe.cache_fetch('p:bigint', 'SELECT family FROM docs WHERE id = $1', '1 hour', 3::bigint)}),
	'f-43', 'a bigint parameter');
is($node->safe_psql('postgres',
	q{SELECT scribe.cache_fetch('p:int-for-bigint', 'SELECT n::text FROM docs WHERE id = $1', NULL, 2)}),
	'8', 'an integer for a bigint column: $1 takes the column\'s type');
is($node->safe_psql('postgres',
	q{SELECT scribe.cache_fetch('p:literal', 'SELECT family FROM docs WHERE id = $1', NULL, '1')}),
	'f-42', 'a quoted literal for a bigint column, as a driver\'s untyped parameter');
is($node->safe_psql('postgres',
	q{SELECT scribe.cache_fetch('p:text', 'SELECT string_agg(id::text, '','' ORDER BY id) FROM docs WHERE family = $1', NULL, 'f-42'::text)}),
	'1,2', 'a text parameter');
is($node->safe_psql('postgres',
	q{SELECT scribe.cache_fetch('p:jsonb', 'SELECT family FROM docs WHERE meta @> $1', NULL, '{"tag": "blue"}'::jsonb)}),
	'f-42', 'a jsonb parameter');
is($node->safe_psql('postgres',
	q{SELECT scribe.cache_fetch('p:null', 'SELECT family FROM docs WHERE meta IS NOT DISTINCT FROM $1', NULL, NULL::jsonb)}),
	'f-43', 'a NULL parameter is SQL NULL');
is($node->safe_psql('postgres',
	q{SELECT scribe.cache_fetch('p:untyped', 'SELECT pg_typeof($1)::text || '' '' || pg_typeof($2)::text', NULL, 5::smallint, 'x')}),
	'smallint text', 'where the loader gives no type, a value keeps its own (a literal is text)');
is($node->safe_psql('postgres',
	q{SELECT scribe.cache_fetch('p:two', 'SELECT count(*)::text FROM docs WHERE family = $1 AND n > $2', NULL, 'f-42', 7)}),
	'1', 'two parameters of different types');
is($node->safe_psql('postgres',
	q{SELECT scribe.cache_fetch('p:variadic', 'SELECT family FROM docs WHERE id = $1', NULL, VARIADIC ARRAY[3])}),
	'f-43', 'VARIADIC ARRAY[...] passes the elements');
is($node->safe_psql('postgres',
	q{SELECT scribe.cache_fetch('p:bigint', 'SELECT family FROM docs WHERE id = $1', '1 hour', 1::bigint)}),
	'f-43', 'the parameters are not part of the key: the value cached under it is returned');

# an injection attempt is a value: no row has that family, and nothing was dropped
is($node->safe_psql('postgres',
	q{SELECT scribe.cache_fetch('p:inject', 'SELECT count(*)::text FROM docs WHERE family = $1', NULL, 'x''; DROP TABLE docs; --')}),
	'0', 'an injection attempt as a parameter is just a value');
is($node->safe_psql('postgres', q{SELECT count(*) FROM docs}), '3', 'and the table is there, all its rows');

like(outcome(q{SELECT scribe.cache_fetch('p:bad', 'SELECT family FROM docs WHERE id = $1', NULL, point(1, 2))}),
	qr/^42846 a value of type point cannot be cast to bigint \| /, 'a value that cannot be cast to its parameter\'s type');
like(outcome(q{SELECT scribe.cache_fetch('p:bad', 'SELECT family FROM docs WHERE id = $1', NULL, 'abc')}),
	qr/^22P02 invalid input syntax for type bigint: "abc"$/, 'a literal that is not a bigint');
is(outcome(q{SELECT scribe.cache_fetch('p:bad', 'SELECT family FROM docs WHERE id = $1 AND n = $2', NULL, 1)}),
	'42P02 the loader of cache key "p:bad" refers to $2, but 1 parameter was given | '
	  . 'Pass a value after the ttl for each $n of the loader, in order: scribe.cache_fetch(key, loader, ttl, value1, value2, ...).',
	'fewer values than the loader uses');
is(outcome(q{SELECT scribe.cache_fetch('p:none', 'SELECT family FROM docs WHERE id = 1')}),
	'ok', 'the three-argument form: a loader without parameters');
like(outcome(q{SELECT scribe.cache_fetch('p:bad', 'SELECT family FROM docs WHERE id = $1')}),
	qr/^42P02 the loader of cache key "p:bad" refers to \$1, but 0 parameters were given/,
	'the three-argument form gives no values');
is(outcome(q{SELECT scribe.cache_fetch('p:bad', 'SELECT family FROM docs WHERE id = $1', NULL, 1, 2)}),
	'42P02 the loader of cache key "p:bad" refers to no parameter past $1, but 2 were given | '
	  . 'Refer to each value given after the ttl in the loader, as $1, $2, ... in order.',
	'more values than the loader uses');

# one statement, a query that only reads
my $one_statement = '42601 the loader of cache key "p:w" must be one statement | '
  . q{Write the loader as one query and pass values as parameters: scribe.cache_fetch(key, 'SELECT ... WHERE id = $1', ttl, id).};
is(outcome(q{SELECT scribe.cache_fetch('p:w', 'SELECT 1; DELETE FROM docs')}), $one_statement,
	'two statements are refused');
is(outcome(q{SELECT scribe.cache_fetch('p:w', 'SELECT $1; DELETE FROM docs', NULL, 1)}), $one_statement,
	'with parameters too');
is(outcome(q{SELECT scribe.cache_fetch('p:w', ' -- nothing')}), $one_statement, 'an empty loader is refused');
is($node->safe_psql('postgres', q{SELECT scribe.cache_fetch('p:semicolon', 'SELECT ''one'';')}), 'one',
	'a trailing semicolon is one statement');
my $writes = 'A loader runs only when its key misses: write in statements of your own';
for my $case (
	[ 'DELETE FROM docs RETURNING id', 'must be a query, not DELETE' ],
	[ 'INSERT INTO docs VALUES (9) RETURNING id', 'must be a query, not INSERT' ],
	[ 'UPDATE docs SET n = 0 WHERE id = $1 RETURNING n', 'must be a query, not UPDATE', 1 ],
	[ 'SELECT id INTO stolen FROM docs', 'must be a query, not SELECT INTO' ],
	[ 'CREATE TABLE stolen AS SELECT 1', 'must be a query, not CREATE TABLE AS' ],
	[ 'EXPLAIN ANALYZE DELETE FROM docs', 'must be a query, not EXPLAIN' ],
	[ 'WITH d AS (DELETE FROM docs RETURNING 1) SELECT count(*) FROM d', 'must only read, but its WITH clause writes' ],
	[ 'SELECT id FROM docs WHERE id = $1 FOR UPDATE', 'must only read, but it locks rows (FOR UPDATE or FOR SHARE)', 1 ],
	[ 'SELECT (SELECT n FROM docs WHERE id = 1 FOR SHARE)', 'must only read, but it locks rows (FOR UPDATE or FOR SHARE)' ])
{
	my ($loader, $message, $param) = @$case;
	my $sql = "SELECT scribe.cache_fetch('p:w', '" . ($loader =~ s/'/''/gr) . "'"
	  . (defined $param ? ", NULL, $param" : '') . ')';
	like(outcome($sql), qr/^0A000 the loader of cache key "p:w" \Q$message\E \| \Q$writes\E|^0A000 the loader of cache key "p:w" \Q$message\E \| Remove the locking clause/,
		"a loader that writes is refused: $loader");
}
is($node->safe_psql('postgres', q{SELECT count(*) || ' ' || sum(n) || ' ' || (to_regclass('stolen') IS NULL) FROM docs}),
	'3 24 true', 'nothing was written');

# cache_fetch_jsonb: jsonb, stored as jsonb
is($node->safe_psql('postgres', q{
	SELECT pg_typeof(v)::text || ' ' || (v -> 'families' ->> 0) || ' ' || (v ->> 'n')
	FROM scribe.cache_fetch_jsonb('pj:1', 'SELECT jsonb_build_object(''families'', jsonb_agg(family), ''n'', $2) FROM docs WHERE id < $1',
	                              '1 hour', 3, 42) v}),
	'jsonb f-42 42', 'cache_fetch_jsonb returns jsonb');
is($node->safe_psql('postgres', q{SELECT scribe.cache_get_jsonb('pj:1') ->> 'n'}), '42', 'and caches it as jsonb');
is($node->safe_psql('postgres', q{SELECT scribe.cache_fetch_jsonb('pj:2', 'SELECT meta::text FROM docs WHERE id = $1', NULL, 1) ->> 'tag'}),
	'red', 'a loader returning text that holds JSON');
is($node->safe_psql('postgres', q{SELECT scribe.cache_fetch_jsonb('pj:3', 'SELECT to_json(family) FROM docs WHERE id = $1', NULL, 1) #>> '{}'}),
	'f-42', 'or json');
is(outcome(q{SELECT scribe.cache_fetch_jsonb('pj:4', 'SELECT n FROM docs WHERE id = $1', NULL, 1)}),
	'42804 the loader of cache key "pj:4" returns integer, not jsonb | '
	  . 'Return jsonb (to_jsonb(...), jsonb_build_object(...), jsonb_agg(...)), json, or text holding JSON.',
	'a loader returning what cannot be cast to jsonb');
like(outcome(q{SELECT scribe.cache_fetch_jsonb('p:text', 'SELECT 1')}),
	qr/^42804 cache key "p:text" holds a text value, not jsonb/, 'a key holding text is not read as jsonb');
is($node->safe_psql('postgres', q{SELECT scribe.cache_fetch('pj:1', 'SELECT 1')::jsonb ->> 'n'}), '42',
	'the text form reads a jsonb value as its text');

# single flight with a parameterised loader: eight sessions, one load
$node->safe_psql('postgres', "SELECT setval('loads', 1, false); TRUNCATE seen");
$node->pgbench(
	'--no-vacuum --client=8 --jobs=4 --transactions=1',
	0,
	[qr{processed: 8/8}],
	[qr{^$}],
	'eight sessions fetch one cold key with a parameterised loader at once',
	{
		'fetch_params' => q{
INSERT INTO seen SELECT scribe.cache_fetch_jsonb('family:f-42:docs', 'SELECT jsonb_build_object(''load'', nextval(''loads''), ''ids'', jsonb_agg(id ORDER BY id)) FROM docs, pg_sleep(0.5) WHERE family = $1', '1 hour', 'f-42'::text)::text;
}
	});
is($node->safe_psql('postgres', 'SELECT last_value FROM loads'), 1, 'the loader ran once');
is($node->safe_psql('postgres', q{SELECT string_agg(DISTINCT v, ',') || ' x' || count(*) FROM seen}),
	'{"ids": [1, 2], "load": 1} x8', 'and every session got its value');

# odd loader texts: each an error or a value, never a crash, never a write
my @odd = ('', ';', ';;;', '/* */', '--', 'SELECT', q{SELECT 'abc}, 'SELECT $0', 'SELECT $99999999999',
	'SELECT $1', '$1', 'SELECT 1 FROM', ('(' x 5000) . 'SELECT 1' . (')' x 5000), 'BEGIN', 'COMMIT',
	'ROLLBACK', 'SET ROLE postgres', 'RESET ALL', 'DO $$BEGIN DELETE FROM docs; END$$', 'CALL nothing()',
	'COPY docs TO STDOUT', 'VACUUM docs', 'LISTEN x', 'PREPARE p AS SELECT 1', 'EXECUTE p',
	'DECLARE c CURSOR FOR SELECT 1', 'TABLE docs', 'VALUES (1), (2)', 'SELECT 1 UNION SELECT 2',
	'SELECT * FROM docs, LATERAL (DELETE FROM docs RETURNING 1) d', "SELECT E'\\\\x00'",
	'SELECT ' . join(' || ', map { "\$$_" } 1 .. 50), "SELECT 1 \x{7f}");
srand(17);
push @odd, join('', map { chr(32 + int(rand(95))) } 1 .. 40 + int(rand(200))) for 1 .. 40;
push @odd, join(' ', map { ('SELECT', 'FROM', 'WHERE', '$1', ';', '(', ')', 'docs', 'id', '=', ',', 'WITH', 'DELETE', 'FOR', 'UPDATE', "'", '--', '/*', '*/')[int(rand(19))] } 1 .. 12) for 1 .. 60;
my ($errors, $values, $crashes) = (0, 0, 0);
for my $loader (@odd)
{
	my $quoted = $loader =~ s/'/''/gr;
	# without parameters, and with one
	for my $params ('', ', NULL, 1')
	{
		my ($rc, $out, $err) = $node->psql('postgres',
			"SELECT scribe.cache_fetch('odd:1', '$quoted'$params); SELECT scribe.cache_delete('odd:1');");
		if ($err =~ /server closed|terminated abnormally|connection to server/) { $crashes++; diag("crash: $loader") }
		elsif ($err =~ /ERROR/) { $errors++ }
		else { $values++ }
	}
}
is($crashes, 0, scalar(@odd) . " odd loaders, each without and with a parameter: $errors errors, $values values, no crash");
is($node->safe_psql('postgres', q{SELECT count(*) || ' ' || sum(n) FROM docs}), '3 24', 'and nothing was written');

$node->stop;
done_testing();
