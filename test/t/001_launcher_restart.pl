# The launcher starts with the server and comes back after it is terminated
# or killed.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Utils;
use ScribeTest;
use Test::More;

# the test framework turns restart_after_crash off; the kill -9 case needs it
my $node = scribe_node('launcher', conf => "restart_after_crash = on\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_scribe');

my $pid = wait_for_launcher($node, 'running');
ok($pid, 'the launcher runs once the server has started');
my ($p, $datname) = launcher_activity($node);
is($datname, 'postgres', 'the launcher is connected to scribe.database');

# pg_terminate_backend: die() exits non-zero, so the postmaster restarts it
$node->safe_psql('postgres', "SELECT pg_terminate_backend($pid)");
my $new_pid = wait_for_launcher($node, 'running', $pid);
ok($new_pid && $new_pid != $pid, 'a terminated launcher is restarted');
is($node->safe_psql('postgres', q{SELECT scribe.health()->'launcher'->>'restarts'}),
	'1', 'health() counts the restart');
like(slurp_file($node->logfile),
	qr/terminating background worker "pg_scribe launcher" due to administrator command/,
	'the log says why the launcher stopped');

# kill -9: the postmaster resets shared memory and restarts everything
kill 'KILL', $new_pid;
my $after_crash = wait_for_launcher($node, 'running', $new_pid);
ok($after_crash, 'the launcher comes back after a crash restart of the server');
is($node->safe_psql('postgres', q{SELECT scribe.health()->'launcher'->>'state'}),
	'running', 'health() reports it running again');

$node->stop;
done_testing();
