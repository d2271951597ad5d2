import { existsSync } from 'node:fs';
import { appendFile, mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { CreateBucketCommand, HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { CreateQueueCommand, GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { applyRepoMigrations } from '#infra/pipeline/cassandra-migrations.ts';
import { pipelineFiles } from '#infra/pipeline/files.ts';
import { migratePostgres } from '#infra/pipeline/postgres-migrations.ts';
import { registerUserEventSchema } from '#infra/pipeline/schemas.ts';
import { ensureTopic } from '#infra/pipeline/topics.ts';
import { endpoints } from '../endpoints.ts';
import { servicePaths } from '../lib/paths.ts';
import { localAwsConfig, localCassandra, localKafka } from '../local-stage/clients.ts';
import {
  apiKeyFile,
  localApiKey,
  localDatabaseUrl,
  localResources,
  localStoreDir,
  usersTopicPartitions,
} from '../local-stage/resources.ts';
import type { Progress, StackService } from '../service.ts';
const { pipeline } = endpoints.postgres;

/** The AWS emulator's clients the bootstrap uses, made for one run and destroyed after it. */
function awsClients(): { s3: S3Client; secrets: SecretsManagerClient; sqs: SQSClient; destroy: () => void } {
  const s3 = new S3Client({ ...localAwsConfig, forcePathStyle: true });
  const secrets = new SecretsManagerClient(localAwsConfig);
  const sqs = new SQSClient(localAwsConfig);
  return {
    s3,
    secrets,
    sqs,
    destroy: () => {
      s3.destroy();
      secrets.destroy();
      sqs.destroy();
    },
  };
}

/**
 * Makes the local stage ready for the functions, idempotently, with the steps every stage shares
 * (infra/pipeline): the PostgreSQL migrations; the raw bucket, the database secret and the two sink
 * queues in the AWS emulator; the users topic with its partitions; the user event's schema; the
 * Cassandra keyspace and tables; and the offline API key. The functions keep the raw zone and the two
 * queues in the local store's folders instead (LOCAL_STORE_DIR), made here too: the emulator forgets
 * its bucket's objects and its messages at a restart; the bucket and queues stay for the tools and
 * benchmarks that measure the S3 and SQS paths the aws stage takes.
 */
async function bootstrapLocalStage(report: Progress): Promise<void> {
  await migratePostgres(localDatabaseUrl, report);
  for (const store of [
    localResources.rawBucket,
    localResources.deadLetterQueue,
    localResources.failedBatchesQueue,
  ])
    await mkdir(path.join(localStoreDir, store), { recursive: true });
  const aws = awsClients();
  try {
    try {
      await aws.s3.send(new HeadBucketCommand({ Bucket: localResources.rawBucket }));
    } catch {
      await aws.s3.send(new CreateBucketCommand({ Bucket: localResources.rawBucket }));
      report(`created bucket ${localResources.rawBucket}`);
    }
    const secrets: [string, Record<string, unknown>][] = [
      [
        localResources.dbSecretId,
        {
          host: endpoints.postgres.host,
          port: endpoints.postgres.port,
          username: pipeline.user,
          password: pipeline.password,
          dbname: pipeline.database,
        },
      ],
      // The console's login to the stack's Airflow.
      [localResources.airflowCredentialsSecretId, endpoints.airflow.login],
    ];
    for (const [secretId, value] of secrets) {
      const secret = JSON.stringify(value);
      try {
        await aws.secrets.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: secret }));
      } catch (error) {
        if (!(error instanceof ResourceNotFoundException)) throw error;
        await aws.secrets.send(new CreateSecretCommand({ Name: secretId, SecretString: secret }));
        report(`created secret ${secretId}`);
      }
    }
    for (const queue of [localResources.deadLetterQueue, localResources.failedBatchesQueue]) {
      await aws.sqs.send(new CreateQueueCommand({ QueueName: queue }));
    }
  } finally {
    aws.destroy();
  }
  const admin = localKafka('bootstrap').admin();
  await admin.connect();
  try {
    await ensureTopic(admin, localResources.usersTopic, usersTopicPartitions(), report);
  } finally {
    await admin.disconnect();
  }
  const schemaId = await registerUserEventSchema(endpoints.registry.url, localResources.usersSubject);
  report(`schema ${localResources.usersSubject}: id ${schemaId}`);
  await applyRepoMigrations(localCassandra(), {
    keyspace: localResources.keyspace,
    replication: "{'class': 'SimpleStrategy', 'replication_factor': 1}",
    report,
  });
  await localApiKey();
}

/** How many migration files of a folder match the runner's naming. */
const migrationFiles = async (dir: string, pattern: RegExp): Promise<number> =>
  (await readdir(dir)).filter((name) => pattern.test(name)).length;

/** The checks' Kafka client: one attempt, no retries, no log lines (a missing topic is the answer). */
const quietKafka = new Kafka({
  clientId: 'bootstrap-check',
  brokers: [...endpoints.kafka.brokers],
  logLevel: logLevel.NOTHING,
  connectionTimeout: 2000,
  retry: { retries: 0 },
});

/** A check of one resource: undefined when it is there, else what is missing. */
type Check = () => Promise<string | undefined>;

/** A check that counts a failure to answer as the resource missing, naming it. */
const present =
  (what: string, exists: () => Promise<boolean>): Check =>
  async () =>
    (await exists().catch(() => false)) ? undefined : what;

/**
 * What the local stage lacks, resource by resource (an empty list: ready). Each check reads, and
 * changes nothing: the stack's `status` runs them to show, for example, that a restarted AWS emulator
 * lost the bucket.
 */
async function missingResources(): Promise<string[]> {
  const aws = awsClients();
  const checks: Check[] = [
    present('PostgreSQL migrations', async () => {
      const client = new pg.Client({ connectionString: localDatabaseUrl, connectionTimeoutMillis: 2000 });
      await client.connect();
      try {
        const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM pgmigrations');
        return (rows[0]?.n ?? 0) >= (await migrationFiles(pipelineFiles.postgresMigrations, /\.sql$/));
      } finally {
        await client.end();
      }
    }),
    present(`bucket ${localResources.rawBucket}`, async () => {
      await aws.s3.send(new HeadBucketCommand({ Bucket: localResources.rawBucket }));
      return true;
    }),
    ...[localResources.dbSecretId, localResources.airflowCredentialsSecretId].map((secretId) =>
      present(`secret ${secretId}`, async () => {
        await aws.secrets.send(new DescribeSecretCommand({ SecretId: secretId }));
        return true;
      }),
    ),
    ...[localResources.deadLetterQueue, localResources.failedBatchesQueue].map((queue) =>
      present(`queue ${queue}`, async () => {
        await aws.sqs.send(new GetQueueUrlCommand({ QueueName: queue }));
        return true;
      }),
    ),
    present(`topic ${localResources.usersTopic}`, async () => {
      const admin = quietKafka.admin();
      await admin.connect();
      try {
        const { topics } = await admin.fetchTopicMetadata({ topics: [localResources.usersTopic] });
        return (topics[0]?.partitions.length ?? 0) >= usersTopicPartitions();
      } finally {
        await admin.disconnect();
      }
    }),
    present(`schema ${localResources.usersSubject}`, async () => {
      const url = `${endpoints.registry.url}/subjects/${encodeURIComponent(localResources.usersSubject)}/versions`;
      return (await fetch(url, { signal: AbortSignal.timeout(2000) })).ok;
    }),
    present('Cassandra migrations', async () => {
      const client = localCassandra();
      await client.connect();
      try {
        const result = await client.execute(`SELECT name FROM ${localResources.keyspace}.schema_migrations`);
        return (
          result.rows.length >=
          (await migrationFiles(pipelineFiles.cassandraMigrations, /^\d{4}_[\w-]+\.cql$/))
        );
      } finally {
        await client.shutdown();
      }
    }),
    present('the API key', () => Promise.resolve(existsSync(apiKeyFile))),
    present(`the local store ${localStoreDir}`, () => Promise.resolve(existsSync(localStoreDir))),
  ];
  try {
    const results = await Promise.all(checks.map((check) => check()));
    return results.filter((result): result is string => result !== undefined);
  } finally {
    aws.destroy();
  }
}

/**
 * The local stage's bootstrap as a stack service: a task with no process of its own. It runs after
 * the pipeline's services are healthy, at every `up` that includes one of them, and before Airflow and
 * Spark, which depend on it: so `npm run stack -- up` means "ready for the functions", and an `up`
 * after a service restarted puts back whatever that service forgot.
 */
class BootstrapTask implements StackService {
  readonly kind = 'task';
  readonly name = 'bootstrap';
  readonly summary =
    'the local stage: migrations, bucket, secret, queues, topic, schema, Cassandra tables, API key';
  readonly ports = [];
  readonly dependsOn = ['postgres', 'kafka', 'registry', 'cassandra', 'aws'];
  readonly startTimeoutMs = 120_000;
  readonly paths = servicePaths('bootstrap');
  private readonly log = path.join(this.paths.logs, 'bootstrap.log');
  readonly logFiles = [this.log];

  checkPrerequisites(): Promise<void> {
    return Promise.resolve();
  }

  /** Nothing to install: its steps use the project's own clients. */
  provision(): Promise<void> {
    return Promise.resolve();
  }

  /** Runs every step to completion, each line to the progress and to its log. */
  async start(progress: Progress): Promise<void> {
    await mkdir(this.paths.logs, { recursive: true });
    const lines: string[] = [];
    try {
      await bootstrapLocalStage((line) => {
        lines.push(line);
        progress(line);
      });
    } finally {
      await appendFile(this.log, lines.map((line) => `${new Date().toISOString()} ${line}\n`).join(''));
    }
  }

  async isHealthy(): Promise<boolean> {
    return (await missingResources()).length === 0;
  }

  /** A task has no process. */
  pid(): Promise<number | undefined> {
    return Promise.resolve(undefined);
  }

  /** Nothing runs, so nothing stops: the resources live in the services they were made in. */
  stop(): Promise<void> {
    return Promise.resolve();
  }

  async describe(): Promise<string> {
    const missing = await missingResources();
    return missing.length === 0 ? 'the local stage is ready' : `missing: ${missing.join(', ')}`;
  }
}

export const bootstrap = new BootstrapTask();
