-- Runs once, when the compose postgres volume is new: the same roles and databases that the native
-- stack creates (infra/stack/services/postgres.ts). Development-only passwords, bound to 127.0.0.1.
CREATE ROLE pipeline LOGIN PASSWORD 'pipeline-local';
CREATE DATABASE pipeline OWNER pipeline;
CREATE ROLE registry LOGIN PASSWORD 'registry-local';
CREATE DATABASE registry OWNER registry;
CREATE ROLE airflow LOGIN PASSWORD 'airflow-local';
CREATE DATABASE airflow OWNER airflow;
