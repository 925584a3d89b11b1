# An archive policy on scribe.documents: processed scans older than the
# threshold are recompressed by the OCR engine (1-bit TIFF G4 here), the
# smaller copy kept, the bytes saved recorded per document and in the run;
# the recompressed image still reads back and still OCRs to the same text.
# A second policy offloads the images to a real S3-compatible server on
# loopback (signatures checked): the rows keep only a key, and every image
# reads back byte for byte through scribe.document_get_image().
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use ScribeTest;
use Test::More;

my $scans = "$ENV{SCRIBE_SOURCE_DIR}/test/fixtures/scans";
my $dir = PostgreSQL::Test::Utils::tempdir();
my $s3_port = PostgreSQL::Test::Cluster::get_free_port();
my ($access_key, $secret) = ('AKIDARCHIVE', 'archive-secret-1');
my $s3 = start_s3rver($dir, $s3_port, bucket => 'scans', access_key => $access_key, secret_key => $secret);
my $node = scribe_node('archive', conf => <<"CONF");
scribe.min_workers = 1
scribe.max_workers = 2
scribe.heartbeat_interval = 0
scribe.s3_endpoint = 'http://127.0.0.1:$s3_port'
scribe.s3_bucket = 'scans'
scribe.s3_access_key = '$access_key'
scribe.s3_secret_key = '$secret'
CONF
$node->start;

# Run SQL and return its output
sub sql { return $node->safe_psql('postgres', $_[0]) }

sql(qq{
	CREATE EXTENSION pg_scribe;
	SELECT scribe.document_submit(pg_read_binary_file('$scans/letter-clean.png'), owner => 'family-1');
	SELECT scribe.document_submit(pg_read_binary_file('$scans/note-clean.jpg'), owner => 'family-1');
});
ok($node->poll_query_until('postgres', q{SELECT count(*) = 2 FROM scribe.documents WHERE status = 'done'}),
	'two scans recognised');
my $before = sql(q{SELECT sum(image_bytes) FROM scribe.documents});

# not old enough yet: nothing to do
sql(q{SELECT scribe.policy_create('scans', 'archive', 'scribe.documents',
	'{"older_than": "90 days", "recompress": {"format": "tiff_g4", "mode": "bw"}}', '1 day')});
is(sql(q{SELECT scribe.policy_run('scans', dry_run => true)->'actions'->0->>'rows'}), 0,
	'a dry run today: no document is 90 days old');

# a hundred days later
sql(q{ALTER SYSTEM SET scribe.policy_clock_offset = '100d'; SELECT pg_reload_conf()});
$node->poll_query_until('postgres', q{SELECT current_setting('scribe.policy_clock_offset') <> '0'})
  or die 'scribe.policy_clock_offset not applied';
is(sql(q{SELECT scribe.policy_run('scans', dry_run => true)->'actions'->0->>'rows'}), 2,
	'a dry run a hundred days later: both');
sql(q{SELECT scribe.policy_run('scans')});
ok($node->poll_query_until('postgres', q{
	SELECT status = 'succeeded' FROM scribe.policy_runs r JOIN scribe.policies p USING (policy_id)
	WHERE p.name = 'scans' ORDER BY run_id DESC LIMIT 1}), 'the archive run succeeded');

is(sql(q{SELECT count(*) FROM scribe.documents WHERE archived_at IS NOT NULL AND image_format = 'tiff' AND bytes_saved > 0}),
	2, 'both images are now TIFF G4, each with the bytes it saved');
my $after = sql(q{SELECT sum(image_bytes) FROM scribe.documents});
cmp_ok($after, '<', $before / 2, "the scans take less than half their room ($before -> $after bytes)");
is(sql(q{SELECT r.rows, r.bytes = (SELECT sum(bytes_saved) FROM scribe.documents)
         FROM scribe.policy_runs r JOIN scribe.policies p USING (policy_id) WHERE p.name = 'scans'
         ORDER BY run_id DESC LIMIT 1}), '2|t', 'the run records the documents and the bytes saved');
is(sql(q{SELECT count(*) FROM scribe.documents d
         WHERE (scribe.image_info(scribe.document_get_image(d.document_id))).format = 'tiff'}), 2,
	'document_get_image() reads the recompressed images back');

# the recompressed scan still reads as the same text
my ($same, $total) = split /\|/, sql(q{
	SELECT count(*) FILTER (WHERE scribe.text_normalize(scribe.ocr(scribe.document_get_image(document_id)))
	                              = scribe.text_normalize(text)), count(*)
	FROM scribe.documents});
is($same, $total, 'OCR of each archived image gives its document\'s text');

# a second run finds nothing left to archive
sql(q{SELECT scribe.policy_run('scans')});
ok($node->poll_query_until('postgres', q{
	SELECT status = 'succeeded' AND rows = 0 FROM scribe.policy_runs r JOIN scribe.policies p USING (policy_id)
	WHERE p.name = 'scans' ORDER BY run_id DESC LIMIT 1}), 'archived documents are not archived again');

# offload: the images go to S3, the rows keep the key
my $images = sql(q{SELECT string_agg(md5(image), ',' ORDER BY document_id) FROM scribe.documents});
sql(q{SELECT scribe.policy_create('offload', 'archive', 'scribe.documents',
	'{"older_than": "90 days", "offload": true}', '1 day');
	UPDATE scribe.documents SET archived_at = NULL});
sql(q{SELECT scribe.policy_run('offload')});
ok($node->poll_query_until('postgres', q{
	SELECT status = 'succeeded' FROM scribe.policy_runs r JOIN scribe.policies p USING (policy_id)
	WHERE p.name = 'offload' ORDER BY run_id DESC LIMIT 1}), 'the offload run succeeded');
is(sql(q{SELECT count(*) FROM scribe.documents WHERE image IS NULL AND image_location = 's3' AND image_key LIKE 'documents/%.tiff'}),
	2, 'the rows keep only the objects\' keys');
is(sql(q{SELECT string_agg(md5(scribe.document_get_image(document_id)), ',' ORDER BY document_id) FROM scribe.documents}),
	$images, 'every image reads back from S3, byte for byte');
is(sql(q{SELECT sum(scribe._s3_exists(image_key)) = sum(image_bytes) FROM scribe.documents}), 't',
	'the objects in the bucket have the images\' sizes');
my ($ret, $out, $err) = $node->psql('postgres', q{SELECT scribe.policy_create('offload2', 'archive', 'scribe.documents',
	'{"older_than": "90 days", "offload": "yes"}')});
like($err, qr/setting "offload" is true or false/, 'offload is checked at creation');

$node->stop;
kill 'TERM', $s3;
waitpid($s3, 0);
done_testing();
