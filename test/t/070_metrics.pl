# scribe.metrics() after a scripted workload: jobs acked, nacked and
# dead-lettered on a clients queue and on a workers queue, documents
# recognised, cache hits, misses and evictions with a real redis-server, a
# rate-limit rejection.  The exposition passes `promtool check metrics`, and
# its numbers match the tables and status functions they stand for.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use ScribeTest;
use Test::More;
use IPC::Run;

my $dir = PostgreSQL::Test::Utils::tempdir();
my $port = PostgreSQL::Test::Cluster::get_free_port();
my $redis = start_redis($dir, $port);
my $scans = "$ENV{SCRIBE_SOURCE_DIR}/test/fixtures/scans";

# calls Redis answers get a minute: one that timed out at the default 50 ms
# on a loaded machine would change the counts checked below
my $node = scribe_node('metrics', conf => <<"CONF");
scribe.min_workers = 1
scribe.max_workers = 1
scribe.cache_memory = 1MB
scribe.redis_url = 'redis://127.0.0.1:$port'
scribe.redis_command_timeout = '1min'
scribe.redis_connect_timeout = '1min'
scribe.ocr_cost_local = 0.0002
CONF
$node->start;

# Run SQL and return its output
sub sql { return $node->safe_psql('postgres', $_[0]) }

sql(q{
	CREATE EXTENSION pg_scribe;
	SELECT scribe.queue_create('app', consumer => 'clients', max_attempts => 2);
	SELECT scribe.queue_create('we"ird\q', consumer => 'clients');
	SELECT scribe.queue_create('work', max_attempts => 1, backoff_base => '0');
	CREATE FUNCTION job_ok(a jsonb) RETURNS int LANGUAGE sql AS 'SELECT 1';
	CREATE FUNCTION job_fail(a jsonb) RETURNS int LANGUAGE plpgsql AS 'BEGIN RAISE EXCEPTION ''no''; END';
});
ok(wait_for_workers($node, 1), 'the worker runs');

# a clients queue: 10 sent, 2 delayed, 4 acked, 2 dead-lettered, 1 nacked for a retry, 1 left in flight
sql(q{SELECT scribe.send('app', jsonb_build_object('i', i)) FROM generate_series(1, 10) i});
sql(q{SELECT scribe.send('app', '{}', delay => '1 hour') FROM generate_series(1, 2)});
sql(q{SELECT scribe.send('we"ird\q', '{}')});
sql(q{SELECT scribe.ack(job_id, lease) FROM scribe.claim('app', 4)});
sql(q{SELECT scribe.nack(job_id, lease, 'boom', retry => false) FROM scribe.claim('app', 2)});
sql(q{SELECT scribe.nack(job_id, lease, 'later', retry_in => '1 hour') FROM scribe.claim('app', 1)});
sql(q{SELECT count(*) FROM scribe.claim('app', 1)});

# a workers queue: 5 sql jobs succeed, 2 fail into the dead letters
sql(q{SELECT scribe.send('work', '{"function": "public.job_ok"}', kind => 'sql') FROM generate_series(1, 5)});
sql(q{SELECT scribe.send('work', '{"function": "public.job_fail"}', kind => 'sql') FROM generate_series(1, 2)});

# documents: a one-page and a two-page scan
sql(qq{
	SELECT scribe.document_submit(pg_read_binary_file('$scans/letter-clean.png'), owner => 'm');
	SELECT scribe.document_submit(pg_read_binary_file('$scans/list-two-pages.tif'), owner => 'm');
});
ok($node->poll_query_until('postgres', q{
	SELECT count(*) = 2 FROM scribe.documents WHERE status = 'done'}), 'the documents are recognised');
ok(wait_until_drained($node, 'work'), 'the workers queue is drained');

# cache: evictions from the 1 MB tier, hits in both tiers, misses
sql(q{SELECT count(*) FROM generate_series(1, 3000) i WHERE scribe.cache_set('k:' || i, repeat(md5(i::text), 20))});
sql(q{SELECT count(scribe.cache_get('k:' || i)) FROM generate_series(1, 3000) i});
sql(q{SELECT count(scribe.cache_get('absent:' || i)) FROM generate_series(1, 5) i});

# rate limiter: one allowed, two rejected
sql(q{SELECT allowed FROM scribe.rate_limit_take('metrics', 1, '1 hour')}) for 1 .. 3;

# the exposition, and promtool's verdict on it
my $text = sql('SELECT scribe.metrics()');
my $file = "$dir/metrics.txt";
open my $fh, '>', $file or die "$file: $!";
print $fh $text, "\n";
close $fh;
my ($stdout, $stderr);
my $valid = IPC::Run::run([ 'promtool', 'check', 'metrics' ], '<', $file, '>', \$stdout, '2>', \$stderr);
ok($valid, 'promtool check metrics accepts the exposition') or diag("$stdout$stderr");

# Parse the exposition: family types, and samples by "name{label=value,...}" (labels sorted)
my (%type, %sample, %seen_family);
my $duplicate = 0;
for my $line (split /\n/, $text)
{
	if ($line =~ /^# TYPE (\w+) (\w+)$/)
	{
		$duplicate++ if $seen_family{$1}++;
		$type{$1} = $2;
		next;
	}
	next if $line =~ /^#/;
	$line =~ /^(\w+)(?:\{(.*)\})? (\S+)$/ or die "bad sample line: $line";
	my ($name, $labels, $value) = ($1, $2 // '', $3);
	my %l;
	while ($labels =~ /(\w+)="((?:[^"\\]|\\.)*)"/g)
	{
		my ($label, $value) = ($1, $2);
		$l{$label} = $value =~ s/\\(.)/$1 eq 'n' ? "\n" : $1/gre;
	}
	$sample{ $name . '{' . join(',', map { "$_=$l{$_}" } sort keys %l) . '}' } = $value;
}
is($duplicate, 0, 'no family is declared twice');

# The value of a sample, by name and labels
sub metric
{
	my ($name, %labels) = @_;
	return $sample{ $name . '{' . join(',', map { "$_=$labels{$_}" } sort keys %labels) . '}' };
}

is($type{scribe_jobs_completed_total}, 'counter', 'completed jobs are a counter');
is($type{scribe_queue_jobs}, 'gauge', 'queue depths are a gauge');
is($type{scribe_job_wait_seconds}, 'histogram', 'wait time is a histogram');
is($type{scribe_ocr_page_seconds}, 'histogram', 'OCR seconds per page is a histogram');
is(metric('scribe_queue_jobs', queue => 'we"ird\q', state => 'ready'), 1,
	'a queue name with a quote and a backslash comes back through the label escaping');

# queue depths against scribe.queue_stats()
for my $row (split /\n/, sql(q{SELECT queue, ready, delayed, in_flight, dead FROM scribe.queue_stats() WHERE queue IN ('app', 'work')}))
{
	my ($q, @n) = split /\|/, $row;
	my @states = qw(ready delayed in_flight dead);
	is_deeply([ map { metric('scribe_queue_jobs', queue => $q, state => $_) } @states ], \@n,
		"depths of queue $q match queue_stats(): @n");
}
is(metric('scribe_queue_jobs', queue => 'app', state => 'delayed'), 3, 'app: 2 sent delayed, 1 nacked for later');
is(metric('scribe_queue_jobs', queue => 'app', state => 'in_flight'), 1, 'app: one job in flight');

# job counters against the archive and the dead letters (nothing was there before this server started)
for my $row (split /\n/, sql(q{
	SELECT q.name, COALESCE(k.kind, ''),
	       (SELECT count(*) FROM scribe.jobs_archive a WHERE a.queue_id = q.queue_id AND a.kind IS NOT DISTINCT FROM k.kind),
	       (SELECT count(*) FROM scribe.jobs_dead d WHERE d.queue_id = q.queue_id AND d.kind IS NOT DISTINCT FROM k.kind)
	FROM scribe.queues q CROSS JOIN (VALUES (NULL), ('sql'), ('ocr')) k(kind)
	WHERE (q.name, k.kind) IN (('work', 'sql'), ('ocr', 'ocr')) OR (q.name = 'app' AND k.kind IS NULL)}))
{
	my ($q, $kind, $archived, $dead) = split /\|/, $row;
	is(metric('scribe_jobs_completed_total', queue => $q, kind => $kind), $archived,
		"completed jobs of $q/$kind match the archive ($archived)");
	is(metric('scribe_jobs_dead_lettered_total', queue => $q, kind => $kind), $dead,
		"dead-lettered jobs of $q/$kind match the dead letters ($dead)");
	is(metric('scribe_job_wait_seconds_count', queue => $q), $archived, "wait histogram of $q counts $archived jobs")
	  if $q ne 'ocr' || $kind eq 'ocr';
}
is(metric('scribe_jobs_completed_total', queue => 'app', kind => ''), 4, 'app: 4 acked');
is(metric('scribe_jobs_failed_total', queue => 'app', kind => ''), 3, 'app: 3 failed attempts');
is(metric('scribe_jobs_failed_total', queue => 'work', kind => 'sql'), 2, 'work: 2 failed sql jobs');
is(metric('scribe_job_wait_seconds_bucket', queue => 'app', le => '+Inf'), 4, 'the +Inf bucket holds every job');
cmp_ok(metric('scribe_job_run_seconds_bucket', queue => 'work', le => '0.0001'), '<=',
	metric('scribe_job_run_seconds_bucket', queue => 'work', le => '214748.3648'), 'buckets are cumulative');
is(sql(q{SELECT completed_since_start || ' ' || failed_since_start || ' ' || dead_lettered_since_start
	FROM scribe.queue_status() WHERE queue = 'app'}), '4 3 2', 'queue_status shows the same totals');

# OCR against the ledger
for my $row (split /\n/, sql(q{
	SELECT m.method, count(l.*), COALESCE(sum(l.cost), 0), count(DISTINCT l.document_id)
	FROM (VALUES ('local'), ('cloud')) m(method) LEFT JOIN scribe.ocr_ledger l USING (method) GROUP BY m.method}))
{
	my ($method, $pages, $cost, $docs) = split /\|/, $row;
	is(metric('scribe_ocr_pages_total', method => $method), $pages, "OCR pages by $method match the ledger ($pages)");
	cmp_ok(abs(metric('scribe_ocr_cost_usd_total', method => $method) - $cost), '<', 1e-9,
		"OCR cost by $method matches the ledger ($cost)");
	is(metric('scribe_ocr_documents_total', method => $method), $docs, "OCR documents by $method ($docs)");
}
is(metric('scribe_ocr_pages_total', method => 'local'), 3, 'three pages recognised locally');
is(metric('scribe_ocr_page_seconds_count'), 3, 'the seconds of three pages');
my $page_seconds = sql(q{SELECT sum(seconds) FROM scribe.document_pages});
cmp_ok(abs(metric('scribe_ocr_page_seconds_sum') - $page_seconds), '<', 0.01,
	"seconds per page add up to the pages' seconds ($page_seconds)");

# cache, breaker, rate limiter, workers, node
for my $row (split /\n/, sql(q{SELECT tier, hits, misses, COALESCE(evictions::text, '') FROM scribe.cache_stats()}))
{
	my ($tier, $hits, $misses, $evictions) = split /\|/, $row;
	is(metric('scribe_cache_hits_total', tier => $tier), $hits, "$tier hits match cache_stats() ($hits)");
	is(metric('scribe_cache_misses_total', tier => $tier), $misses, "$tier misses match cache_stats() ($misses)");
	is(metric('scribe_cache_evictions_total', tier => $tier), $evictions eq '' ? undef : $evictions,
		"$tier evictions match cache_stats()");
}
cmp_ok(metric('scribe_cache_evictions_total', tier => 'l1'), '>', 0, 'the 1 MB tier evicted');
cmp_ok(metric('scribe_cache_hits_total', tier => 'l2'), '>', 0, 'Redis served the evicted values');
is(metric('scribe_cache_misses_total', tier => 'l2'), 5, 'five keys missed in both tiers');
is(metric('scribe_redis_breaker_state', state => 'closed'), 1, 'the breaker is closed');
is(metric('scribe_redis_breaker_state', state => 'open'), 0, 'and not open');
is(metric('scribe_rate_limit_rejected_total'), 2, 'two rate-limit rejections');
is(metric('scribe_rate_limit_allowed_total'), 1, 'one allowed');
is(metric('scribe_workers', state => 'idle') + metric('scribe_workers', state => 'busy'), 1, 'one worker');
is(metric('scribe_workers_max'), 1, 'of at most one');
is(metric('scribe_launcher_up'), 1, 'the launcher is up');
my $name = sql(q{SELECT node_name FROM scribe._library_status()});
is(metric('scribe_node_info', node => $name, role => 'primary'), 1, 'the node is a primary');
ok($node->poll_query_until('postgres', q{SELECT count(*) > 0 FROM scribe.heartbeat}), 'a heartbeat');
like(sql('SELECT scribe.metrics()'), qr/^scribe_heartbeat_age_seconds\{node="\Q$name\E"\} [0-9.e-]+$/m,
	'its age is exposed');
is(metric('scribe_policy_consecutive_failures', policy => 'scribe.history', kind => 'sql'), 0,
	'the built-in policy has not failed');

# pg_monitor may scrape and read the views; PUBLIC may not
sql(q{CREATE ROLE watcher LOGIN IN ROLE pg_monitor; CREATE ROLE nobody LOGIN});
like($node->safe_psql('postgres', 'SELECT scribe.metrics()', extra_params => [ '-U', 'watcher' ]),
	qr/^# TYPE scribe_queue_jobs gauge$/m, 'pg_monitor scrapes');
is($node->safe_psql('postgres', q{SELECT (SELECT count(*) FROM scribe.queue_status()) > 0,
	(SELECT count(*) FROM scribe.cache_status()), (SELECT count(*) >= 0 FROM scribe.worker_status())},
	extra_params => [ '-U', 'watcher' ]), 't|2|t', 'and reads the views');
my ($rc, $out, $err) = $node->psql('postgres', 'SELECT scribe.metrics()', extra_params => [ '-U', 'nobody' ]);
like($err, qr/permission denied for function metrics/, 'other roles may not');

$node->stop;
kill 'KILL', $redis;
done_testing();
