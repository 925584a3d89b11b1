#!/usr/bin/perl
# Read-your-writes tries for test/bench/replication.sh: one psql session on
# the primary, one on the replica.  Each try inserts a row on the primary and
# takes scribe.replication_commit_lsn(); then calls ryw_try() on the replica, which reads
# the row, waits with scribe.replication_wait_lsn() (timed by the server's clock)
# and reads it again.
#
# Prints one line per try: "wait_ms found_before found_after" (1 or 0).
#
# Usage: replication_ryw.pl PSQL PRIMARY_PORT REPLICA_PORT RUN TRIES
# (RUN: a number that no other run of the table uses)
use strict;
use warnings;

use IPC::Open2;

my ($psql, $primary_port, $replica_port, $run, $tries) = @ARGV;
die "usage: $0 PSQL PRIMARY_PORT REPLICA_PORT RUN TRIES\n" unless defined $tries;

my $marker = 0;

# A psql session on the server at $port: (pid, reader, writer)
sub session
{
	my ($port) = @_;
	my ($out, $in);
	my $pid = open2($out, $in, $psql, '-X', '-q', '-At', '-h', '127.0.0.1', '-p', $port,
		'-U', 'postgres', '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-f', '-');
	$in->autoflush(1);
	return { pid => $pid, out => $out, in => $in };
}

# Run $sql in session $s; returns its output lines
sub query
{
	my ($s, $sql) = @_;
	$marker++;
	print { $s->{in} } "$sql\n\\echo __done_$marker\n";
	my @lines;
	while (defined(my $line = readline($s->{out})))
	{
		chomp $line;
		return @lines if $line eq "__done_$marker";
		push @lines, $line;
	}
	die "psql on port ended early\n";
}

my $primary = session($primary_port);
my $replica = session($replica_port);
for my $try (1 .. $tries)
{
	my ($lsn) = query($primary,
		"INSERT INTO ryw_rows (run, try) VALUES ($run, $try);\nSELECT scribe.replication_commit_lsn();");
	# one statement: the read before the wait, the wait, the read after it,
	# each statement of the function with a snapshot of its own
	my ($row) = query($replica, "SELECT ryw_try('$lsn', $run, $try);");
	print "$row\n";
}
for my $s ($primary, $replica)
{
	close $s->{in};
	waitpid $s->{pid}, 0;
}
