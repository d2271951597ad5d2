import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CreateBucketCommand, HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateSecretCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { runner } from 'node-pg-migrate';
import type { ClientConfig } from 'pg';
import { applyRepoMigrations } from '../cassandra/migrate.js';
import { localAwsConfig, localCassandra, localKafka } from './clients.js';
import { ensureTopic } from '../kafka/topics.js';
import { registerAvroSchema } from '../registry/schemas.js';
import { endpoints } from '../stack/endpoints.js';
import { repoRoot, stackHome } from '../stack/lib/paths.js';
import { localResources, usersTopicPartitions } from './resources.js';

/** Where the offline API key lives: a random token made once, kept across restarts. */
export const apiKeyFile = path.join(stackHome, 'secrets', 'api-key');

const { pipeline } = endpoints.postgres;

/** The pipeline database's URL for the local stack (development credentials). */
export const localDatabaseUrl = `postgres://${pipeline.user}:${pipeline.password}@${endpoints.postgres.host}:${endpoints.postgres.port}/${pipeline.database}`;

/**
 * Applies the versioned SQL migrations in migrations/postgres (node-pg-migrate), in one transaction,
 * to a database URL, or to connection settings (TLS options included, as RDS needs).
 */
export async function migrate(
  database: string | ClientConfig,
  report: (line: string) => void,
): Promise<void> {
  const applied = await runner({
    databaseUrl: database,
    dir: path.join(repoRoot, 'migrations/postgres'),
    direction: 'up',
    migrationsTable: 'pgmigrations',
    singleTransaction: true,
    log: () => undefined,
  });
  report(
    applied.length === 0
      ? 'migrations: up to date'
      : `migrations: applied ${applied.map((m) => m.name).join(', ')}`,
  );
}

/** The offline API key, created on first use. */
export async function localApiKey(): Promise<string> {
  if (existsSync(apiKeyFile)) return (await readFile(apiKeyFile, 'utf8')).trim();
  await mkdir(path.dirname(apiKeyFile), { recursive: true });
  const key = randomBytes(24).toString('base64url');
  await writeFile(apiKeyFile, `${key}\n`, { mode: 0o600 });
  return key;
}

/**
 * Makes the local stack ready for the functions, idempotently: migrations applied, the raw bucket
 * and the database secret present in the AWS emulator (which forgets them on restart), and the
 * offline API key made. Runs after every `stack up`.
 */
export async function bootstrapLocalPipeline(
  report: (line: string) => void = () => undefined,
): Promise<void> {
  await migrate(localDatabaseUrl, report);
  const s3 = new S3Client({ ...localAwsConfig, forcePathStyle: true });
  const secrets = new SecretsManagerClient(localAwsConfig);
  try {
    try {
      await s3.send(new HeadBucketCommand({ Bucket: localResources.rawBucket }));
    } catch {
      await s3.send(new CreateBucketCommand({ Bucket: localResources.rawBucket }));
      report(`created bucket ${localResources.rawBucket}`);
    }
    const secret = JSON.stringify({
      host: endpoints.postgres.host,
      port: endpoints.postgres.port,
      username: pipeline.user,
      password: pipeline.password,
      dbname: pipeline.database,
    });
    try {
      await secrets.send(
        new PutSecretValueCommand({ SecretId: localResources.dbSecretId, SecretString: secret }),
      );
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error;
      await secrets.send(new CreateSecretCommand({ Name: localResources.dbSecretId, SecretString: secret }));
      report(`created secret ${localResources.dbSecretId}`);
    }
  } finally {
    s3.destroy();
    secrets.destroy();
  }
  await bootstrapStream(report);
  await localApiKey();
}

/** The SQS queue URL the emulator gives a queue name (path style, as the stack configures it). */
export const localQueueUrl = (name: string): string => `${endpoints.aws.endpoint}/000000000000/${name}`;

/**
 * The streaming half: the users topic with its partitions, the Avro schema registered with BACKWARD
 * compatibility, the dead-letter and failed-batch queues, and the Cassandra keyspace and tables.
 */
async function bootstrapStream(report: (line: string) => void): Promise<void> {
  const admin = localKafka('bootstrap').admin();
  await admin.connect();
  try {
    await ensureTopic(admin, localResources.usersTopic, usersTopicPartitions(), report);
  } finally {
    await admin.disconnect();
  }
  const schemaId = await registerAvroSchema({
    registryUrl: endpoints.registry.url,
    subject: localResources.usersSubject,
    schema: await readFile(path.join(repoRoot, 'schemas/user-event.avsc'), 'utf8'),
    compatibility: 'BACKWARD',
  });
  report(`schema ${localResources.usersSubject}: id ${schemaId}`);
  const sqs = new SQSClient(localAwsConfig);
  try {
    for (const queue of [localResources.deadLetterQueue, localResources.failedBatchesQueue]) {
      await sqs.send(new CreateQueueCommand({ QueueName: queue }));
    }
  } finally {
    sqs.destroy();
  }
  await applyRepoMigrations(localCassandra(), {
    keyspace: localResources.keyspace,
    replication: "{'class': 'SimpleStrategy', 'replication_factor': 1}",
    report,
  });
}
