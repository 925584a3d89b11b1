# No memory grows with the number of jobs: a backend that sends, claims and
# acks 20,000 jobs, a backend that loads 20,000 cache keys through
# parameterised loaders (distinct keys, then one key deleted and loaded
# again each time), and a worker that runs 20,000, keep their private memory
# (RssAnon: shared buffers do not count) within a small bound; so do an OCR
# engine and its backend through 2,000 PDF probes and 4,000 searchable PDFs
# (poppler, qpdf and leptonica in a process that lives as long as the session).
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Utils;
use ScribeTest;
use Test::More;

my $node = scribe_node('memory', conf => <<'CONF');
scribe.min_workers = 1
scribe.max_workers = 1
scribe.heartbeat_interval = 0
CONF
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION pg_scribe;
	CREATE FUNCTION public.noop(args jsonb) RETURNS jsonb LANGUAGE sql AS $$ SELECT args $$;
	SELECT scribe.queue_create('mem', consumer => 'clients');
	SELECT scribe.queue_create('memw', retention => '1 day');
	CREATE PROCEDURE public.churn(n int) LANGUAGE plpgsql AS $$
	DECLARE j record;
	BEGIN
	    FOR i IN 1..n LOOP
	        PERFORM scribe.send('mem', jsonb_build_object('i', i), idempotency_key => i::text);
	        SELECT * INTO j FROM scribe.claim('mem');
	        PERFORM scribe.ack(j.job_id, j.lease, '{"ok": true}');
	        PERFORM scribe.queue_stats('mem');
	        COMMIT;
	    END LOOP;
	END $$;
});

my ($before, $after) = backend_memory_growth($node, 'CALL public.churn(2000)', 'CALL public.churn(20000)');
cmp_ok($after - $before, '<', 1024,
	"a backend's private memory after 20,000 send/claim/ack/stats: $before kB -> $after kB");

# the document functions' doors (C entry point, internal body as the
# superuser, rows materialised) through 60,000 calls: with a document in
# the table, and the owner set
$node->safe_psql('postgres', q{
	INSERT INTO scribe.documents (owner, image, image_format, image_bytes, pages, status, text)
	VALUES ('family-1', '\x00', 'png', 1, 1, 'done', 'hello');
	CREATE PROCEDURE public.read_documents(n integer) LANGUAGE plpgsql AS $$
	BEGIN
		PERFORM set_config('scribe.owner', 'family-1', false);
		FOR i IN 1..n LOOP
			PERFORM * FROM scribe.document_get_many('{1, 2, 3}');
			PERFORM scribe.document_get_text(1);
			PERFORM * FROM scribe.document_list();
		END LOOP;
	END $$;
});
($before, $after) = backend_memory_growth($node, 'CALL public.read_documents(2000)', 'CALL public.read_documents(20000)');
cmp_ok($after - $before, '<', 1024,
	"a backend's private memory after 60,000 calls of document functions: $before kB -> $after kB");

# a backend through parameterised cache loaders, text and jsonb: distinct
# keys (each a miss), then one key deleted before each call (each a miss too)
$node->safe_psql('postgres', q{
	CREATE TABLE public.families (id bigint PRIMARY KEY, name text);
	INSERT INTO public.families VALUES (1, 'f-42'), (2, 'f-43');
	CREATE PROCEDURE public.fetch_churn(n int, one_key boolean) LANGUAGE plpgsql AS $$
	BEGIN
	    FOR i IN 1..n LOOP
	        IF one_key THEN
	            PERFORM scribe.cache_delete('fam:1'), scribe.cache_delete('famj:1');
	        END IF;
	        PERFORM scribe.cache_fetch('fam:' || CASE WHEN one_key THEN 1 ELSE i END,
	            'SELECT name || $2 FROM public.families WHERE id = $1', '1 hour', i % 2 + 1, 'x' || i);
	        PERFORM scribe.cache_fetch_jsonb('famj:' || CASE WHEN one_key THEN 1 ELSE i END,
	            'SELECT jsonb_build_object(''name'', name, ''i'', $2) FROM public.families WHERE id = $1',
	            '1 hour', i % 2 + 1, i);
	        COMMIT;
	    END LOOP;
	END $$;
});
($before, $after) = backend_memory_growth($node, 'CALL public.fetch_churn(2000, false)', 'CALL public.fetch_churn(20000, false)');
cmp_ok($after - $before, '<', 1024,
	"a backend's private memory after 20,000 parameterised loads of distinct keys (x2: text, jsonb): $before kB -> $after kB");
($before, $after) = backend_memory_growth($node, 'CALL public.fetch_churn(2000, true)', 'CALL public.fetch_churn(20000, true)');
cmp_ok($after - $before, '<', 1024,
	"after 20,000 loads of one key, deleted before each (x2): $before kB -> $after kB");
is($node->safe_psql('postgres', q{SELECT sum(loads) FROM scribe.cache_namespace_stats() WHERE namespace IN ('fam', 'famj')}),
	2 * (2000 + 18000 + 22000), 'every call but the 2,000 repeated distinct keys of each namespace ran its loader');

# a worker through 20,000 sql jobs
my $send = q{SELECT count(*) FROM scribe.send_batch('memw',
	array_fill('{"function": "public.noop", "args": {"x": 1}}'::jsonb, ARRAY[%d]), kind => 'sql')};
$node->safe_psql('postgres', sprintf($send, 2000));
ok(wait_until_drained($node, 'memw'), 'the worker ran the first 2,000 jobs');
my $worker = $node->safe_psql('postgres', 'SELECT pid FROM scribe.worker_status()');
$before = rss_anon($worker);
$node->safe_psql('postgres', sprintf($send, 20000));
ok(wait_until_drained($node, 'memw'), 'and 20,000 more');
is($node->safe_psql('postgres', 'SELECT pid FROM scribe.worker_status()'), $worker, 'the same worker');
$after = rss_anon($worker);
cmp_ok($after - $before, '<', 1024,
	"the worker's private memory after 20,000 jobs: $before kB -> $after kB");

# an OCR engine through PDF probes and searchable PDFs of a JPEG and of a PDF
my $fixtures = "$ENV{SCRIBE_SOURCE_DIR}/test/fixtures";
my $session = scribe_session($node);
$session->query_safe(qq{
	CREATE TEMP TABLE f AS SELECT pg_read_binary_file('$fixtures/pdf/mixed.pdf') AS pdf,
	    pg_read_binary_file('$fixtures/scans/note-clean.jpg') AS jpg;
	CREATE TEMP TABLE w AS SELECT scribe.ocr_detail(jpg)->'pages' AS pages FROM f;
	CREATE FUNCTION pg_temp.pdf_churn(n int) RETURNS bigint LANGUAGE plpgsql AS \$\$
	DECLARE r record; total bigint := 0;
	BEGIN
	    SELECT f.pdf, f.jpg, w.pages INTO r FROM f, w;
	    FOR i IN 1..n LOOP
	        total := total + (scribe.image_info(r.pdf)).pages
	            + length(scribe._ocr_make_pdf(r.jpg, r.pages)) + length(scribe._ocr_make_pdf(r.pdf, '[]'));
	    END LOOP;
	    RETURN total;
	END \$\$});
my $engine = $session->query_safe('SELECT scribe._ocr_engine_pid()');
my $backend = $session->query_safe('SELECT pg_backend_pid()');
$session->query_safe('SELECT pg_temp.pdf_churn(200)');
my ($engine_before, $backend_before) = (rss_anon($engine), rss_anon($backend));
$session->query_safe('SELECT pg_temp.pdf_churn(2000)');
is($session->query_safe('SELECT scribe._ocr_engine_pid()'), $engine, 'the same engine through 2,200 rounds');
cmp_ok(rss_anon($engine) - $engine_before, '<', 2048,
	"the engine's private memory after 2,000 PDF probes and 4,000 searchable PDFs: $engine_before kB -> "
	  . rss_anon($engine) . ' kB');
cmp_ok(rss_anon($backend) - $backend_before, '<', 1024,
	"its backend's: $backend_before kB -> " . rss_anon($backend) . ' kB');
$session->quit;

$node->stop;
done_testing();
