#!/usr/bin/python3
"""A family archive: one database role serving many families, as an
application uses pg_scribe.

It connects as a LOGIN role granted scribe_app and nothing else, and does
what the README promises an application can: two families (owners) submit
scans and read them back (text, pages with their verdict and rotation, the
searchable PDF, lists with paging, many at once, search, delete, costs), each
blind to the other's; it learns that a document is done from LISTEN and
from a job on its own queue, taken with a claim that waits; consumers in
separate processes wait for thumbnail jobs, one is killed while it holds a
lease, and its job comes back to another once the lease runs out, each job
done once; album titles are cached with a loader that takes parameters and
dropped by a trigger when an album changes; uploads are rate limited; and a
family reads its own writes on a replica, with the same isolation there.

It prints each step and each check, and exits 1 if any check failed (the
message says what was expected).  --timeout bounds each wait for an event
(a notification, a job, a process): a guard against a hang, never a
duration the checks depend on.

    family_archive.py --primary CONNINFO --replica CONNINFO --fixtures DIR [--timeout SECONDS]
    family_archive.py consume ...    (a consumer process; started by the above)
"""
import argparse
import atexit
import contextlib
import datetime
import json
import os
import select
import signal
import subprocess
import sys

import psycopg
from psycopg.types.json import Jsonb

FAILURES = []
CHILDREN = []
# two families, named afresh by each run, so that a run finds nothing of an
# earlier one (their documents, costs and rate limits are theirs)
RUN = os.urandom(3).hex()
ANDERSEN = f'andersen-{RUN}'
BROOKS = f'brooks-{RUN}'


def say(text):
    """Print a step or a note"""
    print(text, flush=True)


def expect(got, want, what):
    """Check that got equals want; print ok, or FAIL with both"""
    if got == want:
        say(f'ok - {what}')
    else:
        FAILURES.append(what)
        say(f'FAIL - {what}: expected {want!r}, got {got!r}')


def expect_true(cond, what, got=None):
    """Check a condition; print ok, or FAIL with what was seen"""
    if cond:
        say(f'ok - {what}')
    else:
        FAILURES.append(what)
        say(f'FAIL - {what}' + ('' if got is None else f': got {got!r}'))


def expect_error(sqlstate, message_part, what, fn):
    """Check that fn() raises a database error with sqlstate and a message containing message_part"""
    try:
        fn()
    except psycopg.Error as e:
        got = (e.sqlstate, e.diag.message_primary)
        expect_true(e.sqlstate == sqlstate and message_part in (e.diag.message_primary or ''),
                    f'{what} (SQLSTATE {sqlstate}, "{message_part}")', got)
        return
    FAILURES.append(what)
    say(f'FAIL - {what}: expected ERROR {sqlstate} "{message_part}", but it succeeded')


def connect(conninfo):
    """A connection in autocommit mode: each statement commits, transactions are explicit"""
    return psycopg.connect(conninfo, autocommit=True)


@contextlib.contextmanager
def acting_for(conn, owner):
    """A transaction of conn acting for owner: SET LOCAL scribe.owner, as a bound parameter"""
    with conn.transaction():
        conn.execute("SELECT set_config('scribe.owner', %s, true)", [owner])
        yield conn


def one(conn, sql, params=None):
    """The first column of the first row of sql, or None without a row"""
    row = conn.execute(sql, params).fetchone()
    return None if row is None else row[0]


def column(conn, sql, params=None):
    """The first column of every row of sql"""
    return [r[0] for r in conn.execute(sql, params).fetchall()]


def interval(seconds):
    """An interval parameter"""
    return datetime.timedelta(seconds=seconds)


def notifications(conn, timeout):
    """Yield (channel, payload) of the notifications conn LISTENs to, as they
    arrive; raise TimeoutError after timeout seconds without one.  Waits on
    the socket (select), never polls: psycopg 3.1 (Debian 12) has no timeout
    in conn.notifies(), so this reads them through its libpq layer."""
    pgconn = conn.pgconn
    while True:
        n = pgconn.notifies()
        if n is not None:
            yield n.relname.decode(), n.extra.decode()
            continue
        readable, _, _ = select.select([conn.fileno()], [], [], timeout)
        if not readable:
            raise TimeoutError(f'no notification within {timeout} s')
        pgconn.consume_input()


def read_line(proc, timeout):
    """The words of the next line a child process prints; TimeoutError after
    timeout seconds without one (read byte by byte: no buffer hides a line
    from select)"""
    line = b''
    while not line.endswith(b'\n'):
        readable, _, _ = select.select([proc.stdout], [], [], timeout)
        if not readable:
            raise TimeoutError(f'process {proc.pid} printed no line within {timeout} s')
        byte = os.read(proc.stdout.fileno(), 1)
        if not byte:
            raise RuntimeError(f'process {proc.pid} exited (status {proc.wait()}) before printing a line')
        line += byte
    return line.decode().split()


# --- the application's operations -----------------------------------------

def upload(conn, owner, image, title, notify_queue):
    """Submit a scan for owner, if its upload rate allows: the document id, or None when refused"""
    with acting_for(conn, owner):
        # two uploads an hour per family, both at once if it likes
        allowed, remaining, retry_after = conn.execute(
            "SELECT allowed, remaining, retry_after FROM scribe.rate_limit_take(%s, 2, '1 hour', burst => 2)",
            ['uploads:' + owner]).fetchone()
        if not allowed:
            say(f'   {owner}: upload of "{title}" refused, retry after {retry_after}')
            return None
        doc = one(conn, 'SELECT scribe.document_submit(%s, metadata => %s, notify_queue => %s)',
                  [image, Jsonb({'title': title}), notify_queue])
        say(f'   {owner}: uploaded "{title}" as document {doc} ({remaining} more uploads this hour)')
        return doc


def ensure_queue(conn, name, lease):
    """Create a clients queue of this application, unless it exists"""
    try:
        conn.execute("SELECT scribe.queue_create(%s, consumer => 'clients', lease => %s)", [name, lease])
    except psycopg.errors.DuplicateObject:
        pass


# --- steps -----------------------------------------------------------------

def step_role(conn):
    """The role the application connects as: a LOGIN role with scribe_app only"""
    say('== the application role')
    row = conn.execute('SELECT current_user, rolsuper, rolcanlogin FROM pg_roles WHERE rolname = current_user').fetchone()
    say(f'   connected as {row[0]}')
    expect(row[1:], (False, True), 'a LOGIN role, not a superuser')
    expect(column(conn, '''SELECT b.rolname FROM pg_auth_members m JOIN pg_roles b ON b.oid = m.roleid
                           WHERE m.member = current_user::regrole ORDER BY 1'''),
           ['scribe_app'], 'granted scribe_app and no other role')
    expect(one(conn, "SELECT pg_has_role('scribe_admin', 'MEMBER') OR pg_has_role('scribe_monitor', 'MEMBER')"),
           False, 'neither scribe_admin nor scribe_monitor')


def step_submit(conn, listener, fixtures):
    """Two families upload scans through the one role; the rate limit and the owner rules hold"""
    say('== two families upload')
    listener.execute('LISTEN scribe_documents')
    ensure_queue(conn, 'archive-ready', interval(300))
    for owner in (ANDERSEN, BROOKS):
        conn.execute('SELECT scribe.rate_limit_reset(%s)', ['uploads:' + owner])

    def scan(name):
        with open(os.path.join(fixtures, name), 'rb') as f:
            return f.read()

    expect(one(conn, 'SELECT count(*) FROM scribe.document_list()'), 0,
           'without scribe.owner the application sees no document')
    expect_error('42501', 'no owner to submit the document for', 'without scribe.owner, submit is refused',
                 lambda: conn.execute('SELECT scribe.document_submit(%s)', [scan('scans/letter-clean.png')]))
    docs = {
        'letter': upload(conn, ANDERSEN, scan('scans/letter-clean.png'), 'Letter from Ellen', 'archive-ready'),
        'upside_down': upload(conn, ANDERSEN, scan('demo/letter-upside-down.png'), 'The letter, scanned upside down',
                              'archive-ready'),
    }
    expect(upload(conn, ANDERSEN, scan('scans/note-clean.jpg'), 'A note from Mum', 'archive-ready'), None,
           'a third upload within the hour is refused by the rate limit')
    with acting_for(conn, ANDERSEN):
        expect(one(conn, 'SELECT count(*) FROM scribe.document_list()'), 2, 'and was not submitted')
        ok, retry_after = conn.execute(
            "SELECT allowed, retry_after FROM scribe.rate_limit_take(%s, 2, '1 hour', burst => 2)",
            ['uploads:' + ANDERSEN]).fetchone()
        expect_true(not ok and retry_after > datetime.timedelta(0),
                    'the rate limiter says when the next upload is allowed', retry_after)
    expect(one(conn, 'SELECT scribe.rate_limit_reset(%s)', ['uploads:' + ANDERSEN]), True,
           'rate_limit_reset forgets the family\'s uploads')
    docs['note'] = upload(conn, ANDERSEN, scan('scans/note-clean.jpg'), 'A note from Mum', 'archive-ready')
    expect_true(docs['note'] is not None, 'after the reset the upload is allowed')
    docs['diary'] = upload(conn, BROOKS, scan('scans/diary-small-text.png'), "Grandma Brooks's diary", 'archive-ready')
    with acting_for(conn, BROOKS):
        expect_error('42501', f'this session acts for owner "{BROOKS}", not "{ANDERSEN}"',
                     'acting for one family, submitting for another is refused',
                     lambda: conn.execute('SELECT scribe.document_submit(%s, owner => %s)',
                                          [scan('scans/letter-clean.png'), ANDERSEN]))
    expect_true(all(docs.values()), 'four documents submitted', docs)
    return docs


def step_completion(conn, listener, docs, timeout):
    """Learn that each document is done: a job on the application's queue, taken by a claim
    that waits, and a NOTIFY on scribe_documents"""
    say('== completion: a waiting claim on the notify queue, and LISTEN scribe_documents')
    owner_of = {docs['letter']: ANDERSEN, docs['upside_down']: ANDERSEN, docs['note']: ANDERSEN,
                docs['diary']: BROOKS}
    jobs = {}
    while len(jobs) < len(owner_of):
        # returns as soon as a document's job commits; a whole timeout without one is a hang
        rows = conn.execute('SELECT job_id, lease, payload FROM scribe.claim(%s, 10, wait => %s)',
                            ['archive-ready', interval(timeout)]).fetchall()
        if not rows:
            raise TimeoutError(f'no document finished within {timeout} s; done so far: {sorted(jobs)}')
        for job_id, lease, payload in rows:
            say(f'   job {job_id}: {json.dumps(payload, sort_keys=True)} (the "your scan is ready" email goes out)')
            doc = payload['document_id']
            if doc not in owner_of:
                # of another run or another application's document: not ours to announce
                conn.execute('SELECT scribe.ack(%s, %s)', [job_id, lease])
                continue
            if doc in jobs:
                FAILURES.append(f'document {doc} notified twice')
                say(f'FAIL - document {doc}: a second job on the notify queue')
            jobs[doc] = payload
            expect(one(conn, 'SELECT scribe.ack(%s, %s)', [job_id, lease]), True, f'job {job_id} acked')
    for doc, owner in sorted(owner_of.items()):
        expect(jobs.get(doc), {'document_id': doc, 'status': 'done', 'owner': owner},
               f'document {doc}: a job says it is done, for {owner}')
    notified = {}
    for channel, payload in notifications(listener, timeout):
        message = json.loads(payload)
        if message['document_id'] in owner_of:
            notified[message['document_id']] = message
        if len(notified) == len(owner_of):
            break
    for doc in sorted(owner_of):
        expect(notified.get(doc), {'document_id': doc, 'status': 'done'},
               f'document {doc}: NOTIFY scribe_documents says it is done')


def step_read(conn, docs, fixtures):
    """Each family reads its own documents, and nothing of the other's"""
    say('== each family reads its own documents')
    a = [docs['letter'], docs['upside_down'], docs['note']]
    b = docs['diary']
    with acting_for(conn, ANDERSEN):
        status, owner, pages, confidence = conn.execute(
            'SELECT status, owner, pages, confidence FROM scribe.document_get(%s)', [docs['letter']]).fetchone()
        expect((status, owner, pages), ('done', ANDERSEN, 1), 'document_get: done, its owner, one page')
        expect_true(confidence > 50, 'with the confidence of its recognition', confidence)
        expect_true('Dear Margaret' in one(conn, 'SELECT scribe.document_get_text(%s)', [docs['letter']]),
                    'document_get_text: the letter\'s text')
        page, rotation, needs_review, reasons, text = conn.execute(
            '''SELECT page, rotation, needs_review, review_reasons, text
               FROM scribe.document_get_pages(%s)''', [docs['upside_down']]).fetchone()
        expect((page, rotation), (1, 180), 'document_get_pages: the upside-down scan was turned 180 degrees')
        expect_true(isinstance(needs_review, bool) and isinstance(reasons, list),
                    'and each page has its verdict (needs_review, review_reasons)', (needs_review, reasons))
        expect_true('Margaret' in text, 'and was read upright', text[:60])
        with open(os.path.join(fixtures, 'scans', 'letter-clean.png'), 'rb') as f:
            expect(one(conn, 'SELECT scribe.document_get_image(%s)', [docs['letter']]), f.read(),
                   'document_get_image: the scan as uploaded')
        pdf = one(conn, 'SELECT scribe.document_get_pdf(%s)', [docs['letter']])
        expect(pdf[:5], b'%PDF-', f'document_get_pdf: a searchable PDF ({len(pdf)} bytes)')
        # newest first, a page of two, then the rest
        first = column(conn, 'SELECT document_id FROM scribe.document_list(max_results => 2)')
        rest = column(conn, 'SELECT document_id FROM scribe.document_list(before => %s, max_results => 2)', [first[-1]])
        expect(first + rest, sorted(a, reverse=True), 'document_list pages through its documents, newest first')
        expect(column(conn, 'SELECT document_id FROM scribe.document_list(status => %s)', ['done']),
               sorted(a, reverse=True), 'document_list by status')
        expect(column(conn, 'SELECT document_id FROM scribe.document_get_many(%s::bigint[])', [[b] + a + [2 ** 40]]),
               sorted(a), 'document_get_many: a row for each of its own, none for the other family\'s or a missing id')
        expect(column(conn, 'SELECT document_id FROM scribe.document_search(%s)', ['Margaret']),
               sorted(docs[k] for k in ('letter', 'upside_down')), 'document_search finds its two letters')
        expect(column(conn, 'SELECT document_id FROM scribe.document_search(%s)', ['Hendersons']), [],
               'and nothing of the other family\'s diary')
    # a pooled connection goes to the next request as it came: SET LOCAL ended with the transaction
    expect(one(conn, 'SELECT count(*) FROM scribe.document_list()'), 0,
           'after the transaction the connection acts for no family again: it sees nothing')
    with acting_for(conn, BROOKS):
        expect(column(conn, 'SELECT document_id FROM scribe.document_list()'), [b], 'the Brookses list their diary only')
        expect(column(conn, 'SELECT document_id FROM scribe.document_search(%s)', ['Hendersons']), [b],
               'and find it')
        expect(column(conn, 'SELECT document_id FROM scribe.document_search(%s)', ['Margaret']), [],
               'but not the Andersens\' letters')
        d = docs['letter']
        expect(conn.execute('SELECT * FROM scribe.document_get(%s)', [d]).fetchall(), [],
               'document_get of the other family\'s document: no row')
        expect(conn.execute('''SELECT scribe.document_get_text(%s), scribe.document_get_image(%s),
                                      scribe.document_get_pdf(%s)''', [d, d, d]).fetchone(),
               (None, None, None), 'its text, image and PDF: NULL')
        expect(conn.execute('SELECT * FROM scribe.document_get_pages(%s)', [d]).fetchall(), [], 'its pages: none')
        expect(one(conn, 'SELECT scribe.document_delete(%s)', [d]), False, 'deleting it: false, nothing deleted')
        expect(column(conn, 'SELECT DISTINCT owner FROM scribe.ocr_costs()'), [BROOKS],
               'ocr_costs: billed for its own pages only')
    with acting_for(conn, ANDERSEN):
        expect(one(conn, 'SELECT count(*) FROM scribe.document_get(%s)', [docs['letter']]), 1,
               'the Andersens still have their letter')
        costs = conn.execute('SELECT owner, sum(pages), sum(cost) > 0 FROM scribe.ocr_costs() GROUP BY owner').fetchall()
        expect(costs, [(ANDERSEN, 3, True)], 'ocr_costs: its three pages, at a cost')
        expect(one(conn, 'SELECT scribe.document_delete(%s)', [docs['note']]), True, 'it deletes its note')
        expect(conn.execute('SELECT * FROM scribe.document_get(%s)', [docs['note']]).fetchall(), [], 'which is gone')
        expect(column(conn, 'SELECT document_id FROM scribe.document_list()'),
               sorted(docs[k] for k in ('letter', 'upside_down'))[::-1], 'and no longer listed')
        expect(one(conn, 'SELECT sum(pages) FROM scribe.ocr_costs()'), 3, 'the cost ledger keeps its page')


def start_consumer(args, name, *extra):
    """Start a consumer process of the thumbnails queue; returns it once it says it is ready"""
    proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), 'consume', '--conninfo', args.primary,
                             '--queue', 'thumbnails', '--name', name, '--timeout', str(args.timeout), *extra],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    CHILDREN.append(proc)
    words = read_line(proc, args.timeout)
    if words[:1] != ['ready']:
        raise RuntimeError(f'consumer {name} said {words}')
    say(f'   consumer {name}: process {proc.pid}, connected; it waits in scribe.claim(..., wait => ...)')
    return proc


def step_consumers(args, conn, listener, docs):
    """Consumers in separate processes wait for jobs; one is killed holding a lease; its job
    comes back after the lease and is done by another; each job is done once"""
    say('== waiting consumers, one killed in the middle of a job')
    ensure_queue(conn, 'thumbnails', interval(300))
    # jobs an earlier run left behind: done now, so that none stops a consumer of this run
    while rows := conn.execute("SELECT job_id, lease FROM scribe.claim('thumbnails', 100)").fetchall():
        for job_id, lease in rows:
            conn.execute('SELECT scribe.ack(%s, %s)', [job_id, lease])
    listener.execute('LISTEN thumbnail_done')
    # the victim takes its job with a lease of a second, and hangs holding it
    victim = start_consumer(args, 'victim', '--lease', '1', '--hang-after-claim')
    first = one(conn, 'SELECT scribe.send(%s, %s)', ['thumbnails', Jsonb({'document_id': docs['letter']})])
    words = read_line(victim, args.timeout)
    expect(words[:2], ['claimed', str(first)], f'the victim claimed job {first}')
    victim_lease = words[2]
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=args.timeout)
    say(f'   killed the victim (process {victim.pid}) while it held job {first}')

    healthy = [start_consumer(args, name) for name in ('c1', 'c2')]
    with conn.transaction():
        later = [one(conn, 'SELECT scribe.send(%s, %s)', ['thumbnails', Jsonb({'document_id': d})])
                 for d in (docs['letter'], docs['upside_down'], docs['diary'], docs['letter'])]
    everything = [first] + later
    done = set()
    try:
        for channel, payload in notifications(listener, args.timeout):
            if channel == 'thumbnail_done':
                done.add(int(payload))
                if done >= set(everything):
                    break
    except TimeoutError:
        diagnose_consumers(conn, everything, done)
        raise
    expect(sorted(done), sorted(everything), 'every job done, the killed consumer\'s too')
    # the job is done: the token of the killed consumer's lease finishes nothing
    expect(one(conn, 'SELECT scribe.ack(%s, %s)', [first, victim_lease]), False,
           'the killed consumer\'s lease acks nothing now')
    # one stop job per consumer: each takes one and exits
    with conn.transaction():
        for _ in healthy:
            conn.execute('SELECT scribe.send(%s, %s)', ['thumbnails', Jsonb({'stop': True})])
    for proc in healthy:
        expect(proc.wait(timeout=args.timeout), 0, f'consumer process {proc.pid} stopped cleanly')
    made = conn.execute('''SELECT job_id, count(*), min(consumer) FROM archive.thumbnails
                           WHERE job_id = ANY (%s::bigint[]) GROUP BY job_id ORDER BY job_id''',
                        [everything]).fetchall()
    expect([(j, n) for j, n, _ in made], [(j, 1) for j in sorted(everything)], 'each job done exactly once')
    by = {j: c for j, _, c in made}
    expect_true(by.get(first) in ('c1', 'c2'), f'job {first} done by a live consumer', by.get(first))
    state, attempts = conn.execute('SELECT state, attempts FROM scribe.job_get(%s)', [first]).fetchone()
    expect((state, attempts), ('done', 2), f'job {first}: done at its second attempt (the lease ran out once)')


def diagnose_consumers(conn, jobs, done):
    """Print why the consumers' jobs did not all finish: the jobs, this role's sessions, and
    a consumer blocked by another's waiting claim"""
    say(f'   done so far: {sorted(done)}; the jobs and this role\'s sessions now:')
    for job in jobs:
        say('   ' + repr(conn.execute('SELECT job_id, state, attempts, claimed_at, lease_until, errors '
                                     'FROM scribe.job_get(%s)', [job]).fetchone()))
    sessions = conn.execute('''SELECT pid, state, wait_event_type, wait_event, pg_blocking_pids(pid), xact_start,
                                      left(query, 100)
                               FROM pg_stat_activity WHERE usename = current_user AND pid <> pg_backend_pid()
                               ORDER BY pid''').fetchall()
    for row in sessions:
        say(f'   {row!r}')
    query = {row[0]: row[6] for row in sessions}
    for pid, _, wait_type, _, blockers, _, what in sessions:
        for blocker in blockers:
            if wait_type == 'Lock' and 'scribe.claim(' in (query.get(blocker) or '') and 'wait =>' in query[blocker]:
                FAILURES.append('a consumer blocked by another\'s waiting claim')
                say(f'FAIL - session {pid} ({what}) waits for a row lock that session {blocker}\'s waiting '
                    'claim holds, though that claim took no job: a claim that waits must not keep locks '
                    'on jobs it does not return')


def consume(args):
    """A consumer process: claim thumbnail jobs with a waiting claim, make each thumbnail and ack
    it in one transaction, until a stop job (or, as the victim, hang holding the first job)"""
    conn = connect(args.conninfo)
    print('ready', flush=True)
    lease_for = interval(args.lease) if args.lease else None
    # longer than the parent waits for the jobs: whatever holds a consumer up is still
    # there to be seen when the parent gives up (it kills the consumers then)
    wait = interval(2 * args.timeout)
    while True:
        rows = conn.execute('SELECT job_id, lease, payload FROM scribe.claim(%s, 1, %s, wait => %s)',
                            [args.queue, lease_for, wait]).fetchall()
        if not rows:
            print(f'{args.name}: no job within {2 * args.timeout} s', file=sys.stderr, flush=True)
            return 1
        job_id, lease, payload = rows[0]
        if args.hang_after_claim:
            print('claimed', job_id, lease, flush=True)
            # a consumer stuck in the middle of its job, until it is killed (its
            # parent never writes to its stdin)
            sys.stdin.read()
            return 1
        with conn.transaction():
            if not payload.get('stop'):
                conn.execute('INSERT INTO archive.thumbnails (job_id, document_id, consumer) VALUES (%s, %s, %s)',
                             [job_id, payload['document_id'], args.name])
                conn.execute("SELECT pg_notify('thumbnail_done', %s)", [str(job_id)])
            # a lost lease raises here, and the thumbnail is rolled back with the ack
            conn.execute('SELECT scribe.ack(%s, %s)', [job_id, lease])
        if payload.get('stop'):
            return 0


def step_cache(conn):
    """Album titles cached with a loader that takes parameters, dropped by a trigger on change"""
    say('== the cache: a loader with parameters, invalidated by a trigger')
    with conn.transaction():
        conn.execute('DELETE FROM archive.albums')
        conn.execute('INSERT INTO archive.albums VALUES (1, %s, %s), (2, %s, %s)',
                     [ANDERSEN, 'Letters, 1952', BROOKS, "Grandma's diaries"])
    conn.execute("SELECT scribe.cache_invalidate('album')")
    title = "SELECT title FROM archive.albums WHERE album_id = $1"
    expect(one(conn, "SELECT scribe.cache_fetch('album:1:title', %s, '1 hour', 1)", [title]), 'Letters, 1952',
           'cache_fetch runs the loader with its parameter bound')
    expect(one(conn, "SELECT scribe.cache_get('album:1:title')"), 'Letters, 1952', 'and caches the title')
    conn.execute('UPDATE archive.albums SET title = %s WHERE album_id = 1', ['Letters of 1952'])
    expect(one(conn, "SELECT scribe.cache_get('album:1:title')"), None, 'an UPDATE of the album drops its cached title')
    expect(one(conn, "SELECT scribe.cache_fetch('album:1:title', %s, '1 hour', 1)", [title]), 'Letters of 1952',
           'and the next fetch loads the new one')
    # a value that would break a loader built by pasting strings
    hostile = "x' OR true; DROP TABLE archive.albums; --"
    expect(one(conn, "SELECT scribe.cache_fetch(%s, 'SELECT count(*) FROM archive.albums WHERE family = $1', "
                     "'1 hour', %s::text)", ['albums-of:' + hostile, hostile]),
           '0', 'a parameter is bound, never pasted: a quote in it is just a character')
    expect(one(conn, 'SELECT count(*) FROM archive.albums'), 2, 'and the table is still there')
    expect(one(conn, "SELECT scribe.cache_fetch_jsonb('album:2', "
                     "'SELECT jsonb_build_object(''title'', title, ''family'', family) FROM archive.albums "
                     "WHERE album_id = $1', '1 hour', 2)"),
           {'title': "Grandma's diaries", 'family': BROOKS}, 'cache_fetch_jsonb returns jsonb')
    expect_error('42601', 'must be one statement', 'a loader of two statements is refused',
                 lambda: conn.execute("SELECT scribe.cache_fetch('album:9', 'SELECT 1; SELECT 2', '1 hour', 9)"))


def step_replica(args, conn, replica, docs):
    """Read your writes on the replica: the primary's commit LSN, a wait there, then the read,
    each family still blind to the other"""
    say('== read-your-writes on the replica')
    wait = 'SELECT scribe.replication_wait_lsn(%s, timeout => %s)'
    # everything this session wrote so far, on the replica: the albums, and the
    # documents (done before this session acked their jobs) and the note's delete
    lsn = one(conn, 'SELECT scribe.replication_commit_lsn()')
    expect(one(replica, wait, [lsn, interval(args.timeout)]), True, f'replication_wait_lsn({lsn}) on the replica: reached')
    fetch = "SELECT scribe.cache_fetch('album:1:title', 'SELECT title FROM archive.albums WHERE album_id = $1', '1 hour', 1)"
    expect(one(replica, fetch), 'Letters of 1952', 'the replica caches the album\'s title, read from the replicated row')
    conn.execute('UPDATE archive.albums SET title = %s WHERE album_id = 1', ['Letters from Millbrook, 1952'])
    lsn = one(conn, 'SELECT scribe.replication_commit_lsn()')
    say(f'   renamed album 1 on the primary, committed at {lsn}')
    expect(one(replica, wait, [lsn, interval(args.timeout)]), True, 'waited for it on the replica')
    expect(one(replica, "SELECT scribe.cache_get('album:1:title')"), None,
           'the replicated UPDATE dropped the replica\'s cached title')
    expect(one(replica, fetch), 'Letters from Millbrook, 1952', 'and the replica reads the new title')
    expect(one(replica, 'SELECT count(*) FROM scribe.document_list()'), 0,
           'on the replica too, without scribe.owner nothing is seen')
    with acting_for(replica, ANDERSEN):
        expect(replica.execute('SELECT status, owner FROM scribe.document_get(%s)', [docs['letter']]).fetchone(),
               ('done', ANDERSEN), 'the Andersens read their letter on the replica')
        expect_true('Dear Margaret' in (one(replica, 'SELECT scribe.document_get_text(%s)', [docs['letter']]) or ''),
                    'with its text')
        expect(column(replica, 'SELECT document_id FROM scribe.document_search(%s)', ['Margaret']),
               sorted(docs[k] for k in ('letter', 'upside_down')), 'and find their letters there')
        expect(column(replica, 'SELECT document_id FROM scribe.document_list()'),
               sorted((docs['letter'], docs['upside_down']), reverse=True),
               'their list there lacks the note deleted on the primary')
        expect_error('25006', 'this node is a read replica', 'deleting on the replica is refused',
                     lambda: replica.execute('SELECT scribe.document_delete(%s)', [docs['letter']]))
    with acting_for(replica, BROOKS):
        expect(replica.execute('SELECT * FROM scribe.document_get(%s)', [docs['letter']]).fetchall(), [],
               'the Brookses get no row for the Andersens\' letter on the replica')
        expect(column(replica, 'SELECT document_id FROM scribe.document_search(%s)', ['Margaret']), [],
               'nor find it')
        expect(one(replica, 'SELECT scribe.document_get_text(%s)', [docs['letter']]), None, 'nor read its text')
        expect(column(replica, 'SELECT document_id FROM scribe.document_list()'), [docs['diary']],
               'and list their own diary only')


def stop_children():
    """Kill the consumer processes still running (a run that failed half-way)"""
    for proc in CHILDREN:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def run(args):
    """The whole application, step by step"""
    atexit.register(stop_children)
    say(f'the families of this run: {ANDERSEN} and {BROOKS}')
    conn = connect(args.primary)
    listener = connect(args.primary)
    replica = connect(args.replica)
    step_role(conn)
    docs = step_submit(conn, listener, args.fixtures)
    step_completion(conn, listener, docs, args.timeout)
    step_read(conn, docs, args.fixtures)
    step_consumers(args, conn, listener, docs)
    step_cache(conn)
    step_replica(args, conn, replica, docs)
    if FAILURES:
        say(f'{len(FAILURES)} check(s) failed: ' + '; '.join(FAILURES))
        return 1
    say('all checks passed')
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    sub = parser.add_subparsers(dest='command')
    parser.add_argument('--primary', help='conninfo of the primary, as the application role')
    parser.add_argument('--replica', help='conninfo of the replica, as the application role')
    parser.add_argument('--fixtures', help='test/fixtures: the scans to upload are in its scans/ and demo/')
    parser.add_argument('--timeout', type=float, default=180, help='seconds to wait for any one event')
    c = sub.add_parser('consume')
    c.add_argument('--conninfo', required=True)
    c.add_argument('--queue', required=True)
    c.add_argument('--name', required=True)
    c.add_argument('--timeout', type=float, default=180)
    c.add_argument('--lease', type=float, help='seconds of lease per claim (the queue\'s by default)')
    c.add_argument('--hang-after-claim', action='store_true')
    args = parser.parse_args()
    if args.command == 'consume':
        return consume(args)
    if not (args.primary and args.replica and args.fixtures):
        parser.error('--primary, --replica and --fixtures are required')
    return run(args)


if __name__ == '__main__':
    sys.exit(main())
