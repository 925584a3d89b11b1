-- pg_scribe functions: lifecycle policies, what the partitions kind
-- knows of a range-partitioned table: its partitions' bounds, new names.

-- The partitions of a range-partitioned table and their bounds, as UTC wall-clock timestamps
CREATE OR REPLACE FUNCTION scribe._partition_bounds(parent regclass,
    OUT partition regclass, OUT is_default boolean, OUT lo timestamp, OUT hi timestamp)
    RETURNS SETOF record
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    r record;
    m text[];
    keytype regtype;
BEGIN
    SELECT a.atttypid INTO keytype
    FROM pg_partitioned_table pt JOIN pg_attribute a ON a.attrelid = pt.partrelid AND a.attnum = pt.partattrs[0]
    WHERE pt.partrelid = parent;
    FOR r IN
        SELECT c.oid::regclass AS part, pg_get_expr(c.relpartbound, c.oid) AS bound
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = parent
    LOOP
        partition := r.part;
        is_default := r.bound = 'DEFAULT';
        lo := NULL; hi := NULL;
        IF NOT is_default THEN
            m := regexp_match(r.bound, '^FOR VALUES FROM \((.*)\) TO \((.*)\)$');
            IF m IS NOT NULL THEN
                lo := scribe._partition_bound_value(m[1], keytype, '-infinity');
                hi := scribe._partition_bound_value(m[2], keytype, 'infinity');
            END IF;
        END IF;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION scribe._partition_bounds(regclass) IS 'Internal: the partitions of a range-partitioned table and their bounds, as UTC wall-clock timestamps';

-- One bound of FOR VALUES as a UTC wall-clock timestamp (MINVALUE/MAXVALUE: unbounded)
CREATE OR REPLACE FUNCTION scribe._partition_bound_value(bound text, keytype regtype, unbounded timestamp)
    RETURNS timestamp
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    literal text := substring(bound FROM '^''(.*)''$');
BEGIN
    IF bound IN ('MINVALUE', 'MAXVALUE') OR literal IS NULL THEN
        RETURN unbounded;
    ELSIF keytype = 'timestamptz'::regtype THEN
        RETURN literal::timestamptz AT TIME ZONE 'UTC';
    ELSE
        RETURN literal::timestamp;
    END IF;
END
$$;
COMMENT ON FUNCTION scribe._partition_bound_value(text, regtype, timestamp) IS 'Internal: one bound of FOR VALUES as a UTC wall-clock timestamp (MINVALUE/MAXVALUE: unbounded)';

-- A UTC wall-clock timestamp as a literal of a partition key's type
CREATE OR REPLACE FUNCTION scribe._partition_literal(t timestamp, keytype regtype)
    RETURNS text
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT quote_literal(CASE keytype
        WHEN 'timestamptz'::regtype THEN to_char(t, 'YYYY-MM-DD HH24:MI:SS') || '+00'
        WHEN 'date'::regtype THEN to_char(t, 'YYYY-MM-DD')
        ELSE to_char(t, 'YYYY-MM-DD HH24:MI:SS') END)
$$;
COMMENT ON FUNCTION scribe._partition_literal(timestamp, regtype) IS 'Internal: a UTC wall-clock timestamp as a literal of a partition key''s type';

-- The name of a new partition of parent starting at lo: parent_pYYYYMMDD in
-- parent's schema, or with _2, _3... when a table (a detached partition, say)
-- has that name
CREATE OR REPLACE FUNCTION scribe._partition_name(parent regclass, lo timestamp)
    RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    schema name;
    base text;
    candidate text;
BEGIN
    SELECT n.nspname, left(c.relname, 63 - 14) || '_p' || to_char(lo, 'YYYYMMDD') INTO schema, base
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = parent;
    candidate := base;
    FOR i IN 2 .. 1000 LOOP
        EXIT WHEN to_regclass(format('%I.%I', schema, candidate)) IS NULL;
        candidate := base || '_' || i;
    END LOOP;
    RETURN format('%I.%I', schema, candidate);
END
$$;
COMMENT ON FUNCTION scribe._partition_name(regclass, timestamp) IS 'Internal: the name of a new partition of parent starting at lo: parent_pYYYYMMDD in parent''s schema, or with _2, _3... when a table (a detached partition, say) has that name';

-- The periods (UTC wall-clock starts) of the rows in parent's default
-- partition, read as owner (as epoch seconds: numbers, whatever the
-- owner's DateStyle)
CREATE OR REPLACE FUNCTION scribe._partition_default_periods(parent regclass, unit text, owner regrole)
    RETURNS SETOF timestamp
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    part regclass := (SELECT x.partition FROM scribe._partition_bounds(parent) x WHERE x.is_default);
    keycol text;
    keytype regtype;
    starts text;
BEGIN
    IF part IS NULL THEN
        RETURN;
    END IF;
    SELECT a.attname, a.atttypid INTO keycol, keytype
    FROM pg_partitioned_table pt JOIN pg_attribute a ON a.attrelid = pt.partrelid AND a.attnum = pt.partattrs[0]
    WHERE pt.partrelid = parent;
    starts := (scribe._run_as(owner, format(
        'SELECT pg_catalog.array_agg(DISTINCT EXTRACT(epoch FROM pg_catalog.date_trunc(%L, %s))) FROM %s WHERE %I IS NOT NULL',
        unit, CASE WHEN keytype = 'timestamptz'::regtype THEN format('%I AT TIME ZONE ''UTC''', keycol)
                   ELSE format('%I::pg_catalog.timestamp', keycol) END, part, keycol))).value;
    RETURN QUERY SELECT to_timestamp(e::double precision) AT TIME ZONE 'UTC' FROM unnest(starts::numeric[]) e;
END
$$;
COMMENT ON FUNCTION scribe._partition_default_periods(regclass, text, regrole) IS 'Internal: the periods (UTC wall-clock starts) of the rows in parent''s default partition, read as owner';
