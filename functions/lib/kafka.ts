import { CompressionTypes, Kafka, logLevel, type LogEntry, type Producer } from 'kafkajs';
import { TransientError } from './errors.js';
import { logger } from './logger.js';

/** What the Kafka client needs from a function's settings. */
export interface KafkaSettings {
  readonly KAFKA_BROKERS: readonly string[];
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

let producer: Promise<Producer> | undefined;

/**
 * The idempotent producer: created and connected on first use, then kept for the life of the
 * container (a connection per invocation would pay the metadata and InitProducerId round trips every
 * time). Idempotence makes the broker drop the duplicates of its own retries; acks=all is implied.
 * Topics are never auto-created: a missing topic is a deployment error, not one partition by surprise.
 */
export function kafkaProducer(settings: KafkaSettings): Promise<Producer> {
  producer ??= (async () => {
    const kafka = new Kafka({
      clientId: 'user-pipeline-publish',
      brokers: [...settings.KAFKA_BROKERS],
      logLevel: logLevel.WARN,
      logCreator: toLogger,
      connectionTimeout: 3000,
      retry: { retries: 5 },
    });
    const created = kafka.producer({
      idempotent: true,
      allowAutoTopicCreation: false,
      maxInFlightRequests: 1,
    });
    try {
      await created.connect();
    } catch (error) {
      throw new TransientError('Kafka is unavailable', { cause: error });
    }
    return created;
  })();
  producer.catch(() => {
    producer = undefined;
  });
  return producer;
}

/**
 * Drops the producer after a failed send: the idempotent producer's sequence numbers may no longer
 * match what the broker wrote, so the next call starts with a new producer id.
 */
export async function discardKafkaProducer(): Promise<void> {
  const current = producer;
  producer = undefined;
  await current?.then((p) => p.disconnect()).catch(() => undefined);
}

/** The producer's compression codec for a setting (kafkajs ships GZIP; none is the other choice). */
export const compressionOf = (setting: 'none' | 'gzip'): CompressionTypes =>
  setting === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
