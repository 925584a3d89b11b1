# The launcher vacuums scribe.jobs itself as jobs churn through it, so that
# claims do not step over the dead index entries of finished jobs until
# autovacuum comes by (off here, to show who does it).
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Utils;
use ScribeTest;
use Test::More;

my $node = scribe_node('vacuum', conf => <<'CONF');
autovacuum = off
scribe.max_workers = 0
scribe.heartbeat_interval = 0
CONF
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION pg_scribe;
	SELECT scribe.queue_create('churn', consumer => 'clients', retention => '0');
	CREATE PROCEDURE public.churn(batches int) LANGUAGE plpgsql AS $$
	BEGIN
	    FOR b IN 1..batches LOOP
	        PERFORM count(*) FROM scribe.send_batch('churn', array_fill('{}'::jsonb, ARRAY[5000]));
	        COMMIT;
	        FOR k IN 1..5 LOOP
	            PERFORM scribe.ack(c.job_id, c.lease) FROM scribe.claim('churn', 1000) c;
	            COMMIT;
	        END LOOP;
	    END LOOP;
	END $$;
	CALL public.churn(6);
});

ok($node->poll_query_until('postgres',
		q{SELECT vacuum_count > 0 FROM pg_stat_user_tables WHERE relid = 'scribe.jobs'::regclass}),
	'the launcher vacuumed scribe.jobs after 30,000 jobs went through it');
is($node->safe_psql('postgres',
		q{SELECT autovacuum_count FROM pg_stat_user_tables WHERE relid = 'scribe.jobs'::regclass}),
	'0', 'autovacuum did not');

# Buffers one claim reads on a fresh batch
sub claim_buffers
{
	my $plan = $node->safe_psql('postgres', q{
		EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
		SELECT job_id FROM scribe.jobs
		WHERE queue_id = (SELECT queue_id FROM scribe.queues WHERE name = 'churn')
		  AND run_at <= now() AND lease_until IS NULL
		ORDER BY priority DESC, run_at, job_id LIMIT 1 FOR SHARE SKIP LOCKED});
	my ($buffers) = $plan =~ /Buffers: shared hit=(\d+)/;
	return $buffers // 0;
}

# once the launcher has vacuumed after the churn (it may take another pass:
# wait for it, up to the test's timeout), a claim reads a few pages, not the
# dead region of 30,000 jobs
$node->safe_psql('postgres',
	q{SELECT count(*) FROM scribe.send_batch('churn', array_fill('{}'::jsonb, ARRAY[1000]))});
my $buffers;
wait_until(sub { $buffers = claim_buffers(); $buffers < 500 });
cmp_ok($buffers, '<', 500, "a claim reads $buffers buffers after the churn");

$node->stop;
done_testing();
