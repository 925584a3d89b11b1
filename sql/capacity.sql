-- Capacity planning: scribe.capacity_plan() reproduces the planner it
-- replaces (FamilyTales' CapacityPlanner) for given parameters, refuses
-- nonsense, and with measured => true starts from this installation's own
-- rates, which scribe.capacity_inputs() shows with their source.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_scribe;
RESET client_min_messages;
\set SHOW_CONTEXT never
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/include/outcome.sql

-- the default plan: 1000 users growing 15 % a month, 10 documents of 2.5 MB
-- each per user and month
SELECT * FROM scribe.capacity_plan();

-- the seed's output for three parameter sets, computed by its Python formulas
-- (users = int(start * (1 + growth) ** month), documents = int(users * docs),
-- storage = documents * mb * (1 + ratio) / 1024, rps = users * active,
-- connections = int(min(users * fraction, max)), workers = max(1,
-- int(documents / (30 * 24 * 60 * per_minute))), cost = storage * per_gb +
-- rps / 100 * per_100_rps + workers * per_worker, round(x, 2)); month 10
-- of the defaults has rps 4045 * 0.001, a double just under 4.045: 4.04
CREATE TEMP TABLE seed_expected (plan text, month integer, users bigint, documents bigint, storage_gb numeric,
                                 peak_rps numeric, connections bigint, workers bigint, cost_usd numeric);
INSERT INTO seed_expected VALUES
    ('defaults', 0, 1000, 10000, 26.86, 1.0, 10, 1, 101.12),
    ('defaults', 1, 1150, 11500, 30.88, 1.15, 11, 1, 101.29),
    ('defaults', 2, 1322, 13220, 35.5, 1.32, 13, 1, 101.48),
    ('defaults', 3, 1520, 15200, 40.82, 1.52, 15, 1, 101.7),
    ('defaults', 4, 1749, 17490, 46.97, 1.75, 17, 1, 101.95),
    ('defaults', 5, 2011, 20110, 54.01, 2.01, 20, 1, 102.25),
    ('defaults', 6, 2313, 23130, 62.12, 2.31, 23, 1, 102.59),
    ('defaults', 7, 2660, 26600, 71.44, 2.66, 26, 1, 102.97),
    ('defaults', 8, 3059, 30590, 82.15, 3.06, 30, 1, 103.42),
    ('defaults', 9, 3517, 35170, 94.45, 3.52, 35, 1, 103.93),
    ('defaults', 10, 4045, 40450, 108.63, 4.04, 40, 1, 104.52),
    ('defaults', 11, 4652, 46520, 124.93, 4.65, 46, 1, 105.2),
    ('changed', 0, 250, 30000, 146.48, 5.0, 12, 1, 96.65),
    ('changed', 1, 350, 42000, 205.08, 7.0, 17, 1, 103.31),
    ('changed', 2, 489, 58680, 286.52, 9.78, 24, 2, 192.56),
    ('changed', 3, 685, 82200, 401.37, 13.7, 34, 3, 285.62),
    ('changed', 4, 960, 115200, 562.5, 19.2, 48, 5, 463.93),
    ('changed', 5, 1344, 161280, 787.5, 26.88, 60, 7, 649.5),
    ('shrinking', 0, 5000, 17500, 13.67, 15.0, 10, 1, 107.81),
    ('shrinking', 1, 4000, 14000, 10.94, 12.0, 8, 1, 106.25),
    ('shrinking', 2, 3200, 11200, 8.75, 9.6, 6, 1, 105.0),
    ('shrinking', 3, 2560, 8960, 7.0, 7.68, 5, 1, 104.0);
WITH planned AS (
    SELECT 'defaults' AS plan, p.* FROM scribe.capacity_plan() p
    UNION ALL
    SELECT 'changed', p.* FROM scribe.capacity_plan(months => 6, start_users => 250, user_growth => 0.4,
        docs_per_user => 120, mb_per_document => 4, derived_ratio => 0.25, active_fraction => 0.02,
        connection_fraction => 0.05, max_connections => 60, docs_per_minute_per_worker => 0.5,
        usd_per_gb => 0.1, usd_per_100_rps => 40, usd_per_worker => 80) p
    UNION ALL
    SELECT 'shrinking', p.* FROM scribe.capacity_plan(4, 5000, -0.2, 3.5, 0.8, 0, 0.003, 0.002, 1000, 1) p
)
SELECT coalesce(e.plan, p.plan) AS plan, count(e.month) AS seed_months, count(p.month) AS planned_months,
       count(*) FILTER (WHERE (p.users, p.documents, p.storage_gb, p.peak_rps, p.connections, p.workers, p.cost_usd)
                              = (e.users, e.documents, e.storage_gb, e.peak_rps, e.connections, e.workers, e.cost_usd))
           AS months_equal
FROM seed_expected e FULL JOIN planned p ON p.plan = e.plan AND p.month = e.month
GROUP BY 1 ORDER BY 1;

-- the changed plan: more workers than one, connections capped at 60
SELECT month, users, documents, documents_total, storage_gb_total, connections, workers, cost_usd
FROM scribe.capacity_plan(months => 6, start_users => 250, user_growth => 0.4,
    docs_per_user => 120, mb_per_document => 4, derived_ratio => 0.25, active_fraction => 0.02,
    connection_fraction => 0.05, max_connections => 60, docs_per_minute_per_worker => 0.5,
    usd_per_gb => 0.1, usd_per_100_rps => 40, usd_per_worker => 80);

-- OCR cost per document, which the seed did not count, adds documents * price
SELECT month, documents, cost_usd FROM scribe.capacity_plan(months => 2, ocr_usd_per_document => 0.0001);

-- nonsense is refused, naming the argument
SELECT pg_temp.outcome($$SELECT scribe.capacity_plan(months => NULL)$$);
SELECT pg_temp.outcome($$SELECT scribe.capacity_plan(months => 0)$$);
SELECT pg_temp.outcome($$SELECT scribe.capacity_plan(start_users => -1)$$);
SELECT pg_temp.outcome($$SELECT scribe.capacity_plan(user_growth => -1)$$);
SELECT pg_temp.outcome($$SELECT scribe.capacity_plan(user_growth => 15)$$);
SELECT pg_temp.outcome($$SELECT scribe.capacity_plan(docs_per_user => NULL)$$);
SELECT pg_temp.outcome($$SELECT scribe.capacity_plan(active_fraction => 2)$$);
SELECT pg_temp.outcome($$SELECT scribe.capacity_plan(max_connections => 0)$$);
SELECT pg_temp.outcome($$SELECT scribe.capacity_plan(docs_per_minute_per_worker => 0)$$);
SELECT pg_temp.outcome($$SELECT scribe.capacity_plan(usd_per_worker => -5)$$);
SELECT pg_temp.outcome($$SELECT scribe.capacity_plan(measured => NULL)$$);
SELECT pg_temp.outcome($$SELECT scribe.capacity_plan(months => 600, user_growth => 1)$$);

-- measured: in a transaction (now() stands still) on tables emptied for it
BEGIN;
DELETE FROM scribe.document_pages;
DELETE FROM scribe.documents;
DELETE FROM scribe.ocr_ledger;

-- nothing measured yet: every input is the default, and so is the plan
SELECT input, value, source, evidence FROM scribe.capacity_inputs();
SELECT count(*) AS months_differing FROM (
    SELECT month, users, documents, storage_gb, peak_rps, connections, workers, cost_usd
    FROM scribe.capacity_plan(measured => true)
    EXCEPT
    SELECT month, users, documents, storage_gb, peak_rps, connections, workers, cost_usd
    FROM scribe.capacity_plan()) d;
SELECT DISTINCT basis FROM scribe.capacity_plan(measured => true);

-- three days of history: users are measured, monthly rates not yet
INSERT INTO scribe.documents (owner, image, image_format, image_bytes, pages, submitted_at)
SELECT 'family-' || i % 4, '\x00', 'png', 1048576, 1, now() - interval '3 days' + i * interval '1 minute'
FROM generate_series(1, 8) i;
SELECT input, value, source, evidence FROM scribe.capacity_inputs();
DELETE FROM scribe.documents;

-- two months of history: two owners a month ago, three now
INSERT INTO scribe.documents (owner, image, image_format, image_bytes, pages, submitted_at)
VALUES ('family-a', '\x00', 'png', 9999999, 1, now() - interval '70 days'),
       ('family-a', '\x00', 'png', 9999999, 1, now() - interval '45 days'),
       ('family-b', '\x00', 'png', 9999999, 1, now() - interval '40 days');
-- twelve documents in the last 30 days, 1 and 3 MB: 4 per owner, 2 MB on average
INSERT INTO scribe.documents (owner, image, image_format, image_bytes, pages, status, text, seconds, submitted_at)
SELECT (ARRAY['family-a', 'family-b', 'family-c'])[i % 3 + 1], '\x00', 'png',
       CASE WHEN i % 2 = 0 THEN 1048576 ELSE 3 * 1048576 END, 1,
       CASE WHEN i <= 10 THEN 'done' ELSE 'queued' END,
       CASE WHEN i <= 10 THEN repeat('lorem ', 1748) END,
       -- 3 s of OCR each; one document has only its pages' seconds
       CASE WHEN i <= 9 THEN 3 END,
       now() - i * interval '2 days'
FROM generate_series(1, 12) i;
INSERT INTO scribe.document_pages (document_id, page, text, seconds)
SELECT document_id, p, '', 1.5 FROM scribe.documents, generate_series(1, 2) p
WHERE status = 'done' AND seconds IS NULL;
-- the ledger: two documents, three pages, 0.0031 USD; an older entry does not count
INSERT INTO scribe.ocr_ledger (recorded_at, owner, document_id, page, method, cost)
VALUES (now() - interval '1 day', 'family-a', 101, 1, 'cloud', 0.0015),
       (now() - interval '1 day', 'family-a', 101, 2, 'cloud', 0.0015),
       (now() - interval '2 days', 'family-b', 102, 1, 'local', 0.0001),
       (now() - interval '40 days', 'family-b', 99, 1, 'cloud', 0.0015);
SELECT input, value, source, evidence FROM scribe.capacity_inputs();

-- the measured plan is the plan of those values
SELECT * FROM scribe.capacity_plan(months => 3, measured => true);
SELECT count(*) AS months_differing FROM (
    SELECT month, users, documents, storage_gb, peak_rps, connections, workers, cost_usd
    FROM scribe.capacity_plan(months => 3, measured => true)
    EXCEPT
    SELECT month, users, documents, storage_gb, peak_rps, connections, workers, cost_usd
    FROM scribe.capacity_plan(months => 3, start_users => 3, user_growth => 0.5, docs_per_user => 4,
        mb_per_document => 2, derived_ratio => (SELECT value FROM scribe.capacity_inputs() WHERE input = 'derived_ratio'),
        docs_per_minute_per_worker => 20, ocr_usd_per_document => 0.00155)) d;
-- parameters that are not measured still apply
SELECT month, connections, cost_usd
FROM scribe.capacity_plan(months => 2, measured => true, connection_fraction => 1, usd_per_worker => 0);

-- monitoring roles may plan: it reads every owner's documents as the owner of the extension
CREATE ROLE regress_capacity_monitor IN ROLE pg_monitor;
SET ROLE regress_capacity_monitor;
SELECT count(*) AS inputs_measured FROM scribe.capacity_inputs() WHERE source = 'measured';
SELECT count(*) AS months FROM scribe.capacity_plan(measured => true);
SELECT pg_temp.outcome($$SELECT count(*) FROM scribe.documents$$);
RESET ROLE;
ROLLBACK;
