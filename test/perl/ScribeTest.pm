# Helpers for pg_scribe's Perl TAP tests, on top of PostgreSQL::Test::Cluster.
package ScribeTest;

use strict;
use warnings;

use Exporter 'import';
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

our @EXPORT = qw(scribe_node launcher_activity wait_for_launcher launcher_restarted);

# A new node whose server preloads pg_scribe, with extra postgresql.conf lines
sub scribe_node
{
	my ($name, %opts) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init(allows_streaming => $opts{allows_streaming} // 0);
	$node->append_conf('postgresql.conf',
		"shared_preload_libraries = 'pg_scribe'\n" . ($opts{conf} // ''));
	return $node;
}

# The launcher as pg_stat_activity shows it: (pid, datname, activity), or ()
sub launcher_activity
{
	my ($node) = @_;
	my $row = $node->safe_psql('postgres',
		"SELECT pid, coalesce(datname, ''), query FROM pg_stat_activity "
		  . "WHERE backend_type = 'pg_scribe launcher'");
	return () if $row eq '';
	return split /\|/, $row, 3;
}

# Wait until a launcher shows activity $activity (and, if given, another pid
# than $old_pid); returns its pid, or fails the test and returns undef
sub wait_for_launcher
{
	my ($node, $activity, $old_pid) = @_;
	my $where = "backend_type = 'pg_scribe launcher' AND query = '$activity'";
	$where .= " AND pid <> $old_pid" if defined $old_pid;
	if (!$node->poll_query_until('postgres', "SELECT count(*) = 1 FROM pg_stat_activity WHERE $where"))
	{
		fail("launcher shows '$activity'");
		return undef;
	}
	my ($pid) = launcher_activity($node);
	return $pid;
}

# How many times the postmaster reported the launcher exiting, in the log
sub launcher_restarted
{
	my ($node) = @_;
	my $log = slurp_file($node->logfile);
	my @exits = ($log =~ /background worker "pg_scribe launcher" \(PID \d+\) exited/g);
	return scalar @exits;
}

1;
