# The application's side, as an application meets it: on a primary and a
# logical replica, login roles granted scribe_app and nothing else run
#  - the README's application examples (the SQL blocks marked
#    <!-- app-example -->, in order, with psql; those marked
#    <!-- app-example replica --> on the replica), after its DBA set-up
#    (<!-- dba-example -->) ran as a superuser on both nodes;
#  - test/app/family_archive.py, a family-archive client in Python
#    (Debian's psycopg): two owners submitting and reading, each blind to the
#    other, completion by NOTIFY and by a job taken with a waiting claim,
#    waiting consumers in separate processes with one killed holding a lease,
#    the cache with a parameterised loader and trigger invalidation, rate
#    limiting, read-your-writes on the replica.
# Both wait for events only; PostgreSQL::Test::Utils::timeout_default bounds
# each wait (a hang guard).
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";
use File::Copy;
use IPC::Run;
use PostgreSQL::Test::Utils;
use ScribeTest;
use Test::More;

my $source = $ENV{SCRIBE_SOURCE_DIR} // "$FindBin::Bin/../..";
my $timeout = $PostgreSQL::Test::Utils::timeout_default;
my $primary = scribe_node('primary', allows_streaming => 'logical',
	conf => "scribe.min_workers = 1\nscribe.max_workers = 2\n");
my $replica = scribe_node('replica');
$primary->start;
$replica->start;

# The SQL blocks of the README that follow a marker <!-- $kind... -->, in
# order, as [options, sql]
sub readme_blocks
{
	my ($kind) = @_;
	my $readme = slurp_file("$source/README.md");
	my @blocks;
	while ($readme =~ /^<!-- \Q$kind\E( [\w ]+)? -->\n```sql\n(.*?)^```$/msg)
	{
		push @blocks, [ $1 // '', $2 ];
	}
	return @blocks;
}

my @dba = readme_blocks('dba-example');
my @app = readme_blocks('app-example');
is(scalar @dba, 1, "the README's Getting started shows the DBA how to make an application role");
cmp_ok(scalar @app, '>=', 8, 'and marks its application examples (' . scalar(@app) . ' blocks)');
my ($app_role) = $dba[0][1] =~ /^CREATE ROLE (\w+) LOGIN/m
  or BAIL_OUT("the README's DBA example makes no LOGIN role");

# --- the set-up a DBA does, on both nodes: the README's, and the client's role
for my $node ($primary, $replica)
{
	$node->safe_psql('postgres', 'CREATE EXTENSION pg_scribe');
	$node->safe_psql('postgres', $dba[0][1]);
	$node->safe_psql('postgres', q{
		CREATE ROLE famapp LOGIN;
		GRANT scribe_app TO famapp;
		CREATE SCHEMA archive AUTHORIZATION famapp;});
	is($node->safe_psql('postgres', qq{
		SELECT string_agg(b.rolname, ',' ORDER BY b.rolname) FROM pg_auth_members m JOIN pg_roles b ON b.oid = m.roleid
		WHERE m.member IN ('$app_role'::regrole, 'famapp'::regrole)}),
		'scribe_app,scribe_app', $node->name . ": $app_role and famapp are granted scribe_app and no other role");
	# the client's migration, run as the client's role
	my ($out, $err) = ('', '');
	$node->psql('postgres', slurp_file("$source/test/app/schema.sql"), extra_params => [ '-U', 'famapp' ],
		on_error_stop => 1, stdout => \$out, stderr => \$err);
	unlike($err, qr/ERROR/, $node->name . ': the client\'s tables made by its own role') or diag($err);
}
# the other roles the README's examples share a queue with, made by a DBA
my %grantees = map { $_ => 1 } map { $_->[1] =~ /queue_grant\('[^']*', '(\w+)'/g } @app;
$primary->safe_psql('postgres', "CREATE ROLE $_ LOGIN; GRANT scribe_app TO $_;") for sort keys %grantees;
$primary->safe_psql('postgres', q{SELECT scribe.replication_publish(ARRAY['archive.albums']::regclass[])});
$replica->safe_psql('postgres', "SELECT scribe.replication_subscribe('" . $primary->connstr . " dbname=postgres')");
$replica->wait_for_subscription_sync($primary, 'scribe');

# --- the README's application examples, in one psql session as its role
# (\connect to the replica for the blocks marked so, and back), in a folder
# holding the scan they read
my $dir = PostgreSQL::Test::Utils::tempdir();
copy("$source/test/fixtures/scans/letter-clean.png", "$dir/1952-letter.png") or die "copy: $!";
my %conninfo = (primary => $primary->connstr . " dbname=postgres user=$app_role",
	replica => $replica->connstr . " dbname=postgres user=$app_role");
my $script = '';
my $on = 'primary';
for my $block (@app)
{
	my ($options, $sql) = @$block;
	my $node = $options =~ /\breplica\b/ ? 'replica' : 'primary';
	$script .= "\\connect \"$conninfo{$node}\"\n" if $node ne $on;
	$on = $node;
	$script .= "\\echo -- README block (on the $node)\n$sql";
}
PostgreSQL::Test::Utils::append_to_file("$dir/readme.sql", $script);
my ($out, $err) = ('', '');
my $ok = IPC::Run::run(
	[ 'psql', '-X', '-v', 'ON_ERROR_STOP=1', '-v', 'VERBOSITY=verbose', '-d', $conninfo{primary},
		'-f', "$dir/readme.sql" ],
	'>', \$out, '2>', \$err, init => sub { chdir $dir or die "chdir $dir: $!" });
note($out);
ok($ok, "the README's application examples run as $app_role, a role with only scribe_app")
  or diag($err);
unlike($err, qr/ERROR|WARNING/, 'with no error or warning') or diag($err);
like($out, qr/Asynchronous notification "scribe_documents" with payload "\{"status": "done", "document_id": \d+\}"/,
	'LISTEN scribe_documents heard the document finish');

# --- the family archive: a real client, as famapp
my %client = (primary => $primary->connstr . ' dbname=postgres user=famapp',
	replica => $replica->connstr . ' dbname=postgres user=famapp');
($out, $err) = ('', '');
$ok = IPC::Run::run(
	[ '/usr/bin/python3', "$source/test/app/family_archive.py", '--primary', $client{primary},
		'--replica', $client{replica}, '--fixtures', "$source/test/fixtures", '--timeout', $timeout ],
	'>', \$out, '2>', \$err);
note($out);
ok($ok, 'test/app/family_archive.py passes every check as famapp, a role with only scribe_app')
  or diag("$out\n$err");
like($out, qr/^all checks passed$/m, 'and says so');

$replica->stop;
$primary->stop;
done_testing();
