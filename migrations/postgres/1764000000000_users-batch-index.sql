-- Up Migration
-- The status function (and Airflow's verify step) lists a batch's users by batch_id.
CREATE INDEX users_batch_id ON users (batch_id);

-- Down Migration
DROP INDEX users_batch_id;
