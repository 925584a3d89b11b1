# An archive policy on scribe.documents: processed scans older than the
# threshold are recompressed by the OCR engine (1-bit TIFF G4 here), the
# smaller copy kept, the bytes saved recorded per document and in the run;
# the recompressed image still reads back and still OCRs to the same text.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Utils;
use ScribeTest;
use Test::More;

my $scans = "$ENV{SCRIBE_SOURCE_DIR}/test/fixtures/scans";
my $node = scribe_node('archive', conf => <<'CONF');
scribe.min_workers = 1
scribe.max_workers = 2
scribe.heartbeat_interval = 0
CONF
$node->start;

# Run SQL and return its output
sub sql { return $node->safe_psql('postgres', $_[0]) }

sql(qq{
	CREATE EXTENSION pg_scribe;
	SELECT scribe.submit_document(pg_read_binary_file('$scans/letter-clean.png'), owner => 'family-1');
	SELECT scribe.submit_document(pg_read_binary_file('$scans/note-clean.jpg'), owner => 'family-1');
});
ok($node->poll_query_until('postgres', q{SELECT count(*) = 2 FROM scribe.documents WHERE status = 'done'}),
	'two scans recognised');
my $before = sql(q{SELECT sum(image_bytes) FROM scribe.documents});

# not old enough yet: nothing to do
sql(q{SELECT scribe.create_policy('scans', 'archive', 'scribe.documents',
	'{"older_than": "90 days", "recompress": {"format": "tiff_g4", "mode": "bw"}}', '1 day')});
is(sql(q{SELECT scribe.run_policy_now('scans', dry_run => true)->'actions'->0->>'rows'}), 0,
	'a dry run today: no document is 90 days old');

# a hundred days later
sql(q{ALTER SYSTEM SET scribe.policy_clock_offset = '100d'; SELECT pg_reload_conf()});
$node->poll_query_until('postgres', q{SELECT current_setting('scribe.policy_clock_offset') <> '0'});
is(sql(q{SELECT scribe.run_policy_now('scans', dry_run => true)->'actions'->0->>'rows'}), 2,
	'a dry run a hundred days later: both');
sql(q{SELECT scribe.run_policy_now('scans')});
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
         WHERE (scribe.image_info(scribe.document_image(d.document_id))).format = 'tiff'}), 2,
	'document_image() reads the recompressed images back');

# the recompressed scan still reads as the same text
my ($same, $total) = split /\|/, sql(q{
	SELECT count(*) FILTER (WHERE scribe.normalize_text(scribe.ocr(scribe.document_image(document_id)))
	                              = scribe.normalize_text(text)), count(*)
	FROM scribe.documents});
is($same, $total, 'OCR of each archived image gives its document\'s text');

# a second run finds nothing left to archive
sql(q{SELECT scribe.run_policy_now('scans')});
ok($node->poll_query_until('postgres', q{
	SELECT status = 'succeeded' AND rows = 0 FROM scribe.policy_runs r JOIN scribe.policies p USING (policy_id)
	WHERE p.name = 'scans' ORDER BY run_id DESC LIMIT 1}), 'archived documents are not archived again');

$node->stop;
done_testing();
