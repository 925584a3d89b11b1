-- Privileges: nothing for PUBLIC; producers, consumers and readers get what
-- they are granted (EXECUTE on the functions, and the queue's owner's grant
-- of send or claim on its queue); sql jobs run only what their role may run.
-- test/t/029_queue_rights.pl tries the per-queue rights in depth.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_scribe;
RESET client_min_messages;
\set SHOW_CONTEXT never
SELECT count(*) FROM scribe.queue_create('priv_w');
SELECT count(*) FROM scribe.queue_create('priv_c', consumer => 'clients');

CREATE ROLE regress_scribe_producer;
CREATE ROLE regress_scribe_other;
GRANT EXECUTE ON FUNCTION scribe.send(text, jsonb, text, interval, timestamptz, integer, text, integer)
    TO regress_scribe_producer, regress_scribe_other;
GRANT EXECUTE ON FUNCTION scribe.job_get(bigint) TO regress_scribe_producer, regress_scribe_other;
CREATE FUNCTION public.priv_private(args jsonb) RETURNS jsonb LANGUAGE sql AS $$ SELECT args $$;
REVOKE ALL ON FUNCTION public.priv_private(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.priv_private(jsonb) TO regress_scribe_other;

SET ROLE regress_scribe_producer;
-- EXECUTE on send is not enough: the queue's owner grants send on its queue
SELECT scribe.send('priv_c', '{"secret": "mine"}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT scribe.queue_grant('priv_w', 'regress_scribe_producer', '{send}');
SELECT scribe.queue_grant('priv_c', 'regress_scribe_producer', '{send}');
SELECT scribe.queue_grant('priv_w', 'regress_scribe_other', '{send}');
SELECT q.name, r.grantee, r.may_send, r.may_claim
FROM scribe.queue_rights r JOIN scribe.queues q USING (queue_id) ORDER BY 1, 2;
SET ROLE regress_scribe_producer;
-- a role may not enqueue a sql job for a function it may not run
SELECT scribe.send('priv_w', '{"function": "public.priv_private"}', kind => 'sql');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.send('priv_c', '{"secret": "mine"}') AS mine \gset
SELECT payload FROM scribe.job_get(:mine);
-- not granted: claiming, the tables, the queue admin
SELECT * FROM scribe.claim('priv_c');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT count(*) FROM scribe.jobs;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.queue_create('priv_mine');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
RESET ROLE;

SET ROLE regress_scribe_other;
-- another role cannot read the job, nor send to a queue it was not granted
SELECT payload FROM scribe.job_get(:mine);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.send('priv_c', '{}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.send('priv_w', '{"function": "public.priv_private"}', kind => 'sql') AS theirs \gset
RESET ROLE;
-- the job records who enqueued it: the worker runs it as that role
SELECT enqueued_by FROM scribe.job_get(:theirs);
SELECT enqueued_by FROM scribe.job_get(:mine);

SELECT scribe.queue_drop('priv_w', force => true);
SELECT scribe.queue_drop('priv_c', force => true);
DROP FUNCTION public.priv_private(jsonb);
REVOKE ALL ON FUNCTION scribe.send(text, jsonb, text, interval, timestamptz, integer, text, integer)
    FROM regress_scribe_producer, regress_scribe_other;
REVOKE ALL ON FUNCTION scribe.job_get(bigint) FROM regress_scribe_producer, regress_scribe_other;
DROP ROLE regress_scribe_producer, regress_scribe_other;

-- a monitoring role sees the workers (worker_status() names their queues)
CREATE ROLE regress_scribe_watcher IN ROLE pg_monitor;
SET ROLE regress_scribe_watcher;
SELECT count(*) >= 0 AS monitor_sees_workers FROM scribe.worker_status();
RESET ROLE;
DROP ROLE regress_scribe_watcher;
