-- scribe.metrics(): the families it declares, each with HELP and TYPE, none twice
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_scribe;
RESET client_min_messages;
WITH lines AS (SELECT line FROM regexp_split_to_table(scribe.metrics(), E'\n') AS line)
SELECT split_part(line, ' ', 3) AS family, split_part(line, ' ', 4) AS type
FROM lines WHERE line LIKE '# TYPE %' ORDER BY 1;
-- every family has one HELP line and one TYPE line, and every sample belongs to a declared family
WITH lines AS (SELECT line FROM regexp_split_to_table(scribe.metrics(), E'\n') AS line),
     types AS (SELECT split_part(line, ' ', 3) AS family FROM lines WHERE line LIKE '# TYPE %'),
     helps AS (SELECT split_part(line, ' ', 3) AS family FROM lines WHERE line LIKE '# HELP %'),
     samples AS (SELECT substring(line FROM '^[a-z_]+') AS name FROM lines WHERE line <> '' AND line NOT LIKE '#%')
SELECT (SELECT count(*) FROM types) = (SELECT count(DISTINCT family) FROM types) AS no_duplicate_family,
       (SELECT array_agg(family ORDER BY family) FROM types) = (SELECT array_agg(family ORDER BY family) FROM helps) AS help_for_each,
       NOT EXISTS (SELECT FROM samples s WHERE NOT EXISTS (
           SELECT FROM types t WHERE s.name = t.family OR s.name IN (t.family || '_bucket', t.family || '_sum', t.family || '_count'))) AS samples_declared,
       scribe.metrics() LIKE '%scribe_job_wait_seconds_bucket{queue="ocr",le="+Inf"} %' AS histogram_has_inf;
