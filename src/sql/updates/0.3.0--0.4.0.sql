-- pg_scribe update 0.3.0 -> 0.4.0: the schema delta (issue 17, the
-- application's side).  Only what CREATE OR REPLACE cannot do goes here; the
-- build puts every function file after it (docs/development.md, "How the SQL
-- is built and upgraded").  test/t/090_extension_update.pl compares the
-- result with a fresh install.

-- ---------------------------------------------------------------------------
-- Claims that wait (issue 17, item 5): scribe.claim() gains wait => interval.
-- The new signature is created here (the function files replace it), takes
-- the grants a DBA made on the old one (a consumer role keeps its EXECUTE),
-- and the old three-argument signature goes.
-- ---------------------------------------------------------------------------
CREATE FUNCTION scribe.claim(queue text, n integer DEFAULT 1, lease_for interval DEFAULT NULL,
    wait interval DEFAULT NULL)
    RETURNS SETOF scribe.claimed_job
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_claim';
DO $claim_grants$
DECLARE
    old_acl aclitem[] := (SELECT proacl FROM pg_catalog.pg_proc
                          WHERE oid = 'scribe.claim(text, integer, interval)'::pg_catalog.regprocedure);
    a record;
BEGIN
    IF old_acl IS NULL THEN
        RETURN;                 -- the default: EXECUTE for PUBLIC, as the new one has
    END IF;
    REVOKE ALL ON FUNCTION scribe.claim(text, integer, interval, interval) FROM PUBLIC;
    FOR a IN SELECT * FROM pg_catalog.aclexplode(old_acl) LOOP
        EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION scribe.claim(text, integer, interval, interval) TO %s%s',
            CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::pg_catalog.regrole::text END,
            CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
    END LOOP;
END
$claim_grants$;
DROP FUNCTION scribe.claim(text, integer, interval);

-- ---------------------------------------------------------------------------
-- Owners and the document API (issue 17, items 2-4): the document functions
-- become C entry points that know their caller and scribe.owner; those whose
-- arguments or results changed go (their grants with them: docs/upgrading.md);
-- documents remember the queue their completion job goes to.
-- ---------------------------------------------------------------------------
ALTER TABLE scribe.documents ADD COLUMN notify_queue text;
CREATE INDEX documents_owner_id_idx ON scribe.documents (owner, document_id);
-- (IF EXISTS: an update from 0.1.0 or 0.2.0 never made 0.3.0's signatures)
DROP FUNCTION IF EXISTS scribe.document_submit(bytea, text, jsonb, text, text, integer, boolean);
DROP FUNCTION IF EXISTS scribe.document_get(bigint);
DROP FUNCTION IF EXISTS scribe.document_search(text, text, integer, regconfig);
-- Cache loaders with parameters (issue 17, item 6): nothing to do here.
-- scribe.cache_fetch(text, text, interval), the loader without parameters,
-- keeps its signature and its grants.  The forms with parameters,
-- scribe.cache_fetch(text, text, interval, VARIADIC "any"), and
-- scribe.cache_fetch_jsonb in both forms, are new functions made by
-- src/sql/cache.sql; privileges.sql grants them to scribe_app.
-- ---------------------------------------------------------------------------
-- Queues have owners (issue 17, item 7).  scribe.queues.owner: the queues made
-- before the update belong to the bootstrap superuser, as whom pg_scribe's own
-- code runs (their owners grant them with scribe.queue_grant; see
-- docs/upgrading.md).  scribe.queue_rights holds the rights owners give.
-- scribe.queue_alter gains owner => regrole: the new signature is created here
-- (the function files replace it), takes the grants a DBA made on the old
-- one, and the old signature goes.  queue_create, queue_drop, queue_purge and
-- requeue keep their signatures and become C functions that pass their caller
-- on (CREATE OR REPLACE in the function files).
-- ---------------------------------------------------------------------------
ALTER TABLE scribe.queues ADD COLUMN owner regrole NOT NULL DEFAULT 10::pg_catalog.oid::pg_catalog.regrole;
ALTER TABLE scribe.queues ALTER COLUMN owner DROP DEFAULT;
CREATE TABLE scribe.queue_rights (
    queue_id  integer NOT NULL REFERENCES scribe.queues ON DELETE CASCADE,
    grantee   regrole NOT NULL,
    may_send  boolean NOT NULL,
    may_claim boolean NOT NULL,
    PRIMARY KEY (queue_id, grantee),
    CHECK (may_send OR may_claim)
);
SELECT pg_catalog.pg_extension_config_dump('scribe.queue_rights', '');

CREATE FUNCTION scribe.queue_alter(
    name         text,
    consumer     text DEFAULT NULL,
    lease        interval DEFAULT NULL,
    max_attempts integer DEFAULT NULL,
    backoff_base interval DEFAULT NULL,
    backoff_cap  interval DEFAULT NULL,
    retention    interval DEFAULT NULL,
    owner        regrole DEFAULT NULL)
    RETURNS scribe.queues
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_queue_admin_call';
DO $queue_alter_grants$
DECLARE
    old_acl aclitem[] := (SELECT proacl FROM pg_catalog.pg_proc
                          WHERE oid = 'scribe.queue_alter(text, text, interval, integer, interval, interval, interval)'::pg_catalog.regprocedure);
    a record;
BEGIN
    REVOKE ALL ON FUNCTION scribe.queue_alter(text, text, interval, integer, interval, interval, interval, regrole) FROM PUBLIC;
    FOR a IN SELECT * FROM pg_catalog.aclexplode(old_acl) LOOP
        CONTINUE WHEN a.grantee = a.grantor;    -- the owner's own
        EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION scribe.queue_alter(text, text, interval, integer, interval, interval, interval, regrole) TO %s%s',
            CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::pg_catalog.regrole::text END,
            CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
    END LOOP;
END
$queue_alter_grants$;
DROP FUNCTION scribe.queue_alter(text, text, interval, integer, interval, interval, interval);
-- every backend's queue cache learns at commit that queues now have owners
SELECT scribe._queues_changed();
