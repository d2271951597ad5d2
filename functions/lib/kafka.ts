import { GetBootstrapBrokersCommand, KafkaClient } from '@aws-sdk/client-kafka';
import { generateAuthToken } from 'aws-msk-iam-sasl-signer-js';
import {
  CompressionTypes,
  Kafka,
  logLevel,
  type Admin,
  type LogEntry,
  type Producer,
  type SASLOptions,
} from 'kafkajs';
import { clientConfig, type AwsSettings } from './aws.ts';
import { ConfigError, TransientError } from './errors.ts';
import { logger } from './logger.ts';
import { lazy } from './once.ts';

/**
 * What the Kafka client needs from a function's settings: a broker list (the local stage), or an MSK
 * cluster's ARN (the AWS stage). The settings schema guarantees exactly one.
 */
export interface KafkaSettings extends AwsSettings {
  readonly KAFKA_BROKERS?: readonly string[] | undefined;
  readonly MSK_CLUSTER_ARN?: string | undefined;
}

/** How kafkajs reaches the cluster: its brokers, and TLS and SASL when the cluster wants them. */
export interface KafkaConnection {
  readonly brokers: string[];
  readonly ssl?: true;
  readonly sasl?: SASLOptions;
}

/** Signs an MSK IAM auth token for a region (aws-msk-iam-sasl-signer-js, from the default credentials). */
export type MskTokenSigner = (options: { region: string }) => Promise<{ token: string }>;

/** What discovering an MSK cluster takes: the control-plane client and the token signer. */
export interface MskDeps {
  readonly client: () => Pick<KafkaClient, 'send'>;
  readonly sign: MskTokenSigner;
}

/**
 * The brokers of an MSK cluster that take IAM auth over TLS (port 9098). A provisioned cluster without
 * IAM client authentication has none: that is a deployment error, not something to retry.
 */
export async function mskBootstrapBrokers(
  client: Pick<KafkaClient, 'send'>,
  clusterArn: string,
): Promise<string[]> {
  let brokers: string | undefined;
  try {
    const response = await client.send(new GetBootstrapBrokersCommand({ ClusterArn: clusterArn }));
    brokers = response.BootstrapBrokerStringSaslIam;
  } catch (error) {
    throw new TransientError(`could not discover the brokers of ${clusterArn}`, { cause: error });
  }
  const list = (brokers ?? '')
    .split(',')
    .map((broker) => broker.trim())
    .filter((broker) => broker !== '');
  if (list.length === 0) {
    throw new ConfigError(`the MSK cluster ${clusterArn} has no IAM-authenticated brokers; enable IAM auth`);
  }
  return list;
}

/**
 * SASL/OAUTHBEARER with an MSK IAM token. kafkajs calls the provider on every (re)authentication, so
 * each connection gets a fresh token signed with the role's current credentials (tokens last 15 min).
 */
export function mskIamSasl(region: string, sign: MskTokenSigner): SASLOptions {
  return {
    mechanism: 'oauthbearer',
    oauthBearerProvider: async () => ({ value: (await sign({ region })).token }),
  };
}

/**
 * The MSK control-plane client (broker discovery), created on first use and kept for the life of the
 * container. Here rather than with the other AWS clients: only publish loads it.
 */
const mskClient = lazy((settings: AwsSettings) => new KafkaClient(clientConfig(settings)));

/** The kept connection; kafkaConnection wraps it so that its default deps need the settings only. */
const connection = lazy(async (settings: KafkaSettings, deps: MskDeps): Promise<KafkaConnection> => {
  if (settings.MSK_CLUSTER_ARN === undefined) return { brokers: [...(settings.KAFKA_BROKERS ?? [])] };
  return {
    brokers: await mskBootstrapBrokers(deps.client(), settings.MSK_CLUSTER_ARN),
    ssl: true,
    sasl: mskIamSasl(settings.AWS_REGION, deps.sign),
  };
});

/**
 * Where and how to connect, resolved once per container: the configured brokers as they are, or the
 * MSK cluster's brokers from one GetBootstrapBrokers call, with IAM auth over TLS. A failed discovery
 * is not kept, so the next invocation asks again.
 */
export function kafkaConnection(
  settings: KafkaSettings,
  deps: MskDeps = { client: () => mskClient(settings), sign: generateAuthToken },
): Promise<KafkaConnection> {
  return connection(settings, deps);
}

/** kafkajs's own log lines, through the function's structured logger (warnings and errors only). */
const toLogger =
  () =>
  ({ level, log }: LogEntry): void => {
    const fields = { kafkajs: { error: log['error'] as unknown } };
    const { message } = log;
    if (level === logLevel.ERROR) logger.error(`kafkajs: ${message}`, fields);
    else if (level === logLevel.WARN) logger.warn(`kafkajs: ${message}`, fields);
  };

/** `client`, connected; a broker that cannot be reached is a TransientError (worth retrying). */
async function connected<T extends { connect(): Promise<void> }>(client: T): Promise<T> {
  try {
    await client.connect();
  } catch (error) {
    throw new TransientError('Kafka is unavailable', { cause: error });
  }
  return client;
}

/**
 * The idempotent producer: created and connected on first use, then kept for the life of the
 * container (a connection per invocation would pay the metadata and InitProducerId round trips every
 * time). Idempotence makes the broker drop the duplicates of its own retries; acks=all is implied.
 * Topics are never auto-created: a missing topic is a deployment error, not one partition by surprise.
 */
export const kafkaProducer = lazy(async (settings: KafkaSettings): Promise<Producer> => {
  const kafka = new Kafka({
    clientId: 'user-pipeline-publish',
    ...(await kafkaConnection(settings)),
    logLevel: logLevel.WARN,
    logCreator: toLogger,
    connectionTimeout: 3000,
    retry: { retries: 5 },
  });
  return connected(
    kafka.producer({ idempotent: true, allowAutoTopicCreation: false, maxInFlightRequests: 1 }),
  );
});

/**
 * An admin client for reading offsets (the console): created and connected on first use, kept for
 * the container's life. Few retries and short timeouts: a reader of a down broker should say so
 * within a poll, not after kafkajs's default minute of backoff.
 */
export const kafkaAdmin = lazy(async (settings: KafkaSettings): Promise<Admin> => {
  const kafka = new Kafka({
    clientId: 'user-pipeline-console',
    ...(await kafkaConnection(settings)),
    logLevel: logLevel.WARN,
    logCreator: toLogger,
    connectionTimeout: 1000,
    requestTimeout: 2000,
    retry: { retries: 1, initialRetryTime: 100 },
  });
  return connected(kafka.admin());
});

/**
 * Drops the producer after a failed send: the idempotent producer's sequence numbers may no longer
 * match what the broker wrote, so the next call starts with a new producer id.
 */
export async function discardKafkaProducer(): Promise<void> {
  await kafkaProducer
    .reset()
    ?.then((p) => p.disconnect())
    .catch(() => undefined);
}

/** The producer's compression codec for a setting (kafkajs ships GZIP; none is the other choice). */
export const compressionOf = (setting: 'none' | 'gzip'): CompressionTypes =>
  setting === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
