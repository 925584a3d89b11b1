-- pg_scribe functions: capacity planning.
--
-- scribe.capacity_plan projects users, documents, storage, peak requests,
-- connections, workers and cost month by month.  Its formulas and defaults
-- are those of the capacity planner pg_scribe replaces (FamilyTales'
-- CapacityPlanner), so that a plan made before the move reads the same
-- after it; scribe.capacity_inputs measures what this installation does
-- instead, and capacity_plan(measured => true) starts from that.

-- ERROR unless a planning argument is given and within [low, high]
CREATE OR REPLACE FUNCTION scribe._capacity_check(name text, value numeric, low numeric, high numeric, hint text)
    RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF value IS NULL OR value < low OR value > high THEN
        RAISE EXCEPTION '% must be between % and %, not %', name, low, high, coalesce(value::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value', HINT = hint;
    END IF;
END
$$;
COMMENT ON FUNCTION scribe._capacity_check(text, numeric, numeric, numeric, text) IS 'Internal: ERROR (22023) unless a planning argument is not NULL and within its bounds';

-- Round to cents as Python's round(x, 2) does: half to even on the exact
-- binary value, so 4045 * 0.001 (a double just under 4.045) gives 4.04
CREATE OR REPLACE FUNCTION scribe._capacity_round(x float8)
    RETURNS numeric
    LANGUAGE plpgsql IMMUTABLE STRICT
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    rest float8 := abs(x) - trunc(abs(x));
    piece float8;
    -- abs(x) * 2^104 as an integer: the whole part (exact below 10^15) and
    -- the fraction 26 bits at a time, each step exact in binary
    n numeric := trunc(abs(x))::numeric;
    unit numeric := 20282409603651670423947251286016;  -- 2^104
    q numeric;
    r numeric;
BEGIN
    IF x = 'NaN' OR abs(x) >= 1e15 THEN
        RETURN round(x::numeric, 2);
    END IF;
    FOR i IN 1..4 LOOP
        rest := rest * 67108864;
        piece := trunc(rest);
        rest := rest - piece;
        n := n * 67108864 + piece::numeric;
    END LOOP;
    q := div(n * 100, unit);
    r := mod(n * 100, unit);
    IF 2 * r > unit OR (2 * r = unit AND mod(q, 2) = 1) THEN
        q := q + 1;
    END IF;
    RETURN round(sign(x)::numeric * q / 100, 2);
END
$$;
COMMENT ON FUNCTION scribe._capacity_round(float8) IS 'Internal: round a double to cents as Python''s round(x, 2) does (half to even on the exact binary value)';

-- Measured over the last 30 days (growth: against the 30 days before).  The
-- defaults shown for what was not measured are capacity_plan's.
CREATE OR REPLACE FUNCTION scribe.capacity_inputs()
    RETURNS TABLE (input text, value numeric, source text, evidence text)
    LANGUAGE sql STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
    WITH span AS (
        -- how much of the 30-day window the installation has lived through,
        -- and whether it goes back far enough to compare two windows
        SELECT least(30, extract(epoch FROM now() - min(submitted_at)) / 86400)::numeric AS days,
               coalesce(min(submitted_at) <= now() - interval '60 days', false) AS two_windows
        FROM scribe.documents
    ), recent AS (
        SELECT count(*) AS documents,
               count(DISTINCT d.owner) AS owners,
               avg(d.image_bytes) AS image_bytes
        FROM scribe.documents d
        WHERE d.submitted_at >= now() - interval '30 days' AND d.submitted_at < now()
    ), previous AS (
        SELECT count(DISTINCT d.owner) AS owners
        FROM scribe.documents d
        WHERE d.submitted_at >= now() - interval '60 days' AND d.submitted_at < now() - interval '30 days'
    ), done AS (
        -- the recognised documents: OCR time, and what recognition adds to a scan
        SELECT count(*) AS documents,
               avg(coalesce(d.seconds, p.seconds)::numeric) FILTER (WHERE coalesce(d.seconds, p.seconds) > 0) AS seconds,
               sum(d.image_bytes) AS image_bytes,
               sum(coalesce(octet_length(d.text), 0) + coalesce(p.bytes, 0)) AS derived_bytes
        FROM scribe.documents d
        LEFT JOIN LATERAL (
            SELECT sum(dp.seconds) AS seconds, sum(pg_column_size(dp.*)) AS bytes
            FROM scribe.document_pages dp WHERE dp.document_id = d.document_id) p ON true
        WHERE d.status = 'done'
          AND d.submitted_at >= now() - interval '30 days' AND d.submitted_at < now()
    ), ledger AS (
        SELECT count(DISTINCT l.document_id) AS documents, sum(l.cost) AS cost
        FROM scribe.ocr_ledger l
        WHERE l.recorded_at >= now() - interval '30 days' AND l.recorded_at < now()
          AND l.document_id IS NOT NULL
    ), inputs (ord, input, measured, fallback, evidence) AS (
        SELECT 1, 'start_users',
               CASE WHEN r.owners > 0 THEN r.owners::numeric END, 1000::numeric,
               format('%s owners with documents in the last 30 days', r.owners)
        FROM recent r
        UNION ALL
        SELECT 2, 'user_growth',
               CASE WHEN s.two_windows AND pv.owners > 0 AND r.owners > 0
                    THEN round(r.owners::numeric / pv.owners - 1, 4) END, 0.15,
               CASE WHEN s.two_windows
                    THEN format('%s owners in the last 30 days, %s in the 30 days before', r.owners, pv.owners)
                    ELSE 'needs documents older than 60 days' END
        FROM recent r, previous pv, span s
        UNION ALL
        -- under a week of history says little about a month
        SELECT 3, 'docs_per_user',
               CASE WHEN r.owners > 0 AND s.days >= 7
                    THEN round(r.documents::numeric / r.owners * 30 / s.days, 2) END, 10,
               CASE WHEN s.days >= 7
                    THEN format('%s documents by %s owners in %s days', r.documents, r.owners, round(s.days))
                    ELSE format('needs 7 days of history, has %s', coalesce(round(s.days, 1), 0)) END
        FROM recent r, span s
        UNION ALL
        SELECT 4, 'mb_per_document',
               round(r.image_bytes / 1048576, 3), 2.5,
               format('average image_bytes of %s documents in the last 30 days', r.documents)
        FROM recent r
        UNION ALL
        SELECT 5, 'derived_ratio',
               CASE WHEN d.image_bytes > 0 THEN round(d.derived_bytes / d.image_bytes, 4) END, 0.1,
               format('text and pages relative to the scan, %s recognised documents in the last 30 days', d.documents)
        FROM done d
        UNION ALL
        SELECT 6, 'docs_per_minute_per_worker',
               round(60 / d.seconds, 2), 10,
               CASE WHEN d.seconds IS NOT NULL
                    THEN format('%s s of OCR per document on average', round(d.seconds, 2))
                    ELSE 'no recognised document with its OCR time in the last 30 days' END
        FROM done d
        UNION ALL
        SELECT 7, 'ocr_usd_per_document',
               round(l.cost / nullif(l.documents, 0), 6), 0,
               format('ledger: %s documents, %s USD in the last 30 days', l.documents, coalesce(l.cost, 0)::numeric(14, 6))
        FROM ledger l
    )
    SELECT input, coalesce(measured, fallback),
           CASE WHEN measured IS NULL THEN 'default' ELSE 'measured' END, evidence
    FROM inputs ORDER BY ord
$$;
COMMENT ON FUNCTION scribe.capacity_inputs() IS 'The planning inputs this installation measures (users, growth, documents per user, size, OCR speed and cost over the last 30 days), each with its value, source (measured or default) and evidence';

CREATE OR REPLACE FUNCTION scribe.capacity_plan(
    months                     integer DEFAULT 12,
    start_users                numeric DEFAULT 1000,
    user_growth                numeric DEFAULT 0.15,
    docs_per_user              numeric DEFAULT 10,
    mb_per_document            numeric DEFAULT 2.5,
    derived_ratio              numeric DEFAULT 0.1,
    active_fraction            numeric DEFAULT 0.001,
    connection_fraction        numeric DEFAULT 0.01,
    max_connections            integer DEFAULT 1000,
    docs_per_minute_per_worker numeric DEFAULT 10,
    usd_per_gb                 numeric DEFAULT 0.023,
    usd_per_100_rps            numeric DEFAULT 50,
    usd_per_worker             numeric DEFAULT 100,
    ocr_usd_per_document       numeric DEFAULT 0,
    measured                   boolean DEFAULT false)
    RETURNS TABLE (month integer, users bigint, documents bigint, documents_total bigint,
                   storage_gb numeric, storage_gb_total numeric, peak_rps numeric,
                   connections bigint, workers bigint, cost_usd numeric, basis text)
    LANGUAGE plpgsql STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    i record;
    used text[] := '{}';
BEGIN
    IF measured IS NULL THEN
        RAISE EXCEPTION 'measured must be true or false, not NULL'
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Leave it out to plan from the parameters.';
    END IF;
    -- the arguments; measured values replace some of them after
    PERFORM scribe._capacity_check('months', months, 1, 1200, 'Plan between 1 month and 100 years.');
    PERFORM scribe._capacity_check('start_users', start_users, 0, 1e9, 'Pass the users at the start, such as 1000.');
    PERFORM scribe._capacity_check('user_growth', user_growth, -0.99, 10,
        'Growth is a fraction per month: 0.15 is 15 %.');
    PERFORM scribe._capacity_check('docs_per_user', docs_per_user, 0, 1e6, 'Pass documents per user per month, such as 10.');
    PERFORM scribe._capacity_check('mb_per_document', mb_per_document, 0, 1e5, 'Pass megabytes per scanned document, such as 2.5.');
    PERFORM scribe._capacity_check('derived_ratio', derived_ratio, 0, 1000,
        'Bytes derived from a document (text, pages) per byte of scan: 0.1 is 10 %.');
    PERFORM scribe._capacity_check('active_fraction', active_fraction, 0, 1,
        'The share of users sending a request in the peak second: 0.001 is 0.1 %.');
    PERFORM scribe._capacity_check('connection_fraction', connection_fraction, 0, 1,
        'Database connections per user: 0.01 is one per hundred users.');
    PERFORM scribe._capacity_check('max_connections', max_connections, 1, 1e6,
        'Pass the most database connections the plan may use, such as 1000.');
    PERFORM scribe._capacity_check('docs_per_minute_per_worker', docs_per_minute_per_worker, 0.001, 1e6,
        'Pass the documents one worker recognises per minute, such as 10.');
    PERFORM scribe._capacity_check('usd_per_gb', usd_per_gb, 0, 1e6, 'Pass a price in USD, 0 or more.');
    PERFORM scribe._capacity_check('usd_per_100_rps', usd_per_100_rps, 0, 1e6, 'Pass a price in USD, 0 or more.');
    PERFORM scribe._capacity_check('usd_per_worker', usd_per_worker, 0, 1e6, 'Pass a price in USD, 0 or more.');
    PERFORM scribe._capacity_check('ocr_usd_per_document', ocr_usd_per_document, 0, 1e3, 'Pass a price in USD, 0 or more.');
    IF measured THEN
        -- a measured input replaces the parameter; the others keep it
        FOR i IN SELECT * FROM scribe.capacity_inputs() c WHERE c.source = 'measured' LOOP
            CASE i.input
                WHEN 'start_users' THEN start_users := i.value;
                WHEN 'user_growth' THEN user_growth := i.value;
                WHEN 'docs_per_user' THEN docs_per_user := i.value;
                WHEN 'mb_per_document' THEN mb_per_document := i.value;
                WHEN 'derived_ratio' THEN derived_ratio := i.value;
                WHEN 'docs_per_minute_per_worker' THEN docs_per_minute_per_worker := i.value;
                WHEN 'ocr_usd_per_document' THEN ocr_usd_per_document := i.value;
            END CASE;
            used := used || i.input;
        END LOOP;
    END IF;

    IF start_users * power(1 + user_growth, months - 1) > 1e12 THEN
        RAISE EXCEPTION 'the plan grows past 10^12 users'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Plan fewer months, or from a lower user_growth (with measured => true, scribe.capacity_inputs() shows the growth measured).';
    END IF;

    -- the seed's arithmetic, in the seed's binary floating point and order of
    -- operations: int() truncates users, documents, connections and workers;
    -- storage, requests and cost are rounded as Python's round() does
    RETURN QUERY
    WITH m AS (
        SELECT g.m, trunc(start_users::float8 * power(1 + user_growth::float8, g.m)) AS users
        FROM generate_series(0, months - 1) AS g(m)
    ), d AS (
        SELECT m.m, m.users, trunc(m.users * docs_per_user::float8) AS documents
        FROM m
    ), r AS (
        SELECT d.m, d.users, d.documents,
               d.documents * mb_per_document::float8 * (1 + derived_ratio::float8) / 1024 AS storage,
               d.users * active_fraction::float8 AS rps,
               least(trunc(d.users * connection_fraction::float8), max_connections) AS connections,
               greatest(1, trunc(d.documents / (30 * 24 * 60 * docs_per_minute_per_worker::float8))) AS workers
        FROM d
    )
    SELECT r.m, r.users::bigint, r.documents::bigint,
           (sum(r.documents) OVER w)::bigint,
           scribe._capacity_round(r.storage), scribe._capacity_round(sum(r.storage) OVER w),
           scribe._capacity_round(r.rps), r.connections::bigint, r.workers::bigint,
           scribe._capacity_round(r.storage * usd_per_gb::float8 + r.rps / 100 * usd_per_100_rps::float8
                                  + r.workers * usd_per_worker::float8
                                  + r.documents * ocr_usd_per_document::float8),
           CASE WHEN cardinality(used) = 0 THEN 'parameters'
                ELSE 'measured: ' || array_to_string(used, ', ') END
    FROM r
    WINDOW w AS (ORDER BY r.m)
    ORDER BY r.m;
END
$$;
COMMENT ON FUNCTION scribe.capacity_plan(integer, numeric, numeric, numeric, numeric, numeric, numeric, numeric, integer, numeric, numeric, numeric, numeric, numeric, boolean) IS 'Project users, documents, storage, peak requests per second, connections, workers and cost month by month, from parameters (defaults: the FamilyTales planner) or, with measured => true, from this installation''s measured rates';

