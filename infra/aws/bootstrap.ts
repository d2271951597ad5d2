/**
 * `npm run aws:bootstrap -- --cluster-arn … --registry-url … [--registry-auth basic]`: makes the AWS
 * stage ready for the functions, idempotently, with the steps the local stack's bootstrap uses
 * (infra/pipeline): the PostgreSQL migrations on RDS, the CQL migrations on Amazon Keyspaces (its
 * target: client-side timestamps, tables awaited ACTIVE), the users topic on MSK and the Avro schema in
 * the registry (sent with the functions' basic-auth credentials secret under `--registry-auth basic`,
 * for a registry that asks for them). The clients are the functions' own (functions/lib), configured as
 * the aws stage configures them, with the caller's AWS credentials. MSK, RDS and the stack's registry
 * are private: run it from inside the VPC (docs/deploy-aws.md says how).
 */
import { parseArgs } from 'node:util';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import cassandraDriver from 'cassandra-driver';
import { Kafka, logLevel } from 'kafkajs';
import { z } from 'zod';
import { cassandraClientOptions } from '#lib/cassandra.ts';
import { readDbSecret, sslOptions } from '#lib/db.ts';
import { kafkaConnection } from '#lib/kafka.ts';
import { defaultAwsCredentials, type AwsCredentialsProvider } from '#lib/keyspaces-auth.ts';
import { readRegistryCredentials, type RegistryCredentials } from '#lib/schema-registry.ts';
import { applyRepoMigrations } from '../pipeline/cassandra-migrations.ts';
import { migratePostgres } from '../pipeline/postgres-migrations.ts';
import { pipelineResources } from '../pipeline/resources.ts';
import { registerUserEventSchema } from '../pipeline/schemas.ts';
import { ensureTopic } from '../pipeline/topics.ts';
import { runMain, say } from '#scripts/cli.ts';

/** The bootstrap's steps, in the order `bootstrapAws` runs them. */
export interface AwsBootstrapSteps {
  /** Resolves the caller's credentials and signs in to Keyspaces: fails before anything has changed. */
  readonly connectKeyspaces: () => Promise<cassandraDriver.Client>;
  readonly migratePostgres: () => Promise<void>;
  /** Applies the CQL migrations on the connected client, and closes it. */
  readonly migrateKeyspaces: (client: cassandraDriver.Client) => Promise<void>;
  readonly ensureTopic: () => Promise<void>;
  readonly registerSchema: () => Promise<void>;
}

/**
 * Runs the steps. Keyspaces is reached first, although its migrations come after PostgreSQL's:
 * signing in needs the caller's credentials, the endpoint's network path and TLS, so a problem with
 * any of them stops the bootstrap before the RDS migrations have run, not half-way through.
 */
export async function bootstrapAws(steps: AwsBootstrapSteps): Promise<void> {
  const keyspaces = await steps.connectKeyspaces();
  try {
    await steps.migratePostgres();
  } catch (error) {
    await keyspaces.shutdown().catch(() => undefined);
    throw error;
  }
  await steps.migrateKeyspaces(keyspaces);
  await steps.ensureTopic();
  await steps.registerSchema();
}

/**
 * The caller's credentials, resolved once (the provider keeps them): a missing or broken source
 * (no profile, an expired SSO session, unreachable container credentials) is named here.
 */
export async function checkedCredentials(
  credentials: AwsCredentialsProvider = defaultAwsCredentials(),
): Promise<AwsCredentialsProvider> {
  try {
    await credentials();
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new Error(`no AWS credentials to sign in to Keyspaces with (${why})`, { cause: error });
  }
  return credentials;
}

/** The secret the functions read under registryAuth=basic, read with the caller's AWS credentials. */
async function registryCredentials(region: string, secretId: string): Promise<RegistryCredentials> {
  const secrets = new SecretsManagerClient({ region });
  try {
    return await readRegistryCredentials(secrets, secretId);
  } finally {
    secrets.destroy();
  }
}

const USAGE = `usage: npm run aws:bootstrap -- --cluster-arn <MSK cluster ARN> --registry-url <schema registry URL>
         [--registry-auth none|basic] [--region us-east-1] [--stage aws] [--partitions 6]

Run from inside the VPC with the caller's AWS credentials (docs/deploy-aws.md).`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      region: { type: 'string', default: 'us-east-1' },
      stage: { type: 'string', default: 'aws' },
      'cluster-arn': { type: 'string' },
      'registry-url': { type: 'string' },
      // As serverless.yml's registryAuth param: `basic` for a registry that asks for credentials.
      'registry-auth': { type: 'string', default: 'none' },
      partitions: { type: 'string', default: '6' },
    },
  });
  const clusterArn = values['cluster-arn'];
  const registryUrl = values['registry-url'];
  if (clusterArn === undefined || registryUrl === undefined) {
    throw new Error('--cluster-arn and --registry-url are required: the infrastructure stack outputs them');
  }
  const registryAuth = z.enum(['none', 'basic']).safeParse(values['registry-auth']);
  if (!registryAuth.success) throw new Error('--registry-auth is none (the default) or basic');
  const region = values.region;
  const resources = pipelineResources(values.stage);

  // Read first, like Keyspaces' sign-in: a missing secret stops the bootstrap before it changes anything.
  const credentials =
    registryAuth.data === 'basic'
      ? await registryCredentials(region, resources.registryCredentialsSecretId)
      : undefined;
  await bootstrapAws({
    connectKeyspaces: async () => {
      const credentials = await checkedCredentials();
      const endpoint = `cassandra.${region}.amazonaws.com`;
      const client = new cassandraDriver.Client(
        cassandraClientOptions(
          {
            AWS_REGION: region,
            CASSANDRA_CONTACT_POINTS: [endpoint],
            CASSANDRA_LOCAL_DC: region,
            CASSANDRA_PORT: 9142,
            CASSANDRA_AUTH: 'sigv4',
            CASSANDRA_TLS: 'true',
          },
          credentials,
        ),
      );
      try {
        await client.connect();
      } catch (error) {
        await client.shutdown().catch(() => undefined);
        const why = error instanceof Error ? error.message : String(error);
        throw new Error(`could not sign in to Keyspaces at ${endpoint}:9142 (${why})`, { cause: error });
      }
      say(`keyspaces: signed in at ${endpoint}`);
      return client;
    },
    migratePostgres: async () => {
      const secret = await readDbSecret({
        AWS_REGION: region,
        DB_SECRET_ID: resources.dbSecretId,
        DB_POOL_MAX: 1,
        DB_SSL: 'true',
        DB_SSL_CA: 'rds',
        STAGE: values.stage,
      });
      await migratePostgres(
        {
          host: secret.host,
          port: secret.port,
          user: secret.username,
          password: secret.password,
          database: secret.dbname,
          ssl: sslOptions({ DB_SSL: 'true', DB_SSL_CA: 'rds' }),
        },
        say,
      );
    },
    migrateKeyspaces: async (client) => {
      await applyRepoMigrations(client, {
        keyspace: resources.keyspace,
        replication: "{'class': 'SingleRegionStrategy'}",
        report: say,
        target: 'keyspaces',
      });
    },
    ensureTopic: async () => {
      const connection = await kafkaConnection({ AWS_REGION: region, MSK_CLUSTER_ARN: clusterArn });
      const admin = new Kafka({
        clientId: 'user-pipeline-bootstrap',
        ...connection,
        logLevel: logLevel.ERROR,
      }).admin();
      await admin.connect();
      try {
        await ensureTopic(admin, resources.usersTopic, Number(values.partitions), say);
      } finally {
        await admin.disconnect();
      }
    },
    registerSchema: async () => {
      const schemaId = await registerUserEventSchema(registryUrl, resources.usersSubject, credentials);
      say(`schema ${resources.usersSubject}: id ${schemaId}`);
    },
  });
}

// Only when run as the command: the unit tests import its steps.
if (process.argv[1]?.endsWith('bootstrap.ts') === true) {
  runMain('aws:bootstrap', main, { usage: USAGE });
}
