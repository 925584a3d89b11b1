# DROP DATABASE of another database completes while the launcher runs: it
# must absorb the server's signal barrier, which a loop without
# CHECK_FOR_INTERRUPTS() never does (PostgreSQL 15 then hangs the DROP).
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Utils;
use ScribeTest;
use Test::More;

# no heartbeat: its SPI calls would absorb the barrier and hide a missing
# CHECK_FOR_INTERRUPTS() in the launcher's own loop
my $node = scribe_node('dropdb', conf => "scribe.heartbeat_interval = 0\n");
$node->start;

# Create and drop a database; a hung DROP is cut off after the test's
# timeout (PG_TEST_TIMEOUT_DEFAULT), a bound for a hang, not for speed
sub create_and_drop
{
	my ($name) = @_;
	$node->safe_psql('postgres', "CREATE DATABASE $name");
	my ($stdout, $stderr, $timed_out);
	my $ret = $node->psql('postgres', "DROP DATABASE $name",
		stdout => \$stdout, stderr => \$stderr,
		timeout => $PostgreSQL::Test::Utils::timeout_default, timed_out => \$timed_out);
	return ($timed_out ? "timed out after $PostgreSQL::Test::Utils::timeout_default s" : $ret, $stderr);
}

ok(wait_for_launcher($node, 'waiting for CREATE EXTENSION pg_scribe'),
	'the launcher waits for the extension');
my ($ret, $stderr) = create_and_drop('scratch_waiting');
is($ret, 0, 'DROP DATABASE completes while the launcher waits for the extension')
  or diag($stderr);

$node->safe_psql('postgres', 'CREATE EXTENSION pg_scribe');
ok(wait_for_launcher($node, 'running'), 'the launcher runs');
($ret, $stderr) = create_and_drop('scratch_running');
is($ret, 0, 'DROP DATABASE completes while the launcher runs') or diag($stderr);

$node->stop;
done_testing();
