import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, found from this file's place so that every tool works from any cwd. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The repository's files the set-up steps apply, whatever the stage. */
export const pipelineFiles = {
  /** Versioned SQL migrations, applied with node-pg-migrate. */
  postgresMigrations: path.join(repoRoot, 'migrations/postgres'),
  /** Versioned CQL migrations, applied by ./cassandra-migrations.ts. */
  cassandraMigrations: path.join(repoRoot, 'migrations/cassandra'),
  /** The Avro schema of the user event, registered under the topic's value subject. */
  userEventSchema: path.join(repoRoot, 'schemas/user-event.avsc'),
} as const;
