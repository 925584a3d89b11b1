# Before CREATE EXTENSION, and while scribe.database does not exist, the
# launcher idles without crash-looping; it follows the database and the
# extension as they come and go.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Utils;
use ScribeTest;
use Test::More;

my $node = scribe_node('idle');
$node->start;

my $pid = wait_for_launcher($node, 'waiting for CREATE EXTENSION pg_scribe');
ok($pid, 'the server starts and the launcher waits for the extension');

# asleep on its latch in that state: it went through a whole cycle without
# the extension, where a crash loop would have ended it
is(wait_for_launcher_asleep($node, 'waiting for CREATE EXTENSION pg_scribe'), $pid,
	'the waiting launcher finished its look and sleeps, the same process');
is(launcher_restarted($node), 0, 'the launcher never exited');

# the commit of CREATE EXTENSION wakes it at once, not at its next recheck
# (60 s after that look): the server's clock says when it noticed.  30 s is
# a bound for a missing wake-up, not for a slow machine.
my $began = $node->safe_psql('postgres', 'SELECT clock_timestamp()');
$node->safe_psql('postgres', 'CREATE EXTENSION pg_scribe');
ok(wait_for_launcher($node, 'running'), 'CREATE EXTENSION starts the launcher\'s work');
my $noticed = $node->safe_psql('postgres',
	"SELECT round(extract(epoch FROM state_since - '$began'::timestamptz), 3) FROM scribe._launcher_status()");
cmp_ok($noticed, '<', 30, "the launcher noticed $noticed s after CREATE EXTENSION began, before its 60 s recheck");

$node->safe_psql('postgres', 'DROP EXTENSION pg_scribe');
ok(wait_for_launcher($node, 'waiting for CREATE EXTENSION pg_scribe'),
	'DROP EXTENSION sends the launcher back to waiting');
$node->stop;

# scribe.database names a database that does not exist yet (a new replica
# whose database comes later): the launcher waits quietly, from its first
# start on
my $later = scribe_node('later', conf => "scribe.database = 'later'\n");
$later->start;
ok(wait_for_launcher($later, 'waiting for database'),
	'with no such database, the launcher waits for it');
my ($waiting_pid, $no_db) = launcher_activity($later);
is($no_db, '', 'the waiting launcher holds no database');
like(slurp_file($later->logfile), qr/pg_scribe launcher is waiting for database "later"/,
	'the log says what the launcher waits for');
is(wait_for_launcher_asleep($later, 'waiting for database'), $waiting_pid,
	'the launcher looked, found no database and sleeps, without crash-looping');
is(launcher_restarted($later), 0, 'the launcher waits in its first process: it never tried to connect');
is(join("\n", slurp_file($later->logfile) =~ /^.*\b(?:FATAL|ERROR|PANIC):.*$/mg), '',
	'the log has no FATAL or ERROR (no "database does not exist")');

my ($ret, $stdout, $stderr) = $later->psql('postgres', 'CREATE EXTENSION pg_scribe');
like($stderr, qr/pg_scribe can only be installed in database "later"/,
	'CREATE EXTENSION elsewhere is refused');
like($stderr, qr/HINT:  Add scribe.database = 'postgres' to postgresql.conf/,
	'the hint names the setting to add');

# the commit of CREATE DATABASE wakes the waiting launcher (its 10 s
# recheck is the safety net), which restarts to connect to it
$later->safe_psql('postgres', 'CREATE DATABASE later');
ok(wait_for_launcher($later, 'waiting for CREATE EXTENSION pg_scribe'),
	'once the database exists, the launcher connects to it');
my (undef, $db) = launcher_activity($later);
is($db, 'later', 'the launcher is in scribe.database');
$later->safe_psql('later', 'CREATE EXTENSION pg_scribe');
ok(wait_for_launcher($later, 'running'), 'and runs once the extension is created');
is($later->safe_psql('later', q{SELECT scribe.health()->'launcher'->>'state'}), 'running',
	'health() says so');
unlike(slurp_file($later->logfile), qr/\b(?:FATAL|PANIC):/,
	'no FATAL in the log from the first start to running');

# DROP DATABASE ... WITH (FORCE) terminates the launcher (a FATAL, as any
# terminated process logs), which waits again: its next start looks first
my $offset = -s $later->logfile;
$later->safe_psql('postgres', 'DROP DATABASE later WITH (FORCE)');
ok(wait_for_launcher($later, 'waiting for database'),
	'after its database is dropped, the launcher waits for it again');
unlike(slurp_file($later->logfile, $offset), qr/database "later" does not exist/,
	'without trying to connect to it');

$later->stop;
done_testing();
