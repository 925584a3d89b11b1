-- A normalised description of everything pg_scribe installs, one line per
-- fact, for comparing two installations (test/t/090_extension_update.pl:
-- updated from an old version against a fresh install).  It covers the
-- schema scribe (its ACL, comment and every object in it: functions and
-- procedures with their whole definition, ACL, owner and comment; tables,
-- views, sequences, indexes and composite types with their columns,
-- constraints, indexes, triggers, options, ACLs and comments; other types),
-- the extension's row (version, owner, tables pg_dump keeps), its member
-- objects, the initial privileges pg_dump starts from, and the built-in
-- rows (queues ocr and lifecycle, policies scribe.*).  Not the users' data.
--
-- The archive's daily partitions (jobs_archive_pYYYYMMDD) are named by
-- the day they were made: their names and bounds become <day>, so that two
-- installations made on different days compare equal.
--
-- Run with psql -X -At -f; the output is sorted.
WITH RECURSIVE
ns AS (SELECT 'scribe'::regnamespace AS oid),
-- a role name, or PUBLIC
role_name(oid, name) AS (
    SELECT 0::oid, 'PUBLIC' UNION ALL SELECT oid, rolname::text FROM pg_roles),
-- an ACL as sorted grantee=privilege/grantor items (NULL: the default)
acl(acl, text) AS (
    SELECT a.acl,
           (SELECT COALESCE(string_agg(g.name || '=' || x.privilege_type || CASE WHEN x.is_grantable THEN '*' ELSE '' END
                                       || '/' || o.name, ',' ORDER BY g.name, x.privilege_type), '')
            FROM aclexplode(a.acl) x
            JOIN role_name g ON g.oid = x.grantee JOIN role_name o ON o.oid = x.grantor)
    FROM (SELECT DISTINCT proacl FROM pg_proc WHERE pronamespace = (SELECT oid FROM ns)
          UNION SELECT DISTINCT relacl FROM pg_class WHERE relnamespace = (SELECT oid FROM ns)
          UNION SELECT nspacl FROM pg_namespace WHERE oid = (SELECT oid FROM ns)
          UNION SELECT DISTINCT typacl FROM pg_type WHERE typnamespace = (SELECT oid FROM ns)
          UNION SELECT DISTINCT initprivs FROM pg_init_privs) a(acl)
    WHERE a.acl IS NOT NULL),
rel AS (
    SELECT c.oid, c.relname::text AS name, c.relkind,
           c.relname ~ '^jobs_archive_p[0-9]{8}$' AS daily
    FROM pg_class c WHERE c.relnamespace = (SELECT oid FROM ns)),
lines(line) AS (
    -- the schema
    SELECT format('schema scribe owner=%s acl=%s comment=%s', pg_get_userbyid(n.nspowner),
                  COALESCE((SELECT text FROM acl WHERE acl.acl = n.nspacl), 'default'),
                  obj_description(n.oid, 'pg_namespace'))
    FROM pg_namespace n WHERE n.oid = (SELECT oid FROM ns)
    -- functions and procedures: attributes, then the definition line by line
    UNION ALL
    SELECT format('function %s: kind=%s owner=%s acl=%s comment=%s',
                  p.oid::regprocedure, p.prokind, pg_get_userbyid(p.proowner),
                  COALESCE((SELECT text FROM acl WHERE acl.acl = p.proacl), 'default'),
                  obj_description(p.oid, 'pg_proc'))
    FROM pg_proc p WHERE p.pronamespace = (SELECT oid FROM ns)
    UNION ALL
    SELECT format('function %s: def %s: %s', p.oid::regprocedure, lpad(d.n::text, 4, '0'), d.line)
    FROM pg_proc p,
         LATERAL unnest(string_to_array(pg_get_functiondef(p.oid), E'\n')) WITH ORDINALITY AS d(line, n)
    WHERE p.pronamespace = (SELECT oid FROM ns)
    -- relations: kind, owner, options, ACL, comment, partitioning
    UNION ALL
    SELECT format('relation %s: kind=%s owner=%s persistence=%s replident=%s options=%s acl=%s comment=%s partkey=%s partition_of=%s bound=%s',
                  r.name, r.relkind, pg_get_userbyid(c.relowner), c.relpersistence, c.relreplident,
                  c.reloptions, COALESCE((SELECT text FROM acl WHERE acl.acl = c.relacl), 'default'),
                  obj_description(c.oid, 'pg_class'),
                  CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END,
                  (SELECT i.inhparent::regclass FROM pg_inherits i WHERE i.inhrelid = c.oid),
                  CASE WHEN r.daily THEN '<day>' ELSE pg_get_expr(c.relpartbound, c.oid) END)
    FROM rel r JOIN pg_class c ON c.oid = r.oid
    -- columns in order (tables, views, composite types, sequences)
    UNION ALL
    SELECT format('relation %s: column %s %s %s type=%s notnull=%s default=%s identity=%s generated=%s storage=%s collation=%s acl=%s comment=%s',
                  r.name, lpad(a.attnum::text, 3, '0'), a.attname, CASE WHEN a.attisdropped THEN 'dropped' ELSE '' END,
                  format_type(a.atttypid, a.atttypmod), a.attnotnull,
                  pg_get_expr(ad.adbin, ad.adrelid), a.attidentity, a.attgenerated, a.attstorage,
                  CASE WHEN a.attcollation <> 0 THEN a.attcollation::regcollation::text END,
                  COALESCE((SELECT text FROM acl WHERE acl.acl = a.attacl), 'default'),
                  col_description(c.oid, a.attnum))
    FROM rel r JOIN pg_class c ON c.oid = r.oid
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
    LEFT JOIN pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum
    -- constraints
    UNION ALL
    SELECT format('relation %s: constraint %s %s deferrable=%s comment=%s',
                  r.name, k.conname, pg_get_constraintdef(k.oid), k.condeferrable, obj_description(k.oid, 'pg_constraint'))
    FROM rel r JOIN pg_constraint k ON k.conrelid = r.oid
    -- indexes
    UNION ALL
    SELECT format('relation %s: index %s', r.name, pg_get_indexdef(i.indexrelid))
    FROM rel r JOIN pg_index i ON i.indrelid = r.oid
    -- views
    UNION ALL
    SELECT format('relation %s: view %s', r.name, pg_get_viewdef(r.oid))
    FROM rel r WHERE r.relkind IN ('v', 'm')
    -- triggers (not the internal ones of foreign keys)
    UNION ALL
    SELECT format('relation %s: trigger %s enabled=%s comment=%s',
                  r.name, pg_get_triggerdef(t.oid), t.tgenabled, obj_description(t.oid, 'pg_trigger'))
    FROM rel r JOIN pg_trigger t ON t.tgrelid = r.oid AND NOT t.tgisinternal
    -- sequences' parameters (not their values)
    UNION ALL
    SELECT format('relation %s: sequence type=%s start=%s increment=%s min=%s max=%s cache=%s cycle=%s owned_by=%s',
                  r.name, s.seqtypid::regtype, s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle,
                  (SELECT d.refobjid::regclass || '.' || a.attname FROM pg_depend d
                   JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                   WHERE d.classid = 'pg_class'::regclass AND d.objid = r.oid AND d.deptype IN ('a', 'i')
                     AND d.refclassid = 'pg_class'::regclass))
    FROM rel r JOIN pg_sequence s ON s.seqrelid = r.oid
    -- types that are not a relation's row type
    UNION ALL
    SELECT format('type %s: typtype=%s owner=%s acl=%s comment=%s',
                  t.oid::regtype, t.typtype, pg_get_userbyid(t.typowner),
                  COALESCE((SELECT text FROM acl WHERE acl.acl = t.typacl), 'default'),
                  obj_description(t.oid, 'pg_type'))
    FROM pg_type t
    WHERE t.typnamespace = (SELECT oid FROM ns)
      AND (t.typrelid = 0 OR (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c')
      AND t.typname !~ '^_'
    -- the extension's row
    UNION ALL
    SELECT format('extension %s: version=%s owner=%s schema=%s relocatable=%s',
                  e.extname, e.extversion, pg_get_userbyid(e.extowner), e.extnamespace::regnamespace, e.extrelocatable)
    FROM pg_extension e WHERE e.extname = 'pg_scribe'
    UNION ALL
    SELECT format('extension pg_scribe: dumps %s %s', c.cfg::regclass, c.cond)
    FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS c(cfg, cond)
    WHERE e.extname = 'pg_scribe'
    -- the extension's members
    UNION ALL
    SELECT format('extension pg_scribe: member %s', pg_describe_object(d.classid, d.objid, d.objsubid))
    FROM pg_depend d
    WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
      AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pg_scribe')
    -- the initial privileges of its objects (where pg_dump starts from)
    UNION ALL
    SELECT format('init_privs %s: %s %s', pg_describe_object(i.classoid, i.objoid, i.objsubid), i.privtype,
                  (SELECT text FROM acl WHERE acl.acl = i.initprivs))
    FROM pg_init_privs i
    WHERE pg_describe_object(i.classoid, i.objoid, i.objsubid) ~ '\mscribe\M'
    -- the built-in rows
    UNION ALL
    SELECT format('row scribe.queues: %s', to_jsonb(q) - 'queue_id' - 'created_at')
    FROM scribe.queues q WHERE q.name IN ('ocr', 'lifecycle')
    UNION ALL
    SELECT format('row scribe.policies: %s', to_jsonb(p) - 'policy_id' - 'created_at' - 'next_run_at')
    FROM scribe.policies p WHERE p.name LIKE 'scribe.%'
)
SELECT DISTINCT regexp_replace(line, 'jobs_archive_p[0-9]{8}', 'jobs_archive_p<day>', 'g') AS line
FROM lines
ORDER BY 1;
