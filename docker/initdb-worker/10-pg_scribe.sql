-- Worker node: pg_scribe installed, so that its launcher starts the workers
-- that claim the primary's ocr jobs (scribe.queue_conninfo).
CREATE EXTENSION pg_scribe;
