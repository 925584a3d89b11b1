-- pg_scribe functions: who may use a queue.
--
-- A queue belongs to the role that created it (scribe.queues.owner; the
-- built-in queues to the bootstrap superuser).  Its owner grants send and
-- claim to other roles (scribe.queue_grant / queue_revoke); a role has a
-- right when it has the privileges of the owner, of a grantee of the right
-- (membership, as for PostgreSQL's GRANT), or of scribe_admin, or is a
-- superuser.  The verbs check it in C on every call (src/queue/queue_rights.c);
-- the administrative functions here.

COMMENT ON TABLE scribe.queue_rights IS 'The rights on each queue that its owner gave other roles (change them with scribe.queue_grant / queue_revoke)';
REVOKE ALL ON scribe.queue_rights FROM PUBLIC;

-- Whether role has the privileges of a superuser or of scribe_admin, who
-- manage every queue (the C checks answer the same: queue_rights.c)
-- (the C check the queue's verbs and the document functions use)
CREATE OR REPLACE FUNCTION scribe._queue_admin(role regrole) RETURNS boolean
    LANGUAGE c STABLE STRICT
    AS 'MODULE_PATHNAME', 'scribe_queue_admin_sql';
COMMENT ON FUNCTION scribe._queue_admin(regrole) IS 'Internal: whether role has the privileges of a superuser or of scribe_admin';

-- The queue named name, locked, if caller may manage it (alter, drop, purge,
-- requeue, grant, revoke): a member of its owner or of scribe_admin, or a
-- superuser; else ERROR
CREATE OR REPLACE FUNCTION scribe._queue_managed(caller regrole, name text) RETURNS scribe.queues
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    q scribe.queues;
BEGIN
    SELECT * INTO q FROM scribe.queues WHERE queues.name = _queue_managed.name FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM scribe._queue_not_found(_queue_managed.name);
    END IF;
    IF NOT (pg_has_role(caller, q.owner, 'USAGE') OR scribe._queue_admin(caller)) THEN
        RAISE EXCEPTION 'must be owner of queue "%"', q.name
            USING ERRCODE = 'insufficient_privilege',
                  HINT = format('The queue belongs to %s: its members and those of scribe_admin manage it.', q.owner);
    END IF;
    RETURN q;
END
$$;
COMMENT ON FUNCTION scribe._queue_managed(regrole, text) IS 'Internal: the queue named name, locked, if caller may manage it (a member of its owner or of scribe_admin, or a superuser); else ERROR';

-- The role that a queue passes to (queue_alter(owner => ...)): one that
-- exists, of which caller is a member (as ALTER ... OWNER TO asks), unless
-- caller is scribe_admin's or a superuser
CREATE OR REPLACE FUNCTION scribe._queue_new_owner(caller regrole, name text, owner regrole) RETURNS regrole
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_authid a WHERE a.oid = owner) THEN
        RAISE EXCEPTION 'role with OID % does not exist', owner::oid
            USING ERRCODE = 'undefined_object',
                  HINT = 'Give the queue to a role that exists.';
    END IF;
    IF NOT (pg_has_role(caller, owner, 'MEMBER') OR scribe._queue_admin(caller)) THEN
        RAISE EXCEPTION 'must be a member of role % to give it queue "%"', owner, name
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Give the queue to a role you are a member of, or ask a member of scribe_admin.';
    END IF;
    RETURN owner;
END
$$;
COMMENT ON FUNCTION scribe._queue_new_owner(regrole, text, regrole) IS 'Internal: owner, if caller may give it queue name (a member of it, of scribe_admin, or a superuser); else ERROR';

-- The rights a text[] names, checked: send, claim (any case)
CREATE OR REPLACE FUNCTION scribe._queue_rights_parse(rights text[], OUT may_send boolean, OUT may_claim boolean)
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF rights IS NULL OR cardinality(rights) = 0
       OR EXISTS (SELECT FROM unnest(rights) r WHERE r IS NULL OR lower(btrim(r)) NOT IN ('send', 'claim')) THEN
        RAISE EXCEPTION 'invalid queue rights %', COALESCE(quote_literal(rights::text), 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'The rights on a queue are ''{send}'' (send, send_batch), ''{claim}'' (claim, ack, nack, release, extend_lease, job_get) or ''{send,claim}''.';
    END IF;
    may_send := EXISTS (SELECT FROM unnest(rights) r WHERE lower(btrim(r)) = 'send');
    may_claim := EXISTS (SELECT FROM unnest(rights) r WHERE lower(btrim(r)) = 'claim');
END
$$;
COMMENT ON FUNCTION scribe._queue_rights_parse(text[]) IS 'Internal: the rights a text[] names (send, claim); ERROR for anything else';

-- ERROR for a grant or revoke without a role
CREATE OR REPLACE FUNCTION scribe._queue_role_required(role regrole) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF role IS NULL OR role = 0 THEN
        RAISE EXCEPTION 'role must not be NULL'
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Name a role. There is no PUBLIC for queues: to let every application role use a queue, grant it to scribe_app.';
    END IF;
END
$$;
COMMENT ON FUNCTION scribe._queue_role_required(regrole) IS 'Internal: ERROR for a grant or revoke without a role';

-- scribe.queue_grant for caller
CREATE OR REPLACE FUNCTION scribe._queue_grant(caller regrole, queue text, role regrole, rights text[]) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    q scribe.queues := scribe._queue_managed(caller, queue);
    r record := scribe._queue_rights_parse(rights);
BEGIN
    PERFORM scribe._queue_role_required(role);
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_authid a WHERE a.oid = role) THEN
        RAISE EXCEPTION 'role with OID % does not exist', role::oid
            USING ERRCODE = 'undefined_object',
                  HINT = 'Grant the queue to a role that exists.';
    END IF;
    INSERT INTO scribe.queue_rights AS g (queue_id, grantee, may_send, may_claim)
    VALUES (q.queue_id, role, r.may_send, r.may_claim)
    ON CONFLICT (queue_id, grantee) DO UPDATE
        SET may_send = g.may_send OR excluded.may_send, may_claim = g.may_claim OR excluded.may_claim;
    PERFORM scribe._queues_changed();
END
$$;
COMMENT ON FUNCTION scribe._queue_grant(regrole, text, regrole, text[]) IS 'Internal: scribe.queue_grant for caller (called by the C function, as the bootstrap superuser)';

CREATE OR REPLACE FUNCTION scribe.queue_grant(queue text, role regrole, rights text[] DEFAULT '{send,claim}')
    RETURNS void
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_queue_admin_call';
COMMENT ON FUNCTION scribe.queue_grant(text, regrole, text[]) IS 'Let role (and its members) send to a queue, claim from it, or both (rights: send, claim); for the queue''s owner, scribe_admin and superusers';

-- scribe.queue_revoke for caller
CREATE OR REPLACE FUNCTION scribe._queue_revoke(caller regrole, queue text, role regrole, rights text[]) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    q scribe.queues := scribe._queue_managed(caller, queue);
    r record := scribe._queue_rights_parse(rights);
BEGIN
    PERFORM scribe._queue_role_required(role);
    -- the row goes when no right is left (a row holds at least one)
    DELETE FROM scribe.queue_rights g
    WHERE g.queue_id = q.queue_id AND g.grantee = role
      AND (NOT g.may_send OR r.may_send) AND (NOT g.may_claim OR r.may_claim);
    UPDATE scribe.queue_rights g
    SET may_send = g.may_send AND NOT r.may_send, may_claim = g.may_claim AND NOT r.may_claim
    WHERE g.queue_id = q.queue_id AND g.grantee = role;
    PERFORM scribe._queues_changed();
END
$$;
COMMENT ON FUNCTION scribe._queue_revoke(regrole, text, regrole, text[]) IS 'Internal: scribe.queue_revoke for caller (called by the C function, as the bootstrap superuser)';

CREATE OR REPLACE FUNCTION scribe.queue_revoke(queue text, role regrole, rights text[] DEFAULT '{send,claim}')
    RETURNS void
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_queue_admin_call';
COMMENT ON FUNCTION scribe.queue_revoke(text, regrole, text[]) IS 'Take back rights that queue_grant gave role on a queue (its owner keeps every right); for the queue''s owner, scribe_admin and superusers';

-- For other capabilities' SQL: ERROR unless role may use right on queue
CREATE OR REPLACE FUNCTION scribe._queue_check_right(queue text, role regrole, "right" text) RETURNS void
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_queue_check_right_sql';
COMMENT ON FUNCTION scribe._queue_check_right(text, regrole, text) IS 'Internal: ERROR (42501) unless the queue exists and role may use right (send or claim) on it';

-- Forget dropped roles (the launcher, hourly): delete their grants, give
-- their queues to the bootstrap superuser, before an OID could come back as
-- another role's; returns how many rows changed
CREATE OR REPLACE FUNCTION scribe._queue_roles_forget() RETURNS bigint
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    n bigint;
    m bigint;
BEGIN
    DELETE FROM scribe.queue_rights g
    WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_authid a WHERE a.oid = g.grantee);
    GET DIAGNOSTICS n = ROW_COUNT;
    UPDATE scribe.queues q SET owner = 10::oid::regrole
    WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_authid a WHERE a.oid = q.owner);
    GET DIAGNOSTICS m = ROW_COUNT;
    IF n + m > 0 THEN
        PERFORM scribe._queues_changed();
    END IF;
    RETURN n + m;
END
$$;
COMMENT ON FUNCTION scribe._queue_roles_forget() IS 'Internal: delete the grants of dropped roles and give their queues to the bootstrap superuser (run by the launcher); returns how many rows changed';
