/**
 * Clients for the local stack, built from its endpoints, as the integration and e2e tests use them.
 * Each test closes what it opens.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { Kafka } from 'kafkajs';
import pg from 'pg';
import { localAwsConfig, localCassandra, localKafka } from '../../infra/stack/local-stage/clients.js';
import { endpoints } from '../../infra/stack/endpoints.js';

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

/** Creates a topic and waits for its leaders. */
export async function createTopic(kafka: Kafka, topic: string, numPartitions: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

/** Sends keyed records with an idempotent producer, acknowledged by all in-sync replicas. */
export async function produce(
  kafka: Kafka,
  topic: string,
  messages: { key: string; value: string }[],
): Promise<void> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    await producer.send({ topic, messages, acks: -1 });
  } finally {
    await producer.disconnect();
  }
}
