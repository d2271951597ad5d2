/**
 * What the plugin's integration tests run against: a Kafka broker at KAFKA_BROKERS (default
 * 127.0.0.1:9092) and an SQS endpoint at AWS_ENDPOINT_URL (default http://127.0.0.1:4566, LocalStack
 * or moto, any test credentials). In this repository the stack provides both
 * (`npm run stack -- up kafka aws`); the project's integration suite brings them up itself.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import { Kafka, logLevel } from 'kafkajs';

/** The broker's bootstrap servers. */
export const brokers = (process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');

/** The SQS endpoint the on-failure destination is tested with. */
export const sqsEndpoint = process.env['AWS_ENDPOINT_URL'] ?? 'http://127.0.0.1:4566';

/** A kafkajs client of the test broker that logs only errors. */
export const kafkaClient = (clientId: string): Kafka =>
  new Kafka({ clientId, brokers, logLevel: logLevel.ERROR });

/** An SQS client of the test endpoint. */
export const sqsClient = (): SQSClient =>
  new SQSClient({
    endpoint: sqsEndpoint,
    region: process.env['AWS_REGION'] ?? 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });

/** A name no earlier run used, so that tests never see each other's topics and queues. */
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
