# The cloud tier against a real HTTP server on loopback that speaks Google
# Vision's images:annotate format: success, 500s and timeouts retried and
# then recognised locally, the API key sent and never shown, and every page's
# method and cost in the ledger.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Utils;
use ScribeTest;
use Test::More;

my $scans = "$ENV{SCRIBE_SOURCE_DIR}/test/fixtures/scans";
my $log = PostgreSQL::Test::Utils::tempdir() . '/requests.log';

# A Vision reply with one annotation per image of the request
sub vision_reply
{
	my ($body) = @_;
	my $images = () = $body =~ /"content"/g;
	my @responses = map {
		qq({"fullTextAnnotation": {"text": "Cloud text of image $_\\n", "pages": [{"confidence": 0.97}]}})
	} 1 .. $images;
	return (200, '{"responses": [' . join(', ', @responses) . ']}', 0,
		"Content-Type: application/json\r\n");
}

my $mode = PostgreSQL::Test::Utils::tempdir() . '/mode';
my ($port, $server) = start_http_server({
	'/v1/images:annotate?key=sekrit-key' => sub {
		my ($n, $body) = @_;
		my $m = -e $mode ? slurp_file($mode) : 'ok';
		return vision_reply($body) if $m eq 'ok';
		return (500, 'backend error') if $m eq 'fail';
		# held until the client gives up: its timeout, never a race with it
		return (200, 'late', 3600) if $m eq 'slow';
		return (200, '{"responses": [{"error": {"code": 3, "message": "Bad image data."}}]}') if $m eq 'error';
		return (200, '{"responses": [{"error": {"code": 3, "message": "' . ('x' x 100000) . '"}}]}') if $m eq 'huge';
		return (200, 'this is not json');
	},
}, $log);

# Make the server answer the next requests this way
sub server_mode
{
	my ($m) = @_;
	open my $fh, '>', $mode or die;
	print $fh $m;
	close $fh;
}

my $node = scribe_node('cloud', conf => <<"CONF");
scribe.min_workers = 1
scribe.max_workers = 1
scribe.heartbeat_interval = 0
scribe.ocr_cloud_url = 'http://127.0.0.1:$port/v1/images:annotate'
scribe.ocr_cloud_key = 'sekrit-key'
CONF
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION pg_scribe;
	SELECT scribe.queue_alter('ocr', backoff_base => '0', backoff_cap => '0');
});

# Submit a scan with the cloud tier; wait until it is finished; its status row
sub cloud_document
{
	my ($file) = @_;
	my $id = $node->safe_psql('postgres', qq{
		SELECT scribe.document_submit(pg_read_binary_file('$scans/$file'), owner => 'archive', tier => 'cloud')});
	$node->poll_query_until('postgres', "SELECT status IN ('done', 'failed') FROM scribe.documents WHERE document_id = $id")
	  or diag $node->safe_psql('postgres', "SELECT * FROM scribe.document_get($id)");
	return ($id, split /\|/, $node->safe_psql('postgres', qq{
		SELECT s.status, s.method, s.fallback, s.attempts, s.pages, d.text, coalesce(d.error, '')
		FROM scribe.document_get($id) s, scribe.documents d WHERE d.document_id = $id}));
}

server_mode('ok');
my ($id, $status, $method, $fallback, $attempts, $pages, $text) = cloud_document('letter-clean.png');
is("$status $method $fallback $attempts", 'done cloud f 1', 'the cloud tier recognises a document');
like($text, qr/^Cloud text of image 1/, 'with the text the service returned');
my @requests = http_requests($log);
like($requests[-1], qr{^POST /v1/images:annotate\?key=sekrit-key \{"requests": \[\{"image": \{"content": "iVBOR},
	'a Vision images:annotate request with the key and the PNG, base64');
like($requests[-1], qr/"DOCUMENT_TEXT_DETECTION".*"languageHints": \["en"\]/, 'asking for document text in English');

($id, $status, $method, $fallback, $attempts, $pages, $text) = cloud_document('list-two-pages.tif');
is("$status $method $pages", 'done cloud 2', 'a two-page TIFF goes to the cloud as two PNG pages');
like($text, qr/image 1.*\f.*image 2/s, 'one text per page, separated by a form feed');

for my $m ('fail', 'slow', 'error', 'garbage', 'huge')
{
	server_mode($m);
	# the answers the service gives come in at once: the default timeout
	# (30 s) never decides those attempts; a silent service times out, and
	# waiting 30 s three times for it would only make the test longer
	reload_settings($node, ocr_cloud_timeout => ($m eq 'slow' ? '1s' : '30s'));
	my $before = () = http_requests($log);
	my $error;
	($id, $status, $method, $fallback, $attempts, $pages, $text, $error) = cloud_document('letter-clean.png');
	# the single-threaded server logs a request when it gets to it
	my $after;
	wait_until(sub { $after = () = http_requests($log); $after - $before >= 3 });
	is("$status $method $fallback $attempts", 'done local t 3',
		"service answering '$m': three cloud attempts, then the local engine");
	is($after - $before, 3, "three requests reached the service ('$m')");
	unlike($text, qr/Cloud text/, 'the text is the local engine\'s');
	is($node->safe_psql('postgres', "SELECT count(*) FROM scribe.jobs_dead WHERE job_id = (SELECT job_id FROM scribe.documents WHERE document_id = $id)"),
		0, 'no dead letter');
	next unless $m eq 'huge';
	is($node->safe_psql('postgres', qq{
		SELECT count(*) || ' ' || bool_and(octet_length(e->>'error') BETWEEN 8000 AND 8192)
		       || ' ' || bool_and(e->>'error' LIKE '%[... truncated: the error had % bytes]')
		FROM scribe.jobs_archive a, jsonb_array_elements(a.errors) e
		WHERE a.job_id = (SELECT job_id FROM scribe.documents WHERE document_id = $id)}),
		'2 true true', 'a service\'s 100 kB error message is kept cut to 8 kB, and says so, for each failed attempt');
}
my $errors = $node->safe_psql('postgres', q{
	SELECT string_agg(e->>'error', E'\n') FROM scribe.jobs_archive a, jsonb_array_elements(a.errors) e});
like($errors, qr/HTTP 500/, 'a 500 is recorded as the attempt\'s error');
like($errors, qr/timed out|Timeout/i, 'so is a timeout');
like($errors, qr/Bad image data/, 'and an error the service reported');
unlike($errors, qr/sekrit-key/, 'the key never appears in errors');

# the ledger: method and cost per page
is($node->safe_psql('postgres', q{
	SELECT string_agg(method || ':' || pages || ':' || fallback_pages || ':' || cost, ' ' ORDER BY method)
	FROM scribe.ocr_costs(now() - interval '1 hour', now() + interval '1 hour', 'day')}),
	'cloud:3:0:0.004500 local:5:5:0.000500',
	'ocr_costs: 3 cloud pages at 0.0015, 5 fallback pages at 0.0001');

# the key and the URL are superuser-only
$node->safe_psql('postgres', 'CREATE ROLE clerk LOGIN');
my ($ret, $out, $err) = $node->psql('postgres', 'SHOW scribe.ocr_cloud_key', extra_params => [ '-U', 'clerk' ]);
like($err, qr/permission denied|must be superuser|pg_read_all_settings/, 'a plain role cannot read the API key');

kill 'TERM', $server;
$node->stop;
done_testing();
