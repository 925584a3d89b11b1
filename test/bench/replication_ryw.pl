#!/usr/bin/perl
# Read-your-writes tries for test/bench/replication.sh: one psql session on
# the primary, one on the replica.  Each try inserts a row on the primary and
# takes scribe.commit_lsn(); then, on the replica, waits for it (timed by the
# server's clock around the call) and reads the row.  With --no-wait the
# replica reads at once: the control, how often a read misses without it.
#
# Prints one line per try: "wait_ms found" (found 1 or 0).
#
# Usage: replication_ryw.pl PSQL PRIMARY_PORT REPLICA_PORT TRIES [--no-wait]
use strict;
use warnings;

use IPC::Open2;

my ($psql, $primary_port, $replica_port, $tries, $no_wait) = @ARGV;
die "usage: $0 PSQL PRIMARY_PORT REPLICA_PORT TRIES [--no-wait]\n" unless defined $tries;

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
my $run = time;
for my $try (1 .. $tries)
{
	my ($lsn) = query($primary,
		"INSERT INTO ryw_rows (run, try) VALUES ($run, $try);\nSELECT scribe.commit_lsn();");
	my $wait_ms = 0;
	unless ($no_wait)
	{
		my ($row) = query($replica,
			"SELECT ok, extract(epoch FROM t1 - t0) * 1000 FROM ("
			  . "SELECT clock_timestamp() AS t0, scribe.wait_for_lsn('$lsn') AS ok, clock_timestamp() AS t1 "
			  . "OFFSET 0) s;");
		my $ok;
		($ok, $wait_ms) = split /\|/, $row;
		die "wait_for_lsn returned $ok\n" unless $ok eq 't';
	}
	my ($found) = query($replica, "SELECT count(*) FROM ryw_rows WHERE run = $run AND try = $try;");
	printf "%.3f %d\n", $wait_ms, $found;
}
for my $s ($primary, $replica)
{
	close $s->{in};
	waitpid $s->{pid}, 0;
}
