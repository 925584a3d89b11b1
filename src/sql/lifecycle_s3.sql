-- pg_scribe functions: the S3 client of the archive policy's offload.
-- Internal and revoked from PUBLIC (privileges.sql): they reach the store
-- with the server's key pair (scribe.s3_access_key, scribe.s3_secret_key).

CREATE OR REPLACE FUNCTION scribe._s3_put(key text, data bytea, content_type text DEFAULT 'application/octet-stream')
    RETURNS void
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_s3_put_sql';
COMMENT ON FUNCTION scribe._s3_put(text, bytea, text) IS
    'Internal: PUT data as object key of scribe.s3_bucket, signed with AWS Signature V4; ERROR if the store did not keep it';

CREATE OR REPLACE FUNCTION scribe._s3_get(key text)
    RETURNS bytea
    LANGUAGE c VOLATILE STRICT
    AS 'MODULE_PATHNAME', 'scribe_s3_get_sql';
COMMENT ON FUNCTION scribe._s3_get(text) IS
    'Internal: GET object key of scribe.s3_bucket; ERROR 58P01 if there is none';

CREATE OR REPLACE FUNCTION scribe._s3_delete(key text)
    RETURNS boolean
    LANGUAGE c VOLATILE STRICT
    AS 'MODULE_PATHNAME', 'scribe_s3_delete_sql';
COMMENT ON FUNCTION scribe._s3_delete(text) IS
    'Internal: DELETE object key of scribe.s3_bucket; whether it was there just before';

CREATE OR REPLACE FUNCTION scribe._s3_exists(key text)
    RETURNS bigint
    LANGUAGE c VOLATILE STRICT
    AS 'MODULE_PATHNAME', 'scribe_s3_exists_sql';
COMMENT ON FUNCTION scribe._s3_exists(text) IS
    'Internal: HEAD object key of scribe.s3_bucket; its size in bytes, NULL if there is none';
