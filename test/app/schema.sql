-- The family archive's own tables: its migration, run as the application's
-- role (granted scribe_app only) in the schema a DBA gave it, on the primary
-- and on every replica before the replica subscribes.

-- albums of a family's documents; their titles are cached (album:N:title)
CREATE TABLE archive.albums (
    album_id integer PRIMARY KEY,
    family   text NOT NULL,
    title    text NOT NULL
);
-- the cached title of a changed album is dropped, on replicas too (the
-- triggers fire where replication applies the change)
SELECT scribe.cache_invalidate_on('archive.albums', 'album:{album_id}:title');

-- what the consumers of the thumbnails queue made, in the transaction that
-- acks the job; no key on job_id, so that a job done twice would show
CREATE TABLE archive.thumbnails (
    job_id      bigint NOT NULL,
    document_id bigint NOT NULL,
    consumer    text NOT NULL,
    made_at     timestamptz NOT NULL DEFAULT now()
);
