/**
 * `npm run aws:bootstrap -- --cluster-arn … --registry-url …`: makes the AWS stage ready for the
 * functions, idempotently, with the steps the local stack's bootstrap uses (infra/pipeline): the
 * PostgreSQL migrations on RDS,
 * the CQL migrations on Amazon Keyspaces (its target: client-side timestamps, tables awaited ACTIVE),
 * the users topic on MSK and the Avro schema in the registry. The clients are the functions' own
 * (functions/lib), configured as the aws stage configures them, with the caller's AWS credentials.
 * MSK and RDS are private: run it from inside the VPC (docs/deploy-aws.md says how).
 */
import { parseArgs } from 'node:util';
import cassandraDriver from 'cassandra-driver';
import { Kafka, logLevel } from 'kafkajs';
import { cassandraClientOptions } from '#lib/cassandra.ts';
import { readDbSecret, sslOptions } from '#lib/db.ts';
import { kafkaConnection } from '#lib/kafka.ts';
import { applyRepoMigrations } from '../pipeline/cassandra-migrations.ts';
import { migratePostgres } from '../pipeline/postgres-migrations.ts';
import { pipelineResources } from '../pipeline/resources.ts';
import { registerUserEventSchema } from '../pipeline/schemas.ts';
import { ensureTopic } from '../pipeline/topics.ts';
import { runMain, say } from '#scripts/cli.ts';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      region: { type: 'string', default: 'us-east-1' },
      stage: { type: 'string', default: 'aws' },
      'cluster-arn': { type: 'string' },
      'registry-url': { type: 'string' },
      partitions: { type: 'string', default: '6' },
    },
  });
  const clusterArn = values['cluster-arn'];
  const registryUrl = values['registry-url'];
  if (clusterArn === undefined || registryUrl === undefined) {
    throw new Error('--cluster-arn and --registry-url are required: the infrastructure stack outputs them');
  }
  const region = values.region;
  const resources = pipelineResources(values.stage);

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

  const keyspaces = new cassandraDriver.Client(
    cassandraClientOptions({
      AWS_REGION: region,
      CASSANDRA_CONTACT_POINTS: [`cassandra.${region}.amazonaws.com`],
      CASSANDRA_LOCAL_DC: region,
      CASSANDRA_PORT: 9142,
      CASSANDRA_AUTH: 'sigv4',
      CASSANDRA_TLS: 'true',
    }),
  );
  await applyRepoMigrations(keyspaces, {
    keyspace: resources.keyspace,
    replication: "{'class': 'SingleRegionStrategy'}",
    report: say,
    target: 'keyspaces',
  });

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

  const schemaId = await registerUserEventSchema(registryUrl, resources.usersSubject);
  say(`schema ${resources.usersSubject}: id ${schemaId}`);
}

runMain('aws:bootstrap', main, {
  usage: `usage: npm run aws:bootstrap -- --cluster-arn <MSK cluster ARN> --registry-url <schema registry URL>
         [--region us-east-1] [--stage aws] [--partitions 6]

Run from inside the VPC with the caller's AWS credentials (docs/deploy-aws.md).`,
});
