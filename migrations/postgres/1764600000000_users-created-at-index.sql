-- Up Migration
-- The console reconciles a batch with Spark's per-minute aggregates: the users created in the
-- batch's minutes are found by this index, not by a scan of the table.
CREATE INDEX IF NOT EXISTS users_created_at ON users (created_at);

-- Down Migration
DROP INDEX users_created_at;
