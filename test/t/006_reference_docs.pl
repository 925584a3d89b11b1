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

$node->stop;
done_testing();
