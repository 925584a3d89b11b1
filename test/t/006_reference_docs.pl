# docs/reference.md documents every public SQL function and every setting.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Utils;
use ScribeTest;
use Test::More;

my $source = $ENV{SCRIBE_SOURCE_DIR} // "$FindBin::Bin/../..";
my $reference = slurp_file("$source/docs/reference.md");

my $node = scribe_node('docs');
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_scribe');

my @functions = split /\n/, $node->safe_psql('postgres', q{
	SELECT DISTINCT p.proname FROM pg_proc p
	WHERE p.pronamespace = 'scribe'::regnamespace AND p.proname NOT LIKE '\_%'
	ORDER BY 1});
my @settings = split /\n/, $node->safe_psql('postgres',
	q{SELECT name FROM pg_settings WHERE name LIKE 'scribe.%' ORDER BY 1});
my @tables = split /\n/, $node->safe_psql('postgres', q{
	SELECT c.relname FROM pg_class c
	WHERE c.relnamespace = 'scribe'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm') AND NOT c.relispartition
	ORDER BY 1});

ok(@functions > 0 && @settings > 0, 'found functions and settings to check');
for my $f (@functions)
{
	like($reference, qr/scribe\.\Q$f\E\(/, "reference documents function scribe.$f()");
}
for my $s (@settings)
{
	like($reference, qr/`\Q$s\E`/, "reference documents setting $s");
}
for my $t (@tables)
{
	like($reference, qr/`scribe\.\Q$t\E`/, "reference documents table scribe.$t");
}

# the privilege matrix: who may execute what as CREATE EXTENSION leaves it
my ($matrix) = $reference =~ /^### Privileges\n.*?\n(\| Granted to .*?)\n\n/ms
  or die 'docs/reference.md: no privilege matrix under "### Privileges"';
my %row;
for my $line (split /\n/, $matrix)
{
	my (undef, $who, $what) = split /\s*\|\s*/, $line;
	$row{ ($who =~ /(PUBLIC|pg_monitor)/)[0] // $who } = $what if defined $what;
}
$node->safe_psql('postgres', 'CREATE ROLE regress_nobody');
for my $who ('PUBLIC', 'pg_monitor')
{
	my $role = $who eq 'PUBLIC' ? 'regress_nobody' : $who;
	my $documented = join ',', sort map { s/\(.*//r } ($row{$who} =~ /`(\w+\()/g);
	my $granted = $node->safe_psql('postgres', qq{
		SELECT string_agg(DISTINCT p.proname, ',' ORDER BY p.proname) FROM pg_proc p
		WHERE p.pronamespace = 'scribe'::regnamespace AND has_function_privilege('$role', p.oid, 'EXECUTE')
		  AND ('$who' = 'PUBLIC' OR NOT has_function_privilege('regress_nobody', p.oid, 'EXECUTE'))});
	is($granted, $documented, "the functions $who may execute are those the reference's matrix lists");
	my @relations = ($row{$who} =~ /`(\w+)`(?!\()/g);
	my $relations = join ',', sort @relations;
	my $readable = $node->safe_psql('postgres', qq{
		SELECT COALESCE(string_agg(c.relname, ',' ORDER BY c.relname), '') FROM pg_class c
		WHERE c.relnamespace = 'scribe'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm') AND NOT c.relispartition
		  AND has_table_privilege('$role', c.oid, 'SELECT')});
	is($readable, $relations, "the tables and views $who may read are those the reference's matrix lists");
}

$node->stop;
done_testing();
