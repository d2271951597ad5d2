/**
 * Clients for the local stack, built from its endpoints, as the integration and e2e tests use them.
 * Each test closes what it opens.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import pg from 'pg';
import { localAwsConfig, localCassandra, localKafka } from '#infra/stack/local-stage/clients.ts';
import { endpoints } from '#infra/stack/endpoints.ts';

export const pipelineDb = (): pg.Client =>
  new pg.Client({
    host: endpoints.postgres.host,
    port: endpoints.postgres.port,
    ...endpoints.postgres.pipeline,
  });

export const kafkaClient = localKafka;

export const cassandraClient = localCassandra;

const awsConfig = localAwsConfig;

export const awsClients = () => ({
  s3: new S3Client({ ...awsConfig, forcePathStyle: true }),
  sqs: new SQSClient(awsConfig),
  ssm: new SSMClient(awsConfig),
  secrets: new SecretsManagerClient(awsConfig),
});

/** A name no earlier run used, so that tests never see each other's data. */
export const unique = (prefix: string): string => `${prefix}_${Date.now().toString(36)}_${process.pid}`;

/** Topic creation and keyed, idempotent sends: the offline Kafka plugin's own test helpers. */
export { createTopic, produce } from '#plugin/tests/integration/broker.ts';
