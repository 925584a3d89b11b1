# Helpers for pg_scribe's Perl TAP tests, on top of PostgreSQL::Test::Cluster.
package ScribeTest;

use strict;
use warnings;

use Exporter 'import';
use IPC::Run;
use FindBin;
use POSIX ':sys_wait_h';
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

our @EXPORT = qw(scribe_node scribe_session wait_until wait_for_count launcher_activity
  wait_for_launcher wait_for_launcher_asleep launcher_restarted workers_alive wait_for_workers
  wait_until_drained reload_settings start_http_server http_requests ocr_engine_of ocr_cer
  start_redis start_s3rver rss_anon backend_memory_growth describe_scribe);

# Tests wait for events, never for durations: each wait below gives up only
# after $PostgreSQL::Test::Utils::timeout_default seconds (PG_TEST_TIMEOUT_DEFAULT)
# without the event, a bound that catches a hang, not a slow machine.

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

# A background psql session of $node (PostgreSQL::Test::BackgroundPsql)
# whose timeout applies to each query, not to the session's whole life: a
# session that lives through a long test must not time out for it
sub scribe_session
{
	my ($node, %params) = @_;
	my $session = $node->background_psql($params{dbname} // 'postgres', %params);
	$session->set_query_timer_restart();
	return $session;
}

# Call $check until it returns true; true then, false after timeout_default
# seconds of false
sub wait_until
{
	my ($check) = @_;
	my $deadline = time + $PostgreSQL::Test::Utils::timeout_default;
	while (1)
	{
		return 1 if $check->();
		return 0 if time > $deadline;
		usleep(100_000);
	}
}

# Wait until the count $sql returns on $node reaches $want (default 0).
# It waits as long as the count keeps changing, and gives up (false) only
# after timeout_default seconds without a change: how much work is left
# decides how long that takes, not a deadline.
sub wait_for_count
{
	my ($node, $sql, $want) = @_;
	$want //= 0;
	my $last;
	my $changed_at = time;
	while (1)
	{
		my $n = $node->safe_psql('postgres', $sql);
		return 1 if $n == $want;
		if (!defined $last || $n != $last)
		{
			($last, $changed_at) = ($n, time);
		}
		elsif (time - $changed_at > $PostgreSQL::Test::Utils::timeout_default)
		{
			diag("$sql: still $n after $PostgreSQL::Test::Utils::timeout_default s without a change");
			return 0;
		}
		usleep(100_000);
	}
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

# Wait until the launcher shows activity $activity and sleeps on its latch
# (wait event Extension): it has finished a cycle in that state.  Returns
# its pid, or fails the test and returns undef.
sub wait_for_launcher_asleep
{
	my ($node, $activity) = @_;
	if (!$node->poll_query_until('postgres',
			"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'pg_scribe launcher' "
			  . "AND query = '$activity' AND wait_event_type = 'Extension'"))
	{
		fail("launcher sleeps showing '$activity'");
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

# How many pool workers pg_stat_activity shows
sub workers_alive
{
	my ($node) = @_;
	return $node->safe_psql('postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_scribe worker'");
}

# Wait until exactly $n pool workers run; true on success
sub wait_for_workers
{
	my ($node, $n) = @_;
	return $node->poll_query_until('postgres',
		"SELECT count(*) = $n FROM pg_stat_activity WHERE backend_type = 'pg_scribe worker'");
}

# Wait until a queue has no unfinished jobs, for as long as it keeps
# draining; true on success
sub wait_until_drained
{
	my ($node, $queue) = @_;
	return wait_for_count($node, qq{
		SELECT count(*) FROM scribe.jobs j JOIN scribe.queues q USING (queue_id)
		WHERE q.name = '$queue'});
}

# Set scribe.* settings of $node with ALTER SYSTEM, reload, and wait until
# new sessions see them (values as SHOW prints them: '1s', not '1000')
sub reload_settings
{
	my ($node, %settings) = @_;
	for my $name (sort keys %settings)
	{
		$node->safe_psql('postgres', "ALTER SYSTEM SET scribe.$name = '$settings{$name}'");
	}
	$node->safe_psql('postgres', 'SELECT pg_reload_conf()');
	my $check = join ' AND ',
	  map { "current_setting('scribe.$_') = '$settings{$_}'" } sort keys %settings;
	$node->poll_query_until('postgres', "SELECT $check")
	  or die "settings not applied: $check";
}

# A normalised description of the installed pg_scribe in database $dbname
# of $node (default postgres), one fact per line, sorted: the schema and
# its objects, the extension's members and grants, the built-in rows (see
# test/perl/describe_scribe.sql)
sub describe_scribe
{
	my ($node, $dbname) = @_;
	my $source = $ENV{SCRIBE_SOURCE_DIR} // "$FindBin::Bin/../..";
	return $node->safe_psql($dbname // 'postgres', slurp_file("$source/test/perl/describe_scribe.sql"));
}

# The pid of the OCR engine of backend or worker $pid (its child), or undef
sub ocr_engine_of
{
	my ($pid) = @_;
	my $children = eval { slurp_file("/proc/$pid/task/$pid/children") } // '';
	my ($engine) = split ' ', $children;
	return $engine;
}

# Character error rate of OCR text $hyp against the reference text $ref, by
# the benchmark's tool (quotes, dashes and whitespace folded)
sub ocr_cer
{
	my ($ref, $hyp) = @_;
	my $dir = PostgreSQL::Test::Utils::tempdir();
	for my $text ([ 'ref', $ref ], [ 'hyp', $hyp ])
	{
		open my $fh, '>', "$dir/$text->[0].txt" or die "$dir: $!";
		print $fh $text->[1];
		close $fh;
	}
	my ($out, $err);
	IPC::Run::run([ "$ENV{SCRIBE_SOURCE_DIR}/test/bench/ocr/cer", "$dir/ref.txt", "$dir/hyp.txt" ],
		'>', \$out, '2>', \$err)
	  or die "cer failed: $err";
	chomp $out;
	return $out;
}

# Private memory of a process (RssAnon: shared buffers do not count), in kB
sub rss_anon
{
	my ($pid) = @_;
	my $status = slurp_file("/proc/$pid/status");
	return $status =~ /^RssAnon:\s+(\d+) kB/m ? $1 : die "no RssAnon for $pid";
}

# Run $warmup, then $sql, in one session of $node; returns the backend's
# private memory (kB) before and after $sql
sub backend_memory_growth
{
	my ($node, $warmup, $sql) = @_;
	my $session = scribe_session($node);
	my $pid = $session->query_safe('SELECT pg_backend_pid()');
	$session->query_safe($warmup);
	my $before = rss_anon($pid);
	$session->query_safe($sql);
	my $after = rss_anon($pid);
	$session->quit;
	return ($before, $after);
}

# Start redis-server on 127.0.0.1:$port without persistence, logging into
# $dir, and wait until it answers; returns its pid.  Options: password =>
# the password Redis requires.
sub start_redis
{
	my ($dir, $port, %opts) = @_;
	require IO::Socket::INET;
	my @auth = defined $opts{password} ? ('--requirepass', $opts{password}) : ();
	my $pid = fork();
	die "fork: $!" unless defined $pid;
	if ($pid == 0)
	{
		open STDOUT, '>>', "$dir/redis.log" or die;
		open STDERR, '>&', \*STDOUT or die;
		exec 'redis-server', '--port', $port, '--bind', '127.0.0.1', '--save', '',
		  '--appendonly', 'no', '--dir', $dir, '--daemonize', 'no', @auth
		  or die "exec redis-server: $!";
	}
	my $deadline = time + $PostgreSQL::Test::Utils::timeout_default;
	while (time < $deadline)
	{
		my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port);
		if ($s)
		{
			print $s "AUTH $opts{password}\r\n" if defined $opts{password};
			print $s "PING\r\n";
			my $line = <$s>;
			$line = <$s> if defined $opts{password} && defined $line && $line =~ /^\+OK/;
			return $pid if defined $line && $line =~ /PONG/;
		}
		die "redis-server exited: " . slurp_file("$dir/redis.log") if waitpid($pid, WNOHANG) == $pid;
		usleep(50_000);
	}
	kill 'KILL', $pid;
	die "redis-server did not start: " . slurp_file("$dir/redis.log");
}

# Start the S3-compatible test server (test/node/s3-server.js: s3rver, with
# AWS Signature V4 checked) on 127.0.0.1:$port, keeping objects under
# $dir/data and logging into $dir/s3rver.log, and wait until it answers;
# returns its pid.  Options: bucket (created at start, default scribe),
# access_key, secret_key (the one key pair it accepts), region (default
# us-east-1).
sub start_s3rver
{
	my ($dir, $port, %opts) = @_;
	require IO::Socket::INET;
	my $source = $ENV{SCRIBE_SOURCE_DIR} // "$FindBin::Bin/../..";
	my $script = "$source/test/node/s3-server.js";
	die "$script: missing (run test/bin/install-deps)" unless -e $script;
	mkdir "$dir/data" or die "mkdir $dir/data: $!" unless -d "$dir/data";
	my $pid = fork();
	die "fork: $!" unless defined $pid;
	if ($pid == 0)
	{
		open STDOUT, '>>', "$dir/s3rver.log" or die;
		open STDERR, '>&', \*STDOUT or die;
		exec 'node', $script, '--port', $port, '--directory', "$dir/data",
		  '--bucket', $opts{bucket} // 'scribe',
		  '--access-key', $opts{access_key}, '--secret-key', $opts{secret_key},
		  '--region', $opts{region} // 'us-east-1'
		  or die "exec node: $!";
	}
	my $deadline = time + $PostgreSQL::Test::Utils::timeout_default;
	while (time < $deadline)
	{
		my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port);
		if ($s)
		{
			print $s "GET / HTTP/1.0\r\n\r\n";
			my $line = <$s>;
			return $pid if defined $line && $line =~ m{^HTTP/1\.[01] \d{3}};
		}
		die "s3-server exited: " . slurp_file("$dir/s3rver.log") if waitpid($pid, WNOHANG) == $pid;
		usleep(100_000);
	}
	kill 'TERM', $pid;
	die "s3-server did not start: " . slurp_file("$dir/s3rver.log");
}

# Start an HTTP/1.1 server on a free loopback port, in a child process, that
# answers with $routes->{$path}->($request_number_for_path, $body): a list
# (status, body, [hold], [extra headers]).  With hold, the server keeps the
# reply back until the client hangs up (its timeout), or hold seconds pass:
# a request that must time out does, and the next one finds the server free
# however slow the machine.  Each request is appended to $log as "METHOD
# PATH BODY" when it arrives.  Returns (port, pid).
sub start_http_server
{
	my ($routes, $log) = @_;
	require IO::Socket::INET;
	my $listener = IO::Socket::INET->new(
		LocalAddr => '127.0.0.1',
		LocalPort => 0,
		Proto => 'tcp',
		Listen => 16,
		ReuseAddr => 1) or die "cannot listen: $!";
	my $port = $listener->sockport;
	my $pid = fork();
	die "fork: $!" unless defined $pid;
	if ($pid == 0)
	{
		require IO::Select;
		# a client that hung up must not kill the server
		$SIG{PIPE} = 'IGNORE';
		my %count;
		while (my $client = $listener->accept)
		{
			local $/ = "\r\n";
			my $request_line = <$client>;
			next unless defined $request_line;
			my ($method, $path) = split / /, $request_line;
			my $length = 0;
			while (my $line = <$client>)
			{
				last if $line eq "\r\n";
				$length = $1 if $line =~ /^content-length:\s*(\d+)/i;
			}
			my $body = '';
			read($client, $body, $length) if $length;
			open my $fh, '>>', $log or die;
			print $fh "$method $path $body\n";
			close $fh;
			my $route = $routes->{$path} // sub { (404, "no route $path") };
			my ($status, $reply, $hold, $headers) = $route->(++$count{$path}, $body);
			# the request is read: the socket turns readable when the client hangs up
			IO::Select->new($client)->can_read($hold) if $hold;
			$headers //= '';
			print $client "HTTP/1.1 $status X\r\nContent-Type: text/plain\r\n$headers"
			  . "Content-Length: " . length($reply) . "\r\nConnection: close\r\n\r\n$reply";
			close $client;
		}
		exit 0;
	}
	close $listener;
	return ($port, $pid);
}

# The requests an HTTP server started by start_http_server logged
sub http_requests
{
	my ($log) = @_;
	return () unless -e $log;
	return split /\n/, slurp_file($log);
}

1;
