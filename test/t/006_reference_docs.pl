# docs/reference.md documents every public SQL function and every setting; META.json,
# LICENSE and the README's links agree with the code and the docs.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Utils;
use ScribeTest;
use Test::More;
use Encode qw(decode);
use JSON::PP;

my $source = $ENV{SCRIBE_SOURCE_DIR} // "$FindBin::Bin/../..";
my $reference = slurp_file("$source/docs/reference.md");
my $readme = slurp_file("$source/README.md");

# META.json (PGXN) parses, and describes the version the control file installs
my ($default_version) = slurp_file("$source/pg_scribe.control") =~ /^default_version = '([^']+)'/m
  or die 'pg_scribe.control: no default_version';
my $meta = eval { JSON::PP->new->decode(slurp_file("$source/META.json")) };
ok($meta, 'META.json parses as JSON') or diag($@);
is($meta->{version}, $default_version, "META.json's version is the control file's default_version");
is($meta->{provides}{pg_scribe}{version}, $default_version, "META.json provides pg_scribe $default_version");
is($meta->{provides}{pg_scribe}{file}, "pg_scribe--$default_version.sql", "META.json names the install script of $default_version");
is($meta->{license}, 'postgresql', 'META.json names the PostgreSQL License');
like(slurp_file("$source/LICENSE"), qr/Permission to use, copy, modify, and distribute this software/,
	'LICENSE holds the PostgreSQL License');

# the README is the guide: it links to the reference instead of repeating its tables
like($readme, qr/^make test\b/m, "the README gives the test command (.ci/run runs it)");
unlike($readme, qr/^\| *(Function|Setting|Table) *\|/m, 'the README repeats no reference table');

# every relative link of the README and docs/*.md reaches a file, and its #anchor a heading
sub heading_anchors
{
	my ($text) = @_;
	my (%seen, %anchors);
	$text =~ s/^```.*?^```//gms;
	for my $heading ($text =~ /^#{1,6} +(.+?) *$/mg)
	{
		# GitHub's rule: lower case, punctuation dropped, spaces to hyphens, -N for repeats
		my $slug = lc $heading;
		$slug =~ s/[^\w\- ]//g;
		$slug =~ s/ /-/g;
		my $n = $seen{$slug}++;
		$anchors{ $n ? "$slug-$n" : $slug } = 1;
	}
	return \%anchors;
}
for my $doc ('README.md', map { s{^.*/docs/}{docs/}r } glob("$source/docs/*.md"))
{
	my $text = decode('UTF-8', slurp_file("$source/$doc"));
	$text =~ s/^```.*?^```//gms;
	my ($dir) = $doc =~ m{^(.*/)?}s;
	$dir //= '';
	my @broken;
	while ($text =~ /\]\(([^)\s]+)\)/g)
	{
		my $link = $1;
		next if $link =~ /^[a-z]+:/;
		my ($file, $anchor) = $link =~ /^([^#]*)(?:#(.*))?$/;
		my $target = $file eq '' ? $doc : "$dir$file";
		1 while $target =~ s{[^/]+/\.\./}{};
		if (!-e "$source/$target") { push @broken, $link; next }
		next unless defined $anchor && $target =~ /\.md$/;
		push @broken, $link
		  unless heading_anchors(decode('UTF-8', slurp_file("$source/$target")))->{$anchor};
	}
	is(join(', ', @broken), '', "the links of $doc reach their files and headings");
}

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
	$row{ ($who =~ /(PUBLIC|scribe_app|scribe_monitor|scribe_admin|nobody)/)[0] // $who } = $what if defined $what;
}
$node->safe_psql('postgres', 'CREATE ROLE regress_nobody');
for my $who ('PUBLIC', 'scribe_app', 'scribe_monitor')
{
	my $role = $who eq 'PUBLIC' ? 'regress_nobody' : $who;
	my $documented = join ',', sort map { s/\(.*//r } ($row{$who} =~ /`(\w+\()/g);
	my $granted = $node->safe_psql('postgres', qq{
		SELECT string_agg(DISTINCT p.proname, ',' ORDER BY p.proname) FROM pg_proc p
		WHERE p.pronamespace = 'scribe'::regnamespace AND has_function_privilege('$role', p.oid, 'EXECUTE')
		  AND ('$who' = 'PUBLIC' OR NOT has_function_privilege('regress_nobody', p.oid, 'EXECUTE'))});
	is($granted, $documented, "the functions $who may execute are those the reference's matrix lists");
}
is($node->safe_psql('postgres', q{
	SELECT string_agg(p.proname, ',' ORDER BY p.proname) FROM pg_proc p
	WHERE p.pronamespace = 'scribe'::regnamespace
	  AND has_function_privilege('scribe_admin', p.oid, 'EXECUTE') <> (p.proname !~ '^_')}), '',
	'scribe_admin may execute every function that is not internal, and no internal one');
is($node->safe_psql('postgres', q{
	SELECT string_agg(p.proname, ',' ORDER BY p.proname) FROM pg_proc p, pg_roles r
	WHERE p.pronamespace = 'scribe'::regnamespace AND p.proname ~ '^_'
	  AND has_function_privilege(r.oid, p.oid, 'EXECUTE') AND NOT r.rolsuper}), '',
	'no role but superusers may execute an internal function');
is($node->safe_psql('postgres', q{
	SELECT pg_has_role('pg_monitor', 'scribe_monitor', 'MEMBER'), pg_has_role('scribe_admin', 'scribe_app', 'MEMBER'),
	       pg_has_role('scribe_admin', 'scribe_monitor', 'MEMBER')}), 't|t|t',
	'the memberships the matrix states: pg_monitor has scribe_monitor; scribe_admin has scribe_app and scribe_monitor');
my @relations = ($row{scribe_monitor} =~ /`(\w+)`(?!\()/g);
my $readable = $node->safe_psql('postgres', q{
	SELECT COALESCE(string_agg(c.relname, ',' ORDER BY c.relname), '') FROM pg_class c
	WHERE c.relnamespace = 'scribe'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm') AND NOT c.relispartition
	  AND has_table_privilege('pg_monitor', c.oid, 'SELECT')});
is($readable, join(',', sort grep { !/^scribe_|^pg_monitor$/ } @relations),
	"the tables pg_monitor may read are those the reference's matrix lists");

$node->stop;
done_testing();
